//! The dashboard's loads: users pages, "who ordered" lists and priced
//! orders; the jobs that read them and the messages that bring them back.

use std::time::Duration;

use super::window::{LinesRequest, LinesWindow, UsersRequest, PAGE_SIZE};
use super::{order_rows, user_rows, Dashboard, Filter, Focus};
use crate::app::load::{timed, Keyed, Ticket};
use crate::app::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use crate::app::state::{State, View};
use crate::db::{
    Database, DbError, ItemRule, KeyedLine, OrdersReport, OrdersTotals, Page, QueryHandle,
    TenantCatalog, User, UserCount,
};

/// What a "who ordered" list reads: `tenant`'s users who ordered `item`
/// (a matrix row, matched by `rule` on `key`). Kept with the list, so a
/// list put back while it was still loading (see `app::nav`) is read again.
#[derive(Debug, Clone, PartialEq)]
pub struct Buyers {
    pub tenant: String,
    pub item: String,
    pub rule: ItemRule,
    pub key: String,
}

impl Buyers {
    /// The job reading this list, as `request`.
    fn job(&self, request: UsersRequest) -> Effect {
        let job = Job::OrderedBy {
            request,
            tenant: self.tenant.clone(),
            item: self.item.clone(),
            rule: self.rule.clone(),
            key: self.key.clone(),
        };
        AppJob::Dashboard(job).task(USERS_SLOT, Delay::None)
    }
}

/// What an orders load is for. A result whose ticket is no longer the
/// current one is dropped: the selection moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersKey {
    pub user_id: String,
    pub compare: Option<String>,
    pub ticket: Ticket,
}

