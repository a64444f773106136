//! The tenants pane (`T`; where the dashboard opens when users live in
//! each tenant schema): the tenants as the registry names them; Enter
//! shows one tenant's users. `/` searches users across every tenant (see
//! [`search`]).

use std::time::Duration;

use super::keymap::{
    bind, export_key, navigation, reload_key, spare, Action, Binding, Key, KeyTable, ENTER, ESC,
    HELP_KEY, QUIT, ROWS,
};
use super::load::{timed, BatchId, Cursor, Load, Ticket};
use super::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use super::screen::{Screen, Status};
use super::state::{State, View};
use crate::db::{Database, DbError, QueryHandle, SearchBatch, TenantEntry};
use crate::geometry;
use crate::output::Document;

mod search;

use search::{edit, leave, open_result, set_text};
pub use search::{start_search, Search, SearchKey, SEARCH_CAP, SEARCH_SLOT};

pub const DIRECTORY_SLOT: Slot = Slot("tenants");
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tenants {
    /// The layout in force (`django-tenants`, …), for the header.
    pub layout: String,
    /// Users live in each tenant schema: the dashboard opens here.
    pub per_tenant: bool,
    pub directory: Load<Ticket, Vec<TenantEntry>>,
    pub rows: Cursor,
    pub search: Search,
    /// Tenants left out of every tenant's users list, their users table
    /// lacking a required column: (schema, missing columns).
    pub left_out: Vec<(String, Vec<String>)>,
    /// The users table's name, for saying what those tenants lack.
    pub users_table: String,
    /// The users table has no mail column (the users pane shows none).
    pub no_mail_column: bool,
}

