//! The price matrix: one catalogue item per row (matched across tenants by
//! the `items_match` rule: a key column every tenant has, else the exact
//! description), one tenant per column.

use crate::model::TABLE_KINDS;
use std::collections::{BTreeMap, HashSet};

use bigdecimal::{BigDecimal, RoundingMode, Signed};
use serde::Serialize;

use super::item_match::{ItemMatch, ItemRule, KEY_COLUMNS};
use super::lossy::{raw, LossyText};
use super::users::{into_user, UserRow};
use super::{exact_text, Database, DbError, User};
use crate::money::{Problem, Value};

/// Decimal places kept in a spread (max / min).
pub const SPREAD_DECIMALS: u32 = 4;

/// Tenants read per statement (and per transaction, so that the locks on
/// their tables are released before the next batch: one statement over
/// 5,000 tenants runs out of shared memory under the default
/// `max_locks_per_transaction`).
pub const PRICE_BATCH: usize = 200;

/// One item across the matrix's tenants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceRow {
    /// The item's description (the first tenant's, in column order, where
    /// the row matches on another key).
    pub description: String,
    /// The value the row matches on: the description, the id or the key
    /// column's value (see [`PriceMatrix::rule`]).
    pub key: String,
    /// Aligned with [`PriceMatrix::tenants`]; [`Value::Missing`]: the
    /// tenant does not sell the item, never zero; [`Value::Invalid`]: it
    /// sells it at a NULL price ([`Problem::Null`]), or one that is NaN,
    /// infinite or not a number. A tenant with two items of this
    /// description gives the one with the lowest id in text order (the
    /// rule `orders` follows).
    pub prices: Vec<Value>,
    pub min: Value,
    pub max: Value,
    /// Tenants at the minimum price, in column order.
    pub min_tenants: Vec<String>,
    /// Tenants at the maximum price, in column order.
    pub max_tenants: Vec<String>,
    /// `max / min` rounded (half away from zero) to [`SPREAD_DECIMALS`]
    /// places; unknown with fewer than two prices or a minimum that is not
    /// positive.
    pub spread: Value,
}

impl PriceRow {
    /// Builds a row from its prices (aligned with `tenants`), computing
    /// min, max, who holds them and the spread.
    pub fn new(description: String, prices: Vec<Value>, tenants: &[String]) -> PriceRow {
        let present: Vec<(usize, &BigDecimal)> = prices
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.number().map(|p| (i, p)))
            .collect();
        let min = present.iter().map(|(_, p)| *p).min();
        let max = present.iter().map(|(_, p)| *p).max();
        let holders = |value: Option<&BigDecimal>| -> Vec<String> {
            present
                .iter()
                .filter(|(_, p)| Some(*p) == value)
                .map(|(i, _)| tenants[*i].clone())
                .collect()
        };
        let spread = match (min, max) {
            (Some(min), Some(max)) if present.len() >= 2 && min.is_positive() => Value::checked(
                (max / min)
                    .with_scale_round(i64::from(SPREAD_DECIMALS), RoundingMode::HalfUp)
                    .normalized(),
            ),
            _ => Value::Missing,
        };
        let value = |v: Option<&BigDecimal>| v.cloned().map_or(Value::Missing, Value::checked);
        PriceRow {
            min_tenants: holders(min),
            max_tenants: holders(max),
            min: value(min),
            max: value(max),
            key: description.clone(),
            description,
            prices,
            spread,
        }
    }
}

/// A tenant whose prices could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantFailure {
    pub tenant: String,
    pub error: String,
}

/// How to order the rows of a [`PriceMatrix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSort {
    /// Largest spread first; rows without a spread last; then by name.
    Spread,
    /// By description.
    Name,
}

/// Items as rows, tenants as columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PriceMatrix {
    /// How rows match items across the tenants.
    pub rule: ItemRule,
    /// The columns, in the order asked for (duplicates dropped).
    pub tenants: Vec<String>,
    /// Sorted by description unless re-sorted with [`PriceMatrix::sort`].
    pub rows: Vec<PriceRow>,
    /// Columns whose prices could not be read (their cells are missing).
    pub failed: Vec<TenantFailure>,
}

