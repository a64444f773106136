//! Priced orders of one user in their tenant, beside a comparison tenant's prices.

use serde::Serialize;

use super::catalog::TenantCatalog;
use super::item_match::{ItemRule, RuleChoice};
use std::sync::atomic::Ordering;

use super::lossy::{raw, LossyText};
use super::sql::quote_ident;
use super::{exact_text, Database, DbError, QueryHandle, User};
use crate::money::Value;

/// One order line. [`Value::Missing`] means the value is not there (an item
/// the comparison tenant does not sell, a deleted item, a NULL in the
/// data), never zero; [`Value::Invalid`] a value that is there but is not a
/// usable number (NaN, infinite, text that is no number).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    /// The order's item column as text (`None`: NULL there).
    pub item_id: Option<String>,
    /// `None`: the order points at an item that no longer exists.
    pub item: Option<String>,
    /// Without trailing zeros: `2.5`, `0.001`, `3`.
    pub quantity: Value,
    /// The item's price in the user's own tenant.
    pub unit_price: Value,
    /// `quantity × unit_price`, exact (see [`Value::line_total`]).
    pub total: Value,
    /// The comparison tenant's price of the same item (matched by the
    /// pair's [`ItemRule`]); missing without a comparison tenant or where
    /// it sells no such item.
    pub compare_unit_price: Value,
    /// `quantity × compare_unit_price`, exact.
    pub compare_total: Value,
    /// The comparison tenant's item that was matched: its id and description.
    pub compare_item_id: Option<String>,
    pub compare_item: Option<String>,
}

/// One order line as the server sends it: every value in its exact text form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOrderLine {
    pub item_id: Option<String>,
    /// The item's description, lossy where it is not UTF-8.
    pub item: Option<String>,
    /// `None` for NULL, like every field here; [`OrderLine::from_raw`]
    /// reads the texts (a money column arrives through numeric).
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub compare_unit_price: Option<String>,
    pub compare_item_id: Option<String>,
    pub compare_item: Option<String>,
}

impl OrderLine {
    /// Unit price, total, comparison unit price, comparison total and
    /// difference: the money columns, in the order tables show them.
    pub fn money_columns(&self) -> [Value; 5] {
        [
            self.unit_price.clone(),
            self.total.clone(),
            self.compare_unit_price.clone(),
            self.compare_total.clone(),
            self.difference(),
        ]
    }
}

impl OrderLine {
    pub fn from_raw(raw: RawOrderLine) -> OrderLine {
        let quantity = Value::from_text(raw.quantity.as_deref()).quantity();
        let unit_price = Value::from_text(raw.unit_price.as_deref());
        let compare_unit_price = Value::from_text(raw.compare_unit_price.as_deref());
        OrderLine {
            total: Value::line_total(&quantity, &unit_price),
            compare_total: Value::line_total(&quantity, &compare_unit_price),
            item_id: raw.item_id,
            item: raw.item,
            quantity,
            unit_price,
            compare_unit_price,
            compare_item_id: raw.compare_item_id,
            compare_item: raw.compare_item,
        }
    }

    /// The comparison item found has another description than the own
    /// one (possible only when matching by id or by a key column).
    pub fn names_another_item(&self) -> bool {
        matches!((&self.item, &self.compare_item), (Some(own), Some(theirs)) if own != theirs)
    }

    /// Comparison minus own line total, where both exist.
    pub fn difference(&self) -> Value {
        self.compare_total.minus(&self.total)
    }

    /// Both tenants price this line: it counts in the comparison.
    pub fn compared(&self) -> bool {
        self.total.is_number() && self.compare_total.is_number()
    }

    /// Why the line has no own total, in words that follow "1 line …".
    pub fn gap(&self) -> Option<String> {
        if self.total.is_number() {
            return None;
        }
        Some(
            if self.item.is_none() && self.unit_price == Value::Missing {
                "with a missing item".into()
            } else if let Some(problem) = self.quantity.problem() {
                format!("with a quantity that is {problem}")
            } else if self.quantity == Value::Missing {
                "without a quantity".into()
            } else if let Some(problem) = self.unit_price.problem() {
                format!("with a price that is {problem}")
            } else if self.unit_price == Value::Missing {
                "without a price".into()
            } else {
                format!("with a total that is {}", crate::money::Problem::OutOfRange)
            },
        )
    }

