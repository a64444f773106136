//! CLI output: aligned tables, JSON with stable keys, CSV.
//!
//! What reaches a terminal follows GNU `ls`: control (C0, DEL, C1), bidi
//! and zero-width characters are shown escaped in every format, so data can
//! never drive the terminal. Piped or written to a file, CSV and JSON keep
//! values exactly as stored. Tables are always escaped; their text columns
//! are cut with `…` only on a terminal, and numbers never.

mod basket;
pub use basket::basket;

use serde::Serialize;

use crate::cli::{Format, ReportFormat};
use crate::db::{
    Count, HealthReport, HealthStatus, Leak, LeakKind, OrdersReport, OrphanOrganization,
    PriceMatrix, ReferenceChoice, TableReference, TenantCatalog, TenantHealth, TenantStatus,
    TenantSummary, User,
};
use crate::money::Value;
use crate::text;

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

/// Column alignment, which is also its kind: `Left` columns hold text,
/// `Right` ones numbers and money, which are never cut.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// Renders rows as an aligned text table with a header line.
fn table(headers: &[(&str, Align)], rows: &[Vec<String>], to: Destination) -> String {
    let cut = to == Destination::Terminal;
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, (title, align))| {
            let values = rows
                .iter()
                .map(|row| text::width(&text::sanitize(&row[i])))
                .max()
                .unwrap_or(0);
            let title = text::width(&text::sanitize(title));
            match (align, cut) {
                (_, false) => values.max(title),
                (Align::Left, true) => values.max(title).min(MAX_COLUMN_CELLS),
                // Only the title of a number column may be cut.
                (Align::Right, true) => values.max(title.min(MAX_COLUMN_CELLS.max(values))),
            }
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(headers)
            .zip(&widths)
            .map(|((cell, (_, align)), width)| match align {
                Align::Left => text::pad_right(cell, *width),
                Align::Right => text::pad_left(cell, *width),
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(headers.iter().map(|(title, _)| *title).collect());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// CSV; on a terminal every field is escaped as tables are.
fn csv(headers: &[&str], rows: &[Vec<String>], to: Destination) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let field = |value: &str| match to {
        Destination::Terminal => text::sanitize(value).into_owned(),
        Destination::PipeOrFile => value.to_string(),
    };
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

/// Pretty JSON. serde_json escapes C0 controls; on a terminal DEL, C1,
/// bidi and zero-width characters are written as `\uXXXX` too, which
/// decodes to the same values.
fn json<T: Serialize>(value: &T, to: Destination) -> String {
    let exact = serde_json::to_string_pretty(value).expect("serializable values");
    let mut out = match to {
        Destination::PipeOrFile => exact,
        // Outside strings JSON holds only ASCII punctuation, digits, words
        // and layout whitespace, so every such character is inside a string;
        // a raw newline is always layout (serde_json escapes it in strings).
        Destination::Terminal => {
            exact
                .chars()
                .fold(String::with_capacity(exact.len()), |mut out, ch| {
                    if ch != '\n' && text::needs_escape(ch) {
                        out.push_str(&format!("\\u{:04X}", ch as u32));
                    } else {
                        out.push(ch);
                    }
                    out
                })
        }
    };
    out.push('\n');
    out
}

fn status_word(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Present => "ok",
        TenantStatus::Missing => "missing",
        TenantStatus::NoTenant => "none",
    }
}

#[derive(Serialize)]
struct UserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    tenant: Option<&'a str>,
    tenant_schema: &'static str,
    created: Option<&'a str>,
}

/// "2 values had invalid UTF-8 (shown as �)", or `None` when all decoded.
pub fn invalid_utf8_warning(users: &[User]) -> Option<String> {
    let values: usize = users.iter().map(|u| u.invalid_utf8).sum();
    (values > 0).then(|| {
        format!(
            "{} invalid UTF-8 (shown as \u{FFFD})",
            count(values, "value had", "values had")
        )
    })
}

pub fn users(users: &[User], catalog: &TenantCatalog, format: Format, to: Destination) -> String {
    match format {
        Format::Json => json(
            &users
                .iter()
                .map(|u| UserJson {
                    id: &u.id,
                    name: &u.name,
                    mail: u.mail.as_deref(),
                    tenant: u.tenant.as_deref(),
                    tenant_schema: status_word(catalog.status_of(u)),
                    created: u.created.as_deref(),
                })
                .collect::<Vec<_>>(),
            to,
        ),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.clone(),
                        u.name.clone(),
                        u.mail.clone().unwrap_or_default(),
                        u.tenant.clone().unwrap_or_default(),
                        status_word(catalog.status_of(u)).to_string(),
                        u.created.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let headers = ["id", "name", "mail", "tenant", "tenant_schema", "created"];
            if format == Format::Csv {
                csv(&headers, &rows, to)
            } else {
                let l = Align::Left;
                table(
                    &[
                        ("ID", Align::Right),
                        ("NAME", l),
                        ("MAIL", l),
                        ("TENANT", l),
                        ("SCHEMA", l),
                        ("CREATED", l),
                    ],
                    &rows,
                    to,
                )
            }
        }
    }
}

