//! One item-identity rule for every view: catalogues numbered independently
//! per tenant (as frameworks number them) and a shared catalogue (the
//! article's), with expected prices computed by SQL written here.

mod common;

use common::{stderr, stdout, tenantscope};
use serde_json::Value as Json;
use sqlx::Connection;
use tenantscope::embedded::testing::TestDatabase;

/// The article's layout with four tenants:
/// - acme and globex number their catalogues independently (acme's item 1
///   is a Widget, globex's item 1 a Sprocket; globex sells no Gizmo);
/// - initech copies acme's catalogue (same ids, same items, own prices);
/// - umbrella has a `sku` column, as does hooli; there a renamed item
///   ("Widget" became "Widget v2") is still the same item by sku.
const CATALOGUES: &str = r#"
CREATE TABLE public.users (id int PRIMARY KEY, name text, mail text,
                           organization_id text, creation_timestamp timestamptz DEFAULT now());
INSERT INTO public.users (id, name, mail, organization_id) VALUES
  (1, 'ann', 'ann@acme.test', 'acme'), (2, 'gus', 'gus@globex.test', 'globex'),
  (3, 'ida', 'ida@initech.test', 'initech'), (4, 'uma', 'uma@umbrella.test', 'umbrella');
CREATE SCHEMA acme; CREATE SCHEMA globex; CREATE SCHEMA initech;
CREATE SCHEMA umbrella; CREATE SCHEMA hooli;
CREATE TABLE acme.items (id bigint PRIMARY KEY, description text, price numeric);
INSERT INTO acme.items VALUES (1, 'Widget', 10.00), (2, 'Gadget', 25.00), (3, 'Gizmo', 7.50);
CREATE TABLE globex.items (id bigint PRIMARY KEY, description text, price numeric);
INSERT INTO globex.items VALUES (1, 'Sprocket', 4.25), (2, 'Widget', 12.00), (3, 'Gadget', 20.00);
CREATE TABLE initech.items (id bigint PRIMARY KEY, description text, price numeric);
INSERT INTO initech.items VALUES (1, 'Widget', 11.00), (2, 'Gadget', 24.00), (3, 'Gizmo', 8.00);
CREATE TABLE umbrella.items (id bigint PRIMARY KEY, sku text, description text, price numeric);
INSERT INTO umbrella.items VALUES (7, 'W-1', 'Widget', 9.00), (8, 'G-2', 'Gadget', 30.00);
CREATE TABLE hooli.items (id bigint PRIMARY KEY, sku text, description text, price numeric);
INSERT INTO hooli.items VALUES (1, 'G-2', 'Gadget', 31.00), (2, 'W-1', 'Widget v2', 9.50);
DO $$ DECLARE s text; BEGIN
  FOREACH s IN ARRAY ARRAY['acme', 'globex', 'initech', 'umbrella', 'hooli'] LOOP
    EXECUTE format('CREATE TABLE %I.orders (id serial PRIMARY KEY, user_id int,
                    item_id bigint, quantity int)', s);
  END LOOP;
END $$;
INSERT INTO acme.orders (user_id, item_id, quantity) VALUES (1, 1, 2), (1, 2, 1), (1, 3, 3);
INSERT INTO globex.orders (user_id, item_id, quantity) VALUES (2, 1, 4), (2, 3, 1);
INSERT INTO umbrella.orders (user_id, item_id, quantity) VALUES (4, 7, 2), (4, 8, 1);
"#;

async fn catalogues() -> TestDatabase {
    let db = TestDatabase::empty().await;
    db.run_sql(CATALOGUES).await;
    db
}

fn run(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    run_at(&db.url, args)
}

/// `args` run on the database at `url` (as another role, say).
fn run_at(url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", url];
    all.extend_from_slice(args);
    tenantscope(&all)
}

fn json(db: &TestDatabase, args: &[&str]) -> Json {
    json_at(&db.url, args)
}

