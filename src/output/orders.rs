//! A user's priced orders: `orders` and the dashboard's export.

use serde::Serialize;

use super::{csv, json, table, Align, Destination, Format};
use crate::db::{OrdersReport, TenantCatalog, User};
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
/// quantity, or a NULL price of an item that is there (a comparison price
/// that is missing is "not sold", no problem).
pub(super) fn line_problem(line: &crate::db::OrderLine) -> Option<String> {
    let mut problems: Vec<String> = line.problem().into_iter().collect();
    if line.quantity == Value::Missing {
        problems.push("quantity is NULL".into());
    }
    if line.unit_price == Value::Missing && line.item.is_some() {
        problems.push("price is NULL".into());
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

pub fn orders(
    user: &User,
    report: &OrdersReport,
    catalog: &TenantCatalog,
    format: Format,
    to: Destination,
) -> String {
    let compare_schema = report.compare_tenant.as_deref();
    if format == Format::Json {
        return orders_json(user, report, catalog, to);
    }
    let cell = |value: &Value| match format {
        Format::Csv => value.csv(),
        _ => value.cell(),
    };
    let mut rows = order_rows(report, catalog, format);
    let compare = compare_schema.map_or_else(|| "none".to_string(), |s| catalog.label(s));
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
            "compare_item_id",
            "compare_tenant",
        ];
        return csv(&headers, &rows, to);
    }
    let partial = report.compare_note(catalog);
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
    // A partial comparison has no whole total: the like-for-like row says it.
    let (compare_total, difference) = match partial {
        Some(_) => (String::new(), String::new()),
        None => (cell(&report.compare_total), cell(&report.difference())),
    };
    rows.push(totals(
        "Total",
        cell(&report.total),
        compare_total,
        difference,
    ));
    if report.compared_lines > 0 && partial.is_some() {
        rows.push(totals(
            "Like for like",
            cell(&report.compared_total),
            cell(&report.compare_total),
            cell(&report.difference()),
        ));
    }
    let title = format!(
        "{} (id {}, {}) in tenant {}, compared with {}\n",
        text::sanitize(&user.name),
        text::sanitize(&user.id),
        text::sanitize(user.mail.as_deref().unwrap_or("no mail")),
        text::sanitize(&catalog.label(&report.tenant)),
        text::sanitize(&compare),
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
    out.push_str(&order_notes(report, catalog, partial));
    out
}

/// `orders --format json`.
fn orders_json(
    user: &User,
    report: &OrdersReport,
    catalog: &TenantCatalog,
    to: Destination,
) -> String {
    let compare_schema = report.compare_tenant.as_deref();
    json(
        &OrdersJson {
            user: OrdersUserJson::of(user, catalog),
            compare_tenant: compare_schema.map(|s| catalog.label(s)),
            compare_tenant_key: compare_schema.and_then(|s| catalog.key(s)),
            compare_schema,
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
                    compare_item_id: line.compare_item_id.as_deref(),
                    compare_item: line.compare_item.as_deref(),
                    problem: line_problem(line),
                })
                .collect(),
            total: &report.total,
            compared_total: &report.compared_total,
            compare_total: &report.compare_total,
            compare_missing: report
                .compare_tenant
                .as_ref()
                .filter(|_| report.compare_error.is_none())
                .map(|_| report.compare_missing),
            items_match: report.item_rule.as_ref().map(|choice| ItemsMatchJson {
                rule: choice.rule.name(),
                why: &choice.why,
            }),
            compare_error: report.compare_error.as_deref(),
        },
        to,
    )
}

/// One row per order line: id, item, quantity and the money columns (CSV:
/// with the matched item's id).
fn order_rows(report: &OrdersReport, catalog: &TenantCatalog, format: Format) -> Vec<Vec<String>> {
    let compare_schema = report.compare_tenant.as_deref();
    let cell = |value: &Value| match format {
        Format::Csv => value.csv(),
        _ => value.cell(),
    };
    report
        .lines
        .iter()
        .map(|line| {
            let quantity = match format {
                Format::Csv => line.quantity.csv(),
                _ => line
                    .quantity
                    .plain()
                    .unwrap_or_else(|| line.quantity.cell()),
            };
            let id_and_item = [
                line.item_id.clone().unwrap_or_default(),
                match (&line.item, &line.compare_item) {
                    // Matched by id or key to an item described otherwise.
                    (Some(own), Some(theirs)) if format != Format::Csv && own != theirs => {
                        format!("{own} ≠ {theirs}")
                    }
                    (item, _) => item.clone().unwrap_or_else(|| "(missing item)".into()),
                },
                quantity,
            ];
            let money = line.money_columns().map(|value| cell(&value));
            let mut row: Vec<String> = id_and_item.into_iter().chain(money).collect();
            if format == Format::Csv {
                row.push(line.compare_item_id.clone().unwrap_or_default());
                // Which tenant the compare_ columns are of, on every row.
                row.push(compare_schema.map(|s| catalog.label(s)).unwrap_or_default());
            }
            row
        })
        .collect()
}

/// Under the table: why a total is unknown or a comparison partial, how
/// items were matched, and each line's problem.
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
    for line in &report.lines {
        if let Some(problem) = line_problem(line) {
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
