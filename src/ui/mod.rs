//! Drawing: `view(&State, &mut Frame)` reads state and nothing else, so
//! every screen can be snapshot-tested without a terminal or a database.
//! Each view draws in the module of its name; this one draws the frame
//! around them: header, status line, hint bar and help.

mod basket;
mod connect;
mod dashboard;
mod detail;
mod health;
mod picker;
mod prices;
mod tenants;
pub mod theme;
mod users;

use ratatui::layout::{Constraint, Layout, Rect};

use crate::geometry;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::app::connect::Phase;
use crate::app::input::LineInput;
use crate::app::keymap;
use crate::app::load::Cursor;
use crate::app::screen::Status;
use crate::app::state::{State, View};
use crate::db::UserCount;
use crate::money::Value;
use crate::text::{fit, money, plural, sanitize, thousands, width};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// A right-aligned cell (numbers and counts).
fn right(text: String) -> Cell<'static> {
    Cell::from(Line::from(text).alignment(ratatui::layout::Alignment::Right))
}

/// The difference (comparison minus own) with ▼/▲ so it reads without
/// colour, `cells` wide at most: one that does not fit shows as `…`.
fn difference_cell(difference: &Value, cells: u16) -> Cell<'static> {
    let (text, style) = difference_text(difference);
    Cell::from(
        Line::from(whole_or_ellipsis(text, cells))
            .alignment(ratatui::layout::Alignment::Right)
            .style(style),
    )
}

/// A number for a right-aligned column `cells` wide: itself, or `…` where
/// it is wider, never cut (the table cuts a right-aligned line from the
/// left: a number would lose its leading digits). A leading mark (`▼`,
/// `▲`, `=`) stays: it still says cheaper or dearer without colour.
fn whole_or_ellipsis(number: String, cells: u16) -> String {
    if width(&number) <= cells as usize {
        return number;
    }
    match number.split_once(' ') {
        Some((mark @ ("▼" | "▲" | "="), _)) if cells >= 3 => format!("{mark} …"),
        _ => "…".to_string(),
    }
}

/// The difference as drawn in every view: `▼ -9,500.00`, `▲ +0.025`,
/// `= 0.00`, or why there is none (`—` dimmed; an unusable value stands
/// out).
fn difference_text(difference: &Value) -> (String, Style) {
    use bigdecimal::{Signed, Zero};
    match (difference, difference.number()) {
        (Value::Invalid(_), _) => (difference.cell(), theme::error()),
        (_, None) => (difference.cell(), theme::dim()),
        (_, Some(d)) if d.is_zero() => (format!("= {}", money(d)), Style::new()),
        (_, Some(d)) if d.is_negative() => (format!("▼ {}", money(d)), theme::cheaper()),
        (_, Some(d)) => (format!("▲ +{}", money(d)), theme::dearer()),
    }
}

fn spinner(state: &State) -> &'static str {
    SPINNER[state.session.ticks as usize % SPINNER.len()]
}

/// The dashboard as the terminal shows it: [`view`], then, when the
/// environment asks for no colour ([`theme::monochrome`], read once, here),
/// the frame without colours. The event loop draws with it.
pub fn screen() -> impl FnMut(&State, &mut Frame) {
    let monochrome = theme::monochrome(&|name| std::env::var(name).ok());
    move |state, frame| {
        view(state, frame);
        if monochrome {
            theme::to_monochrome(frame.buffer_mut());
        }
    }
}

