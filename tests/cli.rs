//! The `tenantscope` binary, run as a user would, against a real server.

use std::process::Command;

use serde_json::Value;
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{on, stderr, stdout, tenantscope};

#[tokio::test]
async fn orders_json_has_the_documented_shape_and_exact_money() {
    let db = TestDatabase::reference().await;
    let out = on(&db, &["orders", "1", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["user"]["name"], "rich_dude");
    assert_eq!(json["user"]["tenant"], "client1");
    // The article's layout has no registry: the tenant is named by its schema.
    assert_eq!(json["user"]["schema"], "client1");
    let mut user_keys: Vec<&str> = json["user"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    user_keys.sort();
    assert_eq!(
        user_keys,
        ["id", "mail", "name", "schema", "tenant", "tenant_key"]
    );
    assert_eq!(json["compare_tenant"], "client2");
    let tesla = &json["orders"][0];
    assert_eq!(tesla["item"], "Tesla");
    assert_eq!(tesla["item_id"], "1");
    assert_eq!(tesla["quantity"], 10);
    assert!(tesla["unit_price"].is_number());
    assert_eq!(tesla["unit_price"].to_string(), "5000.00");
    assert_eq!(tesla["total"].to_string(), "50000.00");
    assert_eq!(tesla["compare_unit_price"].to_string(), "1000.00");
    assert_eq!(tesla["compare_total"].to_string(), "10000.00");
    assert_eq!(json["orders"][1]["compare_total"].to_string(), "500.00");
    assert_eq!(json["total"].to_string(), "60000.00");
    assert_eq!(json["compare_total"].to_string(), "10500.00");
    let keys = common::sorted_keys(tesla);
    assert_eq!(
        keys,
        [
            "compare_item",
            "compare_item_id",
            "compare_total",
            "compare_unit_price",
            "item",
            "item_id",
            "problem",
            "quantity",
            "total",
            "unit_price"
        ]
    );
    assert!(tesla["problem"].is_null());
    // The demo's tenants share one catalogue: matched by id, and the
    // matched item is named.
    assert_eq!(
        (&tesla["compare_item_id"], &tesla["compare_item"]),
        (&"1".into(), &"Tesla".into())
    );
    assert_eq!(json["items_match"]["rule"], "id_or_description");
    // Every line priced by both tenants: the comparison covers them all.
    assert_eq!(json["compared_total"].to_string(), "60000.00");
    assert_eq!(json["compare_missing"], 0);
}

#[tokio::test]
async fn missing_comparison_price_is_null_and_shown_as_a_dash() {
    let db = TestDatabase::demo().await;
    let out = on(
        &db,
        &["orders", "1", "--compare", "client3", "--format", "json"],
    );
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["orders"][1]["item"], "Huawei");
    assert!(json["orders"][1]["compare_unit_price"].is_null());
    assert!(json["orders"][1]["compare_total"].is_null());

    let table = stdout(&on(&db, &["orders", "1", "--compare", "client3"]));
    let huawei = table.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(huawei.contains('—'), "{table}");
}

#[tokio::test]
async fn table_output_aligns_and_right_aligns_money() {
    let db = TestDatabase::reference().await;
    let out = stdout(&on(&db, &["orders", "1"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0]
        .starts_with("rich_dude (id 1, h@gmail.com) in tenant client1, compared with client2"));
    // A NULL mail says so (it read "(id 1, )").
    db.run_sql(
        "ALTER TABLE public.users ALTER mail DROP NOT NULL;
         UPDATE public.users SET mail = NULL WHERE id = '1'",
    )
    .await;
    let out = stdout(&on(&db, &["orders", "1"]));
    assert!(
        out.starts_with("rich_dude (id 1, no mail) in tenant client1"),
        "{out}"
    );
    let header = lines[1];
    let tesla = lines[2];
    assert!(
        tesla.contains("50,000.00") && tesla.contains("10,000.00"),
        "{out}"
    );
    // Right-aligned: every money column ends where its header ends.
    let end_of = |line: &str, needle: &str| line.find(needle).unwrap() + needle.len();
    assert_eq!(end_of(header, "UNIT PRICE"), end_of(tesla, "5,000.00"));
    assert_eq!(end_of(header, "DIFFERENCE"), tesla.len());
    assert!(lines[4].contains("60,000.00") && lines[4].contains("10,500.00"));

    let csv = stdout(&on(&db, &["orders", "1", "--format", "csv"]));
    assert_eq!(
        csv.lines().next(),
        Some("item_id,item,quantity,unit_price,total,compare_unit_price,compare_total,difference,compare_item_id,compare_tenant,problem")
    );
    // The comparison tenant (the first other one) on every row.
    assert_eq!(
        csv.lines().nth(1),
        Some("1,Tesla,10,5000.00,50000.00,1000.00,10000.00,-40000.00,1,client2,")
    );
    // No other tenant: said as the orders pane says it, and "their"
    // columns (it read "compared with none", "NONE PRICE").
    db.run_sql("DROP SCHEMA client2 CASCADE").await;
    let alone = stdout(&on(&db, &["orders", "1"]));
    let mut alone_lines = alone.lines();
    assert_eq!(
        alone_lines.next(),
        Some("rich_dude (id 1, no mail) in tenant client1; no other tenant to compare")
    );
    let titles = alone_lines.next().unwrap_or_default();
    assert!(
        titles.contains(" THEIR PRICE ") && !titles.contains("NONE"),
        "{alone}"
    );
}

#[tokio::test]
async fn users_and_tenants_commands() {
    let db = TestDatabase::demo().await;
    let users = on(
        &db,
        &[
            "users", "--format", "json", "--filter", "dude", "--limit", "4",
        ],
    );
    let json: Value = serde_json::from_str(&stdout(&users)).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mid_dude", "poor_dude", "rich_dude", "stray_dude"]);
    // Four match and four are shown: nothing was cut, so nothing says so.
    assert_eq!(stderr(&users), "");
    assert_eq!(json[0]["tenant_schema"], "ok");
    assert_eq!(json[3]["tenant_schema"], "no schema");
    // A missing schema is still the one the user names.
    assert_eq!(json[3]["schema"], json[3]["tenant"]);
    assert_eq!(json[0]["schema"], "client3");
    let keys = common::sorted_keys(&json[0]);
    assert_eq!(
        keys,
        [
            "created",
            "id",
            "mail",
            "name",
            "schema",
            "tenant",
            "tenant_schema"
        ]
    );
    let limited = on(&db, &["users", "--format", "json", "--limit", "2"]);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&limited))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A list the limit cut says so on stderr (stdout stays parseable),
    // for the two-pass table as for JSON, and for a limit of 0 or 1.
    assert_eq!(
        stderr(&limited),
        "tenantscope: only 2 users shown; more match (raise --limit)\n"
    );
    for (limit, rows, note) in [("0", 1, "no user shown"), ("1", 2, "only 1 user shown")] {
        let table = on(&db, &["users", "--limit", limit]);
        assert_eq!(stdout(&table).lines().count(), rows, "{}", stdout(&table));
        assert_eq!(
            stderr(&table),
            format!("tenantscope: {note}; more match (raise --limit)\n")
        );
    }

    let tenants = stdout(&on(&db, &["tenants"]));
    let rows: Vec<Vec<&str>> = tenants
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["TENANT", "SCHEMA", "USERS"]);
    assert!(rows.contains(&vec!["client1", "ok", "1"]));
    assert!(
        rows.contains(&vec!["client9", "no", "schema", "1"]),
        "{tenants}"
    );
}

