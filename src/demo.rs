//! The built-in demo database: a private server started with nothing
//! configured, before a command runs, or behind the dashboard's
//! connecting screen.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::{Connection, Executor, PgConnection};

use tenantscope::app::runtime::Signals;
use tenantscope::db::ConnectionSource;
use tenantscope::embedded::{PgServer, ServerOptions, DEMO_SQL};
use tenantscope::Failure;

use crate::interrupted;

/// Starts the demo server off the async threads; a signal meanwhile makes it
/// give up, stopping initdb or postgres and removing its directory.
pub(crate) async fn start_demo_server(signals: &mut Signals) -> Result<PgServer, Failure> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let start =
        tokio::task::spawn_blocking(move || PgServer::start_until(ServerOptions::default(), &flag));
    tokio::pin!(start);
    let joined = tokio::select! {
        joined = &mut start => joined,
        signal = signals.recv() => {
            interrupt.store(true, Ordering::SeqCst);
            // Wait for the clean-up; a server that won the race is dropped (stopped).
            drop(start.await);
            return Err(interrupted(signal));
        }
    };
    joined
        .map_err(|e| Failure::runtime(format!("the demo server start failed: {e}")))?
        .map_err(Failure::runtime)
}

/// The demo for a dashboard that draws first (or the profile picker's
/// `demo`): started by its first connection, so "starting the demo
/// database…" shows meanwhile. Dropped after the runtime (whose end waits
/// for a start still under way, see [`LazyDemo::give_up`]), it stops the
/// server.
#[derive(Default)]
pub(crate) struct LazyDemo {
    interrupt: Arc<AtomicBool>,
    /// Starts under way: the runtime's end waits for them.
    starting: AtomicUsize,
    server: Mutex<Option<PgServer>>,
    /// Held through a start and load: a second connection waits for the
    /// first one's server rather than start another (which would replace,
    /// and so stop, the first).
    ready: tokio::sync::Mutex<Option<ConnectionSource>>,
}

impl LazyDemo {
    /// The demo database, started and loaded on the first call.
    pub(crate) async fn source(&self) -> Result<ConnectionSource, Failure> {
        let mut ready = self.ready.lock().await;
        if let Some(source) = &*ready {
            return Ok(source.clone());
        }
        self.starting.fetch_add(1, Ordering::SeqCst);
        let _started = Started(&self.starting);
        // After counting this start: the runtime's end either sees it (and
        // waits) or this sees that it ends.
        if self.interrupt.load(Ordering::SeqCst) {
            return Err(Failure::runtime("the demo server start was given up"));
        }
        let flag = self.interrupt.clone();
        let server = tokio::task::spawn_blocking(move || {
            PgServer::start_until(ServerOptions::default(), &flag)
        })
        .await
        .map_err(|e| Failure::runtime(format!("the demo server start failed: {e}")))?
        .map_err(Failure::runtime)?;
        // Owned here from now on, not by this future: a quit while the data
        // loads drops the future, and the server stops with `self`.
        let (admin, demo) = (
            server.connect_options("postgres"),
            server.connect_options("demo"),
        );
        // A retry after a failed load starts over on a fresh server (the
        // failed one, in use by nothing, stops).
        *self.server.lock().unwrap() = Some(server);
        let source = load_demo(admin, demo).await?;
        *ready = Some(source.clone());
        Ok(source)
    }

    /// A start under way gives up (initdb or postgres stopped, its
    /// directory removed); the runtime's end waits for it.
    pub(crate) fn give_up(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }

    /// A start is under way (after [`LazyDemo::give_up`], none begins).
    pub(crate) fn is_starting(&self) -> bool {
        self.starting.load(Ordering::SeqCst) > 0
    }
}

/// Counts a start as under way until it ends, however it ends.
struct Started<'a>(&'a AtomicUsize);

impl Drop for Started<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Creates the `demo` database on the private server and loads sql/ into it.
pub(crate) async fn load_demo(
    admin: sqlx::postgres::PgConnectOptions,
    options: sqlx::postgres::PgConnectOptions,
) -> Result<ConnectionSource, Failure> {
    let fail = |e: sqlx::Error| Failure::runtime(format!("cannot load the demo data: {e}"));
    let mut admin = PgConnection::connect_with(&admin).await.map_err(fail)?;
    // `Executor::execute` with text is one simple-protocol query, like
    // `raw_sql`, whose future is not `Send` where the dashboard needs it.
    admin.execute("CREATE DATABASE demo").await.map_err(fail)?;
    admin.close().await.ok();
    let mut conn = PgConnection::connect_with(&options).await.map_err(fail)?;
    for (_, sql) in DEMO_SQL {
        conn.execute(sql).await.map_err(fail)?;
    }
    // Statistics, so that estimated counts (health view) have something to show.
    conn.execute("ANALYZE").await.map_err(fail)?;
    conn.close().await.ok();
    Ok(ConnectionSource::demo(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two connections that want the demo at once (the picker's `demo`,
    /// Esc, `demo` again) get one server: the second waited for the
    /// first, which it used to replace, and so stop, under it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_connections_to_the_demo_share_one_server() {
        let demo = LazyDemo::default();
        let (first, second) = tokio::join!(demo.source(), demo.source());
        let socket = |s: ConnectionSource| s.options().get_socket().map(|p| p.to_path_buf());
        let (first, second) = (socket(first.unwrap()), socket(second.unwrap()));
        assert!(first.is_some() && first == second, "{first:?} {second:?}");
        let options = demo
            .server
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .connect_options("demo");
        let mut conn = PgConnection::connect_with(&options).await.unwrap();
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(users, 4, "the server the connections use still runs");
        conn.close().await.unwrap();
    }

    /// Given up (the runtime ends), no start begins: a connection that asks
    /// for the demo then gets an error and no server.
    #[tokio::test]
    async fn a_demo_given_up_starts_no_server() {
        let demo = LazyDemo::default();
        demo.give_up();
        assert!(demo.source().await.is_err());
        assert!(demo.server.lock().unwrap().is_none());
        assert!(!demo.is_starting());
    }
}
