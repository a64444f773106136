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
    let text_width = popup_width.saturating_sub(4).max(1) as usize;
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
        // Wrapped by hand so that long values without spaces wrap too.
        for chunk in chunks(&shown, text_width) {
            lines.push(Line::from(format!("    {chunk}")));
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

/// `text` in pieces at most `cells` wide.
fn chunks(text: &str, cells: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for ch in text.chars() {
        let last = out.last_mut().expect("never empty");
        if width(last) + width(&ch.to_string()) > cells {
            out.push(String::new());
        }
        out.last_mut().expect("never empty").push(ch);
    }
    out
}
