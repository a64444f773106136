//! The connection view: connecting (with the spinner), the failure with
//! its retry prompt, and the profile picker.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{block, spinner, theme};
use crate::app::connect::Phase;
use crate::app::state::State;
use crate::text::{fit, sanitize, width};

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let connect = &state.session.connect;
    let target = sanitize(&connect.target).into_owned();
    let (title, lines) = match &connect.phase {
        Phase::Connecting => (
            " Connecting ",
            vec![Line::from(format!(
                "{} connecting to {target}…",
                spinner(state)
            ))],
        ),
        Phase::Failed(error) => (
            " Not connected ",
            vec![
                Line::from(Span::styled(
                    format!("✗ {}", sanitize(&error.message)),
                    theme::error(),
                )),
                Line::from(""),
                Line::from(retry_prompt(state)),
            ],
        ),
        Phase::Picking => (" Profiles · Enter connects ", picker_lines(state, area)),
    };
    let block = block(Line::from(Span::styled(title, theme::title())), true);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn retry_prompt(state: &State) -> String {
    let mut prompt = String::from("Press r to retry");
    if !state.session.connect.profiles.is_empty() {
        prompt.push_str(", P to pick a profile");
    }
    if state.session.connect.open {
        prompt.push_str(", Esc to go back");
    }
    prompt + ", q to quit."
}

fn picker_lines(state: &State, area: Rect) -> Vec<Line<'static>> {
    let connect = &state.session.connect;
    let name_width = connect
        .profiles
        .iter()
        .map(|(name, _)| width(name))
        .max()
        .unwrap_or(0)
        .min(30);
    let room = (area.width as usize).saturating_sub(name_width + 8);
    let selected = connect.cursor.on_screen();
    connect
        .profiles
        .iter()
        .enumerate()
        .map(|(i, (name, target))| {
            let in_use = connect.open && connect.profile.as_deref() == Some(name.as_str());
            let mark = if in_use { "● " } else { "  " };
            let text = format!(
                "{mark}{:<name_width$}  {}",
                fit(&sanitize(name), name_width),
                fit(&sanitize(target), room)
            );
            let style = theme::selected_row(true);
            if Some(i) == selected {
                Line::from(Span::styled(text, style))
            } else {
                Line::from(text)
            }
        })
        .collect()
}
