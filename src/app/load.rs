//! The shapes every view shares: a keyed background load, a load over
//! every tenant a batch at a time, and a cursor over a list that scrolls.

use super::keymap::Action;
use std::future::Future;
use std::sync::Arc;
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

/// What a view waits on: the spinner turns while one of the loads of the
/// view on screen is loading (see `Screen::loads`).
pub trait Loading {
    fn is_loading(&self) -> bool;

    /// It ended in a failure another try may mend (a server that was
    /// unreachable, a lost session): read again when its view is returned
    /// to, not left saying the server is gone once it is back.
    fn may_mend(&self) -> bool {
        false
    }

    /// It was stopped before its last tenant: why. What it holds is then
    /// not the whole answer (nothing to export). (A failure says so in the
    /// view's status.)
    fn cut_short(&self) -> Option<&'static str> {
        None
    }
}

/// A load's error: whether another try may mend it.
pub trait Mendable {
    fn may_mend(&self) -> bool;
}

impl Mendable for Failure {
    fn may_mend(&self) -> bool {
        self.retry
    }
}

impl Mendable for crate::db::DbError {
    fn may_mend(&self) -> bool {
        self.retryable()
    }
}

impl<K: Keyed, T, E: Mendable> Loading for Load<K, T, E> {
    fn is_loading(&self) -> bool {
        Load::is_loading(self)
    }

    fn may_mend(&self) -> bool {
        !self.is_loading() && self.error().is_some_and(Mendable::may_mend)
    }
}

/// A batched read (basket, search) the user started: it is started again
/// by its key, never by returning to its view.
impl<K> Loading for Batched<K> {
    fn is_loading(&self) -> bool {
        Batched::is_loading(self)
    }

    fn cut_short(&self) -> Option<&'static str> {
        self.stopped.filter(|_| self.done < self.total())
    }
}

/// A fresh number from one counter (`State::ticket`), never reused. The
/// one staleness rule of every load: each request carries a ticket, and a
/// result is taken only if it carries the ticket of the request awaited
/// ([`Load::accept`], [`Batched::accept`]); anything else is stale and
/// changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ticket(pub u64);

/// A load's key: what was asked for, with the ticket of the asking.
pub trait Keyed {
    fn ticket(&self) -> Ticket;
}

/// A load whose ticket is all its key (nothing to choose: a reload).
impl Keyed for Ticket {
    fn ticket(&self) -> Ticket {
        *self
    }
}

