//! An items table without a primary key can hold several rows under one
//! id. The orders query joined the own items on the id, so an order for
//! such an item became one line per row, and every total (the lines', the
//! server's aggregate, the CLI's stream, the dashboard, the basket's own
//! column) counted it once per row. Against a real server: an order is one
//! line on every read path; copies that agree are one item, priced as
//! such; copies that differ leave the line's own price unknown, with the
//! reason, and the own total unknown (never a sum over the gap).

use serde_json::Value as Json;
use tenantscope::db::{Database, OrderLine, Page, User};
use tenantscope::embedded::testing::{TestDatabase, TestPooler};
use tenantscope::money::Value;

mod common;
use common::{on, start_app_on_user, stderr, stdout, DUPLICATE_ITEM_IDS};

/// A line's reason (JSON `problem`, the CSV's last column, the note under
/// the table).
const AMBIGUOUS: &str = "price is ambiguous (the item id names 2 different items)";

async fn database() -> TestDatabase {
    let db = TestDatabase::reference().await;
    db.run_sql(DUPLICATE_ITEM_IDS).await;
    db
}

fn run_ok(db: &TestDatabase, args: &[&str]) -> String {
    let out = on(db, args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json_of(db: &TestDatabase, args: &[&str]) -> Json {
    serde_json::from_str(&run_ok(db, args)).unwrap()
}

/// The table's order rows: between the header and the `Total` row.
fn table_rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("ID "))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("Total"))
        .map(|l| l.split_whitespace().collect())
        .collect()
}

/// The reported reproduction: 3 orders were 5 lines (each Tesla order at
/// 10 and at 20) and the totals counted each Tesla order twice.
#[tokio::test]
async fn the_reproduction_is_one_line_per_order_and_its_price_ambiguous() {
    let db = database().await;
    let args = ["orders", "80", "--compare", "client1"];
    let table = run_ok(&db, &args);
    let rows = table_rows(&table);
    assert_eq!(
        rows,
        [
            vec![
                "1",
                "Tesla",
                "1",
                "ambiguous",
                "—",
                "5,000.00",
                "5,000.00",
                "—"
            ],
            vec![
                "1",
                "Tesla",
                "1",
                "ambiguous",
                "—",
                "5,000.00",
                "5,000.00",
                "—"
            ],
            vec!["(missing", "item)", "2", "—", "—", "—", "—", "—"],
        ],
        "{table}"
    );
    let total = table.lines().find(|l| l.contains("Total  ")).unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Total", "—"],
        "own total unknown, no comparison total over no compared line: {table}"
    );
    assert!(
        table.contains("Total unknown: 3 lines without a total"),
        "{table}"
    );
    assert!(
        table.contains("Compared: no line priced by both dupids and client1"),
        "{table}"
    );
    // One note for both lines, with their count.
    assert_eq!(
        table.matches(&format!("Tesla: {AMBIGUOUS}")).count(),
        1,
        "{table}"
    );
    assert!(
        table.contains(&format!("Tesla: {AMBIGUOUS} (2 lines)")),
        "{table}"
    );
    // The evidence for the item rule counts each shared id once.
    assert!(table.contains("(1 shared, each the same item)"), "{table}");

    let json = json_of(&db, &[&args[..], &["--format", "json"]].concat());
    let lines = json["orders"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{json}");
    for tesla in &lines[..2] {
        assert_eq!(tesla["item_id"], "1");
        assert_eq!(tesla["item"], "Tesla");
        assert!(tesla["unit_price"].is_null() && tesla["total"].is_null());
        assert_eq!(tesla["compare_unit_price"].to_string(), "5000.00");
        assert_eq!(tesla["compare_total"].to_string(), "5000.00");
        assert_eq!(tesla["problem"], AMBIGUOUS);
    }
    assert_eq!(lines[2]["problem"], "missing item");
    for total in ["total", "compared_total", "compare_total"] {
        assert!(json[total].is_null(), "{total}: {json}");
    }
    assert_eq!(json["compare_missing"], 1);

    let csv = run_ok(&db, &[&args[..], &["--format", "csv"]].concat());
    let csv: Vec<&str> = csv.lines().collect();
    assert_eq!(csv.len(), 4, "a header and 3 lines: {csv:?}");
    let tesla = format!("1,Tesla,1,,,5000.00,5000.00,,1,client1,{AMBIGUOUS}");
    assert_eq!(csv[1], tesla);
    assert_eq!(csv[2], tesla);
}

