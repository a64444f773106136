//! Copying (`y`, `Y`). Inside tmux (`$TMUX` set) the text goes to
//! `tmux load-buffer -w -`: the tmux buffer, and the system clipboard as
//! tmux's `set-clipboard` allows (its default, `external`, does not pass an
//! application's OSC 52 on, which is why tmux gets the text itself).
//! Elsewhere it is an OSC 52 sequence, which terminals turn into a
//! clipboard write, also over SSH; the runtime writes it between frames.
//! Either way the status line says which path the copy took.

use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// Where a copy goes: the terminal (OSC 52; a buffer in tests), or tmux.
#[derive(Clone)]
pub struct Clipboard(Route);

#[derive(Clone)]
enum Route {
    Terminal(Arc<Mutex<dyn Write + Send>>),
    /// `tmux load-buffer -w -`, with this `$TMUX` (the server's socket).
    Tmux {
        env: String,
    },
}

impl Clipboard {
    pub fn new(writer: impl Write + Send + 'static) -> Clipboard {
        Clipboard(Route::Terminal(Arc::new(Mutex::new(writer))))
    }

    /// The terminal the dashboard draws on; tmux when it runs inside tmux.
    pub fn terminal() -> Clipboard {
        Clipboard::for_env(&|name| std::env::var(name).ok(), io::stdout())
    }

    /// tmux when `TMUX` names its server, else OSC 52 to `writer`.
    pub fn for_env(
        env: &dyn Fn(&str) -> Option<String>,
        writer: impl Write + Send + 'static,
    ) -> Clipboard {
        match env("TMUX").filter(|value| !value.is_empty()) {
            Some(env) => Clipboard(Route::Tmux { env }),
            None => Clipboard::new(writer),
        }
    }

    /// Nowhere (a loop without a terminal).
    pub fn none() -> Clipboard {
        Clipboard::new(io::sink())
    }

    /// Whether a copy runs a program (tmux) rather than writing to the
    /// terminal: then it is not done on the terminal's thread.
    pub fn runs_a_program(&self) -> bool {
        matches!(self.0, Route::Tmux { .. })
    }

    /// Sends `text` to the system clipboard, its control characters
    /// escaped but for tabs and line breaks (see [`escaped`] for values).
    /// Ok: where it went, for the status line ("to the clipboard via …").
    pub fn copy(&self, text: &str) -> io::Result<String> {
        let text = escape(text, &['\t', '\n']);
        match &self.0 {
            Route::Terminal(writer) => {
                let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
                writer.write_all(osc52(&text).as_bytes())?;
                writer.flush()?;
                Ok("to the clipboard via the terminal (OSC 52)".into())
            }
            Route::Tmux { env } => tmux_copy(env, &text),
        }
    }
}

/// `tmux load-buffer -w -`, then what tmux's `set-clipboard` made of it.
fn tmux_copy(env: &str, text: &str) -> io::Result<String> {
    let tmux = |args: &[&str]| {
        let mut command = Command::new("tmux");
        command
            .args(args)
            .env("TMUX", env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let mut load = tmux(&["load-buffer", "-w", "-"])
        .spawn()
        .map_err(|e| io::Error::other(format!("tmux: {e}")))?;
    // A tmux that exits at once (no server) closes the pipe first: its
    // own message says why better than the broken pipe does.
    let written = load.stdin.take().expect("piped").write_all(text.as_bytes());
    let out = load.wait_with_output()?;
    if !out.status.success() || written.is_err() {
        let said = String::from_utf8_lossy(&out.stderr);
        let why = match (said.trim(), written) {
            ("", Err(e)) => e.to_string(),
            (said, _) => said.to_string(),
        };
        return Err(io::Error::other(format!(
            "tmux load-buffer -w: {}",
            crate::text::sanitize(&why)
        )));
    }
    let setting = tmux(&["show-options", "-gv", "set-clipboard"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    Ok(if setting == "off" {
        "to the tmux buffer only: tmux's set-clipboard is off \
         (set -g set-clipboard external to reach the clipboard)"
            .into()
    } else {
        "to the tmux buffer and clipboard (tmux load-buffer -w)".into()
    })
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

    /// Inside tmux (`$TMUX`) the copy lands in tmux's buffer, and the
    /// status names the path; with set-clipboard off it says what to set.
    /// (It used to write OSC 52, which tmux's default drops, and say
    /// "copied".) A private tmux server on a socket of its own.
    #[test]
    fn inside_tmux_the_copy_goes_through_tmux_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let socket = socket.to_str().unwrap();
        let tmux = |args: &[&str]| {
            let out = Command::new("tmux")
                .args(["-S", socket, "-f", "/dev/null"])
                .args(args)
                .env_remove("TMUX")
                .output()
                .expect("tmux (Debian tmux)");
            assert!(out.status.success(), "{args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        tmux(&["new-session", "-d", "-x", "80", "-y", "24"]);
        let env = format!("{socket},0,0");
        let written = Arc::new(Mutex::new(Vec::new()));
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let clipboard = Clipboard::for_env(
            &|name| (name == "TMUX").then(|| env.clone()),
            Shared(written.clone()),
        );
        assert!(clipboard.runs_a_program());
        let said = clipboard.copy("id\t9\x1b").unwrap();
        assert_eq!(tmux(&["show-buffer"]), "id\t9^[");
        assert!(written.lock().unwrap().is_empty(), "no OSC 52 besides");
        assert_eq!(
            said,
            "to the tmux buffer and clipboard (tmux load-buffer -w)"
        );
        tmux(&["set-option", "-g", "set-clipboard", "off"]);
        let said = clipboard.copy("10").unwrap();
        assert_eq!(tmux(&["show-buffer"]), "10");
        assert!(said.contains("set -g set-clipboard external"), "{said}");
        tmux(&["kill-server"]);
        // A server that is gone: an error, never "copied".
        let error = clipboard.copy("11").unwrap_err().to_string();
        assert!(error.starts_with("tmux load-buffer -w: "), "{error}");
        // Outside tmux: OSC 52 to the terminal, and said so.
        let plain = Clipboard::for_env(&|_| None, Shared(written.clone()));
        assert!(!plain.runs_a_program());
        let said = plain.copy("3").unwrap();
        assert_eq!(said, "to the clipboard via the terminal (OSC 52)");
        assert_eq!(*written.lock().unwrap(), osc52("3").into_bytes());
    }

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
