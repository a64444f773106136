//! The dashboard: the users list beside the selected user's priced orders.

mod filter;
mod keys;
mod loads;
mod status;
mod window;

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

pub use filter::Filter;
use loads::{ask_page, lines_page, prefetch, prefetch_lines, reload_catalog, users_page};
pub use loads::{
    init, on_msg, open_on_user, refresh, refresh_catalog, request_orders, restore, resume,
    show_buyers, show_tenant, Buyers, Job, Msg, OrdersKey, LINES_SLOT, ORDERS_SLOT, TOTALS_SLOT,
    USERS_SLOT,
};
use status::{export, status, warning};
pub use window::{
    Jump, LinesRequest, LinesWindow, UsersRequest, UsersWindow, Window, WindowRequest, WindowRow,
    PAGE_SIZE, PREFETCH_MARGIN, WINDOW_CAP,
};

pub use keys::{FILTERING, KEYS, KEYS_ORDERS};
use keys::{KEYS_NARROWED, KEYS_TENANT};

use crate::app::keymap::Action;
use crate::app::load::{Load, Ticket};
use crate::app::msg::{Delay, Effect};
use crate::app::screen::Screen;
use crate::app::state::State;
use crate::db::{
    choose_compare_tenant, CompareChoice, DbError, OrdersReport, OrdersTotals, Page, TenantCatalog,
    User, UserCount,
};
use crate::geometry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Users,
    Orders,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub users: UsersWindow,
    pub filter: Filter,
    /// The list shows a fixed set (who ordered an item), not the table.
    pub list_label: Option<String>,
    /// What that fixed set reads (to read it again, see `resume`).
    pub buyers: Option<Buyers>,
    /// The comparison tenant asked for (`--compare`, config, `c`/`C`).
    pub compare: Option<String>,
    /// The selected user's orders: the report (the first page of lines,
    /// the totals once known) as the orders pane shows it.
    pub orders: Load<OrdersKey, OrdersReport, DbError>,
    /// The totals over every line, computed by the server after the
    /// first page came (merged into the report as they arrive).
    pub totals: Load<OrdersKey, OrdersTotals, DbError>,
    /// The order lines held, paged in by key as the cursor moves (the
    /// orders pane's cursor, moved when the pane has the focus).
    pub lines: LinesWindow,
    pub focus: Focus,
    /// The one tenant whose users the list shows (from the tenants pane).
    pub tenant: Option<crate::db::TenantEntry>,
    /// The detail popup (Enter), over the dashboard.
    pub detail: Option<crate::app::detail::Detail>,
}

/// An empty list: `State::new` puts the first page in.
impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard::new(Vec::new(), None)
    }
}

use Action::*;

pub const SCREEN: Screen = Screen {
    refresh,
    keys: |state| {
        let dashboard = &state.dashboard;
        if dashboard.detail.is_some() {
            crate::app::detail::KEYS
        } else if dashboard.filter.prompt.editing && dashboard.filter.history.is_empty() {
            keys::FILTERING_FIRST
        } else if dashboard.filter.prompt.editing {
            FILTERING
        } else if dashboard.focus == Focus::Orders {
            KEYS_ORDERS
        } else if !dashboard.filter.text.is_empty() {
            KEYS_NARROWED
        } else if let Some(to) = state.nav.places().last() {
            keys::back_to(to)
        } else if dashboard.list_label.is_some() {
            KEYS_NARROWED
        } else if dashboard.tenant.is_some() || state.tenants.per_tenant {
            KEYS_TENANT
        } else {
            KEYS
        }
    },
    on_action,
    on_key: filter::edit,
    on_mouse,
    loads: |state| {
        vec![
            &state.catalog_load,
            &state.dashboard.users,
            &state.dashboard.orders,
            &state.dashboard.totals,
            &state.dashboard.lines,
        ]
    },
    status,
    fresh: ORDERS_SLOT.0,
    warning,
    export,
    help: &[
        ("Keys", KEYS),
        ("In the orders pane (Tab or → to it)", keys::ORDERS_PANE),
        ("While filtering (←/→ Home/End Ctrl-U/W edit)", FILTERING),
        ("Details popup", crate::app::detail::KEYS),
        (
            "Comparison picker (type to filter)",
            crate::app::picker::COMPARE_KEYS,
        ),
    ],
    marks: &[
        ("!", "tenant schema missing"),
        ("-", "user has no tenant"),
        ("▼", "comparison tenant cheaper"),
        ("▲", "comparison tenant dearer"),
        ("—", "not sold there, or no item"),
        ("NULL", "sold at a NULL price"),
    ],
    ..Screen::BASE
};

