//! A user's orders read in keyset pages (issue 24): paging shows every
//! line exactly once, in order, either way; the totals the server computes
//! in one aggregate statement equal SQL written here and the client's own
//! sums over every line; a gap makes the total unknown. The CLI's stream
//! sums the same totals as the lines go by, without the aggregate.

use tenantscope::config::Settings;
use tenantscope::db::{
    ConnectionSource, Database, OrderLine, OrderSink, OrdersReport, OrdersTotals, Page, User,
};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::money::Value;

mod common;
use common::{connect, stderr, stdout, tenantscope};

const LINES: i64 = 5_000;

/// Tenant `bulk` (integer order ids, so that text order is not id order)
/// with one user owning `LINES` lines over 40 items, of mixed scales;
/// tenant `other` sells items 1..=30 only.
async fn bulk_database() -> TestDatabase {
    let db = TestDatabase::reference().await;
    db.run_sql(tenantscope::fixtures::BULK_TENANTS).await;
    db.run_sql(&format!(
        "INSERT INTO bulk.items
              SELECT i, 'item ' || i, round(i * 1.37, 2 + i % 2) FROM generate_series(1, 40) i;
         INSERT INTO other.items
              SELECT i, 'item ' || i, round(i * 1.11, 2) FROM generate_series(1, 30) i;
         INSERT INTO bulk.orders
              SELECT n * 3, 'bulk', 1 + n % 40, (1 + n % 5) * 0.50
                FROM generate_series(1, {LINES}) n;
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('even', 'even_dude', 'even@x', 'pw', 'bulk');
         INSERT INTO bulk.items VALUES (41, 'even', 20.00);
         INSERT INTO other.items VALUES (41, 'even', 19.50);
         INSERT INTO bulk.orders VALUES (-1, 'even', 41, 3), (-2, 'even', 41, 2.500),
                                        (-3, 'even', 41, 1.0);"
    ))
    .await;
    db
}

async fn keys_in_sql(db: &TestDatabase) -> Vec<String> {
    db.query_text(
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM bulk.orders WHERE user_id = 'bulk'",
    )
    .await
    .split(',')
    .map(str::to_string)
    .collect()
}

/// The order id in a line's key (`"<tableoid> <ctid> v<id>"`, `n` for a
/// NULL id: see `Keyset` in src/db/orders_window.rs), `None` for NULL.
fn key_id(key: &str) -> Option<String> {
    let id = key.splitn(3, ' ').nth(2).expect("a key of three parts");
    match id {
        "n" => None,
        id => Some(id.strip_prefix('v').expect("v<id>").to_string()),
    }
}

fn key_ids<'a>(keys: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    keys.into_iter()
        .map(|key| key_id(key).expect("no NULL id here"))
        .collect()
}

async fn page_forward(db: &Database, user: &User, size: usize) -> Vec<String> {
    key_ids(&page_keys(db, user, Some("other"), size, true).await)
}

async fn page_backward(db: &Database, user: &User, size: usize) -> Vec<String> {
    key_ids(&page_keys(db, user, Some("other"), size, false).await)
}

/// Every line's key, page by page of `size`, from the first page on
/// (`forward`) or from the last back.
async fn page_keys(
    db: &Database,
    user: &User,
    compare: Option<&str>,
    size: usize,
    forward: bool,
) -> Vec<String> {
    page_lines(db, user, compare, size, forward)
        .await
        .into_iter()
        .map(|line| line.key)
        .collect()
}

async fn page_lines(
    db: &Database,
    user: &User,
    compare: Option<&str>,
    size: usize,
    forward: bool,
) -> Vec<tenantscope::db::KeyedLine> {
    let mut all = Vec::new();
    let mut page = if forward { Page::First } else { Page::Last };
    loop {
        let mut lines = db
            .orders_page(user, compare, &page, size, None)
            .await
            .unwrap();
        assert!(lines.len() <= size);
        let full = lines.len() == size;
        if forward {
            let last = lines.last().map(|l| l.key.clone());
            all.append(&mut lines);
            match last {
                Some(last) if full => page = Page::After(last),
                _ => return all,
            }
        } else {
            let first = lines.first().map(|l| l.key.clone());
            lines.append(&mut all);
            all = lines;
            match first {
                Some(first) if full => page = Page::Before(first),
                _ => return all,
            }
        }
    }
}

fn same_number(ours: &Value, sql: &str, what: &str) {
    let theirs = Value::parse(sql);
    assert!(ours.is_number(), "{what}: {ours:?}");
    assert_eq!(
        ours.number(),
        theirs.number(),
        "{what}: {ours:?} vs SQL {sql}"
    );
}

