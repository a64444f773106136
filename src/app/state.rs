//! Everything the dashboard shows, as a plain value, in two parts: the
//! [`Session`], which lives as long as the program (the terminal, the
//! settings, the connection being made), and the [`Data`] one open
//! database gives (its catalog, each view's state), which a connection to
//! another database replaces whole ([`State::reopened`]).

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::db::{CompareChoice, SchemaState, TenantCatalog, User, UserCount};

use super::basket::Basket;
use super::connect::Connect;
use super::dashboard::Dashboard;
use super::health::Health;
use super::keymap::{self, KeyTable};
use super::load::{Load, Ticket};
use super::prices::Prices;
use super::tenants::Tenants;
pub use super::views::View;

/// What survives a reconnect or a profile switch: the terminal, the
/// settings the dashboard started with, and the connection (profiles, the
/// one in use, the attempt under way). A new setting goes here, and
/// survives a reconnect with no further line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// Terminal size, for paging and mouse hit-testing.
    pub size: (u16, u16),
    pub ticks: u64,
    /// How long a moving selection waits before it loads.
    pub debounce: Duration,
    /// `ui.refresh_s`: how often the visible data is read again.
    pub refresh_every: Option<Duration>,
    /// Connecting, the profiles and the one in use.
    pub connect: Connect,
    pub quit: bool,
    /// The signal that ended it, if one did (its exit status says so).
    pub ended_by: Option<&'static str>,
    /// The last ticket given (see [`State::ticket`]): never reused, on any
    /// database.
    pub tickets: u64,
    /// An export is on its way (until its `Msg::Exported`): a second `e`
    /// waits for it rather than reading every row again. In the session:
    /// an export goes on when another database opens, and says where it
    /// wrote there, and from which database.
    pub exporting: Option<Exporting>,
}

/// An export on its way (see [`Session::exporting`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Exporting {
    /// The database it reads, as the header names it.
    pub from: String,
    /// It reads every row first: said in the status line until written.
    pub reads: bool,
    /// `q` was pressed meanwhile and told it would drop the export: a
    /// second quits.
    pub quit_asked: bool,
}

impl Session {
    /// A session on a database open from the start, as tests and the
    /// snapshot use it (120×40, the default debounce).
    pub fn opened() -> Session {
        Session {
            size: (120, 40),
            debounce: Duration::from_millis(120),
            connect: Connect::opened(),
            ..Session::default()
        }
    }

    /// A fresh ticket: the key every load's result is matched by.
    pub fn ticket(&mut self) -> Ticket {
        self.tickets += 1;
        Ticket(self.tickets)
    }
}

/// What one open database gives the dashboard: replaced whole when another
/// is opened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Data {
    /// `demo` or `user@host:port/db`; never a password.
    pub target: String,
    pub catalog: TenantCatalog,
    pub user_count: UserCount,
    /// A count read while the whole list it would replace was read again:
    /// the header's until that list counts itself, or cannot (see
    /// `dashboard::loads::take_read_count`).
    pub held_count: Option<UserCount>,
    /// A reload of the catalog and the count (`r`).
    pub catalog_load: Load<Ticket, ()>,
    /// The ticket of the last `r` that read everything again (see
    /// [`State::read_again`]).
    pub reloaded: Ticket,
    /// The catalog holds only the first page's tenants and the user count
    /// is not read yet: the first frame came before them, and
    /// `catalog_load` brings both. Meanwhile counts show as "…", the
    /// comparison tenant is not chosen and no orders are read.
    pub catalog_partial: bool,
    /// An action that needs the whole catalog, asked for while it was
    /// partial: taken when the catalog comes.
    pub after_catalog: Option<super::keymap::Action>,
    pub view: View,
    pub help_open: bool,
    /// Lines of the help popup scrolled past.
    pub help_scroll: usize,
    /// A one-off message for the status line (an export's path, a copy).
    pub notice: Option<Result<String, String>>,
    /// When each slot's data was last read (local `HH:MM:SS`).
    pub read_at: BTreeMap<&'static str, String>,
    // Each view's state; a new view's starts as its `Default`.
    pub dashboard: Dashboard,
    pub health: Health,
    pub prices: Prices,
    pub basket: Basket,
    pub tenants: Tenants,
    /// Where Esc returns to (see [`nav`](super::nav)).
    pub nav: super::nav::Nav,
    /// The comparison tenant picker (`C`), over the dashboard.
    pub picker: Option<super::picker::Picker>,
}

