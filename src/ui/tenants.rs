//! The tenants pane: the tenants as the registry names them, or, while a
//! search across tenants is shown, the users it found with their tenant.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{block, failed_load, message, right, theme};
use crate::app::state::State;
use crate::db::{Count, SchemaState, TenantEntry};
use crate::geometry;
use crate::text::{cut, fit, id_cell, id_text, name_cell, sanitize, width as text_width};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let tenants = &state.tenants;
    let search = &tenants.search;
    let mut title = vec![Span::styled(" Tenants ", theme::title())];
    if !tenants.layout.is_empty() {
        title.push(Span::styled(
            format!("· {} ", sanitize(&tenants.layout)),
            theme::dim(),
        ));
    }
    if search.prompt.editing || search.text().is_some() {
        let text = if search.prompt.editing {
            super::prompt(&search.prompt.input)
        } else {
            fit(search.text().unwrap_or(""), 30)
        };
        title.push(Span::styled(
            format!("· users in all tenants /{text} "),
            theme::warning(),
        ));
    }
    frame.render_widget(block(Line::from(title), true), area);
    let inner = geometry::inner(area);
    if let Some(error) = tenants.directory.error() {
        return message(frame, inner, failed_load(error), theme::error());
    }
    let [table_area, note] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let shown = geometry::basket_rows(state.session.size);
    if search.text().is_some() {
        results(state, frame, table_area, shown);
        let note_text = match search.failed.first() {
            Some((schema, why)) => Line::from(Span::styled(
                format!(
                    "✗ {} could not be searched: {} ({})",
                    crate::text::plural(search.failed.len(), "tenant", "tenants"),
                    sanitize(&state.catalog.label(schema)),
                    crate::text::cut(&crate::text::message_line(why), 60)
                ),
                theme::error(),
            )),
            None => Line::from(Span::styled(
                "Id exact; name, mail or tenant containing the text. Enter: the user's orders.",
                theme::dim(),
            )),
        };
        frame.render_widget(Paragraph::new(note_text), note);
        return;
    }
    if search.prompt.editing {
        let text = "Type to search users by id, name, mail or tenant in every tenant.";
        return message(frame, inner, text.into(), theme::dim());
    }
    let entries = tenants.entries();
    if entries.is_empty() {
        let text = if tenants.directory.is_loading() {
            "Loading tenants…"
        } else {
            "No tenants."
        };
        return message(frame, inner, text.into(), theme::dim());
    }
    // Citus: the node holding each tenant, as `tenants` prints it.
    let nodes = entries.iter().any(|e| e.node.is_some());
    let on_screen = || entries.iter().skip(tenants.rows.offset).take(shown);
    // The Users column as wide as its widest cell on screen: never cut.
    let users_width = on_screen()
        .map(|e| text_width(&users_cell(e)))
        .chain([text_width("Users")])
        .max()
        .unwrap_or(0) as u16;
    let mut columns = vec![
        (Cell::from(""), Constraint::Length(1)),
        (Cell::from("Tenant"), Constraint::Fill(3)),
        (Cell::from("Key"), Constraint::Fill(2)),
        (Cell::from("Schema"), Constraint::Fill(3)),
        (right("Users".into()), Constraint::Length(users_width)),
    ];
    if nodes {
        columns.push((Cell::from("Node"), Constraint::Fill(2)));
    }
    let (header, widths) = super::columns(columns);
    let cells = super::column_widths(super::beside_mark(table_area), &widths);
    let entries: Vec<&TenantEntry> = on_screen().collect();
    let rows: Vec<Row> = entries
        .iter()
        .zip(names_apart(&entries, &cells))
        .map(|(entry, names)| entry_row(entry, names, &cells))
        .collect();
    let table = Table::new(rows, widths).header(header);
    super::list(frame, table_area, table, &tenants.rows, true);
    let text = "Enter: the tenant's users · /: search users in all tenants · a: all users";
    frame.render_widget(Paragraph::new(text).style(theme::dim()), note);
}

/// A tenant's Users cell: its count, and why it has no schema.
fn users_cell(entry: &TenantEntry) -> String {
    match (entry.state, entry.users) {
        (SchemaState::Ok, Some(n)) => Count::label(Some(n)),
        (SchemaState::Ok, None) => "—".to_string(),
        (state, Some(n)) => format!("{} ({})", Count::label(Some(n)), state.word()),
        (state, None) => state.word().to_string(),
    }
}

