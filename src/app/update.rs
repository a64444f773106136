//! The pure state transition: no I/O, no clock, no terminal.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::keymap::{self, Action, Mode};
use super::msg::{Effect, Msg, OrdersKey};
use super::state::{Focus, OrdersPane, State};
use crate::ui::layout;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Mouse(mouse) => on_mouse(state, mouse),
        Msg::Resize(width, height) => {
            state.size = (width, height);
            keep_selection_visible(state);
            Vec::new()
        }
        Msg::Tick => {
            state.ticks = state.ticks.wrapping_add(1);
            Vec::new()
        }
        Msg::UsersLoaded(Ok((users, catalog))) => {
            let before = state.selected_user().map(|u| u.id.clone());
            let catalog_changed = catalog != state.catalog;
            state.users = users;
            state.catalog = catalog;
            state.users_loading = false;
            state.users_error = None;
            state.refilter(before.as_deref());
            keep_selection_visible(state);
            let after = state.selected_user().map(|u| u.id.clone());
            if before != after || catalog_changed {
                request_orders(state, std::time::Duration::ZERO)
            } else {
                Vec::new()
            }
        }
        Msg::UsersLoaded(Err(error)) => {
            state.users_loading = false;
            state.users_error = Some(error);
            Vec::new()
        }
        Msg::OrdersLoaded {
            key,
            result,
            elapsed,
        } => {
            // A result for a request that is no longer current is dropped.
            if state.orders.key() == Some(&key) {
                state.orders = match result {
                    Ok(report) => OrdersPane::Loaded {
                        key,
                        report,
                        elapsed,
                    },
                    Err(error) => OrdersPane::Failed { key, error },
                };
            }
            Vec::new()
        }
        Msg::Terminate => {
            state.quit = true;
            Vec::new()
        }
    }
}

/// Effects to run when the dashboard opens: load the first user's orders.
pub fn init(state: &mut State) -> Vec<Effect> {
    keep_selection_visible(state);
    request_orders(state, std::time::Duration::ZERO)
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let mode = state.mode();
    let Some(action) = keymap::action_for(mode, &key) else {
        return if mode == Mode::Filtering {
            edit_filter(state, key)
        } else {
            Vec::new()
        };
    };
    match action {
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -page(state)),
        Action::PageDown => move_by(state, page(state)),
        Action::First => move_by(state, isize::MIN / 2),
        Action::Last => move_by(state, isize::MAX / 2),
        Action::StartFilter => {
            state.filter.editing = true;
            state.focus = Focus::Users;
            Vec::new()
        }
        Action::KeepFilter => {
            state.filter.editing = false;
            Vec::new()
        }
        Action::ClearFilter => {
            state.filter.editing = false;
            set_filter(state, String::new())
        }
        Action::NextCompare => cycle_compare(state, false),
        Action::PreviousCompare => cycle_compare(state, true),
        Action::SwitchFocus => {
            state.focus = match state.focus {
                Focus::Users => Focus::Orders,
                Focus::Orders => Focus::Users,
            };
            Vec::new()
        }
        Action::Reload => {
            state.users_loading = true;
            let mut effects = vec![Effect::LoadUsers];
            effects.extend(request_orders(state, std::time::Duration::ZERO));
            effects
        }
        Action::ToggleHelp => {
            state.help_open = !state.help_open;
            Vec::new()
        }
        Action::CloseHelp => {
            state.help_open = false;
            Vec::new()
        }
        Action::Quit => {
            state.quit = true;
            Vec::new()
        }
    }
}

fn edit_filter(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let mut text = state.filter.text.clone();
    match key.code {
        KeyCode::Char(ch)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            text.push(ch)
        }
        KeyCode::Backspace => {
            text.pop();
        }
        _ => return Vec::new(),
    }
    set_filter(state, text)
}

fn set_filter(state: &mut State, text: String) -> Vec<Effect> {
    if text == state.filter.text {
        return Vec::new();
    }
    let before = state.selected_user().map(|u| u.id.clone());
    state.filter.text = text;
    state.refilter(before.as_deref());
    keep_selection_visible(state);
    if state.selected_user().map(|u| u.id.clone()) != before {
        request_orders(state, state.debounce)
    } else {
        Vec::new()
    }
}

/// Rows a page moves, from the pane that has focus.
fn page(state: &State) -> isize {
    let areas = layout::areas(screen(state));
    let rows = match state.focus {
        Focus::Users => layout::table_rows(areas.users),
        Focus::Orders => layout::order_rows(areas.orders),
    };
    rows.max(1) as isize
}

fn screen(state: &State) -> Rect {
    Rect::new(0, 0, state.size.0, state.size.1)
}