pub fn tenants(summaries: &[TenantSummary], format: Format, to: Destination) -> String {
    match format {
        Format::Json => json(&summaries, to),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|t| {
                    // The table names what a CSV cell cannot (NULL or '').
                    let tenant = match (t.tenant.as_deref(), format) {
                        (None | Some(""), Format::Csv) => String::new(),
                        (None, _) => "(none)".to_string(),
                        (Some(""), _) => "(empty)".to_string(),
                        (Some(tenant), _) => tenant.to_string(),
                    };
                    vec![
                        tenant,
                        if t.schema_exists { "ok" } else { "missing" }.to_string(),
                        t.users.to_string(),
                    ]
                })
                .collect();
            if format == Format::Csv {
                csv(&["tenant", "schema", "users"], &rows, to)
            } else {
                table(
                    &[
                        ("TENANT", Align::Left),
                        ("SCHEMA", Align::Left),
                        ("USERS", Align::Right),
                    ],
                    &rows,
                    to,
                )
            }
        }
    }
}

/// `orders --format json`:
///
/// ```json
/// {"user": {"id": "1", "name": "rich_dude", "mail": "…", "tenant": "client1"},
///  "compare_tenant": "client3",
///  "orders": [{"item_id": "1", "item": "Tesla", "quantity": 2.5,
///              "unit_price": 5000.00, "total": 12500.00,
///              "compare_unit_price": 3500.00, "compare_total": 8750.00,
///              "problem": null}],
///  "total": 12500.00, "compared_total": 12500.00, "compare_total": 8750.00,
///  "compare_missing": 0}
/// ```
///
/// Numbers carry their exact digits; `null` is unknown (never zero).
/// `problem` says why a line's values are unusable (NaN, infinite, not a
/// number, missing item, out of range). `total` is null when any line has
/// no total. The comparison is like for like: `compare_total` and
/// `compared_total` (the own side) cover only the lines both tenants
/// price; `compare_missing` counts the lines the comparison tenant has no
/// usable price for (null without a comparison tenant).
#[derive(Serialize)]
struct OrdersJson<'a> {
    user: OrdersUserJson<'a>,
    compare_tenant: Option<&'a str>,
    orders: Vec<OrderLineJson<'a>>,
    total: &'a Value,
    compared_total: &'a Value,
    compare_total: &'a Value,
    compare_missing: Option<usize>,
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
    problem: Option<String>,
}

#[derive(Serialize)]
struct OrdersUserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    tenant: Option<&'a str>,
}

