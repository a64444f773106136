//! Through a real PgBouncer (the system's, 1.18 on Debian 12) in transaction
//! mode with two server connections, started by the test: the CLI, the
//! dashboard's loads, detection of an unannounced pooler, and cancel; and
//! in both modes with one server connection (pools shrink to what is granted).

use std::time::Duration;

use crossterm::event::KeyCode;
use sqlx::Connection;
use tenantscope::config::{Pooler, Settings};
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::testing::{TestDatabase, TestPooler, POOLER_POOL_SIZE};

mod common;
use common::{row, start_app, stderr, stdout, tenantscope};

const COMMANDS: [&[&str]; 10] = [
    &["users"],
    &["users", "--limit", "2", "--format", "json"],
    &["tenants"],
    &["orders", "1"],
    &["orders", "1", "--compare", "client2", "--format", "csv"],
    &["health"],
    &["health", "--leaks", "client1"],
    &["prices"],
    &["basket", "1"],
    &["detect"],
];

fn run(url: &str, command: &[&str], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--database-url", url];
    args.extend_from_slice(extra);
    args.extend_from_slice(command);
    tenantscope(&args)
}

/// Prepared statements another client left on the pooler's server
/// connections, as any sqlx (or JDBC, or asyncpg) client does: named
/// `sqlx_s_1`, `sqlx_s_2`… Two connections at once, so both server
/// connections get them.
async fn leave_named_statements(pooler: &TestPooler, database: &str) {
    let options = pooler.connect_options(database);
    let mut first = sqlx::PgConnection::connect_with(&options).await.unwrap();
    let mut second = sqlx::PgConnection::connect_with(&options).await.unwrap();
    // Both transactions open at once: each on its own server connection.
    let mut a = first.begin().await.unwrap();
    let mut b = second.begin().await.unwrap();
    for n in 1..=20 {
        for tx in [&mut a, &mut b] {
            // Statements outlive transactions; one left by an earlier call is fine.
            sqlx::raw_sql("SAVEPOINT s")
                .execute(&mut **tx)
                .await
                .unwrap();
            let prepare = format!("PREPARE sqlx_s_{n} AS SELECT {n}");
            if sqlx::raw_sql(&prepare).execute(&mut **tx).await.is_err() {
                sqlx::raw_sql("ROLLBACK TO SAVEPOINT s")
                    .execute(&mut **tx)
                    .await
                    .unwrap();
            }
        }
    }
    a.commit().await.unwrap();
    b.commit().await.unwrap();
}

#[tokio::test]
async fn every_cli_command_answers_through_pgbouncer_as_it_does_directly() {
    let db = TestDatabase::demo().await;
    let pooler = TestPooler::start();
    let flagged = format!("{}?pgbouncer=true", pooler.url(&db.name));
    for command in COMMANDS {
        let direct = run(&db.url, command, &[]);
        assert!(direct.status.success(), "{command:?}: {}", stderr(&direct));
        // Other clients' statements on the server connections: what made
        // every command fail before.
        leave_named_statements(&pooler, &db.name).await;
        let pooled = run(&flagged, command, &[]);
        assert_eq!(
            pooled.status.code(),
            Some(0),
            "{command:?} through PgBouncer: {}",
            stderr(&pooled)
        );
        assert_eq!(stdout(&pooled), stdout(&direct), "{command:?}");
        assert_eq!(stderr(&pooled), stderr(&direct), "{command:?}");
    }
    // The setting does the same as the URL flag.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[database]\npooler = \"transaction\"\n").unwrap();
    let config_path = config.path().to_str().unwrap();
    leave_named_statements(&pooler, &db.name).await;
    let direct = run(&db.url, &["orders", "1"], &[]);
    let pooled = run(
        &pooler.url(&db.name),
        &["orders", "1"],
        &["--config", config_path],
    );
    assert_eq!(pooled.status.code(), Some(0), "{}", stderr(&pooled));
    assert_eq!(stdout(&pooled), stdout(&direct));

    // The helper leaves no process and no file behind.
    let (dir, pid) = (pooler.dir().to_path_buf(), pooler.pid());
    assert!(dir.join("pgbouncer.ini").exists());
    drop(pooler);
    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(
        nix::sys::signal::kill(pid, None),
        Err(nix::errno::Errno::ESRCH),
        "PgBouncer still runs"
    );
}

