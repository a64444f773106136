//! Money is exact for every PostgreSQL numeric type, never rounded, never
//! summed over a gap, never a panic: regression tests for issue 9 (defects
//! 1, 2, 4, 9 and duplicate descriptions), against a real server.

use serde_json::{json, Value};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::money::Value as Money;

mod common;
use common::{connect, stderr, stdout, tenantscope};

/// SQL for a tenant `schema` whose items.price is `price_type` and
/// orders.quantity is `quantity_type`, with one user `user` (id = schema),
/// items `(id, description, price literal)` and that user's orders
/// `(item id, quantity literal)`.
fn tenant(
    schema: &str,
    price_type: &str,
    quantity_type: &str,
    items: &[(&str, &str, &str)],
    orders: &[(&str, &str)],
) -> String {
    let mut sql = format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.items (id text, description text, price {price_type});
         CREATE TABLE {schema}.orders (id int, user_id text, item_id text, quantity {quantity_type});
         INSERT INTO public.users (id, name, mail, password, organization_id)
             VALUES ('{schema}', '{schema}_dude', '{schema}@x', 'pw', '{schema}');"
    );
    for (id, description, price) in items {
        sql.push_str(&format!(
            "INSERT INTO {schema}.items VALUES ('{id}', '{description}', {price});"
        ));
    }
    for (n, (item, quantity)) in orders.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO {schema}.orders VALUES ({n}, '{schema}', '{item}', {quantity});"
        ));
    }
    sql
}

fn plain(value: &Money) -> String {
    value.plain().unwrap_or_else(|| format!("{value:?}"))
}

fn run_ok(db: &TestDatabase, args: &[&str]) -> String {
    let mut full = vec!["--database-url", db.url.as_str()];
    full.extend(args);
    let out = tenantscope(&full);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    stdout(&out)
}

fn json_of(db: &TestDatabase, args: &[&str]) -> Value {
    serde_json::from_str(&run_ok(db, args)).unwrap()
}

/// `basket USER --format json`'s entry for `tenant`.
fn basket_tenant(db: &TestDatabase, user: &str, tenant: &str) -> Value {
    let json = json_of(db, &["basket", user, "--format", "json"]);
    let tenants = json["tenants"].as_array().unwrap();
    let found = tenants.iter().find(|t| t["tenant"] == tenant);
    found.unwrap_or_else(|| panic!("{tenant}: {json}")).clone()
}

/// Defect 1: `numeric(10,3)` quantities 2.500 and 0.001 at 19.99 were
/// rounded to 3 and 0 (a bigint cast).
#[tokio::test]
async fn fractional_quantities_are_not_rounded() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "frac",
        "numeric(12,2)",
        "numeric(10,3)",
        &[("1", "Pen", "19.99")],
        &[("1", "2.500"), ("1", "0.001")],
    ))
    .await;
    let json = json_of(&db, &["orders", "frac", "--format", "json"]);
    let lines = &json["orders"];
    // 2.5 × 19.99 = 49.975 and 0.001 × 19.99 = 0.01999, worked by hand.
    assert_eq!(lines[0]["quantity"].to_string(), "2.5");
    assert_eq!(lines[0]["total"].to_string(), "49.975");
    assert_eq!(lines[1]["quantity"].to_string(), "0.001");
    assert_eq!(lines[1]["total"].to_string(), "0.01999");
    assert_eq!(json["total"].to_string(), "49.99499");

    let csv = run_ok(&db, &["orders", "frac", "--format", "csv"]);
    assert!(csv.contains("1,Pen,2.5,19.99,49.975,"), "{csv}");
    assert!(csv.contains("1,Pen,0.001,19.99,0.01999,"), "{csv}");
    let table = run_ok(&db, &["orders", "frac"]);
    assert!(
        table.contains("49.975") && table.contains("0.001"),
        "{table}"
    );
}

