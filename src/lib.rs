//! tenantscope: a terminal dashboard for schema-per-tenant PostgreSQL.
//!
//! Layers: `db` talks SQL and knows nothing of the UI; `app` holds state,
//! messages and the pure `update`, with tasks at its edge; `ui` draws a
//! state and knows nothing of SQL; `embedded` runs the private demo server.

/// `eprintln!` that never panics: with stderr closed (`2>&1 | head`), a
/// message lost is fine, but a panic would turn the exit code a script
/// reads into 101.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod app;
pub mod cli;
pub mod config;
pub mod config_report;
pub mod db;
pub mod embedded;
/// Test support (the `testing` feature, which the tests and examples
/// enable): not in the release library.
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod geometry;
pub mod logfile;
pub mod model;
pub mod money;
pub mod output;
pub mod shell;
pub mod snapshot;
pub mod text;
pub mod ui;

use std::fmt;

/// A failure reported as one line on stderr, with its exit code. The
/// message is one line with every password hidden
/// ([`text::redact_secrets`]): errors can quote configuration.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad input: configuration, flags, unknown names. Exit code 2.
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: shown(message),
        }
    }

    /// A report found problems and was asked to say so in its exit code
    /// (`health --fail-on-drift`). Exit code 3.
    pub fn findings(message: impl fmt::Display) -> Failure {
        Failure {
            code: 3,
            message: shown(message),
        }
    }

    /// The environment failed: database unreachable, server missing. Exit code 1.
    pub fn runtime(message: impl fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: shown(message),
        }
    }

    /// Ended by `signal` (`SIGINT`, …): exit 128 + its number, as shells
    /// expect (130 for Ctrl-C), a command and the dashboard alike.
    pub fn interrupted(signal: &str) -> Failure {
        let number = match signal {
            "SIGHUP" => 1,
            "SIGINT" => 2,
            "SIGQUIT" => 3,
            _ => 15,
        };
        Failure {
            code: 128 + number,
            ..Failure::runtime(format!("interrupted by {signal}"))
        }
    }
}

fn shown(message: impl fmt::Display) -> String {
    text::one_line(&text::user_words(&text::redact_secrets(
        &message.to_string(),
    )))
}

impl From<db::DbError> for Failure {
    fn from(error: db::DbError) -> Failure {
        if error.is_usage() {
            Failure::usage(error)
        } else {
            Failure::runtime(error)
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