#[tokio::test]
async fn an_unannounced_pooler_is_detected_and_the_statement_retried() {
    let db = TestDatabase::demo().await;
    let pooler = TestPooler::start();
    let logs = tempfile::tempdir().unwrap();
    for command in [
        &["users"][..],
        &["orders", "1"],
        &["tenants"],
        &["basket", "1"],
    ] {
        let direct = run(&db.url, command, &[]);
        leave_named_statements(&pooler, &db.name).await;
        let log = logs.path().join("log");
        let pooled = run(
            &pooler.url(&db.name),
            command,
            &["--log-file", log.to_str().unwrap()],
        );
        assert_eq!(
            pooled.status.code(),
            Some(0),
            "{command:?}: {}",
            stderr(&pooled)
        );
        assert_eq!(stdout(&pooled), stdout(&direct), "{command:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(
            log.contains("switched to unnamed statements") && log.contains("already exists"),
            "{command:?}: the log says why it switched:\n{log}"
        );
        std::fs::remove_file(logs.path().join("log")).unwrap();
    }
}

/// A stream (`stream_users`, which shares `Database::retried_stream` with
/// `stream_orders`) that meets the pooler's first conflict before it told
/// its sink anything runs once more and writes every user once: connected
/// unannounced, before another client left its statements.
#[tokio::test]
async fn a_stream_meeting_the_first_pooler_conflict_is_retried() {
    use tenantscope::db::UserQuery;
    use tenantscope::output::{Destination, Format, UsersWriter};
    let test_db = TestDatabase::demo().await;
    let pooler = TestPooler::start();
    let db = through(&pooler, &test_db, false).await;
    assert!(!db.pooler_mode(), "no conflict yet");
    leave_named_statements(&pooler, &test_db.name).await;
    let mut writer = UsersWriter::new(Format::Csv, Destination::PipeOrFile, Vec::new());
    db.stream_users(&UserQuery::default(), None, &mut writer)
        .await
        .expect("retried in pooler mode");
    assert!(db.pooler_mode(), "the stream met the conflict");
    let (out, _) = writer.finish();
    let out = String::from_utf8(out).unwrap();
    for name in ["mid_dude", "poor_dude", "rich_dude", "stray_dude"] {
        assert_eq!(out.matches(name).count(), 1, "{name} once:\n{out}");
    }
}