/// Defect 1: every numeric type for the price (quantity 3) and for the
/// quantity (price 19.99), read exactly; expected values worked by hand.
#[tokio::test]
async fn every_numeric_type_is_read_exactly() {
    let db = TestDatabase::reference().await;
    let prices = [
        ("smallint", "19", "19", "57"),
        ("integer", "19", "19", "57"),
        (
            "bigint",
            "9223372036854775807",
            "9223372036854775807",
            "27670116110564327421",
        ),
        ("numeric", "19.99", "19.99", "59.97"),
        ("numeric(12,2)", "19.9", "19.90", "59.70"),
        ("numeric(12,4)", "19.99", "19.9900", "59.9700"),
        ("real", "19.99", "19.99", "59.97"),
        ("double precision", "0.1", "0.1", "0.3"),
        ("money", "'1234.56'", "1234.56", "3703.68"),
        ("text", "'19.99'", "19.99", "59.97"),
    ];
    let mut sql = String::new();
    for (n, (price_type, literal, ..)) in prices.iter().enumerate() {
        sql += &tenant(
            &format!("p{n}"),
            price_type,
            "integer",
            &[("1", "Pen", literal)],
            &[("1", "3")],
        );
    }
    let quantities = [
        ("smallint", "3", "3", "59.97"),
        ("integer", "3", "3", "59.97"),
        ("bigint", "3", "3", "59.97"),
        ("numeric", "2.5", "2.5", "49.975"),
        ("numeric(10,3)", "2.500", "2.5", "49.975"),
        ("real", "2.5", "2.5", "49.975"),
        ("double precision", "0.001", "0.001", "0.01999"),
        ("money", "'2.50'", "2.5", "49.975"),
        ("text", "'2.5'", "2.5", "49.975"),
    ];
    for (n, (quantity_type, literal, ..)) in quantities.iter().enumerate() {
        sql += &tenant(
            &format!("q{n}"),
            "numeric(12,2)",
            quantity_type,
            &[("1", "Pen", "19.99")],
            &[("1", literal)],
        );
    }
    db.run_sql(&sql).await;
    let conn = connect(&db).await;
    for (n, (price_type, _, price, total)) in prices.iter().enumerate() {
        let user = conn.user(&format!("p{n}")).await.unwrap();
        let report = conn.priced_orders(&user, None).await.unwrap();
        let line = &report.lines[0];
        assert_eq!(plain(&line.unit_price), *price, "{price_type} price");
        assert_eq!(plain(&line.total), *total, "{price_type} price × 3");
        assert_eq!(plain(&report.totals.total), *total, "{price_type}");
    }
    for (n, (quantity_type, _, quantity, total)) in quantities.iter().enumerate() {
        let user = conn.user(&format!("q{n}")).await.unwrap();
        let report = conn.priced_orders(&user, None).await.unwrap();
        let line = &report.lines[0];
        assert_eq!(plain(&line.quantity), *quantity, "{quantity_type} quantity");
        assert_eq!(plain(&line.total), *total, "19.99 × {quantity_type}");
    }
    // Compared across types: bigint own price against a money price.
    let user = conn.user("p2").await.unwrap();
    let report = conn.priced_orders(&user, Some("p8")).await.unwrap();
    assert_eq!(plain(&report.lines[0].compare_total), "3703.68");
    assert_eq!(
        plain(&report.difference()),
        "-27670116110564323717.32",
        "3703.68 − 27670116110564327421"
    );
}

/// A server whose sessions round floats (`extra_float_digits = 0` in its
/// config, an `ALTER DATABASE/ROLE … SET` or `PGOPTIONS`) still gives every
/// float its exact value: 0.1 + 0.2 read 0.3 and a real 16777216 read
/// 16,777,200, in the lines, the server's totals and the matrix.
#[tokio::test]
async fn floats_are_exact_whatever_the_servers_extra_float_digits() {
    let db = TestDatabase::reference().await;
    let mut sql = tenant(
        "f8",
        "double precision",
        "integer",
        &[("1", "Widget", "0.1::float8 + 0.2::float8")],
        &[("1", "3")],
    );
    sql += &tenant(
        "f4",
        "real",
        "integer",
        &[("1", "Widget", "16777216")],
        &[("1", "3")],
    );
    sql += "DO $$ BEGIN
              EXECUTE format('ALTER DATABASE %I SET extra_float_digits = 0', current_database());
            END $$;";
    db.run_sql(&sql).await;
    let conn = connect(&db).await;
    let user = conn.user("f8").await.unwrap();
    let report = conn.priced_orders(&user, Some("f4")).await.unwrap();
    let line = &report.lines[0];
    assert_eq!(plain(&line.unit_price), "0.30000000000000004");
    assert_eq!(plain(&line.total), "0.90000000000000012");
    assert_eq!(plain(&line.compare_unit_price), "16777216");
    assert_eq!(plain(&line.compare_total), "50331648");
    let totals = conn.orders_totals(&user, Some("f4"), None).await.unwrap();
    assert_eq!(plain(&totals.total), "0.90000000000000012");
    assert_eq!(plain(&totals.compare_total), "50331648");
    let matrix = json_of(&db, &["prices", "--format", "json"]);
    let text = matrix.to_string();
    assert!(text.contains("0.30000000000000004"), "{text}");
    assert!(text.contains("16777216"), "{text}");
}

