//! Messages into `update`, and effects out of it.

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use super::state::State;
use crate::output::Document;

pub use super::views::{Job, ViewMsg};

// One message per event or load result, moved once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Drives the spinner; slow when idle.
    Tick,
    /// For one view (a load it asked for finished, a connection was made);
    /// build one with `<view>::Msg::….into()`.
    View(ViewMsg),
    /// The file an export wrote, or why it could not.
    Exported(Result<String, String>),
    /// What a copy sent where ("id 9 to the clipboard via …"), or why it could not.
    Copied(Result<String, String>),
    /// A load in `slot` finished at `at` (local `HH:MM:SS`) with `result`,
    /// its view's message: `at` dates what the view shows only once the
    /// view takes a successful result (see [`ReadTime`]).
    Loaded {
        slot: &'static str,
        at: String,
        result: ViewMsg,
    },
    /// `ui.refresh_s` passed: read the visible data again.
    Refresh,
    /// A signal (SIGINT, SIGQUIT, SIGTERM, SIGHUP; its name): leave like
    /// `q` does, the exit status saying which.
    Terminate(&'static str),
}

/// When a load's result was read, for its slot's read time (the status
/// line's "as of"). It comes with the result ([`Msg::Loaded`]) and is
/// recorded by the view, where it takes the result into what it shows and
/// the load succeeded ([`ReadTime::taken`]): a failed load, or a result
/// dropped as stale, leaves the slot's time at the data it still shows.
/// A view's message delivered on its own (tests, `snapshot`) has none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadTime(Option<(&'static str, String)>);

impl ReadTime {
    /// `slot`'s load read its result at `at`.
    pub fn new(slot: &'static str, at: String) -> ReadTime {
        ReadTime(Some((slot, at)))
    }

    /// The view took the successful result: its slot's data is as of then.
    pub fn taken(self, state: &mut State) {
        if let Some((slot, at)) = self.0 {
            state.read_at.insert(slot, at);
        }
    }
}

/// Work for the runtime. `update` never does I/O itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a load in its slot, superseding (and cancelling) the one there.
    /// Boxed: a job carries its request (a user, a key), far larger than
    /// the other effects.
    Load(Box<Task>),
    /// Nothing is wanted from this slot any more: cancel what runs there.
    Cancel(Slot),
    /// Connect to a profile (`None`: the start-up one) and load the
    /// dashboard's first state; on success the runtime uses the new database.
    Connect {
        ticket: super::load::Ticket,
        profile: Option<String>,
    },
    /// Write a document as CSV to a new file in the current directory.
    /// `note`: what the file lacks that the view says (a search's capped
    /// tenants), said beside its path once written.
    Export {
        stem: String,
        document: Document,
        note: Option<String>,
    },
    /// Put `text` on the clipboard (tmux or OSC 52); `what` names it in the status line.
    Copy { what: String, text: String },
}

/// One kind of load, of which at most one runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(pub &'static str);

/// When a load starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// At once.
    None,
    /// After this long (typing in the filter).
    Fixed(Duration),
    /// At once after a quiet moment; after this long when it follows
    /// another load of its slot within this long (a held key).
    Debounce(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub slot: Slot,
    pub delay: Delay,
    pub job: Job,
}

impl Job {
    pub fn task(self, slot: Slot, delay: Delay) -> Effect {
        Effect::Load(Box::new(Task {
            slot,
            delay,
            job: self,
        }))
    }
}
