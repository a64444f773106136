//! Working through a transaction-mode connection pooler (PgBouncer).
//!
//! Behind such a pooler each transaction may run on a different server
//! connection, so a named prepared statement (sqlx caches them as
//! `sqlx_s_N`) made on one is missing on the next, or collides with one
//! another client made there: `prepared statement "sqlx_s_1" already
//! exists`. In pooler mode every statement is unnamed (sqlx's
//! `persistent(false)`: Parse into the unnamed statement, then Bind and
//! Execute, all inside the query's own transaction, so on one server
//! connection). `statement_cache_capacity(0)` would not do: sqlx still
//! names the statements then, it only stops reusing them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether a pooler is in the way, shared by every clone of a `Database`.
#[derive(Debug, Default)]
pub(super) struct PoolerState {
    on: AtomicBool,
    /// Prepared-statement conflicts seen: a failed load retries once when
    /// one happened while it ran.
    conflicts: AtomicU64,
}

impl PoolerState {
    pub(super) fn new(on: bool) -> PoolerState {
        PoolerState {
            on: AtomicBool::new(on),
            conflicts: AtomicU64::new(0),
        }
    }

    pub(super) fn on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    pub(super) fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::SeqCst)
    }

    /// Notes `error` if it is a pooler's prepared-statement conflict, and
    /// then switches to pooler mode (once, logged).
    pub(super) fn observe(&self, error: &sqlx::Error) {
        if !is_statement_conflict(error) {
            return;
        }
        self.conflicts.fetch_add(1, Ordering::SeqCst);
        if !self.on.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                %error,
                "prepared statements are lost between transactions: a transaction-mode \
                 connection pooler (PgBouncer?) is in the way; switched to unnamed statements \
                 (set database.pooler = \"transaction\" to start that way)"
            );
        }
    }
}

impl super::Database {
    /// Whether statements may be prepared by name and cached: not behind a
    /// transaction pooler (see above).
    pub(super) fn persistent(&self) -> bool {
        !self.pooler.on()
    }

    /// Whether this handle works in transaction-pooler mode (configured or
    /// detected).
    pub fn pooler_mode(&self) -> bool {
        self.pooler.on()
    }

    /// Prepared-statement conflicts seen so far (see `retried!`).
    pub(super) fn statement_conflicts(&self) -> u64 {
        self.pooler.conflicts()
    }
}

/// `prepared statement "…" already exists` (42P05) or `… does not exist`
/// (26000): what a transaction pooler does to named statements.
pub(super) fn is_statement_conflict(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("42P05" | "26000")),
        _ => false,
    }
}

/// The value of `pgbouncer` in a connection string (the flag other tools
/// use for "behind a transaction pooler"); the connection-string parser
/// (libpq.rs) keeps it out of the options sqlx gets.
pub(super) fn url_flag(value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!(
            "invalid pgbouncer={:?} in the database URL: use true or false",
            crate::text::sanitize(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pgbouncer_flag_reads_true_or_false_and_nothing_else() {
        assert_eq!(url_flag("true"), Ok(true));
        assert_eq!(url_flag("1"), Ok(true));
        assert_eq!(url_flag("false"), Ok(false));
        assert_eq!(url_flag("0"), Ok(false));
        let error = url_flag("yes").unwrap_err();
        assert!(error.contains("pgbouncer=\"yes\""), "{error}");
    }

    #[test]
    fn only_the_two_statement_conflicts_switch_to_pooler_mode() {
        let state = PoolerState::new(false);
        state.observe(&sqlx::Error::PoolTimedOut);
        assert!(!state.on());
        assert_eq!(state.conflicts(), 0);
    }
}
