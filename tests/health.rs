//! Tenant health and the price matrix against a real PostgreSQL server.
//!
//! The fixtures plant drift, orphans both ways and leaked orders; the
//! reports must name each of them and nothing else, through the Rust API
//! and through the binary.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tenantscope::config::Settings;
use tenantscope::db::{
    ColumnShape, ConnectionSource, Count, Database, DbError, Drift, DriftKind, HealthStatus,
    ItemRule, Leak, LeakKind, PriceSort, ReferenceChoice,
};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::embedded::DEMO_SQL;

mod common;
use common::{connect, dec, stderr, stdout, tenantscope};
use tenantscope::money::{Problem, Value as Money};

/// On top of the reference data (client1, client2, alike):
/// - `extra`: items has an extra `quantity integer` column; its orders have
///   no foreign key, and one names a user that does not exist;
/// - `floaty`: price is `double precision` (others: `numeric(12,2)`) and
///   description may be NULL;
/// - `halfway`: items but no orders table;
/// - `lonely`: complete and alike, but no user points at it;
/// - `reporting`: no tenant table at all, so not a tenant;
/// - users whose organization id names no tenant schema (`ghost` twice,
///   `Client1`, `reporting`) or none (NULL, empty);
/// - an order in client1 by poor_dude, a user of client2.
const PLANTED: &str = "
    CREATE SCHEMA extra;
    CREATE TABLE extra.items (LIKE client1.items INCLUDING ALL, quantity integer);
    CREATE TABLE extra.orders (LIKE client1.orders INCLUDING ALL);
    CREATE SCHEMA floaty;
    CREATE TABLE floaty.items (id text PRIMARY KEY,
                               creation_timestamp timestamptz NOT NULL DEFAULT now(),
                               description text, price double precision NOT NULL);
    CREATE TABLE floaty.orders (LIKE client1.orders INCLUDING ALL);
    CREATE SCHEMA halfway;
    CREATE TABLE halfway.items (LIKE client1.items INCLUDING ALL);
    CREATE SCHEMA lonely;
    CREATE TABLE lonely.items (LIKE client1.items INCLUDING ALL);
    CREATE TABLE lonely.orders (LIKE client1.orders INCLUDING ALL);
    CREATE SCHEMA reporting;
    CREATE TABLE reporting.daily (day date);

    INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
        ('e1', 'extra_dude', 'e1@x', 'extra-secret-pw', 'extra'),
        ('f1', 'float_dude', 'f1@x', 'float-secret-pw', 'floaty'),
        ('h1', 'half_dude', 'h1@x', 'half-secret-pw', 'halfway'),
        ('g1', 'ghost_one', 'g1@x', 'ghost-secret-pw', 'ghost'),
        ('g2', 'ghost_two', 'g2@x', 'ghost-secret-pw', 'ghost'),
        ('c1', 'case_dude', 'c1@x', 'case-secret-pw', 'Client1'),
        ('r1', 'report_dude', 'r1@x', 'report-secret-pw', 'reporting'),
        ('n1', 'null_dude', 'n1@x', 'null-secret-pw', NULL),
        ('n2', 'empty_dude', 'n2@x', 'empty-secret-pw', '');

    INSERT INTO extra.items (id, description, price, quantity) VALUES ('1', 'Tesla', 4000.00, 3);
    INSERT INTO extra.orders (id, user_id, item_id, quantity) VALUES
        ('1', 'e1', '1', 1), ('2', '999', '1', 2);
    INSERT INTO floaty.items (id, description, price) VALUES ('1', 'Tesla', 1500.5), ('2', NULL, 3);
    INSERT INTO halfway.items (id, description, price) VALUES ('1', 'Tesla', 1000.00);
    INSERT INTO client1.orders (id, user_id, item_id, quantity) VALUES ('3', '2', '1', 1);
    ANALYZE;
";

async fn planted() -> TestDatabase {
    let db = TestDatabase::reference().await;
    db.run_sql(PLANTED).await;
    db
}

fn shape(type_name: &str, not_null: bool) -> Option<ColumnShape> {
    Some(ColumnShape {
        type_name: type_name.into(),
        not_null,
    })
}

fn drift(
    table: &str,
    column: Option<&str>,
    kind: DriftKind,
    expected: Option<ColumnShape>,
    found: Option<ColumnShape>,
) -> Drift {
    Drift {
        table: table.into(),
        column: column.map(str::to_string),
        kind,
        expected,
        found,
    }
}

