use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use ratatui::layout::Rect;

use crate::app::dashboard::{self, Focus, OrdersKey};
use crate::app::msg::{Delay, Effect, Job};
use crate::app::{init, update, Data, Msg, State};
use crate::db::{DbError, OrdersReport, Page, TenantCatalog, UserCount, UserKey};
use crate::fixtures::*;

fn loaded(state: &mut State, key: OrdersKey) {
    let report = OrdersReport::new("t".into(), key.compare.clone(), Vec::new());
    update(
        state,
        Msg::from(dashboard::Msg::OrdersLoaded {
            key,
            result: Ok(report),
            elapsed: Duration::from_millis(3),
        }),
    );
}

fn orders_key(effects: &[Effect]) -> OrdersKey {
    orders_load(effects).0
}

/// `r`, answered by a failed page (the server refused).
fn refresh_refused(state: &mut State) {
    let request = page_request(&press(state, KeyCode::Char('r')));
    update(
        state,
        Msg::from(dashboard::Msg::UsersPage {
            request,
            result: Err(DbError::Query("connection refused".into())),
        }),
    );
}

#[test]
fn opening_loads_the_first_users_orders_at_once() {
    let mut state = State::new(Data::new(
        "demo".into(),
        TenantCatalog::new(vec!["client1".into(), "client2".into()]),
        UserCount {
            value: 1,
            estimated: false,
            ..Default::default()
        },
        vec![user("1", "a", "client1")],
        None,
    ));
    let effects = init(&mut state);
    assert_eq!(effects.len(), 1, "{effects:?}");
    let (key, task) = orders_load(&effects);
    assert_eq!(key.user_id, "1");
    assert_eq!(key.compare.as_deref(), Some("client2"));
    assert!(
        matches!(&task.job, Job::Dashboard(dashboard::Job::Orders { user, .. }) if user.name == "a")
    );
    assert_eq!(task.delay, Delay::None);
    assert!(state.dashboard.orders.is_loading());
}

#[test]
fn selection_moves_and_clamps() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('k'));
    assert_eq!(state.selected_user().unwrap().name, "mid_dude");
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Down);
    assert_eq!(state.selected_user().unwrap().name, "rich_dude");
    press(&mut state, KeyCode::Char('G'));
    assert_eq!(state.selected_user().unwrap().name, "stray_dude");
    assert!(
        press(&mut state, KeyCode::Char('j')).is_empty(),
        "no move past the end, no load"
    );
    press(&mut state, KeyCode::Home);
    assert_eq!(state.selected_user().unwrap().name, "mid_dude");
    press(&mut state, KeyCode::PageDown);
    assert_eq!(state.selected_user().unwrap().name, "stray_dude");
}

#[test]
fn moving_debounces_and_stale_results_are_dropped() {
    let mut state = demo_state();
    let first = orders_key(&press(&mut state, KeyCode::Char('j')));
    let effects = press(&mut state, KeyCode::Char('j'));
    let second = orders_key(&effects);
    assert!(orders_load(&effects).1.delay == Delay::Debounce(state.session.debounce));
    assert!(second.ticket > first.ticket);
    assert_eq!(second.user_id, "1");

    // The first load finishes late: its result must not replace the wait for rich_dude.
    loaded(&mut state, first);
    assert!(state.dashboard.orders.is_loading());
    assert_eq!(state.dashboard.orders.key(), Some(&second));
    loaded(&mut state, second.clone());
    assert!(state.dashboard.orders.value().is_some());
    assert_eq!(state.dashboard.orders.key(), Some(&second));
}

#[test]
fn a_stale_error_never_replaces_a_newer_result() {
    let mut state = demo_state();
    let old = orders_key(&press(&mut state, KeyCode::Char('j')));
    let current = orders_key(&press(&mut state, KeyCode::Char('j')));
    loaded(&mut state, current);
    update(
        &mut state,
        Msg::from(dashboard::Msg::OrdersLoaded {
            key: old,
            result: Err(DbError::Timeout { ms: 5 }),
            elapsed: Duration::ZERO,
        }),
    );
    assert!(state.dashboard.orders.value().is_some());
}

#[test]
fn filtering_asks_the_database_and_drops_superseded_pages() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    assert!(state.dashboard.filter.prompt.editing);
    let first = page_request(&press(&mut state, KeyCode::Char('R')));
    let effects = chars(&mut state, "ICH");
    let current = page_request(&effects[effects.len() - 1..]);
    assert_eq!(current.filter.as_deref(), Some("RICH"));
    assert_eq!(current.page, Page::First);
    assert!(current.generation > first.generation);
    assert!(
        matches!(dashboard_jobs(&effects).last(), Some((task, _)) if task.delay == Delay::Fixed(state.session.debounce))
    );

    // The page for "R" arrives late: dropped.
    assert!(deliver_page(&mut state, first, demo_users()).is_empty());
    assert_eq!(state.dashboard.users.users().len(), 4);
    let effects = deliver_page(&mut state, current, vec![user("1", "rich_dude", "client1")]);
    assert_eq!(state.dashboard.users.users().len(), 1);
    assert_eq!(state.selected_user().unwrap().name, "rich_dude");
    assert_eq!(
        orders_key(&effects).user_id,
        "1",
        "the new selection's orders load"
    );
    assert!(state.dashboard.users.is_complete());

    press(&mut state, KeyCode::Enter);
    assert!(!state.dashboard.filter.prompt.editing);
    assert_eq!(state.dashboard.filter.text, "RICH");
    press(&mut state, KeyCode::Char('/'));
    assert_eq!(
        state.dashboard.filter.prompt.input.text(),
        "",
        "a fresh prompt"
    );
    assert_eq!(state.dashboard.filter.text, "RICH", "kept until typing");
    chars(&mut state, "q");
    assert!(!state.session.quit, "q is text while filtering");
    assert_eq!(state.dashboard.filter.text, "q");
    let effects = press(&mut state, KeyCode::Backspace);
    assert_eq!(state.dashboard.filter.text, "");
    press(&mut state, KeyCode::Enter);
    assert!(!state.session.quit && !state.dashboard.filter.prompt.editing);
    // Cleared: the whole list again, from the selected user on.
    let request = page_request(&effects);
    assert_eq!(request.filter, None);
    assert_eq!(
        request.page,
        Page::From(UserKey {
            name: "rich_dude".into(),
            id: "1".into(),
            ..UserKey::default()
        })
    );
    deliver_page(&mut state, request, demo_users()[2..].to_vec());
    assert_eq!(
        state.selected_user().unwrap().name,
        "rich_dude",
        "selection kept"
    );
    assert!(!state.dashboard.users.at_start());
    let pending = state
        .dashboard
        .users
        .request()
        .cloned()
        .expect("the users before rich_dude are on their way");
    assert!(matches!(pending.page, Page::Before(_)));
}