impl PriceMatrix {
    pub fn sort(&mut self, by: PriceSort) {
        match by {
            PriceSort::Name => self.rows.sort_by(|a, b| a.description.cmp(&b.description)),
            PriceSort::Spread => self.rows.sort_by(|a, b| {
                // `None` sorts first in Option's order: reverse it.
                b.spread
                    .number()
                    .is_some()
                    .cmp(&a.spread.number().is_some())
                    .then_with(|| b.spread.number().cmp(&a.spread.number()))
                    .then_with(|| a.description.cmp(&b.description))
            }),
        }
    }

    pub fn sorted(mut self, by: PriceSort) -> PriceMatrix {
        self.sort(by);
        self
    }

    /// The column of `tenant`, if it is one.
    pub fn column(&self, tenant: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t == tenant)
    }

    /// Why `tenant`'s prices could not be read, if they could not: its
    /// cells say nothing of what it sells.
    pub fn failure(&self, tenant: &str) -> Option<&str> {
        self.failed
            .iter()
            .find(|f| f.tenant == tenant)
            .map(|f| f.error.as_str())
    }

    /// For each column, whether its tenant could not be read.
    pub fn unread(&self) -> Vec<bool> {
        self.tenants
            .iter()
            .map(|t| self.failure(t).is_some())
            .collect()
    }

    /// `tenant`'s price for the item of row `row`.
    pub fn price(&self, row: usize, tenant: &str) -> Value {
        self.column(tenant)
            .and_then(|column| self.rows.get(row)?.prices.get(column).cloned())
            .unwrap_or_default()
    }

    /// `rows`: (column, key, description, price text), at most one per
    /// column and key; sorted by description, then key.
    fn from_rows(
        rule: ItemRule,
        tenants: Vec<String>,
        rows: Vec<MatrixItem>,
        failed: Vec<TenantFailure>,
    ) -> PriceMatrix {
        // key → (description of the leftmost tenant, prices).
        let mut by_item: BTreeMap<String, (usize, String, Vec<Value>)> = BTreeMap::new();
        for (column, key, description, price, ambiguous) in rows {
            let Ok(column) = usize::try_from(column) else {
                continue;
            };
            let (from, shown, prices) = by_item.entry(key).or_insert_with(|| {
                (
                    column,
                    description.clone(),
                    vec![Value::Missing; tenants.len()],
                )
            });
            if column < *from {
                (*from, *shown) = (column, description);
            }
            if let Some(slot) = prices.get_mut(column) {
                // The tenant has the item: a NULL price is no price, not
                // "not sold".
                *slot = match Value::matched_price(price.as_deref(), ambiguous) {
                    Value::Missing => Value::Invalid(Problem::Null),
                    price => price,
                };
            }
        }
        let mut rows: Vec<PriceRow> = by_item
            .into_iter()
            .map(|(key, (_, description, prices))| PriceRow {
                key,
                ..PriceRow::new(description, prices, &tenants)
            })
            .collect();
        rows.sort_by(|a, b| a.description.cmp(&b.description).then(a.key.cmp(&b.key)));
        // In the columns' order, whichever step stopped each.
        let mut failed = failed;
        failed.sort_by_key(|f| tenants.iter().position(|t| *t == f.tenant));
        PriceMatrix {
            rule,
            tenants,
            rows,
            failed,
        }
    }
}

/// One tenant's item as the matrix reads it: the tenant's column, the
/// key, the description, the price's text, and whether the key names
/// items there at different prices.
type MatrixItem = (i32, String, String, Option<String>, Option<bool>);

