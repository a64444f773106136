//! The basket view: one row per tenant, ranked, with its coverage.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{block, difference_cell, failed_load, message, right, theme};
use crate::app::state::State;
use crate::db::BasketTenant;
use crate::geometry;
use crate::text::{fit, money, sanitize, thousands};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let basket = &state.basket;
    let user = basket.user.as_ref();
    let own = user.and_then(|u| u.tenant.as_deref()).unwrap_or("");
    let lines = basket.lines.as_ref().map(Vec::len);
    let mut title = vec![Span::styled(" Basket ", theme::title())];
    if let Some(user) = user {
        title.push(Span::raw(format!(
            "of {} · {} · {} ",
            fit(&user.name, 24),
            fit(&state.catalog.label(own), 20),
            lines.map_or("…".into(), |n| crate::text::plural(n, "line", "lines"))
        )));
    }
    title.push(Span::styled(
        format!(
            "· {} of {} tenants ",
            thousands(basket.load.done() as i64),
            thousands(basket.load.total() as i64)
        ),
        theme::dim(),
    ));
    frame.render_widget(block(Line::from(title), true), area);
    let inner = geometry::inner(area);
    if let Some(error) = basket.load.error() {
        return message(frame, inner, failed_load(error), theme::error());
    }
    match (user, lines) {
        (None, _) => return message(frame, inner, "No user selected.".into(), theme::dim()),
        (Some(_), None) => {
            return message(frame, inner, "Pricing the basket…".into(), theme::dim())
        }
        (Some(user), Some(0)) => {
            let text = format!("{} has no orders: nothing to price.", sanitize(&user.name));
            return message(frame, inner, text, theme::dim());
        }
        _ => {}
    }
    let [table_area, note] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let (header, widths) = super::columns([
        (Cell::from("#"), Constraint::Length(5)),
        (Cell::from("Tenant"), Constraint::Fill(1)),
        (right("Lines".into()), Constraint::Length(7)),
        (right("Total".into()), Constraint::Length(16)),
        (right("vs own".into()), Constraint::Length(16)),
    ]);
    let all = lines.unwrap_or(0);
    let rows: Vec<Row> = basket
        .tenants
        .iter()
        .enumerate()
        .skip(basket.rows.offset)
        .take(geometry::basket_rows(state.session.size))
        .map(|(rank, tenant)| row(rank, tenant, own, all, state.catalog.label(&tenant.tenant)))
        .collect();
    let table = Table::new(rows, widths).header(header);
    super::list(frame, table_area, table, &basket.rows, true);
    // Never a sum over a gap: say what a total covers.
    let text = "Ranked by lines sold, then total. Totals and vs own cover only the lines sold.";
    frame.render_widget(Paragraph::new(text).style(theme::dim()), note);
}

fn row(rank: usize, tenant: &BasketTenant, own: &str, all: usize, label: String) -> Row<'static> {
    let name = if tenant.tenant == own {
        format!("{} (own)", sanitize(&label))
    } else {
        sanitize(&label).into_owned()
    };
    if let Some(error) = &tenant.error {
        return Row::new(vec![
            Cell::from(format!("{}", rank + 1)),
            Cell::from(Span::styled(format!("✗ {name}"), theme::error())),
            right(format!("?/{all}")),
            Cell::from(Span::styled(fit(&sanitize(error), 32), theme::error())),
        ]);
    }
    let total = tenant.total.number().map_or("—".into(), money);
    let coverage = format!("{}/{all}", tenant.priced_lines);
    let coverage_style = if tenant.priced_lines == all {
        Style::new()
    } else {
        theme::warning()
    };
    // Which lines it lacks, after its name (cut to the column by the table).
    let mut tenant_cell = vec![Span::raw(name)];
    if !tenant.lacking.is_empty() {
        let items: Vec<String> = tenant
            .lacking
            .iter()
            .map(|item| sanitize(item).into_owned())
            .collect();
        tenant_cell.push(Span::styled(
            format!(" · lacks {}", items.join(", ")),
            theme::warning(),
        ));
    }
    Row::new(vec![
        Cell::from(format!("{}", rank + 1)),
        Cell::from(Line::from(tenant_cell)),
        Cell::from(Line::from(Span::styled(coverage, coverage_style)).alignment(Alignment::Right)),
        right(total),
        difference_cell(&tenant.difference, u16::MAX),
    ])
}
