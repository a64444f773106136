//! The tenants pane (`T`; where the dashboard opens when users live in
//! each tenant schema): the tenants as the registry names them; Enter
//! shows one tenant's users. `/` searches users by id, name or mail across
//! every tenant, [`SEARCH_BATCH`] schemas per statement, results shown as
//! each batch arrives; a new search text, or leaving the pane, cancels it.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};

use super::input::LineInput;
use super::keymap::{bind, navigation, Action, Binding, Key, KeyTable, Rows, HELP_KEY, QUIT};
use super::load::{Cursor, Load};
use super::msg::{Delay, Effect, Job as AppJob, Slot};
use super::screen::{no_warning, Screen, Status};
use super::state::{State, View};
use crate::db::{Database, DbError, QueryHandle, SearchBatch, TenantEntry, User, SEARCH_BATCH};
use crate::ui::layout;

pub const DIRECTORY_SLOT: Slot = Slot("tenants");
pub const SEARCH_SLOT: Slot = Slot("search");
/// A search stops once it has found this many users: refine it.
pub const SEARCH_CAP: usize = 1_000;

/// Which search: its text, and which typing of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKey {
    pub text: String,
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub input: LineInput,
    pub editing: bool,
    /// `None`: no search (the pane lists tenants).
    pub key: Option<SearchKey>,
    pub users: Vec<User>,
    /// Tenant schemas that could not be searched, and why.
    pub failed: Vec<(String, String)>,
    /// Schemas searched so far, of `total`.
    pub searched: usize,
    pub total: usize,
    pub loading: bool,
    /// Stopped before the end: the pane was left, or [`SEARCH_CAP`] reached.
    pub stopped: Option<&'static str>,
    pub error: Option<String>,
    pub rows: Cursor,
    pub first_batch: Option<Duration>,
    pub elapsed: Duration,
    generation: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tenants {
    /// The layout in force (`django-tenants`, …), for the header.
    pub layout: String,
    /// Users live in each tenant schema: the dashboard opens here.
    pub per_tenant: bool,
    pub directory: Load<u64, Vec<TenantEntry>, String>,
    pub rows: Cursor,
    pub search: Search,
}

impl Tenants {
    pub fn of(db: &Database) -> Tenants {
        Tenants {
            layout: db.model().layout.clone(),
            per_tenant: db.model().users == crate::db::UsersAt::PerTenant,
            ..Tenants::default()
        }
    }

