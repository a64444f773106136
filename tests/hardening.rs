//! Hostile data, least privilege, read-only access and bad input, against a
//! real PostgreSQL server.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database, DbError, SchemaState, UserQuery};
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{connect, dec, tenantscope};
use tenantscope::money::Value as Money;

#[tokio::test]
async fn a_write_attempted_through_the_query_path_fails() {
    let test_db = TestDatabase::reference().await;
    // A tenant whose items "table" is a view that writes when read.
    test_db
        .run_sql(
            "CREATE TABLE public.audit (note text);
             CREATE FUNCTION public.sneaky_price() RETURNS numeric LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO public.audit VALUES ('written'); RETURN 1; END $$;
             CREATE SCHEMA sneaky;
             CREATE VIEW sneaky.items AS SELECT '1'::text AS id, 'Tesla'::text AS description,
                    public.sneaky_price() AS price;
             CREATE TABLE sneaky.orders (id int, user_id text, item_id text, quantity int);
             INSERT INTO sneaky.orders VALUES (1, '2', '1', 1);
             UPDATE public.users SET organization_id = 'sneaky' WHERE id = '2';",
        )
        .await;
    let db = connect(&test_db).await;
    let user = db.user("2").await.unwrap();
    let error = db.priced_orders(&user, Some("client1")).await.unwrap_err();
    assert!(
        error.to_string().contains("read-only transaction"),
        "{error}"
    );
    // And as a comparison tenant: the own prices stand, the comparison
    // says why it is missing.
    let rich = db.user("1").await.unwrap();
    let report = db.priced_orders(&rich, Some("sneaky")).await.unwrap();
    let why = report.compare_error.clone().unwrap_or_default();
    assert!(why.contains("read-only transaction"), "{report:?}");
    assert_eq!(report.totals.total.plain().as_deref(), Some("60000.00"));
    assert!(report
        .lines
        .iter()
        .all(|l| l.compare_unit_price.plain().is_none()));
    assert_eq!(
        test_db
            .query_text("SELECT count(*)::text FROM public.audit")
            .await,
        "0"
    );
}

