//! Test support: one private server per test process, a fresh database per test.
//!
//! Tests run in parallel threads, each with its own tokio runtime, so they
//! share only the server process; every test gets a database of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::{PgServer, DEMO_SQL};

static SERVER: Mutex<Option<PgServer>> = Mutex::new(None);
static STARTED: OnceLock<Result<(String, std::path::PathBuf), String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

extern "C" fn stop_server_at_exit() {
    // Statics are never dropped: stop the server when the test process exits.
    if let Ok(mut guard) = SERVER.lock() {
        guard.take();
    }
}

/// Starts the process-wide test server once; returns its socket directory.
fn server_socket_dir() -> std::path::PathBuf {
    let started = STARTED.get_or_init(|| {
        let server = PgServer::start().map_err(|e| e.to_string())?;
        let found = (server.url("postgres"), server.socket_dir().to_path_buf());
        *SERVER.lock().unwrap() = Some(server);
        // SAFETY: registering a plain extern "C" function with libc.
        unsafe { nix::libc::atexit(stop_server_at_exit) };
        Ok(found)
    });
    match started {
        Ok((_, dir)) => dir.clone(),
        Err(e) => panic!("cannot start the test PostgreSQL server: {e}"),
    }
}

/// A database of its own for one test, on the shared test server.
pub struct TestDatabase {
    pub name: String,
    pub options: PgConnectOptions,
    pub url: String,
    socket_dir: std::path::PathBuf,
}

impl TestDatabase {
    /// An empty database.
    pub async fn empty() -> TestDatabase {
        Self::empty_with("").await
    }

    /// An empty database made with `options` after `CREATE DATABASE name
    /// TEMPLATE template0` (such as `LOCALE_PROVIDER icu ICU_LOCALE 'und'`:
    /// a default collation other than the server's `C`).
    pub async fn empty_with(options: &str) -> TestDatabase {
        let socket_dir = server_socket_dir();
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let admin = PgConnectOptions::new_without_pgpass()
            .socket(&socket_dir)
            .port(super::PORT)
            .username(super::SUPERUSER)
            .database("postgres");
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect to the test server");
        sqlx::raw_sql(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 {options}"
        ))
        .execute(&mut conn)
        .await
        .expect("create a test database");
        conn.close().await.ok();
        let options = admin.clone().database(&name);
        let url = format!(
            "postgres://{}@localhost:{}/{name}?host={}",
            super::SUPERUSER,
            super::PORT,
            socket_dir.display()
        );
        TestDatabase {
            name,
            options,
            url,
            socket_dir,
        }
    }

    /// The directory of the shared server's Unix socket (what `PGHOST` names).
    pub fn socket_dir(&self) -> &std::path::Path {
        &self.socket_dir
    }

    /// A database loaded with the reference data (sql/init.sql, sql/populate.sql).
    pub async fn reference() -> TestDatabase {
        let db = Self::empty().await;
        db.run_sql(DEMO_SQL[0].1).await;
        db.run_sql(DEMO_SQL[1].1).await;
        db
    }

    /// A database loaded like the demo (all of sql/ the demo uses).
    pub async fn demo() -> TestDatabase {
        let db = Self::empty().await;
        for (_, sql) in DEMO_SQL {
            db.run_sql(sql).await;
        }
        db
    }

    /// The app's database layer on this database, with the default settings.
    pub async fn connect(&self) -> crate::db::Database {
        let source = crate::db::ConnectionSource::demo(self.options.clone());
        crate::db::Database::connect(&source, &crate::config::Settings::default())
            .await
            .expect("connect")
    }

    /// Runs a psql script (such as sql/scale.sql) with `-v name=value` variables.
    pub fn run_psql(&self, file: &std::path::Path, variables: &[(&str, String)]) {
        run_psql(&self.socket_dir, &self.name, file, variables).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs SQL as the superuser (fixtures, and checks on the database's state).
    pub async fn run_sql(&self, sql: &str) {
        self.session(sql).await.close().await.ok();
    }

    /// Another session, the superuser's, with `sql` run on it: what it
    /// holds (a lock, an open transaction) it holds until it is closed.
    pub async fn session(&self, sql: &str) -> PgConnection {
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .expect("connect to the test database");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("fixture SQL failed: {e}\n{sql}"));
        conn
    }

    /// Another session holding `table` (ACCESS EXCLUSIVE, in an open
    /// transaction): every query that reads it waits until that session
    /// rolls back or closes.
    pub async fn lock_table(&self, table: &str) -> PgConnection {
        self.session(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        ))
        .await
    }

    /// One text value from a query run as the superuser.
    pub async fn query_text(&self, sql: &str) -> String {
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .expect("connect to the test database");
        let value: String = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"));
        conn.close().await.ok();
        value
    }
}

