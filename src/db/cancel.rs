//! Cancelling a superseded load on the server (see [`QueryHandle`]).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Postgres, Transaction};

use super::{Database, DbError};

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
#[derive(Debug, Clone, Default)]
pub struct QueryHandle(std::sync::Arc<AtomicU64>);

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

impl QueryHandle {
    pub(super) fn finished(&self) {
        self.0.store(0, Ordering::SeqCst);
    }

    /// A new name for the next transaction this handle can cancel (see
    /// [`Database::cancel`]).
    pub(super) fn next_name(&self) -> String {
        let tag = NEXT_QUERY_TAG.fetch_add(1, Ordering::Relaxed);
        // Published first: a cancel that comes while BEGIN is on its way
        // finds no backend yet and does nothing, like one that comes late.
        self.0.store(tag, Ordering::SeqCst);
        query_tag_name(tag)
    }
}

impl Database {
    /// A read transaction that `handle` can cancel while the caller's query
    /// runs, opened in the same single round trip as any other.
    pub(super) async fn tracked_tx(
        &self,
        handle: Option<&QueryHandle>,
    ) -> Result<Transaction<'static, Postgres>, DbError> {
        let Some(handle) = handle else {
            return self.read_tx().await;
        };
        self.read_tx_named(Some(&handle.next_name())).await
    }

    /// Stops the query `handle` runs, on the server, if its transaction is
    /// still open: the name it looks the backend up by only exists inside
    /// that transaction. Safe to call after the task has let go of its
    /// connection, which it should (see app/tasks.rs): behind a pooler with
    /// every server connection taken, this statement waits for one.
    pub async fn cancel(&self, handle: &QueryHandle) {
        let tag = handle.0.swap(0, Ordering::SeqCst);
        if tag != 0 {
            // One simple-protocol statement (our own text, inlined): outside
            // a transaction a pooler may send an extended-protocol Parse and
            // its Execute to two different server connections.
            let sql = format!(
                "SELECT pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity \
                  WHERE application_name = '{}' AND pid <> pg_backend_pid()",
                query_tag_name(tag)
            );
            let cancelled = sqlx::raw_sql(&sql).execute(&self.pool).await;
            tracing::debug!(tag, ok = cancelled.is_ok(), "cancelled a superseded query");
        }
    }
}

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
    }
}
