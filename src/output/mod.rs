//! CLI output: aligned tables, JSON with stable keys, CSV.
//!
//! What reaches a terminal follows GNU `ls`: control (C0, DEL, C1), bidi
//! and zero-width characters are shown escaped in every format, so data can
//! never drive the terminal. Piped or written to a file, CSV and JSON keep
//! values exactly as stored. Tables are always escaped; their text columns
//! are cut with `…` only on a terminal, and numbers never.

mod basket;
mod health;
pub mod health_rows;
mod orders;
mod prices;
mod users;

use serde::Serialize;

use crate::db::{HealthReport, OrdersReport, PriceMatrix, SchemaState, TenantCatalog, User};
use crate::text;

pub use basket::basket;
pub use health::{health, health_csv, reference_reason, LeakCheck};
pub use orders::{number_cells, order_headers, orders, OrdersWriter};
pub use prices::{price_failures, prices};
pub use users::{
    invalid_utf8_count_warning, invalid_utf8_warning, left_out_warning, tenants, users, UsersWriter,
};

/// Output formats of the one-table commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Output formats of reports that are not one table (`health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
}

/// On a terminal, widest a text column grows before values are cut with `…`.
const MAX_COLUMN_CELLS: usize = 40;

/// Where output goes, which decides how it is escaped and cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Escape what could drive the terminal, in every format; cut long text.
    Terminal,
    /// A pipe or a file: CSV and JSON exact, tables escaped but never cut.
    PipeOrFile,
}

impl Destination {
    /// Standard output's destination.
    pub fn stdout() -> Destination {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            Destination::Terminal
        } else {
            Destination::PipeOrFile
        }
    }
}

/// A command's standard output, buffered. A closed pipe (`| head`) ends
/// the output quietly: its reader has seen enough. Any other failure to
/// write (a full disk) is kept for [`CommandOut::finish`], so that the
/// command fails instead of exiting 0 with its output cut short.
///
/// A reader that does not read (a pager left open) blocks the write. On
/// the runtime's worker, the write then leaves the worker's other duties
/// (the server's answers, signals) to another thread first: blocked in
/// place, it kept them waiting, and Ctrl-C did nothing.
#[derive(Default)]
pub struct CommandOut {
    buffer: Vec<u8>,
    failed: Option<std::io::Error>,
}

impl CommandOut {
    /// Bytes held before they are written.
    const CHUNK: usize = 64 * 1024;

    pub fn stdout() -> CommandOut {
        CommandOut::default()
    }

    /// Writes what is buffered; the first failure to write that was no
    /// closed pipe.
    pub fn finish(mut self) -> std::io::Result<()> {
        let _ = std::io::Write::flush(&mut self);
        self.failed.take().map_or(Ok(()), Err)
    }

    fn write_buffer(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let bytes = &self.buffer;
        let written = blocking(|| {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        });
        self.buffer.clear();
        if let Err(e) = &written {
            if e.kind() != std::io::ErrorKind::BrokenPipe && self.failed.is_none() {
                self.failed = Some(std::io::Error::new(e.kind(), e.to_string()));
            }
        }
        written
    }
}

/// What is buffered is written when a command fails half way (its lines
/// before the error, as a `BufWriter` did), not while a panic unwinds.
impl Drop for CommandOut {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.write_buffer();
        }
    }
}

impl std::io::Write for CommandOut {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + bytes.len() > CommandOut::CHUNK {
            self.write_buffer()?;
        }
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_buffer()
    }
}

/// Runs `write`, which may block, off the async runtime's worker when on
/// one (see [`CommandOut`]).
fn blocking<T>(write: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(write)
        }
        _ => write(),
    }
}

/// Column alignment, which is also its kind: `Left` columns hold text,
/// `Right` ones numbers and money, which are never cut.
#[derive(Clone, Copy, PartialEq)]
pub enum Align {
    Left,
    Right,
}

