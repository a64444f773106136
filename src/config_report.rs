//! `tenantscope config`: the effective settings as TOML, each value with
//! where it came from, and the files looked for.
//!
//! The default files do not layer: `--config FILE`, else
//! `./tenantscope.toml`, else the XDG file, and only the first found is
//! read. A project's file then never inherits, say, a production
//! `database.url` from the user's personal file; when both exist the
//! shadowed one is named on stderr ([`shadow_warning`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::{ConfigFile, Settings};
use crate::text::redact_secrets;

/// Where an effective value came from, lowest layer first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    /// A `[profiles.NAME]` key of the chosen profile.
    Profile(String),
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(path) => write!(f, "file {}", shown(path)),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Profile(name) => write!(f, "profile {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A path as the user would type it: `./tenantscope.toml`, not `tenantscope.toml`.
pub fn shown(path: &Path) -> String {
    if path.is_relative() && !path.starts_with(".") {
        format!("./{}", path.display())
    } else {
        path.display().to_string()
    }
}

/// The flags that override settings.
#[derive(Debug, Clone, Default)]
pub struct Flags<'a> {
    pub database_url: Option<&'a str>,
    pub compare: Option<&'a str>,
    /// `--profile` (or `TENANTSCOPE_PROFILE`): the profile layered in.
    pub profile: Option<String>,
}

/// The files tenantscope looks for, in order, and whether each exists.
pub fn looked_for(file: &ConfigFile, env: &HashMap<String, String>) -> Vec<(PathBuf, bool)> {
    let paths = match file {
        ConfigFile::Explicit(path) => vec![path.clone()],
        ConfigFile::Default(_) => std::iter::once(PathBuf::from("tenantscope.toml"))
            .chain(ConfigFile::xdg_file(env))
            .collect(),
    };
    paths
        .into_iter()
        .map(|path| {
            let exists = path.is_file();
            (path, exists)
        })
        .collect()
}

/// A warning when the config file read holds a password (in a URL or a
/// `password` key, comments aside) and its group or others may read it,
/// as libpq refuses such a `.pgpass`.
pub fn exposed_password_warning(file: &ConfigFile) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = file.read_path()?;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    if mode & 0o044 == 0 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let secret = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .any(|line| crate::text::redact_secrets(line) != line);
    secret.then(|| {
        let shown = crate::text::sanitize(&shown(path)).into_owned();
        format!(
            "tenantscope: warning: {shown} holds a password and others may read it (mode {:o}): \
             chmod 600 {shown}, or keep the password in ~/.pgpass",
            mode & 0o777
        )
    })
}

