//! The scale behaviour, for correctness, on a database made by sql/scale.sql
//! at a size CI can afford: 20,000 users in 100 tenants. The figures at a
//! million users live in the benchmark (examples/bench.rs), not here.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use crossterm::event::KeyCode;
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database, Page, User};
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::start_app;

const USERS: usize = 20_000;
/// scale.sql plants three more users (whose tenant schema is missing).
const ALL_USERS: usize = USERS + 3;

async fn scale_database() -> (TestDatabase, Database) {
    scale_database_with(Settings::default()).await
}

async fn scale_database_with(settings: Settings) -> (TestDatabase, Database) {
    let test_db = TestDatabase::empty().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/scale.sql");
    test_db.run_psql(
        &script,
        &[
            ("tenants", "100".into()),
            ("users", USERS.to_string()),
            ("items", "10".into()),
            ("orders_per_user", "2".into()),
        ],
    );
    let source = ConnectionSource::demo(test_db.options.clone());
    let db = Database::connect(&source, &settings).await.unwrap();
    (test_db, db)
}

fn name(i: usize) -> String {
    format!("user_{i:07}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_cover_every_user_once_in_order_both_ways() {
    let (_test_db, db) = scale_database().await;
    let mut forward: Vec<User> = Vec::new();
    let mut page = Page::First;
    loop {
        let rows = db.users_page(None, &page, 1000, None).await.unwrap();
        let Some(last) = rows.last() else { break };
        page = Page::After(last.key.clone());
        let done = rows.len() < 1000;
        forward.extend(rows);
        if done {
            break;
        }
    }
    assert_eq!(forward.len(), ALL_USERS);
    let ids: HashSet<&str> = forward.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids.len(), ALL_USERS, "no user twice");
    assert!(forward
        .windows(2)
        .all(|w| (&w[0].name, &w[0].id) < (&w[1].name, &w[1].id)));

    let mut backward: Vec<User> = Vec::new();
    let mut page = Page::Last;
    loop {
        let rows = db.users_page(None, &page, 700, None).await.unwrap();
        let Some(first) = rows.first() else { break };
        page = Page::Before(first.key.clone());
        let done = rows.len() < 700;
        backward.splice(0..0, rows);
        if done {
            break;
        }
    }
    assert_eq!(backward, forward);

    let count = db.user_count().await.unwrap();
    assert_eq!(
        (count.value, count.estimated),
        (ALL_USERS as i64, false),
        "small tables are counted"
    );
    assert_eq!(
        db.tenants().await.unwrap().len(),
        101,
        "100 tenants and tenant_empty"
    );

    // The filter pages the same way: "user_00001" is user_0000100..user_0000199.
    let filtered = db
        .users_page(Some("USER_00001"), &Page::First, 60, None)
        .await
        .unwrap();
    assert_eq!(filtered.len(), 60);
    assert_eq!(filtered[0].name, name(100));
    let rest = db
        .users_page(
            Some("USER_00001"),
            &Page::After(filtered[59].key.clone()),
            60,
            None,
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 40);
    assert_eq!(rest.last().unwrap().name, name(199));
}

