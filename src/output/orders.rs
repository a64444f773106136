//! A user's priced orders: `orders` and the dashboard's export.

use serde::Serialize;

use std::io::Write;

use super::{json_element, json_for, Align, ColumnWidths, CsvRecords, Destination, Format};
use crate::db::{OrderLine, OrderSink, OrdersReport, TenantCatalog, User};
use crate::money::Value;
use crate::text;

/// `orders --format json`:
///
/// ```json
/// {"user": {"id": "1", "name": "rich_dude", "mail": "…", "tenant": "client1",
///           "schema": "client1"},
///  "compare_tenant": "client3",
///  "orders": [{"item_id": "1", "item": "Tesla", "quantity": 2.5,
///              "unit_price": 5000.00, "total": 12500.00,
///              "compare_unit_price": 3500.00, "compare_total": 8750.00,
///              "compare_item_id": "1", "compare_item": "Tesla",
///              "problem": null}],
///  "total": 12500.00, "compared_total": 12500.00, "compare_total": 8750.00,
///  "compare_missing": 0,
///  "items_match": {"rule": "id", "why": "the catalogues agree on ids …"},
///  "compare_error": null}
/// ```
///
/// `user.tenant` is the tenant as the registry names it (its label, else
/// its key; the schema where there is no registry), `user.schema` its
/// schema. Numbers carry their exact digits; `null` is unknown (never zero).
/// `problem` says why a line's values are unusable (NaN, infinite, not a
/// number, missing item, out of range). `total` is null when any line has
/// no total. The comparison is like for like: `compare_total` and
/// `compared_total` (the own side) cover only the lines both tenants
/// price; `compare_missing` counts the lines the comparison tenant has no
/// usable price for (null without a comparison tenant).
/// `compare_item_id` and `compare_item` name the comparison tenant's item
/// that was matched; `items_match` says how items were matched (`id`,
/// `description` or a key column) and why; `compare_error` why a
/// comparison asked for could not be made.
#[derive(Serialize)]
struct OrdersJson<'a> {
    user: OrdersUserJson<'a>,
    compare_tenant: Option<String>,
    compare_tenant_key: Option<&'a str>,
    compare_schema: Option<&'a str>,
    orders: Vec<OrderLineJson<'a>>,
    total: &'a Value,
    compared_total: &'a Value,
    compare_total: &'a Value,
    compare_missing: Option<usize>,
    items_match: Option<ItemsMatchJson<'a>>,
    compare_error: Option<&'a str>,
}

#[derive(Serialize)]
struct ItemsMatchJson<'a> {
    rule: &'a str,
    why: &'a str,
}

#[derive(Serialize)]
struct OrderLineJson<'a> {
    item_id: Option<&'a str>,
    item: Option<&'a str>,
    quantity: &'a Value,
    unit_price: &'a Value,
    total: &'a Value,
    compare_unit_price: &'a Value,
    compare_total: &'a Value,
    compare_item_id: Option<&'a str>,
    compare_item: Option<&'a str>,
    problem: Option<String>,
}

/// Whose orders (or basket) a JSON document is about.
#[derive(Serialize)]
pub(super) struct OrdersUserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    /// The tenant as the registry names it (else its schema).
    tenant: Option<&'a str>,
    tenant_key: Option<&'a str>,
    schema: Option<&'a str>,
}

impl<'a> OrdersUserJson<'a> {
    pub(super) fn of(user: &'a User, catalog: &'a TenantCatalog) -> OrdersUserJson<'a> {
        OrdersUserJson {
            id: &user.id,
            name: &user.name,
            mail: user.mail.as_deref(),
            tenant: user.tenant_label(),
            tenant_key: user.tenant.as_deref().and_then(|s| catalog.key(s)),
            schema: user.tenant.as_deref(),
        }
    }
}

