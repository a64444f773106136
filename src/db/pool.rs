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
    /// Every server and TLS try, in libpq's order (`options` is the first).
    candidates: Vec<Candidate>,
    attrs: SessionAttrs,
    label: String,
    /// libpq's `connect_timeout` (connection string, service or
    /// `PGCONNECT_TIMEOUT`), which wins over `database.connect_timeout_ms`.
    connect_timeout: Option<Duration>,
    /// Said once on stderr before anything else (an open `.pgpass`).
    warnings: Vec<String>,
    params: Params,
    /// `pgbouncer=true` in the connection string (see db/pooler.rs).
    pooler: bool,
    /// The session's time zone as libpq sets it (`PGTZ`, else `-c
    /// timezone=` of `options`); sqlx's start-up `TimeZone=UTC` replaces
    /// both, so each new connection sets it first (see
    /// [`ConnectionSource::first_statement`]).
    time_zone: Option<String>,
}

impl ConnectionSource {
    pub fn demo(options: PgConnectOptions) -> ConnectionSource {
        ConnectionSource {
            options: compatible(options.clone(), None),
            candidates: vec![Candidate {
                options: compatible(options, None),
                verify: None,
                fallback: false,
                password: true,
                refuse: None,
            }],
            attrs: SessionAttrs::Any,
            label: "demo".into(),
            connect_timeout: None,
            warnings: Vec::new(),
            params: Params::default(),
            pooler: false,
            time_zone: None,
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

    /// Every server and TLS try in order, for [`Self::session_attrs`].
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    pub fn session_attrs(&self) -> SessionAttrs {
        self.attrs
    }

    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The statement every new connection runs first, a round trip that
    /// also shows it answers: `SET TimeZone` where libpq would set the
    /// session's time zone (`PGTZ`, `-c timezone=`), else `SELECT 1`.
    pub fn first_statement(&self) -> String {
        match &self.time_zone {
            Some(zone) => format!(
                "SET TimeZone TO {}",
                crate::model::guard::quote_literal(zone)
            ),
            None => "SELECT 1".into(),
        }
    }

    /// Whether the try `options` (one of [`Self::candidates`]) has a
    /// password to give.
    pub fn has_password(&self, options: &PgConnectOptions) -> bool {
        self.candidates
            .iter()
            .find(|c| {
                c.options.get_host() == options.get_host()
                    && c.options.get_port() == options.get_port()
            })
            .is_none_or(|c| c.password)
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
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
];

/// Every other variable libpq 15 reads: set, it also means a database is
/// configured (psql would connect, not show a demo).
const OTHER_LIBPQ_VARIABLES: &[&str] = &[
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
    "PGREQUIRESSL",
    "PGSSLCOMPRESSION",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGREQUIREPEER",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGGSSENCMODE",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGCLIENTENCODING",
    "PGDATESTYLE",
    "PGTZ",
    "PGGEQO",
    "PGLOCALEDIR",
];

/// Whether the environment names a database (a `PG*` variable or
/// `PGSERVICEFILE`), so that nothing falls back to the demo.
pub fn libpq_configured(env: &HashMap<String, String>) -> bool {
    LIBPQ_VARIABLES
        .iter()
        .map(|(_, var)| *var)
        .chain(OTHER_LIBPQ_VARIABLES.iter().copied())
        // An empty PGSSLMODE is an error to libpq, so it counts as set.
        .any(|var| {
            env.get(var)
                .is_some_and(|v| !v.is_empty() || var == "PGSSLMODE")
        })
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
    // libpq: an empty value is unset (psql -d "" reads PGDATABASE).
    let conninfo = conninfo.filter(|text| !text.is_empty());
    if conninfo.is_none() && !libpq_configured(env) {
        return Ok(None);
    }
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let (params, mut warnings, origin) = gather_params(conninfo, env)?;
    let named = |key: &str| origin.get(key).cloned().unwrap_or_else(|| key.to_string());
    let attrs = match params.get("target_session_attrs") {
        None => SessionAttrs::Any,
        Some(text) => SessionAttrs::parse(text).ok_or_else(|| {
            format!(
                "invalid {} {}: use any, read-write, read-only, primary, standby or \
                 prefer-standby",
                named("target_session_attrs"),
                crate::text::quoted(text)
            )
        })?,
    };
    let targets = targets(&params, &named)?;
    // libpq: an empty user, database or password is none given.
    let given = |key: &str| params.get(key).filter(|value| !value.is_empty());
    let user = match given("user") {
        Some(user) => user.to_string(),
        None => PgConnectOptions::new_without_pgpass()
            .get_username()
            .to_string(),
    };
    let dbname = given("dbname").unwrap_or(&user).to_string();
    // libpq checks certificates only where it uses TLS: never on a socket.
    let over_tcp = |(host, addr, _): &(String, String, u16)| {
        !addr.is_empty() || !(host.is_empty() || host.starts_with('/'))
    };
    let tcp = match (targets.iter().all(over_tcp), targets.iter().any(over_tcp)) {
        (true, _) => Reach::Tcp,
        (false, true) => Reach::Mixed,
        (false, false) => Reach::Socket,
    };
    let tls = Tls::resolve(&params, &named, var("HOME").as_deref(), tcp)?;
    let server_options = match params.get("options") {
        Some(text) => Some(parse_server_options(text, &named("options"))?),
        None => None,
    };
    let connect_timeout = connect_timeout(&params, &named)?;
    let time_zone = session_time_zone(env, server_options.as_deref());
    let passfile = params
        .get("passfile")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".pgpass")));
    let application_name = params.get("application_name").map(str::to_owned);
    let mut candidates = Vec::new();
    let mut shown = Vec::new();
    for (host, addr, port) in &targets {
        // No host: libpq's default socket directory, and only that.
        let host = if host.is_empty() && addr.is_empty() {
            default_socket_dir().to_string()
        } else {
            host.clone()
        };
        let mut options = PgConnectOptions::new_without_pgpass()
            .port(*port)
            .username(&user)
            .database(&dbname);
        // hostaddr is where to connect; host stays the name (label, .pgpass).
        options = options.host(if addr.is_empty() { &host } else { addr });
        if let Some(settings) = &server_options {
            // sqlx writes `-c name=value` as it is: escape what the server splits on.
            options = options.options(
                settings
                    .iter()
                    .map(|(name, value)| (name, value.replace('\\', "\\\\").replace(' ', "\\ "))),
            );
        }
        let target = (host.as_str(), addr.as_str(), *port);
        let password = match given("password") {
            Some(given) => Some(given.to_string()),
            None => file_password(passfile.as_deref(), target, (&dbname, &user), &mut warnings)?,
        };
        if let Some(password) = &password {
            options = options.password(password);
        }
        // libpq: an empty password is none, from the file too ("no
        // password supplied" when the server asks for one).
        let password = password.is_some_and(|p| !p.is_empty());
        let tries = tls_candidates(&tls, &options, (&host, addr), application_name.as_deref())?;
        candidates.extend(tries.into_iter().map(|c| Candidate { password, ..c }));
        let shown_host = if host.is_empty() {
            addr.as_str()
        } else {
            &host
        };
        shown.push(format!("{shown_host}:{port}"));
    }
    let pooler = params.get("pgbouncer").map(super::pooler::url_flag);
    let pooler = pooler.transpose()?.unwrap_or(false);
    let target = format!("{user}@{}/{dbname}", shown.join(","));
    let label = match params.get("service") {
        Some(service) => format!("service={service} ({target})"),
        None => target,
    };
    Ok(Some(ConnectionSource {
        options: candidates[0].options.clone(),
        candidates,
        attrs,
        label: crate::text::sanitize(&label).into_owned(),
        connect_timeout,
        warnings,
        params,
        pooler,
        time_zone,
    }))
}