impl Dashboard {
    pub fn new(first_page: Vec<User>, compare: Option<String>) -> Dashboard {
        Dashboard {
            users: UsersWindow::new(first_page),
            filter: Filter::default(),
            list_label: None,
            buyers: None,
            compare,
            orders: Load::default(),
            totals: Load::default(),
            lines: LinesWindow::default(),
            focus: Focus::Users,
            tenant: None,
            detail: None,
        }
    }

    /// The comparison tenant for the selected user (never their own).
    pub fn compare_choice(&self, catalog: &TenantCatalog) -> CompareChoice {
        let own = self.users.selected().and_then(|u| u.tenant.as_deref());
        let requested = self.compare.as_deref().filter(|t| catalog.contains(t));
        choose_compare_tenant(catalog, own, requested).unwrap_or(CompareChoice {
            tenant: None,
            replaced_own: false,
        })
    }
}

fn screen(state: &State) -> Rect {
    Rect::new(0, 0, state.session.size.0, state.session.size.1)
}

/// Rows of the users table on screen.
pub fn user_rows(state: &State) -> usize {
    geometry::table_rows(geometry::areas(screen(state)).users).max(1)
}

/// Order lines on screen (the notes under the totals may take some:
/// the pane keeps the cursor's line on screen as it draws).
pub fn order_rows(state: &State) -> usize {
    geometry::order_rows(geometry::areas(screen(state)).orders).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    if state.dashboard.detail.is_some() {
        return crate::app::detail::on_action(state, action);
    }
    let rows = user_rows(state);
    let page = match state.dashboard.focus {
        Focus::Users => rows,
        Focus::Orders => order_rows(state),
    } as isize;
    if state.catalog_partial && needs_catalog(action) {
        if !state.catalog_load.is_loading() {
            // Its read failed (the status line says why): nothing to wait for.
            state.notice = Some(Err(
                "the tenant catalogue is not read: r reads it again".into()
            ));
            return Vec::new();
        }
        // Taken as soon as the catalog comes (see `on_catalog`).
        state.after_catalog = Some(action);
        state.notice = Some(Ok("held until the tenant catalogue is read…".into()));
        return Vec::new();
    }
    match action {
        Up => move_by(state, -1),
        Down => move_by(state, 1),
        PageUp => move_by(state, -page),
        PageDown => move_by(state, page),
        First => jump(state, Page::First),
        Last => jump(state, Page::Last),
        OpenHealth => crate::app::health::open(state),
        OpenPrices => crate::app::prices::open(state),
        OpenProfiles => crate::app::connect::open_picker(state),
        OpenBasket => crate::app::basket::open(state),
        OpenTenants => crate::app::tenants::open(state),
        // Users in each tenant: `/` over all of them is the batched search.
        StartFilter if state.tenants.per_tenant && state.dashboard.tenant.is_none() => {
            crate::app::tenants::start_search(state)
        }
        StartFilter => filter::start(state),
        KeepFilter => filter::keep(state),
        OlderEntry => filter::recall(state, true),
        NewerEntry => filter::recall(state, false),
        Back => filter::back(state),
        ShowDetail => match state.dashboard.focus {
            Focus::Users => crate::app::detail::open_user(state),
            Focus::Orders => crate::app::detail::open_line(state),
        },
        CopyId | CopyRow if state.dashboard.focus == Focus::Orders => {
            crate::app::detail::copy_line(state)
        }
        CopyId => crate::app::detail::copy_user(state, false),
        CopyRow => crate::app::detail::copy_user(state, true),
        NextCompare => cycle_compare(state, false),
        PreviousCompare => cycle_compare(state, true),
        PickCompare => crate::app::picker::open_compare(state),
        SwitchFocus => {
            let dashboard = &mut state.dashboard;
            dashboard.focus = match dashboard.focus {
                Focus::Users => Focus::Orders,
                Focus::Orders => Focus::Users,
            };
            Vec::new()
        }
        Left => {
            state.dashboard.focus = Focus::Users;
            Vec::new()
        }
        Right => {
            state.dashboard.focus = Focus::Orders;
            Vec::new()
        }
        Reload => {
            let ticket = state.ticket();
            state.catalog_load.start(ticket);
            state.mark_read_again();
            let mut effects = vec![reload_catalog(ticket)];
            // Reload the window from the selected user on, keeping them selected.
            let page = match state.selected_user() {
                // The exact id match of a filter sits on the first page.
                Some(user) if !user.key.pinned => Page::From(user.key.clone()),
                _ => Page::First,
            };
            effects.extend(ask_page(state, page, false));
            effects.extend(request_orders(state, Delay::None));
            effects
        }
        _ => Vec::new(),
    }
}

/// Actions that read the whole tenant catalog (views of every tenant,
/// the comparison tenant): while it is partial they wait for it.
fn needs_catalog(action: Action) -> bool {
    matches!(
        action,
        OpenHealth
            | OpenPrices
            | OpenBasket
            | OpenTenants
            | NextCompare
            | PreviousCompare
            | PickCompare
    )
}

