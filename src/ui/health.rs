//! The tenant health view: the tenants table and the selected tenant's details.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{block, failed_load, message, theme};
use crate::app::state::State;
use crate::db::{Count, LeakKind};
use crate::geometry;
use crate::output::health_rows::{HealthRow, RowKind, Severity};
use crate::text::{fit, sanitize};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let (table_area, details_area) = geometry::health_split(area);
    let report = match state.health.report.done().map(|d| &d.result) {
        Some(Ok(report)) => report,
        other => {
            frame.render_widget(
                block(
                    Line::from(Span::styled(" Tenant health ", theme::title())),
                    true,
                ),
                table_area,
            );
            let (text, style) = match other {
                Some(Err(error)) => (failed_load(error), theme::error()),
                _ => ("Checking every tenant schema…".into(), theme::dim()),
            };
            message(frame, geometry::inner(table_area), text, style);
            return;
        }
    };
    let all = crate::app::health::all(state);
    let with_findings = all.iter().filter(|r| r.has_findings()).count();
    let rows_shown = crate::app::health::rows(state);
    let title = health_title(state, report, with_findings, table_area.width);
    frame.render_widget(block(Line::from(title), true), table_area);
    let inner = geometry::inner(table_area);
    let rows_fit = geometry::table_rows(table_area);
    let visible: Vec<&HealthRow> = rows_shown
        .iter()
        .skip(state.health.cursor.offset)
        .take(rows_fit)
        .collect();
    let cells = health_cells(report, &visible);
    let headers = HEADERS;
    let selection = 2; // "▶ "
    let available = inner.width.saturating_sub(selection);
    let widths = column_widths(&cells, available);
    let actual: Vec<usize> = ratatui::layout::Layout::horizontal(widths)
        .flex(ratatui::layout::Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, available, 1))
        .iter()
        .map(|r| r.width as usize)
        .collect();
    // Counts whole or `…`; the headers cut with `…` at their end.
    let count = |text: &str, width: usize| {
        let width = u16::try_from(width).unwrap_or(u16::MAX);
        let text = super::whole_or_ellipsis(text.to_string(), width);
        Cell::from(Line::from(text).alignment(Alignment::Right))
    };
    let right = |text: &str, width: usize| {
        Cell::from(Line::from(fit(text, width)).alignment(Alignment::Right))
    };
    // The tenants down their column, cut so that names alike read apart.
    let names: Vec<(String, usize)> = cells
        .iter()
        .map(|row| (row[0].clone(), actual[0]))
        .collect();
    let rows: Vec<Row> = visible
        .iter()
        .zip(&cells)
        .zip(super::distinct_fits(&names))
        .map(|((t, row), name)| {
            let style = status_of(t).1;
            Row::new(vec![
                Cell::from(name),
                Cell::from(Span::styled(fit(&row[1], actual[1]), style)),
                count(&row[2], actual[2]),
                count(&row[3], actual[3]),
                count(&row[4], actual[4]),
                Cell::from(fit(&row[5], actual[5])),
            ])
        })
        .collect();
    let header = Row::new(vec![
        Cell::from(fit(headers[0], actual[0])),
        Cell::from(fit(headers[1], actual[1])),
        right(headers[2], actual[2]),
        right(headers[3], actual[3]),
        right(headers[4], actual[4]),
        Cell::from(fit(headers[5], actual[5])),
    ])
    .style(theme::header_row());
    let table = Table::new(rows, widths).header(header);
    super::list(frame, inner, table, &state.health.cursor, true);
    health_details(
        state,
        report,
        rows_shown.get(state.health.cursor.selected),
        frame,
        details_area,
    );
}

/// The health table's column names.
const HEADERS: [&str; 6] = ["Tenant", "Status", "Users", "Items", "Orders", "Findings"];

/// The health table's columns in `available` cells, as wide as what they
/// show (`cells`), so a narrow terminal keeps whole names; whatever still
/// does not fit is cut by the caller with "…", since the table itself
/// would cut it silently. A name takes at most [`NAME_CAP`] cells, or
/// what the findings on screen leave where that is more. Counts take their whole width (a row count is at
/// most 26 cells) where the row has room for them beside the status and a
/// name cut to four cells; where it has not, each count column is capped at
/// [`NARROW_COUNT`] cells, and a count wider than that shows as `…` (never
/// its cut digits) and sets no width.
fn column_widths(cells: &[[String; 6]], available: u16) -> [Constraint; 6] {
    let widest = |column: usize, cap: usize| {
        cells
            .iter()
            .map(|row| crate::text::width(&sanitize(&row[column])))
            .chain([crate::text::width(HEADERS[column])])
            .max()
            .unwrap_or(0)
            .min(cap) as u16
    };
    let counted = |column: usize, cap: usize| {
        cells
            .iter()
            .map(|row| crate::text::width(&row[column]))
            .filter(|&w| w <= cap)
            .chain([crate::text::width(HEADERS[column])])
            .max()
            .unwrap_or(0) as u16
    };
    let status = widest(1, 16);
    // Four cells of name, and a space between each of the six columns.
    let beside = status + 4 + 5;
    let whole = [
        counted(2, usize::MAX),
        counted(3, usize::MAX),
        counted(4, usize::MAX),
    ];
    let counts = if beside + whole.iter().sum::<u16>() <= available {
        whole
    } else {
        [2, 3, 4].map(|column| counted(column, NARROW_COUNT))
    };
    // The name gives way first: counts are never cut while they fit at all.
    let name_room = available.saturating_sub(status + counts.iter().sum::<u16>() + 5);
    let beside_findings = name_room.saturating_sub(widest(5, usize::from(u16::MAX)));
    let name_cap = usize::from(beside_findings).max(NAME_CAP);
    [
        Constraint::Length(widest(0, name_cap).min(name_room.max(4))),
        Constraint::Length(status),
        Constraint::Length(counts[0]),
        Constraint::Length(counts[1]),
        Constraint::Length(counts[2]),
        Constraint::Fill(1),
    ]
}

