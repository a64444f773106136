//! Everything the dashboard shows, as a plain value.

use std::time::Duration;

use crate::db::{
    choose_compare_tenant, CompareChoice, DbError, OrdersReport, TenantCatalog, TenantStatus, User,
};

use super::keymap::Mode;
use super::msg::OrdersKey;

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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub text: String,
    /// Typing goes into the filter.
    pub editing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// `demo` or `user@host:port/db`; never a password.
    pub target: String,
    pub users: Vec<User>,
    pub catalog: TenantCatalog,
    /// Indices into `users` that pass the filter, in display order.
    pub visible: Vec<usize>,
    /// Position in `visible`.
    pub selected: usize,
    /// First visible row of the users list.
    pub users_offset: usize,
    pub filter: Filter,
    /// The comparison tenant asked for (`--compare`, config, `c`/`C`).
    pub compare: Option<String>,
    pub orders: OrdersPane,
    pub orders_offset: usize,
    pub focus: Focus,
    pub help_open: bool,
    pub quit: bool,
    /// Bumped on every change that makes a pending orders load stale.
    pub generation: u64,
    pub users_loading: bool,
    /// Shown in the status line until the next load.
    pub users_error: Option<String>,
    pub ticks: u64,
    /// Terminal size, for paging and mouse hit-testing.
    pub size: (u16, u16),
    pub debounce: Duration,
}

impl State {
    pub fn new(
        target: String,
        users: Vec<User>,
        catalog: TenantCatalog,
        compare: Option<String>,
    ) -> State {
        let mut state = State {
            target,
            users,
            catalog,
            visible: Vec::new(),
            selected: 0,
            users_offset: 0,
            filter: Filter::default(),
            compare,
            orders: OrdersPane::NoUser,
            orders_offset: 0,
            focus: Focus::Users,
            help_open: false,
            quit: false,
            generation: 0,
            users_loading: false,
            users_error: None,
            ticks: 0,
            size: (120, 40),
            debounce: Duration::from_millis(120),
        };
        state.refilter(None);
        state
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.visible.get(self.selected).map(|&i| &self.users[i])
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
        if self.help_open {
            Mode::Help
        } else if self.filter.editing {
            Mode::Filtering
        } else {
            Mode::Normal
        }
    }

    pub fn is_busy(&self) -> bool {
        self.users_loading || matches!(self.orders, OrdersPane::Loading { .. })
    }

    /// Recomputes `visible` from the filter, keeping `keep_id` selected if it
    /// still passes.
    pub fn refilter(&mut self, keep_id: Option<&str>) {
        let needle = self.filter.text.to_lowercase();
        self.visible = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                needle.is_empty()
                    || u.name.to_lowercase().contains(&needle)
                    || u.mail.to_lowercase().contains(&needle)
                    || u.tenant
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
        self.selected = keep_id
            .and_then(|id| self.visible.iter().position(|&i| self.users[i].id == id))
            .unwrap_or(0);
        self.users_offset = 0;
    }
}
