//! Adversarial probes (issue 26): what a hostile configuration file, a
//! hostile working directory or hostile data can make tenantscope do. Each
//! test here failed before its fix. The binary runs as a user would,
//! against the real test server; the role connecting may read the password
//! column (the dangerous case).

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use proptest::prelude::*;
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{bare_command, stderr, stdout};

/// Every password the fixture holds, and what the canary says if it ran.
const SECRETS: [&str; 5] = [
    "rich-secret-pw",
    "poor-secret-pw",
    "org-secret-pw",
    "item-secret-pw",
    "CANARY-RAN",
];

/// The reference data, plus a registry table with a secret column, a
/// secret column in every tenant's items, and a canary function: any configured text that is run as SQL and calls it
/// fails with `CANARY-RAN` (a text no configured value contains).
fn fixture() -> &'static TestDatabase {
    static DB: OnceLock<TestDatabase> = OnceLock::new();
    DB.get_or_init(|| {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let db = TestDatabase::reference().await;
            db.run_sql(
                "CREATE TABLE public.orgs (id text PRIMARY KEY, name text, schema_name text,
                                           password text, data text);
                 INSERT INTO public.orgs VALUES
                     ('client1', 'Client One', 'client1', 'org-secret-pw', '{}'),
                     ('client2', 'Client Two', 'client2', 'org-secret-pw', '{}');
                 DO $$ DECLARE s text; BEGIN
                     FOR s IN SELECT table_schema FROM information_schema.tables
                               WHERE table_name = 'items' AND table_schema <> 'public' LOOP
                         EXECUTE format('ALTER TABLE %I.items ADD COLUMN password text
                                         DEFAULT %L', s, 'item-secret-pw');
                     END LOOP;
                 END $$;
                 CREATE FUNCTION public.canary() RETURNS text LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION '%', 'CANARY' || '-RAN'; END $$;",
            )
            .await;
            db
        })
    })
}

fn run_with_config(db: &TestDatabase, config: &Path, args: &[&str]) -> Output {
    bare_command()
        .arg("--config")
        .arg(config)
        .args(["--database-url", &db.url])
        .args(args)
        .output()
        .expect("run tenantscope")
}

/// No secret in the output, no panic, and a failure is one line.
fn assert_nothing_leaks(out: &Output, what: &str) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for secret in SECRETS {
        assert!(!all.contains(secret), "{what}: {secret} shown:\n{all}");
    }
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=3)),
        "{what}: exit {code:?} (a panic or a signal):\n{all}"
    );
    if code != Some(0) {
        assert_eq!(stderr(out).trim_end().lines().count(), 1, "{what}: {all}");
    }
}

/// A TOML string.
fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The base configurations a hostile key is set in: the article's layout,
/// one with a registry (`public.orgs`) and one with a link table (the users
/// table linking itself), so every key is read.
fn bases() -> [&'static str; 3] {
    [
        "[tenancy]\nshared_schema = \"public\"\n",
        "[tenancy]\nregistry_table = \"orgs\"\nregistry_key = \"id\"\n\
         registry_label = \"name\"\nregistry_schema = \"schema_name\"\n",
        "[tenancy]\nusers = \"link\"\nlink_table = \"users\"\nlink_user = \"id\"\n\
         link_tenant = \"organization_id\"\n",
    ]
}

/// Every `[tenancy]` key, from the model's own TOML.
fn keys() -> Vec<String> {
    let text = tenantscope::db::TenancyModel::default().to_toml();
    let mut keys: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.to_string()))
        .collect();
    for key in [
        "registry_table",
        "registry_key",
        "registry_label",
        "registry_schema",
        "link_table",
        "link_user",
        "link_tenant",
        "ledger_table",
        "compare_with",
    ] {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_string());
        }
    }
    keys
}

/// `base` with `key` set to `value` (replacing the base's own line).
fn config_with(base: &str, key: &str, value: &str) -> String {
    let value = if key == "ignore_schemas" {
        format!("[{}]", toml_str(value))
    } else {
        toml_str(value)
    };
    let mut text: String = base
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} = ")))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{key} = {value}\n"));
    text
}

