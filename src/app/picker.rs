//! A type-to-filter picker: a prompt over a list of choices, narrowed as
//! you type (a case-insensitive substring of each choice's label, key or
//! schema), ↑/↓ to move, Enter to pick, Esc to cancel. The comparison
//! tenant (`C`, a popup over the dashboard) and the connection profiles
//! (`P`) use it.
//!
//! Filtering runs over the choices in memory, built once when the picker
//! opens: nothing is read from the database per keystroke, and each
//! keystroke costs one pass over the choices (10,000 tenants included).
//! Drawing builds only the rows on screen ([`Picker::visible`]).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

use super::input::LineInput;
use super::keymap::{self, bind, Action, Binding, Key, KeyTable, ENTER, ESC};
use super::load::Cursor;
use super::msg::{Delay, Effect};
use super::state::State;

/// One thing to pick.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice {
    /// What picking it gives (a schema, a profile's name).
    pub value: String,
    /// As people call it.
    pub label: String,
    /// Beside the label (a registry key and schema, a profile's target).
    pub detail: String,
    /// The one in use (`●`).
    pub marked: bool,
    /// What typing matches: every name of it, in lower case.
    haystack: String,
}

impl Choice {
    /// A choice found by typing any of `names` (its label, key, schema).
    pub fn new(value: String, label: String, detail: String, names: &[&str]) -> Choice {
        let haystack = names
            .iter()
            .map(|name| name.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        Choice {
            value,
            label,
            detail,
            marked: false,
            haystack,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Picker {
    pub input: LineInput,
    choices: Vec<Choice>,
    /// Indexes of the choices the text matches, in order.
    matches: Vec<usize>,
    /// Within `matches`.
    pub cursor: Cursor,
}

/// The indexes of `choices` whose label, key or schema contains `text`,
/// case-insensitively; every one for an empty text.
pub fn filter(choices: &[Choice], text: &str) -> Vec<usize> {
    let needle = text.to_lowercase();
    choices
        .iter()
        .enumerate()
        .filter(|(_, choice)| choice.haystack.contains(&needle))
        .map(|(i, _)| i)
        .collect()
}

impl Picker {
    /// Every choice listed, the cursor on `selected` (the one in use).
    pub fn new(choices: Vec<Choice>, selected: Option<&str>, rows: usize) -> Picker {
        let mut picker = Picker {
            matches: (0..choices.len()).collect(),
            choices,
            ..Picker::default()
        };
        let at = picker
            .choices
            .iter()
            .position(|c| Some(c.value.as_str()) == selected)
            .unwrap_or(0);
        picker.cursor.select(at, picker.matches.len(), rows);
        picker
    }

    pub fn len(&self) -> usize {
        self.choices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// How many choices the text matches.
    pub fn matching(&self) -> usize {
        self.matches.len()
    }

    /// The choice under the cursor.
    pub fn chosen(&self) -> Option<&Choice> {
        let index = *self.matches.get(self.cursor.selected)?;
        self.choices.get(index)
    }

    /// The `rows` matches on screen, from the cursor's offset, with whether
    /// each is the one under the cursor. Only these are built.
    pub fn visible(&self, rows: usize) -> impl Iterator<Item = (&Choice, bool)> {
        let selected = self.cursor.selected;
        self.matches
            .iter()
            .enumerate()
            .skip(self.cursor.offset)
            .take(rows)
            .map(move |(at, &i)| (&self.choices[i], at == selected))
    }

    /// An editing key: the text changes and the list narrows (the cursor
    /// goes to the first match). Returns whether it was one.
    pub fn edit(&mut self, key: &KeyEvent, rows: usize) -> bool {
        let before = self.input.text();
        if !self.input.handle(key) {
            return false;
        }
        let text = self.input.text();
        if text != before {
            self.matches = filter(&self.choices, &text);
            self.cursor = Cursor::default();
            self.cursor.keep_visible(self.matches.len(), rows);
        }
        true
    }

    /// After the terminal changed size: the cursor stays among the `rows`
    /// on screen.
    pub fn keep_visible(&mut self, rows: usize) {
        self.cursor.keep_visible(self.matches.len(), rows);
    }

    /// ↑ ↓ PgUp PgDn over the matches.
    pub fn navigate(&mut self, action: Action, rows: usize) -> bool {
        self.cursor.navigate(action, self.matches.len(), rows)
    }
}

/// Where a picker is drawn inside the body of the screen (`body`: the
/// area below the header): centred, at most 72 wide and 20 tall.
pub fn area(body: Rect) -> Rect {
    let width = body.width.min(72);
    let height = body.height.min(20);
    Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 2,
        width,
        height,
    )
}

/// Rows of choices a picker shows on a `size` terminal: its area less the
/// borders and the prompt line.
pub fn rows(size: (u16, u16)) -> usize {
    let body = crate::geometry::view_area(Rect::new(0, 0, size.0, size.1));
    (area(body).height.saturating_sub(3) as usize).max(1)
}

use Action::*;
use Key::{Code, Ctrl};

/// A picker's keys; every other key edits the text (so `q`, `j`, `?` are
/// typed, and Ctrl-C quits).
const fn keys(choose: &'static str) -> [Binding; 7] {
    [
        bind(&[Code(KeyCode::Up)], Up, "move up", false),
        bind(&[Code(KeyCode::Down)], Down, "move down", false),
        bind(&[Code(KeyCode::PageUp)], PageUp, "page up", false),
        bind(&[Code(KeyCode::PageDown)], PageDown, "page down", false),
        bind(ENTER, Choose, choose, true),
        bind(ESC, Back, "cancel", true),
        bind(&[Ctrl('c')], Quit, "quit", true),
    ]
}

const COMPARE_GROUP: [Binding; 7] = keys("compare with it");
const PROFILES_GROUP: [Binding; 7] = keys("connect");
/// The comparison tenant picker (`C` on the dashboard).
pub const COMPARE_KEYS: KeyTable = &[&COMPARE_GROUP];
/// The profile picker (`P`).
pub const PROFILE_KEYS: KeyTable = &[&PROFILES_GROUP];

/// `C`: the comparison tenant picker over the dashboard, listing every
/// tenant but the selected user's own, the cursor on the one compared with.
pub fn open_compare(state: &mut State) -> Vec<Effect> {
    let own = state.selected_user().and_then(|u| u.tenant.clone());
    let current = state.compare_choice().tenant;
    let catalog = &state.catalog;
    let choices: Vec<Choice> = catalog
        .names()
        .iter()
        .zip(catalog.labels())
        .filter(|(schema, _)| Some(schema.as_str()) != own.as_deref())
        .map(|(schema, label)| {
            let key = catalog.key(schema).unwrap_or(schema.as_str());
            let mut detail: Vec<&str> = Vec::new();
            for name in [key, schema.as_str()] {
                if name != label && !detail.contains(&name) {
                    detail.push(name);
                }
            }
            let mut choice = Choice::new(
                schema.clone(),
                label.clone(),
                detail.join(" · "),
                &[&label, key, schema],
            );
            choice.marked = current.as_deref() == Some(schema.as_str());
            choice
        })
        .collect();
    if choices.is_empty() {
        state.notice = Some(Err("no other tenant to compare with".into()));
        return Vec::new();
    }
    let rows = rows(state.session.size);
    state.picker = Some(Picker::new(choices, current.as_deref(), rows));
    Vec::new()
}

/// A key while the comparison picker is open: its keys, else the text.
pub fn compare_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let rows = rows(state.session.size);
    let Some(picker) = state.picker.as_mut() else {
        return Vec::new();
    };
    let Some(action) = keymap::action_for(COMPARE_KEYS, &key) else {
        picker.edit(&key, rows);
        return Vec::new();
    };
    if picker.navigate(action, rows) {
        return Vec::new();
    }
    match action {
        // Esc: the comparison stays as it was.
        Back => {
            state.picker = None;
            return super::nav::mend(state);
        }
        Quit => super::update::quit(state),
        Choose => {
            let Some(tenant) = picker.chosen().map(|c| c.value.clone()) else {
                state.notice = Some(Err("no tenant matches: Esc cancels".into()));
                return Vec::new();
            };
            state.picker = None;
            if state.compare_choice().tenant.as_deref() == Some(tenant.as_str()) {
                return Vec::new();
            }
            state.dashboard.compare = Some(tenant);
            return super::dashboard::request_orders(state, Delay::None);
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{chars, demo_state, press, rich_dude_selected};
    use crossterm::event::KeyModifiers;

    fn typed(picker: &mut Picker, text: &str, rows: usize) {
        for ch in text.chars() {
            picker.edit(&KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE), rows);
        }
    }

    /// 10,000 tenants, in memory: typing narrows them by label, key or
    /// schema, whatever the case, and only the rows on screen are built.
    #[test]
    fn filters_ten_thousand_tenants_by_label_key_or_schema() {
        let choices: Vec<Choice> = (0..10_000)
            .map(|i| {
                let schema = format!("tenant_{i:05}");
                let key = format!("k{i}");
                let label = if i == 4_242 {
                    "Acme Widgets".to_string()
                } else {
                    format!("Customer {i}")
                };
                Choice::new(
                    schema.clone(),
                    label.clone(),
                    key.clone(),
                    &[&label, &key, &schema],
                )
            })
            .collect();
        let mut picker = Picker::new(choices, None, 10);
        assert_eq!(picker.matching(), 10_000);
        assert_eq!(picker.visible(10).count(), 10, "only the rows on screen");

        // A label, in another case.
        typed(&mut picker, "aCME", 10);
        let values: Vec<&str> = picker.visible(10).map(|(c, _)| c.value.as_str()).collect();
        assert_eq!(values, ["tenant_04242"]);
        assert_eq!(picker.chosen().unwrap().value, "tenant_04242");

        // A schema's part: tenant_09990 … tenant_09999.
        picker.input = LineInput::default();
        typed(&mut picker, "TENANT_0999", 10);
        assert_eq!(picker.matching(), 10);
        let expected: Vec<String> = (9_990..10_000).map(|i| format!("tenant_{i:05}")).collect();
        let values: Vec<String> = picker.visible(10).map(|(c, _)| c.value.clone()).collect();
        assert_eq!(values, expected);

        // A key: k7777 and nothing else (no label or schema holds "k7777").
        picker.input = LineInput::default();
        typed(&mut picker, "k7777", 10);
        let values: Vec<&str> = picker.visible(10).map(|(c, _)| c.value.as_str()).collect();
        assert_eq!(values, ["tenant_07777"]);

        // Every label with a 1 in it, against a count made here.
        let all: Vec<Choice> = picker.choices.clone();
        let ones = filter(&all, "customer 1");
        let counted = (0..10_000)
            .filter(|i| *i != 4_242 && i.to_string().starts_with('1'))
            .count();
        assert_eq!(ones.len(), counted);
        assert!(filter(&all, "no such tenant").is_empty());
    }

    #[test]
    fn the_cursor_pages_within_the_matches_and_stays_on_screen() {
        let choices = (0..50)
            .map(|i| {
                let name = format!("t{i:02}");
                Choice::new(name.clone(), name.clone(), String::new(), &[&name])
            })
            .collect();
        let mut picker = Picker::new(choices, Some("t30"), 10);
        assert_eq!(picker.chosen().unwrap().value, "t30");
        let shown: Vec<bool> = picker.visible(10).map(|(_, at)| at).collect();
        assert_eq!(shown.iter().filter(|at| **at).count(), 1, "{shown:?}");
        picker.navigate(PageDown, 10);
        assert_eq!(picker.chosen().unwrap().value, "t40");
        typed(&mut picker, "t4", 10);
        assert_eq!(picker.matching(), 10);
        assert_eq!(picker.chosen().unwrap().value, "t40", "the first match");
        picker.navigate(Up, 10);
        assert_eq!(picker.chosen().unwrap().value, "t40", "stays at the top");
    }

    /// A smaller terminal keeps the cursor among the rows drawn.
    #[test]
    fn a_resize_keeps_the_cursor_on_screen() {
        let mut state = demo_state();
        state.catalog =
            crate::db::TenantCatalog::new((0..100).map(|i| format!("t{i:03}")).collect());
        press(&mut state, KeyCode::Char('C'));
        for _ in 0..30 {
            press(&mut state, KeyCode::Down);
        }
        crate::app::update(&mut state, crate::app::Msg::Resize(80, 14));
        let rows = rows(state.session.size);
        let picker = state.picker.as_ref().unwrap();
        assert_eq!(picker.cursor.selected, 30);
        assert!(
            picker.visible(rows).any(|(_, at)| at),
            "{:?}",
            picker.cursor
        );
    }

    /// `C`, type, Enter: the dashboard compares with the tenant typed; Esc
    /// closes it with the comparison as it was.
    #[test]
    fn the_comparison_picker_picks_by_typing_and_esc_changes_nothing() {
        let mut state = rich_dude_selected();
        assert_eq!(state.compare_choice().tenant.as_deref(), Some("client2"));
        press(&mut state, KeyCode::Char('C'));
        let picker = state.picker.as_ref().expect("the picker opens");
        let listed: Vec<&str> = picker.visible(10).map(|(c, _)| c.value.as_str()).collect();
        assert_eq!(
            listed,
            ["client2", "client3"],
            "never the user's own tenant"
        );
        assert_eq!(picker.chosen().unwrap().value, "client2", "the one in use");
        let keys: Vec<_> = keymap::bindings(state.keys())
            .map(|b| b.description)
            .collect();
        assert!(keys.contains(&"compare with it"), "{keys:?}");

        // `q` and `?` are typed, not quit nor help.
        chars(&mut state, "q?");
        assert!(!state.session.quit && !state.help_open);
        assert_eq!(state.picker.as_ref().unwrap().matching(), 0);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.picker, None);
        assert_eq!(state.compare_choice().tenant.as_deref(), Some("client2"));

        press(&mut state, KeyCode::Char('C'));
        chars(&mut state, "T3");
        let effects = press(&mut state, KeyCode::Enter);
        assert_eq!(state.picker, None);
        assert_eq!(state.compare_choice().tenant.as_deref(), Some("client3"));
        let (key, _) = crate::fixtures::orders_load(&effects);
        assert_eq!(key.compare.as_deref(), Some("client3"));
    }
}
