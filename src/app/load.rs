//! Two shapes every view shares: a keyed background load, and a cursor
//! over a list that scrolls.

use super::keymap::Action;
use std::future::Future;
use std::time::{Duration, Instant};

/// A load's failure as a pane shows it: the error's text, and whether
/// running the same load again may help ([`DbError::retryable`]: a lost
/// connection, a timeout, a node down), so that a pane offers "retry"
/// only then, never for a query the server refuses every time.
///
/// [`DbError::retryable`]: crate::db::DbError::retryable
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub text: String,
    pub retry: bool,
}

impl From<crate::db::DbError> for Failure {
    fn from(error: crate::db::DbError) -> Failure {
        Failure {
            text: error.to_string(),
            retry: error.retryable(),
        }
    }
}

impl From<String> for Failure {
    /// Our own failures (a task that ended): worth another try.
    fn from(text: String) -> Failure {
        Failure { text, retry: true }
    }
}

impl std::ops::Deref for Failure {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A result, with what it was asked for and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Done<K, T, E> {
    pub key: K,
    pub result: Result<T, E>,
    pub elapsed: Duration,
}

/// Awaits `load` and says how long it took (the status line shows it).
pub async fn timed<T>(load: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    (load.await, started.elapsed())
}

/// Something loaded in the background. Each request carries a key (what
/// was asked for); a result is accepted only for the key asked for last,
/// so a result for a request that is no longer current is dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Load<K, T, E = Failure> {
    pending: Option<K>,
    done: Option<Done<K, T, E>>,
}

impl<K, T, E> Default for Load<K, T, E> {
    fn default() -> Self {
        Load {
            pending: None,
            done: None,
        }
    }
}

impl<K: PartialEq, T, E> Load<K, T, E> {
    /// Asks for `key`; what was shown goes (something else is wanted now).
    pub fn start(&mut self, key: K) {
        self.pending = Some(key);
        self.done = None;
    }

    /// Asks for `key` again, showing the last result until the new one comes.
    pub fn refresh(&mut self, key: K) {
        self.pending = Some(key);
    }

    /// Nothing is wanted any more: no request, no result.
    pub fn clear(&mut self) {
        *self = Load::default();
    }

    /// Takes the result for `key` if `key` is the request awaited; returns
    /// whether it was (a stale result changes nothing).
    pub fn accept(&mut self, key: &K, result: Result<T, E>, elapsed: Duration) -> bool {
        if self.pending.as_ref() != Some(key) {
            return false;
        }
        let key = self.pending.take().expect("checked above");
        self.done = Some(Done {
            key,
            result,
            elapsed,
        });
        true
    }

    pub fn is_loading(&self) -> bool {
        self.pending.is_some()
    }

    pub fn pending(&self) -> Option<&K> {
        self.pending.as_ref()
    }

    /// The awaited request's key, else the shown result's.
    pub fn key(&self) -> Option<&K> {
        self.pending.as_ref().or(self.done.as_ref().map(|d| &d.key))
    }

    pub fn done(&self) -> Option<&Done<K, T, E>> {
        self.done.as_ref()
    }

    pub fn value(&self) -> Option<&T> {
        self.done.as_ref()?.result.as_ref().ok()
    }

    pub fn value_mut(&mut self) -> Option<&mut T> {
        self.done.as_mut()?.result.as_mut().ok()
    }

    pub fn error(&self) -> Option<&E> {
        self.done.as_ref()?.result.as_ref().err()
    }
}

/// The selected row of a list and the first row on screen. Every list and
/// table moves through this one type, so clamping is written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Moves by `delta` rows within `len`, keeping the selection among the
    /// `rows` on screen.
    pub fn move_by(&mut self, delta: isize, len: usize, rows: usize) {
        let last = len.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.keep_visible(len, rows);
    }

    pub fn first(&mut self) {
        *self = Cursor::default();
    }

    /// The list movements every view shares (↑ ↓ PgUp PgDn Home End);
    /// false when `action` is not one of them.
    pub fn navigate(&mut self, action: Action, len: usize, rows: usize) -> bool {
        let page = rows as isize;
        match action {
            Action::Up => self.move_by(-1, len, rows),
            Action::Down => self.move_by(1, len, rows),
            Action::PageUp => self.move_by(-page, len, rows),
            Action::PageDown => self.move_by(page, len, rows),
            Action::First => self.first(),
            Action::Last => self.last(len, rows),
            _ => return false,
        }
        true
    }

    pub fn last(&mut self, len: usize, rows: usize) {
        self.selected = len.saturating_sub(1);
        self.keep_visible(len, rows);
    }

    pub fn select(&mut self, index: usize, len: usize, rows: usize) {
        self.selected = index.min(len.saturating_sub(1));
        self.keep_visible(len, rows);
    }

    /// After the list or the screen changed size.
    pub fn keep_visible(&mut self, len: usize, rows: usize) {
        let rows = rows.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        self.offset = self.offset.min(len.saturating_sub(rows));
    }

    /// Scrolls a list with no selection (the order lines): the offset moves
    /// by `delta`, never past the point where the last row is on screen.
    pub fn scroll_by(&mut self, delta: isize, len: usize, rows: usize) {
        let max = len.saturating_sub(rows);
        self.offset = self.offset.saturating_add_signed(delta).min(max);
    }

    /// The selection's row on screen, if it is on screen.
    pub fn on_screen(&self) -> Option<usize> {
        self.selected.checked_sub(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_request_is_accepted() {
        let mut load: Load<u32, &str> = Load::default();
        load.start(1);
        load.start(2);
        assert!(!load.accept(&1, Ok("stale"), Duration::ZERO));
        assert!(load.is_loading());
        assert!(load.accept(&2, Ok("fresh"), Duration::ZERO));
        assert_eq!(load.value(), Some(&"fresh"));
        assert!(
            !load.accept(&2, Ok("twice"), Duration::ZERO),
            "answered already"
        );
        load.refresh(3);
        assert_eq!(
            load.value(),
            Some(&"fresh"),
            "shown until the new one comes"
        );
        load.start(4);
        assert_eq!(load.value(), None);
        assert_eq!(load.key(), Some(&4));
    }

    #[test]
    fn cursor_clamps_and_keeps_the_selection_on_screen() {
        let mut cursor = Cursor::default();
        cursor.move_by(-5, 10, 3);
        assert_eq!(cursor, Cursor::default());
        cursor.move_by(4, 10, 3);
        assert_eq!((cursor.selected, cursor.offset), (4, 2));
        cursor.last(10, 3);
        assert_eq!((cursor.selected, cursor.offset), (9, 7));
        cursor.keep_visible(2, 3);
        assert_eq!((cursor.selected, cursor.offset), (1, 0), "the list shrank");
        cursor.move_by(isize::MAX, 0, 3);
        assert_eq!(cursor, Cursor::default(), "an empty list");
        cursor.scroll_by(7, 10, 4);
        assert_eq!(cursor.offset, 6, "the last row stays on screen");
        cursor.scroll_by(-9, 10, 4);
        assert_eq!(cursor.offset, 0);
    }
}
