//! The dashboard: the users list beside the selected user's priced orders.

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{block, difference_cell, difference_text, fit_name, right, theme};
use crate::app::dashboard::Focus;
use crate::app::state::State;
use crate::db::{DbError, OrderLine, OrdersReport, User};
use crate::geometry;
use crate::money::Value;
use crate::text::{fit, sanitize, width};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let [users, orders] = geometry::panes(area);
    super::users::users_pane(state, frame, users);
    orders_pane(state, frame, orders);
}

/// The pane's title in `width` cells: whose orders, in which tenant,
/// compared with which; the two tenants cut so that they read apart, and
/// each keeps its end where the title is short of room.
fn orders_title(state: &State, user: Option<&User>, width: u16) -> Line<'static> {
    let mut spans = vec![Span::styled(" Orders ", theme::title())];
    if let Some(user) = user {
        let name = fit(&crate::text::id_text(Some(&user.name)), 24);
        let choice = state.compare_choice();
        // The comparison is chosen from the whole catalogue, on its way;
        // a user with no tenant schema has nothing to compare ("vs
        // client1" named a comparison that could not be).
        let compared =
            !state.catalog_partial && state.tenant_status(user) == Some(crate::db::SchemaState::Ok);
        let compare = choice
            .tenant
            .as_ref()
            .filter(|_| compared)
            .map(|t| state.catalog.label(t));
        // Each tenant 20 cells at most, less its share of what the title
        // lacks (its words, the borders, the skipped own tenant's note).
        let skipped = if choice.replaced_own { SKIPPED } else { "" };
        let words = match compared {
            true => format!(" Orders of {name} ·  vs  {skipped}"),
            false => format!(" Orders of {name} ·  "),
        };
        let room = usize::from(width).saturating_sub(crate::text::width(&words) + 2);
        let shares = if compared { 2 } else { 1 };
        let cells = (room / shares).clamp(super::NAME_MIN, 20);
        let names = [super::tenant_text(state, user), compare.unwrap_or_default()];
        let [own, compare]: [String; 2] = super::distinct_fits(&names.map(|n| (n, cells)))
            .try_into()
            .unwrap_or_default();
        spans.push(Span::raw(format!("of {name} · {own} ")));
        if !compared {
            return Line::from(spans);
        }
        match choice.tenant {
            Some(_) => {
                spans.push(Span::styled("vs ", theme::dim()));
                spans.push(Span::styled(format!("{compare} "), theme::title()));
                if choice.replaced_own {
                    spans.push(Span::styled(SKIPPED, theme::warning()));
                }
            }
            None => spans.push(Span::styled("(no other tenant to compare) ", theme::dim())),
        }
    }
    Line::from(spans)
}

/// The title's note where the comparison is not the tenant asked for.
const SKIPPED: &str = "(own tenant skipped) ";

fn orders_pane(state: &State, frame: &mut Frame, area: Rect) {
    let focused = state.dashboard.focus == Focus::Orders;
    let user = state.selected_user();
    frame.render_widget(block(orders_title(state, user, area.width), focused), area);
    let inner = geometry::inner(area);
    let message =
        |text: String, style: Style| Paragraph::new(text).style(style).wrap(Wrap { trim: true });
    let orders = &state.dashboard.orders;
    if orders.key().is_none() {
        // A list on its way (one that replaced another): no user yet.
        let text = if state.dashboard.users.is_loading() && user.is_none() {
            "Waiting for the users list…"
        } else if state.catalog_partial && user.is_some() {
            "Waiting for the tenant catalogue (the comparison tenant)…"
        } else {
            "No user selected."
        };
        return frame.render_widget(message(text.into(), theme::dim()), inner);
    }
    let done = orders.done().filter(|_| !orders.is_loading());
    match done.map(|d| &d.result) {
        None => {
            let name = user
                .map(|u| fit(&crate::text::id_text(Some(&u.name)), 40))
                .unwrap_or_default();
            let text = format!("{} Loading orders of {name}", super::spinner(state));
            frame.render_widget(message(text, theme::dim()), inner);
        }
        Some(Err(error)) => {
            let text = match error {
                DbError::TenantNotFound(tenant) => format!(
                    "! Tenant schema not found: \"{}\".\n\nThis user's organization id names no schema \
                     with items and orders tables, so there are no orders to show.",
                    fit_name(tenant, 40)
                ),
                DbError::TenantTableMissing { tenant, table } => format!(
                    "! Tenant schema \"{}\" has no {} table.\n\nThe schema exists but is not a \
                     complete tenant (a half-applied migration?), so there are no orders to show.",
                    fit_name(tenant, 40),
                    fit(table, 20)
                ),
                DbError::UnmappedTenant(tenant) => format!(
                    "! Tenant \"{}\" has no schema.\n\nNo registry row maps this user's \
                     organization id to one, so there are no orders to show.",
                    fit_name(tenant, 40)
                ),
                DbError::NoTenant { null } => format!(
                    "- This user has no tenant: the organization id is {}.",
                    if *null { "NULL" } else { "an empty string" }
                ),
                other if other.retryable() => super::failed(&other.to_string()),
                // The same query would fail the same way: no retry offered.
                other => format!("Error: {}", crate::text::message_line(&other.to_string())),
            };
            let style = if matches!(error, DbError::NoTenant { .. }) {
                theme::warning()
            } else {
                theme::error()
            };
            frame.render_widget(message(text, style), inner);
        }
        Some(Ok(report)) if report.lines.is_empty() && state.dashboard.lines.rows().is_empty() => {
            let name = user.map(|u| fit(&u.name, 40)).unwrap_or_default();
            let tenant = state.catalog.label(&report.tenant);
            let text = format!("{name} has no orders in {}.", fit_name(&tenant, 40));
            frame.render_widget(message(text, theme::dim()), inner);
        }
        Some(Ok(report)) => orders_table(state, report, frame, area),
    }
}

