//! Pools sized to what the server or pooler grants.
//!
//! A pool asks for up to `database.max_connections`; a server at its
//! `max_connections`, or a session-mode pooler at its `pool_size`, grants
//! fewer: the pooler even accepts the extra client connections and then
//! holds their first query until a server connection frees up, which in
//! session mode is never while the others live. So every new connection
//! answers one round trip before it is used (within the connect timeout),
//! and one that does not is not granted: when others work, the pool
//! shrinks to those and the load waits for one of them; with none, it is
//! an error that says why.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgTransactionManager};
use sqlx::{PgConnection, Postgres, TransactionManager};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many connections may be out at once, shrunk to what was granted.
#[derive(Debug)]
pub(super) struct Grant {
    permits: Arc<Semaphore>,
    /// The permits in being (out or available).
    size: AtomicU32,
    /// Serializes shrinking.
    shrinking: Mutex<()>,
    /// A connection was made whose first round trip never came back (a
    /// pooler holding it for want of a server connection).
    held_back: AtomicBool,
}

impl Grant {
    pub(super) fn new(max_connections: u32) -> Grant {
        Grant {
            permits: Arc::new(Semaphore::new(max_connections as usize)),
            size: AtomicU32::new(max_connections),
            shrinking: Mutex::new(()),
            held_back: AtomicBool::new(false),
        }
    }

    /// How many connections may be out at once now.
    pub(super) fn size(&self) -> u32 {
        self.size.load(Ordering::SeqCst)
    }

    /// A new connection's first round trip did not come back in time.
    pub(super) fn note_held_back(&self) {
        self.held_back.store(true, Ordering::SeqCst);
    }

    pub(super) fn was_held_back(&self) -> bool {
        self.held_back.load(Ordering::SeqCst)
    }

    /// How many more connections may be had now without waiting.
    pub(super) fn free(&self) -> usize {
        self.permits.available_permits()
    }

    /// Up to `n` connections' places, taken now if free (never waited
    /// for): the statements a load runs side by side begin on them (see
    /// [`Reserved::scope`]).
    pub(super) fn reserve(&self, n: usize) -> Reserved {
        let mut permits = Vec::new();
        while permits.len() < n {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        Reserved(Arc::new(Mutex::new(permits)))
    }

    async fn permit(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// `permit`'s connection was not granted: when `live` connections
    /// exist, no more than the others out (at least one) stay allowed and
    /// true is returned (wait for one); false when there is none to wait for.
    fn shrink(&self, permit: OwnedSemaphorePermit, live: bool) -> bool {
        let _one = self.shrinking.lock().unwrap_or_else(|e| e.into_inner());
        let size = self.size();
        let others = size
            .saturating_sub(self.permits.available_permits() as u32)
            .saturating_sub(1);
        if !live && others == 0 {
            return false;
        }
        let keep = others.max(1);
        let excess = size.saturating_sub(keep) as usize;
        // The refused place is among those to forget, not given back: given
        // back, it goes to a queued load at once, past `forget_permits`
        // (which takes only free ones), and the grant would not shrink.
        let forgotten = if excess == 0 {
            drop(permit);
            0
        } else {
            permit.forget();
            1 + self.permits.forget_permits(excess - 1)
        };
        let left = size - forgotten as u32;
        self.size.store(left, Ordering::SeqCst);
        if left < size {
            tracing::warn!(
                granted = left,
                asked = size,
                "the server or pooler grants fewer connections than database.max_connections: \
                 using those"
            );
        }
        true
    }
}

/// Places among the granted connections one load took without waiting,
/// for its statements side by side: a transaction begun within
/// [`Reserved::scope`] takes one of them (given back when it ends) before
/// it would wait for the pool. So a load's statements side by side never
/// wait for connections another load holds (a wait that could pass the
/// acquire timeout and fail the load): beyond those reserved, at most one
/// of its statements waits, as a load reading in turn does. Freed once the
/// load is done with them.
#[derive(Debug, Clone)]
pub(crate) struct Reserved(Arc<Mutex<Vec<OwnedSemaphorePermit>>>);

tokio::task_local! {
    static RESERVED: Reserved;
}

impl Reserved {
    /// How many places are reserved (and not in use).
    pub(super) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Runs `work` with these places for the transactions it begins.
    pub(super) async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        RESERVED.scope(self, work).await
    }
}

/// A reserved place, if this task's load has one free.
pub(super) fn take_reserved() -> Option<Held> {
    RESERVED
        .try_with(|reserved| {
            let permit = reserved.0.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            Some(Held {
                permit: Some(permit),
                back: Some(reserved.clone()),
            })
        })
        .ok()
        .flatten()
}

/// A transaction's place: a reserved one goes back to its load's
/// reservation when the transaction ends.
#[derive(Debug)]
pub(super) struct Held {
    permit: Option<OwnedSemaphorePermit>,
    back: Option<Reserved>,
}

impl Held {
    fn own(permit: OwnedSemaphorePermit) -> Held {
        Held {
            permit: Some(permit),
            back: None,
        }
    }

