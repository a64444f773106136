//! Databases built by Django itself (tests/frameworks/django/build.py: a
//! project with django-tenants, django-tenant-users or django-pgschemas,
//! migrated by Django, tenants made with each package's own helpers,
//! catalogues entered in a different order per tenant): detection with no
//! configuration, users, a user's priced orders, comparisons and health,
//! each checked against SQL written here.
//!
//! Each database is built once (python3 and a venv under the target
//! directory, pip-installed once), kept as a `pg_dump` keyed by a hash of
//! the script and project files, restored once per test process into a
//! template database, and copied for every test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, stdout, tenantscope};
use serde_json::Value as Json;
use sqlx::{Connection, PgConnection};
use tenantscope::embedded::testing::TestDatabase;

const SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/frameworks/django");

/// Built databases of this process: (framework, variant) → template name.
static TEMPLATES: tokio::sync::Mutex<BTreeMap<(String, String), String>> =
    tokio::sync::Mutex::const_new(BTreeMap::new());

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("django-fixtures")
}

/// FNV-1a over the script's and the project's files (paths and contents):
/// a changed file builds the databases again.
fn script_hash() -> u64 {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SCRIPT_DIR), &mut files);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let relative = file.strip_prefix(SCRIPT_DIR).unwrap().to_string_lossy();
        for byte in relative
            .as_bytes()
            .iter()
            .chain(std::fs::read(&file).unwrap().iter())
        {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// An exclusive lock on a file, held until dropped (the File keeps it): one process builds.
struct FileLock(#[allow(dead_code)] std::fs::File);

impl FileLock {
    fn take(path: &Path) -> FileLock {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        // SAFETY: flock on a descriptor this File owns; blocks until granted.
        let done = unsafe { nix::libc::flock(file.as_raw_fd(), nix::libc::LOCK_EX) };
        assert_eq!(done, 0, "cannot lock {}", path.display());
        FileLock(file)
    }
}

/// Connection arguments of a client program (psql, pg_dump, pg_restore).
fn client_args(db: &TestDatabase) -> Vec<String> {
    vec![
        "-h".into(),
        db.socket_dir().display().to_string(),
        "-p".into(),
        db.options.get_port().to_string(),
        "-U".into(),
        db.options.get_username().to_string(),
        "-d".into(),
        db.name.clone(),
    ]
}

fn run_checked(command: &mut Command, what: &str) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(key);
        }
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds (or restores from the cached dump) the framework's database
/// into a database of this process; returns its name.
async fn template(framework: &str, variant: &str) -> String {
    let mut templates = TEMPLATES.lock().await;
    let key = (framework.to_string(), variant.to_string());
    if let Some(name) = templates.get(&key) {
        return name.clone();
    }
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let bin = tenantscope::embedded::find_binaries().unwrap();
    let dump = dir.join(format!("{framework}-{variant}-{:016x}.dump", script_hash()));
    let db = TestDatabase::empty().await;
    let _lock = FileLock::take(&dir.join("build.lock"));
    if dump.is_file() {
        run_checked(
            Command::new(bin.join("pg_restore"))
                .args(client_args(&db))
                .args(["--exit-on-error", "--no-owner"])
                .arg(&dump),
            "pg_restore",
        );
    } else {
        let socket = db.socket_dir().display().to_string();
        run_checked(
            Command::new("python3")
                .arg(Path::new(SCRIPT_DIR).join("build.py"))
                .arg("--venv")
                .arg(dir.join("venv"))
                .args(["--framework", framework, "--variant", variant])
                .args(["--host", &socket, "--port"])
                .arg(db.options.get_port().to_string())
                .args(["--user", db.options.get_username(), "--dbname", &db.name]),
            "build.py (python3 with venv; .ci/run installs python3-venv)",
        );
        let partial = dump.with_extension("partial");
        run_checked(
            Command::new(bin.join("pg_dump"))
                .args(client_args(&db))
                .args(["-Fc", "-f"])
                .arg(&partial),
            "pg_dump",
        );
        std::fs::rename(&partial, &dump).unwrap();
    }
    templates.insert(key, db.name.clone());
    db.name
}

/// A copy, for this test, of the framework's database.
async fn django(framework: &str, variant: &str) -> TestDatabase {
    let template = template(framework, variant).await;
    let db = TestDatabase::empty().await;
    let mut admin = PgConnection::connect_with(&db.options.clone().database("postgres"))
        .await
        .unwrap();
    for sql in [
        format!("DROP DATABASE {}", db.name),
        format!("CREATE DATABASE {} TEMPLATE {template}", db.name),
    ] {
        sqlx::raw_sql(&sql).execute(&mut admin).await.unwrap();
    }
    admin.close().await.ok();
    db
}

fn run(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    tenantscope(&all)
}

/// stdout of a command that must succeed.
fn ok(db: &TestDatabase, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json(db: &TestDatabase, args: &[&str]) -> Json {
    serde_json::from_str(&ok(db, args)).unwrap()
}

/// `detect`'s [tenancy] table.
fn detect(db: &TestDatabase) -> (toml::Table, String) {
    let out = run(db, &["detect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model: toml::Table = stdout(&out).parse().unwrap();
    (model["tenancy"].as_table().unwrap().clone(), stderr(&out))
}

/// Rows of a query as text columns (NULL as "").
async fn rows(db: &TestDatabase, sql: &str) -> Vec<Vec<String>> {
    use sqlx::Row;
    let mut conn = PgConnection::connect_with(&db.options).await.unwrap();
    let found = sqlx::query(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    conn.close().await.ok();
    found
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<Option<String>, _>(i).unwrap_or_default())
                .collect()
        })
        .collect()
}

/// A JSON number or string as text (numbers keep their scale).
fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The schema the registry gives a tenant (slug or schema name).
async fn schema_of(db: &TestDatabase, registry: &str, label: &str) -> String {
    db.query_text(&format!(
        "SELECT schema_name::text FROM public.{registry} WHERE name = '{label}'"
    ))
    .await
}

const FRAMEWORKS: [(&str, &str); 3] = [
    ("django-tenants", "customers_client"),
    ("django-tenant-users", "companies_company"),
    ("django-pgschemas", "pgtenants_tenant"),
];

#[tokio::test]
async fn each_framework_is_detected_with_no_config() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        let (model, why) = detect(&db);
        // django-pgschemas is told by its domain model's `folder` column.
        assert_eq!(model["layout"].as_str(), Some(framework), "{framework}");
        assert_eq!(
            model["registry_table"].as_str(),
            Some(registry),
            "{framework}"
        );
        assert_eq!(model["registry_schema"].as_str(), Some("schema_name"));
        assert_eq!(model["registry_label"].as_str(), Some("name"));
        let (users, users_table) = match framework {
            "django-tenant-users" => ("link", "users_tenantuser"),
            _ => ("per_tenant", "auth_user"),
        };
        assert_eq!(model["users"].as_str(), Some(users), "{framework}");
        assert_eq!(model["users_table"].as_str(), Some(users_table));
        assert_eq!(model["items_table"].as_str(), Some("shop_item"));
        assert_eq!(model["item_label"].as_str(), Some("name"));
        assert_eq!(model["item_price"].as_str(), Some("price"));
        assert_eq!(model["orders_table"].as_str(), Some("shop_order"));
        assert_eq!(model["order_user"].as_str(), Some("user_id"));
        assert_eq!(model["ledger_table"].as_str(), Some("django_migrations"));
        // The tenants as the registry lists them.
        let schemas = rows(
            &db,
            &format!(
                "SELECT schema_name::text FROM public.{registry}
                  WHERE schema_name <> 'public' ORDER BY 1"
            ),
        )
        .await;
        let listed: Vec<String> = schemas.iter().map(|r| format!("{:?}", r[0])).collect();
        assert!(
            why.contains(&format!("3 tenant schemas: {}", listed.join(", "))),
            "{framework}: {why}"
        );
    }
}

