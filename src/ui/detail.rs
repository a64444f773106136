//! The detail popup: every value whole, wrapped and sanitized, the one `y`
//! copies marked.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme;
use crate::app::detail::Detail;
use crate::text::{sanitize, width};

pub fn draw(detail: &Detail, frame: &mut Frame, screen: Rect) {
    let popup_width = 72.min(screen.width);
    // Inside the borders, after the value's indent.
    let text_width = popup_width.saturating_sub(2 + INDENT as u16).max(1) as usize;
    let mut lines = Vec::new();
    // The first line of each field, to keep the cursor's on screen.
    let mut starts = Vec::new();
    for (index, (label, value)) in detail.fields.iter().enumerate() {
        starts.push(lines.len());
        let chosen = index == detail.cursor;
        let marker = if chosen { "▶ " } else { "  " };
        let style = if chosen {
            theme::selected_row(true)
        } else {
            theme::key()
        };
        lines.push(Line::from(Span::styled(format!("{marker}{label}"), style)));
        let shown = sanitize(value);
        let shown = if shown.is_empty() {
            "(empty)".into()
        } else {
            shown
        };
        // Wrapped by hand, on spaces, within the indent; a word wider than
        // the popup is cut where it must.
        for chunk in wrap(&shown, text_width) {
            lines.push(Line::from(format!("{:INDENT$}{chunk}", "")));
        }
    }
    let height = (lines.len() as u16 + 2).min(screen.height);
    let area = Rect::new(
        screen.x + (screen.width - popup_width) / 2,
        screen.y + (screen.height - height) / 2,
        popup_width,
        height,
    );
    let inner_height = height.saturating_sub(2) as usize;
    let next = starts
        .get(detail.cursor + 1)
        .copied()
        .unwrap_or(lines.len());
    let scroll = next.saturating_sub(inner_height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Line::from(Span::styled(
            format!(" {} · Esc closes ", sanitize(&detail.title)),
            theme::title(),
        )))
        .title_bottom(Line::from(Span::styled(
            " j/k value · y copies it ",
            theme::dim(),
        )));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0)),
        area,
    );
}

/// Cells a value is indented under its label.
const INDENT: usize = 4;

/// `text` in lines at most `cells` wide, broken at spaces; a word wider
/// than a line is cut into pieces. Spaces inside a line are kept (and
/// those leading the value); the space a line breaks at is dropped.
fn wrap(text: &str, cells: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for (i, word) in text.split(' ').enumerate() {
        let spaced = if i == 0 || (line.is_empty() && !out.is_empty()) {
            0
        } else {
            1
        };
        if width(&line) + spaced + width(word) <= cells {
            if spaced == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        for ch in word.chars() {
            if !line.is_empty() && width(&line) + width(&ch.to_string()) > cells {
                out.push(std::mem::take(&mut line));
            }
            line.push(ch);
        }
    }
    out.push(line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_only_words_wider_than_a_line() {
        assert_eq!(
            wrap("Longname06 Longname07", 12),
            ["Longname06", "Longname07"]
        );
        assert_eq!(wrap("a b  c", 12), ["a b  c"]);
        assert_eq!(wrap("  lead", 12), ["  lead"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab abcdefghij", 4), ["ab", "abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    /// A long name in a narrow popup: every piece under the indent, inside
    /// the border, and no word cut ("Longn" / "ame06" before).
    #[test]
    fn a_long_value_wraps_on_words_within_its_indent() {
        // Two words are 35 cells: one more than a line holds.
        let name = "Longname000000001 Longname000000002 Longname000000003";
        let detail = Detail {
            title: "User 1".into(),
            fields: vec![("Name".into(), name.into())],
            cursor: 0,
        };
        let mut terminal = Terminal::new(TestBackend::new(40, 12)).unwrap();
        terminal
            .draw(|frame| draw(&detail, frame, frame.area()))
            .unwrap();
        let text = crate::fixtures::frame_text(terminal.backend().buffer());
        let values: Vec<&str> = text.lines().filter(|l| l.contains("Longname")).collect();
        assert!(values.len() >= 2, "{text}");
        let mut words = Vec::new();
        for line in values {
            let inner = line
                .trim_start_matches('"')
                .trim_end_matches('"')
                .strip_prefix('│')
                .and_then(|l| l.strip_suffix('│'))
                .unwrap_or_else(|| panic!("inside the border: {text}"));
            assert!(inner.starts_with("    L"), "under the indent: {text}");
            words.extend(inner.split_whitespace().map(str::to_string));
        }
        assert_eq!(words.join(" "), name, "{text}");
    }
}