    /// One of a load's reserved places (see [`Reserved`]).
    fn is_reserved(&self) -> bool {
        self.back.is_some()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let (Some(permit), Some(back)) = (self.permit.take(), &self.back) {
            back.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(permit);
        }
    }
}

/// Why no connection came within `ms` (the connect timeout), in one line.
pub(super) fn no_connection(ms: u128, grant: &Grant) -> String {
    if grant.was_held_back() {
        format!(
            "no connection granted within {ms} ms: the server or pooler answers but gives \
             no session (pooler full? a session-mode PgBouncer at its pool_size)"
        )
    } else {
        format!(
            "timed out: no connection free within {ms} ms (all {} in use)",
            grant.size()
        )
    }
}

/// Whether whoever listens at `options`' address speaks the protocol at
/// all: it answers an SSLRequest (a pooler does so itself, even when it has
/// no server connection to give; a blackholed or frozen server does not).
pub(super) async fn answers(options: &sqlx::postgres::PgConnectOptions) -> bool {
    tls_answer(options).await.is_some()
}

/// What whoever listens at `options`' address answers an SSLRequest:
/// `Some(true)` it offers TLS (`S`), `Some(false)` it does not (`N`), `None`
/// no such answer within half a second.
pub(super) async fn tls_answer(options: &sqlx::postgres::PgConnectOptions) -> Option<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    async fn ask<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        mut stream: S,
    ) -> Option<bool> {
        let mut reply = [0u8; 1];
        stream.write_all(&SSL_REQUEST).await.ok()?;
        match (stream.read(&mut reply).await, reply[0]) {
            (Ok(1), b'S') => Some(true),
            (Ok(1), b'N') => Some(false),
            _ => None,
        }
    }
    let probe = async {
        let host = options.get_host();
        match options.get_socket() {
            Some(dir) => {
                let path = dir.join(format!(".s.PGSQL.{}", options.get_port()));
                match tokio::net::UnixStream::connect(path).await {
                    Ok(stream) => ask(stream).await,
                    Err(_) => None,
                }
            }
            None if host.starts_with('/') => {
                let path =
                    std::path::Path::new(host).join(format!(".s.PGSQL.{}", options.get_port()));
                match tokio::net::UnixStream::connect(path).await {
                    Ok(stream) => ask(stream).await,
                    Err(_) => None,
                }
            }
            None => match tokio::net::TcpStream::connect((host, options.get_port())).await {
                Ok(stream) => ask(stream).await,
                Err(_) => None,
            },
        }
    };
    tokio::time::timeout(std::time::Duration::from_millis(500), probe)
        .await
        .ok()
        .flatten()
}

/// Whether `error` says a connection was not granted: none within the
/// timeout (a pooler at its pool_size), or the server at max_connections.
pub(super) fn not_granted(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db.code().as_deref() == Some("53300"),
        _ => false,
    }
}

/// A read transaction, holding its place among the granted connections.
///
/// Dropped, it ends as a sqlx `Transaction` does: its ROLLBACK is queued
/// and the connection goes back to the pool on a task of its own, which
/// sends it (with a ping); its own place is given up after that, a load's
/// reserved place at once (see [`Reserved`]). [`ReadTx::end`]
/// instead awaits the return: the connection is idle in the pool when it
/// returns, so a read that follows takes it instead of opening another.
pub(crate) struct ReadTx {
    /// `None` only once [`ReadTx::end`] has given the connection back.
    conn: Option<PoolConnection<Postgres>>,
    /// Its place among the granted connections, given up only once the
    /// connection is back in the pool: whoever takes the place next finds
    /// it idle there instead of opening another (which a pooler granting
    /// one connection holds back until the connect timeout).
    place: Option<Held>,
}

impl ReadTx {
    /// Ends the transaction (ROLLBACK: every one here is read only) and
    /// gives the connection back to the pool before returning, in one round
    /// trip (the return's ping carries the ROLLBACK). Dropped, the return
    /// runs on a task of its own, which may run only later: a read that
    /// follows finds no idle connection and opens a second (a new server
    /// backend) or waits on a timer, and
    /// `Database::close` at exit polls until the connection is back.
    pub(super) async fn end(mut self) {
        if let Some(mut conn) = self.conn.take() {
            PgTransactionManager::start_rollback(&mut conn);
            conn.return_to_pool().await;
        }
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            PgTransactionManager::start_rollback(&mut conn);
            let mut place = self.place.take();
            // A reserved place goes back to its load at once: the load's
            // next statement side by side begins in the same poll, and would
            // otherwise take the place left for other loads, or wait for one.
            if place.as_ref().is_some_and(Held::is_reserved) {
                drop(place.take());
            }
            // Floated in the pool now: if no runtime runs the return (one
            // shutting down), the connection is closed when it is dropped.
            let back = conn.return_to_pool();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    back.await;
                    drop(place);
                });
            }
        }
    }
}