/// Keys that name columns the detected tables do not have are left out.
#[tokio::test]
async fn detect_writes_no_key_naming_a_column_that_does_not_exist() {
    for (framework, _) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        let (model, _) = detect(&db);
        let users_table = model["users_table"].as_str().unwrap().to_string();
        // A schema that holds the users table (public, or a tenant's).
        let columns: Vec<String> = rows(
            &db,
            &format!(
                "SELECT DISTINCT a.attname::text FROM pg_attribute a
                   JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relname = '{users_table}' AND a.attnum > 0 AND NOT a.attisdropped"
            ),
        )
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        for key in [
            "tenant_column",
            "user_id",
            "user_name",
            "user_mail",
            "user_created",
        ] {
            if let Some(column) = model.get(key).and_then(|v| v.as_str()) {
                assert!(
                    columns.iter().any(|c| c == column),
                    "{framework}: {key} = {column:?}, but {users_table} has {columns:?}"
                );
            }
        }
        // Linked or per-tenant users: no column names the tenant.
        assert!(
            model.get("tenant_column").is_none(),
            "{framework}: {model:?}"
        );
    }
}

/// The users of each tenant, as SQL over the framework's own tables says.
async fn users_by_sql(db: &TestDatabase, framework: &str, label: &str) -> Vec<String> {
    let sql = match framework {
        "django-tenant-users" => format!(
            "SELECT u.name::text FROM public.users_tenantuser u
               JOIN public.users_tenantuser_tenants l ON l.tenantuser_id = u.id
               JOIN public.companies_company c ON c.id = l.company_id
              WHERE c.name = '{label}' ORDER BY 1"
        ),
        _ => {
            let registry = if framework == "django-tenants" {
                "customers_client"
            } else {
                "pgtenants_tenant"
            };
            let schema = schema_of(db, registry, label).await;
            format!("SELECT username::text FROM \"{schema}\".auth_user ORDER BY 1")
        }
    };
    rows(db, &sql)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

const LABELS: [&str; 3] = ["Acme Corp", "Globex Inc", "Stark Industries"];

#[tokio::test]
async fn users_per_tenant_match_the_frameworks_tables() {
    for (framework, _) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        for label in LABELS {
            let users = json(&db, &["users", "--tenant", label, "--format", "json"]);
            let mut names: Vec<String> = users
                .as_array()
                .unwrap()
                .iter()
                .map(|u| text(&u["name"]))
                .collect();
            names.sort();
            let expected = users_by_sql(&db, framework, label).await;
            assert!(!expected.is_empty(), "{framework} {label}");
            assert_eq!(names, expected, "{framework} {label}");
        }
    }
}