pub fn view(state: &State, frame: &mut Frame) {
    let terminal = frame.area();
    // Nothing is drawn outside it (see `geometry::drawable`).
    let screen = geometry::drawable(terminal);
    let areas = geometry::areas(screen);
    if areas.too_small {
        let message = if screen.height < terminal.height.min(geometry::MIN_HEIGHT) {
            format!(
                "Terminal too wide: {}×{}, need at most {} columns (keys ignored; Ctrl-C quits)",
                terminal.width,
                terminal.height,
                geometry::MAX_CELLS / usize::from(geometry::MIN_HEIGHT)
            )
        } else {
            format!(
                "Terminal too small: {}×{}, need {}×{} (keys ignored; Ctrl-C quits)",
                terminal.width,
                terminal.height,
                geometry::MIN_WIDTH,
                geometry::MIN_HEIGHT
            )
        };
        frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: true }), screen);
        return;
    }
    let rows_left_out =
        (screen.height < terminal.height).then_some((screen.height, terminal.height));
    header(state, frame, areas.header, rows_left_out);
    let body = geometry::view_area(screen);
    // The profile picker (`P`) over the view it was opened from, as the
    // compare picker is, while a database is open behind it.
    let connect = &state.session.connect;
    let under = match (state.view, &connect.phase) {
        (View::Connect, Phase::Picking) if connect.open => {
            state.nav.places().last().filter(|v| *v != View::Connect)
        }
        _ => None,
    };
    if let Some(view) = under {
        draw_of(view)(state, frame, body);
    }
    draw_of(state.view)(state, frame, body);
    status_line(state, frame, areas.status);
    hint_bar(state, frame, areas.hints);
    if let (View::Dashboard, Some(detail)) = (state.view, &state.dashboard.detail) {
        detail::draw(detail, frame, screen);
    }
    if let Some(open) = &state.picker {
        picker::draw(open, "Compare with", frame, geometry::view_area(screen));
    }
    if state.help_open {
        help_popup(state, frame, screen);
    }
}

/// Each view's drawing, in the body between the header and the status line.
fn draw_of(view: View) -> fn(&State, &mut Frame, Rect) {
    match view {
        View::Dashboard => dashboard::draw,
        View::Health => health::draw,
        View::Prices => prices::draw,
        View::Connect => connect::draw,
        View::Basket => basket::draw,
        View::Tenants => tenants::draw,
    }
}

