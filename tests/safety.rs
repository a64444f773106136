//! What a hostile configuration or hostile data can make tenantscope show:
//! never a password, never a raw escape sequence on a terminal, never a cut
//! number; and bad settings exit 2 with one line. The binary runs as a user
//! would, against the real test server.

use std::process::{Command, Output};

use serde_json::Value;
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{stderr, stdout};

type Env<'a> = Vec<(&'a str, &'a str)>;

/// The binary with no database configured around it but `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantscope"));
    command
        .args(args)
        .env("XDG_CACHE_HOME", "/dev/null")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .env_remove("PGSSLMODE")
        .env_remove("PGPORT")
        .env("XDG_CONFIG_HOME", "/nonexistent");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run tenantscope")
}

/// Exit code 2, one line on stderr naming `needle`, nothing on stdout.
fn assert_usage_error(out: &Output, needle: &str, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(err.contains(needle), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: {}", stdout(out));
}

/// Runs the CLI on a pseudo-terminal (util-linux `script`) and returns the
/// bytes that reached the terminal, with the pty's `\r\n` made `\n`.
fn on_a_terminal(db: &TestDatabase, args: &str) -> Vec<u8> {
    let command = format!(
        "stty cols 400 rows 50; {} --database-url '{}' {args}",
        env!("CARGO_BIN_EXE_tenantscope"),
        db.url
    );
    let out = Command::new("script")
        .env("XDG_CACHE_HOME", "/dev/null")
        .args(["-qefc", &command, "/dev/null"])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .expect("run script(1)");
    assert!(
        out.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 on the terminal")
        .replace("\r\n", "\n")
        .into_bytes()
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[test]
fn errors_that_quote_configuration_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        // Its owner's alone, as a file with a password should be (one that
        // others may read is warned of on a line of its own).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.to_str().unwrap().to_string()
    };
    // A syntax error on the URL's line (the parser quotes it), a wrong type
    // that quotes the value, and a password whose `/` and `@` are not
    // percent-encoded (the URL parse error quotes the URL).
    let unterminated = write(
        "unterminated.toml",
        "[database]\nurl = \"postgres://app:S3cr3t@host/db\nmax_connections = 3\n",
    );
    let trailing = write(
        "trailing.toml",
        "[database]\nurl = \"postgres://app:S3cr3t@host/db\" x\n",
    );
    let wrong_type = write(
        "type.toml",
        "database = \"postgres://app:S3cr3t@host/db\"\n",
    );
    let raw_slash = write(
        "slash.toml",
        "[database]\nurl = \"postgres://app:S3/cr3t@host/db\"\n",
    );
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (vec!["--config", &unterminated, "users"], vec![]),
        (vec!["--config", &trailing, "users"], vec![]),
        (vec!["--config", &wrong_type, "users"], vec![]),
        (vec!["--config", &raw_slash, "users"], vec![]),
        (
            vec!["users"],
            vec![(
                "TENANTSCOPE_DATABASE__MAX_CONNECTIONS",
                "postgres://app:S3cr3t@host/db",
            )],
        ),
        (
            vec!["users"],
            vec![("TENANTSCOPE_DATABASE", "postgres://app:S3cr3t@host/db")],
        ),
        (
            vec!["users"],
            vec![(
                "TENANTSCOPE_DATABASE__URL",
                "postgres://app:S3/cr3t@host:5432/db",
            )],
        ),
        (
            vec!["users"],
            vec![("DATABASE_URL", "postgres://app:S3cr3t@host:notaport/db")],
        ),
        (
            vec!["--database-url", "postgres://app:S3/cr3t@host/db", "users"],
            vec![],
        ),
    ];
    for (args, env) in cases {
        let out = run(&args, &env);
        let err = stderr(&out);
        let what = format!("{args:?} {env:?}");
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(
            !err.contains("S3") && !err.contains("cr3t"),
            "{what}: {err}"
        );
        // A parse error says where by line and column (it quotes no line of
        // the file); the others quote the value, masked.
        assert!(
            err.contains("***") || err.contains("TOML parse error at line "),
            "{what}: the error still says where: {err}"
        );
    }
}