impl Keyed for OrdersKey {
    fn ticket(&self) -> Ticket {
        self.ticket
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    UsersPage {
        request: UsersRequest,
        result: Result<Vec<User>, DbError>,
    },
    OrdersLoaded {
        key: OrdersKey,
        result: Result<OrdersReport, DbError>,
        elapsed: Duration,
    },
    /// The totals over every line (the server's aggregate).
    OrdersTotals {
        key: OrdersKey,
        result: Result<OrdersTotals, DbError>,
        elapsed: Duration,
    },
    /// A page of the order lines.
    LinesPage {
        request: LinesRequest,
        result: Result<Vec<KeyedLine>, DbError>,
    },
    /// The tenant catalog and the user count, after a reload.
    Catalog {
        ticket: Ticket,
        result: Result<(TenantCatalog, UserCount), DbError>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// The tenant catalog and the user count again (`r`, the refresh timer).
    Catalog {
        ticket: Ticket,
    },
    UsersPage(UsersRequest),
    /// Users of `tenant` who ordered `item` (a matrix row: matched by
    /// `rule` on `key`), as the users list.
    OrderedBy {
        request: UsersRequest,
        tenant: String,
        item: String,
        rule: ItemRule,
        key: String,
    },
    /// The first page of the user's orders (the first screen).
    Orders {
        key: OrdersKey,
        user: User,
    },
    /// The totals over every line, when the first page was not all.
    OrdersTotals {
        key: OrdersKey,
        user: User,
    },
    /// Another page of the lines, for the orders pane's cursor.
    LinesPage {
        request: Box<LinesRequest>,
        user: User,
        compare: Option<String>,
    },
}

/// Reads the catalog and the user count again, as load `ticket`.
/// The tenant catalog and the header's user count read again, what is
/// shown kept until they come (a view's reload beside its own data).
pub fn refresh_catalog(state: &mut State) -> Effect {
    let ticket = state.ticket();
    state.catalog_load.refresh(ticket);
    reload_catalog(ticket)
}

pub fn reload_catalog(ticket: Ticket) -> Effect {
    AppJob::Dashboard(Job::Catalog { ticket }).task(Slot("catalog"), Delay::None)
}

pub const USERS_SLOT: Slot = Slot("users page");
pub const ORDERS_SLOT: Slot = Slot("orders");
pub const TOTALS_SLOT: Slot = Slot("orders totals");
pub const LINES_SLOT: Slot = Slot("order lines");
/// At most this many users in a "who ordered" list.
const ORDERED_BY_LIMIT: i64 = 1_000;

impl Job {
    pub async fn run(self, db: Database, handle: QueryHandle) -> Msg {
        match self {
            Job::Catalog { ticket } => {
                let result = async { Ok((db.tenants().await?, db.user_count().await?)) }.await;
                Msg::Catalog { ticket, result }
            }
            Job::UsersPage(request) => {
                let db = match &request.scope {
                    Some(schema) => db.scoped_to(schema),
                    None => db,
                };
                let filter = request.filter.as_deref();
                let page = &request.page;
                let result = db
                    .users_page(filter, page, PAGE_SIZE as i64, Some(&handle))
                    .await;
                Msg::UsersPage { request, result }
            }
            Job::OrderedBy {
                request,
                tenant,
                rule,
                key,
                ..
            } => {
                let result = db
                    .users_who_ordered(&tenant, &rule, &key, ORDERED_BY_LIMIT)
                    .await;
                Msg::UsersPage { request, result }
            }
            Job::Orders { key, user } => {
                let compare = key.compare.as_deref();
                let orders = db.orders_head(&user, compare, PAGE_SIZE, Some(&handle));
                let (result, elapsed) = timed(orders).await;
                tracing::info!(
                    user = %key.user_id, compare = ?key.compare, ms = elapsed.as_millis() as u64,
                    ok = result.is_ok(), "orders loaded"
                );
                Msg::OrdersLoaded {
                    key,
                    result,
                    elapsed,
                }
            }
            Job::OrdersTotals { key, user } => {
                let compare = key.compare.as_deref();
                let totals = db.orders_totals(&user, compare, Some(&handle));
                let (result, elapsed) = timed(totals).await;
                tracing::info!(
                    user = %key.user_id, ms = elapsed.as_millis() as u64,
                    ok = result.is_ok(), "orders totals"
                );
                Msg::OrdersTotals {
                    key,
                    result,
                    elapsed,
                }
            }
            Job::LinesPage {
                request,
                user,
                compare,
            } => {
                let result = db
                    .orders_page(
                        &user,
                        compare.as_deref(),
                        &request.page,
                        PAGE_SIZE,
                        Some(&handle),
                    )
                    .await;
                Msg::LinesPage {
                    request: *request,
                    result,
                }
            }
        }
    }
}

/// `--user ID` (and `--tenant T` where users live per tenant): the list
/// opens at that user, selected. An unknown id, or a user of another
/// tenant, fails before the terminal is touched.
pub async fn open_on_user(
    state: &mut State,
    db: &Database,
    id: &str,
    tenant: Option<&str>,
) -> Result<(), crate::Failure> {
    let user = db.user_of_tenant(id, tenant).await?;
    let page = db
        .users_page(None, &Page::From(user.key), PAGE_SIZE as i64, None)
        .await?;
    state.dashboard.users = super::UsersWindow::opened_within(page);
    Ok(())
}

/// Effects to run when the dashboard opens: the first user's orders.
pub fn init(state: &mut State) -> Vec<Effect> {
    let rows = user_rows(state);
    state.dashboard.users.keep_visible(rows);
    // The first frame came before the catalog and the count: read them
    // now; the orders wait for the catalog (the comparison tenant is
    // chosen from all of it).
    let mut effects = if state.catalog_partial {
        let ticket = state.ticket();
        state.catalog_load.start(ticket);
        vec![reload_catalog(ticket)]
    } else {
        request_orders(state, Delay::None)
    };
    effects.extend(prefetch(state));
    effects
}

pub fn on_msg(state: &mut State, msg: Msg, read: ReadTime) -> Vec<Effect> {
    match msg {
        Msg::Catalog { ticket, result } => super::on_catalog(state, ticket, result, read),
        Msg::UsersPage { request, result } => {
            let rows = user_rows(state);
            let read_it = result.is_ok();
            let Some(applied) = state.dashboard.users.apply(&request, result, rows) else {
                return Vec::new();
            };
            if read_it {
                read.taken(state);
            }
            count_whole_list(state);
            let mut effects = Vec::new();
            // Or the orders were cleared (another tenant's list came in).
            if applied.moved || state.dashboard.orders.key().is_none() {
                // A filter, or a held key running on past the window: debounced
                // like any move (the runtime loads at once if the selection was
                // at rest). A jump (g, G) shows its user at once.
                let delay = if request.keep_selection || applied.continued {
                    Delay::Debounce(state.session.debounce)
                } else {
                    Delay::None
                };
                effects.extend(request_orders(state, delay));
            }
            effects.extend(prefetch(state));
            effects
        }
        Msg::OrdersLoaded {
            key,
            result,
            elapsed,
        } => orders_loaded(state, key, result, elapsed, read),
        Msg::OrdersTotals {
            key,
            result,
            elapsed,
        } => {
            if !state.dashboard.totals.accept(&key, result, elapsed) {
                return Vec::new();
            }
            if state.dashboard.totals.value().is_some() {
                read.taken(state);
            }
            let dashboard = &mut state.dashboard;
            let totals = dashboard.totals.value().cloned();
            if dashboard.orders.key() != Some(&key) {
                return Vec::new();
            }
            if let (Some(totals), Some(report)) = (totals, dashboard.orders.value_mut()) {
                report.set_totals(totals);
            }
            Vec::new()
        }
        Msg::LinesPage { request, result } => {
            let rows = order_rows(state);
            let read_it = result.is_ok();
            let applied = state.dashboard.lines.apply(&request, result, rows);
            if applied.is_none() {
                return Vec::new();
            }
            if read_it {
                read.taken(state);
            }
            prefetch_lines(state)
        }
    }
}

/// The header's user count from the list, where the list is all of it
/// (no filter, no tenant, no list opened from elsewhere) and counted (in
/// the window, or walked to its end): a user added since the count was
/// read is in the list, and the header said one fewer than the pane's
/// title until `r`; a list walked to its end read `350` beside a header's
/// `~1,000,000` (the statistics' estimate). Linked
/// users keep the count read, whose people the list does not count; so do
/// users in each tenant schema, where the count also holds tenants whose
/// users table the list cannot read.
pub(super) fn count_whole_list(state: &mut State) {
    // (A list being read again: its count is of the rows before.)
    if state.dashboard.users.is_replacing() {
        return;
    }
    let held = state.held_count.take();
    if let Some(count) = whole_list_count(state) {
        state.user_count = crate::db::UserCount {
            value: count as i64,
            estimated: false,
            people: None,
        };
    } else if let Some(held) = held {
        state.user_count = held;
    }
}

/// The count of the list shown, where it counts every user the header
/// does (see [`count_whole_list`]).
fn whole_list_count(state: &State) -> Option<usize> {
    let dashboard = &state.dashboard;
    let whole = dashboard.filter.text.is_empty()
        && !dashboard.filter.prompt.editing
        && dashboard.tenant.is_none()
        && dashboard.list_label.is_none();
    let counted_alike = !state.tenants.per_tenant && state.user_count.people.is_none();
    let count = dashboard.users.count();
    count.filter(|_| whole && !state.catalog_partial && counted_alike)
}

/// The user count a reload read, for the header. Not an estimate over
/// the whole list's count while that list is read again: the refresh
/// timer's catalog can come before its page, and the header read
/// `~1,000,000` for a moment beside the pane's `(350)`. The page counts
/// the list again; where it cannot (it failed, or no longer reaches the
/// end), the count read is the header's then.
pub(super) fn take_read_count(state: &mut State, count: crate::db::UserCount) {
    let listed = whole_list_count(state).map(|n| n as i64);
    let holds_listed = !state.user_count.estimated && listed == Some(state.user_count.value);
    state.held_count = None;
    if count.estimated && holds_listed && state.dashboard.users.is_replacing() {
        state.held_count = Some(count);
    } else {
        state.user_count = count;
    }
}

/// The first page of a user's orders: the lines' window starts there,
/// and the totals follow when the page was not all the lines. A refresh
/// of the list shown keeps the cursor: on its line when the window was
/// paged away from the top (the pages after it come fresh as it moves),
/// else at the same place in the new first page.
fn orders_loaded(
    state: &mut State,
    key: OrdersKey,
    result: Result<OrdersReport, DbError>,
    elapsed: Duration,
    read: ReadTime,
) -> Vec<Effect> {
    // `request_orders` empties the window for another user or comparison:
    // lines still there are of the list being refreshed.
    let refreshed = !state.dashboard.lines.rows().is_empty();
    if !state.dashboard.orders.accept(&key, result, elapsed) {
        return Vec::new();
    }
    let old = std::mem::take(&mut state.dashboard.lines);
    let Some(report) = state.dashboard.orders.value() else {
        // Failed: no lines to show.
        return Vec::new();
    };
    let totals_known = report.totals_known;
    let lines = report.keyed_lines();
    let whole = totals_known && report.totals.lines == lines.len();
    read.taken(state);
    let rows = order_rows(state);
    let dashboard = &mut state.dashboard;
    if refreshed && !old.at_start() {
        dashboard.lines = old;
    } else {
        dashboard.lines = if whole {
            LinesWindow::complete(lines)
        } else {
            LinesWindow::new(lines)
        };
        if refreshed {
            dashboard.lines.select(old.cursor().selected, rows);
        }
    }
    if totals_known {
        return Vec::new();
    }
    let Some(user) = dashboard.users.selected().cloned() else {
        return Vec::new();
    };
    dashboard.totals.start(key.clone());
    vec![AppJob::Dashboard(Job::OrdersTotals { key, user }).task(TOTALS_SLOT, Delay::None)]
}

/// A page of the order lines, for the user whose orders are shown.
pub(super) fn lines_page(state: &State, request: LinesRequest) -> Vec<Effect> {
    let (Some(user), Some(key)) = (
        state.dashboard.users.selected(),
        state.dashboard.orders.key(),
    ) else {
        return Vec::new();
    };
    let job = Job::LinesPage {
        request: Box::new(request),
        user: user.clone(),
        compare: key.compare.clone(),
    };
    vec![AppJob::Dashboard(job).task(LINES_SLOT, Delay::None)]
}

/// The next page of lines before the cursor reaches the window's edge.
pub(super) fn prefetch_lines(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    match state.dashboard.lines.prefetch(ticket) {
        Some(request) => lines_page(state, request),
        None => Vec::new(),
    }
}

/// A users page of the list shown.
pub(super) fn users_page(request: UsersRequest, delay: Delay) -> Effect {
    AppJob::Dashboard(Job::UsersPage(request)).task(USERS_SLOT, delay)
}

pub(super) fn ask_page(state: &mut State, page: Page, keep_selection: bool) -> Option<Effect> {
    let ticket = state.ticket();
    let request = state.dashboard.users.ask(ticket, page, keep_selection)?;
    Some(users_page(request, Delay::None))
}

pub(super) fn prefetch(state: &mut State) -> Option<Effect> {
    let ticket = state.ticket();
    let request = state.dashboard.users.prefetch(ticket)?;
    Some(users_page(request, Delay::None))
}

/// Makes the orders pane wait for the selected user's orders, superseding
/// (and so cancelling) whatever load came before.
pub fn request_orders(state: &mut State, delay: Delay) -> Vec<Effect> {
    if state.catalog_partial {
        // None read yet: the catalog's coming asks for the selected
        // user's (see `on_catalog`).
        return Vec::new();
    }
    let compare = state.compare_choice().tenant;
    let selected = state.selected_user().cloned();
    let mut effects = crate::app::basket::selection_changed(state, selected.as_ref());
    let ticket = state.ticket();
    let dashboard = &mut state.dashboard;
    // The lines and totals of the user shown before: stale, stopped.
    if dashboard.totals.is_loading() {
        effects.push(Effect::Cancel(TOTALS_SLOT));
    }
    if dashboard.lines.is_loading() {
        effects.push(Effect::Cancel(LINES_SLOT));
    }
    dashboard.lines = LinesWindow::default();
    dashboard.totals.clear();
    let Some(user) = dashboard.users.selected().cloned() else {
        dashboard.orders.clear();
        effects.push(Effect::Cancel(ORDERS_SLOT));
        return effects;
    };
    let key = OrdersKey {
        user_id: user.id.clone(),
        compare,
        ticket,
    };
    dashboard.orders.start(key.clone());
    effects.push(AppJob::Dashboard(Job::Orders { key, user }).task(ORDERS_SLOT, delay));
    effects
}

/// `ui.refresh_s`: the users on screen and the orders shown, read again;
/// the list, selection, filter and scroll stay as they are meanwhile.
pub fn refresh(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    state.catalog_load.refresh(ticket);
    let mut effects = vec![reload_catalog(ticket)];
    let dashboard = &mut state.dashboard;
    // From the top row on screen: the same rows come back in the same places.
    let top = dashboard.users.users().get(dashboard.users.cursor().offset);
    if dashboard.list_label.is_none() {
        let page = top.map_or(Page::First, |u| Page::From(u.key.clone()));
        effects.extend(ask_page(state, page, true));
    }
    let ticket = state.ticket();
    let dashboard = &mut state.dashboard;
    let (Some(user), Some(key)) = (dashboard.users.selected().cloned(), dashboard.orders.key())
    else {
        return effects;
    };
    let key = OrdersKey {
        ticket,
        ..key.clone()
    };
    dashboard.orders.refresh(key.clone());
    effects.push(AppJob::Dashboard(Job::Orders { key, user }).task(ORDERS_SLOT, Delay::None));
    effects
}

/// The dashboard put aside (`before`, see `app::nav` and the prompt's
/// Esc) put back, with the comparison now in force (the user's choice,
/// not the list's), and what it awaited asked for again ([`resume`]).
pub fn restore(state: &mut State, before: Box<super::Dashboard>) -> Vec<Effect> {
    let compare = state.dashboard.compare.take();
    state.dashboard = *before;
    state.dashboard.compare = compare;
    resume(state)
}

/// The list put back as it was when it was left (Esc, see `app::nav`, or
/// a cancelled prompt): the page it awaited then is asked for again (that
/// answer was superseded since), and the orders unless those shown are the
/// selected user's with the comparison in force.
pub fn resume(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    let page = state.dashboard.users.resume(ticket);
    // A "who ordered" list is read whole by its own job, not paged.
    let mut effects: Vec<Effect> = match (page, &state.dashboard.buyers) {
        (Some(request), _) if !state.dashboard.users.is_fixed() => {
            vec![users_page(request, Delay::None)]
        }
        (Some(request), Some(buyers)) => vec![buyers.job(request)],
        _ => Vec::new(),
    };
    let compare = state.compare_choice().tenant;
    let dashboard = &state.dashboard;
    let selected = dashboard.users.selected().map(|u| &u.id);
    let shown = dashboard
        .orders
        .done()
        .map(|d| (&d.key.user_id, &d.key.compare));
    // Totals or a page of lines still awaited were asked for by the
    // dashboard put aside: the one that replaced it may have cancelled
    // them (same slots), so they are asked for again.
    let current = !dashboard.orders.is_loading()
        && !dashboard.totals.is_loading()
        && !dashboard.lines.is_loading()
        && shown.is_some_and(|(id, shown)| Some(id) == selected && *shown == compare);
    if !current {
        effects.extend(request_orders(state, Delay::None));
    }
    effects
}

/// The dashboard's list about to be replaced by another (kept for Esc,
/// see `app::nav`), the users pane focused: the ticket of its first load.
fn list_replaced(state: &mut State) -> Ticket {
    crate::app::nav::go(state, View::Dashboard);
    crate::app::nav::list_replaced(state);
    state.dashboard.focus = Focus::Users;
    state.ticket()
}

/// The list just replaced (`users.replace`): its rows, selection and
/// orders are gone until the new list's first page is in (they used to
/// stay under the new title, and Enter or `y` acted on a user not in it).
/// The loads of the old user's orders still running are cancelled.
fn clear_replaced(dashboard: &mut Dashboard) -> Vec<Effect> {
    dashboard.users.clear_rows();
    let mut effects = vec![Effect::Cancel(ORDERS_SLOT)];
    for (loading, slot) in [
        (dashboard.totals.is_loading(), TOTALS_SLOT),
        (dashboard.lines.is_loading(), LINES_SLOT),
    ] {
        if loading {
            effects.push(Effect::Cancel(slot));
        }
    }
    dashboard.orders.clear();
    dashboard.totals.clear();
    dashboard.lines = LinesWindow::default();
    effects
}

/// Enter on a matrix cell: `tenant`'s users who ordered `item` (matched by
/// `rule` on `key`), as the list.
pub fn show_buyers(
    state: &mut State,
    tenant: String,
    item: String,
    (rule, key): (ItemRule, String),
) -> Vec<Effect> {
    let ticket = list_replaced(state);
    let named = state.catalog.label(&tenant);
    let dashboard = &mut state.dashboard;
    // The filters kept earlier stay for ↑ in the prompt.
    dashboard.filter = Filter {
        history: std::mem::take(&mut dashboard.filter.history),
        ..Filter::default()
    };
    dashboard.list_label = Some(format!("who ordered {item} in {named}"));
    let request = dashboard
        .users
        .replace(ticket, None, Page::First, false, true);
    let buyers = Buyers {
        tenant,
        item,
        rule,
        key,
    };
    let mut effects = vec![buyers.job(request)];
    effects.extend(clear_replaced(dashboard));
    dashboard.buyers = Some(buyers);
    effects
}

/// The users list of one tenant (`None`: every tenant), from the tenants
/// pane; opened at `user` (a search result), else at the top.
pub fn show_tenant(
    state: &mut State,
    tenant: Option<crate::db::TenantEntry>,
    user: Option<User>,
) -> Vec<Effect> {
    let ticket = list_replaced(state);
    let dashboard = &mut state.dashboard;
    dashboard.filter.text.clear();
    dashboard.filter.prompt.editing = false;
    dashboard.list_label = None;
    dashboard.buyers = None;
    dashboard
        .users
        .set_scope(tenant.as_ref().map(|t| t.schema.clone()));
    dashboard.tenant = tenant;
    let page = user.map_or(Page::First, |u| Page::From(u.key));
    let request = dashboard.users.replace(ticket, None, page, false, false);
    let mut effects = vec![users_page(request, Delay::None)];
    effects.extend(clear_replaced(dashboard));
    effects
}
