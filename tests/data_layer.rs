//! The tenant data layer against a real PostgreSQL server.

use sqlx::Connection;
use tenantscope::config::Settings;
use tenantscope::db::{
    choose_compare_tenant, ConnectionSource, Database, DbError, Page, SchemaState, UserQuery,
    WALK_BOUND,
};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::money::Value;

mod common;
use common::{stderr, stdout, tenantscope};

/// The exact digits of a number, `-` for anything else.
fn plain(value: &Value) -> String {
    value.plain().unwrap_or_else(|| "-".into())
}

async fn connect(db: &TestDatabase) -> Database {
    let source = ConnectionSource::demo(db.options.clone());
    Database::connect(&source, &Settings::default())
        .await
        .expect("connect")
}

#[tokio::test]
async fn reference_data_prices_rich_dude_against_client2() {
    let test_db = TestDatabase::reference().await;
    let db = connect(&test_db).await;
    let user = db.user("1").await.unwrap();
    assert_eq!(user.name, "rich_dude");
    assert_eq!(user.tenant.as_deref(), Some("client1"));

    let catalog = db.tenants().await.unwrap();
    assert_eq!(catalog.names(), ["client1", "client2"]);
    let choice = choose_compare_tenant(&catalog, user.tenant.as_deref(), None).unwrap();
    assert_eq!(choice.tenant.as_deref(), Some("client2"));

    let report = db
        .priced_orders(&user, choice.tenant.as_deref())
        .await
        .unwrap();
    let summary: Vec<_> = report
        .lines
        .iter()
        .map(|l| {
            (
                l.item.as_deref().unwrap(),
                plain(&l.quantity),
                plain(&l.total),
                plain(&l.compare_total),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Tesla", "10".into(), "50000.00".into(), "10000.00".into()),
            ("Huawei", "5".into(), "10000.00".into(), "500.00".into())
        ]
    );
    assert_eq!(plain(&report.lines[0].unit_price), "5000.00");
    assert_eq!(plain(&report.lines[0].compare_unit_price), "1000.00");
    assert_eq!(plain(&report.totals.total), "60000.00");
    assert_eq!(plain(&report.totals.compare_total), "10500.00");
    assert_eq!(plain(&report.totals.compared_total), "60000.00");
    assert_eq!(report.totals.compare_missing, 0);
}

#[tokio::test]
async fn item_the_comparison_tenant_does_not_sell_has_no_price() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let user = db.user("1").await.unwrap();
    let report = db.priced_orders(&user, Some("client3")).await.unwrap();
    let huawei = report
        .lines
        .iter()
        .find(|l| l.item.as_deref() == Some("Huawei"))
        .unwrap();
    assert_eq!(huawei.compare_unit_price, Value::Missing);
    assert_eq!(huawei.compare_total, Value::Missing);
    let tesla = report
        .lines
        .iter()
        .find(|l| l.item.as_deref() == Some("Tesla"))
        .unwrap();
    // Like for like: only Tesla is priced by both, so both sides of the
    // comparison cover Tesla alone, and the Huawei line is counted missing.
    // client3's price is a float (3500): a total at the data's scale.
    assert_eq!(plain(&tesla.compare_total), "35000");
    assert_eq!(plain(&report.totals.compare_total), "35000");
    assert_eq!(plain(&report.totals.compared_total), plain(&tesla.total));
    assert_eq!(
        report.difference(),
        report.totals.compare_total.minus(&tesla.total)
    );
    assert_eq!(report.totals.compare_missing, 1);
    assert_eq!(
        report.totals.total,
        Value::sum(report.lines.iter().map(|l| &l.total)),
        "the own total still covers every line"
    );
}

/// A tenant from an older migration: integer ids, float prices, an extra
/// column, and an item id that differs from the other tenants'.
const LEGACY_TENANT: &str = "
    CREATE SCHEMA legacy;
    CREATE TABLE legacy.items (id integer PRIMARY KEY, description varchar(100), price float8,
                               quantity integer, creation_timestamp timestamp DEFAULT now());
    CREATE TABLE legacy.orders (id integer PRIMARY KEY, user_id varchar(20), item_id integer,
                                quantity numeric, note text, creation_timestamp timestamp DEFAULT now());
    INSERT INTO legacy.items VALUES (1, 'Tesla', 4999.5, 3), (7, 'Huawei', 150.25, 1), (8, 'Pen', 19.99, 100);
    INSERT INTO public.users (id, name, mail, password, organization_id)
        VALUES ('5', 'old_dude', 'o@gmail.com', 'old-secret-pw', 'legacy');
    INSERT INTO legacy.orders VALUES (1, '5', 8, 3, 'x'), (2, '5', 1, 1, NULL), (3, '1', 7, 2, NULL);