#[tokio::test]
async fn no_output_contains_a_password() {
    let db = TestDatabase::demo().await;
    let mut outputs = Vec::new();
    for format in ["table", "json", "csv"] {
        for args in [
            vec!["users", "--format", format],
            vec!["tenants", "--format", format],
            vec!["orders", "1", "--format", format],
            vec!["orders", "4", "--format", format],
            vec!["prices", "--format", format],
            vec!["health", "--leaks", "client1"],
        ] {
            let mut full = vec!["--database-url", db.url.as_str()];
            full.extend(args.iter().copied());
            let out = tenantscope(&full);
            // Every command did its work (user 4's tenant schema is missing:
            // that one fails, naming the schema), so the check below looks
            // at real output, not at error messages.
            if args[..2] == ["orders", "4"] {
                assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
                assert!(stderr(&out).contains("client9"), "{args:?}");
            } else {
                assert!(out.status.success(), "{args:?}: {}", stderr(&out));
                assert!(!stdout(&out).is_empty(), "{args:?}");
            }
            outputs.push(out);
        }
    }
    // A URL with a password that fails: the password must not be echoed.
    outputs.push(tenantscope(&[
        "--database-url",
        "postgres://bob:hunter2@127.0.0.1:1/x",
        "users",
    ]));
    outputs.push(tenantscope(&[
        "--database-url",
        "postgres://bob:hunter2@127.0.0.1:notaport/x",
        "users",
    ]));
    for out in &outputs {
        let all = stdout(out) + &stderr(out);
        assert!(!all.contains("secret-pw"), "user password leaked: {all}");
        assert!(!all.contains("hunter2"), "URL password leaked: {all}");
        assert!(
            !all.to_lowercase().contains("password\""),
            "password column shown: {all}"
        );
    }
}