#[tokio::test]
async fn the_support_role_runs_the_whole_app_path_but_cannot_read_passwords() {
    let test_db = TestDatabase::demo().await;
    test_db
        .run_sql(include_str!("../sql/support_role.sql"))
        .await;
    // Idempotent: a second run (after a new tenant appears) works too.
    test_db
        .run_sql(
            "CREATE SCHEMA client5;
             CREATE TABLE client5.items (id text, description text, price numeric(12,2));
             CREATE TABLE client5.orders (id text, user_id text, item_id text, quantity int);
             INSERT INTO client5.items VALUES ('1', 'Tesla', 4300.00);",
        )
        .await;
    test_db
        .run_sql(include_str!("../sql/support_role.sql"))
        .await;

    let support = test_db.options.clone().username("tenantscope_support");
    let db = Database::connect(
        &ConnectionSource::demo(support.clone()),
        &Settings::default(),
    )
    .await
    .expect("the support role connects");
    let users = db.users(&UserQuery::default()).await.unwrap();
    assert_eq!(users.len(), 4);
    // The dashboard's filtered first page walks the (name, id) index the
    // demo has, in a subquery that named every column (`u.*`, the password
    // too): "permission denied for table users" for this role.
    let page = db
        .users_page(Some("dude"), &tenantscope::db::Page::First, 100, None)
        .await
        .expect("the filter's first page as the support role");
    assert_eq!(page.len(), 4);
    let catalog = db.tenants().await.unwrap();
    assert_eq!(
        catalog.names(),
        ["client1", "client2", "client3", "client4", "client5"]
    );
    let summaries = db.tenant_summaries(&catalog).await.unwrap();
    assert!(summaries
        .iter()
        .any(|t| t.tenant.as_deref() == Some("client9") && t.state == SchemaState::NoSchema));
    let rich = db.user("1").await.unwrap();
    let report = db.priced_orders(&rich, Some("client5")).await.unwrap();
    assert_eq!(report.lines[0].compare_unit_price, dec("4300.00"));
    assert_eq!(report.totals.total, dec("60000.00"));
    // Health, leaks and the price matrix need nothing more.
    let health = db.health(None).await.unwrap();
    assert_eq!(health.tenants.len(), 5);
    assert_eq!(health.unused_tenants, ["client4", "client5"]);
    assert_eq!(db.leaks("client1").await.unwrap(), []);
    let matrix = db.price_matrix(catalog.names()).await.unwrap();
    assert_eq!(matrix.rows.len(), 2);
    let buyers = db
        .users_who_ordered(
            "client1",
            &tenantscope::db::ItemRule::Description,
            "Tesla",
            5,
        )
        .await
        .unwrap();
    assert_eq!(buyers.len(), 1);

    let mut conn = PgConnection::connect_with(&support).await.unwrap();
    let denied = sqlx::query_scalar::<_, String>("SELECT password FROM public.users LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    let star = sqlx::query("SELECT * FROM public.users")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert!(star.to_string().contains("permission denied"), "{star}");
    let write = sqlx::query("UPDATE client1.items SET price = 0")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(
        write.to_string().contains("read-only") || write.to_string().contains("permission denied"),
        "{write}"
    );
    conn.close().await.ok();

    // The CLI as that role, too.
    let url = test_db.url.replace("tenantscope@", "tenantscope_support@");
    for args in [
        &["orders", "1", "--format", "json"][..],
        &["health", "--leaks", "client1", "--format", "json"],
        &["prices", "--format", "csv"],
    ] {
        let mut full = vec!["--database-url", url.as_str()];
        full.extend(args);
        let out = tenantscope(&full);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn schemas_missing_a_tenant_table_are_explained() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(
            "CREATE SCHEMA half; CREATE TABLE half.items (id text, description text, price numeric);
             CREATE SCHEMA bare;
             INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
                 ('h', 'half_dude', 'h@x', 'pw', 'half'), ('b', 'bare_dude', 'b@x', 'pw', 'bare');",
        )
        .await;
    let db = connect(&test_db).await;
    let catalog = db.tenants().await.unwrap();
    assert!(!catalog.contains("half") && !catalog.contains("bare"));
    let half = db.user("h").await.unwrap();
    assert_eq!(
        db.priced_orders(&half, Some("client1")).await,
        Err(DbError::TenantTableMissing {
            tenant: "half".into(),
            table: "orders".into()
        })
    );
    let bare = db.user("b").await.unwrap();
    assert_eq!(
        db.priced_orders(&bare, Some("client1")).await,
        Err(DbError::TenantTableMissing {
            tenant: "bare".into(),
            table: "items".into()
        })
    );
}

#[tokio::test]
async fn missing_items_nulls_and_numeric_edges_are_shown_sensibly() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(
            "CREATE SCHEMA edge;
             CREATE TABLE edge.items (id text, description text, price numeric(12,2));
             CREATE TABLE edge.orders (id int, user_id text, item_id text, quantity int);
             INSERT INTO edge.items VALUES ('1', 'Tesla', 9999999999.99), ('2', 'Huawei', NULL),
                                           ('3', 'Freebie', 0), ('4', 'Refund', -0.01);
             INSERT INTO edge.orders VALUES (1, 'e', '1', 2147483647), (2, 'e', '2', 3),
                                            (3, 'e', 'gone', 4), (4, 'e', '3', NULL), (5, 'e', '4', 1);
             INSERT INTO public.users (id, name, mail, password, organization_id)
                 VALUES ('e', 'edge_dude', 'e@x', 'pw', 'edge');",
        )
        .await;
    let db = connect(&test_db).await;
    let user = db.user("e").await.unwrap();
    let report = db.priced_orders(&user, Some("client1")).await.unwrap();
    let lines = &report.lines;
    assert_eq!(lines.len(), 5, "no order is dropped");
    assert_eq!(
        lines[0].total.plain().as_deref(),
        Some("21474836469978525163.53"),
        "max price × max int4 is exact"
    );
    assert_eq!(
        lines[0].compare_total.plain().as_deref(),
        Some("10737418235000.00")
    );
    assert_eq!(
        (&lines[1].unit_price, &lines[1].total),
        (&Money::Missing, &Money::Missing),
        "NULL price stays absent"
    );
    assert_eq!(lines[1].compare_unit_price, dec("2000.00"));
    assert_eq!(
        lines[2].item, None,
        "an order for an item that no longer exists is kept"
    );
    assert_eq!(lines[2].item_id.as_deref(), Some("gone"));
    assert_eq!(
        (&lines[3].quantity, &lines[3].total),
        (&Money::Missing, &Money::Missing),
        "NULL quantity"
    );
    assert_eq!(lines[4].total.plain().as_deref(), Some("-0.01"));
    // Three lines have no total (NULL price, missing item, NULL quantity):
    // the own total is unknown rather than the sum of the other two.
    assert_eq!(report.totals.total, Money::Missing);
    assert_eq!(
        report.total_gap().as_deref(),
        Some("3 lines without a total")
    );

    let out = tenantscope(&["--database-url", &test_db.url, "orders", "e"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("21,474,836,469,978,525,163.53"), "{table}");
    assert!(table.contains("(missing item gone)"), "{table}");
    assert!(
        table.contains("Total unknown: 3 lines without a total"),
        "{table}"
    );
}

#[tokio::test]
async fn control_characters_are_escaped_in_tables_and_kept_exact_in_json() {
    let test_db = TestDatabase::reference().await;
    let hostile_name = "evil\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}dlrow\u{200b}";
    test_db
        .run_sql(&format!(
            "INSERT INTO public.users (id, name, mail, password, organization_id)
                 VALUES ('x', {}, 'x@x', 'pw', 'client1');
             INSERT INTO client1.items VALUES ('9', now(), {}, 1.00);
             INSERT INTO client1.orders VALUES ('9', now(), 'x', '9', 1);",
            literal(hostile_name),
            literal("cam\u{1b}[31mera\r\nline")
        ))
        .await;
    for args in [vec!["users"], vec!["orders", "x"]] {
        let mut full = vec!["--database-url", test_db.url.as_str()];
        full.extend(args);
        let out = tenantscope(&full);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let stray: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(
            stray.is_empty(),
            "raw control characters {stray:?} in:\n{text}"
        );
        assert!(!text.contains('\u{202e}') && !text.contains('\u{200b}'));
    }
    let out = tenantscope(&["--database-url", &test_db.url, "users", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&hostile_name), "JSON keeps the exact value");
    assert!(
        !String::from_utf8(out.stdout).unwrap().contains('\u{1b}'),
        "escaped as JSON does"
    );
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[test]
fn unreachable_database_fails_fast_with_one_line() {
    // A server that accepts TCP connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _holder = std::thread::spawn(move || {
        let _held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(30));
    });
    let url = format!("postgres://support:hunter2@127.0.0.1:{port}/app");
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["--database-url", &url, "tenants"])
        .env("XDG_CACHE_HOME", "/dev/null")
        .env("TENANTSCOPE_DATABASE__CONNECT_TIMEOUT_MS", "500")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot connect to support@127.0.0.1:{port}/app")),
        "{err}"
    );
    assert!(err.contains("no answer within 500 ms"), "{err}");
    assert!(!err.contains("hunter2"));
    assert!(out.stdout.is_empty());
    // The configured timeout ended the wait (the message names it), not
    // the listener going away after 30 s: no wall-clock bound needed.
}