/// Runs `file` with the psql that sits beside the server binaries.
pub fn run_psql(
    socket_dir: &std::path::Path,
    database: &str,
    file: &std::path::Path,
    variables: &[(&str, String)],
) -> Result<(), String> {
    let bin = super::find_binaries().map_err(|e| e.to_string())?;
    let mut psql = std::process::Command::new(bin.join("psql"));
    psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(socket_dir)
        .args([
            "-p",
            &super::PORT.to_string(),
            "-U",
            super::SUPERUSER,
            "-d",
            database,
        ]);
    for (name, value) in variables {
        psql.arg("-v").arg(format!("{name}={value}"));
    }
    let output = psql
        .arg("-f")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "psql -f {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// A real PgBouncer in transaction mode in front of the test server, with
/// two server connections per database and user, so that client
/// connections really share them. Stopped, its directory removed, on drop.
pub struct TestPooler {
    dir: tempfile::TempDir,
    port: u16,
    pid: nix::unistd::Pid,
    exited: std::sync::mpsc::Receiver<()>,
}

/// Server connections per (database, user) pool.
pub const POOLER_POOL_SIZE: u32 = 2;

impl TestPooler {
    /// Starts PgBouncer (from PATH or /usr/sbin) on a free 127.0.0.1 port,
    /// forwarding every database to the test server's socket; as root it
    /// runs as the unprivileged account, like the server. Panics (the test
    /// cannot run) when PgBouncer is missing or does not start.
    pub fn start() -> TestPooler {
        Self::start_with("transaction", POOLER_POOL_SIZE)
    }

    /// [`TestPooler::start`] in `mode` (`session` or `transaction`) with
    /// `pool_size` server connections per database and user.
    pub fn start_with(mode: &str, pool_size: u32) -> TestPooler {
        Self::try_start(mode, pool_size).unwrap_or_else(|e| panic!("cannot start PgBouncer: {e}"))
    }

    fn try_start(mode: &str, pool_size: u32) -> Result<TestPooler, String> {
        use std::os::unix::process::CommandExt;
        let server_dir = server_socket_dir();
        let binary = find_pgbouncer()?;
        let run_as = super::unprivileged_account().map_err(|e| e.to_string())?;
        let dir = tempfile::Builder::new()
            .prefix("tenantscope-pgbouncer-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let path = |name: &str| dir.path().join(name);
        // No pooler-side setting for tenantscope's sake: stock transaction
        // pooling, prepared-statement support off (1.18 has none).
        let ini = format!(
            "[databases]\n* = host={server} port={server_port}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
             unix_socket_dir = {dir}\nauth_type = trust\nauth_file = {users}\n\
             pool_mode = {mode}\ndefault_pool_size = {pool_size}\n\
             max_client_conn = 200\nlogfile = {log}\n",
            server = server_dir.display(),
            server_port = super::PORT,
            dir = dir.path().display(),
            users = path("users.txt").display(),
            log = path("pgbouncer.log").display(),
        );
        std::fs::write(path("pgbouncer.ini"), ini).map_err(|e| e.to_string())?;
        std::fs::write(
            path("users.txt"),
            format!("\"{}\" \"\"\n", super::SUPERUSER),
        )
        .map_err(|e| e.to_string())?;
        if let Some(account) = &run_as {
            for entry in [
                dir.path().to_path_buf(),
                path("pgbouncer.ini"),
                path("users.txt"),
            ] {
                std::os::unix::fs::chown(
                    &entry,
                    Some(account.uid.as_raw()),
                    Some(account.gid.as_raw()),
                )
                .map_err(|e| format!("cannot hand {} to postgres: {e}", entry.display()))?;
            }
        }
        let mut command = std::process::Command::new(binary);
        command
            .arg(path("pgbouncer.ini"))
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0);
        super::as_account(&mut command, &run_as);
        // If the test process dies, so does PgBouncer.
        let kill = nix::sys::signal::Signal::SIGKILL;
        let (pid, exited) = super::spawn_kept(command, kill, "PgBouncer", "pgbouncer")?;
        let pooler = TestPooler {
            dir,
            port,
            pid,
            exited,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(path_in(&pooler.dir, "pgbouncer.log"));
            if pooler.exited.try_recv().is_ok() || std::time::Instant::now() > deadline {
                return Err(format!(
                    "PgBouncer did not start: {}",
                    log.unwrap_or_default().trim()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(pooler)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection options for `database` through the pooler (TCP, no
    /// password), without the start-up parameter PgBouncer refuses.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(super::SUPERUSER)
            .database(database)
            .extra_float_digits(None)
    }

    /// A URL for `database` through the pooler.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{database}",
            super::SUPERUSER,
            self.port
        )
    }

    /// Its temporary directory (ini, auth file, log, socket).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The PgBouncer process.
    pub fn pid(&self) -> nix::unistd::Pid {
        self.pid
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(path_in(&self.dir, "pgbouncer.log")).unwrap_or_default()
    }
}

fn path_in(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    dir.path().join(name)
}

impl Drop for TestPooler {
    fn drop(&mut self) {
        // SIGTERM: immediate shutdown, clients dropped.
        for signal in [
            nix::sys::signal::Signal::SIGTERM,
            nix::sys::signal::Signal::SIGKILL,
        ] {
            if nix::sys::signal::kill(self.pid, signal).is_err() {
                break;
            }
            if self
                .exited
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok()
            {
                break;
            }
        }
        // TempDir removes the ini, the log and the socket after this.
    }
}

/// PgBouncer on PATH, else where Debian puts it.
fn find_pgbouncer() -> Result<std::path::PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .map(|dir| dir.join("pgbouncer"))
        .chain([std::path::PathBuf::from("/usr/sbin/pgbouncer")])
        .find(|path| path.is_file())
        .ok_or_else(|| {
            "pgbouncer not found on PATH or in /usr/sbin (apt-get install pgbouncer)".into()
        })
}