    pub fn entries(&self) -> &[TenantEntry] {
        self.directory.value().map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    Directory {
        ticket: u64,
        result: Result<Vec<TenantEntry>, DbError>,
        elapsed: Duration,
    },
    Batch {
        key: SearchKey,
        result: Result<SearchBatch, DbError>,
        /// Where the batch ends in the catalog.
        next: usize,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Directory {
        ticket: u64,
        count_users: bool,
    },
    Search {
        key: SearchKey,
        schemas: Vec<String>,
        next: usize,
    },
}

impl Job {
    pub async fn run(self, db: Database, handle: QueryHandle) -> Msg {
        let started = Instant::now();
        match self {
            Job::Directory {
                ticket,
                count_users,
            } => {
                let result = db.tenant_directory(count_users).await;
                let elapsed = started.elapsed();
                Msg::Directory {
                    ticket,
                    result,
                    elapsed,
                }
            }
            Job::Search { key, schemas, next } => {
                let result = db.search_users(&key.text, &schemas, Some(&handle)).await;
                let elapsed = started.elapsed();
                Msg::Batch {
                    key,
                    result,
                    next,
                    elapsed,
                }
            }
        }
    }
}

use Action::*;
use Key::{Char, Code, Ctrl};

const NAV: [Binding; 6] = navigation(Rows {
    up: "move up",
    down: "move down",
    first: "first row",
    last: "last row",
    hint: false,
});

const OWN: &[Binding] = &[
    bind(&[Code(KeyCode::Enter)], Choose, "open tenant / user", true),
    bind(&[Char('/')], StartFilter, "search users, all tenants", true),
    bind(&[Char('a')], AllUsers, "all tenants' users", true),
    bind(&[Char('r')], Reload, "reload tenants", false),
    HELP_KEY,
    bind(
        &[Code(KeyCode::Esc)],
        Back,
        "back: clear search or leave",
        false,
    ),
    QUIT,
];

pub const KEYS: KeyTable = &[&NAV, OWN];

/// In the prompt, unbound keys edit the text.
pub const SEARCHING: KeyTable = &[&[
    bind(&[Code(KeyCode::Enter)], KeepFilter, "keep results", true),
    bind(&[Code(KeyCode::Esc)], Back, "cancel search", true),
    bind(&[Ctrl('c')], Quit, "quit", true),
]];

pub const SCREEN: Screen = Screen {
    keys: |state| {
        if state.tenants.search.editing {
            SEARCHING
        } else {
            KEYS
        }
    },
    on_action,
    on_key: edit,
    is_busy: |state| state.tenants.directory.is_loading() || state.tenants.search.loading,
    status,
    fresh: DIRECTORY_SLOT.0,
    warning: no_warning,
    export: |_| None,
    help: &[
        ("Tenants", KEYS),
        ("While searching (←/→ Home/End Ctrl-U/W edit)", SEARCHING),
    ],
    marks: &[
        ("!", "tenant registered, schema missing"),
        ("✗", "tenant could not be searched"),
    ],
};

/// Where the dashboard opens: the tenants pane when users live in each
/// tenant schema, else the users list as before.
pub fn init(state: &mut State) -> Vec<Effect> {
    if !state.tenants.per_tenant {
        return super::dashboard::init(state);
    }
    open(state)
}

/// `T`: the tenants pane, its list read the first time.
pub fn open(state: &mut State) -> Vec<Effect> {
    state.view = View::Tenants;
    if state.tenants.directory.key().is_some() {
        return Vec::new();
    }
    load_directory(state)
}

fn load_directory(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    state.tenants.directory.refresh(ticket);
    // Counting every tenant's users costs what the header's count did.
    let count_users = !state.user_count.estimated;
    let job = Job::Directory {
        ticket,
        count_users,
    };
    vec![AppJob::Tenants(job).task(DIRECTORY_SLOT, Delay::None)]
}

/// `/` where a search across tenants replaces the users filter.
pub fn start_search(state: &mut State) -> Vec<Effect> {
    let mut effects = open(state);
    let search = &mut state.tenants.search;
    search.editing = true;
    search.input = LineInput::default();
    effects.extend(set_text(state, String::new()));
    effects
}

fn edit(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    if !search.editing || !search.input.handle(&key) {
        return Vec::new();
    }
    let text = search.input.text();
    set_text(state, text)
}

/// A new search text: the search running is cancelled (its late batches
/// are dropped by key) and, after the typing debounce, the new one starts.
fn set_text(state: &mut State, text: String) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    if search.key.as_ref().map(|k| k.text.as_str()) == Some(text.as_str()) {
        return Vec::new();
    }
    let was_loading = search.loading;
    let generation = search.generation + 1;
    *search = Search {
        input: std::mem::take(&mut search.input),
        editing: search.editing,
        generation,
        ..Search::default()
    };
    if text.is_empty() {
        return if was_loading {
            vec![Effect::Cancel(SEARCH_SLOT)]
        } else {
            Vec::new()
        };
    }
    search.key = Some(SearchKey { text, generation });
    search.total = if state.tenants.per_tenant {
        state.catalog.len()
    } else {
        1
    };
    next_batch(state, Delay::Fixed(state.debounce))
}

/// The next [`SEARCH_BATCH`] tenant schemas, if any are left (one
/// statement over the shared table where users are not per tenant).
fn next_batch(state: &mut State, delay: Delay) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    let Some(key) = search.key.clone() else {
        return Vec::new();
    };
    if search.searched >= search.total {
        search.loading = false;
        return Vec::new();
    }
    let (schemas, next) = if state.tenants.per_tenant {
        let names = state.catalog.names();
        let end = (search.searched + SEARCH_BATCH).min(names.len());
        (names[search.searched..end].to_vec(), end)
    } else {
        (Vec::new(), 1)
    };
    search.loading = true;
    let job = Job::Search { key, schemas, next };
    vec![AppJob::Tenants(job).task(SEARCH_SLOT, delay)]
}

pub fn on_msg(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Directory {
            ticket,
            result,
            elapsed,
        } => {
            let result = result.map_err(|e| e.to_string());
            state.tenants.directory.accept(&ticket, result, elapsed);
            let len = state.tenants.entries().len();
            state.tenants.rows.keep_visible(len, rows(state));
            Vec::new()
        }
        Msg::Batch {
            key,
            result,
            next,
            elapsed,
        } => {
            let search = &mut state.tenants.search;
            // A batch of a search superseded or stopped: dropped.
            if search.key.as_ref() != Some(&key) || !search.loading {
                return Vec::new();
            }
            search.elapsed += elapsed;
            match result {
                Ok(batch) => {
                    search.first_batch.get_or_insert(search.elapsed);
                    search.users.extend(batch.users);
                    search.failed.extend(batch.failed);
                    search.searched = next;
                    if search.users.len() >= SEARCH_CAP {
                        search.users.truncate(SEARCH_CAP);
                        search.loading = false;
                        search.stopped = Some("the first 1,000 matches: refine the search");
                        return Vec::new();
                    }
                    next_batch(state, Delay::None)
                }
                Err(error) => {
                    search.loading = false;
                    search.error = Some(error.to_string());
                    Vec::new()
                }
            }
        }
    }
}