/// The selected row of the users pane.
fn selected(frame: &str) -> String {
    frame
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("│▶")?;
            // Skip the tenant marker (`!`, `-`) if there is one.
            rest.split_whitespace()
                .find(|word| word.starts_with("user_"))
                .map(str::to_string)
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumps_and_paging_through_the_window() {
    let (_test_db, db) = scale_database().await;
    let counters = db.clone();
    let mut app = start_app(db, Duration::from_millis(20), (140, 30)).await;
    app.frame_where("the first user", |f| selected(f) == name(1))
        .await;
    let frame = app.frames.borrow().clone();
    assert!(frame.contains("20,003 users · 101 tenants"), "{frame}");

    let pages_before = counters
        .counters()
        .user_pages
        .load(std::sync::atomic::Ordering::Relaxed);
    app.press(KeyCode::Char('G'));
    app.frame_where("the last user", |f| selected(f) == name(USERS + 3))
        .await;
    app.press(KeyCode::Char('g'));
    app.frame_where("the first user again", |f| selected(f) == name(1))
        .await;
    let pages = counters
        .counters()
        .user_pages
        .load(std::sync::atomic::Ordering::Relaxed)
        - pages_before;
    assert!(
        pages <= 4,
        "G and g read a page each (plus prefetch), not the table: {pages}"
    );

    // Page down across several windows, faster than pages load: no key is lost.
    let rows = tenantscope::geometry::table_rows(
        tenantscope::geometry::areas(ratatui::layout::Rect::new(0, 0, 140, 30)).users,
    );
    for _ in 0..30 {
        app.press(KeyCode::PageDown);
    }
    let expected = name(1 + 30 * rows);
    app.frame_where("the user 30 pages down", |f| selected(f) == expected)
        .await;
    let state = app.quit().await;
    assert!(state.dashboard.users.users().len() <= tenantscope::app::dashboard::WINDOW_CAP);
}

/// A held key issues no query per row. With a debounce no scheduling delay
/// can outlast, the count is exact whatever the machine's load; how many
/// queries a real 100 Hz key repeat issues is measured by the benchmark (f).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_storm_issues_no_query_per_row() {
    let (_test_db, db) = scale_database().await;
    let counters = db.clone();
    let mut app = start_app(db, Duration::from_secs(600), (140, 30)).await;
    app.frame_where("the first orders", |f| {
        f.contains("Orders of user_0000001") && f.contains("✓")
    })
    .await;
    let orders_before = counters
        .counters()
        .orders
        .load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..300 {
        app.press(KeyCode::Char('j'));
    }
    let frame = app
        .frame_where("the last user selected", |f| selected(f) == name(301))
        .await;
    assert!(
        frame.contains(&format!("Loading orders of {}", name(301))),
        "the last user's load waits for the selection to rest:\n{frame}"
    );
    let orders = counters
        .counters()
        .orders
        .load(std::sync::atomic::Ordering::SeqCst)
        - orders_before;
    // The first move after a quiet moment loads at once (and is cancelled
    // by the next); the other 299 wait for a rest that has not come.
    assert!(orders <= 1, "{orders} orders queries for 300 key presses");
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_filter_query_is_cancelled_on_the_server() {
    use sqlx::Connection;
    // No statement timeout within the wait below: only a cancel can end a
    // query waiting on the lock.
    let mut settings = Settings::default();
    settings.database.statement_timeout_ms = 120_000;
    let (test_db, db) = scale_database_with(settings).await;
    let mut app = start_app(db, Duration::from_millis(20), (140, 30)).await;
    app.frame_where("the first user", |f| selected(f) == name(1))
        .await;
    // Another session locks the users table: filter queries wait.
    let mut locker = test_db.lock_table("public.users").await;
    app.press(KeyCode::Char('/'));
    app.press(KeyCode::Char('0'));
    // Each filter query runs in its own transaction: its start tells one
    // query from the next, even on the same backend.
    // (A filtered first page walks the index first: its ILIKE lies past
    // the 1 kB of text the server keeps.)
    let waiting = "SELECT pid, extract(epoch FROM xact_start)::float8,
                          query LIKE '%ILIKE%' OR query LIKE 'WITH walk AS%'
                     FROM pg_stat_activity
                    WHERE application_name LIKE 'tenantscope%' AND state = 'active'
                      AND xact_start IS NOT NULL";
    let mut observer = sqlx::PgConnection::connect_with(&test_db.options)
        .await
        .unwrap();
    type Active = (i32, f64, bool);
    let first = common::poll_rows(
        &mut observer,
        waiting,
        "the first filter query waiting on the lock",
        |active: &[Active]| match active {
            [one] if one.2 => Some(*one),
            _ => None,
        },
    )
    .await;
    app.press(KeyCode::Char('0'));
    app.press(KeyCode::Char('0'));
    app.press(KeyCode::Char('5'));
    // The superseded queries are gone from the server (they could not end
    // by themselves: the lock is held, and no statement timeout comes
    // within the wait); one filter query is left, a newer one.
    common::poll_rows(
        &mut observer,
        waiting,
        "the superseded filter queries cancelled",
        |active: &[Active]| match active {
            [one] if one.1 > first.1 && one.2 => Some(()),
            _ => None,
        },
    )
    .await;

    common::unlock(&mut locker).await;
    let frame = app
        .frame_where("the filtered list", |f| {
            f.contains("/0005") && selected(f) == name(5)
        })
        .await;
    assert!(frame.contains("matches"), "{frame}");
    app.quit().await;
}
