//! The key vocabulary. Each view owns its key table (a list of these
//! bindings); key handling, the hint bar and the `?` help popup all read
//! the same table, so they cannot disagree. Labels are derived from the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Left,
    Right,
    Reload,
    Export,
    ToggleHelp,
    CloseHelp,
    /// Step back one level: out of a popup, a view, a filter. Never quits.
    Back,
    Quit,
    StartFilter,
    KeepFilter,
    /// ↑/↓ in a prompt: an earlier or later entry of its history.
    OlderEntry,
    NewerEntry,
    NextCompare,
    PreviousCompare,
    /// `C`: the comparison tenant picker.
    PickCompare,
    SwitchFocus,
    OpenHealth,
    OpenPrices,
    OpenBasket,
    ToggleSort,
    ShowLeaks,
    /// Enter on a matrix cell: the users who ordered that item there.
    ShowBuyers,
    /// The profile picker.
    OpenProfiles,
    /// Enter in a picker.
    Choose,
    /// Enter on the dashboard: every value of the user or order line.
    ShowDetail,
    /// `y` in the detail popup: the value under the cursor.
    CopyValue,
    /// `y` / `Y` on the users list: the id / the row as TSV.
    CopyId,
    CopyRow,
    /// The tenants pane (`T`), and from it every tenant's users (`a`).
    OpenTenants,
    AllUsers,
    /// The health view: only the rows with findings, or every row again.
    OnlyFindings,
    /// Ctrl-Z: handled where input is read (see [`SUSPEND`]).
    Suspend,
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

    fn name(self) -> String {
        match self {
            Key::Char(ch) => ch.to_string(),
            Key::Ctrl(ch) => format!("Ctrl-{}", ch.to_ascii_uppercase()),
            Key::Code(code) => match code {
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Left => "←".into(),
                KeyCode::Right => "→".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::BackTab => "Shift-Tab".into(),
                other => other.to_string(),
            },
        }
    }

    /// A second way to the same action that labels leave out when a first
    /// way exists (Ctrl-C beside `q`, Shift-Tab beside Tab).
    fn is_alternate(self) -> bool {
        matches!(self, Key::Ctrl(_) | Key::Code(KeyCode::BackTab))
    }
}

#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub description: &'static str,
    /// Shown in the hint bar (everything is in the help popup).
    pub hint: bool,
    /// Hinted after the view's other hints: the bar shows it when it has
    /// room for them all (see [`spare`]).
    pub spare: bool,
}

impl Binding {
    /// How the keys are written in the hint bar and help: `↑/k`, `q/Esc`.
    pub fn label(&self) -> String {
        let main: Vec<String> = self
            .keys
            .iter()
            .filter(|k| !k.is_alternate())
            .map(|k| k.name())
            .collect();
        if main.is_empty() {
            self.keys
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join("/")
        } else {
            main.join("/")
        }
    }
}

/// A key table: the bindings of one mode, in help order, in groups so that
/// groups can be shared between views.
pub type KeyTable = &'static [&'static [Binding]];

/// The keys most views bind alone.
pub const ENTER: &[Key] = &[Code(KeyCode::Enter)];
pub const ESC: &[Key] = &[Code(KeyCode::Esc)];

pub const fn bind(
    keys: &'static [Key],
    action: Action,
    description: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        keys,
        action,
        description,
        hint,
        spare: false,
    }
}

/// `binding` in the hint bar after every other hint of its table, where
/// the bar is wide enough: a second way to something hinted already (the
/// comparison picker beside `c`) or a key every view has (`r`, `e`), kept
/// in its place in the help.
pub const fn spare(binding: Binding) -> Binding {
    Binding {
        hint: true,
        spare: true,
        ..binding
    }
}

use Action::*;
use Key::{Char, Code, Ctrl};

/// What the rows of a list are called in its navigation bindings.
pub struct Rows {
    pub up: &'static str,
    pub down: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    /// Show "down" in the hint bar.
    pub hint: bool,
}

/// Rows of no particular kind (users, tenants): "move up", "first row"…
pub const ROWS: Rows = Rows {
    up: "move up",
    down: "move down",
    first: "first row",
    last: "last row",
    hint: false,
};

/// A list of tenants (the health view, the basket).
pub const TENANTS: Rows = Rows {
    up: "tenant up",
    down: "tenant down",
    first: "first tenant",
    last: "last tenant",
    hint: true,
};

/// The navigation every list shares: arrows and vim keys, pages, ends.
pub const fn navigation(rows: Rows) -> [Binding; 6] {
    [
        bind(&[Code(KeyCode::Up), Char('k')], Up, rows.up, false),
        bind(
            &[Code(KeyCode::Down), Char('j')],
            Down,
            rows.down,
            rows.hint,
        ),
        bind(&[Code(KeyCode::PageUp)], PageUp, "page up", false),
        bind(&[Code(KeyCode::PageDown)], PageDown, "page down", false),
        bind(&[Char('g'), Code(KeyCode::Home)], First, rows.first, false),
        bind(&[Char('G'), Code(KeyCode::End)], Last, rows.last, false),
    ]
}

/// `r`: read the view again (`label` says what that means there).
pub const fn reload_key(label: &'static str, hint: bool) -> Binding {
    bind(&[Char('r')], Reload, label, hint)
}

