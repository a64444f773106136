//! Messages into `update`, and effects out of it.

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::db::{DbError, OrdersReport, TenantCatalog, User};

/// What an orders load is for. A result whose key is no longer the
/// current one is dropped: the selection moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersKey {
    pub user_id: String,
    pub compare: Option<String>,
    pub generation: u64,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Drives the spinner; slow when idle.
    Tick,
    UsersLoaded(Result<(Vec<User>, TenantCatalog), String>),
    OrdersLoaded {
        key: OrdersKey,
        result: Result<OrdersReport, DbError>,
        elapsed: Duration,
    },
    /// SIGTERM or SIGHUP: leave like `q` does.
    Terminate,
}

/// Work for the runtime. `update` never does I/O itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Reload the tenant catalog and the users.
    LoadUsers,
    /// Load orders for `key` after `delay` (the debounce), cancelling any
    /// orders load still pending or running.
    LoadOrders {
        key: OrdersKey,
        user: User,
        delay: Duration,
    },
    /// Nothing to load any more (no user selected): cancel what runs.
    CancelOrders,
}
