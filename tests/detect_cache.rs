//! Detection at scale and its per-database cache: the sampled catalogue
//! read gives what reading every schema gave, the cached model is the
//! detected one, a cache made stale by DDL or a registry row is not used,
//! a corrupt one is ignored, and `--no-cache` and `detect` write none.
//! Every cache lives in a temporary directory of the test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{bare_command, stderr};
use tenantscope::config::Settings;
use tenantscope::db::tenancy::{Detection, TenancyLayout};
use tenantscope::db::{ConnectionSource, Database, DbError};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::fixtures::many_tenants_sql;

const FIXTURES: [&str; 4] = [
    "django_tenants",
    "django_tenant_users",
    "ros_apartment",
    "stancl_tenancy",
];

async fn fixture(name: &str) -> TestDatabase {
    let db = TestDatabase::empty().await;
    let path = format!("{}/sql/fixtures/{name}.sql", env!("CARGO_MANIFEST_DIR"));
    db.run_sql(&std::fs::read_to_string(path).unwrap()).await;
    db
}

/// The detection `Database::connect` made, through the cache in `cache`
/// (as `XDG_CACHE_HOME`; none: detection alone).
async fn connected(db: &TestDatabase, cache: Option<&Path>) -> Detection {
    try_connect(db, cache).await.expect("connect")
}

/// [`connected`], its failure returned.
async fn try_connect(db: &TestDatabase, cache: Option<&Path>) -> Result<Detection, DbError> {
    let settings = Settings {
        detection_cache: cache.map(|dir| dir.join("tenantscope")),
        ..Settings::default()
    };
    let opened = Database::connect(&ConnectionSource::demo(db.options.clone()), &settings).await?;
    let detection = opened.detection().expect("detected").clone();
    opened.close().await;
    Ok(detection)
}

/// The one cache file in `dir`.
fn cache_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("tenantscope"))
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// Plants `marker` in the cached reasons: a detection carrying it came
/// from the cache.
fn mark(dir: &Path, marker: &str) {
    let path = cache_file(dir);
    let mut entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    entry["reasons"].as_array_mut().unwrap().push(marker.into());
    std::fs::write(&path, entry.to_string()).unwrap();
}

fn from_cache(detection: &Detection, marker: &str) -> bool {
    detection.reasons.iter().any(|r| r == marker)
}

#[tokio::test]
async fn the_cached_model_is_the_detected_one_for_every_framework() {
    for name in FIXTURES {
        let db = fixture(name).await;
        let fresh = connected(&db, None).await;
        let dir = tempfile::tempdir().unwrap();
        let first = connected(&db, Some(dir.path())).await;
        assert_eq!(first, fresh, "{name}: detection writing the cache");
        let path = cache_file(dir.path());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {path:?}");
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700, "{name}");
        mark(dir.path(), "from the cache");
        let cached = connected(&db, Some(dir.path())).await;
        assert!(from_cache(&cached, "from the cache"), "{name}: not read");
        let mut unmarked = cached.clone();
        unmarked.reasons.retain(|r| r != "from the cache");
        assert_eq!(unmarked, fresh, "{name}: the cached detection");
    }
}