#[tokio::test]
async fn a_password_column_is_never_read_as_the_tenant_column() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(include_str!("../sql/support_role.sql"))
        .await;
    // A column added after the grants: the support role may not read it.
    test_db
        .run_sql(
            "ALTER TABLE public.users ADD COLUMN internal_note text;
             UPDATE public.users SET internal_note = 'token-of-' || id;",
        )
        .await;
    let support = test_db.url.replace("tenantscope@", "tenantscope_support@");
    let passwords = ["rich-secret-pw", "poor-secret-pw"];
    let cases = [
        (&test_db.url, "password", "looks like a password column"),
        (&test_db.url, "PassWord", "looks like a password column"),
        (&support, "password", "looks like a password column"),
        (&support, "api_token", "looks like a password column"),
        (
            &support,
            "internal_note",
            "this role may not read that column",
        ),
    ];
    for (url, column, needle) in cases {
        for command in [&["users"][..], &["tenants"], &["users", "--format", "json"]] {
            let mut args = vec!["--database-url", url.as_str()];
            args.extend(command);
            let out = run(&args, &[("TENANTSCOPE_TENANCY__TENANT_COLUMN", column)]);
            let what = format!("{column} as {url} {command:?}");
            assert_usage_error(&out, needle, &what);
            let all = format!("{}{}", stdout(&out), stderr(&out));
            for secret in passwords.iter().chain(&["token-of-1"]) {
                assert!(!all.contains(secret), "{what}: {all}");
            }
        }
    }
    // The readable default still works for the support role.
    let out = run(&["--database-url", &support, "tenants"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn settings_out_of_range_and_bad_sslmodes_exit_2_before_any_query() {
    let test_db = TestDatabase::reference().await;
    let url = test_db.url.as_str();
    let out = run(
        &["--database-url", url, "users"],
        &[("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "9999999999")],
    );
    assert_usage_error(
        &out,
        "database.statement_timeout_ms must be between 1 and 2147483647, not 9999999999",
        "statement_timeout_ms",
    );
    let out = run(
        &["--database-url", url, "users"],
        &[("TENANTSCOPE_UI__DEBOUNCE_MS", "18446744073709551615")],
    );
    assert_usage_error(&out, "ui.debounce_ms must be between", "debounce_ms");

    let out = run(&["--database-url", url, "users"], &[("PGSSLMODE", "bogus")]);
    assert_usage_error(&out, "invalid PGSSLMODE \"bogus\"", "PGSSLMODE");
    let bogus_in_url = format!("{url}&sslmode=bogus");
    let out = run(&["--database-url", &bogus_in_url, "users"], &[]);
    assert_usage_error(&out, "bogus", "?sslmode=");
    // As in libpq, PGPORT is read only when the URL names no port.
    let no_port = url.replace("localhost:5432", "localhost");
    let out = run(
        &["--database-url", &no_port, "users"],
        &[("PGPORT", "5432x")],
    );
    assert_usage_error(&out, "invalid PGPORT \"5432x\"", "PGPORT");
    // Valid values still connect.
    let out = run(
        &["--database-url", url, "users"],
        &[
            ("PGSSLMODE", "disable"),
            ("TENANTSCOPE_DATABASE__STATEMENT_TIMEOUT_MS", "2147483647"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

const HOSTILE_NAME: &str = "evil\u{1b}]0;pwned\u{7}\u{202e}dlrow\u{9b}31m\u{1b}[2J";

async fn hostile_users() -> TestDatabase {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(&format!(
            "INSERT INTO public.users (id, name, mail, password, organization_id)
                 VALUES ('x', {}, 'x@x', 'pw', 'client1');",
            literal(HOSTILE_NAME)
        ))
        .await;
    test_db
}

#[tokio::test]
async fn piped_csv_and_json_keep_hostile_values_byte_exact() {
    let test_db = hostile_users().await;
    let url = test_db.url.as_str();
    let out = run(&["--database-url", url, "users", "--format", "csv"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let names: Vec<String> = reader
        .records()
        .map(|record| record.unwrap()[1].to_string())
        .collect();
    assert!(names.iter().any(|n| n == HOSTILE_NAME), "{names:?}");

    let out = run(&["--database-url", url, "users", "--format", "json"], &[]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&HOSTILE_NAME), "{names:?}");
}

#[tokio::test]
async fn on_a_terminal_csv_and_json_never_carry_a_raw_escape() {
    let test_db = hostile_users().await;
    for format in ["csv", "json", "table"] {
        let screen = on_a_terminal(&test_db, &format!("users --format {format}"));
        let text = String::from_utf8(screen).unwrap();
        assert!(
            text.contains("evil"),
            "{format}: the user is listed: {text}"
        );
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| c != '\n' && tenantscope::text::needs_escape(c))
            .collect();
        assert!(raw.is_empty(), "{format}: raw {raw:?} in {text:?}");
        if format == "json" {
            // Escaped as JSON escapes: the value decodes unchanged.
            let json: Value = serde_json::from_str(&text).unwrap();
            let names: Vec<&str> = json
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(&HOSTILE_NAME), "{names:?}");
            assert!(
                text.contains("\\u202E") && text.contains("\\u009B"),
                "{text}"
            );
        } else if format == "csv" {
            assert!(
                text.contains("evil^[]0;pwned<U+0007><U+202E>dlrow<U+009B>31m^[[2J"),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn tables_cut_long_text_only_on_a_terminal_and_never_numbers() {
    let test_db = TestDatabase::reference().await;
    let tenant = format!("tenant_{}", "x".repeat(56));
    assert_eq!(tenant.len(), 63, "PostgreSQL's longest name");
    let id = "1".repeat(45);
    test_db
        .run_sql(&format!(
            "CREATE SCHEMA {tenant};
             CREATE TABLE {tenant}.items (id text, description text, price numeric(12,2));
             CREATE TABLE {tenant}.orders (id text, user_id text, item_id text, quantity int);
             INSERT INTO {tenant}.items VALUES ('1', 'Tesla', 4200.00);
             INSERT INTO public.users (id, name, mail, password, organization_id)
                 VALUES ('{id}', 'long_dude', 'l@x', 'pw', '{tenant}');"
        ))
        .await;
    let url = test_db.url.as_str();
    for command in [&["tenants"][..], &["users"], &["prices"]] {
        let mut args = vec!["--database-url", url];
        args.extend(command);
        let out = run(&args, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let piped = stdout(&out);
        assert!(piped.contains(&tenant), "{command:?} piped: {piped}");
        assert!(!piped.contains('…'), "{command:?} piped: {piped}");
        if command == ["users"] {
            assert!(piped.contains(&id), "{piped}");
        }
    }
    let users = String::from_utf8(on_a_terminal(&test_db, "users")).unwrap();
    let long = users.lines().find(|l| l.contains("long_dude")).unwrap();
    assert!(long.starts_with(&id), "the id is never cut: {users}");
    assert!(
        long.contains(&format!("{}…", &tenant[..39])) && !long.contains(&tenant),
        "text is cut on a terminal: {users}"
    );
}

#[tokio::test]
async fn null_and_empty_organization_ids_are_told_apart() {
    let test_db = TestDatabase::reference().await;
    test_db
        .run_sql(
            "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
                 ('n', 'null_dude', 'n@x', 'pw', NULL),
                 ('e', 'empty_dude', 'e@x', 'pw', '');",
        )
        .await;
    let url = test_db.url.as_str();
    let table = stdout(&run(&["--database-url", url, "tenants"], &[]));
    let row = |label: &str| {
        table
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row: {table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("(none)"), ["(none)", "none", "1"]);
    assert_eq!(row("(empty)"), ["(empty)", "none", "1"]);
    let json: Value = serde_json::from_str(&stdout(&run(
        &["--database-url", url, "tenants", "--format", "json"],
        &[],
    )))
    .unwrap();
    let tenants: Vec<&Value> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["tenant"])
        .collect();
    assert!(tenants.contains(&&Value::Null), "{json}");
    assert!(tenants.contains(&&Value::from("")), "{json}");

    for (id, says) in [
        ("n", "organization id is NULL"),
        ("e", "organization id is an empty string"),
    ] {
        let out = run(&["--database-url", url, "orders", id], &[]);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{id}: {err}");
    }
}

/// The private server trusts whoever reaches its socket, as its superuser
/// (every password in `users` is readable then): the socket and its
/// directory are for the server's account alone. They were 0777 in a
/// 0755 directory, and any local account could log in.
#[tokio::test]
async fn no_other_account_can_reach_the_private_server() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::empty().await;
    let dir = db.socket_dir();
    let socket = dir.join(format!(".s.PGSQL.{}", tenantscope::embedded::PORT));
    for path in [dir.to_path_buf(), socket] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}: {mode:o}", path.display());
    }
    // As root (CI), try it: another account is refused by the file system.
    let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
    if let (true, Some(_)) = (nix::unistd::geteuid().is_root(), nobody) {
        let psql = tenantscope::embedded::find_binaries().unwrap().join("psql");
        let out = Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(psql)
            .arg("-h")
            .arg(dir)
            .args(["-U", tenantscope::embedded::SUPERUSER, "-d", "postgres"])
            .args(["-Atc", "SELECT 1"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "nobody logged in: {}", stdout(&out));
        assert!(err.contains("Permission denied"), "{err}");
    }
}