/// [`json`] on the database at `url`.
fn json_at(url: &str, args: &[&str]) -> Json {
    let out = run_at(url, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Tenants acme and globex with `items` (SQL creating both items tables
/// and their rows) and user 1 of acme, who ordered `orders` (item id,
/// quantity); globex has an orders table, no orders.
async fn acme_and_globex(items: &str, orders: &[(i64, i64)]) -> TestDatabase {
    let db = TestDatabase::empty().await;
    let ordered: Vec<String> = orders
        .iter()
        .map(|(item, n)| format!("(1, {item}, {n})"))
        .collect();
    db.run_sql(&format!(
        "CREATE TABLE public.users (id int PRIMARY KEY, name text, mail text, organization_id text);
         INSERT INTO public.users VALUES (1, 'ann', 'ann@acme.test', 'acme');
         CREATE SCHEMA acme; CREATE SCHEMA globex;
         {items}
         CREATE TABLE acme.orders (id serial PRIMARY KEY, user_id int, item_id bigint,
                                   quantity int);
         CREATE TABLE globex.orders (LIKE acme.orders INCLUDING ALL);
         INSERT INTO acme.orders (user_id, item_id, quantity) VALUES {};",
        ordered.join(", ")
    ))
    .await;
    db
}

/// [`json`] of `args` with `items_match = rule` in a config file.
fn json_matching(db: &TestDatabase, rule: &str, args: &[&str]) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("match.toml");
    std::fs::write(&config, format!("[tenancy]\nitems_match = \"{rule}\"\n")).unwrap();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    json(db, &all)
}

/// The entry of JSON `list` whose `field` is `value`.
fn entry(list: &Json, field: &str, value: &str) -> Json {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[field] == value)
        .unwrap_or_else(|| panic!("{field} {value} in {list}"))
        .clone()
}

/// Tenant `name`'s entry of a `basket` JSON report.
fn basket_tenant(basket: &Json, name: &str) -> Json {
    entry(&basket["tenants"], "tenant", name)
}

/// Rows of a query whose columns are all text (NULL as None).
async fn rows(db: &TestDatabase, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut conn = sqlx::PgConnection::connect_with(&db.options).await.unwrap();
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> =
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap();
    rows.into_iter().map(|(a, b, c)| vec![a, b, c]).collect()
}

/// Items tables with a `sku` column (NOT NULL, as Django's CharField).
const SKU_ITEMS: &str =
    "CREATE TABLE acme.items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
         description varchar(100) NOT NULL, price numeric(10,2), sku varchar(32) NOT NULL);
     CREATE TABLE globex.items (LIKE acme.items INCLUDING ALL);";

/// [`acme_and_globex`] with [`SKU_ITEMS`] holding `acme`'s and `globex`'s
/// rows (description, price, sku).
async fn sku_catalogues(acme: &str, globex: &str, orders: &[(i64, i64)]) -> TestDatabase {
    acme_and_globex(
        &format!(
            "{SKU_ITEMS}
             INSERT INTO acme.items (description, price, sku) VALUES {acme};
             INSERT INTO globex.items (description, price, sku) VALUES {globex};"
        ),
        orders,
    )
    .await
}

/// A line as [`compared`] has it.
fn line(item: &str, price: Option<&str>, id: Option<&str>) -> Vec<Option<String>> {
    vec![
        Some(item.to_string()),
        price.map(str::to_string),
        id.map(str::to_string),
    ]
}

/// (own item, comparison price, comparison item id) of each order line.
fn compared(orders: &Json) -> Vec<Vec<Option<String>>> {
    let text = |v: &Json| match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            vec![
                text(&line["item"]),
                text(&line["compare_unit_price"]),
                text(&line["compare_item_id"]),
            ]
        })
        .collect()
}

#[tokio::test]
async fn independently_numbered_catalogues_match_by_description_in_orders() {
    let db = catalogues().await;
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    let expected = rows(
        &db,
        "SELECT a.description, g.price::text, g.id::text
           FROM acme.orders o JOIN acme.items a ON a.id = o.item_id
           LEFT JOIN globex.items g ON g.description = a.description
          WHERE o.user_id = 1 ORDER BY o.id",
    )
    .await;
    assert_eq!(compared(&report), expected);
    // Not globex's item 1 (a Sprocket at 4.25) as acme's Widget.
    assert_eq!(report["orders"][0]["compare_item"], "Widget");
    assert_eq!(report["compare_missing"], 1, "globex sells no Gizmo");
    assert_eq!(report["items_match"]["rule"], "description");
    assert!(
        report["items_match"]["why"]
            .as_str()
            .unwrap()
            .contains("number items independently"),
        "{report}"
    );
    // Like for like: Widget 2 × 12.00 + Gadget 1 × 20.00 against 2 × 10 + 25.
    assert_eq!(report["compare_total"].to_string(), "44.00");
    assert_eq!(report["compared_total"].to_string(), "45.00");
}