#[test]
fn a_filter_that_matches_nobody_cancels_the_orders_load() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    let request = page_request(&chars(&mut state, "zzz"));
    let effects = deliver_page(&mut state, request, Vec::new());
    assert!(state.dashboard.users.users().is_empty());
    assert_eq!(state.dashboard.orders.key(), None);
    assert_eq!(
        effects.last(),
        Some(&Effect::Cancel(dashboard::ORDERS_SLOT))
    );
}

#[test]
fn a_failed_filter_load_clears_the_old_rows_and_shows_why() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    let request = page_request(&chars(&mut state, "rich"));
    assert_eq!(state.dashboard.users.users().len(), 4, "kept while loading");
    let effects = update(
        &mut state,
        Msg::from(dashboard::Msg::UsersPage {
            request,
            result: Err(DbError::Query(
                "canceling statement due to statement timeout".into(),
            )),
        }),
    );
    assert!(
        state.dashboard.users.users().is_empty(),
        "the old list is not the filter's"
    );
    assert_eq!(state.selected_user(), None);
    assert_eq!(state.dashboard.orders.key(), None);
    assert!(effects.contains(&Effect::Cancel(dashboard::ORDERS_SLOT)));
    assert_eq!(
        state.dashboard.users.error().map(String::as_str),
        Some("query failed: canceling statement due to statement timeout")
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    terminal
        .draw(|frame| crate::ui::view(&state, frame))
        .unwrap();
    let frame = frame_text(terminal.backend().buffer());
    assert!(frame.contains("canceling statement"), "{frame}");
    assert!(!frame.contains("No users match"), "{frame}");

    // A failed page of the same list (a refresh) keeps what is shown.
    let mut state = demo_state();
    refresh_refused(&mut state);
    assert_eq!(state.dashboard.users.users().len(), 4);
}

/// A users list of about a million (estimated), its first page shown.
fn big_list() -> State {
    let count = UserCount {
        value: 1_000_000,
        estimated: true,
        ..Default::default()
    };
    let first_page = numbered(0, crate::app::dashboard::PAGE_SIZE);
    let mut state = State::new(Data::new("big".into(), catalog(), count, first_page, None));
    state.session.size = (120, 30);
    init(&mut state);
    state
}

/// A list walked page by page to its end is counted exactly, though the
/// window dropped its top (the title read `300+`, a floor, at the end of
/// 350 users), and the header says so too (it kept the statistics'
/// `~1,000,000`); one opened at its last page counts nothing.
#[test]
fn a_list_walked_to_its_end_is_counted_exactly() {
    use crate::app::dashboard::PAGE_SIZE;
    let total = 3 * PAGE_SIZE + PAGE_SIZE / 2;
    let mut state = big_list();
    let line = |state: &State, holding: &str| {
        let backend = ratatui::backend::TestBackend::new(120, 30);
        let mut terminal = ratatui::Terminal::new(backend).unwrap();
        terminal
            .draw(|frame| crate::ui::view(state, frame))
            .unwrap();
        let frame = frame_text(terminal.backend().buffer());
        frame
            .lines()
            .find(|l| l.contains(holding))
            .unwrap_or_default()
            .to_string()
    };
    let title = |state: &State| line(state, "Users");
    let header = |state: &State| line(state, " users · ");
    assert!(
        header(&state).contains("~1,000,000 users"),
        "{}",
        header(&state)
    );
    let mut from = PAGE_SIZE;
    while !state.dashboard.users.at_end() {
        while state.dashboard.users.request().is_none() {
            press(&mut state, KeyCode::PageDown);
        }
        let request = state.dashboard.users.request().cloned().unwrap();
        let rows = numbered(from, PAGE_SIZE.min(total - from));
        from += rows.len();
        deliver_page(&mut state, request, rows);
        if !state.dashboard.users.at_end() {
            assert_eq!(state.dashboard.users.count(), None);
        }
    }
    assert!(!state.dashboard.users.at_start(), "the top was dropped");
    assert_eq!(state.dashboard.users.count(), Some(total));
    assert!(title(&state).contains("(350)"), "{}", title(&state));
    assert!(header(&state).contains(" 350 users"), "{}", header(&state));
    // The catalog read again by a refresh, with the statistics' estimate.
    let catalog_again = |state: &mut State| {
        let ticket = *state
            .catalog_load
            .pending()
            .expect("the catalog read again");
        let estimate = UserCount {
            value: 1_000_000,
            estimated: true,
            ..Default::default()
        };
        let result = Ok((catalog(), estimate));
        update(state, Msg::from(dashboard::Msg::Catalog { ticket, result }));
    };
    // A refresh's page, from the top row on screen to the end.
    let page_again = |state: &mut State, request: dashboard::UsersRequest| {
        let Page::From(top) = &request.page else {
            panic!("{:?}", request.page)
        };
        let top: usize = top.id.parse().unwrap();
        deliver_page(state, request, numbered(top, PAGE_SIZE.min(total - top)));
    };
    // A refresh reads again from the top row on screen: still exact. (The
    // timer's refresh waits for the selected user's orders: asked here.)
    let request = page_request(&dashboard::refresh(&mut state));
    page_again(&mut state, request);
    assert_eq!(state.dashboard.users.count(), Some(total));
    // Its catalog and count come after the page: the estimate read again
    // does not undo the count (the header read `~1,000,000` again).
    catalog_again(&mut state);
    assert!(header(&state).contains(" 350 users"), "{}", header(&state));
    // The catalog before the page, as the timer's can come: the header
    // keeps the list's count while the page is on its way (it read
    // `~1,000,000` until the page came), and the page counts again.
    let request = page_request(&dashboard::refresh(&mut state));
    catalog_again(&mut state);
    assert!(header(&state).contains(" 350 users"), "{}", header(&state));
    page_again(&mut state, request);
    assert!(header(&state).contains(" 350 users"), "{}", header(&state));
    // Where the page then no longer reaches the end (users were added),
    // the list counts nothing: the count read is the header's (it kept
    // the old one until the next refresh).
    let mut added = state.clone();
    let request = page_request(&dashboard::refresh(&mut added));
    catalog_again(&mut added);
    let Page::From(top) = &request.page else {
        panic!("{:?}", request.page)
    };
    let top: usize = top.id.parse().unwrap();
    deliver_page(&mut added, request, numbered(top, PAGE_SIZE));
    assert_eq!(added.dashboard.users.count(), None);
    assert!(
        header(&added).contains("~1,000,000 users"),
        "{}",
        header(&added)
    );
    // Back to the top and down again: the same count.
    let request = page_request(&press(&mut state, KeyCode::Char('g')));
    deliver_page(&mut state, request, numbered(0, PAGE_SIZE));
    assert_eq!(state.dashboard.users.count(), None);
    // `G`: the last page alone, with nothing before it counted.
    let request = page_request(&press(&mut state, KeyCode::Char('G')));
    deliver_page(&mut state, request, numbered(total - PAGE_SIZE, PAGE_SIZE));
    assert_eq!(state.dashboard.users.count(), None);
    assert!(
        title(&state).contains("(350)"),
        "the count known: {}",
        title(&state)
    );
    assert!(header(&state).contains(" 350 users"), "{}", header(&state));
}

