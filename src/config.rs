//! Layered settings: built-in defaults < config file < environment <
//! the chosen profile (`[profiles.NAME]`) < flags.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use config::{ConfigError, Environment, File, FileFormat, Map, Source, Value};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub tenancy: TenancySettings,
    pub ui: UiSettings,
    /// `[profiles.NAME]`: `database.*` and `tenancy.*` keys for one database.
    // Free-form tables: the serialized settings list only fixed keys.
    #[serde(skip_serializing)]
    pub profiles: BTreeMap<String, Profile>,
    /// The profile in force (`--profile`, `TENANTSCOPE_PROFILE`).
    #[serde(skip)]
    pub profile: Option<String>,
    /// Directories whose `./tenantscope.toml` may set `[database]`,
    /// `[tenancy]` and `[profiles]` (see [`LocalTrust`]); read from the
    /// user's own file (`$XDG_CONFIG_HOME/tenantscope/config.toml`) only.
    #[serde(skip_serializing)]
    pub trusted_directories: Vec<PathBuf>,
    /// `tenancy.detect = false`: the layout is as configured (unset keys
    /// keep the article's defaults), never detected.
    #[serde(skip)]
    pub tenancy_set: bool,
    /// The `tenancy` keys the file, profile or environment sets: they
    /// refine the detected layout, each replacing what detection found.
    #[serde(skip)]
    pub tenancy_keys: Vec<String>,
    /// Where the detected model is cached per database (see
    /// db/tenancy/cache.rs); `None`: detection at every start. The binary
    /// sets it unless `--no-cache`; a library user opts in.
    #[serde(skip)]
    pub detection_cache: Option<PathBuf>,
}

/// One named database: any `database.*` and `tenancy.*` keys, layered over
/// the file's own when the profile is chosen.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    pub database: BTreeMap<String, Value>,
    pub tenancy: BTreeMap<String, Value>,
}

impl Profile {
    /// The profile's connection string, if it has one.
    pub fn url(&self) -> Option<String> {
        self.database
            .get("url")
            .and_then(|url| url.clone().into_string().ok())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// postgres://user:password@host:port/db?sslmode=...; unset means PG* variables or the demo.
    pub url: Option<String>,
    pub max_connections: u32,
    pub connect_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    /// A connection pooler between tenantscope and the server (see Pooler).
    pub pooler: Pooler,
}

/// `database.pooler`: `transaction` (PgBouncer and the like in transaction
/// mode) makes every statement unnamed; `none` (the default) still switches
/// to that when a pooler shows itself by a prepared-statement conflict.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pooler {
    #[default]
    None,
    Transaction,
}

impl Pooler {
    const ALL: [Pooler; 2] = [Pooler::None, Pooler::Transaction];

    /// The pooler `word` names, as the config file writes it (serde's name).
    fn named(word: &str) -> Option<Pooler> {
        let name = |p: &Pooler| serde_json::to_value(p).ok();
        Pooler::ALL
            .into_iter()
            .find(|p| name(p).as_ref().and_then(|n| n.as_str()) == Some(word))
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: None,
            max_connections: 4,
            connect_timeout_ms: 5_000,
            statement_timeout_ms: 5_000,
            pooler: Pooler::None,
        }
    }
}

/// A built configuration as a source, to build again without a key.
#[derive(Debug, Clone)]
struct Layer(Map<String, Value>);

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.0.clone())
    }
}

/// The settings of a built configuration, noting which tenancy keys it
/// sets and whether `tenancy.detect` turns detection off (that key is no
/// part of the model: it is taken out before the rest is read).
fn deserialize(built: config::Config, file: Option<&Path>) -> Result<Settings, ConfigError> {
    check_kinds(&built, file)?;
    let table = built.get_table("tenancy").unwrap_or_default();
    let mut keys: Vec<String> = table.keys().filter(|k| *k != "detect").cloned().collect();
    keys.sort();
    let (detect, built) = match table.get("detect") {
        None => (true, built),
        Some(value) => {
            let detect = value
                .clone()
                .into_bool()
                .map_err(|e| e.extend_with_key("tenancy.detect"))?;
            let mut root = built.collect()?;
            let mut tenancy = table.clone();
            tenancy.remove("detect");
            root.insert("tenancy".into(), Value::new(None, tenancy));
            (
                detect,
                config::Config::builder().add_source(Layer(root)).build()?,
            )
        }
    };
    let mut settings: Settings = built.try_deserialize()?;
    settings.tenancy_set = !detect;
    settings.tenancy_keys = keys;
    Ok(settings)
}

/// Refuses a value the config crate would quietly convert: a file's
/// `mouse = "yes"` (read as true), `debounce_ms = 1.5` (rounded to 2),
/// `compare_with = 5` (read as "5"). A key takes the kind its default
/// has, text where the default is unset; every `[tenancy]` key is a name,
/// but `detect` (true or false) and `ignore_schemas` (a list of names).
/// The environment's values are text, parsed: there only a fraction for a
/// whole number is refused (a tenant named 5 is fine there). An unknown
/// key is left to serde, which names it. `file`: the file read, named
/// where a value does not say where it is from (a profile's).
fn check_kinds(built: &config::Config, file: Option<&Path>) -> Result<(), ConfigError> {
    for section in ["database", "ui", "tenancy"] {
        let Ok(table) = built.get_table(section) else {
            continue;
        };
        for (key, value) in &table {
            let Some(kind) = Kind::of(section, key) else {
                continue;
            };
            let from_environment = value.origin() == Some("the environment");
            // Negative or past u64, serde would say only "invalid type"
            // (past u64, without the key): the range instead.
            if let Some(number) = whole_number(value, from_environment) {
                check_range(&format!("{section}.{key}"), number).map_err(ConfigError::Message)?;
            }
            let refused = if from_environment {
                // All text, parsed: a fraction for a whole number (one past
                // i64 is parsed as a float: left to the range check), a
                // word for a flag, or another word for the pooler.
                match kind {
                    Kind::Whole => {
                        matches!(value.kind, config::ValueKind::Float(n) if n.fract() != 0.0)
                    }
                    Kind::Flag => matches!(value.kind, config::ValueKind::String(_)),
                    Kind::Pooler => !kind.fits(value),
                    _ => false,
                }
            } else {
                !kind.fits(value)
            };
            if refused {
                let shown = shown(value);
                let origin = value
                    .origin()
                    .map(str::to_string)
                    .or_else(|| file.map(|f| f.display().to_string()));
                let place = match origin {
                    Some(origin) if !from_environment => {
                        format!(" in {}", crate::text::sanitize(&origin))
                    }
                    _ => String::new(),
                };
                return Err(ConfigError::Message(format!(
                    "{section}.{key} must be {}, not {shown}{place}",
                    kind.wanted()
                )));
            }
        }
    }
    Ok(())
}

/// A refused value as the file writes it: a string quoted, `4.0` (not
/// Display's 4), a list in brackets (Display's `"a, "` read as a string).
fn shown(value: &Value) -> String {
    use config::ValueKind::{Array, Float, String as Text, Table};
    match &value.kind {
        Text(text) => format!("{text:?}"),
        Float(number) => format!("{number:?}"),
        Array(items) => format!(
            "[{}]",
            items.iter().map(shown).collect::<Vec<_>>().join(", ")
        ),
        Table(_) => "a table".into(),
        _ => value.to_string(),
    }
}

/// A whole number's value, as written (and the environment's text, which
/// is all text); past i128, the nearest end of it.
fn whole_number(value: &Value, from_environment: bool) -> Option<i128> {
    use config::ValueKind::{String as Text, I128, I64, U128, U64};
    match &value.kind {
        I64(n) => Some(i128::from(*n)),
        U64(n) => Some(i128::from(*n)),
        I128(n) => Some(*n),
        U128(n) => Some(i128::try_from(*n).unwrap_or(i128::MAX)),
        Text(text) if from_environment => text.trim().parse().ok(),
        _ => None,
    }
}

