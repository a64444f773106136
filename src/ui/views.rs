//! The full-screen views: tenant health and the price matrix.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{layout, theme};
use crate::app::state::{Load, State};
use crate::db::{Count, HealthStatus, LeakKind, PriceSort};
use crate::text::{fit, money, sanitize};

fn block(title: Vec<Span<'static>>) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Line::from(title))
}

fn message(frame: &mut Frame, area: Rect, text: String, style: Style) {
    frame.render_widget(
        Paragraph::new(text).style(style).wrap(Wrap { trim: true }),
        area,
    );
}

/// `~1,234` for an estimate, `?` when unknown.
fn count(count: Option<Count>) -> String {
    match count {
        None => "?".into(),
        Some(c) => {
            let tilde = if c.estimated { "~" } else { "" };
            format!("{tilde}{}", super::thousands(c.value))
        }
    }
}

pub fn health(state: &State, frame: &mut Frame, area: Rect) {
    let (table_area, details_area) = layout::health_split(area);
    let report = match &state.health.report {
        Load::Loaded { value, .. } => value,
        other => {
            frame.render_widget(
                block(vec![Span::styled(" Tenant health ", theme::title())]),
                table_area,
            );
            let text = match other {
                Load::Failed(error) => format!("Error: {}\n\nPress r to retry.", sanitize(error)),
                _ => "Checking every tenant schema…".into(),
            };
            let style = if matches!(other, Load::Failed(_)) {
                theme::error()
            } else {
                theme::dim()
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
    frame.render_widget(block(title), table_area);
    let inner = layout::inner(table_area);
    let rows_fit = layout::table_rows(table_area);
    let rows: Vec<Row> = report
        .tenants
        .iter()
        .skip(state.health.offset)
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
                Cell::from(Line::from(super::thousands(t.users.value)).alignment(Alignment::Right)),
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
    let selected = state.health.selected.checked_sub(state.health.offset);
    frame.render_stateful_widget(
        table,
        inner,
        &mut TableState::default().with_selected(selected),
    );
    health_details(state, report, frame, details_area);
}

fn health_details(state: &State, report: &crate::db::HealthReport, frame: &mut Frame, area: Rect) {
    let Some(tenant) = report.tenants.get(state.health.selected) else {
        frame.render_widget(block(vec![Span::styled(" Details ", theme::title())]), area);
        return;
    };
    frame.render_widget(
        block(vec![Span::styled(
            format!(" {} ", fit(&tenant.tenant, 40)),
            theme::title(),
        )]),
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
    match &state.health.leaks {
        Some((asked, leaks)) if *asked == tenant.tenant => match leaks {
            Load::Loading => lines.push(Line::from("  looking for leaked orders…")),
            Load::Failed(error) => lines.push(Line::from(Span::styled(
                format!("✗ leaks: {}", sanitize(error)),
                theme::error(),
            ))),
            Load::Loaded { value, elapsed } if value.is_empty() => {
                lines.push(Line::from(Span::styled(
                    format!("✓ no leaked orders ({} ms)", elapsed.as_millis()),
                    theme::cheaper(),
                )))
            }
            Load::Loaded { value, .. } => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "✗ {} leaked order{}:",
                        value.len(),
                        if value.len() == 1 { "" } else { "s" }
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
            Load::NotAsked => {}
        },
        _ => lines.push(Line::from(Span::styled(
            "  L looks for orders of other tenants' users",
            theme::dim(),
        ))),
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

pub fn prices(state: &State, frame: &mut Frame, area: Rect) {
    let names = state.catalog.names();
    let view = &state.prices;
    let columns = layout::price_columns(area.width);
    let first = view.first_column.min(names.len());
    let last = (first + columns).min(names.len());
    let sort = match view.sort {
        PriceSort::Spread => "spread",
        PriceSort::Name => "name",
    };
    let loading = if view.pending.is_some() {
        " · loading…"
    } else {
        ""
    };
    let title = vec![
        Span::styled(" Prices ", theme::title()),
        Span::raw(format!(
            "tenants {}–{} of {} · sorted by {sort}{loading} ",
            first + 1,
            last,
            names.len()
        )),
    ];
    frame.render_widget(block(title), area);
    let inner = layout::inner(area);
    let matrix = match &view.matrix {
        Load::Loaded { value, .. } => value,
        Load::Failed(error) => {
            return message(
                frame,
                inner,
                format!("Error: {}\n\nPress r to retry.", sanitize(error)),
                theme::error(),
            )
        }
        _ => return message(frame, inner, "Loading prices…".into(), theme::dim()),
    };
    let width = layout::PRICE_COLUMN_WIDTH as usize;
    let mut header = vec![Cell::from("Item")];
    header.extend(matrix.tenants.iter().enumerate().map(|(i, tenant)| {
        let style = if Some(i) == view.column.checked_sub(first) {
            theme::key()
        } else {
            Style::new()
        };
        // A tenant whose prices could not be read is marked (the status says why).
        if matrix.failed.iter().any(|f| &f.tenant == tenant) {
            let marked = format!("✗ {}", fit(tenant, width.saturating_sub(2)));
            return Cell::from(
                Line::from(Span::styled(marked, theme::error())).alignment(Alignment::Right),
            );
        }
        Cell::from(Line::from(Span::styled(fit(tenant, width), style)).alignment(Alignment::Right))
    }));
    header.push(Cell::from(Line::from("Spread").alignment(Alignment::Right)));
    let rows_fit = layout::table_rows(area);
    let rows: Vec<Row> = matrix
        .rows
        .iter()
        .enumerate()
        .skip(view.row_offset)
        .take(rows_fit)
        .map(|(index, row)| {
            let mut cells = vec![Cell::from(fit(
                &row.description,
                layout::PRICE_ITEM_WIDTH as usize,
            ))];
            for (column, price) in row.prices.iter().enumerate() {
                let tenant = &matrix.tenants[column];
                let (text, style) = match price.number() {
                    None if price.problem().is_some() => (price.cell(), theme::error()),
                    None => ("—".to_string(), theme::dim()),
                    Some(p) if row.max != row.min && row.min_tenants.contains(tenant) => {
                        (format!("▼ {}", money(p)), theme::cheaper())
                    }
                    Some(p) if row.max != row.min && row.max_tenants.contains(tenant) => {
                        (format!("▲ {}", money(p)), theme::dearer())
                    }
                    Some(p) => (money(p), Style::new()),
                };
                // A price too wide for its column shows as `…`, never cut.
                let text = if crate::text::width(&text) > width {
                    "…".to_string()
                } else {
                    text
                };
                let selected = index == view.row && Some(column) == view.column.checked_sub(first);
                let style = if selected {
                    theme::selected_row(true)
                } else {
                    style
                };
                cells.push(Cell::from(
                    Line::from(Span::styled(text, style)).alignment(Alignment::Right),
                ));
            }
            let spread = row
                .spread
                .plain()
                .map(|s| format!("×{s}"))
                .unwrap_or_else(|| "—".into());
            cells.push(Cell::from(Line::from(spread).alignment(Alignment::Right)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(layout::PRICE_ITEM_WIDTH)];
    widths.extend(
        matrix
            .tenants
            .iter()
            .map(|_| Constraint::Length(layout::PRICE_COLUMN_WIDTH)),
    );
    widths.push(Constraint::Length(layout::PRICE_SPREAD_WIDTH));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme::header_row()))
        .column_spacing(1)
        .highlight_symbol("▶ ");
    let selected = view.row.checked_sub(view.row_offset);
    frame.render_stateful_widget(
        table,
        inner,
        &mut TableState::default().with_selected(selected),
    );
}
