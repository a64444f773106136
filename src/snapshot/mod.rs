//! `tenantscope snapshot`: one frame of the dashboard, drawn headlessly by
//! the same `ui::view` after its loads have finished, as text (with ANSI
//! colours when asked) or as a self-contained SVG.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::app::initial_state;
use crate::app::tasks::Executor;
use crate::app::{basket, dashboard, health, init, prices, tenants, update, Msg, State, View};
use crate::db::Database;
use crate::Failure;

pub mod svg;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Select the user with this id (default: the first in the list)
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// The user's tenant (checked; for layouts that keep users per tenant)
    #[arg(long, value_name = "TENANT", requires = "user")]
    pub tenant: Option<String>,
    /// Comparison tenant (default: tenancy.compare_with, else the first other tenant)
    #[arg(long, value_name = "TENANT")]
    pub compare: Option<String>,
    /// The view to draw
    #[arg(long, value_enum, default_value_t = SnapshotView::Dashboard)]
    pub view: SnapshotView,
    /// Frame size in cells (at least 40x12, what the dashboard needs)
    #[arg(long, value_name = "COLSxROWS", default_value = "120x30", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Colours: auto = on a terminal unless NO_COLOR is set or TERM=dumb
    /// (text), always for SVG; an explicit always or never wins
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Output: text (with ANSI colours per --color) or a self-contained SVG
    #[arg(long, value_enum, default_value_t = SnapshotFormat::Text)]
    pub format: SnapshotFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotView {
    Dashboard,
    Health,
    Prices,
    Basket,
    Tenants,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotFormat {
    Text,
    Svg,
}

/// "120x30" (or "120×30") into (columns, rows), within what the screen
/// can draw and a sane upper bound.
pub fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let (cols, rows) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("{text:?} is not COLSxROWS, e.g. 120x30"))?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("{what} must be a number from 1 to 1000, not {part:?}"))
    };
    let size = (number(cols, "columns")?, number(rows, "rows")?);
    let (min_cols, min_rows) = (crate::geometry::MIN_WIDTH, crate::geometry::MIN_HEIGHT);
    if size.0 < min_cols || size.1 < min_rows {
        return Err(format!(
            "{}x{} is below the dashboard's minimum of {min_cols}x{min_rows}",
            size.0, size.1
        ));
    }
    Ok(size)
}

/// Whether text output gets ANSI colours: `--color` when explicit, else
/// only on a terminal, and never with NO_COLOR set to anything non-empty
/// (no-color.org) or TERM=dumb.
pub fn use_color(
    choice: ColorChoice,
    on_terminal: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            on_terminal
                && env("NO_COLOR").is_none_or(|value| value.is_empty())
                && env("TERM").as_deref() != Some("dumb")
        }
    }
}

/// Draws the requested frame once every load it shows has finished.
pub async fn frame(
    db: &Database,
    target: &str,
    compare: Option<String>,
    args: &Args,
) -> Result<Buffer, Failure> {
    let compare = args.compare.clone().or(compare);
    // No debounce: every move loads at once, and so settles at once.
    let mut state = initial_state(db, target.to_string(), compare, Duration::ZERO).await?;
    if let Some(id) = &args.user {
        // As `--user`: an unknown id or tenant is exit 2 before anything is drawn.
        crate::app::dashboard::open_on_user(&mut state, db, id, args.tenant.as_deref()).await?;
    }
    let mut run = Run::start(db.clone(), state, args.size);
    run.settle().await?;
    // Where users live in each tenant the app opens on the tenants pane:
    // the other views are the dashboard's, over all tenants' users (`a`).
    let on_tenants = run.state.view == View::Tenants;
    if on_tenants && args.view != SnapshotView::Tenants {
        run.key(KeyCode::Char('a')).await?;
    }
    match args.view {
        SnapshotView::Dashboard => {}
        SnapshotView::Health => run.key(KeyCode::Char('t')).await?,
        SnapshotView::Prices => run.key(KeyCode::Char('p')).await?,
        SnapshotView::Basket => run.key(KeyCode::Char('b')).await?,
        SnapshotView::Tenants if on_tenants => {}
        SnapshotView::Tenants => run.key(KeyCode::Char('T')).await?,
    }
    let mut terminal = Terminal::new(TestBackend::new(args.size.0, args.size.1))
        .map_err(|e| Failure::runtime(format!("cannot draw: {e}")))?;
    let drawn = terminal
        .draw(|f| crate::ui::view(&run.state, f))
        .map_err(|e| Failure::runtime(format!("cannot draw: {e}")))?;
    Ok(drawn.buffer.clone())
}