#[tokio::test]
async fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let test_db = TestDatabase::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let unknown_key = write("unknown.toml", "[database]\nulr = \"x\"\n");
    let wrong_type = write("type.toml", "[ui]\ndebounce_ms = \"soon\"\n");
    let bad_toml = write("bad.toml", "[database\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--config", &unknown_key, "users"], "ulr"),
        (vec!["--config", &wrong_type, "users"], "debounce_ms"),
        (vec!["--config", &bad_toml, "users"], "bad.toml"),
        (
            vec!["--config", "/nonexistent/tenantscope.toml", "users"],
            "not found",
        ),
        (
            vec![
                "--database-url",
                "postgres://u:pw@host:99999999/db",
                "users",
            ],
            "invalid database URL",
        ),
        (
            vec!["--database-url", "mysql://u@host/db", "users"],
            "invalid database URL",
        ),
        (
            vec!["--database-url", &test_db.url, "--compare", "nope"],
            "unknown tenant: \"nope\"",
        ),
        (
            vec!["--database-url", &test_db.url, "--compare", "Client1"],
            "unknown tenant: \"Client1\"",
        ),
        (
            vec![
                "--database-url",
                &test_db.url,
                "orders",
                "1",
                "--compare",
                "nope",
            ],
            "unknown tenant",
        ),
        (
            vec!["--database-url", &test_db.url, "orders", "nobody"],
            "no user with id \"nobody\"",
        ),
    ];
    for (args, needle) in cases {
        let out = tenantscope(&args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("tenantscope: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        assert!(!err.contains('\u{1b}'), "{args:?}: no terminal escapes");
    }
}

#[tokio::test]
async fn the_log_file_holds_no_password() {
    let test_db = TestDatabase::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tenantscope.log");
    // Trust authentication ignores the password, so this URL connects.
    let url = test_db
        .url
        .replace("tenantscope@", "tenantscope:s3cret-in-url@");
    for args in [
        vec!["orders", "1"],
        vec!["users", "--format", "json"],
        vec!["orders", "4"],
        vec!["orders", "99"],
    ] {
        let mut full = vec![
            "--database-url",
            url.as_str(),
            "--log-file",
            log.to_str().unwrap(),
        ];
        full.extend(args);
        tenantscope(&full);
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("connected"), "the log is written: {logged}");
    // Why a run ended is logged too, not only said on stderr.
    assert!(logged.contains("no user with id \"99\""), "{logged}");
    assert!(!logged.contains("s3cret-in-url"), "{logged}");
    assert!(!logged.contains("secret-pw"), "{logged}");
}

/// Runs the dashboard under a pseudo-terminal (util-linux `script`) and
/// returns everything it wrote to the terminal, and its exit code.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> (String, Option<i32>) {
    // A pseudo-terminal starts at 0×0: give it a size first.
    let command = format!(
        "stty cols 120 rows 30; {} {args}",
        env!("CARGO_BIN_EXE_tenantscope")
    );
    let mut script = Command::new("script");
    script.env("XDG_CACHE_HOME", "/dev/null");
    script
        .args(["-qefc", &command, "/dev/null"])
        .env("XDG_CONFIG_HOME", "/nonexistent");
    for (key, value) in env {
        script.env(key, value);
    }
    let out = script.output().expect("run script(1)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn a_panic_restores_the_terminal_prints_the_report_and_stops_the_demo_server() {
    let tmp = tempfile::tempdir().unwrap();
    let (screen, code) = on_a_terminal(
        "--demo",
        &[
            ("TS_TEST_PANIC", "1"),
            ("TMPDIR", tmp.path().to_str().unwrap()),
            ("RUST_BACKTRACE", "0"),
        ],
    );
    assert_ne!(code, Some(0));
    let entered = screen
        .find("\u{1b}[?1049h")
        .expect("the dashboard took the alternate screen");
    let left = screen
        .rfind("\u{1b}[?1049l")
        .expect("the alternate screen was left");
    let report = screen
        .find("test-triggered panic")
        .expect("the panic report is printed");
    assert!(
        entered < left && left < report,
        "restored before the report:\n{screen:?}"
    );
    assert!(screen[left..].contains("\u{1b}[?25h"), "cursor shown again");
    assert!(
        screen.rfind("\u{1b}[?1000l").is_some_and(|at| at > entered),
        "mouse released"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "demo server directory removed"
    );
}

#[test]
fn quitting_restores_the_terminal_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    // `script` feeds our stdin to the dashboard: `q` quits it.
    let mut child = Command::new("script")
        .env("XDG_CACHE_HOME", "/dev/null")
        .args([
            "-qefc",
            &format!(
                "stty cols 120 rows 30; {} --demo",
                env!("CARGO_BIN_EXE_tenantscope")
            ),
            "/dev/null",
        ])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("TMPDIR", tmp.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first frame with users, then quit. A reader thread and
    // a deadline: a dashboard that hangs fails the test, not the suite.
    use std::io::{Read, Write};
    let mut stdout = child.stdout.take().unwrap();
    let (chunks_tx, chunks) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            if chunks_tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut screen = Vec::new();
    // Reads until `done`, or to the end of the output when `done` is None.
    let mut read_until = |screen: &mut Vec<u8>, done: Option<&dyn Fn(&str) -> bool>| loop {
        if done.is_some_and(|done| done(&String::from_utf8_lossy(screen))) {
            return;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match chunks.recv_timeout(wait) {
            Ok(chunk) => screen.extend_from_slice(&chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) if done.is_none() => return,
            Err(e) => {
                let _ = child.kill();
                panic!("no progress ({e}): {:?}", String::from_utf8_lossy(screen));
            }
        }
    };
    read_until(&mut screen, Some(&|s: &str| s.contains("mid_dude")));
    stdin.write_all(b"q").unwrap();
    // The output ends when the dashboard has exited.
    read_until(&mut screen, None);
    let status = child.wait().unwrap();
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(status.code(), Some(0), "{screen:?}");
    let left = screen
        .rfind("\u{1b}[?1049l")
        .expect("alternate screen left");
    assert!(screen[left..].contains("\u{1b}[?25h"));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "demo server directory removed"
    );
}

/// A backend stopped (SIGSTOP) until dropped.
struct Stopped(nix::unistd::Pid);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGCONT);
    }
}