async fn through(pooler: &TestPooler, db: &TestDatabase, announced: bool) -> Database {
    let source = ConnectionSource::demo(pooler.connect_options(&db.name));
    let mut settings = Settings::default();
    // Longer than any wait below: a query that ends was cancelled.
    settings.database.statement_timeout_ms = 60_000;
    if announced {
        settings.database.pooler = Pooler::Transaction;
    }
    Database::connect(&source, &settings)
        .await
        .expect("connect through PgBouncer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_loads_through_pgbouncer_announced_or_not() {
    let test_db = TestDatabase::demo().await;
    let pooler = TestPooler::start();
    for announced in [true, false] {
        leave_named_statements(&pooler, &test_db.name).await;
        let db = through(&pooler, &test_db, announced).await;
        let handle = db.clone();
        let mut app = start_app(db, Duration::from_millis(20), (120, 20)).await;
        app.frame_where("mid_dude's orders", |f| {
            f.contains("Orders of mid_dude · client3 vs client1")
                && row(f, "Tesla").contains("3,500")
        })
        .await;
        // Selection, filter, health and prices views: each a load.
        app.press(KeyCode::Char('j'));
        app.press(KeyCode::Char('j'));
        app.frame_where("rich_dude's orders", |f| {
            f.contains("Orders of rich_dude") && row(f, "Tesla").contains("50,000.00")
        })
        .await;
        for key in ['/', 'p', 'o', 'o', 'r'] {
            app.press(KeyCode::Char(key));
        }
        app.press(KeyCode::Enter);
        app.frame_where("poor_dude's orders", |f| {
            f.contains("Orders of poor_dude") && f.contains("/poor")
        })
        .await;
        app.quit().await;
        assert!(
            handle.pooler_mode(),
            "announced or detected (announced: {announced})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_loads_through_pgbouncer_are_cancelled_and_the_last_one_answers() {
    let test_db = TestDatabase::demo().await;
    let pooler = TestPooler::start();
    let db = through(&pooler, &test_db, true).await;
    let mut app = start_app(db, Duration::from_millis(20), (120, 20)).await;
    app.frame_where("mid_dude's orders", |f| f.contains("Orders of mid_dude"))
        .await;
    // Straight to the server: another session locks the users table, so
    // every filter query waits on it, each holding a server connection.
    let mut locker = test_db.lock_table("public.users").await;
    let mut observer = sqlx::PgConnection::connect_with(&test_db.options)
        .await
        .unwrap();
    let waiting = format!(
        "SELECT pid, extract(epoch FROM xact_start)::float8 FROM pg_stat_activity
          WHERE datname = '{}' AND state = 'active'
            AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
            -- A filtered first page walks the index first (its ILIKE lies
            -- past the 1 kB of text the server keeps).
            AND (query LIKE '%ILIKE%' OR query LIKE 'WITH walk AS%')",
        test_db.name
    );
    app.press(KeyCode::Char('/'));
    // Many superseded filter loads, more than the two server connections.
    let mut newest = 0.0;
    for key in "dude".chars() {
        app.press(KeyCode::Char(key));
        newest = common::poll_rows(
            &mut observer,
            &waiting,
            &format!(
                "after {key:?} only a newer filter query waiting on the server, the one \
                 before it cancelled ({POOLER_POOL_SIZE} server connections)"
            ),
            |active: &[(i32, f64)]| match active {
                [one] if one.1 > newest => Some(one.1),
                _ => None,
            },
        )
        .await;
    }
    common::unlock(&mut locker).await;
    let frame = app
        .frame_where("the filtered list", |f| {
            // Not busy: the old list stays on screen while the filter loads.
            let busy = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏".chars().any(|c| f.contains(c));
            f.contains("/dude") && f.contains("Orders of mid_dude") && !busy
        })
        .await;
    assert!(
        frame.contains("rich_dude") && frame.contains("poor_dude"),
        "{frame}"
    );
    app.quit().await;
    let running = format!(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = '{}' AND state <> 'idle' AND pid <> pg_backend_pid()",
        test_db.name
    );
    common::poll_rows(
        &mut observer,
        &running,
        "no query left running on the server",
        |left: &[(i64,)]| (left[0].0 == 0).then_some(()),
    )
    .await;
}

/// Why every statement is `persistent(false)` and the statement cache is not
/// merely turned off: with `statement_cache_capacity(0)` sqlx still names
/// its statements (`sqlx_s_N`), and they collide behind PgBouncer.
#[tokio::test]
async fn only_unnamed_statements_survive_pgbouncer() {
    let db = TestDatabase::empty().await;
    let pooler = TestPooler::start();
    leave_named_statements(&pooler, &db.name).await;
    let options = pooler.connect_options(&db.name);
    let mut uncached =
        sqlx::PgConnection::connect_with(&options.clone().statement_cache_capacity(0))
            .await
            .unwrap();
    let named = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&mut uncached)
        .await
        .unwrap_err();
    assert!(
        named
            .to_string()
            .contains("prepared statement \"sqlx_s_1\" already exists"),
        "{named}"
    );
    // In a transaction, as tenantscope runs every query: sqlx's Parse and
    // its Bind/Execute are two round trips, which a transaction pooler
    // keeps on one server connection only inside a transaction.
    let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
    let mut conn = conn.begin().await.unwrap();
    for n in 0..10 {
        let got: i32 = sqlx::query_scalar("SELECT $1::int4 + 1")
            .bind(n)
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(got, n + 1);
    }
}

#[test]
fn a_bad_pooler_setting_is_one_line_and_exit_2() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[database]\npooler = \"sometimes\"\n").unwrap();
    let out = tenantscope(&["--config", config.path().to_str().unwrap(), "users"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("pooler"), "{}", stderr(&out));

    let out = tenantscope(&[
        "--database-url",
        "postgres://bob:hunter2@127.0.0.1:1/app?pgbouncer=yes",
        "users",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let error = stderr(&out);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.contains("pgbouncer=\"yes\"") && !error.contains("hunter2"),
        "{error}"
    );
}

/// The binary, failing the test (and killed) if it runs past a minute.
fn run_bounded(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = common::bare_command();
    command
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{args:?} still ran after a minute");
        }
    }
}