";

#[tokio::test]
async fn drifted_tenants_with_other_types_and_extra_columns_work() {
    let test_db = TestDatabase::reference().await;
    test_db.run_sql(LEGACY_TENANT).await;
    // A second Tesla in client1, numbered before the one with legacy's id:
    // matched by description alone, legacy's Tesla would get this one.
    test_db
        .run_sql(
            "INSERT INTO client1.items (id, description, price) VALUES ('0', 'Tesla', 4000.00)",
        )
        .await;
    let same_id_there = test_db
        .query_text(
            "SELECT c.price::text FROM client1.items c
               JOIN legacy.items l ON l.id::text = c.id WHERE l.description = 'Tesla'",
        )
        .await;
    let db = connect(&test_db).await;

    // Legacy user in the drifted tenant, compared with a numeric/text tenant.
    let old = db.user("5").await.unwrap();
    let report = db.priced_orders(&old, Some("client1")).await.unwrap();
    let pen = &report.lines[0];
    assert_eq!(pen.item.as_deref(), Some("Pen"));
    assert_eq!(
        plain(&pen.total),
        "59.97",
        "3 × 19.99 from a float column is exact"
    );
    assert_eq!(pen.compare_total, Value::Missing, "client1 sells no pens");
    let tesla = &report.lines[1];
    assert_eq!(plain(&tesla.unit_price), "4999.5");
    assert_eq!(
        plain(&tesla.compare_unit_price),
        same_id_there,
        "matched by id across types (the catalogues agree on the ids they share)"
    );

    // And the other way round, twice on the same pool (no cached-plan errors).
    let rich = db.user("1").await.unwrap();
    for _ in 0..2 {
        let report = db.priced_orders(&rich, Some("legacy")).await.unwrap();
        let huawei = report
            .lines
            .iter()
            .find(|l| l.item.as_deref() == Some("Huawei"))
            .unwrap();
        assert_eq!(
            plain(&huawei.compare_unit_price),
            "150.25",
            "matched by description"
        );
        let poor = db.user("2").await.unwrap();
        db.priced_orders(&poor, Some("client1")).await.unwrap();
    }
}

#[tokio::test]
async fn user_whose_tenant_schema_does_not_exist() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let stray = db.user("4").await.unwrap();
    let catalog = db.tenants().await.unwrap();
    assert_eq!(catalog.status_of(&stray), SchemaState::NoSchema);
    assert_eq!(
        db.priced_orders(&stray, Some("client1")).await,
        Err(DbError::TenantNotFound("client9".into()))
    );
    let summaries = db.tenant_summaries(&catalog).await.unwrap();
    let missing: Vec<_> = summaries
        .iter()
        .filter(|t| t.state != SchemaState::Ok)
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(
        (
            missing[0].tenant.as_deref(),
            missing[0].users,
            missing[0].state
        ),
        (Some("client9"), 1, SchemaState::NoSchema)
    );
}