/// A command whose server stops answering once connected (its backend
/// SIGSTOPped mid-query, so even its statement_timeout cannot fire) ends
/// on the client-side deadline, statement_timeout_ms plus a margin: one
/// line, exit 1.
#[tokio::test]
async fn a_command_on_a_server_frozen_mid_query_ends_on_the_client_side_deadline() {
    let test_db = TestDatabase::reference().await;
    // A tenant whose items read sleeps: the query is caught in the act.
    test_db
        .run_sql(
            "CREATE SCHEMA sleepy;
             CREATE VIEW sleepy.items AS SELECT i.id::text AS id, i.description, i.price
               FROM client1.items i, pg_sleep(600);
             CREATE TABLE sleepy.orders AS SELECT * FROM client1.orders;
             UPDATE sleepy.orders SET user_id = '2';
             UPDATE public.users SET organization_id = 'sleepy' WHERE id = '2';",
        )
        .await;
    let statement_timeout_ms: u64 = 3_000;
    let started = Instant::now();
    let child = common::bare_command()
        .args(["orders", "2", "--compare", "client1"])
        .env("DATABASE_URL", &test_db.url)
        .env(
            "TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS",
            statement_timeout_ms.to_string(),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its backend, once in the sleep.
    let mut admin = PgConnection::connect_with(&test_db.options).await.unwrap();
    let backend = loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                AND wait_event = 'PgSleep'",
        )
        .fetch_optional(&mut admin)
        .await
        .unwrap();
        if let Some(pid) = pid {
            break nix::unistd::Pid::from_raw(pid);
        }
        assert!(
            started.elapsed() < Duration::from_millis(statement_timeout_ms),
            "the query never reached the sleep"
        );
        tokio::task::yield_now().await;
    };
    nix::sys::signal::kill(backend, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let stopped = Stopped(backend);
    let output = tokio::time::timeout(
        Duration::from_millis(statement_timeout_ms * 10),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the command waited on the frozen server")
    .unwrap()
    .unwrap();
    let took = started.elapsed();
    drop(stopped);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("tenantscope: no answer from the server within "),
        "{stderr}"
    );
    // It waited for the server, and not much longer than the deadline.
    assert!(
        took >= Duration::from_millis(statement_timeout_ms)
            && took < Duration::from_millis(statement_timeout_ms * 3),
        "{took:?}"
    );
}