/// Rows of the tenants (or results) table on screen.
pub fn rows(state: &State) -> usize {
    layout::basket_rows(state.size).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let rows = rows(state);
    let searching = state.tenants.search.key.is_some();
    let len = if searching {
        state.tenants.search.users.len()
    } else {
        state.tenants.entries().len()
    };
    let tenants = &mut state.tenants;
    let cursor = if searching {
        &mut tenants.search.rows
    } else {
        &mut tenants.rows
    };
    match action {
        Up => cursor.move_by(-1, len, rows),
        Down => cursor.move_by(1, len, rows),
        PageUp => cursor.move_by(-(rows as isize), len, rows),
        PageDown => cursor.move_by(rows as isize, len, rows),
        First => cursor.first(),
        Last => cursor.last(len, rows),
        Reload => return load_directory(state),
        StartFilter => {
            let search = &mut state.tenants.search;
            search.editing = true;
            let text = search
                .key
                .as_ref()
                .map(|k| k.text.clone())
                .unwrap_or_default();
            search.input.set(&text);
        }
        KeepFilter => state.tenants.search.editing = false,
        Back if searching || state.tenants.search.editing => {
            state.tenants.search.editing = false;
            return set_text(state, String::new());
        }
        Back if state.tenants.per_tenant => {
            state.notice = Some(Ok("tenants first: a shows all users; q quits".into()));
        }
        Back => state.view = View::Dashboard,
        AllUsers => return all_users(state),
        Choose if searching => return open_result(state),
        Choose => return open_tenant(state),
        _ => {}
    }
    Vec::new()
}

/// Leaving the pane stops a search still running (what it found stays).
fn leave(state: &mut State) -> Vec<Effect> {
    state.view = View::Dashboard;
    let search = &mut state.tenants.search;
    search.editing = false;
    if !search.loading {
        return Vec::new();
    }
    search.loading = false;
    search.stopped = Some("stopped when the pane was left: / searches again");
    vec![Effect::Cancel(SEARCH_SLOT)]
}

/// Enter on a tenant: its users only (read from its schema alone).
fn open_tenant(state: &mut State) -> Vec<Effect> {
    let Some(entry) = state.tenants.entries().get(state.tenants.rows.selected) else {
        return Vec::new();
    };
    if !entry.present {
        let schema = crate::text::sanitize(&entry.schema).into_owned();
        state.notice = Some(Err(format!("tenant schema {schema:?} does not exist")));
        return Vec::new();
    }
    let entry = entry.clone();
    let mut effects = leave(state);
    effects.extend(super::dashboard::show_tenant(state, Some(entry), None));
    effects
}

/// Enter on a search result: that user's orders, in their tenant's list.
fn open_result(state: &mut State) -> Vec<Effect> {
    let search = &state.tenants.search;
    let Some(user) = search.users.get(search.rows.selected).cloned() else {
        return Vec::new();
    };
    let schema = user.tenant.clone().unwrap_or_default();
    let entry = state
        .tenants
        .entries()
        .iter()
        .find(|e| e.schema == schema)
        .cloned()
        .unwrap_or_else(|| TenantEntry {
            key: schema.clone(),
            label: schema.clone(),
            schema,
            present: true,
            users: None,
        });
    let mut effects = leave(state);
    effects.extend(super::dashboard::show_tenant(
        state,
        Some(entry),
        Some(user),
    ));
    effects
}

/// `a`: every tenant's users in one list (as before tenant-first).
fn all_users(state: &mut State) -> Vec<Effect> {
    let mut effects = leave(state);
    effects.extend(super::dashboard::show_tenant(state, None, None));
    effects
}

fn status(state: &State) -> Status {
    let tenants = &state.tenants;
    let search = &tenants.search;
    if let Some(error) = tenants.directory.error().or(search.error.as_ref()) {
        return Status::Failed(crate::text::sanitize(error).into_owned());
    }
    if search.key.is_none() {
        return Status::of(&tenants.directory, |entries| {
            let missing = entries.iter().filter(|e| !e.present).count();
            let missing = match missing {
                0 => String::new(),
                n => format!(" ({n} without a schema)"),
            };
            format!(
                "{}{missing}",
                crate::text::plural(entries.len(), "tenant", "tenants")
            )
        });
    }
    let found = crate::text::plural(search.users.len(), "match", "matches");
    let failed = match search.failed.len() {
        0 => String::new(),
        n => format!("; {n} could not be searched"),
    };
    let progress = if tenants.per_tenant {
        format!(
            "searched {}/{} tenants",
            crate::text::thousands(search.searched as i64),
            crate::text::thousands(search.total as i64)
        )
    } else {
        "searched the shared users table".into()
    };
    if search.loading {
        return Status::Busy(format!("{progress}… {found}{failed}"));
    }
    let how = match search.stopped {
        Some(why) => format!(" ({why})"),
        None => super::screen::took(search.elapsed),
    };
    Status::Done(format!("{progress}: {found}{failed}{how}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
        crate::app::keymap::assert_no_key_twice(SEARCHING);
    }
}
