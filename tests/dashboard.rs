//! The whole dashboard: the real event loop, the real PostgreSQL test server
//! and a TestBackend, driven by key events.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossterm::event::KeyCode;
use tenantscope::app::initial_state;
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{connect, frame_where, keys, row, start_app, start_app_logged, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_drive_the_loop_and_the_orders_shown_are_the_selected_users() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let loads = db.clone();
    let orders_loads = move || loads.counters().orders.load(Ordering::SeqCst);
    let (
        App {
            keys: tx,
            mut frames,
            handle: app,
        },
        mut log,
    ) = start_app_logged(db, Duration::from_millis(30), (120, 20)).await;

    // Opens on the first user by name, mid_dude of client3, compared with client1.
    let (frame, _) = log
        .until("mid_dude's orders", |f| row(f, "Tesla").contains("3,500"))
        .await;
    assert!(
        frame.contains("Orders of mid_dude · client3 vs client1"),
        "{frame}"
    );
    assert!(
        row(&frame, "Tesla").contains("5,000.00"),
        "client1's price beside it"
    );

    // Two rows down, faster than the debounce: the first move may start
    // poor_dude's load (a move after a quiet moment loads at once), the
    // second cancels it; only rich_dude's orders arrive. poor_dude's orders
    // (client2's) are locked meanwhile: however late the loop handles the
    // second key, the first load cannot answer before it.
    let mut locker = test_db.lock_table("client2.orders").await;
    let before = orders_loads();
    keys(&tx, &[KeyCode::Char('j'), KeyCode::Down]);
    let (frame, passed) = log
        .until("rich_dude's orders", |f| {
            f.contains("Orders of rich_dude") && row(f, "Tesla").contains("50,000.00")
        })
        .await;
    common::unlock(&mut locker).await;
    let loads = orders_loads() - before;
    assert!(
        (1..=2).contains(&loads),
        "rich_dude's load, and at most poor_dude's cancelled one: {loads}"
    );
    assert!(
        !passed
            .iter()
            .any(|f| f.contains("Orders of poor_dude") && row(f, "Tesla").contains("10,000.00")),
        "poor_dude's orders were never drawn"
    );
    let tesla = row(&frame, "Tesla");
    assert!(
        tesla.contains("5,000.00") && tesla.contains("1,000.00") && tesla.contains("10,000.00"),
        "{tesla}"
    );
    assert!(row(&frame, "Huawei").contains("500.00"));
    assert!(
        frame.contains("60,000.00") && frame.contains("10,500.00"),
        "{frame}"
    );

    // Next comparison tenant: client3 sells no Huawei.
    keys(&tx, &[KeyCode::Char('c')]);
    let frame = frame_where(&mut frames, "comparison with client3", |f| {
        f.contains("vs client3") && row(f, "Tesla").contains("35,000")
    })
    .await;
    assert!(row(&frame, "Huawei").contains('—'), "{frame}");

    // A user whose tenant schema does not exist.
    keys(&tx, &[KeyCode::Char('j')]);
    frame_where(&mut frames, "the missing tenant", |f| {
        f.contains("Tenant schema not found: \"client9\"")
    })
    .await;

    // Filter down to poor_dude: his orders, in his tenant's prices.
    keys(
        &tx,
        &[
            KeyCode::Char('/'),
            KeyCode::Char('p'),
            KeyCode::Char('o'),
            KeyCode::Char('o'),
            KeyCode::Enter,
        ],
    );
    let frame = frame_where(&mut frames, "poor_dude's orders", |f| {
        f.contains("Orders of poor_dude")
            && row(f, "Tesla").contains("10,000.00")
            && f.contains("Users 1 match /poo")
    })
    .await;
    assert!(frame.contains("Users 1 match /poo"), "{frame}");
    assert!(row(&frame, "Tesla").contains("1,000.00"));

    keys(&tx, &[KeyCode::Char('q')]);
    let state = tokio::time::timeout(Duration::from_secs(10), app)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(state.session.quit);
    let selected = state.selected_user().unwrap().id.clone();
    let orders = &state.dashboard.orders;
    assert_eq!(orders.key().unwrap().user_id, selected);
    assert_eq!(orders.value().expect("orders shown").tenant, "client2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_storm_settles_on_the_last_user() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let App {
        keys: tx,
        mut frames,
        handle: app,
    } = start_app(db, Duration::from_millis(50), (120, 20)).await;
    frame_where(&mut frames, "the first frame", |f| {
        f.contains("Orders of mid_dude")
    })
    .await;
    for _ in 0..50 {
        keys(&tx, &[KeyCode::Char('j'), KeyCode::Char('k')]);
    }
    keys(&tx, &[KeyCode::Char('j'), KeyCode::Char('j')]);
    frame_where(&mut frames, "rich_dude's orders", |f| {
        f.contains("Orders of rich_dude") && row(f, "Tesla").contains("50,000.00")
    })
    .await;
    keys(&tx, &[KeyCode::Char('q')]);
    let state = app.await.unwrap().unwrap();
    assert_eq!(state.selected_user().unwrap().name, "rich_dude");
    let orders = &state.dashboard.orders;
    assert!(orders.value().is_some() && orders.key().unwrap().user_id == "1");
}