#[test]
fn the_window_pages_forward_and_back_and_stays_bounded() {
    use crate::app::dashboard::{PAGE_SIZE, WINDOW_CAP};
    let mut state = big_list();
    assert!(!state.dashboard.users.at_end());

    // Walking down: the next page is asked for before the edge, once.
    let mut requests = Vec::new();
    for _ in 0..PAGE_SIZE - 1 {
        let effects = press(&mut state, KeyCode::Char('j'));
        requests.extend(
            effects
                .iter()
                .filter(|e| {
                    !dashboard_jobs(std::slice::from_ref(e))
                        .all(|(_, job)| !matches!(job, dashboard::Job::UsersPage(_)))
                })
                .cloned(),
        );
    }
    assert_eq!(requests.len(), 1, "one prefetch, not one per key");
    let request = page_request(&requests);
    assert_eq!(
        request.page,
        Page::After(numbered(PAGE_SIZE - 1, 1)[0].key.clone())
    );
    deliver_page(&mut state, request, numbered(PAGE_SIZE, PAGE_SIZE));
    assert_eq!(state.dashboard.users.users().len(), 2 * PAGE_SIZE);

    // Keep going: the window never holds more than WINDOW_CAP users.
    for page in 2..10 {
        while state.dashboard.users.request().is_none() {
            press(&mut state, KeyCode::PageDown);
        }
        let request = state.dashboard.users.request().cloned().unwrap();
        deliver_page(&mut state, request, numbered(page * PAGE_SIZE, PAGE_SIZE));
        assert!(state.dashboard.users.users().len() <= WINDOW_CAP);
    }
    assert!(!state.dashboard.users.at_start());
    let selected = state.selected_user().unwrap().clone();

    // Back up: the page before is prepended and the selection stays put.
    while state.dashboard.users.request().is_none() {
        press(&mut state, KeyCode::PageUp);
    }
    let request = state.dashboard.users.request().cloned().unwrap();
    assert!(matches!(request.page, Page::Before(_)));
    let on_screen = state.selected_user().unwrap().clone();
    let first = state.dashboard.users.users()[0]
        .id
        .parse::<usize>()
        .unwrap();
    deliver_page(&mut state, request, numbered(first - PAGE_SIZE, PAGE_SIZE));
    assert_eq!(state.selected_user().unwrap(), &on_screen);
    assert!(state.dashboard.users.users().len() <= WINDOW_CAP);
    assert_ne!(on_screen, selected);

    // G and g jump without reading the table: one page each.
    let effects = press(&mut state, KeyCode::Char('G'));
    let request = page_request(&effects);
    assert_eq!(request.page, Page::Last);
    deliver_page(&mut state, request, numbered(999_900, PAGE_SIZE));
    assert!(state.dashboard.users.at_end());
    assert_eq!(state.selected_user().unwrap().id, "999999");
    let request = page_request(&press(&mut state, KeyCode::Char('g')));
    assert_eq!(request.page, Page::First);
    deliver_page(&mut state, request, numbered(0, PAGE_SIZE));
    assert_eq!(state.selected_user().unwrap().id, "0");
    assert!(state.dashboard.users.at_start());
}

#[test]
fn comparison_cycles_and_skips_the_users_own_tenant() {
    let mut state = rich_dude_selected();
    assert_eq!(state.compare_choice().tenant.as_deref(), Some("client2"));
    let effects = press(&mut state, KeyCode::Char('c'));
    let key = orders_key(&effects);
    assert_eq!(key.compare.as_deref(), Some("client3"));
    assert_eq!(orders_load(&effects).1.delay, Delay::None);
    press(&mut state, KeyCode::Char('c'));
    assert_eq!(
        state.compare_choice().tenant.as_deref(),
        Some("client2"),
        "wraps, skipping client1"
    );
    press(&mut state, KeyCode::Char('c'));
    assert_eq!(state.compare_choice().tenant.as_deref(), Some("client3"));

    // poor_dude's own tenant would be client2's: the next tenant is used instead.
    state.dashboard.compare = Some("client2".into());
    press(&mut state, KeyCode::Char('k'));
    let choice = state.compare_choice();
    assert_eq!(choice.tenant.as_deref(), Some("client3"));
    assert!(choice.replaced_own);
}

/// `count` order lines, keyed `k00000`…, each its own item at `price`.
fn keyed_lines(from: usize, count: usize) -> Vec<crate::db::KeyedLine> {
    (from..from + count)
        .map(|i| crate::db::KeyedLine {
            key: format!("k{i:05}"),
            line: crate::db::OrderLine::from_raw(crate::db::RawOrderLine {
                item_id: Some(i.to_string()),
                item: Some(format!("item {i}")),
                quantity: Some("1".into()),
                unit_price: Some("2.50".into()),
                compare_unit_price: Some("2.00".into()),
                compare_item_id: Some(format!("c{i}")),
                compare_item: Some(format!("their item {i}")),
                compare_matched: true,
                ..Default::default()
            }),
        })
        .collect()
}

