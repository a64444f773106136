//! What the dashboard's loads show in the status line and its warning,
//! and what `e` exports.

use crate::app::screen::Status;
use crate::app::state::State;
use crate::output::Document;

/// Values shown with U+FFFD, and, in every tenant's users list, the
/// tenants it leaves out (their users table drifted).
pub(super) fn warning(state: &State) -> Option<String> {
    let left_out = match state.dashboard.tenant {
        None => {
            let tenants = &state.tenants;
            crate::output::left_out_warning(&tenants.left_out, &tenants.users_table)
        }
        Some(_) => None,
    };
    let invalid = crate::output::invalid_utf8_warning(state.dashboard.users.users());
    match (left_out, invalid) {
        (Some(a), Some(b)) => Some(format!("{a} · ⚠ {b}")),
        (a, b) => a.or(b),
    }
}

pub(super) fn status(state: &State) -> Status {
    let dashboard = &state.dashboard;
    let users_error = (dashboard.users.error().map(String::as_str))
        .or(state.catalog_load.error().map(|e| e.text.as_str()));
    if let Some(error) = users_error {
        return Status::Failed(format!("users: {}", crate::text::message_line(error)));
    }
    if dashboard.users.is_loading() || (state.catalog_load.is_loading() && !state.catalog_partial) {
        return Status::Busy("loading users…".into());
    }
    if state.catalog_partial {
        // The users shown are read; what is not yet is said.
        return Status::Busy("counting users, reading the tenant catalogue…".into());
    }
    if dashboard.orders.is_loading() {
        return Status::Busy("loading orders…".into());
    }
    if let Some(error) = dashboard.lines.error() {
        return Status::Failed(format!("order lines: {}", crate::text::message_line(error)));
    }
    if let Some(error) = dashboard.totals.error() {
        let error = crate::text::message_line(&error.to_string()).into_owned();
        return Status::Failed(format!("order totals: {error}"));
    }
    if dashboard.totals.is_loading() {
        return Status::Busy("adding up the orders…".into());
    }
    if dashboard.lines.is_loading() {
        return Status::Busy("loading order lines…".into());
    }
    match dashboard.orders.done() {
        None => Status::Empty,
        Some(done) => match &done.result {
            Ok(report) => Status::Done(format!(
                "{} from {}{}",
                crate::text::plural(report.totals.lines, "order line", "order lines"),
                crate::text::sanitize(&state.catalog.label(&report.tenant)),
                crate::app::screen::took(done.elapsed)
            )),
            Err(error) => Status::Failed(error.to_string()),
        },
    }
}

/// The orders shown: as held when the pane holds every line, else read
/// whole by the runtime as it writes the file (never a window's part).
pub(super) fn export(state: &State) -> Option<(String, Document)> {
    let user = state.selected_user()?;
    let report = state.dashboard.orders.value()?;
    let stem = format!("orders-{}", crate::text::file_safe(&user.id));
    let all_held = report.totals_known && report.lines.len() == report.totals.lines;
    if !all_held {
        let compare = state.dashboard.orders.key()?.compare.clone();
        return Some((
            stem,
            Document::ToRead(crate::output::ToRead::Orders(Box::new((
                user.clone(),
                compare,
                state.catalog.clone(),
            )))),
        ));
    }
    Some((
        stem,
        Document::Orders(Box::new((
            user.clone(),
            report.clone(),
            state.catalog.clone(),
        ))),
    ))
}