impl Database {
    /// Prices of every item of `tenants` (the columns, in this order),
    /// matched across tenants by exact description; sorted by description.
    ///
    /// One exact-match catalog lookup resolves every name to a
    /// server-quoted identifier (and whether its `items` has a
    /// `description`, a `price` and an `id` column); then one `UNION ALL`
    /// statement per [`PRICE_BATCH`] tenants, each in its own transaction
    /// (no query at all for no tenants). A batch the server refuses is
    /// retried one tenant at a time, so that a tenant that cannot be read
    /// (no access, a broken table) is named in [`PriceMatrix::failed`] and
    /// the others are still priced, as is a tenant that is no tenant schema
    /// any more (dropped since the list was read). Items without a
    /// description are left out, as is a tenant whose items have no
    /// description column; a
    /// tenant whose items have no price column is named in `failed`, and a
    /// NULL price is [`Problem::Null`].
    pub async fn price_matrix(&self, tenants: &[String]) -> Result<PriceMatrix, DbError> {
        self.price_matrix_in_batches(tenants, PRICE_BATCH).await
    }

    /// [`Database::price_matrix`] with `batch` tenants per statement (tests).
    #[doc(hidden)]
    pub async fn price_matrix_in_batches(
        &self,
        tenants: &[String],
        batch: usize,
    ) -> Result<PriceMatrix, DbError> {
        self.retried(|| async move {
            // Each tenant once, in the order given (by hash: 10,000
            // tenants compared pairwise cost a second).
            let mut seen = std::collections::HashSet::with_capacity(tenants.len());
            let columns: Vec<String> = tenants
                .iter()
                .filter(|tenant| seen.insert(tenant.as_str()))
                .cloned()
                .collect();
            if columns.is_empty() {
                return Ok(PriceMatrix::from_rows(
                    ItemRule::Description,
                    columns,
                    Vec::new(),
                    Vec::new(),
                ));
            }
            let setting = self.item_match();
            let candidates: Vec<String> = match &setting {
                ItemMatch::Column(column) => vec![column.clone()],
                _ => KEY_COLUMNS.iter().map(|c| c.to_string()).collect(),
            };
            let found = self.items_tables(&columns, &candidates).await?;
            let by_name: std::collections::HashMap<&str, &ItemsTable> = found
                .iter()
                .rev()
                .map(|table| (table.0.as_str(), table))
                .collect();
            // A tenant gone since the list was read (a schema dropped):
            // its column fails, the others are priced.
            let mut tenants = Vec::with_capacity(columns.len());
            let mut gone = Vec::new();
            for (column, tenant) in columns.iter().enumerate() {
                match by_name.get(tenant.as_str()) {
                    Some(found) => tenants.push((column, *found)),
                    None => gone.push(TenantFailure {
                        tenant: tenant.clone(),
                        error: crate::db::GONE.into(),
                    }),
                }
            }
            // One rule for the whole matrix: a row is one item in every column.
            let tables: Vec<&ItemsTable> = tenants.iter().map(|(_, table)| *table).collect();
            let rule = self.matrix_rule(setting, &tables).await;
            let PriceSelects {
                selects,
                exact_selects,
                mut failed,
                nodes,
            } = self.price_selects(&rule, tenants);
            failed.extend(gone);
            type Row = (
                i32,
                LossyText,
                Option<LossyText>,
                Option<String>,
                Option<bool>,
            );
            // Every item as it is, unsorted: a sort per tenant (DISTINCT ON)
            // cost the server about as much again as reading the tables.
            let (mut rows, mut errors): (Vec<Row>, _) = self
                .tenant_batches(&selects, batch, &[], None, &nodes)
                .await?;
            // A tenant with two items of one key is read again keeping the
            // one the rule names (the lowest id in the server's text order),
            // priced only where the key's items are all at one price.
            let shared = columns_sharing_a_key(&rows);
            if !shared.is_empty() {
                let again: Vec<(usize, String)> = exact_selects
                    .into_iter()
                    .filter(|(column, _)| shared.contains(&(*column as i32)))
                    .collect();
                let (exact, failed_again): (Vec<Row>, _) = self
                    .tenant_batches(&again, batch, &[], None, &nodes)
                    .await?;
                rows.retain(|row| !shared.contains(&row.0));
                rows.extend(exact);
                errors.extend(failed_again);
            }
            let rows = rows
                .into_iter()
                .map(|(c, key, description, price, ambiguous)| {
                    let description = description.map_or_else(|| key.text.clone(), |d| d.text);
                    (c, key.text, description, price, ambiguous)
                })
                .collect();
            failed.extend(errors.into_iter().map(|(column, error)| TenantFailure {
                tenant: columns[column].clone(),
                error: error.to_string(),
            }));
            Ok(PriceMatrix::from_rows(rule, columns, rows, failed))
        })
        .await
    }