const HOSTILE: [&str; 14] = [
    "password",
    "PassWord",
    "\"password\"",
    "password_hash",
    "api_token",
    "(select string_agg(u.password, ',') from public.users u)",
    "(select canary())",
    "canary()",
    "id) union select canary() --",
    "x\"; select canary(); --",
    "' || canary() || '",
    "id::text || canary()",
    "coalesce(password, id)",
    "schema_name /* */ || (select password from public.users limit 1)",
];

fn probe(db: &TestDatabase, base: &str, key: &str, value: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tenantscope.toml");
    std::fs::write(&config, config_with(base, key, value)).unwrap();
    // `tenants` reads the users and the registry; `orders` the items and
    // orders too, `prices` each tenant's items (by `items_match`'s key);
    // `health` the ledger.
    let mut commands = vec![&["tenants", "--format", "json"][..]];
    if key.starts_with("item") || key.starts_with("order") || key == "compare_with" {
        commands.push(&["orders", "1", "--format", "json"]);
    }
    if key.starts_with("item") {
        commands.push(&["prices", "--format", "json"]);
    }
    if key.starts_with("ledger") || key.starts_with("registry") {
        commands.push(&["health", "--format", "json"]);
    }
    for args in commands {
        let out = run_with_config(db, &config, args);
        assert_nothing_leaks(&out, &format!("{key} = {value:?} in {base:?}, {args:?}"));
    }
}