/// The user's orders priced in the schema: (item, quantity, unit price, total).
async fn orders_by_sql(db: &TestDatabase, schema: &str, user_id: &str) -> Vec<Vec<String>> {
    rows(
        db,
        &format!(
            "SELECT i.name::text, o.quantity::text, i.price::text, (o.quantity * i.price)::text
               FROM \"{schema}\".shop_order o JOIN \"{schema}\".shop_item i ON i.id = o.item_id
              WHERE o.user_id = {user_id} ORDER BY 1"
        ),
    )
    .await
}

fn order_lines(report: &Json, fields: &[&str]) -> Vec<Vec<String>> {
    let mut lines: Vec<Vec<String>> = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| fields.iter().map(|f| text(&l[*f])).collect())
        .collect();
    lines.sort();
    lines
}

/// Every user who ordered, in every tenant: (registry label, schema, user id).
async fn buyers(db: &TestDatabase, registry: &str) -> Vec<(String, String, String)> {
    let tenants = rows(
        db,
        &format!(
            "SELECT name::text, schema_name::text FROM public.{registry}
              WHERE schema_name <> 'public' ORDER BY 1"
        ),
    )
    .await;
    let mut out = Vec::new();
    for tenant in tenants {
        let users = rows(
            db,
            &format!(
                "SELECT DISTINCT user_id::text FROM \"{}\".shop_order ORDER BY 1",
                tenant[1]
            ),
        )
        .await;
        for user in users {
            out.push((tenant[0].clone(), tenant[1].clone(), user[0].clone()));
        }
    }
    out
}