/// `rows_left_out`: (drawn, all) where the terminal is too large to draw
/// all its rows (see `geometry::drawable`): said first, where a narrow
/// header cuts it last.
fn header(state: &State, frame: &mut Frame, area: Rect, rows_left_out: Option<(u16, u16)>) {
    let mut spans = vec![
        Span::styled(" tenantscope ", theme::title()),
        Span::styled("│ ", theme::dim()),
    ];
    if let Some((drawn, all)) = rows_left_out {
        spans.push(Span::styled(
            format!("{drawn} of {all} rows drawn"),
            theme::warning(),
        ));
        spans.push(Span::styled(" │ ", theme::dim()));
    }
    // The profile in use: two profiles may name the same server.
    if let Some(profile) = &state.session.connect.profile {
        spans.push(Span::styled(sanitize(profile).into_owned(), theme::title()));
        spans.push(Span::raw(": "));
    }
    if !state.session.connect.open {
        // Nothing is loaded yet: no counts to show.
        spans.push(Span::raw(
            sanitize(&state.session.connect.target).into_owned(),
        ));
        let spans = fit_spans(spans, area.width as usize);
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let compare = if state.catalog_partial {
        // Chosen from the whole catalogue, which is on its way.
        "…".to_string()
    } else {
        state
            .compare_choice()
            .tenant
            .map_or_else(|| "none".into(), |t| state.catalog.label(&t))
    };
    spans.push(Span::raw(sanitize(&state.target).into_owned()));
    spans.push(Span::styled(" │ ", theme::dim()));
    // The layout detected (or configured), unless it is the article's default.
    let layout = &state.tenants.layout;
    if !layout.is_empty() && layout != "article" {
        spans.push(Span::styled(sanitize(layout).into_owned(), theme::title()));
        spans.push(Span::styled(" │ ", theme::dim()));
    }
    // Citus: the node holding the selected user's tenant.
    let node = state
        .selected_user()
        .and_then(|user| state.catalog.node(user.tenant.as_deref()?))
        .map(str::to_owned);
    if let Some(node) = node {
        spans.push(Span::raw("node "));
        spans.push(Span::styled(sanitize(&node).into_owned(), theme::title()));
        spans.push(Span::styled(" │ ", theme::dim()));
    }
    let counts = if state.catalog_partial {
        // Neither counted yet: "…", never the first page's share.
        "… users · … tenants".to_string()
    } else {
        match state.user_count.people {
            // Linked users: a person in two tenants is two memberships.
            Some(people) => format!(
                "{} people · {} memberships · {}",
                thousands(people),
                count_label(state.user_count),
                plural(state.catalog.len(), "tenant", "tenants")
            ),
            None => format!(
                "{} {} · {}",
                count_label(state.user_count),
                // "1 users": one exact user is one user.
                match state.user_count {
                    UserCount {
                        value: 1,
                        estimated: false,
                        ..
                    } => "user",
                    _ => "users",
                },
                plural(state.catalog.len(), "tenant", "tenants")
            ),
        }
    };
    spans.extend([
        Span::raw(counts),
        Span::styled(" │ ", theme::dim()),
        Span::raw("compare: "),
    ]);
    // The comparison, last: cut in the middle to the cells left, so that
    // `c` to a tenant named alike reads as another.
    let before: usize = spans.iter().map(|s| width(&s.content)).sum();
    let room = usize::from(area.width).saturating_sub(before);
    let compare = match room >= 3 {
        true => fit_name(&compare, room),
        false => sanitize(&compare).into_owned(),
    };
    spans.push(Span::styled(compare, theme::title()));
    // Cut with "…", so that a cut target does not read as a whole one.
    let line = Line::from(fit_spans(spans, area.width as usize));
    frame.render_widget(Paragraph::new(line), area);
}

/// `1,000,000`, or `~1,000,000` for a planner estimate.
fn count_label(count: UserCount) -> String {
    crate::db::Count::label(Some(crate::db::Count {
        value: count.value,
        estimated: count.estimated,
    }))
}

/// A user's tenant as every view names it, unescaped: the catalogue's
/// label of its schema (the schema beside a label two tenants share),
/// else the id naming none, else `(none)` or `(empty)`.
fn tenant_text(state: &State, user: &crate::db::User) -> String {
    match user.tenant.as_deref() {
        Some(schema) if !schema.is_empty() => {
            crate::text::id_text(Some(&state.catalog.label(schema)))
        }
        _ => crate::text::id_text(user.tenant_label()),
    }
}

/// A row's mark for its tenant schema, in the users list and the tenants
/// pane alike: none where it is there (or not known yet), `-` for the
/// users with no tenant, `!` for a schema missing or incomplete.
fn schema_mark(state: Option<crate::db::SchemaState>) -> (&'static str, Style) {
    use crate::db::SchemaState;
    match state {
        Some(SchemaState::Ok) | None => (" ", Style::new()),
        Some(SchemaState::NoTenant) => ("-", theme::warning()),
        Some(_) => ("!", theme::error()),
    }
}

/// A bordered block with a title, for a view's panes.
fn block(title: Line<'static>, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(focused))
        .title(title)
}

/// Splits `total` cells into columns one cell apart, like `Table` does.
fn column_widths(total: u16, constraints: &[Constraint]) -> Vec<u16> {
    Layout::horizontal(constraints.to_vec())
        .spacing(1)
        .split(Rect::new(0, 0, total, 1))
        .iter()
        .map(|r| r.width)
        .collect()
}

/// The cells a list's rows have beside [`list`]'s `▶ ` mark.
fn beside_mark(area: Rect) -> u16 {
    area.width.saturating_sub(2)
}

/// A table's header row and column widths, from each column's title
/// beside its width so the two cannot drift apart.
fn columns<'a>(
    columns: impl IntoIterator<Item = (Cell<'a>, Constraint)>,
) -> (Row<'a>, Vec<Constraint>) {
    let (titles, widths): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    (Row::new(titles).style(theme::header_row()), widths)
}

/// `spans` cut to `max` cells, ending in "…" when cut (a block title or a
/// table cell is otherwise cut silently).
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
            // Spans are escaped already: cut, not escaped again. `cut`
            // keeps a cell of its room for the "…"; a last cell is it.
            let cut = match room {
                0 | 1 => "…".to_string(),
                _ => crate::text::cut(&span.content, room - 1) + " ",
            };
            out.push(Span::styled(cut, span.style));
            break;
        }
    }
    out
}