/// Why a line's values are unusable: [`OrderLine::problem`], and a NULL
/// quantity, or a NULL price of an item that is there, own or the
/// comparison tenant's (a comparison item not there is "not sold", no
/// problem).
pub(super) fn line_problem(line: &crate::db::OrderLine) -> Option<String> {
    let mut problems: Vec<String> = line.problem().into_iter().collect();
    if line.quantity == Value::Missing {
        problems.push("quantity is NULL".into());
    }
    if line.unit_price == Value::Missing && line.item.is_some() {
        problems.push("price is NULL".into());
    }
    // Sold by the comparison tenant, at no price (not sold leaves it empty).
    if line.compare_matched && line.compare_unit_price == Value::Missing {
        problems.push("comparison price is NULL".into());
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// `orders` (and the dashboard's export) in memory: the lines in hand
/// written by [`OrdersWriter`], as the CLI streams them.
pub fn orders(
    user: &User,
    report: &OrdersReport,
    catalog: &TenantCatalog,
    format: Format,
    to: Destination,
) -> String {
    let headers = order_headers(report.compare_tenant.as_deref(), catalog, to);
    let headers: Vec<(&str, Align)> = headers.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let mut writer = OrdersWriter::new(user, catalog, &headers, format, to, Vec::new());
    let head = report.without_lines();
    for pass in 0..writer.passes() {
        writer.begin(pass, &head);
        for line in &report.lines {
            writer.line(pass, line);
        }
        if pass == 0 {
            writer.totals(&head);
        }
    }
    String::from_utf8(writer.finish()).expect("UTF-8 text")
}

/// The table's headers, naming the comparison tenant.
pub fn order_headers(
    compare_schema: Option<&str>,
    catalog: &TenantCatalog,
    to: Destination,
) -> Vec<(String, Align)> {
    // No other tenant: "their" columns (of dashes), not "NONE PRICE".
    let compare = compare_schema.map_or_else(|| "their".to_string(), |s| catalog.label(s));
    let compare_title = match to {
        Destination::Terminal => text::fit(&compare.to_uppercase(), 20),
        Destination::PipeOrFile => compare.to_uppercase(),
    };
    let (l, r) = (Align::Left, Align::Right);
    vec![
        ("ID".into(), r),
        ("ITEM".into(), l),
        ("QTY".into(), r),
        ("UNIT PRICE".into(), r),
        ("TOTAL".into(), r),
        (format!("{compare_title} PRICE"), r),
        (format!("{compare_title} TOTAL"), r),
        ("DIFFERENCE".into(), r),
    ]
}

/// The orders CSV's columns: `problem` (why a number cell is empty, as
/// JSON's `problem` says it) came last, after the ones scripts read by place.
const CSV_HEADERS: [&str; 11] = [
    "item_id",
    "item",
    "quantity",
    "unit_price",
    "total",
    "compare_unit_price",
    "compare_total",
    "difference",
    "compare_item_id",
    "compare_tenant",
    "problem",
];

/// A user's orders written as the lines arrive (feed it with
/// [`crate::db::Database::stream_orders`]), so memory stays flat however
/// many lines there are: CSV and JSON in one pass, a table in two over
/// the same lines (the widths, then the lines). The totals come after the
/// first pass's lines ([`OrderSink::totals`]): a table fits its totals
/// rows into the widths then, JSON writes them after the lines. Write
/// errors (a closed pipe) stop the reading quietly.
pub struct OrdersWriter<'h, W: Write> {
    format: Format,
    to: Destination,
    out: W,
    user: &'h User,
    catalog: &'h TenantCatalog,
    columns: ColumnWidths<'h>,
    widths: Vec<usize>,
    /// The report without its lines: the comparison, then with the totals.
    head: Option<OrdersReport>,
    written: usize,
    /// A table's lines seen by its first pass (measuring): none, and the
    /// second says so in words instead of an empty table.
    measured: usize,
    /// Texts among the lines that were not UTF-8 (see
    /// [`OrderLine::invalid_utf8`]), counted in the first pass.
    invalid_utf8: usize,
    /// The lines' problems for the notes under the table, each once with
    /// how many lines have it, in the order first seen (19 lines of one
    /// ambiguous item gave 19 notes alike).
    problems: indexmap::IndexMap<String, usize>,
    csv: CsvRecords,
    /// CSV: the comparison tenant's name on every row, once per report.
    compare_label: Option<String>,
    /// CSV: a line's money cells, their text reused from line to line.
    cells: [String; 6],
}

impl<'h, W: Write> OrdersWriter<'h, W> {
    pub fn new(
        user: &'h User,
        catalog: &'h TenantCatalog,
        headers: &'h [(&'h str, Align)],
        format: Format,
        to: Destination,
        out: W,
    ) -> OrdersWriter<'h, W> {
        OrdersWriter {
            format,
            to,
            out,
            user,
            catalog,
            columns: ColumnWidths::new(headers, to),
            widths: Vec::new(),
            head: None,
            written: 0,
            measured: 0,
            invalid_utf8: 0,
            problems: indexmap::IndexMap::new(),
            csv: CsvRecords::default(),
            compare_label: None,
            cells: Default::default(),
        }
    }

    fn writing(&self, pass: u8) -> bool {
        pass + 1 == self.passes()
    }

    fn put(&mut self, text: &str) -> bool {
        self.out.write_all(text.as_bytes()).is_ok()
    }

    fn cell(&self, value: &Value) -> String {
        match self.format {
            Format::Csv => value.csv(),
            _ => value.cell(),
        }
    }

    /// CSV: one record.
    fn record(&mut self, values: &[String]) -> bool {
        self.csv.write(&mut self.out, self.to, values)
    }

    /// The totals rows under the lines (a table's).
    fn totals_rows(&self, report: &OrdersReport) -> Vec<Vec<String>> {
        let partial = report.compare_note(self.catalog);
        // A totals row: its label under the item, money under the totals.
        let totals = |label: &str, own: String, compare: String, difference: String| {
            vec![
                String::new(),
                label.into(),
                String::new(),
                String::new(),
                own,
                String::new(),
                compare,
                difference,
            ]
        };
        if !report.totals_known {
            return vec![totals("Total", "…".into(), String::new(), String::new())];
        }
        // A partial comparison has no whole total: the like-for-like row says it.
        let (compare_total, difference) = match partial {
            Some(_) => (String::new(), String::new()),
            None => (
                self.cell(&report.totals.compare_total),
                self.cell(&report.difference()),
            ),
        };
        let mut rows = vec![totals(
            "Total",
            self.cell(&report.totals.total),
            compare_total,
            difference,
        )];
        if report.totals.compared_lines > 0 && partial.is_some() {
            rows.push(totals(
                "Like for like",
                self.cell(&report.totals.compared_total),
                self.cell(&report.totals.compare_total),
                self.cell(&report.difference()),
            ));
        }
        rows
    }

    /// CSV: one line's record, as [`order_row`] has it, written from the
    /// line's values without a row of owned cells.
    fn csv_line(&mut self, line: &OrderLine) -> bool {
        let difference = line.difference();
        let values = [
            &line.quantity,
            &line.unit_price,
            &line.total,
            &line.compare_unit_price,
            &line.compare_total,
            &difference,
        ];
        for (cell, value) in self.cells.iter_mut().zip(values) {
            cell.clear();
            value.write_plain(cell);
        }
        // The ids and names around the six number cells.
        let item = [
            line.item_id.as_deref().unwrap_or_default(),
            line.item.as_deref().unwrap_or("(missing item)"),
        ];
        let compared = [
            line.compare_item_id.as_deref().unwrap_or_default(),
            self.compare_label.as_deref().unwrap_or_default(),
        ];
        let numbers = self.cells.iter().map(String::as_str);
        // No comparison read: its empty cells say why, not "not sold".
        let no_compare = self.head.as_ref().and_then(|h| h.compare_error.as_deref());
        let no_compare = no_compare.map(|why| format!("no comparison: {why}"));
        let problem: Vec<String> = line_problem(line).into_iter().chain(no_compare).collect();
        let problem = problem.join("; ");
        let fields = item
            .into_iter()
            .chain(numbers)
            .chain(compared)
            .chain([problem.as_str()]);
        self.csv.write_fields(&mut self.out, self.to, fields)
    }

    /// Texts among the lines read that were not UTF-8.
    pub fn invalid_utf8(&self) -> usize {
        self.invalid_utf8
    }

    /// Ends the output (the totals, the notes; JSON's closing brace) and
    /// flushes it.
    pub fn finish(mut self) -> W {
        if let Some(head) = self.head.take() {
            match self.format {
                Format::Csv => {}
                Format::Json => {
                    let end = if self.written == 0 { "]" } else { "\n  ]" };
                    let (_, tail) = self.json_parts(&head);
                    let _ = self.put(&format!("{end}{tail}\n"));
                }
                Format::Table => {
                    let mut out = String::new();
                    // No orders (said under the title): no totals to add,
                    // but the notes (how items match, why no comparison).
                    let totals = match self.measured {
                        0 => Vec::new(),
                        _ => self.totals_rows(&head),
                    };
                    for row in totals {
                        out.push_str(
                            &self
                                .columns
                                .line(&self.widths, row.iter().map(String::as_str)),
                        );
                        out.push('\n');
                    }
                    let partial = head.compare_note(self.catalog);
                    out.push_str(&order_notes(&head, self.catalog, partial));
                    for (note, lines) in &self.problems {
                        match lines {
                            1 => out.push_str(&format!("{note}\n")),
                            n => out.push_str(&format!(
                                "{note} ({} lines)\n",
                                text::thousands(*n as i64)
                            )),
                        }
                    }
                    let _ = self.put(&out);
                }
            }
        }
        let _ = self.out.flush();
        self.out
    }

    /// JSON: the document of `report` before its orders (with the opening
    /// bracket) and after them (the totals, the closing brace).
    fn json_parts(&self, report: &OrdersReport) -> (String, String) {
        let document = orders_document(self.user, report, self.catalog, Vec::new());
        let exact = serde_json::to_string_pretty(&document).expect("serializable values");
        let exact = json_for(exact, self.to);
        let at = exact
            .find("\"orders\": []")
            .expect("the orders field is there");
        let (start, rest) = exact.split_at(at);
        let tail = rest["\"orders\": []".len()..].to_string();
        (format!("{start}\"orders\": ["), tail)
    }
}

