//! Text that is safe and tidy to put on a terminal.

use std::borrow::Cow;

use bigdecimal::BigDecimal;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Makes control characters visible so data can never drive the terminal:
/// C0/C1 controls become `\u{..}`-style escapes, bidi overrides,
/// zero-width characters, noncharacters and unassigned code points are
/// shown as `<U+....>` ([`needs_escape`]).
///
/// A backslash is doubled (`\\`), so an escaped line break (`\n`) is
/// never confused with a literal backslash and `n` in the data (`\\n`).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    escaped(text, true)
}

/// [`sanitize`]'s escapes, backslashes doubled or not.
fn escaped(text: &str, backslashes: bool) -> Cow<'_, str> {
    let composed = is_composed(text);
    if composed
        && !text
            .chars()
            .any(|ch| (backslashes && ch == '\\') || needs_escape(ch))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous = None;
    for ch in text.chars() {
        match ch {
            '\\' if backslashes => out.push_str("\\\\"),
            '\x1b' => out.push_str("^["),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if needs_escape(ch) || (!composed && not_composed(previous, ch)) => {
                out.push_str(&format!("<U+{:04X}>", ch as u32))
            }
            ch => out.push(ch),
        }
        previous = Some(ch);
    }
    Cow::Owned(out)
}

/// `text` is in Unicode's composed form (NFC), as nearly all text a
/// database holds is.
fn is_composed(text: &str) -> bool {
    use unicode_normalization::{is_nfc_quick, IsNormalized};
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => unicode_normalization::is_nfc(text),
    }
}

/// `ch`, after `previous`, is not as the composed form writes it: a mark
/// that composes with the character before it (`e` + U+0301 is `é`), or
/// a character it replaces (U+212B ANGSTROM SIGN is `Å`). Shown escaped,
/// `cafe<U+0301>` is not taken for the schema `café` it reads as (the
/// tenants pane listed `café ok` over `café no schema`); marks that compose
/// with nothing (Hebrew points, Thai vowels) are left as they are.
fn not_composed(previous: Option<char>, ch: char) -> bool {
    let composes = previous.is_some_and(|p| unicode_normalization::char::compose(p, ch).is_some());
    composes || !is_composed(ch.encode_utf8(&mut [0; 4]))
}

/// `text` in quotes when a space (or other blank) at either end would be
/// lost in a table cell: `"acme "` is not the tenant `acme`. Tables of
/// names and ids show it so; CSV and JSON keep the value as it is. (A
/// value that holds the quotes itself reads the same: rare enough.)
pub fn cell_text(text: &str) -> Cow<'_, str> {
    let blank_edge = text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace);
    if blank_edge {
        Cow::Owned(format!("\"{text}\""))
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` in double quotes as messages name a value: escaped once
/// ([`sanitize`]), a quote inside as `\"`. (`{:?}` of sanitized text
/// escaped its backslashes a second time: a line break read `\\n`.)
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", sanitize(text).replace('"', "\\\""))
}

/// An id as the tables show it, where they write `(none)` for NULL and
/// `(empty)` for an empty one: a value that reads like either is quoted,
/// so that it is not taken for one.
pub fn id_cell(id: Option<&str>) -> Cow<'_, str> {
    match id {
        None => Cow::Borrowed("(none)"),
        Some("") => Cow::Borrowed("(empty)"),
        Some(id @ ("(none)" | "(empty)")) => Cow::Owned(format!("\"{id}\"")),
        Some(id) => Cow::Borrowed(id),
    }
}

/// An id or name as a table cell shows it, unescaped: [`id_cell`]'s
/// words for NULL and empty, quoted where blank at an end ([`cell_text`]).
pub fn id_text(value: Option<&str>) -> String {
    cell_text(&id_cell(value)).into_owned()
}

/// A name or id as a table cell shows it: escaped ([`sanitize`]) and
/// quoted where blank at an end ([`cell_text`]).
pub fn name_cell(text: &str) -> String {
    sanitize(&cell_text(text)).into_owned()
}

/// A message for the screen (an error, a notice) made of values escaped
/// when it was made ([`quoted`], [`sanitize`]) and our own words:
/// [`sanitize`]'s escapes of control and invisible characters, but its
/// backslashes as they are (a second [`sanitize`] doubled the values'
/// escapes: `"cli\\nent"` for a line break). Raw text (a server's words
/// with data in them) takes [`sanitize`] instead.
pub fn message_line(text: &str) -> Cow<'_, str> {
    escaped(text, false)
}