fn jump(state: &mut State, page: Page) -> Vec<Effect> {
    if state.dashboard.focus == Focus::Orders {
        let rows = order_rows(state);
        let ticket = state.ticket();
        let page = match page {
            Page::First => Page::First,
            _ => Page::Last,
        };
        return match state.dashboard.lines.jump(ticket, page, rows) {
            Jump::Load(Some(request)) => lines_page(state, request),
            _ => Vec::new(),
        };
    }
    let rows = user_rows(state);
    let ticket = state.ticket();
    match state.dashboard.users.jump(ticket, page, rows) {
        Jump::Moved(true) => request_orders(state, Delay::Debounce(state.session.debounce)),
        Jump::Moved(false) => Vec::new(),
        Jump::Load(request) => request
            .map(|r| vec![users_page(r, Delay::None)])
            .unwrap_or_default(),
    }
}

fn move_by(state: &mut State, delta: isize) -> Vec<Effect> {
    match state.dashboard.focus {
        Focus::Users => {
            let rows = user_rows(state);
            let mut effects = Vec::new();
            if state.dashboard.users.move_by(delta, rows) {
                effects = request_orders(state, Delay::Debounce(state.session.debounce));
            }
            effects.extend(prefetch(state));
            effects
        }
        Focus::Orders => {
            let rows = order_rows(state);
            state.dashboard.lines.move_by(delta, rows);
            prefetch_lines(state)
        }
    }
}

fn select(state: &mut State, index: usize) -> Vec<Effect> {
    let rows = user_rows(state);
    if state.dashboard.users.select(index, rows) {
        request_orders(state, Delay::Debounce(state.session.debounce))
    } else {
        Vec::new()
    }
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
    state.dashboard.compare = next;
    request_orders(state, Delay::None)
}

fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    if state.dashboard.detail.is_some() {
        return Vec::new();
    }
    let areas = geometry::areas(screen(state));
    let at = Position::new(mouse.column, mouse.row);
    match mouse.kind {
        MouseEventKind::ScrollDown => move_by(state, 1),
        MouseEventKind::ScrollUp => move_by(state, -1),
        MouseEventKind::Down(MouseButton::Left) if areas.users.contains(at) => {
            state.dashboard.focus = Focus::Users;
            let body = geometry::table_body(areas.users);
            match mouse.row.checked_sub(body.y) {
                Some(row) if body.contains(at) => {
                    let index = state.dashboard.users.cursor().offset + row as usize;
                    select(state, index)
                }
                _ => Vec::new(),
            }
        }
        MouseEventKind::Down(MouseButton::Left) if areas.orders.contains(at) => {
            state.dashboard.focus = Focus::Orders;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A reloaded catalog and user count; a reload superseded by another is dropped.
fn on_catalog(
    state: &mut State,
    ticket: Ticket,
    result: Result<(TenantCatalog, UserCount), DbError>,
    read: crate::app::msg::ReadTime,
) -> Vec<Effect> {
    let (catalog, count) = match result {
        Ok(loaded) => loaded,
        Err(error) => {
            let error = Err(error.into());
            if state
                .catalog_load
                .accept(&ticket, error, Default::default())
                && state.after_catalog.take().is_some()
            {
                // A key held for it is not run by a later reload.
                state.notice = None;
            }
            return Vec::new();
        }
    };
    if !state
        .catalog_load
        .accept(&ticket, Ok(()), Default::default())
    {
        return Vec::new();
    }
    read.taken(state);
    loads::take_read_count(state, count);
    let first = std::mem::take(&mut state.catalog_partial);
    // A list walked to its end counts itself, closer to now than the
    // count read (an estimate past 100,000 users).
    loads::count_whole_list(state);
    if first {
        // The first frame's catalog was the first page's tenants: now the
        // comparison tenant can be chosen, and the orders read.
        state.catalog = catalog;
        let mut effects = request_orders(state, Delay::None);
        if let Some(action) = state.after_catalog.take() {
            // Only where the key was pressed: not into a prompt, a popup or
            // another view opened meanwhile.
            let undisturbed = state.view == crate::app::state::View::Dashboard
                && !state.help_open
                && state.picker.is_none()
                && state.dashboard.detail.is_none()
                && !state.dashboard.filter.prompt.editing;
            if undisturbed {
                state.notice = None;
                effects.extend(on_action(state, action));
            }
        }
        return effects;
    }
    if catalog == state.catalog {
        return Vec::new();
    }
    state.catalog = catalog;
    // Tenants appeared or vanished: the comparison may differ.
    request_orders(state, Delay::None)
}

pub fn on_resize(state: &mut State) {
    let rows = user_rows(state);
    state.dashboard.users.keep_visible(rows);
    let rows = order_rows(state);
    state.dashboard.lines.keep_visible(rows);
}

#[cfg(test)]
mod tests;