/// The session's time zone as libpq 15 sets it: `PGTZ` (even empty: the
/// server then refuses it, as psql's connection) unless it says
/// `default`, sent after `options`, so it wins over a `-c timezone=` there.
fn session_time_zone(
    env: &HashMap<String, String>,
    server_options: Option<&[(String, String)]>,
) -> Option<String> {
    match env.get("PGTZ") {
        Some(zone) if !zone.eq_ignore_ascii_case("default") => Some(zone.clone()),
        _ => server_options?
            .iter()
            .rev()
            .find(|(name, _)| name.eq_ignore_ascii_case("timezone"))
            .map(|(_, zone)| zone.clone()),
    }
}

/// One server's candidates: one per TLS try (`prefer` and `allow` make a
/// second, the fallback), each with the handshake check a root certificate
/// asks for. `host` is the name, `addr` the hostaddr (empty when none).
fn tls_candidates(
    tls: &Tls,
    options: &PgConnectOptions,
    (host, addr): (&str, &str),
    application_name: Option<&str>,
) -> Result<Vec<Candidate>, String> {
    let mut candidates = Vec::new();
    let socket = host.starts_with('/') && addr.is_empty();
    for (n, attempt) in tls.attempts(socket).into_iter().enumerate() {
        // A root certificate file: the server's chain is checked by a
        // handshake of our own before connecting (OpenSSL trusting
        // every certificate of the file and nothing else, as libpq;
        // sqlx would take the file's first certificate and the
        // system's), verify-full against `host` even with hostaddr
        // (see open.rs). sqlx then checks the chain again against the
        // certificate that anchored it, and the name where it can.
        let verify = match (&attempt.mode, &tls.root) {
            (PgSslMode::VerifyCa | PgSslMode::VerifyFull, Some(root)) => Some(Verify {
                root: root.clone(),
                name: matches!(attempt.mode, PgSslMode::VerifyFull).then(|| {
                    if host.is_empty() {
                        addr.to_string()
                    } else {
                        host.to_string()
                    }
                }),
            }),
            _ => None,
        };
        // verify-full with hostaddr: sqlx checks the name it connects
        // to; libpq checks `host`, which the handshake above did.
        let attempt = match &verify {
            Some(Verify { name: Some(_), .. }) if !addr.is_empty() => Attempt {
                tls: attempt.tls,
                mode: PgSslMode::VerifyCa,
            },
            _ => attempt,
        };
        candidates.push(Candidate {
            options: compatible(attempt.apply(options.clone())?, application_name),
            verify,
            // libpq's prefer and allow: the second try of one server,
            // made only when the first fails.
            fallback: n > 0,
            password: true,
            // Sockets use no TLS, so need no root certificate.
            refuse: tls.refuse.clone().filter(|_| !socket),
        });
    }
    Ok(candidates)
}