/// Defect 2: a numeric price of 1e29, a real price of 1e30 and a product
/// of i64::MAX × 9,999,999,999.99 panicked (or gave 0.00); all are exact.
#[tokio::test]
async fn huge_values_are_exact_and_never_panic() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "huge",
        "numeric",
        "bigint",
        &[("1", "Yacht", "1e29"), ("2", "Tesla", "9999999999.99")],
        &[("1", "1"), ("2", "9223372036854775807")],
    ))
    .await;
    db.run_sql(&tenant(
        "huger",
        "real",
        "integer",
        &[("1", "Yacht", "1e30")],
        &[("1", "2")],
    ))
    .await;
    let e29 = format!("1{}", "0".repeat(29));
    let e30 = format!("1{}", "0".repeat(30));
    let json = json_of(
        &db,
        &["orders", "huge", "--compare", "huger", "--format", "json"],
    );
    let yacht = &json["orders"][0];
    assert_eq!(yacht["unit_price"].to_string(), e29);
    assert_eq!(yacht["total"].to_string(), e29);
    assert_eq!(yacht["compare_unit_price"].to_string(), e30);
    assert_eq!(
        yacht["compare_total"].to_string(),
        format!("1{}", "0".repeat(30))
    );
    let tesla = &json["orders"][1];
    // 9223372036854775807 × 9999999999.99, by hand (long multiplication).
    let product = "92233720368455524349631452241.93";
    assert_eq!(tesla["quantity"].to_string(), "9223372036854775807");
    assert_eq!(tesla["total"].to_string(), product);
    assert_eq!(
        json["total"].to_string(),
        "192233720368455524349631452241.93",
        "1e29 + the product"
    );
    // `--format csv` and the table too, exit 0 and no panic.
    let csv = run_ok(&db, &["orders", "huge", "--format", "csv"]);
    assert!(csv.contains(&format!("1,Yacht,1,{e29},{e29}")), "{csv}");
    assert!(csv.contains(product), "{csv}");
    run_ok(&db, &["orders", "huge"]);

    let prices = run_ok(&db, &["prices", "--format", "csv", "--sort", "name"]);
    let yacht = prices.lines().find(|l| l.starts_with("Yacht")).unwrap();
    assert!(
        yacht.contains(&format!(",{e29},{e30},")),
        "the huge and huger columns: {yacht}"
    );
    let json = json_of(&db, &["prices", "--format", "json"]);
    let yacht = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["description"] == "Yacht")
        .unwrap();
    assert_eq!(yacht["prices"]["huger"].to_string(), e30);
    assert_eq!(yacht["spread"].to_string(), "10");
    run_ok(&db, &["prices"]);
}