fn move_by(state: &mut State, delta: isize) -> Vec<Effect> {
    match state.focus {
        Focus::Users => {
            let last = state.visible.len().saturating_sub(1) as isize;
            let target = (state.selected as isize)
                .saturating_add(delta)
                .clamp(0, last) as usize;
            select(state, target)
        }
        Focus::Orders => {
            let lines = match &state.orders {
                OrdersPane::Loaded { report, .. } => report.lines.len(),
                _ => 0,
            };
            let rows = layout::order_rows(layout::areas(screen(state)).orders);
            let max = lines.saturating_sub(rows) as isize;
            state.orders_offset = (state.orders_offset as isize)
                .saturating_add(delta)
                .clamp(0, max) as usize;
            Vec::new()
        }
    }
}

fn select(state: &mut State, index: usize) -> Vec<Effect> {
    if index == state.selected || index >= state.visible.len() {
        return Vec::new();
    }
    state.selected = index;
    keep_selection_visible(state);
    request_orders(state, state.debounce)
}

fn keep_selection_visible(state: &mut State) {
    let rows = layout::table_rows(layout::areas(screen(state)).users).max(1);
    if state.selected < state.users_offset {
        state.users_offset = state.selected;
    } else if state.selected >= state.users_offset + rows {
        state.users_offset = state.selected + 1 - rows;
    }
    let max_offset = state.visible.len().saturating_sub(rows);
    state.users_offset = state.users_offset.min(max_offset);
}

fn cycle_compare(state: &mut State, backwards: bool) -> Vec<Effect> {
    let own = state.selected_user().and_then(|u| u.tenant.clone());
    let current = state.compare_choice().tenant;
    let next = state
        .catalog
        .step(current.as_deref(), backwards, own.as_deref());
    if next.is_none() || next == current {
        return Vec::new();
    }
    state.compare = next;
    request_orders(state, std::time::Duration::ZERO)
}

/// Makes the orders pane wait for the selected user's orders, superseding
/// (and so cancelling) whatever load came before.
fn request_orders(state: &mut State, delay: std::time::Duration) -> Vec<Effect> {
    state.generation += 1;
    state.orders_offset = 0;
    let Some(user) = state.selected_user().cloned() else {
        state.orders = OrdersPane::NoUser;
        return vec![Effect::CancelOrders];
    };
    let key = OrdersKey {
        user_id: user.id.clone(),
        compare: state.compare_choice().tenant,
        generation: state.generation,
    };
    state.orders = OrdersPane::Loading { key: key.clone() };
    vec![Effect::LoadOrders { key, user, delay }]
}

fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    if state.help_open {
        return Vec::new();
    }
    let areas = layout::areas(screen(state));
    let at = Position::new(mouse.column, mouse.row);
    match mouse.kind {
        MouseEventKind::ScrollDown => move_by(state, 1),
        MouseEventKind::ScrollUp => move_by(state, -1),
        MouseEventKind::Down(MouseButton::Left) if areas.users.contains(at) => {
            state.focus = Focus::Users;
            let first_row = layout::table_body(areas.users).y;
            match mouse.row.checked_sub(first_row) {
                Some(row) if layout::table_body(areas.users).contains(at) => {
                    select(state, state.users_offset + row as usize)
                }
                _ => Vec::new(),
            }
        }
        MouseEventKind::Down(MouseButton::Left) if areas.orders.contains(at) => {
            state.focus = Focus::Orders;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::{KeyEventKind, KeyEventState, MouseButton, MouseEvent, MouseEventKind};

    use super::*;
    use crate::db::{DbError, OrdersReport, TenantCatalog, User};

    fn user(id: &str, name: &str, tenant: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            mail: format!("{name}@example.com"),
            tenant: Some(tenant.into()),
            created: None,
        }
    }

    fn demo_state() -> State {
        let users = vec![
            user("3", "mid_dude", "client3"),
            user("2", "poor_dude", "client2"),
            user("1", "rich_dude", "client1"),
            user("4", "stray_dude", "client9"),
        ];
        let catalog =
            TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()]);
        let mut state = State::new("demo".into(), users, catalog, None);
        state.size = (120, 30);
        init(&mut state);
        state
    }

    fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
        update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn chars(state: &mut State, text: &str) -> Vec<Effect> {
        text.chars()
            .flat_map(|ch| press(state, KeyCode::Char(ch)))
            .collect()
    }

    fn loaded(state: &mut State, key: OrdersKey) {
        let report = OrdersReport {
            tenant: "t".into(),
            compare_tenant: key.compare.clone(),
            lines: Vec::new(),
            total: Default::default(),
            compare_total: None,
        };
        update(
            state,
            Msg::OrdersLoaded {
                key,
                result: Ok(report),
                elapsed: Duration::from_millis(3),
            },
        );
    }

    fn load_key(effects: &[Effect]) -> OrdersKey {
        match effects.last() {
            Some(Effect::LoadOrders { key, .. }) => key.clone(),
            other => panic!("expected an orders load, got {other:?}"),
        }
    }

    #[test]
    fn opening_loads_the_first_users_orders_at_once() {
        let mut state = State::new(
            "demo".into(),
            vec![user("1", "a", "client1")],
            TenantCatalog::new(vec!["client1".into(), "client2".into()]),
            None,
        );
        let effects = init(&mut state);
        match &effects[..] {
            [Effect::LoadOrders { key, user, delay }] => {
                assert_eq!(key.user_id, "1");
                assert_eq!(key.compare.as_deref(), Some("client2"));
                assert_eq!(user.name, "a");
                assert_eq!(*delay, Duration::ZERO);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(state.orders, OrdersPane::Loading { .. }));
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
        let first = load_key(&press(&mut state, KeyCode::Char('j')));
        let effects = press(&mut state, KeyCode::Char('j'));
        let second = load_key(&effects);
        assert!(
            matches!(&effects[0], Effect::LoadOrders { delay, .. } if *delay == state.debounce)
        );
        assert!(second.generation > first.generation);
        assert_eq!(second.user_id, "1");

        // The first load finishes late: its result must not replace the wait for rich_dude.
        loaded(&mut state, first);
        assert_eq!(
            state.orders,
            OrdersPane::Loading {
                key: second.clone()
            }
        );
        loaded(&mut state, second.clone());
        assert!(matches!(&state.orders, OrdersPane::Loaded { key, .. } if *key == second));
    }

    #[test]
    fn a_stale_error_never_replaces_a_newer_result() {
        let mut state = demo_state();
        let old = load_key(&press(&mut state, KeyCode::Char('j')));
        let current = load_key(&press(&mut state, KeyCode::Char('j')));
        loaded(&mut state, current);
        update(
            &mut state,
            Msg::OrdersLoaded {
                key: old,
                result: Err(DbError::Timeout { ms: 5 }),
                elapsed: Duration::ZERO,
            },
        );
        assert!(matches!(state.orders, OrdersPane::Loaded { .. }));
    }

    #[test]
    fn filter_narrows_keeps_and_clears() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        assert!(state.filter.editing);
        let effects = chars(&mut state, "RICH");
        assert_eq!(state.visible.len(), 1);
        assert_eq!(state.selected_user().unwrap().name, "rich_dude");
        assert_eq!(load_key(&effects).user_id, "1");
        press(&mut state, KeyCode::Enter);
        assert!(!state.filter.editing);
        assert_eq!(state.filter.text, "RICH");
        assert!(!state.quit);

        // Letters are keys again once the filter is kept.
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "q");
        assert!(!state.quit, "q is text while filtering");
        assert_eq!(state.filter.text, "RICHq");
        press(&mut state, KeyCode::Backspace);
        press(&mut state, KeyCode::Esc);
        assert!(!state.quit, "Esc clears the filter, it does not quit");
        assert_eq!(state.filter.text, "");
        assert_eq!(state.visible.len(), 4);
        assert_eq!(
            state.selected_user().unwrap().name,
            "rich_dude",
            "selection kept"
        );
    }

    #[test]
    fn filter_by_mail_and_tenant_and_no_match() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "client9");
        assert_eq!(state.selected_user().unwrap().name, "stray_dude");
        press(&mut state, KeyCode::Backspace);
        assert_eq!(state.visible.len(), 4, "client matches every tenant");
        let effects = chars(&mut state, "zzz");
        assert!(state.visible.is_empty());
        assert_eq!(state.orders, OrdersPane::NoUser);
        assert_eq!(effects.last(), Some(&Effect::CancelOrders));
    }

    #[test]
    fn comparison_cycles_and_skips_the_users_own_tenant() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('j'));
        press(&mut state, KeyCode::Char('j')); // rich_dude of client1
        assert_eq!(state.compare_choice().tenant.as_deref(), Some("client2"));
        let effects = press(&mut state, KeyCode::Char('c'));
        let key = load_key(&effects);
        assert_eq!(key.compare.as_deref(), Some("client3"));
        assert!(matches!(&effects[0], Effect::LoadOrders { delay, .. } if delay.is_zero()));
        press(&mut state, KeyCode::Char('c'));
        assert_eq!(
            state.compare_choice().tenant.as_deref(),
            Some("client2"),
            "wraps, skipping client1"
        );
        press(&mut state, KeyCode::Char('C'));
        assert_eq!(state.compare_choice().tenant.as_deref(), Some("client3"));

        // poor_dude's own tenant would be client2's: the next tenant is used instead.
        state.compare = Some("client2".into());
        press(&mut state, KeyCode::Char('k'));
        let choice = state.compare_choice();
        assert_eq!(choice.tenant.as_deref(), Some("client3"));
        assert!(choice.replaced_own);
    }

    #[test]
    fn focus_switches_and_orders_scroll_when_focused() {
        let mut state = demo_state();
        state.size = (120, 12);
        let key = state.orders.key().unwrap().clone();
        let report = OrdersReport {
            tenant: "client3".into(),
            compare_tenant: key.compare.clone(),
            lines: (0..20)
                .map(|i| crate::db::OrderLine {
                    item_id: Some(i.to_string()),
                    item: Some(format!("item {i}")),
                    quantity: Some(1),
                    unit_price: None,
                    total: None,
                    compare_unit_price: None,
                    compare_total: None,
                })
                .collect(),
            total: Default::default(),
            compare_total: None,
        };
        update(
            &mut state,
            Msg::OrdersLoaded {
                key,
                result: Ok(report),
                elapsed: Duration::ZERO,
            },
        );
        press(&mut state, KeyCode::Tab);
        assert_eq!(state.focus, Focus::Orders);
        assert!(
            press(&mut state, KeyCode::Char('j')).is_empty(),
            "scrolling loads nothing"
        );
        assert_eq!(state.orders_offset, 1);
        assert_eq!(
            state.selected_user().unwrap().name,
            "mid_dude",
            "selection unchanged"
        );
        press(&mut state, KeyCode::Char('G'));
        let rows = crate::ui::layout::order_rows(
            crate::ui::layout::areas(Rect::new(0, 0, 120, 12)).orders,
        );
        assert_eq!(state.orders_offset, 20 - rows);
        press(&mut state, KeyCode::Tab);
        assert_eq!(state.focus, Focus::Users);
    }

    #[test]
    fn quitting() {
        for code in [KeyCode::Char('q'), KeyCode::Esc] {
            let mut state = demo_state();
            press(&mut state, code);
            assert!(state.quit, "{code:?}");
        }
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        update(
            &mut state,
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        );
        assert!(state.quit, "Ctrl-C quits even while filtering");
        let mut state = demo_state();
        update(&mut state, Msg::Terminate);
        assert!(state.quit);
    }

    #[test]
    fn help_toggles_and_swallows_keys() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('?'));
        assert!(state.help_open);
        assert!(press(&mut state, KeyCode::Char('j')).is_empty());
        press(&mut state, KeyCode::Esc);
        assert!(!state.help_open);
        assert!(!state.quit, "Esc closes help first");
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
        assert_eq!(state.selected, 0);
    }

    #[test]
    fn clicking_a_row_selects_that_user() {
        let mut state = demo_state();
        let body =
            crate::ui::layout::table_body(crate::ui::layout::areas(Rect::new(0, 0, 120, 30)).users);
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: body.x + 3,
            row: body.y + 2,
            modifiers: KeyModifiers::NONE,
        };
        let effects = update(&mut state, Msg::Mouse(click));
        assert_eq!(state.selected_user().unwrap().name, "rich_dude");
        assert_eq!(load_key(&effects).user_id, "1");
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..click
        };
        update(&mut state, Msg::Mouse(wheel));
        assert_eq!(state.selected_user().unwrap().name, "stray_dude");
    }

    #[test]
    fn reload_reloads_users_and_orders() {
        let mut state = demo_state();
        let effects = press(&mut state, KeyCode::Char('r'));
        assert_eq!(effects[0], Effect::LoadUsers);
        assert!(state.users_loading);
        let key = load_key(&effects);
        // Users come back with a new tenant: the selection is kept.
        let mut users = state.users.clone();
        users.push(user("9", "aaa_first", "client1"));
        users.sort_by(|a, b| a.name.cmp(&b.name));
        let catalog = state.catalog.clone();
        let effects = update(&mut state, Msg::UsersLoaded(Ok((users, catalog))));
        assert!(
            effects.is_empty(),
            "same user, same catalog: no second load"
        );
        assert_eq!(state.selected_user().unwrap().name, "mid_dude");
        assert_eq!(state.orders.key(), Some(&key));
        update(
            &mut state,
            Msg::UsersLoaded(Err("connection refused".into())),
        );
        assert_eq!(state.users_error.as_deref(), Some("connection refused"));
    }
}