/// The first page of a user with more lines than a page, as
/// `Database::orders_head` reads it: the totals still to come.
fn first_page(key: &OrdersKey) -> OrdersReport {
    let lines = keyed_lines(0, dashboard::PAGE_SIZE);
    let mut report = OrdersReport::new(
        "client3".into(),
        key.compare.clone(),
        lines.iter().map(|l| l.line.clone()).collect(),
    );
    report.keys = lines.into_iter().map(|l| l.key).collect();
    report.totals_known = false;
    report
}

fn lines_requested(effects: &[Effect]) -> dashboard::LinesRequest {
    dashboard_jobs(effects)
        .find_map(|(_, job)| match job {
            dashboard::Job::LinesPage { request, .. } => Some(request.as_ref().clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a page of lines in {effects:?}"))
}

fn deliver_lines(
    state: &mut State,
    request: dashboard::LinesRequest,
    lines: Vec<crate::db::KeyedLine>,
) -> Vec<Effect> {
    let msg = dashboard::Msg::LinesPage {
        request,
        result: Ok(lines),
    };
    update(state, Msg::from(msg))
}

#[test]
fn focus_switches_and_the_orders_cursor_moves_when_focused() {
    let mut state = demo_state();
    state.session.size = (120, 12);
    let key = state.dashboard.orders.key().unwrap().clone();
    let report = OrdersReport::from_raw(
        "client3".into(),
        key.compare.clone(),
        (0..20)
            .map(|i| crate::db::RawOrderLine {
                item_id: Some(i.to_string()),
                item: Some(format!("item {i}")),
                quantity: Some("1".into()),
                ..Default::default()
            })
            .collect(),
    );
    deliver_orders(&mut state, key, report);
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.dashboard.focus, Focus::Orders);
    assert!(
        press(&mut state, KeyCode::Char('j')).is_empty(),
        "every line is held: moving loads nothing"
    );
    assert_eq!(state.dashboard.lines.cursor().selected, 1);
    assert_eq!(
        state.selected_user().unwrap().name,
        "mid_dude",
        "selection unchanged"
    );
    press(&mut state, KeyCode::Char('G'));
    let rows = crate::geometry::order_rows(crate::geometry::areas(Rect::new(0, 0, 120, 12)).orders);
    let cursor = state.dashboard.lines.cursor();
    assert_eq!(cursor.selected, 19, "the last line");
    assert_eq!(cursor.offset, 20 - rows, "on screen");
    press(&mut state, KeyCode::Char('g'));
    assert_eq!(state.dashboard.lines.cursor().selected, 0);
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.dashboard.focus, Focus::Users);
    press(&mut state, KeyCode::Right);
    assert_eq!(state.dashboard.focus, Focus::Orders, "→: the orders pane");
    press(&mut state, KeyCode::Right);
    assert_eq!(state.dashboard.focus, Focus::Orders, "→ again: stays");
    press(&mut state, KeyCode::Left);
    assert_eq!(state.dashboard.focus, Focus::Users, "←: the users list");
}

#[test]
fn the_orders_cursor_pages_in_lines_by_key_and_the_totals_follow_the_first_page() {
    let mut state = demo_state();
    let key = state.dashboard.orders.key().unwrap().clone();
    let effects = deliver_orders(&mut state, key.clone(), first_page(&key));
    // The first screen came alone: the server adds up every line next.
    let totals_key = dashboard_jobs(&effects)
        .find_map(|(task, job)| match job {
            dashboard::Job::OrdersTotals { key, .. } => Some((key.clone(), task.slot)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected the totals in {effects:?}"));
    assert_eq!(totals_key, (key.clone(), dashboard::TOTALS_SLOT));
    assert!(state.dashboard.totals.is_loading());
    assert_eq!(state.dashboard.lines.rows().len(), dashboard::PAGE_SIZE);

    press(&mut state, KeyCode::Tab);
    // Down to near the window's end: the next page is asked for, after
    // the last key held.
    let mut asked = None;
    for _ in 0..dashboard::PAGE_SIZE - dashboard::PREFETCH_MARGIN {
        let effects = press(&mut state, KeyCode::Down);
        if !effects.is_empty() {
            asked = Some(lines_requested(&effects));
        }
    }
    let request = asked.expect("a page before the cursor reaches the edge");
    assert_eq!(request.page, Page::After("k00099".into()));
    deliver_lines(&mut state, request, keyed_lines(100, 100));
    assert_eq!(state.dashboard.lines.rows().len(), 200);
    let at = state.dashboard.lines.cursor().selected;
    assert_eq!(
        state.dashboard.lines.selected().unwrap().key,
        format!("k{at:05}")
    );

    // G: the last page of the list, not of the window.
    let effects = press(&mut state, KeyCode::Char('G'));
    let request = lines_requested(&effects);
    assert_eq!(request.page, Page::Last);
    deliver_lines(&mut state, request, keyed_lines(4_900, 100));
    let last = state.dashboard.lines.selected().unwrap();
    assert_eq!(last.key, "k04999");
    assert!(state.dashboard.lines.at_end());

    let user = state.selected_user().unwrap().id.clone();
    press(&mut state, KeyCode::Char('k'));
    assert_eq!(state.dashboard.lines.selected().unwrap().key, "k04998");
    assert_eq!(
        state.selected_user().unwrap().id,
        user,
        "k moves the cursor, not the user"
    );

    // The totals come: the report takes them.
    let totals = crate::db::OrdersTotals {
        lines: 5_000,
        total: crate::money::Value::parse("12500.00"),
        own_gaps: 0,
        ..Default::default()
    };
    update(
        &mut state,
        Msg::from(dashboard::Msg::OrdersTotals {
            key,
            result: Ok(totals),
            elapsed: Duration::ZERO,
        }),
    );
    let report = state.dashboard.orders.value().unwrap();
    assert!(report.totals_known);
    assert_eq!(report.totals.lines, 5_000);
    assert_eq!(report.totals.total.plain().as_deref(), Some("12500.00"));
}

#[test]
fn enter_and_y_take_the_line_under_the_cursor() {
    let mut state = demo_state();
    let key = state.dashboard.orders.key().unwrap().clone();
    deliver_orders(&mut state, key.clone(), first_page(&key));
    press(&mut state, KeyCode::Tab);
    for _ in 0..7 {
        press(&mut state, KeyCode::Down);
    }
    press(&mut state, KeyCode::Enter);
    let detail = state.dashboard.detail.clone().expect("the line's details");
    assert_eq!(detail.title, "Order line item 7");
    let field = |name: &str| {
        detail
            .fields
            .iter()
            .find(|(label, _)| label == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(field("Their item").as_deref(), Some("their item 7 (id c7)"));
    assert_eq!(field("Their unit price").as_deref(), Some("2.00"));
    press(&mut state, KeyCode::Esc);
    assert!(state.dashboard.detail.is_none());
    match &press(&mut state, KeyCode::Char('y'))[..] {
        [Effect::Copy { what, text }] => {
            assert_eq!(what, "the line of item 7");
            assert_eq!(
                text,
                "7\titem 7\t1\t2.50\t2.50\t2.00\t2.00\t-0.50\tc7\ttheir item 7"
            );
        }
        other => panic!("{other:?}"),
    }
    // From the users list, y still copies the user's id.
    press(&mut state, KeyCode::Left);
    match &press(&mut state, KeyCode::Char('y'))[..] {
        [Effect::Copy { what, .. }] => assert!(what.starts_with("id "), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_hint_bar_and_help_follow_the_focus() {
    let mut state = demo_state();
    let hints = |state: &State| {
        crate::app::keymap::hints((dashboard::SCREEN.keys)(state))
            .map(|(_, description)| description)
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let users = hints(&state);
    press(&mut state, KeyCode::Tab);
    let orders = hints(&state);
    assert!(
        users.contains("details") && !users.contains("copy line"),
        "{users}"
    );
    assert!(
        orders.contains("line details") && orders.contains("copy line"),
        "{orders}"
    );
}

#[test]
fn esc_steps_back_from_prompt_to_kept_filter_to_the_whole_list() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    chars(&mut state, "rich");
    press(&mut state, KeyCode::Esc);
    assert!(!state.dashboard.filter.prompt.editing);
    assert_eq!(
        state.dashboard.filter.text, "",
        "Esc in the prompt cancels the edit"
    );
    assert_eq!(state.dashboard.users.users().len(), 4, "the list as it was");
    press(&mut state, KeyCode::Char('/'));
    chars(&mut state, "rich");
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.dashboard.filter.text, "rich", "Enter keeps it");
    assert_eq!(
        crate::app::keymap::action_for(
            state.keys(),
            &KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)
        ),
        Some(crate::app::keymap::Action::Back)
    );
    let effects = press(&mut state, KeyCode::Esc);
    assert_eq!(state.dashboard.filter.text, "");
    assert_eq!(page_request(&effects).filter, None, "the whole list again");
    press(&mut state, KeyCode::Esc);
    assert!(!state.session.quit);
}

/// The whole list read again (Esc clears the filter) holds a user added
/// since the count was read: the header counts them too (it said 4 beside
/// the title's 5 until `r`). A filtered list changes no count.
#[test]
fn the_whole_list_read_again_sets_the_headers_count() {
    let mut state = demo_state();
    assert_eq!(state.user_count.value, 4);
    press(&mut state, KeyCode::Char('/'));
    let request = page_request(&chars(&mut state, "rich"));
    press(&mut state, KeyCode::Enter);
    deliver_page(&mut state, request, demo_users()[..1].to_vec());
    assert_eq!(state.user_count.value, 4, "a filtered list counts nothing");
    // The whole list again, from rich_dude on, then the page before him.
    let request = page_request(&press(&mut state, KeyCode::Esc));
    let mut users = demo_users();
    users.push(user("99", "zz_new", "client1"));
    let before = users.drain(..2).collect();
    let effects = deliver_page(&mut state, request, users);
    assert_eq!(state.user_count.value, 4, "not all of the list yet");
    deliver_page(&mut state, page_request(&effects), before);
    assert_eq!(state.dashboard.users.users().len(), 5);
    assert_eq!(state.user_count.value, 5);
    assert!(!state.user_count.estimated);
    // Users in each tenant schema: counted over tenants the list may not
    // read, so the count read stays.
    press(&mut state, KeyCode::Char('/'));
    let request = page_request(&chars(&mut state, "rich"));
    press(&mut state, KeyCode::Enter);
    deliver_page(&mut state, request, demo_users()[..1].to_vec());
    let request = page_request(&press(&mut state, KeyCode::Esc));
    state.tenants.per_tenant = true;
    state.user_count.value = 9;
    let mut users = demo_users();
    let before = users.drain(..2).collect();
    let effects = deliver_page(&mut state, request, users);
    deliver_page(&mut state, page_request(&effects), before);
    assert!(state.dashboard.users.is_complete());
    assert_eq!(state.user_count.value, 9);
}

#[test]
fn the_prompt_starts_empty_and_recalls_earlier_filters() {
    let mut state = demo_state();
    for filter in ["rich", "poor"] {
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, filter);
        press(&mut state, KeyCode::Enter);
    }
    assert_eq!(state.dashboard.filter.text, "poor", "not richpoor");
    press(&mut state, KeyCode::Char('/'));
    let effects = press(&mut state, KeyCode::Up);
    assert_eq!(state.dashboard.filter.prompt.input.text(), "poor");
    assert!(effects.is_empty(), "poor is the filter already");
    let effects = press(&mut state, KeyCode::Up);
    assert_eq!(state.dashboard.filter.prompt.input.text(), "rich");
    assert_eq!(page_request(&effects).filter.as_deref(), Some("rich"));
    // Editing keys work on the recalled text.
    press(&mut state, KeyCode::Home);
    chars(&mut state, "x");
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL)),
    );
    assert_eq!(state.dashboard.filter.text, "rich");
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    assert_eq!(
        state.dashboard.filter.text, "rich",
        "nothing before the cursor"
    );
    press(&mut state, KeyCode::End);
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    assert_eq!(state.dashboard.filter.text, "");
    press(&mut state, KeyCode::Down);
    assert_eq!(state.dashboard.filter.prompt.input.text(), "poor");
}

#[test]
fn quitting() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('q'));
    assert!(state.session.quit);
    let mut state = demo_state();
    press(&mut state, KeyCode::Esc);
    assert!(!state.session.quit, "Esc never quits");
    assert_eq!(
        state.notice,
        Some(Ok("the whole list is shown; q quits".into()))
    );
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(state.session.quit, "Ctrl-C quits even while filtering");
    let mut state = demo_state();
    update(&mut state, Msg::Terminate("SIGTERM"));
    assert!(state.session.quit);
}

#[test]
fn help_toggles_and_swallows_keys() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('?'));
    assert!(state.help_open);
    assert!(press(&mut state, KeyCode::Char('j')).is_empty());
    press(&mut state, KeyCode::Esc);
    assert!(!state.help_open);
    assert!(!state.session.quit, "Esc closes help first");
}

