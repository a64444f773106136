//! The tenant health view, the price matrix and exports: their part of the
//! pure `update`.

use std::time::Duration;

use super::keymap::Action;
use super::msg::{Effect, UsersRequest};
use super::state::{Focus, Load, OrdersPane, State, View};
use crate::cli::Format;
use crate::db::{Page, PriceSort};
use crate::ui::layout;

pub(super) fn open_health(state: &mut State) -> Vec<Effect> {
    state.view = View::Health;
    match state.health.report {
        Load::NotAsked | Load::Failed(_) => reload_health(state),
        _ => Vec::new(),
    }
}

fn reload_health(state: &mut State) -> Vec<Effect> {
    state.health.report = Load::Loading;
    state.health.leaks = None;
    vec![Effect::LoadHealth]
}

pub(super) fn open_prices(state: &mut State) -> Vec<Effect> {
    state.view = View::Prices;
    request_prices(state, false)
}

/// The tenants whose columns fit on screen, from the first shown.
fn visible_tenants(state: &State) -> Vec<String> {
    let columns = layout::price_columns(state.size.0);
    let names = state.catalog.names();
    let first = state.prices.first_column.min(names.len());
    names[first..(first + columns).min(names.len())].to_vec()
}

/// Loads the prices of the visible columns, unless they are loaded or on
/// their way: at 2,000 tenants only what is on screen is read.
pub(super) fn request_prices(state: &mut State, force: bool) -> Vec<Effect> {
    let tenants = visible_tenants(state);
    let shown = state.prices.matrix.value().map(|m| &m.tenants);
    if !force && (state.prices.pending.as_ref() == Some(&tenants) || shown == Some(&tenants)) {
        return Vec::new();
    }
    state.prices.pending = Some(tenants.clone());
    vec![Effect::LoadPrices { tenants }]
}

pub(super) fn on_health_action(state: &mut State, action: Action) -> Vec<Effect> {
    let tenants = state.health.report.value().map_or(0, |r| r.tenants.len());
    let rows = layout::health_rows(state.size).max(1);
    let view = &mut state.health;
    let moved = |delta: isize, view: &mut super::state::HealthView| {
        let last = tenants.saturating_sub(1) as isize;
        view.selected = (view.selected as isize)
            .saturating_add(delta)
            .clamp(0, last) as usize;
        view.offset = keep_visible(view.selected, view.offset, rows);
        Vec::new()
    };
    match action {
        Action::Up => moved(-1, view),
        Action::Down => moved(1, view),
        Action::PageUp => moved(-(rows as isize), view),
        Action::PageDown => moved(rows as isize, view),
        Action::First => moved(isize::MIN / 2, view),
        Action::Last => moved(isize::MAX / 2, view),
        Action::ShowLeaks => {
            let Some(report) = state.health.report.value() else {
                return Vec::new();
            };
            let Some(tenant) = report.tenants.get(state.health.selected) else {
                return Vec::new();
            };
            let tenant = tenant.tenant.clone();
            state.health.leaks = Some((tenant.clone(), Load::Loading));
            vec![Effect::LoadLeaks { tenant }]
        }
        Action::Reload => reload_health(state),
        _ => Vec::new(),
    }
}

pub(super) fn on_prices_action(state: &mut State, action: Action) -> Vec<Effect> {
    let items = state.prices.matrix.value().map_or(0, |m| m.rows.len());
    let rows = layout::price_rows(state.size).max(1);
    let move_row = |state: &mut State, delta: isize| {
        let last = items.saturating_sub(1) as isize;
        let view = &mut state.prices;
        view.row = (view.row as isize).saturating_add(delta).clamp(0, last) as usize;
        view.row_offset = keep_visible(view.row, view.row_offset, rows);
        Vec::new()
    };
    match action {
        Action::Up => move_row(state, -1),
        Action::Down => move_row(state, 1),
        Action::PageUp => move_row(state, -(rows as isize)),
        Action::PageDown => move_row(state, rows as isize),
        Action::First => move_row(state, isize::MIN / 2),
        Action::Last => move_row(state, isize::MAX / 2),
        Action::Left | Action::Right => {
            let last = state.catalog.len().saturating_sub(1);
            let view = &mut state.prices;
            view.column = match action {
                Action::Left => view.column.saturating_sub(1),
                _ => (view.column + 1).min(last),
            };
            let columns = layout::price_columns(state.size.0).max(1);
            view.first_column = keep_visible(view.column, view.first_column, columns);
            request_prices(state, false)
        }
        Action::ToggleSort => {
            let view = &mut state.prices;
            view.sort = match view.sort {
                PriceSort::Spread => PriceSort::Name,
                PriceSort::Name => PriceSort::Spread,
            };
            if let Load::Loaded { value, .. } = &mut view.matrix {
                value.sort(view.sort);
            }
            view.row = 0;
            view.row_offset = 0;
            Vec::new()
        }
        Action::Jump => jump_to_buyers(state),
        Action::Reload => request_prices(state, true),
        _ => Vec::new(),
    }
}