fn money_cell(value: &Value) -> String {
    value.cell()
}

/// A value's cell; an unusable value (NaN, not a number…) stands out.
fn value_cell(value: &Value, text: &str) -> Cell<'static> {
    let line = Line::from(text.to_string()).alignment(Alignment::Right);
    match value {
        Value::Invalid(_) => Cell::from(line.style(theme::error())),
        _ => Cell::from(line),
    }
}

fn orders_table(state: &State, report: &OrdersReport, frame: &mut Frame, area: Rect) {
    let window = &state.dashboard.lines;
    let held: Vec<&OrderLine> = window.rows().iter().map(|l| &l.line).collect();
    let focused = state.dashboard.focus == Focus::Orders;
    let inner = geometry::inner(area);
    let compare = report
        .compare_tenant
        .as_deref()
        .map_or_else(|| "none".to_string(), |t| state.catalog.label(t));
    let compare = compare.as_str();
    // Every number column is as wide as its widest value or header.
    let cells = order_cells(&held);
    // A partial comparison gets its own like-for-like row under the total,
    // so the total row never sets a full own total against a partial one;
    // notes under the table say why a total is unknown or partial. Until
    // the server's totals come, the totals row says they are on their way.
    let known = report.totals_known;
    // The server's totals could not be read: unknown, not "on their way"
    // (the status line says why).
    let totals = &state.dashboard.totals;
    let failed = !known && !totals.is_loading() && totals.error().is_some();
    let partial = report.compare_note(&state.catalog).filter(|_| known);
    // Where some line compares (as the CLI): none, it would read all "—".
    let compares = report.totals.compared_lines > 0;
    let like_for_like = partial.as_ref().filter(|_| compares).map(|_| {
        (
            money_cell(&report.totals.compared_total),
            money_cell(&report.totals.compare_total),
            report.difference(),
        )
    });
    let notes = if known {
        order_notes(state, report, partial.as_deref())
    } else {
        Vec::new()
    };
    let totals = totals_cells(report, known, failed, partial.is_some());
    let value_widths = value_widths(report, &held, &cells, &totals, like_for_like.as_ref());
    let items = held.iter().map(|l| width(&l.item_label())).max();
    let items = u16::try_from(items.unwrap_or(0)).unwrap_or(u16::MAX);
    let widths = fitted_widths(&value_widths, items, inner.width);
    let fitted = |text: &str, column: usize| fitted(text, widths[column]);
    let numbers: u16 = widths.iter().sum::<u16>() + 6;
    let item_width = inner.width.saturating_sub(numbers).max(4);
    let header = orders_header(&state.catalog.label(&report.tenant), compare, &widths);

    let fits = geometry::order_rows(area)
        .saturating_sub(usize::from(like_for_like.is_some()) + notes.len())
        .max(1);
    // The cursor's line stays on screen however many rows the notes take.
    let cursor = window.cursor();
    let scroll = cursor
        .offset
        .max((cursor.selected + 1).saturating_sub(fits))
        .min(cursor.selected);
    let mut rows: Vec<Row> = held
        .iter()
        .zip(&cells)
        .enumerate()
        .skip(scroll)
        .take(fits)
        .map(|(index, (line, c))| {
            let here = focused && index == cursor.selected;
            line_row(line, c, &widths, item_width, here)
        })
        .collect();
    let all_shown = window.is_complete() && scroll == 0 && held.len() <= fits;
    let mut labels = vec![Span::raw(total_label(report, known, failed, all_shown))];
    let top = 2 + rows.len() as u16;
    rows.push(total_row(
        [fitted(&totals[2], 2), fitted(&totals[4], 4)],
        if partial.is_some() || !known {
            right(String::new())
        } else {
            difference_cell(&report.difference(), widths[5])
        },
    ));
    if let Some((own, other, difference)) = like_for_like {
        labels.push(Span::styled("Like for like", theme::error()));
        rows.push(total_row(
            [fitted(&own, 2), fitted(&other, 4)],
            difference_cell(&difference, widths[5]),
        ));
    }
    let table_height = 2 + rows.len() as u16;
    let constraints = std::iter::once(Constraint::Length(item_width))
        .chain(widths.iter().map(|w| Constraint::Length(*w)));
    frame.render_widget(
        Table::new(rows, constraints)
            .header(header)
            .column_spacing(1),
        inner,
    );
    let room = item_width.saturating_add(widths[0] + widths[1] + 2);
    let below = inner.height.saturating_sub(top);
    let labels_area = Rect::new(inner.x, inner.y + top.min(inner.height), inner.width, below);
    draw_total_labels(frame, labels_area, labels, room);
    let own = sanitize(&state.catalog.label(&report.tenant)).into_owned();
    let names = [sanitize(compare).into_owned(), own];
    draw_notes(&notes, &names, frame, inner, table_height);
}

