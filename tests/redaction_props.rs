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

/// The secret as it might be shown: plain, and (for URLs) percent-encoded.
fn leaks(text: &str, password: &str) -> bool {
    let encoded = utf8_percent_encode(password, NON_ALPHANUMERIC).to_string();
    // The marker plus the first character after it is enough to tell.
    text.contains(password) || text.contains(&encoded) || {
        // A tail left behind (the escaped-space leak): only one with a
        // letter of its own counts, since the forms' own syntax (`://`,
        // `=`, `@`) is in every output.
        let body: String = password.chars().skip(2).collect();
        let own = body.chars().any(|c| c.is_alphanumeric());
        own && body.chars().count() >= 3 && text.contains(&body)
    }
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
            for form in forms(&password) {
                let shown = redact_secrets(&form);
                prop_assert!(!leaks(&shown, &password), "{form:?} became {shown:?}");
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
    runner
        .run(&password(), |password| {
            let encoded = utf8_percent_encode(&password, NON_ALPHANUMERIC).to_string();
            let services = home.path().join("services.conf");
            std::fs::write(
                &services,
                format!("[s]\nhost=127.0.0.1\nport={port}\npassword={password}\n"),
            )
            .unwrap();
            let urls = [
                format!("postgres://bob:{encoded}@127.0.0.1:{port}/shop"),
                format!(
                    "host=127.0.0.1 port={port} password={} user=bob",
                    keyword_quoted(&password)
                ),
                format!(
                    "host=127.0.0.1 port={port} password={} user=bob",
                    keyword_escaped(&password)
                ),
            ];
            let mut runs = Vec::new();
            for url in &urls {
                runs.push(vec![("DATABASE_URL", url.clone(), vec!["config"])]);
                runs.push(vec![("DATABASE_URL", url.clone(), vec!["tenants"])]);
                runs.push(vec![("", url.clone(), vec!["tenants"])]);
            }
            runs.push(vec![("PGSERVICE", "s".into(), vec!["tenants"])]);
            runs.push(vec![("PGSERVICE", "s".into(), vec!["config"])]);
            runs.push(vec![("PGPASSWORD", password.clone(), vec!["config"])]);
            for run in runs {
                for (var, value, args) in run {
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
                    prop_assert!(
                        !leaks(&text, &password),
                        "{var}={value:?} {args:?} showed it:\n{text}"
                    );
                    prop_assert!(!text.contains("panicked"), "{text}");
                }
            }
            Ok(())
        })
        .unwrap();
}