pub fn orders(user: &User, report: &OrdersReport, format: Format, to: Destination) -> String {
    if format == Format::Json {
        return json(
            &OrdersJson {
                user: OrdersUserJson {
                    id: &user.id,
                    name: &user.name,
                    mail: user.mail.as_deref(),
                    tenant: user.tenant.as_deref(),
                },
                compare_tenant: report.compare_tenant.as_deref(),
                orders: report
                    .lines
                    .iter()
                    .map(|line| OrderLineJson {
                        item_id: line.item_id.as_deref(),
                        item: line.item.as_deref(),
                        quantity: &line.quantity,
                        unit_price: &line.unit_price,
                        total: &line.total,
                        compare_unit_price: &line.compare_unit_price,
                        compare_total: &line.compare_total,
                        problem: line.problem(),
                    })
                    .collect(),
                total: &report.total,
                compared_total: &report.compared_total,
                compare_total: &report.compare_total,
                compare_missing: report
                    .compare_tenant
                    .as_ref()
                    .map(|_| report.compare_missing),
            },
            to,
        );
    }
    let cell = |value: &Value| match format {
        Format::Csv => value.csv(),
        _ => value.cell(),
    };
    let mut rows: Vec<Vec<String>> = report
        .lines
        .iter()
        .map(|line| {
            vec![
                line.item_id.clone().unwrap_or_default(),
                line.item.clone().unwrap_or_else(|| "(missing item)".into()),
                match format {
                    Format::Csv => line.quantity.csv(),
                    _ => line
                        .quantity
                        .plain()
                        .unwrap_or_else(|| line.quantity.cell()),
                },
                cell(&line.unit_price),
                cell(&line.total),
                cell(&line.compare_unit_price),
                cell(&line.compare_total),
                cell(&line.difference()),
            ]
        })
        .collect();
    let compare = report.compare_tenant.as_deref().unwrap_or("none");
    if format == Format::Csv {
        let headers = [
            "item_id",
            "item",
            "quantity",
            "unit_price",
            "total",
            "compare_unit_price",
            "compare_total",
            "difference",
        ];
        return csv(&headers, &rows, to);
    }
    let partial = report.compare_note();
    rows.push(vec![
        String::new(),
        "Total".into(),
        String::new(),
        String::new(),
        cell(&report.total),
        String::new(),
        if partial.is_some() {
            String::new()
        } else {
            cell(&report.compare_total)
        },
        if partial.is_some() {
            String::new()
        } else {
            cell(&report.difference())
        },
    ]);
    if report.compared_lines > 0 && partial.is_some() {
        rows.push(vec![
            String::new(),
            "Like for like".into(),
            String::new(),
            String::new(),
            cell(&report.compared_total),
            String::new(),
            cell(&report.compare_total),
            cell(&report.difference()),
        ]);
    }
    let title = format!(
        "{} (id {}, {}) in tenant {}, compared with {}\n",
        text::sanitize(&user.name),
        text::sanitize(&user.id),
        text::sanitize(user.mail.as_deref().unwrap_or("no mail")),
        text::sanitize(&report.tenant),
        text::sanitize(compare),
    );
    let compare_title = match to {
        Destination::Terminal => text::fit(&compare.to_uppercase(), 20),
        Destination::PipeOrFile => compare.to_uppercase(),
    };
    let compare_price = format!("{compare_title} PRICE");
    let compare_total = format!("{compare_title} TOTAL");
    let (l, r) = (Align::Left, Align::Right);
    let mut out = title
        + &table(
            &[
                ("ID", r),
                ("ITEM", l),
                ("QTY", r),
                ("UNIT PRICE", r),
                ("TOTAL", r),
                (&compare_price, r),
                (&compare_total, r),
                ("DIFFERENCE", r),
            ],
            &rows,
            to,
        );
    // Why a total is unknown or a comparison partial, under the table.
    if let Some(gap) = report.total_gap() {
        out.push_str(&format!("Total unknown: {gap}\n"));
    }
    if let Some(partial) = partial {
        out.push_str(&format!("Compared: {partial}\n"));
    }
    for line in &report.lines {
        if let Some(problem) = line.problem() {
            let item = line
                .item
                .as_deref()
                .or(line.item_id.as_deref())
                .unwrap_or("?");
            out.push_str(&format!("{}: {problem}\n", text::sanitize(item)));
        }
    }
    out
}

