//! Tenant-first navigation and the search across tenants, on the private
//! test server: the tenants pane of the frameworks' fixtures (frames), the
//! search's batches as they arrive and a superseded search's late batch
//! dropped (messages counted, no clock), a broken tenant reported while
//! the others are still searched, and 2,000 tenant schemas.

mod common;

use std::time::Duration;

use crossterm::event::KeyCode;
use tenantscope::app::dashboard::USERS_SLOT;
use tenantscope::app::initial_state;
use tenantscope::app::msg::{Effect, Job};
use tenantscope::app::tenants::{self, SEARCH_SLOT};
use tenantscope::app::{update, Msg, State, View};
use tenantscope::db::{Database, QueryHandle};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::fixtures::{chars, many_tenants_sql, press, search_names};

async fn fixture(name: &str) -> TestDatabase {
    let db = TestDatabase::empty().await;
    let path = format!("{}/sql/fixtures/{name}.sql", env!("CARGO_MANIFEST_DIR"));
    db.run_sql(&std::fs::read_to_string(path).unwrap()).await;
    db
}

async fn many(n: usize) -> TestDatabase {
    let db = TestDatabase::empty().await;
    for statement in many_tenants_sql(n) {
        db.run_sql(&statement).await;
    }
    db
}

/// A frame with what changes from run to run (timings, the clock) fixed,
/// and each line's trailing blanks cut (the masks change its length).
fn stable(frame: &str) -> String {
    frame
        .lines()
        .map(|line| {
            let mut line = line.to_string();
            if let Some(at) = line.find(" · as of ") {
                let end = (at + " · as of 00:00:00".len()).min(line.len());
                line.replace_range(at..end, " · as of HH:MM:SS");
            }
            if let Some(at) = line.find(" in ") {
                let digits = line[at + 4..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .count();
                if digits > 0 && line[at + 4 + digits..].starts_with(" ms") {
                    line.replace_range(at..at + 4 + digits + 3, " in N ms");
                }
            }
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the load effects' tenants jobs on `db` and delivers their results,
/// until no more come; returns how many messages were delivered.
async fn run_tenant_jobs(state: &mut State, db: &Database, mut effects: Vec<Effect>) -> usize {
    let mut delivered = 0;
    // The last load of a slot supersedes those before it (typing).
    while let Some(job) = effects.iter().rev().find_map(|e| match e {
        Effect::Load(task) => match &task.job {
            Job::Tenants(job) => Some(job.clone()),
            _ => None,
        },
        _ => None,
    }) {
        let msg = job.run(db.clone(), QueryHandle::default()).await;
        delivered += 1;
        effects = update(state, Msg::from(msg));
    }
    delivered
}

/// Runs the users page loads among `effects` (the dashboard's list) on
/// `db` and delivers them, until the list asks for no more.
async fn run_users_pages(state: &mut State, db: &Database, mut effects: Vec<Effect>) {
    while let Some(job) = effects.iter().find_map(|e| match e {
        Effect::Load(task) if task.slot == USERS_SLOT => match &task.job {
            Job::Dashboard(job) => Some(job.clone()),
            _ => None,
        },
        _ => None,
    }) {
        let msg = job.run(db.clone(), QueryHandle::default()).await;
        effects = update(state, Msg::from(msg));
    }
}

fn search_job(effects: &[Effect]) -> tenants::Job {
    effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::Load(task) if task.slot == SEARCH_SLOT => match &task.job {
                Job::Tenants(job) => Some(job.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| panic!("no search load in {effects:?}"))
}

async fn open_pure(db: &Database) -> State {
    let mut state = initial_state(db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    state.session.size = (120, 30);
    let effects = tenantscope::app::init(&mut state);
    assert_eq!(state.view, View::Tenants, "per-tenant users: tenants first");
    run_tenant_jobs(&mut state, db, effects).await;
    state
}

#[tokio::test]
async fn django_tenants_opens_on_its_tenants_then_one_tenants_users_and_orders_and_back() {
    let test_db = fixture("django_tenants").await;
    let db = common::connect(&test_db).await;
    let mut app = common::start_app(db, Duration::ZERO, (120, 20)).await;
    let pane = app
        .frame_where("the tenants", |f| {
            f.contains("Acme Corp")
                && f.contains("schema missing")
                && f.contains("2 tenants · 1 without a tenant schema")
        })
        .await;
    insta::assert_snapshot!("django_tenants_pane", stable(&pane));
    app.press(KeyCode::Enter);
    let acme = app
        .frame_where("acme's users and alice's orders", |f| {
            f.contains("Users of Acme Corp") && f.contains("Widget") && f.contains("order lines")
        })
        .await;
    assert!(!acme.contains("carol"), "only acme's users:\n{acme}");
    insta::assert_snapshot!("django_tenants_acme_users", stable(&acme));
    // Enter: the popup names the tenant as the registry does, and its schema.
    app.press(KeyCode::Enter);
    let popup = app
        .frame_where("alice's details", |f| {
            f.contains("Esc closes") && f.contains("Tenant schema")
        })
        .await;
    assert!(
        popup.contains("Acme Corp") && popup.contains("acme (schema present)"),
        "{popup}"
    );
    app.press(KeyCode::Esc);
    app.press(KeyCode::Esc);
    let back = app
        .frame_where("the tenants pane again", |f| {
            f.contains(" Tenants ") && f.contains("▶   Acme Corp")
        })
        .await;
    assert!(
        back.contains("Users") && back.contains("schema missing"),
        "{back}"
    );
    app.press(KeyCode::Char('j'));
    app.press(KeyCode::Enter);
    let globex = app
        .frame_where("globex's users and carol's orders", |f| {
            f.contains("Users of Globex") && f.contains("carol") && f.contains("Sprocket")
        })
        .await;
    assert!(!globex.contains("alice"), "{globex}");
    app.quit().await;
}

#[tokio::test]
async fn stancl_tenancy_opens_on_its_tenants_then_one_tenants_users_and_orders_and_back() {
    let test_db = fixture("stancl_tenancy").await;
    let db = common::connect(&test_db).await;
    let mut app = common::start_app(db, Duration::ZERO, (120, 20)).await;
    let pane = app
        .frame_where("the tenants", |f| f.contains("│▶") && f.contains(" ✓ "))
        .await;
    insta::assert_snapshot!("stancl_tenancy_pane", stable(&pane));
    // Down to globex-eu (a schema name that needs quoting), then Enter.
    let row = pane
        .lines()
        .position(|l| l.starts_with('│') && l.contains("globex-eu"))
        .unwrap();
    let first = pane.lines().position(|l| l.contains("▶")).unwrap();
    for _ in first..row {
        app.press(KeyCode::Char('j'));
    }
    app.press(KeyCode::Enter);
    let globex = app
        .frame_where("globex-eu's users and orders", |f| {
            f.contains("Users of globex") && f.contains("Sprocket") && f.contains("1 order line")
        })
        .await;
    insta::assert_snapshot!("stancl_tenancy_globex_users", stable(&globex));
    app.press(KeyCode::Esc);
    app.frame_where("the tenants pane again", |f| {
        f.lines()
            .any(|l| l.contains("▶") && l.contains("globex-eu"))
    })
    .await;
    app.quit().await;
}

/// A shared users table whose count is estimated (past 100,000 users):
/// the tenants pane still counts each tenant's users and lists the
/// organization ids naming no schema, in one `GROUP BY` as `health` does.
/// It listed the tenants alone, without `client9` and its user.
#[tokio::test]
async fn the_tenants_pane_lists_ids_without_a_schema_when_the_count_is_estimated() {
    let test_db = TestDatabase::demo().await;
    let db = common::connect(&test_db).await;
    let mut state = initial_state(&db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    state.session.size = (120, 30);
    state.user_count.estimated = true;
    tenantscope::app::init(&mut state);
    let effects = press(&mut state, KeyCode::Char('T'));
    run_tenant_jobs(&mut state, &db, effects).await;
    let counts: Vec<(&str, Option<i64>, &str)> = state
        .tenants
        .entries()
        .iter()
        .map(|e| (e.schema.as_str(), e.users.map(|c| c.value), e.state.word()))
        .collect();
    assert_eq!(
        counts,
        [
            ("client1", Some(1), "ok"),
            ("client2", Some(1), "ok"),
            ("client3", Some(1), "ok"),
            ("client4", Some(0), "ok"),
            ("client9", Some(1), "no schema"),
        ]
    );
}

#[tokio::test]
async fn shared_users_keep_the_users_list_first_and_t_opens_the_tenants() {
    let test_db = fixture("ros_apartment").await;
    let db = common::connect(&test_db).await;
    let mut state = initial_state(&db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    state.session.size = (120, 30);
    tenantscope::app::init(&mut state);
    assert_eq!(state.view, View::Dashboard);
    let all = state.dashboard.users.users().len();
    let effects = press(&mut state, KeyCode::Char('T'));
    assert_eq!(state.view, View::Tenants);
    run_tenant_jobs(&mut state, &db, effects).await;
    let entries = state.tenants.entries().to_vec();
    assert!(entries.len() >= 2, "{entries:?}");
    let effects = press(&mut state, KeyCode::Enter);
    let Some(Effect::Load(task)) = effects.first() else {
        panic!("{effects:?}")
    };
    let Job::Dashboard(job) = task.job.clone() else {
        panic!()
    };
    let tenantscope::app::dashboard::Msg::UsersPage { request, result } =
        job.run(db.clone(), QueryHandle::default()).await
    else {
        panic!()
    };
    let users = result.unwrap();
    assert!(!users.is_empty() && users.len() < all, "{users:?}");
    assert!(
        users
            .iter()
            .all(|u| u.tenant.as_deref() == Some(&entries[0].schema)),
        "only the tenant's users: {users:?}"
    );
    update(
        &mut state,
        Msg::from(tenantscope::app::dashboard::Msg::UsersPage {
            request,
            result: Ok(users),
        }),
    );
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.view, View::Tenants, "Esc: back to the tenants");
    press(&mut state, KeyCode::Esc);
    assert_eq!(
        state.view,
        View::Dashboard,
        "and from there to the dashboard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_results_stream_in_batch_by_batch_and_a_superseded_batch_is_dropped() {
    let test_db = many(120).await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    assert_eq!(state.tenants.entries().len(), 120);
    press(&mut state, KeyCode::Char('/'));
    let effects = chars(&mut state, "user_1");
    let mut job = search_job(&effects);
    // user_1, user_10..19 | user_100, user_101..120: a first batch of 50,
    // then the other 70 at once (a later batch is wider).
    let mut found = Vec::new();
    let mut statuses = Vec::new();
    let mut late = None;
    loop {
        let msg = job.run(db.clone(), QueryHandle::default()).await;
        let effects = update(&mut state, Msg::from(msg));
        found.push(state.tenants.search.users.len());
        statuses.push(status_text(&state));
        match effects.is_empty() {
            true => break,
            false => job = search_job(&effects),
        }
        if late.is_none() {
            late = Some(job.clone());
        }
    }
    assert_eq!(found, [11, 32], "{statuses:?}");
    assert!(
        statuses[0].contains("searched 50/120 tenants… 11 matches"),
        "{statuses:?}"
    );
    assert!(
        statuses[1].contains("searched 120/120 tenants: 32 matches"),
        "{statuses:?}"
    );
    let tenants: Vec<&str> = state.tenants.search.users[..3]
        .iter()
        .map(|u| u.tenant.as_deref().unwrap())
        .collect();
    assert_eq!(
        tenants,
        ["t0001", "t0010", "t0100"],
        "each names its tenant, in the users list's order: the second \
         batch's user_100 among the first's, before user_11"
    );

    // A new text: the old search's late batch (already on its way) is dropped.
    let effects = chars(&mut state, "9");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Load(t) if t.slot == SEARCH_SLOT)));
    let stale = late.unwrap().run(db.clone(), QueryHandle::default()).await;
    assert!(update(&mut state, Msg::from(stale)).is_empty());
    assert!(state.tenants.search.users.is_empty(), "nothing of user_1's");
    let delivered = run_tenant_jobs(&mut state, &db, effects).await;
    assert_eq!(delivered, 2, "the new search reads every batch");
    let names = search_names(&state);
    assert_eq!(names, ["user_19"], "user_119 does not contain user_19");

    // Enter keeps the results; Enter on one: that user's orders in that tenant.
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.view, View::Tenants);
    let effects = press(&mut state, KeyCode::Enter);
    assert_eq!(state.view, View::Dashboard);
    assert_eq!(
        state.dashboard.tenant.as_ref().map(|t| t.label.as_str()),
        Some("Tenant 19")
    );
    let page = tenantscope::fixtures::page_request(&effects);
    assert_eq!(page.scope.as_deref(), Some("t0019"), "that schema only");
    let Some(Effect::Load(task)) = effects.first() else {
        panic!("{effects:?}")
    };
    let Job::Dashboard(job) = task.job.clone() else {
        panic!("{task:?}")
    };
    let msg = job.run(db.clone(), QueryHandle::default()).await;
    let effects = update(&mut state, Msg::from(msg));
    let user = state.selected_user().unwrap();
    assert_eq!(
        (user.name.as_str(), user.tenant.as_deref()),
        ("user_19", Some("t0019"))
    );
    let (key, _) = tenantscope::fixtures::orders_load(&effects);
    assert_eq!(key.user_id, "1", "its orders are read");
}

fn status_text(state: &State) -> String {
    format!("{:?}", (tenantscope::app::tenants::SCREEN.status)(state))
}

/// The search across tenants matches a tenant's label or key, as the
/// users filter does (`users --filter Corp` found Acme Corp's users, `/`
/// in the pane none), and not the digits of a schema name.
#[tokio::test]
async fn the_search_across_tenants_matches_the_tenants_label_or_key() {
    let test_db = fixture("django_tenants").await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    let found = |state: &State| -> Vec<(String, String)> {
        let users = &state.tenants.search.users;
        let found = users
            .iter()
            .map(|u| (u.name.clone(), u.tenant.clone().unwrap()));
        found.collect()
    };
    let pair = |name: &str, tenant: &str| (name.to_string(), tenant.to_string());
    press(&mut state, KeyCode::Char('/'));
    let effects = chars(&mut state, "Corp");
    run_tenant_jobs(&mut state, &db, effects).await;
    assert_eq!(found(&state), [pair("alice", "acme"), pair("bob", "acme")]);
    let cli = common::on(&test_db, &["users", "--filter", "Corp"]);
    assert_eq!(common::stdout(&cli).lines().count(), 1 + 2, "the CLI's two");
    // Globex's key is 3: its users, and no user of another tenant.
    press(&mut state, KeyCode::Esc);
    press(&mut state, KeyCode::Char('/'));
    let effects = chars(&mut state, "3");
    run_tenant_jobs(&mut state, &db, effects).await;
    assert_eq!(found(&state), [pair("carol", "globex")]);
}

/// Typing an id in the search keeps that user even where more than the
/// cap match otherwise (here 150 users of client1, whose tenant contains
/// the "1"): the exact id comes first, as in the users filter; it sorted
/// by name and the cap cut rich_dude (id 1).
#[tokio::test]
async fn the_search_keeps_the_exact_id_past_its_cap() {
    let test_db = TestDatabase::demo().await;
    test_db
        .run_sql(
            "INSERT INTO public.users (id, name, mail, password, organization_id)
             SELECT 'x' || n, 'a_' || lpad(n::text, 3, '0'), 'a' || n || '@x', 'x', 'client1'
               FROM generate_series(1, 150) n",
        )
        .await;
    let db = common::connect(&test_db).await;
    let batch = db.search_users("1", &[], &[], None).await.unwrap();
    assert_eq!(batch.capped, 1, "more than the cap matched");
    assert_eq!(batch.users.len(), tenantscope::db::SEARCH_PER_TENANT);
    assert_eq!(batch.users[0].name, "rich_dude", "{:?}", batch.users[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_schema_or_a_drifted_users_table_is_reported_and_the_rest_still_found() {
    let test_db = many(6).await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    // After the catalog was read: one schema gone, one users table drifted.
    test_db
        .run_sql(
            "DROP SCHEMA t0003 CASCADE;
             ALTER TABLE t0005.auth_user RENAME COLUMN email TO email_address;",
        )
        .await;
    press(&mut state, KeyCode::Char('/'));
    let effects = chars(&mut state, "user_");
    assert_eq!(run_tenant_jobs(&mut state, &db, effects).await, 1);
    let search = &state.tenants.search;
    let tenants: Vec<&str> = search
        .users
        .iter()
        .map(|u| u.tenant.as_deref().unwrap())
        .collect();
    assert_eq!(tenants, ["t0001", "t0002", "t0004", "t0006"]);
    let failed: Vec<&str> = search.failed.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(failed, ["t0003", "t0005"]);
    assert!(search.failed[1].1.contains("email"), "{:?}", search.failed);
    assert!(
        status_text(&state).contains("4 matches; 2 could not be searched"),
        "{}",
        status_text(&state)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_tenant_schemas_are_detected_and_searched_to_the_last_batch() {
    let test_db = many(2_000).await;
    // What is found, not how fast (BENCHMARKS.md section i times this): no
    // statement timeout a busy machine could reach.
    let mut settings = tenantscope::config::Settings::default();
    settings.database.statement_timeout_ms = 600_000;
    let db = Database::connect(
        &tenantscope::db::ConnectionSource::demo(test_db.options.clone()),
        &settings,
    )
    .await
    .unwrap();
    let detection = db.detection().expect("detected");
    assert_eq!(db.model().layout, "django-tenants", "{detection:?}");
    let mut state = open_pure(&db).await;
    assert_eq!(state.catalog.len(), 2_000);
    assert_eq!(state.tenants.entries().len(), 2_000);
    let one = Some(tenantscope::db::Count::exact(1));
    assert!(state.tenants.entries().iter().all(|e| e.users == one));
    press(&mut state, KeyCode::Char('/'));
    let mut effects = chars(&mut state, "u2000@");
    let mut batches = Vec::new();
    while !effects.is_empty() {
        let msg = search_job(&effects)
            .run(db.clone(), QueryHandle::default())
            .await;
        effects = update(&mut state, Msg::from(msg));
        batches.push(state.tenants.search.users.len());
    }
    // 50 schemas, then 150 at a time (three statements side by side).
    let wide = tenantscope::db::SEARCH_WIDE_BATCH;
    assert_eq!(
        batches.len(),
        1 + (2_000 - 50usize).div_ceil(wide),
        "2,000 schemas: 50, then {wide} at a time"
    );
    let last = batches.len() - 1;
    assert_eq!(batches[last - 1], 0);
    assert_eq!(batches[last], 1, "found by the last batch");
    let user = &state.tenants.search.users[0];
    assert_eq!(
        (user.tenant.as_deref(), user.name.as_str()),
        (Some("t2000"), "user_2000")
    );

    // `a`: every tenant's users in one list, paged from all 2,000 schemas
    // (one user each).
    press(&mut state, KeyCode::Esc);
    let effects = press(&mut state, KeyCode::Char('a'));
    assert_eq!(state.view, View::Dashboard);
    run_users_pages(&mut state, &db, effects).await;
    let status = status_line(&state);
    assert!(!status.contains("users:"), "{status}");
    let users = state.dashboard.users.users();
    assert!(users.len() > 1, "{status}");
    // By name: user_1, user_10, user_100, user_1000, user_1001…
    let names: Vec<&str> = users[..4].iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["user_1", "user_10", "user_100", "user_1000"]);
    let tenants: Vec<Option<&str>> = users[..2].iter().map(|u| u.tenant_label()).collect();
    assert_eq!(tenants, [Some("Tenant 1"), Some("Tenant 10")]);
    // Down past the first page: the next page is read where it ended.
    let first_page: Vec<String> = users.iter().map(|u| u.name.clone()).collect();
    let mut effects = Vec::new();
    for _ in 0..first_page.len() {
        effects.extend(press(&mut state, KeyCode::Char('j')));
    }
    run_users_pages(&mut state, &db, effects).await;
    let status = status_line(&state);
    let selected = state.selected_user().expect("a user past the first page");
    assert!(!status.contains("users:"), "{status}");
    let users = state.dashboard.users.users();
    let at = users.iter().position(|u| u.key == selected.key).unwrap();
    assert!(
        users.windows(2).all(|w| w[0].name <= w[1].name),
        "in name order across the pages"
    );
    assert!(
        at > 0 && !first_page.contains(&selected.name),
        "{status}: {} is on the first page",
        selected.name
    );
}

fn status_line(state: &State) -> String {
    format!("{:?}", (state.view.screen().status)(state))
}

#[tokio::test]
async fn snapshot_draws_the_tenants_pane_and_a_user_opened_by_id_skips_it() {
    let test_db = fixture("django_tenants").await;
    let run = |args: &[&str]| {
        let mut all = vec!["--database-url", test_db.url.as_str(), "snapshot"];
        all.extend_from_slice(args);
        common::tenantscope(&all)
    };
    let out = run(&["--view", "tenants", "--color", "never"]);
    let frame = common::stdout(&out);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(frame.contains("Tenants · django-tenants"), "{frame}");
    assert!(frame.contains("schema missing"), "{frame}");
    assert!(
        frame.contains("✓ 2 tenants · 1 without a tenant schema"),
        "{frame}"
    );
    // --user opens on that user: the dashboard, not the tenants pane.
    let out = run(&["--user", "2", "--tenant", "acme", "--color", "never"]);
    let frame = common::stdout(&out);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(frame.contains("Orders of bob"), "{frame}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_users_table_lost_its_name_column_is_left_out_of_all_users_and_said_so() {
    let test_db = fixture("django_tenants").await;
    // acme is first by name: it must not stand for every tenant's columns.
    test_db
        .run_sql("ALTER TABLE acme.auth_user RENAME COLUMN username TO login")
        .await;
    let db = common::connect(&test_db).await;
    assert_eq!(
        db.users_left_out(),
        [("acme".to_string(), vec!["username".to_string()])]
    );
    let mut app = common::start_app(db, Duration::ZERO, (140, 20)).await;
    app.frame_where("the tenants", |f| {
        f.contains("Acme Corp") && f.contains("2 tenants · 1 without a tenant schema")
    })
    .await;
    app.press(KeyCode::Char('a'));
    let all = app
        .frame_where("every other tenant's users, and why acme's are not", |f| {
            f.contains("carol") && f.contains("left out")
        })
        .await;
    assert!(
        all.contains("acme's users left out: its auth_user lacks username (see health)"),
        "{all}"
    );
    assert!(!all.contains("alice") && !all.contains("✗"), "{all}");
    // Its own list still reads it: the error, not an empty list.
    app.press(KeyCode::Esc);
    app.frame_where("the tenants pane", |f| f.contains("▶   Acme Corp"))
        .await;
    app.press(KeyCode::Enter);
    // (It showed the server's "column t.username does not exist".)
    let acme = app
        .frame_where("acme's list fails, naming the column", |f| {
            f.contains(
                "✗ users: tenant acme's users cannot be read: its auth_user lacks username \
                 (see health)",
            )
        })
        .await;
    assert!(acme.contains("Users of Acme Corp"), "{acme}");
    app.quit().await;

    // The CLI's list too: the others' users, and why acme's are not there.
    let out = common::tenantscope(&["--database-url", &test_db.url, "users"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let (listed, said) = (common::stdout(&out), common::stderr(&out));
    assert!(
        listed.contains("carol") && !listed.contains("alice"),
        "{listed}"
    );
    assert!(
        said.contains("tenant acme's users left out: its auth_user lacks username"),
        "{said}"
    );
    // Asked for, its users are said to be unreadable, and why (the
    // server's "column t.username does not exist"); an id only acme holds
    // (bob's) is not found, and says where it was not looked for ("no user
    // with id" alone).
    let cannot = "tenant acme's users cannot be read: its auth_user lacks username (see health)";
    for args in [
        &["users", "--tenant", "acme"][..],
        &["users", "--tenant", "Acme Corp"],
        &["orders", "1", "--tenant", "acme"],
        &["basket", "1", "--tenant", "acme"],
    ] {
        let out = common::tenantscope(&[&["--database-url", &test_db.url][..], args].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            common::stderr(&out),
            format!("tenantscope: {cannot}\n"),
            "{args:?}"
        );
    }
    // An id found elsewhere (carol's, in globex) may be in acme too: said.
    let carol = test_db
        .query_text("SELECT id::text FROM globex.auth_user WHERE username = 'carol'")
        .await;
    let out = common::tenantscope(&["--database-url", &test_db.url, "orders", &carol]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).starts_with("carol "),
        "{}",
        common::stdout(&out)
    );
    assert!(
        common::stderr(&out).contains("warning: tenant acme's users left out"),
        "{}",
        common::stderr(&out)
    );
    let bob = test_db
        .query_text("SELECT id::text FROM acme.auth_user WHERE login = 'bob'")
        .await;
    let out = common::tenantscope(&["--database-url", &test_db.url, "orders", &bob]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        common::stderr(&out),
        format!("tenantscope: no user with id \"{bob}\" (tenant acme's users were not read: see health)\n")
    );

    // health names the drift, and counts acme's users all the same.
    let out = common::tenantscope(&["--database-url", &test_db.url, "health", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::stderr(&out)));
    let acme = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "acme")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(acme["status"], "drift", "{acme}");
    assert_eq!(acme["users"]["value"], 2, "{acme}");
    let drift = acme["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d["table"] == "auth_user"
            && d["column"] == "username"
            && d["kind"] == "missing_required_column"),
        "{acme}"
    );
    assert!(
        !report["unused_tenants"]
            .as_array()
            .unwrap()
            .contains(&"acme".into()),
        "{report}"
    );
}

/// A registered tenant schema with the shop's tables but no users table
/// (users not migrated there yet): the dashboard still opens, counting the
/// users of the schemas that have them.
#[tokio::test]
async fn a_tenant_schema_without_a_users_table_does_not_stop_the_dashboard() {
    let test_db = fixture("django_tenants").await;
    // The layout as detected, then configured (detection would not take
    // a registry whose tenants lack the users table).
    let settings = tenantscope::config::Settings {
        tenancy: common::connect(&test_db).await.model().clone(),
        tenancy_set: true,
        ..Default::default()
    };
    test_db
        .run_sql(
            "CREATE SCHEMA piedpiper;
             CREATE TABLE piedpiper.shop_item (LIKE acme.shop_item INCLUDING ALL);
             CREATE TABLE piedpiper.shop_order (LIKE acme.shop_order INCLUDING ALL);
             INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
                  VALUES ('piedpiper', 'Pied Piper', '2099-12-31', true, '2024-01-05');",
        )
        .await;
    let source = tenantscope::db::ConnectionSource::demo(test_db.options.clone());
    let db = Database::connect(&source, &settings).await.unwrap();
    assert!(db
        .tenants()
        .await
        .unwrap()
        .names()
        .contains(&"piedpiper".to_string()));
    let count = db
        .user_count()
        .await
        .expect("counted without piedpiper's users table");
    assert_eq!(count.value, 3, "acme's alice and bob, globex's carol");
    let state = initial_state(&db, "test".into(), None, Duration::ZERO).await;
    assert!(state.is_ok(), "the dashboard opens: {:?}", state.err());
}

/// More than 100 matches in one tenant: its first 100 (by name) are kept,
/// and the status line says the search was cut there.
#[tokio::test]
async fn a_search_matching_over_100_users_of_a_tenant_keeps_100_and_says_so() {
    let test_db = fixture("django_tenants").await;
    test_db
        .run_sql(
            "INSERT INTO acme.auth_user (password, is_superuser, username, first_name, last_name,
                                         email, is_staff, is_active, date_joined)
             SELECT 'x', false, 'bulk_' || lpad(g::text, 3, '0'), '', '', 'b' || g || '@acme.test',
                    false, true, '2024-05-01 00:00+00'
               FROM generate_series(1, 150) g",
        )
        .await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    press(&mut state, KeyCode::Char('/'));
    let mut effects = chars(&mut state, "bulk_");
    while !effects.is_empty() {
        let msg = search_job(&effects)
            .run(db.clone(), QueryHandle::default())
            .await;
        effects = update(&mut state, Msg::from(msg));
    }
    let names = search_names(&state);
    assert_eq!(names.len(), 100);
    assert_eq!((names[0], names[99]), ("bulk_001", "bulk_100"));
    let status = status_text(&state);
    assert!(
        status.contains("100 matches; the first 100 only in 1 tenant: refine the search"),
        "{status}"
    );
}

/// A search keeps the first SEARCH_CAP (1,000) matches and says so; the
/// batches after the cap are never asked for.
#[tokio::test]
async fn a_search_stops_at_the_first_thousand_matches_and_says_so() {
    use tenantscope::app::tenants::SEARCH_CAP;
    // 120 tenants (three batches of 50), 12 matching users in each: 600
    // after the first batch, 1,200 after the second.
    let test_db = many(120).await;
    test_db
        .run_sql(
            "DO $$
             BEGIN
                 FOR i IN 1..120 LOOP
                     EXECUTE format(
                         'INSERT INTO %I.auth_user
                              SELECT g, ''bulk_'' || g, ''b'' || g || ''@x.test'', now()
                                FROM generate_series(2, 13) g',
                         format('t%s', lpad(i::text, 4, '0')));
                 END LOOP;
             END $$",
        )
        .await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    press(&mut state, KeyCode::Char('/'));
    let mut effects = chars(&mut state, "bulk_");
    let mut statements = 0;
    while !effects.is_empty() {
        let msg = search_job(&effects)
            .run(db.clone(), QueryHandle::default())
            .await;
        statements += 1;
        effects = update(&mut state, Msg::from(msg));
    }
    assert_eq!(state.tenants.search.users.len(), SEARCH_CAP);
    assert_eq!(statements, 2, "the third batch is never read");
    let status = status_text(&state);
    assert!(
        status.contains("1,000 matches in the tenants searched so far"),
        "{status}"
    );
}

/// Typing supersedes a running search: its statement is cancelled on the
/// server (README), not left to run. The first batch waits on a lock, so
/// only a cancel can end it within the test (no statement timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_search_statement_is_cancelled_on_the_server() {
    let test_db = many(60).await;
    let db = common::connect(&test_db).await;
    let state = initial_state(&db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    let mut app = common::start_app_with(db.with_statement_timeout(600_000), state, (120, 30));
    // The pane's own loaded status (the header's "60 tenants" comes first).
    app.frame_where("the tenants pane, loaded", |f| {
        f.contains("✓ 60 tenants") && f.contains("Tenant 1 ")
    })
    .await;
    let mut locker = test_db.lock_table("t0001.auth_user").await;
    let mut observer = <sqlx::PgConnection as sqlx::Connection>::connect_with(&test_db.options)
        .await
        .unwrap();
    let waiting = "SELECT pid, extract(epoch FROM xact_start)::float8
                     FROM pg_stat_activity
                    WHERE application_name LIKE 'tenantscope%' AND state = 'active'
                      AND query LIKE '%ILIKE%' AND xact_start IS NOT NULL";
    app.press(KeyCode::Char('/'));
    app.press(KeyCode::Char('u'));
    let first = common::poll_rows(
        &mut observer,
        waiting,
        "the first search statement waiting on the lock",
        |active: &[(i32, f64)]| match active {
            [one] => Some(one.1),
            _ => None,
        },
    )
    .await;
    app.press(KeyCode::Char('s'));
    common::poll_rows(
        &mut observer,
        waiting,
        "the superseded search statement cancelled",
        |active: &[(i32, f64)]| match active {
            [one] if one.1 > first => Some(()),
            _ => None,
        },
    )
    .await;
    common::unlock(&mut locker).await;
    app.frame_where("the search for \"us\" finished", |f| {
        f.contains("searched 60/60") || f.contains("60/60")
    })
    .await;
    app.quit().await;
}

/// Runs `sql` on `server`'s postgres database, on a connection of its own.
async fn run_on(server: &tenantscope::embedded::PgServer, sql: &str) {
    use sqlx::Connection;
    let options = server.connect_options("postgres");
    let mut admin = sqlx::PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
    admin.close().await.ok();
}

/// Users inside more tenant schemas than one transaction may lock: on a
/// server with a small lock table (`max_locks_per_transaction` 10, its
/// minimum, × 20 connections and the server's own processes), one
/// statement over 1,500 tenants' users tables fails ("out of shared memory", checked first, so the
/// fixture proves something); the tenants pane's counts, health, the
/// users list and its filter, and the CLI's `tenants` and `users
/// --filter` all answer, as each reads the tenants in batches whose locks
/// are released between them.
#[tokio::test]
async fn per_tenant_users_are_read_in_batches_a_small_lock_table_holds() {
    use sqlx::Connection;
    use tenantscope::embedded::{PgServer, ServerOptions};
    const N: usize = 1_500;
    let server = PgServer::start_with(ServerOptions {
        settings: vec![
            ("max_locks_per_transaction".into(), "10".into()),
            ("max_connections".into(), "20".into()),
        ],
        ..ServerOptions::default()
    })
    .expect("start a private server");
    let mut admin = sqlx::PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    for statement in tenantscope::fixtures::many_tenants_sql_by(N, 20) {
        sqlx::raw_sql(&statement).execute(&mut admin).await.unwrap();
    }
    let union = (1..=N)
        .map(|i| format!("SELECT 1 FROM t{i:04}.auth_user"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let unbatched = sqlx::query(&format!("SELECT count(*) FROM ({union}) u"))
        .execute(&mut admin)
        .await
        .expect_err("one statement over every tenant's users table passes the lock table");
    assert!(
        unbatched.to_string().contains("shared memory"),
        "{unbatched}"
    );
    // The server sends the error before its abort frees the lock table;
    // its answer to the next statement comes after. Without this wait a
    // busy machine could connect below while the table is still full.
    sqlx::query("SELECT 1").execute(&mut admin).await.unwrap();
    admin.close().await.ok();

    let source = tenantscope::db::ConnectionSource::demo(server.connect_options("postgres"));
    let db = tenantscope::db::Database::connect(&source, &tenantscope::config::Settings::default())
        .await
        .unwrap();
    assert_eq!(db.model().users.at, tenantscope::db::UsersAt::PerTenant);
    // The pool's statements run side by side (this small lock table holds
    // them all at once); a one-connection database reads in turn, and
    // answers the same.
    assert!(db.batch_width() > 1, "{}", db.batch_width());
    let once =
        tenantscope::db::Database::connect_once(&source, &tenantscope::config::Settings::default())
            .await
            .unwrap();
    assert_eq!(once.batch_width(), 1);
    let catalog = db.tenants().await.unwrap();
    let summaries = db.tenant_summaries(&catalog).await.unwrap();
    assert_eq!(summaries, once.tenant_summaries(&catalog).await.unwrap());
    let counted: Vec<_> = summaries.iter().filter(|s| s.users == 1).collect();
    assert_eq!(counted.len(), N, "every tenant's one user counted");
    let health = db.health(None).await.unwrap();
    assert_eq!(health.tenants.len(), N);
    assert!(
        health.tenants.iter().all(|t| t.users.value == 1
            && !t.users.estimated
            && t.status == tenantscope::db::HealthStatus::Ok),
        "{:?}",
        health.tenants.first()
    );
    assert_eq!(db.user_count().await.unwrap().value, N as i64);
    // The list's first page, in (name, id) order across every batch.
    let first = db
        .users_page(None, &tenantscope::db::Page::First, 100, None)
        .await
        .unwrap();
    let names: Vec<&str> = first.iter().map(|u| u.name.as_str()).collect();
    let mut expected: Vec<String> = (1..=N).map(|i| format!("user_{i}")).collect();
    expected.sort();
    assert_eq!(
        names,
        expected[..100]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    // The next page from the last key, and the last page.
    let next = db
        .users_page(
            None,
            &tenantscope::db::Page::After(first.last().unwrap().key.clone()),
            100,
            None,
        )
        .await
        .unwrap();
    assert_eq!(next.first().unwrap().name, expected[100]);
    let last = db
        .users_page(None, &tenantscope::db::Page::Last, 10, None)
        .await
        .unwrap();
    assert_eq!(last.last().unwrap().name, expected[N - 1]);
    // The filter: user_59 and user_590..user_599, in two batches of 50.
    let filtered = db
        .users_page(Some("user_59"), &tenantscope::db::Page::First, 100, None)
        .await
        .unwrap();
    assert_eq!(filtered.len(), 11, "{filtered:?}");
    for page in [
        tenantscope::db::Page::First,
        tenantscope::db::Page::After(first[41].key.clone()),
        tenantscope::db::Page::Last,
    ] {
        assert_eq!(
            db.users_page(None, &page, 100, None).await.unwrap(),
            once.users_page(None, &page, 100, None).await.unwrap(),
            "{page:?}"
        );
    }
    // The search over every schema: 30 statements, side by side or in
    // turn, the same matches (user_5, user_50…59, user_500…599).
    let schemas: Vec<String> = (1..=N).map(|i| format!("t{i:04}")).collect();
    let searched = db
        .search_users("user_5", &schemas, &[], None)
        .await
        .unwrap();
    assert_eq!(searched.users.len(), 111, "{:?}", searched.users.first());
    assert!(searched.failed.is_empty(), "{:?}", searched.failed);
    assert_eq!(
        searched,
        once.search_users("user_5", &schemas, &[], None)
            .await
            .unwrap()
    );
    // Every tenant's prices (200 to a statement, side by side or in turn).
    let prices = db.price_matrix(&schemas).await.unwrap();
    assert_eq!(prices.tenants.len(), N);
    assert!(prices.failed.is_empty(), "{:?}", prices.failed);
    assert_eq!(prices, once.price_matrix(&schemas).await.unwrap());
    once.close().await;
    // One user by id (`orders`, `basket`): an id every tenant holds is
    // theirs to tell apart (`--tenant`), as the CLI says (`db.user` took
    // the first tenant's); in a named tenant, that one.
    let several = db.user("1").await.unwrap_err().to_string();
    assert!(several.contains("is in several tenants"), "{several}");
    let one = db.user_in("1", Some("t0001")).await.unwrap();
    assert_eq!(one.tenant.as_deref(), Some("t0001"));
    assert!(matches!(
        db.user("no such id").await,
        Err(tenantscope::db::DbError::UserNotFound { .. })
    ));

    let url = server.url("postgres");
    let tenants = common::tenantscope(&["--database-url", &url, "tenants", "--format", "csv"]);
    assert!(
        tenants.status.success(),
        "{}",
        String::from_utf8_lossy(&tenants.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&tenants.stdout).lines().count(),
        N + 1
    );
    let users = common::tenantscope(&[
        "--database-url",
        &url,
        "users",
        "--filter",
        "user_59",
        "--format",
        "csv",
    ]);
    assert!(
        users.status.success(),
        "{}",
        String::from_utf8_lossy(&users.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&users.stdout).lines().count(), 12);
    let all = common::tenantscope(&["--database-url", &url, "users", "--format", "csv"]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let listed: Vec<String> = String::from_utf8_lossy(&all.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(listed, expected);
    // A table (two passes: widths, then lines) of a list that ends within
    // its first page: that page kept for the second pass, the same users.
    let table = common::tenantscope(&["--database-url", &url, "users", "--limit", "5"]);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 5, "{table}");
    for (line, name) in lines[1..].iter().zip(&expected[..5]) {
        assert!(line.contains(&format!(" {name} ")), "{line} for {name}");
    }
    // Cut by the limit, and said so; a limit of exactly all is not cut.
    for (limit, note) in [
        (
            5,
            "tenantscope: only 5 users shown; more match (raise --limit)\n",
        ),
        (expected.len(), ""),
    ] {
        let limit = limit.to_string();
        let out = common::tenantscope(&["--database-url", &url, "users", "--limit", &limit]);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            note,
            "--limit {limit}"
        );
    }

    // Past EXACT_TENANT_TABLES_UP_TO tenants, a users table the server has
    // analyzed and found rows in is counted by its statistics, marked as an
    // estimate (here a stale one: t0003 has a user more since); an empty
    // one (t0002) or one never analyzed is counted exactly.
    const { assert!(N > tenantscope::db::EXACT_TENANT_TABLES_UP_TO) };
    run_on(
        &server,
        "DELETE FROM t0002.auth_user;
         ANALYZE t0001.auth_user, t0002.auth_user, t0003.auth_user;
         INSERT INTO t0003.auth_user VALUES (2, 'later', 'later@t3.test', now());",
    )
    .await;
    let count = db.user_count().await.unwrap();
    assert!(count.estimated, "{count:?}");
    assert_eq!(
        count.value,
        N as i64 - 1,
        "t0002 empty, t0003's new user not seen"
    );
    let health = db.health(None).await.unwrap();
    let users = |tenant: &str| {
        health
            .tenants
            .iter()
            .find(|t| t.tenant == tenant)
            .unwrap()
            .users
    };
    assert_eq!(users("t0001"), tenantscope::db::Count::estimate(1));
    assert_eq!(users("t0002"), tenantscope::db::Count::exact(0));
    assert_eq!(users("t0003"), tenantscope::db::Count::estimate(1));
    assert_eq!(users("t0004"), tenantscope::db::Count::exact(1));
    assert!(health.unused_tenants.contains(&"t0002".to_string()));
    let status = |tenant: &str| {
        health
            .tenants
            .iter()
            .find(|t| t.tenant == tenant)
            .unwrap()
            .status
    };
    assert_eq!(status("t0002"), tenantscope::db::HealthStatus::Unused);
    assert_eq!(status("t0001"), tenantscope::db::HealthStatus::Ok);
    let summaries = db
        .tenant_summaries(&db.tenants().await.unwrap())
        .await
        .unwrap();
    let summary = |tenant: &str| {
        let s = summaries
            .iter()
            .find(|s| s.tenant.as_deref() == Some(tenant))
            .unwrap();
        (s.users, s.users_estimated)
    };
    assert_eq!(
        [
            summary("t0001"),
            summary("t0002"),
            summary("t0003"),
            summary("t0004")
        ],
        [(1, true), (0, false), (1, true), (1, false)]
    );
    let tenants = common::tenantscope(&["--database-url", &url, "tenants"]);
    let tenants = String::from_utf8_lossy(&tenants.stdout).to_string();
    // Named by the registry's label ("Tenant 1" for t0001).
    let row = |label: &str| {
        tenants
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(row("Tenant 1"), ["ok", "~1"], "{tenants}");
    assert_eq!(row("Tenant 2"), ["ok", "0"]);
    assert_eq!(row("Tenant 4"), ["ok", "1"]);
    let csv = common::tenantscope(&["--database-url", &url, "tenants", "--format", "csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout).to_string();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("tenant,schema_status,users,users_estimated")
    );
    assert!(csv.contains("\nTenant 1,ok,1,true\n"), "{csv}");
    assert!(csv.contains("\nTenant 4,ok,1,false\n"), "{csv}");
    // The tenants pane counts them as `tenants` does (it showed `—` for
    // every tenant past EXACT_TENANT_TABLES_UP_TO users tables).
    let state = open_pure(&db).await;
    let pane = |label: &str| {
        let entry = state.tenants.entries().iter().find(|e| e.label == label);
        entry.and_then(|e| e.users)
    };
    use tenantscope::db::Count;
    assert_eq!(pane("Tenant 1"), Some(Count::estimate(1)));
    assert_eq!(pane("Tenant 2"), Some(Count::exact(0)));
    assert_eq!(pane("Tenant 4"), Some(Count::exact(1)));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    terminal
        .draw(|frame| tenantscope::ui::view(&state, frame))
        .unwrap();
    let frame = terminal.backend().to_string();
    let row = |label: &str| {
        let mut rows = frame.lines().filter(|l| l.starts_with("\"│"));
        let line = rows.find(|l| l.contains(&format!(" {label} ")));
        line.unwrap_or_else(|| panic!("no {label} in\n{frame}"))
            .to_string()
    };
    assert!(row("Tenant 1").contains(" ~1│"), "{frame}");
    assert!(row("Tenant 10").contains(" 1│"), "{frame}");
    // An id only t0003 holds: found by `orders` in batches (one statement
    // over every tenant's users table ran out of the lock table here, and
    // at 4,000 tenants outlasted the statement timeout).
    assert_eq!(db.user("2").await.unwrap().tenant.as_deref(), Some("t0003"));
    let orders = common::tenantscope(&["--database-url", &url, "orders", "2"]);
    assert!(
        orders.status.success(),
        "{}",
        String::from_utf8_lossy(&orders.stderr)
    );
    let orders = String::from_utf8_lossy(&orders.stdout).to_string();
    assert!(
        orders.starts_with("later (id 2, later@t3.test) in tenant Tenant 3"),
        "{orders}"
    );
    // The leak check reads the tenant's own users table: it put every
    // tenant's in one statement three times (out of shared memory here;
    // at 3,000 tenants on a default server, 23 GB and a server restart).
    let leaks = db.leaks("t0003").await.unwrap();
    assert!(leaks.is_empty(), "{leaks:?}");
    run_on(&server, "INSERT INTO t0004.shop_order VALUES (2, 1, 1, 2)").await;
    let leaks = db.leaks("t0004").await.unwrap();
    let found: Vec<_> = leaks
        .iter()
        .map(|l| (l.order_id.as_deref(), l.kind))
        .collect();
    assert_eq!(found, [(Some("2"), tenantscope::db::LeakKind::NoUser)]);
    // Who ordered a matrix cell's item (`Enter` there): that tenant's own
    // users table too (the union timed out at 3,000 tenants).
    let rule = tenantscope::db::ItemRule::Description;
    let buyers = db.users_who_ordered("t0004", &rule, "Widget", 10).await;
    let names: Vec<String> = buyers.unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["user_4"]);
}

/// Backends of the test database waiting on a lock (our statements
/// behind the test's locker).
const LOCK_WAITERS: &str = "SELECT pid, query FROM pg_stat_activity
                             WHERE datname = current_database() AND wait_event_type = 'Lock'";

/// A superseded users page whose statements run side by side (120
/// tenants: three statements of 50, two at once beside the page's own
/// transaction) is stopped on the server: the statement waiting on a
/// locked tenant table is cancelled, not left running to the statement
/// timeout on a pool connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_side_by_side_users_page_is_cancelled_on_the_server() {
    let test_db = many(120).await;
    let db = common::connect(&test_db)
        .await
        .with_statement_timeout(600_000);
    assert!(db.batch_width() > 2, "{}", db.batch_width());
    let mut locker = test_db.lock_table("t0001.auth_user").await;
    let mut observer = <sqlx::PgConnection as sqlx::Connection>::connect_with(&test_db.options)
        .await
        .unwrap();
    let handle = QueryHandle::default();
    let page = tokio::spawn({
        let (db, handle) = (db.clone(), handle.clone());
        async move {
            db.users_page(None, &tenantscope::db::Page::First, 100, Some(&handle))
                .await
        }
    });
    common::poll_rows(
        &mut observer,
        LOCK_WAITERS,
        "a users statement waiting on the locked table",
        |waiting: &[(i32, String)]| (!waiting.is_empty()).then_some(()),
    )
    .await;
    // Superseded: the app cancels the load and drops its task.
    db.cancel(&handle).await;
    page.abort();
    common::poll_rows(
        &mut observer,
        LOCK_WAITERS,
        "the superseded users statements cancelled",
        |waiting: &[(i32, String)]| waiting.is_empty().then_some(()),
    )
    .await;
    common::unlock(&mut locker).await;
}

/// A tenant whose users table another session holds locked (a
/// migration) is named as locked by the search after the lock timeout,
/// and the others are found: the search waited the whole statement
/// timeout, then once more for that tenant alone, and named a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_tenant_is_named_by_the_search_and_the_rest_found() {
    const N: usize = 60;
    let test_db = many(N).await;
    let db = common::connect(&test_db)
        .await
        .with_statement_timeout(5_000);
    let schemas: Vec<String> = (1..=N).map(|i| format!("t{i:04}")).collect();
    let _locker = test_db.lock_table("t0002.auth_user").await;
    let searched = db.search_users("user", &schemas, &[], None).await.unwrap();
    assert_eq!(searched.users.len(), N - 1, "{:?}", searched.failed);
    let [(tenant, why)] = &searched.failed[..] else {
        panic!("one tenant not searched: {:?}", searched.failed)
    };
    assert_eq!(tenant, "t0002");
    assert!(why.starts_with("locked: "), "{why}");
}

/// The same locked users table leaves every other tenant's count exact
/// and gives its own the statistics' row count, marked `~`: each count
/// (the header's, the tenants pane's, `tenants`, `health`) waited the
/// whole statement timeout and failed, or left every count out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_tenant_users_table_is_estimated_and_the_rest_counted() {
    use tenantscope::db::Count;
    const N: usize = 60;
    let test_db = many(N).await;
    test_db
        .run_sql("ANALYZE t0002.auth_user, t0004.auth_user")
        .await;
    let db = common::connect(&test_db)
        .await
        .with_statement_timeout(5_000);
    // Two in one statement's batch: each given its statistics.
    let _locker = test_db.lock_table("t0002.auth_user").await;
    let _t0004 = test_db.lock_table("t0004.auth_user").await;

    let count = db.user_count().await.unwrap();
    assert_eq!((count.value, count.estimated), (N as i64, true));
    let pane = db.tenant_directory(true).await.unwrap();
    let users = |schema: &str| pane.iter().find(|e| e.schema == schema).unwrap().users;
    assert_eq!(users("t0002"), Some(Count::estimate(1)));
    assert_eq!(users("t0004"), Some(Count::estimate(1)));
    assert_eq!(users("t0001"), Some(Count::exact(1)));
    assert_eq!(users("t0060"), Some(Count::exact(1)));
    let summaries = db
        .tenant_summaries(&db.tenants().await.unwrap())
        .await
        .unwrap();
    let estimated: Vec<_> = summaries
        .iter()
        .filter(|s| s.users_estimated)
        .map(|s| (s.tenant.as_deref().unwrap(), s.users))
        .collect();
    assert_eq!(estimated, [("t0002", 1), ("t0004", 1)]);
    assert_eq!(summaries.iter().map(|s| s.users).sum::<i64>(), N as i64);
    let health = db.health(None).await.unwrap();
    let t0002 = health.tenants.iter().find(|t| t.tenant == "t0002").unwrap();
    assert_eq!(t0002.users, Count::estimate(1));
    assert!(
        health.unused_tenants.is_empty(),
        "{:?}",
        health.unused_tenants
    );
    // Never analyzed: `~0`, and not called unused.
    let _t0003 = test_db.lock_table("t0003.auth_user").await;
    let health = db.health(None).await.unwrap();
    let t0003 = health.tenants.iter().find(|t| t.tenant == "t0003").unwrap();
    assert_eq!(t0003.users, Count::estimate(0));
    assert_eq!(t0003.status, tenantscope::db::HealthStatus::Ok);
    assert!(
        health.unused_tenants.is_empty(),
        "{:?}",
        health.unused_tenants
    );
}

/// Two batched loads at once on a pool of three connections, one of them
/// held up by a lock: neither fails for want of a connection (each used
/// to want all but one of the pool, and the one that waited past the
/// acquire timeout failed); both answer as they do alone, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batched_loads_at_once_on_a_small_pool_both_answer() {
    const N: usize = 170;
    let test_db = many(N).await;
    let mut settings = tenantscope::config::Settings::default();
    settings.database.max_connections = 3;
    settings.database.statement_timeout_ms = 600_000;
    let db = Database::connect(
        &tenantscope::db::ConnectionSource::demo(test_db.options.clone()),
        &settings,
    )
    .await
    .unwrap();
    let schemas: Vec<String> = (1..=N).map(|i| format!("t{i:04}")).collect();
    let first = tenantscope::db::Page::First;
    let page_alone = db.users_page(None, &first, 100, None).await.unwrap();
    let search_alone = db.search_users("user", &schemas, &[], None).await.unwrap();
    assert_eq!(page_alone.len(), 100);
    assert_eq!(search_alone.users.len(), N, "every tenant's user found");
    // The users page's third and fourth statements (tenants 101-150 and
    // 151-170) wait on these locks.
    let mut locker = test_db.lock_table("t0101.auth_user, t0151.auth_user").await;
    let mut observer = <sqlx::PgConnection as sqlx::Connection>::connect_with(&test_db.options)
        .await
        .unwrap();
    let page = tokio::spawn({
        let db = db.clone();
        async move {
            db.users_page(None, &tenantscope::db::Page::First, 100, None)
                .await
        }
    });
    common::poll_rows(
        &mut observer,
        LOCK_WAITERS,
        "the users page waiting on a locked table",
        |waiting: &[(i32, String)]| (!waiting.is_empty()).then_some(()),
    )
    .await;
    let search = tokio::spawn({
        let (db, schemas) = (db.clone(), schemas.clone());
        async move { db.search_users("user", &schemas, &[], None).await }
    });
    // The search reads on until it too waits on a locked table (it reads
    // tenants 101-150 in its third statement), never failing first.
    common::poll_rows(
        &mut observer,
        LOCK_WAITERS,
        "the search waiting on a locked table, beside the users page",
        |waiting: &[(i32, String)]| {
            assert!(
                !search.is_finished(),
                "the search ended while the page waited"
            );
            waiting
                .iter()
                .any(|(_, query)| query.contains("ILIKE"))
                .then_some(())
        },
    )
    .await;
    common::unlock(&mut locker).await;
    assert_eq!(page.await.unwrap().unwrap(), page_alone);
    let searched = search.await.unwrap().unwrap();
    assert_eq!(searched.users, search_alone.users);
    assert!(searched.failed.is_empty(), "{:?}", searched.failed);
}

/// The tenants pane orders labels as people read the numbers in them:
/// `Branch 2` before `Branch 10` (it put `Branch 10` and `Branch 100`
/// first, as text does).
#[tokio::test]
async fn the_tenants_pane_orders_numbers_in_labels_by_value() {
    let test_db = fixture("django_tenants").await;
    test_db
        .run_sql(
            "INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
             SELECT 'branch' || n, 'Branch ' || n, '2099-12-31', false, '2024-02-01'
               FROM unnest(ARRAY[100, 2, 10, 1]) n;
             INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
             VALUES ('branch3', 'branch 3', '2099-12-31', false, '2024-02-01')",
        )
        .await;
    let db = common::connect(&test_db).await;
    let pane = db.tenant_directory(false).await.unwrap();
    let labels: Vec<&str> = pane
        .iter()
        .map(|e| e.label.as_str())
        .filter(|l| l.to_lowercase().starts_with("branch"))
        .collect();
    // In either case alike (`branch 3` came after every capital).
    assert_eq!(
        labels,
        [
            "Branch 1",
            "Branch 2",
            "branch 3",
            "Branch 10",
            "Branch 100"
        ]
    );
    let initech = pane.iter().position(|e| e.label == "Initech").unwrap();
    let branch3 = pane.iter().position(|e| e.label == "branch 3").unwrap();
    assert!(branch3 < initech, "{pane:?}");
}

/// A reload (`r`, the refresh timer) keeps the tenant selected, also when
/// a new tenant sorts before it or it is relabelled: the selection stayed
/// at its row number, on another tenant, and `Enter` opened that one.
#[tokio::test]
async fn a_reload_keeps_the_selected_tenant_selected() {
    let test_db = fixture("django_tenants").await;
    let db = common::connect(&test_db).await;
    let mut state = open_pure(&db).await;
    let selected = |state: &State| {
        let tenants = &state.tenants;
        tenants.entries()[tenants.rows.selected].label.clone()
    };
    while selected(&state) != "Initech" {
        press(&mut state, KeyCode::Char('j'));
    }
    test_db
        .run_sql(
            "INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
             VALUES ('hooli', 'Aardvark', '2099-12-31', false, '2024-02-01')",
        )
        .await;
    let effects = press(&mut state, KeyCode::Char('r'));
    run_tenant_jobs(&mut state, &db, effects).await;
    assert_eq!(state.tenants.entries()[0].label, "Aardvark");
    assert_eq!(selected(&state), "Initech");
    test_db
        .run_sql(
            "UPDATE public.customers_client SET name = 'Aa Initech' WHERE schema_name = 'initech'",
        )
        .await;
    let effects = press(&mut state, KeyCode::Char('r'));
    run_tenant_jobs(&mut state, &db, effects).await;
    assert_eq!(selected(&state), "Aa Initech");
}