#[tokio::test]
async fn planted_drift_orphans_and_leaks_are_reported_and_nothing_else() {
    let test_db = planted().await;
    let db = connect(&test_db).await;
    let report = db.health(None).await.unwrap();

    let tenants: Vec<(&str, HealthStatus, i64)> = report
        .tenants
        .iter()
        .map(|t| (t.tenant.as_str(), t.status, t.users.value))
        .collect();
    assert_eq!(
        tenants,
        [
            ("client1", HealthStatus::Ok, 1),
            ("client2", HealthStatus::Ok, 1),
            ("extra", HealthStatus::Drift, 1),
            ("floaty", HealthStatus::Drift, 1),
            ("halfway", HealthStatus::Drift, 1),
            ("lonely", HealthStatus::Unused, 0),
        ],
        "every schema with an items or orders table, and no other"
    );
    assert!(report.tenants.iter().all(|t| !t.users.estimated));

    let drifts = |tenant: &str| report.tenant(tenant).unwrap().drift.clone();
    assert_eq!(
        drifts("extra"),
        [drift(
            "items",
            Some("quantity"),
            DriftKind::ExtraColumn,
            None,
            shape("integer", false)
        )]
    );
    assert_eq!(
        drifts("floaty"),
        [
            drift(
                "items",
                Some("description"),
                DriftKind::NullabilityChanged,
                shape("text", true),
                shape("text", false)
            ),
            drift(
                "items",
                Some("price"),
                DriftKind::TypeChanged,
                shape("numeric(12,2)", true),
                shape("double precision", true)
            ),
        ]
    );
    assert_eq!(
        drifts("halfway"),
        [drift("orders", None, DriftKind::MissingTable, None, None)]
    );
    for clean in ["client1", "client2", "lonely"] {
        assert!(drifts(clean).is_empty(), "{clean}: {:?}", drifts(clean));
    }
    assert_eq!(report.drift_count(), 4);

    let references: Vec<_> = report
        .references
        .iter()
        .map(|r| {
            (
                r.table.as_str(),
                r.tenant.as_str(),
                r.chosen_by,
                r.matching,
                r.with_table,
            )
        })
        .collect();
    assert_eq!(
        references,
        [
            ("items", "client1", ReferenceChoice::Majority, 4, 6),
            ("orders", "client1", ReferenceChoice::Majority, 5, 5),
        ]
    );
    let item_columns: Vec<_> = report.references[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str(), c.not_null))
        .collect();
    assert_eq!(
        item_columns,
        [
            ("creation_timestamp", "timestamp with time zone", true),
            ("description", "text", true),
            ("id", "text", true),
            ("price", "numeric(12,2)", true),
        ]
    );

    let orphans: Vec<(Option<&str>, i64)> = report
        .orphan_organizations
        .iter()
        .map(|o| (o.organization_id.as_deref(), o.users))
        .collect();
    assert_eq!(
        orphans,
        [
            (Some("Client1"), 1),
            (Some("ghost"), 2),
            (Some("reporting"), 1),
            (None, 2),
        ],
        "exact names only; NULL and empty together, last"
    );
    assert_eq!(report.unused_tenants, ["lonely"]);
    assert!(!report.is_healthy());

    // Row counts are estimates (the fixture ran ANALYZE).
    let counts = |tenant: &str| {
        let t = report.tenant(tenant).unwrap();
        (t.items, t.orders)
    };
    assert_eq!(
        counts("client1"),
        (Some(Count::estimate(2)), Some(Count::estimate(3)))
    );
    assert_eq!(
        counts("extra"),
        (Some(Count::estimate(1)), Some(Count::estimate(2)))
    );
    assert_eq!(counts("halfway"), (Some(Count::estimate(1)), None));
    assert!(!report.tenant("halfway").unwrap().has_table("orders"));

    assert_eq!(
        db.leaks("client1").await.unwrap(),
        [Leak {
            order_id: Some("3".into()),
            user_id: Some("2".into()),
            kind: LeakKind::OtherTenant,
            user_tenant: Some("client2".into()),
        }]
    );
    assert_eq!(
        db.leaks("extra").await.unwrap(),
        [Leak {
            order_id: Some("2".into()),
            user_id: Some("999".into()),
            kind: LeakKind::NoUser,
            user_tenant: None,
        }]
    );
    for clean in ["client2", "floaty", "lonely"] {
        assert_eq!(db.leaks(clean).await.unwrap(), [], "{clean}");
    }
    for unknown in ["ghost", "Client1", "reporting", "public", "pg_catalog", ""] {
        assert_eq!(
            db.leaks(unknown).await,
            Err(DbError::UnknownTenant(unknown.into()))
        );
    }
    assert_eq!(
        db.leaks("halfway").await,
        Err(DbError::TenantTableMissing {
            tenant: "halfway".into(),
            table: "orders".into()
        })
    );
}

#[tokio::test]
async fn a_given_reference_is_what_others_are_compared_with() {
    let test_db = planted().await;
    let db = connect(&test_db).await;
    let report = db.health(Some("extra")).await.unwrap();
    assert_eq!(report.references[0].tenant, "extra");
    assert_eq!(report.references[0].chosen_by, ReferenceChoice::Given);
    assert_eq!(report.references[0].matching, 1);
    let missing_quantity = drift(
        "items",
        Some("quantity"),
        DriftKind::MissingColumn,
        shape("integer", false),
        None,
    );
    for tenant in ["client1", "client2", "lonely"] {
        assert_eq!(
            report.tenant(tenant).unwrap().drift,
            std::slice::from_ref(&missing_quantity),
            "{tenant}"
        );
    }
    assert!(report.tenant("extra").unwrap().drift.is_empty());
    assert_eq!(report.tenant("floaty").unwrap().drift.len(), 3);

    // A reference without orders: that table's reference stays the majority.
    let report = db.health(Some("halfway")).await.unwrap();
    assert_eq!(report.references[0].chosen_by, ReferenceChoice::Given);
    assert_eq!(report.references[1].chosen_by, ReferenceChoice::Majority);

    for unknown in ["ghost", "Extra", "reporting", "public"] {
        assert_eq!(
            db.health(Some(unknown)).await,
            Err(DbError::UnknownTenant(unknown.into()))
        );
    }
}

#[tokio::test]
async fn counts_are_unknown_until_analyzed_then_estimated() {
    let test_db = TestDatabase::reference().await;
    let db = connect(&test_db).await;
    let report = db.health(None).await.unwrap();
    assert!(report.is_healthy(), "{report:?}");
    let client1 = report.tenant("client1").unwrap();
    assert_eq!(client1.users, Count::exact(1));
    assert_eq!(
        (client1.items, client1.orders),
        (None, None),
        "reltuples = -1: never analyzed"
    );
    test_db.run_sql("ANALYZE client1.items").await;
    let report = db.health(None).await.unwrap();
    let client1 = report.tenant("client1").unwrap();
    assert_eq!(
        (client1.items, client1.orders),
        (Some(Count::estimate(2)), None)
    );
}

