//! The one key map. Key handling, the hint bar and the `?` help popup are
//! all read from these tables, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    StartFilter,
    KeepFilter,
    ClearFilter,
    NextCompare,
    PreviousCompare,
    SwitchFocus,
    Reload,
    ToggleHelp,
    CloseHelp,
    Quit,
    OpenHealth,
    OpenPrices,
    Back,
    Left,
    Right,
    ToggleSort,
    ShowLeaks,
    Jump,
    Export,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Code(KeyCode),
    Char(char),
    Ctrl(char),
}

impl Key {
    fn matches(self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Key::Code(code) => event.code == code && !ctrl,
            // Shifted letters arrive as the upper-case char, with or without SHIFT.
            Key::Char(ch) => event.code == KeyCode::Char(ch) && !ctrl,
            Key::Ctrl(ch) => event.code == KeyCode::Char(ch) && ctrl,
        }
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in the hint bar and help.
    pub label: &'static str,
    pub action: Action,
    pub description: &'static str,
    /// Shown in the hint bar (everything is in the help popup).
    pub hint: bool,
}

/// Which table applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filtering,
    Health,
    Prices,
    Help,
}

const fn bind(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    description: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        description,
        hint,
    }
}

use Action::*;
use Key::{Char, Code, Ctrl};

pub const NORMAL: &[Binding] = &[
    bind(&[Code(KeyCode::Up), Char('k')], "↑/k", Up, "move up", false),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        "↓/j",
        Down,
        "move down",
        true,
    ),
    bind(&[Code(KeyCode::PageUp)], "PgUp", PageUp, "page up", false),
    bind(
        &[Code(KeyCode::PageDown)],
        "PgDn",
        PageDown,
        "page down",
        false,
    ),
    bind(
        &[Char('g'), Code(KeyCode::Home)],
        "g/Home",
        First,
        "first row",
        false,
    ),
    bind(
        &[Char('G'), Code(KeyCode::End)],
        "G/End",
        Last,
        "last row",
        false,
    ),
    bind(&[Char('/')], "/", StartFilter, "filter users", true),
    bind(
        &[Char('c')],
        "c",
        NextCompare,
        "next comparison tenant",
        true,
    ),
    bind(
        &[Char('C')],
        "C",
        PreviousCompare,
        "previous comparison tenant",
        false,
    ),
    bind(
        &[Code(KeyCode::Tab), Code(KeyCode::BackTab)],
        "Tab",
        SwitchFocus,
        "switch pane",
        false,
    ),
    bind(&[Char('r')], "r", Reload, "reload", false),
    bind(&[Char('t')], "t", OpenHealth, "tenant health", true),
    bind(&[Char('p')], "p", OpenPrices, "price matrix", true),
    bind(&[Char('e')], "e", Export, "export CSV", false),
    bind(&[Char('?')], "?", ToggleHelp, "help", true),
    bind(
        &[Char('q'), Code(KeyCode::Esc), Ctrl('c')],
        "q/Esc",
        Quit,
        "quit",
        true,
    ),
];

pub const HEALTH: &[Binding] = &[
    bind(&[Code(KeyCode::Up), Char('k')], "↑/k", Up, "move up", false),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        "↓/j",
        Down,
        "move down",
        true,
    ),
    bind(&[Code(KeyCode::PageUp)], "PgUp", PageUp, "page up", false),
    bind(
        &[Code(KeyCode::PageDown)],
        "PgDn",
        PageDown,
        "page down",
        false,
    ),
    bind(
        &[Char('g'), Code(KeyCode::Home)],
        "g/Home",
        First,
        "first tenant",
        false,
    ),
    bind(
        &[Char('G'), Code(KeyCode::End)],
        "G/End",
        Last,
        "last tenant",
        false,
    ),
    bind(&[Char('L')], "L", ShowLeaks, "find leaked orders", true),
    bind(&[Char('r')], "r", Reload, "reload", true),
    bind(&[Char('e')], "e", Export, "export CSV", true),
    bind(&[Char('?')], "?", ToggleHelp, "help", true),
    bind(&[Code(KeyCode::Esc)], "Esc", Back, "back", true),
    bind(&[Char('q'), Ctrl('c')], "q", Quit, "quit", true),
];