#[tokio::test]
async fn a_users_own_priced_orders_equal_sql() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        let buyers = buyers(&db, registry).await;
        assert_eq!(buyers.len(), 5, "{framework}: the fixture's buyers");
        for (label, schema, user) in buyers {
            let report = json(
                &db,
                &["orders", &user, "--tenant", &label, "--format", "json"],
            );
            assert_eq!(
                order_lines(&report, &["item", "quantity", "unit_price", "total"]),
                orders_by_sql(&db, &schema, &user).await,
                "{framework}: user {user} of {label}"
            );
        }
    }
}

async fn assert_healthy(framework: &str) {
    {
        let db = django(framework, "clean").await;
        let out = run(&db, &["health", "--fail-on-drift"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{framework}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let report = json(&db, &["health", "--format", "json"]);
        assert_eq!(report["healthy"], true, "{framework}: {report:#}");
    }
}

/// The text report names each tenant as the registry does, beside the
/// schema its other lines name (it named the schema only, where the views
/// and `tenants` use the label).
#[tokio::test]
async fn a_clean_django_tenants_install_is_healthy() {
    assert_healthy("django-tenants").await;
    let db = django("django-tenants", "clean").await;
    let text_report = ok(&db, &["health"]);
    for label in LABELS {
        let schema = schema_of(&db, "customers_client", label).await;
        assert_ne!(schema, label);
        let row = text_report
            .lines()
            .find(|l| l.starts_with(&format!("{label} ({schema}) ")))
            .unwrap_or_else(|| panic!("no row for {label}:\n{text_report}"));
        assert!(row.contains(" ok "), "{row}");
    }
}

/// Its public-tenant owner is linked only to the public tenant.
#[tokio::test]
async fn a_clean_django_tenant_users_install_is_healthy() {
    assert_healthy("django-tenant-users").await;
    let db = django("django-tenant-users", "clean").await;
    // The owner is a user all the same, of no tenant.
    let owner = rows(
        &db,
        "SELECT u.id::text FROM public.users_tenantuser u
          WHERE NOT EXISTS (SELECT 1 FROM public.users_tenantuser_tenants l
                              JOIN public.companies_company c ON c.id = l.company_id
                             WHERE l.tenantuser_id = u.id AND c.schema_name <> 'public')",
    )
    .await;
    assert_eq!(owner.len(), 1, "the fixture's public-tenant owner");
    let report = json(&db, &["health", "--format", "json"]);
    assert_eq!(report["orphan_organizations"], serde_json::json!([]));
}

/// Its static tenant (www) and clone reference (sample) are not orphans:
/// detection takes the schemas its registry does not list for them (the
/// database cannot tell them from a tenant whose row was deleted), puts
/// them in ignore_schemas, says so, and health names them apart.
#[tokio::test]
async fn a_clean_django_pgschemas_install_is_healthy() {
    assert_healthy("django-pgschemas").await;
    let db = django("django-pgschemas", "clean").await;
    let (model, why) = detect(&db);
    let ignored = strings(&serde_json::to_value(&model["ignore_schemas"]).unwrap());
    assert!(
        ignored.contains(&"sample".to_string()) && ignored.contains(&"www".to_string()),
        "{ignored:?}"
    );
    assert!(why.contains("sample, www hold the tenant tables"), "{why}");
    let report = json(&db, &["health", "--format", "json"]);
    assert_eq!(
        strings(&report["registry"]["static_schemas"]),
        ["sample", "www"]
    );
    assert_eq!(
        strings(&report["registry"]["unregistered_schemas"]),
        Vec::<String>::new()
    );
    let text_report = ok(&db, &["health"]);
    assert!(
        text_report.contains("static tenants or clone reference (ignore_schemas): sample, www"),
        "{text_report}"
    );
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(text)
        .collect()
}

/// The anomalies as they happen: globex not migrated after release 2,
/// initech's schema dropped, hooli's and umbrella's rows deleted with
/// their schemas left (umbrella's half dropped: no shop_order).
#[tokio::test]
async fn anomalies_are_each_reported() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "anomalies").await;
        // Names as the framework made them (django-tenant-users adds a
        // timestamp and a random suffix).
        let schemas = rows(
            &db,
            "SELECT nspname::text FROM pg_namespace
              WHERE nspname ~ '^(acme|globex|stark|hooli|umbrella)' ORDER BY 1",
        )
        .await;
        let named = |prefix: &str| -> String {
            schemas
                .iter()
                .map(|r| r[0].clone())
                .find(|s| s.starts_with(prefix))
                .unwrap_or_else(|| panic!("{framework}: no schema {prefix}*"))
        };
        let initech = db
            .query_text(&format!(
                "SELECT schema_name::text FROM public.{registry} WHERE name = 'Initech'"
            ))
            .await;
        let report = json(&db, &["health", "--format", "json"]);
        assert_eq!(report["healthy"], false, "{framework}");
        assert_eq!(
            strings(&report["registry"]["missing_schemas"]),
            std::slice::from_ref(&initech),
            "{framework}"
        );
        let unregistered = strings(&report["registry"]["unregistered_schemas"]);
        // django-pgschemas: a complete schema its registry does not list
        // is taken for a static tenant (named apart, see
        // ignore_schemas_alone_refines_detection for telling them apart).
        let listed = if framework == "django-pgschemas" {
            strings(&report["registry"]["static_schemas"])
        } else {
            unregistered.clone()
        };
        assert!(
            listed.contains(&named("hooli")),
            "{framework}: hooli not in {listed:?}"
        );
        // globex lacks the migration the others ran: behind; they are not.
        let drift = report["ledger"]["drift"].as_array().unwrap();
        let behind: Vec<String> = drift
            .iter()
            .filter(|d| !d["missing"].as_array().unwrap().is_empty())
            .map(|d| text(&d["tenant"]))
            .collect();
        assert_eq!(behind, [named("globex")], "{framework}: {drift:?}");
        let globex = drift
            .iter()
            .find(|d| text(&d["tenant"]) == named("globex"))
            .unwrap();
        assert_eq!(globex["status"], "behind");
        assert_eq!(strings(&globex["missing"]), ["shop.0003_item_discontinued"]);
        // The text names tenants as the registry labels them, the schema
        // beside, in every line (the ledger's and the registry's named
        // schemas alone, where the table named labels).
        let text_report = stdout(&run(&db, &["health"]));
        let globex = format!("Globex Inc ({})", named("globex"));
        for expected in [
            format!("behind: {globex} (lacks shop.0003_item_discontinued)"),
            format!("with no schema: Initech ({initech})"),
        ] {
            assert!(
                text_report.contains(&expected),
                "{framework}: {expected} in\n{text_report}"
            );
        }
        let failed = run(&db, &["health", "--fail-on-drift"]);
        assert_ne!(failed.status.code(), Some(0), "{framework}");
    }
}

