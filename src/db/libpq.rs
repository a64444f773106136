//! libpq's ways of naming a database, parsed as libpq parses them:
//! keyword/value strings (`host=db dbname='my app'`), URLs, the service
//! file (`pg_service.conf`) and the password file (`.pgpass`).
//!
//! No crate does this (sqlx reads URLs and a few `PG*` variables only, and
//! its `.pgpass` reader knows no escapes and no permission check).

use std::path::{Path, PathBuf};

/// Connection parameters by libpq keyword, in the order given (a later
/// value of a keyword replaces an earlier one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_string(), value.to_string()));
    }

    /// Sets `key` only when nothing set it before (libpq's layering).
    pub fn set_default(&mut self, key: &str, value: &str) -> bool {
        if self.get(key).is_some() {
            return false;
        }
        self.set(key, value);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The keywords tenantscope acts on.
pub const SUPPORTED: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
];

/// Keywords libpq knows that change nothing here: accepted, then ignored
/// with a warning (refusing them would refuse a psql-valid string).
/// `pgbouncer` is tenantscope's own (see the pooler setting).
const IGNORED: &[&str] = &[
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "client_encoding",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "channel_binding",
    "sslcompression",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslnegotiation",
    "sslcertmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "requirepeer",
    "require_auth",
    "krbsrvname",
    "load_balance_hosts",
    "pgbouncer",
    "statement-cache-capacity",
];

/// The libpq keyword for `key`, or why it is refused.
fn keyword(key: &str) -> Result<Option<&'static str>, String> {
    // sqlx's spellings, so that URLs that worked before still do.
    let key = match key {
        "ssl-mode" => "sslmode",
        "ssl-root-cert" | "ssl-ca" => "sslrootcert",
        "ssl-cert" => "sslcert",
        "ssl-key" => "sslkey",
        key => key,
    };
    if let Some(known) = SUPPORTED.iter().find(|k| **k == key) {
        return Ok(Some(known));
    }
    if IGNORED.contains(&key) {
        return Ok(None);
    }
    Err(format!(
        "invalid connection option {}",
        crate::text::quoted(key)
    ))
}

/// Whether `text` is a URL (as libpq decides: by its prefix).
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    if !url.contains("://") {
        return "(unparsable URL)".into();
    }
    crate::text::redact_secrets(url)
}

/// A URL or a keyword/value string, as parameters; warnings name the
/// options that are accepted and ignored.
pub fn parse_conninfo(text: &str) -> Result<(Params, Vec<String>), String> {
    let pairs = if is_url(text) {
        parse_url(text)?
    } else if text.contains('=') {
        parse_keywords(text)?
    } else if text.contains("://") {
        // libpq would take this for a database name; it is a URL of
        // another kind (a deliberate difference, see docs/connecting.md).
        return Err(format!(
            "invalid database URL {}: use a postgres:// or postgresql:// URL, key=value pairs \
             (host=… dbname=…) or a database name",
            redact_url(text)
        ));
    } else {
        // libpq: a plain word is a database name (psql `shop`).
        vec![("dbname".to_string(), text.to_string())]
    };
    let mut params = Params::default();
    let mut warnings = Vec::new();
    for (key, value) in pairs {
        if key == "load_balance_hosts" && value != "disable" {
            return Err(format!(
                "load_balance_hosts={} is not supported: hosts are tried in the order given \
                 (load_balance_hosts=disable)",
                crate::text::quoted(&value)
            ));
        }
        match keyword(&key)? {
            Some(key) => params.set(key, &value),
            None if key == "pgbouncer" || key == "statement-cache-capacity" => {
                params.set(&key, &value)
            }
            None => warnings.push(format!(
                "ignoring connection option {} (tenantscope does not use it)",
                crate::text::quoted(&key)
            )),
        }
    }
    Ok((params, warnings))
}