#[tokio::test]
async fn a_shared_catalogue_still_matches_by_id() {
    let db = catalogues().await;
    // initech copied acme's catalogue: the ids agree, so they are the key
    // (and the description for an item initech numbers otherwise).
    db.run_sql("UPDATE initech.items SET id = 9 WHERE description = 'Gizmo'")
        .await;
    let report = json(
        &db,
        &["orders", "1", "--compare", "initech", "--format", "json"],
    );
    let expected = rows(
        &db,
        "SELECT a.description, i.price::text, i.id::text
           FROM acme.orders o JOIN acme.items a ON a.id = o.item_id
           LEFT JOIN initech.items i ON i.id = o.item_id OR (i.description = a.description
                AND NOT EXISTS (SELECT 1 FROM initech.items x WHERE x.id = o.item_id))
          WHERE o.user_id = 1 ORDER BY o.id",
    )
    .await;
    assert_eq!(compared(&report), expected);
    assert_eq!(report["orders"][2]["compare_item_id"], "9");
    assert_eq!(report["items_match"]["rule"], "id_or_description");
    assert_eq!(report["compare_missing"], 0);
}

#[tokio::test]
async fn a_sku_column_on_both_sides_wins_over_the_description() {
    let db = catalogues().await;
    let report = json(
        &db,
        &["orders", "4", "--compare", "hooli", "--format", "json"],
    );
    let expected = rows(
        &db,
        "SELECT u.description, h.price::text, h.id::text
           FROM umbrella.orders o JOIN umbrella.items u ON u.id = o.item_id
           LEFT JOIN hooli.items h ON h.sku = u.sku
          WHERE o.user_id = 4 ORDER BY o.id",
    )
    .await;
    assert_eq!(compared(&report), expected);
    assert_eq!(report["items_match"]["rule"], "sku");
    // The renamed item is the same item by sku, and it is said.
    assert_eq!(report["orders"][0]["compare_item"], "Widget v2");
    let table = stdout(&run(&db, &["orders", "4", "--compare", "hooli"]));
    assert!(
        table.contains("Check: 1 line matched by sku name another item at hooli"),
        "{table}"
    );
}

