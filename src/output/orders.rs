//! A user's priced orders: `orders` and the dashboard's export.

use serde::Serialize;

use super::{csv, json, table, Align, Destination, Format};
use crate::db::{OrdersReport, User};
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
///              "problem": null}],
///  "total": 12500.00, "compared_total": 12500.00, "compare_total": 8750.00,
///  "compare_missing": 0}
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

/// Whose orders (or basket) a JSON document is about.
#[derive(Serialize)]
pub(super) struct OrdersUserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    /// The tenant as the registry names it (else its schema).
    tenant: Option<&'a str>,
    schema: Option<&'a str>,
}

impl<'a> OrdersUserJson<'a> {
    pub(super) fn of(user: &'a User) -> OrdersUserJson<'a> {
        OrdersUserJson {
            id: &user.id,
            name: &user.name,
            mail: user.mail.as_deref(),
            tenant: user.tenant_label(),
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

pub fn orders(user: &User, report: &OrdersReport, format: Format, to: Destination) -> String {
    if format == Format::Json {
        return json(
            &OrdersJson {
                user: OrdersUserJson::of(user),
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
                        problem: line_problem(line),
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
            let quantity = match format {
                Format::Csv => line.quantity.csv(),
                _ => line
                    .quantity
                    .plain()
                    .unwrap_or_else(|| line.quantity.cell()),
            };
            let id_and_item = [
                line.item_id.clone().unwrap_or_default(),
                line.item.clone().unwrap_or_else(|| "(missing item)".into()),
                quantity,
            ];
            let money = line.money_columns().map(|value| cell(&value));
            id_and_item.into_iter().chain(money).collect()
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