/// Whether a terminal could act on `ch` or hide it: C0, DEL and C1
/// controls, bidi controls, zero-width or invisible characters, and
/// noncharacters and unassigned code points (General_Category Cn), whose
/// width the terminal and the screen's tables need not agree on (U+FFFE
/// doubled a pane's border) and which XML cannot hold (U+FFFE, U+FFFF).
pub fn needs_escape(ch: char) -> bool {
    if ch.is_ascii() {
        return ch.is_ascii_control();
    }
    ch.is_control()
        || is_noncharacter(ch)
        || ch.general_category() == GeneralCategory::Unassigned
        || matches!(ch,
            '\u{061C}'               // Arabic letter mark (bidi)
            | '\u{180E}'             // Mongolian vowel separator (zero-width)
            | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space
            | '\u{00AD}'              // soft hyphen
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation controls
        )
}

/// One of Unicode's 66 noncharacters: U+FDD0..U+FDEF and the last two
/// code points of every plane (U+FFFE, U+FFFF, …, U+10FFFF). Cn as well;
/// said apart so that it does not hang on the Unicode tables.
pub fn is_noncharacter(ch: char) -> bool {
    let code = ch as u32;
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

/// Replaces passwords in text that may quote configuration (a TOML line, an
/// environment value, a URL) with `***`: the password of any
/// `scheme://user:PASSWORD@host`, and any `password=VALUE` or
/// `password: VALUE` (quoted or not). Errors pass through this before they
/// are shown or logged, so no error can show a password. It errs on the
/// side of hiding too much.
pub fn redact_secrets(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| redact_keywords(&redact_encoded_keys(&redact_url_passwords(line))))
        .collect()
}

/// A URL's query value under a percent-encoded `password` key
/// (`?pass%77ord=…`): libpq decodes the keys, so it is the password, which
/// [`redact_keywords`] (the plain word) does not see. The URL runs to
/// white space or a quote; the value to `&` or the line's end.
fn redact_encoded_keys(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(scheme_end) = rest.find("://").map(|i| i + 3) {
        let url_end = rest[scheme_end..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .map_or(rest.len(), |i| scheme_end + i);
        let (url, after) = rest.split_at(url_end);
        match url.split_once('?') {
            Some((base, query)) if query.contains('%') => {
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((key, _)) if is_password_key(key) => format!("{key}=***"),
                        // `pass%77ord%3DSECRET`: no `=` until decoded.
                        None if is_password_key(pair) => "***".to_string(),
                        _ => pair.to_string(),
                    })
                    .collect();
                out.push_str(base);
                out.push('?');
                out.push_str(&pairs.join("&"));
            }
            _ => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A query key that decodes to one naming a password: `password`, and
/// what an invalid URL may hold (`password%00`, `pass%77ord%3D…`): erring
/// on the side of hiding.
fn is_password_key(key: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
    let lower = decoded.to_ascii_lowercase();
    lower.starts_with("password") || lower.starts_with("passwd")
}

/// `scheme://user:SECRET@host`: the secret runs to the last `@` on the line
/// (a password may hold `@`, `/` or spaces when it is not percent-encoded,
/// which is exactly when an error quotes it). Without an `@`, a `:` that is
/// not followed by a numeric port may still be a password; it is hidden too.
fn redact_url_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(scheme_end) = rest.find("://").map(|i| i + 3) {
        out.push_str(&rest[..scheme_end]);
        rest = &rest[scheme_end..];
        let userinfo_end = rest.rfind('@');
        let colon = rest[..userinfo_end.unwrap_or(rest.len())].find(':');
        match (colon, userinfo_end) {
            (Some(colon), Some(at)) => {
                out.push_str(&rest[..=colon]);
                out.push_str("***");
                rest = &rest[at..];
            }
            (Some(colon), None) => {
                let after = &rest[colon + 1..];
                let end = after
                    .find(|c: char| {
                        matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace()
                    })
                    .unwrap_or(after.len());
                out.push_str(&rest[..=colon]);
                if after[..end].chars().all(|c| c.is_ascii_digit()) {
                    out.push_str(&after[..end]);
                } else {
                    out.push_str("***");
                }
                rest = &after[end..];
            }
            (None, _) => {}
        }
    }
    out.push_str(rest);
    out
}

/// `password=VALUE`, `PGPASSWORD=VALUE`, `password = "VALUE"`,
/// `"password": "VALUE"`, `passwd: VALUE`, in any letter case.
fn redact_keywords(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = ["password", "passwd"]
        .iter()
        .filter_map(|word| lower[search..].find(word).map(|i| (search + i, word.len())))
        .min()
    {
        let (start, len) = found;
        // In a URL's query (the keyword's word holds a `scheme://`) a value
        // ends at `&`; in a keyword string (libpq) only at unescaped white
        // space, so `&`, `,` and even `://` may be in a password.
        let word = line[..start].rsplit(char::is_whitespace).next();
        let in_url = word.is_some_and(|word| word.contains("://"));
        let mut i = start + len;
        let bytes = line.as_bytes();
        let skip_spaces = |mut i: usize| {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            i
        };
        // A quoted key (`"password": ...`) ends in its quote.
        if i < bytes.len() && matches!(bytes[i], b'"' | b'\'') {
            i += 1;
        }
        i = skip_spaces(i);
        if i >= bytes.len() || !matches!(bytes[i], b'=' | b':') {
            search = start + len;
            continue;
        }
        i = skip_spaces(i + 1);
        let value_start = i;
        let value_end = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != quote {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                (j + 1).min(bytes.len())
            }
            // Unquoted: a backslash escapes the next character, a space
            // too (libpq's `password=a\ b`).
            _ => {
                let mut end = line.len();
                let mut chars = line[i..].char_indices();
                while let Some((at, c)) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c.is_whitespace()
                        || (in_url && matches!(c, '&' | ';' | ',' | '}' | ')'))
                    {
                        end = i + at;
                        break;
                    }
                }
                end
            }
        };
        if value_end > value_start {
            out.push_str(&line[copied..value_start]);
            out.push_str("***");
            copied = value_end;
        }
        search = value_end.max(start + len);
    }
    out.push_str(&line[copied..]);
    out
}