/// "tenantscope: warning: reading ./tenantscope.toml, so ~/.config/… is ignored" when
/// both default files exist (the first replaces the second, see the module).
pub fn shadow_warning(file: &ConfigFile, env: &HashMap<String, String>) -> Option<String> {
    // A local file that sets [database] or [tenancy] is said, read or not.
    let local = Path::new("tenantscope.toml");
    let notice = (matches!(file, ConfigFile::Default(_)) && local.is_file())
        .then(|| crate::config::LocalTrust::of(local, env).notice(local))
        .flatten();
    let read = file.read_path();
    let found: Vec<PathBuf> = looked_for(file, env)
        .into_iter()
        .filter(|(_, exists)| *exists)
        .map(|(path, _)| path)
        .collect();
    let shadow = match found.as_slice() {
        [first, ignored, ..] if read == Some(first.as_path()) => Some(format!(
            "tenantscope: warning: reading {}, so {} is ignored (the files do not layer; \
             `tenantscope config` shows the effective settings)",
            shown(first),
            shown(ignored)
        )),
        _ => None,
    };
    let lines: Vec<String> = notice.into_iter().chain(shadow).collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The report `tenantscope config` prints: valid TOML whose comments say
/// where each value came from. Passwords are hidden.
pub fn render(
    settings: &Settings,
    file: &ConfigFile,
    env: &HashMap<String, String>,
    flags: &Flags,
) -> String {
    let mut settings = settings.clone();
    if let Some(url) = flags.database_url {
        settings.database.url = Some(url.to_string());
    }
    if let Some(tenant) = flags.compare {
        settings.tenancy.compare_with = Some(tenant.to_string());
    }
    let file_keys = file
        .read_path()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .unwrap_or_default();
    let mut out = String::from(
        "# tenantscope: the effective configuration and where each value comes from\n\
         # (layers, lowest first: default, file, environment, profile, flag).\n\
         # Defaults are comments: saved as a config file, this sets only what\n\
         # is not a default (a password shown as *** must be set again).\n\
         # Files looked for (only the first found is read):\n",
    );
    for (path, exists) in looked_for(file, env) {
        let state = match (exists, file.read_path() == Some(path.as_path())) {
            (true, true) => "read",
            (true, false) => "exists, ignored",
            (false, _) => "not found",
        };
        out.push_str(&format!("#   {} ({state})\n", shown(&path)));
    }
    // The file's other tables are no settings, so not below: saved over
    // the file, this report would lose them.
    let kept: Vec<&str> = ["profiles", "trusted_directories"]
        .into_iter()
        .filter(|key| file_keys.contains_key(*key))
        .collect();
    if let (false, Some(path)) = (kept.is_empty(), file.read_path()) {
        out.push_str(&format!(
            "# Not shown (no settings): {} of {}; keep them when saving this over it.\n",
            kept.join(" and "),
            shown(path)
        ));
    }
    let tree = serde_json::to_value(&settings).expect("settings serialize");
    for (section, keys) in tree.as_object().into_iter().flatten() {
        out.push_str(&format!("\n[{section}]\n"));
        let mut lines: Vec<(String, String)> = keys
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| {
                let origin = origin_of(section, key, &file_keys, file, env, flags);
                (key.clone(), setting_line(key, value, &origin))
            })
            .collect();
        if section == "tenancy" {
            // Set empty (a column the table does not have): not in `tree`,
            // which leaves out keys that do not apply.
            for key in crate::model::TenancyModel::keys() {
                let origin = origin_of(section, key, &file_keys, file, env, flags);
                if keys.get(*key).is_none() && !matches!(origin, Origin::Default) {
                    let empty = serde_json::Value::String(String::new());
                    lines.push((key.to_string(), setting_line(key, &empty, &origin)));
                }
            }
            // Not part of the model, so not in `tree`: whether detection runs.
            let origin = origin_of(section, "detect", &file_keys, file, env, flags);
            let detect = serde_json::Value::Bool(!settings.tenancy_set);
            lines.push(("detect".into(), setting_line("detect", &detect, &origin)));
            lines.sort();
        }
        for (_, line) in lines {
            out.push_str(&line);
        }
    }
    out
}

/// One key's line: `key = value` and its origin; a default (or an unset
/// key) is a comment, so that the report saved as a config file sets only
/// what is not a default (a `[tenancy]` key would pin what detection finds).
fn setting_line(key: &str, value: &serde_json::Value, origin: &Origin) -> String {
    let line = match value {
        serde_json::Value::Null => format!("# {key} is unset"),
        serde_json::Value::String(text) => {
            let shown = if key == "url" {
                redact_secrets(text)
            } else {
                text.clone()
            };
            format!("{key} = {}", toml::Value::String(shown))
        }
        other => format!("{key} = {other}"),
    };
    let line = match origin {
        Origin::Default if !line.starts_with('#') => format!("# {line}"),
        _ => line,
    };
    format!("{line:<40} # {origin}\n")
}

