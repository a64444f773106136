//! Text that is safe and tidy to put on a terminal.

use std::borrow::Cow;

use bigdecimal::BigDecimal;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Makes control characters visible so data can never drive the terminal:
/// C0/C1 controls become `\u{..}`-style escapes, bidi overrides and
/// zero-width characters are shown as `<U+....>`.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '\x1b' => out.push_str("^["),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if needs_escape(ch) => out.push_str(&format!("<U+{:04X}>", ch as u32)),
            ch => out.push(ch),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    ch.is_control()
        || matches!(ch,
            '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space
            | '\u{00AD}'              // soft hyphen
        )
}

/// Collapses whitespace, newlines included, so a message fits one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Display width in terminal cells.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Sanitizes, then cuts to at most `max` cells, ending in `…` when cut.
pub fn fit(text: &str, max: usize) -> String {
    let clean = sanitize(text);
    if width(&clean) <= max {
        return clean.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in clean.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// Pads (or cuts) to exactly `cells` wide, text on the left.
pub fn pad_right(text: &str, cells: usize) -> String {
    let fitted = fit(text, cells);
    let w = width(&fitted);
    format!("{fitted}{}", " ".repeat(cells.saturating_sub(w)))
}

/// Pads to exactly `cells` wide, text on the right (numbers).
pub fn pad_left(text: &str, cells: usize) -> String {
    let fitted = fit(text, cells);
    let w = width(&fitted);
    format!("{}{fitted}", " ".repeat(cells.saturating_sub(w)))
}

/// An exact amount with thousands separators: `50,000.00`, `-1,234.5`,
/// `0.001`. Every digit is kept: nothing is rounded or cut.
pub fn money(value: &BigDecimal) -> String {
    let plain = value.to_plain_string();
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let mut out = format!("{sign}{}", thousands(whole));
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// Groups a run of digits by three: `1234567` → `1,234,567`.
pub fn thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn escapes_terminal_control() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\x1b[31mred"), "a^[[31mred");
        assert_eq!(sanitize("\x1b]0;title\x07"), "^[]0;title<U+0007>");
        assert_eq!(sanitize("abc\u{202E}def"), "abc<U+202E>def");
        assert_eq!(sanitize("zero\u{200B}width"), "zero<U+200B>width");
        assert_eq!(sanitize("line\nbreak"), "line\\nbreak");
        assert_eq!(sanitize("\u{9b}31m"), "<U+009B>31m");
    }

    #[test]
    fn fit_cuts_by_display_width() {
        assert_eq!(fit("hello", 10), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        assert_eq!(width(&fit("日本語テキスト", 6)), 5);
        assert_eq!(pad_right("日本", 6), "日本  ");
        assert_eq!(pad_left("1.00", 6), "  1.00");
        assert_eq!(fit("anything", 0), "");
    }

    #[test]
    fn money_format_keeps_every_digit() {
        let m = |s: &str| money(&BigDecimal::from_str(s).unwrap());
        assert_eq!(m("50000.00"), "50,000.00");
        assert_eq!(m("999.5"), "999.5");
        assert_eq!(m("1234567.891"), "1,234,567.891");
        assert_eq!(m("-4000.00"), "-4,000.00");
        assert_eq!(m("-400.00"), "-400.00");
        assert_eq!(m("0"), "0");
        assert_eq!(m("0.001"), "0.001");
        assert_eq!(m("9999999999.99"), "9,999,999,999.99");
        assert_eq!(
            m("100000000000000000000000000000"),
            "100,000,000,000,000,000,000,000,000,000"
        );
    }
}