#[tokio::test]
async fn hostile_organization_ids_match_no_tenant_and_change_nothing() {
    let test_db = TestDatabase::reference().await;
    let hostile = [
        "client1\"; DROP SCHEMA client2 CASCADE; --",
        "client1'; DROP SCHEMA client2 CASCADE; --",
        "client1, client2",
        "client1,client2",
        "Client1",
        "CLIENT2",
        "",
    ];
    let mut sql = String::new();
    for (i, org) in hostile.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO public.users (id, name, mail, password, organization_id) \
             VALUES ('h{i}', 'hostile{i}', 'h{i}@x', 'pw', {});\n",
            quote_literal(org)
        ));
    }
    sql.push_str("INSERT INTO public.users (id, name, mail, password, organization_id) VALUES ('hnull', 'nullorg', 'n@x', 'pw', NULL);");
    test_db.run_sql(&sql).await;
    let before = test_db.query_text(SCHEMA_STATE).await;

    let db = connect(&test_db).await;
    let catalog = db.tenants().await.unwrap();
    for (i, org) in hostile.iter().enumerate() {
        let user = db.user(&format!("h{i}")).await.unwrap();
        assert_eq!(user.tenant.as_deref(), Some(*org));
        let expected = if org.is_empty() {
            SchemaState::NoTenant
        } else {
            SchemaState::NoSchema
        };
        assert_eq!(catalog.status_of(&user), expected, "{org:?}");
        let result = db.priced_orders(&user, Some("client2")).await;
        let expected = if org.is_empty() {
            DbError::NoTenant { null: false }
        } else {
            DbError::TenantNotFound(org.to_string())
        };
        assert_eq!(result, Err(expected), "{org:?}");
    }
    let null_user = db.user("hnull").await.unwrap();
    assert_eq!(
        db.priced_orders(&null_user, None).await,
        Err(DbError::NoTenant { null: true })
    );
    // As comparison tenant, too.
    let rich = db.user("1").await.unwrap();
    assert!(matches!(
        db.priced_orders(&rich, Some(hostile[0])).await,
        Err(DbError::UnknownTenant(_))
    ));

    assert_eq!(
        test_db.query_text(SCHEMA_STATE).await,
        before,
        "the database is unchanged"
    );
    assert!(before.contains("client2"));
}