#[test]
fn key_releases_are_ignored() {
    let mut state = demo_state();
    let release = KeyEvent {
        code: KeyCode::Char('j'),
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Release,
        state: KeyEventState::NONE,
    };
    assert!(update(&mut state, Msg::Key(release)).is_empty());
    assert_eq!(state.dashboard.users.cursor().selected, 0);
}

#[test]
fn clicking_a_row_selects_that_user() {
    let mut state = demo_state();
    let body = crate::geometry::table_body(crate::geometry::areas(Rect::new(0, 0, 120, 30)).users);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: body.x + 3,
        row: body.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    let effects = update(&mut state, Msg::Mouse(click));
    assert_eq!(state.selected_user().unwrap().name, "rich_dude");
    assert_eq!(orders_key(&effects).user_id, "1");
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        ..click
    };
    update(&mut state, Msg::Mouse(wheel));
    assert_eq!(state.selected_user().unwrap().name, "stray_dude");
}

#[test]
fn reload_reloads_catalog_users_and_orders() {
    let mut state = demo_state();
    let effects = press(&mut state, KeyCode::Char('r'));
    let ticket = match &effects[0] {
        Effect::Load(task) => match task.job {
            Job::Dashboard(dashboard::Job::Catalog { ticket }) => ticket,
            ref other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert!(state.catalog_load.is_loading() && state.dashboard.users.is_loading());
    let request = page_request(&effects);
    assert_eq!(request.page, Page::From(demo_users()[0].key.clone()));
    let key = orders_key(&effects);
    // Same catalog: no second orders load.
    let effects = update(
        &mut state,
        Msg::from(dashboard::Msg::Catalog {
            ticket,
            result: Ok((
                catalog(),
                UserCount {
                    value: 5,
                    estimated: false,
                    ..Default::default()
                },
            )),
        }),
    );
    assert!(effects.is_empty());
    assert_eq!(state.user_count.value, 5);
    deliver_page(&mut state, request, demo_users());
    assert_eq!(state.selected_user().unwrap().name, "mid_dude");
    assert_eq!(state.dashboard.orders.key(), Some(&key));
    refresh_refused(&mut state);
    assert_eq!(
        state.dashboard.users.error().map(String::as_str),
        Some("query failed: connection refused")
    );
}

#[test]
fn export_writes_what_the_view_shows() {
    let mut state = demo_state();
    assert!(press(&mut state, KeyCode::Char('e')).is_empty());
    assert_eq!(
        state.notice,
        Some(Err("still loading: nothing to export yet".into())),
        "the first user's orders are on their way"
    );
    let key = state.dashboard.orders.key().unwrap().clone();
    let line = crate::db::RawOrderLine {
        item_id: Some("1".into()),
        item: Some("Tesla".into()),
        quantity: Some("2".into()),
        unit_price: Some("3500.00".into()),
        ..Default::default()
    };
    let report = OrdersReport::from_raw("client3".into(), key.compare.clone(), vec![line]);
    deliver_orders(&mut state, key, report);
    match &press(&mut state, KeyCode::Char('e'))[..] {
        [Effect::Export { stem, document, .. }] => {
            let csv = document.csv();
            assert_eq!(stem, "orders-3");
            assert!(csv.starts_with("item_id,item,quantity"), "{csv}");
            assert!(csv.contains("1,Tesla,2,3500.00,7000.00"), "{csv}");
        }
        other => panic!("{other:?}"),
    }
    update(
        &mut state,
        Msg::Exported(Ok("./tenantscope-orders-3-1.csv".into())),
    );
    assert_eq!(
        state.notice,
        Some(Ok("exported to ./tenantscope-orders-3-1.csv".into()))
    );
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.notice, None, "the notice goes with the next key");
}

#[test]
fn no_key_is_bound_twice() {
    crate::app::keymap::assert_no_key_twice(dashboard::KEYS);
    crate::app::keymap::assert_no_key_twice(dashboard::KEYS_ORDERS);
    crate::app::keymap::assert_no_key_twice(dashboard::FILTERING);
}

#[test]
fn filtering_leaves_letters_to_the_filter() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    chars(&mut state, "jq");
    assert_eq!(state.dashboard.filter.text, "jq");
    assert!(!state.session.quit);
}