/// Two lines of 9e999 sum past what is shown: the basket's total is no
/// number, and its JSON and CSV say why (they gave `null` and an empty
/// cell beside 2 priced lines, unexplained), as the table says
/// `out of range`.
#[tokio::test]
async fn a_basket_total_past_what_is_shown_says_why() {
    let db = TestDatabase::reference().await;
    let nines = format!("9{}", "0".repeat(999));
    db.run_sql(&tenant(
        "vast",
        "numeric",
        "integer",
        &[("1", "Star", &nines), ("2", "Moon", &nines)],
        &[("1", "1"), ("2", "1")],
    ))
    .await;
    let own = basket_tenant(&db, "vast", "vast");
    assert_eq!(own["priced_lines"], 2, "{own}");
    assert_eq!(own["total"], Value::Null, "{own}");
    let problem = own["problem"].as_str().unwrap_or_default();
    assert!(problem.starts_with("total is out of range"), "{own}");
    // Its difference over the lines compared is no number for that reason
    // too, and says so (it was null, unexplained).
    assert_eq!(own["difference"], Value::Null, "{own}");
    assert!(problem.contains("; difference is out of range"), "{own}");
    let csv = run_ok(&db, &["basket", "vast", "--format", "csv"]);
    let row = csv.lines().find(|l| l.starts_with("vast,")).unwrap();
    assert!(row.contains(",total is out of range"), "{csv}");
    let table = run_ok(&db, &["basket", "vast"]);
    let row = table.lines().find(|l| l.starts_with("vast")).unwrap();
    assert!(row.contains("out of range"), "{table}");
}

/// Defect 2: NaN and ±Infinity prices get a per-line message; the total
/// that would include them is unknown, not the sum of the rest.
#[tokio::test]
async fn nan_and_infinite_prices_are_a_message_for_their_line() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "odd",
        "double precision",
        "integer",
        &[
            ("1", "Nothing", "'NaN'"),
            ("2", "Everything", "'Infinity'"),
            ("3", "Debt", "'-Infinity'"),
            ("4", "Pen", "1.5"),
        ],
        &[("1", "1"), ("2", "1"), ("3", "1"), ("4", "2")],
    ))
    .await;
    let json = json_of(&db, &["orders", "odd", "--format", "json"]);
    let lines = json["orders"].as_array().unwrap();
    let problems: Vec<&Value> = lines.iter().map(|l| &l["problem"]).collect();
    assert_eq!(
        problems,
        [
            &json!("price is not a number (NaN)"),
            &json!("price is infinite (Infinity)"),
            &json!("price is infinite (-Infinity)"),
            &Value::Null,
        ]
    );
    assert!(lines[0]["unit_price"].is_null() && lines[0]["total"].is_null());
    assert_eq!(lines[3]["total"].to_string(), "3.0");
    assert!(json["total"].is_null(), "never 3.0: a sum over a gap");

    let table = run_ok(&db, &["orders", "odd"]);
    assert!(
        table.contains("NaN") && table.contains("-Infinity"),
        "{table}"
    );
    assert!(
        table.contains("Total unknown: 3 lines without a total"),
        "{table}"
    );
    assert!(
        table.contains("Nothing: price is not a number (NaN)"),
        "{table}"
    );
    let total = table.lines().find(|l| l.contains("Total  ")).unwrap();
    assert!(total.contains('—') && !total.contains("3.0"), "{total}");
}

/// Defect 9 and the text-price case: 'N/A' in a text price is a problem of
/// its line (orders) and its cell (prices), not a failed query.
#[tokio::test]
async fn a_text_price_that_is_no_number_is_a_per_line_problem() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "texty",
        "text",
        "integer",
        &[("1", "Tesla", "'N/A'"), ("2", "Pen", "'2.50'")],
        &[("1", "1"), ("2", "2")],
    ))
    .await;
    let json = json_of(&db, &["orders", "texty", "--format", "json"]);
    assert_eq!(
        json["orders"][0]["problem"],
        "price is not a number: \"N/A\""
    );
    assert_eq!(json["orders"][1]["total"].to_string(), "5.00");
    assert!(json["total"].is_null());

    let csv = run_ok(&db, &["prices", "--format", "csv", "--sort", "name"]);
    assert_eq!(
        csv.lines().next().unwrap(),
        "item,client1,client2,texty,min,max,spread,min_tenants,max_tenants"
    );
    let tesla = csv.lines().find(|l| l.starts_with("Tesla")).unwrap();
    assert_eq!(
        tesla,
        "Tesla,5000.00,1000.00,not a number,1000.00,5000.00,5,client2,client1"
    );
    let table = run_ok(&db, &["prices", "--sort", "name"]);
    let tesla = table.lines().find(|l| l.starts_with("Tesla")).unwrap();
    assert!(tesla.contains("not a number"), "{tesla}");
}