/// A message in the user's words: no Rust module paths or source lines
/// (sqlx's protocol errors end in `(sqlx_postgres::connection::tls:95)`),
/// no serde enum wording ("enum UsersAt does not have variant
/// constructor"), and a non-PostgreSQL server said as such.
pub fn user_words(text: &str) -> String {
    let mut out = text.to_string();
    // ` (crate::module::path:LINE)`
    while let Some(start) = out.find(" (sqlx_").or_else(|| out.find(" (sqlx::")) {
        let Some(len) = out[start..].find(')') else {
            break;
        };
        let inner = &out[start + 2..start + len];
        let located = inner.contains("::")
            && inner
                .rsplit(':')
                .next()
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !located {
            break;
        }
        out.replace_range(start..start + len + 1, "");
    }
    if let Some(at) = out.find("unexpected response from SSLRequest") {
        let end = out[at..].find([';', ')']).map_or(out.len(), |e| at + e);
        out.replace_range(
            at..end,
            "the server does not answer as PostgreSQL does (is this a PostgreSQL port?)",
        );
    }
    // Without TLS, the first bytes of a non-PostgreSQL reply ("HTTP/1.1 …")
    // read as a message length of hundreds of megabytes.
    if let Some(at) = out.find("error communicating with database: expected to read ") {
        let rest = &out[at + "error communicating with database: expected to read ".len()..];
        let length: Option<u64> = rest.split(' ').next().and_then(|n| n.parse().ok());
        if length.is_some_and(|n| n >= 1 << 24) {
            let end = rest
                .find(" at EOF")
                .map_or(out.len(), |e| out.len() - rest.len() + e + 7);
            out.replace_range(
                at..end,
                "the server does not answer as PostgreSQL does (is this a PostgreSQL port?)",
            );
        }
    }
    // serde through the config crate, for the enum settings (the pooler's
    // words are checked before serde reads them, see `config::Kind`).
    let values = |key: &str| match key {
        "tenancy.users" => "shared, link or per_tenant",
        _ => "see config.toml.example",
    };
    if let Some(at) = out.find("value of enum ").or_else(|| out.find("enum ")) {
        let rest = &out[at..];
        let key = rest
            .split('`')
            .nth(1)
            .filter(|_| rest.contains(" for key `"));
        if let Some(key) = key {
            let key = key.to_string();
            let value = rest
                .split("variant constructor ")
                .nth(1)
                .and_then(|v| v.split(" for key").next())
                .map(|v| format!(" {v:?}"))
                .unwrap_or_default();
            out = format!(
                "{}{key}{value} is not a valid value (one of: {})",
                &out[..at],
                values(&key)
            );
        }
    }
    out
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
    cut(&sanitize(text), max)
}