/// The Tenant, Key and Schema cells of `entries` (escaped: escaped
/// again, `\n` would read `\\n`), each column cut to its `widths` so
/// that names alike read apart.
fn names_apart(entries: &[&TenantEntry], widths: &[u16]) -> Vec<[String; 3]> {
    let column = |column: usize, text: &dyn Fn(&TenantEntry) -> String| {
        let cells = usize::from(widths[column]);
        let names: Vec<_> = entries.iter().map(|e| (text(e), cells)).collect();
        super::distinct_cuts(&names)
    };
    // The users with no organization id: no key, no schema.
    let id = |entry: &TenantEntry, text: &str| match entry.is_no_tenant() {
        true => String::new(),
        false => name_cell(&id_cell(Some(text))),
    };
    let label = column(1, &|e| match e.is_no_tenant() {
        true => id_cell(None).into_owned(),
        false => name_cell(&id_cell(Some(&e.label))),
    });
    let key = column(2, &|e| id(e, &e.key));
    let schema = column(3, &|e| id(e, &e.schema));
    label
        .into_iter()
        .zip(key)
        .zip(schema)
        .map(|((label, key), schema)| [label, key, schema])
        .collect()
}

/// A tenant's row, its `names` cut to their columns ([`names_apart`]),
/// each other text cut with `…` to its column's `widths` (a column of its
/// node on Citus): marked as the users list marks it.
fn entry_row(entry: &TenantEntry, names: [String; 3], widths: &[u16]) -> Row<'static> {
    let (mark, style) = super::schema_mark(Some(entry.state));
    let [label, key, schema] = names;
    // An id naming no schema: none to show (its key is the id).
    let schema = match entry.state == SchemaState::NoSchema {
        true => Span::styled("—", theme::dim()),
        false => Span::styled(schema, style),
    };
    let users = Span::styled(users_cell(entry), style);
    let mut cells = vec![
        Cell::from(Span::styled(mark, style)),
        Cell::from(label),
        Cell::from(key),
        Cell::from(schema),
        Cell::from(Line::from(users).alignment(Alignment::Right)),
    ];
    if let Some(&width) = widths.get(5) {
        let node = sanitize(entry.node.as_deref().unwrap_or("")).into_owned();
        cells.push(Cell::from(fit(&node, width as usize)));
    }
    Row::new(cells)
}

/// The users a search found, with the tenant each belongs to.
fn results(state: &State, frame: &mut Frame, area: Rect, shown: usize) {
    let search = &state.tenants.search;
    if search.users.is_empty() {
        let text = if search.load.is_loading() {
            "Searching…".to_string()
        } else if let Some(why) = search.load.stopped() {
            // Not every tenant was searched: "no match" would be untrue.
            format!("No match in the tenants searched ({why}).")
        } else {
            "No users match.".to_string()
        };
        return message(frame, area, text, theme::dim());
    }
    let label = |schema: &str| {
        state
            .tenants
            .entries()
            .iter()
            .find(|e| e.schema == schema)
            .map_or_else(|| schema.to_string(), |e| e.label.clone())
    };
    let users = || search.users.iter().skip(search.rows.offset).take(shown);
    // Ids whole where they fit a quarter of the row, else cut with `…`
    // (never cut bare: two ids would read alike).
    let widest = users().map(|u| text_width(&u.id)).max().unwrap_or(0);
    let id_width = widest.clamp(2, usize::from(area.width / 4).max(8));
    let mut columns = vec![
        (Cell::from("Tenant"), Constraint::Fill(2)),
        (Cell::from("Id"), Constraint::Length(id_width as u16)),
        (Cell::from("Name"), Constraint::Fill(3)),
    ];
    // No mail column in the users table: no column of empty cells.
    let mail = !state.tenants.no_mail_column;
    if mail {
        columns.push((Cell::from("Mail"), Constraint::Fill(3)));
    }
    let (header, widths) = super::columns(columns);
    let cells = super::column_widths(super::beside_mark(area), &widths);
    // The cells are escaped already (escaped again, `\n` read `\\n`).
    let cut = |text: &str, column: usize| cut(text, cells[column] as usize);
    // No tenant schema: the id as the users list shows it. Cut so that
    // tenants named alike read apart.
    let tenants: Vec<(String, usize)> = users()
        .map(|user| match user.tenant.as_deref() {
            Some(tenant) if !tenant.is_empty() => name_cell(&label(tenant)),
            _ => sanitize(&id_text(user.tenant_label())).into_owned(),
        })
        .map(|tenant| (tenant, usize::from(cells[0])))
        .collect();
    let rows: Vec<Row> = users()
        .zip(super::distinct_cuts(&tenants))
        .map(|(user, tenant)| {
            let mut cells = vec![
                Cell::from(tenant),
                Cell::from(fit(&user.id, id_width)),
                Cell::from(cut(&sanitize(&user.name), 2)),
            ];
            if mail {
                cells.push(Cell::from(cut(
                    &sanitize(user.mail.as_deref().unwrap_or("")),
                    3,
                )));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(rows, widths).header(header);
    super::list(frame, area, table, &search.rows, true);
}