/// Defect 4 on the demo: `orders 1 --compare client3` summed 35,000.00
/// against 60,000.00 (−25,000.00) although client3 does not sell the Huawei.
#[tokio::test]
async fn comparison_is_like_for_like() {
    let db = TestDatabase::demo().await;
    let json = json_of(
        &db,
        &["orders", "1", "--compare", "client3", "--format", "json"],
    );
    let tesla = &json["orders"][0];
    assert_eq!(tesla["item"], "Tesla");
    assert!(json["orders"][1]["compare_total"].is_null());
    assert_eq!(json["compare_missing"], 1);
    assert_eq!(json["compare_total"], tesla["compare_total"]);
    assert_eq!(json["compared_total"], tesla["total"], "Tesla alone");
    assert_eq!(json["total"].to_string(), "60000.00");

    let table = run_ok(&db, &["orders", "1", "--compare", "client3"]);
    assert!(!table.contains("25,000.00"), "{table}");
    assert!(
        table.contains("Compared: 1 of 2 lines, 1 line not sold by client3"),
        "{table}"
    );
    let like = table.lines().find(|l| l.contains("Like for like")).unwrap();
    assert!(like.contains("-15,000.00"), "35,000.00 − 50,000.00: {like}");

    let full = json_of(
        &db,
        &["orders", "1", "--compare", "client2", "--format", "json"],
    );
    assert_eq!(full["compare_missing"], 0);
    assert_eq!(full["compared_total"], full["total"]);
}

/// No matching item at all: no difference, and it says so.
#[tokio::test]
async fn comparison_with_nothing_in_common_says_so() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "lonely",
        "numeric",
        "integer",
        &[("x1", "Gadget", "9.99")],
        &[("x1", "1")],
    ))
    .await;
    let json = json_of(
        &db,
        &[
            "orders",
            "lonely",
            "--compare",
            "client1",
            "--format",
            "json",
        ],
    );
    assert_eq!(json["compare_missing"], 1);
    assert!(json["compare_total"].is_null() && json["compared_total"].is_null());
    let table = run_ok(&db, &["orders", "lonely", "--compare", "client1"]);
    assert!(
        table.contains("Compared: no item sold by client1"),
        "{table}"
    );
    let total = table.lines().find(|l| l.contains("Total  ")).unwrap();
    assert!(!total.contains('▼') && !total.contains("-9.99"), "{total}");
}

