//! What every view provides, in one table per view. Dispatch goes through
//! `View::screen`, generated with the list of views in `app/views.rs`.

use crossterm::event::{KeyEvent, MouseEvent};

use super::keymap::{Action, KeyTable};
use super::load::{Done, Keyed, Load, Loading};
use super::msg::Effect;
use super::state::State;
use crate::output::Document;

/// The status line's message, drawn by `ui`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Empty,
    /// Loading: drawn after the spinner.
    Busy(String),
    Done(String),
    Failed(String),
}

impl Status {
    /// The status of a view's one load: busy while it loads; once done,
    /// `what` it read and how long that took (a failure shows in the view).
    pub fn of<K: Keyed, T, E>(load: &Load<K, T, E>, what: impl Fn(&T) -> String) -> Status {
        if load.is_loading() {
            return Status::Busy("loading…".into());
        }
        match load.done() {
            Some(Done {
                result: Ok(value),
                elapsed,
                ..
            }) => Status::Done(format!("{}{}", what(value), took(*elapsed))),
            _ => Status::Empty,
        }
    }
}

/// " in 12 ms" after what a load read; nothing for a zero duration, which
/// only `tenantscope snapshot` sets so that its frames repeat exactly.
pub fn took(elapsed: std::time::Duration) -> String {
    if elapsed.is_zero() {
        String::new()
    } else {
        format!(" in {} ms", elapsed.as_millis())
    }
}

pub struct Screen {
    /// The key table in force (it may depend on the view's state).
    pub keys: fn(&State) -> KeyTable,
    /// A bound key of this view's table.
    pub on_action: fn(&mut State, Action) -> Vec<Effect>,
    /// A key the table does not bind (text input).
    pub on_key: fn(&mut State, KeyEvent) -> Vec<Effect>,
    /// A click or the wheel (not while help is open).
    pub on_mouse: fn(&mut State, MouseEvent) -> Vec<Effect>,
    /// After the terminal changed size (the dashboard's list is kept in
    /// view whatever is on screen).
    pub on_resize: fn(&mut State) -> Vec<Effect>,
    /// `ui.refresh_s`: read the data again, keeping what is shown.
    pub refresh: fn(&mut State) -> Vec<Effect>,
    /// What the view loads: the spinner turns while one of them is loading
    /// (`State::is_busy`).
    pub loads: fn(&State) -> Vec<&dyn Loading>,
    pub status: fn(&State) -> Status,
    /// The slot whose read time the status line gives ("as of").
    pub fresh: &'static str,
    /// A lasting caveat about what the view shows, after the status.
    pub warning: fn(&State) -> Option<String>,
    /// `e`: everything the view shows, all rows, with a file name stem.
    pub export: fn(&State) -> Option<(String, Document)>,
    /// What the export lacks that the view says (see `Effect::Export`).
    pub export_note: fn(&State) -> Option<String>,
    /// Sections of the `?` popup: a title and its keys.
    pub help: &'static [(&'static str, KeyTable)],
    /// The marks the view draws, explained in the `?` popup.
    pub marks: &'static [(&'static str, &'static str)],
}

impl Screen {
    /// A view that does nothing: each view's table names what it does and
    /// takes the rest from here (`..Screen::BASE`). Every view names its
    /// `keys`, `on_action`, `status`, `help` and `marks`.
    pub const BASE: Screen = Screen {
        keys: |_| &[],
        on_action: |_, _| Vec::new(),
        on_key: no_text,
        on_mouse: no_mouse,
        on_resize: nothing,
        refresh: nothing,
        loads: |_| Vec::new(),
        status: |_| Status::Empty,
        fresh: "",
        warning: no_warning,
        export: |_| None,
        export_note: |_| None,
        help: &[],
        marks: &[],
    };

    /// How many lines the `?` popup has: per key table its title, its keys
    /// and a blank line; then the marks' title and the marks; then a blank
    /// line, "Anywhere", Ctrl-Z and the mouse line.
    pub fn help_line_count(&self) -> usize {
        let tables: usize = self
            .help
            .iter()
            .map(|(_, table)| crate::app::keymap::bindings(table).count() + 2)
            .sum();
        // Marks, then "Anywhere" (Ctrl-Z and the mouse).
        tables + 1 + self.marks.len() + 4
    }
}

/// For views without a lasting caveat.
pub fn no_warning(_: &State) -> Option<String> {
    None
}

/// For views with nothing to do on a resize or a refresh.
pub fn nothing(_: &mut State) -> Vec<Effect> {
    Vec::new()
}

/// For views that take no mouse input.
pub fn no_mouse(_: &mut State, _: MouseEvent) -> Vec<Effect> {
    Vec::new()
}

/// For views without text input.
pub fn no_text(_: &mut State, _: KeyEvent) -> Vec<Effect> {
    Vec::new()
}