/// A pooler that grants one server connection (session mode: one per
/// client connection for its whole life; transaction mode: one
/// transaction at a time) serves every command, the snapshot and the
/// dashboard, whose pools shrink to it; and when its one connection is
/// taken by someone else, a command says so within the connect timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooler_granting_one_connection_serves_every_command_the_snapshot_and_the_dashboard() {
    let db = TestDatabase::demo().await;
    // Serving: time enough for the pooler to hand its one session on
    // between commands on a busy machine (1.5 s was once too short, under
    // two busy loops and a loaded suite). Refusing: said within 1.5 s.
    let serve_timeout_ms = "5000";
    let connect_timeout_ms = "1500";
    let timeout = |ms| [("TENANTSCOPE_DATABASE__CONNECT_TIMEOUT_MS", ms)];
    let env = timeout(serve_timeout_ms);
    let snapshot: &[&str] = &["snapshot", "--user", "1"];
    for mode in ["session", "transaction"] {
        let pooler = TestPooler::start_with(mode, 1);
        let url = match mode {
            "transaction" => format!("{}?pgbouncer=true", pooler.url(&db.name)),
            _ => pooler.url(&db.name),
        };
        for command in COMMANDS.iter().copied().chain([snapshot]) {
            let direct = run_bounded(&[&["--database-url", &db.url], command].concat(), &env);
            assert!(direct.status.success(), "{command:?}: {}", stderr(&direct));
            let pooled = run_bounded(&[&["--database-url", &url], command].concat(), &env);
            assert_eq!(
                pooled.status.code(),
                Some(0),
                "{mode} mode, {command:?}: {}",
                stderr(&pooled)
            );
            // The snapshot's title names the target: the rest must match.
            let body = |out: &std::process::Output| {
                let text = stdout(out);
                let skip = usize::from(command == snapshot);
                text.lines().skip(skip).collect::<Vec<_>>().join("\n")
            };
            assert_eq!(body(&pooled), body(&direct), "{mode}: {command:?}");
        }

        // The dashboard: a pool of four on one granted connection.
        let source = ConnectionSource::demo(pooler.connect_options(&db.name));
        let mut settings = Settings::default();
        settings.database.connect_timeout_ms = serve_timeout_ms.parse().unwrap();
        if mode == "transaction" {
            settings.database.pooler = Pooler::Transaction;
        }
        let database = Database::connect(&source, &settings).await.unwrap();
        let mut app = start_app(database, Duration::from_millis(20), (120, 20)).await;
        app.frame_where("mid_dude's orders", |f| {
            f.contains("Orders of mid_dude · client3 vs client1")
                && row(f, "Tesla").contains("3,500")
        })
        .await;
        app.press(KeyCode::Char('j'));
        app.press(KeyCode::Char('j'));
        app.frame_where("rich_dude's orders", |f| {
            f.contains("Orders of rich_dude") && row(f, "Tesla").contains("50,000.00")
        })
        .await;
        app.press(KeyCode::Char('b'));
        app.frame_where("rich_dude's basket priced", |f| f.contains("priced at"))
            .await;
        app.quit().await;
    }

    // Session mode, its one server connection held by another client: no
    // silent wait, an error that says why, within the connect timeout.
    let pooler = TestPooler::start_with("session", 1);
    let mut holder = sqlx::PgConnection::connect_with(&pooler.connect_options(&db.name))
        .await
        .unwrap();
    sqlx::query("SELECT 1").execute(&mut holder).await.unwrap();
    for command in [&["tenants"][..], snapshot] {
        let out = run_bounded(
            &[&["--database-url", &pooler.url(&db.name)], command].concat(),
            &timeout(connect_timeout_ms),
        );
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains(&format!(
                "no connection granted within {connect_timeout_ms} ms"
            )) && message.contains("pooler full"),
            "{command:?}: {message}"
        );
    }
    holder.close().await.unwrap();
}

/// A relay to `port` on 127.0.0.1 that holds every chunk the far side
/// sends for `delay` before passing it on: a slow link. Runs until the
/// test's process ends (its threads end with their connections).
fn slow_link(port: u16, delay: Duration) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer) {
            std::thread::sleep(delay);
            if to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (client_out, server_in) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pipe(client, server, Duration::ZERO));
            std::thread::spawn(move || pipe(server_in, client_out, delay));
        }
    });
    relay
}

/// A slow link (each chunk the pooler sends held 150 ms) to a pooler
/// granting one connection: the first connection takes longer than the
/// 250 ms after which a direct attempt asks why, and the second one the
/// pool tries is held back until the connect timeout. The run is slow, and
/// answers as it does directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_connection_through_a_one_connection_pooler_is_waited_for() {
    let db = TestDatabase::demo().await;
    let pooler = TestPooler::start_with("session", 1);
    let relay = slow_link(pooler.port(), Duration::from_millis(150));
    let url = pooler
        .url(&db.name)
        .replace(&format!(":{}/", pooler.port()), &format!(":{relay}/"));
    let env = [("TENANTSCOPE_DATABASE__CONNECT_TIMEOUT_MS", "3000")];
    let direct = run_bounded(&["--database-url", &db.url, "tenants"], &env);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("slow.log");
    let log_arg = log.to_str().unwrap();
    let slow = run_bounded(
        &["--database-url", &url, "--log-file", log_arg, "tenants"],
        &env,
    );
    assert_eq!(slow.status.code(), Some(0), "{}", stderr(&slow));
    assert_eq!(stdout(&slow), stdout(&direct));
    // The pool did ask for a second connection, and shrank to the one.
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("grants fewer connections"), "{log}");
}
