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
        return Status::Failed(format!("users: {}", crate::text::sanitize(error)));
    }
    if dashboard.users.is_loading() || state.catalog_load.is_loading() {
        return Status::Busy("loading users…".into());
    }
    if dashboard.orders.is_loading() {
        return Status::Busy("loading orders…".into());
    }
    match dashboard.orders.done() {
        None => Status::Empty,
        Some(done) => match &done.result {
            Ok(report) => Status::Done(format!(
                "{} from {}{}",
                crate::text::plural(report.lines.len(), "order line", "order lines"),
                crate::text::sanitize(&report.tenant),
                crate::app::screen::took(done.elapsed)
            )),
            Err(error) => Status::Failed(error.to_string()),
        },
    }
}

pub(super) fn export(state: &State) -> Option<(String, Document)> {
    let user = state.selected_user()?;
    let report = state.dashboard.orders.value()?;
    Some((
        format!("orders-{}", crate::text::file_safe(&user.id)),
        Document::Orders(Box::new((
            user.clone(),
            report.clone(),
            state.catalog.clone(),
        ))),
    ))
}