/// The totals row's cells, in the number columns: each total known, or
/// `…` on its way, or `?` where it `failed`; none for the comparison's
/// where the comparison is `partial` (its like-for-like row has it).
fn totals_cells(report: &OrdersReport, known: bool, failed: bool, partial: bool) -> [String; 6] {
    let pending = |value: &Value| {
        if known {
            money_cell(value)
        } else if failed {
            "?".into()
        } else {
            "…".into()
        }
    };
    [
        String::new(),
        String::new(),
        pending(&report.totals.total),
        String::new(),
        if partial {
            String::new()
        } else {
            pending(&report.totals.compare_total)
        },
        pending(&report.difference()),
    ]
}

/// The totals rows' labels, one a row from `area`'s top, over the item,
/// quantity and unit price cells they leave empty (`room` cells): in the
/// item column alone they were cut (`Total (3…`, `Like for…`).
fn draw_total_labels(frame: &mut Frame, area: Rect, labels: Vec<Span<'static>>, room: u16) {
    for (row, label) in (0..area.height).zip(labels) {
        let room = room.min(area.width);
        let text = fit(&label.content, usize::from(room));
        let line = Line::from(Span::styled(text, label.style));
        let at = Rect::new(area.x, area.y + row, room, 1);
        frame.render_widget(Paragraph::new(line).style(theme::total_row()), at);
    }
}

/// The totals row's label: whether the totals are known, failed or on
/// their way, and how many lines they cover when not all are on screen.
fn total_label(report: &OrdersReport, known: bool, failed: bool, all_shown: bool) -> String {
    if failed {
        "Total (not counted)".to_string()
    } else if !known {
        "Total (counting…)".to_string()
    } else if !all_shown {
        format!(
            "Total ({} lines)",
            crate::text::thousands(report.totals.lines as i64)
        )
    } else {
        "Total".to_string()
    }
}

/// `text`, or `…` where it is wider than `room`.
fn fitted(text: &str, room: u16) -> String {
    if width(text) <= room as usize {
        text.to_string()
    } else {
        "…".into()
    }
}