impl<W: Write> OrderSink for OrdersWriter<'_, W> {
    fn passes(&self) -> u8 {
        match self.format {
            Format::Table => 2,
            Format::Csv | Format::Json => 1,
        }
    }

    fn begin(&mut self, pass: u8, report: &OrdersReport) -> bool {
        if self.head.is_none() {
            self.head = Some(report.without_lines());
        }
        if !self.writing(pass) {
            return true;
        }
        match self.format {
            Format::Csv => {
                let headers: Vec<String> = CSV_HEADERS.iter().map(|h| h.to_string()).collect();
                self.record(&headers)
            }
            Format::Json => {
                let (start, _) = self.json_parts(report);
                self.put(&start)
            }
            Format::Table => {
                // As the orders pane says it where there is none.
                let compare = match report.compare_tenant.as_deref() {
                    Some(s) => format!(", compared with {}", self.catalog.label(s)),
                    None => "; no other tenant to compare".to_string(),
                };
                let title = format!(
                    "{} (id {}, {}) in tenant {}{}\n",
                    text::sanitize(&self.user.name),
                    text::sanitize(&self.user.id),
                    text::sanitize(
                        self.user
                            .mail
                            .as_deref()
                            .filter(|m| !m.is_empty())
                            .unwrap_or("no mail")
                    ),
                    text::sanitize(&self.catalog.label(&report.tenant)),
                    text::sanitize(&compare),
                );
                if self.measured == 0 {
                    let none = format!(
                        "{} has no orders in {}.\n",
                        text::sanitize(&self.user.name),
                        text::sanitize(&self.catalog.label(&report.tenant))
                    );
                    return self.put(&(title + &none));
                }
                self.widths = self.columns.widths();
                let titles: Vec<&str> = self.columns.titles();
                let mut out = title + &self.columns.line(&self.widths, titles.into_iter());
                out.push('\n');
                self.put(&out)
            }
        }
    }

    fn totals(&mut self, report: &OrdersReport) -> bool {
        if self.format == Format::Table {
            for row in self.totals_rows(report) {
                self.columns.fit(&row);
            }
        }
        self.head = Some(report.without_lines());
        self.compare_label = None;
        true
    }

    fn line(&mut self, pass: u8, line: &OrderLine) -> bool {
        if pass == 0 {
            self.invalid_utf8 += usize::from(line.invalid_utf8);
        }
        let compare_schema = self.head.as_ref().and_then(|h| h.compare_tenant.as_deref());
        if !self.writing(pass) {
            let row = order_row(line);
            self.columns.fit(&row);
            self.measured += 1;
            return true;
        }
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            Format::Csv => {
                if self.compare_label.is_none() {
                    let label = compare_schema.map(|s| self.catalog.label(s));
                    self.compare_label = Some(label.unwrap_or_default());
                }
                self.csv_line(line)
            }
            Format::Json => {
                let exact =
                    serde_json::to_string_pretty(&line_json(line)).expect("serializable values");
                let lead = if first { "\n" } else { ",\n" };
                self.put(&json_element(&exact, lead, "    ", self.to))
            }
            Format::Table => {
                if let Some(problem) = line_problem(line) {
                    let item = line
                        .item
                        .as_deref()
                        .or(line.item_id.as_deref())
                        .unwrap_or("?");
                    let note = format!("{}: {problem}", text::sanitize(item));
                    *self.problems.entry(note).or_insert(0) += 1;
                }
                let row = order_row(line);
                let mut text = self
                    .columns
                    .line(&self.widths, row.iter().map(String::as_str));
                text.push('\n');
                self.put(&text)
            }
        }
    }
}