#[tokio::test]
async fn a_configured_rule_is_followed_and_a_missing_key_column_is_said() {
    let db = catalogues().await;
    let dir = tempfile::tempdir().unwrap();
    let config = |rule: &str| {
        let path = dir.path().join(format!("{rule}.toml"));
        std::fs::write(&path, format!("[tenancy]\nitems_match = \"{rule}\"\n")).unwrap();
        path.to_str().unwrap().to_string()
    };
    // By id, as asked: globex's item 1 stands beside acme's Widget, marked.
    let by_id = config("id");
    let report = json(
        &db,
        &[
            "--config",
            &by_id,
            "orders",
            "1",
            "--compare",
            "globex",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["items_match"]["rule"], "id");
    assert_eq!(report["orders"][0]["compare_item"], "Sprocket");
    let table = stdout(&run(
        &db,
        &["--config", &by_id, "orders", "1", "--compare", "globex"],
    ));
    assert!(
        table.contains("Check: 3 lines matched by id name another item at globex"),
        "{table}"
    );
    assert!(
        table.contains("Widget ≠ Sprocket"),
        "the line is marked: {table}"
    );
    // By sku where globex has none: own prices stand, the reason is given.
    let by_sku = config("sku");
    let report = json(
        &db,
        &[
            "--config",
            &by_sku,
            "orders",
            "1",
            "--compare",
            "globex",
            "--format",
            "json",
        ],
    );
    let why = report["compare_error"].as_str().unwrap();
    assert!(why.contains("has no such column"), "{why}");
    assert_eq!(report["total"].to_string(), "67.50");
    assert_eq!(report["compare_total"], Json::Null);
}

/// A comparison tenant whose items table lacks a column the comparison
/// reads (the price): the own prices stand with the reason, in the CLI and
/// on the dashboard, as for a missing key column. The whole read failed
/// ("column ci.price does not exist"), and the dashboard lost the user's
/// own orders.
#[tokio::test]
async fn a_comparison_tenant_without_prices_leaves_the_own_prices_standing() {
    let db = catalogues().await;
    db.run_sql(
        "CREATE SCHEMA noprice;
         CREATE TABLE noprice.items (id bigint PRIMARY KEY, description text);
         INSERT INTO noprice.items VALUES (1, 'Widget');
         CREATE TABLE noprice.orders (id serial, user_id int, item_id bigint, quantity int);",
    )
    .await;
    let why = "the items table of \"noprice\" has no \"price\" column";
    let report = json(
        &db,
        &["orders", "1", "--compare", "noprice", "--format", "json"],
    );
    assert_eq!(report["compare_error"], why, "{report}");
    assert_eq!(report["total"].to_string(), "67.50");
    assert_eq!(report["orders"].as_array().unwrap().len(), 3);
    let out = run(&db, &["orders", "1", "--compare", "noprice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("no comparison with noprice: {why}")),
        "{}",
        stdout(&out)
    );
    let out = run(
        &db,
        &[
            "snapshot",
            "--user",
            "1",
            "--compare",
            "noprice",
            "--size",
            "120x30",
        ],
    );
    let frame = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        frame.contains("Gizmo") && frame.contains("67.50") && !frame.contains("Error"),
        "{frame}"
    );
    // The basket says it of the table too (it said the server's "column
    // ci.price does not exist"), and prices the other tenants.
    let basket = json(&db, &["basket", "1", "--format", "json"]);
    let tenants = basket["tenants"].as_array().unwrap();
    let noprice = tenants.iter().find(|t| t["tenant"] == "noprice").unwrap();
    assert_eq!(noprice["error"], why, "{basket}");
    let globex = tenants.iter().find(|t| t["tenant"] == "globex").unwrap();
    assert_eq!(globex["total"].to_string(), "44.00", "{basket}");
    // A user of that tenant: its own prices cannot be read, and the error
    // says so of the table (it named the query's aliases: "column i.price
    // does not exist", HINT "m0.price").
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, organization_id) VALUES (9, 'nop', 'n@x', 'noprice');
         INSERT INTO noprice.orders (user_id, item_id, quantity) VALUES (9, 1, 1);",
    )
    .await;
    let out = run(&db, &["orders", "9"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(why) && !err.contains("i.price"), "{err}");
}

#[tokio::test]
async fn the_basket_prices_the_same_items_as_the_comparison() {
    let db = catalogues().await;
    let basket = json(&db, &["basket", "1", "--format", "json"]);
    let tenant = |name: &str| basket_tenant(&basket, name);
    for other in ["globex", "initech"] {
        let orders = json(
            &db,
            &["orders", "1", "--compare", other, "--format", "json"],
        );
        let at = tenant(other);
        assert_eq!(at["total"], orders["compare_total"], "{other}");
        assert_eq!(
            at["missing_lines"].as_u64().unwrap(),
            orders["compare_missing"].as_u64().unwrap(),
            "{other}"
        );
    }
    // globex: Widget 24.00 + Gadget 20.00, no Gizmo.
    assert_eq!(tenant("globex")["total"].to_string(), "44.00");
    assert_eq!(tenant("globex")["missing_lines"], 1);
}

#[tokio::test]
async fn the_price_matrix_rows_are_items_not_ids() {
    let db = catalogues().await;
    let matrix = json(&db, &["prices", "--format", "json"]);
    // acme has no sku column: rows are descriptions.
    assert_eq!(matrix["items_match"], "description");
    let row = |matrix: &Json, key: &str| entry(&matrix["items"], "key", key);
    let expected = rows(
        &db,
        "SELECT s, p::text, NULL FROM (VALUES
           ('acme', (SELECT price FROM acme.items WHERE description = 'Widget')),
           ('globex', (SELECT price FROM globex.items WHERE description = 'Widget')),
           ('initech', (SELECT price FROM initech.items WHERE description = 'Widget')),
           ('umbrella', (SELECT price FROM umbrella.items WHERE description = 'Widget')),
           ('hooli', (SELECT price FROM hooli.items WHERE description = 'Widget'))) v(s, p)",
    )
    .await;
    let widget = row(&matrix, "Widget");
    for tenant in expected {
        let (schema, price) = (tenant[0].clone().unwrap(), tenant[1].clone());
        let shown = &widget["prices"][&schema];
        assert_eq!(
            (!shown.is_null()).then(|| shown.to_string()),
            price,
            "{schema}"
        );
    }
    // Matched by sku, as configured: the renamed Widget is one row; the
    // tenants without a sku column are named, not left blank.
    let matrix = json_matching(&db, "sku", &["prices", "--format", "json"]);
    assert_eq!(matrix["items_match"], "sku");
    let w1 = row(&matrix, "W-1");
    assert_eq!(
        w1["description"], "Widget v2",
        "the leftmost tenant's (hooli)"
    );
    assert_eq!(w1["prices"]["umbrella"].to_string(), "9.00");
    assert_eq!(w1["prices"]["hooli"].to_string(), "9.50");
    let failed: Vec<&str> = matrix["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["acme", "globex", "initech"]);
}