    /// Each tenant's select of its items (by `rule`'s key, unsorted), and
    /// the one that keeps one item per key (read only for a tenant whose
    /// rows share a key); a tenant whose items table lacks the key fails.
    /// `tenants` are by their column in the matrix.
    fn price_selects(&self, rule: &ItemRule, tenants: Vec<(usize, &ItemsTable)>) -> PriceSelects {
        let names = &self.tables.names;
        let (item_id, label) = (&names.item_id, &names.item_label);
        let mut selects: Vec<(usize, String)> = Vec::new();
        let mut exact_selects: Vec<(usize, String)> = Vec::new();
        let mut failed = Vec::new();
        let mut nodes = std::collections::HashMap::new();
        for (column, (tenant, schema, has_description, has_price, has_id, keys, node)) in tenants {
            if let Some(node) = node {
                nodes.insert(column, node.clone());
            }
            let has_key = match rule {
                ItemRule::Id | ItemRule::IdOrDescription => *has_id,
                ItemRule::Description => *has_description,
                ItemRule::Column(key) => keys.contains(key),
            };
            if !has_key {
                // Without a description column a tenant has no row to show.
                if !matches!(rule, ItemRule::Description) {
                    failed.push(TenantFailure {
                        tenant: tenant.clone(),
                        error: format!(
                            "its items table has no {} column",
                            crate::text::sanitize(rule.name())
                        ),
                    });
                }
                continue;
            }
            if !*has_price {
                failed.push(TenantFailure {
                    tenant: tenant.clone(),
                    error: format!(
                        "its items table has no {} column",
                        crate::text::sanitize(&names.item_price)
                    ),
                });
                continue;
            }
            let price = exact_text(&format!("i.{}", names.item_price));
            let description = if matches!(rule, ItemRule::Description) {
                // The key is the description: not sent twice.
                "NULL::bytea".into()
            } else if *has_description {
                // Not UTF-8 (SQL_ASCII): shown lossily, never failing the tenant.
                raw(&format!("i.{label}"))
            } else {
                "NULL::bytea".into()
            };
            // Two items with one key: the lowest id in text order, then
            // the row the orders and the basket take for an id
            // ([`Database::standing_order`]; it took the first on disk).
            let standing = match *has_description {
                true => self.standing_order("i"),
                false => format!("({price}) COLLATE \"C\""),
            };
            let pick = match *has_id {
                true => format!(", i.{item_id}::text, {standing}"),
                false => format!(", {standing}"),
            };
            let key = self.item_key(rule, "i");
            // The schema is a server-quoted identifier; the column index is ours.
            let columns = |price: &str, ambiguous: &str| {
                format!(
                    "{column}::int4, {raw_key}, {description}, {price}, {ambiguous}
                       FROM {schema}.{items} i WHERE {key} IS NOT NULL",
                    raw_key = raw(&key),
                    items = names.items,
                )
            };
            selects.push((
                column,
                format!("(SELECT {})", columns(&price, "NULL::bool")),
            ));
            // Items of one key at different prices: none of them is the price.
            let mixed = super::item_match::mixed_prices(&format!("i.{}", names.item_price));
            let exact = columns(&format!("CASE WHEN NOT {mixed} THEN {price} END"), &mixed);
            exact_selects.push((
                column,
                format!(
                    "(SELECT DISTINCT ON ({key}) {exact}
                      WINDOW w AS (PARTITION BY {key}) ORDER BY {key}{pick})"
                ),
            ));
        }
        PriceSelects {
            selects,
            exact_selects,
            failed,
            nodes,
        }
    }

    /// One rule for the whole matrix: a row is one item in every column.
    /// `Auto` takes the first key column every tenant has that names every
    /// item in each ([`Database::key_names_every_item`]), else the
    /// description.
    async fn matrix_rule(&self, setting: ItemMatch, tenants: &[&ItemsTable]) -> ItemRule {
        let keys = match setting {
            ItemMatch::Id => return ItemRule::Id,
            ItemMatch::Description => return ItemRule::Description,
            ItemMatch::Column(column) => return ItemRule::Column(column),
            ItemMatch::Auto => KEY_COLUMNS
                .iter()
                .filter(|key| tenants.iter().all(|t| t.5.iter().any(|k| k == *key))),
        };
        let items = &self.tables.names.items;
        'keys: for key in keys {
            // Every tenant's answer in batches (by node), then each from the cache.
            let checks: Vec<(&str, &str)> = tenants.iter().map(|t| (t.1.as_str(), *key)).collect();
            let nodes: std::collections::HashMap<usize, String> = tenants
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((i, t.6.clone()?)))
                .collect();
            let failed = self.read_fills(items, &checks, &nodes, None).await;
            for (i, tenant) in tenants.iter().enumerate() {
                // A tenant whose check failed (a lock) decides nothing: its
                // column fails in the price read, with the reason.
                if failed.iter().any(|(f, _)| *f == i) {
                    continue;
                }
                if self.key_names_every_item(&tenant.1, items, key).await != Ok(true) {
                    continue 'keys;
                }
            }
            return ItemRule::Column(key.to_string());
        }
        ItemRule::Description
    }

    /// Each of `columns`' items table, as the catalog has it: schema, quoted
    /// schema, whether it has the label, price and id columns, which of the
    /// `candidates` key columns it has, and its node (Citus).
    async fn items_tables(
        &self,
        columns: &[String],
        candidates: &[String],
    ) -> Result<Vec<ItemsTable>, DbError> {
        // Each items table's columns read once, by pg_attribute's index on
        // attrelid (a lateral aggregate per table): one EXISTS per column
        // asked about was planned as a hashed scan of the whole of
        // pg_attribute each (300,000 rows at 10,000 tenants: 2 s).
        // A tenant holds both tables (`Names::has_tenant_tables`); the
        // join already finds its items table, and a second look for it
        // (an EXISTS) tripled the statement (1.3 s against 0.4 s at
        // 10,000 tenants, EXPLAIN ANALYZE under load).
        let mut tx = self.read_tx().await?;
        let found: Vec<ItemsTable> = sqlx::query_as(&format!(
            "SELECT n.nspname::text, quote_ident(n.nspname),
                    coalesce(a.label, false), coalesce(a.price, false), coalesce(a.id, false),
                    coalesce(a.keys, '{{}}'::text[]),
                    {node}
               FROM pg_catalog.pg_namespace n
               JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = {items_lit}
                                         AND c.relkind IN {TABLE_KINDS}
               LEFT JOIN LATERAL (
                    SELECT bool_or(a.attname::text = $2) AS label,
                           bool_or(a.attname::text = $3) AS price,
                           bool_or(a.attname::text = $4) AS id,
                           array_agg(a.attname::text ORDER BY a.attnum)
                               FILTER (WHERE a.attname::text = ANY($5)) AS keys
                      FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               ) a ON true
              WHERE n.nspname = ANY($1)
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_class o
                             WHERE o.relnamespace = n.oid AND o.relname = {orders_lit}
                               AND o.relkind IN {TABLE_KINDS})
                {filter}",
            node = self.node_of_schema("n.oid"),
            items_lit = self.tables.names.items_lit,
            orders_lit = self.tables.names.orders_lit,
            filter = self.tables.names.tenant_filter,
        ))
        .bind(columns)
        .bind(&self.tables.model.items.label)
        .bind(&self.tables.model.items.price)
        .bind(&self.tables.model.items.id)
        .bind(candidates)
        .persistent(self.persistent())
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        Ok(found)
    }

    /// Users of `tenant` (by organization id) with at least one order in
    /// that tenant for an item whose `rule` key is exactly `key` (a price
    /// matrix row's), by name then id as the users list orders them, at
    /// most `limit`. Two queries: the
    /// tenant lookup (unknown: [`DbError::UnknownTenant`]) and the users.
    pub async fn users_who_ordered(
        &self,
        tenant: &str,
        rule: &ItemRule,
        key: &str,
        limit: i64,
    ) -> Result<Vec<User>, DbError> {
        self.retried(|| async move {
            let mut tx = self.read_tx().await?;
            let schema = self.quoted_or_unknown(&mut tx, &[tenant]).await?.remove(0);
            self.users_readable(Some(tenant))?;
            let sql = format!(
                "SELECT {columns} FROM {users} u
                  WHERE u.{org}::text = $1
                    AND EXISTS (SELECT 1 FROM {schema}.{orders} o
                                  JOIN {schema}.{items} i ON i.{item_id}::text = o.{order_item}::text
                                 WHERE o.{order_user}::text = u.{user_id}::text
                                   AND {item_key} = $2)
                  ORDER BY {name_key}, {id_key}
                  LIMIT $3",
                // In the users list's order (and collation): it stands in
                // for the list.
                name_key = self.tables.name_key,
                id_key = self.tables.id_key,
                columns = self.user_columns(),
                users = self.users_of_tenant(tenant),
                org = self.tables.tenant_column,
                user_id = self.tables.names.user_id,
                order_user = self.tables.names.order_user,
                item_key = self.item_key(rule, "i"),
                items = self.tables.names.items,
                orders = self.tables.names.orders,
                order_item = self.tables.names.order_item,
                item_id = self.tables.names.item_id,
            );
            let rows: Vec<UserRow> = sqlx::query_as(&sql)
                .bind(tenant)
                .bind(key)
                .bind(limit.max(0))
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
            Database::end_read(tx);
            Ok(rows.into_iter().map(into_user).collect())
        })
        .await
    }
}