/// The shared schema holds copies of the tenant tables with rows (which
/// `health` reports as in the wrong schema): a user whose organization id
/// names it has no tenant, and its rows are nobody's orders, as for
/// `pg_catalog` (they were priced as the user's own, exit 0), nor a
/// comparison's prices.
#[tokio::test]
async fn the_shared_schema_is_no_tenant_whatever_tables_it_holds() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(
            "CREATE TABLE public.items (id text PRIMARY KEY, description text, price numeric);
             CREATE TABLE public.orders (id text, user_id text, item_id text, quantity numeric);
             INSERT INTO public.items VALUES ('1', 'Plain', 99);
             INSERT INTO public.orders VALUES ('1', '30', '1', 1), ('2', '1', '1', 1);
             INSERT INTO public.users (id, name, mail, password, organization_id)
             VALUES ('30', 'pubuser', 'p@x', 'pw', 'public'),
                    ('31', 'cataloguser', 'c@x', 'pw', 'pg_catalog');",
        )
        .await;
    let db = connect(&test_db).await;
    for (id, schema) in [("30", "public"), ("31", "pg_catalog")] {
        let user = db.user(id).await.unwrap();
        assert_eq!(
            db.priced_orders(&user, Some("client2")).await,
            Err(DbError::TenantNotFound(schema.into())),
            "{schema}"
        );
        assert_eq!(
            db.orders_head(&user, Some("client2"), 100, None)
                .await
                .err(),
            Some(DbError::TenantNotFound(schema.into())),
            "{schema}, the dashboard's first page"
        );
    }
    let rich = db.user("1").await.unwrap();
    assert_eq!(
        db.priced_orders(&rich, Some("public")).await,
        Err(DbError::UnknownTenant("public".into())),
        "as the comparison tenant"
    );
    db.close().await;
    let out = tenantscope(&["--database-url", &test_db.url, "orders", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(
        stderr(&out).trim(),
        "tenantscope: tenant schema not found: \"public\""
    );
}

/// Schemas and row counts, to show a database unchanged.
const SCHEMA_STATE: &str = "
    SELECT string_agg(nspname, ',' ORDER BY nspname)
           || ' users=' || (SELECT count(*) FROM public.users)
           || ' orders=' || (SELECT count(*) FROM client2.orders)
      FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'";

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[tokio::test]
async fn users_are_listed_by_name_and_filtered() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let all = db.users(&UserQuery::default()).await.unwrap();
    let names: Vec<_> = all.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["mid_dude", "poor_dude", "rich_dude", "stray_dude"]);

    let by_mail = db
        .users(&UserQuery {
            filter: Some("P@GMAIL".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(by_mail.len(), 1);
    assert_eq!(by_mail[0].name, "poor_dude");
    let by_tenant = db
        .users(&UserQuery {
            filter: Some("client3".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(by_tenant[0].name, "mid_dude");
    let wildcard = db
        .users(&UserQuery {
            filter: Some("_".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(wildcard.len(), 4, "every name has a literal underscore");
    let none = db
        .users(&UserQuery {
            filter: Some("%zz".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert!(none.is_empty(), "% is literal");
    let limited = db
        .users(&UserQuery {
            filter: None,
            limit: Some(2),
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
}

#[tokio::test]
async fn configured_shared_table_and_tenant_column_are_used() {
    let test_db = TestDatabase::empty().await;
    test_db
        .run_sql(
            "CREATE SCHEMA shared;
             CREATE TABLE shared.\"Members\" (id integer PRIMARY KEY, creation_timestamp timestamptz DEFAULT now(),
                 name text, mail text, password text, tenant text);
             CREATE SCHEMA \"Acme Corp\";
             CREATE TABLE \"Acme Corp\".items (id integer, description text, price numeric);
             CREATE TABLE \"Acme Corp\".orders (id integer, user_id integer, item_id integer, quantity integer);
             INSERT INTO shared.\"Members\" VALUES (1, now(), 'ann', 'a@x', 'pw', 'Acme Corp');
             INSERT INTO \"Acme Corp\".items VALUES (1, 'Widget', 2.50);
             INSERT INTO \"Acme Corp\".orders VALUES (1, 1, 1, 4);",
        )
        .await;
    let mut settings = Settings::default();
    settings.tenancy.schemas.shared = "shared".into();
    settings.tenancy.users.table = "Members".into();
    settings.tenancy.users.tenant_column = "tenant".into();
    let db = Database::connect(&ConnectionSource::demo(test_db.options.clone()), &settings)
        .await
        .unwrap();
    let ann = db.user("1").await.unwrap();
    assert_eq!(ann.tenant.as_deref(), Some("Acme Corp"));
    let report = db.priced_orders(&ann, None).await.unwrap();
    assert_eq!(plain(&report.totals.total), "10.00");

    settings.tenancy.users.tenant_column = "org".into();
    let error = Database::connect(&ConnectionSource::demo(test_db.options.clone()), &settings)
        .await
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("column org not found"),
        "{error}"
    );
}

#[tokio::test]
async fn statement_timeout_is_reported_as_a_timeout() {
    let test_db = TestDatabase::reference().await;
    // A tenant whose items "table" is a view that sleeps.
    test_db
        .run_sql(
            "CREATE SCHEMA slow;
             CREATE TABLE slow.orders (id int, user_id text, item_id int, quantity int);
             CREATE VIEW slow.items AS SELECT 1 AS id, 'x'::text AS description, 1::numeric AS price
                 FROM pg_sleep(2);
             INSERT INTO slow.orders VALUES (1, '2', 1, 1);
             UPDATE public.users SET organization_id = 'slow' WHERE id = '2';",
        )
        .await;
    let db = Database::connect(
        &ConnectionSource::demo(test_db.options.clone()),
        &Settings::default(),
    )
    .await
    .unwrap();
    let poor = db.user("2").await.unwrap();
    // The short timeout for the statement under test only (connecting and
    // reading the user above have the default, however busy the machine).
    assert_eq!(
        db.with_statement_timeout(200)
            .priced_orders(&poor, None)
            .await,
        Err(DbError::Timeout { ms: 200 })
    );
}

/// `Database::close` leaves no session on the server, even right after
/// queries whose connections are still on their way back to the pool
/// (sqlx 0.8's own `Pool::close` can return before those are closed, and
/// then a connection that lands in the closed pool stays open as long as
/// the handle lives). The demo server waits for its clients to leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_leaves_no_session_on_the_server() {
    use sqlx::Connection;
    let test_db = TestDatabase::demo().await;
    let mut observer = sqlx::PgConnection::connect_with(&test_db.options)
        .await
        .unwrap();
    let sessions = format!(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = '{}' AND pid <> pg_backend_pid()",
        test_db.name
    );
    for round in 0..20 {
        let db = connect(&test_db).await;
        let user = db.user("1").await.unwrap();
        let (count, orders, tenants) = tokio::join!(
            db.user_count(),
            db.priced_orders(&user, Some("client2")),
            db.tenants()
        );
        assert_eq!(count.unwrap().value, 4);
        orders.unwrap();
        tenants.unwrap();
        db.close().await;
        // A closed connection's backend exits moments later: wait for that
        // (the handle kept alive), not for the handle's drop.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let open: i64 = sqlx::query_scalar(&sessions)
                .fetch_one(&mut observer)
                .await
                .unwrap();
            if open == 0 {
                break;
            }
            if std::time::Instant::now() >= deadline {
                let left: Vec<(Option<String>, Option<String>, Option<String>)> =
                    sqlx::query_as(&format!(
                        "SELECT application_name, state, query FROM pg_stat_activity
                      WHERE datname = '{}' AND pid <> pg_backend_pid()",
                        test_db.name
                    ))
                    .fetch_all(&mut observer)
                    .await
                    .unwrap();
                panic!("round {round}: {open} session(s) still open after close: {left:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(db);
    }
}

/// Connections the server closed while they sat idle in the pool (a
/// restart, `pg_terminate_backend`, idle_session_timeout): no error reaches
/// the user, even with several dead ones in the pool.
#[tokio::test]
async fn connections_the_server_closed_while_idle_are_replaced_without_an_error() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let user = db.user("1").await.unwrap();
    // Loads at once: the pool opens several connections, idle afterwards.
    let (a, b, c) = tokio::join!(
        db.priced_orders(&user, Some("client3")),
        db.priced_orders(&user, Some("client3")),
        db.priced_orders(&user, Some("client3")),
    );
    let expected = a.unwrap();
    assert_eq!(b.unwrap(), expected);
    assert_eq!(c.unwrap(), expected);

    let others = "FROM pg_stat_activity WHERE datname = current_database() \
                  AND pid <> pg_backend_pid()";
    let killed = test_db
        .query_text(&format!(
            "SELECT count(pg_terminate_backend(pid))::text {others}"
        ))
        .await;
    assert!(
        killed.parse::<u32>().unwrap() >= 2,
        "the pool held {killed} idle connections; the test needs two or more"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while test_db
        .query_text(&format!("SELECT count(*)::text {others}"))
        .await
        != "0"
    {
        assert!(std::time::Instant::now() < deadline, "sessions linger");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let again = db.priced_orders(&user, Some("client3")).await;
    assert_eq!(again.expect("the first load after the loss"), expected);
    let page = db.users_page(None, &Page::First, 10, None).await;
    assert!(!page.expect("the next load too").is_empty());
}

/// A load whose connection the server ends while it runs (a restart,
/// `pg_terminate_backend`) runs once more, on a fresh connection: the user
/// sees the orders, not an error.
#[tokio::test]
async fn a_load_whose_session_the_server_ends_runs_again_on_a_fresh_connection() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let user = db.user("1").await.unwrap();
    let expected = db.priced_orders(&user, Some("client3")).await.unwrap();

    // The load waits for a lock on the comparison tenant's items...
    let mut locker = test_db.lock_table("client3.items").await;
    let load = tokio::spawn({
        let (db, user) = (db.clone(), user.clone());
        async move { db.priced_orders(&user, Some("client3")).await }
    });
    let waiting = "FROM pg_stat_activity WHERE datname = current_database() \
                   AND wait_event_type = 'Lock'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while test_db
        .query_text(&format!("SELECT count(*)::text {waiting}"))
        .await
        != "1"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the load never waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // ...when the server ends its session.
    let ended = test_db
        .query_text(&format!(
            "SELECT count(pg_terminate_backend(pid))::text {waiting}"
        ))
        .await;
    assert_eq!(ended, "1");
    common::unlock(&mut locker).await;
    let again = load.await.unwrap();
    assert_eq!(again.expect("run again on a fresh connection"), expected);
}

/// A filtered first page walks the (name, id) index over the first
/// `WALK_BOUND` users before it asks the planner (see `walk_first_sql`):
/// the page is the plain statement's, user for user and in its order,
/// whether the page lies within the walk, past it, straddles it, holds
/// fewer users than asked for, or the index is gone.
#[tokio::test]
async fn a_filtered_first_page_is_the_same_walked_first_or_not() {
    let test_db = TestDatabase::demo().await;
    let total = WALK_BOUND + WALK_BOUND / 2;
    test_db
        .run_sql(&format!(
            "INSERT INTO public.users (id, name, mail, password, organization_id)
             SELECT 'w' || lpad(n::text, 5, '0'), 'walk_' || lpad(n::text, 5, '0'),
                    'walk_' || lpad(n::text, 5, '0') || '@example.com', 'x', 'client1'
               FROM generate_series(1, {total}) n;
             ANALYZE public.users;"
        ))
        .await;
    let db = connect(&test_db).await;
    let mut plain = sqlx::PgConnection::connect_with(&test_db.options)
        .await
        .unwrap();
    // Where the rows of `walk_NNNNN` sit in (name, id) order: after the
    // demo's 4 users, walk_00001 is the 5th.
    let past = format!("walk_0{}", (WALK_BOUND + 100) / 1000);
    let straddling = format!("walk_0{}", (WALK_BOUND - 10) / 1000);
    let cases: Vec<(String, i64)> = vec![
        ("walk_00".into(), 100),    // within the walk
        ("walk_001".into(), 100),   // within, not from its start
        (past.clone(), 100),        // past it: the planner's way
        (format!("{past}99"), 100), // past it, fewer than asked for
        (straddling, 1000),         // most within, the rest past it
        ("7".into(), 1000),         // matches all over (no id is "7")
        ("nobody".into(), 100),
        ("dude".into(), 100), // fewer than asked for, all within
    ];
    same_as_plain(&db, &mut plain, &cases, false).await;
    test_db.run_sql("DROP INDEX public.users_name_id_idx").await;
    same_as_plain(&db, &mut plain, &cases, true).await;
    db.close().await;
}

/// Each case's first page against the plain statement's users.
async fn same_as_plain(
    db: &Database,
    plain: &mut sqlx::PgConnection,
    cases: &[(String, i64)],
    dropped: bool,
) {
    for (filter, limit) in cases {
        let page = db
            .users_page(Some(filter), &Page::First, *limit, None)
            .await
            .unwrap();
        let got: Vec<String> = page.iter().map(|u| u.id.clone()).collect();
        let pattern = format!("%{}%", filter.replace('_', "\\_"));
        let expected: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM public.users
              WHERE (name ILIKE $1 OR mail ILIKE $1 OR organization_id ILIKE $1)
                AND id IS DISTINCT FROM $2
              ORDER BY name, id LIMIT $3",
        )
        .bind(&pattern)
        .bind(filter)
        .bind(limit)
        .fetch_all(&mut *plain)
        .await
        .unwrap();
        assert!(!expected.is_empty() || filter == "nobody", "{filter:?}");
        assert_eq!(
            got, expected,
            "filter {filter:?}, limit {limit}, index dropped: {dropped}"
        );
    }
}

/// A tenant dropped after the tenant list was read (the dashboard's list
/// is then stale): the price matrix and the basket fail its column alone
/// and price the others (both failed whole with "unknown tenant").
#[tokio::test]
async fn a_tenant_dropped_since_the_list_was_read_fails_its_column_alone() {
    let test_db = TestDatabase::reference().await;
    let db = connect(&test_db).await;
    let user = db.user("1").await.unwrap();
    let lines = db.priced_orders(&user, None).await.unwrap().lines;
    test_db.run_sql("DROP SCHEMA client2 CASCADE").await;
    let tenants = ["client1".to_string(), "client2".to_string()];

    let matrix = db.price_matrix(&tenants).await.unwrap();
    let failed: Vec<&str> = matrix.failed.iter().map(|f| f.tenant.as_str()).collect();
    assert_eq!(failed, ["client2"]);
    assert!(matrix.failed[0]
        .error
        .contains("not a tenant schema any more"));
    let tesla = matrix
        .rows
        .iter()
        .find(|r| r.description == "Tesla")
        .unwrap();
    assert_eq!(plain(&tesla.prices[0]), "5000.00");

    let basket = db
        .basket_prices("client1", &lines, &tenants, None)
        .await
        .unwrap();
    let of = |tenant: &str| basket.iter().find(|t| t.tenant == tenant).unwrap();
    assert_eq!(of("client1").error, None);
    assert_eq!(of("client1").priced_lines, lines.len());
    let gone = of("client2").error.as_deref().unwrap_or_default();
    assert!(gone.contains("not a tenant schema any more"), "{gone}");
}