/// Items of one description at the comparison tenant: at one price (by
/// value: `10` and `10.00` are one) they are one item, priced as such (the
/// lowest id in text order, '10' before '9', is the one named); at two
/// prices, or a NULL one beside a number, no one of them is that tenant's
/// price, so the lines (a page, as the dashboard reads it, and every line),
/// the server's totals, the basket and the matrix all say "ambiguous" and
/// leave them out of the comparison. Before, every view took the lowest
/// id's price, 5.00, as if it were the Pen's.
#[tokio::test]
async fn duplicate_descriptions_at_other_prices_are_ambiguous_everywhere() {
    use tenantscope::money::Problem::AmbiguousMatch;
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "dupa",
        "numeric",
        "integer",
        &[
            ("a1", "Pen", "4.00"),
            ("a2", "Cap", "1.00"),
            ("a3", "Mug", "7.00"),
            ("a4", "Ink", "0.50"),
        ],
        &[("a1", "1"), ("a2", "2"), ("a3", "1"), ("a4", "1")],
    ))
    .await;
    db.run_sql(
        "CREATE SCHEMA dupb;
         CREATE TABLE dupb.items (id integer, description text, price numeric);
         CREATE TABLE dupb.orders (id int, user_id text, item_id integer, quantity int);
         INSERT INTO dupb.items VALUES (9, 'Pen', 3.00), (10, 'Pen', 5.00),
                                       (11, 'Cap', 2.00), (12, 'Cap', 2.00),
                                       (13, 'Mug', 10), (14, 'Mug', 10.00),
                                       (15, 'Ink', NULL), (16, 'Ink', 1.00);",
    )
    .await;
    let conn = connect(&db).await;
    let user = conn.user("dupa").await.unwrap();
    let report = conn.priced_orders(&user, Some("dupb")).await.unwrap();
    let head = conn
        .orders_head(&user, Some("dupb"), 100, None)
        .await
        .unwrap();
    assert_eq!(head.lines, report.lines, "a page reads as every line does");
    let prices: Vec<(String, Money)> = report
        .lines
        .iter()
        .map(|l| (l.own_item(), l.compare_unit_price.clone()))
        .collect();
    let ambiguous = Money::Invalid(AmbiguousMatch);
    assert_eq!(
        prices,
        [
            ("Pen".to_string(), ambiguous.clone()),
            ("Cap".to_string(), Money::parse("2.00")),
            ("Mug".to_string(), Money::parse("10")),
            ("Ink".to_string(), ambiguous.clone()),
        ]
    );
    let (pen, cap) = (&report.lines[0], &report.lines[1]);
    assert!(!pen.compared(), "an ambiguous price is no price");
    assert_eq!(
        (pen.compare_item_id.as_deref(), pen.compare_item.as_deref()),
        (None, None)
    );
    assert_eq!(
        cap.compare_item_id.as_deref(),
        Some("11"),
        "copies: the lowest id"
    );
    assert_eq!(report.lines[2].compare_item_id.as_deref(), Some("13"));
    let totals = &report.totals;
    assert_eq!(totals.compared_lines, 2);
    assert_eq!(
        plain(&totals.compare_total),
        "14.00",
        "the Caps and the Mug"
    );
    assert_eq!((totals.compare_missing, totals.compare_unpriced), (2, 2));
    // The server's aggregate (the dashboard's totals) says the same.
    let server = conn.orders_totals(&user, Some("dupb"), None).await.unwrap();
    assert_eq!(&server, totals);

    let orders = json_of(
        &db,
        &["orders", "dupa", "--compare", "dupb", "--format", "json"],
    );
    assert_eq!(
        orders["orders"][0]["problem"],
        "comparison price is ambiguous (items at different prices match it there)",
        "{orders}"
    );
    assert_eq!(
        orders["orders"][0]["compare_item_id"],
        Value::Null,
        "no one item"
    );
    let table = run_ok(&db, &["orders", "dupa", "--compare", "dupb"]);
    let row = table.lines().find(|l| l.contains("Pen")).unwrap();
    assert!(row.contains("ambiguous"), "{table}");

    let at_dupb = basket_tenant(&db, "dupa", "dupb");
    assert_eq!(at_dupb["total"].to_string(), "14.00", "{at_dupb}");
    assert_eq!(
        at_dupb["gaps"],
        json!([{"item": "Pen", "why": "ambiguous"}, {"item": "Ink", "why": "ambiguous"}]),
        "{at_dupb}"
    );

    let matrix = conn
        .price_matrix(&["dupa".into(), "dupb".into()])
        .await
        .unwrap();
    let at_dupb = |d: &str| {
        let row = matrix.rows.iter().position(|r| r.description == d).unwrap();
        matrix.price(row, "dupb")
    };
    assert_eq!(at_dupb("Pen"), ambiguous);
    assert_eq!(at_dupb("Ink"), ambiguous);
    assert_eq!(plain(&at_dupb("Cap")), "2.00");
    assert_eq!(plain(&at_dupb("Mug")), "10");
    let prices = run_ok(&db, &["prices"]);
    let pen_row = prices.lines().find(|l| l.starts_with("Pen")).unwrap();
    assert!(pen_row.contains("ambiguous"), "{prices}");
}