#[test]
fn refresh_reads_the_rows_on_screen_and_the_orders_again_keeping_them_shown() {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('j'));
    let key = state.dashboard.orders.key().unwrap().clone();
    deliver_orders(
        &mut state,
        key,
        OrdersReport::from_raw("client3".into(), None, Vec::new()),
    );
    let shown = state.selected_user().unwrap().name.clone();
    let effects = update(&mut state, Msg::Refresh);
    assert!(!effects.is_empty(), "{effects:?}");
    assert_eq!(state.selected_user().unwrap().name, shown);
    let request = page_request(&effects);
    assert!(request.keep_selection);
    assert_eq!(
        request.page,
        Page::From(demo_users()[0].key.clone()),
        "from the top row"
    );
    let (key, _) = orders_load(&effects);
    assert_eq!(key.user_id, state.selected_user().unwrap().id);
    assert!(
        state.dashboard.orders.value().is_some(),
        "kept while it reloads"
    );
}

/// The first page of `key`'s orders, then the server's totals.
fn deliver_head_and_totals(state: &mut State, key: &OrdersKey) {
    deliver_orders(state, key.clone(), first_page(key));
    let totals = crate::db::OrdersTotals {
        lines: 5_000,
        ..Default::default()
    };
    update(
        state,
        Msg::from(dashboard::Msg::OrdersTotals {
            key: key.clone(),
            result: Ok(totals),
            elapsed: Duration::ZERO,
        }),
    );
}