/// (tenant, status, users, items, orders) of each tenant in a health JSON.
fn tenant_summary(json: &Value) -> Vec<Value> {
    json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!([
                t["tenant"],
                t["status"],
                t["users"]["value"],
                t["items"],
                t["orders"]
            ])
        })
        .collect()
}

#[tokio::test]
async fn health_json_names_every_finding_and_nothing_else() {
    let db = planted().await;
    let out = tenantscope(&[
        "--database-url",
        &db.url,
        "health",
        "--format",
        "json",
        "--leaks",
        "client1",
    ]);
    assert_eq!(out.status.code(), Some(0), "a report: {}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let keys = common::sorted_keys(&json);
    assert_eq!(
        keys,
        [
            "healthy",
            "leaks",
            "orphan_organizations",
            "references",
            "tenants",
            "unused_tenants",
            "wrong_copy"
        ]
    );
    // Nothing planted there: the shared schema holds no items or orders.
    assert_eq!(json["wrong_copy"], json!([]));
    assert_eq!(json["healthy"], false);
    let estimate = |n: i64| json!({"value": n, "estimated": true});
    assert_eq!(
        tenant_summary(&json),
        [
            json!(["client1", "ok", 1, estimate(2), estimate(3)]),
            json!(["client2", "ok", 1, estimate(2), estimate(2)]),
            json!(["extra", "drift", 1, estimate(1), estimate(2)]),
            json!(["floaty", "drift", 1, estimate(2), estimate(0)]),
            json!(["halfway", "drift", 1, estimate(1), null]),
            json!(["lonely", "unused", 0, estimate(0), estimate(0)]),
        ]
    );
    assert_eq!(
        json["tenants"][0]["users"],
        json!({"value": 1, "estimated": false})
    );
    let drift_of = |i: usize| json["tenants"][i]["drift"].clone();
    for clean in [0, 1, 5] {
        assert_eq!(drift_of(clean), json!([]));
    }
    assert_eq!(
        drift_of(2),
        json!([{"table": "items", "column": "quantity", "kind": "extra_column",
                "expected": null, "found": {"type": "integer", "not_null": false}}])
    );
    assert_eq!(
        drift_of(3),
        json!([
            {"table": "items", "column": "description", "kind": "nullability_changed",
             "expected": {"type": "text", "not_null": true},
             "found": {"type": "text", "not_null": false}},
            {"table": "items", "column": "price", "kind": "type_changed",
             "expected": {"type": "numeric(12,2)", "not_null": true},
             "found": {"type": "double precision", "not_null": true}}
        ])
    );
    assert_eq!(
        drift_of(4),
        json!([{"table": "orders", "column": null, "kind": "missing_table",
                "expected": null, "found": null}])
    );
    assert_eq!(
        json["orphan_organizations"],
        json!([
            {"organization_id": "Client1", "users": 1},
            {"organization_id": "ghost", "users": 2},
            {"organization_id": "reporting", "users": 1},
            {"organization_id": null, "users": 2}
        ])
    );
    assert_eq!(json["unused_tenants"], json!(["lonely"]));
    assert_eq!(
        json["leaks"],
        json!({"tenant": "client1", "orders": [
            {"order_id": "3", "user_id": "2", "kind": "other_tenant", "user_tenant": "client2"}
        ]})
    );
    assert_eq!(json["references"][0]["table"], "items");
    assert_eq!(json["references"][0]["tenant"], "client1");
    assert_eq!(json["references"][0]["chosen_by"], "majority");
    assert_eq!(json["references"][0]["matching"], 4);
    assert_eq!(json["references"][0]["with_table"], 6);
    assert_eq!(
        json["references"][0]["columns"][3],
        json!({"name": "price", "type": "numeric(12,2)", "not_null": true})
    );
    assert_eq!(json["references"][1]["table"], "orders");

    // Without --leaks the key is there, null.
    let out = tenantscope(&["--database-url", &db.url, "health", "--format", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["leaks"], Value::Null);
    let all = stdout(&out);
    assert!(!all.contains("secret-pw"), "{all}");
}

#[tokio::test]
async fn health_table_lists_drift_under_each_tenant() {
    let db = planted().await;
    let out = tenantscope(&["--database-url", &db.url, "health", "--leaks", "extra"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    let expected_start = [
        "TENANT   STATUS  USERS  ITEMS  ORDERS",
        "client1  ok          1     ~2      ~3",
        "client2  ok          1     ~2      ~2",
        "extra    drift       1     ~1      ~2",
        "  items.quantity: extra column (integer)",
        "floaty   drift       1     ~2      ~0",
        "  items.description: nullable, expected not null",
        "  items.price: type double precision, expected numeric(12,2)",
        "halfway  drift       1     ~1       —",
        "  orders: missing table",
        "lonely   unused      0     ~0      ~0",
        "",
        "Reference: items as in client1 (most common, 4 of 6 tenants); orders as in client1 (most common, 5 of 5 tenants)",
        "",
        "Organization ids that name no tenant schema:",
        "ORGANIZATION  USERS",
        "Client1           1",
        "ghost             2",
        "reporting         1",
        "",
        "Users with no organization id: 2",
        "",
        "Tenant schemas no user points at: lonely",
        "",
        "Orders in extra whose user is not one of its users: 1",
        "ORDER  USER  USER'S TENANT",
        "    2   999  (no such user)",
        "",
        "Found: 3 tenants with drift (4 differences), 3 organization ids with no tenant schema, \
         2 users with no organization id, 1 tenant schema with no user, 1 leaked order in extra",
    ];
    assert_eq!(lines, expected_start, "{table}");
}

#[tokio::test]
async fn fail_on_drift_exits_3_and_bad_input_exits_2() {
    let drifted = planted().await;
    let healthy = TestDatabase::reference().await;

    let out = tenantscope(&["--database-url", &drifted.url, "health", "--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("halfway"),
        "the report is still printed"
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("3 tenants with drift"), "{err}");

    let out = tenantscope(&["--database-url", &healthy.url, "health", "--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Healthy: 2 tenants"),
        "{}",
        stdout(&out)
    );
    let out = tenantscope(&[
        "--database-url",
        &healthy.url,
        "health",
        "--format",
        "json",
        "--fail-on-drift",
        "--leaks",
        "client2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["healthy"], true);

    // Only a leak: healthy schemas, but the cron job must still hear of it.
    healthy
        .run_sql(
            "INSERT INTO client2.orders (id, user_id, item_id, quantity) VALUES ('3', '1', '1', 1)",
        )
        .await;
    let out = tenantscope(&[
        "--database-url",
        &healthy.url,
        "health",
        "--fail-on-drift",
        "--leaks",
        "client2",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 leaked order in client2"));

    for args in [
        ["health", "--reference", "Client1"],
        ["health", "--leaks", "ghost"],
    ] {
        let mut full = vec!["--database-url", drifted.url.as_str()];
        full.extend(args);
        let out = tenantscope(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
        assert!(stderr(&out).contains("unknown tenant"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    // Without --fail-on-drift a report with findings exits 0.
    let out = tenantscope(&["--database-url", &drifted.url, "health"]);
    assert_eq!(out.status.code(), Some(0));
}

/// Reference data plus: client2 lists Huawei twice at one price; client1
/// alone sells a Stapler; a tenant with a quote in its name and float
/// prices sells a Tesla and a pen whose price is NaN.
const PRICED: &str = r#"
    INSERT INTO client2.items (id, description, price) VALUES ('3', 'Huawei', 100.00);
    INSERT INTO client1.items (id, description, price) VALUES ('3', 'Stapler', 7.50);
    CREATE SCHEMA "Odd""Name";
    CREATE TABLE "Odd""Name".items (id integer, description varchar(50), price float8);
    CREATE TABLE "Odd""Name".orders (id integer, user_id text, item_id integer, quantity int);
    INSERT INTO "Odd""Name".items VALUES (1, 'Tesla', 1200.25), (2, 'Pen', 'NaN'), (3, NULL, 1);
    INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
        ('o1', 'odd_dude', 'o1@x', 'odd-secret-pw', 'Odd"Name');
    INSERT INTO "Odd""Name".orders VALUES (1, 'o1', 1, 1), (2, '1', 1, 1);
"#;

#[tokio::test]
async fn price_matrix_matches_items_by_description_across_tenants() {
    let test_db = TestDatabase::reference().await;
    let db = connect(&test_db).await;
    let names = |m: &tenantscope::db::PriceMatrix| -> Vec<String> {
        m.rows.iter().map(|r| r.description.clone()).collect()
    };

    // Reference data: Tesla 5000 at client1, 1000 at client2.
    let matrix = db
        .price_matrix(&["client1".into(), "client2".into()])
        .await
        .unwrap();
    assert_eq!(names(&matrix), ["Huawei", "Tesla"]);
    let tesla = &matrix.rows[1];
    assert_eq!(tesla.prices, [dec("5000.00"), dec("1000.00")]);
    assert_eq!(tesla.spread, dec("5"));
    assert_eq!(tesla.min_tenants, ["client2"]);
    assert_eq!(tesla.max_tenants, ["client1"]);

    test_db.run_sql(PRICED).await;
    let all = db.tenants().await.unwrap();
    // As people read names: letters in either case alike (bytes put
    // `Odd"Name` first).
    assert_eq!(all.names(), ["client1", "client2", "Odd\"Name"]);
    let matrix = db.price_matrix(all.names()).await.unwrap();
    assert_eq!(matrix.tenants, all.names());
    assert_eq!(
        names(&matrix),
        ["Huawei", "Pen", "Stapler", "Tesla"],
        "by description; no row for a NULL description"
    );
    let row = |d: &str| matrix.rows.iter().find(|r| r.description == d).unwrap();
    assert_eq!(
        row("Huawei").prices,
        [dec("2000.00"), dec("100.00"), Money::Missing],
        "two Huaweis in client2 (ids '2' and '3', both at 100.00): one item"
    );
    assert_eq!(row("Huawei").spread, dec("20"));
    assert_eq!(
        row("Tesla").prices,
        [dec("5000.00"), dec("1000.00"), dec("1200.25")]
    );
    assert_eq!(row("Tesla").spread, dec("5"));
    assert_eq!(row("Tesla").min_tenants, ["client2"]);
    assert_eq!(row("Tesla").max_tenants, ["client1"]);
    let stapler = row("Stapler");
    assert_eq!(
        stapler.prices,
        [dec("7.50"), Money::Missing, Money::Missing]
    );
    assert_eq!(
        stapler.spread,
        Money::Missing,
        "one tenant sells it: no spread"
    );
    assert_eq!((&stapler.min, &stapler.max), (&dec("7.50"), &dec("7.50")));
    assert_eq!(
        row("Pen").prices,
        [
            Money::Missing,
            Money::Missing,
            Money::Invalid(Problem::NotANumber)
        ],
        "NaN is no price, and says so"
    );
    assert_eq!(row("Pen").min, Money::Missing);
    assert_eq!(row("Pen").spread, Money::Missing);

    let by_spread = matrix.clone().sorted(PriceSort::Spread);
    assert_eq!(names(&by_spread), ["Huawei", "Tesla", "Pen", "Stapler"]);

    // Columns as asked (the visible ones, in their order).
    let visible = db
        .price_matrix(&["client2".into(), "Odd\"Name".into(), "client2".into()])
        .await
        .unwrap();
    assert_eq!(visible.tenants, ["client2", "Odd\"Name"]);
    assert_eq!(names(&visible), ["Huawei", "Pen", "Tesla"]);
    assert_eq!(visible.price(2, "Odd\"Name"), dec("1200.25"));
    assert_eq!(visible.price(2, "client1"), Money::Missing, "not a column");
    assert_eq!(
        visible.rows[2].spread.plain().as_deref(),
        Some("1.2003"),
        "1200.25 / 1000, to 4 places"
    );
    assert!(db.price_matrix(&[]).await.unwrap().rows.is_empty());

    // Tenants whose items lack a price column, or a description column,
    // and one that sells Tesla at a NULL price.
    test_db
        .run_sql(
            "CREATE SCHEMA bare;
             CREATE TABLE bare.items (id int, description text);
             CREATE TABLE bare.orders (id int);
             INSERT INTO bare.items VALUES (1, 'Tesla');
             CREATE SCHEMA blank;
             CREATE TABLE blank.items (id int, price numeric);
             CREATE TABLE blank.orders (id int);
             INSERT INTO blank.items VALUES (1, 9);
             CREATE SCHEMA unpriced;
             CREATE TABLE unpriced.items (id int, description text, price numeric);
             CREATE TABLE unpriced.orders (id int);
             INSERT INTO unpriced.items VALUES (1, 'Tesla', NULL);",
        )
        .await;
    let drifted = db
        .price_matrix(&[
            "client1".into(),
            "bare".into(),
            "blank".into(),
            "unpriced".into(),
        ])
        .await
        .unwrap();
    let tesla = drifted
        .rows
        .iter()
        .find(|r| r.description == "Tesla")
        .unwrap();
    // bare cannot be priced (named, its cells empty); unpriced sells Tesla
    // at no price, which is not "not sold".
    assert_eq!(
        tesla.prices,
        [
            dec("5000.00"),
            Money::Missing,
            Money::Missing,
            Money::Invalid(tenantscope::money::Problem::Null)
        ]
    );
    assert_eq!(tesla.spread, Money::Missing);
    let failed: Vec<(&str, &str)> = drifted
        .failed
        .iter()
        .map(|f| (f.tenant.as_str(), f.error.as_str()))
        .collect();
    assert_eq!(failed, [("bare", "its items table has no price column")]);
    let only_blank = db.price_matrix(&["blank".into()]).await.unwrap();
    assert!(only_blank.rows.is_empty());
    // A name that is no tenant (a schema dropped since the list was read)
    // fails its column alone; the others are priced.
    for unknown in ["odd\"name", "ghost", "public", "client1, client2"] {
        let matrix = db
            .price_matrix(&["client1".into(), unknown.into()])
            .await
            .unwrap();
        let failed: Vec<&str> = matrix.failed.iter().map(|f| f.tenant.as_str()).collect();
        assert_eq!(failed, [unknown]);
        let tesla = matrix
            .rows
            .iter()
            .find(|r| r.description == "Tesla")
            .unwrap();
        assert_eq!(tesla.prices[0], dec("5000.00"), "{unknown}");
    }
}

#[tokio::test]
async fn users_who_ordered_an_item_in_a_tenant() {
    let test_db = TestDatabase::reference().await;
    test_db.run_sql(PRICED).await;
    test_db.run_sql(PLANTED).await;
    let db = connect(&test_db).await;
    let names = |users: Vec<tenantscope::db::User>| -> Vec<String> {
        users.into_iter().map(|u| u.name).collect()
    };
    assert_eq!(
        names(
            db.users_who_ordered("client1", &ItemRule::Description, "Tesla", 10)
                .await
                .unwrap()
        ),
        ["rich_dude"],
        "poor_dude's leaked order in client1 does not make him a client1 user"
    );
    assert_eq!(
        names(
            db.users_who_ordered("client2", &ItemRule::Description, "Huawei", 10)
                .await
                .unwrap()
        ),
        ["poor_dude"]
    );
    assert_eq!(
        names(
            db.users_who_ordered("Odd\"Name", &ItemRule::Description, "Tesla", 10)
                .await
                .unwrap()
        ),
        ["odd_dude"]
    );
    // In the users list's order: a shared users table's in its name
    // column's own collation (ICU's here, on a test server whose default
    // is C: a_dude before B_dude, where bytes put B_dude first).
    test_db
        .run_sql(
            r#"ALTER TABLE public.users ALTER COLUMN name TYPE text COLLATE "und-x-icu";
               INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
                   ('7', 'a_dude', 'a@x', 'pw', 'client1'), ('8', 'B_dude', 'b@x', 'pw', 'client1');
               INSERT INTO client1.orders (id, user_id, item_id, quantity) VALUES
                   ('7', '7', '1', 1), ('8', '8', '1', 1);"#,
        )
        .await;
    let db = connect(&test_db).await;
    let buyers = db.users_who_ordered("client1", &ItemRule::Description, "Tesla", 10);
    assert_eq!(
        names(buyers.await.unwrap()),
        ["a_dude", "B_dude", "rich_dude"]
    );
    assert!(db
        .users_who_ordered("client1", &ItemRule::Description, "tesla", 10)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .users_who_ordered("client1", &ItemRule::Description, "Tesla", 0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        db.users_who_ordered("halfway", &ItemRule::Description, "Tesla", 10)
            .await,
        Err(DbError::UnknownTenant("halfway".into()))
    );
    assert_eq!(
        db.users_who_ordered("ghost", &ItemRule::Description, "Tesla", 10)
            .await,
        Err(DbError::UnknownTenant("ghost".into()))
    );
}

#[tokio::test]
async fn prices_csv_json_and_table_shapes() {
    let db = TestDatabase::reference().await;
    db.run_sql(PRICED).await;
    let run = |args: &[&str]| {
        let mut full = vec!["--database-url", db.url.as_str(), "prices"];
        full.extend(args);
        let out = tenantscope(&full);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };

    let csv = run(&["--format", "csv", "--sort", "name"]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "item,client1,client2,\"Odd\"\"Name\",min,max,spread,min_tenants,max_tenants",
            "Huawei,2000.00,100.00,,100.00,2000.00,20,client2,client1",
            "Pen,,,NaN,,,,,",
            "Stapler,7.50,,,7.50,7.50,,client1,client1",
            "Tesla,5000.00,1000.00,1200.25,1000.00,5000.00,5,client2,client1",
        ]
    );
    let by_spread = run(&["--format", "csv"]);
    let items: Vec<&str> = by_spread
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(items, ["Huawei", "Tesla", "Pen", "Stapler"], "spread first");

    let json: Value = serde_json::from_str(&run(&["--format", "json", "--sort", "name"])).unwrap();
    assert_eq!(json["tenants"], json!(["client1", "client2", "Odd\"Name"]));
    let tesla = &json["items"][3];
    let keys = common::sorted_keys(tesla);
    assert_eq!(
        keys,
        [
            "description",
            "key",
            "max",
            "max_tenants",
            "min",
            "min_tenants",
            "prices",
            "problems",
            "spread"
        ]
    );
    assert_eq!(tesla["description"], "Tesla");
    assert_eq!(tesla["prices"]["client1"].to_string(), "5000.00");
    assert_eq!(tesla["prices"]["client2"].to_string(), "1000.00");
    assert_eq!(tesla["prices"]["Odd\"Name"].to_string(), "1200.25");
    assert_eq!(tesla["min"].to_string(), "1000.00");
    assert_eq!(tesla["max"].to_string(), "5000.00");
    assert_eq!(tesla["spread"].to_string(), "5");
    assert_eq!(tesla["min_tenants"], json!(["client2"]));
    assert_eq!(tesla["max_tenants"], json!(["client1"]));
    let stapler = &json["items"][2];
    assert_eq!(stapler["prices"]["client2"], Value::Null);
    assert_eq!(stapler["spread"], Value::Null);
    assert_eq!(json["items"][1]["prices"]["Odd\"Name"], Value::Null, "NaN");
    assert_eq!(json["failed"], json!([]));

    let table = run(&["--sort", "name"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines,
        [
            "ITEM      client1   client2  Odd\"Name       MIN       MAX  SPREAD  CHEAPEST  DEAREST",
            "Huawei   2,000.00    100.00         —    100.00  2,000.00     ×20  client2   client1",
            "Pen             —         —       NaN         —         —       —",
            "Stapler      7.50         —         —      7.50      7.50       —  client1   client1",
            "Tesla    5,000.00  1,000.00  1,200.25  1,000.00  5,000.00      ×5  client2   client1",
        ],
        "{table}"
    );
}

/// Runs health on a private server where every statement is counted
/// (`pg_stat_statements`) and so is every
/// transaction (`pg_stat_database`), with 3 and then 60 extra tenants.
#[tokio::test]
async fn health_runs_the_same_statements_for_3_and_for_60_extra_tenants() {
    let demo = format!("{}\n{}", DEMO_SQL[0].1, DEMO_SQL[1].1);
    let (server, mut admin) = common::counting_server(&[("autovacuum", "off")], &demo).await;

    let mut created = 0;
    let mut measured = Vec::new();
    for extra in [3, 60] {
        // A third alike, a third with an extra column, a third without orders.
        let mut sql = String::new();
        for i in created..extra {
            sql.push_str(&format!(
                "CREATE SCHEMA t{i:03};
                 CREATE TABLE t{i:03}.items (LIKE client1.items INCLUDING ALL{});
                 {}
                 INSERT INTO public.users (id, name, mail, password, organization_id)
                     VALUES ('u{i}', 'user{i}', 'u{i}@x', 'pw', 't{i:03}');\n",
                if i % 3 == 1 { ", quantity integer" } else { "" },
                if i % 3 == 2 {
                    String::new()
                } else {
                    format!("CREATE TABLE t{i:03}.orders (LIKE client1.orders INCLUDING ALL);")
                }
            ));
        }
        created = extra;
        common::run_counted(&server, &sql).await;
        wait_until_no_session(&mut admin).await;
        let transactions_before = transactions(&mut admin).await;
        sqlx::raw_sql("SELECT pg_stat_statements_reset()")
            .execute(&mut admin)
            .await
            .unwrap();

        let db = Database::connect(
            &ConnectionSource::demo(server.connect_options("counted")),
            &Settings::default(),
        )
        .await
        .unwrap();
        let report = db.health(None).await.unwrap();
        db.close().await;
        assert_eq!(report.tenants.len(), 2 + extra);
        assert_eq!(report.tenants_with_drift(), 2 * extra / 3);

        // A backend flushes its statistics before it leaves pg_stat_activity.
        wait_until_no_session(&mut admin).await;
        let (statements, probes) = statements(&mut admin).await;
        // A new connection's probe (db/grant.rs) is a transaction of its
        // own, as many as the pool happened to open: left out.
        let transactions = transactions(&mut admin).await - transactions_before - probes;
        eprintln!("{extra} extra tenants: {transactions} transactions, statements {statements:?}");
        measured.push((transactions, statements));
    }
    // pg_stat_database also counts the rollback sqlx sends for a dropped
    // connection's transaction when it gets round to it, so the transaction
    // count can differ by one between runs of the very same work; one per
    // tenant (57 more) would not.
    assert!(
        measured[0].0.abs_diff(measured[1].0) <= 1,
        "connect + health: transactions for 3 and for 60 extra tenants {:?}",
        (measured[0].0, measured[1].0)
    );
    assert_eq!(
        measured[0].1,
        measured[1].1,
        "connect + health: (all statements, health's catalog queries); transactions {:?}",
        (measured[0].0, measured[1].0)
    );
    let (_, (_, catalog_queries)) = measured[0];
    assert_eq!(catalog_queries, 2, "health's own queries");
    admin.close().await.ok();
}

/// Waits until no backend is connected to the counted database, so their
/// statistics are flushed: `Database::close` leaves no connection open
/// (see tests/data_layer.rs), so a session left after a minute fails.
async fn wait_until_no_session(admin: &mut PgConnection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        type Session = (i32, Option<String>, Option<String>, Option<String>);
        let sessions: Vec<Session> = sqlx::query_as(
            "SELECT pid, application_name, state, left(query, 80)
               FROM pg_stat_activity WHERE datname = 'counted'",
        )
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        if sessions.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sessions still open after a minute: {sessions:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Committed and rolled back transactions in the counted database.
async fn transactions(admin: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = 'counted'",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

/// ((every statement but the connection probes, health's two catalog
/// queries), the probes) run in the counted database since the last reset.
async fn statements(admin: &mut PgConnection) -> ((i64, i64), i64) {
    let (all, catalog, probes) = sqlx::query_as(
        "SELECT coalesce(sum(s.calls) FILTER (WHERE s.query !~ '^SELECT \\$1$'), 0)::bigint,
                coalesce(sum(s.calls) FILTER (WHERE s.query LIKE '%THEN c.reltuples::bigint%'
                                                 OR s.query LIKE '%format_type(a.atttypid%'), 0)::bigint,
                coalesce(sum(s.calls) FILTER (WHERE s.query ~ '^SELECT \\$1$'), 0)::bigint
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = 'counted'",
    )
    .fetch_one(admin)
    .await
    .unwrap();
    ((all, catalog), probes)
}

/// Issue 9, defect 8: a column tenantscope reads, renamed in every tenant,
/// is drift even though all tenants agree.
#[tokio::test]
async fn a_required_column_missing_everywhere_fails_health() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "ALTER TABLE client1.orders RENAME COLUMN quantity TO qty;
         ALTER TABLE client2.orders RENAME COLUMN quantity TO qty;",
    )
    .await;
    let out = tenantscope(&["--database-url", &db.url, "health", "--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("2 tenants with drift"),
        "{}",
        stderr(&out)
    );
    let report = stdout(&out);
    assert_eq!(
        report
            .matches("orders.quantity: missing required column")
            .count(),
        2,
        "{report}"
    );
    assert!(!report.contains("Healthy"), "{report}");

    let out = tenantscope(&["--database-url", &db.url, "health", "--format", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["healthy"], false);
    for tenant in json["tenants"].as_array().unwrap() {
        assert_eq!(tenant["status"], "drift");
        assert_eq!(
            tenant["drift"],
            json!([{"table": "orders", "column": "quantity", "kind": "missing_required_column",
                    "expected": null, "found": null}])
        );
    }
}

/// Issue 9, defect 8: with one tenant each side, the one tenantscope can
/// read is the reference, and the report says there was no majority.
#[tokio::test]
async fn a_one_to_one_tie_keeps_the_tenant_with_the_required_columns() {
    let db = TestDatabase::reference().await;
    // client1 sorts first, so a tie broken by name alone would blame client2.
    db.run_sql("ALTER TABLE client1.orders RENAME COLUMN quantity TO qty")
        .await;
    let report = connect(&db).await.health(None).await.unwrap();
    let orders = &report.references[1];
    assert_eq!(
        (
            orders.table.as_str(),
            orders.tenant.as_str(),
            orders.chosen_by,
            orders.tie
        ),
        ("orders", "client2", ReferenceChoice::RequiredColumns, true)
    );
    assert!(!report.references[0].tie, "items agree");
    assert_eq!(report.tenant("client2").unwrap().status, HealthStatus::Ok);
    let described: Vec<String> = report
        .tenant("client1")
        .unwrap()
        .drift
        .iter()
        .map(Drift::describe)
        .collect();
    assert_eq!(
        described,
        [
            "orders.qty: extra column (integer not null)",
            "orders.quantity: missing required column (integer not null)",
        ]
    );

    let out = tenantscope(&["--database-url", &db.url, "health", "--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert!(
        text.contains(
            "orders as in client2 (has the columns tenantscope reads; no majority: a tie, 1 of 2 tenants)"
        ),
        "{text}"
    );
    let out = tenantscope(&["--database-url", &db.url, "health", "--format", "json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["references"][1]["chosen_by"], "required_columns");
    assert_eq!(json["references"][1]["tie"], true);
}

/// The wrong-copy check (README): its copies are counted WRONG_COPY_BATCH
/// per statement, each count stopping after WRONG_COPY_CAP rows ("more").
#[tokio::test]
async fn wrong_copies_are_counted_in_batches_and_each_count_stops_at_the_cap() {
    use tenantscope::db::{WRONG_COPY_BATCH, WRONG_COPY_CAP};
    let demo = format!("{}\n{}", DEMO_SQL[0].1, DEMO_SQL[1].1);
    let (server, mut admin) = common::counting_server(&[("autovacuum", "off")], &demo).await;
    // Copies of the shared users table in tenant schemas: client1's with
    // more rows than the cap; then WRONG_COPY_BATCH more tenants, one row each.
    let copies = [1, 1 + WRONG_COPY_BATCH];
    let mut measured = Vec::new();
    for (round, copies) in copies.into_iter().enumerate() {
        let sql = if round == 0 {
            format!(
                "CREATE TABLE client1.users (LIKE public.users INCLUDING ALL);
                 INSERT INTO client1.users (id, name, mail, password, organization_id)
                     SELECT g::text, 'stray' || g, g || '@x', 'pw', 'client1'
                       FROM generate_series(1, {}) g;",
                3 * WRONG_COPY_CAP
            )
        } else {
            (1..copies)
                .map(|i| {
                    format!(
                        "CREATE SCHEMA w{i:03};
                         CREATE TABLE w{i:03}.items (LIKE client1.items INCLUDING ALL);
                         CREATE TABLE w{i:03}.orders (LIKE client1.orders INCLUDING ALL);
                         CREATE TABLE w{i:03}.users (LIKE public.users INCLUDING ALL);
                         INSERT INTO w{i:03}.users (id, name, mail, password, organization_id)
                             VALUES ('x', 'stray', 's@x', 'pw', 'w{i:03}');\n"
                    )
                })
                .collect()
        };
        common::run_counted(&server, &sql).await;
        sqlx::raw_sql("SELECT pg_stat_statements_reset()")
            .execute(&mut admin)
            .await
            .unwrap();
        let db = Database::connect(
            &ConnectionSource::demo(server.connect_options("counted")),
            &Settings::default(),
        )
        .await
        .unwrap();
        let report = db.health(None).await.unwrap();
        db.close().await;
        measured.push(common::counted_statements(&mut admin).await);
        if round == 0 {
            // Reading stopped at the cap (+1, to know there are more): the
            // server's own count of the rows its scans returned.
            wait_until_no_session(&mut admin).await;
            let mut counted = PgConnection::connect_with(&server.connect_options("counted"))
                .await
                .unwrap();
            let read: i64 = sqlx::query_scalar(
                "SELECT seq_tup_read FROM pg_stat_user_tables
                  WHERE schemaname = 'client1' AND relname = 'users'",
            )
            .fetch_one(&mut counted)
            .await
            .unwrap();
            counted.close().await.unwrap();
            assert!(
                read <= WRONG_COPY_CAP + 1,
                "{read} rows of client1.users read, of {}",
                3 * WRONG_COPY_CAP
            );
        }
        let found: Vec<(&str, &str, Option<i64>, bool)> = report
            .wrong_copy
            .iter()
            .map(|c| (c.schema.as_str(), c.table.as_str(), c.rows, c.more))
            .collect();
        assert_eq!(found.len(), copies, "{found:?}");
        assert!(
            found.contains(&("client1", "users", Some(WRONG_COPY_CAP), true)),
            "client1's count stops at the cap: {found:?}"
        );
        assert!(
            found
                .iter()
                .filter(|c| c.0 != "client1")
                .all(|c| c.2 == Some(1) && !c.3),
            "{found:?}"
        );
    }
    assert_eq!(
        measured[1] - measured[0],
        1,
        "{} copies take one counting statement more than 1: {measured:?}",
        1 + WRONG_COPY_BATCH
    );
    admin.close().await.ok();
}

/// The demo shows what health finds (it said "0 with drift", no leak): a
/// drifted tenant, an organization id with no schema, and with `--leaks` an
/// order of another tenant's user; each as SQL on the demo finds it.
#[tokio::test]
async fn the_demo_shows_drift_a_leak_and_an_organization_without_schema() {
    let demo = TestDatabase::demo().await;
    let out = tenantscope(&[
        "--database-url",
        &demo.url,
        "health",
        "--format",
        "json",
        "--leaks",
        "client2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["healthy"], false);
    // Columns of client3's tables whose name or type differs from client1's.
    let differing = demo
        .query_text(
            "WITH cols AS (
                 SELECT table_schema s, table_name || '.' || column_name c,
                        format_type(atttypid, atttypmod) t
                   FROM information_schema.columns
                   JOIN pg_attribute ON attrelid = format('%I.%I', table_schema, table_name)::regclass
                                    AND attname = column_name
                  WHERE table_schema IN ('client1', 'client3'))
             SELECT string_agg(c, ',' ORDER BY c) FROM (
                 SELECT c, t FROM cols WHERE s = 'client3'
                 EXCEPT SELECT c, t FROM cols WHERE s = 'client1') d",
        )
        .await;
    assert!(!differing.is_empty());
    let client3 = json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "client3")
        .unwrap();
    let mut drifted: Vec<String> = client3["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}.{}",
                d["table"].as_str().unwrap(),
                d["column"].as_str().unwrap()
            )
        })
        .collect();
    drifted.sort();
    assert_eq!(drifted.join(","), differing, "{client3}");
    let leaked = demo
        .query_text(
            "SELECT string_agg(o.id || ':' || u.id || ':' || u.organization_id, ',' ORDER BY o.id)
               FROM client2.orders o JOIN public.users u ON u.id = o.user_id
              WHERE u.organization_id IS DISTINCT FROM 'client2'",
        )
        .await;
    let found: Vec<String> = json["leaks"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}:{}",
                l["order_id"].as_str().unwrap(),
                l["user_id"].as_str().unwrap(),
                l["user_tenant"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!leaked.is_empty());
    assert_eq!(found.join(","), leaked);
    let orphans = demo
        .query_text(
            "SELECT string_agg(DISTINCT organization_id, ',') FROM public.users
              WHERE organization_id NOT IN (SELECT nspname FROM pg_namespace)",
        )
        .await;
    let listed: Vec<&str> = json["orphan_organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["organization_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.join(","), orphans);
}