#[tokio::test]
async fn errors_are_one_line_with_a_non_zero_exit() {
    let db = TestDatabase::demo().await;
    let cases: [(&[&str], i32, &str); 8] = [
        (&["orders", "999"], 2, "no user with id \"999\""),
        (
            &["orders", "1", "--compare", "Client2"],
            2,
            // The candidates, closest first (--compare named none).
            "unknown tenant: \"Client2\" (tenants: \"client2\", \"client1\", \"client3\", \"client4\")",
        ),
        (
            &["health", "--leaks", "Client3"],
            2,
            "unknown tenant: \"Client3\" (tenants: \"client3\", \"client1\", \"client2\", \"client4\")",
        ),
        (
            &["health", "--reference", "client"],
            2,
            "unknown tenant: \"client\" (tenants: \"client1\", \"client2\", \"client3\", \"client4\")",
        ),
        (&["orders", "4"], 1, "tenant schema not found: \"client9\""),
        (
            &["--config", "/nonexistent/x.toml", "users"],
            2,
            "config file /nonexistent/x.toml not found",
        ),
        (&["users", "--format", "yaml"], 2, "invalid value 'yaml'"),
        (&["--bogus"], 2, "unexpected argument '--bogus'"),
    ];
    for (args, code, message) in cases {
        let mut full = vec!["--database-url", db.url.as_str()];
        full.extend(args);
        let out = tenantscope(&full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines[0].starts_with("tenantscope: "), "{err}");
        if message.starts_with("invalid value") || message.starts_with("unexpected") {
            // An argument error: the error, then where to find the usage.
            assert_eq!(lines.len(), 2, "{err}");
            assert!(lines[0].contains(message), "{err}");
            assert!(lines[1].contains("--help"), "{err}");
        } else {
            assert_eq!(lines.len(), 1, "{err}");
        }
        assert!(stdout(&out).is_empty());
    }

    let bad_url = tenantscope(&[
        "--database-url",
        "postgres://bob:hunter2@db:notaport/x",
        "users",
    ]);
    assert_eq!(bad_url.status.code(), Some(2));
    assert!(
        stderr(&bad_url).contains("postgres://bob:***@db:notaport/x"),
        "{}",
        stderr(&bad_url)
    );

    let unreachable = tenantscope(&["--database-url", "postgres://bob@127.0.0.1:1/app", "users"]);
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        stderr(&unreachable).contains("cannot connect to bob@127.0.0.1:1/app"),
        "{}",
        stderr(&unreachable)
    );
}