/// The kind of value a setting takes (see [`check_kinds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Whole,
    Flag,
    Text,
    Name,
    Names,
    /// `database.pooler`'s words.
    Pooler,
}

impl Kind {
    /// The kind `section.key` takes: a key takes the kind its default has,
    /// text where the default is unset, but the `[tenancy]` names, its
    /// flag and list, and the pooler's words. `None`: no such key.
    fn of(section: &str, key: &str) -> Option<Kind> {
        // JSON keeps the unset keys (null), which TOML leaves out.
        static DEFAULTS: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
            serde_json::to_value(Settings::default()).unwrap_or_default()
        });
        let tenancy_key = || {
            TenancySettings::default()
                .fields()
                .any(|(name, _)| name == key)
        };
        Some(match (section, key) {
            ("tenancy", "detect") => Kind::Flag,
            ("tenancy", "ignore_schemas") => Kind::Names,
            ("database", "pooler") => Kind::Pooler,
            ("tenancy", _) if tenancy_key() => Kind::Name,
            _ => match DEFAULTS.get(section)?.get(key)? {
                serde_json::Value::Number(_) => Kind::Whole,
                serde_json::Value::Bool(_) => Kind::Flag,
                serde_json::Value::String(_) | serde_json::Value::Null => Kind::Text,
                _ => return None,
            },
        })
    }

    /// A value of this kind is no text: the environment's is read trimmed.
    fn trimmed(self) -> bool {
        matches!(self, Kind::Whole | Kind::Flag | Kind::Pooler)
    }

    fn fits(self, value: &Value) -> bool {
        use config::ValueKind::{Array, Boolean, String as Text, I128, I64, U128, U64};
        match (self, &value.kind) {
            (Kind::Whole, kind) => matches!(kind, I64(_) | U64(_) | I128(_) | U128(_)),
            (Kind::Flag, kind) => matches!(kind, Boolean(_)),
            (Kind::Text | Kind::Name, kind) => matches!(kind, Text(_)),
            (Kind::Names, Array(names)) => names.iter().all(|name| Kind::Name.fits(name)),
            (Kind::Names, _) => false,
            (Kind::Pooler, Text(word)) => Pooler::named(word).is_some(),
            (Kind::Pooler, _) => false,
        }
    }

    fn wanted(self) -> &'static str {
        match self {
            Kind::Whole => "a whole number",
            Kind::Flag => "true or false",
            Kind::Text => "a string (quoted)",
            Kind::Name => "a string (a quoted name)",
            Kind::Names => "a list of strings (quoted names)",
            Kind::Pooler => "none or transaction",
        }
    }
}

/// The `[tenancy]` section is the tenancy model (db::tenancy).
pub type TenancySettings = crate::model::TenancyModel;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// While the selection moves, how long it must rest before orders load.
    pub debounce_ms: u64,
    /// Capture the mouse (click, wheel); off keeps the terminal's own
    /// select-to-copy (`--no-mouse`).
    pub mouse: bool,
    /// Reload the visible data every this many seconds; 0 is off.
    pub refresh_s: u64,
    /// Where `e` writes its CSV files (default: the user's download
    /// directory, else their data directory; never the current directory).
    pub export_dir: Option<PathBuf>,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            debounce_ms: 120,
            mouse: true,
            refresh_s: 0,
            export_dir: None,
        }
    }
}

/// Which config file to read: an explicit one must exist, the defaults may not.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigFile {
    Explicit(PathBuf),
    Default(Option<PathBuf>),
}

impl ConfigFile {
    /// The file read: the one given, else the default one found.
    pub fn read_path(&self) -> Option<&Path> {
        match self {
            ConfigFile::Explicit(path) => Some(path),
            ConfigFile::Default(Some(path)) if path.is_file() => Some(path),
            ConfigFile::Default(_) => None,
        }
    }

    /// `--config FILE`, else `./tenantscope.toml`, else the XDG config file.
    pub fn locate(explicit: Option<&Path>, env: &HashMap<String, String>) -> ConfigFile {
        Self::locate_with(explicit, Path::new("tenantscope.toml"), env)
    }

    /// [`ConfigFile::locate`] with the local file given (tests). A local
    /// file that sets `[database]`, `[tenancy]` or `[profiles]` is read
    /// only from a trusted directory (see [`LocalTrust`]); otherwise the
    /// user's own file is, as if there were no local file.
    fn locate_with(
        explicit: Option<&Path>,
        local: &Path,
        env: &HashMap<String, String>,
    ) -> ConfigFile {
        if let Some(path) = explicit {
            return ConfigFile::Explicit(path.to_path_buf());
        }
        if local.is_file() && !matches!(LocalTrust::of(local, env), LocalTrust::Refused { .. }) {
            return ConfigFile::Default(Some(local.to_path_buf()));
        }
        ConfigFile::Default(Self::xdg_file(env))
    }

    /// `$XDG_CONFIG_HOME/tenantscope/config.toml` (else under `~/.config`).
    pub fn xdg_file(env: &HashMap<String, String>) -> Option<PathBuf> {
        let config_home = env
            .get("XDG_CONFIG_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| env.get("HOME").map(|home| Path::new(home).join(".config")));
        config_home.map(|dir| dir.join("tenantscope").join("config.toml"))
    }
}

/// Whether a config file found in the current directory may be read, as
/// git's `safe.directory`: a checked-out repository must not choose the
/// database or the columns shown (a `[tenancy]` naming another column, a
/// `[database]` pointing at another server) just because one `cd`s into it.
/// A local file that sets only `[ui]` is harmless and always read; one that
/// sets `[database]`, `[tenancy]` or `[profiles]` is read only when its
/// directory is listed in `trusted_directories` of the user's own config
/// file and the file is the user's own (owned by them, writable by no one
/// else). `--config FILE` and `TENANTSCOPE_CONFIG` are always read.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalTrust {
    /// Sets nothing but `[ui]` (or cannot be parsed: its error is shown).
    Harmless,
    /// Sets `sections` from a trusted directory.
    Trusted { sections: Vec<String> },
    /// Sets `sections` and is not trusted (`why`): not read.
    Refused { sections: Vec<String>, why: String },
}

impl LocalTrust {
    pub fn of(local: &Path, env: &HashMap<String, String>) -> LocalTrust {
        let text = std::fs::read_to_string(local).unwrap_or_default();
        let Ok(table) = text.parse::<toml::Table>() else {
            return LocalTrust::Harmless;
        };
        let sections: Vec<String> = ["database", "tenancy", "profiles"]
            .iter()
            .filter(|s| table.contains_key(**s))
            .map(|s| format!("[{s}]"))
            .collect();
        if sections.is_empty() {
            return LocalTrust::Harmless;
        }
        match Self::refusal(local, env) {
            None => LocalTrust::Trusted { sections },
            Some(why) => LocalTrust::Refused { sections, why },
        }
    }

