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
use crate::text::{fit, sanitize, thousands, width as text_width};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let basket = &state.basket;
    let user = basket.user.as_ref();
    let own = user.and_then(|u| u.tenant.as_deref()).unwrap_or("");
    let lines = basket.lines.as_ref().map(Vec::len);
    let mut title = vec![Span::styled(" Basket ", theme::title())];
    if let Some(user) = user {
        let tenant = super::tenant_text(state, user);
        title.push(Span::raw(format!(
            "of {} · {} · {} ",
            fit(&user.name, 24),
            super::fit_name(&tenant, 20),
            match (lines, basket.load.error()) {
                (Some(n), _) => crate::text::plural(n, "line", "lines"),
                // Not read: none on their way.
                (None, Some(_)) => "?".into(),
                (None, None) => "…".into(),
            }
        )));
    }
    // A basket that could not be priced counts nothing (the pane says why).
    if basket.load.error().is_none() {
        title.push(Span::styled(
            format!(
                "· {} of {} ",
                thousands(basket.load.done() as i64),
                crate::text::plural(basket.load.total(), "tenant", "tenants")
            ),
            theme::dim(),
        ));
    }
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
    let shown: Vec<(usize, &BasketTenant)> = basket
        .tenants
        .iter()
        .enumerate()
        .skip(basket.rows.offset)
        .take(geometry::basket_rows(state.session.size))
        .collect();
    let all = lines.unwrap_or(0);
    let numbers = number_widths(&shown, all, inner.width);
    // A header wider than its column is cut at its end (`vs o…`).
    let title = |text: &str, cells: u16| right(fit(text, cells as usize));
    let (header, widths) = super::columns([
        (Cell::from("#"), Constraint::Length(5)),
        (Cell::from("Tenant"), Constraint::Fill(1)),
        (title("Lines", numbers[0]), Constraint::Length(numbers[0])),
        (title("Total", numbers[1]), Constraint::Length(numbers[1])),
        (title("vs own", numbers[2]), Constraint::Length(numbers[2])),
    ]);
    // The tenant column: what the others, the marker and the gaps leave.
    let tenant_width = inner
        .width
        .saturating_sub(5 + numbers.iter().sum::<u16>() + 2 + 4);
    // Each name cut to what its row leaves it (its `(own)`, `✗ `, a cell
    // before what it lacks or why it failed), so that names alike read
    // apart.
    let names: Vec<(String, usize)> = shown
        .iter()
        .map(|(_, tenant)| {
            let own = if tenant.tenant == own { OWN.len() } else { 0 };
            let after = match (&tenant.error, tenant.gaps_note()) {
                (Some(_), _) => 3,
                (None, Some(_)) => 1,
                (None, None) => 0,
            };
            let room = usize::from(tenant_width).saturating_sub(own + after);
            (state.catalog.label(&tenant.tenant), room)
        })
        .collect();
    let rows: Vec<Row> = shown
        .into_iter()
        .zip(super::distinct_fits(&names))
        .map(|((rank, tenant), name)| row(rank, tenant, own, all, name, numbers, tenant_width))
        .collect();
    let table = Table::new(rows, widths).header(header);
    super::list(frame, table_area, table, &basket.rows, true);
    // Never a sum over a gap: say what a total covers.
    let text = "Ranked by lines priced, then total; totals and vs own skip unpriced lines.";
    frame.render_widget(Paragraph::new(text).style(theme::dim()), note);
}

/// The total's text in the basket.
fn total_text(tenant: &BasketTenant) -> String {
    // A sum past what is shown says so ("out of range"), as `basket` does.
    tenant.total.cell()
}

/// The Lines, Total and vs own columns' widths in a table `width` wide:
/// as wide as their widest value on screen (lines: of `all`) or header;
/// where that leaves the tenant names too little room, the wider of Total
/// and vs own gives way (a number that then does not fit shows as `…`).
/// A number wider than its column could be even beside the other's
/// header shows as `…` and is given no room: a total of hundreds of
/// digits leaves the names what the `…` does not take.
fn number_widths(shown: &[(usize, &BasketTenant)], all: usize, width: u16) -> [u16; 3] {
    let widest = |header: &str, cap: usize, texts: &mut dyn Iterator<Item = String>| {
        texts
            .map(|t| text_width(&t))
            .filter(|&w| w <= cap)
            .fold(text_width(header), usize::max) as u16
    };
    let priced = || shown.iter().filter(|(_, t)| t.error.is_none());
    // As wide as the widest cell drawn: all of all, grouped (`5,000/5,000`).
    let lines = widest(
        "Lines",
        usize::MAX,
        &mut std::iter::once(crate::text::part_of(all, all)),
    );
    // Beside them: the rank (5), lines, the tenant name at its narrowest
    // (a fifth of the width, at least 12: a total of hundreds of digits
    // left it "clien… (ow…"), the row marker (2) and the four gaps.
    let name = (width / 5).max(12);
    let room = width.saturating_sub(5 + lines + name + 2 + 4);
    let cap = |other: &str| usize::from(room).saturating_sub(text_width(other));
    let mut amounts = [
        widest(
            "Total",
            cap("vs own"),
            &mut priced().map(|(_, t)| total_text(t)),
        ),
        widest(
            "vs own",
            cap("Total"),
            &mut priced().map(|(_, t)| super::difference_text(&t.difference).0),
        ),
    ];
    while amounts[0] + amounts[1] > room && amounts.iter().any(|&w| w > 1) {
        let wider = usize::from(amounts[1] > amounts[0]);
        amounts[wider] -= 1;
    }
    [lines, amounts[0], amounts[1]]
}

