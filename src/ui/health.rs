//! The tenant health view: the tenants table and the selected tenant's details.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{block, failed, layout, message, theme};
use crate::app::state::State;
use crate::db::{Count, HealthStatus, LeakKind};
use crate::text::{fit, sanitize, thousands};

/// `~1,234` for an estimate, `?` when unknown.
fn count(count: Option<Count>) -> String {
    match count {
        None => "?".into(),
        Some(c) => {
            let tilde = if c.estimated { "~" } else { "" };
            format!("{tilde}{}", thousands(c.value))
        }
    }
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
    frame.render_widget(block(Line::from(title), true), table_area);
    let inner = layout::inner(table_area);
    let rows_fit = layout::table_rows(table_area);
    let rows: Vec<Row> = report
        .tenants
        .iter()
        .skip(state.health.cursor.offset)
        .take(rows_fit)
        .map(|t| {
            let (status, style) = match t.status {
                HealthStatus::Ok => ("✓ ok", theme::cheaper()),
                HealthStatus::Drift => ("✗ drift", theme::error()),
                HealthStatus::Unused => ("- unused", theme::warning()),
            };
            let drift = match t.drift.as_slice() {
                [] => String::new(),
                [one] => one.describe(),
                [first, rest @ ..] => format!("{} (+{} more)", first.describe(), rest.len()),
            };
            Row::new(vec![
                Cell::from(fit(&t.tenant, 20)),
                Cell::from(Span::styled(status, style)),
                Cell::from(Line::from(thousands(t.users.value)).alignment(Alignment::Right)),
                Cell::from(Line::from(count(t.items)).alignment(Alignment::Right)),
                Cell::from(Line::from(count(t.orders)).alignment(Alignment::Right)),
                Cell::from(fit(&drift, inner.width.saturating_sub(70) as usize)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        Cell::from("Tenant"),
        Cell::from("Status"),
        Cell::from(Line::from("Users").alignment(Alignment::Right)),
        Cell::from(Line::from("Items").alignment(Alignment::Right)),
        Cell::from(Line::from("Orders").alignment(Alignment::Right)),
        Cell::from("Drift"),
    ])
    .style(theme::header_row());
    let widths = [
        Constraint::Length(20),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .highlight_symbol("▶ ")
        .row_highlight_style(theme::selected_row(true));
    let selected = state.health.cursor.on_screen();
    frame.render_stateful_widget(
        table,
        inner,
        &mut TableState::default().with_selected(selected),
    );
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
                    crate::output::count(value.len(), "leaked order", "leaked orders")
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
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        layout::inner(area),
    );
}
