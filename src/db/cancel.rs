//! Cancelling a superseded load on the server (see [`QueryHandle`]).

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Database, DbError, ReadTx};

/// Names the transaction of a cancellable query, so that a superseded query
/// is stopped on the server and not only abandoned by the client.
///
/// The transaction carries the name as its (transaction-local)
/// application_name, set in the same round trip as BEGIN; a cancel looks up
/// the backend by that name. So a load costs no extra round trip to learn
/// its backend pid (sqlx does not expose the pid it gets at connect), and a
/// cancel can only reach a backend while our transaction is open on it:
/// behind a transaction pooler, where the same backend soon runs other
/// clients' transactions, those are left alone. The name is unique across
/// processes too (a random part per process), so one tenantscope never
/// cancels another's load on the same server.
///
/// Statements of one load that run side by side (batches of tenants on
/// several connections) share one name ([`QueryHandle::shared`]), so that
/// one cancel stops them all.
#[derive(Debug, Clone, Default)]
pub struct QueryHandle(std::sync::Arc<AtomicU64>, Option<u64>);

/// Tags of cancellable transactions, unique in this process.
static NEXT_QUERY_TAG: AtomicU64 = AtomicU64::new(1);

/// This process's random part of every tag (std's per-process random
/// hash keys: no extra crate).
fn process_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    })
}

/// Hex digits and spaces only: inlined as a literal (see `cancel`), and
/// within application_name's 63 bytes.
fn query_tag_name(tag: u64) -> String {
    format!("tenantscope load {:016x} {tag}", process_nonce())
}

/// A LIKE pattern for every [`query_tag_name`] of this process.
fn query_tag_name_pattern() -> String {
    format!("tenantscope load {:016x} %", process_nonce())
}

impl QueryHandle {
    /// A new name for the transaction this handle is to cancel. Published
    /// first: a cancel that comes while BEGIN is on its way finds no
    /// backend yet and does nothing, like one that comes late.
    pub(super) fn next_name(&self) -> String {
        let tag = self
            .1
            .unwrap_or_else(|| NEXT_QUERY_TAG.fetch_add(1, Ordering::Relaxed));
        self.0.store(tag, Ordering::SeqCst);
        query_tag_name(tag)
    }

    /// The same handle, whose every transaction from now on takes one
    /// name: statements run side by side are all stopped by one cancel.
    pub(super) fn shared(&self) -> QueryHandle {
        let tag = NEXT_QUERY_TAG.fetch_add(1, Ordering::Relaxed);
        QueryHandle(self.0.clone(), Some(tag))
    }

    pub(super) fn finished(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

tokio::task_local! {
    /// The handle of a whole command (see [`QueryHandle::scope`]).
    static AMBIENT: QueryHandle;
}

impl QueryHandle {
    /// One name for every transaction of a whole command: see
    /// [`QueryHandle::scope`].
    pub fn for_command() -> QueryHandle {
        QueryHandle::default().shared()
    }

    /// Runs `work` with this handle naming every transaction it begins
    /// that no handle of its own names: a command interrupted by a signal
    /// cancels them all with one [`Database::cancel`], so a statement
    /// waiting on a lock ends with the command, not at its timeout.
    pub async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        AMBIENT.scope(self.clone(), work).await
    }
}

/// The name of the command's handle, when a transaction begins within
/// [`QueryHandle::scope`].
pub(super) fn ambient_name() -> Option<String> {
    AMBIENT.try_with(QueryHandle::next_name).ok()
}

/// `work` within the caller's [`QueryHandle::scope`], for a task of its
/// own (a spawned task does not inherit it).
pub(super) fn carried<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    let ambient = AMBIENT.try_with(QueryHandle::clone).ok();
    async move {
        match ambient {
            Some(handle) => handle.scope(work).await,
            None => work.await,
        }
    }
}