async fn load_demo(options: &sqlx::postgres::PgConnectOptions) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect_with(options).await.unwrap();
    for (_, sql) in tenantscope::embedded::DEMO_SQL {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_survives_losing_the_database_and_recovers_when_it_is_back() {
    // A server of its own: this test stops it.
    let mut server = tenantscope::embedded::PgServer::start().unwrap();
    let options = server.connect_options("postgres");
    load_demo(&options).await;
    let db = Database::connect(&ConnectionSource::demo(options), &Settings::default())
        .await
        .unwrap();
    let loads = db.clone();
    let orders_loads = move || loads.counters().orders.load(Ordering::SeqCst);
    let (mut app, mut log) = start_app_logged(db, Duration::from_millis(20), (120, 20)).await;
    frame_where(&mut app.frames, "mid_dude's orders", |f| {
        row(f, "Tesla").contains("3,500")
    })
    .await;

    server.stop();
    keys(&app.keys, &[KeyCode::Char('j')]);
    let frame = frame_where(&mut app.frames, "an error in the orders pane", |f| {
        f.contains("Orders of poor_dude") && f.contains("Press r to retry")
    })
    .await;
    assert!(
        frame.contains("✗"),
        "the status line shows the error: {frame}"
    );
    // In words, not only the system's "os error 2".
    assert!(
        frame.contains("cannot reach the server (is it still running?)"),
        "{frame}"
    );
    // The frame on screen already says "Press r to retry": see `r` start a
    // new load, then fail again. (A load that answers within a frame's
    // time draws no "Loading" frame: the count shows the reload.)
    let _ = log
        .until("the first error", |f| f.contains("Press r to retry"))
        .await;
    let before = orders_loads();
    keys(&app.keys, &[KeyCode::Char('r')]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while orders_loads() == before {
        assert!(std::time::Instant::now() < deadline, "r started no load");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Frames drawn from here on show the reload's state: loading, then
    // its error (the first one is gone with the state it was drawn from).
    log.skip_drawn();
    let _ = log
        .until("the error again after r", |f| {
            f.contains("Press r to retry")
        })
        .await;

    server.restart().unwrap();
    keys(&app.keys, &[KeyCode::Char('r')]);
    frame_where(
        &mut app.frames,
        "poor_dude's orders after the restart",
        |f| f.contains("Orders of poor_dude") && row(f, "Tesla").contains("10,000.00"),
    )
    .await;
    keys(&app.keys, &[KeyCode::Char('q')]);
    app.handle.await.unwrap().unwrap();
}

/// Connects with this statement_timeout, while another session holds a lock
/// on client1's items (mid_dude is compared with client1, so his orders wait).
/// The dashboard on mid_dude (client3, compared with client1), `table`
/// locked by another session.
async fn app_behind_a_lock(
    test_db: &TestDatabase,
    statement_timeout_ms: u64,
    table: &str,
) -> (App, sqlx::PgConnection) {
    let locker = test_db.lock_table(table).await;
    let db = Database::connect(
        &ConnectionSource::demo(test_db.options.clone()),
        &Settings::default(),
    )
    .await
    .unwrap();
    // Start-up (the catalog, the first users) with the default timeout; the
    // loop, whose first load is the locked orders, with the one under test.
    let state = initial_state(&db, "demo".into(), None, Duration::from_millis(20))
        .await
        .unwrap();
    let db = db.with_statement_timeout(statement_timeout_ms);
    (common::start_app_with(db, state, (120, 20)), locker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_work_while_a_query_waits_on_a_lock() {
    let test_db = TestDatabase::demo().await;
    // A timeout far beyond the test: the load waits until the lock goes.
    let (mut app, mut locker) = app_behind_a_lock(&test_db, 600_000, "client3.orders").await;
    frame_where(&mut app.frames, "the load in progress", |f| {
        f.contains("Loading orders of mid_dude")
    })
    .await;
    keys(&app.keys, &[KeyCode::Char('?')]);
    let frame = frame_where(&mut app.frames, "the help popup", |f| {
        f.contains("Help · ? or Esc closes")
    })
    .await;
    assert!(
        frame.contains("loading orders"),
        "keys were handled while the query waited:\n{frame}"
    );
    keys(&app.keys, &[KeyCode::Esc]);
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    frame_where(
        &mut app.frames,
        "mid_dude's orders once the lock is gone",
        |f| row(f, "Tesla").contains("3,500"),
    )
    .await;
    keys(&app.keys, &[KeyCode::Char('q')]);
    app.handle.await.unwrap().unwrap();
}

/// Only the comparison tenant is locked (a migration there): the own
/// prices show, and the comparison says why it is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_comparison_tenant_leaves_the_own_prices_with_the_reason() {
    let test_db = TestDatabase::demo().await;
    let (mut app, mut locker) = app_behind_a_lock(&test_db, 2_000, "client1.items").await;
    let frame = frame_where(&mut app.frames, "own prices, comparison locked", |f| {
        row(f, "Tesla").contains("3,500") && f.contains("no comparison with client1: locked")
    })
    .await;
    assert!(!frame.contains("timed out"), "{frame}");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    keys(&app.keys, &[KeyCode::Char('q')]);
    app.handle.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_stuck_on_a_lock_times_out_and_r_retries() {
    let test_db = TestDatabase::demo().await;
    // The user's own orders: the load itself waits, and times out.
    let (mut app, mut locker) = app_behind_a_lock(&test_db, 300, "client3.orders").await;
    frame_where(&mut app.frames, "the timeout", |f| {
        f.contains("timed out after 300 ms")
    })
    .await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    keys(&app.keys, &[KeyCode::Char('r')]);
    frame_where(&mut app.frames, "mid_dude's orders", |f| {
        row(f, "Tesla").contains("3,500")
    })
    .await;
    keys(&app.keys, &[KeyCode::Char('q')]);
    app.handle.await.unwrap().unwrap();
}
