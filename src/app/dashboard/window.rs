//! A window of a much longer list read in keyset pages, paged in as the
//! selection nears an edge: the users list (filtered by the database),
//! and the selected user's order lines.

use crate::db::{DbError, KeyedLine, Page, User, UserKey};

use crate::app::load::{Cursor, Keyed, Load, Ticket};

/// A row of a keyset-paged list.
pub trait WindowRow: Clone + std::fmt::Debug + PartialEq {
    /// The row's place in the list order (what a page starts after).
    type Key: Clone + std::fmt::Debug + PartialEq + Eq;
    /// Who the row is, to keep them selected as pages come and go.
    type Id: PartialEq;
    fn key(&self) -> &Self::Key;
    fn id(&self) -> Self::Id;
    /// Listed on top of a page, outside the keyset (the exact id match of
    /// a users filter): not counted as a row of the page.
    fn pinned(&self) -> bool {
        false
    }
}

impl WindowRow for User {
    type Key = UserKey;
    /// Ids repeat across tenants where users live in each tenant schema.
    type Id = (String, Option<String>);
    fn key(&self) -> &UserKey {
        &self.key
    }
    fn id(&self) -> Self::Id {
        (self.id.clone(), self.tenant.clone())
    }
    fn pinned(&self) -> bool {
        self.key.pinned
    }
}

impl WindowRow for KeyedLine {
    type Key = String;
    type Id = String;
    fn key(&self) -> &String {
        &self.key
    }
    fn id(&self) -> String {
        self.key.clone()
    }
}

impl<K> Keyed for WindowRequest<K> {
    fn ticket(&self) -> Ticket {
        self.ticket
    }
}

impl<K: Clone + PartialEq> WindowRequest<K> {
    /// The same page of the same list (whatever the ticket).
    fn same_page(&self, other: &WindowRequest<K>) -> bool {
        WindowRequest {
            ticket: other.ticket,
            ..self.clone()
        } == *other
    }
}

/// A page of the users list being loaded.
pub type UsersRequest = WindowRequest<UserKey>;
/// The users list.
pub type UsersWindow = Window<User>;
/// A page of the selected user's order lines being loaded.
pub type LinesRequest = WindowRequest<String>;
/// The selected user's order lines (the orders pane, with its cursor).
pub type LinesWindow = Window<KeyedLine>;

/// Rows per page of the users list.
pub const PAGE_SIZE: usize = 100;
/// The most users held at once; the far side is dropped beyond this.
pub const WINDOW_CAP: usize = 3 * PAGE_SIZE;
/// Fetch the next page when the selection comes this close to an edge.
pub const PREFETCH_MARGIN: usize = 30;

/// A page of a list being loaded. A result for a request that is no
/// longer the pending one (by ticket: the filter changed since, or another
/// page was asked for) is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRequest<K = UserKey> {
    pub ticket: Ticket,
    /// Which list (filter, tenant, set) the page is of: rows of another
    /// are never mixed with the list shown.
    pub generation: u64,
    /// The one tenant schema read (from the tenants pane), else all.
    pub scope: Option<String>,
    pub filter: Option<String>,
    pub page: Page<K>,
    /// Keep the selected user selected if the page holds them (filtering),
    /// rather than selecting where the page lands (jumps).
    pub keep_selection: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window<R: WindowRow> {
    users: Vec<R>,
    at_start: bool,
    at_end: bool,
    /// Rows of the list before the window's first, where known: paged
    /// down from the first page, the rows dropped off the top are counted.
    before: Option<usize>,
    cursor: Cursor,
    /// The database filter the window shows.
    filter: Option<String>,
    /// The tenant schema the window shows, if one.
    scope: Option<String>,
    /// Bumped when what the list shows changes: older pages are stale.
    generation: u64,
    /// The generation `users` came from: rows of an older one are another
    /// filter's (or tenant's, or set's).
    shown_generation: u64,
    page: Load<WindowRequest<R::Key>, ()>,
    /// Rows the selection still has to move once the next page arrives
    /// (keys pressed faster than pages load are not lost).
    pending_move: isize,
    /// The window holds a fixed set that comes whole, never paged.
    fixed: bool,
}

