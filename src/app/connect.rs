//! Connecting: "connecting to TARGET…" (or "starting the demo database…") while the first
//! load runs, a retry prompt when it fails, the profile picker (`P`). The runtime connects in a
//! task ([`Connector`]), swaps its executor's database on success; `update` resets every view.

use super::dashboard::PAGE_SIZE;
use super::keymap::{
    bind, reload_key, Action, Binding, Key, KeyTable, BACK, HELP_KEY, QUIT, VIEW_END,
};
use super::load::Ticket;
use super::msg::{Effect, ReadTime};
use super::picker::{Choice, Picker, PROFILE_KEYS};
use super::screen::{Screen, Status};
use super::state::{Data, Session, State, View};
use crate::db::{Database, Page, QueryHandle};
use std::time::Duration;

// The executor connects with these; they are the connection's own words.
pub use super::tasks::{ConnectError, Connecting, Connector, Opened};

#[derive(Debug, Clone)]
pub enum Msg {
    Done {
        ticket: Ticket,
        result: Result<Opened, ConnectError>,
    },
}

/// Nothing: a connection is made by `Effect::Connect`, not by a load.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {}

impl Job {
    pub async fn run(self, _: Database, _: QueryHandle) -> Msg {
        match self {}
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Phase {
    #[default]
    Connecting,
    Failed(ConnectError),
    Picking,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connect {
    pub phase: Phase,
    /// What is being connected to (the label, never a password).
    pub target: String,
    /// The profile in use (`None`: what start-up was configured with).
    pub profile: Option<String>,
    /// The profile being connected to, or that failed: what `r` retries.
    attempt: Option<String>,
    /// The config file's profiles with their targets, for the picker.
    pub profiles: Vec<(String, String)>,
    /// The profile picker (`P`), type to filter.
    pub picker: Picker,
    /// A database is open: Esc goes back to it.
    pub open: bool,
    /// Start-up's database is the demo (the picker's demo entry), whose
    /// server the first connect starts when the dashboard draws first.
    pub demo: bool,
    /// A connection to the demo succeeded: its server runs.
    pub demo_ready: bool,
    ticket: Ticket,
}

/// The picker's way to the built-in demo database (unless the config file
/// has a profile of that name): its name and target.
pub const DEMO_PROFILE: (&str, &str) = ("demo", "the built-in demo database");

/// The picker's way back to the database start-up was given (a connection
/// string or the environment, not a profile): its name. The runtime
/// connects to start-up's database when asked for no profile.
pub const STARTUP_PROFILE: &str = "(start-up)";

impl Connect {
    /// Whether `profile` (`None`: start-up's) is the built-in demo.
    fn is_demo(&self, profile: Option<&str>) -> bool {
        match profile {
            None => self.demo,
            Some(name) => name == DEMO_PROFILE.0 && self.offers_demo(),
        }
    }

    /// The picker's `demo` entry is the built-in demo (no profile of the
    /// config file has that name).
    fn offers_demo(&self) -> bool {
        self.profiles
            .iter()
            .any(|(n, t)| (n.as_str(), t.as_str()) == DEMO_PROFILE)
    }

    /// The picker's entry of `profile` (`None`: start-up's database).
    fn entry_of<'a>(&'a self, profile: Option<&'a str>) -> Option<&'a str> {
        match profile {
            Some(name) => Some(name),
            None if self.demo && self.offers_demo() => Some(DEMO_PROFILE.0),
            None => Some(STARTUP_PROFILE),
        }
        .filter(|name| self.profiles.iter().any(|(n, _)| n == name))
    }

    /// What a connection under way is doing, in the pane and the status
    /// line alike: the demo's first one starts its server.
    pub fn doing(&self) -> String {
        if self.is_demo(self.attempt.as_deref()) && !self.demo_ready {
            "starting the demo database…".to_string()
        } else {
            format!("connecting to {}…", self.target)
        }
    }

    /// A database is open from the start (no connection to show).
    pub fn opened() -> Connect {
        Connect {
            open: true,
            ..Connect::default()
        }
    }

    /// The current connection attempt, so a superseded one is dropped.
    pub fn ticket(&self) -> Ticket {
        self.ticket
    }

    /// The attempt succeeded: its profile is the one in use now.
    fn adopt_attempt(&mut self) {
        self.open = true;
        self.demo_ready |= self.is_demo(self.attempt.as_deref());
        self.profile = self.attempt.clone();
    }

    /// A failure that leaves the dashboard with no database at all.
    pub fn failed_at_start(&self) -> Option<&ConnectError> {
        match &self.phase {
            Phase::Failed(error) if !self.open => Some(error),
            _ => None,
        }
    }
}

/// The spinner turns while connecting.
impl super::load::Loading for Connect {
    fn is_loading(&self) -> bool {
        self.phase == Phase::Connecting
    }
}

use Action::*;
use Key::Char;

const PROFILES: Binding = bind(&[Char('P')], OpenProfiles, "profiles", true);
const CONNECTING: KeyTable = &[&[BACK, QUIT]];
const FAILED: KeyTable = &[&[reload_key("retry", true), PROFILES], &VIEW_END];
/// No database open yet: Esc has nothing to go back to.
const CONNECTING_FIRST: KeyTable = &[&[QUIT]];
const FAILED_FIRST: KeyTable = &[&[reload_key("retry", true), PROFILES], &[HELP_KEY, QUIT]];
/// The profile picker: typing filters the profiles.
const PICKING: KeyTable = PROFILE_KEYS;

pub const SCREEN: Screen = Screen {
    // Nothing is read yet: no "as of" time.
    fresh: "",
    keys: |state| match state.session.connect.phase {
        Phase::Connecting if !state.session.connect.open => CONNECTING_FIRST,
        Phase::Connecting => CONNECTING,
        Phase::Failed(_) if !state.session.connect.open => FAILED_FIRST,
        Phase::Failed(_) => FAILED,
        Phase::Picking => PICKING,
    },
    on_action,
    on_key: |state, key| {
        if state.session.connect.phase == Phase::Picking {
            let rows = super::picker::rows(state.session.size);
            state.session.connect.picker.edit(&key, rows);
        }
        Vec::new()
    },
    loads: |state| vec![&state.session.connect],
    status: |state| match &state.session.connect.phase {
        Phase::Connecting => Status::Busy(state.session.connect.doing()),
        Phase::Failed(error) => Status::Failed(error.message.clone()),
        Phase::Picking => Status::Empty,
    },
    help: &[
        ("While connecting", CONNECTING),
        ("When it failed", FAILED),
        ("Profiles (type to filter)", PICKING),
    ],
    marks: &[("●", "the profile in use")],
    ..Screen::BASE
};

/// Reads what the first frame of `db` needs, in a constant number of
/// queries (catalog, count, first page: nothing proportional to the
/// data), and the requested comparison tenant's schema (named by schema,
/// registry key or label, as `orders --compare` takes it), so bad input
/// fails before the terminal is touched.
pub async fn first_data(
    db: &Database,
    target: String,
    compare: Option<String>,
) -> Result<Data, crate::Failure> {
    let catalog = db.tenants().await?;
    let compare = match compare {
        Some(name) => Some(db.resolve_in(&catalog, &name).await?),
        None => None,
    };
    let count = db.user_count().await?;
    let tenants = super::tenants::Tenants::of(db);
    // Tenant-first: no page of every tenant's users until asked for.
    let first_page = if tenants.per_tenant {
        Vec::new()
    } else {
        db.users_page(None, &Page::First, PAGE_SIZE as i64, None)
            .await?
    };
    Ok(Data {
        tenants,
        ..Data::new(target, catalog, count, first_page, compare)
    })
}

/// The dashboard on a database open from the start: [`first_data`] in a
/// new session.
pub async fn initial_state(
    db: &Database,
    target: String,
    compare: Option<String>,
    debounce: Duration,
) -> Result<State, crate::Failure> {
    let data = first_data(db, target, compare).await?;
    let mut session = Session::opened();
    session.debounce = debounce;
    Ok(State::reopened(session, data))
}

/// What the first frame of `db` needs and no more: the first page of
/// users and the catalogue of its own tenants, in one transaction. The
/// whole catalogue and the user count come after the first frame (see
/// `Data::catalog_partial`). Where the first frame needs the whole
/// catalogue (tenant-first layouts, a comparison tenant to check), it is
/// [`first_data`].
pub async fn first_frame_data(
    db: &Database,
    target: String,
    compare: Option<String>,
) -> Result<Data, crate::Failure> {
    let tenants = super::tenants::Tenants::of(db);
    if tenants.per_tenant || compare.is_some() {
        return first_data(db, target, compare).await;
    }
    let (first_page, catalog) = db.first_page_with_its_tenants(PAGE_SIZE as i64).await?;
    Ok(Data {
        tenants,
        catalog_partial: true,
        ..Data::new(target, catalog, Default::default(), first_page, compare)
    })
}

/// Opens `db` for a dashboard that connects itself: its [`first_frame_data`].
pub async fn open(
    db: Database,
    target: String,
    compare: Option<String>,
) -> Result<Opened, crate::Failure> {
    let data = first_frame_data(&db, target, compare).await?;
    Ok(Opened {
        db,
        data: Box::new(data),
    })
}

/// The dashboard as it starts before its database is open: "connecting
/// to TARGET…", in `session` (its settings, and the profiles for the
/// picker), which it keeps once connected.
pub fn connecting_state(target: String, session: Session) -> State {
    let data = Data {
        target: target.clone(),
        view: View::Connect,
        ..Data::default()
    };
    let mut state = State::reopened(session, data);
    let connect = &mut state.session.connect;
    connect.target = target;
    connect.phase = Phase::Connecting;
    connect.open = false;
    state
}

/// Start-up effects: connect if not yet open.
pub fn init(state: &mut State) -> Option<Vec<Effect>> {
    (state.view == View::Connect && state.session.connect.phase == Phase::Connecting)
        .then(|| vec![connect(state, state.session.connect.profile.clone())])
}

fn connect(state: &mut State, profile: Option<String>) -> Effect {
    let ticket = state.ticket();
    let connect = &mut state.session.connect;
    connect.ticket = ticket;
    connect.phase = Phase::Connecting;
    let entry = connect.entry_of(profile.as_deref());
    if let Some((_, target)) = connect
        .profiles
        .iter()
        .find(|(n, _)| Some(n.as_str()) == entry)
    {
        connect.target = target.clone();
    }
    connect.attempt = profile.clone();
    Effect::Connect {
        ticket: connect.ticket,
        profile,
    }
}

/// `P` on the dashboard (or after a failure): the profile picker.
pub fn open_picker(state: &mut State) -> Vec<Effect> {
    if state.session.connect.profiles.is_empty() {
        state.notice = Some(Err(
            "no profiles: add [profiles.NAME] sections to the config file".into(),
        ));
        return Vec::new();
    }
    let connect = &mut state.session.connect;
    let current = connect.entry_of(connect.profile.as_deref());
    let in_use = current.filter(|_| connect.open);
    let choices = connect
        .profiles
        .iter()
        .map(|(name, target)| {
            let mut choice = Choice::new(name.clone(), name.clone(), target.clone(), &[name]);
            choice.marked = Some(name.as_str()) == in_use;
            choice
        })
        .collect();
    let rows = super::picker::rows(state.session.size);
    let current = current.map(str::to_string);
    connect.picker = Picker::new(choices, current.as_deref(), rows);
    connect.phase = Phase::Picking;
    super::nav::go(state, View::Connect);
    Vec::new()
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let rows = super::picker::rows(state.session.size);
    let picker = &mut state.session.connect.picker;
    if state.session.connect.phase == Phase::Picking && picker.navigate(action, rows) {
        return Vec::new();
    }
    match action {
        Reload => return vec![connect(state, state.session.connect.attempt.clone())],
        OpenProfiles => return open_picker(state),
        Back => back(state),
        Choose => {
            let chosen = picker.chosen().map(|c| c.value.clone());
            match chosen {
                // Start-up's database is no profile.
                Some(name) => {
                    let profile = (name != STARTUP_PROFILE).then_some(name);
                    return vec![connect(state, profile)];
                }
                None => state.notice = Some(Err("no profile matches: Esc goes back".into())),
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Esc: back to the open database (a connection under way is dropped),
/// or, with none open, from the picker back to the failure.
fn back(state: &mut State) {
    if state.session.connect.open {
        // A connection under way is answered with a ticket no longer awaited.
        let ticket = state.ticket();
        let connect = &mut state.session.connect;
        connect.ticket = ticket;
        connect.target = state.data.target.clone();
        connect.attempt = connect.profile.clone();
        connect.phase = Phase::Connecting;
        super::nav::back_or(state, View::Dashboard);
        return;
    }
    let connect = &mut state.session.connect;
    if connect.phase == Phase::Picking {
        connect.phase = Phase::Failed(ConnectError {
            message: format!("not connected to {}", connect.target),
            usage: false,
        });
    }
}

/// The database a finished connection brings, if it is the current one
/// (the runtime swaps it into its executor before `update` sees the message).
pub fn adopted(state: &State, msg: &super::msg::Msg) -> Option<Database> {
    match msg {
        super::msg::Msg::View(super::msg::ViewMsg::Connect(Msg::Done {
            ticket,
            result: Ok(opened),
        })) if *ticket == state.session.connect.ticket && state.view == View::Connect => {
            Some(opened.db.clone())
        }
        _ => None,
    }
}

/// A connection is no load of a slot: it has no read time.
pub fn on_msg(state: &mut State, msg: Msg, _: ReadTime) -> Vec<Effect> {
    let Msg::Done { ticket, result } = msg;
    if ticket != state.session.connect.ticket || state.view != View::Connect {
        return Vec::new();
    }
    match result {
        Err(error) => {
            state.session.connect.phase = Phase::Failed(error);
            Vec::new()
        }
        Ok(opened) => {
            // Every view starts over on the new database; the session goes on.
            let mut session = std::mem::take(&mut state.session);
            session.connect.adopt_attempt();
            *state = State::reopened(session, *opened.data);
            super::tenants::init(state)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::assert_no_key_twice;
    use crate::app::update::{init, update};
    use crate::fixtures::{demo_state, press};
    use crossterm::event::KeyCode;

    fn failed(ticket: u64) -> super::super::msg::Msg {
        let ticket = Ticket(ticket);
        super::super::msg::Msg::from(Msg::Done {
            ticket,
            result: Err(ConnectError {
                message: "cannot connect to x: refused".into(),
                usage: false,
            }),
        })
    }

    fn session(profiles: Vec<(String, String)>) -> Session {
        let mut session = Session {
            size: (120, 40),
            ..Session::default()
        };
        session.connect.profiles = profiles;
        session
    }

    /// `P`, then Enter on the entry `downs` below the first.
    fn pick(state: &mut State, downs: usize) -> Vec<Effect> {
        press(state, KeyCode::Char('P'));
        for _ in 0..downs {
            press(state, KeyCode::Down);
        }
        press(state, KeyCode::Enter)
    }

    fn profiles() -> Vec<(String, String)> {
        vec![
            ("a".into(), "u@a:5432/a".into()),
            ("b".into(), "u@b:5432/b".into()),
        ]
    }

    #[test]
    fn each_table_binds_a_key_once() {
        for table in [CONNECTING, FAILED, CONNECTING_FIRST, FAILED_FIRST, PICKING] {
            assert_no_key_twice(table);
        }
    }

    #[test]
    fn start_up_connects_fails_and_retries_dropping_a_stale_answer() {
        let mut state = connecting_state("u@h:1/d".into(), session(profiles()));
        assert!(state.is_busy(), "the spinner turns while connecting");
        assert_eq!(
            init(&mut state),
            vec![Effect::Connect {
                ticket: Ticket(1),
                profile: None
            }]
        );
        update(&mut state, failed(1));
        assert!(state.session.connect.failed_at_start().is_some());
        assert_eq!(
            press(&mut state, KeyCode::Char('r')),
            vec![Effect::Connect {
                ticket: Ticket(2),
                profile: None
            }]
        );
        update(&mut state, failed(1));
        assert_eq!(
            state.session.connect.phase,
            Phase::Connecting,
            "ticket 1 is stale"
        );
        // Esc cannot go back to a database that was never open.
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Connect);
        press(&mut state, KeyCode::Char('q'));
        assert!(state.session.quit);
    }

    #[test]
    fn the_demo_says_it_is_starting_and_a_profile_says_where_it_connects() {
        let status = |state: &State| (SCREEN.status)(state);
        let mut state = connecting_state("demo".into(), session(profiles()));
        state.session.connect.demo = true;
        init(&mut state);
        assert_eq!(
            status(&state),
            Status::Busy("starting the demo database…".into())
        );
        update(&mut state, failed(1));
        press(&mut state, KeyCode::Char('P'));
        press(&mut state, KeyCode::Enter);
        assert_eq!(
            status(&state),
            Status::Busy("connecting to u@a:5432/a…".into())
        );
    }

    /// The picker's demo entry: marked in use when start-up opened the
    /// demo; chosen from elsewhere, its server starts the first time only.
    /// A start-up database that is no profile has an entry of its own.
    #[test]
    fn the_demo_and_start_up_entries() {
        let status = |state: &State| (SCREEN.status)(state);
        let chosen = |state: &State| {
            let chosen = state.session.connect.picker.chosen().unwrap();
            (chosen.value.clone(), chosen.marked)
        };
        // What a connection's success does (see `on_msg`).
        let connected = |state: &mut State| {
            state.session.connect.adopt_attempt();
            state.view = View::Dashboard;
        };
        let demo = (DEMO_PROFILE.0.to_string(), DEMO_PROFILE.1.to_string());
        let mut state = demo_state();
        state.session.connect.profiles = vec![profiles()[0].clone(), demo.clone()];
        (state.session.connect.demo, state.session.connect.demo_ready) = (true, true);
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(chosen(&state), ("demo".into(), true));
        press(&mut state, KeyCode::Esc);

        // Start-up on a connection string: its entry; the demo not started.
        let startup = (STARTUP_PROFILE.to_string(), "u@s:5432/s".to_string());
        state.session.connect.profiles = vec![startup, profiles()[0].clone(), demo];
        (state.session.connect.demo, state.session.connect.demo_ready) = (false, false);
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(chosen(&state), (STARTUP_PROFILE.into(), true));
        press(&mut state, KeyCode::Down);
        press(&mut state, KeyCode::Down);
        let effects = press(&mut state, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Connect { profile: Some(p), .. }] if p == "demo"),
            "{effects:?}"
        );
        assert_eq!(
            status(&state),
            Status::Busy("starting the demo database…".into())
        );
        connected(&mut state);
        // Back to start-up's database: no profile, its target said.
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(chosen(&state), ("demo".into(), true));
        press(&mut state, KeyCode::Up);
        press(&mut state, KeyCode::Up);
        let effects = press(&mut state, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Connect { profile: None, .. }]),
            "{effects:?}"
        );
        assert_eq!(
            status(&state),
            Status::Busy("connecting to u@s:5432/s…".into())
        );
        connected(&mut state);
        // The demo again: its server runs already.
        pick(&mut state, 2);
        assert_eq!(
            status(&state),
            Status::Busy("connecting to the built-in demo database…".into())
        );
    }

    /// A profile of the config file named `demo` is that profile; the
    /// built-in demo at start-up is then `(start-up)`.
    #[test]
    fn a_profile_named_demo_is_no_demo() {
        let mut state = demo_state();
        let own = ("demo".to_string(), "u@d:5432/d".to_string());
        let startup = (STARTUP_PROFILE.to_string(), DEMO_PROFILE.1.to_string());
        state.session.connect.profiles = vec![startup, profiles()[0].clone(), own];
        state.session.connect.demo = true;
        press(&mut state, KeyCode::Char('P'));
        let chosen = state.session.connect.picker.chosen().unwrap();
        assert_eq!(
            (chosen.value.as_str(), chosen.marked),
            (STARTUP_PROFILE, true)
        );
        press(&mut state, KeyCode::Esc);
        pick(&mut state, 2);
        assert_eq!(
            (SCREEN.status)(&state),
            Status::Busy("connecting to u@d:5432/d…".into())
        );
    }

    #[test]
    fn the_picker_connects_to_the_chosen_profile_and_esc_goes_back() {
        let mut state = demo_state();
        assert!(press(&mut state, KeyCode::Char('P')).is_empty());
        assert_eq!(state.view, View::Dashboard);
        assert!(matches!(&state.notice, Some(Err(n)) if n.contains("no profiles")));

        state.session.connect.profiles = profiles();
        state.session.connect.profile = Some("a".into());
        press(&mut state, KeyCode::Char('P'));
        assert_eq!(
            (state.view, &state.session.connect.phase),
            (View::Connect, &Phase::Picking)
        );
        assert_eq!(
            state.session.connect.picker.cursor.on_screen(),
            Some(0),
            "the profile in use"
        );
        press(&mut state, KeyCode::Down);
        let effects = press(&mut state, KeyCode::Enter);
        let ticket = state.session.connect.ticket();
        assert_eq!(
            effects,
            vec![Effect::Connect {
                ticket,
                profile: Some("b".into())
            }]
        );
        assert_eq!(state.session.connect.target, "u@b:5432/b");
        // Esc while connecting: back to the open database; a late answer is dropped.
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(
            state.session.connect.profile.as_deref(),
            Some("a"),
            "still in use"
        );
        update(&mut state, failed(ticket.0));
        assert_eq!(state.view, View::Dashboard);
        assert!(state.session.connect.failed_at_start().is_none());
    }
}