/// Renders rows as an aligned text table with a header line.
pub(crate) fn table(headers: &[(&str, Align)], rows: &[Vec<String>], to: Destination) -> String {
    let mut columns = ColumnWidths::new(headers, to);
    for row in rows {
        columns.fit(row);
    }
    let widths = columns.widths();
    let mut out = columns.line(&widths, headers.iter().map(|(title, _)| *title));
    out.push('\n');
    for row in rows {
        out.push_str(&columns.line(&widths, row.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// A table's column widths, learnt one row at a time (a streamed table
/// reads its rows twice: once for the widths, once to write them).
pub(crate) struct ColumnWidths<'h> {
    headers: &'h [(&'h str, Align)],
    /// The widest value seen in each column, escaped.
    values: Vec<usize>,
    cut: bool,
}

impl<'h> ColumnWidths<'h> {
    pub(crate) fn new(headers: &'h [(&'h str, Align)], to: Destination) -> ColumnWidths<'h> {
        ColumnWidths {
            headers,
            values: vec![0; headers.len()],
            cut: to == Destination::Terminal,
        }
    }

    pub(crate) fn fit(&mut self, row: &[String]) {
        for (widest, value) in self.values.iter_mut().zip(row) {
            *widest = (*widest).max(text::width(&text::sanitize(&text::cell_text(value))));
        }
    }

    /// The headers' titles, in order.
    pub(crate) fn titles(&self) -> Vec<&'h str> {
        self.headers.iter().map(|(title, _)| *title).collect()
    }

    pub(crate) fn widths(&self) -> Vec<usize> {
        self.headers
            .iter()
            .zip(&self.values)
            .map(|((title, align), &values)| {
                let title = text::width(&text::sanitize(title));
                match (align, self.cut) {
                    (_, false) => values.max(title),
                    (Align::Left, true) => values.max(title).min(MAX_COLUMN_CELLS),
                    // Only the title of a number column may be cut.
                    (Align::Right, true) => values.max(title.min(MAX_COLUMN_CELLS.max(values))),
                }
            })
            .collect()
    }

    /// One line of the table (no newline), cells padded to `widths`.
    pub(crate) fn line<'c>(
        &self,
        widths: &[usize],
        cells: impl Iterator<Item = &'c str>,
    ) -> String {
        let padded: Vec<String> = cells
            .zip(self.headers)
            .zip(widths)
            .map(|((cell, (_, align)), width)| {
                let cell = text::cell_text(cell);
                match align {
                    Align::Left => text::pad_right(&cell, *width),
                    Align::Right => text::pad_left(&cell, *width),
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    }
}

/// CSV; on a terminal every field is escaped as tables are.
pub(crate) fn csv(headers: &[&str], rows: &[Vec<String>], to: Destination) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let field = |value: &str| csv_field(value, to).into_owned();
    let record = |values: &mut dyn Iterator<Item = &str>| values.map(field).collect::<Vec<_>>();
    writer
        .write_record(record(&mut headers.iter().copied()))
        .expect("writing to memory");
    for row in rows {
        writer
            .write_record(record(&mut row.iter().map(String::as_str)))
            .expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("CSV of UTF-8 values")
}

/// A CSV cell as written: escaped on a terminal, and text a spreadsheet
/// would run as a formula (`=1+2`, `@SUM(A1)`, `-2+3`: tenant data, opened
/// by whoever exports it) behind a `'`, as OWASP advises. Decimal numbers
/// (`-5.25`, `+1e5`) are left as they are; `-inf` and `-Infinity` are not
/// numbers to a spreadsheet. JSON keeps every text as it is.
fn csv_field(value: &str, to: Destination) -> std::borrow::Cow<'_, str> {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_decimal(value);
    let value = match formula {
        true => std::borrow::Cow::Owned(format!("'{value}")),
        false => std::borrow::Cow::Borrowed(value),
    };
    match to {
        Destination::Terminal => std::borrow::Cow::Owned(text::sanitize(&value).into_owned()),
        Destination::PipeOrFile => value,
    }
}

/// `text` is a decimal number as a spreadsheet reads one: a sign, digits
/// with at most one point, and an exponent (`-.5`, `1E+5`); not `inf`,
/// `NaN` or `1_000`.
fn is_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa = match (whole, fraction) {
        ("", "") => false,
        (whole, fraction) => {
            (whole.is_empty() || digits(whole)) && (fraction.is_empty() || digits(fraction))
        }
    };
    let exponent = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa && exponent
}

/// CSV records written one at a time to a stream (the streamed CLI
/// output), escaped on a terminal as [`csv`] does. One writer serves every
/// record (flexible: records may differ in length, as with a writer per
/// record), its buffer reused.
#[derive(Default)]
pub(crate) struct CsvRecords {
    writer: Option<::csv::Writer<RecordBytes>>,
    /// What the writer wrote, taken after each record.
    bytes: RecordBytes,
}

