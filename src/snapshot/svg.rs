//! A frame as a self-contained SVG: a rectangle per run of one background
//! colour, the text in a monospace font as spans of cells, each placed by
//! its own x and stretched to its cells' width (`textLength`), so columns,
//! box drawing and wide characters line up whatever the renderer and font.

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

const CELL_W: u32 = 9;
const CELL_H: u32 = 18;
const FONT_SIZE: u32 = 15;
/// The terminal's own colours, for `Color::Reset`.
const DEFAULT_FG: &str = "#d0d0d0";
const DEFAULT_BG: &str = "#1c1c1c";

/// `color`: false draws everything in the default colours (`--color never`).
pub fn render(buffer: &Buffer, color: bool) -> String {
    let width = buffer.area.width as u32;
    let height = buffer.area.height as u32;
    let (w, h) = (width * CELL_W, height * CELL_H);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace\" \
         font-size=\"{FONT_SIZE}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{DEFAULT_BG}\"/>\n"
    );
    let rows: Vec<&[Cell]> = buffer.content().chunks(width.max(1) as usize).collect();
    for (y, row) in rows.iter().enumerate() {
        let top = y as u32 * CELL_H;
        // Backgrounds, one rectangle per run.
        let mut x = 0;
        while x < row.len() {
            let bg = colors(&row[x], color).1;
            let start = x;
            while x < row.len() && colors(&row[x], color).1 == bg {
                x += 1;
            }
            if bg != DEFAULT_BG {
                out.push_str(&format!(
                    "<rect x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{CELL_H}\" fill=\"{bg}\"/>\n",
                    start as u32 * CELL_W,
                    (x - start) as u32 * CELL_W
                ));
            }
        }
        // Text, one tspan per span of cells, each at its own x and as wide
        // as its cells (textLength): renderers that take one x per tspan
        // (librsvg, Qt, Skia) place every span where the terminal does.
        let baseline = top + CELL_H - 5;
        let mut spans = String::new();
        for span in spans_of(row, color) {
            spans.push_str(&format!(
                "<tspan x=\"{}\" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\"{}>{}</tspan>",
                span.start as u32 * CELL_W,
                span.cells as u32 * CELL_W,
                span.style,
                span.text
            ));
        }
        if !spans.is_empty() {
            out.push_str(&format!(
                "<text y=\"{baseline}\" xml:space=\"preserve\">{spans}</text>\n"
            ));
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Text drawn at one x: `cells` cells from `start`, in one style.
struct Span {
    start: usize,
    cells: usize,
    style: String,
    text: String,
}

/// A row's text as spans: a run of one style, ended by a change of style,
/// two blank cells, or a cell that is not ASCII (box drawing, marks, wide
/// characters get a span each, as wide as their cells). Inside a span one
/// blank is kept as a space (`xml:space="preserve"`); only ASCII text
/// shares a span, whose glyphs a monospace font sets one cell apart.
fn spans_of(row: &[Cell], color: bool) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut current: Option<Span> = None;
    let mut blanks = 0;
    let mut x = 0;
    while x < row.len() {
        let cell = &row[x];
        let symbol = cell.symbol();
        let width = unicode_width::UnicodeWidthStr::width(symbol).max(1);
        if symbol.trim().is_empty() {
            blanks += 1;
            if blanks >= 2 {
                spans.extend(current.take());
            }
            x += 1;
            continue;
        }
        let style = text_style(cell, color);
        let ascii = symbol.is_ascii();
        let joins = current
            .as_ref()
            .is_some_and(|span| ascii && span.style == style && span.text.is_ascii());
        if joins {
            let span = current.as_mut().expect("joins an open span");
            for _ in 0..blanks {
                span.text.push(' ');
            }
            span.cells += blanks + width;
            span.text.extend(symbol.chars().map(escape));
        } else {
            spans.extend(current.take());
            current = Some(Span {
                start: x,
                cells: width,
                style,
                text: symbol.chars().map(escape).collect(),
            });
            if !ascii {
                spans.extend(current.take());
            }
        }
        blanks = 0;
        x += width;
    }
    spans.extend(current);
    spans
}

/// (foreground, background) as the cell shows them, reversal applied.
fn colors(cell: &Cell, color: bool) -> (String, String) {
    if !color {
        return (DEFAULT_FG.into(), DEFAULT_BG.into());
    }
    let fg = hex(cell.fg).unwrap_or_else(|| DEFAULT_FG.into());
    let bg = hex(cell.bg).unwrap_or_else(|| DEFAULT_BG.into());
    if cell.modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

/// The tspan attributes for a cell's text.
fn text_style(cell: &Cell, color: bool) -> String {
    let mut style = format!(" fill=\"{}\"", colors(cell, color).0);
    if color {
        let m = cell.modifier;
        if m.contains(Modifier::BOLD) {
            style.push_str(" font-weight=\"bold\"");
        }
        if m.contains(Modifier::ITALIC) {
            style.push_str(" font-style=\"italic\"");
        }
        if m.contains(Modifier::DIM) {
            style.push_str(" opacity=\"0.6\"");
        }
        if m.contains(Modifier::UNDERLINED) {
            style.push_str(" text-decoration=\"underline\"");
        }
    }
    style
}

/// xterm's default palette.
fn hex(color: Color) -> Option<String> {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(i) => i,
    };
    let (r, g, b) = match index {
        0..=15 => BASE[index as usize],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (index - 232) * 10;
            (v, v, v)
        }
    };
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

fn escape(ch: char) -> String {
    match ch {
        '&' => "&amp;".into(),
        '<' => "&lt;".into(),
        '>' => "&gt;".into(),
        '"' => "&quot;".into(),
        // The frame's text is already escaped for the screen; anything that
        // XML 1.0 cannot hold (C0 controls, U+FFFE, U+FFFF) or asks authors
        // to avoid (DEL, C1 controls, the other noncharacters) still must
        // not break the document.
        c if c.is_control() || crate::text::is_noncharacter(c) => "\u{FFFD}".into(),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn row(text: &str) -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 20, 1));
        buffer.set_string(0, 0, text, ratatui::style::Style::new());
        buffer
    }

    /// What XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF) or discourages
    /// (DEL, C1 controls, the other noncharacters) never reaches the SVG,
    /// even from a cell the screen's escapes missed: U+FFFE was written
    /// raw, and librsvg refused the document.
    #[test]
    fn characters_xml_cannot_hold_are_replaced() {
        let odd = [
            '\u{1}',
            '\u{7F}',
            '\u{9B}',
            '\u{FDD0}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{10FFFF}',
        ];
        let mut buffer = Buffer::empty(Rect::new(0, 0, odd.len() as u16 + 1, 1));
        buffer[(0, 0)].set_symbol("a");
        for (x, ch) in (1..).zip(odd) {
            buffer[(x, 0)].set_symbol(&ch.to_string());
        }
        let svg = render(&buffer, false);
        for ch in odd {
            assert!(!svg.contains(ch), "U+{:04X} written raw", ch as u32);
        }
        assert_eq!(svg.matches('\u{FFFD}').count(), odd.len(), "{svg}");
    }

    #[test]
    fn a_row_is_spans_at_their_cells_with_their_widths() {
        let buffer = row("Id Name  Mail│日本x");
        let spans: Vec<_> = spans_of(buffer.content(), true)
            .into_iter()
            .map(|s| (s.start, s.cells, s.text))
            .collect();
        assert_eq!(
            spans,
            [
                (0, 7, "Id Name".to_string()),
                (9, 4, "Mail".to_string()),
                (13, 1, "│".to_string()),
                (14, 2, "日".to_string()),
                (16, 2, "本".to_string()),
                (18, 1, "x".to_string()),
            ]
        );
        let svg = render(&buffer, true);
        assert!(svg.contains(
            "<tspan x=\"0\" textLength=\"63\" lengthAdjust=\"spacingAndGlyphs\" fill=\"#d0d0d0\">Id Name</tspan>"
        ), "{svg}");
        assert!(svg.contains("xml:space=\"preserve\""));
    }
}