/// Identical rows under one id are one item: the line is priced, once.
/// Rows that differ in description only (the same price) are two items.
#[tokio::test]
async fn copies_that_agree_are_one_item_and_copies_that_differ_are_not() {
    let db = database().await;
    let json = json_of(
        &db,
        &["orders", "81", "--compare", "client1", "--format", "json"],
    );
    let lines = json["orders"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{json}");
    assert_eq!(lines[0]["item"], "Tesla");
    assert_eq!(lines[0]["unit_price"].to_string(), "4000.00");
    assert_eq!(lines[0]["total"].to_string(), "8000.00");
    assert!(lines.iter().all(|l| l["problem"].is_null()), "{json}");
    // 2 × 4000.00 + 150.00; client1: 2 × 5000.00 + 2000.00.
    assert_eq!(json["total"].to_string(), "8150.00");
    assert_eq!(json["compared_total"].to_string(), "8150.00");
    assert_eq!(json["compare_total"].to_string(), "12000.00");

    let table = run_ok(&db, &["orders", "82"]);
    let rows = table_rows(&table);
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.contains(&"ambiguous")), "{table}");
    assert!(
        table.contains(&format!(
            "Total unknown: 2 lines with a {}",
            AMBIGUOUS.replace("price is", "price that is")
        )),
        "the gap named: {table}"
    );
}

/// Every line of a user, a keyset page of `size` at a time, forward.
async fn paged(db: &Database, user: &User, compare: Option<&str>, size: usize) -> Vec<OrderLine> {
    let mut lines = Vec::new();
    let mut page = Page::First;
    loop {
        let got = db
            .orders_page(user, compare, &page, size, None)
            .await
            .unwrap();
        let last = got.last().map(|l| l.key.clone());
        let full = got.len() == size;
        lines.extend(got.into_iter().map(|l| l.line));
        match last {
            Some(last) if full => page = Page::After(last),
            _ => return lines,
        }
    }
}

/// The dashboard's reads (the first page, keyset pages, the server's
/// aggregate) give the lines and totals the whole report gives, and the
/// orders pane shows the reason.
#[tokio::test]
async fn the_dashboards_pages_and_the_servers_totals_agree() {
    let db = database().await;
    let conn = db.connect().await;
    for (id, lines) in [("80", 3), ("81", 2), ("82", 2)] {
        let user = conn.user(id).await.unwrap();
        for compare in [None, Some("client1")] {
            let report = conn.priced_orders(&user, compare).await.unwrap();
            assert_eq!(report.lines.len(), lines, "user {id}");
            let head = conn.orders_head(&user, compare, 100, None).await.unwrap();
            assert_eq!(head.lines, report.lines, "user {id}");
            assert_eq!(head.totals, report.totals, "user {id}");
            assert_eq!(paged(&conn, &user, compare, 1).await, report.lines);
            let totals = conn.orders_totals(&user, compare, None).await.unwrap();
            assert_eq!(totals, report.totals, "user {id} {compare:?}");
        }
    }
    let user = conn.user("82").await.unwrap();
    let totals = conn.orders_totals(&user, None, None).await.unwrap();
    assert_eq!((totals.lines, totals.own_gaps), (2, 2));
    assert_eq!(totals.total, Value::Missing);
    assert_eq!(
        totals.gap.as_deref(),
        Some("2 lines with a price that is ambiguous (the item id names 2 different items)")
    );
    let report = conn.priced_orders(&user, None).await.unwrap();
    let line = &report.lines[0];
    assert_eq!(line.unit_price.cell(), "ambiguous");
    assert_eq!(line.total, Value::Missing);
    assert_eq!(line.problem().as_deref(), Some(AMBIGUOUS));
    let user = conn.user("81").await.unwrap();
    let totals = conn
        .orders_totals(&user, Some("client1"), None)
        .await
        .unwrap();
    assert_eq!(totals.total, Value::parse("8150.00"));
    assert_eq!(totals.compare_total, Value::parse("12000.00"));

    let mut app = start_app_on_user(conn.clone(), "82", None, (200, 50)).await;
    let frame = app
        .frame_where("user 82's orders", |f| f.contains("Total unknown"))
        .await;
    assert!(
        frame.contains(
            "Total unknown: 2 lines with a price that is ambiguous (the item id names 2 different items)"
        ),
        "{frame}"
    );
    let rows = frame.lines().filter(|l| l.contains("Desk lamp")).count();
    assert_eq!(rows, 2, "{frame}");
    assert!(
        frame
            .lines()
            .filter(|l| l.contains("Desk lamp"))
            .all(|l| l.contains("ambiguous")),
        "{frame}"
    );
    app.handle.abort();
    conn.close().await;
}