#[test]
fn bad_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[database]\nmax_connections = \"lots\"\n").unwrap();
    let out = tenantscope(&["--config", path.to_str().unwrap(), "users"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("max_connections") && err.contains("bad.toml"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    std::fs::write(&path, "[tenancy]\nschema = \"x\"\n").unwrap();
    let out = tenantscope(&["--config", path.to_str().unwrap(), "users"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The unknown key itself, not only the list of valid ones (which
    // includes `shared_schema`).
    assert!(err.contains("unknown field `schema`"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn demo_runs_its_own_server_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["--demo", "orders", "1", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["user"]["name"], "rich_dude");
    assert_eq!(json["compare_tenant"], "client2");
    assert_eq!(
        json["orders"][0]["compare_unit_price"].to_string(),
        "1000.00"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the demo server's directory is removed: {left:?}"
    );

    // An error exit stops the server too.
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["--demo", "orders", "999"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `--demo` runs on the demo "even if a database is configured": also where
/// `DATABASE_URL` names one, or `TENANTSCOPE_PROFILE` a profile. With `--database-url` beside it on the command
/// line, the two ask for different databases: an argument error.
#[test]
fn demo_runs_on_the_demo_with_a_database_url_or_profile_in_the_environment() {
    let out = common::bare_command()
        .args(["--demo", "orders", "1", "--format", "json"])
        .env("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/nowhere")
        .env("TENANTSCOPE_PROFILE", "nope")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["user"]["name"], "rich_dude");
    let config = common::bare_command()
        .args(["--demo", "config"])
        .env("TENANTSCOPE_PROFILE", "nope")
        .output()
        .unwrap();
    assert!(config.status.success(), "{}", stderr(&config));
    let both = tenantscope(&[
        "--demo",
        "--database-url",
        "postgres://127.0.0.1:1/db",
        "users",
    ]);
    assert_eq!(both.status.code(), Some(2));
    let err = stderr(&both);
    assert!(
        err.contains("'--demo' cannot be used with '--database-url"),
        "{err}"
    );
}

/// The user's own tenant renumbered (client1's catalogue reversed): the
/// comparison and basket of a client2 user still pair items by
/// description, as SQL written here prices them.
#[tokio::test]
async fn comparison_and_basket_when_the_own_catalogue_is_numbered_apart() {
    let db = TestDatabase::demo().await;
    common::renumber_items(&db, "client1", 3).await;
    common::assert_compared_by_description(&db, "2", "client2", "client1").await;
}

/// `--help`: the options every command takes under their own heading, and
/// every option of every command described (snapshot's --format had none).
#[test]
fn help_puts_global_options_apart_and_describes_every_option() {
    use clap::CommandFactory;
    let command = tenantscope::cli::Cli::command();
    let mut commands = vec![command.clone()];
    commands.extend(command.get_subcommands().cloned());
    for command in &commands {
        for arg in command.get_arguments() {
            let described = arg
                .get_help()
                .is_some_and(|h| !h.to_string().trim().is_empty());
            assert!(
                described || arg.is_hide_set(),
                "{} --{}: no description",
                command.get_name(),
                arg.get_id()
            );
        }
    }
    let help = stdout(&tenantscope(&["--help"]));
    let (commands_part, global) = help
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no Global options heading:\n{help}"));
    for flag in [
        "--config",
        "--database-url",
        "--profile",
        "--demo",
        "--log-file",
    ] {
        assert!(
            global.contains(flag),
            "{flag} under Global options:\n{help}"
        );
        assert!(
            !commands_part.contains(&format!("  {flag}")),
            "{flag}:\n{help}"
        );
    }
    let snapshot = stdout(&tenantscope(&["snapshot", "--help"]));
    assert!(snapshot.contains("Global options:"), "{snapshot}");
    assert!(snapshot.contains("self-contained SVG"), "{snapshot}");
}

/// No help page has a line of a lone `\` (a doubled escape in the examples
/// of config and snapshot) or an empty `[env: NAME=]` for a variable that is
/// not set; a set one's value is not shown either.
#[test]
fn help_has_no_stray_lines_and_no_empty_env_values() {
    use clap::CommandFactory;
    let command = tenantscope::cli::Cli::command();
    let mut names = vec![String::new()];
    names.extend(command.get_subcommands().map(|c| c.get_name().to_string()));
    for name in &names {
        for flag in ["--help", "-h"] {
            let mut args: Vec<&str> = Vec::new();
            if !name.is_empty() {
                args.push(name);
            }
            args.push(flag);
            let out = common::bare_command()
                .args(&args)
                .env("TENANTSCOPE_TENANCY__COMPARE_WITH", "secret-tenant")
                .env_remove("TENANTSCOPE_CONFIG")
                .output()
                .unwrap();
            let help = stdout(&out);
            assert!(out.status.success(), "{args:?}");
            assert!(
                !help.lines().any(|l| l.trim() == "\\"),
                "{args:?}: a stray line:\n{help}"
            );
            assert!(
                !help.contains("=]"),
                "{args:?}: an empty env value:\n{help}"
            );
            assert!(!help.contains("secret-tenant"), "{args:?}:\n{help}");
        }
    }
}

/// A missing argument says what goes where (the usage line), then points
/// at --help; exit 2. (The usage line used to be dropped: mutation-checked.)
#[test]
fn a_missing_argument_shows_the_usage() {
    let out = tenantscope(&["orders"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0], "tenantscope: the following required arguments were not provided: <USER_ID>",
        "{err}"
    );
    assert!(lines[1].starts_with("usage: tenantscope orders"), "{err}");
    assert!(lines[2].contains("--help"), "{err}");
    // Another error keeps to its one line and the pointer.
    let out = tenantscope(&["orders", "1", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 2, "{}", stderr(&out));
}

/// `snapshot --size` below what the dashboard draws is bad input: exit 2,
/// one line naming the minimum, nothing on stdout (it printed a "too
/// small" frame and exited 0).
#[test]
fn a_snapshot_below_the_minimum_size_is_refused() {
    for size in ["10x5", "39x30", "120x11"] {
        let out = tenantscope(&["--demo", "snapshot", "--size", size]);
        assert_eq!(out.status.code(), Some(2), "{size}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{size}");
        assert!(
            stderr(&out).contains("minimum of 40x12"),
            "{}",
            stderr(&out)
        );
    }
}

/// The dashboard without a terminal: one clear line, exit 2, not "No such
/// device or address (os error 6)".
#[test]
fn the_dashboard_without_a_terminal_says_it_needs_one() {
    let out = common::bare_command()
        .arg("--demo")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the dashboard needs a terminal"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
/// `users` streams its output (a cursor read in batches, written as the
/// rows arrive, a table in two passes): the text is exactly what the
/// whole list rendered in memory gives, in every format, with a filter
/// that pins an exact id, for one tenant, and across many FETCH batches.
#[tokio::test]
async fn streamed_users_output_is_the_in_memory_rendering() {
    use tenantscope::db::UserQuery;
    use tenantscope::output::{self, Destination, Format, UsersWriter};
    let db = TestDatabase::demo().await;
    // Past two FETCH batches, with names wider than the demo's and one
    // that must be escaped, so the table's widths come from late rows.
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id)
         SELECT 'gen' || i, 'gen_user_' || i || CASE WHEN i = 2400 THEN repeat('w', 50) || E'\\x1b[2J' ELSE '' END,
                'gen' || i || '@example.com', 'Zq-secret', 'client' || (i % 4)
           FROM generate_series(1, 2500) i",
    )
    .await;
    let database = common::connect(&db).await;
    let cases: &[(&[&str], UserQuery, Option<&str>)] = &[
        (&[], UserQuery::default(), None),
        (
            &["--filter", "dude"],
            UserQuery {
                filter: Some("dude".into()),
                limit: None,
            },
            None,
        ),
        // "1" is also an exact id: that user is pinned first.
        (
            &["--filter", "1", "--limit", "1500"],
            UserQuery {
                filter: Some("1".into()),
                limit: Some(1500),
            },
            None,
        ),
        (
            &["--tenant", "client1"],
            UserQuery::default(),
            Some("client1"),
        ),
    ];
    for (args, query, tenant) in cases {
        let (users, catalog) = match tenant {
            Some(schema) => (
                database.users_in(schema, query).await.unwrap(),
                database.tenants().await.unwrap(),
            ),
            None => database.users_with_catalog(query).await.unwrap(),
        };
        assert!(!users.is_empty(), "{args:?}");
        for (format, name) in [
            (Format::Table, "table"),
            (Format::Csv, "csv"),
            (Format::Json, "json"),
        ] {
            let mut command = vec!["--database-url", &db.url, "users", "--format", name];
            command.extend_from_slice(args);
            let streamed = tenantscope(&command);
            assert!(streamed.status.success(), "{}", stderr(&streamed));
            let expected = output::users(&users, &catalog, format, Destination::PipeOrFile);
            assert_eq!(stdout(&streamed), expected, "{args:?} {name}");
            // On a terminal (escaped, tables cut), in the library.
            let mut writer = UsersWriter::new(format, Destination::Terminal, Vec::new());
            database
                .stream_users(query, *tenant, &mut writer)
                .await
                .unwrap();
            let (shown, _) = writer.finish();
            let expected = output::users(&users, &catalog, format, Destination::Terminal);
            assert_eq!(
                String::from_utf8(shown).unwrap(),
                expected,
                "{args:?} {name}"
            );
        }
    }
    // No user at all: an empty JSON array, a table of headers.
    let none = UserQuery {
        filter: Some("no such user anywhere".into()),
        limit: None,
    };
    let (users, catalog) = database.users_with_catalog(&none).await.unwrap();
    assert!(users.is_empty());
    for format in [Format::Table, Format::Csv, Format::Json] {
        let mut writer = UsersWriter::new(format, Destination::PipeOrFile, Vec::new());
        database
            .stream_users(&none, None, &mut writer)
            .await
            .unwrap();
        let (text, _) = writer.finish();
        let expected = output::users(&users, &catalog, format, Destination::PipeOrFile);
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }
}

/// A tenant that sells an item at no usable price (NULL, NaN) is not one
/// that lacks it: the basket's note says which, per item.
#[tokio::test]
async fn the_basket_tells_an_unpriced_item_from_one_not_sold() {
    let db = TestDatabase::demo().await;
    db.run_sql(
        "ALTER TABLE client2.items ALTER price DROP NOT NULL;
         UPDATE client2.items SET price = NULL WHERE description = 'Huawei';
         UPDATE client4.items SET price = 'NaN' WHERE description = 'Tesla';",
    )
    .await;
    let out = on(&db, &["basket", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let rows = common::table_cells(&table);
    // rich_dude: 10 Tesla, 5 Huawei at client1 (5,000.00 and 2,000.00).
    assert_eq!(
        rows[1..],
        [
            vec!["client1 (own)", "2/2", "60,000.00", "0.00"],
            vec![
                "client4",
                "1/2",
                "7,500.00",
                "-2,500.00",
                "no price for Tesla"
            ],
            vec![
                "client2",
                "1/2",
                "10,000.00",
                "-40,000.00",
                "no price for Huawei"
            ],
            vec!["client3", "1/2", "35,000", "-15,000.00", "lacks Huawei"],
        ],
        "{table}"
    );
    // JSON names each gap, and has no `gaps` where a tenant has none.
    let json = stdout(&on(&db, &["basket", "1", "--format", "json"]));
    let json: Value = serde_json::from_str(&json).unwrap();
    let gaps: Vec<(&str, &Value)> = json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["schema"].as_str().unwrap(), &t["gaps"]))
        .collect();
    let gap = |item: &str, why: &str| serde_json::json!([{ "item": item, "why": why }]);
    // client4 prices one line, which the own tenant prices too.
    assert_eq!(json["tenants"][1]["compared_lines"], 1);
    assert_eq!(json["tenants"][0]["compared_lines"], 2);
    assert_eq!(
        gaps,
        [
            ("client1", &Value::Null),
            ("client4", &gap("Tesla", "no_price")),
            ("client2", &gap("Huawei", "no_price")),
            ("client3", &gap("Huawei", "not_sold")),
        ]
    );
    // The orders CSV says why a comparison cell is empty: client4 sells
    // Tesla at NaN, client2 Huawei at NULL; client3 sells no Huawei.
    for (compare, problems) in [
        ("client4", ["comparison price is not a number (NaN)", ""]),
        ("client2", ["", "comparison price is NULL"]),
        ("client3", ["", ""]),
    ] {
        let csv = stdout(&on(
            &db,
            &["orders", "1", "--compare", compare, "--format", "csv"],
        ));
        let got: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap())
            .collect();
        assert_eq!(got, problems, "{csv}");
    }
    // The table reads NULL where client2 has Huawei at no price, as the
    // dashboard's orders pane does.
    let table = stdout(&on(&db, &["orders", "1", "--compare", "client2"]));
    let huawei = table.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(huawei.contains(" NULL "), "{table}");
    // CSV's gaps are JSON's: an item named `Hua; wei, "X"` (in every
    // tenant, as items match by name) reads back whole.
    let renamed = "Hua; wei, \"X\"";
    for tenant in ["client1", "client2", "client3", "client4"] {
        db.run_sql(&format!(
            "UPDATE {tenant}.items SET description = 'Hua; wei, \"X\"' WHERE description = 'Huawei'"
        ))
        .await;
    }
    let csv = stdout(&on(&db, &["basket", "1", "--format", "csv"]));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let at = reader.headers().unwrap().iter().position(|h| h == "gaps");
    let at = at.expect("a gaps column");
    let gaps: Vec<Value> = reader
        .records()
        .map(|r| {
            let cell = r.unwrap()[at].to_string();
            match cell.as_str() {
                "" => Value::Null,
                json => serde_json::from_str(json).unwrap(),
            }
        })
        .collect();
    let gap = |item: &str, why: &str| serde_json::json!([{ "item": item, "why": why }]);
    assert_eq!(
        gaps,
        [
            Value::Null,
            gap("Tesla", "no_price"),
            gap(renamed, "no_price"),
            gap(renamed, "not_sold"),
        ],
        "{csv}"
    );

    // client4's items lose their ids (a drifted table without a primary
    // key): they still match by description, so Huawei is still priced
    // there and Tesla is still sold at no price, in the basket as in the
    // orders comparison.
    db.run_sql(
        "ALTER TABLE client4.items DROP CONSTRAINT IF EXISTS items_pkey CASCADE;
         ALTER TABLE client4.items ALTER id DROP NOT NULL;
         UPDATE client4.items SET id = NULL;",
    )
    .await;
    let table = stdout(&on(&db, &["basket", "1"]));
    let rows = common::table_cells(&table);
    assert!(
        rows.contains(&vec![
            "client4",
            "1/2",
            "7,500.00",
            "-2,500.00",
            "no price for Tesla"
        ]),
        "{table}"
    );
    let orders = on(&db, &["orders", "1", "--compare", "client4"]);
    let text = stdout(&orders);
    assert!(
        text.contains("1 without a price at client4") && !text.contains("not sold"),
        "{text}{}",
        stderr(&orders)
    );
}

/// `basket --limit N` keeps the best N of the tenants priced, and stderr
/// says how many more were; a tenant that could not be read cannot be
/// ranked, so it is listed too, with why, and stderr names it.
#[tokio::test]
async fn basket_limit_never_hides_a_tenant_that_could_not_be_read() {
    let db = TestDatabase::demo().await;
    db.run_sql("ALTER TABLE client4.items RENAME COLUMN price TO old_price;")
        .await;
    let out = on(&db, &["basket", "1", "--limit", "1", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    let tenants: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(tenants, ["client2", "client4"], "{csv}");
    let client4 = csv.lines().last().unwrap();
    assert!(client4.contains("price"), "why it failed: {client4}");
    assert_eq!(
        stderr(&out),
        "tenantscope: only the best tenant shown; 2 more were priced (raise --limit)\n\
         not priced: client4\n"
    );
    // `--limit 0`: no tenant but the one not read, and said so (it printed
    // an empty table, silently).
    let out = on(&db, &["basket", "1", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("tenantscope: no tenant shown; 3 more were priced"),
        "{}",
        stderr(&out)
    );
}

/// A filter's exact-id match is shown on top of `--limit`; the note says
/// how many users were shown, pinned ones too, and only when more match.
#[tokio::test]
async fn users_limit_note_counts_the_exact_id_match() {
    let db = TestDatabase::demo().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id)
         VALUES ('71', 'x1', 'x@x', 'pw', 'client1'),
                ('72', 'y1' || repeat('y', 60), 'y@x', 'pw', 'client2');",
    )
    .await;
    // "1" is rich_dude's id (pinned first) and in x1's and y1's names.
    for (limit, rows, note) in [
        ("0", 1, "only 1 user shown; more match (raise --limit)\n"),
        ("1", 2, "only 2 users shown; more match (raise --limit)\n"),
        ("2", 3, ""),
    ] {
        let out = on(
            &db,
            &[
                "users", "--filter", "1", "--limit", limit, "--format", "csv",
            ],
        );
        assert_eq!(stdout(&out).lines().count(), 1 + rows, "{}", stdout(&out));
        let said = stderr(&out);
        let expected = match note {
            "" => String::new(),
            note => format!("tenantscope: {note}"),
        };
        assert_eq!(said, expected, "--limit {limit}");
    }
    // The user read past the limit is neither shown nor measured: the
    // table's columns fit the users shown, not y1's 62-character name.
    let table = stdout(&on(&db, &["users", "--filter", "1", "--limit", "1"]));
    assert_eq!(table.lines().count(), 1 + 2, "{table}");
    assert!(table.lines().all(|l| l.len() < 80), "{table}");
}

/// `prices` where no tenant can be priced is a failure (exit 1), after the
/// output (JSON's `failed` names each); one tenant priced is a success.
#[tokio::test]
async fn prices_exit_1_when_no_tenant_could_be_priced() {
    let db = TestDatabase::demo().await;
    let rename =
        |schema: &str| format!("ALTER TABLE {schema}.items RENAME COLUMN price TO old_price;");
    db.run_sql(&["client2", "client3", "client4"].map(rename).concat())
        .await;
    let one_left = on(&db, &["prices", "--format", "csv"]);
    assert_eq!(one_left.status.code(), Some(0), "{}", stderr(&one_left));
    // The tenants not read say so in their cells, never "not sold" (empty).
    let csv = stdout(&one_left);
    let tesla = common::csv_row(&csv, "Tesla");
    assert_eq!(
        tesla[..5],
        ["Tesla", "5000.00", "not read", "not read", "not read"],
        "{csv}"
    );
    let table = stdout(&on(&db, &["prices"]));
    let cells = common::table_cells(&table);
    let tesla = cells.iter().find(|row| row[0] == "Tesla").unwrap();
    assert_eq!(tesla[..5], ["Tesla", "5,000.00", "?", "?", "?"], "{table}");
    db.run_sql(&rename("client1")).await;
    let none = on(&db, &["prices", "--format", "json"]);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    let json: Value = serde_json::from_str(&stdout(&none)).unwrap();
    assert_eq!(json["failed"].as_array().unwrap().len(), 4, "{json}");
    assert!(
        stderr(&none).contains("no tenant could be priced"),
        "{}",
        stderr(&none)
    );
    // A CSV or table of headers alone would read as "no items": nothing.
    for format in ["csv", "table"] {
        let none = on(&db, &["prices", "--format", format]);
        assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
        assert_eq!(stdout(&none), "", "{format}");
    }
}

/// A user with no orders: the table says so in words (no empty table with
/// a total of 0; how items match is still said); CSV is its header alone,
/// JSON an empty list.
#[tokio::test]
async fn orders_of_a_user_with_none_say_so() {
    let db = TestDatabase::demo().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id)
         VALUES ('80', 'lonely', 'l@x', 'pw', 'client1');",
    )
    .await;
    let orders = |format: &str| {
        let out = on(&db, &["orders", "80", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        orders("table"),
        "lonely (id 80, l@x) in tenant client1, compared with client2\n\
         lonely has no orders in client1.\n\
         Items matched by id_or_description: the catalogues agree on ids (2 shared, \
         each the same item): by id, else by description\n",
        "the notes stay, the totals go"
    );
    assert_eq!(orders("csv").lines().count(), 1);
    let json: Value = serde_json::from_str(&orders("json")).unwrap();
    assert_eq!(json["orders"], serde_json::json!([]));
}

/// An unknown comparison tenant from the config file names the setting it
/// came from; typed as `--compare`, the flag is the obvious source.
#[tokio::test]
async fn an_unknown_compare_with_names_the_setting() {
    let db = TestDatabase::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[tenancy]\ncompare_with = \"nosuch\"\n").unwrap();
    let config = config.to_str().unwrap();
    let url = db.url.as_str();
    for (args, said) in [
        (
            vec!["--config", config, "--database-url", url, "orders", "1"],
            "tenantscope: tenancy.compare_with: unknown tenant: \"nosuch\"",
        ),
        (
            vec!["--database-url", url, "orders", "1", "--compare", "nosuch"],
            "tenantscope: unknown tenant: \"nosuch\"",
        ),
    ] {
        let out = tenantscope(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.starts_with(said), "{err}");
    }
}

/// The dashboard's flags before a subcommand are refused, not ignored:
/// `--compare nope users` listed the users, exit 0, as if the comparison
/// had been taken. After `orders` or `snapshot`, `--compare` is theirs.
#[test]
fn a_dashboard_flag_with_a_subcommand_is_refused() {
    for (args, flag, command) in [
        (&["--compare", "nope", "users"][..], "--compare", "users'"),
        (&["--user", "1", "orders", "1"][..], "--user", "orders'"),
        (&["--no-mouse", "tenants"][..], "--no-mouse", "tenants'"),
        (
            &["--compare", "client3", "orders", "1"][..],
            "--compare",
            "orders' (as its own flag, after it: 'orders --compare')",
        ),
        // It said to add `--user` (clap's `requires`).
        (
            &["--tenant", "acme", "orders", "1"][..],
            "--tenant",
            "orders' (as its own flag, after it: 'orders --tenant')",
        ),
    ] {
        let out = tenantscope(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert_eq!(
            stderr(&out).lines().next(),
            Some(format!(
                "tenantscope: '{flag}' is for the dashboard and cannot be used with '{command}"
            ))
            .as_deref(),
            "{args:?}"
        );
    }
    let out = tenantscope(&["--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).lines().next(),
        Some("tenantscope: '--tenant' needs '--user <ID>': the user's tenant, where users are kept per tenant")
    );
}

/// Output that cannot be written fails the command: a full disk
/// (`/dev/full`) gives one line on stderr and exit 1, whether the command
/// streams (`orders`, `users`) or writes at the end (`tenants`, a
/// man page). A reader that closed the pipe (`| head`) has seen enough:
/// exit 0, nothing said.
#[tokio::test]
async fn output_that_cannot_be_written_fails_the_command() {
    let db = TestDatabase::demo().await;
    let url = db.url.as_str();
    let commands: [&[&str]; 4] = [
        &["--database-url", url, "orders", "3", "--format", "csv"],
        &["--database-url", url, "users", "--format", "json"],
        &["--database-url", url, "tenants"],
        &["man"],
    ];
    for args in commands {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = common::bare_command()
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err.trim_end(),
            "tenantscope: cannot write the output: No space left on device (os error 28)",
            "{args:?}"
        );

        // The reader gone before the command starts: its first write
        // meets the closed pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = common::bare_command()
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "{args:?}");
    }
}
