//! The price matrix: one catalogue item per row (matched across tenants by
//! exact description), one tenant per column.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::catalog::HAS_TENANT_TABLES;
use super::users::{into_user, UserRow};
use super::{Database, DbError, User};

/// Decimal places kept in a spread (max / min).
pub const SPREAD_DECIMALS: u32 = 4;

/// One item across the matrix's tenants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceRow {
    /// The exact description the row matches on.
    pub description: String,
    /// Aligned with [`PriceMatrix::tenants`]; `None`: the tenant does not
    /// sell the item (or has no usable price for it), never zero. A tenant
    /// with two items of this description gives the lower price.
    pub prices: Vec<Option<Decimal>>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    /// Tenants at the minimum price, in column order.
    pub min_tenants: Vec<String>,
    /// Tenants at the maximum price, in column order.
    pub max_tenants: Vec<String>,
    /// `max / min` rounded (half away from zero) to [`SPREAD_DECIMALS`]
    /// places; `None` with fewer
    /// than two prices or a minimum that is not positive.
    pub spread: Option<Decimal>,
}

impl PriceRow {
    /// Builds a row from its prices (aligned with `tenants`), computing
    /// min, max, who holds them and the spread.
    pub fn new(description: String, prices: Vec<Option<Decimal>>, tenants: &[String]) -> PriceRow {
        let present: Vec<(usize, Decimal)> = prices
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .collect();
        let min = present.iter().map(|(_, p)| *p).min();
        let max = present.iter().map(|(_, p)| *p).max();
        let holders = |value: Option<Decimal>| -> Vec<String> {
            present
                .iter()
                .filter(|(_, p)| Some(*p) == value)
                .map(|(i, _)| tenants[*i].clone())
                .collect()
        };
        let spread = match (min, max) {
            (Some(min), Some(max)) if present.len() >= 2 && min > Decimal::ZERO => {
                max.checked_div(min).map(|s| {
                    s.round_dp_with_strategy(
                        SPREAD_DECIMALS,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    )
                    .normalize()
                })
            }
            _ => None,
        };
        PriceRow {
            min_tenants: holders(min),
            max_tenants: holders(max),
            description,
            prices,
            min,
            max,
            spread,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceMatrix {
    /// The columns, in the order asked for (duplicates dropped).
    pub tenants: Vec<String>,
    /// Sorted by description unless re-sorted with [`PriceMatrix::sort`].
    pub rows: Vec<PriceRow>,
}

impl PriceMatrix {
    pub fn sort(&mut self, by: PriceSort) {
        match by {
            PriceSort::Name => self.rows.sort_by(|a, b| a.description.cmp(&b.description)),
            PriceSort::Spread => self.rows.sort_by(|a, b| {
                // `None` sorts first in Option's order: reverse it.
                (b.spread.is_some(), b.spread)
                    .cmp(&(a.spread.is_some(), a.spread))
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

    /// `tenant`'s price for the item of row `row`.
    pub fn price(&self, row: usize, tenant: &str) -> Option<Decimal> {
        self.rows
            .get(row)?
            .prices
            .get(self.column(tenant)?)
            .copied()?
    }

    fn from_rows(tenants: Vec<String>, rows: Vec<(i32, String, Option<Decimal>)>) -> PriceMatrix {
        let mut by_item: BTreeMap<String, Vec<Option<Decimal>>> = BTreeMap::new();
        for (column, description, price) in rows {
            let prices = by_item
                .entry(description)
                .or_insert_with(|| vec![None; tenants.len()]);
            if let Some(slot) = usize::try_from(column).ok().and_then(|c| prices.get_mut(c)) {
                *slot = match (*slot, price) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let rows = by_item
            .into_iter()
            .map(|(description, prices)| PriceRow::new(description, prices, &tenants))
            .collect();
        PriceMatrix { tenants, rows }
    }
}

impl Database {
    /// Exact-match lookup of `names` among the tenant schemas; the
    /// server-quoted identifier of each, in the order of `names`, or
    /// [`DbError::UnknownTenant`] for the first one that is not a tenant.
    async fn quoted_or_unknown(
        &self,
        conn: &mut sqlx::PgConnection,
        names: &[&str],
    ) -> Result<Vec<String>, DbError> {
        let found = Self::quoted_tenants(conn, names)
            .await
            .map_err(|e| self.error(e))?;
        names
            .iter()
            .map(|name| {
                found
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, quoted)| quoted.clone())
                    .ok_or_else(|| DbError::UnknownTenant(name.to_string()))
            })
            .collect()
    }

    /// Prices of every item of `tenants` (the columns, in this order),
    /// matched across tenants by exact description; sorted by description.
    ///
    /// Two queries whatever the number of tenants: one exact-match catalog
    /// lookup resolving every name to a server-quoted identifier (and
    /// whether its `items` has a `description` and a `price` column), then
    /// one `UNION ALL` of a select per tenant (no query at all for no
    /// tenants). An unknown tenant is [`DbError::UnknownTenant`]. Items
    /// without a description are left out, as is a tenant whose items have
    /// no description column; a missing price column, a NULL, NaN or
    /// infinite price is no price.
    pub async fn price_matrix(&self, tenants: &[String]) -> Result<PriceMatrix, DbError> {
        let mut columns: Vec<String> = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            if !columns.contains(tenant) {
                columns.push(tenant.clone());
            }
        }
        if columns.is_empty() {
            return Ok(PriceMatrix {
                tenants: columns,
                rows: Vec::new(),
            });
        }
        let mut tx = self.read_tx().await?;
        let found: Vec<(String, String, bool, bool)> = sqlx::query_as(&format!(
            "SELECT n.nspname::text, quote_ident(n.nspname),
                    EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'description'
                               AND a.attnum > 0 AND NOT a.attisdropped),
                    EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'price'
                               AND a.attnum > 0 AND NOT a.attisdropped)
               FROM pg_catalog.pg_namespace n
               JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = 'items'
                                         AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              WHERE n.nspname = ANY($1) AND {HAS_TENANT_TABLES}"
        ))
        .bind(&columns)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let mut selects = Vec::new();
        for (column, tenant) in columns.iter().enumerate() {
            let Some((_, schema, has_description, has_price)) =
                found.iter().find(|(name, ..)| name == tenant)
            else {
                return Err(DbError::UnknownTenant(tenant.clone()));
            };
            if !has_description {
                continue;
            }
            let price = if *has_price {
                "i.price::numeric"
            } else {
                "NULL::numeric"
            };
            // The schema is a server-quoted identifier; the column index is ours.
            selects.push(format!(
                "SELECT {column} AS col, i.description::text AS description, {price} AS price
                   FROM {schema}.items i WHERE i.description IS NOT NULL"
            ));
        }
        if selects.is_empty() {
            return Ok(PriceMatrix::from_rows(columns, Vec::new()));
        }
        let sql = format!(
            "SELECT p.col::int4, p.description,
                    min(CASE WHEN p.price::text IN ('NaN', 'Infinity', '-Infinity')
                             THEN NULL ELSE p.price END)
               FROM ({}) p
              GROUP BY 1, 2",
            selects.join("\n UNION ALL ")
        );
        // The SQL text differs per tenant set: keep it out of the statement cache.
        let rows: Vec<(i32, String, Option<Decimal>)> = sqlx::query_as(&sql)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(PriceMatrix::from_rows(columns, rows))
    }

    /// Users of `tenant` (by organization id) with at least one order in
    /// that tenant for an item described exactly as `description`, by name
    /// then id, at most `limit`. Two queries: the tenant lookup (unknown:
    /// [`DbError::UnknownTenant`]) and the users.
    pub async fn users_who_ordered(
        &self,
        tenant: &str,
        description: &str,
        limit: i64,
    ) -> Result<Vec<User>, DbError> {
        let mut tx = self.read_tx().await?;
        let schema = self.quoted_or_unknown(&mut tx, &[tenant]).await?.remove(0);
        let sql = format!(
            "SELECT {columns} FROM {users} u
              WHERE u.{org}::text = $1
                AND EXISTS (SELECT 1 FROM {schema}.orders o
                              JOIN {schema}.items i ON i.id::text = o.item_id::text
                             WHERE o.user_id::text = u.id::text AND i.description::text = $2)
              ORDER BY u.name, u.id
              LIMIT $3",
            columns = self.user_columns(),
            users = self.layout.users_table,
            org = self.layout.tenant_column,
        );
        let rows: Vec<UserRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(description)
            .bind(limit.max(0))
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(rows.into_iter().map(into_user).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn tenants(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn min_max_spread_and_holders() {
        let t = tenants(&["a", "b", "c"]);
        let row = PriceRow::new(
            "Tesla".into(),
            vec![Some(dec("5000.00")), Some(dec("1000.00")), None],
            &t,
        );
        assert_eq!(row.min, Some(dec("1000")));
        assert_eq!(row.max, Some(dec("5000")));
        assert_eq!(row.min_tenants, ["b"]);
        assert_eq!(row.max_tenants, ["a"]);
        assert_eq!(row.spread.unwrap().to_string(), "5");

        let third = PriceRow::new(
            "Pen".into(),
            vec![Some(dec("3")), Some(dec("1")), Some(dec("1"))],
            &t,
        );
        assert_eq!(third.min_tenants, ["b", "c"], "ties: every holder");
        assert_eq!(third.spread, Some(dec("3")));
        let thirds = PriceRow::new("T".into(), vec![Some(dec("3")), Some(dec("2")), None], &t);
        assert_eq!(thirds.spread.unwrap().to_string(), "1.5");
        let rounded = PriceRow::new("U".into(), vec![Some(dec("3")), Some(dec("7")), None], &t);
        assert_eq!(rounded.spread.unwrap().to_string(), "2.3333");
    }

    #[test]
    fn no_spread_for_one_price_or_a_free_item() {
        let t = tenants(&["a", "b"]);
        let single = PriceRow::new("Huawei".into(), vec![Some(dec("100")), None], &t);
        assert_eq!(single.spread, None);
        assert_eq!(single.min_tenants, ["a"]);
        assert_eq!(single.max_tenants, ["a"]);
        let free = PriceRow::new("Freebie".into(), vec![Some(dec("0")), Some(dec("5"))], &t);
        assert_eq!(free.spread, None);
        assert_eq!(free.min, Some(Decimal::ZERO));
        let none = PriceRow::new("Nothing".into(), vec![None, None], &t);
        assert_eq!((none.min, none.max, none.spread), (None, None, None));
        assert!(none.min_tenants.is_empty());
    }

    #[test]
    fn rows_merge_by_description_keep_the_lowest_and_sort() {
        let t = tenants(&["a", "b"]);
        let matrix = PriceMatrix::from_rows(
            t,
            vec![
                (0, "Tesla".into(), Some(dec("5000"))),
                (1, "Tesla".into(), Some(dec("1000"))),
                (1, "Pen".into(), Some(dec("2"))),
                (0, "Huawei".into(), Some(dec("2000"))),
                (1, "Huawei".into(), Some(dec("100"))),
                (0, "Pen".into(), Some(dec("3"))),
                (0, "Pen".into(), Some(dec("1"))),
                (0, "Null".into(), None),
            ],
        );
        let names: Vec<_> = matrix.rows.iter().map(|r| r.description.as_str()).collect();
        assert_eq!(names, ["Huawei", "Null", "Pen", "Tesla"]);
        assert_eq!(matrix.price(2, "a"), Some(dec("1")), "the lowest of two");
        assert_eq!(matrix.price(1, "a"), None);
        assert_eq!(matrix.price(0, "zz"), None);
        let by_spread = matrix.clone().sorted(PriceSort::Spread);
        let names: Vec<_> = by_spread
            .rows
            .iter()
            .map(|r| r.description.as_str())
            .collect();
        assert_eq!(names, ["Huawei", "Tesla", "Pen", "Null"]);
        assert_eq!(by_spread.sorted(PriceSort::Name), matrix);
    }
}