/// One order line's row (`cells`: see [`order_cells`]). `here`: the
/// cursor is on it, where the pane has the focus: marked, so that it
/// shows without colour too.
fn line_row<'a>(
    line: &OrderLine,
    cells: &[String; 6],
    widths: &[u16],
    item_width: u16,
    here: bool,
) -> Row<'a> {
    let item_style = if line.item.is_none() {
        theme::error()
    } else {
        Style::new()
    };
    let label = if here {
        format!("▶ {}", line.item_label())
    } else {
        line.item_label()
    };
    let fitted = |column: usize| fitted(&cells[column], widths[column]);
    let row = Row::new(vec![
        Cell::from(Span::styled(fit(&label, item_width as usize), item_style)),
        right(fitted(0)),
        value_cell(&line.unit_price, &fitted(1)),
        value_cell(&line.total, &fitted(2)),
        value_cell(&line.compare_unit_price, &fitted(3)),
        value_cell(&line.compare_total, &fitted(4)),
        difference_cell(&line.difference(), widths[5]),
    ]);
    if here {
        row.style(theme::selected_row(true))
    } else {
        row
    }
}

/// Each order line's number cells, as the CLI's table has them.
fn order_cells(lines: &[&OrderLine]) -> Vec<[String; 6]> {
    lines
        .iter()
        .map(|l| crate::output::number_cells(l))
        .collect()
}

/// Every value's width in each number column (`totals`, and the
/// like-for-like row when there is one, included).
fn value_widths(
    report: &OrdersReport,
    lines: &[&OrderLine],
    cells: &[[String; 6]],
    totals: &[String; 6],
    like_for_like: Option<&(String, String, Value)>,
) -> Vec<Vec<u16>> {
    let cell = |text: &str| u16::try_from(width(text)).unwrap_or(u16::MAX);
    let mut value_widths: Vec<Vec<u16>> = (0..6)
        .map(|c| {
            cells
                .iter()
                .map(|row| cell(&row[c]))
                .chain([cell(&totals[c])])
                .chain(
                    like_for_like
                        .into_iter()
                        .map(|(own, other, difference)| match c {
                            2 => cell(own),
                            4 => cell(other),
                            5 => cell(&money_cell(difference)),
                            _ => 0,
                        }),
                )
                .collect()
        })
        .collect();
    // The difference column as drawn, with its ▼/▲ marks.
    let differences = lines
        .iter()
        .map(|l| l.difference())
        .chain([report.difference()]);
    value_widths[5] = differences.map(|d| cell(&difference_text(&d).0)).collect();
    value_widths
}