/// What was asked for, and the ticket of the asking.
impl<K> Keyed for (Ticket, K) {
    fn ticket(&self) -> Ticket {
        self.0
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
/// was asked for, with a [`Ticket`]); a result is accepted only if it
/// carries the ticket asked for last, so a result for a request that is
/// no longer current is dropped.
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

impl<K: Keyed, T, E> Load<K, T, E> {
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

    /// Takes the result for `key` if its ticket is the one awaited;
    /// returns whether it was (a stale result changes nothing).
    pub fn accept(&mut self, key: &K, result: Result<T, E>, elapsed: Duration) -> bool {
        if self.pending.as_ref().map(Keyed::ticket) != Some(key.ticket()) {
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

    /// What it shows was asked for before `ticket`, and nothing newer is on
    /// its way: a view reopened after everything was read again
    /// ([`crate::app::State::read_again`]) reads again too.
    pub fn asked_before(&self, ticket: Ticket) -> bool {
        self.pending.is_none() && self.done.as_ref().is_some_and(|d| d.key.ticket() < ticket)
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

/// Which batch of which batched load a result answers: the load's ticket
/// and where the batch ends in its tenant list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchId {
    pub ticket: Ticket,
    pub end: usize,
}

/// One batch to read: its tenants, and what its result carries back.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: BatchId,
    pub tenants: Vec<String>,
}

/// A load over many tenants, `size` at a time, each batch asked for when
/// the one before has answered (so results show as they come, and leaving
/// cancels what is left). It pages over a snapshot of the tenant list
/// taken when it starts: a catalog reload meanwhile neither skips nor
/// repeats a tenant, nor changes the count. Used by the basket and the
/// search across tenants, and by anything batched later.
#[derive(Debug, Clone, PartialEq)]
pub struct Batched<K> {
    /// What is loaded (a basket's user, a search's text); `None`: nothing.
    key: Option<K>,
    ticket: Ticket,
    tenants: Arc<[String]>,
    /// Tenants in the first batch, and in each after it.
    size: usize,
    later: usize,
    /// The batch asked for and not answered yet.
    awaited: Option<BatchId>,
    /// Tenants read so far (from the first).
    done: usize,
    /// Where the batch last asked for starts: one that fails is not read.
    asked_from: usize,
    stopped: Option<&'static str>,
    error: Option<Failure>,
    /// How long the first batch took, and all of them.
    first: Option<Duration>,
    elapsed: Duration,
}

impl<K> Default for Batched<K> {
    fn default() -> Self {
        Batched {
            key: None,
            ticket: Ticket::default(),
            tenants: Arc::from([]),
            size: 1,
            later: 1,
            awaited: None,
            done: 0,
            asked_from: 0,
            stopped: None,
            error: None,
            first: None,
            elapsed: Duration::ZERO,
        }
    }
}

impl<K> Batched<K> {
    /// The snapshot of the tenant list it pages over.
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// Started before `ticket` (see [`Load::asked_before`]).
    pub fn started_before(&self, ticket: Ticket) -> bool {
        self.ticket < ticket
    }

    /// Starts loading `key` over `tenants` (the snapshot), superseding what
    /// ran: returns the first batch (none for no tenants).
    pub fn start(
        &mut self,
        ticket: Ticket,
        key: K,
        tenants: Arc<[String]>,
        size: usize,
    ) -> Option<Batch> {
        self.start_widening(ticket, key, tenants, size, size)
    }

    /// [`Batched::start`] with a first batch of `first` tenants (the first
    /// results show soon) and `later` tenants in each batch after it (the
    /// database reads a wide batch as statements side by side).
    pub fn start_widening(
        &mut self,
        ticket: Ticket,
        key: K,
        tenants: Arc<[String]>,
        first: usize,
        later: usize,
    ) -> Option<Batch> {
        *self = Batched {
            key: Some(key),
            ticket,
            tenants,
            size: first.max(1),
            later: later.max(1),
            ..Batched::default()
        };
        self.next_batch()
    }

    /// The batch after those read, if any is left and the load goes on.
    pub fn next_batch(&mut self) -> Option<Batch> {
        self.awaited = None;
        let over = self.stopped.is_some() || self.error.is_some();
        if self.key.is_none() || over || self.done >= self.tenants.len() {
            return None;
        }
        let size = if self.done == 0 {
            self.size
        } else {
            self.later
        };
        let end = (self.done + size).min(self.tenants.len());
        let id = BatchId {
            ticket: self.ticket,
            end,
        };
        self.awaited = Some(id);
        self.asked_from = self.done;
        Some(Batch {
            id,
            tenants: self.tenants[self.done..end].to_vec(),
        })
    }

    /// A batch answered: true if it is the one awaited, whose tenants then
    /// count as read; a stale one (another load's, or a batch not awaited)
    /// changes nothing.
    pub fn accept(&mut self, id: BatchId, elapsed: Duration) -> bool {
        if self.awaited != Some(id) {
            return false;
        }
        self.awaited = None;
        self.done = id.end;
        self.elapsed += elapsed;
        self.first.get_or_insert(self.elapsed);
        true
    }

    /// The batch accepted failed: its tenants are not read, and the load
    /// ends with `error`.
    pub fn fail(&mut self, error: impl Into<Failure>) {
        self.awaited = None;
        self.done = self.asked_from;
        self.error = Some(error.into());
    }

    /// Ends the load before its last batch (`why` says so in the status);
    /// true if a batch was awaited, which the caller cancels.
    pub fn stop(&mut self, why: Option<&'static str>) -> bool {
        self.stopped = why;
        self.awaited.take().is_some()
    }

    /// Nothing is wanted any more; true if a batch was awaited.
    pub fn clear(&mut self) -> bool {
        let awaited = self.awaited.is_some();
        *self = Batched::default();
        awaited
    }

    pub fn key(&self) -> Option<&K> {
        self.key.as_ref()
    }

    /// A batch is awaited.
    pub fn is_loading(&self) -> bool {
        self.awaited.is_some()
    }

    /// The batch awaited, if any.
    pub fn awaited(&self) -> Option<BatchId> {
        self.awaited
    }

    /// Tenants read so far, of [`Batched::total`].
    pub fn done(&self) -> usize {
        self.done
    }

    /// Tenants in the snapshot.
    pub fn total(&self) -> usize {
        self.tenants.len()
    }

    pub fn stopped(&self) -> Option<&'static str> {
        self.stopped
    }

    pub fn error(&self) -> Option<&Failure> {
        self.error.as_ref()
    }

    /// How long the first batch took (from the start).
    pub fn first(&self) -> Option<Duration> {
        self.first
    }

    pub fn elapsed(&self) -> Duration {
        self.elapsed
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

    /// A result is taken by its ticket: one for the same thing asked for
    /// earlier (a refresh's superseded answer) is as stale as another's.
    #[test]
    fn only_the_current_request_is_accepted() {
        let key = |ticket, what| (Ticket(ticket), what);
        let mut load: Load<(Ticket, &str), &str> = Load::default();
        load.start(key(1, "a"));
        load.start(key(2, "b"));
        assert!(!load.accept(&key(1, "a"), Ok("stale"), Duration::ZERO));
        assert!(load.is_loading());
        assert!(load.accept(&key(2, "b"), Ok("fresh"), Duration::ZERO));
        assert_eq!(load.value(), Some(&"fresh"));
        assert!(
            !load.accept(&key(2, "b"), Ok("twice"), Duration::ZERO),
            "answered already"
        );
        load.refresh(key(3, "b"));
        assert!(
            !load.accept(&key(2, "b"), Ok("late"), Duration::ZERO),
            "the same thing, asked for before: stale"
        );
        assert_eq!(
            load.value(),
            Some(&"fresh"),
            "shown until the new one comes"
        );
        load.start(key(4, "c"));
        assert_eq!(load.value(), None);
        assert_eq!(load.key(), Some(&key(4, "c")));
    }

    /// The tenant list is the snapshot taken at the start: batches neither
    /// skip nor repeat a tenant whatever the catalog does meanwhile; a
    /// batch not awaited (another load's, or answered twice) is dropped.
    #[test]
    fn a_batched_load_reads_each_tenant_of_its_snapshot_once() {
        let tenants: Arc<[String]> = (0..5).map(|i| format!("t{i}")).collect();
        let mut load: Batched<&str> = Batched::default();
        let first = load.start(Ticket(1), "a", tenants.clone(), 2).unwrap();
        assert_eq!(first.tenants, ["t0", "t1"]);
        assert!(load.is_loading());
        let mut read = first.tenants.clone();
        let stale = BatchId {
            ticket: Ticket(0),
            end: 2,
        };
        assert!(!load.accept(stale, Duration::ZERO), "another load's");
        assert!(load.accept(first.id, Duration::from_millis(3)));
        assert!(!load.accept(first.id, Duration::ZERO), "answered already");
        while let Some(batch) = load.next_batch() {
            read.extend(batch.tenants.iter().cloned());
            assert!(load.accept(batch.id, Duration::from_millis(1)));
        }
        assert_eq!(read, tenants.to_vec());
        assert_eq!((load.done(), load.total()), (5, 5));
        assert!(!load.is_loading());
        assert_eq!(load.first(), Some(Duration::from_millis(3)));
        assert_eq!(load.elapsed(), Duration::from_millis(5));
        // Stopped: the batch awaited is dropped when it comes.
        let batch = load.start(Ticket(2), "b", tenants, 2).unwrap();
        assert!(load.stop(Some("left")));
        assert!(!load.accept(batch.id, Duration::ZERO));
        assert_eq!(load.next_batch(), None);
        assert_eq!(load.stopped(), Some("left"));
    }

    /// A widening load: the first batch small, every later one wide, and
    /// still each tenant of the snapshot once, in order.
    #[test]
    fn a_widening_load_reads_a_small_batch_first_then_wide_ones() {
        let tenants: Arc<[String]> = (0..12).map(|i| format!("t{i}")).collect();
        let mut load: Batched<&str> = Batched::default();
        let mut batch = load.start_widening(Ticket(1), "a", tenants.clone(), 2, 4);
        let mut sizes = Vec::new();
        let mut read = Vec::new();
        while let Some(b) = batch {
            sizes.push(b.tenants.len());
            read.extend(b.tenants.iter().cloned());
            assert!(load.accept(b.id, Duration::ZERO));
            batch = load.next_batch();
        }
        assert_eq!(sizes, [2, 4, 4, 2]);
        assert_eq!(read, tenants.to_vec());
    }

    /// A batch that fails is not read: the count stops before it (a basket
    /// that failed on its first batch read "2 of 2 tenants").
    #[test]
    fn a_failed_batch_is_not_counted_as_read() {
        let tenants: Arc<[String]> = (0..5).map(|i| format!("t{i}")).collect();
        let mut load: Batched<&str> = Batched::default();
        let first = load.start(Ticket(1), "a", tenants.clone(), 2).unwrap();
        assert!(load.accept(first.id, Duration::ZERO));
        let second = load.next_batch().unwrap();
        assert!(load.accept(second.id, Duration::ZERO));
        load.fail("gone".to_string());
        assert_eq!((load.done(), load.total()), (2, 5));
        assert_eq!(load.next_batch(), None, "a failed load ends");
        let first = load.start(Ticket(2), "b", tenants, 2).unwrap();
        assert!(load.accept(first.id, Duration::ZERO));
        load.fail("gone".to_string());
        assert_eq!(load.done(), 0);
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