/// `orders --format json`'s document, with `orders` as given.
fn orders_document<'a>(
    user: &'a User,
    report: &'a OrdersReport,
    catalog: &'a TenantCatalog,
    orders: Vec<OrderLineJson<'a>>,
) -> OrdersJson<'a> {
    let compare_schema = report.compare_tenant.as_deref();
    OrdersJson {
        user: OrdersUserJson::of(user, catalog),
        compare_tenant: compare_schema.map(|s| catalog.label(s)),
        compare_tenant_key: compare_schema.and_then(|s| catalog.key(s)),
        compare_schema,
        orders,
        total: &report.totals.total,
        compared_total: &report.totals.compared_total,
        compare_total: &report.totals.compare_total,
        compare_missing: report
            .compare_tenant
            .as_ref()
            .filter(|_| report.compare_error.is_none())
            .map(|_| report.totals.compare_missing),
        items_match: report.item_rule.as_ref().map(|choice| ItemsMatchJson {
            rule: choice.rule.name(),
            why: &choice.why,
        }),
        compare_error: report.compare_error.as_deref(),
    }
}

fn line_json(line: &OrderLine) -> OrderLineJson<'_> {
    OrderLineJson {
        item_id: line.item_id.as_deref(),
        item: line.item.as_deref(),
        quantity: &line.quantity,
        unit_price: &line.unit_price,
        total: &line.total,
        compare_unit_price: &line.compare_unit_price,
        compare_total: &line.compare_total,
        compare_item_id: line.compare_item_id.as_deref(),
        compare_item: line.compare_item.as_deref(),
        problem: line_problem(line),
    }
}

