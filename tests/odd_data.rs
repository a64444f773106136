//! Legal but unusual data on a real server (issue 9): invalid UTF-8 in a
//! SQL_ASCII database, and a users table without its optional columns.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tenantscope::db::{Page, UserQuery};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::embedded::DEMO_SQL;

mod common;
use common::{connect, start_app, stderr, stdout, tenantscope};

/// The reference data in a SQL_ASCII database (which stores any bytes, so
/// a name can hold 0xff), with rich_dude's name made invalid UTF-8.
async fn sql_ascii_reference() -> TestDatabase {
    let db = TestDatabase::empty().await;
    let mut admin = PgConnection::connect_with(&db.options.clone().database("postgres"))
        .await
        .unwrap();
    // Two statements: a multi-statement string runs as one transaction.
    for sql in [
        format!("DROP DATABASE {}", db.name),
        format!(
            "CREATE DATABASE {} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
            db.name
        ),
    ] {
        sqlx::raw_sql(&sql).execute(&mut admin).await.unwrap();
    }
    admin.close().await.ok();
    db.run_sql(DEMO_SQL[0].1).await;
    db.run_sql(DEMO_SQL[1].1).await;
    db.run_sql(
        "UPDATE public.users
            SET name = 'rich' || convert_from('\\xff'::bytea, 'SQL_ASCII') || '_dude'
          WHERE id = '1'",
    )
    .await;
    db
}