/// `orders --compare`: each line's comparison is the other tenant's item
/// of the same description, at its price; an item it does not sell has none.
#[tokio::test]
async fn orders_compare_matches_items_by_description() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        for (label, schema, user) in buyers(&db, registry).await {
            for (other_label, other) in
                rows(&db, &format!("SELECT name::text, schema_name::text FROM public.{registry} WHERE schema_name NOT IN ('public', '{schema}')")).await.into_iter().map(|r| (r[0].clone(), r[1].clone()))
            {
                let report = json(
                    &db,
                    &[
                        "orders", &user, "--tenant", &label, "--compare", &other_label,
                        "--format", "json",
                    ],
                );
                let expected = rows(
                    &db,
                    &format!(
                        "SELECT i.name::text, c.id::text, c.name::text, c.price::text,
                                (o.quantity * c.price)::text
                           FROM \"{schema}\".shop_order o
                           JOIN \"{schema}\".shop_item i ON i.id = o.item_id
                           LEFT JOIN \"{other}\".shop_item c ON c.name = i.name
                          WHERE o.user_id = {user} ORDER BY 1"
                    ),
                )
                .await;
                assert_eq!(
                    order_lines(
                        &report,
                        &[
                            "item",
                            "compare_item_id",
                            "compare_item",
                            "compare_unit_price",
                            "compare_total"
                        ]
                    ),
                    expected,
                    "{framework}: user {user} of {label} against {other_label}"
                );
                let missing = expected.iter().filter(|l| l[1].is_empty()).count();
                assert_eq!(report["compare_missing"], missing, "{framework}");
            }
        }
    }
}