#[tokio::test]
async fn detect_says_how_items_match_and_writes_the_setting() {
    let db = catalogues().await;
    let out = run(&db, &["detect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model: toml::Table = stdout(&out).parse().unwrap();
    assert_eq!(model["tenancy"]["items_match"].as_str(), Some("auto"));
    // The first two tenants by name: acme and globex, numbered independently.
    let why = stderr(&out);
    assert!(
        why.contains("detect: items_match = \"auto\": acme and globex match items by description"),
        "{why}"
    );
}

/// Django's `CharField(blank=True)` stores a sku nobody filled in as `''`:
/// every such item of one tenant was "the same" as every such item of the
/// other, so acme's Gadget and Gizmo were priced as globex's Sprocket at
/// 999.00, in the comparison, the basket and the matrix. `auto` now takes
/// a key column only where it names every item on both sides (else the
/// description), and under a configured key a blank one (empty or spaces)
/// names no item: those lines are not compared, never priced as another.
#[tokio::test]
async fn a_blank_key_matches_no_item() {
    let db = sku_catalogues(
        "('Widget', 10, 'W-1'), ('Gadget', 20, ''), ('Gizmo', 30, '  ')",
        "('Sprocket', 999, ''), ('Widget', 11, 'W-1'), ('Gadget', 21, ''), ('Gizmo', 31, ' ')",
        &[(1, 1), (2, 1), (3, 1)],
    )
    .await;
    let globex = |basket: &Json| basket_tenant(basket, "globex");
    // auto: the sku names not every item, so the description does.
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    assert_eq!(report["items_match"]["rule"], "description", "{report}");
    let why = report["items_match"]["why"].as_str().unwrap();
    assert!(
        why.starts_with("the sku column names not every item; "),
        "{why}"
    );
    assert_eq!(
        compared(&report),
        [
            line("Widget", Some("11.00"), Some("2")),
            line("Gadget", Some("21.00"), Some("3")),
            line("Gizmo", Some("31.00"), Some("4")),
        ]
    );
    assert_eq!(report["compare_total"].to_string(), "63.00");
    let basket = json(&db, &["basket", "1", "--format", "json"]);
    assert_eq!(globex(&basket)["total"].to_string(), "63.00", "{basket}");
    let matrix = json(&db, &["prices", "--format", "json"]);
    assert_eq!(matrix["items_match"], "description", "{matrix}");
    let gadget = entry(&matrix["items"], "key", "Gadget");
    assert_eq!(gadget["prices"]["globex"].to_string(), "21.00", "{matrix}");

    // The sku, as configured: a blank one names no item.
    let orders = ["orders", "1", "--compare", "globex", "--format", "json"];
    let report = json_matching(&db, "sku", &orders);
    assert_eq!(
        compared(&report),
        [
            line("Widget", Some("11.00"), Some("2")),
            line("Gadget", None, None),
            line("Gizmo", None, None)
        ]
    );
    assert_eq!(report["compare_total"].to_string(), "11.00");
    assert_eq!(report["compared_total"].to_string(), "10.00");
    assert_eq!(report["compare_missing"], 2);
    let basket = json_matching(&db, "sku", &["basket", "1", "--format", "json"]);
    assert_eq!(globex(&basket)["total"].to_string(), "11.00", "{basket}");
    assert_eq!(globex(&basket)["missing_lines"], 2, "{basket}");
    let matrix = json_matching(&db, "sku", &["prices", "--format", "json"]);
    let keys: Vec<&Json> = matrix["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["key"])
        .collect();
    assert_eq!(keys, [&Json::from("W-1")], "{matrix}");
    assert!(!matrix.to_string().contains("999"), "{matrix}");
}

/// Under auto's id_or_description (the catalogues agree on every id both
/// still have), an order for an item the own tenant deleted was priced as
/// whatever the other tenant numbers with that id: acme's deleted Gizmo
/// (3) as globex's Sprocket (3) at 777.00, in the comparison and the
/// basket, which then ranked globex first. Its id was never checked.
/// Configured `items_match = "id"` (one catalogue's ids) keeps matching it.
#[tokio::test]
async fn a_deleted_own_item_is_not_matched_by_an_unchecked_id() {
    let db = acme_and_globex(
        "CREATE TABLE acme.items (id bigint PRIMARY KEY, description text, price numeric);
         CREATE TABLE globex.items (LIKE acme.items INCLUDING ALL);
         INSERT INTO acme.items VALUES (1, 'Tesla', 5000), (2, 'Pen', 1);
         INSERT INTO globex.items VALUES (1, 'Tesla', 4000), (2, 'Pen', 2), (3, 'Sprocket', 777);",
        &[(1, 1), (2, 1), (3, 2)],
    )
    .await;
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    assert_eq!(report["items_match"]["rule"], "id_or_description");
    let last = &report["orders"][2];
    assert_eq!(last["item"], Json::Null, "{report}");
    assert_eq!(last["compare_unit_price"], Json::Null, "{report}");
    assert_eq!(last["compare_item"], Json::Null, "{report}");
    let basket = json(&db, &["basket", "1", "--format", "json"]);
    let globex = basket_tenant(&basket, "globex");
    assert_eq!(globex["total"].to_string(), "4002", "{basket}");
    assert_eq!(globex["missing_lines"], 1, "{basket}");
    // One catalogue's ids, as configured: the order's id still names it.
    let orders = ["orders", "1", "--compare", "globex", "--format", "json"];
    let report = json_matching(&db, "id", &orders);
    assert_eq!(report["orders"][2]["compare_unit_price"].to_string(), "777");
}

/// Two catalogues whose shared ids carry blank or NULL descriptions do not
/// show that the ids name the same items: auto matches by description, not
/// by id (it took NULL = NULL and '' = '' for agreement).
#[tokio::test]
async fn blank_descriptions_are_no_agreement_on_ids() {
    let db = acme_and_globex(
        "CREATE TABLE acme.items (id bigint PRIMARY KEY, description text, price numeric);
         CREATE TABLE globex.items (LIKE acme.items INCLUDING ALL);
         INSERT INTO acme.items VALUES (1, '', 5), (2, NULL, 6);
         INSERT INTO globex.items VALUES (1, '', 700), (2, NULL, 800);",
        &[(1, 1), (2, 1)],
    )
    .await;
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    assert_eq!(report["items_match"]["rule"], "description", "{report}");
    assert_eq!(report["compare_missing"], 2, "{report}");
    assert!(!report.to_string().contains("700"), "{report}");
}

/// A role that may not read the other tenant's sku column cannot match by
/// it: `auto` passes it over for the description (the statement over the
/// sku would fail on every comparison), and the reason says so.
#[tokio::test]
async fn a_key_column_the_role_may_not_read_is_passed_over() {
    let db = acme_and_globex(
        "CREATE TABLE acme.items (id bigint PRIMARY KEY, sku text, description text, price numeric);
         CREATE TABLE globex.items (LIKE acme.items INCLUDING ALL);
         INSERT INTO acme.items VALUES (1, 'W-1', 'Widget', 10.00);
         INSERT INTO globex.items VALUES (7, 'W-1', 'Widget', 12.00);",
        &[(1, 2)],
    )
    .await;
    db.run_sql(
        "CREATE ROLE no_sku_reader LOGIN;
         GRANT USAGE ON SCHEMA public, acme, globex TO no_sku_reader;
         GRANT SELECT ON public.users, acme.items, acme.orders, globex.orders TO no_sku_reader;
         GRANT SELECT (id, description, price) ON globex.items TO no_sku_reader;",
    )
    .await;
    let url = db.url.replace("tenantscope@", "no_sku_reader@");
    assert_ne!(url, db.url);
    let orders = ["orders", "1", "--compare", "globex", "--format", "json"];
    let report = json_at(&url, &orders);
    assert_eq!(report["items_match"]["rule"], "description", "{report}");
    assert_eq!(
        report["orders"][0]["compare_unit_price"].to_string(),
        "12.00"
    );
    assert_eq!(report["compare_error"], Json::Null, "{report}");
}

/// Under the sku rule, a sku the other tenant gives two items at other
/// prices is ambiguous there (no one of them is its price; the line is not
/// compared), two items at one price are one; blank skus, however
/// priced there, make nothing ambiguous (a blank key names no item: the
/// own blank-sku item is not sold there).
#[tokio::test]
async fn a_sku_given_twice_at_other_prices_is_ambiguous_and_blank_skus_are_none() {
    let db = sku_catalogues(
        "('Widget', 10, 'W-1'), ('Gadget', 20, 'G-2'), ('Gizmo', 30, 'Z-3'), ('Loose', 4, '')",
        "('Widget', 11, 'W-1'), ('Widget XL', 13, 'W-1'), ('Gadget', 21, 'G-2'), \
         ('Gadget (copy)', 21.00, 'G-2'), ('Gizmo', 31, 'Z-3'), ('Loose', 5, ''), \
         ('Looser', 6, '  ')",
        &[(1, 2), (2, 1), (3, 1), (4, 1)],
    )
    .await;
    let orders = ["orders", "1", "--compare", "globex", "--format", "json"];
    let report = json_matching(&db, "sku", &orders);
    assert_eq!(
        compared(&report),
        [
            line("Widget", None, None),
            line("Gadget", Some("21.00"), Some("3")),
            line("Gizmo", Some("31.00"), Some("5")),
            line("Loose", None, None),
        ],
        "{report}"
    );
    // Blank skus at two prices there: not sold, not ambiguous.
    assert_eq!(report["orders"][3]["problem"], Json::Null, "{report}");
    let widget = &report["orders"][0];
    assert_eq!(
        widget["problem"],
        "comparison price is ambiguous (items at different prices match it there)",
        "{widget}"
    );
    assert_eq!(report["compare_total"].to_string(), "52.00");
    assert_eq!(report["compared_total"].to_string(), "50.00");
    let basket = json_matching(&db, "sku", &["basket", "1", "--format", "json"]);
    let globex = basket_tenant(&basket, "globex");
    assert_eq!(globex["total"].to_string(), "52.00", "{basket}");
    assert_eq!(
        globex["gaps"],
        serde_json::json!([
            {"item": "Widget", "why": "ambiguous"},
            {"item": "Loose", "why": "not_sold"}
        ]),
        "{basket}"
    );
}

/// Under auto's id_or_description, an id the other tenant gives two items
/// at other prices (no primary key) is ambiguous: the line is not priced
/// by falling back to the description (its Widget at 12.00), since the id
/// found items there; an id found once still prices its line.
#[tokio::test]
async fn an_ambiguous_id_is_not_priced_by_the_description_instead() {
    let db = acme_and_globex(
        "CREATE TABLE acme.items (id bigint, description text, price numeric);
         CREATE TABLE globex.items (LIKE acme.items INCLUDING ALL);
         INSERT INTO acme.items VALUES (1, 'Widget', 10.00), (2, 'Gadget', 25.00);
         INSERT INTO globex.items VALUES (1, 'Widget', 11.00), (1, 'Widget', 12.00),
                                         (2, 'Gadget', 20.00);",
        &[(1, 1), (2, 1)],
    )
    .await;
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    assert_eq!(
        report["items_match"]["rule"], "id_or_description",
        "{report}"
    );
    let lines = compared(&report);
    assert_eq!(
        lines,
        [
            vec![Some("Widget".into()), None, None],
            vec![
                Some("Gadget".into()),
                Some("20.00".into()),
                Some("2".into())
            ],
        ],
        "{report}"
    );
    assert_eq!(
        report["orders"][0]["problem"],
        "comparison price is ambiguous (items at different prices match it there)"
    );
    assert_eq!(report["compare_total"].to_string(), "20.00");
}