#[tokio::test]
async fn paging_shows_every_line_once_and_the_totals_are_the_servers() {
    let db = bulk_database().await;
    let conn = connect(&db).await;
    let user = conn.user("bulk").await.unwrap();
    let expected = keys_in_sql(&db).await;
    assert_eq!(expected.len(), LINES as usize);

    // The first screen: one page, its totals still to come.
    let head = conn
        .orders_head(&user, Some("other"), 100, None)
        .await
        .unwrap();
    assert_eq!(head.lines.len(), 100);
    assert_eq!(key_ids(&head.keys), expected[..100]);
    assert!(
        !head.totals_known,
        "100 of {LINES} lines: the totals come apart"
    );

    // Every line exactly once, in id order (not text order), both ways.
    assert_eq!(page_forward(&conn, &user, 173).await, expected);
    assert_eq!(page_backward(&conn, &user, 211).await, expected);
    // From a key on, inclusive (a refresh keeps the top line).
    let from = conn
        .orders_page(
            &user,
            Some("other"),
            &Page::From(head.keys[7].clone()),
            3,
            None,
        )
        .await
        .unwrap();
    assert_eq!(key_ids(from.iter().map(|l| &l.key)), expected[7..10]);

    // The totals: as SQL written here computes them...
    let totals = conn
        .orders_totals(&user, Some("other"), None)
        .await
        .unwrap();
    let sql = |select: &str| {
        format!(
            "SELECT {select} FROM bulk.orders o
               JOIN bulk.items i ON i.id = o.item_id
               LEFT JOIN other.items c ON c.description = i.description
              WHERE o.user_id = 'bulk'"
        )
    };
    same_number(
        &totals.total,
        &db.query_text(&sql("sum(o.quantity * i.price)::text")).await,
        "total",
    );
    same_number(
        &totals.compare_total,
        &db.query_text(&sql("sum(o.quantity * c.price)::text")).await,
        "comparison total",
    );
    same_number(
        &totals.compared_total,
        &db.query_text(&sql(
            "(sum(o.quantity * i.price) FILTER (WHERE c.id IS NOT NULL))::text",
        ))
        .await,
        "own total of the compared lines",
    );
    let missing: usize = db
        .query_text(&sql("count(*) FILTER (WHERE c.id IS NULL)::text"))
        .await
        .parse()
        .unwrap();
    assert!(missing > 0);
    assert_eq!(totals.lines, LINES as usize);
    assert_eq!(totals.compare_missing, missing);
    assert_eq!(totals.compared_lines, LINES as usize - missing);
    assert_eq!((totals.own_gaps, totals.gap.as_deref()), (0, None));

    // ...and exactly (digits and scale) as the client sums every line.
    let all = conn.priced_orders(&user, Some("other")).await.unwrap();
    assert_eq!(all.lines.len(), LINES as usize);
    assert_eq!(totals, all.totals);
    let digits = |t: &tenantscope::db::OrdersTotals| {
        [&t.total, &t.compare_total, &t.compared_total].map(Value::plain)
    };
    assert_eq!(digits(&totals), digits(&all.totals));

    // Digits and scale, not just the value: 3 × 20.00 is 60.00, never 60.
    let even = conn.user("even").await.unwrap();
    let totals = conn
        .orders_totals(&even, Some("other"), None)
        .await
        .unwrap();
    let all = conn.priced_orders(&even, Some("other")).await.unwrap();
    assert_eq!(totals.total.plain().as_deref(), Some("130.00"));
    let digits = |t: &tenantscope::db::OrdersTotals| {
        [&t.total, &t.compare_total, &t.compared_total].map(Value::plain)
    };
    assert_eq!(digits(&totals), digits(&all.totals));
    assert_eq!(digits(&totals)[1].as_deref(), Some("126.75"));

    // A gap makes the total unknown and says why, as the client does.
    db.run_sql(&format!(
        "INSERT INTO bulk.orders VALUES ({0}, 'bulk', 999, 1), ({1}, 'bulk', 2, 'NaN');",
        LINES * 3 + 1,
        LINES * 3 + 2
    ))
    .await;
    let totals = conn
        .orders_totals(&user, Some("other"), None)
        .await
        .unwrap();
    assert_eq!(totals.total, Value::Missing, "never a sum over a gap");
    assert_eq!(totals.gap.as_deref(), Some("2 lines without a total"));
    let all = conn.priced_orders(&user, Some("other")).await.unwrap();
    assert_eq!(totals, all.totals);
    db.run_sql(&format!(
        "DELETE FROM bulk.orders WHERE id = {};",
        LINES * 3 + 2
    ))
    .await;
    let totals = conn.orders_totals(&user, None, None).await.unwrap();
    assert_eq!(totals.gap.as_deref(), Some("1 line with a missing item"));
    assert_eq!(
        totals,
        conn.priced_orders(&user, None).await.unwrap().totals
    );

    // The comparison tenant has item 2 at no usable price (NaN) and item 3
    // at none (NULL): those lines are told apart from the items it does not
    // sell (31–40), by the server as by the client.
    db.run_sql(
        "UPDATE other.items SET price = 'NaN' WHERE id = 2;
         UPDATE other.items SET price = NULL WHERE id = 3;",
    )
    .await;
    let totals = conn
        .orders_totals(&user, Some("other"), None)
        .await
        .unwrap();
    let all = conn.priced_orders(&user, Some("other")).await.unwrap();
    assert_eq!(totals, all.totals);
    let unpriced = all
        .lines
        .iter()
        .filter(|l| matches!(l.item_id.as_deref(), Some("2" | "3")));
    assert_eq!(totals.compare_unpriced, unpriced.count());
    assert_eq!(
        totals.compare_unpriced, 250,
        "items 2 and 3, 125 lines each"
    );
    let note = all.compare_note(&Default::default()).unwrap();
    assert!(
        note.contains(" not sold by other")
            && note.contains(&format!(
                "{} without a price at other",
                totals.compare_unpriced
            )),
        "{note}"
    );
}