impl Tenants {
    pub fn of(db: &Database) -> Tenants {
        Tenants {
            layout: db.model().layout.clone(),
            per_tenant: db.model().users.at == crate::db::UsersAt::PerTenant,
            left_out: db.users_left_out(),
            users_table: db.model().users.table.clone(),
            no_mail_column: !db.has_mail(),
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
        ticket: Ticket,
        result: Result<Vec<TenantEntry>, DbError>,
        elapsed: Duration,
    },
    Batch {
        batch: BatchId,
        result: Result<SearchBatch, DbError>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Directory {
        ticket: Ticket,
    },
    Search {
        batch: BatchId,
        text: String,
        schemas: Vec<String>,
        /// The users the search shows already, in their order: the
        /// batch's are placed among them ([`crate::db::search_key`]).
        shown: Vec<crate::db::UserKey>,
    },
}

impl Job {
    pub async fn run(self, db: Database, handle: QueryHandle) -> Msg {
        match self {
            Job::Directory { ticket } => {
                let (result, elapsed) = timed(db.tenant_directory(true)).await;
                Msg::Directory {
                    ticket,
                    result,
                    elapsed,
                }
            }
            Job::Search {
                batch,
                text,
                schemas,
                shown,
            } => {
                let search = db.search_users(&text, &schemas, &shown, Some(&handle));
                let (result, elapsed) = timed(search).await;
                Msg::Batch {
                    batch,
                    result,
                    elapsed,
                }
            }
        }
    }
}

use Action::*;
use Key::{Char, Ctrl};

const NAV: [Binding; 6] = navigation(ROWS);

const OWN: &[Binding] = &[
    bind(ENTER, Choose, "open tenant / user", true),
    bind(&[Char('/')], StartFilter, "search users, all tenants", true),
    bind(&[Char('a')], AllUsers, "all tenants' users", true),
    // Where the dashboard opens (users in each tenant schema): as there.
    bind(&[Char('P')], OpenProfiles, "switch profile", false),
    spare(reload_key("reload tenants", false)),
    spare(export_key(false)),
    HELP_KEY,
];

/// Where Esc has nowhere to go (tenants first, nothing kept): not hinted.
const END: &[Binding] = &[bind(ESC, Back, "back: clear search or leave", false), QUIT];
/// A kept search: Esc clears it.
const END_SEARCHED: &[Binding] = &[bind(ESC, Back, "clear search", true), QUIT];
/// Esc returns to the view the pane was opened from.
const END_BACK: &[Binding] = &[bind(ESC, Back, "back", true), QUIT];

pub const KEYS: KeyTable = &[&NAV, OWN, END];
const KEYS_SEARCHED: KeyTable = &[&NAV, OWN, END_SEARCHED];
const KEYS_BACK: KeyTable = &[&NAV, OWN, END_BACK];

/// In the prompt, unbound keys edit the text.
pub const SEARCHING: KeyTable = &[&[
    bind(ENTER, KeepFilter, "keep results", true),
    bind(ESC, Back, "cancel", true),
    bind(&[Ctrl('c')], Quit, "quit", true),
]];

pub const SCREEN: Screen = Screen {
    refresh: reload,
    keys: |state| {
        if state.tenants.search.prompt.editing {
            SEARCHING
        } else if state.tenants.search.text().is_some() {
            KEYS_SEARCHED
        } else if state.nav.can_go_back() || !state.tenants.per_tenant {
            KEYS_BACK
        } else {
            KEYS
        }
    },
    on_action,
    on_key: edit,
    loads: |state| vec![&state.tenants.directory, &state.tenants.search.load],
    status,
    fresh: DIRECTORY_SLOT.0,
    export: |state| {
        // The rows on screen: the search's users, else the tenants.
        let search = &state.tenants.search;
        if search.text().is_some() {
            // Not before the last tenant is searched (while searching, or
            // stopped): the file would hold the tenants searched so far.
            if search.load.done() < search.load.total() {
                return None;
            }
            let found = (search.users.clone(), state.catalog.clone());
            return Some(("users-found".into(), Document::Users(Box::new(found))));
        }
        let entries = state.tenants.directory.value()?;
        Some(("tenants".into(), Document::Tenants(entries.clone())))
    },
    // A search's file holds what it found: what it lacks is said.
    export_note: |state| {
        let searched = state.tenants.search.text().is_some();
        searched.then(|| search::gaps(state)).flatten()
    },
    help: &[
        ("Tenants", KEYS),
        ("While searching (←/→ Home/End Ctrl-U/W edit)", SEARCHING),
    ],
    marks: &[
        ("!", "no schema (registered, or users' id)"),
        ("-", "users with no organization id"),
        ("✗", "tenant could not be searched"),
    ],
    ..Screen::BASE
};

/// Where the dashboard opens: the tenants pane when users live in each
/// tenant schema (unless it opens on a user, `--user`), else the users
/// list as before.
pub fn init(state: &mut State) -> Vec<Effect> {
    if !state.tenants.per_tenant || !state.dashboard.users.users().is_empty() {
        return super::dashboard::init(state);
    }
    // The first view: Esc has nowhere to return to from it.
    state.view = View::Tenants;
    open(state)
}

/// `T`: the tenants pane, its list read the first time.
pub fn open(state: &mut State) -> Vec<Effect> {
    super::nav::go(state, View::Tenants);
    if state.tenants.directory.key().is_some() {
        return Vec::new();
    }
    load_directory(state)
}

/// `r` and the refresh timer: the tenants, and the header's count with
/// them (it stayed as it was beside the pane's new counts).
fn reload(state: &mut State) -> Vec<Effect> {
    let mut effects = load_directory(state);
    effects.push(super::dashboard::refresh_catalog(state));
    effects
}

fn load_directory(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    state.tenants.directory.refresh(ticket);
    // A shared users table is counted in one GROUP BY whatever its size,
    // as `health` counts it: the ids naming no schema are what the pane is
    // for. Each tenant's own users table as the header's count: estimated
    // past EXACT_TENANT_TABLES_UP_TO of them.
    let job = Job::Directory { ticket };
    vec![AppJob::Tenants(job).task(DIRECTORY_SLOT, Delay::None)]
}

pub fn on_msg(state: &mut State, msg: Msg, read: ReadTime) -> Vec<Effect> {
    match msg {
        Msg::Directory {
            ticket,
            result,
            elapsed,
        } => {
            let result = result.map_err(Into::into);
            // The tenant selected stays selected where a reload (`r`, the
            // refresh timer) lists tenants before it, or relabels it.
            let tenants = &mut state.tenants;
            let same =
                |a: &TenantEntry, b: &TenantEntry| (&a.key, &a.schema) == (&b.key, &b.schema);
            let selected = tenants.entries().get(tenants.rows.selected).cloned();
            let taken = tenants.directory.accept(&ticket, result, elapsed);
            let found = selected.and_then(|s| tenants.entries().iter().position(|e| same(e, &s)));
            if let Some(at) = found {
                tenants.rows.selected = at;
            }
            if taken && tenants.directory.value().is_some() {
                read.taken(state);
            }
            let len = state.tenants.entries().len();
            let rows = rows(state);
            state.tenants.rows.keep_visible(len, rows);
            Vec::new()
        }
        Msg::Batch {
            batch,
            result,
            elapsed,
        } => search::on_batch(state, batch, result, elapsed, read),
    }
}

/// Rows of the tenants (or results) table on screen.
pub fn rows(state: &State) -> usize {
    geometry::basket_rows(state.session.size).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let rows = rows(state);
    let searching = state.tenants.search.text().is_some();
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
    if cursor.navigate(action, len, rows) {
        return Vec::new();
    }
    match action {
        Reload => {
            let effects = reload(state);
            // Everything read again, as the key says (not the timer).
            state.mark_read_again();
            return effects;
        }
        StartFilter => search::prompt(state),
        KeepFilter => {
            let search = &mut state.tenants.search;
            search.prompt.editing = false;
            search.before = None;
        }
        Back if state.tenants.search.prompt.editing => return search::cancel(state),
        // A kept search: the tenants again.
        Back if searching => return set_text(state, String::new()),
        Back => {
            if let Some(effects) = super::nav::back(state) {
                return effects;
            }
            if state.tenants.per_tenant {
                state.notice = Some(Ok("tenants first: a shows all users; q quits".into()));
            } else {
                state.view = View::Dashboard;
            }
        }
        AllUsers => return all_users(state),
        OpenProfiles => return super::connect::open_picker(state),
        Choose if searching => return open_result(state),
        Choose => return open_tenant(state),
        _ => {}
    }
    Vec::new()
}

/// Enter on a tenant: its users only (read from its schema alone).
fn open_tenant(state: &mut State) -> Vec<Effect> {
    let Some(entry) = state.tenants.entries().get(state.tenants.rows.selected) else {
        return Vec::new();
    };
    // An organization id naming no schema: its users, listed by that id
    // (as from the health view).
    if !entry.present() && entry.users.is_none_or(|n| n.value <= 0) {
        let schema = crate::text::quoted(&entry.schema);
        let state_word = entry.state.word();
        state.notice = Some(Err(format!(
            "tenant {schema}: {state_word}, no user to list"
        )));
        return Vec::new();
    }
    let entry = entry.clone();
    let mut effects = leave(state);
    effects.extend(super::dashboard::show_tenant(state, Some(entry), None));
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
    if let Some(error) = tenants
        .directory
        .error()
        .or(search.load.error())
        .map(|e| &e.text)
    {
        return Status::Failed(crate::text::message_line(error).into_owned());
    }
    if search.text().is_none() {
        return Status::of(&tenants.directory, |entries| {
            // Tenants as the header counts them (those with their schema);
            // the rows without one apart (it read "7 tenants (1 without a
            // tenant schema)" under the header's "6 tenants"). The users
            // with no organization id are no tenant.
            let present = entries.iter().filter(|e| e.present()).count();
            let missing = entries
                .iter()
                .filter(|e| !e.present() && !e.is_no_tenant())
                .count();
            let tenants = crate::text::plural(present, "tenant", "tenants");
            match missing {
                0 => tenants,
                n => format!(
                    "{tenants} · {} without a tenant schema",
                    crate::text::thousands(n as i64)
                ),
            }
        });
    }
    search::status(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::db::{SEARCH_BATCH, SEARCH_WIDE_BATCH};
    use crate::fixtures::{chars, demo_state, press, search_names};
    use crossterm::event::KeyCode;

    fn search_loads(effects: &[Effect]) -> Vec<&Job> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Load(task) if task.slot == SEARCH_SLOT => match &task.job {
                    AppJob::Tenants(job) => Some(job),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// `/` and "a" typed: the first batch the search asks for.
    fn search_for_a(state: &mut State) -> BatchId {
        press(state, KeyCode::Char('/'));
        let effects = chars(state, "a");
        let Job::Search { batch, .. } = search_loads(&effects)[0].clone() else {
            panic!("a search load");
        };
        batch
    }

    /// `batch` answered with `found`: what the search does next.
    fn found(state: &mut State, batch: BatchId, found: SearchBatch) -> Vec<Effect> {
        let answer = Msg::Batch {
            batch,
            result: Ok(found),
            elapsed: Duration::ZERO,
        };
        crate::app::update(state, answer.into())
    }

    /// `batch` answered with no users.
    fn found_nobody(state: &mut State, batch: BatchId) -> Vec<Effect> {
        found(state, batch, SearchBatch::default())
    }

    /// [`found_nobody`] as the runtime delivers it: read at `at`.
    fn found_nobody_at(state: &mut State, batch: BatchId, at: &str) -> Vec<Effect> {
        let answer = Msg::Batch {
            batch,
            result: Ok(SearchBatch::default()),
            elapsed: Duration::ZERO,
        };
        let loaded = crate::app::msg::Msg::Loaded {
            slot: SEARCH_SLOT.0,
            at: at.into(),
            result: crate::app::msg::ViewMsg::Tenants(answer),
        };
        crate::app::update(state, loaded)
    }

    /// `state` drawn at 120×30, as text.
    fn drawn(state: &State) -> String {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
        terminal
            .draw(|frame| crate::ui::view(state, frame))
            .unwrap();
        crate::fixtures::frame_text(terminal.backend().buffer())
    }

    /// Users in each tenant: the demo state, tenants first.
    fn per_tenant() -> State {
        let mut state = demo_state();
        state.tenants.per_tenant = true;
        // As it opens there: no page of every tenant's users.
        state.dashboard.users = crate::app::dashboard::UsersWindow::new(Vec::new());
        state.view = View::Dashboard;
        init(&mut state);
        assert_eq!(state.view, View::Tenants);
        state
    }

    /// [`per_tenant`] with 120 tenants: a search reads them in batches.
    fn per_tenant_of_120() -> State {
        let mut state = per_tenant();
        let names = (1..=120).map(|i| format!("t{i:03}")).collect();
        state.catalog = crate::db::TenantCatalog::new(names);
        state
    }

    /// The status line's "as of" during a search is the search's own read
    /// time, not the tenant list's (it used to show the list's).
    #[test]
    fn a_searchs_status_gives_its_own_read_time() {
        let mut state = per_tenant();
        state.read_at.insert(DIRECTORY_SLOT.0, "01:01:01".into());
        let batch = search_for_a(&mut state);
        assert_eq!(batch.end, state.catalog.names().len(), "one batch");
        found_nobody_at(&mut state, batch, "02:02:02");
        let frame = drawn(&state);
        assert!(frame.contains("as of 02:02:02"), "{frame}");
        assert!(!frame.contains("as of 01:01:01"), "{frame}");
        // A new search: the last one's time is not its own.
        chars(&mut state, "b");
        let frame = drawn(&state);
        assert!(!frame.contains("as of 02:02:02"), "{frame}");
    }

    /// The hint bar says Esc where it does something: back to the view the
    /// pane was opened from, or clearing a kept search; tenants first with
    /// nothing kept, Esc goes nowhere and is not hinted.
    #[test]
    fn esc_is_hinted_where_it_leads_somewhere() {
        let esc = |state: &State| {
            crate::app::keymap::hints(state.keys())
                .find(|(key, _)| key == "Esc")
                .map(|(_, what)| what)
        };
        let mut state = per_tenant();
        assert_eq!(esc(&state), None);
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "a");
        press(&mut state, KeyCode::Enter);
        assert_eq!(esc(&state), Some("clear search"));
        press(&mut state, KeyCode::Esc);
        assert_eq!(esc(&state), None, "the search cleared");
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('T'));
        assert_eq!(state.view, View::Tenants);
        assert_eq!(esc(&state), Some("back"));
    }

    /// Esc in the prompt puts back the search shown with its read time
    /// (typing had forgotten it: the status line lost its "as of").
    #[test]
    fn a_cancelled_prompt_puts_back_the_searchs_read_time() {
        let mut state = per_tenant();
        let batch = search_for_a(&mut state);
        found_nobody_at(&mut state, batch, "02:02:02");
        press(&mut state, KeyCode::Enter);
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "b");
        assert_eq!(state.read_at.get(SEARCH_SLOT.0), None, "ab's own, not read");
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.tenants.search.text(), Some("a"));
        let frame = drawn(&state);
        assert!(frame.contains("as of 02:02:02"), "{frame}");
    }