impl<R: WindowRow> crate::app::load::Loading for Window<R> {
    fn is_loading(&self) -> bool {
        self.page.is_loading()
    }

    fn may_mend(&self) -> bool {
        crate::app::load::Loading::may_mend(&self.page)
    }
}

impl<R: WindowRow> Default for Window<R> {
    fn default() -> Window<R> {
        Window::complete(Vec::new())
    }
}

impl Window<User> {
    pub fn users(&self) -> &[User] {
        &self.users
    }
}

impl<R: WindowRow> Window<R> {
    pub fn new(first_page: Vec<R>) -> Window<R> {
        Window {
            at_start: true,
            at_end: first_page.len() < PAGE_SIZE,
            before: Some(0),
            users: first_page,
            cursor: Cursor::default(),
            filter: None,
            scope: None,
            generation: 0,
            shown_generation: 0,
            page: Load::default(),
            pending_move: 0,
            fixed: false,
        }
    }

    /// A window that starts at a user somewhere in the list (`--user`):
    /// whether users come before it is found out by paging.
    pub fn opened_within(page: Vec<R>) -> Window<R> {
        Window {
            at_start: false,
            before: None,
            ..Window::new(page)
        }
    }

    /// A window holding a whole list (it comes whole, never paged).
    pub fn complete(rows: Vec<R>) -> Window<R> {
        Window {
            at_end: true,
            ..Window::new(rows)
        }
    }

    /// The window holds a fixed set (it comes whole, never paged).
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The rows held.
    pub fn rows(&self) -> &[R] {
        &self.users
    }

    pub fn selected(&self) -> Option<&R> {
        self.users.get(self.cursor.selected)
    }

    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The window begins at the list's first user.
    pub fn at_start(&self) -> bool {
        self.at_start
    }

    /// The window ends at the list's last user.
    pub fn at_end(&self) -> bool {
        self.at_end
    }

    /// The whole list is in the window (so its length is the count).
    pub fn is_complete(&self) -> bool {
        self.at_start && self.at_end
    }

    /// How many rows the list has, where known: the window reaches its
    /// end, and the rows before it were paged through (a list walked to
    /// its end counts exactly, though its top was dropped).
    pub fn count(&self) -> Option<usize> {
        match self.at_end {
            true => Some(self.before? + self.users.len()),
            false => None,
        }
    }

    pub fn is_loading(&self) -> bool {
        self.page.is_loading()
    }

    /// A page is on its way that replaces the rows (a reload, a jump, a
    /// new list): what the window holds is of the list before it. (A page
    /// after or before them only adds to them.)
    pub fn is_replacing(&self) -> bool {
        let replacing =
            |r: &WindowRequest<R::Key>| matches!(r.page, Page::First | Page::Last | Page::From(_));
        self.request().is_some_and(replacing)
    }

    /// The page being loaded, if any.
    pub fn request(&self) -> Option<&WindowRequest<R::Key>> {
        self.page.pending()
    }

    /// Why the last page failed, until a page arrives.
    pub fn error(&self) -> Option<&String> {
        self.page.error().map(|failure| &failure.text)
    }

