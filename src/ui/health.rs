//! The tenant health view: the tenants table and the selected tenant's details.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{block, failed, layout, message, theme};
use crate::app::state::State;
use crate::db::{Count, HealthStatus, LeakKind};
use crate::text::{fit, sanitize, thousands};

/// `spans` cut to `max` cells, ending in "…" when cut (a block title is
/// otherwise cut silently).
fn fit_spans(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| crate::text::width(&s.content)).sum();
    if total <= max {
        return spans;
    }
    let mut out = Vec::new();
    let mut room = max;
    for span in spans {
        let width = crate::text::width(&span.content);
        if width < room {
            room -= width;
            out.push(span);
        } else {
            // fit() reserves one cell of `room` for the "…".
            out.push(Span::styled(
                fit(&span.content, room.saturating_sub(1)) + " ",
                span.style,
            ));
            break;
        }
    }
    out
}

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let (table_area, details_area) = layout::health_split(area);
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
                Some(Err(error)) => (failed(&sanitize(error)), theme::error()),
                _ => ("Checking every tenant schema…".into(), theme::dim()),
            };
            message(frame, layout::inner(table_area), text, style);
            return;
        }
    };
    let drifted = report.tenants_with_drift();
    let title = vec![
        Span::styled(" Tenant health ", theme::title()),
        Span::raw(format!("{} tenants · ", report.tenants.len())),
        Span::styled(
            format!("{drifted} with drift"),
            if drifted > 0 {
                theme::error()
            } else {
                theme::cheaper()
            },
        ),
        Span::raw(format!(
            " · {} unused · {} org ids without schema ",
            report.unused_tenants.len(),
            report.orphan_organizations.len()
        )),
    ];
    let title = fit_spans(title, table_area.width.saturating_sub(2) as usize);
    frame.render_widget(block(Line::from(title), true), table_area);
    let inner = layout::inner(table_area);
    let rows_fit = layout::table_rows(table_area);
    let visible: Vec<&crate::db::TenantHealth> = report
        .tenants
        .iter()
        .skip(state.health.cursor.offset)
        .take(rows_fit)
        .collect();
    let status_of = |status: HealthStatus| {
        let (mark, style) = match status {
            HealthStatus::Ok => ("✓", theme::cheaper()),
            HealthStatus::Drift => ("✗", theme::error()),
            HealthStatus::Unused => ("-", theme::warning()),
        };
        (format!("{mark} {}", status.word()), style)
    };
    let cells: Vec<[String; 6]> = visible
        .iter()
        .map(|t| {
            let drift = match t.drift.as_slice() {
                [] => String::new(),
                [one] => one.describe(),
                [first, rest @ ..] => format!("{} (+{} more)", first.describe(), rest.len()),
            };
            [
                sanitize(&t.tenant).into_owned(),
                status_of(t.status).0,
                thousands(t.users.value),
                Count::label(t.items),
                Count::label(t.orders),
                drift,
            ]
        })
        .collect();
    let headers = ["Tenant", "Status", "Users", "Items", "Orders", "Drift"];
    // Columns as wide as what they show, so a narrow terminal keeps whole
    // names; whatever still does not fit is cut here with "…", since the
    // table itself would cut it silently.
    let widest = |column: usize, cap: usize| {
        cells
            .iter()
            .map(|row| crate::text::width(&row[column]))
            .chain([crate::text::width(headers[column])])
            .max()
            .unwrap_or(0)
            .min(cap) as u16
    };
    let selection = 2; // "▶ "
    let available = inner.width.saturating_sub(selection);
    let numbers = [widest(1, 9), widest(2, 10), widest(3, 10), widest(4, 10)];
    // The name gives way first: counts are never cut while they fit at all.
    let name_room = available.saturating_sub(numbers.iter().sum::<u16>() + 5);
    let widths = [
        Constraint::Length(widest(0, 20).min(name_room.max(4))),
        Constraint::Length(numbers[0]),
        Constraint::Length(numbers[1]),
        Constraint::Length(numbers[2]),
        Constraint::Length(numbers[3]),
        Constraint::Fill(1),
    ];
    let actual: Vec<usize> = ratatui::layout::Layout::horizontal(widths)
        .flex(ratatui::layout::Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, available, 1))
        .iter()
        .map(|r| r.width as usize)
        .collect();
    let right = |text: &str, width: usize| {
        Cell::from(Line::from(fit(text, width)).alignment(Alignment::Right))
    };
    let rows: Vec<Row> = visible
        .iter()
        .zip(&cells)
        .map(|(t, row)| {
            let style = status_of(t.status).1;
            Row::new(vec![
                Cell::from(fit(&row[0], actual[0])),
                Cell::from(Span::styled(fit(&row[1], actual[1]), style)),
                right(&row[2], actual[2]),
                right(&row[3], actual[3]),
                right(&row[4], actual[4]),
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
    health_details(state, report, frame, details_area);
}

fn health_details(state: &State, report: &crate::db::HealthReport, frame: &mut Frame, area: Rect) {
    let Some(tenant) = report.tenants.get(state.health.cursor.selected) else {
        let title = Line::from(Span::styled(" Details ", theme::title()));
        frame.render_widget(block(title, true), area);
        return;
    };
    frame.render_widget(
        block(
            Line::from(Span::styled(
                format!(" {} ", fit(&tenant.tenant, 40)),
                theme::title(),
            )),
            true,
        ),
        area,
    );
    let mut lines: Vec<Line> = Vec::new();
    if tenant.drift.is_empty() {
        lines.push(Line::from(Span::styled(
            "✓ items and orders match the reference",
            theme::cheaper(),
        )));
    }
    for drift in &tenant.drift {
        lines.push(Line::from(Span::styled(
            format!("✗ {}", sanitize(&drift.describe())),
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
    let leaks = &state.health.leaks;
    match leaks.done().map(|d| (&d.result, d.elapsed)) {
        _ if leaks.key() != Some(&tenant.tenant) => lines.push(Line::from(Span::styled(
            "  L looks for orders of other tenants' users",
            theme::dim(),
        ))),
        _ if leaks.is_loading() => lines.push(Line::from("  looking for leaked orders…")),
        Some((Err(error), _)) => lines.push(Line::from(Span::styled(
            format!("✗ leaks: {}", sanitize(error)),
            theme::error(),
        ))),
        Some((Ok(value), elapsed)) if value.is_empty() => lines.push(Line::from(Span::styled(
            format!("✓ no leaked orders ({} ms)", elapsed.as_millis()),
            theme::cheaper(),
        ))),
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
                            .map(sanitize)
                            .unwrap_or_else(|| "no tenant".into())
                    ),
                };
                lines.push(Line::from(format!(
                    "  order {} → user {} ({whose})",
                    sanitize(leak.order_id.as_deref().unwrap_or("?")),
                    sanitize(leak.user_id.as_deref().unwrap_or("?")),
                )));
            }
        }
        None => {}
    }
    if !report.orphan_organizations.is_empty() {
        let ids: Vec<String> = report
            .orphan_organizations
            .iter()
            .map(|o| {
                format!(
                    "{} ({})",
                    sanitize(o.organization_id.as_deref().unwrap_or("(none)")),
                    o.users
                )
            })
            .collect();
        lines.push(Line::from(Span::styled(
            format!("! organization ids with no schema: {}", ids.join(", ")),
            theme::warning(),
        )));
    }
    if !report.wrong_copy.is_empty() {
        let copies: Vec<String> = report
            .wrong_copy
            .iter()
            .map(|w| {
                let place = format!("{}.{}", w.schema, w.table);
                format!("{} ({})", sanitize(&place), w.rows_text())
            })
            .collect();
        lines.push(Line::from(Span::styled(
            format!("✗ rows in the wrong copy: {}", copies.join(", ")),
            theme::error(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        layout::inner(area),
    );
}
