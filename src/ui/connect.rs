//! The connection view: connecting (with the spinner), the failure with
//! its retry prompt, and the profile picker.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{block, spinner, theme};
use crate::app::connect::Phase;
use crate::app::state::State;
use crate::text::sanitize;

pub fn draw(state: &State, frame: &mut Frame, area: Rect) {
    let connect = &state.session.connect;
    let (title, lines) = match &connect.phase {
        Phase::Connecting => (
            " Connecting ",
            vec![Line::from(format!(
                "{} {}",
                spinner(state),
                sanitize(&connect.doing())
            ))],
        ),
        Phase::Failed(error) => (
            " Not connected ",
            vec![
                Line::from(Span::styled(
                    format!("✗ {}", crate::text::message_line(&error.message)),
                    theme::error(),
                )),
                Line::from(""),
                Line::from(retry_prompt(state)),
            ],
        ),
        Phase::Picking => {
            super::picker::draw(&connect.picker, "Profiles", frame, area);
            return;
        }
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
        // The header still describes it: say that it is still open.
        let open = sanitize(&state.target);
        prompt.push_str(&format!(", Esc to go back to {open} (still open)"));
    }
    prompt + ", q to quit."
}
