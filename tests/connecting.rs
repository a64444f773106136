//! Connecting as psql does, run as a user would against real servers: the
//! `PG*` variables, service files, keyword strings, `.pgpass`, profiles,
//! and never the demo by surprise.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::embedded::{PgServer, ServerOptions, DEMO_SQL, SUPERUSER};

mod common;
use common::{bare_command, stderr, stdout, tenantscope};

/// The password of `alice` on the password server: a colon, a backslash
/// and a space, which `.pgpass` and keyword strings must escape or quote.
const ALICE_PASSWORD: &str = r"p:w\d x";

/// The tenants of the demo data, as `tenants` lists them.
const DEMO_TENANTS: [&str; 5] = ["client1", "client2", "client3", "client4", "client9"];

const HBA: &str = "\
local all tenantscope trust
local all all scram-sha-256
host all tenantscope 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
";

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// `tenantscope ARGS` with nothing configured but `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = bare_command();
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run tenantscope")
}

/// The tenant names a `tenants --format json` run printed.
fn tenant_names(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", stderr(out));
    let json: Value = serde_json::from_str(&stdout(out)).unwrap();
    json.as_array()
        .unwrap_or_else(|| panic!("no tenants in {json}"))
        .iter()
        .map(|t| t["tenant"].as_str().unwrap().to_string())
        .collect()
}

/// One line on stderr with `code`, nothing on stdout, no password.
fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tenantscope: ") && err.contains(needle),
        "{err}"
    );
    assert!(stdout(out).is_empty(), "{}", stdout(out));
    assert!(!err.contains("p:w"), "password shown: {err}");
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A private server that asks every role but the superuser for a
/// password, over its socket and TCP, with the demo data in `shop`.
struct PasswordServer {
    server: PgServer,
    port: u16,
}

impl PasswordServer {
    async fn start() -> PasswordServer {
        let port = free_port();
        let server = PgServer::start_with(ServerOptions {
            tcp_port: Some(port),
            files: vec![("pg_hba.conf".into(), HBA.into())],
            ..ServerOptions::default()
        })
        .unwrap_or_else(|e| panic!("cannot start a password server: {e}"));
        let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
            .await
            .unwrap();
        let create = format!("CREATE ROLE alice LOGIN SUPERUSER PASSWORD '{ALICE_PASSWORD}'");
        for sql in [create.as_str(), "CREATE DATABASE shop"] {
            sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
        }
        admin.close().await.ok();
        let mut shop = PgConnection::connect_with(&server.connect_options("shop"))
            .await
            .unwrap();
        for (_, sql) in DEMO_SQL {
            sqlx::raw_sql(sql).execute(&mut shop).await.unwrap();
        }
        shop.close().await.ok();
        PasswordServer { server, port }
    }

    fn port(&self) -> String {
        self.port.to_string()
    }

    fn socket(&self) -> String {
        self.server.socket_dir().display().to_string()
    }

    /// The server's log (its stderr: failed logins among it).
    fn log_path(&self) -> PathBuf {
        self.server.socket_dir().join("postgres.log")
    }
}

#[tokio::test]
async fn libpq_variables_name_the_database() {
    let db = TestDatabase::demo().await;
    let socket = db.socket_dir().display().to_string();
    let base = [
        ("PGHOST", socket.as_str()),
        ("PGPORT", "5432"),
        ("PGDATABASE", db.name.as_str()),
        ("PGUSER", SUPERUSER),
    ];
    let out = run(&["tenants", "--format", "json"], &base);
    assert_eq!(tenant_names(&out), DEMO_TENANTS);
    assert!(stderr(&out).is_empty(), "no demo notice: {}", stderr(&out));

    // Each variable is used: a wrong value of each fails, naming it.
    let mut wrong_db = base.to_vec();
    wrong_db[2] = ("PGDATABASE", "no_such_db");
    let out = run(&["tenants"], &wrong_db);
    assert_one_line_error(&out, 1, "no_such_db");
    let mut wrong_user = base.to_vec();
    wrong_user[3] = ("PGUSER", "nobody_here");
    assert_one_line_error(&run(&["tenants"], &wrong_user), 1, "nobody_here");
    let mut wrong_port = base.to_vec();
    wrong_port[1] = ("PGPORT", "5433");
    assert_one_line_error(&run(&["tenants"], &wrong_port), 1, ":5433/");
    let mut options = base.to_vec();
    options.push(("PGOPTIONS", "-c work_mem=bogus"));
    assert_one_line_error(&run(&["tenants"], &options), 1, "work_mem");

    // The label names the socket directory, not localhost:5432.
    let mut wrong_db = base.to_vec();
    wrong_db[2] = ("PGDATABASE", "x");
    let err = stderr(&run(&["tenants"], &wrong_db));
    assert!(
        err.contains(&format!("cannot connect to {SUPERUSER}@{socket}:5432/x")),
        "{err}"
    );
}