/// `e`: the view's rows to a CSV file, the same words in every view.
pub const fn export_key(hint: bool) -> Binding {
    bind(&[Char('e')], Export, "export CSV", hint)
}

pub const HELP_KEY: Binding = bind(&[Char('?')], ToggleHelp, "help", true);
pub const BACK: Binding = bind(ESC, Back, "back", true);
pub const QUIT: Binding = bind(&[Char('q'), Ctrl('c')], Quit, "quit", true);
/// In every view: the input thread acts on it before any view sees it
/// (raw mode makes Ctrl-Z a key), and the help lists it after the marks.
pub const SUSPEND: Binding = bind(&[Ctrl('z')], Suspend, "suspend (fg resumes)", false);

impl Binding {
    /// `event` is one of this binding's keys.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        self.keys.iter().any(|key| key.matches(event))
    }
}

/// Help, back to the dashboard and quit: the end of every full-screen view's table.
pub const VIEW_END: [Binding; 3] = [HELP_KEY, BACK, QUIT];

/// While the help popup is open: it scrolls when it does not fit.
pub const HELP: KeyTable = &[&[
    bind(
        &[Char('?'), Code(KeyCode::Esc)],
        CloseHelp,
        "close help",
        true,
    ),
    bind(&[Code(KeyCode::Up), Char('k')], Up, "scroll up", false),
    bind(&[Code(KeyCode::Down), Char('j')], Down, "scroll", true),
    bind(&[Code(KeyCode::PageUp)], PageUp, "page up", false),
    bind(&[Code(KeyCode::PageDown)], PageDown, "page down", true),
    bind(&[Char('g'), Code(KeyCode::Home)], First, "top", false),
    bind(&[Char('G'), Code(KeyCode::End)], Last, "bottom", false),
    QUIT,
]];

fn all(table: KeyTable) -> impl Iterator<Item = &'static Binding> + Clone {
    table.iter().flat_map(|group| group.iter())
}

/// The action bound to `event` in `table`, if any.
pub fn action_for(table: KeyTable, event: &KeyEvent) -> Option<Action> {
    all(table)
        .find(|binding| binding.matches(event))
        .map(|binding| binding.action)
}

/// Every binding of `table`, in help order.
pub fn bindings(table: KeyTable) -> impl Iterator<Item = &'static Binding> {
    all(table)
}

/// `key description` pairs for the hint bar; help, back and quit first, so
/// that a narrow bar that drops hints still says where the rest are and
/// how to leave; [`spare`] ones last.
pub fn hints(table: KeyTable) -> impl Iterator<Item = (String, &'static str)> {
    let shown = all(table).filter(|b| b.hint);
    let first = |b: &&Binding| matches!(b.action, ToggleHelp | CloseHelp | Back | Quit);
    let leading = shown.clone().filter(first);
    let middle = shown.clone().filter(move |b| !first(b) && !b.spare);
    let last = shown.filter(move |b| !first(b) && b.spare);
    leading
        .chain(middle)
        .chain(last)
        .map(|b| (b.label(), b.description))
}

/// No key is bound twice in `table` (each view's tests check its tables),
/// nor is [`SUSPEND`]'s, which the input thread takes before any view.
#[cfg(test)]
pub fn assert_no_key_twice(table: KeyTable) {
    let keys: Vec<Key> = all(table)
        .chain([&SUSPEND])
        .flat_map(|b| b.keys.iter().copied())
        .collect();
    for (i, k) in keys.iter().enumerate() {
        assert!(!keys[i + 1..].contains(k), "{k:?} bound twice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_main_keys() {
        let label = |keys: &'static [Key]| bind(keys, Quit, "", false).label();
        assert_eq!(label(&[Code(KeyCode::Up), Char('k')]), "↑/k");
        assert_eq!(label(&[Char('q'), Code(KeyCode::Esc), Ctrl('c')]), "q/Esc");
        assert_eq!(label(&[Ctrl('c')]), "Ctrl-C");
        assert_eq!(label(&[Code(KeyCode::Tab), Code(KeyCode::BackTab)]), "Tab");
        assert_eq!(label(&[Code(KeyCode::PageDown)]), "PgDn");
        assert_eq!(label(ENTER), "Enter");
    }

    /// Help, back and quit lead; a spare hint comes after the others,
    /// wherever it stands in the table (and so in the help).
    #[test]
    fn hints_lead_with_help_and_end_with_spare_ones() {
        const TABLE: KeyTable = &[&[
            bind(&[Char('c')], NextCompare, "next", true),
            spare(bind(&[Char('C')], PickCompare, "pick", false)),
            bind(&[Char('p')], OpenPrices, "prices", true),
            bind(&[Char('x')], Reload, "unhinted", false),
            HELP_KEY,
        ]];
        let order: Vec<_> = hints(TABLE).map(|(_, d)| d).collect();
        assert_eq!(order, ["help", "next", "prices", "pick"]);
        let help: Vec<_> = bindings(TABLE).map(|b| b.description).collect();
        assert_eq!(help, ["next", "pick", "prices", "unhinted", "help"]);
    }

    #[test]
    fn help_binds_each_key_once() {
        assert_no_key_twice(HELP);
    }
}