/// A row under the orders: the own and compared totals, and the
/// difference; its label is drawn over it ([`draw_total_labels`]).
fn total_row([own, other]: [String; 2], difference: Cell<'static>) -> Row<'static> {
    Row::new(vec![
        Cell::default(),
        right(String::new()),
        right(String::new()),
        right(own),
        right(String::new()),
        right(other),
        difference,
    ])
    .style(theme::total_row())
}

/// The orders table's column names, in order after the item.
const ORDER_HEADERS: [&str; 6] = [
    "Qty",
    "Unit price",
    "Total",
    "Unit price",
    "Total",
    "Difference",
];

/// The notes under the orders table: why a total is unknown or partial,
/// and items to check.
fn order_notes(state: &State, report: &OrdersReport, partial: Option<&str>) -> Vec<String> {
    report
        .total_gap()
        .map(|gap| format!("Total unknown: {gap}"))
        .into_iter()
        .chain(partial.map(|note| format!("Compared: {note}")))
        .chain(
            report
                .other_item_note(&state.catalog)
                .map(|note| format!("Check: {note}")),
        )
        .collect()
}

/// The item column's narrowest where a number too wide to show gives way
/// to it (its widest label where that is narrower; 4, its header, else).
const ITEM_MIN: u16 = 12;

/// The number columns in the order they keep their values where not all
/// fit: the own figures first, the quantity (narrow), the total (the
/// Total row cannot be opened, a line can) and the unit price; then what
/// only compares: the difference, the comparison's total and unit price.
const KEEP_ORDER: [usize; 6] = [0, 2, 1, 5, 4, 3];

/// The number columns' widths in `width_available`, from every value's
/// width in each column (`values`): as wide as their widest value or
/// header. Too narrow: headers are cut first (with `…`), then numbers that
/// no longer fit show as `…`, never as a cut number.
///
/// Where some number does not fit that way, the columns keep their values
/// in [`KEEP_ORDER`]: an own figure shows where it fits beside what the
/// columns before it kept and a cell (`…`) for each of the others, so the
/// own total is not `…` beside columns of `—` as wide as their headers; a
/// compared figure only where it fits beside the others' headers. The
/// headers share what is left. The item (its widest label `items`, at
/// most [`ITEM_MIN`]) takes no more than that: a 1,000-digit price no
/// longer squeezes the item, the quantity and the other prices to a
/// letter each.
fn fitted_widths(values: &[Vec<u16>], items: u16, width_available: u16) -> Vec<u16> {
    let widest: Vec<u16> = values
        .iter()
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let widths = shrunk_widths(&widest, width_available, 4);
    if widths.iter().zip(&widest).all(|(w, v)| w >= v) {
        return widths;
    }
    let headers = header_widths();
    let item = items.clamp(4, ITEM_MIN);
    let room = width_available.saturating_sub(item + 6);
    let mut kept = [1u16; 6];
    for (rank, c) in KEEP_ORDER.into_iter().enumerate() {
        let own = rank < 3;
        let beside = (0..6).filter(|&d| d != c).map(|d| {
            if own {
                kept[d]
            } else {
                kept[d].max(headers[d])
            }
        });
        let cap = room.saturating_sub(beside.sum());
        let fitting = values[c].iter().copied().filter(|&v| v <= cap);
        // A column with a number too wide shows its `…`.
        kept[c] = fitting.max().unwrap_or(0).max(u16::from(widest[c] > cap));
    }
    shrunk_widths(&kept, width_available, item)
}

/// The number columns' headers' widths (the difference's with room for
/// its ▼/▲ mark).
fn header_widths() -> Vec<u16> {
    ORDER_HEADERS
        .iter()
        .enumerate()
        .map(|(c, h)| width(h) as u16 + if c == 5 { 2 } else { 0 })
        .collect()
}

/// The number columns as wide as their widest value or header
/// (`value_widths`), shrunk to `width_available` less the item's `item`
/// cells: headers are cut first, then the widest columns give way.
fn shrunk_widths(value_widths: &[u16], width_available: u16, item: u16) -> Vec<u16> {
    let headers = header_widths();
    let mut widths: Vec<u16> = (0..6).map(|c| value_widths[c].max(headers[c])).collect();
    let budget = width_available.saturating_sub(item + 6);
    while widths.iter().sum::<u16>() > budget {
        let header_only = (0..6)
            .filter(|&c| widths[c] > value_widths[c])
            .max_by_key(|&c| widths[c] - value_widths[c]);
        let column = header_only.unwrap_or_else(|| (0..6).max_by_key(|&c| widths[c]).unwrap_or(0));
        if widths[column] <= 1 {
            break;
        }
        widths[column] -= 1;
    }
    widths
}

/// The orders table's two-line header: the tenants over the column names
/// (cut so that two named alike read apart).
fn orders_header(own: &str, compare: &str, widths: &[u16]) -> Row<'static> {
    let group = |name: &str, w: u16| fit(name, w as usize);
    let headers = ORDER_HEADERS;
    let [own, compare]: [String; 2] = super::distinct_fits(&[
        (own.to_string(), usize::from(widths[1])),
        (compare.to_string(), usize::from(widths[3])),
    ])
    .try_into()
    .unwrap_or_default();
    Row::new(vec![
        Cell::from(Text::from(vec![Line::from(""), Line::from("Item")])),
        header_cell(String::new(), &group(headers[0], widths[0])),
        header_cell(own, &group(headers[1], widths[1])),
        header_cell(String::new(), &group(headers[2], widths[2])),
        header_cell(compare, &group(headers[3], widths[3])),
        header_cell(String::new(), &group(headers[4], widths[4])),
        header_cell(group("vs own", widths[5]), &group(headers[5], widths[5])),
    ])
    .height(2)
    .style(theme::header_row())
}

/// `notes` one a line below the table (`table_height` rows), as far as
/// `inner` goes; the tenants they name (`names`, as they have them) cut
/// in the middle before a note is cut at its end.
fn draw_notes(
    notes: &[String],
    names: &[String],
    frame: &mut Frame,
    inner: Rect,
    table_height: u16,
) {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for (i, note) in notes.iter().enumerate() {
        let y = inner.y + table_height + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let area = Rect::new(inner.x, y, inner.width, 1);
        let text = super::fit_naming(note, &names, inner.width as usize);
        frame.render_widget(Paragraph::new(Span::styled(text, theme::error())), area);
    }
}

/// A two-line, right-aligned header cell: tenant (or blank) over column name.
fn header_cell(first: String, second: &str) -> Cell<'static> {
    Cell::from(Text::from(vec![
        Line::from(first).alignment(Alignment::Right),
        Line::from(second.to_string()).alignment(Alignment::Right),
    ]))
}