/// The password the file `passfile` (if any) has for one target (host,
/// hostaddr, port) and (dbname, user); a file skipped adds its warning.
fn file_password(
    passfile: Option<&Path>,
    target: (&str, &str, u16),
    (dbname, user): (&str, &str),
    warnings: &mut Vec<String>,
) -> Result<Option<String>, String> {
    let Some(path) = passfile else {
        return Ok(None);
    };
    Ok(match passfile_password(path, target, dbname, user)? {
        Passfile::Password(found) => Some(found),
        Passfile::Ignored(warning) => {
            if !warnings.contains(&warning) {
                warnings.push(warning)
            }
            None
        }
        Passfile::NoMatch => None,
    })
}

/// The password file's answer for one target (host, hostaddr, port):
/// libpq matches `localhost` for the default socket directory.
fn passfile_password(
    path: &Path,
    (host, addr, port): (&str, &str, u16),
    dbname: &str,
    user: &str,
) -> Result<Passfile, String> {
    let pass_host = match (host, addr) {
        ("", addr) => addr,
        (host, _) if host == default_socket_dir() => "localhost",
        (host, _) => host,
    };
    libpq::passfile_lookup(path, pass_host, &port.to_string(), dbname, user)
}

/// Where a parameter's value came from (a keyword, a variable, a
/// service), for errors that name it.
type Origins = HashMap<&'static str, String>;