/// Defect 9: one schema the support role cannot read is named as a failure
/// of that tenant; the others are priced.
#[tokio::test]
async fn prices_names_a_tenant_it_cannot_read_and_prices_the_rest() {
    let db = TestDatabase::reference().await;
    db.run_sql(&tenant(
        "locked",
        "numeric",
        "integer",
        &[("1", "Tesla", "1")],
        &[],
    ))
    .await;
    // A tenant after it whose items have no price column: stopped by the
    // catalog, before any price is read, and listed after it all the same.
    db.run_sql(
        "CREATE SCHEMA zz_noprice;
         CREATE TABLE zz_noprice.items (id text, description text);
         CREATE TABLE zz_noprice.orders (id int, user_id text, item_id text, quantity int);",
    )
    .await;
    db.run_sql(include_str!("../sql/support_role.sql")).await;
    db.run_sql("REVOKE USAGE ON SCHEMA locked FROM tenantscope_support")
        .await;
    let url = db.url.replace("tenantscope@", "tenantscope_support@");
    let run = |format: &str| {
        tenantscope(&[
            "--database-url",
            &url,
            "prices",
            "--format",
            format,
            "--sort",
            "name",
        ])
    };
    let out = run("json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failed = json["failed"].as_array().unwrap();
    let tenants: Vec<&str> = failed
        .iter()
        .map(|f| f["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["locked", "zz_noprice"], "in the columns' order");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("permission denied"), "{error}");
    let tesla = &json["items"][1];
    assert_eq!(tesla["description"], "Tesla");
    assert_eq!(tesla["prices"]["client1"].to_string(), "5000.00");
    assert!(tesla["prices"]["locked"].is_null());

    let out = run("csv");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("tenant \"locked\" not priced: ")
            && stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out)
            .contains("Tesla,5000.00,1000.00,not read,not read,1000.00,5000.00,5,client2,client1"),
        "{}",
        stdout(&out)
    );
}

/// Defect 9: many tenants are read in batches (here 40 per statement,
/// 250 tenants); a tenant whose batch fails is found and named, the rest
/// of its batch and the other batches are priced.
#[tokio::test]
async fn prices_reads_many_tenants_in_batches() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "DO $$ BEGIN FOR n IN 1..250 LOOP
             EXECUTE format('CREATE SCHEMA t%s;
                 CREATE TABLE t%s.items (id text, description text, price numeric);
                 CREATE TABLE t%s.orders (id int, user_id text, item_id text, quantity int);
                 INSERT INTO t%s.items VALUES (''1'', ''Tesla'', %s)', n, n, n, n, n);
         END LOOP; END $$;
         CREATE SCHEMA t99x;
         CREATE TABLE t99x.orders (id int, user_id text, item_id text, quantity int);
         CREATE VIEW t99x.items AS SELECT '1'::text AS id, 'Tesla'::text AS description,
                                          (1 / 0)::numeric AS price;",
    )
    .await;
    let conn = connect(&db).await;
    let catalog = conn.tenants().await.unwrap();
    assert_eq!(catalog.len(), 253);
    let matrix = conn
        .price_matrix_in_batches(catalog.names(), 40)
        .await
        .unwrap();
    assert_eq!(matrix.failed.len(), 1, "{:?}", matrix.failed);
    assert_eq!(matrix.failed[0].tenant, "t99x");
    assert!(matrix.failed[0].error.contains("division by zero"));
    let tesla = matrix
        .rows
        .iter()
        .position(|r| r.description == "Tesla")
        .unwrap();
    for n in 1..=250 {
        assert_eq!(plain(&matrix.price(tesla, &format!("t{n}"))), n.to_string());
    }
    assert_eq!(matrix.price(tesla, "t99x"), Money::Missing);
    assert_eq!(plain(&matrix.rows[tesla].min), "1");
    assert_eq!(plain(&matrix.rows[tesla].max), "5000.00");
    // The default batch gives the same matrix.
    assert_eq!(conn.price_matrix(catalog.names()).await.unwrap(), matrix);
    // A name that is no tenant fails its column alone.
    let partial = conn
        .price_matrix(&["t1".into(), "nope".into()])
        .await
        .unwrap();
    let failed: Vec<&str> = partial.failed.iter().map(|f| f.tenant.as_str()).collect();
    assert_eq!(failed, ["nope"]);
    assert_eq!(partial.tenants, ["t1", "nope"]);
}

/// The comparison and basket on a catalogue numbered apart from the own
/// tenant's (client3's ids offset and reversed): the same items by
/// description, as SQL written here prices them.
#[tokio::test]
async fn comparison_and_basket_on_an_independently_numbered_catalogue() {
    let db = TestDatabase::demo().await;
    common::renumber_items(&db, "client3", 1000).await;
    common::assert_compared_by_description(&db, "1", "client1", "client3").await;
}
