//! Where to connect: a connection string, a service, the libpq environment,
//! or the embedded demo.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::libpq::{self, Params, Passfile};

/// Connection options plus the label shown for them (never a password).
#[derive(Debug, Clone)]
pub struct ConnectionSource {
    options: PgConnectOptions,
    label: String,
    /// libpq's `connect_timeout` (connection string, service or
    /// `PGCONNECT_TIMEOUT`), which wins over `database.connect_timeout_ms`.
    connect_timeout: Option<Duration>,
    /// Said once on stderr before anything else (an open `.pgpass`).
    warnings: Vec<String>,
    params: Params,
    /// `pgbouncer=true` in the connection string (see db/pooler.rs).
    pooler: bool,
}

impl ConnectionSource {
    pub fn demo(options: PgConnectOptions) -> ConnectionSource {
        ConnectionSource {
            options: compatible(options, None),
            label: "demo".into(),
            connect_timeout: None,
            warnings: Vec::new(),
            params: Params::default(),
            pooler: false,
        }
    }

    /// Connects through a transaction pooler (`pgbouncer=true`).
    pub fn pooler(&self) -> bool {
        self.pooler
    }

    /// The same target, marked as behind a transaction pooler.
    pub fn through_pooler(mut self) -> ConnectionSource {
        self.pooler = true;
        self
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// `user@host:port/db`, `user@/socket/dir:port/db`, `service=NAME (…)`,
    /// or `demo`.
    pub fn label(&self) -> String {
        self.label.clone()
    }

    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A resolved connection parameter by libpq keyword (never printed
    /// whole: it holds the password).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key)
    }
}

/// The libpq variables that name a connection, by keyword. Any of them
/// set means a database is configured (never the demo).
pub const LIBPQ_VARIABLES: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("service", "PGSERVICE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("application_name", "PGAPPNAME"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("options", "PGOPTIONS"),
];

/// Whether the environment names a database (a `PG*` variable or
/// `PGSERVICEFILE`), so that nothing falls back to the demo.
pub fn libpq_configured(env: &HashMap<String, String>) -> bool {
    LIBPQ_VARIABLES
        .iter()
        .map(|(_, var)| *var)
        .chain(["PGSERVICEFILE"])
        .any(|var| env.get(var).is_some_and(|v| !v.is_empty()))
}

/// Builds connection options as libpq does: the connection string (a URL
/// or `key=value` pairs, from a flag or the settings) first, then the
/// service it or `PGSERVICE` names, then the `PG*` variables, then the
/// defaults; the password, if still unset, from the password file.
/// `Ok(None)` means nothing is configured at all: the caller starts the demo.
pub fn connect_options(
    conninfo: Option<&str>,
    env: &HashMap<String, String>,
) -> Result<Option<ConnectionSource>, String> {
    if conninfo.is_none() && !libpq_configured(env) {
        return Ok(None);
    }
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let (mut params, mut warnings) = match conninfo {
        Some(text) => libpq::parse_conninfo(text)?,
        None => Default::default(),
    };
    // Where each value came from, for errors that name it.
    let mut origin: HashMap<&str, String> = params
        .iter()
        .map(|(key, _)| (keyword_of(key), key.to_string()))
        .collect();
    if let Some(service) = params
        .get("service")
        .map(str::to_owned)
        .or_else(|| var("PGSERVICE"))
    {
        let found = libpq::find_service(&service, &libpq::service_files(&|name| var(name)))?;
        for (key, value) in found.iter() {
            if params.set_default(key, value) {
                origin.insert(keyword_of(key), format!("{key} in service {service:?}"));
            }
        }
        params.set("service", &service);
    }
    for (key, name) in LIBPQ_VARIABLES {
        if let Some(value) = var(name) {
            if params.set_default(key, &value) {
                origin.insert(key, name.to_string());
            }
        }
    }
    let named = |key: &str| origin.get(key).cloned().unwrap_or_else(|| key.to_string());
    for key in ["host", "hostaddr", "port"] {
        if params.get(key).is_some_and(|v| v.contains(',')) {
            return Err(format!(
                "{} lists several hosts; tenantscope connects to one",
                named(key)
            ));
        }
    }
    let port = match params.get("port") {
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => {
                return Err(format!(
                    "invalid {} {:?}: use a port number from 1 to 65535",
                    named("port"),
                    crate::text::sanitize(port)
                ))
            }
        },
        None => 5432,
    };
    let mut options = PgConnectOptions::new_without_pgpass().port(port);
    let host = params
        .get("host")
        .map(str::to_owned)
        .unwrap_or_else(|| default_host(port));
    // hostaddr is where to connect; host stays the name (label, .pgpass).
    if let Some(addr) = params.get("hostaddr") {
        if addr.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "invalid {} {:?}: use a numeric IP address",
                named("hostaddr"),
                crate::text::sanitize(addr)
            ));
        }
        options = options.host(addr);
    } else {
        options = options.host(&host);
    }
    if let Some(user) = params.get("user") {
        options = options.username(user);
    }
    let user = options.get_username().to_string();
    let dbname = params.get("dbname").unwrap_or(&user).to_string();
    options = options.database(&dbname);
    if let Some(mode) = params.get("sslmode") {
        let mode = PgSslMode::from_str(mode).map_err(|_| {
            format!(
                "invalid {} {:?}: use disable, allow, prefer, require, verify-ca or verify-full",
                named("sslmode"),
                crate::text::sanitize(mode)
            )
        })?;
        options = options.ssl_mode(mode);
    } else {
        options = options.ssl_mode(PgSslMode::Prefer);
    }
    if let Some(path) = params.get("sslrootcert") {
        options = options.ssl_root_cert(path);
    }
    if let Some(path) = params.get("sslcert") {
        options = options.ssl_client_cert(path);
    }
    if let Some(path) = params.get("sslkey") {
        options = options.ssl_client_key(path);
    }
    if let Some(server_options) = params.get("options") {
        options = options.options(parse_server_options(server_options, &named("options"))?);
    }
    let connect_timeout = match params.get("connect_timeout") {
        None => None,
        Some(text) => match text.trim().parse::<i64>() {
            // libpq: zero or less waits for ever (here: the setting);
            // one second is raised to two.
            Ok(seconds) if seconds <= 0 => None,
            Ok(seconds) => Some(Duration::from_secs(seconds.max(2) as u64)),
            Err(_) => {
                return Err(format!(
                    "invalid {} {:?}: use a number of seconds",
                    named("connect_timeout"),
                    crate::text::sanitize(text)
                ))
            }
        },
    };
    if let Some(password) = params.get("password") {
        options = options.password(password);
    } else {
        let passfile = params
            .get("passfile")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".pgpass")));
        if let Some(path) = passfile {
            // libpq matches `localhost` for no host or the default socket directory.
            let pass_host = match (params.get("host"), params.get("hostaddr")) {
                (None, Some(addr)) => addr,
                (None, None) => "localhost",
                _ if DEFAULT_SOCKET_DIRS.contains(&host.as_str()) => "localhost",
                _ => host.as_str(),
            };
            match libpq::passfile_lookup(&path, pass_host, &port.to_string(), &dbname, &user)? {
                Passfile::Password(password) => options = options.password(&password),
                Passfile::Ignored(warning) => warnings.push(warning),
                Passfile::NoMatch => {}
            }
        }
    }
    let pooler = match params.get("pgbouncer") {
        Some(value) => super::pooler::url_flag(value)?,
        None => false,
    };
    let application_name = params.get("application_name").map(str::to_owned);
    let options = compatible(options, application_name.as_deref());
    let target = format!("{user}@{host}:{port}/{dbname}");
    let label = match params.get("service") {
        Some(service) => format!("service={service} ({target})"),
        None => target,
    };
    Ok(Some(ConnectionSource {
        options,
        label: crate::text::sanitize(&label).into_owned(),
        connect_timeout,
        warnings,
        params,
        pooler,
    }))
}