/// The app's own `update` and executor, without a terminal.
struct Run {
    state: State,
    executor: Executor,
    results: UnboundedReceiver<Msg>,
}

impl Run {
    fn start(db: Database, mut state: State, size: (u16, u16)) -> Run {
        let (tx, results) = unbounded_channel();
        let clipboard = crate::app::clipboard::Clipboard::none();
        let mut executor = Executor::new(Some(db), None, tx, clipboard);
        let mut effects = update(&mut state, Msg::Resize(size.0, size.1));
        effects.extend(init(&mut state));
        for effect in effects {
            executor.run(effect);
        }
        Run {
            state,
            executor,
            results,
        }
    }

    async fn key(&mut self, code: KeyCode) -> Result<(), Failure> {
        self.deliver(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.settle().await
    }

    fn deliver(&mut self, msg: Msg) {
        // Without the time data was read ("as of"), nor how long it took:
        // the same data, the same frame.
        let msg = match msg {
            Msg::Loaded { result, .. } => Msg::View(result),
            msg => msg,
        };
        for effect in update(&mut self.state, without_timing(msg)) {
            self.executor.run(effect);
        }
    }

    /// Until the view on screen loads nothing. Every load ends (the
    /// statement timeout bounds each query), so this does too.
    async fn settle(&mut self) -> Result<(), Failure> {
        while self.state.is_busy() {
            let msg = self.results.recv().await.ok_or_else(|| {
                Failure::runtime("the loads stopped before the frame was complete")
            })?;
            self.deliver(msg);
            while let Ok(msg) = self.results.try_recv() {
                self.deliver(msg);
            }
        }
        Ok(())
    }
}

/// A load's duration set to zero, which the status line leaves out: the
/// same data gives the same frame, so a snapshot can be diffed.
fn without_timing(mut msg: Msg) -> Msg {
    use crate::app::msg::ViewMsg as V;
    if let Msg::View(
        V::Dashboard(dashboard::Msg::OrdersLoaded { elapsed, .. })
        | V::Health(health::Msg::Loaded { elapsed, .. } | health::Msg::LeaksLoaded { elapsed, .. })
        | V::Prices(prices::Msg::Loaded { elapsed, .. })
        | V::Tenants(tenants::Msg::Directory { elapsed, .. } | tenants::Msg::Batch { elapsed, .. })
        | V::Basket(basket::Msg::Page { elapsed, .. }),
    ) = &mut msg
    {
        *elapsed = Duration::ZERO;
    }
    msg
}

/// Which view is drawn (tests).
pub fn view_of(view: SnapshotView) -> View {
    match view {
        SnapshotView::Dashboard => View::Dashboard,
        SnapshotView::Health => View::Health,
        SnapshotView::Prices => View::Prices,
        SnapshotView::Basket => View::Basket,
        SnapshotView::Tenants => View::Tenants,
    }
}

/// The cells of a row a terminal shows: a wide character (an emoji, a CJK
/// one) covers the cell after it, which the buffer keeps as a blank that
/// must not be printed (as ratatui's own terminal output skips it).
pub fn shown_cells(row: &[Cell]) -> impl Iterator<Item = &Cell> {
    let mut covered = 0;
    row.iter().filter(move |cell| {
        if covered > 0 {
            covered -= 1;
            return false;
        }
        covered = unicode_width::UnicodeWidthStr::width(cell.symbol()).saturating_sub(1);
        true
    })
}

/// The frame as lines of text, one per row, with ANSI SGR colours when
/// `color` (then every line is the frame's width, its backgrounds drawn).
pub fn text(buffer: &Buffer, color: bool) -> String {
    let width = buffer.area.width.max(1) as usize;
    let mut out = String::new();
    for row in buffer.content().chunks(width) {
        let mut style: Option<(Color, Color, Modifier)> = None;
        for cell in shown_cells(row) {
            if color {
                let now = (cell.fg, cell.bg, cell.modifier);
                if style != Some(now) {
                    out.push_str(&sgr(cell));
                    style = Some(now);
                }
            }
            out.push_str(cell.symbol());
        }
        if color {
            out.push_str("\x1b[0m");
        } else {
            // Plain text is pasted and diffed: no trailing blanks.
            out.truncate(out.trim_end_matches(' ').len());
        }
        out.push('\n');
    }
    out
}

/// The escape sequence that sets `cell`'s colours and attributes from scratch.
fn sgr(cell: &Cell) -> String {
    let mut codes = vec!["0".to_string()];
    let attributes = [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::CROSSED_OUT, "9"),
    ];
    for (modifier, code) in attributes {
        if cell.modifier.contains(modifier) {
            codes.push(code.into());
        }
    }
    codes.extend(ansi_color(cell.fg, false));
    codes.extend(ansi_color(cell.bg, true));
    format!("\x1b[{}m", codes.join(";"))
}

