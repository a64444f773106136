//! Property: a password (spaces, quotes, backslashes, `@ : / %`, unicode)
//! written in any form libpq accepts (URL, percent-encoded URL, URL query,
//! keyword string quoted or escaped) never comes out of the redactor, nor
//! out of the binary: `config`, and a failed connection's error, with the
//! password in `DATABASE_URL`, `--database-url`, a service file or `PGPASSWORD`.

use std::net::TcpListener;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tenantscope::text::redact_secrets;

mod common;
use common::bare_command;

/// Passwords with a marker (so a short one cannot match other text) and
/// the characters that break naive redactors.
fn password() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(' '),
            Just('\''),
            Just('"'),
            Just('\\'),
            Just('@'),
            Just(':'),
            Just('/'),
            Just('%'),
            Just('&'),
            Just('='),
            Just('é'),
            Just('密'),
            proptest::char::range('a', 'z'),
        ],
        1..12,
    )
    .prop_map(|chars| format!("Zq{}", chars.into_iter().collect::<String>()))
}

fn keyword_quoted(password: &str) -> String {
    format!("'{}'", password.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn keyword_escaped(password: &str) -> String {
    let mut out = String::new();
    for c in password.chars() {
        if c == '\\' || c == '\'' || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Every form of a connection string naming `password`.
fn forms(password: &str) -> Vec<String> {
    let encoded = utf8_percent_encode(password, NON_ALPHANUMERIC).to_string();
    vec![
        format!("postgres://bob:{encoded}@db.example:5432/shop"),
        format!("postgresql://bob:{encoded}@/shop?host=/tmp"),
        format!("postgres://db.example/shop?sslmode=require&password={encoded}"),
        // libpq decodes the keys too: `pass%77ord` is `password`.
        format!("postgres://db.example/shop?pass%77ord={encoded}&sslmode=require"),
        // Invalid URLs, quoted by their error.
        format!("postgres://db.example/shop?password%00={encoded}"),
        format!("postgres://db.example/shop?pass%77ord%3D{encoded}&sslmode=require"),
        format!(
            "host=db.example password={} user=bob",
            keyword_quoted(password)
        ),
        format!(
            "host=db.example password={} user=bob",
            keyword_escaped(password)
        ),
        format!("password={} host=db.example", keyword_escaped(password)),
    ]
}

/// A password of the generated shape whose letters the generator never
/// makes (digits): what a form shows around a password, with none of it.
const NEUTRAL: &str = "Zq00000000";

/// The secret as it might be shown: plain, and (for URLs) percent-encoded;
/// or a tail of it, when `text` holds that tail more often than
/// `reference()` does (the same output for [`NEUTRAL`]): `ql:` of a
/// password `Zqql:` is also in `postgresql:`.
fn leaks(text: &str, password: &str, reference: impl FnOnce() -> String) -> bool {
    let encoded = utf8_percent_encode(password, NON_ALPHANUMERIC).to_string();
    // The marker plus the first character after it is enough to tell.
    text.contains(password) || text.contains(&encoded) || {
        // A tail left behind (the escaped-space leak): only one with a
        // letter of its own counts, since the forms' own syntax (`://`,
        // `=`, `@`) is in every output.
        let body: String = password.chars().skip(2).collect();
        let own = body.chars().any(|c| c.is_alphanumeric());
        own && body.chars().count() >= 3
            && text.contains(&body)
            && text.matches(&body).count() > reference().matches(&body).count()
    }
}

/// The check itself: a tail that the form holds anyway is no leak (a
/// password `Zqql:` in a `postgresql:` URL failed the property above),
/// one shown beside the mask is.
#[test]
fn a_tail_counts_only_beyond_what_the_form_shows_anyway() {
    let (password, form) = ("Zqql:", "postgresql://bob:Zqql%3A@/shop?host=/tmp");
    let neutral = format!("postgresql://bob:{NEUTRAL}@/shop?host=/tmp");
    assert!(!leaks(&redact_secrets(form), password, || redact_secrets(
        &neutral
    )));
    assert!(leaks("password=*** ql:x", "Zqql:x", || "password=***".into()));
}

#[test]
fn the_redactor_hides_every_form() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&password(), |password| {
            for (form, neutral) in forms(&password).into_iter().zip(forms(NEUTRAL)) {
                let shown = redact_secrets(&form);
                prop_assert!(
                    !leaks(&shown, &password, || redact_secrets(&neutral)),
                    "{form:?} became {shown:?}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// A keyword string's password holding `://` and `&` (found by the
/// property above): the line is no URL, so `&` does not end the value.
#[test]
fn a_keyword_password_with_a_url_in_it_is_hidden_whole() {
    let shown = redact_secrets("host=db.example password=Zq&://é user=bob");
    assert_eq!(shown, "host=db.example password=*** user=bob");
    let shown = redact_secrets("postgres://db.example/shop?password=Zq&sslmode=require");
    assert_eq!(
        shown,
        "postgres://db.example/shop?password=***&sslmode=require"
    );
}

#[test]
fn the_old_escaped_space_leak_is_gone() {
    let shown = redact_secrets(r"host=h password=hunter2\ s3cr\ more user=bob");
    assert_eq!(shown, "host=h password=*** user=bob");
}

/// A port nothing listens on: every connection fails, and says so.
fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn no_command_shows_a_generated_password() {
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    let port = dead_port();
    let home = tempfile::tempdir().unwrap();
    // Every command's output (stdout, then stderr) with `password` in each
    // form, and its own service file.
    let outputs = |password: &str| -> Vec<(String, String)> {
        let encoded = utf8_percent_encode(password, NON_ALPHANUMERIC).to_string();
        let services = home
            .path()
            .join(format!("services-{}.conf", password.len()));
        std::fs::write(
            &services,
            format!("[s]\nhost=127.0.0.1\nport={port}\npassword={password}\n"),
        )
        .unwrap();
        let urls = [
            format!("postgres://bob:{encoded}@127.0.0.1:{port}/shop"),
            format!("postgres://bob@127.0.0.1:{port}/shop?pass%77ord={encoded}"),
            format!("postgres://bob@127.0.0.1:{port}/shop?password%00={encoded}"),
            format!(
                "host=127.0.0.1 port={port} password={} user=bob",
                keyword_quoted(password)
            ),
            format!(
                "host=127.0.0.1 port={port} password={} user=bob",
                keyword_escaped(password)
            ),
        ];
        let mut runs = Vec::new();
        for url in &urls {
            runs.push(("DATABASE_URL", url.clone(), vec!["config"]));
            runs.push(("DATABASE_URL", url.clone(), vec!["tenants"]));
            runs.push(("", url.clone(), vec!["tenants"]));
        }
        runs.push(("PGSERVICE", "s".into(), vec!["tenants"]));
        runs.push(("PGSERVICE", "s".into(), vec!["config"]));
        runs.push(("PGPASSWORD", password.to_string(), vec!["config"]));
        runs.into_iter()
            .map(|(var, value, args)| {
                let mut command = bare_command();
                command
                    .env("HOME", home.path())
                    .env("PGSERVICEFILE", &services)
                    .env("PGCONNECT_TIMEOUT", "2");
                if var.is_empty() {
                    command.arg("--database-url").arg(&value);
                } else {
                    command.env(var, &value);
                }
                let out = command.args(&args).output().unwrap();
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                (format!("{var}={value:?} {args:?}"), text)
            })
            .collect()
    };
    runner
        .run(&password(), |password| {
            // The same commands for NEUTRAL, run only when a tail is seen.
            let reference = std::cell::OnceCell::new();
            for (i, (run, text)) in outputs(&password).into_iter().enumerate() {
                let neutral = || reference.get_or_init(|| outputs(NEUTRAL))[i].1.clone();
                prop_assert!(
                    !leaks(&text, &password, neutral),
                    "{run} showed it:\n{text}"
                );
                prop_assert!(!text.contains("panicked"), "{text}");
            }
            Ok(())
        })
        .unwrap();
}
