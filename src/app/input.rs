//! A one-line text editor for prompts (the filter): cursor movement,
//! Ctrl-U/Ctrl-W as in a shell, and a history of this session's entries.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The longest prompt text, in chars. A paste of kilobytes into the filter
/// would be sent to the database as one pattern over every user (and time
/// out, leaving the old rows under the new text): what a person types to
/// find someone is far shorter.
pub const MAX_CHARS: usize = 200;

/// A one-line prompt (the users filter, the tenants search): its text, and
/// whether typing goes into it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prompt {
    pub input: LineInput,
    pub editing: bool,
}

impl Prompt {
    /// A key typed into the prompt `what` ("filter", "search"): the new
    /// text, or `None` when the key changed nothing or the prompt is not
    /// `editing`. A character past [`MAX_CHARS`] is not typed, and `notice`
    /// says so.
    pub fn typed(
        &mut self,
        key: &KeyEvent,
        what: &str,
        notice: &mut Option<Result<String, String>>,
    ) -> Option<String> {
        if !self.editing {
            return None;
        }
        let input = &mut self.input;
        if input.is_full()
            && matches!(key.code, KeyCode::Char(_))
            && !key.modifiers.contains(KeyModifiers::CONTROL)
        {
            *notice = Some(Err(format!(
                "a {what} is at most {MAX_CHARS} characters: the rest was not typed"
            )));
            return None;
        }
        input.handle(key).then(|| input.text())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineInput {
    chars: Vec<char>,
    /// Insertion point, in chars (0..=len).
    cursor: usize,
}

impl LineInput {
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The cursor, in chars from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// No more characters may be typed ([`MAX_CHARS`]).
    pub fn is_full(&self) -> bool {
        self.chars.len() >= MAX_CHARS
    }

    pub fn set(&mut self, text: &str) {
        self.chars = text.chars().take(MAX_CHARS).collect();
        self.cursor = self.chars.len();
    }

    /// Applies an editing key; returns whether it was one (the text may be
    /// unchanged, e.g. ← at the start).
    pub fn handle(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let mut start = self.cursor;
                while start > 0 && self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.chars.len(),
            KeyCode::Char(_) if !ctrl && self.is_full() => return false,
            KeyCode::Char(ch) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                self.chars.insert(self.cursor, ch);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            KeyCode::Backspace | KeyCode::Delete => {}
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.chars.len(),
            _ => return false,
        }
        true
    }
}

/// Earlier entries of a prompt, oldest first, recalled with ↑/↓.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    entries: Vec<String>,
    /// The entry recalled, if any (None: the new line).
    at: Option<usize>,
}

impl History {
    /// Remembers an entry (not an empty one, nor the last one again).
    pub fn push(&mut self, entry: String) {
        self.at = None;
        if !entry.is_empty() && self.entries.last() != Some(&entry) {
            self.entries.push(entry);
        }
    }

    /// Starts a new line: ↑ recalls the latest entry.
    /// Nothing entered yet: ↑ has nothing to recall.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn reset(&mut self) {
        self.at = None;
    }

    /// ↑ (`older`) or ↓: the entry to show; ↓ past the latest is empty.
    pub fn step(&mut self, older: bool) -> Option<String> {
        let last = self.entries.len().checked_sub(1)?;
        self.at = match (self.at, older) {
            (None, true) => Some(last),
            (None, false) => return None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        Some(
            self.at
                .map_or_else(String::new, |i| self.entries[i].clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(ch: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL)
    }

    fn typed(text: &str) -> LineInput {
        let mut input = LineInput::default();
        for ch in text.chars() {
            input.handle(&key(KeyCode::Char(ch)));
        }
        input
    }

    /// Presses `keys` in turn: the text and the cursor after them.
    fn press(input: &mut LineInput, keys: impl IntoIterator<Item = KeyEvent>) -> (String, usize) {
        for key in keys {
            input.handle(&key);
        }
        (input.text(), input.cursor())
    }

    #[test]
    fn edits_at_the_cursor() {
        use KeyCode::*;
        let mut input = typed("rich dude");
        let after = press(&mut input, [Home, Right, Char('X')].map(key));
        assert_eq!(after, ("rXich dude".into(), 2));
        let after = press(&mut input, [Backspace, Delete].map(key));
        assert_eq!(after, ("rch dude".into(), 1));
        let after = press(&mut input, [End, Left, Char('é')].map(key));
        assert_eq!(after, ("rch dudée".into(), 8));
        // At the ends, moving further does nothing.
        assert_eq!(press(&mut input, [End, Right].map(key)).1, 9);
        assert!(!input.handle(&key(Tab)));
    }

    #[test]
    fn ctrl_w_deletes_a_word_and_ctrl_u_the_line_before_the_cursor() {
        let mut input = typed("mail  rich dude");
        assert_eq!(press(&mut input, [ctrl('w')]).0, "mail  rich ");
        assert_eq!(press(&mut input, [ctrl('w')]).0, "mail  ");
        input.set("abc def");
        let after = press(
            &mut input,
            [key(KeyCode::Left), key(KeyCode::Left), ctrl('u')],
        );
        assert_eq!(after, ("ef".into(), 0));
        assert_eq!(
            press(&mut input, [ctrl('w')]),
            ("ef".into(), 0),
            "nothing before the cursor"
        );
    }

    #[test]
    fn history_recalls_older_then_newer_entries() {
        let mut history = History::default();
        assert_eq!(history.step(true), None, "nothing to recall");
        for entry in ["rich", "poor", "poor", ""] {
            history.push(entry.into());
        }
        assert_eq!(history.step(true).as_deref(), Some("poor"));
        assert_eq!(history.step(true).as_deref(), Some("rich"));
        assert_eq!(history.step(true).as_deref(), Some("rich"), "oldest stays");
        assert_eq!(history.step(false).as_deref(), Some("poor"));
        assert_eq!(
            history.step(false).as_deref(),
            Some(""),
            "back to a new line"
        );
        assert_eq!(history.step(false), None);
    }
}