/// The connection parameters in libpq's order (see [`connect_options`]),
/// with the warnings on the way and where each value came from.
fn gather_params(
    conninfo: Option<&str>,
    env: &HashMap<String, String>,
) -> Result<(Params, Vec<String>, Origins), String> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let (mut params, warnings) = match conninfo {
        Some(text) => libpq::parse_conninfo(text)?,
        None => Default::default(),
    };
    // Where each value came from, for errors that name it.
    // A URL's part is named with the URL (password hidden).
    let in_url = conninfo
        .filter(|text| libpq::is_url(text))
        .map(|text| format!(" in {}", libpq::redact_url(text)))
        .unwrap_or_default();
    let mut origin: Origins = params
        .iter()
        .map(|(key, _)| (keyword_of(key), format!("{key}{in_url}")))
        .collect();
    if let Some(service) = params
        .get("service")
        .map(str::to_owned)
        .or_else(|| var("PGSERVICE"))
    {
        let found = libpq::find_service(&service, &libpq::service_files(&|name| var(name))?)?;
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
    // libpq reads an empty PGSSLMODE as a value (and refuses it); the
    // deprecated PGREQUIRESSL=1 means require.
    if params.get("sslmode").is_none() {
        if env.get("PGSSLMODE").is_some_and(|v| v.is_empty()) {
            return Err(
                "invalid PGSSLMODE \"\": use disable, allow, prefer, require, verify-ca or \
                 verify-full"
                    .into(),
            );
        }
        if env.get("PGREQUIRESSL").map(String::as_str) == Some("1") {
            params.set("sslmode", "require");
            origin.insert("sslmode", "PGREQUIRESSL".into());
        }
    }
    Ok((params, warnings, origin))
}

/// host, hostaddr and port may each list several values (libpq): the
/// (host, hostaddr, port) to try, in order.
fn targets(
    params: &Params,
    named: &dyn Fn(&str) -> String,
) -> Result<Vec<(String, String, u16)>, String> {
    let list = |key: &str| -> Vec<String> {
        params
            .get(key)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let (hosts, addrs, ports) = (list("host"), list("hostaddr"), list("port"));
    let count = hosts.len().max(addrs.len()).max(1);
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(format!(
            "could not match {} host names to {} hostaddr values",
            hosts.len(),
            addrs.len()
        ));
    }
    if ports.len() > 1 && ports.len() != count {
        return Err(format!(
            "could not match {} port numbers to {count} hosts",
            ports.len()
        ));
    }
    let parse_port = |port: &str| -> Result<u16, String> {
        if port.is_empty() {
            return Ok(5432);
        }
        match port.parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!(
                "invalid {} {}: use a port number from 1 to 65535",
                named("port"),
                crate::text::quoted(port)
            )),
        }
    };
    let mut targets = Vec::new();
    for i in 0..count {
        let host = hosts.get(i).cloned().unwrap_or_default();
        let addr = addrs.get(i).cloned().unwrap_or_default();
        if !addr.is_empty() && addr.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "invalid {} {}: use a numeric IP address",
                named("hostaddr"),
                crate::text::quoted(&addr)
            ));
        }
        let port = parse_port(ports.get(i).or(ports.first()).map_or("", String::as_str))?;
        targets.push((host, addr, port));
    }
    Ok(targets)
}

/// libpq's `connect_timeout`.
fn connect_timeout(
    params: &Params,
    named: &dyn Fn(&str) -> String,
) -> Result<Option<Duration>, String> {
    Ok(match params.get("connect_timeout") {
        None => None,
        Some(text) => match text.trim().parse::<i64>() {
            // libpq: zero or less waits for ever (here: the setting);
            // one second is raised to two.
            Ok(seconds) if seconds <= 0 => None,
            Ok(seconds) => Some(Duration::from_secs(seconds.max(2) as u64)),
            Err(_) => {
                return Err(format!(
                    "invalid {} {}: use a number of seconds",
                    named("connect_timeout"),
                    crate::text::quoted(text)
                ))
            }
        },
    })
}

/// One server and TLS try.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub options: PgConnectOptions,
    /// A root certificate file to check the server's chain against
    /// before connecting (see open.rs).
    pub verify: Option<Verify>,
    /// The same server again with the other TLS choice (libpq's `prefer`
    /// retries without TLS, `allow` with it): tried only if the try
    /// before it fails.
    pub fallback: bool,
    /// A password was given (or found in the password file): without
    /// one, a server that asks for one refuses the empty one sqlx sends,
    /// where libpq sends none ("no password supplied").
    pub password: bool,
    /// Why this try may not be made (a root certificate file missing or
    /// unusable), said when its turn comes: hosts that mix a socket and
    /// TCP try the socket first, as libpq.
    pub refuse: Option<String>,
}

