//! The orders pane's cursor (issue 23) and its window of lines (issue 24):
//! frames drawn from a state value (snapshots in tests/snapshots/, review
//! them like code), and the real event loop against the test server.

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use tenantscope::app::{dashboard, initial_state, update, Msg, State};
use tenantscope::db::{DbError, ItemRule, OrdersReport, RawOrderLine, RuleChoice};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::fixtures;
use tenantscope::ui::{theme, view};

mod common;
use common::{connect, start_app_with};

fn press(state: &mut State, code: KeyCode) {
    fixtures::press(state, code);
}

/// rich_dude selected, with the first page of `lines` order lines (of
/// more than a page: the totals still to come, as `orders_head` reads them).
fn long_list(lines: usize) -> State {
    let mut state = fixtures::demo_state();
    let key = state.dashboard.orders.key().unwrap().clone();
    let page: Vec<RawOrderLine> = (0..lines.min(dashboard::PAGE_SIZE))
        .map(|i| RawOrderLine {
            item_id: Some(i.to_string()),
            item: Some(format!("item {i:03}")),
            quantity: Some("2".into()),
            unit_price: Some(format!("{}.50", 10 + i)),
            compare_unit_price: (i % 3 != 0).then(|| format!("{}.00", 9 + i)),
            compare_item_id: (i % 3 != 0).then(|| format!("c{i}")),
            compare_item: (i % 3 != 0).then(|| format!("item {i:03}")),
            compare_matched: i % 3 != 0,
            ..Default::default()
        })
        .collect();
    let mut report = OrdersReport::from_raw("client3".into(), key.compare.clone(), page);
    report.keys = (0..report.lines.len()).map(|i| format!("{i:05}")).collect();
    report.totals_known = lines <= dashboard::PAGE_SIZE;
    report.item_rule = key.compare.as_ref().map(|_| RuleChoice {
        rule: ItemRule::Id,
        why: "the catalogues agree on ids".into(),
    });
    fixtures::deliver_orders(&mut state, key, report);
    state
}