/// The fewest cells a name is cut to in the middle ([`fit_name`]) where
/// the text around it gives it no more: fewer read as little.
const NAME_MIN: usize = 12;

/// `text` naming `names` (as it has them) in `cells`, cut as [`fit`]
/// cuts it; where it is wider, each name in it is cut in the middle
/// first ([`cut_middle`]), to no fewer than [`NAME_MIN`] cells, so that a
/// note cut short still says which tenant it names.
fn fit_naming(text: &str, names: &[&str], cells: usize) -> String {
    let mut text = text.to_string();
    for name in names {
        let over = width(&sanitize(&text)).saturating_sub(cells);
        let times = text.matches(name).count();
        if over == 0 || times == 0 {
            continue;
        }
        let keep = width(name).saturating_sub(over.div_ceil(times));
        text = text.replace(name, &cut_middle(name, keep.max(NAME_MIN)));
    }
    fit(&text, cells)
}

/// A name shown alone (a tenant's, in a header, a title or a note) in
/// `cells`, escaped as [`fit`] escapes: whole where it fits, else cut in
/// the middle, its start and its end kept (`acme_intern…diary_0044`), so
/// that two names that differ only at their end never read the same.
fn fit_name(name: &str, cells: usize) -> String {
    cut_middle(&sanitize(name), cells)
}

/// [`fit_name`] of a name escaped already: the end takes half the cells
/// beside the `…`, the start the rest ([`keep_end`]).
fn cut_middle(name: &str, cells: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if width(name) <= cells || cells < 3 {
        return crate::text::cut(name, cells);
    }
    let half = (cells - 1) / 2;
    let (mut from, mut used) = (name.len(), 0);
    for (at, ch) in name.char_indices().rev() {
        used += ch.width().unwrap_or(0);
        if used > half {
            break;
        }
        from = at;
    }
    keep_end(name, from, cells).unwrap_or_else(|| crate::text::cut(name, cells))
}

/// Names shown side by side (tenants as column headers, or down one
/// column), each cut to its cells as [`fit_name`] cuts one alone (at its
/// end in fewer than [`LISTED_MIDDLE_MIN`] cells). Where
/// the start a name cut at its end would keep is also another's, it is
/// cut around where the two differ instead ([`cut_apart`]):
/// `tenant_0044` and `tenant_0045` in 5 cells read `…0044` and `…0045`;
/// where its middle cut would read as another's too, it is cut at its
/// end (that start is its own). Names alike, or a few cells wide, can
/// still read alike.
fn distinct_fits(names: &[(String, usize)]) -> Vec<String> {
    let clean: Vec<_> = names
        .iter()
        .map(|(name, cells)| (sanitize(name).into_owned(), *cells))
        .collect();
    distinct_cuts(&clean)
}

/// Listed names narrower than this are cut at their end where their
/// start tells them apart: the start and the end of a name in a few cells
/// (`in…ch`) read worse than its start (`init…`).
const LISTED_MIDDLE_MIN: usize = 8;

/// [`distinct_fits`] of names escaped already.
fn distinct_cuts(names: &[(String, usize)]) -> Vec<String> {
    let all: Vec<&str> = names.iter().map(|(name, _)| name.as_str()).collect();
    names
        .iter()
        .map(|(name, cells)| {
            let fitted = crate::text::cut(name, *cells);
            if fitted == *name {
                return fitted;
            }
            let kept = fitted.strip_suffix('…').unwrap_or(&fitted);
            let others = || all.iter().filter(|other| **other != name);
            let apart = others()
                .filter(|other| other.starts_with(kept))
                .map(|other| differs_at(name, other))
                .max();
            if let Some(at) = apart {
                return cut_apart(name, at, *cells);
            }
            if *cells < LISTED_MIDDLE_MIN {
                return fitted;
            }
            let middle = cut_middle(name, *cells);
            let alike = middle.split_once('…').is_some_and(|(start, end)| {
                others().any(|other| other.starts_with(start) && other.ends_with(end))
            });
            if alike {
                fitted
            } else {
                middle
            }
        })
        .collect()
}