#[tokio::test]
async fn users_with_invalid_utf8_are_listed_with_replacement_characters() {
    let db = sql_ascii_reference().await;
    assert_eq!(
        db.query_text(
            "SELECT encode(convert_to(name, 'SQL_ASCII'), 'hex') FROM users WHERE id = '1'"
        )
        .await,
        "72696368ff5f64756465",
        "the fixture holds the raw byte 0xff"
    );
    let out = tenantscope(&["--database-url", &db.url, "users"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("rich\u{fffd}_dude"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("poor_dude"), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(
        err.trim(),
        "tenantscope: warning: 1 value had invalid UTF-8 (shown as \u{fffd})"
    );

    let out = tenantscope(&["--database-url", &db.url, "users", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["poor_dude", "rich\u{fffd}_dude"]);
}

/// Keyset paging resumes at the exact bytes of an invalid name: the page
/// after it and the page from it are right.
#[tokio::test]
async fn paging_resumes_exactly_at_a_name_with_invalid_utf8() {
    let db = sql_ascii_reference().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
             ('3', 'rich_dude', 'r3@x', 'pw', 'client1'),
             ('4', 'zed', 'z@x', 'pw', 'client2')",
    )
    .await;
    let database = connect(&db).await;
    let all = database.users(&UserQuery::default()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|u| u.id.as_str()).collect();
    // Bytes order (C collation): "rich_" < "rich\xff".
    assert_eq!(ids, ["2", "3", "1", "4"]);
    let bad = &all[2];
    assert_eq!(bad.invalid_utf8, 1);
    let after = database
        .users_page(None, &Page::After(bad.key.clone()), 10, None)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["4"]
    );
    let from = database
        .users_page(None, &Page::From(bad.key.clone()), 10, None)
        .await
        .unwrap();
    assert_eq!(
        from.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["1", "4"]
    );
    let before = database
        .users_page(None, &Page::Before(bad.key.clone()), 10, None)
        .await
        .unwrap();
    assert_eq!(
        before.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["2", "3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_starts_on_a_name_with_invalid_utf8() {
    let db = sql_ascii_reference().await;
    let mut app = start_app(connect(&db).await, Duration::from_millis(10), (120, 20)).await;
    let frame = app
        .frame_where("the user list and the warning", |f| {
            f.contains("rich\u{fffd}_dude") && f.contains("poor_dude")
        })
        .await;
    assert!(
        frame.contains("1 value had invalid UTF-8"),
        "the status line says so:\n{frame}"
    );
    app.quit().await;
}

/// Tenant names and item descriptions with invalid bytes: no panic, and
/// either the value (with U+FFFD) or a one-line error.
#[tokio::test]
async fn invalid_utf8_in_tenant_names_and_items_never_panics() {
    let db = sql_ascii_reference().await;
    db.run_sql(
        "DO $$ BEGIN
             EXECUTE format('CREATE SCHEMA %I',
                            'bad' || convert_from('\\xfe'::bytea, 'SQL_ASCII'));
             EXECUTE format('CREATE TABLE %I.items (LIKE client1.items)',
                            'bad' || convert_from('\\xfe'::bytea, 'SQL_ASCII'));
             EXECUTE format('CREATE TABLE %I.orders (LIKE client1.orders)',
                            'bad' || convert_from('\\xfe'::bytea, 'SQL_ASCII'));
         END $$;
         UPDATE client1.items
            SET description = 'Tes' || convert_from('\\xff'::bytea, 'SQL_ASCII') || 'la'
          WHERE id = '1';",
    )
    .await;
    let out = tenantscope(&["--database-url", &db.url, "tenants"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("bad\u{fffd}"), "{}", stdout(&out));
    let out = tenantscope(&["--database-url", &db.url, "health", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["tenants"][0]["tenant"], "bad\u{fffd}");
    assert_eq!(json["tenants"][0]["status"], "unused");

    // An item description that is not UTF-8 is shown with U+FFFD, priced.
    for args in [vec!["orders", "1"], vec!["prices", "--format", "json"]] {
        let mut full = vec!["--database-url", db.url.as_str()];
        full.extend(&args);
        let out = tenantscope(&full);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Tes\u{fffd}la"), "{}", stdout(&out));
        assert!(
            !stdout(&out).contains("\"failed\": [\n"),
            "{}",
            stdout(&out)
        );
    }
    // `orders` says so, as `users` does, in every format.
    for format in ["table", "csv", "json"] {
        let out = tenantscope(&["--database-url", &db.url, "orders", "1", "--format", format]);
        assert_eq!(
            stderr(&out).trim(),
            "tenantscope: warning: 1 value had invalid UTF-8 (shown as \u{fffd})",
            "{format}"
        );
    }
}

/// Issue 9, defect 11: only id, name and the tenant column are required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_table_without_mail_or_creation_timestamp_works() {
    let db = TestDatabase::reference().await;
    db.run_sql("ALTER TABLE public.users DROP COLUMN mail, DROP COLUMN creation_timestamp")
        .await;
    let out = tenantscope(&["--database-url", &db.url, "users", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rich = &json.as_array().unwrap()[1];
    assert_eq!(rich["name"], "rich_dude");
    assert!(
        rich["mail"].is_null() && rich["created"].is_null(),
        "{rich}"
    );

    let out = tenantscope(&["--database-url", &db.url, "users", "--filter", "rich"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("rich_dude"));
    for args in [
        vec!["orders", "1"],
        vec!["tenants"],
        vec!["health"],
        vec!["prices"],
    ] {
        let mut full = vec!["--database-url", db.url.as_str()];
        full.extend(&args);
        let out = tenantscope(&full);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    let out = tenantscope(&["--database-url", &db.url, "orders", "1"]);
    assert!(stdout(&out).contains("Tesla"), "{}", stdout(&out));

    let mut app = start_app(connect(&db).await, Duration::from_millis(10), (120, 20)).await;
    let frame = app
        .frame_where("the user list", |f| {
            f.contains("rich_dude") && f.contains("poor_dude")
        })
        .await;
    // No Mail column of empty cells: the tenant follows the name.
    let header = frame.lines().find(|l| l.contains(" Name ")).unwrap();
    assert!(!header.contains("Mail"), "{frame}");
    assert!(header.contains("Tenant"), "{frame}");
    // Nor a Mail "(empty)" in the user's popup...
    app.press(crossterm::event::KeyCode::Enter);
    let popup = app
        .frame_where("the user popup", |f| f.contains("Esc closes"))
        .await;
    assert!(!popup.contains("Mail"), "{popup}");
    app.press(crossterm::event::KeyCode::Esc);
    // ...nor a Mail column in a search across tenants.
    tenants_pane(&mut app, "client1").await;
    let found = searched(&mut app, "rich", "rich_dude").await;
    let header = found.lines().find(|l| l.contains(" Name")).unwrap();
    assert!(!header.contains("Mail"), "{found}");
    app.quit().await;

    // Without a name column there is nothing to list: a clear error, exit 2.
    db.run_sql("ALTER TABLE public.users DROP COLUMN name")
        .await;
    let out = tenantscope(&["--database-url", &db.url, "users"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("column name not found in public.users"),
        "{}",
        stderr(&out)
    );
}

/// An organization id with a space at its end names no schema, though it
/// reads like one: the tables quote it (`"client1 "`), so a desk does not
/// take it for client1 (it showed `client1  missing`; now `no schema`); JSON keeps it as
/// it is. The dashboard's users list and tenants pane quote it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_id_with_a_trailing_space_is_shown_quoted() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "UPDATE public.users SET organization_id = 'client1 ' WHERE id = '1';
         INSERT INTO public.users (id, name, mail, password, organization_id)
         VALUES (' 29 ', '', 'e@x', 'x', 'client2')",
    )
    .await;
    let url = db.url.as_str();
    let tenants = stdout(&tenantscope(&["--database-url", url, "tenants"]));
    let quoted = line_of(&tenants, "\"client1 \"");
    assert!(quoted.contains("no schema"), "{tenants}");
    assert!(line_of(&tenants, "client1  ").contains("ok"), "{tenants}");
    let users = stdout(&tenantscope(&["--database-url", url, "users"]));
    assert!(
        line_of(&users, "rich_dude").contains("\"client1 \""),
        "{users}"
    );
    let json = stdout(&tenantscope(&[
        "--database-url",
        url,
        "users",
        "--format",
        "json",
    ]));
    let users: Value = serde_json::from_str(&json).unwrap();
    let rich = users.as_array().unwrap().iter().find(|u| u["id"] == "1");
    assert_eq!(rich.unwrap()["tenant"], "client1 ");

    // Wide enough for the tenant column to hold the quotes (a cut value is
    // whole in Enter's popup).
    let mut app = start_app(connect(&db).await, Duration::ZERO, (200, 24)).await;
    let list = app
        .frame_where("the list", |f| f.contains("rich_dude"))
        .await;
    assert!(
        line_of(&list, "rich_dude").contains("\"client1 \""),
        "{list}"
    );
    // An id with blanks at its ends and an empty name, in the list too.
    assert!(line_of(&list, "e@x").contains("\" 29 \" (empty)"), "{list}");
    let pane = tenants_pane(&mut app, "without a tenant schema").await;
    assert!(
        line_of(&pane, "1 (no schema)").contains("\"client1 \""),
        "{pane}"
    );
    app.quit().await;
}

/// Organization ids with a line break and with a backslash and `n` are
/// escaped once everywhere: `cli\nent` and `cli\\nent`, in the CLI, in the
/// health view's rows and details, and in an error naming one. The health
/// view and messages escaped them twice (`cli\\nent`, `cli\\\\nent`), so a
/// line break read as the CLI writes a backslash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_character_in_an_id_is_escaped_once() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "UPDATE public.users SET organization_id = E'cli\\nent' WHERE id = '1';
         UPDATE public.users SET organization_id = 'cli\\nent' WHERE id = '2';",
    )
    .await;
    let url = db.url.as_str();
    let tenants = stdout(&tenantscope(&["--database-url", url, "tenants"]));
    assert!(
        tenants.contains(r"cli\nent ") && tenants.contains(r"cli\\nent "),
        "{tenants}"
    );
    let out = tenantscope(&["--database-url", url, "orders", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#""cli\nent""#),
        "escaped once: {}",
        stderr(&out)
    );

    let mut app = start_app(connect(&db).await, Duration::ZERO, (120, 30)).await;
    app.frame_where("the list", |f| f.contains("rich_dude"))
        .await;
    app.press(crossterm::event::KeyCode::Char('t'));
    let health = app
        .frame_where("the health view", |f| f.contains("✓ checked "))
        .await;
    // Both ids, each escaped once, never twice.
    let escaped_once = |frame: &str| {
        let rows: Vec<&str> = frame.lines().filter(|l| l.contains("cli")).collect();
        assert!(
            rows.iter().any(|l| l.contains(r" cli\nent "))
                && rows.iter().any(|l| l.contains(r" cli\\nent "))
                && !frame.contains(r"cli\\\\nent"),
            "{frame}"
        );
    };
    escaped_once(&health);
    // The tenants pane and a search across tenants, likewise.
    app.press(crossterm::event::KeyCode::Esc);
    escaped_once(&tenants_pane(&mut app, "without a").await);
    let found = searched(&mut app, "dude", "rich_dude").await;
    let rich = line_of(&found, "rich_dude");
    assert!(rich.contains(r"cli\nent "), "{found}");
    app.quit().await;
}

/// Organization ids that read like the tables' own words for NULL and
/// empty (`(none)`, `(empty)`) are quoted, so `tenants` tells them apart
/// (it listed two `(none)` rows and two `(empty)` rows). The tenants pane
/// lists the users with no organization id (NULL or empty, as `health`
/// counts them) as `(none)`, last, and Enter lists them, as it does from
/// the health view's `(none)` row (neither listed them anywhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_read_like_null_or_empty_are_quoted() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
           ('11', 'a', 'a@x', 'x', '(none)'), ('12', 'b', 'b@x', 'x', NULL),
           ('13', 'c', 'c@x', 'x', '(empty)'), ('14', 'd', 'd@x', 'x', '')",
    )
    .await;
    let tenants = stdout(&tenantscope(&["--database-url", &db.url, "tenants"]));
    let first_cell = |name: &str| {
        tenants
            .lines()
            .filter(|l| l.split("  ").next() == Some(name))
            .count()
    };
    for name in ["(none)", "\"(none)\"", "(empty)", "\"(empty)\""] {
        assert_eq!(first_cell(name), 1, "{name} once:\n{tenants}");
    }
    // The users with no organization id last, '' before NULL (`(empty)`
    // sorted among the ids naming no schema).
    let last: Vec<&str> = tenants.lines().rev().take(2).collect();
    assert!(
        last[0].starts_with("(none) ") && last[1].starts_with("(empty) "),
        "{tenants}"
    );
    // A CSV cell cannot tell NULL from '': one row of both (there were
    // two rows `,none,1`).
    let args = ["--database-url", &db.url, "tenants", "--format", "csv"];
    let csv = stdout(&tenantscope(&args));
    let none: Vec<&str> = csv.lines().filter(|l| l.starts_with(",none,")).collect();
    assert_eq!(none, [",none,2"], "{csv}");
    let users = stdout(&tenantscope(&["--database-url", &db.url, "users"]));
    let (a, c) = (line_of(&users, "a@x"), line_of(&users, "c@x"));
    assert!(
        a.contains("\"(none)\"") && c.contains("\"(empty)\""),
        "{users}"
    );
    let health = stdout(&tenantscope(&["--database-url", &db.url, "health"]));
    assert!(
        health.contains("\n\"(none)\" ") && health.contains("\n\"(empty)\" "),
        "{health}"
    );

    let mut app = start_app(connect(&db).await, Duration::ZERO, (120, 24)).await;
    app.frame_where("the list", |f| f.contains("rich_dude"))
        .await;
    let pane = tenants_pane(&mut app, "without a tenant schema").await;
    let last = pane.lines().rfind(|l| l.contains("(no")).unwrap();
    assert!(
        last.contains(" (none) ") && last.contains("2 (none)"),
        "{pane}"
    );
    // Marked as the users list marks them: `-`, not the `!` of an id
    // naming no schema (the legend's).
    let mark = |line: &str| line.trim_start_matches(['│', ' ']).chars().next();
    assert_eq!(mark(last), Some('-'), "{pane}");
    let literal = pane.lines().find(|l| l.contains("\"(none)\"")).unwrap();
    assert_eq!(mark(literal), Some('!'), "{pane}");
    assert!(
        pane.contains("\"(none)\"") && pane.contains("\"(empty)\""),
        "{pane}"
    );
    let unassigned = |f: &str| {
        f.contains("Users with no organization id (2)")
            && ["b@x", "d@x"].iter().all(|m| f.contains(m))
            && !f.contains("rich_dude")
    };
    // The literal id's own list says so in its title, quoted.
    for _ in 0..3 {
        app.press(crossterm::event::KeyCode::Char('j'));
    }
    app.press(crossterm::event::KeyCode::Enter);
    app.frame_where("the literal (none) id's users", |f| {
        f.contains("Users of \"(none)\" (1)") && f.contains("a@x")
    })
    .await;
    app.press(crossterm::event::KeyCode::Esc);
    app.frame_where("the tenants pane again", |f| {
        f.contains("without a tenant schema")
    })
    .await;
    app.press(crossterm::event::KeyCode::Char('G'));
    app.press(crossterm::event::KeyCode::Enter);
    app.frame_where("the users with no id", unassigned).await;
    // The health view's (none) row lists the same users.
    app.press(crossterm::event::KeyCode::Esc);
    app.frame_where("the tenants pane again", |f| {
        f.contains("without a tenant schema")
    })
    .await;
    app.press(crossterm::event::KeyCode::Char('a'));
    app.frame_where("all users", |f| f.contains("rich_dude"))
        .await;
    app.press(crossterm::event::KeyCode::Char('t'));
    // Its rows read (the title shows at once; `G` on no rows is nothing).
    app.frame_where("the health view's rows", |f| {
        f.contains("Tenant health") && f.contains("checked 2 tenants")
    })
    .await;
    app.press(crossterm::event::KeyCode::Char('G'));
    app.frame_where("(none) selected", |f| {
        f.lines().any(|l| l.contains('▶') && l.contains("(none)"))
    })
    .await;
    app.press(crossterm::event::KeyCode::Enter);
    app.frame_where("the users with no id again", unassigned)
        .await;
    app.quit().await;
}

/// A search in the tenants pane: ids longer than their column end in `…`
/// (they were cut bare, and two ids read alike), users with no tenant
/// read `(none)` and `(empty)` there (blank), and Enter on one opens the
/// users with no organization id (it opened every user, at them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_results_show_whole_ids_and_users_with_no_tenant() {
    use crossterm::event::KeyCode;
    let db = TestDatabase::reference().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
           ('3f2a9c1e-7b4d-4e2a-9f1c-0a1b2c3d4e5f', 'uuid guy', 'u1@x', 'x', 'client1'),
           ('3f2a9c1e-0000', 'uuid twin', 'u2@x', 'x', 'client1'),
           ('21', 'orphan null', 'n1@x', 'x', NULL), ('22', 'orphan empty', 'n2@x', 'x', '')",
    )
    .await;
    let mut app = start_app(connect(&db).await, Duration::ZERO, (80, 24)).await;
    app.frame_where("the list", |f| f.contains("rich_dude"))
        .await;
    tenants_pane(&mut app, "Tenants").await;
    let found = searched(&mut app, "uuid", "uuid twin").await;
    assert!(
        line_of(&found, "uuid twin").contains("3f2a9c1e-0000"),
        "{found}"
    );
    assert!(line_of(&found, "uuid guy").contains('…'), "{found}");
    app.press(KeyCode::Esc);
    let found = searched(&mut app, "orphan", "orphan null").await;
    assert!(line_of(&found, "orphan null").contains("(none)"), "{found}");
    assert!(
        line_of(&found, "orphan empty").contains("(empty)"),
        "{found}"
    );
    // Enter keeps the results; Enter on one opens it.
    app.press(KeyCode::Enter);
    app.press(KeyCode::Enter);
    app.frame_where("the users with no organization id", |f| {
        f.contains("Users with no organization id (2)") && f.contains("orphan null")
    })
    .await;
    app.quit().await;
}

/// `T`: the tenants pane, once it shows `shown` (the pane's own note
/// drawn: `shown` may be on the screen before it too).
async fn tenants_pane(app: &mut common::App, shown: &str) -> String {
    app.press(crossterm::event::KeyCode::Char('T'));
    app.frame_where("the tenants pane", |f| {
        f.contains("/: search users in all tenants") && f.contains(shown)
    })
    .await
}

/// `/text` in the tenants pane, typed: the frame once it shows `shown`.
async fn searched(app: &mut common::App, text: &str, shown: &str) -> String {
    use crossterm::event::KeyCode;
    app.press(KeyCode::Char('/'));
    for c in text.chars() {
        app.press(KeyCode::Char(c));
    }
    // The whole text typed: a result of a shorter text (shown with its
    // own prompt) or the screen before may show `shown` too.
    let prompt = format!("/{text}▏");
    app.frame_where(shown, |f| f.contains(&prompt) && f.contains(shown))
        .await
}

/// The line of `frame` holding `text` ("" when none does).
fn line_of<'a>(frame: &'a str, text: &str) -> &'a str {
    frame.lines().find(|l| l.contains(text)).unwrap_or("")
}

/// A tenant whose migration stopped half way: its schema holds `items`
/// but no `orders`. `tenants`, its JSON and the tenants pane call it
/// `incomplete` (they said `no schema`, beside `health` listing it with a
/// missing table).
#[tokio::test]
async fn a_schema_without_the_tenant_tables_is_incomplete_not_missing() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "CREATE SCHEMA half;
         CREATE TABLE half.items (id text PRIMARY KEY, description text, price numeric(12,2));
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('h1', 'half_dude', 'h@x', 'pw', 'half'),
                     ('p1', 'shared_dude', 'p@x', 'pw', 'public');",
    )
    .await;
    let url = db.url.as_str();
    let tenants = stdout(&tenantscope(&["--database-url", url, "tenants"]));
    let cells: Vec<&str> = line_of(&tenants, "half ").split_whitespace().collect();
    assert_eq!(cells, ["half", "incomplete", "1"], "{tenants}");
    // The shared schema is no half-made tenant: no tenant schema at all.
    let cells: Vec<&str> = line_of(&tenants, "public ").split_whitespace().collect();
    assert_eq!(cells, ["public", "no", "schema", "1"], "{tenants}");
    let json = stdout(&tenantscope(&[
        "--database-url",
        url,
        "tenants",
        "--format",
        "json",
    ]));
    let json: Value = serde_json::from_str(&json).unwrap();
    let half = json
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "half")
        .unwrap();
    assert_eq!(half["incomplete"], true, "{json}");
    assert!(half.get("no_schema").is_none(), "{json}");
    // Its user, in the same word (the users list said `missing`).
    let args = ["--database-url", url, "users", "--format", "json"];
    let users: Value = serde_json::from_str(&stdout(&tenantscope(&args))).unwrap();
    let status = |id: &str| {
        let user = users.as_array().unwrap().iter().find(|u| u["id"] == id);
        user.unwrap()["tenant_schema"].clone()
    };
    assert_eq!(status("h1"), "incomplete", "{users}");
    assert_eq!(status("p1"), "no schema", "{users}");
    let args = [
        "--database-url",
        url,
        "snapshot",
        "--view",
        "tenants",
        "--color",
        "never",
    ];
    let frame = stdout(&tenantscope(&args));
    assert!(
        line_of(&frame, " half ").contains("1 (incomplete)"),
        "{frame}"
    );
    assert!(
        line_of(&frame, " public ").contains("1 (no schema)"),
        "{frame}"
    );
    // Named for a comparison: what it lacks, not "none is named like it".
    for command in [&["orders", "1"][..], &["snapshot", "--user", "1"]] {
        let args = [
            &["--database-url", url][..],
            command,
            &["--compare", "half"],
        ]
        .concat();
        let out = tenantscope(&args);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("tenant schema \"half\" has no orders table"),
            "{command:?}: {}",
            stderr(&out)
        );
    }
}