/// What the handshake before connecting checks.
#[derive(Debug, Clone)]
pub struct Verify {
    /// Every certificate of this file is trusted, nothing else.
    pub root: String,
    /// verify-full: the name the certificate must carry (libpq: `host`,
    /// even with `hostaddr`).
    pub name: Option<String>,
}

/// libpq's `target_session_attrs`: which server of the list will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl SessionAttrs {
    fn parse(text: &str) -> Option<SessionAttrs> {
        Some(match text {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            _ => return None,
        })
    }

    /// The statement that tells (true: the server is read-only, or a
    /// standby), or none for `any`.
    pub fn probe(self) -> Option<&'static str> {
        match self {
            SessionAttrs::Any => None,
            SessionAttrs::ReadWrite | SessionAttrs::ReadOnly => {
                Some("SELECT current_setting('transaction_read_only') = 'on'")
            }
            SessionAttrs::Primary | SessionAttrs::Standby | SessionAttrs::PreferStandby => {
                Some("SELECT pg_catalog.pg_is_in_recovery()")
            }
        }
    }

    /// Whether a server whose probe answered `flag` will do (`pass` 0; a
    /// second pass of prefer-standby takes any).
    pub fn accepts(self, flag: bool, pass: u8) -> bool {
        match self {
            SessionAttrs::Any => true,
            SessionAttrs::ReadWrite | SessionAttrs::Primary => !flag,
            SessionAttrs::ReadOnly | SessionAttrs::Standby => flag,
            SessionAttrs::PreferStandby => flag || pass > 0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SessionAttrs::Any => "any",
            SessionAttrs::ReadWrite => "read-write",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "primary",
            SessionAttrs::Standby => "standby",
            SessionAttrs::PreferStandby => "prefer-standby",
        }
    }
}

/// TLS as libpq 15 decides it: the mode, the root certificate file (given,
/// or `~/.postgresql/root.crt` when it exists) and the client certificate.
struct Tls {
    mode: PgSslMode,
    /// Verify the chain even in prefer/require/allow (a root file exists).
    root: Option<String>,
    /// `sslrootcert=system` (libpq 16): the system's CAs.
    system: bool,
    client: Option<(String, String)>,
    /// Why no TLS try may be made (see [`Tls::resolve`]): said when a TCP
    /// host's turn comes, where hosts mix a socket and TCP.
    refuse: Option<String>,
}

/// How the hosts of a connection are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Every host through a Unix socket.
    Socket,
    /// Some through a socket, some over TCP.
    Mixed,
    /// Every host over TCP.
    Tcp,
}

/// verify-ca and verify-full: modes that need a root certificate file.
fn verifies(mode: PgSslMode) -> bool {
    matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull)
}

/// Why the root certificate file `path` cannot be used, as libpq says it
/// ("could not read root certificate file"), or none: it is read, and
/// holds a certificate. Never its content.
pub(super) fn root_file_problem(path: &str) -> Option<String> {
    let why = match std::fs::read(path) {
        Err(_) if Path::new(path).is_dir() => "it is a directory".to_string(),
        Err(e) => {
            let e = e.to_string();
            e.split(" (os error").next().unwrap_or(&e).to_string()
        }
        Ok(pem) => match openssl::x509::X509::stack_from_pem(&pem) {
            Ok(certs) if !certs.is_empty() => return None,
            _ if pem.iter().all(u8::is_ascii_whitespace) => "it is empty".to_string(),
            _ => "no certificate could be read from it".to_string(),
        },
    };
    Some(format!(
        "could not read root certificate file {}: {why}",
        crate::text::quoted(path)
    ))
}

/// One way to try a server: the TLS mode of that try.
struct Attempt<'a> {
    tls: &'a Tls,
    mode: PgSslMode,
}