    /// What is wrong with this line's values, if anything: "price is not a
    /// number (NaN)", "missing item", "comparison price is infinite …".
    pub fn problem(&self) -> Option<String> {
        let mut problems = Vec::new();
        if self.item.is_none() && self.unit_price == Value::Missing {
            problems.push("missing item".to_string());
        }
        for (name, value) in [
            ("quantity", &self.quantity),
            ("price", &self.unit_price),
            ("total", &self.total),
            ("comparison price", &self.compare_unit_price),
            ("comparison total", &self.compare_total),
        ] {
            if let Some(problem) = value.problem() {
                problems.push(format!("{name} is {problem}"));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdersReport {
    /// The user's tenant schema (see [`User::tenant`]).
    pub tenant: String,
    /// The tenant whose prices stand beside the own ones, if any.
    pub compare_tenant: Option<String>,
    /// The user's orders, by order id.
    pub lines: Vec<OrderLine>,
    /// The sum of every line total; unknown if one line has none.
    pub total: Value,
    /// Like for like: the comparison tenant's total over the lines both
    /// tenants price. Unknown with no comparison tenant or no such line.
    pub compare_total: Value,
    /// The own total over the same lines as `compare_total`.
    pub compared_total: Value,
    /// Lines both tenants price.
    pub compared_lines: usize,
    /// Lines the comparison tenant has no usable unit price for: not sold
    /// there, NULL, NaN… (0 without a comparison tenant).
    pub compare_missing: usize,
    /// How items were matched with the comparison tenant's, and why.
    pub item_rule: Option<RuleChoice>,
    /// Why there is no comparison although a tenant was asked for (its
    /// items cannot be read, a configured key column is missing).
    pub compare_error: Option<String>,
}

impl OrdersReport {
    /// Computes totals and the like-for-like comparison from the lines.
    pub fn new(
        tenant: String,
        compare_tenant: Option<String>,
        lines: Vec<OrderLine>,
    ) -> OrdersReport {
        let total = Value::sum(lines.iter().map(|l| &l.total));
        let compared: Vec<&OrderLine> = lines.iter().filter(|l| l.compared()).collect();
        let (compare_total, compared_total) = if compare_tenant.is_some() && !compared.is_empty() {
            (
                Value::sum(compared.iter().map(|l| &l.compare_total)),
                Value::sum(compared.iter().map(|l| &l.total)),
            )
        } else {
            (Value::Missing, Value::Missing)
        };
        let compare_missing = match compare_tenant {
            Some(_) => lines
                .iter()
                .filter(|l| !l.compare_unit_price.is_number())
                .count(),
            None => 0,
        };
        OrdersReport {
            tenant,
            compare_tenant,
            compared_lines: compared.len(),
            lines,
            total,
            compare_total,
            compared_total,
            compare_missing,
            item_rule: None,
            compare_error: None,
        }
    }

    /// Lines matched by id or key whose comparison item has another
    /// description: worth a look, the match may not be the same item.
    pub fn other_item_lines(&self) -> usize {
        self.lines.iter().filter(|l| l.names_another_item()).count()
    }

    /// The warning for [`OrdersReport::other_item_lines`], if any, with
    /// tenants named as `catalog` names them.
    pub fn other_item_note(&self, catalog: &TenantCatalog) -> Option<String> {
        let count = self.other_item_lines();
        let rule = self.item_rule.as_ref()?;
        let compare = catalog.label(self.compare_tenant.as_deref()?);
        let compare = crate::text::sanitize(&compare).into_owned();
        (count > 0).then(|| {
            let lines = if count == 1 { "line" } else { "lines" };
            format!(
                "{count} {lines} matched by {} name another item at {compare}",
                crate::text::sanitize(rule.rule.name())
            )
        })
    }

    /// From the server's rows, in order.
    pub fn from_raw(
        tenant: String,
        compare_tenant: Option<String>,
        rows: Vec<RawOrderLine>,
    ) -> OrdersReport {
        let lines = rows.into_iter().map(OrderLine::from_raw).collect();
        OrdersReport::new(tenant, compare_tenant, lines)
    }

    /// Comparison minus own, like for like; unknown when nothing compares.
    pub fn difference(&self) -> Value {
        self.compare_total.minus(&self.compared_total)
    }

    /// Why the own total is unknown: "1 line without a price",
    /// "2 lines without a total" (mixed reasons).
    pub fn total_gap(&self) -> Option<String> {
        let gaps: Vec<String> = self.lines.iter().filter_map(OrderLine::gap).collect();
        let first = gaps.first()?;
        let lines = if gaps.len() == 1 { "line" } else { "lines" };
        if gaps.iter().all(|g| g == first) {
            Some(format!("{} {lines} {first}", gaps.len()))
        } else {
            Some(format!("{} {lines} without a total", gaps.len()))
        }
    }

    /// How partial the comparison is, when it is: "1 of 2 lines, 1 item
    /// not sold by client3", or "no item sold by client3" when nothing
    /// compares.
    pub fn compare_note(&self, catalog: &TenantCatalog) -> Option<String> {
        let compare = catalog.label(self.compare_tenant.as_deref()?);
        let compare = crate::text::sanitize(&compare).into_owned();
        if let Some(why) = &self.compare_error {
            return Some(format!("no comparison with {compare}: {why}"));
        }
        let lines = self.lines.len();
        if lines == 0 || self.compared_lines == lines {
            return None;
        }
        if self.compare_missing == lines {
            return Some(format!("no item sold by {compare}"));
        }
        if self.compared_lines == 0 {
            return Some(format!(
                "no line priced by both {} and {compare}",
                crate::text::sanitize(&catalog.label(&self.tenant))
            ));
        }
        let mut why = Vec::new();
        if self.compare_missing > 0 {
            why.push(format!(
                "{} not sold by {compare}",
                count_lines(self.compare_missing)
            ));
        }
        let own_gaps = self.lines.iter().filter(|l| !l.total.is_number()).count();
        if own_gaps > 0 {
            why.push(format!(
                "{} without an own total",
                crate::text::thousands(own_gaps as i64)
            ));
        }
        Some(format!(
            "{} of {}, {}",
            crate::text::thousands(self.compared_lines as i64),
            count_lines(lines),
            why.join(", ")
        ))
    }
}

/// "1 line", "10,000 lines".
fn count_lines(count: usize) -> String {
    let noun = if count == 1 { "line" } else { "lines" };
    format!("{} {noun}", crate::text::thousands(count as i64))
}

/// The comparison tenant actually used for a user.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareChoice {
    pub tenant: Option<String>,
    /// The requested tenant was the user's own, so the next one is used.
    pub replaced_own: bool,
}

/// Picks the comparison tenant: the requested one if it exists and is not
/// the user's own (then the next tenant by name), else the first other tenant.
pub fn choose_compare_tenant(
    catalog: &TenantCatalog,
    own: Option<&str>,
    requested: Option<&str>,
) -> Result<CompareChoice, DbError> {
    match requested {
        Some(requested) if !catalog.contains(requested) => Err(catalog.unknown(requested)),
        Some(requested) if Some(requested) == own => Ok(CompareChoice {
            tenant: catalog.step(Some(requested), false, own),
            replaced_own: true,
        }),
        Some(requested) => Ok(CompareChoice {
            tenant: Some(requested.to_string()),
            replaced_own: false,
        }),
        None => Ok(CompareChoice {
            tenant: catalog.step(None, false, own),
            replaced_own: false,
        }),
    }
}

impl Database {
    /// Why `tenant` is not in the catalog: no such schema, or a missing table.
    async fn why_not_a_tenant(&self, conn: &mut sqlx::PgConnection, tenant: &str) -> DbError {
        let model = &self.tables.model;
        let tables: Result<Option<Vec<String>>, sqlx::Error> = sqlx::query_scalar(concat!(
            "SELECT array(SELECT c.relname::text FROM pg_catalog.pg_class c
                           WHERE c.relnamespace = n.oid AND c.relname IN ($2, $3)
                             AND c.relkind IN ",
            crate::model::table_kinds!(),
            ")
               FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
        ))
        .bind(tenant)
        .bind(&model.items.table)
        .bind(&model.orders.table)
        .persistent(self.persistent())
        .fetch_optional(conn)
        .await;
        match tables {
            Ok(None) => DbError::TenantNotFound(tenant.to_string()),
            Ok(Some(tables)) => {
                let missing = [&model.items.table, &model.orders.table]
                    .into_iter()
                    .find(|t| !tables.iter().any(|have| have == *t));
                DbError::TenantTableMissing {
                    tenant: tenant.to_string(),
                    table: missing.unwrap_or(&model.items.table).to_string(),
                }
            }
            Err(e) => self.error(e),
        }
    }

    /// The quoted schemas of `tenant` and `compare`, if both are tenant
    /// schemas (see [`super::tenancy::Names::has_tenant_tables`]); else why not.
    async fn tenant_schemas(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
        compare: Option<&str>,
    ) -> Result<(String, Option<String>), DbError> {
        let wanted: Vec<&str> = std::iter::once(tenant).chain(compare).collect();
        let found = self
            .quoted_tenants(tx, &wanted)
            .await
            .map_err(|e| self.error(e))?;
        let quoted = |name: &str| {
            found
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, q)| q.clone())
        };
        let Some(own) = quoted(tenant) else {
            return Err(self.why_not_a_tenant(tx, tenant).await);
        };
        match compare {
            Some(name) => match quoted(name) {
                Some(schema) => Ok((own, Some(schema))),
                None => Err(DbError::UnknownTenant(name.to_string())),
            },
            None => Ok((own, None)),
        }
    }

    /// The user's priced orders in their tenant schema, with `compare`'s
    /// price for the same item (matched by id, else by exact description).
    pub async fn priced_orders(
        &self,
        user: &User,
        compare: Option<&str>,
    ) -> Result<OrdersReport, DbError> {
        self.priced_orders_tracked(user, compare, None).await
    }

    /// [`Database::priced_orders`], cancellable on the server through `handle`.
    pub async fn priced_orders_tracked(
        &self,
        user: &User,
        compare: Option<&str>,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersReport, DbError> {
        self.retried(|| self.priced_orders_tracked_once(user, compare, handle))
            .await
    }

    async fn priced_orders_tracked_once(
        &self,
        user: &User,
        compare: Option<&str>,
        handle: Option<&QueryHandle>,
    ) -> Result<OrdersReport, DbError> {
        let tenant = match user.tenant.as_deref() {
            None => return Err(DbError::NoTenant { null: true }),
            Some("") => return Err(DbError::NoTenant { null: false }),
            Some(tenant) => tenant,
        };
        self.counters.orders.fetch_add(1, Ordering::Relaxed);
        // How the comparison tenant's items match the own ones: decided
        // before the read (at most one statement per pair and session). A
        // comparison tenant that cannot be read (locked, a configured key
        // column missing) leaves the own prices standing, with the reason.
        let mut compare_error = None;
        let rule = match compare {
            Some(other) => {
                let pair = (tenant, quote_ident(tenant));
                let theirs = (other, quote_ident(other));
                match self
                    .item_rule((pair.0, &pair.1), (theirs.0, &theirs.1), handle)
                    .await?
                {
                    Ok(choice) => Some(choice),
                    Err(why) => {
                        // A schema that is not a tenant is the real story.
                        let mut tx = self.read_tx().await?;
                        self.tenant_schemas(&mut tx, tenant, compare).await?;
                        Database::end_read(tx);
                        compare_error = Some(why.to_string());
                        None
                    }
                }
            }
            None => None,
        };
        let compare_used = rule.as_ref().and(compare);
        let mut tx = self.tracked_tx(handle).await?;
        // Without a registry a tenant is a schema holding both tables, which
        // the query below shows by running (a missing one fails it, and is
        // explained then): no round trip to check first. A registry also
        // says which schemas are tenants: that is checked first.
        let checked = !self.tables.names.tenant_filter.is_empty();
        let (own_schema, compare_schema) = if checked {
            self.tenant_schemas(&mut tx, tenant, compare_used).await?
        } else {
            (quote_ident(tenant), compare_used.map(quote_ident))
        };
        let sql = self.orders_sql(&own_schema, compare_schema.as_deref().zip(rule.as_ref()));
        // The SQL text differs per tenant pair: keep it out of the statement cache.
        let rows: Result<Vec<OrderRow>, _> = sqlx::query_as(&sql)
            .bind(&user.id)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await;
        if let Some(handle) = handle {
            handle.finished();
        }
        let rows = match rows {
            Err(e) if !checked && is_missing_relation(&e) => {
                drop(tx);
                let mut tx = self.read_tx().await?;
                return Err(match self.tenant_schemas(&mut tx, tenant, compare).await {
                    Err(why) => why,
                    Ok(_) => self.error(e),
                });
            }
            Err(e) => {
                drop(tx);
                let tenants: Vec<&str> = std::iter::once(tenant).chain(compare_used).collect();
                return Err(self.on_tenant_nodes(&tenants, self.error(e)).await);
            }
            Ok(rows) => rows,
        };
        let rows = rows.into_iter().map(raw_line).collect();
        Database::end_read(tx);
        let mut report =
            OrdersReport::from_raw(tenant.to_string(), compare.map(str::to_string), rows);
        report.item_rule = rule;
        report.compare_error = compare_error;
        Ok(report)
    }

    /// The orders query over `own` (a quoted schema), with the prices of
    /// `compare` (a quoted schema and how its items match) beside them: the
    /// comparison items are joined on the key (see [`Database::match_sql`]),
    /// so the cost grows with lines plus items, never their product.
    fn orders_sql(&self, own: &str, compare: Option<(&str, &RuleChoice)>) -> String {
        let n = &self.tables.names;
        let (with, join, columns) = match compare {
            Some((schema, choice)) => {
                let own_keys: Vec<String> = choice
                    .rule
                    .keys()
                    .iter()
                    .map(|key| match key {
                        // The order's own reference: a deleted own item still matches.
                        ItemRule::Id => format!("o.{}::text", n.order_item),
                        key => self.item_key(key, "i"),
                    })
                    .collect();
                let (ctes, joins, column) = self.match_sql(schema, &choice.rule, &own_keys);
                let columns = format!("{}, {}, {}", column("price"), column("id"), column("item"));
                (format!("WITH {ctes}\n"), joins, columns)
            }
            None => (
                String::new(),
                String::new(),
                "NULL::text, NULL::text, NULL::bytea".to_string(),
            ),
        };
        format!(
            "{with}SELECT o.{order_item}::text AS item_id, {item} AS item,
                    {quantity} AS quantity, {price} AS unit_price, {columns}
               FROM {own}.{orders} o
               LEFT JOIN {own}.{items} i ON i.{item_id}::text = o.{order_item}::text
               {join}
              WHERE o.{order_user}::text = $1
              ORDER BY o.id",
            orders = n.orders,
            items = n.items,
            item_id = n.item_id,
            order_item = n.order_item,
            order_user = n.order_user,
            quantity = exact_text(&format!("o.{}", n.order_quantity)),
            price = exact_text(&format!("i.{}", n.item_price)),
            // A description that is not UTF-8 (SQL_ASCII) is shown lossily.
            item = raw(&format!("i.{}", n.item_label)),
        )
    }
}

/// One row of the orders query (see [`Database::orders_sql`]): item id,
/// item, quantity, unit price, and the comparison's price, item id and item.
type OrderRow = (
    Option<String>,
    Option<LossyText>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<LossyText>,
);

fn raw_line(row: OrderRow) -> RawOrderLine {
    let (item_id, item, quantity, unit_price, compare_unit_price, compare_item_id, compare_item) =
        row;
    RawOrderLine {
        item_id,
        item: item.map(|i| i.text),
        quantity,
        unit_price,
        compare_unit_price,
        compare_item_id,
        compare_item: compare_item.map(|i| i.text),
    }
}

/// The query names a schema or table that is not there (SQLSTATE 3F000,
/// 42P01): the tenant's schema is gone or lacks a table.
fn is_missing_relation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("3F000" | "42P01")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str, qty: &str, price: Option<&str>, compare: Option<&str>) -> RawOrderLine {
        RawOrderLine {
            item_id: Some(id.into()),
            item: Some(format!("item {id}")),
            quantity: Some(qty.into()),
            unit_price: price.map(str::to_string),
            compare_unit_price: compare.map(str::to_string),
            ..Default::default()
        }
    }