/// `key = value` pairs separated by spaces; a value may be single-quoted,
/// and a backslash escapes the next character (libpq's `conninfo_parse`).
/// Errors never quote a value (it may be a password).
pub fn parse_keywords(text: &str) -> Result<Vec<(String, String)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_spaces = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_spaces(i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        i = skip_spaces(i);
        if chars.get(i) != Some(&'=') {
            let after = match pairs.last() {
                Some((previous, _)) => format!("after the value of {previous:?}"),
                None => "in the first word".into(),
            };
            return Err(format!("invalid connection string: missing \"=\" {after}"));
        }
        i = skip_spaces(i + 1);
        let mut value = String::new();
        if chars.get(i) == Some(&'\'') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "invalid connection string: unterminated quoted value of {}",
                            crate::text::quoted(&key)
                        ))
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// `postgres[ql]://[user[:password]@][host][:port][,…][/dbname][?key=value&…]`,
/// read as libpq reads it (fe-connect.c `conninfo_uri_parse`): every part
/// may be empty (`postgresql://alice@`, `postgresql://:5433/shop`), hosts
/// may be a list, `[v6]` addresses are bracketed, and each part is
/// percent-decoded (no `+` for a space). A host that starts with `/`
/// (`%2F`) is a socket directory. Errors never quote the password.
fn parse_url(text: &str) -> Result<Vec<(String, String)>, String> {
    // A password's special characters are the usual cause, where there is
    // one: a `user:password@` before the host.
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let has_password = after_scheme
        .rsplit_once('@')
        .is_some_and(|(user_info, _)| user_info.contains(':'));
    let bad = |why: &str| {
        let hint = if has_password {
            " (percent-encode special characters in the password)"
        } else {
            ""
        };
        format!("invalid database URL {}: {why}{hint}", redact_url(text))
    };
    let decode = |part: &str| -> Result<String, String> {
        let bytes = part.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'%'
                && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return Err(bad("invalid percent-encoded token"));
            }
        }
        let decoded = percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map_err(|_| bad("a percent-encoded part is not UTF-8"))?;
        if decoded.contains('\0') {
            return Err(bad("forbidden value %00 in percent-encoded value"));
        }
        Ok(decoded.into_owned())
    };
    let rest = text
        .strip_prefix("postgresql://")
        .or_else(|| text.strip_prefix("postgres://"))
        .ok_or_else(|| bad("not a postgres:// URL"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (before_query, None),
    };
    let mut pairs = Vec::new();
    let hostspec = match authority.split_once('@') {
        Some((userspec, hostspec)) => {
            let (user, password) = match userspec.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userspec, None),
            };
            if !user.is_empty() {
                pairs.push(("user".into(), decode(user)?));
            }
            if let Some(password) = password {
                pairs.push(("password".into(), decode(password)?));
            }
            hostspec
        }
        None => authority,
    };
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for spec in hostspec.split(',') {
        let (host, port) = if let Some(v6) = spec.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("missing \"]\" in an IPv6 host address"))?;
            if host.is_empty() {
                return Err(bad("IPv6 host address may not be empty"));
            }
            let port = match after {
                "" => None,
                after => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("unexpected character after an IPv6 host address"))?,
                ),
            };
            (host, port)
        } else {
            match spec.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (spec, None),
            }
        };
        // Checked here, not later: a password with a raw `/` leaves part
        // of itself where the port is, and no later error may quote it.
        let port = port.unwrap_or("");
        if !port.is_empty() && !port.parse::<u16>().is_ok_and(|p| p != 0) {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
        hosts.push(decode(host)?);
        ports.push(port.to_string());
    }
    if hosts.iter().any(|h| !h.is_empty()) || hosts.len() > 1 {
        pairs.push(("host".into(), hosts.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        pairs.push(("port".into(), ports.join(",")));
    }
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        pairs.push(("dbname".into(), decode(path)?));
    }
    for (key, value) in query_params(query.unwrap_or("")).map_err(bad)? {
        pairs.push((decode(key)?, decode(value)?));
    }
    Ok(pairs)
}