impl Attempt<'_> {
    fn apply(&self, options: PgConnectOptions) -> Result<PgConnectOptions, String> {
        let mut options = options.ssl_mode(self.mode);
        if matches!(self.mode, PgSslMode::Disable) {
            return Ok(options);
        }
        if let Some(root) = &self.tls.root {
            options = options.ssl_root_cert(root.as_str());
        }
        if let Some((cert, key)) = &self.tls.client {
            options = options.ssl_client_cert(cert.as_str());
            options = options.ssl_client_key_from_pem(pkcs8_key(key)?);
        }
        Ok(options)
    }
}

impl Tls {
    /// `tcp`: whether the hosts are reached over TCP (a socket uses no TLS,
    /// so needs no root certificate).
    fn resolve(
        params: &Params,
        named: &dyn Fn(&str) -> String,
        home: Option<&str>,
        tcp: Reach,
    ) -> Result<Tls, String> {
        const MODES: [&str; 6] = [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ];
        let mode = match params.get("sslmode") {
            None => PgSslMode::Prefer,
            Some(mode) => PgSslMode::from_str(mode)
                .ok()
                .filter(|_| MODES.contains(&mode))
                .ok_or_else(|| {
                    format!(
                        "invalid {} {}: use disable, allow, prefer, require, verify-ca or \
                     verify-full",
                        named("sslmode"),
                        crate::text::quoted(mode)
                    )
                })?,
        };
        let in_home = |file: &str| home.map(|home| format!("{home}/.postgresql/{file}"));
        let (root, system) = match params.get("sslrootcert") {
            Some("system") => {
                if !matches!(mode, PgSslMode::VerifyFull) {
                    return Err(format!(
                        "weak sslmode {:?} may not be used with sslrootcert=system (use \
                         verify-full)",
                        params.get("sslmode").unwrap_or("prefer")
                    ));
                }
                (None, true)
            }
            given => {
                let path = given.map(str::to_owned).or_else(|| in_home("root.crt"));
                (path.filter(|path| Path::new(path).exists()), false)
            }
        };
        // What stops every TLS try of a mode with no fallback: a root
        // certificate file missing (verify-ca/verify-full) or that holds
        // no certificate. libpq finds it out at a TCP host's TLS try: so
        // refused here when every host is TCP, else at the first TCP host
        // tried (a socket uses no TLS, and may connect first).
        let refuse = match (&root, params.get("sslrootcert")) {
            _ if system || !matches!(mode, PgSslMode::Require) && !verifies(mode) => None,
            (Some(path), _) => root_file_problem(path),
            (None, _) if !verifies(mode) => None,
            (None, given) => Some(
                match given.map(str::to_owned).or_else(|| in_home("root.crt")) {
                    Some(path) => format!(
                        "root certificate file {} does not exist: either provide the file, use \
                     the system's trusted roots with sslrootcert=system, or change sslmode \
                     to disable server certificate verification",
                        crate::text::quoted(&path)
                    ),
                    None => "could not get home directory to locate root certificate file: either \
                         provide the file, use the system's trusted roots with \
                         sslrootcert=system, or change sslmode to disable server certificate \
                         verification"
                        .into(),
                },
            ),
        };
        match refuse {
            Some(why) if tcp == Reach::Tcp => return Err(why),
            _ => {}
        }
        let refuse = refuse.filter(|_| tcp == Reach::Mixed);
        let cert = params
            .get("sslcert")
            .map(str::to_owned)
            .or_else(|| in_home("postgresql.crt"))
            .filter(|path| Path::new(path).exists());
        let client = match cert {
            None => None,
            Some(cert) => {
                let key = params
                    .get("sslkey")
                    .map(str::to_owned)
                    .or_else(|| in_home("postgresql.key"))
                    .ok_or("certificate present, but not private key file")?;
                Some((cert, key))
            }
        };
        Ok(Tls {
            mode,
            root,
            system,
            client,
            refuse,
        })
    }

