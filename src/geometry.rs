//! Where each part of the screen goes. Pure, so `update` can use it for
//! paging and mouse hit-testing and `view` for drawing.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the dashboard shows a "terminal too small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;
/// From this width on the panes sit side by side; below, they stack.
pub const SIDE_BY_SIDE_WIDTH: u16 = 100;

/// A terminal of `size` (columns, rows) shows only that it is too small
/// (or too wide) for the dashboard.
pub fn too_small(size: (u16, u16)) -> bool {
    areas(drawable(Rect::new(0, 0, size.0, size.1))).too_small
}

/// The most cells of a frame that may change: ratatui 0.29 places a
/// changed cell on the terminal by its index in the frame taken as a u16
/// (`Buffer::pos_of`), so a cell past index 65,535 was drawn in another
/// place (on a 700×100 terminal rows 94 to 100 over rows 1 to 7). Fixed in
/// ratatui 0.30 (ratatui/ratatui#1447).
pub const MAX_CELLS: usize = u16::MAX as usize + 1;

/// Where the screen is drawn on a terminal of `terminal`: all of it, or
/// on a terminal of more than [`MAX_CELLS`] cells its top rows, as many
/// as fit in them at its full width. (A frame numbers its cells row by row
/// across the whole width: only whole rows at the top keep their index in
/// range, however narrow the part drawn.) The state's size is this one.
pub fn drawable(terminal: Rect) -> Rect {
    let width = usize::from(terminal.width).max(1);
    let rows = (MAX_CELLS / width).min(usize::from(terminal.height));
    Rect {
        height: u16::try_from(rows).unwrap_or(terminal.height),
        ..terminal
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub header: Rect,
    pub users: Rect,
    pub orders: Rect,
    pub status: Rect,
    pub hints: Rect,
    pub too_small: bool,
}

pub fn areas(screen: Rect) -> Areas {
    if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            ..Areas::default()
        };
    }
    let [header, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(screen);
    let [users, orders] = panes(body);
    Areas {
        header,
        users,
        orders,
        status,
        hints,
        too_small: false,
    }
}

/// The dashboard's users and orders panes in the body: side by side when
/// wide, else stacked.
pub fn panes(body: Rect) -> [Rect; 2] {
    if body.width >= SIDE_BY_SIDE_WIDTH {
        Layout::horizontal([Constraint::Percentage(36), Constraint::Percentage(64)]).areas(body)
    } else {
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body)
    }
}

/// Inside a bordered pane.
pub fn inner(pane: Rect) -> Rect {
    Rect::new(
        pane.x.saturating_add(1),
        pane.y.saturating_add(1),
        pane.width.saturating_sub(2),
        pane.height.saturating_sub(2),
    )
}

/// The rows of the users table: inside the border, below its header row.
pub fn table_body(pane: Rect) -> Rect {
    let inner = inner(pane);
    Rect::new(
        inner.x,
        inner.y.saturating_add(1),
        inner.width,
        inner.height.saturating_sub(1),
    )
}

pub fn table_rows(pane: Rect) -> usize {
    table_body(pane).height as usize
}

/// Order lines that fit: inside the border, below the two-line header,
/// above the totals row.
pub fn order_rows(pane: Rect) -> usize {
    inner(pane).height.saturating_sub(3) as usize
}

/// The body of the full-screen views (health, prices): where both panes go.
pub fn view_area(screen: Rect) -> Rect {
    let areas = areas(screen);
    areas.users.union(areas.orders)
}

/// The health view: the tenants table above, the selected tenant's details below.
pub fn health_split(area: Rect) -> (Rect, Rect) {
    let [table, details] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    (table, details)
}

pub fn health_rows(size: (u16, u16)) -> usize {
    let (table, _) = health_split(view_area(Rect::new(0, 0, size.0, size.1)));
    table_rows(table)
}

/// The item column of the price matrix, where there is room.
pub const PRICE_ITEM_WIDTH: u16 = 22;
/// The item column gives up width down to this for another tenant column.
pub const PRICE_ITEM_MIN_WIDTH: u16 = 12;
pub const PRICE_COLUMN_WIDTH: u16 = 13;
pub const PRICE_SPREAD_WIDTH: u16 = 8;
/// The matrix's cells besides its columns: borders, the row marker, gaps.
const PRICE_FIXED: u16 = 2 + 1 + PRICE_SPREAD_WIDTH + 2;

/// How many tenant columns of the price matrix fit in `width` cells (the
/// item column at its narrowest: at 60 columns two, not one).
pub fn price_columns(width: u16) -> usize {
    let fixed = PRICE_FIXED + PRICE_ITEM_MIN_WIDTH;
    (width.saturating_sub(fixed) / (PRICE_COLUMN_WIDTH + 1)).max(1) as usize
}

