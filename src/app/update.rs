//! The pure state transition: no I/O, no clock, no terminal. Messages for
//! a view go to that view's module; keys go to the view on screen.

use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};

use super::keymap::{self, Action};
use super::msg::{Effect, Msg, ReadTime};
use super::screen::Status;
use super::state::State;
use super::{connect, dashboard, tenants};

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Mouse(mouse) => on_mouse(state, mouse),
        Msg::Resize(width, height) => {
            // What is drawn of the terminal (all of it, unless it is huge).
            let drawn = crate::geometry::drawable(ratatui::layout::Rect::new(0, 0, width, height));
            state.session.size = (drawn.width, drawn.height);
            dashboard::on_resize(state);
            let rows = super::picker::rows(state.session.size);
            if let Some(picker) = state.picker.as_mut() {
                picker.keep_visible(rows);
            }
            state.session.connect.picker.keep_visible(rows);
            (state.view.screen().on_resize)(state)
        }
        Msg::Tick => {
            state.session.ticks = state.session.ticks.wrapping_add(1);
            Vec::new()
        }
        // A view's message on its own: no load's read time with it.
        Msg::View(msg) => msg.update(state, ReadTime::default()),
        Msg::Exported(result) => {
            // Read from another database than the one now open: said.
            let from = state.session.exporting.take().map(|e| e.from);
            let from = match from.filter(|from| *from != state.database_name()) {
                Some(from) => format!(" (from {})", crate::text::sanitize(&from)),
                None => String::new(),
            };
            state.notice = Some(match result {
                Ok(path) => Ok(format!("exported to {path}{from}")),
                Err(error) => Err(format!("{error}{from}")),
            });
            Vec::new()
        }
        Msg::Copied(result) => {
            // "copied id 9 to the clipboard via the terminal (OSC 52)"
            state.notice = Some(result.map(|what| format!("copied {what}")));
            Vec::new()
        }
        // The view records `at` where it takes a successful result.
        Msg::Loaded { slot, at, result } => result.update(state, ReadTime::new(slot, at)),
        Msg::Refresh => refresh(state),
        Msg::Terminate(signal) => {
            state.session.quit = true;
            state.session.ended_by = Some(signal);
            Vec::new()
        }
    }
}

/// Effects to run when the dashboard opens.
pub fn init(state: &mut State) -> Vec<Effect> {
    connect::init(state).unwrap_or_else(|| tenants::init(state))
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    // Only "Terminal too small" is on screen: a key would act unseen (the
    // dashboard came back in the matrix with help open). Quitting still
    // quits, by the keys of what is open (a prompt types `q`).
    if crate::geometry::too_small(state.session.size) {
        if keymap::action_for(state.keys(), &key) == Some(Action::Quit) {
            quit(state);
        }
        return Vec::new();
    }
    state.notice = None;
    if state.picker.is_some() && !state.help_open {
        return super::picker::compare_key(state, key);
    }
    let screen = state.view.screen();
    let Some(action) = keymap::action_for(state.keys(), &key) else {
        return (screen.on_key)(state, key);
    };
    if state.help_open {
        return help_key(state, action);
    }
    // What every view does alike; the rest is the view's own.
    match action {
        Action::ToggleHelp => {
            state.help_open = true;
            state.help_scroll = 0;
        }
        Action::Export => return export(state),
        Action::Quit => quit(state),
        action => return (screen.on_action)(state, action),
    }
    Vec::new()
}

/// `q` (or Ctrl-C): quits; over an export still on its way, only once
/// told so (it quit at once, and the file was never written).
pub(super) fn quit(state: &mut State) {
    match &mut state.session.exporting {
        Some(export) if !export.quit_asked => {
            export.quit_asked = true;
            state.notice = Some(Err(
                "still exporting: q again quits, and the file is not written".into(),
            ));
        }
        _ => state.session.quit = true,
    }
}

/// `ui.refresh_s`: the view on screen reads its data again, keeping what
/// is shown (selection, filter, scroll) until the new data comes. Not while
/// something loads.
fn refresh(state: &mut State) -> Vec<Effect> {
    if state.is_busy() {
        return Vec::new();
    }
    (state.view.screen().refresh)(state)
}

/// Keys of the help popup: close, scroll, quit.
fn help_key(state: &mut State, action: Action) -> Vec<Effect> {
    let lines = state.view.screen().help_line_count();
    let most = crate::geometry::help_max_scroll(lines, state.session.size);
    // A page is what the popup shows: no line is skipped.
    let page = crate::geometry::help_shown(lines, state.session.size).max(1);
    let scroll = state.help_scroll.min(most);
    state.help_scroll = match action {
        Action::Up => scroll.saturating_sub(1),
        Action::Down => (scroll + 1).min(most),
        Action::PageUp => scroll.saturating_sub(page),
        Action::PageDown => (scroll + page).min(most),
        Action::First => 0,
        Action::Last => most,
        _ => scroll,
    };
    match action {
        Action::ToggleHelp | Action::CloseHelp => {
            state.help_open = false;
            return super::nav::mend(state);
        }
        Action::Quit => quit(state),
        _ => {}
    }
    Vec::new()
}

fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    let unseen = crate::geometry::too_small(state.session.size);
    if unseen || state.help_open || state.picker.is_some() {
        return Vec::new();
    }
    (state.view.screen().on_mouse)(state, mouse)
}

/// `e`: everything the view shows (all its rows, not only those on
/// screen), written as CSV by the runtime, off the UI path.
fn export(state: &mut State) -> Vec<Effect> {
    if state.session.exporting.is_some() {
        state.notice = Some(Err("still exporting: one export at a time".into()));
        return Vec::new();
    }
    match (state.view.screen().export)(state) {
        Some((stem, document)) => {
            // A read may take a while: said until the file is written.
            let reads = matches!(document, crate::output::Document::ToRead(_));
            if reads {
                state.notice = None;
            }
            state.session.exporting = Some(super::state::Exporting {
                from: state.database_name(),
                reads,
                quit_asked: false,
            });
            let note = (state.view.screen().export_note)(state);
            vec![Effect::Export {
                stem,
                document,
                note,
            }]
        }
        None => {
            // Said apart: a load on its way is worth waiting for.
            let screen = state.view.screen();
            let failed = matches!((screen.status)(state), Status::Failed(_));
            let cut = (screen.loads)(state).iter().find_map(|l| l.cut_short());
            let why = if let Some(why) = cut {
                format!("nothing to export: the read stopped before its last tenant ({why})")
            } else if state.is_busy() {
                "still loading: nothing to export yet".to_string()
            } else if failed {
                "nothing to export: the view could not be loaded (it says why)".to_string()
            } else {
                "nothing loaded to export yet".to_string()
            };
            state.notice = Some(Err(why));
            Vec::new()
        }
    }
}
