//! The `--log-file` writer: what reaches the log is escaped as on the
//! terminal ([`crate::text::sanitize`]), so data quoted in a log line (an
//! id, a tenant, a server message) cannot retitle or clear the terminal of
//! whoever `tail`s the log, nor forge a line. Each event is one write
//! ending in a line break: that last break is kept, any other escaped.

use std::io::{self, Write};

pub struct Sanitizing<W: Write>(pub W);

/// One log event as it is written.
pub fn escape_event(text: &str) -> String {
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    format!("{}{end}", crate::text::sanitize(body))
}

impl<W: Write> Write for Sanitizing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(escape_event(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_keeps_its_line_break_and_nothing_else_raw() {
        let mut out = Vec::new();
        let mut log = Sanitizing(&mut out);
        log.write_all(b"id=\x1b]0;pwned\x07 x\ny=1\n").unwrap();
        let written = String::from_utf8(out).unwrap();
        assert_eq!(written, "id=^[]0;pwned<U+0007> x\\ny=1\n");
    }
}
