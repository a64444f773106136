//! CLI output: aligned tables, JSON with stable keys, CSV.
//!
//! Table output is for terminals, so every value is sanitized; JSON and CSV
//! keep values exactly as stored (JSON escapes control characters itself).

use rust_decimal::Decimal;
use serde::Serialize;

use crate::cli::Format;
use crate::db::{OrdersReport, TenantCatalog, TenantStatus, TenantSummary, User};
use crate::text::{self, money, money_plain};

/// Widest a table column grows before values are cut with `…`.
const MAX_COLUMN_CELLS: usize = 40;

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// Renders rows as an aligned text table with a header line.
fn table(headers: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .map(|row| text::width(&text::sanitize(&row[i])))
                .chain([text::width(title)])
                .max()
                .unwrap_or(0)
                .min(MAX_COLUMN_CELLS)
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

fn csv(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(headers).expect("writing to memory");
    for row in rows {
        writer.write_record(row).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("CSV of UTF-8 values")
}

fn json<T: Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value).expect("serializable values");
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
    mail: &'a str,
    tenant: Option<&'a str>,
    tenant_schema: &'static str,
    created: Option<&'a str>,
}

pub fn users(users: &[User], catalog: &TenantCatalog, format: Format) -> String {
    match format {
        Format::Json => json(
            &users
                .iter()
                .map(|u| UserJson {
                    id: &u.id,
                    name: &u.name,
                    mail: &u.mail,
                    tenant: u.tenant.as_deref(),
                    tenant_schema: status_word(catalog.status_of(u)),
                    created: u.created.as_deref(),
                })
                .collect::<Vec<_>>(),
        ),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.clone(),
                        u.name.clone(),
                        u.mail.clone(),
                        u.tenant.clone().unwrap_or_default(),
                        status_word(catalog.status_of(u)).to_string(),
                        u.created.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let headers = ["id", "name", "mail", "tenant", "tenant_schema", "created"];
            if format == Format::Csv {
                csv(&headers, &rows)
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
                )
            }
        }
    }
}

pub fn tenants(summaries: &[TenantSummary], format: Format) -> String {
    match format {
        Format::Json => json(&summaries),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|t| {
                    vec![
                        t.tenant.clone(),
                        if t.schema_exists { "ok" } else { "missing" }.to_string(),
                        t.users.to_string(),
                    ]
                })
                .collect();
            if format == Format::Csv {
                csv(&["tenant", "schema", "users"], &rows)
            } else {
                table(
                    &[
                        ("TENANT", Align::Left),
                        ("SCHEMA", Align::Left),
                        ("USERS", Align::Right),
                    ],
                    &rows,
                )
            }
        }
    }
}

#[derive(Serialize)]
struct OrdersJson<'a> {
    user: OrdersUserJson<'a>,
    compare_tenant: Option<&'a str>,
    orders: &'a [crate::db::OrderLine],
    total: Decimal,
    compare_total: Option<Decimal>,
}

#[derive(Serialize)]
struct OrdersUserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: &'a str,
    tenant: Option<&'a str>,
}

pub fn orders(user: &User, report: &OrdersReport, format: Format) -> String {
    if format == Format::Json {
        return json(&OrdersJson {
            user: OrdersUserJson {
                id: &user.id,
                name: &user.name,
                mail: &user.mail,
                tenant: user.tenant.as_deref(),
            },
            compare_tenant: report.compare_tenant.as_deref(),
            orders: &report.lines,
            total: report.total,
            compare_total: report.compare_total,
        });
    }
    let fmt_money = |value: Option<Decimal>| match (value, format) {
        (Some(v), Format::Csv) => money_plain(v),
        (Some(v), _) => money(v),
        (None, Format::Csv) => String::new(),
        (None, _) => "—".to_string(),
    };
    let mut rows: Vec<Vec<String>> = report
        .lines
        .iter()
        .map(|line| {
            vec![
                line.item_id.clone().unwrap_or_default(),
                line.item.clone().unwrap_or_else(|| "(missing item)".into()),
                line.quantity.map(|q| q.to_string()).unwrap_or_default(),
                fmt_money(line.unit_price),
                fmt_money(line.total),
                fmt_money(line.compare_unit_price),
                fmt_money(line.compare_total),
                fmt_money(line.difference()),
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
        return csv(&headers, &rows);
    }
    rows.push(vec![
        String::new(),
        "Total".into(),
        String::new(),
        String::new(),
        fmt_money(Some(report.total)),
        String::new(),
        fmt_money(report.compare_total),
        fmt_money(report.difference()),
    ]);
    let title = format!(
        "{} (id {}, {}) in tenant {}, compared with {}\n",
        text::sanitize(&user.name),
        text::sanitize(&user.id),
        text::sanitize(&user.mail),
        text::sanitize(&report.tenant),
        text::sanitize(compare),
    );
    let compare_price = format!("{} PRICE", text::fit(&compare.to_uppercase(), 20));
    let compare_total = format!("{} TOTAL", text::fit(&compare.to_uppercase(), 20));
    let (l, r) = (Align::Left, Align::Right);
    title
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
        )
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
        let out = table(&[("NAME", Align::Left), ("PRICE", Align::Right)], &rows);
        assert!(!out.contains('\x1b'));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "日本          1.00");
        assert_eq!(lines[2], "a^[[31m  10,000.00");
        assert_eq!(text::width(lines[1]), text::width(lines[2]));
    }

    #[test]
    fn csv_quotes_values() {
        let out = csv(&["a", "b"], &[vec!["x,y".into(), "say \"hi\"".into()]]);
        assert_eq!(out, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }
}