/// Leaks of one tenant, when `health --leaks TENANT` asked for them.
#[derive(Debug, Clone, Copy)]
pub struct LeakCheck<'a> {
    pub tenant: &'a str,
    pub leaks: &'a [Leak],
}

/// `health --format json`. The keys are stable:
///
/// ```json
/// {
///   "healthy": false,
///   "tenants": [
///     {"tenant": "floaty", "status": "drift",
///      "users": {"value": 1, "estimated": false},
///      "items": {"value": 1, "estimated": true},
///      "orders": null,
///      "drift": [{"table": "items", "column": "price", "kind": "type_changed",
///                 "expected": {"type": "numeric(12,2)", "not_null": true},
///                 "found": {"type": "double precision", "not_null": true}}]}
///   ],
///   "references": [{"table": "items", "tenant": "client1", "chosen_by": "majority",
///                   "matching": 4, "with_table": 6, "tie": false,
///                   "columns": [{"name": "description", "type": "text", "not_null": true}]}],
///   "orphan_organizations": [{"organization_id": "ghost", "users": 2},
///                            {"organization_id": null, "users": 2}],
///   "unused_tenants": ["lonely"],
///   "leaks": {"tenant": "client1",
///             "orders": [{"order_id": "3", "user_id": "2", "kind": "other_tenant",
///                         "user_tenant": "client2"}]}
/// }
/// ```
///
/// - `healthy`: no drift, orphan organization, unused tenant or leak (what
///   `--fail-on-drift` checks).
/// - `status`: `ok`, `drift` (its tables differ from the reference or one is
///   missing) or `unused` (no drift, no user).
/// - `users` is exact; `items` and `orders` are `pg_class.reltuples`
///   estimates, `null` when unknown (missing table, never analyzed, a view).
/// - drift `kind`: `missing_table` (`column`, `expected`, `found` null),
///   `missing_column` (`found` null), `extra_column` (`expected` null),
///   `type_changed`, `nullability_changed`; sorted by tenant, table, column.
/// - drift kind `missing_required_column`: the tenant lacks a column
///   tenantscope reads (items id/description/price, orders
///   user_id/item_id/quantity), whatever the other tenants have.
/// - `references`: per table, the column set others are compared with:
///   `chosen_by` `majority`, `required_columns` (a set with every required
///   column, preferred over an equally or more common set without),
///   `first_by_name` (an unsettled tie: the group with the alphabetically
///   first tenant) or `given` (`--reference`); `tie` is true when no column
///   set is strictly the most common.
/// - `organization_id` null: users with a NULL or empty organization id.
/// - `leaks`: `null` without `--leaks`; leak `kind` is `other_tenant` (the
///   user's `user_tenant` is another tenant, or null) or `no_user`.
#[derive(Serialize)]
struct HealthJson<'a> {
    healthy: bool,
    tenants: &'a [TenantHealth],
    references: &'a [TableReference],
    orphan_organizations: &'a [OrphanOrganization],
    unused_tenants: &'a [String],
    leaks: Option<LeaksJson<'a>>,
}

#[derive(Serialize)]
struct LeaksJson<'a> {
    tenant: &'a str,
    orders: &'a [Leak],
}

/// One line naming what the health report found, or `None` when healthy
/// (and no leak): the `--fail-on-drift` condition.
pub fn health_findings(report: &HealthReport, leaks: Option<LeakCheck<'_>>) -> Option<String> {
    let mut found = Vec::new();
    if report.drift_count() > 0 {
        found.push(format!(
            "{} ({})",
            count(
                report.tenants_with_drift(),
                "tenant with drift",
                "tenants with drift"
            ),
            count(report.drift_count(), "difference", "differences")
        ));
    }
    if !report.orphan_organizations.is_empty() {
        found.push(count(
            report.orphan_organizations.len(),
            "organization id with no tenant schema",
            "organization ids with no tenant schema",
        ));
    }
    if !report.unused_tenants.is_empty() {
        found.push(count(
            report.unused_tenants.len(),
            "tenant schema with no user",
            "tenant schemas with no user",
        ));
    }
    if let Some(check) = leaks.filter(|c| !c.leaks.is_empty()) {
        found.push(format!(
            "{} in {}",
            count(check.leaks.len(), "leaked order", "leaked orders"),
            text::sanitize(check.tenant)
        ));
    }
    (!found.is_empty()).then(|| found.join(", "))
}