/// The keyword as a `'static` key for the origin map.
fn keyword_of(key: &str) -> &'static str {
    libpq::SUPPORTED
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("other")
}

/// The directories libpq builds know as the default socket directory.
const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp"];

/// libpq's default host: the socket directory where a server's socket is,
/// else `localhost`.
fn default_host(port: u16) -> String {
    let socket = format!(".s.PGSQL.{port}");
    DEFAULT_SOCKET_DIRS
        .iter()
        .find(|dir| Path::new(dir).join(&socket).exists())
        .map_or_else(|| "localhost".to_string(), |dir| dir.to_string())
}

/// `-c name=value` and `--name=value` settings of libpq's `options`
/// (a backslash escapes a space).
fn parse_server_options(text: &str, origin: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut settings = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next()
        } else {
            word.strip_prefix("-c")
                .or_else(|| word.strip_prefix("--"))
                .map(str::to_owned)
        };
        let Some((name, value)) = setting.as_deref().and_then(|s| s.split_once('=')) else {
            return Err(format!(
                "invalid {origin}: only -c name=value settings are supported"
            ));
        };
        // sqlx writes `-c name=value` as it is: escape what the server splits on.
        let value = value.replace('\\', "\\\\").replace(' ', "\\ ");
        settings.push((name.to_string(), value));
    }
    Ok(settings)
}

