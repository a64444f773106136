//! The price matrix: `prices` and the matrix's export.

use serde::Serialize;

use super::{csv, json, table, Align, Destination, Format};
use crate::db::{PriceMatrix, PriceRow, TenantCatalog, TenantFailure};
use crate::money::Value;
use crate::text;

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
        let mut map = serializer.serialize_map(Some(8))?;
        map.serialize_entry("description", &row.description)?;
        map.serialize_entry("key", &row.key)?;
        map.serialize_entry("prices", &Prices(self.tenants, &row.prices))?;
        map.serialize_entry("min", &row.min)?;
        map.serialize_entry("max", &row.max)?;
        map.serialize_entry("min_tenants", &row.min_tenants)?;
        map.serialize_entry("max_tenants", &row.max_tenants)?;
        map.serialize_entry("spread", &row.spread)?;
        // A null price is "not sold" unless a problem here says otherwise.
        let problems: std::collections::BTreeMap<&str, String> = self
            .tenants
            .iter()
            .zip(&row.prices)
            .filter_map(|(tenant, price)| Some((tenant.as_str(), price.problem()?.to_string())))
            .collect();
        map.serialize_entry("problems", &problems)?;
        map.end()
    }
}

/// `prices --format json`. The keys are stable:
///
/// ```json
/// {"tenants": ["client1", "client2"], "items_match": "description",
///  "items": [{"description": "Tesla", "key": "Tesla",
///             "prices": {"client1": 5000.00, "client2": 1000.00},
///             "min": 1000.00, "max": 5000.00,
///             "min_tenants": ["client2"], "max_tenants": ["client1"],
///             "spread": 5}]}
/// ```
///
/// `items_match` says what a row matches on across tenants (`description`,
/// `id` or a key column such as `sku`); `key` is the row's value of it.
/// `failed` lists the tenants whose prices could not be read
/// (`[{"tenant": "locked", "error": "query failed: … permission denied …"}]`);
/// their prices are `null` and the other tenants are priced. A tenant that
/// does not sell an item, or whose price is NULL, NaN, infinite or not a
/// number, has a `null` price; `problems` (`{"client3": "not a number
/// (NaN)"}`, `"NULL (no price)"`, `{}` when none) tells the unusable prices
/// from those not sold. `spread`
/// (max / min, 4 decimals at most) is `null` with fewer than two prices or a
/// minimum that is not positive. Money keeps its exact digits.
#[derive(Serialize)]
struct PricesJson<'a> {
    tenants: &'a [String],
    /// Each column's schema, aligned with `tenants`.
    schemas: &'a [String],
    items_match: &'a crate::db::ItemRule,
    items: Vec<PriceRowJson<'a>>,
    failed: &'a [crate::db::TenantFailure],
}

/// The price matrix as JSON (see [`PricesJson`]), CSV (`item`, one column
/// per tenant, `min`, `max`, `spread`, `min_tenants`, `max_tenants`; exact
/// values, empty for none, tenant lists joined by `;` as [`csv_list`]
/// writes them) or an aligned table.
pub fn prices(
    matrix: &PriceMatrix,
    catalog: &TenantCatalog,
    format: Format,
    to: Destination,
) -> String {
    // Columns as people call the tenants (registry labels), schemas beside.
    let labels: Vec<String> = matrix.tenants.iter().map(|t| catalog.label(t)).collect();
    let relabel =
        |tenants: &[String]| -> Vec<String> { tenants.iter().map(|t| catalog.label(t)).collect() };
    if format == Format::Json {
        let rows: Vec<PriceRow> = matrix
            .rows
            .iter()
            .map(|row| PriceRow {
                min_tenants: relabel(&row.min_tenants),
                max_tenants: relabel(&row.max_tenants),
                ..row.clone()
            })
            .collect();
        let failed: Vec<TenantFailure> = matrix
            .failed
            .iter()
            .map(|f| TenantFailure {
                tenant: catalog.label(&f.tenant),
                ..f.clone()
            })
            .collect();
        return json(
            &PricesJson {
                tenants: &labels,
                schemas: &matrix.tenants,
                items_match: &matrix.rule,
                items: rows
                    .iter()
                    .map(|row| PriceRowJson {
                        tenants: &labels,
                        row,
                    })
                    .collect(),
                failed: &failed,
            },
            to,
        );
    }
    let csv_format = format == Format::Csv;
    let headings = match csv_format {
        true => csv_names(&labels),
        false => labels.clone(),
    };
    // Each tenant as its column is headed, for the cheapest and dearest.
    let names: std::collections::HashMap<&str, &str> = (matrix.tenants.iter())
        .zip(&headings)
        .map(|(schema, name)| (schema.as_str(), name.as_str()))
        .collect();
    // CSV: empty is "not sold"; an unusable price says what it is
    // (`NULL`, `NaN`, `Infinity`, `-Infinity`, `not a number`, `out of
    // range`); a tenant that could not be read `not read` (table: `?`).
    let price = |value: &Value| match value.problem() {
        Some(problem) if csv_format => problem.cell().to_string(),
        _ if csv_format => value.csv(),
        _ => value.cell(),
    };
    let unread = matrix.unread();
    let unread_cell = if csv_format { "not read" } else { "?" };
    let rows: Vec<Vec<String>> = matrix
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.description.clone()];
            cells.extend(
                row.prices
                    .iter()
                    .zip(&unread)
                    .map(|(value, &unread)| match unread {
                        true => unread_cell.to_string(),
                        false => price(value),
                    }),
            );
            cells.push(price(&row.min));
            cells.push(price(&row.max));
            cells.push(match row.spread.plain() {
                Some(s) if csv_format => s,
                Some(s) => format!("×{s}"),
                None if csv_format => String::new(),
                None => "—".to_string(),
            });
            for tenants in [&row.min_tenants, &row.max_tenants] {
                let names = tenants.iter().map(|t| names.get(t.as_str()).copied());
                let names = names.map(|name| name.unwrap_or_default());
                cells.push(match csv_format {
                    true => csv_list(names),
                    false => names.collect::<Vec<_>>().join(", "),
                });
            }
            cells
        })
        .collect();
    if csv_format {
        let mut headers = vec![CSV_OWN[0]];
        headers.extend(headings.iter().map(String::as_str));
        headers.extend(&CSV_OWN[1..]);
        return csv(&headers, &rows, to);
    }
    let (l, r) = (Align::Left, Align::Right);
    let mut headers = vec![("ITEM", l)];
    headers.extend(headings.iter().map(|t| (t.as_str(), r)));
    headers.extend([
        ("MIN", r),
        ("MAX", r),
        ("SPREAD", r),
        ("CHEAPEST", l),
        ("DEAREST", l),
    ]);
    table(&headers, &rows, to)
}

