//! Everything the dashboard shows, as a plain value: what all views share,
//! and each view's own state.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::db::{CompareChoice, TenantCatalog, TenantStatus, User, UserCount};

use super::basket::Basket;
use super::connect::Connect;
use super::dashboard::Dashboard;
use super::health::Health;
use super::keymap::{self, KeyTable};
use super::load::Load;
use super::prices::Prices;
use super::tenants::Tenants;
pub use super::views::View;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// `demo` or `user@host:port/db`; never a password.
    pub target: String,
    pub catalog: TenantCatalog,
    pub user_count: UserCount,
    /// A reload of the catalog and the count (`r`), keyed by ticket.
    pub catalog_load: Load<u64, (), String>,
    /// Terminal size, for paging and mouse hit-testing.
    pub size: (u16, u16),
    pub ticks: u64,
    pub debounce: Duration,
    pub view: View,
    pub help_open: bool,
    /// Lines of the help popup scrolled past.
    pub help_scroll: usize,
    pub quit: bool,
    /// A one-off message for the status line (an export's path, a copy).
    pub notice: Option<Result<String, String>>,
    /// When each slot's data was last read (local `HH:MM:SS`).
    pub read_at: BTreeMap<&'static str, String>,
    /// `ui.refresh_s`: how often the visible data is read again.
    pub refresh_every: Option<Duration>,
    // Each view's state; a new view's starts as its `Default`.
    pub dashboard: Dashboard,
    pub health: Health,
    pub prices: Prices,
    pub connect: Connect,
    pub basket: Basket,
    pub tenants: Tenants,
    tickets: u64,
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
            catalog,
            user_count,
            size: (120, 40),
            debounce: Duration::from_millis(120),
            dashboard: Dashboard::new(first_page, compare),
            connect: Connect::opened(),
            ..State::default()
        }
    }

    /// A fresh key for a load that has no better one.
    pub fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    /// Which key table applies.
    pub fn keys(&self) -> KeyTable {
        if self.help_open {
            return keymap::HELP;
        }
        (self.view.screen().keys)(self)
    }

    /// The view on screen is loading (the spinner turns).
    pub fn is_busy(&self) -> bool {
        (self.view.screen().is_busy)(self)
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.dashboard.users.selected()
    }

    pub fn tenant_status(&self, user: &User) -> TenantStatus {
        self.catalog.status_of(user)
    }

    /// The comparison tenant for the selected user (never their own).
    pub fn compare_choice(&self) -> CompareChoice {
        self.dashboard.compare_choice(&self.catalog)
    }
}