#[test]
fn a_refresh_keeps_the_orders_cursor_where_it_was() {
    let mut state = demo_state();
    let key = state.dashboard.orders.key().unwrap().clone();
    deliver_head_and_totals(&mut state, &key);
    press(&mut state, KeyCode::Tab);
    for _ in 0..5 {
        press(&mut state, KeyCode::Down);
    }
    let effects = update(&mut state, Msg::Refresh);
    let (again, _) = orders_load(&effects);
    assert_eq!(
        (&again.user_id, &again.compare),
        (&key.user_id, &key.compare)
    );
    deliver_head_and_totals(&mut state, &again);
    // The users on screen and the catalog, read again too.
    deliver_page(&mut state, page_request(&effects), demo_users());
    let ticket = dashboard_jobs(&effects)
        .find_map(|(_, job)| match job {
            dashboard::Job::Catalog { ticket } => Some(*ticket),
            _ => None,
        })
        .unwrap();
    let catalog = (state.catalog.clone(), state.user_count);
    update(
        &mut state,
        Msg::from(dashboard::Msg::Catalog {
            ticket,
            result: Ok(catalog),
        }),
    );
    // Nobody before the top row (a page from a row on asks).
    if let Some(before) = state.dashboard.users.request().cloned() {
        deliver_page(&mut state, before, Vec::new());
    }
    assert!(!state.is_busy());
    assert_eq!(state.dashboard.lines.selected().unwrap().key, "k00005");
    // Paged away from the top: the cursor stays on its line.
    let effects = press(&mut state, KeyCode::Char('G'));
    let request = lines_requested(&effects);
    deliver_lines(&mut state, request, keyed_lines(4_900, 100));
    let effects = update(&mut state, Msg::Refresh);
    let (again, _) = orders_load(&effects);
    deliver_head_and_totals(&mut state, &again);
    assert_eq!(state.dashboard.lines.selected().unwrap().key, "k04999");
    // Another user: the window starts again at the top.
    press(&mut state, KeyCode::Tab);
    let effects = press(&mut state, KeyCode::Down);
    let (other, _) = orders_load(&effects);
    assert_ne!(other.user_id, key.user_id);
    deliver_orders(&mut state, other.clone(), first_page(&other));
    assert_eq!(state.dashboard.lines.cursor().selected, 0);
}

/// Esc puts back the list as it was before `/`, its totals still being
/// added up: the list shown meanwhile may have cancelled them (the same
/// slot), so the orders are asked for again, never left "counting…".
#[test]
fn esc_from_the_prompt_asks_again_for_totals_still_counting() {
    let mut state = demo_state();
    let key = state.dashboard.orders.key().unwrap().clone();
    deliver_orders(&mut state, key.clone(), first_page(&key));
    assert!(state.dashboard.totals.is_loading());
    press(&mut state, KeyCode::Char('/'));
    let effects = press(&mut state, KeyCode::Esc);
    let asked = dashboard_jobs(&effects).any(
        |(_, job)| matches!(job, dashboard::Job::Orders { key: again, .. } if again.user_id == key.user_id),
    );
    assert!(asked, "{effects:?}");
}

/// `/` in a "who ordered" list filters the users table, and the title
/// says so: it used to keep "who ordered …" over every user matching the
/// text (and over the whole table once the filter was cleared). Esc in
/// the prompt puts the list of buyers back.
#[test]
fn a_filter_in_a_who_ordered_list_is_the_tables_and_esc_puts_the_buyers_back() {
    let mut state = demo_state();
    let key = (crate::db::ItemRule::Description, "Huawei".to_string());
    let effects = dashboard::show_buyers(&mut state, "client2".into(), "Huawei".into(), key);
    let buyers = vec![user("2", "poor_dude", "client2")];
    deliver_page(&mut state, page_request(&effects), buyers);
    assert!(state.dashboard.list_label.is_some());
    press(&mut state, KeyCode::Char('/'));
    let effects = chars(&mut state, "r");
    let request = page_request(&effects);
    assert_eq!(request.filter.as_deref(), Some("r"));
    assert!(dashboard_jobs(&effects).all(|(_, job)| matches!(job, dashboard::Job::UsersPage(_))));
    assert_eq!(
        state.dashboard.list_label, None,
        "the table's, not who ordered"
    );
    let rows = vec![
        user("1", "rich_dude", "client1"),
        user("2", "poor_dude", "client2"),
    ];
    deliver_page(&mut state, request, rows);
    press(&mut state, KeyCode::Esc);
    assert_eq!(
        state.dashboard.list_label.as_deref(),
        Some("who ordered Huawei in client2")
    );
    let names: Vec<_> = state
        .dashboard
        .users
        .users()
        .iter()
        .map(|u| &u.name)
        .collect();
    assert_eq!(names, ["poor_dude"]);
}

/// A registry's tenant is named by its label in a "who ordered" list (it
/// read the schema, under the title of the tenant the list was opened
/// from).
#[test]
fn a_who_ordered_list_names_its_tenant_by_label() {
    let mut state = demo_state();
    state.data.catalog = state.catalog.clone().with_registry(vec![(
        "2".into(),
        "Client Two".into(),
        "client2".into(),
    )]);
    let key = (crate::db::ItemRule::Description, "Huawei".to_string());
    dashboard::show_buyers(&mut state, "client2".into(), "Huawei".into(), key);
    assert_eq!(
        state.dashboard.list_label.as_deref(),
        Some("who ordered Huawei in Client Two")
    );
}

