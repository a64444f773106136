//! Copying (`y`, `Y`) through the terminal: an OSC 52 sequence, which
//! terminals turn into a clipboard write, also over SSH (tmux passes it on
//! with `set -g set-clipboard on`). The runtime writes it between frames.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// Where OSC 52 goes: the terminal, or a buffer in tests.
#[derive(Clone)]
pub struct Clipboard(Arc<Mutex<dyn Write + Send>>);

impl Clipboard {
    pub fn new(writer: impl Write + Send + 'static) -> Clipboard {
        Clipboard(Arc::new(Mutex::new(writer)))
    }

    /// The terminal the dashboard draws on.
    pub fn terminal() -> Clipboard {
        Clipboard::new(io::stdout())
    }

    /// Nowhere (a loop without a terminal).
    pub fn none() -> Clipboard {
        Clipboard::new(io::sink())
    }

    /// Sends `text` to the system clipboard, its control characters
    /// escaped but for tabs and line breaks (see [`escaped`] for values).
    pub fn copy(&self, text: &str) -> io::Result<()> {
        let mut writer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        writer.write_all(osc52(&escape(text, &['\t', '\n'])).as_bytes())?;
        writer.flush()
    }
}

/// A value as the clipboard gets it: pasted into a shell, raw control
/// characters could run a command (ESC sequences, a line break that
/// submits the line), so they are escaped as on screen (`^[`, `\n`,
/// `<U+0007>`); the rest is exact. A line break reaches the clipboard
/// only between the rows of a multi-line copy, a tab only between cells.
pub fn escaped(value: &str) -> String {
    escape(value, &[])
}

/// `text` with every character a terminal could act on or hide escaped,
/// but those in `keep`.
fn escape(text: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            ch if keep.contains(&ch) => out.push(ch),
            '\x1b' => out.push_str("^["),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if crate::text::needs_escape(ch) => out.push_str(&format!("<U+{:04X}>", ch as u32)),
            ch => out.push(ch),
        }
    }
    out
}

/// `ESC ] 52 ; c ; <base64> ST`: base64 carries any text, control
/// characters included, without the terminal interpreting them.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x1b\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_reach_the_clipboard_escaped() {
        assert_eq!(
            escaped("a\x1b]0;t\x07\nrm -rf ~\tb"),
            "a^[]0;t<U+0007>\\nrm -rf ~\\tb"
        );
        assert_eq!(escape("a\tb\nc\x1b", &['\t', '\n']), "a\tb\nc^[");
    }

    #[test]
    fn the_sequence_carries_the_text_in_base64() {
        // Control characters travel encoded, never raw to the terminal.
        for (text, base64) in [("3", "Mw=="), ("a\tb\n\x1b", "YQliChs=")] {
            assert_eq!(osc52(text), format!("\x1b]52;c;{base64}\x1b\\"));
        }
    }
}