#[tokio::test]
async fn ddl_or_a_registry_row_makes_the_cache_stale() {
    let db = fixture("django_tenants").await;
    let dir = tempfile::tempdir().unwrap();
    let first = connected(&db, Some(dir.path())).await;
    let tenant = first.tenants[0].clone();
    let items = first.model.items.table.clone();
    let orders = first.model.orders.table.clone();
    let users = first.model.users.table.clone();
    let steps = [
        // A new tenant: schema, tables and its registry row.
        format!(
            "CREATE SCHEMA zz_new;
             CREATE TABLE zz_new.{items} (LIKE {tenant}.{items});
             CREATE TABLE zz_new.{orders} (LIKE {tenant}.{orders});
             CREATE TABLE zz_new.{users} (LIKE {tenant}.{users});"
        ),
        // Its registry row (no DDL).
        "INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
         VALUES ('zz_new', 'New', '2030-01-01', false, '2024-01-01')"
            .to_string(),
        // A dropped column of the registry, one no key names.
        "ALTER TABLE public.customers_client DROP COLUMN on_trial".to_string(),
        // A new column in a tenant's items table.
        format!("ALTER TABLE {tenant}.{items} ADD COLUMN note text"),
        // Two tenant schemas swap names (same oids, same name set).
        format!(
            "ALTER SCHEMA {tenant} RENAME TO zz_swap;
             ALTER SCHEMA {other} RENAME TO {tenant};
             ALTER SCHEMA zz_swap RENAME TO {other};",
            other = first.tenants[1]
        ),
    ];
    for (i, step) in steps.iter().enumerate() {
        let marker = format!("stale marker {i}");
        mark(dir.path(), &marker);
        let cached = connected(&db, Some(dir.path())).await;
        assert!(from_cache(&cached, &marker), "step {i}: cache not read");
        db.run_sql(step).await;
        let after = connected(&db, Some(dir.path())).await;
        assert!(!from_cache(&after, &marker), "step {i}: stale cache used");
        assert_eq!(after, connected(&db, None).await, "step {i}");
        if i == 1 {
            assert!(after.tenants.iter().any(|t| t == "zz_new"), "{after:?}");
        }
    }
    // The registry the cached model names is gone (renamed): the start
    // through the cache detects afresh, as one without it does, never
    // failing in the fingerprint's "relation does not exist".
    connected(&db, Some(dir.path())).await;
    db.run_sql("ALTER TABLE public.customers_client RENAME TO tenant_registry")
        .await;
    let without = try_connect(&db, None).await;
    assert_eq!(try_connect(&db, Some(dir.path())).await, without);
    assert!(without.is_ok(), "{without:?}");
}

