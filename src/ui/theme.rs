//! Colours and styles. Meaning never rests on colour alone: every coloured
//! state also has a symbol or word.

use ratatui::style::{Color, Modifier, Style};

pub const ACCENT: Color = Color::Cyan;

pub fn title() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn header_row() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

pub fn selected_row(focused: bool) -> Style {
    if focused {
        Style::new()
            .bg(Color::Blue)
            .fg(Color::White)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

pub fn error() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

/// The comparison tenant is cheaper.
pub fn cheaper() -> Style {
    Style::new().fg(Color::Green)
}

/// The comparison tenant is dearer.
pub fn dearer() -> Style {
    Style::new().fg(Color::Red)
}

pub fn key() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn total_row() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Whether the dashboard draws without colour: NO_COLOR set to anything
/// non-empty (no-color.org), or a monochrome terminal (a terminfo
/// `-m`/`-mono` variant such as xterm-mono).
pub fn monochrome(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let term = env("TERM").unwrap_or_default();
    env("NO_COLOR").is_some_and(|value| !value.is_empty())
        || term.ends_with("-mono")
        || term.ends_with("-m")
}

/// A drawn frame without colour, its meaning kept in attributes: a cell
/// with a background (the selection, a highlight) is reversed, dimmed text
/// (DarkGray) is dim; bold and underline stay. No colour is left to write,
/// so the terminal never gets a colour sequence, which crossterm turns into
/// a bare reset under NO_COLOR (dropping the attributes set before it).
pub fn to_monochrome(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.bg != Color::Reset {
            cell.modifier.insert(Modifier::REVERSED);
        }
        if cell.fg == Color::DarkGray {
            cell.modifier.insert(Modifier::DIM);
        }
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        cell.underline_color = Color::Reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    #[test]
    fn monochrome_follows_no_color_and_mono_terminals() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(monochrome(&env(&[("NO_COLOR", "1")])));
        assert!(!monochrome(&env(&[("NO_COLOR", "")])));
        assert!(!monochrome(&env(&[("TERM", "xterm-256color")])));
        assert!(monochrome(&env(&[("TERM", "xterm-mono")])));
        assert!(monochrome(&env(&[("TERM", "linux-m")])));
    }

    #[test]
    fn the_selection_and_emphasis_survive_without_colour() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
        buffer[(0, 0)].set_style(selected_row(true));
        buffer[(1, 0)].set_style(header_row().fg(ACCENT));
        buffer[(2, 0)].set_style(dim());
        buffer[(3, 0)].set_style(dearer());
        to_monochrome(&mut buffer);
        let cells: Vec<_> = buffer.content.iter().collect();
        assert!(cells
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
        assert!(cells[0]
            .modifier
            .contains(Modifier::REVERSED | Modifier::BOLD));
        assert_eq!(
            cells[1].modifier,
            Modifier::BOLD | Modifier::UNDERLINED,
            "a header keeps its emphasis and gets nothing else"
        );
        assert_eq!(cells[2].modifier, Modifier::DIM);
        assert_eq!(cells[3].modifier, Modifier::empty());
    }
}