/// Where `name` first differs from `other`: the byte of its first char
/// that differs, or where the shorter ends.
fn differs_at(name: &str, other: &str) -> usize {
    let first = name
        .char_indices()
        .zip(other.chars())
        .find(|((_, a), b)| a != b);
    first.map_or(name.len().min(other.len()), |((at, _), _)| at)
}

/// `name` (escaped already) cut to `cells` so that the char at byte `at`
/// shows, with the word (letters and digits) it is in where that fits:
/// the start gives way (`tenan…0044`), then the end too (`…0044_e…`).
fn cut_apart(name: &str, at: usize, cells: usize) -> String {
    use crate::text::cut;
    let at = at.min(name.char_indices().last().map_or(0, |(i, _)| i));
    let differing = name[at..].chars().next().filter(|c| c.is_alphanumeric());
    let word = match differing {
        Some(_) => name[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric())
            .last()
            .map_or(at, |(i, _)| i),
        None => at,
    };
    if cells < 3 || at == 0 {
        return cut(name, cells);
    }
    // The end whole from the word, else from where they differ.
    let kept = [word, at].into_iter().filter(|&from| from > 0);
    if let Some(shown) = kept.filter_map(|from| keep_end(name, from, cells)).next() {
        return shown;
    }
    let through = at + name[at..].chars().next().map_or(0, char::len_utf8);
    let from = if word > 0 && width(&name[word..through]) + 2 <= cells {
        word
    } else {
        at
    };
    format!("…{}", cut(&name[from..], cells - 1))
}

/// `name` (escaped already) in `cells`: its end from byte `from` whole
/// after a `…`, and as much of its start before it as fits; none where
/// the end alone does not fit.
fn keep_end(name: &str, from: usize, cells: usize) -> Option<String> {
    let tail = &name[from..];
    let room = cells.checked_sub(width(tail) + 1)?;
    // The start that fits `room`: cut a cell wider, less its `…`.
    let head = &name[..from];
    let head = if width(head) <= room {
        head.to_string()
    } else {
        crate::text::cut(head, room + 1)
            .trim_end_matches('…')
            .to_string()
    };
    Some(format!("{head}…{tail}"))
}

/// Draws a list pane's `table` with its `cursor`'s row in the selection
/// colours, dimmer when the pane is not `focused`.
fn list(frame: &mut Frame, area: Rect, table: Table<'_>, cursor: &Cursor, focused: bool) {
    selectable(frame, area, table, cursor, theme::selected_row(focused));
}

/// Draws `table` (rows, widths, header) with column spacing and the
/// `cursor`'s row, when on screen, marked `▶` in `style`.
fn selectable(frame: &mut Frame, area: Rect, table: Table<'_>, cursor: &Cursor, style: Style) {
    let table = table
        .column_spacing(1)
        .highlight_symbol("▶ ")
        .row_highlight_style(style);
    let mut table_state = TableState::default().with_selected(cursor.on_screen());
    frame.render_stateful_widget(table, area, &mut table_state);
}

/// A prompt being typed, with a bar where typing goes; as much either side
/// of it as a pane title has room for.
fn prompt(input: &LineInput) -> String {
    let chars: Vec<char> = input.text().chars().collect();
    let (before, after) = chars.split_at(input.cursor());
    let before: String = before.iter().collect();
    let after: String = after.iter().collect();
    format!("{}▏{}", fit(&before, 30), fit(&after, 20))
}

/// Wrapped text in a pane (loading, empty, failed).
fn message(frame: &mut Frame, area: Rect, text: String, style: Style) {
    frame.render_widget(
        Paragraph::new(text).style(style).wrap(Wrap { trim: true }),
        area,
    );
}

/// A load that failed, as a view's pane says it.
fn failed(error: &str) -> String {
    format!("Error: {error}\n\nPress r to retry.")
}