#[tokio::test]
async fn a_corrupt_cache_file_is_ignored_and_replaced() {
    let db = fixture("ros_apartment").await;
    let fresh = connected(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    connected(&db, Some(dir.path())).await;
    let path = cache_file(dir.path());
    for garbage in ["", "{not json", "{\"version\": 1}", "\u{0}\u{1}binary"] {
        std::fs::write(&path, garbage).unwrap();
        assert_eq!(connected(&db, Some(dir.path())).await, fresh, "{garbage:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "not rewritten"
        );
    }
    // A cache directory that cannot be made (a file in its place).
    let blocked = tempfile::tempdir().unwrap();
    std::fs::write(blocked.path().join("tenantscope"), "a file").unwrap();
    assert_eq!(connected(&db, Some(blocked.path())).await, fresh);
}

/// Above twice `SAMPLE` schemas only a sample is read in full: the same
/// tenants, anomalies and model as reading them all.
#[tokio::test]
async fn a_sampled_catalogue_detects_what_reading_every_schema_did() {
    let db = TestDatabase::empty().await;
    for statement in many_tenants_sql(120) {
        db.run_sql(&statement).await;
    }
    // One unregistered schema holding the tenant tables, one registered
    // schema that does not exist, one holding only items, one extension-like.
    db.run_sql(
        "CREATE SCHEMA stray; CREATE TABLE stray.shop_item (LIKE t0001.shop_item);
         CREATE TABLE stray.shop_order (LIKE t0001.shop_order);
         CREATE SCHEMA half; CREATE TABLE half.shop_item (LIKE t0001.shop_item);
         CREATE SCHEMA extensions;
         INSERT INTO public.customers_client (schema_name, name) VALUES ('gone', 'Gone');",
    )
    .await;
    let detection = connected(&db, None).await;
    assert_eq!(detection.kind, TenancyLayout::DjangoTenants);
    let expected: Vec<String> = (1..=120).map(|i| format!("t{i:04}")).collect();
    assert_eq!(detection.tenants, expected);
    // `detect` names the first 20 and the count (it wrote all 120 in one
    // line: 40 kB at 4,000 tenants).
    let explained = detection.explain();
    let line = explained
        .lines()
        .find(|l| l.contains("tenant schemas:"))
        .unwrap();
    assert!(
        line.starts_with("detect: 120 tenant schemas: \"t0001\", "),
        "{line}"
    );
    assert!(line.ends_with("\"t0020\", … (120 in all)"), "{line}");
    assert_eq!(detection.registry.missing_schemas, ["gone"]);
    assert_eq!(detection.registry.unregistered_schemas, ["half", "stray"]);
    assert_eq!(detection.model.schemas.ignore, ["extensions"]);
    assert_eq!(detection.model.items.table, "shop_item");
    assert_eq!(detection.model.orders.table, "shop_order");
    assert_eq!(detection.model.users.table, "auth_user");
}

/// The binary: a cache in `XDG_CACHE_HOME` for commands, none with
/// `--no-cache` or for `detect`.
#[tokio::test]
async fn no_cache_and_detect_write_no_cache() {
    let db = fixture("stancl_tenancy").await;
    // A password in the URL (the test server trusts any): never cached.
    assert!(db.url.contains('@'), "{}", db.url);
    let url = db.url.replacen('@', ":s3cr3t-pw@", 1);
    let run = |dir: &Path, args: &[&str]| {
        let out = bare_command()
            .env("XDG_CACHE_HOME", dir)
            .args(["--database-url", url.as_str()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        dir.join("tenantscope").exists()
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(!run(dir.path(), &["--no-cache", "users", "--limit", "1"]));
    assert!(!run(dir.path(), &["detect"]));
    assert!(run(dir.path(), &["users", "--limit", "1"]));
    let text = std::fs::read_to_string(cache_file(dir.path())).unwrap();
    assert!(!text.contains("s3cr3t-pw"), "{text}");
    // And it is used: the same answer from the cache.
    assert!(run(dir.path(), &["users", "--limit", "1"]));
}

/// The statements detection runs (BEGIN, SET and the connection probe
/// aside), counted by the server: one where the shared schema has no
/// registry candidate (the article's layout: the schemas holding the
/// tenant tables are read with the sample, in the same statement), two
/// with a registry (its values), at 5 and at 62 schemas (read in full,
/// then sampled) alike.
#[tokio::test]
async fn detection_is_one_statement_without_a_registry_and_two_with_one() {
    let demo = format!(
        "{}\n{}",
        tenantscope::embedded::DEMO_SQL[0].1,
        tenantscope::embedded::DEMO_SQL[1].1
    );
    let django = std::fs::read_to_string(format!(
        "{}/sql/fixtures/django_tenants.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (sql, layout, expected) in [
        (demo.as_str(), TenancyLayout::Article, 1),
        (django.as_str(), TenancyLayout::DjangoTenants, 2),
    ] {
        let (server, mut admin) = common::counting_server(&[], sql).await;
        let options = server.connect_options("counted");
        let mut counted = Vec::new();
        let mut template: Option<Detection> = None;
        for extra in [0, 60] {
            // 60 more schemas shaped as the first tenant: the catalogue
            // read is a sample then.
            if let Some(first) = &template {
                let (tenant, model) = (&first.tenants[0], &first.model);
                let mut more = String::new();
                for i in 0..extra {
                    more.push_str(&format!("CREATE SCHEMA extra_{i:03};\n"));
                    for table in [&model.items.table, &model.orders.table] {
                        more.push_str(&format!(
                            "CREATE TABLE extra_{i:03}.{table} (LIKE {tenant}.{table} INCLUDING ALL);\n"
                        ));
                    }
                }
                common::run_counted(&server, &more).await;
            }
            let db = Database::connect(
                &ConnectionSource::demo(options.clone()),
                &Settings::default(),
            )
            .await
            .unwrap();
            sqlx::raw_sql("SELECT pg_stat_statements_reset()")
                .execute(&mut admin)
                .await
                .unwrap();
            let detection = db.detect_layout("public").await.unwrap();
            let statements = common::counted_statements(&mut admin).await;
            db.close().await;
            assert_eq!(detection.kind, layout);
            assert!(!detection.tenants.is_empty(), "{:?}", detection.reasons);
            counted.push(statements);
            template = Some(detection);
        }
        assert_eq!(
            counted,
            [expected, expected],
            "{layout:?}: at 0 and 60 extra schemas"
        );
    }
}

/// Schemas that are not tenants (empty ones, as extensions and staging
/// leave, and ones holding unrelated tables), however many, change
/// nothing detection finds: the sample must not miss every tenant.
#[tokio::test]
async fn schemas_that_are_not_tenants_do_not_hide_the_tenants() {
    let db = TestDatabase::reference().await;
    let alone = connected(&db, None).await;
    assert!(!alone.tenants.is_empty(), "{:?}", alone.reasons);
    assert!(!alone.model.items.table.is_empty(), "{:?}", alone.reasons);
    assert!(!alone.model.orders.table.is_empty(), "{:?}", alone.reasons);
    let mut empty = String::new();
    let mut unrelated = String::new();
    for i in 0..60 {
        empty.push_str(&format!("CREATE SCHEMA empty_{i:03};\n"));
        unrelated.push_str(&format!(
            "CREATE SCHEMA staging_{i:03};
             CREATE TABLE staging_{i:03}.event_log (id bigint, payload text, at timestamptz);
             CREATE TABLE staging_{i:03}.import_{i:03} (id bigint, source text, line int);\n"
        ));
    }
    for more in [empty, unrelated] {
        db.run_sql(&more).await;
        let detection = connected(&db, None).await;
        assert_eq!(detection.kind, alone.kind, "{:?}", detection.reasons);
        assert_eq!(detection.tenants, alone.tenants, "{:?}", detection.reasons);
        assert_eq!(
            detection.registry.missing_schemas,
            alone.registry.missing_schemas
        );
        assert_eq!(
            detection.registry.unregistered_schemas,
            alone.registry.unregistered_schemas
        );
        assert_eq!(detection.model.items, alone.model.items);
        assert_eq!(detection.model.orders, alone.model.orders);
        assert_eq!(detection.model.users, alone.model.users);
        assert_eq!(
            detection.model.schemas.registry,
            alone.model.schemas.registry
        );
        assert_eq!(detection.model.schemas.ledger, alone.model.schemas.ledger);
    }
}

/// The catalogue statements of the connect path (detection, the cache's
/// fingerprint, the users table and source) are never JIT-compiled: at
/// 10,000 schemas their cost passes `jit_above_cost`, and compiling took
/// 150–200 ms of a 300 ms detection on a server built with LLVM. Here
/// `jit_above_cost` is 0, so any statement run with JIT on is compiled.
#[tokio::test]
async fn catalogue_statements_are_never_jit_compiled() {
    let django = std::fs::read_to_string(format!(
        "{}/sql/fixtures/django_tenants.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (server, mut admin) =
        common::counting_server(&[("jit", "on"), ("jit_above_cost", "0")], &django).await;
    let available: bool = sqlx::query_scalar("SELECT pg_jit_available()")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if !available {
        eprintln!("skipped: this server has no JIT (built without LLVM)");
        return;
    }
    // JIT is on where the connect path does not turn it off.
    let probe: i64 = {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&server.connect_options("counted"))
            .await
            .unwrap();
        sqlx::raw_sql("SELECT count(*) AS jit_probe FROM pg_catalog.pg_class")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        sqlx::query_scalar(
            "SELECT coalesce(sum(s.jit_functions), 0)::int8 FROM pg_stat_statements s
              WHERE s.query LIKE '%jit_probe%' AND s.query NOT LIKE '%pg_stat_statements%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap()
    };
    assert!(probe > 0, "the probe was not compiled: JIT is off here");
    sqlx::raw_sql("SELECT pg_stat_statements_reset()")
        .execute(&mut admin)
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let source = ConnectionSource::demo(server.connect_options("counted"));
    let cached = Settings {
        detection_cache: Some(cache.path().join("tenantscope")),
        ..Settings::default()
    };
    // Detection and the cache written, then the cache's fingerprint read.
    for _ in 0..2 {
        let db = Database::connect(&source, &cached).await.unwrap();
        assert_eq!(
            db.detection().map(|d| d.kind),
            Some(TenancyLayout::DjangoTenants)
        );
        db.detect_layout("public").await.unwrap();
        db.close().await;
    }
    type Row = (String, i64);
    let compiled: Vec<Row> = sqlx::query_as(
        "SELECT s.query, s.jit_functions FROM pg_stat_statements s
           JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = 'counted' AND s.query LIKE '%pg_catalog%'
            AND s.query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(compiled.len() >= 4, "{compiled:?}");
    let jit: Vec<&Row> = compiled.iter().filter(|(_, n)| *n > 0).collect();
    assert!(jit.is_empty(), "JIT-compiled: {jit:?}");
}