/// The first frame before the catalog and the count (`first_frame_data`):
/// the users are shown, what is still read is said, no count or mark is
/// guessed, no orders are read with a comparison chosen from part of the
/// catalog; a key that needs the whole catalog waits for it.
#[test]
fn the_first_frame_shows_users_before_the_catalog_and_says_what_is_still_read() {
    // The first page's own tenants only: client9 (stray_dude's) has no schema.
    let partial = TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()]);
    let mut state = State::new(Data {
        catalog_partial: true,
        ..Data::new(
            "demo".into(),
            partial,
            UserCount::default(),
            demo_users(),
            None,
        )
    });
    state.session.size = (120, 30);
    let effects = init(&mut state);
    let ticket = match effects.as_slice() {
        [Effect::Load(task)] => match task.job {
            Job::Dashboard(dashboard::Job::Catalog { ticket }) => ticket,
            ref other => panic!("the catalog alone, no orders: {other:?}"),
        },
        other => panic!("the catalog alone, no orders: {other:?}"),
    };
    let draw = |state: &State| {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
        terminal
            .draw(|frame| crate::ui::view(state, frame))
            .unwrap();
        frame_text(terminal.backend().buffer())
    };
    let frame = draw(&state);
    assert!(frame.contains("rich_dude"), "{frame}");
    assert!(frame.contains("… users · … tenants"), "{frame}");
    assert!(frame.contains("compare: …"), "{frame}");
    // The list itself is whole here (4 users, less than a page): its
    // title counts it; a longer one says "…" (`users_title`).
    assert!(frame.contains("Users (4)"), "{frame}");
    assert!(
        frame.contains("counting users, reading the tenant catalogue…"),
        "{frame}"
    );
    assert!(
        !frame.contains("0 users"),
        "never a count not read: {frame}"
    );
    // Not known yet is not "missing".
    let stray = frame.lines().find(|l| l.contains("stray_dude")).unwrap();
    assert!(!stray.contains('!'), "{frame}");

    // `t` (tenant health) reads every tenant: it waits for the catalog.
    assert!(press(&mut state, KeyCode::Char('t')).is_empty());
    assert_eq!(state.view, crate::app::View::Dashboard);
    // Moving the selection reads no orders yet either.
    let moved = press(&mut state, KeyCode::Down);
    assert!(
        !dashboard_jobs(&moved).any(|(_, job)| matches!(job, dashboard::Job::Orders { .. })),
        "{moved:?}"
    );

    let full = TenantCatalog::new(
        ["client1", "client2", "client3", "client4"]
            .map(String::from)
            .to_vec(),
    );
    let effects = update(
        &mut state,
        Msg::from(dashboard::Msg::Catalog {
            ticket,
            result: Ok((
                full,
                UserCount {
                    value: 4,
                    estimated: false,
                    ..Default::default()
                },
            )),
        }),
    );
    assert!(!state.catalog_partial);
    let key = orders_key(&effects);
    assert_eq!(key.user_id, "2", "the user selected meanwhile");
    assert_eq!(state.view, crate::app::View::Health, "`t` taken now");
    let frame = draw(&state);
    assert!(frame.contains("4 users · 4 tenants"), "{frame}");
    press(&mut state, KeyCode::Esc);
    let frame = draw(&state);
    // Now known: client9 has no schema.
    let stray = frame.lines().find(|l| l.contains("stray_dude")).unwrap();
    assert!(stray.contains('!'), "{frame}");
}

/// A key held for the catalog whose read then fails is dropped, not run
/// by a later reload; pressed again it says the catalog is not read.
#[test]
fn a_key_held_for_a_catalog_that_fails_is_dropped() {
    let partial = TenantCatalog::new(vec!["client1".into(), "client2".into()]);
    let mut state = State::new(Data {
        catalog_partial: true,
        ..Data::new(
            "demo".into(),
            partial.clone(),
            UserCount::default(),
            demo_users(),
            None,
        )
    });
    let catalog_ticket = |effects: &[Effect]| {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Load(task) => match task.job {
                    Job::Dashboard(dashboard::Job::Catalog { ticket }) => Some(ticket),
                    _ => None,
                },
                _ => None,
            })
            .expect("a catalog load")
    };
    let ticket = catalog_ticket(&init(&mut state));
    assert!(press(&mut state, KeyCode::Char('t')).is_empty());
    let failed = dashboard::Msg::Catalog {
        ticket,
        result: Err(crate::db::DbError::Query("boom".into())),
    };
    update(&mut state, Msg::from(failed));
    assert!(press(&mut state, KeyCode::Char('t')).is_empty());
    assert_eq!(
        state.notice,
        Some(Err(
            "the tenant catalogue is not read: r reads it again".into()
        ))
    );
    let ticket = catalog_ticket(&press(&mut state, KeyCode::Char('r')));
    let loaded = dashboard::Msg::Catalog {
        ticket,
        result: Ok((partial, UserCount::default())),
    };
    update(&mut state, Msg::from(loaded));
    assert!(!state.catalog_partial);
    assert_eq!(state.view, crate::app::View::Dashboard, "`t` was dropped");

    // Held, then the filter's prompt opened: the catalog's arrival does
    // not open the health view over the typing.
    state.catalog_partial = true;
    let ticket = catalog_ticket(&press(&mut state, KeyCode::Char('r')));
    assert!(press(&mut state, KeyCode::Char('t')).is_empty());
    press(&mut state, KeyCode::Char('/'));
    let loaded = dashboard::Msg::Catalog {
        ticket,
        result: Ok((TenantCatalog::default(), UserCount::default())),
    };
    update(&mut state, Msg::from(loaded));
    assert_eq!(state.view, crate::app::View::Dashboard);
    assert!(state.dashboard.filter.prompt.editing);
}

/// While only "Terminal too small" is on screen, keys are ignored: `j j
/// p ?` typed at 20×5 opened the matrix with help over it, unseen, and
/// moved the selection. `q` still quits, but in a prompt, where it is
/// text: there Ctrl-C does.
#[test]
fn keys_are_ignored_while_the_terminal_is_too_small() {
    let mut state = demo_state();
    let selected = state.dashboard.users.selected().map(|u| u.id.clone());
    state.session.size = (20, 5);
    for code in ['j', 'j', 'p', '?', '/'] {
        assert!(press(&mut state, KeyCode::Char(code)).is_empty(), "{code}");
    }
    state.session.size = (120, 30);
    assert_eq!(state.view, crate::app::state::View::Dashboard);
    assert!(!state.help_open);
    assert!(!state.dashboard.filter.prompt.editing);
    let now = state.dashboard.users.selected().map(|u| u.id.clone());
    assert_eq!(now, selected);
    state.session.size = (20, 5);
    press(&mut state, KeyCode::Char('q'));
    assert!(state.session.quit);

    let mut state = demo_state();
    press(&mut state, KeyCode::Char('/'));
    state.session.size = (20, 5);
    press(&mut state, KeyCode::Char('q'));
    assert!(!state.session.quit, "q in the filter prompt");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    update(&mut state, Msg::Key(ctrl_c));
    assert!(state.session.quit);
}