/// A load that failed: "retry" offered only where running it again may
/// help (a lost connection, a timeout, a node down), not for a query the
/// server refuses every time.
fn failed_load(error: &crate::app::load::Failure) -> String {
    if error.retry {
        failed(&crate::text::message_line(error))
    } else {
        format!("Error: {}", crate::text::message_line(error))
    }
}

fn status_line(state: &State, frame: &mut Frame, area: Rect) {
    let line = match state.status() {
        Status::Empty => Line::from(""),
        Status::Busy(what) => Line::from(format!(" {} {what}", spinner(state))),
        Status::Done(what) => {
            let mut spans = vec![Span::styled(" ✓ ", theme::cheaper()), Span::raw(what)];
            // When the data on screen was read (a notice is not data): the
            // last successful result its view took (see `ReadTime`).
            let mut fresh = state.view.screen().fresh;
            // A search's results were read by the search, not with the list.
            if fresh == crate::app::tenants::DIRECTORY_SLOT.0
                && state.tenants.search.text().is_some()
            {
                fresh = crate::app::tenants::SEARCH_SLOT.0;
            }
            if let (None, Some(at)) = (&state.notice, state.read_at.get(fresh)) {
                spans.push(Span::styled(format!(" · as of {at}"), theme::dim()));
            }
            Line::from(spans)
        }
        // No "as of": it says what failed, and the slot's time would date
        // data the failure replaced (a load's error takes its pane) or
        // other data than it names (the users' error beside the orders').
        Status::Failed(why) => Line::from(Span::styled(format!(" ✗ {why}"), theme::error())),
    };
    let mut line = line;
    if let Some(warning) = (state.view.screen().warning)(state) {
        line.spans
            .push(Span::styled(format!(" · ⚠ {warning}"), theme::warning()));
    }
    frame.render_widget(Paragraph::new(line), area);
}

