//! `tenantscope basket`: a user's basket priced at every tenant.

use serde::Serialize;

use super::orders::OrdersUserJson;
use super::Format;
use super::{csv, json, table, Align, Destination};
use crate::db::{BasketTenant, LineGap, OrderLine, TenantCatalog, User};
use crate::money::Value;
use crate::text::plural;

#[derive(Serialize)]
struct BasketJson<'a> {
    user: OrdersUserJson<'a>,
    /// The user's order lines (with their own tenant's prices).
    lines: usize,
    tenants: Vec<BasketTenantJson<'a>>,
}

#[derive(Serialize)]
struct BasketTenantJson<'a> {
    /// As the registry names it (else the schema).
    tenant: String,
    tenant_key: Option<&'a str>,
    schema: &'a str,
    /// Over `priced_lines` only: never summed over a line the tenant lacks.
    total: &'a Value,
    priced_lines: usize,
    missing_lines: usize,
    /// Why each missing line has no total here (absent when none is missing).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    gaps: &'a [LineGap],
    /// This tenant's total minus the own tenant's, over the lines both price.
    difference: &'a Value,
    /// The lines `difference` covers.
    compared_lines: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// Why `total` or `difference` is no number though lines are priced
    /// (a sum past what is shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// `total is out of range (…)`: why a tenant's sums are null beside
/// priced lines, as `orders` says a line's problem.
fn sums_problem(tenant: &BasketTenant) -> Option<String> {
    let problems: Vec<String> = [("total", &tenant.total), ("difference", &tenant.difference)]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name} is {}", value.problem()?)))
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The columns of `basket`'s CSV (the later ones last: scripts read the
/// first by place).
const BASKET_HEADERS: [&str; 9] = [
    "tenant",
    "total",
    "priced_lines",
    "missing_lines",
    "difference",
    "error",
    "compared_lines",
    "gaps",
    "problem",
];

/// Ranked tenants (already ranked and limited by the caller).
pub fn basket(
    user: &User,
    lines: &[OrderLine],
    tenants: &[BasketTenant],
    catalog: &TenantCatalog,
    format: Format,
    to: Destination,
) -> String {
    if format == Format::Json {
        return json(
            &BasketJson {
                user: OrdersUserJson::of(user, catalog),
                lines: lines.len(),
                tenants: tenants
                    .iter()
                    .map(|t| BasketTenantJson {
                        tenant: catalog.label(&t.tenant),
                        tenant_key: catalog.key(&t.tenant),
                        schema: &t.tenant,
                        total: &t.total,
                        priced_lines: t.priced_lines,
                        missing_lines: t.missing_lines,
                        gaps: &t.gaps,
                        difference: &t.difference,
                        compared_lines: t.compared_lines,
                        error: t.error.as_deref(),
                        problem: sums_problem(t),
                    })
                    .collect(),
            },
            to,
        );
    }
    let plain = |v: &Value| v.plain().unwrap_or_default();
    if format == Format::Csv {
        let rows: Vec<Vec<String>> = tenants
            .iter()
            .map(|t| {
                vec![
                    catalog.label(&t.tenant),
                    plain(&t.total),
                    t.priced_lines.to_string(),
                    t.missing_lines.to_string(),
                    plain(&t.difference),
                    t.error.clone().unwrap_or_default(),
                    t.compared_lines.to_string(),
                    // JSON, as `--format json` has them: an item's name
                    // may hold any separator.
                    match t.gaps.is_empty() {
                        true => String::new(),
                        false => serde_json::to_string(&t.gaps).expect("text and keys"),
                    },
                    sums_problem(t).unwrap_or_default(),
                ]
            })
            .collect();
        return csv(&BASKET_HEADERS, &rows, to);
    }
    let own = user.tenant.as_deref().unwrap_or("");
    let note = format!(
        "basket of {} (id {}) in {}: {}; totals cover only the lines a tenant \
         prices, vs own compares those both it and the own tenant price",
        user.name,
        user.id,
        catalog.label(own),
        plural(lines.len(), "order line", "order lines"),
    );
    let mut out = crate::text::sanitize(&note).into_owned();
    out.push('\n');
    out.push_str(&table_of(tenants, own, lines.len(), catalog, to));
    out
}

/// The text table: as the basket view draws it (the own tenant marked,
/// lines priced of all, money grouped by thousands), what a tenant lacks
/// or why it failed in a last column, there only when some row has one.
fn table_of(
    tenants: &[BasketTenant],
    own: &str,
    lines: usize,
    catalog: &TenantCatalog,
    to: Destination,
) -> String {
    let note = |t: &BasketTenant| match &t.error {
        Some(error) => format!("error: {error}"),
        None => t.gaps_note().unwrap_or_default(),
    };
    let rows: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| {
            let mut name = catalog.label(&t.tenant);
            if t.tenant == own {
                name.push_str(" (own)");
            }
            let [lines, total, difference] = match t.error {
                Some(_) => ["?".to_string(), "?".into(), "?".into()],
                None => [
                    crate::text::part_of(t.priced_lines, lines),
                    t.total.cell(),
                    t.difference.cell(),
                ],
            };
            vec![name, lines, total, difference, note(t)]
        })
        .collect();
    let mut headers = vec![
        ("TENANT", Align::Left),
        ("LINES", Align::Right),
        ("TOTAL", Align::Right),
        ("VS OWN", Align::Right),
    ];
    if rows.iter().any(|row| !row[4].is_empty()) {
        headers.push(("NOTE", Align::Left));
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|mut row| {
            row.truncate(headers.len());
            row
        })
        .collect();
    table(&headers, &rows, to)
}