#[tokio::test]
async fn application_name_and_options_reach_the_server() {
    let db = TestDatabase::empty().await;
    let socket = db.socket_dir().display().to_string();
    let env = |extra: &[(&str, &str)]| {
        let mut env: std::collections::HashMap<String, String> = [
            ("PGHOST", socket.as_str()),
            ("PGDATABASE", db.name.as_str()),
            ("PGUSER", SUPERUSER),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.insert("HOME".into(), "/nonexistent".into());
        env
    };
    let show = |env: std::collections::HashMap<String, String>, setting: &'static str| async move {
        let source = tenantscope::db::connect_options(None, &env)
            .unwrap()
            .unwrap();
        let mut conn = PgConnection::connect_with(source.options()).await.unwrap();
        let value: String = sqlx::query_scalar(&format!("SELECT current_setting('{setting}')"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        value
    };
    assert_eq!(show(env(&[]), "application_name").await, "tenantscope");
    let named = env(&[("PGAPPNAME", "support-42")]);
    assert_eq!(show(named, "application_name").await, "support-42");
    let options = env(&[("PGOPTIONS", r"-c work_mem=8MB --tenantscope.note=a\ b")]);
    assert_eq!(show(options.clone(), "work_mem").await, "8MB");
    assert_eq!(show(options, "tenantscope.note").await, "a b");
}

#[tokio::test]
async fn hostaddr_sslmode_and_connect_timeout_over_tcp() {
    let server = PasswordServer::start().await;
    let port = server.port();
    let base = [
        ("PGHOST", "db.invalid"),
        ("PGHOSTADDR", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", SUPERUSER),
        ("PGDATABASE", "shop"),
    ];
    let out = run(&["tenants", "--format", "json"], &base);
    assert_eq!(tenant_names(&out), DEMO_TENANTS);
    // This server has no TLS: requiring it fails instead of falling back.
    let mut require = base.to_vec();
    require.push(("PGSSLMODE", "require"));
    let out = run(&["tenants"], &require);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut bad_mode = base.to_vec();
    bad_mode.push(("PGSSLMODE", "sometimes"));
    assert_one_line_error(
        &run(&["tenants"], &bad_mode),
        2,
        "invalid PGSSLMODE \"sometimes\"",
    );

    // A server that accepts and never answers: PGCONNECT_TIMEOUT bounds the wait.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port().to_string();
    let out = run(
        &["tenants"],
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &silent_port),
            ("PGCONNECT_TIMEOUT", "2"),
        ],
    );
    assert_one_line_error(&out, 1, "no answer within 2000 ms");
}

#[tokio::test]
async fn service_files_are_found_like_libpq_finds_them() {
    let db = TestDatabase::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let service = format!(
        "# tenantscope test\n[shop]\nhost={}\nport=5432\ndbname={}\nuser={SUPERUSER}\n",
        db.socket_dir().display(),
        db.name
    );
    let file = write(dir.path(), "services.conf", &service, 0o644);
    let file = file.to_str().unwrap();
    let json = ["tenants", "--format", "json"];
    let all = DEMO_TENANTS;
    let no_sysconf = ("PGSYSCONFDIR", "/nonexistent");
    // PGSERVICEFILE with PGSERVICE, service= in a keyword string and in a URL.
    let out = run(
        &json,
        &[("PGSERVICEFILE", file), ("PGSERVICE", "shop"), no_sysconf],
    );
    assert_eq!(tenant_names(&out), all);
    for conninfo in ["service=shop", "postgres://?service=shop"] {
        let mut args = vec!["--database-url", conninfo];
        args.extend(json);
        let out = run(&args, &[("PGSERVICEFILE", file), no_sysconf]);
        assert_eq!(tenant_names(&out), all, "{conninfo}");
    }
    // ~/.pg_service.conf, through HOME.
    let home = tempfile::tempdir().unwrap();
    write(home.path(), ".pg_service.conf", &service, 0o600);
    let home = home.path().to_str().unwrap();
    let out = run(&json, &[("HOME", home), ("PGSERVICE", "shop"), no_sysconf]);
    assert_eq!(tenant_names(&out), all);
    // PGSYSCONFDIR/pg_service.conf when the user's file lacks it.
    let sysconf = tempfile::tempdir().unwrap();
    write(sysconf.path(), "pg_service.conf", &service, 0o644);
    let sysconf = sysconf.path().to_str().unwrap();
    let out = run(
        &json,
        &[
            ("HOME", "/nonexistent"),
            ("PGSERVICE", "shop"),
            ("PGSYSCONFDIR", sysconf),
        ],
    );
    assert_eq!(tenant_names(&out), all);
    // The service beats PGDATABASE; the connection string beats the service.
    let env = [("PGSERVICEFILE", file), ("PGDATABASE", "nope"), no_sysconf];
    let mut args = vec!["--database-url", "service=shop"];
    args.extend(json);
    assert_eq!(tenant_names(&run(&args, &env)), all);
    let out = run(
        &["--database-url", "service=shop dbname=nope", "tenants"],
        &env,
    );
    // The label names the service.
    let expected = format!(
        "cannot connect to service=shop ({SUPERUSER}@{}:5432/nope)",
        db.socket_dir().display()
    );
    assert_one_line_error(&out, 1, &expected);

    let out = run(
        &["tenants"],
        &[("PGSERVICEFILE", file), ("PGSERVICE", "shopp"), no_sysconf],
    );
    assert_one_line_error(&out, 2, "definition of service \"shopp\" not found");
    let out = run(
        &["--database-url", "service=nope", "tenants"],
        &[("HOME", home), no_sysconf],
    );
    assert_one_line_error(&out, 2, "definition of service \"nope\" not found");
}

#[tokio::test]
async fn keyword_strings_passwords_and_pgpass() {
    let server = PasswordServer::start().await;
    let port = server.port();
    let socket = server.socket();
    let json = ["tenants", "--format", "json"];
    let all = DEMO_TENANTS;
    let with = |conninfo: &str, env: &[(&str, &str)]| {
        let mut args = vec!["--database-url", conninfo];
        args.extend(json);
        run(&args, env)
    };
    let home = [("HOME", "/nonexistent")];
    // Quoting and backslash escapes, as psql reads them.
    let quoted =
        format!(r"host = 127.0.0.1 port={port} dbname='shop' user=alice password='p:w\\d x'");
    assert_eq!(tenant_names(&with(&quoted, &home)), all);
    let escaped = format!(r"host=127.0.0.1 port={port} dbname=shop user=alice password=p:w\\d\ x");
    assert_eq!(tenant_names(&with(&escaped, &home)), all);
    let wrong = format!("host=127.0.0.1 port={port} dbname=shop user=alice password=wrong");
    assert_eq!(with(&wrong, &home).status.code(), Some(1));
    // PGPASSWORD, below the string's own password.
    let no_password = format!("host=127.0.0.1 port={port} dbname=shop user=alice");
    let env = [("HOME", "/nonexistent"), ("PGPASSWORD", ALICE_PASSWORD)];
    assert_eq!(tenant_names(&with(&no_password, &env)), all);
    let env = [("HOME", "/nonexistent"), ("PGPASSWORD", "wrong")];
    assert_eq!(
        tenant_names(&with(&escaped, &env)),
        all,
        "the string's password wins"
    );

    let out = with("host=127.0.0.1 password='p:w unterminated", &home);
    assert_one_line_error(&out, 2, "unterminated quoted value of \"password\"");
    let out = with("host=127.0.0.1 p:w", &home);
    assert_one_line_error(&out, 2, "missing \"=\" after the value of \"host\"");
    let out = with("host=127.0.0.1 hots=x", &home);
    assert_one_line_error(&out, 2, "invalid connection option \"hots\"");

    // .pgpass: escapes, wildcards, first match wins, the socket directory
    // matched as written.
    let dir = tempfile::tempdir().unwrap();
    let escaped_password = r"p\:w\\d x";
    let pgpass = format!(
        "# other users first\n127.0.0.1:{port}:shop:bob:nope\n\
         127.0.0.1:*:shop:alice:{escaped_password}\n*:*:*:alice:second-match-is-never-used\n\
         {socket}:{port}:*:carol:{escaped_password}\n"
    );
    let file = write(dir.path(), "pgpass", &pgpass, 0o600);
    let file = file.to_str().unwrap();
    let env = [("PGPASSFILE", file)];
    assert_eq!(tenant_names(&with(&no_password, &env)), all);
    // ~/.pgpass through HOME.
    let home_dir = tempfile::tempdir().unwrap();
    write(home_dir.path(), ".pgpass", &pgpass, 0o600);
    let home_env = [("HOME", home_dir.path().to_str().unwrap())];
    assert_eq!(tenant_names(&with(&no_password, &home_env)), all);
    // The first matching line wins even when a later one is right.
    let first_wrong = write(
        dir.path(),
        "first-wrong",
        &format!("*:*:*:alice:wrong\n*:*:*:alice:{escaped_password}\n"),
        0o600,
    );
    let env = [("PGPASSFILE", first_wrong.to_str().unwrap())];
    assert_eq!(with(&no_password, &env).status.code(), Some(1));
    // Readable by others: a warning, and the file is ignored (as psql does).
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = with(&no_password, &[("PGPASSFILE", file)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .next()
            .unwrap()
            .starts_with("tenantscope: warning: password file"),
        "{err}"
    );
    assert!(
        err.contains("group or world access") && err.contains("0600"),
        "{err}"
    );
    assert!(
        !err.contains("p:w") && !err.contains(escaped_password),
        "{err}"
    );
    // Not a file at all: bad input.
    let out = with(
        &no_password,
        &[("PGPASSFILE", dir.path().to_str().unwrap())],
    );
    assert_one_line_error(&out, 2, "not a plain file");
}

#[tokio::test]
async fn profiles_choose_the_database_and_never_show_a_password() {
    let server = PasswordServer::start().await;
    let local = TestDatabase::reference().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[database]\nstatement_timeout_ms = 4000\n\n\
         [profiles.shop.database]\n\
         url = \"host=127.0.0.1 port={} dbname=shop user=alice password='p:w\\\\\\\\d x'\"\n\n\
         [profiles.local.database]\nurl = \"{}\"\n\
         [profiles.local.tenancy]\ncompare_with = \"client2\"\n",
        server.port(),
        local.url
    );
    let config = write(dir.path(), "config.toml", &config, 0o600);
    let config = config.to_str().unwrap();
    let shop = run(
        &[
            "--config",
            config,
            "--profile",
            "shop",
            "tenants",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(tenant_names(&shop), DEMO_TENANTS);
    let local_out = run(
        &["--config", config, "tenants", "--format", "json"],
        &[("TENANTSCOPE_PROFILE", "local")],
    );
    assert_eq!(tenant_names(&local_out), ["client1", "client2"]);

    let out = run(&["--config", config, "profiles"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = stdout(&out);
    assert!(!listing.contains("p:w"), "{listing}");
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[1].starts_with("local ") && lines[1].contains(&format!("/{}", local.name)),
        "{listing}"
    );
    assert!(
        lines[2].starts_with("shop ")
            && lines[2].contains(&format!("alice@127.0.0.1:{}/shop", server.port)),
        "{listing}"
    );

    let out = run(&["--config", config, "--profile", "nope", "tenants"], &[]);
    assert_one_line_error(&out, 2, "unknown profile \"nope\" (known: local, shop)");
    let out = run(
        &["--config", config, "tenants"],
        &[("TENANTSCOPE_PROFILE", "nope")],
    );
    assert_one_line_error(&out, 2, "unknown profile \"nope\"");
}

#[test]
fn nothing_configured_is_the_demo_and_says_so_anything_configured_never_is() {
    let out = tenantscope(&["tenants", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("answering from the built-in demo database"),
        "{err}"
    );
    let quiet = tenantscope(&["--demo", "tenants", "--format", "json"]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
    assert_eq!(stdout(&out), stdout(&quiet));

    // One PG* variable is enough to mean a real database: failing to reach
    // it is an error, never the demo's data.
    let dead = free_port().to_string();
    for env in [
        vec![("PGPORT", dead.as_str()), ("PGHOST", "127.0.0.1")],
        vec![("PGPORT", dead.as_str())],
        vec![("PGUSER", "someone"), ("PGHOST", "/nonexistent")],
    ] {
        let out = run(&["tenants"], &env);
        assert_one_line_error(&out, 1, "cannot connect to ");
        assert!(!stderr(&out).contains("demo"), "{}", stderr(&out));
    }
    let out = run(
        &["tenants"],
        &[
            ("PGSERVICE", "shop"),
            ("HOME", "/nonexistent"),
            ("PGSYSCONFDIR", "/nonexistent"),
        ],
    );
    assert_one_line_error(&out, 2, "definition of service \"shop\" not found");
}

mod dashboard_start {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use tenantscope::app::clipboard::Clipboard;
    use tenantscope::app::connect::{self, ConnectError, Connector};
    use tenantscope::app::runtime::{run_loop, Backing};
    use tenantscope::app::{Msg, State};
    use tenantscope::config::Settings;
    use tenantscope::db::{connect_options, ConnectionSource, Database};
    use tenantscope::embedded::testing::TestDatabase;
    use tokio::sync::watch;

    use super::common::{frame_where, keys, text};

    type Ended = std::io::Result<(State, Option<Database>)>;

    /// The real event loop, connecting through `connector`, on a TestBackend.
    fn start(
        state: State,
        connector: Connector,
        export_dir: Option<std::path::PathBuf>,
    ) -> (
        tokio::sync::mpsc::UnboundedSender<Msg>,
        watch::Receiver<String>,
        tokio::task::JoinHandle<Ended>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (frames_tx, frames) = watch::channel(String::new());
        let handle = tokio::spawn(async move {
            let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
            let backing = Backing {
                db: None,
                connector: Some(connector),
                clipboard: Clipboard::none(),
                export_dir,
            };
            run_loop(
                &mut terminal,
                state,
                backing,
                rx,
                tenantscope::ui::screen(),
                |buffer| {
                    frames_tx.send_replace(text(buffer));
                },
            )
            .await
        });
        (tx, frames, handle)
    }

    fn starting(target: &str, profiles: &[(&str, &str)]) -> State {
        let profiles = profiles
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut session = tenantscope::app::Session {
            debounce: Duration::from_millis(10),
            ..Default::default()
        };
        session.connect.profiles = profiles;
        connect::connecting_state(target.into(), session)
    }

    async fn open(source: ConnectionSource) -> Result<connect::Opened, ConnectError> {
        let failed = |f: tenantscope::Failure| ConnectError {
            usage: f.code == 2,
            message: f.message,
        };
        let db = Database::connect(&source, &Settings::default())
            .await
            .map_err(|e| failed(e.into()))?;
        connect::open(db, source.label(), None)
            .await
            .map_err(failed)
    }

    #[tokio::test]
    async fn connecting_is_drawn_at_once_and_q_quits_while_it_waits() {
        let connector: Connector = Arc::new(|_| Box::pin(std::future::pending()));
        let (tx, mut frames, handle) =
            start(starting("app@db.example:5432/app", &[]), connector, None);
        let frame = frame_where(&mut frames, "connecting", |f| {
            f.contains("connecting to app@db.example:5432/app…")
        })
        .await;
        assert!(
            frame.contains(" tenantscope │ app@db.example:5432/app"),
            "{frame}"
        );
        keys(&tx, &[KeyCode::Char('q')]);
        let (state, db) = handle.await.unwrap().unwrap();
        assert!(state.session.quit && db.is_none());
        assert!(state.session.connect.failed_at_start().is_none());
    }

    /// The profile in use is in the header while it connects (and when
    /// that fails), as once connected: it was left out until then.
    #[tokio::test]
    async fn the_header_names_the_profile_while_it_connects() {
        let connector: Connector = Arc::new(|_| Box::pin(std::future::pending()));
        let mut state = starting(
            "app@db.example:5432/app",
            &[("prod", "app@db.example:5432/app")],
        );
        state.session.connect.profile = Some("prod".into());
        let (tx, mut frames, handle) = start(state, connector, None);
        frame_where(&mut frames, "the profile named", |f| {
            f.contains(" tenantscope │ prod: app@db.example:5432/app")
        })
        .await;
        keys(&tx, &[KeyCode::Char('q')]);
        handle.await.unwrap().unwrap();
    }

    /// While the demo's server starts, the pane says so, as the status line
    /// does (the pane said "connecting to demo…" beside it).
    #[tokio::test]
    async fn the_demo_starting_is_said_once_in_the_same_words() {
        let connector: Connector = Arc::new(|_| Box::pin(std::future::pending()));
        let mut state = starting("demo", &[]);
        state.session.connect.demo = true;
        let (tx, mut frames, handle) = start(state, connector, None);
        let frame = frame_where(&mut frames, "starting", |f| {
            f.contains("starting the demo database…")
        })
        .await;
        assert!(!frame.contains("connecting to demo"), "{frame}");
        assert_eq!(
            frame.matches("starting the demo database…").count(),
            2,
            "{frame}"
        );
        keys(&tx, &[KeyCode::Char('q')]);
        handle.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_failed_first_load_offers_a_retry_then_profiles_switch_the_database() {
        let first = TestDatabase::demo().await;
        let second = TestDatabase::reference().await;
        let dead = super::free_port();
        let env = [("HOME".to_string(), "/nonexistent".to_string())].into();
        let unreachable =
            connect_options(Some(&format!("host=127.0.0.1 port={dead} user=app")), &env)
                .unwrap()
                .unwrap();
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let (first_options, second_options) = (first.options.clone(), second.options.clone());
        let connector: Connector = Arc::new(move |profile| {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            let source = match (profile.as_deref(), attempt) {
                (None, 0) => unreachable.clone(),
                (Some("second"), _) => ConnectionSource::demo(second_options.clone()),
                _ => ConnectionSource::demo(first_options.clone()),
            };
            Box::pin(open(source))
        });
        let target = format!("app@127.0.0.1:{dead}/app");
        let mut state = starting(&target, &[("first", "one"), ("second", "two")]);
        // Settings of the session, each unlike its default: they outlive
        // both connections (`refresh_every` used to be lost on the first).
        state.session.refresh_every = Some(Duration::from_secs(3600));
        state.session.debounce = Duration::from_millis(37);
        state.session.connect.demo = true;
        let before = state.session.clone();
        let (tx, mut frames, handle) = start(state, connector, None);
        let failed = frame_where(&mut frames, "the retry prompt", |f| {
            f.contains("Press r to retry, P to pick a profile, q to quit.")
        })
        .await;
        assert!(
            failed.contains(&format!("cannot connect to {target}")),
            "{failed}"
        );

        keys(&tx, &[KeyCode::Char('r')]);
        // The users come first, the counts after: never a wrong count
        // meanwhile.
        let first = frame_where(&mut frames, "the demo's users", |f| f.contains("rich_dude")).await;
        assert!(
            first.contains("4 users · 4 tenants") || first.contains("… users · … tenants"),
            "{first}"
        );
        let opened = frame_where(&mut frames, "the demo's counts", |f| {
            f.contains("4 users · 4 tenants")
        })
        .await;
        assert!(opened.contains("rich_dude"), "{opened}");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);

        keys(&tx, &[KeyCode::Char('P')]);
        frame_where(&mut frames, "the picker", |f| {
            f.contains("Profiles · type to filter")
        })
        .await;
        keys(&tx, &[KeyCode::Down, KeyCode::Enter]);
        let switched = frame_where(&mut frames, "the second database", |f| {
            f.contains("2 tenants") && f.contains("Users (")
        })
        .await;
        assert!(!switched.contains("client3"), "{switched}");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        tx.send(Msg::Key(ctrl_c)).unwrap();
        let (state, db) = handle.await.unwrap().unwrap();
        assert_eq!(state.session.connect.profile.as_deref(), Some("second"));
        // The whole session is as it began but for what the connections,
        // the terminal and the clock moved on: a setting added to the
        // session is checked here with no new line.
        let after = &state.session;
        assert_eq!(after.connect.profiles, before.connect.profiles);
        assert!(after.connect.demo && after.connect.open);
        let mut expected = before;
        expected.connect = after.connect.clone();
        (expected.size, expected.ticks) = ((120, 30), after.ticks);
        (expected.tickets, expected.quit) = (after.tickets, true);
        assert_eq!(after, &expected);
        let db = db.expect("the database in use at the end");
        assert_eq!(db.tenants().await.unwrap().len(), 2);
        db.close().await;
    }

    /// An export still reading when another database opens goes on, says
    /// where it wrote on the new one, and is the one export meanwhile (the
    /// switch used to drop its answer and let a second start).
    #[tokio::test]
    async fn an_export_outlives_a_profile_switch_and_says_where_it_wrote() {
        let first = TestDatabase::demo().await;
        let second = TestDatabase::reference().await;
        // More lines than the pane holds: the export reads them all.
        first
            .run_sql(
                "INSERT INTO client3.orders (id, user_id, item_id, quantity)
                 SELECT 1000 + g, '3', (SELECT min(id) FROM client3.items), 1
                 FROM generate_series(1, 300) g",
            )
            .await;
        let (first_options, second_options) = (first.options.clone(), second.options.clone());
        let connector: Connector = Arc::new(move |profile| {
            let options = match profile.as_deref() {
                Some("second") => second_options.clone(),
                _ => first_options.clone(),
            };
            Box::pin(open(ConnectionSource::demo(options)))
        });
        let exports = tempfile::tempdir().unwrap();
        let state = starting("first", &[("first", "one"), ("second", "two")]);
        let (tx, mut frames, handle) = start(state, connector, Some(exports.path().into()));
        // Read, not loading (the title comes first): a lock taken while they
        // load timed them out, and `e` had nothing to export.
        frame_where(&mut frames, "mid_dude's orders", |f| {
            f.contains("Orders of mid_dude")
                && f.contains("4 users · 4 tenants")
                && f.contains(" order lines from ")
        })
        .await;

        // The export waits on the lock until the other database is open.
        let mut locker = first.lock_table("client3.orders").await;
        keys(&tx, &[KeyCode::Char('e')]);
        frame_where(&mut frames, "the export reading", |f| {
            f.contains("exporting: reading every row…")
        })
        .await;
        keys(&tx, &[KeyCode::Char('P')]);
        frame_where(&mut frames, "the picker", |f| {
            f.contains("Profiles · type to filter")
        })
        .await;
        keys(&tx, &[KeyCode::Down, KeyCode::Enter]);
        frame_where(&mut frames, "the second database", |f| {
            f.contains("2 tenants") && f.contains("Users (") && !f.contains("mid_dude")
        })
        .await;
        keys(&tx, &[KeyCode::Char('e')]);
        frame_where(&mut frames, "one export at a time", |f| {
            f.contains("still exporting: one export at a time")
        })
        .await;
        super::common::unlock(&mut locker).await;
        let done = frame_where(&mut frames, "the export's file", |f| {
            f.contains("exported to ")
        })
        .await;
        assert!(!done.contains("mid_dude"), "{done}");
        // Named by the database it read, not the one now open.
        assert!(done.contains(".csv (from demo)"), "{done}");

        let files: Vec<_> = std::fs::read_dir(exports.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("tenantscope-orders-3-"), "{name}");
        assert!(done.contains(&name), "{done}");
        let csv = std::fs::read_to_string(&files[0]).unwrap();
        // Every line, not the pane's first page: the 300 added and the demo's.
        assert!(csv.lines().count() > 301, "{csv}");
        keys(&tx, &[KeyCode::Char('q')]);
        let (_, db) = handle.await.unwrap().unwrap();
        db.expect("the second database").close().await;
    }
}

/// The server's log (the embedded server writes it beside its socket).
fn server_log(server: &PgServer) -> String {
    std::fs::read_to_string(server.socket_dir().join("postgres.log")).unwrap_or_default()
}

/// Waits (bounded) until no session of `application_name` is left on the
/// server: each has ended and the server has logged whatever it logs.
async fn until_sessions_end(server: &PgServer, application_name: &str) {
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(application_name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left} sessions of {application_name} still open"
        );
        tokio::task::yield_now().await;
    }
    admin.close().await.ok();
}

/// Every command hangs up with a Terminate message: the server, logging at
/// debug1, never sees a connection end without one ("unexpected EOF on
/// client connection") nor a client that went away ("connection to client
/// lost", "Broken pipe"), whether the command succeeded or failed.
#[tokio::test]
async fn every_command_hangs_up_cleanly() {
    let port = free_port();
    let server = PgServer::start_with(ServerOptions {
        tcp_port: Some(port),
        settings: vec![
            ("log_min_messages".into(), "debug1".into()),
            ("log_connections".into(), "on".into()),
        ],
        files: vec![("pg_hba.conf".into(), HBA.into())],
    })
    .unwrap_or_else(|e| panic!("cannot start a server: {e}"));
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE DATABASE shop")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
    let mut shop = PgConnection::connect_with(&server.connect_options("shop"))
        .await
        .unwrap();
    for (_, sql) in DEMO_SQL {
        sqlx::raw_sql(sql).execute(&mut shop).await.unwrap();
    }
    shop.close().await.ok();
    let socket = server.socket_dir().display().to_string();
    let port_text = port.to_string();
    let commands: &[&[&str]] = &[
        &["tenants"],
        &["users"],
        &["orders", "1"],
        &["orders", "999"],
        &["basket", "1"],
        &["prices"],
        &["health"],
        &["detect"],
        &["snapshot"],
    ];
    for (i, args) in commands.iter().enumerate() {
        // Over the socket and over TCP in turn.
        let host = if i % 2 == 0 {
            socket.as_str()
        } else {
            "127.0.0.1"
        };
        let out = run(
            args,
            &[
                ("PGHOST", host),
                ("PGPORT", &port_text),
                ("PGDATABASE", "shop"),
                ("PGUSER", SUPERUSER),
                ("PGAPPNAME", "hangup-test"),
                ("HOME", "/nonexistent"),
            ],
        );
        assert!(
            out.status.code().is_some_and(|c| c <= 2),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    until_sessions_end(&server, "hangup-test").await;
    let log = server_log(&server);
    let connections =
        log.matches("connection authorized").count() + log.matches("connection received").count();
    assert!(connections > 0, "the log shows no connection:\n{log}");
    for unclean in [
        "unexpected EOF on client connection",
        "connection to client lost",
        "Broken pipe",
        "Connection reset by peer",
    ] {
        assert!(
            !log.contains(unclean),
            "{unclean:?} in the server log:\n{log}"
        );
    }
}

/// A server for the paired table: password rules as [`HBA`], log_connections
/// on, the demo data in `shop` and in a database named as the superuser;
/// `read_only` makes every transaction read-only by default (as a standby
/// answers for target_session_attrs=read-only).
async fn paired_server(read_only: bool) -> (PgServer, u16) {
    let port = free_port();
    let mut settings = vec![("log_connections".into(), "on".into())];
    if read_only {
        settings.push(("default_transaction_read_only".into(), "on".into()));
    }
    let server = PgServer::start_with(ServerOptions {
        tcp_port: Some(port),
        settings,
        files: vec![("pg_hba.conf".into(), HBA.into())],
    })
    .unwrap_or_else(|e| panic!("cannot start a server: {e}"));
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    let create = format!("CREATE ROLE alice LOGIN SUPERUSER PASSWORD '{ALICE_PASSWORD}'");
    let superuser_db = format!("CREATE DATABASE {SUPERUSER}");
    for sql in [
        "SET default_transaction_read_only = off",
        create.as_str(),
        "CREATE DATABASE shop",
        superuser_db.as_str(),
    ] {
        sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
    }
    admin.close().await.ok();
    for db in ["shop", SUPERUSER] {
        let mut conn = PgConnection::connect_with(&server.connect_options(db))
            .await
            .unwrap();
        sqlx::raw_sql("SET default_transaction_read_only = off")
            .execute(&mut conn)
            .await
            .unwrap();
        for (_, sql) in DEMO_SQL {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.ok();
    }
    (server, port)
}

/// Where the last session named `application_name` got in: (server name,
/// user, database), from the servers' logs.
fn reached(servers: &[(&str, &PgServer)], application_name: &str) -> Option<String> {
    let needle = format!("application_name={application_name}\n");
    let mut last: Option<(String, String)> = None;
    for (name, server) in servers {
        let log = server_log(server);
        for line in log.split_inclusive('\n') {
            if !line.ends_with(&needle) {
                continue;
            }
            let Some(rest) = line.split("connection authorized: ").nth(1) else {
                continue;
            };
            // Lines start with a timestamp: the latest one wins.
            let stamp = line[..23].to_string();
            let who = rest
                .trim_end()
                .replace(&format!(" application_name={application_name}"), "");
            if last.as_ref().is_none_or(|(at, _)| *at <= stamp) {
                last = Some((stamp, format!("{name}: {who}")));
            }
        }
    }
    last.map(|(_, who)| who)
}

/// A case of the paired table: the environment, the connection string (if
/// any), and where libpq goes (server: user, database), if anywhere.
type Case = (Vec<(&'static str, String)>, Option<String>, Option<String>);

/// The paired table's cases, on servers a and b (their socket directories
/// and ports), with the service files `services` and `sysconf`.
fn paired_cases(
    (sock_a, sock_b): (&str, &str),
    (pa, pb): (&str, &str),
    services: &str,
    sysconf: &str,
) -> Vec<Case> {
    let (sock_a, sock_b, pa, pb) = (
        sock_a.to_string(),
        sock_b.to_string(),
        pa.to_string(),
        pb.to_string(),
    );
    let (services, sysconf) = (services.to_string(), sysconf.to_string());
    let su = SUPERUSER;
    let on_a = format!("a: user={su} database=shop");
    let on_b = format!("b: user={su} database=shop");
    let env_a = vec![
        ("PGHOST", sock_a.clone()),
        ("PGPORT", pa.clone()),
        ("PGUSER", su.to_string()),
    ];
    let both = format!("{sock_a},{sock_b}");
    let ports = format!("{pa},{pb}");
    vec![
        // The environment alone.
        ([env_a.clone(), vec![("PGDATABASE", "shop".into())]].concat(), None, Some(on_a.clone())),
        // dbname defaults to the user name.
        (env_a.clone(), None, Some(format!("a: user={su} database={su}"))),
        // No host anywhere: the default socket directory only (no server there).
        (vec![("PGPORT", pa.clone()), ("PGUSER", su.into()), ("PGDATABASE", "shop".into())], None, None),
        // Keyword strings and URLs, empty hosts included.
        (vec![], Some(format!("host={sock_a} port={pa} dbname=shop user={su}")), Some(on_a.clone())),
        (vec![], Some(format!("postgresql://{su}@/shop?host={sock_a}&port={pa}")), Some(on_a.clone())),
        // An empty query parameter: refused, but for one trailing "&".
        (vec![], Some(format!("postgresql://{su}@/shop?host={sock_a}&&port={pa}")), None),
        (vec![], Some(format!("postgresql://{su}@/shop?&host={sock_a}&port={pa}")), None),
        (vec![], Some(format!("postgresql://{su}@/shop?host={sock_a}&port={pa}&")), Some(on_a.clone())),
        (vec![("PGHOST", sock_a.clone())], Some(format!("postgresql://:{pa}/shop?user={su}")), Some(on_a.clone())),
        (
            [env_a.clone(), vec![("PGDATABASE", "shop".into())]].concat(),
            Some(format!("postgresql://{su}@")),
            Some(on_a.clone()),
        ),
        (env_a.clone(), Some("shop".into()), Some(on_a.clone())),
        (vec![], Some(format!("postgresql://{su}@127.0.0.1:{pa}/shop")), Some(on_a.clone())),
        // Several hosts: in order, the first that answers.
        (vec![], Some(format!("host=/nonexistent,{sock_b} port={pa},{pb} dbname=shop user={su}")), Some(on_b.clone())),
        (vec![], Some(format!("postgresql://{su}@127.0.0.1:1,127.0.0.1:{pb}/shop")), Some(on_b.clone())),
        // target_session_attrs (b is read-only), in the string and the environment.
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=read-only")), Some(on_b.clone())),
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=read-write")), Some(on_a.clone())),
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=any")), Some(on_a.clone())),
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=prefer-standby")), Some(on_a.clone())),
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=primary")), Some(on_a.clone())),
        (vec![], Some(format!("host={both} port={ports} dbname=shop user={su} target_session_attrs=standby")), None),
        (
            vec![("PGTARGETSESSIONATTRS", "read-only".into())],
            Some(format!("host={both} port={ports} dbname=shop user={su}")),
            Some(on_b.clone()),
        ),
        (vec![("PGTARGETSESSIONATTRS", "bogus".into())], Some(format!("host={sock_a} port={pa} dbname=shop user={su}")), None),
        // hostaddr is where; host only names it.
        (vec![], Some(format!("host=db.invalid hostaddr=127.0.0.1 port={pa} dbname=shop user={su}")), Some(on_a.clone())),
        // Passwords: .pgpass in HOME, a wrong one, none.
        (vec![], Some(format!("host=127.0.0.1 port={pa} dbname=shop user=alice")), Some("a: user=alice database=shop".into())),
        (vec![("PGPASSWORD", "wrong".into())], Some(format!("host=127.0.0.1 port={pb} dbname=shop user=alice")), None),
        // .pgpass and hostaddr: libpq matches host if given, else hostaddr
        // (Debian's /usr/bin/psql wrapper sets PGHOST when no host is
        // given: then it is the socket directory, matched as localhost).
        (vec![], Some(format!("hostaddr=127.0.0.1 port={pa} dbname=shop user=alice")), Some("a: user=alice database=shop".into())),
        (vec![], Some(format!("hostaddr=127.0.0.1 port={pb} dbname=shop user=alice")), None),
        (vec![], Some(format!("host=localhost hostaddr=127.0.0.1 port={pb} dbname=shop user=alice")), Some("b: user=alice database=shop".into())),
        // Service files: PGSERVICEFILE, a missing one (libpq 15: an error), libpq's syntax.
        (vec![("PGSERVICEFILE", services.clone())], Some("service=a dbname=shop".into()), Some(on_a.clone())),
        (
            vec![("PGSERVICEFILE", "/nonexistent.conf".into()), ("PGSYSCONFDIR", sysconf.clone())],
            Some("service=a dbname=shop".into()),
            None,
        ),
        (vec![("PGSYSCONFDIR", sysconf.clone())], Some("service=a dbname=shop".into()), Some(on_a.clone())),
        (vec![("PGSERVICEFILE", services.clone())], Some(format!("service=spaced port={pa} user={su} dbname=shop")), None),
        // TLS on a server without it.
        (vec![], Some(format!("host=127.0.0.1 port={pa} dbname=shop user={su} sslmode=require")), None),
        (vec![], Some(format!("host=127.0.0.1 port={pa} dbname=shop user={su} sslmode=allow")), Some(on_a.clone())),
        (vec![], Some(format!("host=127.0.0.1 port={pa} dbname=shop user={su} sslmode=prefer")), Some(on_a.clone())),
        (vec![("PGREQUIRESSL", "1".into())], Some(format!("host=127.0.0.1 port={pa} dbname=shop user={su}")), None),
        (vec![("PGSSLMODE", "".into())], Some(format!("host={sock_a} port={pa} dbname=shop user={su}")), None),
        (vec![], Some(format!("host=127.0.0.1 port={pa} dbname=shop user={su} sslmode=verify-ca")), None),
        // No root certificate: a socket needs none (no TLS there), and is
        // tried first; a TCP host first ends the tries (as libpq).
        (vec![], Some(format!("host={sock_a},127.0.0.1 port={pa} dbname=shop user={su} sslmode=verify-full")), Some(on_a.clone())),
        (vec![], Some(format!("host=/nonexistent,{sock_a},127.0.0.1 port={pa} dbname=shop user={su} sslmode=verify-ca")), Some(on_a.clone())),
        (vec![], Some(format!("host=127.0.0.1,{sock_a} port={pa} dbname=shop user={su} sslmode=verify-full")), None),
        // A TLS try that fails (no TLS on that server) ends the tries too.
        (vec![], Some(format!("host=127.0.0.1,{sock_a} port={pa} dbname=shop user={su} sslmode=require")), None),
        (vec![], Some(format!("host=127.0.0.1,{sock_a} port={pa} dbname=shop user={su} sslmode=prefer")), Some(on_a.clone())),
    ]
}

/// The paired table: for each case the same environment (and connection
/// string, if any) for psql 15 and for tenantscope; both must reach the
/// same server, user and database, or both fail. The last column is what
/// libpq does (so a case where both go wrong the same way fails too).
#[tokio::test]
async fn psql_and_tenantscope_connect_to_the_same_place() {
    let psql = tenantscope::embedded::find_binaries()
        .expect("PostgreSQL binaries")
        .join("psql");
    let (a, port_a) = paired_server(false).await;
    let (b, port_b) = paired_server(true).await;
    let (sock_a, sock_b) = (
        a.socket_dir().display().to_string(),
        b.socket_dir().display().to_string(),
    );
    let (pa, pb) = (port_a.to_string(), port_b.to_string());
    let home = tempfile::tempdir().unwrap();
    let home_dir = home.path().display().to_string();
    let escaped = ALICE_PASSWORD.replace('\\', "\\\\").replace(':', "\\:");
    write(
        home.path(),
        ".pgpass",
        &format!("127.0.0.1:{pa}:*:alice:{escaped}\nlocalhost:{pb}:*:alice:{escaped}\n"),
        0o600,
    );
    let services = write(
        home.path(),
        "services.conf",
        &format!("[a]\nhost={sock_a}\nport={pa}\nuser={SUPERUSER}\n[spaced]\nhost = {sock_a}\n"),
        0o644,
    );
    let sysconf = tempfile::tempdir().unwrap();
    write(
        sysconf.path(),
        "pg_service.conf",
        &format!("[a]\nhost={sock_a}\nport={pa}\nuser={SUPERUSER}\n"),
        0o644,
    );
    let services = services.display().to_string();
    let sysconf = sysconf.path().display().to_string();
    let cases = paired_cases((&sock_a, &sock_b), (&pa, &pb), &services, &sysconf);
    let servers = [("a", &a), ("b", &b)];
    let mut outcomes = (0, 0);
    for (i, (env, conninfo, libpq)) in cases.iter().enumerate() {
        let case = format!("case {i}: env {env:?}, connection string {conninfo:?}");
        let with_env = |command: &mut std::process::Command, app: &str| {
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if key.starts_with("PG") {
                    command.env_remove(key.as_ref());
                }
            }
            command
                .env("HOME", &home_dir)
                .env("PGCONNECT_TIMEOUT", "5")
                .env("PGAPPNAME", app)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        };
        let psql_app = format!("paired-{i}-psql");
        let mut command = std::process::Command::new(&psql);
        with_env(&mut command, &psql_app);
        command.args(["-X", "-w", "-At", "-c", "SELECT 1"]);
        command.args(conninfo.iter());
        let psql_out = command.output().expect("run psql");
        let ours_app = format!("paired-{i}-tenantscope");
        let mut command = bare_command();
        with_env(&mut command, &ours_app);
        if let Some(conninfo) = conninfo {
            command.args(["--database-url", conninfo]);
        }
        let ours_out = command
            .args(["tenants", "--format", "json"])
            .output()
            .expect("run tenantscope");
        let theirs = psql_out
            .status
            .success()
            .then(|| reached(&servers, &psql_app))
            .flatten();
        let ours = ours_out
            .status
            .success()
            .then(|| reached(&servers, &ours_app))
            .flatten();
        let detail = format!(
            "{case}\npsql: {theirs:?} {}\ntenantscope: {ours:?} {}",
            String::from_utf8_lossy(&psql_out.stderr).trim(),
            stderr(&ours_out).trim()
        );
        assert_eq!(theirs, ours, "psql and tenantscope differ\n{detail}");
        assert_eq!(&ours, libpq, "not where libpq goes\n{detail}");
        if ours.is_some() {
            outcomes.0 += 1;
        } else {
            // A failure is one line, with no password.
            assert_eq!(stderr(&ours_out).lines().count(), 1, "{detail}");
            if conninfo.is_none() && !env.iter().any(|(k, _)| *k == "PGHOST") {
                assert!(
                    stderr(&ours_out).contains("no server socket at /")
                        && stderr(&ours_out).contains("default socket directory"),
                    "the error names where it looked\n{detail}"
                );
            }
            assert!(!stderr(&ours_out).contains("p:w"), "{detail}");
            outcomes.1 += 1;
        }
    }
    assert!(outcomes.0 > 10 && outcomes.1 > 5, "{outcomes:?}");
}

/// Through PgBouncer: every client session ends with a Terminate ("client
/// close request"), never an unexpected EOF, and no server connection is
/// closed because a client left it mid-answer.
#[tokio::test]
async fn commands_through_pgbouncer_hang_up_cleanly() {
    let db = TestDatabase::demo().await;
    let pooler = tenantscope::embedded::testing::TestPooler::start();
    let url = format!("{}?pgbouncer=true", pooler.url(&db.name));
    let commands: &[&[&str]] = &[
        &["tenants"],
        &["users"],
        &["orders", "1"],
        &["basket", "1"],
        &["prices"],
        &["health"],
    ];
    for args in commands {
        let out = run(
            &[&["--database-url", url.as_str()], *args].concat(),
            &[("HOME", "/nonexistent")],
        );
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // Bounded wait until PgBouncer has logged the end of every client it let in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let log = loop {
        let log = pooler.log();
        let logins = log.matches("login attempt").count();
        let ended = log
            .lines()
            .filter(|l| l.contains(" C-") && l.contains("closing because"))
            .count();
        if logins > 0 && ended >= logins {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{ended} of {logins} clients ended:\n{log}"
        );
        tokio::task::yield_now().await;
    };
    for unclean in [
        "client unexpected eof",
        "client disconnect while server was not ready",
        "server conn crashed",
    ] {
        assert!(
            !log.contains(unclean),
            "{unclean:?} in PgBouncer's log:\n{log}"
        );
    }
    assert!(log.contains("client close request"), "{log}");
}

/// psql 15 with nothing from this machine that names a database (as
/// [`bare_command`]), `-X -w -At`: no psqlrc, never a password prompt.
fn psql_command() -> std::process::Command {
    let psql = tenantscope::embedded::find_binaries()
        .expect("PostgreSQL binaries")
        .join("psql");
    let mut command = std::process::Command::new(psql);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("PG") {
            command.env_remove(key.as_ref());
        }
    }
    command
        .env("HOME", "/nonexistent")
        .args(["-X", "-w", "-At"]);
    command
}

/// The session's time zone is psql's: `PGTZ` (over a `-c timezone=` of
/// `PGOPTIONS`, as libpq sends it after `options`), `-c timezone=` alone,
/// and a zone the server refuses (both fail). A user's creation time was
/// always printed in UTC (sqlx's start-up `TimeZone=UTC`).
#[tokio::test]
async fn timestamps_print_in_the_time_zone_psql_sets() {
    let db = TestDatabase::demo().await;
    let socket = db.socket_dir().display().to_string();
    let base = [
        ("PGHOST", socket.as_str()),
        ("PGDATABASE", db.name.as_str()),
        ("PGUSER", SUPERUSER),
    ];
    for zone in [
        vec![("PGTZ", "Asia/Tokyo")],
        vec![("PGOPTIONS", "-c timezone=America/New_York")],
        vec![("PGTZ", "Asia/Tokyo"), ("PGOPTIONS", "-c TimeZone=UTC")],
        vec![("PGTZ", "Bogus/Zone")],
    ] {
        let env: Vec<(&str, &str)> = base.iter().chain(&zone).copied().collect();
        let theirs = psql_command()
            .envs(env.iter().copied())
            .args([
                "-c",
                "SELECT creation_timestamp FROM public.users WHERE id = '1'",
            ])
            .output()
            .expect("run psql");
        let theirs = theirs
            .status
            .success()
            .then(|| stdout(&theirs).trim().to_string());
        let out = run(&["users", "--format", "json"], &env);
        let ours = out.status.success().then(|| {
            let users: Value = serde_json::from_str(&stdout(&out)).unwrap();
            let user = users.as_array().unwrap().iter().find(|u| u["id"] == "1");
            user.unwrap()["created"].as_str().unwrap().to_string()
        });
        assert_eq!(ours, theirs, "{zone:?}: {}", stderr(&out));
        match ours {
            Some(created) => assert!(!created.ends_with("+00"), "{zone:?}: {created}"),
            None => assert_one_line_error(&out, 1, "invalid value for parameter \"TimeZone\""),
        }
    }
}

/// No password (none, `password=`, an empty `PGPASSWORD`) where the server
/// asks for one fails as psql's "fe_sendauth: no password supplied" does,
/// over TCP and the socket, tried once: it read "password authentication
/// failed", twice over (the empty password sqlx sends, refused as a wrong
/// one, then again without TLS).
#[tokio::test]
async fn no_password_where_one_is_asked_fails_as_psql_says() {
    let server = PasswordServer::start().await;
    let (port, socket) = (server.port(), server.socket());
    for (conninfo, env) in [
        (
            format!("host=127.0.0.1 port={port} dbname=shop user=alice password="),
            vec![],
        ),
        (
            format!("host=127.0.0.1 port={port} dbname=shop user=alice"),
            vec![("PGPASSWORD", "")],
        ),
        (
            format!("host={socket} port={port} dbname=shop user=alice password=''"),
            vec![],
        ),
    ] {
        let theirs = psql_command()
            .envs(env.iter().copied())
            .args(["-c", "SELECT 1", &conninfo])
            .output()
            .expect("run psql");
        assert!(!theirs.status.success(), "{conninfo}");
        assert!(
            stderr(&theirs).contains("no password supplied"),
            "{}",
            stderr(&theirs)
        );
        let mut home = env.clone();
        home.push(("HOME", "/nonexistent"));
        let out = run(&["--database-url", &conninfo, "tenants"], &home);
        assert_one_line_error(&out, 1, "no password supplied");
        assert!(
            !stderr(&out).contains("password authentication failed"),
            "{}",
            stderr(&out)
        );
    }
    // Where the host is chosen (several hosts, target_session_attrs, a
    // root certificate file), one try too: it was two failed logins in
    // the server's log (the same server again without TLS).
    let log = server.log_path();
    let failed = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("password authentication failed")
            .count()
    };
    let before = failed();
    let conninfo = format!(
        "host=127.0.0.1 port={port} dbname=shop user=alice target_session_attrs=read-write"
    );
    let out = run(
        &["--database-url", &conninfo, "tenants"],
        &[("HOME", "/nonexistent")],
    );
    assert_one_line_error(&out, 1, "no password supplied");
    assert_eq!(failed() - before, 1, "{}", stderr(&out));
}

/// A server that never answers (its SYNs dropped: a listener whose queue is
/// full) with `PGCONNECT_TIMEOUT=2`: tenantscope gives up when psql does,
/// where it took 0.75 s longer (its probe, started 0.25 s in, waited a
/// whole timeout of its own, then half a second more asking whether
/// anything answers there).
#[tokio::test]
async fn a_connect_timeout_gives_up_when_psql_does() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    // Fill the queue (never accepted) until a connection gets no answer.
    let mut queued = Vec::new();
    let short = std::time::Duration::from_millis(100);
    let blackholed = (0..8).any(
        |_| match std::net::TcpStream::connect_timeout(&address, short) {
            Ok(stream) => {
                queued.push(stream);
                false
            }
            Err(_) => true,
        },
    );
    assert!(blackholed, "the full queue still answers");
    let port = address.port().to_string();
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", SUPERUSER),
        ("PGCONNECT_TIMEOUT", "2"),
    ];
    let started = std::time::Instant::now();
    let theirs = psql_command()
        .envs(env)
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    let psql_took = started.elapsed();
    assert!(
        stderr(&theirs).contains("timeout expired"),
        "{}",
        stderr(&theirs)
    );
    let started = std::time::Instant::now();
    let out = run(&["tenants"], &env);
    let took = started.elapsed();
    assert_one_line_error(&out, 1, "no answer within 2000 ms");
    assert!(
        took >= std::time::Duration::from_secs(2) && took < psql_took + short * 4,
        "tenantscope gave up after {took:?}, psql after {psql_took:?}"
    );
    drop((queued, listener));
}

/// `prefer` on a server that offers no TLS: one try, as libpq (its try was
/// without TLS already). A wrong password read "… (and with TLS: password
/// authentication failed …)": two failed logins, one said to be with TLS.
#[tokio::test]
async fn prefer_without_tls_on_the_server_tries_once_as_libpq() {
    let server = PasswordServer::start().await;
    let port = server.port();
    for sslmode in ["", " sslmode=prefer"] {
        let conninfo =
            format!("host=127.0.0.1 port={port} dbname=shop user=alice password=wrong{sslmode}");
        let theirs = psql_command()
            .args(["-c", "SELECT 1", &conninfo])
            .output()
            .unwrap();
        assert_eq!(
            stderr(&theirs)
                .matches("password authentication failed")
                .count(),
            1,
            "{}",
            stderr(&theirs)
        );
        let out = run(
            &["--database-url", &conninfo, "tenants"],
            &[("HOME", "/nonexistent")],
        );
        assert_one_line_error(&out, 1, "password authentication failed for user \"alice\"");
        let err = stderr(&out);
        assert_eq!(
            err.matches("password authentication failed").count(),
            1,
            "{err}"
        );
        assert!(!err.contains("with TLS"), "{err}");
    }
}