/// Names the session (unless the connection names it), and leaves out the
/// `extra_float_digits` start-up parameter that PgBouncer refuses by
/// default (every float is cast to numeric in the server, so it changes
/// nothing here).
fn compatible(options: PgConnectOptions, application_name: Option<&str>) -> PgConnectOptions {
    options
        .application_name(application_name.unwrap_or("tenantscope"))
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
        assert_eq!(
            label(Some("postgres://bob:hunter2@db.example:6543/app"), &env),
            "bob@db.example:6543/app"
        );
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

    #[test]
    fn pgbouncer_in_the_connection_string_marks_the_pooler_and_is_not_an_option() {
        let none = HashMap::new();
        let source = |text: &str| connect_options(Some(text), &none).map(Option::unwrap);
        let flagged = source("postgres://u@h/db?sslmode=disable&pgbouncer=true").unwrap();
        assert!(flagged.pooler());
        assert!(flagged.warnings().is_empty(), "{:?}", flagged.warnings());
        assert!(source("host=h dbname=db pgbouncer=1").unwrap().pooler());
        assert!(!source("postgres://u@h/db?pgbouncer=false")
            .unwrap()
            .pooler());
        assert!(!source("postgres://u@h/db").unwrap().pooler());
        let error = source("postgres://u:hunter2@h/db?pgbouncer=yes").unwrap_err();
        assert!(error.contains("pgbouncer=\"yes\""), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The label of the source a connection string (or the environment alone) names.
    fn label(conninfo: Option<&str>, env: &HashMap<String, String>) -> String {
        connect_options(conninfo, env).unwrap().unwrap().label()
    }

    #[test]
    fn connection_string_then_service_then_variables_as_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let services = dir.path().join("services.conf");
        std::fs::write(&services, "[shop]\nhost=/srv/sock\nport=6000\nuser=svc\n").unwrap();
        let env = vars(&[
            ("PGSERVICEFILE", services.to_str().unwrap()),
            ("PGSYSCONFDIR", "/nonexistent"),
            ("PGUSER", "envuser"),
            ("PGPORT", "7000"),
            ("PGDATABASE", "envdb"),
            ("HOME", "/nonexistent"),
        ]);
        // port from the string, host and user from the service, dbname from PGDATABASE.
        assert_eq!(
            label(Some("service=shop port=5555"), &env),
            "service=shop (svc@/srv/sock:5555/envdb)"
        );
        let mut with_service = env.clone();
        with_service.insert("PGSERVICE".into(), "shop".into());
        assert_eq!(
            label(None, &with_service),
            "service=shop (svc@/srv/sock:6000/envdb)"
        );
        assert_eq!(
            label(Some("host=db.example"), &env),
            "envuser@db.example:7000/envdb"
        );
        let error = connect_options(Some("service=nope"), &env).unwrap_err();
        assert!(
            error.starts_with("definition of service \"nope\" not found"),
            "{error}"
        );
    }

    #[test]
    fn socket_labels_name_the_directory() {
        let env = vars(&[("HOME", "/nonexistent")]);
        assert_eq!(
            label(Some("postgres://bob@%2Frun%2Fpostgresql/app"), &env),
            "bob@/run/postgresql:5432/app"
        );
        assert_eq!(
            label(Some("postgres://bob@localhost/app?host=/tmp/x"), &env),
            "bob@/tmp/x:5432/app"
        );
    }

    #[test]
    fn every_libpq_variable_means_configured() {
        for (_, var) in LIBPQ_VARIABLES {
            assert!(libpq_configured(&vars(&[(var, "x")])), "{var}");
        }
        assert!(!libpq_configured(&vars(&[("PGHOST", ""), ("HOME", "/h")])));
    }

    #[test]
    fn passfile_localhost_matches_the_default_socket_directory() {
        let dir = tempfile::tempdir().unwrap();
        let pgpass = dir.path().join("pgpass");
        std::fs::write(&pgpass, "localhost:5432:app:bob:sock\ndb:*:*:*:tcp\n").unwrap();
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let env = vars(&[("PGPASSFILE", pgpass.to_str().unwrap())]);
        let password = |conninfo: &str| {
            connect_options(Some(conninfo), &env)
                .unwrap()
                .unwrap()
                .options()
                .clone()
        };
        // PgConnectOptions hides the password: compare with one set by hand.
        let by_hand = |conninfo: &str, pw: &str| {
            format!("{:?}", password(&format!("{conninfo} password={pw}")))
        };
        for (conninfo, expected) in [
            ("host=/var/run/postgresql user=bob dbname=app", "sock"),
            ("host=db user=bob dbname=app", "tcp"),
        ] {
            assert_eq!(
                format!("{:?}", password(conninfo)),
                by_hand(conninfo, expected)
            );
        }
    }
}