/// An items table as [`Database::items_tables`] reads it.
/// [`Database::price_selects`]'s answer.
struct PriceSelects {
    selects: Vec<(usize, String)>,
    exact_selects: Vec<(usize, String)>,
    failed: Vec<TenantFailure>,
    nodes: std::collections::HashMap<usize, String>,
}

type ItemsTable = (
    String,
    String,
    bool,
    bool,
    bool,
    Vec<String>,
    Option<String>,
);

/// The columns (tenants) among `rows` with two rows of one key.
fn columns_sharing_a_key<R, A>(rows: &[(i32, LossyText, R, Option<String>, A)]) -> HashSet<i32> {
    let mut seen: HashSet<(i32, &str)> = HashSet::with_capacity(rows.len());
    rows.iter()
        .filter(|(column, key, ..)| !seen.insert((*column, key.text.as_str())))
        .map(|(column, ..)| *column)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Value {
        Value::parse(text)
    }

    fn some(texts: &[Option<&str>]) -> Vec<Value> {
        texts.iter().map(|t| Value::from_text(*t)).collect()
    }

    fn tenants(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn min_max_spread_and_holders() {
        let t = tenants(&["a", "b", "c"]);
        let row = PriceRow::new(
            "Tesla".into(),
            some(&[Some("5000.00"), Some("1000.00"), None]),
            &t,
        );
        assert_eq!(row.min, dec("1000.00"));
        assert_eq!(row.max, dec("5000.00"));
        assert_eq!(row.min_tenants, ["b"]);
        assert_eq!(row.max_tenants, ["a"]);
        assert_eq!(row.spread.plain().unwrap(), "5");

        let third = PriceRow::new("Pen".into(), some(&[Some("3"), Some("1"), Some("1")]), &t);
        assert_eq!(third.min_tenants, ["b", "c"], "ties: every holder");
        assert_eq!(third.spread, dec("3"));
        let thirds = PriceRow::new("T".into(), some(&[Some("3"), Some("2"), None]), &t);
        assert_eq!(thirds.spread.plain().unwrap(), "1.5");
        let rounded = PriceRow::new("U".into(), some(&[Some("3"), Some("7"), None]), &t);
        assert_eq!(rounded.spread.plain().unwrap(), "2.3333");
        let ten = PriceRow::new("V".into(), some(&[Some("1"), Some("10"), None]), &t);
        assert_eq!(ten.spread.plain().unwrap(), "10", "no exponent form");
    }

    #[test]
    fn no_spread_for_one_price_or_a_free_item() {
        let t = tenants(&["a", "b"]);
        let single = PriceRow::new("Huawei".into(), some(&[Some("100"), None]), &t);
        assert_eq!(single.spread, Value::Missing);
        assert_eq!(single.min_tenants, ["a"]);
        assert_eq!(single.max_tenants, ["a"]);
        let free = PriceRow::new("Freebie".into(), some(&[Some("0"), Some("5")]), &t);
        assert_eq!(free.spread, Value::Missing);
        assert_eq!(free.min, dec("0"));
        let none = PriceRow::new("Nothing".into(), some(&[None, None]), &t);
        assert_eq!(
            (none.min, none.max, none.spread),
            (Value::Missing, Value::Missing, Value::Missing)
        );
        assert!(none.min_tenants.is_empty());
        let nan = PriceRow::new("NaN".into(), some(&[Some("NaN"), Some("5")]), &t);
        assert_eq!(nan.min, dec("5"), "an unusable price is no price");
        assert_eq!(nan.spread, Value::Missing);
    }

    #[test]
    fn rows_by_description_sorted() {
        let t = tenants(&["a", "b"]);
        let row = |c: i32, d: &str, p: Option<&str>| {
            (c, d.to_string(), d.to_string(), p.map(str::to_string), None)
        };
        let matrix = PriceMatrix::from_rows(
            ItemRule::Description,
            t,
            vec![
                row(0, "Tesla", Some("5000")),
                row(1, "Tesla", Some("1000")),
                row(1, "Pen", Some("2")),
                row(0, "Huawei", Some("2000")),
                row(1, "Huawei", Some("100")),
                row(0, "Pen", Some("1")),
                row(0, "Null", None),
                (1, "Mixed".into(), "Mixed".into(), None, Some(true)),
            ],
            Vec::new(),
        );
        let names: Vec<_> = matrix.rows.iter().map(|r| r.description.as_str()).collect();
        assert_eq!(names, ["Huawei", "Mixed", "Null", "Pen", "Tesla"]);
        assert_eq!(matrix.price(3, "a"), dec("1"));
        // b sells items named "Mixed" at different prices.
        assert_eq!(
            matrix.price(1, "b"),
            Value::Invalid(Problem::AmbiguousMatch)
        );
        // a sells "Null" at a NULL price; b does not sell it.
        assert_eq!(matrix.price(2, "a"), Value::Invalid(Problem::Null));
        assert_eq!(matrix.price(2, "b"), Value::Missing);
        assert_eq!(matrix.price(0, "zz"), Value::Missing);
        let by_spread = matrix.clone().sorted(PriceSort::Spread);
        let names: Vec<_> = by_spread
            .rows
            .iter()
            .map(|r| r.description.as_str())
            .collect();
        assert_eq!(names, ["Huawei", "Tesla", "Pen", "Mixed", "Null"]);
        assert_eq!(by_spread.sorted(PriceSort::Name), matrix);
    }
}
