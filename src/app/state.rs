//! Everything the dashboard shows, as a plain value.

use std::time::Duration;

use crate::db::{
    choose_compare_tenant, CompareChoice, DbError, HealthReport, Leak, OrdersReport, PriceMatrix,
    PriceSort, TenantCatalog, TenantStatus, User, UserCount,
};

use super::keymap::Mode;
use super::msg::{OrdersKey, UsersRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Users,
    Orders,
}

/// The right-hand pane.
#[derive(Debug, Clone, PartialEq)]
pub enum OrdersPane {
    /// No user selected (empty list, or a filter that matches nobody).
    NoUser,
    /// Waiting for the debounce or the query.
    Loading {
        key: OrdersKey,
    },
    Loaded {
        key: OrdersKey,
        report: OrdersReport,
        elapsed: Duration,
    },
    Failed {
        key: OrdersKey,
        error: DbError,
    },
}

impl OrdersPane {
    pub fn key(&self) -> Option<&OrdersKey> {
        match self {
            OrdersPane::NoUser => None,
            OrdersPane::Loading { key }
            | OrdersPane::Loaded { key, .. }
            | OrdersPane::Failed { key, .. } => Some(key),
        }
    }
}

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Health,
    Prices,
}

/// Something loaded in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    NotAsked,
    Loading,
    Loaded { value: T, elapsed: Duration },
    Failed(String),
}

impl<T> Load<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Load::Loaded { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// The tenant health view (`t`).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthView {
    pub report: Load<HealthReport>,
    pub selected: usize,
    pub offset: usize,
    /// Leaks of one tenant, asked for with `L`.
    pub leaks: Option<(String, Load<Vec<Leak>>)>,
}

/// The price matrix (`p`): items as rows, a window of tenants as columns.
#[derive(Debug, Clone, PartialEq)]
pub struct PricesView {
    pub matrix: Load<PriceMatrix>,
    pub sort: PriceSort,
    pub row: usize,
    pub row_offset: usize,
    /// Index in the catalog of the first tenant column shown.
    pub first_column: usize,
    /// Selected column, in the catalog.
    pub column: usize,
    /// The tenants whose prices are being loaded (the visible columns).
    pub pending: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub text: String,
    /// Typing goes into the filter.
    pub editing: bool,
}

/// Rows per page of the users list.
pub const PAGE_SIZE: usize = 100;
/// The most users held at once; the far side is dropped beyond this.
pub const WINDOW_CAP: usize = 3 * PAGE_SIZE;
/// Fetch the next page when the selection comes this close to an edge.
pub const PREFETCH_MARGIN: usize = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// `demo` or `user@host:port/db`; never a password.
    pub target: String,
    /// A window of the users list (filtered by the database), in list order.
    pub users: Vec<User>,
    /// The window begins at the first user / ends at the last one.
    pub users_at_start: bool,
    pub users_at_end: bool,
    pub user_count: UserCount,
    pub catalog: TenantCatalog,
    /// Position in `users`.
    pub selected: usize,
    /// First visible row of the users list.
    pub users_offset: usize,
    pub filter: Filter,
    /// Bumped when the filter changes: older pages are stale.
    pub users_generation: u64,
    /// The users page being loaded, if any.
    pub users_request: Option<UsersRequest>,
    /// Rows the selection still has to move once the next page arrives
    /// (keys pressed faster than pages load are not lost).
    pub pending_move: isize,
    /// The comparison tenant asked for (`--compare`, config, `c`/`C`).
    pub compare: Option<String>,
    pub orders: OrdersPane,
    pub orders_offset: usize,
    pub focus: Focus,
    pub help_open: bool,
    pub quit: bool,
    /// Bumped on every change that makes a pending orders load stale.
    pub generation: u64,
    pub catalog_loading: bool,
    /// Shown in the status line until the next successful load.
    pub users_error: Option<String>,
    pub ticks: u64,
    /// Terminal size, for paging and mouse hit-testing.
    pub size: (u16, u16),
    pub debounce: Duration,
    pub view: View,
    pub health: HealthView,
    pub prices: PricesView,
    /// The users list shows a fixed set (who ordered an item), not the table.
    pub list_label: Option<String>,
    /// A one-off message for the status line (an export's path).
    pub notice: Option<Result<String, String>>,
}

impl State {
    /// The dashboard as it opens: the first page of users.
    pub fn new(
        target: String,
        catalog: TenantCatalog,
        user_count: UserCount,
        first_page: Vec<User>,
        compare: Option<String>,
    ) -> State {
        State {
            target,
            users_at_start: true,
            users_at_end: first_page.len() < PAGE_SIZE,
            users: first_page,
            user_count,
            catalog,
            selected: 0,
            users_offset: 0,
            filter: Filter::default(),
            users_generation: 0,
            users_request: None,
            pending_move: 0,
            compare,
            orders: OrdersPane::NoUser,
            orders_offset: 0,
            focus: Focus::Users,
            help_open: false,
            quit: false,
            generation: 0,
            catalog_loading: false,
            users_error: None,
            ticks: 0,
            size: (120, 40),
            debounce: Duration::from_millis(120),
            view: View::Dashboard,
            health: HealthView {
                report: Load::NotAsked,
                selected: 0,
                offset: 0,
                leaks: None,
            },
            prices: PricesView {
                matrix: Load::NotAsked,
                sort: PriceSort::Spread,
                row: 0,
                row_offset: 0,
                first_column: 0,
                column: 0,
                pending: None,
            },
            list_label: None,
            notice: None,
        }
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.users.get(self.selected)
    }

    pub fn tenant_status(&self, user: &User) -> TenantStatus {
        self.catalog.status_of(user)
    }

    /// The comparison tenant for the selected user (never their own).
    pub fn compare_choice(&self) -> CompareChoice {
        let own = self.selected_user().and_then(|u| u.tenant.as_deref());
        let requested = self.compare.as_deref().filter(|t| self.catalog.contains(t));
        choose_compare_tenant(&self.catalog, own, requested).unwrap_or(CompareChoice {
            tenant: None,
            replaced_own: false,
        })
    }

    /// Which key table applies.
    pub fn mode(&self) -> Mode {
        match (self.help_open, self.view) {
            (true, _) => Mode::Help,
            (false, View::Health) => Mode::Health,
            (false, View::Prices) => Mode::Prices,
            (false, View::Dashboard) if self.filter.editing => Mode::Filtering,
            (false, View::Dashboard) => Mode::Normal,
        }
    }

    pub fn users_loading(&self) -> bool {
        self.users_request.is_some() || self.catalog_loading
    }

    pub fn is_busy(&self) -> bool {
        self.users_loading()
            || matches!(self.orders, OrdersPane::Loading { .. })
            || self.health.report == Load::Loading
            || matches!(self.health.leaks, Some((_, Load::Loading)))
            || self.prices.pending.is_some()
    }

    /// The whole list is in the window (so its length is the count).
    pub fn users_complete(&self) -> bool {
        self.users_at_start && self.users_at_end
    }
}
