//! A user's orders read in keyset pages (issue 24): paging shows every
//! line exactly once, in order, either way; the totals the server computes
//! in one aggregate statement equal SQL written here and the client's own
//! sums over every line; a gap makes the total unknown. The CLI's stream
//! sums the same totals as the lines go by, without the aggregate.

use tenantscope::db::{Database, OrderLine, OrderSink, OrdersReport, OrdersTotals, Page, User};
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
    db.run_sql(common::BULK_TENANTS).await;
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

async fn page_forward(db: &Database, user: &User, size: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut page = Page::First;
    loop {
        let lines = db
            .orders_page(user, Some("other"), &page, size, None)
            .await
            .unwrap();
        keys.extend(lines.iter().map(|l| l.key.clone()));
        match lines.last() {
            Some(last) if lines.len() == size => page = Page::After(last.key.clone()),
            _ => return keys,
        }
    }
}

async fn page_backward(db: &Database, user: &User, size: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut page = Page::Last;
    loop {
        let lines = db
            .orders_page(user, Some("other"), &page, size, None)
            .await
            .unwrap();
        let mut before: Vec<String> = lines.iter().map(|l| l.key.clone()).collect();
        before.append(&mut keys);
        keys = before;
        match lines.first() {
            Some(first) if lines.len() == size => page = Page::Before(first.key.clone()),
            _ => return keys,
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
    assert_eq!(head.keys, expected[..100]);
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
            &Page::From(expected[7].clone()),
            3,
            None,
        )
        .await
        .unwrap();
    let from: Vec<&str> = from.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(from, expected[7..10]);

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
    lines: Vec<usize>,
    totals: Option<(usize, OrdersTotals)>,
    begun_with_totals: Vec<bool>,
}

impl OrderSink for Recorded {
    fn begin(&mut self, _pass: u8, report: &OrdersReport) -> bool {
        self.begun_with_totals.push(report.totals_known);
        self.lines.push(0);
        true
    }

    fn line(&mut self, pass: u8, _line: &OrderLine) -> bool {
        self.lines[pass as usize] += 1;
        true
    }

    fn totals(&mut self, report: &OrdersReport) -> bool {
        assert!(report.totals_known);
        assert!(self.totals.is_none(), "the totals come once");
        self.totals = Some((self.lines.len(), report.totals.clone()));
        true
    }
}

async fn streamed(db: &Database, user: &User, compare: Option<&str>, passes: u8) -> Recorded {
    let mut sink = Recorded::default();
    db.stream_orders(user, compare, passes, &mut sink)
        .await
        .unwrap();
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
