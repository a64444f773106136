//! The search across tenants (`/` in the tenants pane): users by id, name
//! or mail, [`SEARCH_BATCH`] tenant schemas per statement, each batch shown
//! as it arrives and the next one asked for then (the first batch
//! [`SEARCH_BATCH`] schemas, each later one [`SEARCH_WIDE_BATCH`], read as
//! statements side by side). A new text supersedes the
//! search (its late batches are dropped by key, its statement cancelled by
//! the slot); leaving the pane stops it.

use std::time::Duration;

use crossterm::event::KeyEvent;

use super::Job;
use crate::app::input::{LineInput, Prompt};
use crate::app::load::{Batch, BatchId, Batched, Cursor};
use crate::app::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use crate::app::screen::Status;
use crate::app::state::State;
use crate::db::{
    search_key, DbError, SearchBatch, TenantEntry, User, SEARCH_BATCH, SEARCH_PER_TENANT,
    SEARCH_WIDE_BATCH,
};
use std::sync::Arc;

pub const SEARCH_SLOT: Slot = Slot("search");
/// A search stops once it has found this many users: refine it.
pub const SEARCH_CAP: usize = 1_000;

/// Which search: its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKey {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub prompt: Prompt,
    /// The tenant schemas searched so far, [`SEARCH_BATCH`] at a time (one
    /// statement over the shared table where users are not per tenant);
    /// no key: no search (the pane lists tenants).
    pub load: Batched<SearchKey>,
    pub users: Vec<User>,
    /// Tenant schemas that could not be searched, and why.
    pub failed: Vec<(String, String)>,
    /// Tenants whose matches were cut to the first 100.
    pub capped: usize,
    pub rows: Cursor,
    /// The search as it was when the prompt opened: Esc in the prompt
    /// puts it back.
    pub before: Option<Box<Search>>,
    /// In `before`: when its results were read (the status line's "as of",
    /// which a new text forgets), put back with them.
    pub read_at: Option<String>,
}

impl Search {
    /// The search's text, if one is shown.
    pub fn text(&self) -> Option<&str> {
        self.load.key().map(|k| k.text.as_str())
    }
}

/// `/` where a search across tenants replaces the users filter.
pub fn start_search(state: &mut State) -> Vec<Effect> {
    let mut effects = super::open(state);
    prompt(state);
    state.tenants.search.prompt.input = LineInput::default();
    effects.extend(set_text(state, String::new()));
    effects
}

/// `/` in the pane: the prompt, holding the search shown.
pub(super) fn prompt(state: &mut State) {
    let read_at = state.read_at.get(SEARCH_SLOT.0).cloned();
    let search = &mut state.tenants.search;
    let mut before = search.clone();
    before.before = None;
    before.read_at = read_at;
    search.before = Some(Box::new(before));
    search.prompt.editing = true;
    let text = search.text().unwrap_or_default().to_string();
    search.prompt.input.set(&text);
}

/// Esc in the prompt: the edit is cancelled and the search shown when `/`
/// was pressed is put back (its results, its row), or the tenants if
/// there was none. What the text typed still reads is cancelled; a search
/// that was still running then runs again.
pub(super) fn cancel(state: &mut State) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    search.prompt.editing = false;
    let Some(before) = search.before.take() else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    if search.load.is_loading() {
        effects.push(Effect::Cancel(SEARCH_SLOT));
    }
    let mut before = *before;
    before.prompt.editing = false;
    if before.load.is_loading() {
        // Its batches were superseded: read again from the start.
        let text = before.text().unwrap_or_default().to_string();
        *search = Search {
            prompt: Prompt {
                input: before.prompt.input,
                editing: false,
            },
            ..Search::default()
        };
        effects.extend(set_text(state, text));
        return effects;
    }
    match before.read_at.take() {
        Some(at) => state.read_at.insert(SEARCH_SLOT.0, at),
        None => state.read_at.remove(SEARCH_SLOT.0),
    };
    state.tenants.search = before;
    effects
}

pub(super) fn edit(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let data = &mut **state;
    let prompt = &mut data.tenants.search.prompt;
    let text = prompt.typed(&key, "search", &mut data.notice);
    text.map_or_else(Vec::new, |text| set_text(state, text))
}

/// A new search text: the search running is cancelled (its late batches
/// are dropped by ticket) and, after the typing debounce, the new one starts.
pub(super) fn set_text(state: &mut State, text: String) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    if search.text() == Some(text.as_str()) {
        return Vec::new();
    }
    // The last search's read time is not this one's.
    state.read_at.remove(SEARCH_SLOT.0);
    let search = &mut state.tenants.search;
    let was_loading = search.load.clear();
    *search = Search {
        prompt: std::mem::take(&mut search.prompt),
        before: search.before.take(),
        ..Search::default()
    };
    if text.is_empty() {
        return if was_loading {
            vec![Effect::Cancel(SEARCH_SLOT)]
        } else {
            Vec::new()
        };
    }
    let ticket = state.ticket();
    // The tenant schemas as the search begins; where users are shared, the
    // one table, read in one statement.
    let per_tenant = state.tenants.per_tenant;
    let schemas: Arc<[String]> = if per_tenant {
        state.catalog.names().into()
    } else {
        Arc::from([String::new()])
    };
    let first = state.tenants.search.load.start_widening(
        ticket,
        SearchKey { text },
        schemas,
        SEARCH_BATCH,
        SEARCH_WIDE_BATCH,
    );
    ask(state, first, Delay::Fixed(state.session.debounce))
}

