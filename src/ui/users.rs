//! The users pane of the dashboard: the list, its filter prompt and its
//! columns (the id only where it fits).

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{beside_mark, block, column_widths, count_label, theme};
use crate::app::dashboard::Focus;
use crate::app::state::State;
use crate::geometry;
use crate::text::{fit, id_text, thousands, width};

pub(super) fn users_pane(state: &State, frame: &mut Frame, area: Rect) {
    let users = &state.dashboard.users;
    let focused = state.dashboard.focus == Focus::Users;
    let filter = &state.dashboard.filter;
    let filtering = !filter.text.is_empty() || filter.prompt.editing;
    let title = users_title(state, filtering);
    let block = block(Line::from(title), focused);
    let inner = geometry::inner(area);
    frame.render_widget(block, area);

    if users.users().is_empty() {
        let message = empty_message(state, filtering);
        frame.render_widget(
            Paragraph::new(message)
                .style(theme::dim())
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }

    let rows_fit = geometry::table_rows(area);
    let window = || {
        users
            .users()
            .iter()
            .skip(users.cursor().offset)
            .take(rows_fit)
    };
    // The id column as wide as the widest id on screen (at most 12); only
    // when the pane has room for it besides name, mail and tenant.
    let id_width = if inner.width >= ID_COLUMN_FROM {
        window()
            .map(|u| width(&crate::text::sanitize(&id_text(Some(&u.id)))))
            .chain([2])
            .max()
            .unwrap_or(2)
            .min(12) as u16
    } else {
        0
    };
    let constraints = [
        Constraint::Length(1),
        Constraint::Length(id_width),
        // With the id column beside them, a typical name and mail still fit
        // at 120 columns (a cut value is whole in Enter's popup).
        Constraint::Fill(4),
        Constraint::Fill(4),
        Constraint::Fill(3),
    ];
    // No mail column in the users table: no column of empty cells.
    let shown = [
        true,
        id_width > 0,
        true,
        !state.tenants.no_mail_column,
        true,
    ];
    let mut fitted = column_widths(beside_mark(inner), &shown_only(constraints, shown)).into_iter();
    let widths: Vec<u16> = shown
        .iter()
        .map(|&on| if on { fitted.next().unwrap_or(0) } else { 0 })
        .collect();
    // As the registry names them (the schema is in Enter's popup), cut
    // so that tenants named alike read apart.
    let tenants: Vec<(String, usize)> = window()
        .map(|user| (super::tenant_text(state, user), usize::from(widths[4])))
        .collect();
    let rows: Vec<Row> = window()
        .zip(super::distinct_fits(&tenants))
        .map(|(user, tenant)| {
            // Not known yet (the catalogue is on its way): no mark.
            let (marker, tenant_style) = super::schema_mark(state.tenant_status(user));
            let cells = [
                Cell::from(Span::styled(marker, tenant_style)),
                Cell::from(fit(&id_text(Some(&user.id)), widths[1] as usize)),
                Cell::from(fit(&id_text(Some(&user.name)), widths[2] as usize)),
                Cell::from(fit(user.mail.as_deref().unwrap_or(""), widths[3] as usize)),
                Cell::from(Span::styled(tenant, tenant_style)),
            ];
            Row::new(shown_only(cells, shown))
        })
        .collect();
    let header = Row::new(shown_only(
        ["", "Id", "Name", "Mail", "Tenant"].map(Cell::from),
        shown,
    ))
    .style(theme::header_row());
    let shown_widths = shown_only(widths, shown);
    let table =
        Table::new(rows, shown_widths.iter().map(|w| Constraint::Length(*w))).header(header);
    super::list(frame, inner, table, &users.cursor(), focused);
}

/// The pane's title: whose users, how many (or matches, with the filter),
/// or the label of a list opened from elsewhere.
fn users_title(state: &State, filtering: bool) -> Vec<Span<'static>> {
    let users = &state.dashboard.users;
    let mut title = vec![Span::styled(" Users ", theme::title())];
    // A list opened from elsewhere (who ordered) names its own tenant.
    let label = &state.dashboard.list_label;
    if let Some(tenant) = state.dashboard.tenant.as_ref().filter(|_| label.is_none()) {
        let whose = match tenant.is_no_tenant() {
            true => "with no organization id ".to_string(),
            false => format!(
                "of {} ",
                super::fit_name(&crate::text::id_text(Some(&tenant.label)), 24)
            ),
        };
        title.push(Span::styled(whose, theme::title()));
    }
    let filter = &state.dashboard.filter;
    let one_tenant = state.dashboard.tenant.as_ref().and_then(|t| t.users);
    let shown = if users.users().is_empty() && users.error().is_some() {
        "?".to_string()
    } else if users.users().is_empty() && users.is_loading() && one_tenant.is_none() {
        // A list still on its way (one that replaced another shows none
        // of the old one's rows, nor its count).
        "…".to_string()
    } else if let Some(count) = users.count() {
        thousands(count as i64)
    } else if filtering {
        format!("{}+", thousands(users.users().len() as i64))
    } else if let Some(count) = one_tenant {
        crate::db::Count::label(Some(count))
    } else if state.dashboard.tenant.is_some() {
        format!("{}+", thousands(users.users().len() as i64))
    } else if state.catalog_partial {
        // Not counted yet: never a number that is not the count.
        "…".to_string()
    } else {
        count_label(state.user_count)
    };
    if let Some(label) = &state.dashboard.list_label {
        title.push(Span::styled(
            format!("{} ({shown}) ", fit(label, 40)),
            theme::warning(),
        ));
    } else if filtering {
        let noun = if shown == "1" { "match" } else { "matches" };
        title.push(Span::raw(format!("{shown} {noun} ")));
        let shown = if filter.prompt.editing {
            super::prompt(&filter.prompt.input)
        } else {
            fit(&filter.text, 30)
        };
        title.push(Span::styled(format!("/{shown} "), theme::warning()));
    } else {
        title.push(Span::raw(format!("({shown}) ")));
    }
    title
}

/// What the pane says when it has no user to list: loading, failed, nothing
/// matches the filter, or an empty table.
fn empty_message(state: &State, filtering: bool) -> String {
    let users = &state.dashboard.users;
    let filter = &state.dashboard.filter;
    if users.is_loading() {
        "Loading users…".to_string()
    } else if let Some(error) = users.error() {
        format!(
            "Users could not be loaded: {}",
            crate::text::message_line(error)
        )
    } else if filtering {
        let how = if filter.prompt.editing {
            "Ctrl-U clears the prompt."
        } else {
            "Esc clears the filter."
        };
        format!("No users match \"{}\". {how}", fit(&filter.text, 30))
    } else if let Some(label) = &state.dashboard.list_label {
        format!("No users {}.", fit(label, 60))
    } else if let Some(tenant) = &state.dashboard.tenant {
        match tenant.is_no_tenant() {
            true => "No user lacks an organization id.".to_string(),
            false => format!("No users of {}.", super::fit_name(&tenant.label, 40)),
        }
    } else {
        "No users in the shared users table.".to_string()
    }
}

/// From this inner width on, the users pane shows an id column.
const ID_COLUMN_FROM: u16 = 36;

/// The users pane's columns that are `shown` (mark, id, name, mail, tenant).
fn shown_only<T>(columns: impl IntoIterator<Item = T>, shown: [bool; 5]) -> Vec<T> {
    columns
        .into_iter()
        .zip(shown)
        .filter_map(|(column, on)| on.then_some(column))
        .collect()
}