/// The Tenant column's widest where the findings need its room.
const NAME_CAP: usize = 20;

/// A count column's cap where the row has no room for whole counts.
const NARROW_COUNT: usize = 10;

/// The table's title: tenants, rows with findings, and the filter in force,
/// cut to the block's width.
fn health_title(
    state: &State,
    report: &crate::db::HealthReport,
    with_findings: usize,
    width: u16,
) -> Vec<Span<'static>> {
    let title: Vec<Span> = vec![
        Span::styled(" Tenant health ", theme::title()),
        Span::raw(format!(
            "{} · ",
            crate::text::plural(report.tenants.len(), "tenant", "tenants")
        )),
        Span::styled(
            crate::text::plural(with_findings, "row with findings", "rows with findings"),
            if with_findings > 0 {
                theme::error()
            } else {
                theme::cheaper()
            },
        ),
        Span::raw(if state.health.only_findings {
            " · only findings (f: all) ".to_string()
        } else {
            " ".to_string()
        }),
    ]
    .into_iter()
    .chain(report.unreachable_nodes.iter().map(|fault| {
        Span::styled(
            format!("· node {} did not answer ", sanitize(&fault.node)),
            theme::error(),
        )
    }))
    .collect();
    super::fit_spans(title, width.saturating_sub(2) as usize)
}

/// A row's status cell: its worst finding's mark before the status, and the
/// style that severity is drawn in.
fn status_of(row: &HealthRow) -> (String, ratatui::style::Style) {
    let worst = row
        .findings
        .iter()
        .map(|f| f.severity)
        .min_by_key(|s| match s {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Note => 2,
        });
    let (mark, style) = match worst {
        None => ("✓", theme::cheaper()),
        Some(Severity::Error) => ("✗", theme::error()),
        Some(Severity::Warning) => ("!", theme::warning()),
        Some(Severity::Note) => ("·", theme::dim()),
    };
    (format!("{mark} {}", row.status), style)
}

/// The text of each visible row's cells: name, status, users, items, orders
/// and findings.
fn health_cells(report: &crate::db::HealthReport, visible: &[&HealthRow]) -> Vec<[String; 6]> {
    let tenant_of = |row: &HealthRow| match row.kind {
        RowKind::Tenant(i) => report.tenants.get(i),
        _ => None,
    };
    visible
        .iter()
        .map(|row| {
            let findings = match row.findings.as_slice() {
                [] => String::new(),
                [one] => one.text.clone(),
                [first, rest @ ..] => format!("{} (+{} more)", first.text, rest.len()),
            };
            let counts = match tenant_of(row) {
                Some(t) => {
                    let [items, orders] = t.rows_labels();
                    [Count::label(Some(t.users)), items, orders]
                }
                None => [
                    row.users
                        .map_or_else(|| "—".into(), |c| Count::label(Some(c))),
                    "—".into(),
                    "—".into(),
                ],
            };
            let [users, items, orders] = counts;
            [
                row_name(row, &row.name),
                status_of(row).0,
                users,
                items,
                orders,
                findings,
            ]
        })
        .collect()
}