/// One row per order line: id, item, quantity and the money columns (CSV:
/// with the matched item's id and the comparison tenant).
fn order_row(line: &OrderLine) -> Vec<String> {
    let id_and_item = [line.item_id.clone().unwrap_or_default(), line.item_label()];
    id_and_item.into_iter().chain(number_cells(line)).collect()
}

/// A line's number cells as the orders pane and the CLI table show them:
/// quantity, unit price, total, comparison price and total, difference;
/// grouped by thousands, exact. A price that is NULL where the item is
/// there reads `NULL`, told from an item not there (`—`).
pub fn number_cells(line: &OrderLine) -> [String; 6] {
    let [mut price, total, mut compare_price, compare_total, difference] =
        line.money_columns().map(|value| value.cell());
    if line.item.is_some() && line.unit_price == Value::Missing {
        price = "NULL".into();
    }
    if line.compare_matched && line.compare_unit_price == Value::Missing {
        compare_price = "NULL".into();
    }
    [
        line.quantity.cell(),
        price,
        total,
        compare_price,
        compare_total,
        difference,
    ]
}

/// Under the table: why a total is unknown or a comparison partial, how
/// items were matched (each line's problem follows, from the lines).
fn order_notes(report: &OrdersReport, catalog: &TenantCatalog, partial: Option<String>) -> String {
    let mut out = String::new();
    if let Some(gap) = report.total_gap() {
        out.push_str(&format!("Total unknown: {gap}\n"));
    }
    if let Some(partial) = partial {
        out.push_str(&format!("Compared: {partial}\n"));
    }
    if let Some(choice) = &report.item_rule {
        out.push_str(&format!(
            "Items matched by {}: {}\n",
            text::sanitize(choice.rule.name()),
            text::sanitize(&choice.why)
        ));
    }
    if let Some(note) = report.other_item_note(catalog) {
        out.push_str(&format!("Check: {note}\n"));
    }
    out
}