fn count_cell(count: Option<Count>, has_table: bool) -> String {
    match count {
        _ if !has_table => "—".to_string(),
        None => "?".to_string(),
        Some(Count {
            value,
            estimated: true,
        }) => format!("~{value}"),
        Some(Count { value, .. }) => value.to_string(),
    }
}

fn health_status_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Ok => "ok",
        HealthStatus::Drift => "drift",
        HealthStatus::Unused => "unused",
    }
}

/// The health report: JSON (see [`HealthJson`]) or text for a terminal:
/// one row per tenant (`~` marks estimated counts, `?` unknown ones, `—` a
/// missing table) with its drift listed under it, then the references,
/// orphans, leaks and a summary line.
/// The health view's rows as CSV: one row per tenant, its drift in one cell.
pub fn health_csv(report: &HealthReport) -> String {
    let count =
        |count: Option<crate::db::Count>| count.map(|c| c.value.to_string()).unwrap_or_default();
    let estimated = |count: Option<crate::db::Count>| {
        count.map(|c| c.estimated.to_string()).unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = report
        .tenants
        .iter()
        .map(|t| {
            vec![
                t.tenant.clone(),
                format!("{:?}", t.status).to_lowercase(),
                t.users.value.to_string(),
                count(t.items),
                estimated(t.items),
                count(t.orders),
                estimated(t.orders),
                t.drift
                    .iter()
                    .map(|d| d.describe())
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    let headers = [
        "tenant",
        "status",
        "users",
        "items",
        "items_estimated",
        "orders",
        "orders_estimated",
        "drift",
    ];
    csv(&headers, &rows, Destination::PipeOrFile)
}

/// Why a reference was chosen, in words (text report and health view).
pub fn reference_reason(choice: ReferenceChoice) -> &'static str {
    match choice {
        ReferenceChoice::Majority => "majority",
        ReferenceChoice::RequiredColumns => "has the columns tenantscope reads",
        ReferenceChoice::FirstByName => "first by name",
        ReferenceChoice::Given => "given",
    }
}

pub fn health(
    report: &HealthReport,
    leaks: Option<LeakCheck<'_>>,
    format: ReportFormat,
    to: Destination,
) -> String {
    if format == ReportFormat::Json {
        return json(
            &HealthJson {
                healthy: health_findings(report, leaks).is_none(),
                tenants: &report.tenants,
                references: &report.references,
                orphan_organizations: &report.orphan_organizations,
                unused_tenants: &report.unused_tenants,
                leaks: leaks.map(|c| LeaksJson {
                    tenant: c.tenant,
                    orders: c.leaks,
                }),
            },
            to,
        );
    }
    let (l, r) = (Align::Left, Align::Right);
    let rows: Vec<Vec<String>> = report
        .tenants
        .iter()
        .map(|t| {
            vec![
                t.tenant.clone(),
                health_status_word(t.status).to_string(),
                count_cell(Some(t.users), true),
                count_cell(t.items, t.has_table("items")),
                count_cell(t.orders, t.has_table("orders")),
            ]
        })
        .collect();
    let tenants = table(
        &[
            ("TENANT", l),
            ("STATUS", l),
            ("USERS", r),
            ("ITEMS", r),
            ("ORDERS", r),
        ],
        &rows,
        to,
    );
    let mut lines = tenants.lines();
    let mut out = String::new();
    out.push_str(lines.next().unwrap_or_default());
    out.push('\n');
    for (tenant, line) in report.tenants.iter().zip(lines) {
        out.push_str(line);
        out.push('\n');
        for drift in &tenant.drift {
            out.push_str(&format!("  {}\n", text::sanitize(&drift.describe())));
        }
    }
    if !report.references.is_empty() {
        let references: Vec<String> = report
            .references
            .iter()
            .map(|r| {
                format!(
                    "{} as in {} ({}{}, {} of {} tenants)",
                    text::sanitize(&r.table),
                    text::sanitize(&r.tenant),
                    reference_reason(r.chosen_by),
                    if r.tie { "; no majority: a tie" } else { "" },
                    r.matching,
                    r.with_table
                )
            })
            .collect();
        out.push_str(&format!("\nReference: {}\n", references.join("; ")));
    }
    if !report.orphan_organizations.is_empty() {
        out.push_str("\nOrganization ids that name no tenant schema:\n");
        let rows: Vec<Vec<String>> = report
            .orphan_organizations
            .iter()
            .map(|o| {
                vec![
                    o.organization_id.clone().unwrap_or_else(|| "(none)".into()),
                    o.users.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(&[("ORGANIZATION", l), ("USERS", r)], &rows, to));
    }
    if !report.unused_tenants.is_empty() {
        let names: Vec<String> = report
            .unused_tenants
            .iter()
            .map(|t| text::sanitize(t).into_owned())
            .collect();
        out.push_str(&format!(
            "\nTenant schemas no user points at: {}\n",
            names.join(", ")
        ));
    }
    if let Some(check) = leaks {
        out.push_str(&format!(
            "\nOrders in {} whose user is not one of its users: {}\n",
            text::sanitize(check.tenant),
            check.leaks.len()
        ));
        if !check.leaks.is_empty() {
            let rows: Vec<Vec<String>> = check
                .leaks
                .iter()
                .map(|leak| {
                    vec![
                        leak.order_id.clone().unwrap_or_default(),
                        leak.user_id.clone().unwrap_or_default(),
                        match (leak.kind, &leak.user_tenant) {
                            (LeakKind::NoUser, _) => "(no such user)".to_string(),
                            (LeakKind::OtherTenant, None) => "(none)".to_string(),
                            (LeakKind::OtherTenant, Some(tenant)) => tenant.clone(),
                        },
                    ]
                })
                .collect();
            out.push_str(&table(
                &[("ORDER", r), ("USER", r), ("USER'S TENANT", l)],
                &rows,
                to,
            ));
        }
    }
    match health_findings(report, leaks) {
        Some(found) => out.push_str(&format!("\nFound: {found}\n")),
        None => out.push_str(&format!(
            "\nHealthy: {}, no drift, no orphans{}\n",
            count(report.tenants.len(), "tenant", "tenants"),
            if leaks.is_some() { ", no leaks" } else { "" }
        )),
    }
    out
}

/// One item row of `prices --format json`: prices keyed by tenant, in
/// column order.
struct PriceRowJson<'a> {
    tenants: &'a [String],
    row: &'a crate::db::PriceRow,
}

impl Serialize for PriceRowJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Prices<'a>(&'a [String], &'a [Value]);
        impl Serialize for Prices<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (tenant, price) in self.0.iter().zip(self.1) {
                    map.serialize_entry(tenant, price)?;
                }
                map.end()
            }
        }
        let row = self.row;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("description", &row.description)?;
        map.serialize_entry("prices", &Prices(self.tenants, &row.prices))?;
        map.serialize_entry("min", &row.min)?;
        map.serialize_entry("max", &row.max)?;
        map.serialize_entry("min_tenants", &row.min_tenants)?;
        map.serialize_entry("max_tenants", &row.max_tenants)?;
        map.serialize_entry("spread", &row.spread)?;
        map.end()
    }
}

