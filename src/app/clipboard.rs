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

    /// Sends `text` to the system clipboard.
    pub fn copy(&self, text: &str) -> io::Result<()> {
        let mut writer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        writer.write_all(osc52(text).as_bytes())?;
        writer.flush()
    }
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
    fn the_sequence_carries_the_text_in_base64() {
        // Control characters travel encoded, never raw to the terminal.
        for (text, base64) in [("3", "Mw=="), ("a\tb\n\x1b", "YQliChs=")] {
            assert_eq!(osc52(text), format!("\x1b]52;c;{base64}\x1b\\"));
        }
    }
}