/// Cuts text escaped already to at most `max` cells, ending in `…` when
/// cut (escaped again, its backslashes would double).
pub fn cut(clean: &str, max: usize) -> String {
    if width(clean) <= max {
        return clean.to_string();
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
    let mut out = format!("{sign}{}", group_digits(whole));
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// `part/all`, each grouped by thousands (`3/4`, `1,200/1,500`): the
/// basket's lines priced of all, in the view and the table alike.
pub fn part_of(part: usize, all: usize) -> String {
    format!("{}/{}", thousands(part as i64), thousands(all as i64))
}

/// Names as people read them: numbers by value (`shop 2` before `shop 10`)
/// and letters in either case alike, then by bytes so that no two names
/// tie. Tenants are listed by it everywhere, by their registry name where
/// they have one (see `db::listing_order`).
pub fn tenant_order(a: &str, b: &str) -> std::cmp::Ordering {
    alphanumeric_sort::compare_str(a.to_lowercase(), b.to_lowercase())
        .then_with(|| alphanumeric_sort::compare_str(a, b))
        .then_with(|| a.cmp(b))
}

/// A count with thousands separators: `1,000,000`, `-1,234`.
pub fn thousands(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", group_digits(&value.unsigned_abs().to_string()))
}

/// Groups a run of digits by three: `1234567` → `1,234,567`.
fn group_digits(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `1 order line`, `3,002 order lines` (grouped as every count shown is).
pub fn plural(count: usize, one: &str, many: &str) -> String {
    let noun = if count == 1 { one } else { many };
    format!("{} {noun}", group_digits(&count.to_string()))
}

/// Keeps letters, digits, `-` and `_` of a value used in a file name.
pub fn file_safe(text: &str) -> String {
    let safe: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(40)
        .collect();
    if safe.is_empty() {
        "user".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::str::FromStr;

    /// `cafe` + U+0301 and `café` read alike: the decomposed one shows its
    /// mark wherever text is escaped (tables, panes, messages); composed
    /// text, and marks that compose with nothing, are left as they are.
    #[test]
    fn a_decomposed_name_shows_its_combining_mark() {
        for (text, shown) in [
            ("cafe\u{301}", "cafe<U+0301>"),
            ("café", "café"),
            ("Zoë Ωmega 東京", "Zoë Ωmega 東京"),
            // Only what the composed form writes otherwise: the mark after
            // `e`, not a Hebrew point after `x`; U+212B, written `Å`.
            ("e\u{301} x\u{5B4}", "e<U+0301> x\u{5B4}"),
            ("\u{212B}ngstr\u{F6}m", "<U+212B>ngstr\u{F6}m"),
        ] {
            assert_eq!(sanitize(text), shown, "{text:?}");
        }
        assert!(matches!(sanitize("café"), Cow::Borrowed(_)));
        assert_eq!(name_cell(" cafe\u{301}"), "\" cafe<U+0301>\"");
        assert_eq!(quoted("cafe\u{301}"), "\"cafe<U+0301>\"", "in an error");
    }

    #[test]
    fn escapes_terminal_control() {
        for (text, shown) in [
            ("plain", "plain"),
            ("a\x1b[31mred", "a^[[31mred"),
            ("\x1b]0;title\x07", "^[]0;title<U+0007>"),
            ("abc\u{202E}def", "abc<U+202E>def"),
            ("zero\u{200B}width", "zero<U+200B>width"),
            ("line\nbreak", "line\\nbreak"),
            ("literal\\nbackslash", "literal\\\\nbackslash"),
            ("\u{9b}31m", "<U+009B>31m"),
        ] {
            assert_eq!(sanitize(text), shown, "{text:?}");
        }
    }

    /// What is unassigned is decided by the Unicode version the screen
    /// measures widths with: a character assigned later is escaped, never
    /// drawn at a width the terminal and the tables disagree on.
    #[test]
    fn the_general_category_and_the_width_tables_are_of_one_unicode_version() {
        let (major, minor, update) = unicode_properties::UNICODE_VERSION;
        let categories = (major as u8, minor as u8, update as u8);
        assert_eq!(categories, unicode_width::UNICODE_VERSION);
    }

    /// Noncharacters and unassigned code points (General_Category Cn) are
    /// escaped as the other invisible characters are: a terminal and the
    /// screen's width tables disagree on them (U+FFFE doubled a pane's
    /// border), and XML forbids U+FFFE and U+FFFF (an SVG snapshot broke).
    /// Each class of character, escaped or not.
    #[test]
    fn noncharacters_and_unassigned_code_points_are_escaped() {
        for (ch, escaped) in [
            // Controls, bidi and zero-width, as before.
            ('\u{7}', true),
            ('\u{7F}', true),
            ('\u{9B}', true),
            ('\u{202E}', true),
            ('\u{200B}', true),
            ('\u{FEFF}', true),
            // Noncharacters: U+FDD0..U+FDEF, and the last two of every plane.
            ('\u{FDD0}', true),
            ('\u{FDEF}', true),
            ('\u{FFFE}', true),
            ('\u{FFFF}', true),
            ('\u{1FFFE}', true),
            ('\u{3FFFE}', true),
            ('\u{10FFFE}', true),
            ('\u{10FFFF}', true),
            // Unassigned (reserved) code points.
            ('\u{0378}', true),
            ('\u{0380}', true),
            ('\u{FFF0}', true),
            ('\u{E0080}', true),
            ('\u{2FFFD}', true),
            // Assigned characters around them stay as they are.
            ('a', false),
            ('\u{0377}', false),
            ('\u{0384}', false),
            ('\u{FDCF}', false),
            ('\u{FDF0}', false),
            ('\u{FFFD}', false),
            ('\u{E000}', false),
            ('\u{1F680}', false),
            ('山', false),
            ('é', false),
            // Assigned after Unicode 15.1, the width tables' version: a
            // terminal draws U+1FAE9 (an emoji of Unicode 16) two cells
            // wide where the tables say one.
            ('\u{1FAE9}', true),
            ('\u{1CC00}', true),
        ] {
            assert_eq!(needs_escape(ch), escaped, "U+{:04X}", ch as u32);
        }
        assert_eq!(sanitize("a\u{FFFE}z"), "a<U+FFFE>z");
        assert_eq!(sanitize("\u{10FFFF}\u{0378}"), "<U+10FFFF><U+0378>");
        assert_eq!(sanitize("\u{FDD0}x"), "<U+FDD0>x");
        assert_eq!(fit("a\u{FFFF}z", 5), "a<U+…");
        assert_eq!(message_line("n \u{1FFFF}"), "n <U+1FFFF>");
    }

    /// Counts in words are grouped as the tables' are: the status line said
    /// "3002 order lines" beside a pane's "3,002 lines".
    #[test]
    fn a_count_in_words_is_grouped() {
        assert_eq!(plural(1, "order line", "order lines"), "1 order line");
        assert_eq!(
            plural(3002, "order line", "order lines"),
            "3,002 order lines"
        );
        assert_eq!(plural(1_000_000, "user", "users"), "1,000,000 users");
    }

    #[test]
    fn messages_are_in_the_users_words() {
        assert_eq!(
            user_words(
                "cannot connect to u@h:1/d: unexpected response from SSLRequest: 0x48 \
                 (sqlx_postgres::connection::tls:95)"
            ),
            "cannot connect to u@h:1/d: the server does not answer as PostgreSQL does \
             (is this a PostgreSQL port?)"
        );
        assert_eq!(
            user_words(
                "invalid configuration: enum UsersAt does not have variant constructor bogus \
                 for key `tenancy.users`"
            ),
            "invalid configuration: tenancy.users \"bogus\" is not a valid value \
             (one of: shared, link or per_tenant)"
        );
        assert_eq!(
            user_words(
                "invalid configuration: value of enum UsersAt should be represented by either \
                 string or table with exactly one key for key `tenancy.users`"
            ),
            "invalid configuration: tenancy.users is not a valid value (one of: shared, link \
             or per_tenant)"
        );
        assert_eq!(user_words("a (b) c"), "a (b) c");
    }

    #[test]
    fn redacts_passwords_wherever_configuration_is_quoted() {
        let cases = [
            // A TOML parse error quoting the line, then a type error quoting the value.
            (
                "2 | url = \"postgres://app:S3cr3t@host/db\n  |  ^",
                "2 | url = \"postgres://app:***@host/db\n  |  ^",
            ),
            (
                "invalid type: string \"postgres://a:S3cr3t@h/db\", expected u32",
                "invalid type: string \"postgres://a:***@h/db\", expected u32",
            ),
            // Not percent-encoded: '@', '/' and spaces in the password.
            ("postgres://a:S3@c/r 3t@h/db", "postgres://a:***@h/db"),
            (
                "postgresql://a:S3cr3t@h:5432/db?x=1",
                "postgresql://a:***@h:5432/db?x=1",
            ),
            ("postgres://a:S3cr3t", "postgres://a:***"),
            ("postgres://h:5432/db", "postgres://h:5432/db"),
            ("postgres://bob@h/db", "postgres://bob@h/db"),
            (
                "postgres://h/db?sslmode=require&password=S3cr3t",
                "postgres://h/db?sslmode=require&password=***",
            ),
            // libpq decodes a URL's query keys: an encoded `password` is one.
            (
                "postgresql://a@h/db?pass%77ord=S3cr3t&sslmode=bad",
                "postgresql://a@h/db?pass%77ord=***&sslmode=bad",
            ),
            (
                "url = \"postgres://h/db?%70%61ssword=S3%20x#f\" # x",
                "url = \"postgres://h/db?%70%61ssword=***\" # x",
            ),
            // Invalid URLs, quoted by their error: hidden all the same.
            (
                "invalid URL postgres://h/db?password%00=S3cr3t: forbidden",
                "invalid URL postgres://h/db?password%00=*** forbidden",
            ),
            (
                "postgres://h/db?pass%77ord%3DS3cr3t&sslmode=require",
                "postgres://h/db?***&sslmode=require",
            ),
            (
                "host=h password=S3cr3t user=u",
                "host=h password=*** user=u",
            ),
            ("PGPASSWORD=S3cr3t", "PGPASSWORD=***"),
            ("password = \"S3 cr\\\"3t\" # x", "password = *** # x"),
            ("{\"password\": \"S3cr3t\"}", "{\"password\": ***}"),
            (
                "password authentication failed",
                "password authentication failed",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(redact_secrets(text), expected, "{text}");
            assert!(!redact_secrets(text).contains("S3"), "{text}");
        }
    }

    #[test]
    fn fit_cuts_by_display_width() {
        for (text, room, shown) in [
            ("hello", 10, "hello"),
            ("hello world", 6, "hello…"),
            ("日本語テキスト", 7, "日本語…"),
            ("anything", 0, ""),
        ] {
            assert_eq!(fit(text, room), shown);
        }
        // A wide character is never cut in half: "日本…" in six columns.
        assert_eq!(width(&fit("日本語テキスト", 6)), 5);
        assert_eq!(pad_right("日本", 6), "日本  ");
        assert_eq!(pad_left("1.00", 6), "  1.00");
    }

    #[test]
    fn money_format_keeps_every_digit() {
        for (value, shown) in [
            ("50000.00", "50,000.00"),
            ("999.5", "999.5"),
            ("1234567.891", "1,234,567.891"),
            ("-4000.00", "-4,000.00"),
            ("-400.00", "-400.00"),
            ("0", "0"),
            ("0.001", "0.001"),
            ("9999999999.99", "9,999,999,999.99"),
            (
                "100000000000000000000000000000",
                "100,000,000,000,000,000,000,000,000,000",
            ),
        ] {
            assert_eq!(money(&BigDecimal::from_str(value).unwrap()), shown);
        }
    }

    /// A value is escaped once, in a message as on the screen: a line
    /// break reads `\n`, a backslash and `n` read `\\n`.
    #[test]
    fn messages_escape_once() {
        assert_eq!(quoted("cli\nent"), r#""cli\nent""#);
        assert_eq!(quoted("cli\\nent"), r#""cli\\nent""#);
        assert_eq!(quoted(r#"say "hi""#), r#""say \"hi\"""#);
        let message = format!("tenant schema not found: {}", quoted("a\nb"));
        assert_eq!(message_line(&message), message, "shown as made");
        assert_eq!(message_line("raw\x1b[2J a\\b"), "raw^[[2J a\\b");
    }

    #[test]
    fn a_blank_at_either_end_is_quoted() {
        for (value, shown) in [
            ("acme", "acme"),
            ("a b", "a b"),
            ("", ""),
            ("acme ", "\"acme \""),
            (" acme", "\" acme\""),
            ("acme\u{a0}", "\"acme\u{a0}\""),
        ] {
            assert_eq!(cell_text(value), shown, "{value:?}");
        }
        assert_eq!(name_cell("acme\t"), "\"acme\\t\"");
        // The tables' words for NULL and empty, and values reading so.
        let ids = [None, Some(""), Some("(none)"), Some(" x")];
        let shown: Vec<String> = ids.into_iter().map(id_text).collect();
        assert_eq!(shown, ["(none)", "(empty)", "\"(none)\"", "\" x\""]);
    }
}