    /// The tries for one server, in order: `allow` tries without TLS
    /// first, `prefer` with TLS first (then without, as libpq, when the
    /// first fails); a root certificate makes every TLS try verify the
    /// chain (libpq: require then acts as verify-ca). Sockets never use TLS.
    fn attempts(&self, socket: bool) -> Vec<Attempt<'_>> {
        let tls = if self.root.is_some() || self.system {
            match self.mode {
                PgSslMode::VerifyFull => PgSslMode::VerifyFull,
                _ => PgSslMode::VerifyCa,
            }
        } else {
            match self.mode {
                PgSslMode::VerifyCa | PgSslMode::VerifyFull => self.mode,
                _ => PgSslMode::Require,
            }
        };
        let modes = match self.mode {
            _ if socket => vec![PgSslMode::Disable],
            PgSslMode::Disable => vec![PgSslMode::Disable],
            PgSslMode::Allow => vec![PgSslMode::Disable, tls],
            // sqlx's prefer: TLS unverified when offered, else none; and
            // as libpq, once more without TLS when the TLS try fails (a
            // server whose pg_hba.conf refuses TLS, a broken handshake).
            PgSslMode::Prefer if matches!(tls, PgSslMode::Require) => {
                vec![PgSslMode::Prefer, PgSslMode::Disable]
            }
            PgSslMode::Prefer => vec![tls, PgSslMode::Disable],
            _ => vec![tls],
        };
        modes
            .into_iter()
            .map(|mode| Attempt { tls: self, mode })
            .collect()
    }
}

/// A client key as PKCS#8 PEM (what native-tls takes); libpq also reads
/// PKCS#1 and SEC1 keys. Errors name the file, never its content.
fn pkcs8_key(path: &str) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // libpq refuses a key others may read: owned by this user, 0600 or
    // less; owned by another (root), 0640 or less.
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        let open = if meta.uid() == nix::unistd::geteuid().as_raw() {
            mode & 0o077 != 0
        } else {
            mode & 0o037 != 0
        };
        if open {
            return Err(format!(
                "private key file {path:?} has group or world access; file must have \
                 permissions u=rw (0600) or less if owned by the current user, or permissions \
                 u=rw,g=r (0640) or less if owned by root"
            ));
        }
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("could not open private key file {path:?}: {e}"))?;
    let key = openssl::pkey::PKey::private_key_from_pem(&bytes)
        .map_err(|_| format!("could not load private key file {path:?}"))?;
    key.private_key_to_pem_pkcs8()
        .map_err(|_| format!("could not load private key file {path:?}"))
}

/// The keyword as a `'static` key for the origin map.
fn keyword_of(key: &str) -> &'static str {
    libpq::SUPPORTED
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("other")
}

/// libpq's default socket directory, where it looks when no host is
/// given (and nowhere else): Debian's build says `/var/run/postgresql`,
/// PostgreSQL's own `/tmp`.
pub fn default_socket_dir() -> &'static str {
    if Path::new("/etc/debian_version").exists() {
        "/var/run/postgresql"
    } else {
        "/tmp"
    }
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
        settings.push((name.to_string(), value.to_string()));
    }
    Ok(settings)
}

/// Names the session (unless the connection names it), and leaves out the
/// `extra_float_digits` start-up parameter that PgBouncer refuses by
/// default: each read transaction sets it instead (`begin_detached`).
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

/// Why a login failed where no password was given: the server asked for
/// one and refused the empty one sqlx sends (libpq sends none: "fe_sendauth:
/// no password supplied").
pub(super) const NO_PASSWORD: &str = "no password supplied (the server asks for one: give it in \
     the connection string, PGPASSWORD or the password file)";

