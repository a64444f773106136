//! The whole dashboard: the real event loop, the real PostgreSQL test server
//! and a TestBackend, driven by key events.

use std::time::Duration;

use crossterm::event::KeyCode;
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{connect, frame_where, keys, start_app, App};

/// The row of the orders table that names `item`.
fn row<'a>(frame: &'a str, item: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.contains(&format!("││{item} ")))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_drive_the_loop_and_the_orders_shown_are_the_selected_users() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let App {
        keys: tx,
        mut frames,
        handle: app,
    } = start_app(db, Duration::from_millis(30), (120, 20)).await;

    // Opens on the first user by name, mid_dude of client3, compared with client1.
    let frame = frame_where(&mut frames, "mid_dude's orders", |f| {
        row(f, "Tesla").contains("3,500.00")
    })
    .await;
    assert!(
        frame.contains("Orders of mid_dude · client3 vs client1"),
        "{frame}"
    );
    assert!(
        row(&frame, "Tesla").contains("5,000.00"),
        "client1's price beside it"
    );

    // Two rows down, faster than the debounce: only rich_dude's orders arrive.
    keys(&tx, &[KeyCode::Char('j'), KeyCode::Down]);
    let frame = frame_where(&mut frames, "rich_dude's orders", |f| {
        f.contains("Orders of rich_dude") && row(f, "Tesla").contains("50,000.00")
    })
    .await;
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
        f.contains("vs client3") && row(f, "Tesla").contains("35,000.00")
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
        f.contains("Orders of poor_dude") && row(f, "Tesla").contains("10,000.00")
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
    assert!(state.quit);
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
    let mut app = start_app(db, Duration::from_millis(20), (120, 20)).await;
    frame_where(&mut app.frames, "mid_dude's orders", |f| {
        row(f, "Tesla").contains("3,500.00")
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
    keys(&app.keys, &[KeyCode::Char('r')]);
    frame_where(&mut app.frames, "the error again after r", |f| {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_stuck_on_a_lock_times_out_while_keys_still_work() {
    use sqlx::Connection;
    let test_db = TestDatabase::demo().await;
    // Another session holds a lock on client1's items until we let go.
    let mut locker = sqlx::PgConnection::connect_with(&test_db.options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE client1.items IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let mut settings = Settings::default();
    settings.database.statement_timeout_ms = 1500;
    let db = Database::connect(&ConnectionSource::demo(test_db.options.clone()), &settings)
        .await
        .unwrap();
    let mut app = start_app(db, Duration::from_millis(20), (120, 20)).await;
    // mid_dude is compared with client1: his orders load waits on the lock.
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
    frame_where(&mut app.frames, "the timeout", |f| {
        f.contains("timed out after 1500 ms")
    })
    .await;

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    keys(&app.keys, &[KeyCode::Char('r')]);
    frame_where(&mut app.frames, "mid_dude's orders", |f| {
        row(f, "Tesla").contains("3,500.00")
    })
    .await;
    keys(&app.keys, &[KeyCode::Char('q')]);
    app.handle.await.unwrap().unwrap();
}
