//! Where to connect: a URL, the libpq environment, or the embedded demo.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

/// Connection options plus the label shown for them (never a password).
#[derive(Debug, Clone)]
pub struct ConnectionSource {
    options: PgConnectOptions,
    label: String,
}

impl ConnectionSource {
    pub fn demo(options: PgConnectOptions) -> ConnectionSource {
        ConnectionSource {
            options: compatible(options),
            label: "demo".into(),
        }
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// `user@host:port/db`, or `demo`.
    pub fn label(&self) -> String {
        self.label.clone()
    }
}

/// Builds connection options from (highest first) a URL given as a flag or in
/// settings, else the libpq `PG*` variables and `~/.pgpass`. `Ok(None)` means
/// nothing is configured at all: the caller starts the demo.
pub fn connect_options(
    url: Option<&str>,
    env: &HashMap<String, String>,
) -> Result<Option<ConnectionSource>, String> {
    if let Some(url) = url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "invalid database URL {}: it must start with postgres:// or postgresql://",
                redact_url(url)
            ));
        }
    }
    let configured = url.is_some() || env.contains_key("PGHOST") || env.contains_key("PGDATABASE");
    if !configured {
        return Ok(None);
    }
    // sqlx reads these itself and silently ignores a value it cannot parse
    // (then it connects without TLS, or to port 5432); libpq refuses them.
    check_libpq_variables(env)?;
    let options = match url {
        Some(url) => PgConnectOptions::from_str(url).map_err(|e| {
            format!(
                "invalid database URL {}: {} (percent-encode special characters in the password)",
                redact_url(url),
                crate::text::one_line(&e.to_string())
            )
        })?,
        None => PgConnectOptions::new(),
    };
    let options = compatible(options);
    let label = target_label(&options);
    Ok(Some(ConnectionSource { options, label }))
}

/// `PGSSLMODE` must be a mode sqlx knows and `PGPORT` a port number.
fn check_libpq_variables(env: &HashMap<String, String>) -> Result<(), String> {
    let set = |key: &str| env.get(key).filter(|value| !value.is_empty());
    if let Some(mode) = set("PGSSLMODE") {
        if sqlx::postgres::PgSslMode::from_str(mode).is_err() {
            return Err(format!(
                "invalid PGSSLMODE {:?}: use disable, allow, prefer, require, verify-ca or verify-full",
                crate::text::sanitize(mode)
            ));
        }
    }
    if let Some(port) = set("PGPORT") {
        if port.parse::<u16>().map_or(true, |port| port == 0) {
            return Err(format!(
                "invalid PGPORT {:?}: use a port number from 1 to 65535",
                crate::text::sanitize(port)
            ));
        }
    }
    Ok(())
}

/// Names the session, and leaves out the `extra_float_digits` start-up
/// parameter that PgBouncer refuses by default (every float is cast to
/// numeric in the server, so it changes nothing here).
fn compatible(options: PgConnectOptions) -> PgConnectOptions {
    options
        .application_name("tenantscope")
        .extra_float_digits(None)
}

/// `user@host:port/db` for display.
pub fn target_label(options: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username())
    )
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    if !url.contains("://") {
        return "(unparsable URL)".into();
    }
    crate::text::redact_secrets(url)
}

/// One line about why a first connection failed.
pub(super) fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::PoolTimedOut => "timed out".into(),
        other => {
            let message = crate::text::redact_secrets(&other.to_string());
            crate::text::sanitize(&crate::text::one_line(&message)).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://bob:s3cr%40t@db:5432/app"),
            "postgres://bob:***@db:5432/app"
        );
        assert_eq!(redact_url("postgres://bob@db/app"), "postgres://bob@db/app");
        assert_eq!(
            redact_url("postgres://db/app?sslmode=require&password=x"),
            "postgres://db/app?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgres://a:b:c@h/d"), "postgres://a:***@h/d");
        assert_eq!(redact_url("postgres://a:b/c@h/d"), "postgres://a:***@h/d");
    }

    #[test]
    fn bad_libpq_variables_are_refused_not_ignored() {
        let env = |key: &str, value: &str| -> HashMap<String, String> {
            [
                ("PGHOST".to_string(), "/tmp".to_string()),
                (key.into(), value.into()),
            ]
            .into()
        };
        let error = connect_options(None, &env("PGSSLMODE", "bogus")).unwrap_err();
        assert!(error.starts_with("invalid PGSSLMODE \"bogus\""), "{error}");
        // Also under a URL: sqlx starts from the environment.
        let url = Some("postgres://u@h/db");
        assert!(connect_options(url, &env("PGSSLMODE", "bogus")).is_err());
        assert!(connect_options(url, &env("PGSSLMODE", "verify-full")).is_ok());
        assert!(connect_options(url, &env("PGSSLMODE", "")).is_ok());
        let error = connect_options(url, &env("PGPORT", "54x32")).unwrap_err();
        assert!(error.starts_with("invalid PGPORT \"54x32\""), "{error}");
        let error =
            connect_options(Some("postgres://u@h/db?sslmode=bogus"), &HashMap::new()).unwrap_err();
        assert!(error.contains("bogus"), "{error}");
    }

    #[test]
    fn label_has_no_password() {
        let env = HashMap::new();
        let source = connect_options(Some("postgres://bob:hunter2@db.example:6543/app"), &env)
            .unwrap()
            .unwrap();
        assert_eq!(source.label(), "bob@db.example:6543/app");
    }

    #[test]
    fn nothing_configured_means_demo() {
        assert!(connect_options(None, &HashMap::new()).unwrap().is_none());
        let env: HashMap<String, String> = [("PGHOST".to_string(), "/tmp".to_string())].into();
        assert!(connect_options(None, &env).unwrap().is_some());
    }

    #[test]
    fn bad_url_error_hides_password() {
        let error = connect_options(
            Some("postgres://bob:hunter2@db:notaport/app"),
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("percent-encode"), "{error}");
    }
}