/// The bytes a [`CsvRecords`] writer flushes, shared with it (the writer
/// owns its output; the records are taken from here).
#[derive(Default, Clone)]
struct RecordBytes(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for RecordBytes {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CsvRecords {
    /// Writes one record to `out`; false when it could not be written.
    pub(crate) fn write(
        &mut self,
        out: &mut impl std::io::Write,
        to: Destination,
        values: &[String],
    ) -> bool {
        self.write_fields(out, to, values.iter().map(String::as_str))
    }

    /// [`CsvRecords::write`] of borrowed fields.
    pub(crate) fn write_fields<'v>(
        &mut self,
        out: &mut impl std::io::Write,
        to: Destination,
        values: impl IntoIterator<Item = &'v str>,
    ) -> bool {
        let bytes = &self.bytes;
        let writer = self.writer.get_or_insert_with(|| {
            ::csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(bytes.clone())
        });
        let bytes = |v| match csv_field(v, to) {
            std::borrow::Cow::Borrowed(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
            std::borrow::Cow::Owned(text) => std::borrow::Cow::Owned(text.into_bytes()),
        };
        let written = writer.write_record(values.into_iter().map(bytes));
        if written.is_err() || writer.flush().is_err() {
            return false;
        }
        let mut held = (self.bytes.0.lock()).unwrap_or_else(std::sync::PoisonError::into_inner);
        let ok = out.write_all(&held).is_ok();
        held.clear();
        ok
    }
}

/// Pretty JSON. serde_json escapes C0 controls; on a terminal DEL, C1,
/// bidi and zero-width characters are written as `\uXXXX` too, which
/// decodes to the same values.
pub(crate) fn json<T: Serialize>(value: &T, to: Destination) -> String {
    let exact = serde_json::to_string_pretty(value).expect("serializable values");
    let mut out = json_for(exact, to);
    out.push('\n');
    out
}

/// One element of a pretty JSON array written as it comes: `lead` (the
/// opening bracket or the comma), then `exact` (serde_json's pretty text)
/// with every line indented by `indent` (no string holds a raw newline:
/// serde_json escapes them), as [`json_for`] writes it to `to`.
pub(crate) fn json_element(exact: &str, lead: &str, indent: &str, to: Destination) -> String {
    let mut text = String::with_capacity(exact.len() + 64);
    text.push_str(lead);
    for (i, line) in exact.split('\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(indent);
        text.push_str(line);
    }
    json_for(text, to)
}

/// Pretty JSON text as `to` receives it: on a terminal DEL, C1, bidi and
/// zero-width characters as `\uXXXX` (see [`json`]).
pub(crate) fn json_for(exact: String, to: Destination) -> String {
    match to {
        Destination::PipeOrFile => exact,
        // Outside strings JSON holds only ASCII punctuation, digits, words
        // and layout whitespace, so every such character is inside a string;
        // a raw newline is always layout (serde_json escapes it in strings).
        Destination::Terminal => {
            exact
                .chars()
                .fold(String::with_capacity(exact.len()), |mut out, ch| {
                    if ch != '\n' && text::needs_escape(ch) {
                        // `\uXXXX` is one UTF-16 unit: past U+FFFF, two.
                        for unit in ch.encode_utf16(&mut [0; 2]) {
                            out.push_str(&format!("\\u{unit:04X}"));
                        }
                    } else {
                        out.push(ch);
                    }
                    out
                })
        }
    }
}

/// What a view exports: the runtime turns it into CSV off the UI path.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// Boxed: a report is far larger than the other documents. The
    /// catalog names the tenants (registry labels).
    Orders(Box<(User, OrdersReport, TenantCatalog)>),
    /// The report, the registry and ledger checks read with it, the
    /// catalog and the leaks `L` found: the health view's rows
    /// ([`health_rows::all_rows`]).
    Health(
        Box<(
            HealthReport,
            crate::db::tenancy::FrameworkChecks,
            TenantCatalog,
            health_rows::LeaksFound,
        )>,
    ),
    Prices(Box<(PriceMatrix, TenantCatalog)>),
    /// A user's basket priced at each tenant: the user, their lines, the
    /// tenants (ranked) and the catalog.
    Basket(
        Box<(
            User,
            Vec<crate::db::OrderLine>,
            Vec<crate::db::BasketTenant>,
            TenantCatalog,
        )>,
    ),
    /// The tenants pane: every tenant of the directory.
    Tenants(Vec<crate::db::TenantEntry>),
    /// Users found (the tenants pane's search across tenants).
    Users(Box<(Vec<User>, TenantCatalog)>),
    /// Rows the view holds only some of: the runtime reads them all into
    /// the file as it writes it (see `app::tasks`).
    ToRead(ToRead),
}

/// A document whose rows are read for its file.
#[derive(Debug, Clone, PartialEq)]
pub enum ToRead {
    /// A user's orders (compared with a tenant) that the view holds only
    /// a window of, streamed through an [`OrdersWriter`].
    Orders(Box<(User, Option<String>, TenantCatalog)>),
    /// Every tenant's prices where the matrix on screen holds only the
    /// columns that fit: read as `prices` does, in the view's sort.
    Prices(Box<(crate::db::PriceSort, TenantCatalog)>),
}

impl Document {
    /// The CSV of what is in hand (a document to read is not: empty here).
    pub fn csv(&self) -> String {
        match self {
            Document::ToRead(_) => String::new(),
            Document::Orders(document) => {
                let (user, report, catalog) = document.as_ref();
                orders(user, report, catalog, Format::Csv, Destination::PipeOrFile)
            }
            Document::Health(document) => {
                let (report, checks, catalog, leaks) = document.as_ref();
                health_csv(report, checks, catalog, leaks)
            }
            Document::Prices(document) => {
                let (matrix, catalog) = document.as_ref();
                prices(matrix, catalog, Format::Csv, Destination::PipeOrFile)
            }
            Document::Basket(document) => {
                let (user, lines, tenants, catalog) = document.as_ref();
                basket::basket(
                    user,
                    lines,
                    tenants,
                    catalog,
                    Format::Csv,
                    Destination::PipeOrFile,
                )
            }
            Document::Tenants(entries) => {
                // Estimated counts: a column of their own, as `tenants
                // --format csv` has it (the `users` cells stay numbers).
                let estimates = entries.iter().any(|t| t.users.is_some_and(|c| c.estimated));
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|t| {
                        let schema = match t.state {
                            SchemaState::NoSchema => String::new(),
                            _ => t.schema.clone(),
                        };
                        let mut row = vec![
                            t.label.clone(),
                            t.key.clone(),
                            schema,
                            t.state.word().to_string(),
                            t.users.map(|c| c.value.to_string()).unwrap_or_default(),
                        ];
                        if estimates {
                            row.push(t.users.map(|c| c.estimated.to_string()).unwrap_or_default());
                        }
                        row
                    })
                    .collect();
                let mut headers = vec!["tenant", "tenant_key", "schema", "schema_status", "users"];
                if estimates {
                    headers.push("users_estimated");
                }
                csv(&headers, &rows, Destination::PipeOrFile)
            }
            Document::Users(document) => {
                let (found, catalog) = document.as_ref();
                users(found, catalog, Format::Csv, Destination::PipeOrFile)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a spreadsheet would run is quoted; decimal numbers are not
    /// (`-inf`, `+Infinity` and `-1e999` went out bare: not numbers to it).
    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_quoted() {
        for (cell, written) in [
            ("=1+2", "'=1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("-inf", "'-inf"),
            ("+Infinity", "'+Infinity"),
            ("-NaN", "'-NaN"),
            ("-1_000", "'-1_000"),
            ("-", "'-"),
            ("-.", "'-."),
            ("-5e", "'-5e"),
            ("-5.25", "-5.25"),
            ("-.5", "-.5"),
            ("+1E+5", "+1E+5"),
            ("-1e999", "-1e999"),
            ("5.", "5."),
            ("Tesla", "Tesla"),
        ] {
            assert_eq!(
                csv_field(cell, Destination::PipeOrFile),
                written,
                "{cell:?}"
            );
        }
    }

    #[test]
    fn table_aligns_by_display_width_and_escapes() {
        let rows = vec![
            vec!["日本".to_string(), "1.00".to_string()],
            vec!["a\x1b[31m".to_string(), "10,000.00".to_string()],
        ];
        let out = table(
            &[("NAME", Align::Left), ("PRICE", Align::Right)],
            &rows,
            Destination::PipeOrFile,
        );
        assert!(!out.contains('\x1b'));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "日本          1.00");
        assert_eq!(lines[2], "a^[[31m  10,000.00");
        assert_eq!(text::width(lines[1]), text::width(lines[2]));
    }

    /// The tenants pane's export: an id naming no schema has an empty
    /// `schema` and the status `no schema` (not a schema `99` that is
    /// `missing`); the statuses are the `tenants` command's. An estimated
    /// count adds a `users_estimated` column, as `tenants` has it.
    #[test]
    fn an_id_naming_no_schema_exports_with_no_schema() {
        use crate::db::{Count, SchemaState, TenantEntry};
        let exact = |n| Some(Count::exact(n));
        let mut entries = vec![
            TenantEntry::of_schema("acme".into(), SchemaState::Ok, exact(2)),
            TenantEntry::of_schema("initech".into(), SchemaState::Missing, None),
            TenantEntry::of_schema("99".into(), SchemaState::NoSchema, exact(1)),
            TenantEntry::of_schema("half".into(), SchemaState::Incomplete, exact(2)),
            TenantEntry::no_tenant(exact(3)),
        ];
        let csv = |entries: &[TenantEntry]| -> Vec<String> {
            Document::Tenants(entries.to_vec())
                .csv()
                .lines()
                .map(str::to_string)
                .collect()
        };
        let lines = csv(&entries);
        assert_eq!(
            lines,
            [
                "tenant,tenant_key,schema,schema_status,users",
                "acme,acme,acme,ok,2",
                "initech,initech,initech,schema missing,",
                "99,99,,no schema,1",
                "half,half,half,incomplete,2",
                ",,,none,3",
            ]
        );
        entries[0].users = Some(Count::estimate(21));
        let lines = csv(&entries);
        assert_eq!(
            lines[..3],
            [
                "tenant,tenant_key,schema,schema_status,users,users_estimated",
                "acme,acme,acme,ok,21,true",
                "initech,initech,initech,schema missing,,",
            ]
        );
        assert_eq!(lines[3], "99,99,,no schema,1,false");
    }

    #[test]
    fn csv_quotes_values() {
        let out = csv(
            &["a", "b"],
            &[vec!["x,y".into(), "say \"hi\"".into()]],
            Destination::PipeOrFile,
        );
        assert_eq!(out, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }

    #[test]
    fn numbers_are_never_cut_and_text_only_on_a_terminal() {
        let long_name = "t".repeat(63);
        let long_number = "1".repeat(45);
        let rows = vec![vec![long_name.clone(), long_number.clone()]];
        let headers = [("TENANT", Align::Left), ("USERS", Align::Right)];
        let piped = table(&headers, &rows, Destination::PipeOrFile);
        assert!(piped.contains(&long_name) && piped.contains(&long_number));
        assert!(!piped.contains('…'));
        let terminal = table(&headers, &rows, Destination::Terminal);
        let row = terminal.lines().nth(1).unwrap();
        assert!(row.starts_with(&format!("{}…", "t".repeat(39))), "{row}");
        assert!(row.ends_with(&long_number), "{row}");
    }

    /// A noncharacter or an unassigned code point past U+FFFF is escaped
    /// on a terminal as JSON spells it, a UTF-16 surrogate pair: `\uXXXX`
    /// takes four digits, so `\u10FFFF` would read U+10FF and "FF".
    #[test]
    fn json_on_a_terminal_escapes_a_character_past_u_ffff_as_two_units() {
        let value = serde_json::json!({ "name": "a\u{FFFE}b\u{10FFFF}c\u{E0080}d\u{0378}" });
        let shown = json(&value, Destination::Terminal);
        assert!(
            shown.chars().all(|c| c == '\n' || !text::needs_escape(c)),
            "{shown}"
        );
        assert!(
            shown.contains(r"a\uFFFEb\uDBFF\uDFFFc\uDB40\uDC80d\u0378"),
            "{shown}"
        );
        let decoded: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(decoded, value);
    }

    #[test]
    fn csv_and_json_on_a_terminal_escape_what_could_drive_it() {
        let hostile = "a\u{1b}]0;x\u{7}\u{202e}b\u{9b}c\u{7f}d\u{200b}";
        let rows = vec![vec![hostile.to_string()]];
        let exact = csv(&["name"], &rows, Destination::PipeOrFile);
        assert!(exact.contains(hostile));
        let shown = csv(&["name"], &rows, Destination::Terminal);
        assert_eq!(
            shown,
            "name\na^[]0;x<U+0007><U+202E>b<U+009B>c<U+007F>d<U+200B>\n"
        );

        let value = serde_json::json!({ "name": hostile });
        let exact = json(&value, Destination::PipeOrFile);
        let shown = json(&value, Destination::Terminal);
        assert!(
            shown.chars().all(|c| c == '\n' || !text::needs_escape(c)),
            "{shown}"
        );
        assert!(
            shown.contains("\\u202E") && shown.contains("\\u009B"),
            "{shown}"
        );
        // Both decode to the same value.
        let decoded: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(decoded, value);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&exact).unwrap(),
            value
        );
    }
}