/// The statement reading `batch`, if there is one.
fn ask(state: &State, batch: Option<Batch>, delay: Delay) -> Vec<Effect> {
    let (Some(batch), Some(text)) = (batch, state.tenants.search.text()) else {
        return Vec::new();
    };
    let schemas = if state.tenants.per_tenant {
        batch.tenants
    } else {
        Vec::new()
    };
    let shown = state.tenants.search.users.iter();
    let job = Job::Search {
        batch: batch.id,
        text: text.to_string(),
        schemas,
        shown: shown.map(|u| search_key(u, text)).collect(),
    };
    vec![AppJob::Tenants(job).task(SEARCH_SLOT, delay)]
}

/// A batch of the search: kept if it is the one awaited, and the next
/// batch asked for.
pub(super) fn on_batch(
    state: &mut State,
    batch: BatchId,
    result: Result<SearchBatch, DbError>,
    elapsed: Duration,
    read: ReadTime,
) -> Vec<Effect> {
    // A batch of a search superseded or stopped: dropped.
    if !state.tenants.search.load.accept(batch, elapsed) {
        return Vec::new();
    }
    if result.is_ok() {
        read.taken(state);
    }
    let fit = super::rows(state);
    let search = &mut state.tenants.search;
    match result {
        Ok(mut batch) => {
            // Among those shown, in the users list's order: the user
            // selected stays selected (Enter opens whom the cursor is on),
            // wherever the new ones put them.
            let same = |a: &User, b: &User| (&a.id, &a.tenant) == (&b.id, &b.tenant);
            let selected = search.users.get(search.rows.selected).cloned();
            batch.merge_into(&mut search.users);
            search.failed.extend(batch.failed);
            search.capped += batch.capped;
            search.users.truncate(SEARCH_CAP);
            let found = selected.and_then(|s| search.users.iter().position(|u| same(u, &s)));
            if let Some(at) = found {
                search.rows.selected = at;
            }
            search.rows.keep_visible(search.users.len(), fit);
            if search.users.len() >= SEARCH_CAP {
                search.load.stop(Some(
                    "1,000 matches in the tenants searched so far: refine the search",
                ));
                return Vec::new();
            }
            let next = search.load.next_batch();
            ask(state, next, Delay::None)
        }
        Err(error) => {
            search.load.fail(error);
            Vec::new()
        }
    }
}

/// Leaving the pane stops a search still running (what it found stays).
pub(super) fn leave(state: &mut State) -> Vec<Effect> {
    let search = &mut state.tenants.search;
    search.prompt.editing = false;
    if !search.load.is_loading() {
        return Vec::new();
    }
    search
        .load
        .stop(Some("stopped when the pane was left: / searches again"));
    vec![Effect::Cancel(SEARCH_SLOT)]
}

/// Enter on a search result: that user's orders, in their tenant's list.
pub(super) fn open_result(state: &mut State) -> Vec<Effect> {
    let search = &state.tenants.search;
    let Some(user) = search.users.get(search.rows.selected).cloned() else {
        return Vec::new();
    };
    // The list the tenants pane has them in: their tenant's, their id's
    // where it names no schema, or (empty) the users with no organization
    // id (NULL or empty, or linked to no tenant).
    let schema = match user.tenant.as_deref() {
        Some(tenant) if !tenant.is_empty() => tenant.to_string(),
        _ => user.unmapped_id().unwrap_or_default().to_string(),
    };
    let listed = state.tenants.entries().iter().find(|e| e.schema == schema);
    let entry = match (listed, schema.as_str()) {
        (Some(entry), _) => entry.clone(),
        (None, "") => TenantEntry::no_tenant(None),
        (None, _) => TenantEntry::of_schema(schema, state.catalog.status_of(&user), None),
    };
    let mut effects = leave(state);
    effects.extend(crate::app::dashboard::show_tenant(
        state,
        Some(entry),
        Some(user),
    ));
    effects
}

/// What the search's matches lack: the tenants it could not search, and
/// those of more matches than it keeps ("1 could not be searched; the
/// first 100 only in 2 tenants"); none when it lacks nothing.
pub(super) fn gaps(state: &State) -> Option<String> {
    let search = &state.tenants.search;
    let mut gaps = Vec::new();
    if !search.failed.is_empty() {
        gaps.push(format!("{} could not be searched", search.failed.len()));
    }
    match (search.capped, state.tenants.per_tenant) {
        (0, _) => {}
        (_, false) => gaps.push(format!("the first {SEARCH_PER_TENANT} only")),
        (n, true) => gaps.push(format!(
            "the first {SEARCH_PER_TENANT} only in {}",
            crate::text::plural(n, "tenant", "tenants")
        )),
    }
    (!gaps.is_empty()).then(|| gaps.join("; "))
}

pub(super) fn status(state: &State) -> Status {
    let search = &state.tenants.search;
    let tenants = &state.tenants;
    let found = crate::text::plural(search.users.len(), "match", "matches");
    let failed = match (gaps(state), search.capped) {
        (None, _) => String::new(),
        (Some(gaps), 0) => format!("; {gaps}"),
        (Some(gaps), _) => format!("; {gaps}: refine the search"),
    };
    let progress = if tenants.per_tenant {
        format!(
            "searched {}/{}",
            crate::text::thousands(search.load.done() as i64),
            crate::text::plural(search.load.total(), "tenant", "tenants")
        )
    } else {
        "searched the shared users table".into()
    };
    if search.load.is_loading() {
        return Status::Busy(format!("{progress}… {found}{failed}"));
    }
    let how = match search.load.stopped() {
        Some(why) => format!(" ({why})"),
        None => crate::app::screen::took(search.load.elapsed()),
    };
    Status::Done(format!("{progress}: {found}{failed}{how}"))
}