impl Data {
    /// A database's data as it opens: the first page of users.
    pub fn new(
        target: String,
        catalog: TenantCatalog,
        user_count: UserCount,
        first_page: Vec<User>,
        compare: Option<String>,
    ) -> Data {
        Data {
            target,
            catalog,
            user_count,
            dashboard: Dashboard::new(first_page, compare),
            ..Data::default()
        }
    }
}

/// The session and the open database's data. The data's fields read as
/// the state's own (`state.catalog`, through `Deref`); the session's are
/// `state.session.…`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub session: Session,
    pub data: Data,
}

impl Deref for State {
    type Target = Data;
    fn deref(&self) -> &Data {
        &self.data
    }
}

impl DerefMut for State {
    fn deref_mut(&mut self) -> &mut Data {
        &mut self.data
    }
}

impl State {
    /// A database's data in a new session: the dashboard as it opens on a
    /// database open from the start.
    pub fn new(data: Data) -> State {
        State::reopened(Session::opened(), data)
    }

    /// The session carried on to a database's data: everything of the
    /// session stays as it was (settings, size, profiles), everything of
    /// the data is the new database's.
    pub fn reopened(session: Session, data: Data) -> State {
        State { session, data }
    }

    /// A fresh ticket for a load (see [`Load`]).
    pub fn ticket(&mut self) -> Ticket {
        self.session.ticket()
    }

    /// When everything was last read again: the last `r` in the dashboard
    /// or the tenants pane. A view whose data is older reads again when it
    /// is opened: the matrix showed the prices of before the dashboard's
    /// `r` (and its export, read anew, others). Not the refresh timer's
    /// reads, which would run health's whole check again at every opening.
    pub fn read_again(&self) -> Ticket {
        self.reloaded
    }

    /// After `r` asked for the catalog again: its request is when
    /// everything was last read again (see [`State::read_again`]).
    pub fn mark_read_again(&mut self) {
        self.data.reloaded = self.catalog_load.key().copied().unwrap_or_default();
    }

    /// Which key table applies.
    pub fn keys(&self) -> KeyTable {
        if self.help_open {
            return keymap::HELP;
        }
        if self.picker.is_some() {
            return super::picker::COMPARE_KEYS;
        }
        (self.view.screen().keys)(self)
    }

    /// The view on screen is loading (the spinner turns): one of its loads
    /// is awaited.
    pub fn is_busy(&self) -> bool {
        (self.view.screen().loads)(self)
            .iter()
            .any(|load| load.is_loading())
    }

    /// What the status line says: a notice (an export's path, a copy),
    /// else an export reading every row (a load, spinner first, until
    /// written), else the view's own status.
    pub fn status(&self) -> super::screen::Status {
        use super::screen::Status;
        match &self.notice {
            Some(Ok(done)) => Status::Done(crate::text::message_line(done).into_owned()),
            Some(Err(error)) => Status::Failed(crate::text::message_line(error).into_owned()),
            None if self.export_reading() => Status::Busy("exporting: reading every row…".into()),
            None => (self.view.screen().status)(self),
        }
    }

    /// An export is reading every row (the spinner turns meanwhile).
    pub fn export_reading(&self) -> bool {
        self.session.exporting.as_ref().is_some_and(|e| e.reads)
    }

    /// The open database as the header names it: its profile, else its
    /// target.
    pub fn database_name(&self) -> String {
        let connect = &self.session.connect;
        connect
            .profile
            .clone()
            .unwrap_or_else(|| self.target.clone())
    }

    pub fn selected_user(&self) -> Option<&User> {
        self.dashboard.users.selected()
    }

    /// Whether the user's tenant schema exists; `None` while the catalog
    /// is partial and does not name it (not known yet, never "no schema").
    pub fn tenant_status(&self, user: &User) -> Option<SchemaState> {
        match self.catalog.status_of(user) {
            status @ (SchemaState::Ok | SchemaState::NoTenant) => Some(status),
            _ if self.catalog_partial => None,
            status => Some(status),
        }
    }

    /// The comparison tenant for the selected user (never their own).
    pub fn compare_choice(&self) -> CompareChoice {
        self.dashboard.compare_choice(&self.catalog)
    }
}