/// SQL giving `schema` copies of client1's items (rows too) and orders
/// (empty) tables.
fn client1_tables_in(schema: &str) -> String {
    format!(
        "CREATE TABLE {schema}.items (LIKE client1.items INCLUDING DEFAULTS);
         CREATE TABLE {schema}.orders (LIKE client1.orders INCLUDING DEFAULTS);
         INSERT INTO {schema}.items SELECT * FROM client1.items;"
    )
}

/// A registry row naming the shared schema (django-tenants registers it)
/// or an ignored one is no tenant's, nor is an unregistered schema: its users have `no schema` in the
/// users list, `tenants` and the pane (the users list said `schema
/// missing`, and `incomplete` for an ignored schema without the tables),
/// and their orders say the schema is not found, not that `public` lacks
/// an items table.
#[tokio::test]
async fn a_registry_row_naming_the_shared_or_an_ignored_schema_is_no_tenant() {
    let db = TestDatabase::reference().await;
    // Tenant migrations once run centrally: the shared schema holds the
    // tenant tables too (priced from there, pub_dude's orders read as if
    // public were his tenant).
    db.run_sql(&client1_tables_in("public")).await;
    db.run_sql(
        "CREATE SCHEMA extensions;
         CREATE TABLE public.orgs (id text PRIMARY KEY, name text, schema_name text);
         INSERT INTO public.orgs VALUES ('c1', 'Client One', 'client1'),
             ('c2', 'Client Two', 'client2'), ('pub', 'Public', 'public'),
             ('ext', 'Extensions', 'extensions');
         UPDATE public.users SET organization_id = 'c' || substr(organization_id, 7);
         INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('p1', 'pub_dude', 'p@x', 'pw', 'pub'),
                     ('e1', 'ext_dude', 'e@x', 'pw', 'ext'),
                     ('h1', 'hooli_dude', 'h@x', 'pw', 'hooli');
         CREATE SCHEMA hooli;
         CREATE TABLE hooli.items (LIKE client1.items);
         CREATE TABLE hooli.orders (LIKE client1.orders);
         INSERT INTO public.orders (id, user_id, item_id, quantity)
              VALUES ('p1', 'p1', '1', 1);",
    )
    .await;
    let run = |args: &[&str]| {
        common::bare_command()
            .env("DATABASE_URL", db.url.as_str())
            .env("TENANTSCOPE_TENANCY__REGISTRY_TABLE", "orgs")
            .env("TENANTSCOPE_TENANCY__REGISTRY_KEY", "id")
            .env("TENANTSCOPE_TENANCY__REGISTRY_LABEL", "name")
            .env("TENANTSCOPE_TENANCY__REGISTRY_SCHEMA", "schema_name")
            .env("TENANTSCOPE_TENANCY__IGNORE_SCHEMAS", "extensions")
            .args(args)
            .output()
            .unwrap()
    };
    let users: Value = serde_json::from_str(&stdout(&run(&["users", "--format", "json"]))).unwrap();
    let status = |id: &str| {
        let user = users.as_array().unwrap().iter().find(|u| u["id"] == id);
        user.unwrap()["tenant_schema"].clone()
    };
    assert_eq!(status("1"), "ok", "{users}");
    assert_eq!(status("p1"), "no schema", "{users}");
    assert_eq!(status("e1"), "no schema", "{users}");
    // An id naming a schema the registry does not list, tenant tables and
    // all: no tenant's, not half made (`tenants` said `incomplete`).
    assert_eq!(status("h1"), "no schema", "{users}");
    let tenants = stdout(&run(&["tenants"]));
    for schema in ["public", "extensions", "hooli"] {
        let cells: Vec<&str> = line_of(&tenants, &format!("{schema} "))
            .split_whitespace()
            .collect();
        assert_eq!(cells, [schema, "no", "schema", "1"], "{tenants}");
    }
    let frame = stdout(&run(&["snapshot", "--view", "tenants", "--color", "never"]));
    for schema in ["public", "extensions", "hooli"] {
        let line = line_of(&frame, &format!(" {schema} "));
        assert!(line.contains("1 (no schema)"), "{frame}");
    }
    for (id, schema) in [("p1", "public"), ("e1", "extensions")] {
        let out = run(&["orders", id]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            format!("tenantscope: tenant schema not found: \"{schema}\""),
        );
    }
}