/// Tenants whose tables another session holds locked (a fleet migration):
/// `prices` and `basket` read the others, name each locked tenant as
/// locked (with the lock timeout), and wait one lock timeout for all of
/// them together (after the batch's own), far below one statement timeout
/// (they took a whole statement timeout per locked tenant, and one more for
/// the batch).
#[tokio::test]
async fn several_locked_tenants_cost_about_one_lock_timeout_and_are_named_locked() {
    let test_db = TestDatabase::reference().await;
    let copies = ["t4", "t5", "t6", "t7", "t8"];
    for copy in copies {
        test_db
            .run_sql(&format!(
                "CREATE SCHEMA {copy};
                 CREATE TABLE {copy}.items AS SELECT * FROM client2.items;
                 CREATE TABLE {copy}.orders AS SELECT * FROM client2.orders;"
            ))
            .await;
    }
    let locked = ["client2", "t5", "t7"];
    let mut lockers = Vec::new();
    for tenant in locked {
        lockers.push(test_db.lock_table(&format!("{tenant}.items")).await);
    }
    let statement_timeout_ms: u64 = 10_000;
    let lock_timeout_ms = tenantscope::db::lock_timeout_ms(statement_timeout_ms);
    for command in [
        &["prices", "--format", "json"][..],
        &["basket", "1", "--format", "json"],
    ] {
        let started = Instant::now();
        let out = common::bare_command()
            .args(command)
            .env("DATABASE_URL", &test_db.url)
            .env(
                "TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS",
                statement_timeout_ms.to_string(),
            )
            .output()
            .unwrap();
        let took = started.elapsed();
        let stdout = common::stdout(&out);
        assert!(
            out.status.success(),
            "{command:?}: {}",
            common::stderr(&out)
        );
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let errors: Vec<(String, String)> = match command[0] {
            "prices" => json["failed"].as_array().unwrap().iter(),
            _ => json["tenants"].as_array().unwrap().iter(),
        }
        .filter(|t| t["error"].is_string())
        .map(|t| {
            let field = |key: &str| t[key].as_str().unwrap().to_string();
            (field("tenant"), field("error"))
        })
        .collect();
        let mut named: Vec<&str> = errors.iter().map(|(t, _)| t.as_str()).collect();
        named.sort();
        assert_eq!(named, locked, "{command:?}: {stdout}");
        for (tenant, error) in &errors {
            assert!(
                error.starts_with("locked")
                    && error.contains(&format!("lock_timeout {lock_timeout_ms} ms")),
                "{command:?}, {tenant}: {error}"
            );
        }
        // The batch's wait, then the locked tenants side by side: two lock
        // timeouts in all (one per locked tenant would be four here), far
        // below one statement timeout (ten lock timeouts).
        assert!(
            took < Duration::from_millis(lock_timeout_ms * 3),
            "{command:?} took {took:?} with {} tenants locked (lock_timeout {lock_timeout_ms} ms)",
            locked.len()
        );
    }
    for locker in &mut lockers {
        common::unlock(locker).await;
    }
}