/// umbrella's removal stopped after some tables: still a schema nobody
/// registered, in health and in detect's explanation, never ignored.
#[tokio::test]
async fn a_half_deleted_tenant_is_an_unregistered_schema() {
    for (framework, _) in FRAMEWORKS {
        let db = django(framework, "anomalies").await;
        let umbrella = db
            .query_text("SELECT nspname::text FROM pg_namespace WHERE nspname ~ '^umbrella'")
            .await;
        let report = json(&db, &["health", "--format", "json"]);
        let unregistered = strings(&report["registry"]["unregistered_schemas"]);
        assert!(
            unregistered.contains(&umbrella),
            "{framework}: {unregistered:?}"
        );
        let (model, why) = detect(&db);
        let ignored = strings(&serde_json::to_value(&model["ignore_schemas"]).unwrap());
        assert!(!ignored.contains(&umbrella), "{framework}: {ignored:?}");
        let said = why
            .lines()
            .find(|l| l.starts_with("detect: schema nobody registered:"))
            .unwrap_or_else(|| panic!("{framework}: {why}"));
        assert!(
            said.contains(&format!("{umbrella:?}")),
            "{framework}: {said}"
        );
    }
}

/// A config setting only ignore_schemas keeps every other detected part
/// (here: naming django-pgschemas' static tenant and clone reference, so
/// that a schema left by a deleted tenant is reported); `detect = false`
/// turns detection off (the article's defaults then fail on this database).
#[tokio::test]
async fn ignore_schemas_alone_refines_detection() {
    let db = django("django-pgschemas", "anomalies").await;
    let (detected, _) = detect(&db);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        "[tenancy]\nignore_schemas = [\"sample\", \"www\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let (refined, why) = {
        let out = run(&db, &["--config", config, "detect"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let model: toml::Table = stdout(&out).parse().unwrap();
        (model["tenancy"].as_table().unwrap().clone(), stderr(&out))
    };
    assert!(why.contains("configured: ignore_schemas"), "{why}");
    for (key, value) in &detected {
        if key == "ignore_schemas" {
            assert_eq!(
                refined[key],
                toml::Value::Array(vec!["sample".into(), "www".into()])
            );
        } else {
            assert_eq!(refined.get(key), Some(value), "{key}");
        }
    }
    assert_eq!(refined.len(), detected.len());
    let hooli = named_schema(&db, "hooli").await;
    let report = json(&db, &["--config", config, "health", "--format", "json"]);
    let unregistered = strings(&report["registry"]["unregistered_schemas"]);
    assert!(unregistered.contains(&hooli), "{unregistered:?}");
    assert!(!unregistered.contains(&"www".to_string()));
    assert_eq!(
        strings(&report["registry"]["static_schemas"]),
        ["sample", "www"]
    );
    // Users still come from each tenant's auth_user (detected).
    let users = json(
        &db,
        &[
            "--config",
            config,
            "users",
            "--tenant",
            "Acme Corp",
            "--format",
            "json",
        ],
    );
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");

    // Off: the configuration alone (the article's users table).
    let off = dir.path().join("off.toml");
    std::fs::write(
        &off,
        "[tenancy]\ndetect = false\nignore_schemas = [\"sample\", \"www\"]\n",
    )
    .unwrap();
    let out = run(&db, &["--config", off.to_str().unwrap(), "tenants"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("shared users table public.users not found"),
        "{}",
        stderr(&out)
    );
}

async fn named_schema(db: &TestDatabase, prefix: &str) -> String {
    db.query_text(&format!(
        "SELECT nspname::text FROM pg_namespace WHERE nspname ~ '^{prefix}'"
    ))
    .await
}

/// A registered tenant whose schema was dropped (Initech): listed by
/// `tenants` as "schema missing", and `--tenant` answers so (exit 1), not
/// "unknown tenant" (exit 2).
#[tokio::test]
async fn a_registered_tenant_whose_schema_is_gone_is_named_so() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "anomalies").await;
        let initech = schema_of(&db, registry, "Initech").await;
        let exists = db
            .query_text(&format!(
                "SELECT count(*)::text FROM pg_namespace WHERE nspname = '{initech}'"
            ))
            .await;
        assert_eq!(exists, "0", "{framework}: the fixture dropped it");
        let tenants = json(&db, &["tenants", "--format", "json"]);
        let row = tenants
            .as_array()
            .unwrap()
            .iter()
            .find(|t| text(&t["schema"]) == initech)
            .unwrap_or_else(|| panic!("{framework}: {initech} not in {tenants}"));
        assert_eq!(row["schema_exists"], false, "{framework}");
        assert_eq!(row["registered"], true, "{framework}");
        // Named as the registry names it.
        assert_eq!(row["tenant"], "Initech", "{framework}");
        let table = ok(&db, &["tenants"]);
        let line = table
            .lines()
            .find(|l| l.starts_with("Initech"))
            .unwrap_or_else(|| panic!("{framework}:\n{table}"));
        assert!(line.contains("schema missing"), "{framework}: {line}");
        for name in ["Initech", initech.as_str()] {
            let out = run(&db, &["users", "--tenant", name]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{framework} {name}: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("schema missing"),
                "{framework}: {}",
                stderr(&out)
            );
        }
        let out = run(&db, &["users", "--tenant", "No Such Corp"]);
        assert_eq!(out.status.code(), Some(2), "{framework}");
        assert!(stderr(&out).contains("unknown tenant"), "{}", stderr(&out));
    }
}

