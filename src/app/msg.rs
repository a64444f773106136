//! Messages into `update`, and effects out of it.

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::db::{
    DbError, HealthReport, Leak, OrdersReport, Page, PriceMatrix, TenantCatalog, User, UserCount,
};

/// What an orders load is for. A result whose key is no longer the
/// current one is dropped: the selection moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersKey {
    pub user_id: String,
    pub compare: Option<String>,
    pub generation: u64,
}

/// A page of the users list being loaded. A result for a request that is no
/// longer the pending one (the filter changed since) is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersRequest {
    pub generation: u64,
    pub filter: Option<String>,
    pub page: Page,
    /// Keep the selected user selected if the page holds them (filtering),
    /// rather than selecting where the page lands (jumps).
    pub keep_selection: bool,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Drives the spinner; slow when idle.
    Tick,
    /// The tenant catalog and the user count, after a reload.
    CatalogLoaded(Result<(TenantCatalog, UserCount), DbError>),
    UsersPage {
        request: UsersRequest,
        result: Result<Vec<User>, DbError>,
    },
    OrdersLoaded {
        key: OrdersKey,
        result: Result<OrdersReport, DbError>,
        elapsed: Duration,
    },
    HealthLoaded {
        result: Result<HealthReport, DbError>,
        elapsed: Duration,
    },
    LeaksLoaded {
        tenant: String,
        result: Result<Vec<Leak>, DbError>,
        elapsed: Duration,
    },
    PricesLoaded {
        tenants: Vec<String>,
        result: Result<PriceMatrix, DbError>,
        elapsed: Duration,
    },
    /// The file an export wrote, or why it could not.
    Exported(Result<String, String>),
    /// SIGTERM or SIGHUP: leave like `q` does.
    Terminate,
}

/// Work for the runtime. `update` never does I/O itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Reload the tenant catalog and the user count.
    LoadCatalog,
    /// Load a page of users after `delay`, cancelling any page load still
    /// pending or running (a new filter supersedes the old one).
    LoadUsersPage {
        request: UsersRequest,
        delay: Duration,
    },
    /// Load orders for `key` after `delay` (the debounce), cancelling any
    /// orders load still pending or running.
    LoadOrders {
        key: OrdersKey,
        user: User,
        delay: Duration,
    },
    /// Nothing to load any more (no user selected): cancel what runs.
    CancelOrders,
    LoadHealth,
    LoadLeaks {
        tenant: String,
    },
    /// Prices of these tenants (the visible columns only).
    LoadPrices {
        tenants: Vec<String>,
    },
    /// Users of `tenant` who ordered `item`, as a page of the users list.
    LoadOrderedBy {
        request: UsersRequest,
        tenant: String,
        item: String,
    },
    /// Write `csv` to a new `tenantscope-<stem>-<time>.csv` in the current directory.
    Export {
        stem: String,
        csv: String,
    },
}