impl Database {
    /// A read transaction that `handle` can cancel while the caller's query
    /// runs, opened in the same single round trip as any other.
    pub(super) async fn tracked_tx(&self, handle: Option<&QueryHandle>) -> Result<ReadTx, DbError> {
        self.tracked_tx_with(handle, "").await
    }

    /// [`Database::tracked_tx`] with `extra` settings (see
    /// [`Database::begin_read`]).
    pub(super) async fn tracked_tx_with(
        &self,
        handle: Option<&QueryHandle>,
        extra: &str,
    ) -> Result<ReadTx, DbError> {
        self.begin_read(handle.map(QueryHandle::next_name).as_deref(), extra)
            .await
    }

    /// Stops the query `handle` runs, on the server, if its transaction is
    /// still open: the name it looks the backend up by only exists inside
    /// that transaction. Safe to call after the task has let go of its
    /// connection, which it should (see app/tasks.rs).
    ///
    /// Runs on a connection of its own, outside the pool and closed after,
    /// within [`CANCEL_TIMEOUT`] (connecting included): it never waits for
    /// a pool connection a newer load holds. Gives up silently when that
    /// connection cannot be had in time (a session-mode pooler with every
    /// server connection taken, a server at `max_connections`).
    pub async fn cancel(&self, handle: &QueryHandle) {
        let tag = handle.0.swap(0, Ordering::SeqCst);
        if tag == 0 {
            return;
        }
        self.cancel_named(&format!("= '{}'", query_tag_name(tag)))
            .await;
    }

    /// Stops every cancellable query of this process on the server: a
    /// command ended by a signal, with loads of its own besides the
    /// command's (`snapshot`'s views), leaves none running there. As
    /// [`Database::cancel`], only transactions still open are reached.
    pub async fn cancel_all(&self) {
        self.cancel_named(&format!("LIKE '{}'", query_tag_name_pattern()))
            .await;
    }

    /// Cancels the backends whose application_name matches `test` (our
    /// own text: a comparison with a literal).
    async fn cancel_named(&self, test: &str) {
        // One simple-protocol statement (our own text, inlined): outside
        // a transaction a pooler may send an extended-protocol Parse and
        // its Execute to two different server connections.
        let sql = format!(
            "SELECT pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity \
              WHERE application_name {test} AND pid <> pg_backend_pid()"
        );
        let options = self.pool.connect_options();
        let timeout = self
            .pool
            .options()
            .get_acquire_timeout()
            .min(CANCEL_TIMEOUT);
        match tokio::time::timeout(timeout, on_own_connection(&options, &sql)).await {
            Ok(done) => tracing::debug!(test, ok = done.is_ok(), "cancelled"),
            Err(_) => tracing::debug!(test, "no connection in time to cancel"),
        }
    }
}

/// Runs `sql` on a new connection, closed after.
async fn on_own_connection(
    options: &sqlx::postgres::PgConnectOptions,
    sql: &str,
) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, Executor};
    let mut connection = sqlx::PgConnection::connect_with(options).await?;
    let done = connection.execute(sqlx::raw_sql(sql)).await;
    let _ = connection.close().await;
    done.map(drop)
}

/// The longest a cancel may take, connecting included.
const CANCEL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    /// The server truncates application_name to 63 bytes, and the cancel
    /// inlines the name as a literal: longer or quoted, it would match
    /// nothing (or the wrong thing).
    #[test]
    fn a_transaction_name_fits_application_name_and_needs_no_quoting() {
        let name = query_tag_name(u64::MAX);
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '),
            "{name}"
        );
        assert_ne!(query_tag_name(1), query_tag_name(2));
        assert!(query_tag_name(1).starts_with("tenantscope load "));
        // The pattern of them all: the same prefix, nothing LIKE reads
        // specially before its `%`.
        let pattern = query_tag_name_pattern();
        let prefix = pattern.strip_suffix('%').unwrap();
        assert!(query_tag_name(7).starts_with(prefix), "{pattern}");
        assert!(!prefix.contains(['%', '_', '\\', '\'']), "{pattern}");
    }
}