/// The basket's own column says what `orders` says: the ambiguous lines
/// are not priced there (nor at 10 or 20), and identical copies are one.
#[tokio::test]
async fn the_baskets_own_column_agrees_with_orders() {
    let db = database().await;
    let basket = json_of(&db, &["basket", "80", "--format", "json"]);
    let at = |json: &Json, tenant: &str| {
        json["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant"] == tenant)
            .unwrap_or_else(|| panic!("{tenant} in {json}"))
            .clone()
    };
    assert_eq!(basket["lines"], 3);
    let own = at(&basket, "dupids");
    assert!(own["total"].is_null(), "{own}");
    assert_eq!(
        (own["priced_lines"].as_i64(), own["missing_lines"].as_i64()),
        (Some(0), Some(3))
    );
    let whys: Vec<(&str, &str)> = own["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["item"].as_str().unwrap(), g["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        whys,
        [
            ("Tesla", "ambiguous"),
            ("Tesla", "ambiguous"),
            ("(missing item)", "not_sold")
        ]
    );
    let client1 = at(&basket, "client1");
    assert_eq!(client1["total"].to_string(), "10000.00");
    assert_eq!(client1["priced_lines"], 2);
    let table = run_ok(&db, &["basket", "80"]);
    let own = table
        .lines()
        .find(|l| l.starts_with("dupids (own)"))
        .unwrap();
    assert!(
        own.contains("lacks (missing item) · ambiguous price for Tesla")
            && !own.contains("Tesla, Tesla"),
        "{table}"
    );

    let basket = json_of(&db, &["basket", "81", "--format", "json"]);
    let own = at(&basket, "twins");
    assert_eq!(own["total"].to_string(), "8150.00", "{basket}");
    assert_eq!(own["priced_lines"], 2);
}

/// Through PgBouncer in transaction mode the answers are the same.
#[tokio::test]
async fn through_pgbouncer_the_answers_are_the_same() {
    let db = database().await;
    let pooler = TestPooler::start();
    let flagged = format!("{}?pgbouncer=true", pooler.url(&db.name));
    for args in [
        &["orders", "80", "--compare", "client1", "--format", "json"][..],
        &["orders", "81", "--compare", "client1"],
        &["orders", "82", "--format", "csv"],
        &["basket", "80"],
    ] {
        let direct = run_ok(&db, args);
        let mut pooled = vec!["--database-url", flagged.as_str()];
        pooled.extend_from_slice(args);
        let pooled = common::tenantscope(&pooled);
        assert_eq!(
            pooled.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&pooled)
        );
        assert_eq!(stdout(&pooled), direct, "{args:?}");
    }
}

/// Two rows under one id at different prices, in either order on disk:
/// the price matrix and the comparison both call the price ambiguous,
/// whichever came first (the matrix once showed the first row the server
/// read, 20 in one tenant and 10 in the other; then both took the lower
/// price text, 10, as if it were the Tesla's).
#[tokio::test]
async fn the_matrix_and_the_orders_call_a_repeated_id_at_two_prices_ambiguous() {
    let db = database().await;
    db.run_sql(
        "CREATE SCHEMA dupids_too;
         CREATE TABLE dupids_too.items (id text, description text, price numeric);
         CREATE TABLE dupids_too.orders (id text, user_id text, item_id text, quantity int);
         INSERT INTO dupids_too.items VALUES ('1', 'Tesla', 20), ('1', 'Tesla', 10);",
    )
    .await;
    let csv = run_ok(&db, &["prices", "--format", "csv"]);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let tesla = common::csv_row(&csv, "Tesla");
    let price_at = |tenant: &str| tesla[header.iter().position(|h| *h == tenant).unwrap()];
    assert_eq!(
        (price_at("dupids"), price_at("dupids_too")),
        ("ambiguous", "ambiguous"),
        "{csv}"
    );
    for compare in ["dupids", "dupids_too"] {
        let args = ["orders", "1", "--compare", compare, "--format", "json"];
        let json = json_of(&db, &args);
        let tesla = json["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["item"] == "Tesla")
            .unwrap();
        assert_eq!(tesla["compare_unit_price"], Json::Null, "{json}");
        let problem = tesla["problem"].as_str().unwrap();
        assert!(
            problem.contains("comparison price is ambiguous (items at different prices"),
            "{json}"
        );
    }
}
