//! The filter prompt (`/`) and Esc stepping back out of what narrows the
//! list: editing → kept filter → the whole list.

use crossterm::event::KeyEvent;

use super::loads::users_page;
use super::Focus;
use crate::app::input::{History, LineInput, Prompt};
use crate::app::msg::{Delay, Effect};
use crate::app::state::State;
use crate::db::Page;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// The filter the list shows (the database filters on it).
    pub text: String,
    /// Typing goes into the prompt, and the list follows it.
    pub prompt: Prompt,
    /// Filters kept earlier this session, for ↑/↓ in the prompt.
    pub history: History,
    /// The list as it was when the prompt opened: Esc in the prompt puts
    /// it back.
    pub before: Option<Box<super::Dashboard>>,
}

/// `/`: an empty prompt (the kept filter stays until something is typed).
pub fn start(state: &mut State) -> Vec<Effect> {
    let mut before = state.dashboard.clone();
    before.detail = None;
    before.filter.before = None;
    let dashboard = &mut state.dashboard;
    dashboard.filter.before = Some(Box::new(before));
    dashboard.focus = Focus::Users;
    let filter = &mut dashboard.filter;
    filter.prompt.editing = true;
    filter.prompt.input = LineInput::default();
    filter.history.reset();
    Vec::new()
}

/// Enter in the prompt: the filter stays, the prompt closes.
pub fn keep(state: &mut State) -> Vec<Effect> {
    let filter = &mut state.dashboard.filter;
    filter.prompt.editing = false;
    filter.before = None;
    let text = filter.text.clone();
    filter.history.push(text);
    Vec::new()
}

/// ↑/↓ in the prompt: an earlier filter of this session.
pub fn recall(state: &mut State, older: bool) -> Vec<Effect> {
    let Some(entry) = state.dashboard.filter.history.step(older) else {
        return Vec::new();
    };
    state.dashboard.filter.prompt.input.set(&entry);
    set_filter(state, entry)
}

/// Keys the prompt's table does not bind: editing the text.
pub fn edit(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let data = &mut **state;
    let prompt = &mut data.dashboard.filter.prompt;
    let text = prompt.typed(&key, "filter", &mut data.notice);
    text.map_or_else(Vec::new, |text| set_filter(state, text))
}

/// Esc in the prompt: the edit is cancelled, the list is put back as it
/// was when `/` was pressed (its filter, selection and scroll); a page
/// of the text typed still on its way is cancelled.
fn cancel(state: &mut State) -> Vec<Effect> {
    let dashboard = &mut state.dashboard;
    let Some(before) = dashboard.filter.before.take() else {
        dashboard.filter.prompt.editing = false;
        return Vec::new();
    };
    let typed_loading = dashboard.users.is_loading();
    // The filters kept meanwhile are not the list's.
    let history = std::mem::take(&mut dashboard.filter.history);
    let mut effects = super::restore(state, before);
    state.dashboard.filter.history = history;
    state.dashboard.filter.history.reset();
    let resumed_page = effects
        .iter()
        .any(|e| matches!(e, Effect::Load(task) if task.slot == super::USERS_SLOT));
    if typed_loading && !resumed_page {
        effects.push(Effect::Cancel(super::USERS_SLOT));
    }
    effects
}

/// Esc: in the prompt, [`cancel`]; else drop a kept filter; else back to
/// the view this list was entered from (see `app::nav`); else leave a
/// "who ordered" list; at the whole list it says how to quit (Esc never
/// quits).
pub fn back(state: &mut State) -> Vec<Effect> {
    if state.dashboard.filter.prompt.editing {
        return cancel(state);
    }
    if !state.dashboard.filter.text.is_empty() {
        return set_filter(state, String::new());
    }
    if let Some(effects) = crate::app::nav::back(state) {
        return effects;
    }
    let ticket = state.ticket();
    let dashboard = &mut state.dashboard;
    if dashboard.list_label.take().is_some() {
        dashboard.buyers = None;
        let request = dashboard
            .users
            .replace(ticket, None, Page::First, true, false);
        return vec![users_page(request, Delay::None)];
    }
    // Tenant-first, opened on a user (`--user`): the tenants pane, which
    // Esc does not return from.
    if dashboard.tenant.is_some() || state.tenants.per_tenant {
        state.view = crate::app::state::View::Tenants;
        return crate::app::tenants::open(state);
    }
    state.notice = Some(Ok("the whole list is shown; q quits".into()));
    Vec::new()
}

/// A new filter runs in the database; the pending page of the old one is
/// superseded (and so cancelled).
pub fn set_filter(state: &mut State, text: String) -> Vec<Effect> {
    if text == state.dashboard.filter.text {
        return Vec::new();
    }
    state.dashboard.filter.text = text.clone();
    // A "who ordered" list is a set read whole, not the table: a filter
    // reads the table, and the title no longer says "who ordered" (Esc in
    // the prompt puts that list back).
    if state.dashboard.users.is_fixed() {
        state.dashboard.list_label = None;
        state.dashboard.buyers = None;
    }
    let filter = Some(text).filter(|text| !text.is_empty());
    let cleared = filter.is_none();
    let (page, delay) = match state.selected_user() {
        // Clearing the filter shows the whole list again around the selected user.
        Some(user) if cleared && !user.key.pinned => (Page::From(user.key.clone()), Delay::None),
        Some(_) if cleared => (Page::First, Delay::None),
        _ => (Page::First, Delay::Fixed(state.session.debounce)),
    };
    let ticket = state.ticket();
    let request = state
        .dashboard
        .users
        .replace(ticket, filter, page, true, false);
    vec![users_page(request, delay)]
}