fn render(state: &mut State, width: u16, height: u16) -> (String, ratatui::buffer::Buffer) {
    update(state, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (terminal.backend().to_string(), buffer)
}

/// The row of `frame` holding `text`.
fn row_of(frame: &str, text: &str) -> usize {
    frame
        .lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in\n{frame}"))
}

#[test]
fn the_cursor_on_line_7_while_the_totals_are_counted() {
    let mut state = long_list(5_000);
    press(&mut state, KeyCode::Tab);
    for _ in 0..7 {
        press(&mut state, KeyCode::Down);
    }
    let (frame, buffer) = render(&mut state, 120, 20);
    assert!(frame.contains("▶ item 007"), "{frame}");
    assert_eq!(frame.matches("▶ item").count(), 1, "one cursor");
    assert!(frame.contains("Total (counting…)"), "{frame}");
    // Without colour the cursor still shows: marked, and reversed.
    let mut mono = buffer.clone();
    theme::to_monochrome(&mut mono);
    let y = row_of(&frame, "▶ item 007") as u16;
    let x = frame
        .lines()
        .nth(y as usize)
        .unwrap()
        .chars()
        .position(|c| c == '▶')
        .unwrap() as u16;
    assert!(mono[(x + 2, y)].modifier.contains(Modifier::REVERSED));
    insta::assert_snapshot!(frame);
}

/// The server's totals fail: the totals row says they are not counted
/// (`?`), never "counting…" for ever; the status line says why.
#[test]
fn totals_that_fail_are_not_counted_and_say_why() {
    let mut state = long_list(500);
    let key = state.dashboard.orders.key().unwrap().clone();
    update(
        &mut state,
        Msg::from(dashboard::Msg::OrdersTotals {
            key,
            result: Err(DbError::Query(
                "canceling statement due to statement timeout".into(),
            )),
            elapsed: Duration::ZERO,
        }),
    );
    let (frame, _) = render(&mut state, 160, 30);
    assert!(!frame.contains("counting"), "{frame}");
    assert!(frame.contains("Total (not counted)"), "{frame}");
    assert!(frame.contains("statement timeout"), "{frame}");
}

/// 40 order lines, the cursor on line 25 (the first ones scrolled away).
fn on_line_25_of_40() -> State {
    let mut state = long_list(40);
    press(&mut state, KeyCode::Right);
    for _ in 0..25 {
        press(&mut state, KeyCode::Char('j'));
    }
    state
}

#[test]
fn the_cursor_scrolls_the_lines_and_leaves_with_the_focus() {
    let mut state = on_line_25_of_40();
    let (frame, _) = render(&mut state, 140, 16);
    assert!(frame.contains("▶ item 025"), "{frame}");
    assert!(
        !frame.contains("item 000"),
        "scrolled past the top: {frame}"
    );
    assert!(frame.contains("Total (40 lines)"), "{frame}");
    insta::assert_snapshot!("the_cursor_on_line_25_of_40", frame);
    // Back on the users list: no cursor in the orders pane.
    press(&mut state, KeyCode::Left);
    let (frame, _) = render(&mut state, 140, 16);
    assert!(!frame.contains("▶ item"), "{frame}");
    assert!(frame.contains("item 025"), "the lines stay where they were");
}

#[test]
fn enter_shows_the_line_under_the_cursor_with_the_item_it_matched() {
    let mut state = long_list(40);
    press(&mut state, KeyCode::Tab);
    for _ in 0..4 {
        press(&mut state, KeyCode::Down);
    }
    press(&mut state, KeyCode::Enter);
    let (frame, _) = render(&mut state, 100, 24);
    assert!(frame.contains("Order line item 004"), "{frame}");
    assert!(frame.contains("item 004 (id c4)"), "{frame}");
    assert!(frame.contains("id: the catalogues agree on ids"), "{frame}");
    insta::assert_snapshot!("the_detail_of_line_4", frame);
}

/// Tenant `bulk` whose user owns `lines` lines (item n on order 3n), and
/// `other`, which sells every item under the same id, cheaper.
async fn bulk_database(lines: usize) -> TestDatabase {
    let db = TestDatabase::reference().await;
    db.run_sql(tenantscope::fixtures::BULK_TENANTS).await;
    db.run_sql(&format!(
        "INSERT INTO bulk.items SELECT n, 'item ' || n, n + 0.25 FROM generate_series(1, {lines}) n;
         INSERT INTO other.items SELECT n, 'item ' || n, n FROM generate_series(1, {lines}) n;
         INSERT INTO bulk.orders SELECT 3 * n, 'bulk', n, 1 FROM generate_series(1, {lines}) n;"
    ))
    .await;
    db
}

/// Through the real loop: the first page shows, the server's totals
/// follow, G pages in the last lines, Enter shows the line under the
/// cursor with the comparison tenant's item.
#[tokio::test]
async fn the_cursor_pages_through_a_long_list_in_the_real_loop() {
    let lines = 350;
    let db = bulk_database(lines).await;
    let conn = connect(&db).await;
    let mut state = initial_state(&conn, "demo".into(), Some("other".into()), Duration::ZERO)
        .await
        .unwrap();
    dashboard::open_on_user(&mut state, &conn, "bulk", None)
        .await
        .unwrap();
    let mut app = start_app_with(conn, state, (120, 30));
    // Σ (n + 0.25) for n in 1..=350 = 61,425 + 87.5.
    app.frame_where("the first page and the server's totals", |f| {
        f.contains("item 1 ") && f.contains("Total (350 lines)") && f.contains("61,512.50")
    })
    .await;
    app.press(KeyCode::Tab);
    app.press(KeyCode::Char('G'));
    let frame = app
        .frame_where("the last line under the cursor", |f| {
            f.contains("▶ item 350")
        })
        .await;
    assert!(!frame.contains("item 1 "), "{frame}");
    app.press(KeyCode::Up);
    app.press(KeyCode::Enter);
    let frame = app
        .frame_where("the line's details", |f| f.contains("Order line item 349"))
        .await;
    assert!(frame.contains("item 349 (id 349)"), "{frame}");
    assert!(frame.contains("349.25"), "{frame}");
    app.quit().await;
}

/// `e` on a user whose lines the pane holds only a window of: the file
/// has every line, read as it is written, byte for byte the CSV of the
/// whole report in memory (the export of a pane that holds every line).
#[tokio::test]
async fn the_export_of_a_window_has_every_line_as_the_whole_report_has() {
    use tenantscope::output::{orders, Destination, Format};
    let lines = 2 * dashboard::WINDOW_CAP + 7;
    let db = bulk_database(lines).await;
    let conn = connect(&db).await;
    let mut state = initial_state(&conn, "demo".into(), Some("other".into()), Duration::ZERO)
        .await
        .unwrap();
    dashboard::open_on_user(&mut state, &conn, "bulk", None)
        .await
        .unwrap();
    let mut app = start_app_with(conn.clone(), state, (120, 30));
    let shown = format!(
        "Total ({} lines)",
        tenantscope::text::thousands(lines as i64)
    );
    app.frame_where("the first page and the server's totals", |f| {
        f.contains("item 1 ") && f.contains(&shown)
    })
    .await;
    app.press(KeyCode::Char('e'));
    let frame = app
        .frame_where("the exported file", |f| {
            f.contains("tenantscope-orders-bulk-")
        })
        .await;
    let path = frame
        .split_whitespace()
        .find(|word| word.contains("tenantscope-") && word.ends_with(".csv"))
        .unwrap_or_else(|| panic!("no file name in:\n{frame}"))
        .to_string();
    let csv = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let state = app.quit().await;
    let user = conn.user("bulk").await.unwrap();
    let whole = conn.priced_orders(&user, Some("other")).await.unwrap();
    assert_eq!(whole.lines.len(), lines);
    let expected = orders(
        &user,
        &whole,
        &state.catalog,
        Format::Csv,
        Destination::PipeOrFile,
    );
    assert_eq!(csv.lines().count(), lines + 1);
    assert_eq!(csv, expected);
}

/// On a narrow screen the totals row's label runs over the quantity and
/// unit price cells it leaves empty: it was cut to the item column
/// (`Total (4…`), hiding how many lines the total covers.
#[test]
fn a_narrow_pane_shows_the_whole_totals_label() {
    let mut state = on_line_25_of_40();
    let (frame, _) = render(&mut state, 64, 30);
    assert!(frame.contains("Total (40 lines)"), "{frame}");
}