/// As many whole hints as fit; `?` opens the full list.
fn hint_bar(state: &State, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (label, description) in keymap::hints(state.keys()) {
        let text = format!(" {description}  ");
        let needed = width(&label) + width(&text);
        if used + needed > area.width as usize {
            break;
        }
        used += needed;
        spans.push(Span::styled(label, theme::key()));
        spans.push(Span::styled(text, theme::dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// What the `?` popup lists for the view on screen: its keys and marks.
fn help_lines(state: &State) -> Vec<Line<'static>> {
    let screen_info = state.view.screen();
    let tables = || {
        screen_info
            .help
            .iter()
            .flat_map(|(_, t)| keymap::bindings(t))
    };
    let column = tables()
        .chain([&keymap::SUSPEND])
        .map(|b| width(&b.label()))
        .chain(screen_info.marks.iter().map(|(m, _)| width(m)))
        .max()
        .unwrap_or(1)
        + 1;
    let row = |key: String, text: &'static str| {
        let pad = column.saturating_sub(width(&key));
        Line::from(vec![
            Span::styled(format!("  {key}{}", " ".repeat(pad)), theme::key()),
            Span::raw(text),
        ])
    };
    let mut lines = Vec::new();
    for (title, table) in screen_info.help {
        lines.push(Line::from(Span::styled(title.to_string(), theme::title())));
        for binding in keymap::bindings(table) {
            lines.push(row(binding.label(), binding.description));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled("Marks", theme::title())));
    for (mark, meaning) in screen_info.marks {
        lines.push(row(mark.to_string(), meaning));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Anywhere", theme::title())));
    lines.push(row(keymap::SUSPEND.label(), keymap::SUSPEND.description));
    lines.push(Line::from(Span::raw(
        "  Mouse: click selects, wheel scrolls",
    )));
    lines
}

fn help_popup(state: &State, frame: &mut Frame, screen: Rect) {
    // The keys and marks of the view help was opened from.
    let lines = help_lines(state);
    debug_assert_eq!(lines.len(), state.view.screen().help_line_count());
    let area = geometry::help_area(screen, lines.len());
    let most = geometry::help_max_scroll(lines.len(), state.session.size);
    let scroll = state.help_scroll.min(most);
    let more = most > 0;
    frame.render_widget(Clear, area);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Line::from(Span::styled(
            " Help · ? or Esc closes ",
            theme::title(),
        )));
    if more {
        let shown = area.height.saturating_sub(2) as usize;
        block = block.title_bottom(Line::from(Span::styled(
            format!(
                " j/k scroll · {}-{} of {} ",
                scroll + 1,
                (scroll + shown).min(lines.len()),
                lines.len()
            ),
            theme::dim(),
        )));
    }
    // A line wider than the popup ends in "…" (it was cut silently).
    let room = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|line| Line::from(fit_spans(line.spans, room)))
        .collect();
    let text = Paragraph::new(lines)
        .block(block)
        .scroll((scroll as u16, 0));
    frame.render_widget(text, area);
}

#[cfg(test)]
mod cell_tests {
    use super::whole_or_ellipsis;

    #[test]
    fn a_number_too_wide_keeps_its_mark() {
        let cut = |text: &str, cells| whole_or_ellipsis(text.to_string(), cells);
        assert_eq!(cut("▼ 1,234.50", 10), "▼ 1,234.50");
        assert_eq!(cut("▼ 1,234.50", 9), "▼ …");
        assert_eq!(cut("▲ +98,765,432.10", 12), "▲ …");
        assert_eq!(cut("= 0.00", 4), "= …");
        assert_eq!(cut("1,234,567.00", 8), "…");
        assert_eq!(cut("▼ 1.00", 2), "…");
    }
}

#[cfg(test)]
mod distinct_fits_tests {
    use super::{distinct_fits, fit_name};

    /// A name alone keeps its start and its end: two that differ only at
    /// their end read apart; escaped as `fit` escapes, never wider.
    #[test]
    fn a_name_alone_is_cut_in_the_middle() {
        let name = "acme_international_holdings_subsidiary_0044";
        assert_eq!(fit_name(name, 22), "acme_intern…diary_0044");
        assert_eq!(fit_name(name, 20), "acme_inter…iary_0044");
        assert_eq!(fit_name(name, 9), "acme…0044");
        assert_eq!(fit_name(name, 43), name);
        assert_eq!(fit_name(name, 2), "a…");
        assert_eq!(fit_name("tenant\n_0044", 9), "tena…0044");
        assert_eq!(fit_name("tenant\n_0044\n", 9), "tena…44\\n");
        assert_eq!(fit_name("山田太郎山田太郎", 7), "山田…郎");
        for cells in 0..12 {
            for name in ["山田太郎山田太郎", "a🚀b🚀c🚀d", "x\u{301}y\u{301}z"] {
                let cut = fit_name(name, cells);
                assert!(super::width(&cut) <= cells.max(1), "{cut:?} in {cells}");
            }
        }
    }

    fn fits(names: &[&str], cells: usize) -> Vec<String> {
        let names: Vec<_> = names.iter().map(|n| (n.to_string(), cells)).collect();
        distinct_fits(&names)
    }

    /// Names cut to the same start keep what tells them apart; names that
    /// fit, or whose cut start tells them apart, are as `fit` has them.
    #[test]
    fn similar_names_keep_where_they_differ() {
        let alike = ["tenant_0044", "tenant_0045"];
        assert_eq!(fits(&alike, 10), ["tenan…0044", "tenan…0045"]);
        assert_eq!(fits(&alike, 5), ["…0044", "…0045"]);
        assert_eq!(fits(&alike, 11), alike);
        // Their starts tell them apart: each cut as one alone, its end
        // kept too (another tenant may start alike); in a few cells, the
        // start alone.
        let apart = ["acme_corp_eu", "globex_inc_us"];
        assert_eq!(fits(&apart, 8), ["acme…_eu", "glob…_us"]);
        assert_eq!(fits(&["acme_corp", "globex_inc"], 6), ["acme_…", "globe…"]);
        // Unless another reads alike so: then the start that is its own.
        assert_eq!(
            fits(&["abcd1xx_end", "abcd2xx_end"], 8),
            ["abcd1xx…", "abcd2xx…"]
        );
        // The word that differs too wide: from where it differs.
        assert_eq!(
            fits(&["customerA_eu", "customerB_eu"], 8),
            ["cus…A_eu", "cus…B_eu"]
        );
        // The rest too wide: the end gives way too.
        assert_eq!(
            fits(&["shop_0044_europe_west", "shop_0045_europe_west"], 8),
            ["…0044_e…", "…0045_e…"]
        );
        // One a prefix of the other.
        assert_eq!(fits(&["tenant_1", "tenant_10"], 7), ["tenan…1", "tena…10"]);
        // Each name its own cells; escaped as `fit` escapes.
        let names = [
            ("tenant_0044".to_string(), 10),
            ("tenant_0045\n".to_string(), 5),
        ];
        assert_eq!(distinct_fits(&names), ["tenan…0044", "t…5\\n"]);
        assert_eq!(fits(&["tenant_0044", "tenant_0045"], 2), ["t…", "t…"]);
    }

    /// Names that differ at a symbol of more than one byte (a registry's
    /// free-text labels), with more after it than fits: cut from the
    /// symbol on (it panicked, cutting inside the symbol).
    #[test]
    fn names_that_differ_at_a_wide_symbol_are_cut_there() {
        for (names, cut) in [
            (
                ["Acme GmbH – Berlin Mitte", "Acme GmbH · Berlin Mitte"],
                ["…– Berl…", "…· Berl…"],
            ),
            (
                ["Team Alpha 🚀 Division", "Team Alpha 🔥 Division"],
                ["…🚀 Div…", "…🔥 Div…"],
            ),
        ] {
            assert_eq!(fits(&names, 8), cut);
        }
        // Every pair of such names at every width: cut, never a panic.
        let names = [
            "a–b",
            "a·b",
            "山田–x",
            "山田·x",
            "🚀🚀a",
            "🚀🔥a",
            "x\u{301}y",
            "xy",
        ];
        for one in names {
            for other in names {
                for cells in 0..12 {
                    let cut = fits(&[one, other], cells);
                    assert!(
                        cut.iter().all(|c| super::width(c) <= cells.max(1)),
                        "{cut:?}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// Every line of every view's help (keys, marks) fits the popup whole:
    /// the popup does not wrap.
    #[test]
    fn every_help_line_fits_the_popup() {
        let room = geometry::help_area(Rect::new(0, 0, 200, 60), 1).width as usize - 2;
        let mut state = crate::fixtures::demo_state();
        for &view in View::ALL {
            state.view = view;
            for line in help_lines(&state) {
                let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                assert!(width(&text) <= room, "{view:?}: {text:?} is cut at {room}");
            }
        }
    }
}

#[cfg(test)]
mod failed_load_tests {
    use super::failed_load;
    use crate::app::load::Failure;
    use crate::db::DbError;

    /// Every pane (health, prices, basket, tenants) offers a retry for a
    /// failure a retry can fix, and none for a statement the server
    /// refuses every time (Citus: a query shape it cannot push down).
    #[test]
    fn retry_is_offered_only_for_failures_a_retry_can_fix() {
        let refused = Failure::from(DbError::Server {
            message: "cannot push down this subquery (DETAIL: items and orders are not colocated)"
                .into(),
            code: Some("0A000".into()),
        });
        let text = failed_load(&refused);
        assert!(
            text.contains("not colocated") && !text.contains("retry"),
            "{text}"
        );
        for fixable in [
            DbError::Timeout { ms: 5000 },
            DbError::Node {
                node: "10.0.0.2:5432".into(),
                cause: Box::new(DbError::Server {
                    message: "connection to the remote node failed".into(),
                    code: Some("08006".into()),
                }),
            },
        ] {
            let text = failed_load(&Failure::from(fixable));
            assert!(text.contains("Press r to retry"), "{text}");
        }
        let node = failed_load(&Failure::from(DbError::Node {
            node: "10.0.0.2:5432".into(),
            cause: Box::new(DbError::Timeout { ms: 5000 }),
        }));
        assert!(node.contains("on node 10.0.0.2:5432"), "{node}");
    }
}
