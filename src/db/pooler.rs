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
//!
//! It also counts lost connections: a load whose connection the server
//! ends (a restart, `pg_terminate_backend`) retries once, on a fresh one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What the pool has learned, shared by every clone of a `Database`.
#[derive(Debug, Default)]
pub(super) struct PoolState {
    /// A transaction pooler is in the way (configured or detected).
    on: AtomicBool,
    /// Errors seen that are worth one more try: a pooler's
    /// prepared-statement conflict, or a lost connection (see
    /// [`is_lost_connection`]). A failed load retries once when one
    /// happened while it ran (`Database::retried`).
    retryable: AtomicU64,
}

impl PoolState {
    pub(super) fn new(on: bool) -> PoolState {
        PoolState {
            on: AtomicBool::new(on),
            ..PoolState::default()
        }
    }

    pub(super) fn on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    pub(super) fn retryable(&self) -> u64 {
        self.retryable.load(Ordering::SeqCst)
    }

    /// Notes `error` if it is worth a retry; a pooler's prepared-statement
    /// conflict also switches to pooler mode (once, logged).
    pub(super) fn observe(&self, error: &sqlx::Error) {
        let conflict = is_statement_conflict(error);
        if conflict || is_lost_connection(error) {
            self.retryable.fetch_add(1, Ordering::SeqCst);
        }
        if !conflict {
            return;
        }
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

    /// Errors worth a retry seen so far (see `Database::retried`).
    pub(super) fn retryable_errors(&self) -> u64 {
        self.pooler.retryable()
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

/// The connection is gone: the server closed it (a restart,
/// `pg_terminate_backend`, an idle-session timeout) or the socket broke.
/// The pool does not ping a connection before lending it (that is a round
/// trip on every load), so a load can meet one that died while it sat
/// idle; it retries once, on a fresh connection.
pub(super) fn is_lost_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        // Class 08: connection exceptions; 57P01-57P05: the server ended
        // the session (admin_shutdown, crash_shutdown, cannot_connect_now,
        // database_dropped, idle_session_timeout).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
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
            "invalid pgbouncer={} in the database URL: use true or false",
            crate::text::quoted(other)
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
        let state = PoolState::new(false);
        state.observe(&sqlx::Error::PoolTimedOut);
        assert!(!state.on());
        assert_eq!(state.retryable(), 0);
    }

    #[test]
    fn a_lost_connection_is_retried_but_says_nothing_of_a_pooler() {
        let state = PoolState::new(false);
        let broken = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        state.observe(&sqlx::Error::Io(broken));
        assert_eq!(state.retryable(), 1);
        assert!(!state.on());
    }
}
