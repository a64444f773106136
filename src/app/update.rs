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