    /// Why the local file is not trusted (`None`: it is).
    fn refusal(local: &Path, env: &HashMap<String, String>) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let dir = std::fs::canonicalize(local)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))?;
        let listed = ConfigFile::xdg_file(env)
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| t.get("trusted_directories").cloned())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let trusted = listed
            .iter()
            .filter_map(|v| v.as_str())
            .any(|d| std::fs::canonicalize(d).map(|d| d == dir).unwrap_or(false));
        if !trusted {
            return Some(format!(
                "{} is not in trusted_directories of your own config file",
                dir.display()
            ));
        }
        let meta = std::fs::metadata(local).ok()?;
        if meta.uid() != nix::unistd::getuid().as_raw() || meta.mode() & 0o022 != 0 {
            return Some("the file is not yours alone (owner or write permission)".into());
        }
        None
    }

    /// The line said on stderr about the local file, if any.
    pub fn notice(&self, local: &Path) -> Option<String> {
        let shown = crate::config_report::shown(local);
        match self {
            LocalTrust::Harmless => None,
            LocalTrust::Trusted { sections } => Some(format!(
                "tenantscope: reading {} from {shown} (a trusted directory)",
                sections.join(", ")
            )),
            LocalTrust::Refused { sections, why } => Some(format!(
                "tenantscope: ignoring {shown}: it sets {} and {why} (read it with \
                 --config {shown} or TENANTSCOPE_CONFIG, or list its directory in \
                 trusted_directories; see SECURITY.md)",
                sections.join(", ")
            )),
        }
    }
}

/// `DATABASE_URL`, layered between the config file and `TENANTSCOPE_*`.
#[derive(Debug, Clone)]
struct DatabaseUrlVariable(Option<String>);

impl Source for DatabaseUrlVariable {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        let origin = "environment variable DATABASE_URL".to_string();
        Ok(self
            .0
            .iter()
            .map(|url| {
                (
                    "database.url".to_string(),
                    Value::new(Some(&origin), url.clone()),
                )
            })
            .collect())
    }
}

impl Settings {
    /// Loads the file and environment layers, and the profile that
    /// `TENANTSCOPE_PROFILE` names; flags are applied by the caller.
    pub fn load(file: &ConfigFile, env: &HashMap<String, String>) -> Result<Settings, String> {
        Settings::load_profile(file, env, None)
    }

    /// [`Settings::load`] with profile `profile` (`--profile`), else the
    /// one `TENANTSCOPE_PROFILE` names, else none.
    pub fn load_profile(
        file: &ConfigFile,
        env: &HashMap<String, String>,
        profile: Option<&str>,
    ) -> Result<Settings, String> {
        let chosen = profile.map(str::to_owned).or_else(|| {
            env.get("TENANTSCOPE_PROFILE")
                .filter(|p| !p.is_empty())
                .cloned()
        });
        let mut builder = config::Config::builder();
        match file {
            ConfigFile::Explicit(path) => {
                if !path.exists() {
                    return Err(format!("config file {} not found", path.display()));
                }
                if path.is_dir() {
                    return Err(format!(
                        "config file {} is a directory, not a file",
                        path.display()
                    ));
                }
                builder = if path.is_file() {
                    builder.add_source(File::from(path.as_path()).format(FileFormat::Toml))
                } else {
                    // /dev/null, a pipe (`<(…)`): read here, the config
                    // crate reads regular files only.
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                    builder.add_source(File::from_str(&text, FileFormat::Toml))
                };
            }
            ConfigFile::Default(Some(path)) if path.exists() => {
                builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
            }
            ConfigFile::Default(_) => {}
        }
        let (mut builder, tenantscope_vars) = with_environment(builder, env)?;
        // Parse and type errors quote the file or the environment.
        let invalid = |e: ConfigError| {
            // A whole number past TOML's (i64): the config crate names
            // neither the key nor the number.
            let text = file
                .read_path()
                .and_then(|p| std::fs::read_to_string(p).ok());
            if let Some((key, value)) = text.as_deref().and_then(oversized_number) {
                // The number only where the key is a known whole-number
                // setting: any other (`password = 1234…`) may be a secret.
                let key = crate::text::sanitize(&key).into_owned();
                let message = match range_of(&key) {
                    Some((least, most)) => out_of_range(&key, least, most, &value),
                    None => format!("{key} is out of range"),
                };
                return format!("invalid configuration: {}", crate::text::one_line(&message));
            }
            let quoted = crate::text::redact_secrets(&without_source_lines(&e.to_string()));
            let mut message = format!("invalid configuration: {}", crate::text::one_line(&quoted));
            if let Some(origin) = unknown_key_origin(&message, &tenantscope_vars, file.read_path())
            {
                message.push_str(&format!(" ({origin})"));
            }
            message
        };
        let read = |built| deserialize(built, file.read_path());
        let mut settings: Settings = builder.clone().build().and_then(read).map_err(invalid)?;
        if let Some(name) = chosen {
            let Some(profile) = settings.profiles.get(&name) else {
                let known: Vec<&str> = settings.profiles.keys().map(String::as_str).collect();
                return Err(format!(
                    "unknown profile {} ({})",
                    crate::text::quoted(&name),
                    if known.is_empty() {
                        "the config file defines no [profiles.NAME]".to_string()
                    } else {
                        format!("known: {}", known.join(", "))
                    }
                ));
            };
            for (section, keys) in [
                ("database", &profile.database),
                ("tenancy", &profile.tenancy),
            ] {
                for (key, value) in keys {
                    builder = builder
                        .set_override(format!("{section}.{key}"), value.clone())
                        .map_err(invalid)?;
                }
            }
            settings = builder.build().and_then(read).map_err(|e| {
                let message = invalid(e);
                format!("{message} (in profile {})", crate::text::quoted(&name))
            })?;
            settings.profile = Some(name);
        }
        settings.validate(env)?;
        Ok(settings)
    }

    /// Each setting within what it may be, once every layer is applied: a
    /// bad one is refused at start, not at its first use.
    fn validate(&self, env: &HashMap<String, String>) -> Result<(), String> {
        let settings = serde_json::to_value(self).map_err(|e| e.to_string())?;
        for (key, ..) in RANGES {
            let pointer = format!("/{}", key.replace('.', "/"));
            let value = settings
                .pointer(&pointer)
                .and_then(serde_json::Value::as_u64);
            if let Some(value) = value {
                check_range(key, value.into())
                    .map_err(|e| format!("invalid configuration: {e}"))?;
            }
        }
        export_path(self.ui.export_dir.clone(), &|name| env.get(name).cloned())
            .map_err(|e| format!("invalid configuration: {e}"))?;
        self.tenancy.validate()?;
        // Names are identifiers, never SQL, and never a secret column.
        crate::model::guard::check_names(&self.tenancy)?;
        Ok(())
    }
}