/// Enter on a cell: that tenant's users who ordered the item, in the
/// users list of the dashboard.
fn jump_to_buyers(state: &mut State) -> Vec<Effect> {
    let Some(matrix) = state.prices.matrix.value() else {
        return Vec::new();
    };
    let (Some(row), Some(tenant)) = (
        matrix.rows.get(state.prices.row),
        state.catalog.names().get(state.prices.column),
    ) else {
        return Vec::new();
    };
    let (item, tenant) = (row.description.clone(), tenant.clone());
    if matrix.price(state.prices.row, &tenant) == crate::money::Value::Missing {
        state.notice = Some(Err(format!(
            "{} does not sell {}",
            crate::text::sanitize(&tenant),
            crate::text::sanitize(&item)
        )));
        return Vec::new();
    }
    state.view = View::Dashboard;
    state.focus = Focus::Users;
    state.filter = Default::default();
    state.list_label = Some(format!("who ordered {item} in {tenant}"));
    state.users_generation += 1;
    let request = UsersRequest {
        generation: state.users_generation,
        filter: None,
        page: Page::First,
        keep_selection: false,
    };
    state.users_request = Some(request.clone());
    vec![Effect::LoadOrderedBy {
        request,
        tenant,
        item,
    }]
}

/// Leaves the "who ordered" list for the whole users table again.
pub(super) fn leave_fixed_list(state: &mut State) -> Vec<Effect> {
    state.list_label = None;
    state.users_generation += 1;
    let request = UsersRequest {
        generation: state.users_generation,
        filter: None,
        page: Page::First,
        keep_selection: true,
    };
    state.users_request = Some(request.clone());
    vec![Effect::LoadUsersPage {
        request,
        delay: Duration::ZERO,
    }]
}

fn keep_visible(selected: usize, offset: usize, rows: usize) -> usize {
    if selected < offset {
        selected
    } else if selected >= offset + rows {
        selected + 1 - rows
    } else {
        offset
    }
}

/// `e`: everything the view shows (all its rows, not only those on
/// screen) as CSV in the current directory.
pub(super) fn export(state: &mut State) -> Vec<Effect> {
    let made = match state.view {
        View::Dashboard => match (&state.orders, state.selected_user()) {
            (OrdersPane::Loaded { report, .. }, Some(user)) => Some((
                format!("orders-{}", file_safe(&user.id)),
                crate::output::orders(user, report, Format::Csv),
            )),
            _ => None,
        },
        View::Health => state
            .health
            .report
            .value()
            .map(|report| ("health".to_string(), crate::output::health_csv(report))),
        View::Prices => state.prices.matrix.value().map(|matrix| {
            (
                "prices".to_string(),
                crate::output::prices(matrix, Format::Csv),
            )
        }),
    };
    match made {
        Some((stem, csv)) => vec![Effect::Export { stem, csv }],
        None => {
            state.notice = Some(Err("nothing loaded to export yet".into()));
            Vec::new()
        }
    }
}

/// Keeps letters, digits, `-` and `_` of a value used in a file name.
fn file_safe(text: &str) -> String {
    let safe: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(40)
        .collect();
    if safe.is_empty() {
        "user".into()
    } else {
        safe
    }
}