pub const PRICES: &[Binding] = &[
    bind(&[Code(KeyCode::Up), Char('k')], "↑/k", Up, "item up", false),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        "↓/j",
        Down,
        "item down",
        false,
    ),
    bind(
        &[Code(KeyCode::Left), Char('h')],
        "←/h",
        Left,
        "tenant left",
        false,
    ),
    bind(
        &[Code(KeyCode::Right), Char('l')],
        "→/l",
        Right,
        "tenant right",
        true,
    ),
    bind(&[Code(KeyCode::PageUp)], "PgUp", PageUp, "page up", false),
    bind(
        &[Code(KeyCode::PageDown)],
        "PgDn",
        PageDown,
        "page down",
        false,
    ),
    bind(
        &[Char('g'), Code(KeyCode::Home)],
        "g/Home",
        First,
        "first item",
        false,
    ),
    bind(
        &[Char('G'), Code(KeyCode::End)],
        "G/End",
        Last,
        "last item",
        false,
    ),
    bind(&[Char('s')], "s", ToggleSort, "sort by spread/name", true),
    bind(
        &[Code(KeyCode::Enter)],
        "Enter",
        Jump,
        "users who ordered it",
        true,
    ),
    bind(&[Char('r')], "r", Reload, "reload", false),
    bind(&[Char('e')], "e", Export, "export CSV", true),
    bind(&[Char('?')], "?", ToggleHelp, "help", true),
    bind(&[Code(KeyCode::Esc)], "Esc", Back, "back", true),
    bind(&[Char('q'), Ctrl('c')], "q", Quit, "quit", true),
];

pub const FILTERING: &[Binding] = &[
    bind(
        &[Code(KeyCode::Enter)],
        "Enter",
        KeepFilter,
        "keep filter",
        true,
    ),
    bind(
        &[Code(KeyCode::Esc)],
        "Esc",
        ClearFilter,
        "clear filter",
        true,
    ),
    bind(&[Code(KeyCode::Up)], "↑", Up, "move up", true),
    bind(&[Code(KeyCode::Down)], "↓", Down, "move down", true),
    bind(&[Ctrl('c')], "Ctrl-C", Quit, "quit", true),
];

pub const HELP: &[Binding] = &[
    bind(
        &[Char('?'), Code(KeyCode::Esc)],
        "?/Esc",
        CloseHelp,
        "close help",
        true,
    ),
    bind(&[Char('q'), Ctrl('c')], "q", Quit, "quit", true),
];

pub fn bindings(mode: Mode) -> &'static [Binding] {
    match mode {
        Mode::Normal => NORMAL,
        Mode::Filtering => FILTERING,
        Mode::Health => HEALTH,
        Mode::Prices => PRICES,
        Mode::Help => HELP,
    }
}

/// The action bound to `event` in `mode`, if any. In `Filtering`, keys
/// without a binding are text for the filter (the caller handles them).
pub fn action_for(mode: Mode, event: &KeyEvent) -> Option<Action> {
    bindings(mode)
        .iter()
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
        .map(|binding| binding.action)
}

/// `key description` pairs for the hint bar; help first, so that a narrow
/// bar that drops hints still says where the rest are.
pub fn hints(mode: Mode) -> impl Iterator<Item = (&'static str, &'static str)> {
    let shown = bindings(mode).iter().filter(|b| b.hint);
    let help = shown.clone().filter(|b| b.action == ToggleHelp);
    help.chain(shown.filter(|b| b.action != ToggleHelp))
        .map(|b| (b.label, b.description))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn vim_and_arrow_keys_share_actions() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            action_for(Mode::Normal, &key(KeyCode::Char('j'), none)),
            Some(Down)
        );
        assert_eq!(
            action_for(Mode::Normal, &key(KeyCode::Down, none)),
            Some(Down)
        );
        assert_eq!(
            action_for(Mode::Normal, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Last)
        );
        assert_eq!(
            action_for(
                Mode::Normal,
                &key(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Quit)
        );
        assert_eq!(
            action_for(Mode::Normal, &key(KeyCode::Char('c'), none)),
            Some(NextCompare)
        );
    }

    #[test]
    fn filtering_leaves_letters_to_the_filter() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            action_for(Mode::Filtering, &key(KeyCode::Char('q'), none)),
            None
        );
        assert_eq!(
            action_for(Mode::Filtering, &key(KeyCode::Char('j'), none)),
            None
        );
        assert_eq!(
            action_for(Mode::Filtering, &key(KeyCode::Esc, none)),
            Some(ClearFilter)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for mode in [
            Mode::Normal,
            Mode::Filtering,
            Mode::Health,
            Mode::Prices,
            Mode::Help,
        ] {
            let keys: Vec<Key> = bindings(mode)
                .iter()
                .flat_map(|b| b.keys.iter().copied())
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} bound twice in {mode:?}");
            }
        }
    }
}