    /// A catalog reload during a search (`r` in the dashboard) changes
    /// neither what the search reads next nor its count (a shorter catalog
    /// used to slice past its end).
    #[test]
    fn a_catalog_that_shrinks_mid_search_neither_panics_nor_changes_the_search() {
        let mut state = per_tenant_of_120();
        let batch = search_for_a(&mut state);
        assert_eq!(batch.end, SEARCH_BATCH);
        state.catalog = crate::db::TenantCatalog::new(vec!["t001".into()]);
        let effects = found_nobody(&mut state, batch);
        match search_loads(&effects)[..] {
            [Job::Search { schemas, .. }] => {
                assert_eq!(schemas.first().map(String::as_str), Some("t051"));
                // The rest of the snapshot: a later batch is wider.
                assert_eq!(schemas.len(), SEARCH_WIDE_BATCH.min(120 - SEARCH_BATCH));
            }
            ref other => panic!("{other:?}"),
        }
        assert_eq!(state.tenants.search.load.total(), 120);
    }

    #[test]
    fn each_keystroke_supersedes_the_search_and_leaving_cancels_it() {
        let mut state = per_tenant();
        press(&mut state, KeyCode::Char('/'));
        let effects = chars(&mut state, "ab");
        let loads = search_loads(&effects);
        let keys: Vec<&str> = loads
            .iter()
            .map(|job| match job {
                Job::Search { text, schemas, .. } => {
                    assert_eq!(schemas.len(), 3, "the demo's three tenants in one batch");
                    text.as_str()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(keys, ["a", "ab"], "one load per text, in one slot");
        assert!(state.is_busy());
        // Esc in the prompt drops the search, and what still runs of it.
        let effects = press(&mut state, KeyCode::Esc);
        assert_eq!(effects, [Effect::Cancel(SEARCH_SLOT)]);
        assert_eq!(state.tenants.search.text(), None);
        // Searching again, then leaving for every user: stopped, and said so.
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "x");
        press(&mut state, KeyCode::Enter);
        let effects = press(&mut state, KeyCode::Char('a'));
        assert_eq!(state.view, View::Dashboard);
        assert!(
            effects.contains(&Effect::Cancel(SEARCH_SLOT)),
            "{effects:?}"
        );
        assert!(state.tenants.search.load.stopped().is_some());
    }

    /// `P` switches profile from the tenants pane, where the dashboard
    /// opens when users live in each tenant schema (it did nothing).
    #[test]
    fn p_opens_the_profile_picker_from_the_tenants_pane() {
        let mut state = per_tenant_of_120();
        assert_eq!(state.view, View::Tenants);
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(
            state.notice,
            Some(Err(
                "no profiles: add [profiles.NAME] sections to the config file".into()
            ))
        );
        state.session.connect.profiles = vec![("a".into(), "u@a:5432/a".into())];
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(state.view, View::Connect, "the profile picker");
        assert_eq!(
            state.session.connect.phase,
            super::super::connect::Phase::Picking
        );
    }

    /// `e` while the search is still reading tenants exports nothing (it
    /// wrote the users found so far and said "exported"); once it has read
    /// them all, the users found.
    #[test]
    fn a_search_exports_once_every_tenant_is_searched() {
        let mut state = per_tenant_of_120();
        let batch = search_for_a(&mut state);
        press(&mut state, KeyCode::Enter);
        let mut effects = found_nobody(&mut state, batch);
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        let notice = state.notice.take().unwrap().unwrap_err();
        assert_eq!(notice, "still loading: nothing to export yet");
        while let [Job::Search { batch, .. }] = search_loads(&effects)[..] {
            effects = found_nobody(&mut state, *batch);
        }
        assert!(!state.tenants.search.load.is_loading());
        let exported = press(&mut state, KeyCode::Char('e'));
        assert!(
            matches!(&exported[..], [Effect::Export { stem, .. }] if stem == "users-found"),
            "{exported:?}"
        );
        let written = crate::app::msg::Msg::Exported(Ok("./users-found.csv".into()));
        crate::app::update(&mut state, written);
        // A search stopped at its cap of matches before its last tenant
        // exports nothing, and says why.
        let batch = search_for_a(&mut state);
        press(&mut state, KeyCode::Enter);
        let user = |i: usize| crate::fixtures::user(&i.to_string(), &format!("a{i}"), "t001");
        let capped = SearchBatch {
            users: (0..crate::app::tenants::search::SEARCH_CAP)
                .map(user)
                .collect(),
            ..SearchBatch::default()
        };
        found(&mut state, batch, capped);
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        let notice = state.notice.take().unwrap().unwrap_err();
        assert_eq!(
            notice,
            "nothing to export: the read stopped before its last tenant \
             (1,000 matches in the tenants searched so far: refine the search)"
        );
    }

    /// A later batch's users placed among those shown (in the list's
    /// order) leave the cursor on the user it was on: Enter opened whoever
    /// had moved into its row.
    #[test]
    fn a_later_batch_keeps_the_selected_user_selected() {
        let mut state = per_tenant_of_120();
        let batch = search_for_a(&mut state);
        let user = |id: &str, tenant: &str| crate::fixtures::user(id, &format!("a{id}"), tenant);
        let first = SearchBatch {
            users: vec![user("1", "t001"), user("3", "t001")],
            ..SearchBatch::default()
        };
        let effects = found(&mut state, batch, first);
        press(&mut state, KeyCode::Enter);
        press(&mut state, KeyCode::Down);
        let selected = |state: &State| {
            let search = &state.tenants.search;
            search.users[search.rows.selected].name.clone()
        };
        assert_eq!(selected(&state), "a3");
        let Job::Search { batch, .. } = search_loads(&effects)[0].clone() else {
            panic!("the next batch: {effects:?}");
        };
        // a2 of t051 sorts between them.
        let second = SearchBatch {
            users: vec![user("2", "t051")],
            order: vec![0, 2, 1],
            ..SearchBatch::default()
        };
        found(&mut state, batch, second);
        let names = search_names(&state);
        assert_eq!(names, ["a1", "a2", "a3"]);
        assert_eq!(selected(&state), "a3");
    }

    /// A search that read every tenant but kept fewer matches than there
    /// are (a tenant's cap) or could not search one exports what it found
    /// and says what the file lacks beside its path (it said "exported").
    #[test]
    fn a_search_with_gaps_exports_and_says_what_it_lacks() {
        let mut state = per_tenant();
        let batch = search_for_a(&mut state);
        let gaps = SearchBatch {
            users: vec![crate::fixtures::user("1", "a1", "client1")],
            failed: vec![("client2".into(), "query timed out".into())],
            capped: 1,
            ..SearchBatch::default()
        };
        found(&mut state, batch, gaps);
        press(&mut state, KeyCode::Enter);
        let exported = press(&mut state, KeyCode::Char('e'));
        let [Effect::Export { note, .. }] = &exported[..] else {
            panic!("one export: {exported:?}")
        };
        assert_eq!(
            note.as_deref(),
            Some("1 could not be searched; the first 100 only in 1 tenant")
        );
    }

    /// Leaving after the search has read every tenant stops nothing: it
    /// is not said to be cut short.
    #[test]
    fn leaving_after_the_search_ended_stops_nothing() {
        let mut state = per_tenant();
        let batch = search_for_a(&mut state);
        assert!(search_loads(&found_nobody(&mut state, batch)).is_empty());
        press(&mut state, KeyCode::Enter);
        let effects = press(&mut state, KeyCode::Char('a'));
        assert!(
            !effects.contains(&Effect::Cancel(SEARCH_SLOT)),
            "{effects:?}"
        );
        assert_eq!(state.tenants.search.load.stopped(), None);
    }

    #[test]
    fn shared_users_open_on_the_users_and_t_opens_the_tenants() {
        let mut state = demo_state();
        assert_eq!(state.view, View::Dashboard);
        let effects = press(&mut state, KeyCode::Char('T'));
        assert_eq!(state.view, View::Tenants);
        assert!(matches!(
            &effects[..],
            [Effect::Load(task)] if task.slot == DIRECTORY_SLOT
        ));
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
    }

    /// `r` reads the tenants and the header's count with them: the count
    /// stayed as it was beside the pane's new counts (a tenant unlocked
    /// read `3` in the pane and `~462 users` above it).
    #[test]
    fn r_reads_the_tenants_and_the_header_count() {
        let mut state = per_tenant();
        let effects = press(&mut state, KeyCode::Char('r'));
        let slots: Vec<_> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Load(task) => Some(task.slot),
                _ => None,
            })
            .collect();
        assert!(slots.contains(&DIRECTORY_SLOT), "{effects:?}");
        assert!(
            slots.contains(&crate::app::msg::Slot("catalog")),
            "{effects:?}"
        );
        assert!(state.catalog_load.is_loading());
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
        crate::app::keymap::assert_no_key_twice(KEYS_SEARCHED);
        crate::app::keymap::assert_no_key_twice(KEYS_BACK);
        crate::app::keymap::assert_no_key_twice(SEARCHING);
    }
}