/// `prices --format json`. The keys are stable:
///
/// ```json
/// {"tenants": ["client1", "client2"],
///  "items": [{"description": "Tesla",
///             "prices": {"client1": 5000.00, "client2": 1000.00},
///             "min": 1000.00, "max": 5000.00,
///             "min_tenants": ["client2"], "max_tenants": ["client1"],
///             "spread": 5}]}
/// ```
///
/// `failed` lists the tenants whose prices could not be read
/// (`[{"tenant": "locked", "error": "query failed: … permission denied …"}]`);
/// their prices are `null` and the other tenants are priced. A tenant that
/// does not sell an item, or whose price is NaN, infinite or not a number,
/// has a `null` price; `spread`
/// (max / min, 4 decimals at most) is `null` with fewer than two prices or a
/// minimum that is not positive. Money keeps its exact digits.
#[derive(Serialize)]
struct PricesJson<'a> {
    tenants: &'a [String],
    items: Vec<PriceRowJson<'a>>,
    failed: &'a [crate::db::TenantFailure],
}

/// The price matrix as JSON (see [`PricesJson`]), CSV (`item`, one column
/// per tenant, `min`, `max`, `spread`, `min_tenants`, `max_tenants`; exact
/// values, empty for none, tenant lists joined by `;`) or an aligned table.
pub fn prices(matrix: &PriceMatrix, format: Format, to: Destination) -> String {
    if format == Format::Json {
        return json(
            &PricesJson {
                tenants: &matrix.tenants,
                items: matrix
                    .rows
                    .iter()
                    .map(|row| PriceRowJson {
                        tenants: &matrix.tenants,
                        row,
                    })
                    .collect(),
                failed: &matrix.failed,
            },
            to,
        );
    }
    let csv_format = format == Format::Csv;
    let price = |value: &Value| {
        if csv_format {
            value.csv()
        } else {
            value.cell()
        }
    };
    let rows: Vec<Vec<String>> = matrix
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.description.clone()];
            cells.extend(row.prices.iter().map(price));
            cells.push(price(&row.min));
            cells.push(price(&row.max));
            cells.push(match row.spread.plain() {
                Some(s) if csv_format => s,
                Some(s) => format!("×{s}"),
                None if csv_format => String::new(),
                None => "—".to_string(),
            });
            let separator = if csv_format { ";" } else { ", " };
            cells.push(row.min_tenants.join(separator));
            cells.push(row.max_tenants.join(separator));
            cells
        })
        .collect();
    if csv_format {
        let mut headers = vec!["item"];
        headers.extend(matrix.tenants.iter().map(String::as_str));
        headers.extend(["min", "max", "spread", "min_tenants", "max_tenants"]);
        return csv(&headers, &rows, to);
    }
    let (l, r) = (Align::Left, Align::Right);
    let mut headers = vec![("ITEM", l)];
    headers.extend(matrix.tenants.iter().map(|t| (t.as_str(), r)));
    headers.extend([
        ("MIN", r),
        ("MAX", r),
        ("SPREAD", r),
        ("CHEAPEST", l),
        ("DEAREST", l),
    ]);
    table(&headers, &rows, to)
}

/// What a view exports: the runtime turns it into CSV off the UI path.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// Boxed: a report is far larger than the other documents.
    Orders(Box<(User, OrdersReport)>),
    Health(HealthReport),
    Prices(PriceMatrix),
}

impl Document {
    pub fn csv(&self) -> String {
        match self {
            Document::Orders(document) => {
                let (user, report) = document.as_ref();
                orders(user, report, Format::Csv, Destination::PipeOrFile)
            }
            Document::Health(report) => health_csv(report),
            Document::Prices(matrix) => prices(matrix, Format::Csv, Destination::PipeOrFile),
        }
    }
}

/// `1 order line`, `3 order lines`.
pub fn count(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
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

/// What the price matrix could not read, one line per tenant, for stderr
/// (table and CSV output; JSON carries it in `failed`).
pub fn price_failures(matrix: &PriceMatrix) -> Option<String> {
    if matrix.failed.is_empty() {
        return None;
    }
    let lines: Vec<String> = matrix
        .failed
        .iter()
        .map(|f| {
            format!(
                "tenant {:?} not priced: {}",
                text::sanitize(&f.tenant),
                text::one_line(&f.error)
            )
        })
        .collect();
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