fn ansi_color(color: Color, background: bool) -> Option<String> {
    let base = if background { 40 } else { 30 };
    let named = |n: u8| Some((base + n).to_string());
    let bright = |n: u8| Some((base + 60 + n).to_string());
    match color {
        Color::Reset => None,
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => bright(0),
        Color::LightRed => bright(1),
        Color::LightGreen => bright(2),
        Color::LightYellow => bright(3),
        Color::LightBlue => bright(4),
        Color::LightMagenta => bright(5),
        Color::LightCyan => bright(6),
        Color::White => bright(7),
        Color::Indexed(i) => Some(format!("{};5;{i}", base + 8)),
        Color::Rgb(r, g, b) => Some(format!("{};2;{r};{g};{b}", base + 8)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// A wide character covers two cells: a line is as wide as the frame,
    /// with no blank printed for the covered cell.
    #[test]
    fn a_wide_character_takes_its_two_cells_once() {
        use ratatui::layout::Rect;
        use ratatui::style::Style;
        let mut buffer = Buffer::empty(Rect::new(0, 0, 8, 1));
        buffer.set_string(0, 0, "│a🚀b漢│", Style::new());
        let line = text(&buffer, false);
        assert_eq!(line, "│a🚀b漢│\n");
        let cells = unicode_width::UnicodeWidthStr::width(line.trim_end());
        assert_eq!(cells, 8, "the frame's width: {line:?}");
        let coloured = text(&buffer, true);
        assert!(coloured.contains("│a🚀b漢│"), "{coloured:?}");
    }

    #[test]
    fn colour_follows_the_terminal_no_color_and_term_unless_explicit() {
        let auto = ColorChoice::Auto;
        assert!(use_color(auto, true, &env(&[("TERM", "xterm")])));
        assert!(!use_color(auto, false, &env(&[])), "piped");
        assert!(!use_color(auto, true, &env(&[("NO_COLOR", "1")])));
        assert!(
            !use_color(auto, true, &env(&[("NO_COLOR", "0")])),
            "any value"
        );
        assert!(
            use_color(auto, true, &env(&[("NO_COLOR", "")])),
            "empty is unset"
        );
        assert!(!use_color(auto, true, &env(&[("TERM", "dumb")])));
        assert!(use_color(
            ColorChoice::Always,
            false,
            &env(&[("NO_COLOR", "1")])
        ));
        assert!(!use_color(ColorChoice::Never, true, &env(&[])));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("120x30"), Ok((120, 30)));
        assert_eq!(parse_size("80×24"), Ok((80, 24)));
        assert!(parse_size("80").is_err());
        assert!(parse_size("0x24").is_err());
        assert!(parse_size("80x99999").is_err());
        assert!(parse_size("ax24").unwrap_err().contains("columns"));
    }

    #[test]
    fn sgr_sets_colours_and_attributes_from_scratch() {
        let mut cell = Cell::default();
        cell.set_symbol("x")
            .set_fg(Color::Cyan)
            .set_bg(Color::Indexed(236));
        cell.modifier = Modifier::BOLD | Modifier::REVERSED;
        assert_eq!(sgr(&cell), "\x1b[0;1;7;36;48;5;236m");
    }
}