/// A command interrupted by a signal stops its statement on the server
/// too. It only dropped the connection, and a statement waiting on a lock
/// went on waiting there (in the lock queue, ahead of others) until its
/// statement timeout, a minute here.
#[tokio::test]
async fn an_interrupted_command_cancels_its_statement_on_the_server() {
    // `snapshot` reads the user's orders in a load of its own.
    for args in [&["orders", "2"][..], &["snapshot", "--user", "2"]] {
        interrupted_while_waiting_on_a_lock(args).await;
    }
}

async fn interrupted_while_waiting_on_a_lock(args: &[&str]) {
    use nix::sys::signal::{kill, Signal};
    let db = TestDatabase::reference().await;
    let _lock = db.lock_table("client2.orders").await;
    let mut command = common::bare_command();
    command
        .args(["--database-url", &db.url])
        .args(args)
        .env("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "60000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let waiting = format!(
        "SELECT count(*)::text FROM pg_stat_activity \
          WHERE wait_event_type = 'Lock' AND datname = '{}'",
        db.name
    );
    let until = |count: &'static str, what: &'static str| {
        let (db, waiting) = (&db, &waiting);
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while db.query_text(waiting).await != count {
                assert!(Instant::now() < deadline, "gave up waiting for {what}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    until("1", "the command's statement to wait on the lock").await;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", common::stderr(&out));
    until(
        "0",
        "the statement to end on the server (it waited on until its timeout)",
    )
    .await;
}

/// A users name column in a collation of a schema the role may not use
/// (created there by a migration): the list names collations in its
/// statements, which needs USAGE on their schema ("permission denied for
/// schema colls"); it falls back to the database's default.
#[tokio::test]
async fn a_name_collation_in_a_schema_the_role_may_not_use_still_lists() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "CREATE SCHEMA colls;
         CREATE COLLATION colls.bytes FROM \"C\";
         ALTER TABLE public.users ALTER COLUMN name TYPE text COLLATE colls.bytes;",
    )
    .await;
    db.run_sql(include_str!("../sql/support_role.sql")).await;
    let support = db.url.replace("tenantscope@", "tenantscope_support@");
    for args in [
        &["users"][..],
        &["users", "--filter", "rich", "--limit", "2"],
    ] {
        let mut all = vec!["--database-url", support.as_str()];
        all.extend_from_slice(args);
        let out = tenantscope(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("rich_dude"),
            "{args:?}"
        );
    }
}

/// An organization id in decomposed form (`cafe` + U+0301) beside the
/// schema `café` (composed): both read `café`, and `tenants` listed `café
/// ok` over `café no schema`. The decomposed one shows its mark, in the
/// table and in the error that names it.
#[tokio::test]
async fn a_decomposed_tenant_name_is_told_from_the_composed_schema() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(
            "CREATE SCHEMA \"café\";
             CREATE TABLE \"café\".items (LIKE client1.items INCLUDING ALL);
             CREATE TABLE \"café\".orders (id text, user_id text, item_id text, quantity int);
             INSERT INTO public.users (id, name, mail, password, organization_id)
             VALUES ('c1', 'u_cafe', 'c1@x', 'pw', 'café'),
                    ('c2', 'u_nfd', 'c2@x', 'pw', E'cafe\\u0301');",
        )
        .await;
    let run = |args: &[&str]| tenantscope(&[&["--database-url", &test_db.url][..], args].concat());
    let out = run(&["tenants"]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with("caf"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["café", "ok", "1"],
            vec!["cafe<U+0301>", "no", "schema", "1"]
        ],
        "{table}"
    );
    let out = run(&["orders", "c2"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "tenantscope: tenant schema not found: \"cafe<U+0301>\""
    );
}