/// A URL's `key=value&…` query, not yet decoded, or why it is malformed.
/// As libpq: one `&` may end it, but `&&` or a leading `&` is a parameter
/// without `=`.
fn query_params(query: &str) -> Result<Vec<(&str, &str)>, &'static str> {
    let params: Vec<&str> = query.split('&').collect();
    let mut pairs = Vec::new();
    for (at, param) in params.iter().enumerate() {
        if param.is_empty() {
            if at + 1 == params.len() {
                continue;
            }
            return Err("a query parameter is empty (\"&&\")");
        }
        let (key, value) = param
            .split_once('=')
            .ok_or("a query parameter has no \"=\"")?;
        if value.contains('=') {
            return Err("extra \"=\" in a query parameter");
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Where a service is looked up: the user's file (`PGSERVICEFILE`, else
/// `~/.pg_service.conf`), then the system's (`PGSYSCONFDIR/pg_service.conf`).
/// A `PGSERVICEFILE` naming a missing file is an error, as in libpq 15.
pub fn service_files(env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<PathBuf>, String> {
    let user = match env("PGSERVICEFILE") {
        Some(file) if !Path::new(&file).exists() => {
            return Err(format!(
                "service file {} not found (PGSERVICEFILE)",
                crate::text::quoted(&file)
            ))
        }
        Some(file) => Some(PathBuf::from(file)),
        None => env("HOME").map(|home| Path::new(&home).join(".pg_service.conf")),
    };
    let system = Path::new(&env("PGSYSCONFDIR").unwrap_or_else(|| DEFAULT_SYSCONFDIR.into()))
        .join("pg_service.conf");
    Ok(user.into_iter().chain([system]).collect())
}

/// Debian's libpq looks here when `PGSYSCONFDIR` is unset.
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The parameters of service `name` from the first file (of `files`) that
/// defines it. A missing file is skipped, as libpq does.
pub fn find_service(name: &str, files: &[PathBuf]) -> Result<Params, String> {
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read service file {}: {e}", file.display())),
        };
        if let Some(params) = service_in(name, &text, file)? {
            return Ok(params);
        }
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err(format!(
        "definition of service {} not found (looked in {})",
        crate::text::quoted(name),
        looked.join(", ")
    ))
}

fn service_in(name: &str, text: &str, file: &Path) -> Result<Option<Params>, String> {
    let mut found: Option<Params> = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            if found.is_some() {
                break;
            }
            if group.strip_suffix(']') == Some(name) {
                found = Some(Params::default());
            }
            continue;
        }
        let Some(params) = found.as_mut() else {
            continue;
        };
        let syntax = || {
            format!(
                "syntax error in service file {}, line {}",
                file.display(),
                number + 1
            )
        };
        // libpq trims the line only: `port = 5433` names no keyword.
        let (key, value) = line.split_once('=').ok_or_else(syntax)?;
        if key == "service" {
            return Err(format!(
                "nested service specifications are not supported in service file {}, line {}",
                file.display(),
                number + 1
            ));
        }
        match keyword(key) {
            Ok(Some(key)) => params.set_default(key, value),
            Ok(None) => false,
            Err(_) => return Err(syntax()),
        };
    }
    Ok(found)
}

/// The outcome of looking in the password file.
#[derive(Debug, PartialEq)]
pub enum Passfile {
    /// Missing, or no line matches.
    NoMatch,
    Password(String),
    /// The file was skipped: why (printed as a warning, as psql does).
    Ignored(String),
}

