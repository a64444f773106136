//! The client-side deadline: a server that stops answering (frozen,
//! blackholed) after the connection was made cannot enforce its own
//! statement_timeout, so a command would wait as long as it is stopped.
//!
//! The pool notes every sign of life (a connection made, lent or given
//! back): while a connection is out and none came within
//! [`Watch::limit`] (`database.statement_timeout_ms` plus a margin), the
//! work is given up with [`DbError::NoAnswer`]. Time with no connection
//! out (output being written) never counts.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::time::Instant;

use super::DbError;

/// How often the watch looks at the pool.
const TICK: Duration = Duration::from_millis(50);

/// The last sign of life from the server, shared with the pool's hooks.
#[derive(Debug)]
pub(super) struct Progress {
    base: std::time::Instant,
    /// Milliseconds since `base`.
    last_ms: AtomicU64,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            base: std::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl Progress {
    pub(super) fn touch(&self) {
        let now = self.base.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

/// The margin over statement_timeout: a transaction of a few statements,
/// and the round trips around them, fit in it.
pub(super) fn margin(statement_timeout_ms: u64) -> u64 {
    (statement_timeout_ms / 2).max(1_000)
}

/// Watches a pool for work that the server no longer answers.
#[derive(Clone)]
pub(super) struct Watch {
    pub(super) pool: PgPool,
    pub(super) progress: Arc<Progress>,
    pub(super) statement_timeout_ms: u64,
}

impl Watch {
    pub(super) fn limit_ms(&self) -> u64 {
        self.statement_timeout_ms
            .saturating_add(margin(self.statement_timeout_ms))
    }

    /// A connection is out of the pool (in a query, or being pinged).
    fn busy(&self) -> bool {
        (self.pool.size() as usize) > self.pool.num_idle()
    }

    /// Runs `work`, giving it up once the server has been silent for the
    /// limit while a connection was out.
    pub(super) async fn bound<T, E: From<DbError>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let limit = Duration::from_millis(self.limit_ms());
        self.progress.touch();
        tokio::pin!(work);
        // When the pool was last seen with no connection out.
        let mut idle_at = Instant::now();
        loop {
            tokio::select! {
                result = &mut work => return result,
                () = tokio::time::sleep(TICK) => {}
            }
            if !self.busy() {
                idle_at = Instant::now();
                continue;
            }
            let quiet = self.progress.quiet_for().min(idle_at.elapsed());
            if quiet >= limit {
                tracing::warn!(ms = self.limit_ms(), "the server stopped answering");
                return Err(DbError::NoAnswer {
                    ms: self.limit_ms(),
                    statement_timeout_ms: self.statement_timeout_ms,
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_second_or_half_the_statement_timeout() {
        assert_eq!(margin(1), 1_000);
        assert_eq!(margin(5_000), 2_500);
        // The largest setting does not overflow.
        assert_eq!(
            2_147_483_647u64.saturating_add(margin(2_147_483_647)),
            3_221_225_470
        );
    }
}