/// Without a registry too, an ignored schema is no tenant's even where it
/// holds the tenant tables: `tenants` listed it `ok` and `health` a tenant
/// with no user, `prices` priced it, while the users list (per-tenant
/// union, `never_a_tenant`) left it out.
#[tokio::test]
async fn an_ignored_schema_with_the_tenant_tables_is_no_tenant_without_a_registry() {
    let db = TestDatabase::reference().await;
    db.run_sql("CREATE SCHEMA extensions").await;
    db.run_sql(&client1_tables_in("extensions")).await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id)
              VALUES ('e1', 'ext_dude', 'e@x', 'pw', 'extensions');
         INSERT INTO extensions.orders (id, user_id, item_id, quantity)
              VALUES ('e1', 'e1', '1', 1);",
    )
    .await;
    let run = |args: &[&str]| {
        common::bare_command()
            .env("DATABASE_URL", db.url.as_str())
            .env("TENANTSCOPE_TENANCY__IGNORE_SCHEMAS", "extensions")
            .args(args)
            .output()
            .unwrap()
    };
    let tenants = stdout(&run(&["tenants"]));
    let cells: Vec<&str> = line_of(&tenants, "extensions ")
        .split_whitespace()
        .collect();
    assert_eq!(cells, ["extensions", "no", "schema", "1"], "{tenants}");
    let users: Value = serde_json::from_str(&stdout(&run(&["users", "--format", "json"]))).unwrap();
    let ext = users.as_array().unwrap().iter().find(|u| u["id"] == "e1");
    assert_eq!(ext.unwrap()["tenant_schema"], "no schema", "{users}");
    let out = run(&["orders", "e1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "tenantscope: tenant schema not found: \"extensions\""
    );
    let prices = stdout(&run(&["prices", "--format", "csv"]));
    assert!(
        !prices.lines().next().unwrap().contains("extensions"),
        "{prices}"
    );
    let health: Value =
        serde_json::from_str(&stdout(&run(&["health", "--format", "json"]))).unwrap();
    let tenants = health["tenants"].as_array().unwrap();
    assert!(
        !tenants.iter().any(|t| t["schema"] == "extensions"),
        "{health}"
    );
    // `detect` lists the tenants the settings leave (it listed it too).
    let detected = stderr(&run(&["detect"]));
    let listed = line_of(&detected, "tenant schemas:");
    assert!(
        listed.starts_with("detect: 2 tenant schemas:"),
        "{detected}"
    );
    assert!(!listed.contains("extensions"), "{detected}");
}

