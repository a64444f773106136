//! The price matrix: items as rows, the tenants on screen as columns.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::{block, failed_load, message, theme};
use crate::app::state::State;
use crate::db::{PriceMatrix, PriceRow, PriceSort};
use crate::geometry;
use crate::money::Value;
use crate::text::{fit, money, thousands};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let names = state.catalog.names();
    let view = &state.prices;
    let columns = geometry::price_columns(area.width);
    let first = view.columns.offset.min(names.len());
    let last = (first + columns).min(names.len());
    frame.render_widget(block(title(view, first..last, names.len()), true), area);
    let inner = geometry::inner(area);
    let matrix = match view.matrix.done().map(|d| &d.result) {
        Some(Ok(matrix)) => matrix,
        Some(Err(error)) => return message(frame, inner, failed_load(error), theme::error()),
        None => return message(frame, inner, "Loading prices…".into(), theme::dim()),
    };
    let item_width = geometry::price_item_width(area.width, matrix.tenants.len());
    let unread = matrix.unread();
    let rows_fit = geometry::table_rows(area);
    let shown = || {
        matrix
            .rows
            .iter()
            .enumerate()
            .skip(view.rows.offset)
            .take(rows_fit)
    };
    // Each shown row's cells (text and style), before the widths they set.
    let texts: Vec<Vec<(String, Style)>> = shown()
        .map(|(_, row)| {
            let tenants = matrix.tenants.iter().zip(&unread);
            row.prices
                .iter()
                .zip(tenants)
                .map(|(price, (tenant, unread))| price_text(row, price, tenant, *unread))
                .collect()
        })
        .collect();
    // Columns as wide as their widest price or name, where the row has room.
    let labels = matrix.tenants.iter().map(|t| state.catalog.label(t));
    let widths = texts
        .iter()
        .flatten()
        .map(|(text, _)| crate::text::width(text))
        .chain(labels.map(|label| crate::text::width(&label)));
    let column_width =
        geometry::price_column_width(area.width, matrix.tenants.len(), item_width, widths);
    let spreads: Vec<String> = shown()
        .map(|(_, row)| match row.spread.plain() {
            Some(spread) => format!("×{spread}"),
            None => "—".into(),
        })
        .collect();
    let widest_spread = spreads.iter().map(|s| crate::text::width(s)).max();
    let spread_width = geometry::price_spread_width(
        area.width,
        matrix.tenants.len(),
        item_width,
        column_width,
        widest_spread.unwrap_or(0),
    );
    let selected = view.columns.selected.checked_sub(first);
    let header = header(state, matrix, &unread, selected, usize::from(column_width));
    let rows: Vec<Row> = shown()
        .zip(texts)
        .zip(spreads)
        .map(|(((index, row), texts), spread)| {
            let mut cells = vec![Cell::from(fit(&row.description, item_width as usize))];
            for (column, (text, style)) in texts.into_iter().enumerate() {
                let text = super::whole_or_ellipsis(text, column_width);
                let style = if index == view.rows.selected && Some(column) == selected {
                    theme::selected_row(true)
                } else {
                    style
                };
                cells.push(Cell::from(
                    Line::from(Span::styled(text, style)).alignment(Alignment::Right),
                ));
            }
            let spread = super::whole_or_ellipsis(spread, spread_width);
            cells.push(Cell::from(Line::from(spread).alignment(Alignment::Right)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(item_width)];
    widths.extend(
        matrix
            .tenants
            .iter()
            .map(|_| Constraint::Length(column_width)),
    );
    widths.push(Constraint::Length(spread_width));
    let table = Table::new(rows, widths).header(Row::new(header).style(theme::header_row()));
    super::selectable(frame, inner, table, &view.rows, Style::default());
}

/// The matrix's title: which tenants are shown of how many, what ▼▲×
/// are among, the sort and whether it is loading.
fn title(
    view: &crate::app::prices::Prices,
    shown: std::ops::Range<usize>,
    tenants: usize,
) -> Line<'static> {
    let sort = match view.sort {
        PriceSort::Spread => "spread",
        PriceSort::Name => "name",
    };
    let loading = if view.matrix.is_loading() {
        " · loading…"
    } else {
        ""
    };
    // ▼/▲ and the spread are computed over the columns read: say which.
    let scope = if shown.len() < tenants {
        "▼▲× among these only"
    } else {
        "▼▲× among all"
    };
    Line::from(vec![
        Span::styled(" Prices ", theme::title()),
        Span::raw(format!(
            "tenants {}–{} of {}, ",
            thousands((shown.start + 1) as i64),
            thousands(shown.end as i64),
            thousands(tenants as i64)
        )),
        Span::styled(scope, theme::warning()),
        Span::raw(format!(" · sorted by {sort}{loading} ")),
    ])
}

/// A price as its cell shows it: `▼`/`▲` on the lowest and highest of a
/// row whose prices differ, why there is none, `?` where unread.
fn price_text(row: &PriceRow, price: &Value, tenant: &String, unread: bool) -> (String, Style) {
    match price.number() {
        // Not read: nothing is known of what it sells.
        _ if unread => ("?".to_string(), theme::error()),
        None if price.problem().is_some() => (price.cell(), theme::error()),
        None => ("—".to_string(), theme::dim()),
        Some(p) if row.max != row.min && row.min_tenants.contains(tenant) => {
            (format!("▼ {}", money(p)), theme::cheaper())
        }
        Some(p) if row.max != row.min && row.max_tenants.contains(tenant) => {
            (format!("▲ {}", money(p)), theme::dearer())
        }
        Some(p) => (money(p), Style::new()),
    }
}

/// The header: Item, each tenant's name `width` wide (cut so that names
/// alike read apart; the `selected` column's as a key; one whose prices
/// could not be read marked `✗`, the status says why), Spread.
fn header(
    state: &State,
    matrix: &PriceMatrix,
    unread: &[bool],
    selected: Option<usize>,
    width: usize,
) -> Vec<Cell<'static>> {
    let mut header = vec![Cell::from("Item")];
    // Cut so that tenants named alike read apart.
    let labels = matrix.tenants.iter().zip(unread).map(|(tenant, unread)| {
        let mark = if *unread { 2 } else { 0 };
        (state.catalog.label(tenant), width.saturating_sub(mark))
    });
    let labels = super::distinct_fits(&labels.collect::<Vec<_>>());
    header.extend(labels.into_iter().enumerate().map(|(i, label)| {
        let (text, style) = match (unread[i], Some(i) == selected) {
            (true, _) => (format!("✗ {label}"), theme::error()),
            (false, true) => (label, theme::key()),
            (false, false) => (label, Style::new()),
        };
        Cell::from(Line::from(Span::styled(text, style)).alignment(Alignment::Right))
    }));
    header.push(Cell::from(Line::from("Spread").alignment(Alignment::Right)));
    header
}