/// The own tenant's mark after its name.
const OWN: &str = " (own)";

/// A tenant's row; `name`: its name cut to what the row leaves it.
fn row(
    rank: usize,
    tenant: &BasketTenant,
    own: &str,
    all: usize,
    name: String,
    numbers: [u16; 3],
    tenant_width: u16,
) -> Row<'static> {
    // The own tenant's mark stays whole: its name gave way first.
    let name = if tenant.tenant == own {
        format!("{name}{OWN}")
    } else {
        name
    };
    let cut = |spans: Vec<Span<'static>>| Line::from(super::fit_spans(spans, tenant_width.into()));
    // Why a tenant failed, after its name (cut to the column with "…"), as
    // what it lacks is.
    if let Some(error) = &tenant.error {
        let why = format!(" · {}", crate::text::message_line(error));
        let spans = vec![
            Span::styled(format!("✗ {name}"), theme::error()),
            Span::styled(why, theme::error()),
        ];
        return Row::new(vec![
            Cell::from(format!("{}", rank + 1)),
            Cell::from(cut(spans)),
            right(super::whole_or_ellipsis(
                format!("?/{}", crate::text::thousands(all as i64)),
                numbers[0],
            )),
            right("?".into()),
            right("?".into()),
        ]);
    }
    let total = super::whole_or_ellipsis(total_text(tenant), numbers[1]);
    let coverage =
        super::whole_or_ellipsis(crate::text::part_of(tenant.priced_lines, all), numbers[0]);
    let coverage_style = if tenant.priced_lines == all {
        Style::new()
    } else {
        theme::warning()
    };
    // Why lines have no total here, after its name (cut to the column with
    // "…").
    let mut tenant_cell = vec![Span::raw(name)];
    if let Some(note) = tenant.gaps_note() {
        tenant_cell.push(Span::styled(
            format!(" · {}", sanitize(&note)),
            theme::warning(),
        ));
    }
    Row::new(vec![
        Cell::from(format!("{}", rank + 1)),
        Cell::from(cut(tenant_cell)),
        Cell::from(Line::from(Span::styled(coverage, coverage_style)).alignment(Alignment::Right)),
        right(total),
        difference_cell(&tenant.difference, numbers[2]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Lines column is as wide as the basket's count as drawn,
    /// grouped (`1,200/1,200`), which a fixed width cut from the left
    /// (`00/1200`), and an ungrouped one cut whole (`…`).
    #[test]
    fn the_lines_column_fits_any_basket() {
        assert_eq!(number_widths(&[], 2, 80), [5, 5, 6]);
        assert_eq!(number_widths(&[], 1200, 80)[0], 11);
    }

    /// A total of hundreds of digits takes no more than the tenant names
    /// leave: a fifth of the width stays theirs (it was 12 cells whatever
    /// the width: "clien… (ow…"); a total of usual size still fits whole.
    #[test]
    fn a_huge_total_leaves_the_tenant_names_their_room() {
        let lines = crate::fixtures::teslas("2", "1");
        let priced = |price: &str| {
            let price = crate::money::Value::parse(price);
            BasketTenant::priced("client1".into(), &lines, &[Some(price)])
        };
        let huge = priced(&format!("9{}", "0".repeat(300)));
        for width in [80, 120, 200] {
            let [lines, total, vs_own] = number_widths(&[(0, &huge)], 1, width);
            let name = width - (5 + lines + total + vs_own + 2 + 4);
            assert!(name >= width / 5, "{width}: {name}");
            // Shown as `…` either way: it takes no more than its header.
            assert_eq!(total, 5, "{width}");
        }
        let usual = priced("123456789012.34");
        let [_, total, _] = number_widths(&[(0, &usual)], 1, 80);
        assert_eq!(usize::from(total), "246,913,578,024.68".len());
    }
}