/// A comparison tenant whose items view fails at run time (it divides by
/// zero) leaves the own lines standing, and says why there is no
/// comparison, in every reading: the text, the JSON and the dashboard. It
/// failed the whole `orders` read, and the JSON had written its opening.
#[tokio::test]
async fn a_comparison_that_fails_at_run_time_leaves_the_own_lines() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "ALTER TABLE client2.items RENAME TO items_stored;
         CREATE VIEW client2.items AS
             SELECT id, description, price / 0 AS price FROM client2.items_stored;",
    )
    .await;
    let url = db.url.as_str();
    let why = "no comparison with client2: its items could not be read: division by zero";
    let orders = |format: &str| {
        let args = ["orders", "1", "--compare", "client2", "--format", format];
        tenantscope(&[&["--database-url", url][..], &args].concat())
    };
    let out = orders("table");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(why), "{text}");
    assert!(line_of(&text, "Tesla").contains("5,000.00"), "{text}");
    let out = orders("json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let compare_error = json["compare_error"].as_str().unwrap();
    assert!(compare_error.contains("division by zero"), "{json}");
    assert!(!json["orders"].as_array().unwrap().is_empty(), "{json}");
    // The CSV's empty comparison cells say why (they read "not sold").
    let csv = stdout(&orders("csv"));
    let tesla = common::csv_row(&csv, "1");
    assert_eq!(
        tesla.last().copied(),
        Some("no comparison: its items could not be read: division by zero"),
        "{csv}"
    );
    // Its own user's orders cannot be read: an error, and no JSON begun.
    let out = tenantscope(&["--database-url", url, "orders", "2", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("division by zero"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    let args = [
        "--database-url",
        url,
        "snapshot",
        "--user",
        "1",
        "--compare",
        "client2",
        "--color",
        "never",
    ];
    let frame = stdout(&tenantscope(&args));
    assert!(line_of(&frame, "Tesla").contains("5,000.00"), "{frame}");
    assert!(
        frame.contains("no comparison with client2: its items could not be read"),
        "{frame}"
    );
    // Nothing compares: no like-for-like row of dashes (the CLI has none).
    assert!(!frame.contains("Like for like"), "{frame}");
}