/// Looks `host:port:dbname:user` up in the password file as libpq does:
/// first matching line wins, `*` matches anything, `\:` and `\\` are a
/// literal `:` and `\`. A file others may read is skipped with a warning;
/// one that exists but cannot be read is an error.
pub fn passfile_lookup(
    path: &Path,
    host: &str,
    port: &str,
    dbname: &str,
    user: &str,
) -> Result<Passfile, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Passfile::NoMatch),
        Err(e) => return Err(format!("cannot read password file {}: {e}", path.display())),
    };
    if !meta.is_file() {
        return Err(format!(
            "cannot read password file {}: not a plain file",
            path.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Ok(Passfile::Ignored(format!(
            "password file {} has group or world access; permissions should be u=rw (0600) \
             or less (ignored)",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        let matched =
            [host, port, dbname, user]
                .iter()
                .all(|want| match field_matches(rest, want) {
                    Some(after) => {
                        rest = after;
                        true
                    }
                    None => false,
                });
        if matched {
            return Ok(Passfile::Password(unescape_field(rest)));
        }
    }
    Ok(Passfile::NoMatch)
}

/// If the field at the start of `line` is `*` or equals `want` (after
/// unescaping), the rest of the line after its `:`.
fn field_matches<'a>(line: &'a str, want: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut chars = line.char_indices();
    let mut wanted = want.chars();
    while let Some((i, c)) = chars.next() {
        let c = match c {
            ':' => return wanted.next().is_none().then(|| &line[i + 1..]),
            '\\' => match chars.next() {
                Some((_, escaped)) => escaped,
                None => return None,
            },
            c => c,
        };
        if wanted.next() != Some(c) {
            return None;
        }
    }
    None
}

/// The password field: up to an unescaped `:`, with escapes removed.
fn unescape_field(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_keywords(text).unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn keyword_strings_quote_and_escape_like_libpq() {
        assert_eq!(
            pairs("host=db  port = 5433 dbname='my app' password='it\\'s a \\\\ b'"),
            vec![
                pair("host", "db"),
                pair("port", "5433"),
                pair("dbname", "my app"),
                pair("password", "it's a \\ b")
            ]
        );
        assert_eq!(pairs("user=a\\ b"), vec![pair("user", "a b")]);
        assert_eq!(pairs("password=''"), vec![pair("password", "")]);
        assert_eq!(pairs("  "), vec![]);
    }

    #[test]
    fn malformed_keyword_strings_never_quote_a_value() {
        let error = parse_keywords("password=hunter2 secretword").unwrap_err();
        assert_eq!(
            error,
            "invalid connection string: missing \"=\" after the value of \"password\""
        );
        let error = parse_keywords("password='hunter2").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("unterminated"), "{error}");
        assert!(parse_conninfo("bogus=1").unwrap_err().contains("\"bogus\""));
        let error = parse_conninfo("host=a,b load_balance_hosts=random").unwrap_err();
        assert!(error.contains("not supported"), "{error}");
        assert!(parse_conninfo("host=a,b load_balance_hosts=disable").is_ok());
        // libpq: a plain word is a database name.
        assert_eq!(
            parse_conninfo("just-a-name").unwrap().0.get("dbname"),
            Some("just-a-name")
        );
    }

    #[test]
    fn urls_become_the_same_parameters() {
        let (params, warnings) = parse_conninfo(
            "postgresql://bob:p%40ss@%2Frun%2Fpostgresql:5433/shop?sslmode=require&service=x&keepalives=1",
        )
        .unwrap();
        assert_eq!(params.get("host"), Some("/run/postgresql"));
        assert_eq!(params.get("port"), Some("5433"));
        assert_eq!(params.get("user"), Some("bob"));
        assert_eq!(params.get("password"), Some("p@ss"));
        assert_eq!(params.get("dbname"), Some("shop"));
        assert_eq!(params.get("sslmode"), Some("require"));
        assert_eq!(params.get("service"), Some("x"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let (params, _) = parse_conninfo("postgres:///db?host=/tmp&ssl-mode=disable").unwrap();
        assert_eq!(params.get("host"), Some("/tmp"));
        assert_eq!(params.get("sslmode"), Some("disable"));
    }

    #[test]
    fn every_url_form_libpq_accepts() {
        let params = |url: &str| parse_conninfo(url).unwrap().0;
        let p = params("postgresql://alice@/shop?host=/run/postgresql");
        assert_eq!(p.get("user"), Some("alice"));
        assert_eq!(p.get("host"), Some("/run/postgresql"));
        assert_eq!(p.get("dbname"), Some("shop"));
        let p = params("postgresql://:5433/shop");
        assert_eq!((p.get("host"), p.get("port")), (None, Some("5433")));
        let p = params("postgresql://alice@");
        assert_eq!((p.get("user"), p.get("dbname")), (Some("alice"), None));
        let p = params("postgresql://u:p%20w@/db?service=s");
        assert_eq!(
            (p.get("password"), p.get("service")),
            (Some("p w"), Some("s"))
        );
        let p = params("postgresql://");
        assert_eq!(p.iter().count(), 0);
        let p = params("postgres://a:1,[::1]:2,c/db");
        assert_eq!(p.get("host"), Some("a,::1,c"));
        assert_eq!(p.get("port"), Some("1,2,"));
        // No `+` for a space (libpq is not a form decoder).
        assert_eq!(
            params("postgres:///d?application_name=a+b").get("application_name"),
            Some("a+b")
        );
        for bad in [
            "postgres://h/d?x",
            "postgres://h/d%zz",
            "postgres://[::1/d",
            "postgres://h/d%00",
        ] {
            assert!(parse_conninfo(bad).is_err(), "{bad}");
        }
        // The hint about a password's special characters, only where the
        // URL has a password (never shown).
        let error = |url: &str| parse_conninfo(url).unwrap_err();
        let hint = "percent-encode special characters in the password";
        let with = error("postgres://u:p/ss@host/db");
        assert!(with.contains(hint) && !with.contains("p/ss"), "{with}");
        for url in [
            "postgres://u@host:99999999/db",
            "postgres://db.example.com:5x32/app",
        ] {
            let without = error(url);
            assert!(
                without.contains("the port must be") && !without.contains(hint),
                "{without}"
            );
        }
    }

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn services_come_from_the_first_file_that_has_them() {
        let dir = tempfile::tempdir().unwrap();
        // Service files need no private mode (unlike the passfile).
        let conf = |name: &str, text: &str| write(dir.path(), name, text, 0o644);
        let user = conf(
            "user.conf",
            "# mine\n[shop]\nhost=/tmp\n  port=5433  \n[other]\nhost=x\n",
        );
        let system = conf("pg_service.conf", "[shop]\nhost=ignored\n[sys]\ndbname=d\n");
        let files = [user, dir.path().join("missing.conf"), system];
        let shop = find_service("shop", &files).unwrap();
        assert_eq!(shop.get("host"), Some("/tmp"));
        assert_eq!(shop.get("port"), Some("5433"));
        assert_eq!(
            find_service("sys", &files).unwrap().get("dbname"),
            Some("d")
        );
        let error = find_service("nope", &files).unwrap_err();
        assert!(
            error.starts_with("definition of service \"nope\" not found"),
            "{error}"
        );
        let bad = conf("bad.conf", "[s]\nhots=x\n");
        let error = find_service("s", &[bad]).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn passfile_escapes_wildcards_and_first_match() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "pgpass",
            "# comment\nother:*:*:*:no\nh\\:x:5432:db:u\\\\1:p\\:w\\\\d\n*:*:db:u2:first\n*:*:*:u2:second\n",
            0o600,
        );
        let find = |host: &str, user: &str| passfile_lookup(&path, host, "5432", "db", user);
        assert_eq!(find("h:x", "u\\1"), Ok(Passfile::Password("p:w\\d".into())));
        assert_eq!(find("any", "u2"), Ok(Passfile::Password("first".into())));
        assert_eq!(find("h:x", "u1"), Ok(Passfile::NoMatch));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(find("any", "u2"), Ok(Passfile::Ignored(w)) if w.contains("0600")));
        assert!(passfile_lookup(dir.path(), "h", "1", "d", "u").is_err());
        assert_eq!(
            passfile_lookup(&dir.path().join("none"), "h", "1", "d", "u"),
            Ok(Passfile::NoMatch)
        );
    }
}