fn origin_of(
    section: &str,
    key: &str,
    file_keys: &toml::Table,
    file: &ConfigFile,
    env: &HashMap<String, String>,
    flags: &Flags,
) -> Origin {
    match (section, key) {
        ("database", "url") if flags.database_url.is_some() => {
            return Origin::Flag("--database-url")
        }
        ("tenancy", "compare_with") if flags.compare.is_some() => return Origin::Flag("--compare"),
        _ => {}
    }
    // A chosen profile sits above the environment; only flags beat it.
    if let Some(name) = &flags.profile {
        let in_profile = file_keys
            .get("profiles")
            .and_then(|profiles| profiles.get(name.as_str()))
            .and_then(|profile| profile.get(section))
            .and_then(|table| table.as_table())
            .is_some_and(|table| table.contains_key(key));
        if in_profile {
            return Origin::Profile(name.clone());
        }
    }
    // The config crate matches the part after the prefix in any case; a
    // blank variable is unset.
    let wanted = format!("TENANTSCOPE_{section}__{key}").to_uppercase();
    if let Some(name) = env
        .iter()
        .filter(|(name, value)| {
            name.starts_with("TENANTSCOPE_")
                && name.to_uppercase() == wanted
                && !value.trim().is_empty()
        })
        .map(|(name, _)| name)
        .min()
    {
        return Origin::Env(name.clone());
    }
    if (section, key) == ("database", "url")
        && env.get("DATABASE_URL").is_some_and(|url| !url.is_empty())
    {
        return Origin::Env("DATABASE_URL".into());
    }
    let in_file = file_keys
        .get(section)
        .and_then(|table| table.as_table())
        .is_some_and(|table| table.contains_key(key));
    match file.read_path() {
        Some(path) if in_file => Origin::File(path.to_path_buf()),
        _ => Origin::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::env;

    #[test]
    fn a_password_others_may_read_is_warned_of() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let file = ConfigFile::Explicit(path.clone());
        let chmod =
            |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::write(
            &path,
            "[database]\nurl = \"postgres://app:Zq-secret@db/shop\"\n",
        )
        .unwrap();
        chmod(0o644);
        let warning = exposed_password_warning(&file).expect("a warning");
        assert!(
            warning.contains("holds a password and others may read it (mode 644): chmod 600"),
            "{warning}"
        );
        assert!(!warning.contains("Zq-secret"), "{warning}");
        // Said as every other warning is (it lacked the `tenantscope:`).
        assert!(warning.starts_with("tenantscope: warning: "), "{warning}");
        chmod(0o600);
        assert_eq!(
            exposed_password_warning(&file),
            None,
            "only its owner reads it"
        );
        // No password (a port is no password), or one in a comment only.
        for text in [
            "[database]\nurl = \"postgres://app@db:5432/shop\"\n",
            "# url = \"postgres://app:secret@db/shop\"\n",
        ] {
            std::fs::write(&path, text).unwrap();
            chmod(0o644);
            assert_eq!(exposed_password_warning(&file), None, "{text}");
        }
    }

    /// The report's line for `key` in `section`.
    fn line<'a>(report: &'a str, section: &str, key: &str) -> &'a str {
        report
            .split(&format!("[{section}]\n"))
            .nth(1)
            .and_then(|rest| {
                rest.lines().find(|l| {
                    l.starts_with(&format!("{key} ")) || l.starts_with(&format!("# {key} "))
                })
            })
            .unwrap_or_else(|| panic!("no {section}.{key} in\n{report}"))
    }

    /// A configuration file holding `text`, named with --config; the file
    /// lasts as long as the directory returned first.
    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf, ConfigFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let file = ConfigFile::Explicit(path.clone());
        (dir, path, file)
    }

    #[test]
    fn each_layer_is_named_and_the_password_hidden() {
        let (_dir, path, file) = config_file(
            "[database]\nmax_connections = 9\nurl = \"postgres://a:filepw@h/db\"\n\
             [ui]\ndebounce_ms = 50\n",
        );
        // A blank variable is unset: the file's value, from the file.
        let env = env(&[
            ("TENANTSCOPE_UI__DEBOUNCE_MS", "70"),
            ("DATABASE_URL", "postgres://app:envpw@db/app"),
            ("TENANTSCOPE_DATABASE__MAX_CONNECTIONS", ""),
        ]);
        let settings = Settings::load(&file, &env).unwrap();
        let flags = Flags {
            database_url: None,
            compare: Some("client3"),
            profile: None,
        };
        let report = render(&settings, &file, &env, &flags);
        let from_file = format!("# file {}", path.display());
        // Each setting with its value and where the value came from.
        for (section, key, value, source) in [
            ("database", "max_connections", "= 9 ", from_file.as_str()),
            (
                "ui",
                "debounce_ms",
                "= 70 ",
                "# env TENANTSCOPE_UI__DEBOUNCE_MS",
            ),
            (
                "tenancy",
                "compare_with",
                "= \"client3\"",
                "# flag --compare",
            ),
            ("tenancy", "shared_schema", "= \"public\"", "# default"),
        ] {
            let shown = line(&report, section, key);
            // A default is a comment (saved, the report pins nothing).
            let value = match source {
                "# default" => format!("# {key} {value}"),
                _ => format!("{key} {value}"),
            };
            assert!(
                shown.starts_with(&value) && shown.ends_with(source),
                "{shown}"
            );
        }
        let url = line(&report, "database", "url");
        assert!(url.ends_with("# env DATABASE_URL"), "{url}");
        assert!(url.contains("app:***@db"), "{url}");
        assert!(
            !report.contains("envpw") && !report.contains("filepw"),
            "{report}"
        );
        assert!(report.contains(&format!("#   {} (read)", path.display())));
        // It is TOML: the values read back as the settings (the URL hidden).
        let parsed: Settings = toml::from_str(&report).unwrap();
        assert_eq!(parsed.database.max_connections, 9);
        assert_eq!(parsed.ui.debounce_ms, 70);
        assert_eq!(parsed.tenancy.compare_with.as_deref(), Some("client3"));
    }

    /// The report saved as the config file gives the settings it reports:
    /// the defaults stay defaults (detection on, no `[tenancy]` key pinning
    /// what it finds), and what was set is set again.
    #[test]
    fn the_report_saved_as_the_config_file_changes_nothing() {
        let saved = |settings: &Settings, file: &ConfigFile, env: &HashMap<String, String>| {
            let report = render(settings, file, env, &Flags::default());
            let (dir, _path, file) = config_file(&report);
            (dir, Settings::load(&file, &HashMap::new()).unwrap(), report)
        };
        let none = HashMap::new();
        let defaults = Settings::load(&ConfigFile::Default(None), &none).unwrap();
        let (_dir, reloaded, report) = saved(&defaults, &ConfigFile::Default(None), &none);
        assert_eq!(reloaded, defaults, "{report}");
        assert_eq!(reloaded, Settings::default(), "{report}");
        assert!(!reloaded.tenancy_set && reloaded.tenancy_keys.is_empty());
        assert!(line(&report, "tenancy", "layout").starts_with("# layout = \"article\""));
        assert!(line(&report, "tenancy", "detect").starts_with("# detect = true"));
        // Every setting line is a comment: the saved file sets nothing.
        assert!(
            report
                .lines()
                .all(|l| l.is_empty() || l.starts_with('#') || l.starts_with('[')),
            "{report}"
        );

        // What a file (or the environment) sets is kept, detection's
        // switch and the refining keys too.
        for text in [
            "[database]\nmax_connections = 9\n[tenancy]\nusers_table = \"people\"\n",
            "[tenancy]\ndetect = false\nitems_table = \"products\"\n[ui]\nmouse = false\n",
            // A column the table does not have (it was left out of the report).
            "[tenancy]\nuser_mail = \"\"\nuser_created = \"\"\n",
        ] {
            let (_keep, _path, file) = config_file(text);
            let env = crate::fixtures::env(&[("TENANTSCOPE_UI__REFRESH_S", "30")]);
            let settings = Settings::load(&file, &env).unwrap();
            let (_dir, reloaded, report) = saved(&settings, &file, &env);
            assert_eq!(reloaded, settings, "{report}");
        }
        // Profiles and trusted directories are no settings: not in the
        // report, which says so (saved over the file, it lost them unsaid).
        let text =
            "trusted_directories = [\"/srv\"]\n[profiles.other.database]\nurl = \"postgres://h/db\"\n";
        let (_keep, path, file) = config_file(text);
        let settings = Settings::load(&file, &none).unwrap();
        let report = render(&settings, &file, &none, &Flags::default());
        let note = format!(
            "# Not shown (no settings): profiles and trusted_directories of {}; \
             keep them when saving this over it.",
            path.display()
        );
        assert!(report.lines().any(|l| l == note), "{report}");
        let (_keep, _path, plain) = config_file("[ui]\nmouse = false\n");
        let report = render(&settings, &plain, &none, &Flags::default());
        assert!(!report.contains("Not shown"), "{report}");
    }

    #[test]
    fn a_flag_beats_every_variable_and_unset_values_say_so() {
        let file = ConfigFile::Default(None);
        let env = env(&[("TENANTSCOPE_DATABASE__URL", "postgres://x@envhost/db")]);
        let settings = Settings::load(&file, &env).unwrap();
        let flags = Flags {
            database_url: Some("postgres://u:flagpw@flaghost/db"),
            compare: None,
            profile: None,
        };
        let report = render(&settings, &file, &env, &flags);
        let url = line(&report, "database", "url");
        assert!(
            url.contains("flaghost") && url.ends_with("# flag --database-url"),
            "{url}"
        );
        assert!(!report.contains("flagpw"));
        let compare = line(&report, "tenancy", "compare_with");
        assert!(compare.starts_with("# compare_with is unset") && compare.ends_with("# default"));
    }

    #[test]
    fn a_chosen_profile_is_named_as_the_source_of_its_keys() {
        let (_dir, path, file) = config_file(
            "[database]\nstatement_timeout_ms = 5000\n\
             [profiles.staging.database]\nurl = \"postgres://app:pfpw@db/s\"\n",
        );
        let env = env(&[("TENANTSCOPE_DATABASE__URL", "postgres://x@envhost/db")]);
        let settings = Settings::load_profile(&file, &env, Some("staging")).unwrap();
        let flags = Flags {
            profile: settings.profile.clone(),
            ..Flags::default()
        };
        let report = render(&settings, &file, &env, &flags);
        let url = line(&report, "database", "url");
        assert!(
            url.ends_with("# profile staging"),
            "beats the environment: {url}"
        );
        assert!(!report.contains("pfpw"), "{report}");
        let timeout = line(&report, "database", "statement_timeout_ms");
        assert!(
            timeout.ends_with(&format!("# file {}", path.display())),
            "{timeout}"
        );
    }
}
