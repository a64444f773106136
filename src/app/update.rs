//! The pure state transition: no I/O, no clock, no terminal.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::time::Duration;

use super::keymap::{self, Action, Mode};
use super::msg::{Effect, Msg, OrdersKey, UsersRequest};
use super::state::{Focus, Load, OrdersPane, State, View, PAGE_SIZE, PREFETCH_MARGIN, WINDOW_CAP};
use super::views;
use crate::db::{DbError, Page, User};
use crate::ui::layout;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Mouse(mouse) => on_mouse(state, mouse),
        Msg::Resize(width, height) => {
            state.size = (width, height);
            keep_selection_visible(state);
            if state.view == View::Prices {
                // More or fewer tenant columns fit now.
                views::request_prices(state, false)
            } else {
                Vec::new()
            }
        }
        Msg::Tick => {
            state.ticks = state.ticks.wrapping_add(1);
            Vec::new()
        }
        Msg::CatalogLoaded(Ok((catalog, count))) => {
            state.catalog_loading = false;
            state.user_count = count;
            if catalog != state.catalog {
                state.catalog = catalog;
                // Tenants appeared or vanished: the comparison may differ.
                request_orders(state, Duration::ZERO)
            } else {
                Vec::new()
            }
        }
        Msg::CatalogLoaded(Err(error)) => {
            state.catalog_loading = false;
            state.users_error = Some(error.to_string());
            Vec::new()
        }
        Msg::UsersPage { request, result } => on_users_page(state, request, result),
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
        Msg::HealthLoaded { result, elapsed } => {
            state.health.report = match result {
                Ok(value) => Load::Loaded { value, elapsed },
                Err(error) => Load::Failed(error.to_string()),
            };
            let tenants = state.health.report.value().map_or(0, |r| r.tenants.len());
            state.health.selected = state.health.selected.min(tenants.saturating_sub(1));
            Vec::new()
        }
        Msg::LeaksLoaded {
            tenant,
            result,
            elapsed,
        } => {
            if let Some((asked, leaks)) = &mut state.health.leaks {
                if *asked == tenant {
                    *leaks = match result {
                        Ok(value) => Load::Loaded { value, elapsed },
                        Err(error) => Load::Failed(error.to_string()),
                    };
                }
            }
            Vec::new()
        }
        Msg::PricesLoaded {
            tenants,
            result,
            elapsed,
        } => {
            // Only the columns still wanted count.
            if state.prices.pending.as_ref() == Some(&tenants) {
                state.prices.pending = None;
                state.prices.matrix = match result {
                    Ok(value) => Load::Loaded {
                        value: value.sorted(state.prices.sort),
                        elapsed,
                    },
                    Err(error) => Load::Failed(error.to_string()),
                };
                let items = state.prices.matrix.value().map_or(0, |m| m.rows.len());
                state.prices.row = state.prices.row.min(items.saturating_sub(1));
            }
            Vec::new()
        }
        Msg::Exported(result) => {
            state.notice = Some(result);
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
    let mut effects = request_orders(state, Duration::ZERO);
    effects.extend(prefetch(state));
    effects
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let mode = state.mode();
    state.notice = None;
    let Some(action) = keymap::action_for(mode, &key) else {
        return if mode == Mode::Filtering {
            edit_filter(state, key)
        } else {
            Vec::new()
        };
    };
    if matches!(action, Action::Quit) {
        // Esc leaves a "who ordered" list before it quits.
        if state.list_label.is_some() && key.code == KeyCode::Esc {
            return views::leave_fixed_list(state);
        }
        state.quit = true;
        return Vec::new();
    }
    match (mode, action) {
        (_, Action::ToggleHelp) => {
            state.help_open = !state.help_open;
            return Vec::new();
        }
        (_, Action::Export) => return views::export(state),
        (Mode::Health | Mode::Prices, Action::Back) => {
            state.view = View::Dashboard;
            return Vec::new();
        }
        (Mode::Health, action) => return views::on_health_action(state, action),
        (Mode::Prices, action) => return views::on_prices_action(state, action),
        _ => {}
    }
    match action {
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -page(state)),
        Action::PageDown => move_by(state, page(state)),
        Action::First => jump(state, Page::First),
        Action::Last => jump(state, Page::Last),
        Action::OpenHealth => views::open_health(state),
        Action::OpenPrices => views::open_prices(state),
        Action::StartFilter => {
            if state.list_label.is_some() {
                state.list_label = None;
            }
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
            state.catalog_loading = true;
            state.users_error = None;
            let mut effects = vec![Effect::LoadCatalog];
            // Reload the window from the selected user on, keeping them selected.
            let page = match state.selected_user() {
                Some(user) => Page::From(user.key.clone()),
                None => Page::First,
            };
            effects.extend(request_page(state, page, false, Duration::ZERO));
            effects.extend(request_orders(state, Duration::ZERO));
            effects
        }
        Action::CloseHelp => {
            state.help_open = false;
            Vec::new()
        }
        // Handled above, or not bound in this mode.
        Action::Quit
        | Action::ToggleHelp
        | Action::Export
        | Action::Back
        | Action::Left
        | Action::Right
        | Action::ToggleSort
        | Action::ShowLeaks
        | Action::Jump => Vec::new(),
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

/// A new filter runs in the database; the pending page of the old one is
/// superseded (and so cancelled).
fn set_filter(state: &mut State, text: String) -> Vec<Effect> {
    if text == state.filter.text {
        return Vec::new();
    }
    state.filter.text = text;
    state.users_generation += 1;
    let cleared = state.filter.text.is_empty();
    match state.selected_user() {
        // Clearing the filter shows the whole list again around the selected user.
        Some(user) if cleared => {
            let page = Page::From(user.key.clone());
            request_page(state, page, true, Duration::ZERO)
        }
        _ => request_page(state, Page::First, true, state.debounce),
    }
}

fn active_filter(state: &State) -> Option<String> {
    Some(state.filter.text.clone()).filter(|text| !text.is_empty())
}

/// Asks for a page of users unless that very page is already on its way.
fn request_page(
    state: &mut State,
    page: Page,
    keep_selection: bool,
    delay: Duration,
) -> Vec<Effect> {
    let request = UsersRequest {
        generation: state.users_generation,
        filter: active_filter(state),
        page,
        keep_selection,
    };
    if state.users_request.as_ref() == Some(&request) {
        return Vec::new();
    }
    state.users_request = Some(request.clone());
    vec![Effect::LoadUsersPage { request, delay }]
}

/// Fetches the next page before the selection reaches the window's edge.
fn prefetch(state: &mut State) -> Vec<Effect> {
    if state.users_request.is_some() {
        return Vec::new();
    }
    let near_end = state.selected + PREFETCH_MARGIN >= state.users.len();
    if !state.users_at_end && near_end {
        if let Some(last) = state.users.last() {
            let page = Page::After(last.key.clone());
            return request_page(state, page, false, Duration::ZERO);
        }
    }
    if !state.users_at_start && state.selected < PREFETCH_MARGIN {
        if let Some(first) = state.users.first() {
            let page = Page::Before(first.key.clone());
            return request_page(state, page, false, Duration::ZERO);
        }
    }
    Vec::new()
}

/// `g`/`G`: local when the window already holds that end, else a page load.
fn jump(state: &mut State, page: Page) -> Vec<Effect> {
    if state.focus == Focus::Orders {
        let delta = if page == Page::First {
            isize::MIN / 2
        } else {
            isize::MAX / 2
        };
        return move_by(state, delta);
    }
    match page {
        Page::First if state.users_at_start => select(state, 0),
        Page::Last if state.users_at_end => select(state, state.users.len().saturating_sub(1)),
        page => request_page(state, page, false, Duration::ZERO),
    }
}

fn on_users_page(
    state: &mut State,
    request: UsersRequest,
    result: Result<Vec<User>, DbError>,
) -> Vec<Effect> {
    // Only the pending request counts; anything else is stale.
    if state.users_request.as_ref() != Some(&request) {
        return Vec::new();
    }
    state.users_request = None;
    let rows = match result {
        Ok(rows) => rows,
        Err(error) => {
            state.users_error = Some(error.to_string());
            return Vec::new();
        }
    };
    state.users_error = None;
    let before = state.selected_user().map(|u| u.id.clone());
    let full = rows.len() >= PAGE_SIZE;
    match &request.page {
        Page::First | Page::Last | Page::From(_) => {
            let last = request.page == Page::Last;
            state.users_at_start = request.page == Page::First || (last && !full);
            // A "who ordered" list comes whole, never paged.
            state.users_at_end = last || !full || state.list_label.is_some();
            state.users = rows;
            state.users_offset = 0;
            let kept = before
                .as_deref()
                .filter(|_| request.keep_selection)
                .and_then(|id| state.users.iter().position(|u| u.id == id));
            state.selected = match (kept, last) {
                (Some(index), _) => index,
                (None, true) => state.users.len().saturating_sub(1),
                (None, false) => 0,
            };
        }
        Page::After(_) => {
            state.users_at_end = !full;
            state.users.extend(rows);
            let excess = state.users.len().saturating_sub(WINDOW_CAP);
            if excess > 0 {
                state.users.drain(..excess);
                state.selected = state.selected.saturating_sub(excess);
                state.users_offset = state.users_offset.saturating_sub(excess);
                state.users_at_start = false;
            }
        }
        Page::Before(_) => {
            state.users_at_start = !full;
            let added = rows.len();
            state.users.splice(0..0, rows);
            state.selected += added;
            state.users_offset += added;
            if state.users.len() > WINDOW_CAP {
                state.users.truncate(WINDOW_CAP);
                state.users_at_end = false;
            }
        }
    }
    let pending = std::mem::take(&mut state.pending_move);
    let continues = matches!(
        (&request.page, pending.signum()),
        (Page::After(_), 1) | (Page::Before(_), -1)
    );
    if continues {
        // The rest of a move that ran past the edge: the selection changes
        // here, so its orders load below like any other selection.
        state.selected = clamp_to_window(state, state.selected as isize + pending);
    }
    keep_selection_visible(state);
    let mut effects = Vec::new();
    if state.selected_user().map(|u| u.id.clone()) != before {
        // A filter, or a held key running on past the window: debounced
        // like any move (the runtime loads at once if the selection was at
        // rest). A jump (g, G) loads at once.
        let delay = if request.keep_selection || continues {
            state.debounce
        } else {
            Duration::ZERO
        };
        effects.extend(request_orders(state, delay));
    }
    effects.extend(prefetch(state));
    effects
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
            let wanted = (state.selected as isize)
                .saturating_add(state.pending_move)
                .saturating_add(delta);
            let target = clamp_to_window(state, wanted);
            let mut effects = select(state, target);
            effects.extend(prefetch(state));
            effects
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

/// The row `wanted` within the loaded window. Past an edge with more users
/// beyond it, the remainder is kept in `pending_move` for when the page arrives.
fn clamp_to_window(state: &mut State, wanted: isize) -> usize {
    let last = state.users.len().saturating_sub(1) as isize;
    state.pending_move = match wanted {
        w if w > last && !state.users_at_end => w - last,
        w if w < 0 && !state.users_at_start => w,
        _ => 0,
    };
    wanted.clamp(0, last) as usize
}

fn select(state: &mut State, index: usize) -> Vec<Effect> {
    if index == state.selected || index >= state.users.len() {
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
    let max_offset = state.users.len().saturating_sub(rows);
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
    request_orders(state, Duration::ZERO)
}

/// Makes the orders pane wait for the selected user's orders, superseding
/// (and so cancelling) whatever load came before.
fn request_orders(state: &mut State, delay: Duration) -> Vec<Effect> {
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
    use crate::db::{OrdersReport, TenantCatalog, UserCount, UserKey};

    fn user(id: &str, name: &str, tenant: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            mail: format!("{name}@example.com"),
            tenant: Some(tenant.into()),
            created: None,
            key: UserKey {
                name: name.into(),
                id: id.into(),
            },
        }
    }

    fn catalog() -> TenantCatalog {
        TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()])
    }

    fn demo_users() -> Vec<User> {
        vec![
            user("3", "mid_dude", "client3"),
            user("2", "poor_dude", "client2"),
            user("1", "rich_dude", "client1"),
            user("4", "stray_dude", "client9"),
        ]
    }

    fn demo_state() -> State {
        let count = UserCount {
            value: 4,
            estimated: false,
        };
        let mut state = State::new("demo".into(), catalog(), count, demo_users(), None);
        state.size = (120, 30);
        init(&mut state);
        state
    }

    /// `n` users named u00000.., a page of a much longer list.
    fn numbered(from: usize, n: usize) -> Vec<User> {
        (from..from + n)
            .map(|i| user(&i.to_string(), &format!("u{i:05}"), "client1"))
            .collect()
    }

    fn page_request(effects: &[Effect]) -> UsersRequest {
        effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::LoadUsersPage { request, .. } => Some(request.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("expected a users page load in {effects:?}"))
    }

    fn deliver_page(state: &mut State, request: UsersRequest, rows: Vec<User>) -> Vec<Effect> {
        update(
            state,
            Msg::UsersPage {
                request,
                result: Ok(rows),
            },
        )
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
            TenantCatalog::new(vec!["client1".into(), "client2".into()]),
            UserCount {
                value: 1,
                estimated: false,
            },
            vec![user("1", "a", "client1")],
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
    fn filtering_asks_the_database_and_drops_superseded_pages() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        assert!(state.filter.editing);
        let first = page_request(&press(&mut state, KeyCode::Char('R')));
        let effects = chars(&mut state, "ICH");
        let current = page_request(&effects[effects.len() - 1..]);
        assert_eq!(current.filter.as_deref(), Some("RICH"));
        assert_eq!(current.page, Page::First);
        assert!(current.generation > first.generation);
        assert!(
            matches!(effects.last(), Some(Effect::LoadUsersPage { delay, .. }) if *delay == state.debounce)
        );

        // The page for "R" arrives late: dropped.
        assert!(deliver_page(&mut state, first, demo_users()).is_empty());
        assert_eq!(state.users.len(), 4);
        let effects = deliver_page(&mut state, current, vec![user("1", "rich_dude", "client1")]);
        assert_eq!(state.users.len(), 1);
        assert_eq!(state.selected_user().unwrap().name, "rich_dude");
        assert_eq!(
            load_key(&effects).user_id,
            "1",
            "the new selection's orders load"
        );
        assert!(state.users_complete());

        press(&mut state, KeyCode::Enter);
        assert!(!state.filter.editing);
        assert_eq!(state.filter.text, "RICH");
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "q");
        assert!(!state.quit, "q is text while filtering");
        press(&mut state, KeyCode::Backspace);
        let effects = press(&mut state, KeyCode::Esc);
        assert!(!state.quit, "Esc clears the filter, it does not quit");
        assert_eq!(state.filter.text, "");
        // Cleared: the whole list again, from the selected user on.
        let request = page_request(&effects);
        assert_eq!(request.filter, None);
        assert_eq!(
            request.page,
            Page::From(UserKey {
                name: "rich_dude".into(),
                id: "1".into()
            })
        );
        deliver_page(&mut state, request, demo_users()[2..].to_vec());
        assert_eq!(
            state.selected_user().unwrap().name,
            "rich_dude",
            "selection kept"
        );
        assert!(!state.users_at_start);
        let pending = state
            .users_request
            .clone()
            .expect("the users before rich_dude are on their way");
        assert!(matches!(pending.page, Page::Before(_)));
    }

    #[test]
    fn a_filter_that_matches_nobody_cancels_the_orders_load() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        let request = page_request(&chars(&mut state, "zzz"));
        let effects = deliver_page(&mut state, request, Vec::new());
        assert!(state.users.is_empty());
        assert_eq!(state.orders, OrdersPane::NoUser);
        assert_eq!(effects.last(), Some(&Effect::CancelOrders));
    }

    #[test]
    fn the_window_pages_forward_and_back_and_stays_bounded() {
        use crate::app::state::{PAGE_SIZE, WINDOW_CAP};
        let count = UserCount {
            value: 1_000_000,
            estimated: true,
        };
        let mut state = State::new("big".into(), catalog(), count, numbered(0, PAGE_SIZE), None);
        state.size = (120, 30);
        init(&mut state);
        assert!(!state.users_at_end);

        // Walking down: the next page is asked for before the edge, once.
        let mut requests = Vec::new();
        for _ in 0..PAGE_SIZE - 1 {
            let effects = press(&mut state, KeyCode::Char('j'));
            requests.extend(
                effects
                    .iter()
                    .filter(|e| matches!(e, Effect::LoadUsersPage { .. }))
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
        assert_eq!(state.users.len(), 2 * PAGE_SIZE);

        // Keep going: the window never holds more than WINDOW_CAP users.
        for page in 2..10 {
            while state.users_request.is_none() {
                press(&mut state, KeyCode::PageDown);
            }
            let request = state.users_request.clone().unwrap();
            deliver_page(&mut state, request, numbered(page * PAGE_SIZE, PAGE_SIZE));
            assert!(state.users.len() <= WINDOW_CAP);
        }
        assert!(!state.users_at_start);
        let selected = state.selected_user().unwrap().clone();

        // Back up: the page before is prepended and the selection stays put.
        while state.users_request.is_none() {
            press(&mut state, KeyCode::PageUp);
        }
        let request = state.users_request.clone().unwrap();
        assert!(matches!(request.page, Page::Before(_)));
        let on_screen = state.selected_user().unwrap().clone();
        let first = state.users[0].id.parse::<usize>().unwrap();
        deliver_page(&mut state, request, numbered(first - PAGE_SIZE, PAGE_SIZE));
        assert_eq!(state.selected_user().unwrap(), &on_screen);
        assert!(state.users.len() <= WINDOW_CAP);
        assert_ne!(on_screen, selected);

        // G and g jump without reading the table: one page each.
        let effects = press(&mut state, KeyCode::Char('G'));
        let request = page_request(&effects);
        assert_eq!(request.page, Page::Last);
        deliver_page(&mut state, request, numbered(999_900, PAGE_SIZE));
        assert!(state.users_at_end);
        assert_eq!(state.selected_user().unwrap().id, "999999");
        let request = page_request(&press(&mut state, KeyCode::Char('g')));
        assert_eq!(request.page, Page::First);
        deliver_page(&mut state, request, numbered(0, PAGE_SIZE));
        assert_eq!(state.selected_user().unwrap().id, "0");
        assert!(state.users_at_start);
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
    fn reload_reloads_catalog_users_and_orders() {
        let mut state = demo_state();
        let effects = press(&mut state, KeyCode::Char('r'));
        assert_eq!(effects[0], Effect::LoadCatalog);
        assert!(state.users_loading());
        let request = page_request(&effects);
        assert_eq!(request.page, Page::From(demo_users()[0].key.clone()));
        let key = load_key(&effects);
        // Same catalog: no second orders load.
        let effects = update(
            &mut state,
            Msg::CatalogLoaded(Ok((
                catalog(),
                UserCount {
                    value: 5,
                    estimated: false,
                },
            ))),
        );
        assert!(effects.is_empty());
        assert_eq!(state.user_count.value, 5);
        deliver_page(&mut state, request, demo_users());
        assert_eq!(state.selected_user().unwrap().name, "mid_dude");
        assert_eq!(state.orders.key(), Some(&key));
        let request = page_request(&press(&mut state, KeyCode::Char('r')));
        update(
            &mut state,
            Msg::UsersPage {
                request,
                result: Err(DbError::Query("connection refused".into())),
            },
        );
        assert_eq!(
            state.users_error.as_deref(),
            Some("query failed: connection refused")
        );
    }

    fn many_tenants(n: usize) -> TenantCatalog {
        TenantCatalog::new((1..=n).map(|i| format!("tenant_{i:04}")).collect())
    }

    #[test]
    fn health_view_opens_loads_and_finds_leaks_for_the_selected_tenant() {
        use crate::app::state::{Load, View};
        use crate::db::{Count, HealthReport, HealthStatus, TenantHealth};
        let mut state = demo_state();
        assert_eq!(
            press(&mut state, KeyCode::Char('t')),
            vec![Effect::LoadHealth]
        );
        assert_eq!(state.view, View::Health);
        let tenant = |name: &str| TenantHealth {
            tenant: name.into(),
            status: HealthStatus::Ok,
            users: Count::exact(1),
            items: None,
            orders: None,
            drift: Vec::new(),
        };
        let report = HealthReport {
            tenants: vec![tenant("client1"), tenant("client2")],
            references: Vec::new(),
            orphan_organizations: Vec::new(),
            unused_tenants: Vec::new(),
        };
        update(
            &mut state,
            Msg::HealthLoaded {
                result: Ok(report),
                elapsed: Duration::ZERO,
            },
        );
        press(&mut state, KeyCode::Char('j'));
        assert_eq!(
            press(&mut state, KeyCode::Char('L')),
            vec![Effect::LoadLeaks {
                tenant: "client2".into()
            }]
        );
        // A late answer for another tenant is not shown as this one's.
        update(
            &mut state,
            Msg::LeaksLoaded {
                tenant: "client1".into(),
                result: Ok(Vec::new()),
                elapsed: Duration::ZERO,
            },
        );
        assert_eq!(state.health.leaks, Some(("client2".into(), Load::Loading)));
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "t is not bound here"
        );
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert!(!state.quit, "Esc goes back, it does not quit");
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "the report is kept"
        );
    }

    #[test]
    fn price_matrix_fetches_only_the_visible_columns() {
        use crate::db::{PriceMatrix, PriceRow};
        let count = UserCount {
            value: 4,
            estimated: false,
        };
        let mut state = State::new("big".into(), many_tenants(2000), count, demo_users(), None);
        state.size = (120, 30);
        init(&mut state);
        let effects = press(&mut state, KeyCode::Char('p'));
        let columns = crate::ui::layout::price_columns(120);
        let first = match &effects[..] {
            [Effect::LoadPrices { tenants }] => tenants.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(first.len(), columns);
        assert_eq!(first[0], "tenant_0001");
        // Moving right within the window reads nothing; past it, the next columns.
        for _ in 0..columns - 1 {
            assert!(press(&mut state, KeyCode::Char('l')).is_empty());
        }
        let shifted = match &press(&mut state, KeyCode::Char('l'))[..] {
            [Effect::LoadPrices { tenants }] => tenants.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(shifted[0], "tenant_0002");
        assert_eq!(shifted.len(), columns);
        // The answer for the old window is dropped.
        let stale = PriceMatrix {
            tenants: first.clone(),
            rows: Vec::new(),
        };
        update(
            &mut state,
            Msg::PricesLoaded {
                tenants: first,
                result: Ok(stale),
                elapsed: Duration::ZERO,
            },
        );
        assert!(state.prices.matrix.value().is_none());
        let row = PriceRow::new(
            "Tesla".into(),
            shifted.iter().map(|_| Some(Default::default())).collect(),
            &shifted,
        );
        let matrix = PriceMatrix {
            tenants: shifted.clone(),
            rows: vec![row],
        };
        update(
            &mut state,
            Msg::PricesLoaded {
                tenants: shifted,
                result: Ok(matrix),
                elapsed: Duration::ZERO,
            },
        );
        assert!(state.prices.matrix.value().is_some());

        // Enter: the users of the selected tenant who ordered the item.
        let effects = press(&mut state, KeyCode::Enter);
        let request = match &effects[..] {
            [Effect::LoadOrderedBy {
                request,
                tenant,
                item,
            }] => {
                assert_eq!(
                    (tenant.as_str(), item.as_str()),
                    (state.catalog.names()[columns].as_str(), "Tesla")
                );
                request.clone()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(state.view, crate::app::state::View::Dashboard);
        deliver_page(&mut state, request, vec![user("7", "buyer", "tenant_0009")]);
        assert!(
            state.users_complete(),
            "the list is whole: no paging into the full table"
        );
        assert_eq!(state.selected_user().unwrap().name, "buyer");
        let effects = press(&mut state, KeyCode::Esc);
        assert!(!state.quit, "Esc leaves the list first");
        assert_eq!(state.list_label, None);
        assert_eq!(page_request(&effects).page, Page::First);
    }

    #[test]
    fn export_writes_what_the_view_shows() {
        let mut state = demo_state();
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        assert_eq!(
            state.notice,
            Some(Err("nothing loaded to export yet".into()))
        );
        let key = state.orders.key().unwrap().clone();
        let line = crate::db::OrderLine {
            item_id: Some("1".into()),
            item: Some("Tesla".into()),
            quantity: Some(2),
            unit_price: Some(3500.into()),
            total: Some(7000.into()),
            compare_unit_price: None,
            compare_total: None,
        };
        let report = OrdersReport {
            tenant: "client3".into(),
            compare_tenant: key.compare.clone(),
            lines: vec![line],
            total: 7000.into(),
            compare_total: Some(0.into()),
        };
        update(
            &mut state,
            Msg::OrdersLoaded {
                key,
                result: Ok(report),
                elapsed: Duration::ZERO,
            },
        );
        match &press(&mut state, KeyCode::Char('e'))[..] {
            [Effect::Export { stem, csv }] => {
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
            Some(Ok("./tenantscope-orders-3-1.csv".into()))
        );
        press(&mut state, KeyCode::Char('j'));
        assert_eq!(state.notice, None, "the notice goes with the next key");
    }
}