impl Deref for ReadTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a transaction not yet ended")
    }
}

impl DerefMut for ReadTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a transaction not yet ended")
    }
}

/// `BEGIN …` (`sql`) on a connection the server or pooler grants: waits
/// for a permit, and when a new connection is not granted while others
/// work, shrinks to those and waits for one of them. With `reserved`, the
/// first try is on that place (no wait).
pub(super) async fn begin(
    pool: &PgPool,
    grant: &Grant,
    sql: String,
    mut reserved: Option<Held>,
) -> Result<ReadTx, sqlx::Error> {
    // A connection not had within the connect timeout is an error, also
    // when every granted one is busy: never a silent wait.
    let timeout = pool.options().get_acquire_timeout();
    let mut deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut permit = match reserved.take() {
            Some(held) => held,
            None => Held::own(
                tokio::time::timeout_at(deadline, grant.permit())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?,
            ),
        };
        match begin_on(pool, sql.clone()).await {
            Ok(conn) => {
                return Ok(ReadTx {
                    conn: Some(conn),
                    place: Some(permit),
                })
            }
            Err(e) if not_granted(&e) => {
                let permit = permit.permit.take().expect("a held place");
                if !grant.shrink(permit, pool.size() > 0) {
                    return Err(e);
                }
                // Now a wait for one of the working connections: a wait
                // of its own (the shrinks are as few as the permits).
                deadline = tokio::time::Instant::now() + timeout;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A pooled connection in a transaction begun with `sql`, as
/// `Pool::begin_with` does (its `Transaction` cannot give the connection
/// back to the pool in the foreground: see [`ReadTx::end`]).
async fn begin_on(pool: &PgPool, sql: String) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // What `Transaction::begin` does (so also its limit: dropped before
    // BEGIN answers, nothing rolls back; see `Database::begin_detached`).
    if let Err(e) = PgTransactionManager::begin(&mut conn, Some(sql.into())).await {
        // Failed after BEGIN (a cancel or timeout on a `SET LOCAL`), the
        // transaction is open and aborted on the server, and sqlx rolls
        // back only one it saw begin: back in the pool, every BEGIN on it
        // would fail. Closed instead.
        conn.close_on_drop();
        return Err(e);
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement side by side gives its reserved place back to its load
    /// as its transaction drops, before the connection is back in the pool:
    /// the load's next statement begins in the same poll and takes it (it
    /// took the place left for other loads instead, or waited for one).
    #[tokio::test]
    async fn a_reserved_place_is_back_with_its_load_as_the_transaction_drops() {
        let test_db = crate::embedded::testing::TestDatabase::demo().await;
        let db = test_db.connect().await;
        let reserved = db.reserve_batches(false);
        let places = reserved.len();
        assert!(places > 0, "a place to reserve");
        let free = db.grant.free();
        let load = reserved.clone();
        reserved
            .scope(async {
                let tx = db.batch_tx(None).await.unwrap();
                assert_eq!(
                    load.len(),
                    places - 1,
                    "the statement took a reserved place"
                );
                drop(tx);
                assert_eq!(load.len(), places, "back with the load at once");
                assert_eq!(db.grant.free(), free, "no other place taken");
            })
            .await;
        db.close().await;
    }

    #[tokio::test]
    async fn an_ungranted_connection_shrinks_the_grant_to_the_others_out() {
        let grant = Grant::new(4);
        let working = grant.permit().await;
        let refused = grant.permit().await;
        assert!(grant.shrink(refused, true));
        assert_eq!(grant.size(), 1);
        assert_eq!(grant.permits.available_permits(), 0);
        drop(working);
        assert_eq!(grant.permits.available_permits(), 1);
        // The last one out, with no connection alive: nothing to wait for.
        let alone = grant.permit().await;
        assert!(!grant.shrink(alone, false));
        assert_eq!(grant.size(), 1);
    }

    /// A load queued for a place while a connection is refused: the refused
    /// place is forgotten, not handed to it (which left the grant at its
    /// old size, and the queued load opening a connection the pooler holds
    /// back in turn).
    #[test]
    fn a_refused_place_is_not_handed_to_a_load_waiting_for_one() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let grant = Grant::new(2);
        let working = grant.permits.clone().try_acquire_owned().unwrap();
        let refused = grant.permits.clone().try_acquire_owned().unwrap();
        let mut waiting = Box::pin(grant.permits.clone().acquire_owned());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending(), "queued");

        assert!(grant.shrink(refused, true));
        assert_eq!(grant.size(), 1, "only the working connection is granted");
        assert!(
            waiting.as_mut().poll(&mut cx).is_pending(),
            "the queued load waits for the working connection's place"
        );
        drop(working);
        let Poll::Ready(Ok(_place)) = waiting.as_mut().poll(&mut cx) else {
            panic!("the working connection's place goes to the queued load");
        };
        assert_eq!(grant.permits.available_permits(), 0, "and no other");
    }
}
