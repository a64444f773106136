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
        sqlx::raw_sql(&format!("CREATE DATABASE {name} TEMPLATE template0"))
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

    /// Runs a psql script (such as sql/scale.sql) with `-v name=value` variables.
    pub fn run_psql(&self, file: &std::path::Path, variables: &[(&str, String)]) {
        run_psql(&self.socket_dir, &self.name, file, variables).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs SQL as the superuser (fixtures, and checks on the database's state).
    pub async fn run_sql(&self, sql: &str) {
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .expect("connect to the test database");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("fixture SQL failed: {e}\n{sql}"));
        conn.close().await.ok();
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