/// The CLI streams the lines and writes the server's totals under them.
#[tokio::test]
async fn the_cli_streams_every_line_with_the_totals() {
    let db = bulk_database().await;
    let args = |format: &'static str| {
        vec![
            "--database-url",
            db.url.as_str(),
            "orders",
            "bulk",
            "--compare",
            "other",
            "--format",
            format,
        ]
    };
    let out = tenantscope(&args("csv"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    assert_eq!(csv.lines().count(), LINES as usize + 1);
    let out = tenantscope(&args("json"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["orders"].as_array().unwrap().len(), LINES as usize);
    let total = db
        .query_text(
            "SELECT sum(o.quantity * i.price)::text FROM bulk.orders o
               JOIN bulk.items i ON i.id = o.item_id WHERE o.user_id = 'bulk'",
        )
        .await;
    assert!(json["total"].is_number(), "{}", json["total"]);
    same_number(
        &Value::parse(&json["total"].to_string()),
        &total,
        "the JSON's total",
    );
    // Like for like: the lines `other` prices too (items 1..=30).
    let compared = |price: &str| {
        format!(
            "SELECT sum(o.quantity * {price})::text FROM bulk.orders o
               JOIN bulk.items i ON i.id = o.item_id
               JOIN other.items c ON c.id = o.item_id WHERE o.user_id = 'bulk'"
        )
    };
    for (field, price) in [("compare_total", "c.price"), ("compared_total", "i.price")] {
        same_number(
            &Value::parse(&json[field].to_string()),
            &db.query_text(&compared(price)).await,
            field,
        );
    }
    let out = tenantscope(&args("table"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let total_row = table.lines().find(|l| l.contains(" Total ")).unwrap();
    let shown = total_row
        .split_whitespace()
        .nth(1)
        .unwrap()
        .replace(',', "");
    same_number(&Value::parse(&shown), &total, "the table's total");
    // The basket's lines priced of all, grouped by thousands as the view
    // groups them (it read 5000/5000).
    let basket = tenantscope(&["--database-url", db.url.as_str(), "basket", "bulk"]);
    let basket = stdout(&basket);
    let row = |tenant: &str| {
        let found = basket.lines().find(|l| l.starts_with(tenant));
        found
            .unwrap_or_else(|| panic!("{tenant} in\n{basket}"))
            .to_string()
    };
    assert!(row("bulk (own) ").contains(" 5,000/5,000 "), "{basket}");
    assert!(row("other ").contains("/5,000 "), "{basket}");
    // The view's Lines column as wide as that (it cut it to `…`).
    let view = tenantscope(&[
        "--database-url",
        db.url.as_str(),
        "snapshot",
        "--view",
        "basket",
        "--user",
        "bulk",
        "--size",
        "120x12",
        "--color",
        "never",
    ]);
    let view = stdout(&view);
    assert!(view.contains(" 5,000/5,000 "), "{view}");

    // A line without a total: none in the JSON, and the table says why.
    db.run_sql(&format!(
        "INSERT INTO bulk.orders VALUES ({}, 'bulk', 999, 1);",
        LINES * 3 + 1
    ))
    .await;
    let out = tenantscope(&args("json"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json["total"].is_null(), "{}", json["total"]);
    let table = stdout(&tenantscope(&args("table")));
    assert!(
        table.contains("Total unknown: 1 line with a missing item\n"),
        "{table}"
    );
}

/// What [`Database::stream_orders`] hands over, in order: each pass's
/// begin, its line count, the totals (after which pass).
#[derive(Default)]
struct Recorded {
    passes: u8,
    lines: Vec<usize>,
    totals: Option<(usize, OrdersTotals)>,
    begun_with_totals: Vec<bool>,
    /// Lines after which the sink stops the reading (the CLI's output
    /// closed, as by `| head`).
    stop_after: Option<usize>,
}

impl OrderSink for Recorded {
    fn passes(&self) -> u8 {
        self.passes
    }

    fn begin(&mut self, _pass: u8, report: &OrdersReport) -> bool {
        self.begun_with_totals.push(report.totals_known);
        self.lines.push(0);
        true
    }

    fn line(&mut self, pass: u8, _line: &OrderLine) -> bool {
        self.lines[pass as usize] += 1;
        Some(self.lines[pass as usize]) != self.stop_after
    }

    fn totals(&mut self, report: &OrdersReport) -> bool {
        assert!(report.totals_known);
        assert!(self.totals.is_none(), "the totals come once");
        self.totals = Some((self.lines.len(), report.totals.clone()));
        true
    }
}

async fn streamed(db: &Database, user: &User, compare: Option<&str>, passes: u8) -> Recorded {
    let mut sink = Recorded {
        passes,
        ..Recorded::default()
    };
    db.stream_orders(user, compare, &mut sink).await.unwrap();
    sink
}

/// The stream's totals, summed in memory as the lines go by, are the
/// server's aggregate's (digits, scale, the gap's words), handed over
/// after the first pass, before a second one begins.
#[tokio::test]
async fn the_stream_sums_the_totals_the_server_computes() {
    let db = bulk_database().await;
    let conn = connect(&db).await;
    let user = conn.user("bulk").await.unwrap();
    let even = conn.user("even").await.unwrap();
    let digits =
        |t: &OrdersTotals| [&t.total, &t.compare_total, &t.compared_total].map(Value::plain);
    let check = |recorded: Recorded, server: OrdersTotals, passes: usize| {
        assert_eq!(recorded.lines, vec![server.lines; passes]);
        let (after, totals) = recorded.totals.expect("the totals are handed over");
        assert_eq!(after, 1, "after the first pass");
        let mut begun = vec![false];
        begun.resize(passes, true);
        assert_eq!(recorded.begun_with_totals, begun);
        assert_eq!(digits(&totals), digits(&server));
        assert_eq!(totals, server);
    };
    for (who, compare) in [
        (&user, Some("other")),
        (&user, None),
        (&even, Some("other")),
    ] {
        let server = conn.orders_totals(who, compare, None).await.unwrap();
        assert!(server.total.is_number());
        for passes in [1, 2] {
            check(
                streamed(&conn, who, compare, passes).await,
                server.clone(),
                passes as usize,
            );
        }
    }
    let server = conn
        .orders_totals(&even, Some("other"), None)
        .await
        .unwrap();
    assert_eq!(server.total.plain().as_deref(), Some("130.00"));

    // Gaps: the total unknown, and why, in the same words.
    db.run_sql(&format!(
        "INSERT INTO bulk.orders VALUES ({0}, 'bulk', 999, 1), ({1}, 'bulk', 2, 'NaN');",
        LINES * 3 + 1,
        LINES * 3 + 2
    ))
    .await;
    let server = conn
        .orders_totals(&user, Some("other"), None)
        .await
        .unwrap();
    assert_eq!(server.gap.as_deref(), Some("2 lines without a total"));
    check(streamed(&conn, &user, Some("other"), 2).await, server, 2);
    db.run_sql(&format!(
        "DELETE FROM bulk.orders WHERE id = {};",
        LINES * 3 + 2
    ))
    .await;
    let server = conn.orders_totals(&user, None, None).await.unwrap();
    assert_eq!(server.gap.as_deref(), Some("1 line with a missing item"));
    check(streamed(&conn, &user, None, 1).await, server, 1);
}

/// The stream asks for the next batch before it hands on the lines of
/// this one. A sink that stops the reading there (the CLI's output closed)
/// leaves that batch on its way: the stream ends at once, and the pool's
/// only connection then streams every line again, with the totals. The
/// batches come as text, whatever the database's `bytea_output` (the
/// item's bytes travel as bytea).
#[tokio::test]
async fn a_stream_stopped_with_a_batch_on_its_way_leaves_its_connection_fit() {
    let db = bulk_database().await;
    db.run_sql(&format!(
        "INSERT INTO bulk.orders SELECT n * 3, 'bulk', 1 + n % 40, 1
           FROM generate_series({}, {}) n;
         DO $$ BEGIN
             EXECUTE format('ALTER DATABASE %I SET bytea_output = escape', current_database());
         END $$;",
        LINES + 1,
        LINES + 3_000
    ))
    .await;
    let mut settings = Settings::default();
    settings.database.max_connections = 1;
    let source = ConnectionSource::demo(db.options.clone());
    let conn = Database::connect(&source, &settings).await.unwrap();
    let user = conn.user("bulk").await.unwrap();
    for passes in [1, 2] {
        let mut stopped = Recorded {
            passes,
            stop_after: Some(10),
            ..Recorded::default()
        };
        conn.stream_orders(&user, Some("other"), &mut stopped)
            .await
            .unwrap();
        assert_eq!(stopped.lines, vec![10], "stopped in the first pass");
        assert!(stopped.totals.is_none());
        let server = conn
            .orders_totals(&user, Some("other"), None)
            .await
            .unwrap();
        assert_eq!(server.lines, LINES as usize + 3_000);
        let whole = streamed(&conn, &user, Some("other"), passes).await;
        assert_eq!(whole.lines, vec![server.lines; passes as usize]);
        assert_eq!(whole.totals.expect("totals").1, server);
    }
    conn.close().await;
}

/// A drifted tenant (no primary key, text ids): order ids repeated, NULL,
/// and whole rows identical, on both sides of page boundaries of every
/// size. Paging either way shows every line exactly once, in id order
/// (NULLs last); a page from a key on starts at that very line; the
/// server's totals are the CLI's and the sum of the paged lines. The
/// same through a view (no row places: keyed by position).
#[tokio::test]
async fn duplicate_and_null_order_ids_page_once_each() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "CREATE SCHEMA drift;
         CREATE TABLE drift.items (id text, description text, price text);
         CREATE TABLE drift.orders (id text, user_id text, item_id text, quantity text);
         INSERT INTO drift.items VALUES ('1', 'one', '1.50'), ('2', 'two', '2.25');
         INSERT INTO drift.orders VALUES
           ('b', 'drifter', '1', '1'), ('a', 'drifter', '1', '1'), (NULL, 'drifter', '1', '2'),
           ('a', 'drifter', '1', '1'), ('a', 'drifter', '2', '3'), (NULL, 'drifter', '1', '2'),
           ('c', 'drifter', '1', '4'), ('a', 'drifter', '1', '1'), (NULL, 'drifter', '2', '5'),
           ('c', 'drifter', '1', '4'), ('0', 'drifter', '2', '7'), (NULL, 'drifter', '1', '2'),
           ('a', 'drifter', '2', '0.5'), ('b', 'someone', '1', '9');
         -- Row places out of id order, as updates leave them.
         UPDATE drift.orders SET quantity = quantity WHERE id = 'a' AND item_id = '1';
         CREATE SCHEMA viewed;
         CREATE TABLE viewed.items AS SELECT * FROM drift.items;
         CREATE VIEW viewed.orders AS
              SELECT id, CASE user_id WHEN 'drifter' THEN 'viewer' ELSE user_id END AS user_id,
                     item_id, quantity
                FROM drift.orders;
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('drifter', 'drifter', 'd@x', 'pw', 'drift'),
                     ('viewer', 'viewer', 'v@x', 'pw', 'viewed');",
    )
    .await;
    let conn = connect(&db).await;
    // Lines as content: id, item, quantity (identical rows alike).
    let in_sql = |orders: &str, user: &str| {
        format!(
            "SELECT string_agg(coalesce(id, '-') || '/' || item_id || '/' || quantity, ','
                               ORDER BY id, item_id, quantity)
               FROM {orders} WHERE user_id = '{user}'"
        )
    };
    let mut expected: Vec<String> = db
        .query_text(&in_sql("drift.orders", "drifter"))
        .await
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(expected.len(), 13);
    let content = |line: &tenantscope::db::KeyedLine, id: Option<String>| {
        format!(
            "{}/{}/{}",
            id.unwrap_or_else(|| "-".into()),
            line.line.item_id.as_deref().unwrap(),
            line.line.quantity.plain().unwrap()
        )
    };
    let ids_in_order: Vec<String> = expected
        .iter()
        .map(|l| l.split('/').next().unwrap().to_string())
        .collect();
    let drifter = conn.user("drifter").await.unwrap();
    let mut first = None;
    for size in 1..=6 {
        for forward in [true, false] {
            let lines = page_lines(&conn, &drifter, None, size, forward).await;
            let keys: std::collections::BTreeSet<&String> = lines.iter().map(|l| &l.key).collect();
            assert_eq!(keys.len(), lines.len(), "a line twice (size {size})");
            let ids: Vec<String> = lines
                .iter()
                .map(|l| key_id(&l.key).unwrap_or_else(|| "-".into()))
                .collect();
            assert_eq!(ids, ids_in_order, "id order, NULLs last (size {size})");
            let mut seen: Vec<String> = lines.iter().map(|l| content(l, key_id(&l.key))).collect();
            seen.sort();
            expected.sort();
            assert_eq!(seen, expected, "every line once (size {size}, {forward})");
            let keys: Vec<String> = lines.iter().map(|l| l.key.clone()).collect();
            match &first {
                None => first = Some(keys),
                Some(first) => assert_eq!(&keys, first, "the same order every way"),
            }
        }
    }
    // From a key on, inclusive: at a repeated id and at a NULL one.
    let keys = first.unwrap();
    for at in [2, 4, 10] {
        let from = conn
            .orders_page(&drifter, None, &Page::From(keys[at].clone()), 3, None)
            .await
            .unwrap();
        let from: Vec<&String> = from.iter().map(|l| &l.key).collect();
        let want: Vec<&String> = keys[at..(at + 3).min(keys.len())].iter().collect();
        assert_eq!(from, want);
    }

    // The totals: the server's aggregate, the CLI's, the paged lines' sum.
    let server = conn.orders_totals(&drifter, None, None).await.unwrap();
    let lines = page_lines(&conn, &drifter, None, 4, true).await;
    let summed = Value::sum(lines.iter().map(|l| &l.line.total));
    assert_eq!(server.lines, 13);
    assert_eq!(server.total.plain(), summed.plain());
    same_number(
        &server.total,
        &db.query_text(
            "SELECT sum(o.quantity::numeric * i.price::numeric)::text
               FROM drift.orders o JOIN drift.items i ON i.id = o.item_id
              WHERE o.user_id = 'drifter'",
        )
        .await,
        "the drifted tenant's total",
    );
    let out = tenantscope(&[
        "--database-url",
        db.url.as_str(),
        "orders",
        "drifter",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["orders"].as_array().unwrap().len(), 13);
    assert_eq!(
        Value::parse(&json["total"].to_string()).plain(),
        server.total.plain()
    );

    // Through a view: keyed by position, every line once either way.
    let viewer = conn.user("viewer").await.unwrap();
    let mut expected: Vec<String> = db
        .query_text(&in_sql("viewed.orders", "viewer"))
        .await
        .split(',')
        .map(str::to_string)
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 13);
    let mut order = None;
    for size in [1, 3, 5] {
        for forward in [true, false] {
            let lines = page_lines(&conn, &viewer, None, size, forward).await;
            let keys: Vec<String> = lines.iter().map(|l| l.key.clone()).collect();
            let mut seen: Vec<String> = lines
                .iter()
                .map(|l| {
                    format!(
                        "{}/{}",
                        l.line.item_id.as_deref().unwrap(),
                        l.line.quantity.plain().unwrap()
                    )
                })
                .collect();
            seen.sort();
            let mut want: Vec<String> = expected
                .iter()
                .map(|l| l.split_once('/').unwrap().1.to_string())
                .collect();
            want.sort();
            assert_eq!(seen, want, "every line once through a view (size {size})");
            match &order {
                None => order = Some(keys),
                Some(order) => assert_eq!(&keys, order),
            }
        }
    }
    let server = conn.orders_totals(&viewer, None, None).await.unwrap();
    let lines = page_lines(&conn, &viewer, None, 5, true).await;
    assert_eq!(
        server.total.plain(),
        Value::sum(lines.iter().map(|l| &l.line.total)).plain()
    );

    // `orders` (and so the pane's export) lists the lines in the pages'
    // order, a repeated id's lines too: they were in whatever order the
    // server's sort left them.
    let item_quantity = |line: &tenantscope::db::KeyedLine| {
        let item = line.line.item_id.as_deref().unwrap();
        format!("{item}/{}", line.line.quantity.plain().unwrap())
    };
    for user in ["drifter", "viewer"] {
        let paged = page_lines(&conn, &conn.user(user).await.unwrap(), None, 4, true).await;
        let paged: Vec<String> = paged.iter().map(item_quantity).collect();
        let out = tenantscope(&[
            "--database-url",
            db.url.as_str(),
            "orders",
            user,
            "--format",
            "json",
        ]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let listed: Vec<String> = json["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{}/{}", l["item_id"].as_str().unwrap(), l["quantity"]))
            .collect();
        assert_eq!(listed, paged, "{user}");
    }
}

/// Tenants whose orders table has no `id` column, as drifted schemas have
/// (`noid`: user, item and quantity only; `pair`: a composite primary
/// key). `orders`, `basket`, the leak check and the dashboard's pages all
/// read them (each failed: `column o.id does not exist`): the lines are
/// keyed and ordered by their row place alone, and paging either way, at
/// the pane's page size and others, shows every line exactly once; a
/// leaked order is reported with no order id.
#[tokio::test]
async fn orders_without_an_id_column_are_read_by_row_place() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "CREATE SCHEMA noid;
         CREATE TABLE noid.items (id text PRIMARY KEY, description text NOT NULL,
                                  price numeric(12,2) NOT NULL);
         INSERT INTO noid.items VALUES ('1', 'Tesla', 4000.00), ('2', 'Huawei', 1500.50),
                                       ('3', 'Pixel', 700.25);
         CREATE TABLE noid.orders (user_id text, item_id text, quantity integer);
         -- 250 lines (three of the pane's pages), identical rows among them.
         INSERT INTO noid.orders
              SELECT 'n1', (1 + n % 3)::text, 1 + n % 4 FROM generate_series(1, 250) n;
         -- Row places out of insertion order, as updates leave them.
         UPDATE noid.orders SET quantity = quantity WHERE item_id = '2' AND quantity = 3;
         -- Leaks: a user of client2, and no user at all.
         INSERT INTO noid.orders VALUES ('2', '1', 1), ('ghost', '3', 2);
         CREATE SCHEMA pair;
         CREATE TABLE pair.items (LIKE noid.items INCLUDING ALL);
         INSERT INTO pair.items SELECT * FROM noid.items;
         CREATE TABLE pair.orders (order_no integer, line integer, user_id text, item_id text,
                                   quantity integer, PRIMARY KEY (order_no, line));
         INSERT INTO pair.orders VALUES (1, 1, 'p1', '1', 2), (1, 2, 'p1', '2', 1),
                                        (2, 1, 'p1', '3', 5), (2, 2, 'nobody', '1', 1);
         -- A view without ids (no row places either).
         CREATE SCHEMA viewed;
         CREATE TABLE viewed.items AS SELECT * FROM noid.items;
         CREATE VIEW viewed.orders AS
              SELECT CASE user_id WHEN 'n1' THEN 'v1' ELSE user_id END AS user_id,
                     item_id, quantity
                FROM noid.orders;
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('n1', 'noid_dude', 'n@x', 'pw', 'noid'),
                     ('p1', 'pair_dude', 'p@x', 'pw', 'pair'),
                     ('v1', 'view_dude', 'v@x', 'pw', 'viewed');",
    )
    .await;
    let url = db.url.as_str();
    let total_in_sql = |schema: &str, user: &str| {
        format!(
            "SELECT sum(o.quantity * i.price)::text FROM {schema}.orders o
               JOIN {schema}.items i ON i.id = o.item_id WHERE o.user_id = '{user}'"
        )
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let out = tenantscope(&[&["--database-url", url][..], args].concat());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };

    // `orders`: every line, with the total SQL computes.
    let total = db.query_text(&total_in_sql("noid", "n1")).await;
    let orders = json(&["orders", "n1", "--compare", "client1", "--format", "json"]);
    assert_eq!(orders["orders"].as_array().unwrap().len(), 250, "{orders}");
    same_number(
        &Value::parse(&orders["total"].to_string()),
        &total,
        "orders' total",
    );
    let out = tenantscope(&["--database-url", url, "orders", "n1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Pixel"), "{}", stdout(&out));
    let pair = json(&["orders", "p1", "--format", "json"]);
    assert_eq!(pair["orders"].as_array().unwrap().len(), 3, "{pair}");
    same_number(
        &Value::parse(&pair["total"].to_string()),
        &db.query_text(&total_in_sql("pair", "p1")).await,
        "the composite key's total",
    );

    // `basket`: priced at home, and at pair (the same prices) and client1
    // (which sells no Pixel).
    let basket = json(&["basket", "n1", "--format", "json"]);
    assert_eq!(basket["lines"], 250, "{basket}");
    let tenant = |schema: &str| {
        let tenants = basket["tenants"].as_array().unwrap();
        let found = tenants.iter().find(|t| t["schema"] == schema);
        found
            .unwrap_or_else(|| panic!("{schema} in {basket}"))
            .clone()
    };
    let pixels: usize = db
        .query_text("SELECT count(*)::text FROM noid.orders WHERE user_id = 'n1' AND item_id = '3'")
        .await
        .parse()
        .unwrap();
    for (schema, priced) in [("noid", 250), ("pair", 250), ("client1", 250 - pixels)] {
        let row = tenant(schema);
        assert_eq!(row["priced_lines"], priced, "{schema}: {row}");
        assert_eq!(row["missing_lines"], 250 - priced, "{schema}: {row}");
        assert!(row.get("error").is_none(), "{schema}: {row}");
    }
    for schema in ["noid", "pair"] {
        same_number(
            &Value::parse(&tenant(schema)["total"].to_string()),
            &total,
            "the basket at home and at pair",
        );
    }

    // The leak check: both leaks, with no order id.
    let health = json(&["health", "--leaks", "noid", "--format", "json"]);
    assert_eq!(
        health["leaks"],
        serde_json::json!({"tenant": "noid", "orders": [
            {"order_id": null, "user_id": "2", "kind": "other_tenant", "user_tenant": "client2"},
            {"order_id": null, "user_id": "ghost", "kind": "no_user", "user_tenant": null}
        ]})
    );
    let out = tenantscope(&["--database-url", url, "health", "--leaks", "pair"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let leaked = text
        .lines()
        .find(|l| l.contains("nobody"))
        .unwrap_or_default();
    assert_eq!(
        leaked.split_whitespace().collect::<Vec<_>>(),
        ["(none)", "nobody", "(no", "such", "user)"],
        "{text}"
    );

    // The dashboard's pages: every line once, keyed by row place (no id),
    // in row-place order either way; the first screen and a page from a
    // key on are the same lines.
    let conn = connect(&db).await;
    let user = conn.user("n1").await.unwrap();
    let places: Vec<String> = db
        .query_text(
            "SELECT string_agg(tableoid::oid::text || ' ' || ctid::text, ';'
                               ORDER BY tableoid::oid, ctid)
               FROM noid.orders WHERE user_id = 'n1'",
        )
        .await
        .split(';')
        .map(|place| format!("{place} n"))
        .collect();
    assert_eq!(places.len(), 250);
    let mut content: Vec<String> = db
        .query_text(
            "SELECT string_agg(item_id || '/' || quantity, ',') FROM noid.orders
              WHERE user_id = 'n1'",
        )
        .await
        .split(',')
        .map(str::to_string)
        .collect();
    content.sort();
    // Each line as "item/quantity".
    let item_quantity = |lines: &[tenantscope::db::KeyedLine]| -> Vec<String> {
        let text = |l: &tenantscope::db::KeyedLine| {
            let item = l.line.item_id.as_deref().unwrap();
            format!("{item}/{}", l.line.quantity.plain().unwrap())
        };
        lines.iter().map(text).collect()
    };
    // The same of `orders --format json`'s lines.
    let listed = |report: &serde_json::Value| -> Vec<String> {
        let lines = report["orders"].as_array().unwrap().iter();
        let text =
            |l: &serde_json::Value| format!("{}/{}", l["item_id"].as_str().unwrap(), l["quantity"]);
        lines.map(text).collect()
    };
    for size in [100, 7, 250, 251] {
        for forward in [true, false] {
            let lines = page_lines(&conn, &user, Some("client1"), size, forward).await;
            let keys: Vec<String> = lines.iter().map(|l| l.key.clone()).collect();
            assert_eq!(keys, places, "row-place order (size {size}, {forward})");
            assert!(keys.iter().all(|key| key_id(key).is_none()));
            let mut seen = item_quantity(&lines);
            if forward {
                // `orders` lists them in the same order.
                assert_eq!(listed(&orders), seen, "orders' order (size {size})");
            }
            seen.sort();
            assert_eq!(seen, content, "every line once (size {size}, {forward})");
        }
    }
    let head = conn
        .orders_head(&user, Some("client1"), 100, None)
        .await
        .unwrap();
    assert_eq!(head.keys, places[..100]);
    assert!(!head.totals_known);
    let from = conn
        .orders_page(&user, None, &Page::From(places[42].clone()), 3, None)
        .await
        .unwrap();
    let from: Vec<&String> = from.iter().map(|l| &l.key).collect();
    assert_eq!(from, places[42..45].iter().collect::<Vec<_>>());
    let totals = conn
        .orders_totals(&user, Some("client1"), None)
        .await
        .unwrap();
    assert_eq!(totals.lines, 250);
    same_number(&totals.total, &total, "the server's total");
    let lines = page_lines(&conn, &user, None, 100, true).await;
    assert_eq!(
        Value::sum(lines.iter().map(|l| &l.line.total)).plain(),
        totals.total.plain()
    );
    // The composite key's lines page alike.
    let pair_dude = conn.user("p1").await.unwrap();
    for forward in [true, false] {
        let lines = page_lines(&conn, &pair_dude, None, 2, forward).await;
        let mut seen: Vec<&str> = lines
            .iter()
            .map(|l| l.line.item_id.as_deref().unwrap())
            .collect();
        seen.sort();
        assert_eq!(seen, ["1", "2", "3"]);
    }
    // Through a view without ids: keyed by position, every line once.
    let viewer = conn.user("v1").await.unwrap();
    let viewed = json(&["orders", "v1", "--format", "json"]);
    for forward in [true, false] {
        let lines = page_lines(&conn, &viewer, None, 100, forward).await;
        assert!(lines.iter().all(|l| l.key.starts_with('#')));
        let mut seen = item_quantity(&lines);
        if forward {
            // `orders` lists them in the pages' order (it sorted the row
            // text with a NULL id beside).
            assert_eq!(listed(&viewed), seen, "orders' order through a view");
        }
        seen.sort();
        assert_eq!(seen, content, "every line once through a view ({forward})");
    }
    assert_eq!(viewed["orders"].as_array().unwrap().len(), 250);
    same_number(
        &Value::parse(&viewed["total"].to_string()),
        &total,
        "the view's total",
    );
    conn.close().await;

    // The orders pane as the dashboard draws it.
    let args = [
        "--database-url",
        url,
        "snapshot",
        "--user",
        "n1",
        "--color",
        "never",
    ];
    let out = tenantscope(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let frame = stdout(&out);
    assert!(frame.contains("Pixel"), "{frame}");
    assert!(frame.contains("250 order lines"), "{frame}");
}

/// Text values at the number check's boundaries (exponents of more than 3
/// digits, text longer than `money::MAX_CHARS`, plain forms of 1000 and
/// 1001 characters, zero with an exponent, ASCII and other blanks), read
/// from the server as a price and as a quantity: the server's aggregate
/// and the client's own reading of the same lines agree, number or gap,
/// digits and words.
#[tokio::test]
async fn the_server_reads_numbers_as_the_client_does() {
    let db = TestDatabase::reference().await;
    let values: Vec<String> = vec![
        "1e0005".into(),
        "5e-0003".into(),
        "1e+0000000000000000000000001".into(),
        "1e999".into(),
        "12e999".into(),
        "1e-999".into(),
        "1e-1000".into(),
        "0e1500".into(),
        "0e99999999999".into(),
        "-0E+123456789012345".into(),
        "0e-99999999999".into(),
        "0.00e-1234".into(),
        "0e1234567890123456789012345".into(),
        "0.0e-998".into(),
        "0.0e-999".into(),
        format!("1{}", "0".repeat(999)),
        format!("1{}", "0".repeat(1000)),
        format!("{}7.25", "0".repeat(1500)),
        format!("{}2.5{}", " ".repeat(600), " ".repeat(600)),
        "\t3\u{b}\u{c}\r\n".into(),
        "\u{a0}5".into(),
        "1e99999999999".into(),
        "1e1234567890123456789012345".into(),
        format!("0.{}1e1500", "0".repeat(1499)),
        "N/A".into(),
        "1.5".into(),
        // Only digits, a sign, a point and an exponent, but in no number's
        // order: `.+5` read 0.05 on the client, a gap on the server.
        ".+5".into(),
        "1.+5".into(),
        "5+".into(),
        "1e5.0".into(),
        "1e+".into(),
        "+.5".into(),
        "5.".into(),
    ];
    let mut sql = String::from(
        "CREATE SCHEMA texty;
         CREATE TABLE texty.items (id text, description text, price text);
         CREATE TABLE texty.orders (id int, user_id text, item_id text, quantity text);
         INSERT INTO texty.items VALUES ('one', 'one', '1.00');",
    );
    for (i, value) in values.iter().enumerate() {
        let value = value.replace('\'', "''");
        sql.push_str(&format!(
            "INSERT INTO texty.items VALUES ('p{i}', 'p{i}', '{value}');
             INSERT INTO texty.orders VALUES ({i}, 'price{i}', 'p{i}', '2'),
                                             ({i}, 'qty{i}', 'one', '{value}'),
                                             ({i}, 'small{i}', 'p{i}', '0.001');
             INSERT INTO public.users (id, name, mail, password, organization_id)
                  VALUES ('price{i}', 'price{i}', 'p{i}@x', 'pw', 'texty'),
                         ('qty{i}', 'qty{i}', 'q{i}@x', 'pw', 'texty'),
                         ('small{i}', 'small{i}', 's{i}@x', 'pw', 'texty');"
        ));
    }
    db.run_sql(&sql).await;
    let conn = connect(&db).await;
    let mut numbers = 0;
    for (i, value) in values.iter().enumerate() {
        // A price out of range by itself whose total (× 0.001) would be
        // in range is still no number.
        for who in [format!("price{i}"), format!("qty{i}"), format!("small{i}")] {
            let user = conn.user(&who).await.unwrap();
            let server = conn.orders_totals(&user, None, None).await.unwrap();
            let head = conn.orders_head(&user, None, 10, None).await.unwrap();
            assert!(head.totals_known);
            let client = head.totals;
            assert_eq!(
                server,
                client,
                "{who}: {value:?} (client reads it as {:?})",
                Value::parse(value)
            );
            numbers += usize::from(server.total.is_number());
        }
    }
    // Both kinds of answer are among them.
    assert!(numbers > 10 && numbers < 3 * values.len() - 10, "{numbers}");
}

/// Prices as text under a collation that calls `1.5` and `15` equal (ICU,
/// punctuation ignored, not deterministic): the server's totals group
/// lines by their texts byte for byte, so each line is priced at its own
/// price, as the stream sums them (they were one group, priced once).
#[tokio::test]
async fn texts_a_collation_calls_equal_are_totalled_apart() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "CREATE COLLATION loose (provider = icu, locale = 'und-u-ka-shifted',
                                 deterministic = false);
         CREATE SCHEMA loose;
         CREATE TABLE loose.items (id text, description text, price text COLLATE loose);
         CREATE TABLE loose.orders (id text, user_id text, item_id text, quantity int);
         INSERT INTO loose.items VALUES ('1', 'Lamp', '1.5'), ('2', 'Desk', '15');
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('lo', 'loose_dude', 'lo@x', 'pw', 'loose');
         INSERT INTO loose.orders VALUES ('1', 'lo', '1', 10), ('2', 'lo', '2', 10);",
    )
    .await;
    let conn = connect(&db).await;
    let user = conn.user("lo").await.unwrap();
    let server = conn.orders_totals(&user, None, None).await.unwrap();
    assert_eq!(server.total.plain().as_deref(), Some("165.0"), "{server:?}");
    let streamed = streamed(&conn, &user, None, 1).await;
    let (_, totals) = streamed.totals.expect("the totals are handed over");
    assert_eq!(totals, server);
}