#[test]
fn the_issues_registry_probes_are_refused_with_exit_2() {
    let db = fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    for (label, schema) in [
        ("password", "organization_id"),
        (
            "name",
            "(select string_agg(u.password, ',') from public.users u)",
        ),
        ("name", "coalesce(password, organization_id)"),
    ] {
        std::fs::write(
            &config,
            format!(
                "[tenancy]\nregistry_table = \"users\"\nregistry_key = \"organization_id\"\n\
                 registry_label = {}\nregistry_schema = {}\n",
                toml_str(label),
                toml_str(schema)
            ),
        )
        .unwrap();
        let out = run_with_config(db, &config, &["tenants"]);
        let what = format!("label {label}, schema {schema}");
        assert_nothing_leaks(&out, &what);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains("tenancy.registry_"), "{what}");
    }
    // A registry column the role may read and that is no secret still works.
    std::fs::write(
        &config,
        bases()[1].replace(
            "\"schema_name\"",
            "\"coalesce(data::jsonb ->> 'schema', schema_name)\"",
        ),
    )
    .unwrap();
    let out = run_with_config(db, &config, &["tenants", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_eq!(
        shown.matches("\"schema_exists\": true").count(),
        2,
        "{shown}"
    );
}

#[test]
fn every_tenancy_key_with_each_hostile_value_shows_no_secret_and_runs_no_sql() {
    let db = fixture();
    for key in keys() {
        for base in bases() {
            for value in ["password", HOSTILE[5], HOSTILE[9]] {
                probe(db, base, &key, value);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_key_any_hostile_text(
        key in proptest::sample::select(keys()),
        base in proptest::sample::select(bases().to_vec()),
        value in prop_oneof![
            proptest::sample::select(HOSTILE.to_vec()).prop_map(str::to_string),
            "[a-z_\"'();,|: -]{0,12}".prop_map(|s| format!("{s}canary()")),
            "[a-z_\"'();,|: *]{0,12}".prop_map(|s| format!("{s}password")),
        ],
    ) {
        probe(fixture(), base, &key, &value);
    }
}

/// `tenants` run in `cwd` (holding a `tenantscope.toml`), the user's own
/// config directory being `home`.
fn tenants_in(cwd: &Path, home: &Path, extra: &[(&str, &str)]) -> Output {
    let db = fixture();
    let mut command = bare_command();
    command.current_dir(cwd).env("XDG_CONFIG_HOME", home).args([
        "--database-url",
        &db.url,
        "tenants",
    ]);
    for (key, value) in extra {
        command.env(key, value);
    }
    command.output().expect("run tenantscope")
}

#[test]
fn a_config_file_in_the_current_directory_is_read_only_when_trusted() {
    let repo = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // A checked-out repository's file pointing the users at another table.
    std::fs::write(
        repo.path().join("tenantscope.toml"),
        "[tenancy]\nusers_table = \"not_the_users\"\n",
    )
    .unwrap();
    let out = tenants_in(repo.path(), home.path(), &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "ignored, so tenants work: {err}");
    assert!(
        err.contains("ignoring ./tenantscope.toml: it sets [tenancy]")
            && err.contains("trusted_directories"),
        "{err}"
    );
    // Named explicitly, it is read (and its table is not there).
    for extra in [
        &[("TENANTSCOPE_CONFIG", "tenantscope.toml")][..],
        &[("TENANTSCOPE_CONFIG", "./tenantscope.toml")],
    ] {
        let out = tenants_in(repo.path(), home.path(), extra);
        assert!(stderr(&out).contains("not_the_users"), "{}", stderr(&out));
    }
    // Listed in the user's own file, it is read and said so.
    std::fs::create_dir_all(home.path().join("tenantscope")).unwrap();
    std::fs::write(
        home.path().join("tenantscope/config.toml"),
        format!(
            "trusted_directories = [{}]\n",
            toml_str(&repo.path().display().to_string())
        ),
    )
    .unwrap();
    let out = tenants_in(repo.path(), home.path(), &[]);
    let err = stderr(&out);
    assert!(
        err.contains("reading [tenancy] from ./tenantscope.toml (a trusted directory)"),
        "{err}"
    );
    assert!(err.contains("not_the_users"), "{err}");
    // A local file with only [ui] is harmless: read without a word.
    std::fs::write(
        repo.path().join("tenantscope.toml"),
        "[ui]\ndebounce_ms = 10\n",
    )
    .unwrap();
    let out = tenants_in(repo.path(), tempfile::tempdir().unwrap().path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn config_dev_null_is_an_empty_file_and_a_directory_is_said_so() {
    let out = bare_command()
        .args(["--config", "/dev/null", "config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bare_command()
        .args(["--config", "/tmp", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

const OSC_TITLE: &str = "\u{1b}]0;pwned\u{7}";

/// The reference data plus users whose id, name and tenant carry an OSC
/// title sequence (one of a tenant that does not exist).
async fn hostile_ids() -> TestDatabase {
    let db = TestDatabase::reference().await;
    db.run_sql(&format!(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
             ('evil{OSC_TITLE}', 'n{OSC_TITLE}', 'm1', 'pw', 'client1'),
             ('lost', 'lost', 'm2', 'pw', 'gone{OSC_TITLE}');
         CREATE SCHEMA \"bad{OSC_TITLE}\";",
    ))
    .await;
    db
}

#[tokio::test]
async fn the_log_file_gets_no_raw_control_character_from_data() {
    let db = hostile_ids().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("t.log");
    let evil = format!("evil{OSC_TITLE}");
    for args in [
        &["orders", evil.as_str()][..],
        &["orders", "lost"],
        &["basket", evil.as_str()],
        &["users"],
        &["tenants"],
        &["health"],
        &["prices"],
        // The dashboard's loads log the selected user's id.
        &["snapshot", "--user", evil.as_str()],
    ] {
        let mut command = bare_command();
        command
            .args(["--database-url", &db.url, "--log-file"])
            .arg(&log)
            .args(args)
            .env("RUST_LOG", "debug");
        command.output().unwrap();
    }
    // A database whose name carries the sequence: the log's "connected"
    // line names it.
    let name = format!("evil{OSC_TITLE}{}", db.name);
    db.run_sql(&format!("CREATE DATABASE \"{name}\"")).await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&db.options.clone().database(&name))
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE public.users (id text, name text, mail text,
                                        creation_timestamp timestamptz, organization_id text)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.ok();
    }
    let keywords = format!(
        "host={} port={} user=tenantscope dbname='{name}'",
        db.socket_dir().display(),
        db.options.get_port()
    );
    let out = bare_command()
        .args(["--database-url", &keywords, "--log-file"])
        .arg(&log)
        .arg("users")
        .output()
        .unwrap();
    db.run_sql(&format!("DROP DATABASE \"{name}\"")).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("connected"), "{logged}");
    assert!(
        logged.contains("evil^[]0;pwned"),
        "{logged}\n{}",
        stderr(&out)
    );
    for line in logged.lines() {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "a raw control character in the log: {line:?}"
        );
    }
}

/// The OSC 52 payloads the loop wrote, decoded.
fn clipboard_payloads(written: &common::Written) -> Vec<String> {
    use base64::Engine;
    written
        .text()
        .split("\u{1b}]52;c;")
        .skip(1)
        .map(|part| {
            let encoded = part.strip_suffix("\u{1b}\\").unwrap_or(part);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_and_shift_y_never_put_esc_or_a_line_break_on_the_clipboard() {
    use crossterm::event::KeyCode;
    let db = TestDatabase::reference().await;
    // First by name: selected when the list opens.
    db.run_sql(&format!(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
             (E'x{OSC_TITLE}\\nrm -rf ~\\n', 'aaa{OSC_TITLE}', E'm\\tx\\n', 'pw', 'client1');"
    ))
    .await;
    let (mut app, written) = common::start_app_copying(common::connect(&db).await, (120, 30)).await;
    app.frame_where("the list", |f| f.contains("aaa")).await;
    app.press(KeyCode::Char('y'));
    app.frame_where("y done", |f| f.contains("to the clipboard"))
        .await;
    app.press(KeyCode::Char('Y'));
    app.frame_where("Y done", |f| f.contains("copied the row"))
        .await;
    let payloads = clipboard_payloads(&written);
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    for text in &payloads {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\t'),
            "a raw control character on the clipboard: {text:?}"
        );
    }
    assert_eq!(payloads[0], "x^[]0;pwned<U+0007>\\nrm -rf ~\\n");
    let cells: Vec<&str> = payloads[1].split('\t').collect();
    assert_eq!(cells.len(), 5, "{cells:?}");
    assert_eq!(cells[2], "m\\tx\\n");
    app.quit().await;
}

async fn django_tenants(change: &str) -> TestDatabase {
    let db = TestDatabase::empty().await;
    let path = format!(
        "{}/sql/fixtures/django_tenants.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    db.run_sql(&std::fs::read_to_string(path).unwrap()).await;
    db.run_sql(change).await;
    db
}

fn detect(db: &TestDatabase) -> Output {
    bare_command()
        .args(["--database-url", &db.url, "detect"])
        .output()
        .unwrap()
}

#[tokio::test]
async fn detect_explains_an_empty_registry_one_naming_missing_schemas_and_no_tenants() {
    // An empty registry: the layout is still django-tenants, with no tenant.
    let db =
        django_tenants("DELETE FROM public.customers_domain; DELETE FROM public.customers_client;")
            .await;
    let out = detect(&db);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("not found"), "{err}");
    assert!(
        err.contains("public.customers_client looks like the django-tenants registry but lists no tenant (it is empty)"),
        "{err}"
    );
    assert!(err.contains("detect: no tenant schema\n"), "{err}");
    let model: toml::Table = stdout(&out).parse().unwrap();
    assert_eq!(
        model["tenancy"]["registry_table"].as_str(),
        Some("customers_client")
    );
    // Every schema it lists is missing: said, and named.
    let db = django_tenants(
        "UPDATE public.customers_client SET schema_name = 'gone_' || id WHERE schema_name <> 'public';",
    )
    .await;
    let out = detect(&db);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("but none of the 3 schemas it lists exists"),
        "{err}"
    );
    assert!(
        err.contains("registered but no schema: \"gone_2\", \"gone_3\", \"gone_4\""),
        "{err}"
    );
    assert!(err.contains("schema nobody registered"), "{err}");
    // No registry, no tenant schema, no users table: nothing to show (3).
    let db = TestDatabase::empty().await;
    let out = detect(&db);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("nothing to show"), "{err}");
    assert!(!err.contains("users table"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[tokio::test]
async fn a_null_price_or_quantity_gives_a_problem_with_its_reason() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "ALTER TABLE client1.items ALTER COLUMN price DROP NOT NULL;
         ALTER TABLE client1.orders ALTER COLUMN quantity DROP NOT NULL;
         UPDATE client1.items SET price = NULL WHERE id = '1';
         UPDATE client1.orders SET quantity = NULL WHERE item_id = '2';
         INSERT INTO client1.orders (id, user_id, item_id, quantity)
         VALUES ('t2', '1', '1', 1), ('t3', '1', '1', 2);",
    )
    .await;
    let out = bare_command()
        .args(["--database-url", &db.url, "orders", "1", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let problem = |item: &str| {
        json["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["item"] == item)
            .map(|l| l["problem"].clone())
            .unwrap()
    };
    assert_eq!(problem("Tesla"), "price is NULL");
    assert_eq!(problem("Huawei"), "quantity is NULL");
    let out = bare_command()
        .args(["--database-url", &db.url, "orders", "1"])
        .output()
        .unwrap();
    let table = stdout(&out);
    // Each note once, with how many lines have it (three Tesla lines gave
    // three notes alike).
    let notes: Vec<&str> = table.lines().filter(|l| l.contains(" is NULL")).collect();
    assert_eq!(
        notes,
        ["Tesla: price is NULL (3 lines)", "Huawei: quantity is NULL"],
        "{table}"
    );
}

#[tokio::test]
async fn prices_tell_an_unusable_price_from_an_item_not_sold() {
    let db = TestDatabase::demo().await;
    // client3 sells no Huawei; client2's prices are NaN and 'N/A';
    // client4 sells Huawei at a NULL price.
    db.run_sql(
        "ALTER TABLE client2.items DROP CONSTRAINT IF EXISTS items_price_check;
         ALTER TABLE client2.items ALTER COLUMN price TYPE text;
         UPDATE client2.items SET price = 'NaN' WHERE description = 'Tesla';
         UPDATE client2.items SET price = 'N/A' WHERE description = 'Huawei';
         ALTER TABLE client4.items ALTER COLUMN price DROP NOT NULL;
         UPDATE client4.items SET price = NULL WHERE description = 'Huawei';",
    )
    .await;
    let run = |format: &str| {
        let out = bare_command()
            .args(["--database-url", &db.url, "prices", "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let item = |name: &str| {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["description"] == name)
            .unwrap()
            .clone()
    };
    let huawei = item("Huawei");
    assert!(huawei["prices"]["client2"].is_null());
    assert!(huawei["prices"]["client3"].is_null());
    assert_eq!(huawei["problems"]["client2"], "not a number: \"N/A\"");
    assert!(
        huawei["problems"].get("client3").is_none(),
        "not sold: no problem"
    );
    assert!(huawei["prices"]["client4"].is_null());
    assert_eq!(huawei["problems"]["client4"], "NULL (no price)");
    assert_eq!(item("Tesla")["problems"]["client2"], "not a number (NaN)");
    let csv = run("csv");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row = csv.lines().find(|l| l.starts_with("Huawei,")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[column("client2")], "not a number", "{csv}");
    assert_eq!(cells[column("client3")], "", "{csv}");
    assert_eq!(cells[column("client4")], "NULL", "{csv}");
    let row = csv.lines().find(|l| l.starts_with("Tesla,")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[column("client2")], "NaN", "{csv}");
}

#[test]
fn messages_never_show_internals_and_a_number_is_no_tenant_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    for (text, needle) in [
        (
            "[database]\npooler = \"bogus\"\n",
            "database.pooler must be none or transaction, not \"bogus\"",
        ),
        (
            "[database]\npooler = 5\n",
            "database.pooler must be none or transaction, not 5",
        ),
        (
            "[tenancy]\nusers = \"x\"\n",
            "tenancy.users \"x\" is not a valid value (one of: shared, link or per_tenant)",
        ),
        (
            "[tenancy]\ncompare_with = 5\n",
            "tenancy.compare_with must be a string (a quoted name), not 5",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = bare_command()
            .arg("--config")
            .arg(&config)
            .arg("users")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(needle), "{text}: {err}");
        assert!(!err.contains("enum ") && !err.contains("variant"), "{err}");
    }
    // A port where something else than PostgreSQL answers (here: HTTP).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // The whole first message (an SSLRequest, or the startup
            // message without TLS), then the reply, then the client's
            // end: nothing unread, so no reset overtakes the reply.
            let mut length = [0u8; 4];
            stream.read_exact(&mut length).ok();
            let mut rest = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
            stream.read_exact(&mut rest).ok();
            stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").ok();
            stream.shutdown(std::net::Shutdown::Write).ok();
            std::io::copy(&mut stream, &mut std::io::sink()).ok();
        }
    });
    // Without TLS the reply is read as a message of 1,414,811,696 bytes
    // ("TTP/"): that was shown raw ("expected to read … bytes at EOF").
    for sslmode in ["prefer", "disable"] {
        let url = format!("postgres://u@127.0.0.1:{port}/db?sslmode={sslmode}");
        let out = bare_command()
            .args(["--database-url", &url, "users"])
            .env("TENANTSCOPE_DATABASE__CONNECT_TIMEOUT_MS", "3000")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{sslmode}: {err}");
        assert!(
            !err.contains("sqlx") && !err.contains("bytes"),
            "{sslmode}: {err}"
        );
        assert!(
            err.contains("does not answer as PostgreSQL does"),
            "{sslmode}: {err}"
        );
    }
}

#[tokio::test]
async fn compare_with_the_users_own_tenant_is_an_error_or_said() {
    let db = TestDatabase::demo().await;
    // rich_dude (1) is of client1.
    let out = bare_command()
        .args([
            "--database-url",
            &db.url,
            "orders",
            "1",
            "--compare",
            "client1",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--compare \"client1\" is the user's own tenant"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // From the configuration (set for every user): replaced, and said.
    let out = bare_command()
        .args(["--database-url", &db.url, "orders", "1", "--format", "json"])
        .env("TENANTSCOPE_TENANCY__COMPARE_WITH", "client1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "tenancy.compare_with \"client1\" is the user's own tenant; comparing with \"client2\""
        ),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["compare_tenant"], "client2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_12_kb_paste_into_the_filter_is_capped_and_said() {
    use crossterm::event::KeyCode;
    let db = TestDatabase::reference().await;
    let mut app = common::start_app(
        common::connect(&db).await,
        std::time::Duration::ZERO,
        (120, 30),
    )
    .await;
    app.frame_where("the list", |f| f.contains("rich_dude"))
        .await;
    app.press(KeyCode::Char('/'));
    // 12.5 KB, as a terminal without bracketed paste delivers it: keys.
    let paste: Vec<KeyCode> = "rich_dude "
        .chars()
        .cycle()
        .take(12_800)
        .map(KeyCode::Char)
        .collect();
    common::keys(&app.keys, &paste);
    // The cap is said, and the capped filter's own rows come (none match).
    app.frame_where("the cap said over the filtered list", |f| {
        f.contains("a filter is at most 200 characters") && f.contains("0 matches")
    })
    .await;
    let state = app.quit().await;
    assert_eq!(state.dashboard.filter.text.chars().count(), 200);
}

#[tokio::test]
async fn escaped_output_tells_a_literal_backslash_n_from_a_line_break() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
             ('8', E'lit\\\\nx', 'l@x', 'pw', 'client1'),
             ('9', E'real\\nx', 'r@x', 'pw', 'client1');",
    )
    .await;
    let out = bare_command()
        .args(["--database-url", &db.url, "users"])
        .output()
        .unwrap();
    let table = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = |id: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap()
            .to_string()
    };
    assert!(line("8").contains("lit\\\\nx"), "{table}");
    assert!(line("9").contains("real\\nx"), "{table}");
}

/// The whole database as pg_dump writes it (schema and rows).
fn dump(db: &TestDatabase) -> String {
    let bin = tenantscope::embedded::find_binaries().unwrap();
    let out = std::process::Command::new(bin.join("pg_dump"))
        .arg("-h")
        .arg(db.socket_dir())
        .args(["-p", &tenantscope::embedded::PORT.to_string()])
        .args(["-U", tenantscope::embedded::SUPERUSER, "-d", &db.name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // pg_dump 15.14+ guards its output with a random \restrict key.
    stdout(&out)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every command tenantscope has, run on the demo and on each framework's
/// fixture, leaves the database as pg_dump saw it before (it only reads).
#[tokio::test]
async fn every_command_leaves_every_fixture_unchanged() {
    let mut databases = vec![("demo", TestDatabase::demo().await)];
    for name in [
        "django_tenants",
        "django_tenant_users",
        "ros_apartment",
        "stancl_tenancy",
    ] {
        let db = TestDatabase::empty().await;
        let path = format!("{}/sql/fixtures/{name}.sql", env!("CARGO_MANIFEST_DIR"));
        db.run_sql(&std::fs::read_to_string(path).unwrap()).await;
        databases.push((name, db));
    }
    for (name, db) in &databases {
        let before = dump(db);
        let run = |args: &[&str]| {
            let mut all = vec!["--database-url", db.url.as_str()];
            all.extend_from_slice(args);
            common::tenantscope(&all)
        };
        let users: serde_json::Value =
            serde_json::from_str(&stdout(&run(&["users", "--format", "json"]))).unwrap();
        let user = &users[0];
        let id = user["id"].as_str().unwrap();
        let tenant = user["schema"].as_str().unwrap_or_default();
        let mut ran = 0;
        for args in [
            &["users", "--filter", "a"][..],
            &["tenants"],
            &["orders", id, "--tenant", tenant, "--format", "json"],
            &["basket", id, "--tenant", tenant],
            &["prices", "--format", "csv"],
            &["health", "--leaks", tenant],
            &["detect"],
            &["snapshot", "--color", "never"],
            &["snapshot", "--view", "prices", "--color", "never"],
            &["snapshot", "--view", "health", "--color", "never"],
        ] {
            ran += usize::from(run(args).status.code().is_some());
        }
        assert_eq!(ran, 10, "{name}: every command ended");
        let after = dump(db);
        let changed: Vec<(&str, &str)> = before
            .lines()
            .zip(after.lines())
            .filter(|(b, a)| b != a)
            .take(5)
            .collect();
        assert!(
            after == before,
            "{name}: the database changed: {changed:?} ({} lines before, {} after)",
            before.lines().count(),
            after.lines().count()
        );
    }
}

/// With stderr closed (`tenantscope … 2>&1 | head`), an error still exits
/// with its own code: writing the message panicked, and the code a script
/// reads was 101.
#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[ui]\nmouse = \"yes\"\n").unwrap();
    let config = config.to_str().unwrap();
    for (args, code) in [
        (vec!["users", "--limit", "many"], 2),
        (vec!["--config", config, "users"], 2),
        // The demo has drift: `--fail-on-drift` exits 3.
        (vec!["--demo", "health", "--fail-on-drift"], 3),
        // `detect` explains itself on stderr.
        (vec!["--demo", "detect"], 0),
    ] {
        let mut child = bare_command()
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

/// Tenant data a spreadsheet would run as a formula (`=1+2`, `@SUM(A1)`,
/// `-2+3`) is written to CSV behind a `'`, as OWASP advises: a support
/// engineer opens the export, and the item names are the tenant's to
/// choose. Numbers keep their sign (`-` of a difference); JSON keeps every
/// text as it is.
#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_are_quoted() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "INSERT INTO client1.items (id, description, price)
         VALUES ('f1', '=1+2', 5), ('f2', '-2+3', 7), ('f3', '@SUM(A1)', 8);
         INSERT INTO client1.orders (id, user_id, item_id, quantity)
         VALUES ('f1', '1', 'f1', 1), ('f2', '1', 'f2', 1), ('f3', '1', 'f3', 1);
         UPDATE public.users SET name = '+cmd|calc' WHERE id = '2';",
    )
    .await;
    let run = |args: &[&str]| {
        let out = bare_command()
            .args(["--database-url", &db.url])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let csv = run(&["orders", "1", "--format", "csv"]);
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let items: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    for quoted in ["'=1+2", "'-2+3", "'@SUM(A1)"] {
        assert!(items.contains(&quoted), "{quoted}: {csv}");
    }
    let tesla = rows.iter().find(|r| &r[1] == "Tesla").unwrap();
    assert_eq!(&tesla[7], "-40000.00", "a number keeps its sign: {csv}");
    let users = run(&["users", "--format", "csv"]);
    assert!(users.contains("\n2,'+cmd|calc,"), "{users}");
    let json = run(&["orders", "1", "--format", "json"]);
    assert!(json.contains("\"item\": \"=1+2\""), "{json}");
}
