//! The type-to-filter picker (the comparison tenant, the profiles): the
//! prompt, then only the matches on screen, the one under the cursor
//! marked `▶`, the one in use `●`; how many match in the bottom border.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::{prompt, theme};
use crate::app::picker::{self, Choice, Picker};
use crate::text::{sanitize, thousands, width};

/// Draws `picker` centred in `body` (the area below the header).
pub fn draw(picker: &Picker, title: &str, frame: &mut Frame, body: Rect) {
    let area = picker::area(body);
    let rows = area.height.saturating_sub(3) as usize;
    let inner = area.width.saturating_sub(2) as usize;
    let visible: Vec<_> = picker.visible(rows).collect();
    // The labels take half the row and 8 cells, the details the rest; all
    // of it where no detail is shown.
    let details = visible.iter().any(|(choice, _)| !choice.detail.is_empty());
    let label_width = visible
        .iter()
        .map(|(choice, _)| width(&sanitize(&choice.label)))
        .max()
        .unwrap_or(0)
        .min(match details {
            true => inner.saturating_sub(4) / 2 + 8,
            false => inner.saturating_sub(4 + 2),
        });
    let room = inner.saturating_sub(4 + label_width + 2);
    // Labels (and details) alike read apart, cut where they differ.
    let column = |text: fn(&Choice) -> &str, cells: usize| {
        let texts: Vec<_> = visible
            .iter()
            .map(|(c, _)| (text(c).to_string(), cells))
            .collect();
        super::distinct_fits(&texts)
    };
    let labels = column(|c| &c.label, label_width);
    let details = column(|c| &c.detail, room);
    let mut lines = vec![Line::from(vec![
        Span::styled("› ", theme::key()),
        Span::raw(prompt(&picker.input)),
    ])];
    for (((choice, selected), label), detail) in visible.into_iter().zip(labels).zip(details) {
        let cursor = if selected { "▶ " } else { "  " };
        let mark = if choice.marked { "● " } else { "  " };
        let pad = label_width.saturating_sub(width(&label));
        let text = format!("{cursor}{mark}{label}{:pad$}  {detail}", "");
        // Escaped already (label and detail): cut, not escaped again.
        let text = crate::text::cut(&text, inner);
        lines.push(if selected {
            Line::from(Span::styled(text, theme::selected_row(true)))
        } else {
            Line::from(text)
        });
    }
    if picker.matching() == 0 {
        lines.push(Line::from(Span::styled("  nothing matches", theme::dim())));
    }
    let count = format!(
        " {} of {} ",
        thousands(picker.matching() as i64),
        thousands(picker.len() as i64)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Line::from(Span::styled(
            format!(" {title} · type to filter · Enter picks · Esc cancels "),
            theme::title(),
        )))
        .title_bottom(Line::from(Span::styled(count, theme::dim())));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