/// The basket and the price matrix match items as `orders --compare` does:
/// at every other tenant, the basket's total and missing lines are the
/// comparison's, and every matrix cell is that tenant's price of the item
/// with the row's key (the description, or the sku where every tenant has
/// one), as SQL written here reads it.
#[tokio::test]
async fn basket_and_matrix_agree_with_the_comparison_and_with_sql() {
    for (framework, registry) in FRAMEWORKS {
        let db = django(framework, "clean").await;
        for (label, schema, user) in buyers(&db, registry).await {
            let basket = json(
                &db,
                &["basket", &user, "--tenant", &label, "--format", "json"],
            );
            for at in basket["tenants"].as_array().unwrap() {
                if at["schema"] == schema.as_str() {
                    continue;
                }
                let other = at["tenant"].as_str().unwrap();
                let orders = json(
                    &db,
                    &[
                        "orders",
                        &user,
                        "--tenant",
                        &label,
                        "--compare",
                        other,
                        "--format",
                        "json",
                    ],
                );
                let what = format!("{framework}: user {user} of {label} at {other}");
                assert_eq!(at["total"], orders["compare_total"], "{what}");
                assert_eq!(at["missing_lines"], orders["compare_missing"], "{what}");
                // And what SQL says the other tenant lacks, by item name.
                let lacking = rows(
                    &db,
                    &format!(
                        "SELECT count(*)::text FROM \"{schema}\".shop_order o
                           JOIN \"{schema}\".shop_item i ON i.id = o.item_id
                          WHERE o.user_id = {user}
                            AND NOT EXISTS (SELECT 1 FROM \"{theirs}\".shop_item c
                                             WHERE c.name = i.name)",
                        theirs = at["schema"].as_str().unwrap(),
                    ),
                )
                .await;
                assert_eq!(text(&at["missing_lines"]), lacking[0][0], "{what}");
            }
        }
        let matrix = json(&db, &["prices", "--format", "json"]);
        let key_column = match matrix["items_match"].as_str().unwrap() {
            "description" => "name",
            column => column,
        };
        let schemas = matrix["schemas"].as_array().unwrap();
        let labels = matrix["tenants"].as_array().unwrap();
        for row in matrix["items"].as_array().unwrap() {
            for (schema, label) in schemas.iter().zip(labels) {
                let expected = rows(
                    &db,
                    &format!(
                        "SELECT coalesce((SELECT price::text FROM \"{schema}\".shop_item
                                           WHERE {key_column}::text = $${key}$$
                                           ORDER BY id::text LIMIT 1), '')",
                        schema = schema.as_str().unwrap(),
                        key = text(&row["key"]),
                    ),
                )
                .await;
                let shown = &row["prices"][label.as_str().unwrap()];
                assert_eq!(
                    text(shown),
                    expected[0][0],
                    "{framework}: {} at {schema}",
                    row["key"]
                );
            }
        }
    }
}