/// The prices CSV's own columns, the tenants' between the first and the
/// rest.
const CSV_OWN: [&str; 6] = ["item", "min", "max", "spread", "min_tenants", "max_tenants"];

/// The tenants (`labels`) as the prices CSV names them, in its headers
/// and its lists: told apart from the CSV's own columns (schema `max` gave
/// two `max` headers) by ` (tenant)`, again where another tenant has that
/// name (`min` beside a tenant named `min (tenant)`).
fn csv_names(labels: &[String]) -> Vec<String> {
    let own = CSV_OWN.map(String::from);
    let mut taken: std::collections::HashSet<String> = own.into_iter().collect();
    taken.extend(labels.iter().cloned());
    let mut name_apart = |label: &String| {
        let mut name = label.clone();
        while CSV_OWN.contains(&name.as_str()) || (name != *label && !taken.insert(name.clone())) {
            name.push_str(" (tenant)");
        }
        name
    };
    labels.iter().map(&mut name_apart).collect()
}

/// Tenants as a CSV cell: joined by `;`, a `;` or `\` in a name escaped
/// with `\` (`max;p;q` could not be split back into `max` and `p;q`).
fn csv_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let escaped: Vec<String> = names
        .map(|name| name.replace('\\', "\\\\").replace(';', "\\;"))
        .collect();
    escaped.join(";")
}

/// What the price matrix could not read, one line per tenant, for stderr
/// (table and CSV output; JSON carries it in `failed`).
pub fn price_failures(matrix: &PriceMatrix, catalog: &TenantCatalog) -> Option<String> {
    if matrix.failed.is_empty() {
        return None;
    }
    let lines: Vec<String> = matrix
        .failed
        .iter()
        .map(|f| {
            format!(
                "tenant {} not priced: {}",
                crate::text::quoted(&catalog.label(&f.tenant)),
                text::one_line(&f.error)
            )
        })
        .collect();
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::PriceRow;

    /// Tenants named as the CSV's own columns, or with `;` or `\` in their
    /// names, read back as they are: schema `max` gave two `max` headers,
    /// `max;p;q` could not be split back into `max` and `p;q`, and `min`
    /// was named as the tenant `min (tenant)` beside it.
    #[test]
    fn the_csv_reads_back_whatever_the_tenants_are_called() {
        let tenants: Vec<String> = ["max", "p;q", r"a\b", "spread", "min", "min (tenant)"]
            .map(String::from)
            .to_vec();
        let values =
            ["1.00", "1.00", "2.00", "1.00", "1.00", "3.00"].map(|p| Value::from_text(Some(p)));
        let matrix = PriceMatrix {
            rows: vec![PriceRow::new("Widget".into(), values.to_vec(), &tenants)],
            tenants: tenants.clone(),
            ..Default::default()
        };
        let catalog = TenantCatalog::new(tenants.clone());
        let text = prices(&matrix, &catalog, Format::Csv, Destination::PipeOrFile);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers,
            [
                "item",
                "max (tenant)",
                "p;q",
                r"a\b",
                "spread (tenant)",
                "min (tenant) (tenant)",
                "min (tenant)",
                "min",
                "max",
                "spread",
                "min_tenants",
                "max_tenants"
            ]
        );
        let record = reader.records().next().unwrap().unwrap();
        let split = |cell: &str| -> Vec<String> {
            let (mut names, mut name, mut escaped) = (Vec::new(), String::new(), false);
            for c in cell.chars() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, ';') => names.push(std::mem::take(&mut name)),
                    (_, c) => {
                        name.push(c);
                        escaped = false;
                    }
                }
            }
            names.push(name);
            names
        };
        // As the headers name them.
        assert_eq!(
            split(&record[10]),
            [
                "max (tenant)",
                "p;q",
                "spread (tenant)",
                "min (tenant) (tenant)"
            ]
        );
        assert_eq!(split(&record[11]), ["min (tenant)"]);
    }
}