/// `ui.export_dir` as a path: empty is unset (it exported into the current
/// directory), a leading `~/` is `$HOME/` as a shell reads it; anything
/// else that is not absolute is refused, as it would land in the current
/// directory (`~user/`, `exports`, `~/` without `HOME`).
pub fn export_path(
    dir: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, String> {
    let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let home = env("HOME").filter(|h| h.starts_with('/'));
    let dir = match (dir.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => dir,
    };
    if dir.is_absolute() {
        Ok(Some(dir))
    } else {
        Err(format!(
            "ui.export_dir {} is not an absolute path (nor ~/… with HOME set): \
             exports never go to the current directory",
            crate::text::quoted(&dir.to_string_lossy())
        ))
    }
}

/// The whole-number settings' ranges (key, least, most): a value out of
/// range would fail every query, or overflow a timer.
const RANGES: [(&str, u64, u64); 5] = [
    ("database.max_connections", 1, MAX_CONNECTIONS),
    ("database.connect_timeout_ms", 1, MAX_CONNECT_TIMEOUT_MS),
    ("database.statement_timeout_ms", 1, MAX_STATEMENT_TIMEOUT_MS),
    ("ui.debounce_ms", 0, MAX_DEBOUNCE_MS),
    ("ui.refresh_s", 0, 86_400),
];

/// The range of whole-number setting `key`, where it has one.
fn range_of(key: &str) -> Option<(u64, u64)> {
    let range = RANGES.iter().find(|(name, ..)| *name == key);
    range.map(|&(_, least, most)| (least, most))
}

/// `number` as setting `key`: refused, with [`out_of_range`]'s words,
/// where it is out of the key's range.
fn check_range(key: &str, number: i128) -> Result<(), String> {
    match range_of(key) {
        Some((least, most)) if number < least.into() || number > most.into() => {
            Err(out_of_range(key, least, most, number))
        }
        _ => Ok(()),
    }
}

fn out_of_range(key: &str, least: u64, most: u64, value: impl std::fmt::Display) -> String {
    format!("{key} must be between {least} and {most}, not {value}")
}

/// More connections than this is a typo, not a setting for a read-only tool.
pub const MAX_CONNECTIONS: u64 = 1_000;
/// One hour.
pub const MAX_CONNECT_TIMEOUT_MS: u64 = 3_600_000;
/// PostgreSQL's own limit for `statement_timeout` (a 32-bit int of ms).
pub const MAX_STATEMENT_TIMEOUT_MS: u64 = i32::MAX as u64;
/// One minute: a longer pause after each key press is never meant.
pub const MAX_DEBOUNCE_MS: u64 = 60_000;

type Builder = config::ConfigBuilder<config::builder::DefaultState>;

/// The environment's layers over `builder` (`DATABASE_URL`, then the
/// `TENANTSCOPE_` variables), and those variables (for errors to name).
fn with_environment(
    mut builder: Builder,
    env: &HashMap<String, String>,
) -> Result<(Builder, HashMap<String, String>), String> {
    // The one list key is split here, not by the config crate: its
    // parsing would read `2024` as a number before splitting, and keep
    // the blank of `a, b`.
    const IGNORE: &str = "TENANTSCOPE_TENANCY__IGNORE_SCHEMAS";
    // An empty (or blank) variable is unset, as libpq's are.
    let mut tenantscope_vars: HashMap<String, String> = env
        .iter()
        .filter(|(key, value)| {
            key.starts_with("TENANTSCOPE_")
                && !["TENANTSCOPE_PROFILE", "TENANTSCOPE_CONFIG", IGNORE].contains(&key.as_str())
                && !value.trim().is_empty()
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // The variable setting `key`: the config crate reads the part after
    // the prefix in any case.
    let variable = |vars: &HashMap<String, String>, key: &str| {
        let wanted = format!("TENANTSCOPE_{}", key.to_uppercase().replace('.', "__"));
        let mut names = vars.keys().filter(|name| name.to_uppercase() == wanted);
        names.next().cloned()
    };
    // A number, flag or choice is read trimmed (` 5` is 5).
    for (name, value) in tenantscope_vars.iter_mut() {
        let path = name["TENANTSCOPE_".len()..].to_lowercase();
        let kind = path
            .split_once("__")
            .and_then(|(section, key)| Kind::of(section, key));
        if kind.is_some_and(Kind::trimmed) {
            *value = value.trim().to_string();
        }
    }
    // Parsed as a float, a number past 64 bits would reach the settings as
    // the largest (or least) one, and a fraction past a float's precision
    // (`86400.0000000000001`) as a whole one: refused as set.
    for (key, least, most) in RANGES {
        let Some(text) = variable(&tenantscope_vars, key).map(|name| &tenantscope_vars[&name])
        else {
            continue;
        };
        let beyond = || text.parse::<f64>().map_or(true, |n| n.abs() > most as f64);
        match decimal_is_whole(text) {
            Some(false) => {
                return Err(format!(
                    "invalid configuration: {key} must be a whole number, not {text}"
                ))
            }
            // No number: as written, its password masked (a URL set in
            // the wrong variable). Not quoted: a closing quote would be
            // taken for the password's and masked with it.
            None => {
                let shown = crate::text::sanitize(&crate::text::redact_secrets(text)).into_owned();
                return Err(format!(
                    "invalid configuration: {key} must be a whole number, not {shown}"
                ));
            }
            Some(true) if text.parse::<i64>().is_err() && beyond() => {
                return Err(format!(
                    "invalid configuration: {}",
                    out_of_range(key, least, most, text)
                ))
            }
            _ => {}
        }
    }
    builder = builder
        .add_source(DatabaseUrlVariable(
            env.get("DATABASE_URL")
                .filter(|url| !url.is_empty())
                .cloned(),
        ))
        .add_source(
            Environment::with_prefix("TENANTSCOPE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(tenantscope_vars.clone())),
        );
    if let Some(list) = env.get(IGNORE).filter(|list| !list.trim().is_empty()) {
        let schemas: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        builder = builder
            .set_override("tenancy.ignore_schemas", schemas)
            .map_err(|e| format!("{IGNORE}: {e}"))?;
    }
    Ok((builder, tenantscope_vars))
}

/// Whether decimal `text` (`-12.50`, `1e3`, `2.5E-1`) is a whole number,
/// read digit by digit (a float's rounding would call `5.0000000000000001`
/// whole); `None` for what is no such number.
fn decimal_is_whole(text: &str) -> Option<bool> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            // An exponent past i64 moves the point past any digit.
            let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let exponent = exponent
                .parse::<i64>()
                .unwrap_or(match exponent.starts_with('-') {
                    true => i64::MIN,
                    false => i64::MAX,
                });
            (mantissa, exponent)
        }
        None => (unsigned, 0),
    };
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The digits after the decimal point, once the exponent moved it.
    let point = (int.len() as i64)
        .saturating_add(exponent)
        .clamp(0, digits.len() as i64);
    Some(digits[point as usize..].bytes().all(|b| b == b'0'))
}

/// Where the key of an "unknown field `x` [for key `a.b`]" error was set
/// (serde names no origin for it): the `TENANTSCOPE_` variable whose key
/// path starts with `a.b.x` (its name only: values may be secrets), else
/// the config file, when its TOML has that path.
fn unknown_key_origin(
    message: &str,
    vars: &HashMap<String, String>,
    file: Option<&Path>,
) -> Option<String> {
    let field = message.split("unknown field `").nth(1)?.split('`').next()?;
    let parent = message
        .split("for key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next());
    let path: Vec<&str> = parent
        .into_iter()
        .flat_map(|p| p.split('.'))
        .chain([field])
        .collect();
    let mut names: Vec<&String> = vars
        .keys()
        .filter(|name| {
            let key = name.trim_start_matches("TENANTSCOPE_").to_lowercase();
            key.split("__").collect::<Vec<_>>().starts_with(&path)
        })
        .collect();
    names.sort();
    if let Some(name) = names.first() {
        return Some(format!(
            "from {name} in the environment; keys are TENANTSCOPE_<SECTION>__<KEY>, \
             two underscores between"
        ));
    }
    let file = file?;
    let root = toml::Value::Table(std::fs::read_to_string(file).ok()?.parse().ok()?);
    let mut at = &root;
    for segment in &path {
        at = at.get(segment)?;
    }
    let shown = file.display().to_string();
    Some(format!("in {}", crate::text::sanitize(&shown)))
}

/// The dotted key of the first whole number in TOML `text` past what TOML
/// holds (a 64-bit integer), and the number as written.
fn oversized_number(text: &str) -> Option<(String, String)> {
    fn walk(prefix: &str, table: toml::de::DeTable<'_>) -> Option<(String, String)> {
        for (key, value) in table {
            let key = match prefix {
                "" => key.into_inner().into_owned(),
                prefix => format!("{prefix}.{}", key.get_ref()),
            };
            match value.into_inner() {
                toml::de::DeValue::Integer(n)
                    if i64::from_str_radix(n.as_str(), n.radix()).is_err() =>
                {
                    let prefix = match n.radix() {
                        16 => "0x",
                        8 => "0o",
                        2 => "0b",
                        _ => "",
                    };
                    return Some((key, format!("{prefix}{}", n.as_str())));
                }
                toml::de::DeValue::Table(table) => {
                    if let Some(found) = walk(&key, table) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        None
    }
    walk("", toml::de::DeTable::parse(text).ok()?.into_inner())
}

/// A TOML parse error without the lines of the file it quotes (`2 | url =
/// …` and the `|  ^` under it): a password written with escapes
/// (`pass\u0077ord=`, a line continuation) reads as none there, so no
/// redaction can be sure of it. The line, column and what was expected stay.
fn without_source_lines(message: &str) -> String {
    let quoted = |line: &str| {
        let line = line.trim_start();
        line.trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start()
            .starts_with('|')
    };
    message
        .lines()
        .filter(|line| !quoted(line))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::env;
    use std::io::Write;

    fn file_with(text: &str) -> (tempfile::NamedTempFile, ConfigFile) {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let path = file.path().to_path_buf();
        (file, ConfigFile::Explicit(path))
    }

    /// Why a config file of `text` (and no environment) is refused.
    fn refusal(text: &str) -> String {
        let (_keep, file) = file_with(text);
        Settings::load(&file, &env(&[])).unwrap_err()
    }

    #[test]
    fn defaults_without_any_layer() {
        let settings = Settings::load(&ConfigFile::Default(None), &env(&[])).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.tenancy.schemas.shared, "public");
        assert_eq!(settings.tenancy.users.tenant_column, "organization_id");
        assert_eq!(settings.database.url, None);
    }

    #[test]
    fn file_then_database_url_then_tenantscope_variables() {
        let (_keep, file) = file_with(
            "[database]\nurl = \"postgres://file/db\"\nmax_connections = 7\n[tenancy]\ncompare_with = \"client2\"\n",
        );
        let from_file = Settings::load(&file, &env(&[])).unwrap();
        assert_eq!(
            from_file.database.url.as_deref(),
            Some("postgres://file/db")
        );
        assert_eq!(from_file.database.max_connections, 7);
        assert_eq!(from_file.tenancy.compare_with.as_deref(), Some("client2"));

        let with_database_url =
            Settings::load(&file, &env(&[("DATABASE_URL", "postgres://env/db")])).unwrap();
        assert_eq!(
            with_database_url.database.url.as_deref(),
            Some("postgres://env/db")
        );

        let with_both = Settings::load(
            &file,
            &env(&[
                ("DATABASE_URL", "postgres://env/db"),
                ("TENANTSCOPE_DATABASE__URL", "postgres://ours/db"),
                ("TENANTSCOPE_DATABASE__MAX_CONNECTIONS", "9"),
            ]),
        )
        .unwrap();
        assert_eq!(
            with_both.database.url.as_deref(),
            Some("postgres://ours/db")
        );
        assert_eq!(with_both.database.max_connections, 9);
    }

    #[test]
    fn unknown_key_is_named() {
        let error = refusal("[database]\nurll = \"x\"\n");
        assert!(error.contains("urll"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn wrong_type_names_key_and_file() {
        let (keep, file) = file_with("[database]\nmax_connections = \"many\"\n");
        let error = Settings::load(&file, &env(&[])).unwrap_err();
        assert!(error.contains("max_connections"), "{error}");
        // The config crate names the file relative to the working directory.
        let file_name = keep.path().file_name().unwrap().to_str().unwrap();
        assert!(error.contains(file_name), "{error}");
    }

    #[test]
    fn bad_toml_and_missing_explicit_file_fail() {
        let (_keep, file) = file_with("[database\nurl = ");
        assert!(Settings::load(&file, &env(&[])).is_err());
        let missing = ConfigFile::Explicit("/nonexistent/tenantscope.toml".into());
        let error = Settings::load(&missing, &env(&[])).unwrap_err();
        assert!(error.contains("/nonexistent/tenantscope.toml"), "{error}");
    }

    #[test]
    fn numeric_settings_out_of_range_are_refused_with_their_range() {
        let error = refusal("[database]\nstatement_timeout_ms = 9999999999\n");
        assert_eq!(
            error,
            "invalid configuration: database.statement_timeout_ms must be between 1 and 2147483647, not 9999999999"
        );
        let cases = [
            ("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "2147483648"),
            ("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "0"),
            (
                "TENANTSCOPE_DATABASE__CONNECT_TIMEOUT_MS",
                "18446744073709551615",
            ),
            ("TENANTSCOPE_DATABASE__MAX_CONNECTIONS", "4294967295"),
            ("TENANTSCOPE_UI__DEBOUNCE_MS", "18446744073709551615"),
            // Past 64 bits: the text as set (it read as 18446744073709551615).
            ("TENANTSCOPE_UI__REFRESH_S", "99999999999999999999999"),
            (
                "TENANTSCOPE_DATABASE__MAX_CONNECTIONS",
                "-99999999999999999999",
            ),
            ("TENANTSCOPE_UI__REFRESH_S", "1e400"),
            ("TENANTSCOPE_UI__REFRESH_S", "1e99999999999999999999"),
        ];
        for (key, value) in cases {
            let error =
                Settings::load(&ConfigFile::Default(None), &env(&[(key, value)])).unwrap_err();
            let setting = key["TENANTSCOPE_".len()..]
                .to_lowercase()
                .replace("__", ".");
            assert!(error.contains(&setting) && error.contains(value), "{error}");
        }
        // Past TOML's whole numbers (i64): the key and the number too (the
        // config crate said "number too large to fit in target type").
        for (text, message) in [
            (
                "[ui]\nrefresh_s = 99999999999999999999\n",
                "ui.refresh_s must be between 0 and 86400, not 99999999999999999999",
            ),
            (
                "[ui]\nrefresh_s = 0x7fffffffffffffffff\n",
                "ui.refresh_s must be between 0 and 86400, not 0x7fffffffffffffffff",
            ),
            (
                "[profiles.x.database]\nmax_connections = -99999999999999999999\n",
                "profiles.x.database.max_connections is out of range",
            ),
            // Not a whole-number setting: the number is not shown (a
            // password written as digits).
            (
                "[database]\npassword = 123456789012345678901\n",
                "database.password is out of range",
            ),
        ] {
            let error = refusal(text);
            assert_eq!(error, format!("invalid configuration: {message}"));
        }
        // Negative: the range too (serde said "invalid type: 64-bit
        // integer `-1`, expected an unsigned …").
        let error = refusal("[ui]\nrefresh_s = -1\n");
        assert_eq!(
            error,
            "invalid configuration: ui.refresh_s must be between 0 and 86400, not -1"
        );
        let error = Settings::load(
            &ConfigFile::Default(None),
            &env(&[("TENANTSCOPE_UI__REFRESH_S", "-1")]),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "invalid configuration: ui.refresh_s must be between 0 and 86400, not -1"
        );
        let edge = env(&[("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "2147483647")]);
        let settings = Settings::load(&ConfigFile::Default(None), &edge).unwrap();
        assert_eq!(settings.database.statement_timeout_ms, 2_147_483_647);
    }

    #[test]
    fn parse_and_type_errors_never_show_the_password() {
        for text in [
            "[database]\nurl = \"postgres://app:S3cr3t@host/db\nmax_connections = 3\n",
            "database = \"postgres://app:S3cr3t@host/db\"\n",
            "[database]\nurl = \"postgres://app:S3cr3t@host/db\" x\n",
        ] {
            let error = refusal(text);
            assert!(!error.contains("S3cr3t"), "{error}");
            // A parse error quotes no line of the file; a type error (the
            // second) the value, masked.
            let type_error = text.starts_with("database = ");
            assert_eq!(
                error.contains("postgres://app:***@host/db"),
                type_error,
                "{error}"
            );
        }
        // A password in a number's variable: masked, and the message whole
        // (quoted, the closing quote went with the password).
        for (text, shown) in [
            (
                "postgres://app:S3cr3t@host/db",
                "postgres://app:***@host/db",
            ),
            ("password=S3cr3t", "password=***"),
        ] {
            let vars = env(&[("TENANTSCOPE_DATABASE__MAX_CONNECTIONS", text)]);
            let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
            assert_eq!(
                error,
                format!(
                    "invalid configuration: database.max_connections must be a whole number, \
                     not {shown}"
                )
            );
            assert_eq!(
                crate::text::redact_secrets(&error),
                error,
                "masked once is enough"
            );
        }
    }

    #[test]
    fn a_password_column_is_refused_as_tenant_column() {
        for column in [
            "password",
            "PassWord",
            "password_hash",
            "passwd",
            "pw",
            "api_secret",
        ] {
            let vars = env(&[("TENANTSCOPE_TENANCY__TENANT_COLUMN", column)]);
            let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
            assert!(error.contains("looks like a password column"), "{error}");
        }
        let vars = env(&[("TENANTSCOPE_TENANCY__TENANT_COLUMN", "org_id")]);
        assert!(Settings::load(&ConfigFile::Default(None), &vars).is_ok());
    }

    #[test]
    fn a_tenancy_key_that_is_no_string_is_refused() {
        for text in [
            "compare_with = 5",
            "items_table = true",
            "registry_key = 1.5",
        ] {
            let error = refusal(&format!("[tenancy]\n{text}\n"));
            let key = text.split(' ').next().unwrap();
            assert!(
                error.contains(&format!("tenancy.{key} must be a string")),
                "{error}"
            );
        }
        // From the environment a number is a name all the same.
        let vars = env(&[("TENANTSCOPE_TENANCY__COMPARE_WITH", "5")]);
        let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
        assert_eq!(settings.tenancy.compare_with.as_deref(), Some("5"));
    }

    /// A relative `ui.export_dir` (from the file or the environment) is
    /// refused at start: the dashboard started, `config` showed it, and
    /// only the first `e` said it was wrong. `~/` needs `HOME`.
    #[test]
    fn a_relative_export_dir_is_refused_at_start() {
        let error = refusal("[ui]\nexport_dir = \"relative\"\n");
        assert_eq!(
            error,
            "invalid configuration: ui.export_dir \"relative\" is not an absolute path \
             (nor ~/… with HOME set): exports never go to the current directory"
        );
        let none = ConfigFile::Default(None);
        let error = Settings::load(&none, &env(&[("TENANTSCOPE_UI__EXPORT_DIR", "~/x")]));
        assert!(error.unwrap_err().contains("ui.export_dir \"~/x\""));
        let home = env(&[("TENANTSCOPE_UI__EXPORT_DIR", "~/x"), ("HOME", "/home/ann")]);
        let settings = Settings::load(&none, &home).unwrap();
        assert_eq!(settings.ui.export_dir, Some(PathBuf::from("~/x")));
    }

    /// What the config crate would convert quietly is refused, naming the
    /// key, what it takes and the file: a file's (or profile's) values
    /// must be of the setting's kind; the environment's are text, and only
    /// a fraction for a whole number is refused there.
    #[test]
    fn a_value_of_the_wrong_kind_is_refused_not_converted() {
        let cases = [
            (
                "[ui]\nmouse = \"yes\"",
                "ui.mouse must be true or false, not \"yes\"",
            ),
            ("[ui]\nmouse = 1", "ui.mouse must be true or false, not 1"),
            (
                "[ui]\ndebounce_ms = 1.5",
                "ui.debounce_ms must be a whole number, not 1.5",
            ),
            (
                "[ui]\nrefresh_s = \"5\"",
                "ui.refresh_s must be a whole number, not \"5\"",
            ),
            (
                "[ui]\nexport_dir = 5",
                "ui.export_dir must be a string (quoted), not 5",
            ),
            (
                "[database]\nmax_connections = 4.0",
                "database.max_connections must be a whole number, not 4.0",
            ),
            (
                "[database]\nurl = true",
                "database.url must be a string (quoted), not true",
            ),
            (
                "[tenancy]\ndetect = \"no\"",
                "tenancy.detect must be true or false, not \"no\"",
            ),
            (
                "[tenancy]\nignore_schemas = [\"audit\", 2024]",
                "tenancy.ignore_schemas must be a list of strings (quoted names), \
                 not [\"audit\", 2024]",
            ),
            // A list or a table where one value belongs: as written, not
            // as the config crate's Display has it (`"audit, "`).
            (
                "[tenancy]\ncompare_with = [\"audit\"]",
                "tenancy.compare_with must be a string (a quoted name), not [\"audit\"]",
            ),
            (
                "[ui]\nexport_dir = { path = \"/tmp\" }",
                "ui.export_dir must be a string (quoted), not a table",
            ),
        ];
        for (text, expected) in cases {
            let (keep, file) = file_with(&format!("{text}\n"));
            let error = Settings::load(&file, &env(&[])).unwrap_err();
            assert!(error.starts_with("invalid configuration: "), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
            let name = keep.path().file_name().unwrap().to_str().unwrap();
            assert!(error.contains(name), "{text}: {error}");
        }
        // A profile's keys come from the file too (and name it).
        let (keep, file) = file_with("[profiles.a.database]\nstatement_timeout_ms = 2.5\n");
        let error = Settings::load_profile(&file, &env(&[]), Some("a")).unwrap_err();
        let name = keep.path().file_name().unwrap().to_str().unwrap();
        assert!(
            error.contains("database.statement_timeout_ms must be a whole number, not 2.5")
                && error.contains(name)
                && error.ends_with("(in profile \"a\")"),
            "{error}"
        );
        // An unknown key is named as unknown, whatever its value.
        for text in ["[ui]\nrefresh = 5", "[tenancy]\ncompare = 5"] {
            let error = refusal(&format!("{text}\n"));
            assert!(error.contains("unknown field"), "{text}: {error}");
        }
        // The environment's text is parsed as before, but for a fraction.
        let vars = env(&[("TENANTSCOPE_UI__DEBOUNCE_MS", "1.5")]);
        let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
        assert_eq!(
            error,
            "invalid configuration: ui.debounce_ms must be a whole number, not 1.5"
        );
        // A fraction a float rounds away is refused all the same, as set;
        // a whole number written with a point or an exponent is one.
        for (key, text) in [
            ("ui.refresh_s", "86400.0000000000001"),
            ("ui.debounce_ms", "59999.99999999999999"),
            ("ui.refresh_s", "5.0000000000000001"),
            ("ui.refresh_s", "25e-1"),
            ("ui.refresh_s", "5e-99999999999999999999"),
        ] {
            let name = format!("TENANTSCOPE_{}", key.to_uppercase().replace('.', "__"));
            let vars = env(&[(&name, text)]);
            let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
            assert_eq!(
                error,
                format!("invalid configuration: {key} must be a whole number, not {text}")
            );
        }
        // What is no decimal number is named as such, not as serde's
        // "invalid type: string".
        for text in ["0x10", "abc", "5 s", "1_000"] {
            let vars = env(&[("TENANTSCOPE_UI__DEBOUNCE_MS", text)]);
            let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
            assert_eq!(
                error,
                format!("invalid configuration: ui.debounce_ms must be a whole number, not {text}")
            );
        }
        // Blanks around the number are read past; an empty text is unset.
        for (text, seconds) in [
            ("5.0", 5),
            ("1e3", 1_000),
            ("+2.50e1", 25),
            (" 5", 5),
            ("7\n", 7),
        ] {
            let vars = env(&[("TENANTSCOPE_UI__REFRESH_S", text)]);
            let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
            assert_eq!(settings.ui.refresh_s, seconds, "{text}");
        }
        let unset = Settings::load(&ConfigFile::Default(None), &env(&[])).unwrap();
        for text in ["", "  "] {
            let vars = env(&[("TENANTSCOPE_UI__REFRESH_S", text)]);
            let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
            assert_eq!(settings.ui.refresh_s, unset.ui.refresh_s, "{text:?}");
        }
        // So are the flags and the pooler's words: trimmed, blank unset, and
        // another word named as such (serde's enum wording came garbled:
        // `database.pooler "for key `database.pooler`" is not a valid value`).
        for (name, text) in [
            ("TENANTSCOPE_DATABASE__POOLER", ""),
            ("TENANTSCOPE_UI__MOUSE", " "),
            ("TENANTSCOPE_TENANCY__DETECT", ""),
            ("TENANTSCOPE_TENANCY__ITEMS_MATCH", ""),
            ("TENANTSCOPE_TENANCY__IGNORE_SCHEMAS", " "),
        ] {
            let settings = Settings::load(&ConfigFile::Default(None), &env(&[(name, text)]));
            assert_eq!(settings.unwrap(), unset, "{name}={text:?}");
        }
        // (The part after the prefix in any case, as the config crate reads it.)
        let vars = env(&[
            ("TENANTSCOPE_DATABASE__POOLER", " transaction"),
            ("TENANTSCOPE_ui__mouse", "false "),
        ]);
        let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
        assert_eq!(settings.database.pooler, Pooler::Transaction);
        assert!(!settings.ui.mouse);
        for (name, text, message) in [
            (
                "TENANTSCOPE_DATABASE__POOLER",
                "bogus",
                "database.pooler must be none or transaction, not \"bogus\"",
            ),
            (
                "TENANTSCOPE_UI__MOUSE",
                "yes",
                "ui.mouse must be true or false, not \"yes\"",
            ),
        ] {
            let error = Settings::load(&ConfigFile::Default(None), &env(&[(name, text)]));
            assert_eq!(
                error.unwrap_err(),
                format!("invalid configuration: {message}")
            );
        }
        let error = refusal("[database]\npooler = \"\"\n");
        assert!(
            error.contains("database.pooler must be none or transaction, not \"\" in "),
            "{error}"
        );
        let vars = env(&[
            ("TENANTSCOPE_UI__MOUSE", "false"),
            ("TENANTSCOPE_UI__DEBOUNCE_MS", "7"),
            ("TENANTSCOPE_DATABASE__URL", "5"),
        ]);
        let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
        assert!(!settings.ui.mouse);
        assert_eq!(settings.ui.debounce_ms, 7);
        assert_eq!(settings.database.url.as_deref(), Some("5"));
        // Values of the right kind still load.
        let (_keep, file) = file_with(
            "[ui]\nmouse = false\ndebounce_ms = 0\n[tenancy]\ndetect = false\nignore_schemas = [\"audit\"]\n",
        );
        let settings = Settings::load(&file, &env(&[])).unwrap();
        assert!(!settings.ui.mouse && settings.tenancy_set);
    }

    /// Every range names a whole-number setting: the range check reads
    /// the settings by these names, and one it could not find would be
    /// skipped silently.
    #[test]
    fn every_range_names_a_whole_number_setting() {
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        for (key, least, most) in RANGES {
            let pointer = format!("/{}", key.replace('.', "/"));
            let value = defaults
                .pointer(&pointer)
                .and_then(serde_json::Value::as_u64);
            assert!(
                value.is_some_and(|v| (least..=most).contains(&v)),
                "{key}: {value:?}"
            );
        }
    }

    /// The pooler's words in a message are the enum's: `none or
    /// transaction` is each pooler as the file writes it.
    #[test]
    fn the_pooler_message_names_every_pooler() {
        let words: Vec<String> = Pooler::ALL
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(Kind::Pooler.wanted(), words.join(" or "));
        assert!(words.iter().all(|w| Pooler::named(w).is_some()));
        assert_eq!(Pooler::named("Transaction"), None);
    }

    /// A parse error names the line and column, never the file's text: a
    /// password written with TOML escapes passed the redaction there.
    #[test]
    fn a_parse_error_does_not_quote_the_file() {
        let cases = [
            (
                "url = \"host=x pass\\u0077ord=Hunter2Secret\" x\n",
                "line 1, column 44",
            ),
            (
                "url = \"postgresql://sec\\u003aHunter2Secret@h/db\" x\n",
                "line 1, column 50",
            ),
            (
                "url = \"\"\"postgresql://sec:\\\nHunter2Secret@h/db\\q\"\"\"\n",
                "line 2",
            ),
        ];
        for (text, place) in cases {
            let error = refusal(text);
            assert!(!error.contains("Hunter2"), "{text}: {error}");
            assert!(
                error.starts_with("invalid configuration: TOML parse error at ")
                    && error.contains(place),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn missing_default_file_is_fine() {
        let missing = ConfigFile::Default(Some("/nonexistent/config.toml".into()));
        assert!(Settings::load(&missing, &env(&[])).is_ok());
    }

    #[test]
    fn local_file_then_xdg_config_home_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("tenantscope.toml");
        let xdg = env(&[("XDG_CONFIG_HOME", "/cfg"), ("HOME", "/home/me")]);
        assert_eq!(
            ConfigFile::locate_with(None, &local, &xdg),
            ConfigFile::Default(Some("/cfg/tenantscope/config.toml".into())),
            "no local file: XDG_CONFIG_HOME"
        );
        assert_eq!(
            ConfigFile::locate_with(None, &local, &env(&[("HOME", "/home/me")])),
            ConfigFile::Default(Some("/home/me/.config/tenantscope/config.toml".into())),
        );
        std::fs::write(&local, "").unwrap();
        assert_eq!(
            ConfigFile::locate_with(None, &local, &xdg),
            ConfigFile::Default(Some(local.clone())),
            "the local file wins"
        );
        assert_eq!(
            ConfigFile::locate_with(Some(Path::new("/x.toml")), &local, &xdg),
            ConfigFile::Explicit("/x.toml".into()),
        );
    }

    #[test]
    fn example_file_documents_every_key_with_its_real_default() {
        let example = include_str!("../config.toml.example");
        // Documented keys: `# key = value` lines under a `[section]`.
        let mut documented = Vec::new();
        let mut section = "";
        for line in example.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name;
            } else if let Some((key, _)) = line.strip_prefix("# ").and_then(|l| l.split_once(" = "))
            {
                // A profile's keys are examples of the sections' own keys.
                if !section.starts_with("profiles.") {
                    documented.push(format!("{section}.{key}"));
                }
            }
        }
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        let mut keys: Vec<String> = defaults
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(section, fields)| {
                fields
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(move |key| format!("{section}.{key}"))
            })
            .collect();
        // `tenancy.detect` is read before the model (no part of it).
        keys.push("tenancy.detect".into());
        documented.sort();
        keys.sort();
        assert_eq!(documented, keys, "config.toml.example documents every key");

        // Uncommented, the example parses, and every value it shows is the
        // real default, except those of keys with no default (examples).
        let uncommented: String = example
            .lines()
            .map(|line| {
                line.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(line)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (_keep, file) = file_with(&uncommented);
        let mut settings = Settings::load(&file, &env(&[])).unwrap();
        assert!(settings.database.url.take().is_some(), "shows database.url");
        assert!(
            settings.ui.export_dir.take().is_some(),
            "shows ui.export_dir"
        );
        for (key, set) in settings.tenancy.take_examples() {
            assert!(set, "shows tenancy.{key}");
        }
        let staging = Settings::load_profile(&file, &env(&[]), Some("staging")).unwrap();
        assert_eq!(
            staging.database.url.as_deref(),
            Some("service=shop-staging")
        );
        assert_eq!(staging.tenancy.users.tenant_column, "org_schema");
        assert_eq!(staging.profile.as_deref(), Some("staging"));
        // Beside its examples of url, compare_with and a profile, the
        // example's values are the real defaults.
        assert!(!settings.profiles.is_empty(), "shows a profile");
        settings.profiles.clear();
        // Spelled out, every tenancy key refines detection (which stays on).
        assert!(!settings.tenancy_set);
        assert!(settings.tenancy_keys.iter().any(|k| k == "ignore_schemas"));
        assert!(!settings.tenancy_keys.iter().any(|k| k == "detect"));
        settings.tenancy_keys.clear();
        assert_eq!(settings, Settings::default());
    }

    /// serde names no origin for an unknown key: the error says the
    /// variable it came from (one underscore too few), else the file.
    #[test]
    fn an_unknown_key_names_its_variable_or_its_file() {
        let vars = env(&[("TENANTSCOPE_DATABASE_URL", "postgres://u:secret@h/db")]);
        let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
        assert!(
            error.contains("unknown field `database_url`")
                && error.contains("(from TENANTSCOPE_DATABASE_URL in the environment; keys are TENANTSCOPE_<SECTION>__<KEY>"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
        let vars = env(&[("TENANTSCOPE_DATABASE__URLL", "x")]);
        let error = Settings::load(&ConfigFile::Default(None), &vars).unwrap_err();
        assert!(
            error.contains("(from TENANTSCOPE_DATABASE__URLL in"),
            "{error}"
        );
        let (_keep, file) = file_with("[database]\nurll = \"x\"\n");
        let error = Settings::load(&file, &env(&[])).unwrap_err();
        let path = file.read_path().unwrap().display().to_string();
        assert!(error.ends_with(&format!("(in {path})")), "{error}");
        // A typo in the section of a variable: the variable, not the file
        // (which exists, and is fine).
        let (_keep, fine) = file_with("[ui]\nmouse = false\n");
        let vars = env(&[("TENANTSCOPE_DATABSE__URL", "x")]);
        let error = Settings::load(&fine, &vars).unwrap_err();
        assert!(
            error.contains("(from TENANTSCOPE_DATABSE__URL in"),
            "{error}"
        );
        // A key in the wrong section of the file, beside a valid variable
        // that ends the same: the file.
        let (_keep, misplaced) = file_with("[tenancy]\nurl = \"x\"\n");
        let vars = env(&[("TENANTSCOPE_DATABASE__URL", "postgres://h/db")]);
        let error = Settings::load(&misplaced, &vars).unwrap_err();
        let path = misplaced.read_path().unwrap().display().to_string();
        assert!(error.ends_with(&format!("(in {path})")), "{error}");
    }

    #[test]
    fn tenancy_keys_refine_detection_and_detect_false_turns_it_off() {
        let load = |text: &str, vars: &[(&str, &str)], profile: Option<&str>| {
            let (_keep, file) = file_with(text);
            let settings = Settings::load_profile(&file, &env(vars), profile).unwrap();
            (settings.tenancy_set, settings.tenancy_keys)
        };
        let none: Vec<String> = Vec::new();
        assert_eq!(load("", &[], None), (false, none.clone()));
        let ignore = "[tenancy]\nignore_schemas = [\"sample\"]\n";
        assert_eq!(
            load(ignore, &[], None),
            (false, vec!["ignore_schemas".to_string()])
        );
        assert_eq!(
            load(
                "",
                &[("TENANTSCOPE_TENANCY__SHARED_SCHEMA", "public")],
                None
            ),
            (false, vec!["shared_schema".to_string()])
        );
        // The list key, from the environment: comma-separated.
        for (value, expected) in [
            ("sample", vec!["sample"]),
            ("a,b", vec!["a", "b"]),
            ("a, b,", vec!["a", "b"]),
            ("2024", vec!["2024"]),
            ("true", vec!["true"]),
        ] {
            let vars = env(&[("TENANTSCOPE_TENANCY__IGNORE_SCHEMAS", value)]);
            let settings = Settings::load(&ConfigFile::Default(None), &vars).unwrap();
            assert_eq!(settings.tenancy.schemas.ignore, expected, "{value}");
            assert_eq!(settings.tenancy_keys, ["ignore_schemas"]);
        }
        // Off, by the file, the environment or a profile.
        let off = "[tenancy]\ndetect = false\nusers_table = \"people\"\n";
        assert_eq!(
            load(off, &[], None),
            (true, vec!["users_table".to_string()])
        );
        let (_keep, file) = file_with(off);
        let settings = Settings::load(&file, &env(&[])).unwrap();
        assert_eq!(settings.tenancy.users.table, "people");
        assert_eq!(
            load("", &[("TENANTSCOPE_TENANCY__DETECT", "false")], None),
            (true, none.clone())
        );
        assert_eq!(load("[tenancy]\ndetect = true\n", &[], None), (false, none));
        let profile = "[profiles.p.tenancy]\ndetect = false\n";
        assert!(!load(profile, &[], None).0);
        assert!(load(profile, &[], Some("p")).0);
        // Not a boolean: the usual one-line error naming the key.
        let error = refusal("[tenancy]\ndetect = \"maybe\"\n");
        assert!(error.contains("detect"), "{error}");
    }

    #[test]
    fn a_chosen_profile_is_layered_over_the_file_and_the_environment() {
        let (_keep, file) = file_with(
            "[database]\nurl = \"postgres://file/db\"\nmax_connections = 7\n\
             [profiles.b.database]\nurl = \"host=b\"\n\
             [profiles.a.database]\nstatement_timeout_ms = 9\n\
             [profiles.a.tenancy]\ncompare_with = \"x\"\n",
        );
        let vars = env(&[("TENANTSCOPE_DATABASE__URL", "postgres://env/db")]);
        let plain = Settings::load(&file, &vars).unwrap();
        assert_eq!(plain.database.url.as_deref(), Some("postgres://env/db"));
        assert_eq!(plain.profile, None);
        let b = Settings::load_profile(&file, &vars, Some("b")).unwrap();
        assert_eq!(b.database.url.as_deref(), Some("host=b"));
        assert_eq!(b.database.max_connections, 7, "the file's other keys stay");
        let mut chosen_by_env = vars.clone();
        chosen_by_env.insert("TENANTSCOPE_PROFILE".into(), "a".into());
        let a = Settings::load(&file, &chosen_by_env).unwrap();
        assert_eq!(a.database.url.as_deref(), Some("postgres://env/db"));
        assert_eq!(a.database.statement_timeout_ms, 9);
        assert_eq!(a.tenancy.compare_with.as_deref(), Some("x"));
        // The flag beats the variable.
        let b = Settings::load_profile(&file, &chosen_by_env, Some("b")).unwrap();
        assert_eq!(b.profile.as_deref(), Some("b"));

        let error = Settings::load_profile(&file, &vars, Some("c")).unwrap_err();
        assert_eq!(error, "unknown profile \"c\" (known: a, b)");
        let error =
            Settings::load_profile(&ConfigFile::Default(None), &vars, Some("c")).unwrap_err();
        assert!(error.contains("defines no [profiles.NAME]"), "{error}");
        let (_keep, bad) = file_with("[profiles.a.database]\nurll = \"x\"\n");
        let error = Settings::load_profile(&bad, &vars, Some("a")).unwrap_err();
        assert!(
            error.contains("urll") && error.contains("profile \"a\""),
            "{error}"
        );
        let (_keep, bad) = file_with("[profiles.a.ui]\ndebounce_ms = 1\n");
        assert!(Settings::load(&bad, &vars).unwrap_err().contains("ui"));
    }
}