    fn plain(value: &Value) -> Option<String> {
        value.plain()
    }

    /// Worked by hand: 3 × 19.99 = 59.97 and 2.5 × 20.00 = 50.000, shown at
    /// the price's scale as 50.00; b sells only the second item, at 18.
    #[test]
    fn totals_compare_like_for_like() {
        let report = OrdersReport::from_raw(
            "a".into(),
            Some("b".into()),
            vec![
                raw("1", "3", Some("19.99"), None),
                raw("2", "2.500", Some("20.00"), Some("18")),
            ],
        );
        assert_eq!(plain(&report.lines[0].total).as_deref(), Some("59.97"));
        assert_eq!(
            report.lines[0].compare_total,
            Value::Missing,
            "not sold there: no price, not zero"
        );
        assert_eq!(report.lines[0].difference(), Value::Missing);
        assert_eq!(plain(&report.lines[1].quantity).as_deref(), Some("2.5"));
        assert_eq!(plain(&report.lines[1].total).as_deref(), Some("50.00"));
        assert_eq!(plain(&report.lines[1].compare_total).as_deref(), Some("45"));
        assert_eq!(plain(&report.total).as_deref(), Some("109.97"));
        assert_eq!(plain(&report.compared_total).as_deref(), Some("50.00"));
        assert_eq!(plain(&report.compare_total).as_deref(), Some("45"));
        assert_eq!(plain(&report.difference()).as_deref(), Some("-5.00"));
        assert_eq!((report.compared_lines, report.compare_missing), (1, 1));
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("1 of 2 lines, 1 line not sold by b")
        );
        assert_eq!(report.total_gap(), None);
    }

    #[test]
    fn compare_note_groups_thousands_and_counts_lines() {
        let lines = (0..100_000)
            .map(|i| {
                let id = i.to_string();
                let compare = (i >= 10_000).then_some("1");
                raw(&id, "1", Some("2"), compare)
            })
            .collect();
        let report = OrdersReport::from_raw("a".into(), Some("client3".into()), lines);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("90,000 of 100,000 lines, 10,000 lines not sold by client3")
        );
    }

    #[test]
    fn a_line_without_a_total_makes_the_total_unknown() {
        let report = OrdersReport::from_raw(
            "a".into(),
            Some("b".into()),
            vec![
                raw("1", "3", Some("NaN"), Some("1")),
                raw("2", "1", Some("20.00"), None),
            ],
        );
        assert_eq!(report.total, Value::Missing, "never a sum over a gap");
        assert_eq!(
            report.total_gap().as_deref(),
            Some("1 line with a price that is not a number (NaN)")
        );
        assert_eq!(report.compare_total, Value::Missing);
        assert_eq!(report.difference(), Value::Missing);
        assert_eq!(
            report.compare_note(&TenantCatalog::default()).as_deref(),
            Some("no line priced by both a and b")
        );
        let none = OrdersReport::from_raw(
            "a".into(),
            None,
            vec![raw("1", "1", None, None), raw("2", "1", None, None)],
        );
        assert_eq!(none.total_gap().as_deref(), Some("2 lines without a price"));
        assert_eq!(
            (
                none.compare_note(&TenantCatalog::default()),
                none.compare_missing
            ),
            (None, 0)
        );
    }

    #[test]
    fn compare_choice_never_own_tenant() {
        let catalog =
            TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()]);
        let pick = |own, requested| choose_compare_tenant(&catalog, own, requested).unwrap();
        assert_eq!(
            pick(Some("client1"), None).tenant.as_deref(),
            Some("client2")
        );
        assert_eq!(
            pick(Some("client2"), None).tenant.as_deref(),
            Some("client1")
        );
        let replaced = pick(Some("client2"), Some("client2"));
        assert_eq!(replaced.tenant.as_deref(), Some("client3"));
        assert!(replaced.replaced_own);
        assert_eq!(
            pick(Some("client1"), Some("client3")).tenant.as_deref(),
            Some("client3")
        );
        assert_eq!(
            choose_compare_tenant(&catalog, Some("client1"), Some("Client3")),
            Err(DbError::Setting(
                "unknown tenant: \"Client3\" (tenants: \"client3\", \"client1\", \"client2\")"
                    .into()
            ))
        );
    }
}