    /// The tenant schema the list reads (`None`: every tenant); takes
    /// effect with the next [`UsersWindow::replace`].
    pub fn set_scope(&mut self, scope: Option<String>) {
        self.scope = scope;
    }

    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Shows another list (a new filter, a fixed set, the whole table
    /// again): pages of the old one still on their way are stale.
    pub fn replace(
        &mut self,
        ticket: Ticket,
        filter: Option<String>,
        page: Page<R::Key>,
        keep_selection: bool,
        fixed: bool,
    ) -> WindowRequest<R::Key> {
        self.generation += 1;
        self.filter = filter;
        self.fixed = fixed;
        self.ask(ticket, page, keep_selection)
            .expect("a new generation is never pending")
    }

    /// Another list replaced the one shown (who ordered, one tenant's
    /// users): none of the old rows stays while its first page loads, so
    /// nothing can act on a user who is not in the list.
    pub fn clear_rows(&mut self) {
        self.show_no_rows(self.generation);
    }

    /// No rows shown, as of `generation`: nothing to page from, either way.
    fn show_no_rows(&mut self, generation: u64) {
        self.users.clear();
        self.cursor = Cursor::default();
        self.pending_move = 0;
        self.at_start = true;
        self.at_end = false;
        self.before = Some(0);
        self.shown_generation = generation;
    }

    /// Asks for `page` of the list shown, unless that very page is on its way.
    pub fn ask(
        &mut self,
        ticket: Ticket,
        page: Page<R::Key>,
        keep_selection: bool,
    ) -> Option<WindowRequest<R::Key>> {
        let request = WindowRequest {
            ticket,
            generation: self.generation,
            scope: self.scope.clone(),
            filter: self.filter.clone(),
            page,
            keep_selection,
        };
        if self.page.pending().is_some_and(|p| p.same_page(&request)) {
            return None;
        }
        self.page.refresh(request.clone());
        Some(request)
    }

    /// The page awaited when this window was put aside (see `app::nav`),
    /// asked for again under `ticket`: its answer was superseded since.
    /// `None`: nothing awaited. A fixed set's request is the whole set,
    /// read by the job that read it first (see [`Window::is_fixed`]).
    pub fn resume(&mut self, ticket: Ticket) -> Option<WindowRequest<R::Key>> {
        let request = WindowRequest {
            ticket,
            ..self.page.pending()?.clone()
        };
        self.page.refresh(request.clone());
        Some(request)
    }

    /// The next page before the selection reaches the window's edge.
    pub fn prefetch(&mut self, ticket: Ticket) -> Option<WindowRequest<R::Key>> {
        if self.page.is_loading() {
            return None;
        }
        let near_end = self.cursor.selected + PREFETCH_MARGIN >= self.users.len();
        if !self.at_end && near_end {
            let page = Page::After(self.users.last()?.key().clone());
            return self.ask(ticket, page, false);
        }
        if !self.at_start && self.cursor.selected < PREFETCH_MARGIN {
            let page = Page::Before(self.users.first()?.key().clone());
            return self.ask(ticket, page, false);
        }
        None
    }

    /// `g`/`G`: local when the window holds that end, else a page load.
    pub fn jump(&mut self, ticket: Ticket, page: Page<R::Key>, rows: usize) -> Jump<R::Key> {
        match page {
            Page::First if self.at_start => Jump::Moved(self.select(0, rows)),
            Page::Last if self.at_end => {
                Jump::Moved(self.select(self.users.len().saturating_sub(1), rows))
            }
            page => Jump::Load(self.ask(ticket, page, false)),
        }
    }

    /// Moves the selection; past an edge with more users beyond it, the
    /// rest waits in `pending_move` for the page. Returns whether the
    /// selected row changed.
    pub fn move_by(&mut self, delta: isize, rows: usize) -> bool {
        let wanted = (self.cursor.selected as isize)
            .saturating_add(self.pending_move)
            .saturating_add(delta);
        let target = self.clamp_to_window(wanted);
        self.select(target, rows)
    }

    /// Returns whether the selected row changed.
    pub fn select(&mut self, index: usize, rows: usize) -> bool {
        if index == self.cursor.selected || index >= self.users.len() {
            return false;
        }
        self.cursor.select(index, self.users.len(), rows);
        true
    }

    pub fn keep_visible(&mut self, rows: usize) {
        self.cursor.keep_visible(self.users.len(), rows);
    }

    fn clamp_to_window(&mut self, wanted: isize) -> usize {
        let last = self.users.len().saturating_sub(1) as isize;
        self.pending_move = match wanted {
            w if w > last && !self.at_end => w - last,
            w if w < 0 && !self.at_start => w,
            _ => 0,
        };
        wanted.clamp(0, last) as usize
    }

    /// Takes a page if it answers the pending request. `None`: stale, or
    /// failed with the rows shown still those of the list asked for. A
    /// failed page of another list (the filter, tenant or set changed)
    /// clears the rows: never the old list under the new filter.
    pub fn apply(
        &mut self,
        request: &WindowRequest<R::Key>,
        result: Result<Vec<R>, DbError>,
        rows: usize,
    ) -> Option<Applied> {
        let rows_got = match result {
            Ok(rows) => rows,
            Err(error) => {
                let awaited = self
                    .page
                    .accept(request, Err(error.into()), Default::default());
                if !awaited || request.generation == self.shown_generation {
                    return None;
                }
                let had = self.selected().is_some();
                self.show_no_rows(request.generation);
                return Some(Applied {
                    moved: had,
                    continued: false,
                });
            }
        };
        if !self.page.accept(request, Ok(()), Default::default()) {
            return None;
        }
        let before = self.selected().map(R::id);
        self.take_page(request, rows_got);
        let pending = std::mem::take(&mut self.pending_move);
        let continues = matches!(
            (&request.page, pending.signum()),
            (Page::After(_), 1) | (Page::Before(_), -1)
        );
        if continues {
            // The rest of a move that ran past the edge.
            self.cursor.selected = self.clamp_to_window(self.cursor.selected as isize + pending);
        }
        self.keep_visible(rows);
        Some(Applied {
            moved: self.selected().map(R::id) != before,
            continued: continues,
        })
    }

    fn take_page(&mut self, request: &WindowRequest<R::Key>, rows: Vec<R>) {
        let same_list = self.shown_generation == request.generation;
        self.shown_generation = request.generation;
        // An exact id match comes on top of a page (see `users_page`), and
        // only where the page starts the list.
        let full = rows.iter().filter(|u| !u.pinned()).count() >= PAGE_SIZE;
        let on_top = rows.first().is_some_and(R::pinned);
        match &request.page {
            Page::First | Page::Last | Page::From(_) => {
                let last = request.page == Page::Last;
                let before = self.selected().map(R::id);
                // A refresh from a row held: as many rows before it as
                // before the window, and the rows above it in the window.
                let held = match &request.page {
                    Page::From(key) if same_list => self.users.iter().position(|u| u.key() == key),
                    _ => None,
                };
                self.at_start = request.page == Page::First || (last && !full) || on_top;
                self.at_end = last || !full || self.fixed;
                self.before = match (self.at_start, held) {
                    (true, _) => Some(0),
                    (false, Some(above)) => self.before.map(|before| before + above),
                    (false, None) => None,
                };
                self.users = rows;
                let kept = before
                    .filter(|_| request.keep_selection)
                    .and_then(|id| self.users.iter().position(|u| u.id() == id));
                self.cursor = Cursor {
                    selected: match (kept, last) {
                        (Some(index), _) => index,
                        (None, true) => self.users.len().saturating_sub(1),
                        (None, false) => 0,
                    },
                    offset: 0,
                };
            }
            Page::After(_) => {
                self.at_end = !full;
                self.users.extend(rows);
                let excess = self.users.len().saturating_sub(WINDOW_CAP);
                if excess > 0 {
                    self.before = self.before.map(|before| before + excess);
                    self.users.drain(..excess);
                    self.cursor.selected = self.cursor.selected.saturating_sub(excess);
                    self.cursor.offset = self.cursor.offset.saturating_sub(excess);
                    self.at_start = false;
                }
            }
            Page::Before(_) => {
                self.at_start = !full;
                let added = rows.len();
                self.before = match self.at_start {
                    true => Some(0),
                    false => self.before.and_then(|before| before.checked_sub(added)),
                };
                self.users.splice(0..0, rows);
                self.cursor.selected += added;
                self.cursor.offset += added;
                if self.users.len() > WINDOW_CAP {
                    self.users.truncate(WINDOW_CAP);
                    self.at_end = false;
                }
            }
        }
    }
}

/// What a page did to the selection.
#[derive(Debug, PartialEq)]
pub struct Applied {
    /// Another user is selected.
    pub moved: bool,
    /// The page carried on a move that ran past the window's edge.
    pub continued: bool,
}

/// What `g`/`G` did.
#[derive(Debug, PartialEq)]
pub enum Jump<K = UserKey> {
    /// Within the window; whether the selection changed.
    Moved(bool),
    /// A page is needed (unless that page is on its way already).
    Load(Option<WindowRequest<K>>),
}