fn health_details(
    state: &State,
    report: &crate::db::HealthReport,
    row: Option<&HealthRow>,
    frame: &mut Frame,
    area: Rect,
) {
    let Some(row) = row else {
        let title = Line::from(Span::styled(" Details ", theme::title()));
        frame.render_widget(block(title, true), area);
        return;
    };
    // As the table shows them.
    let shown = |name: &str, cells| super::fit_name(&row_name(row, name), cells);
    let title = if row.name == row.schema {
        format!(" {} ", shown(&row.name, 40))
    } else {
        format!(
            " {} (schema {}) ",
            shown(&row.name, 30),
            shown(&row.schema, 30)
        )
    };
    frame.render_widget(
        block(Line::from(Span::styled(title, theme::title())), true),
        area,
    );
    let mut lines: Vec<Line> = Vec::new();
    // Leaks: only a tenant schema the check read has orders to look in.
    let tenant = match row.kind {
        RowKind::Tenant(i) => report.tenants.get(i),
        _ => None,
    };
    // Leaked orders found (the row's first finding) come first, with the
    // orders, so that a drifted tenant's findings do not push them out of
    // the pane; else what `L` does comes last.
    let leaks_first = crate::app::health::leaks_first(state, row);
    if let (true, Some(tenant)) = (leaks_first, tenant) {
        leak_lines(state, &tenant.tenant, area, &mut lines);
    }
    let findings = &row.findings[usize::from(leaks_first)..];
    if findings.is_empty() {
        lines.push(Line::from(Span::styled(
            "✓ tables, migrations and copies match the other tenants",
            theme::cheaper(),
        )));
    }
    for finding in findings {
        let (mark, style) = match finding.severity {
            Severity::Error => ("✗", theme::error()),
            Severity::Warning => ("!", theme::warning()),
            Severity::Note => ("·", theme::dim()),
        };
        lines.push(Line::from(Span::styled(
            format!("{mark} {}", sanitize(&finding.text)),
            style,
        )));
    }
    for fault in report
        .unreachable_nodes
        .iter()
        .filter(|f| f.tenants.contains(&row.schema))
    {
        lines.push(Line::from(Span::styled(
            // Raw: a server's words and names.
            format!("✗ {}", sanitize(&fault.describe())),
            theme::error(),
        )));
    }
    for reference in report.references.iter().filter(|r| r.tie) {
        lines.push(Line::from(Span::styled(
            format!(
                "! {}: no majority (a tie); compared with {} ({})",
                sanitize(&reference.table),
                sanitize(&reference.tenant),
                crate::output::reference_reason(reference.chosen_by)
            ),
            theme::warning(),
        )));
    }
    if let (false, Some(tenant)) = (leaks_first, tenant) {
        leak_lines(state, &tenant.tenant, area, &mut lines);
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        geometry::inner(area),
    );
}

/// `name` (of `row`) as the table shows it: the `(none)` row is the users
/// with no id; an id that reads so is quoted, an empty one reads `(empty)`.
fn row_name(row: &HealthRow, name: &str) -> String {
    match row.kind {
        RowKind::NoTenant => name.to_string(),
        _ => crate::text::id_text(Some(name)),
    }
}

/// The `L` answer for `tenant` (the last `L`'s with its time, an earlier
/// one's kept), or how to ask for it.
fn leak_lines(state: &State, tenant: &str, area: Rect, lines: &mut Vec<Line<'static>>) {
    let leaks = &state.health.leaks;
    let asked_last = leaks.key().map(|(_, t)| t.as_str()) == Some(tenant);
    // Every answer is kept by tenant; the last one's time with it.
    let elapsed = leaks.done().filter(|_| asked_last).map(|d| d.elapsed);
    let answer = match state.health.leaks_of.get(tenant) {
        _ if asked_last && leaks.is_loading() => None,
        answer => answer.map(|a| (a.as_ref(), elapsed)),
    };
    match answer {
        None if asked_last => lines.push(Line::from("  looking for leaked orders…")),
        None => lines.push(Line::from(Span::styled(
            "  L looks for orders of other tenants' users",
            theme::dim(),
        ))),
        // As the row's finding says it: a warning, the orders not looked at.
        Some((Err(error), _)) => lines.push(Line::from(Span::styled(
            format!("! leaks not checked: {}", crate::text::message_line(error)),
            theme::warning(),
        ))),
        Some((Ok(value), elapsed)) if value.is_empty() => {
            let took = elapsed.map_or(String::new(), |e| format!(" ({} ms)", e.as_millis()));
            lines.push(Line::from(Span::styled(
                format!("✓ no leaked orders{took}"),
                theme::cheaper(),
            )))
        }
        Some((Ok(value), _)) => {
            lines.push(Line::from(Span::styled(
                format!(
                    "✗ {}:",
                    crate::text::plural(value.len(), "leaked order", "leaked orders")
                ),
                theme::error(),
            )));
            for leak in value.iter().take(area.height as usize) {
                let whose = match leak.kind {
                    LeakKind::NoUser => "no such user".to_string(),
                    LeakKind::OtherTenant => format!(
                        "user of {}",
                        leak.user_tenant
                            .as_deref()
                            .map(|t| sanitize(&state.catalog.label_and_schema(t)).into_owned())
                            .unwrap_or_else(|| "no tenant".into())
                    ),
                };
                lines.push(Line::from(format!(
                    "  order {} → user {} ({whose})",
                    // As `health --leaks` has them: `(none)` for NULL (an
                    // orders table without ids), quoted where blank.
                    crate::text::id_text(leak.order_id.as_deref()),
                    crate::text::id_text(leak.user_id.as_deref()),
                )));
            }
        }
    }
}