/// The item column's width beside `columns` tenant columns in `width`
/// cells: what they leave, at most [`PRICE_ITEM_WIDTH`].
pub fn price_item_width(width: u16, columns: usize) -> u16 {
    let columns = u16::try_from(columns).unwrap_or(u16::MAX);
    let used = PRICE_FIXED.saturating_add(columns.saturating_mul(PRICE_COLUMN_WIDTH + 1));
    width
        .saturating_sub(used)
        .clamp(PRICE_ITEM_MIN_WIDTH, PRICE_ITEM_WIDTH)
}

/// A tenant column's width beside `columns` of them and the item column
/// (`item_width`) in `width` cells: the widest of `texts` (the prices and
/// names shown) that the row leaves room for, at least
/// [`PRICE_COLUMN_WIDTH`]. A text too wide for any room does not widen
/// them (it shows as `…` however wide they are). Sized by the rows on
/// screen: the columns may widen or narrow as the list scrolls.
pub fn price_column_width(
    width: u16,
    columns: usize,
    item_width: u16,
    texts: impl Iterator<Item = usize>,
) -> u16 {
    let columns = u16::try_from(columns.max(1)).unwrap_or(u16::MAX);
    let room = (width.saturating_sub(PRICE_FIXED + item_width) / columns).saturating_sub(1);
    let fitting = texts.filter(|&w| w <= usize::from(room)).max().unwrap_or(0);
    u16::try_from(fitting)
        .unwrap_or(room)
        .max(PRICE_COLUMN_WIDTH)
}

/// The spread column's width: its widest text (`spread`), at least
/// [`PRICE_SPREAD_WIDTH`], in what the tenant columns (`columns` of
/// `column_width`) and the item column leave of `width` (a spread of
/// `×123,456.789` showed as `…` beside empty room).
pub fn price_spread_width(
    width: u16,
    columns: usize,
    item_width: u16,
    column_width: u16,
    spread: usize,
) -> u16 {
    let columns = u16::try_from(columns).unwrap_or(u16::MAX);
    let used = PRICE_FIXED
        .saturating_add(item_width)
        .saturating_add(columns.saturating_mul(column_width.saturating_add(1)));
    let most = PRICE_SPREAD_WIDTH.saturating_add(width.saturating_sub(used));
    u16::try_from(spread)
        .unwrap_or(u16::MAX)
        .clamp(PRICE_SPREAD_WIDTH, most)
}

/// Rows of the basket table: its note takes the last line.
pub fn basket_rows(size: (u16, u16)) -> usize {
    table_rows(view_area(Rect::new(0, 0, size.0, size.1))).saturating_sub(1)
}

pub fn price_rows(size: (u16, u16)) -> usize {
    table_rows(view_area(Rect::new(0, 0, size.0, size.1)))
}

/// Where the help popup goes: as tall as its `lines`, at most the body,
/// so the header, the status line and the hint bar (which says how to
/// close and scroll it) stay in sight.
pub fn help_area(screen: Rect, lines: usize) -> Rect {
    let room = if areas(screen).too_small {
        screen
    } else {
        view_area(screen)
    };
    let height = (lines as u16).saturating_add(2).min(room.height);
    let width = 52.min(room.width);
    Rect::new(
        room.x + (room.width - width) / 2,
        room.y + (room.height - height) / 2,
        width,
        height,
    )
}

/// How far the help popup of `lines` scrolls on a screen of `size` before
/// its last line shows.
pub fn help_max_scroll(lines: usize, size: (u16, u16)) -> usize {
    lines.saturating_sub(help_shown(lines, size))
}

/// How many of the help popup's `lines` show at once (a page).
pub fn help_shown(lines: usize, size: (u16, u16)) -> usize {
    let screen = Rect::new(0, 0, size.0, size.1);
    help_area(screen, lines).height.saturating_sub(2) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_is_side_by_side_narrow_stacks_tiny_is_too_small() {
        let wide = areas(Rect::new(0, 0, 120, 30));
        assert_eq!(wide.users.y, wide.orders.y);
        let narrow = areas(Rect::new(0, 0, 70, 24));
        assert_eq!(narrow.users.x, narrow.orders.x);
        assert!(narrow.orders.y > narrow.users.y);
        assert!(areas(Rect::new(0, 0, 20, 5)).too_small);
        assert!(areas(Rect::new(0, 0, 0, 0)).too_small);
    }

    /// Every cell drawn has an index in the frame a u16 holds: whole rows
    /// from the top, at most 65,536 cells.
    #[test]
    fn a_terminal_of_more_than_65536_cells_is_drawn_in_its_top_rows() {
        for ((width, height), rows) in [
            ((120, 30), 30),
            ((256, 256), 256),
            ((256, 257), 256),
            ((660, 100), 99),
            ((700, 100), 93),
            ((1000, 500), 65),
            ((300, 219), 218),
            ((0, 5), 5),
            ((u16::MAX, u16::MAX), 1),
        ] {
            let terminal = Rect::new(0, 0, width, height);
            let drawn = drawable(terminal);
            assert_eq!(
                drawn,
                Rect {
                    height: rows,
                    ..terminal
                },
                "{width}×{height}"
            );
            assert!(drawn.area() as usize <= MAX_CELLS);
        }
    }
}