/// One line about why a connection failed, as [`describe_connect_error`],
/// but [`NO_PASSWORD`] where the try had no password (`password`) and the
/// server refused the empty one.
pub(super) fn describe_login_error(error: &sqlx::Error, password: bool) -> String {
    match error {
        sqlx::Error::Database(db) if !password && db.code().as_deref() == Some("28P01") => {
            NO_PASSWORD.into()
        }
        other => describe_connect_error(other),
    }
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
    use super::libpq::redact_url;
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
        // libpq: verify-full needs a root certificate file; an empty PGSSLMODE is refused.
        let mut no_home = env("PGSSLMODE", "verify-full");
        no_home.insert("HOME".into(), "/nonexistent".into());
        let error = connect_options(url, &no_home).unwrap_err();
        assert!(
            error.contains("/nonexistent/.postgresql/root.crt"),
            "{error}"
        );
        no_home.insert("PGSSLMODE".into(), "require".into());
        assert!(connect_options(url, &no_home).is_ok());
        let error = connect_options(url, &env("PGSSLMODE", "")).unwrap_err();
        assert!(error.starts_with("invalid PGSSLMODE \"\""), "{error}");
        let error = connect_options(url, &env("PGPORT", "54x32")).unwrap_err();
        assert!(error.starts_with("invalid PGPORT \"54x32\""), "{error}");
        let error =
            connect_options(Some("postgres://u@h/db?sslmode=bogus"), &HashMap::new()).unwrap_err();
        assert!(error.contains("bogus"), "{error}");
        // libpq takes the modes in lower case only (sqlx in any case).
        let error = connect_options(url, &env("PGSSLMODE", "REQUIRE")).unwrap_err();
        assert!(
            error.starts_with("invalid PGSSLMODE \"REQUIRE\""),
            "{error}"
        );
        // On a Unix socket libpq uses no TLS, so checks no certificate: a
        // site-wide verify-full without a root certificate still connects
        // there (as psql does), and is refused for a TCP host.
        for socket in ["postgres://u@%2Ftmp/db", "host=/tmp dbname=db"] {
            assert!(connect_options(Some(socket), &no_home).is_ok(), "{socket}");
        }
        no_home.insert("PGSSLMODE".into(), "verify-ca".into());
        assert!(connect_options(Some("host=/tmp dbname=db"), &no_home).is_ok());
        // Hosts that mix a socket and TCP: the socket is tried first (as
        // libpq), and the TCP host refused when its turn comes.
        let mixed = "host=/tmp,db.example dbname=db";
        let source = connect_options(Some(mixed), &no_home).unwrap().unwrap();
        let refused: Vec<_> = source
            .candidates()
            .iter()
            .map(|c| c.refuse.is_some())
            .collect();
        assert_eq!(refused, [false, true]);
        assert!(connect_options(Some("host=a,b dbname=db"), &no_home).is_err());
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
        assert!(error.contains("@db:notaport/app: the port"), "{error}");
        let error =
            connect_options(Some("postgres://bob:hun%zzter2@db/app"), &HashMap::new()).unwrap_err();
        assert!(!error.contains("hun"), "{error}");
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

    /// libpq reads an empty user, database or connection string as
    /// unset (psql `-d ""` takes PGDATABASE): they were used as they were,
    /// `database "bob" does not exist`, an empty user name sent.
    #[test]
    fn empty_values_are_unset_as_libpq_reads_them() {
        let env = vars(&[
            ("PGHOST", "/tmp"),
            ("PGUSER", "bob"),
            ("PGDATABASE", "shop"),
        ]);
        let label = |conninfo: &str, env: &HashMap<String, String>| {
            connect_options(Some(conninfo), env)
                .unwrap()
                .unwrap()
                .label()
        };
        assert_eq!(label("", &env), "bob@/tmp:5432/shop");
        assert!(connect_options(Some(""), &HashMap::new())
            .unwrap()
            .is_none());
        assert_eq!(
            label("host=/tmp user=bob dbname=", &env),
            "bob@/tmp:5432/bob"
        );
        let login = PgConnectOptions::new_without_pgpass()
            .get_username()
            .to_string();
        let no_user = label("postgresql://%2Ftmp/app?user=", &HashMap::new());
        assert_eq!(no_user, format!("{login}@/tmp:5432/app"));
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
        let tcp = "host=db user=bob dbname=app";
        for (conninfo, same_as, expected) in [
            ("host=/var/run/postgresql user=bob dbname=app", None, "sock"),
            (tcp, None, "tcp"),
            // libpq: an empty password is none, and the file is read.
            ("password='' host=db user=bob dbname=app", Some(tcp), "tcp"),
            ("postgres://bob:@db/app", Some(tcp), "tcp"),
        ] {
            assert_eq!(
                format!("{:?}", password(conninfo)),
                by_hand(same_as.unwrap_or(conninfo), expected),
                "{conninfo}"
            );
        }
    }
}
