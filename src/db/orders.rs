//! Priced orders of one user in their tenant, beside a comparison tenant's prices.

use rust_decimal::Decimal;
use serde::Serialize;

use super::catalog::TenantCatalog;
use std::sync::atomic::Ordering;

use super::{Database, DbError, QueryHandle, User};

/// One order line. `None` means the value is not there (an item the
/// comparison tenant does not sell, a deleted item, a NULL in the data),
/// never zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    pub item_id: Option<String>,
    /// `None`: the order points at an item that no longer exists.
    pub item: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price: Option<Decimal>,
    pub total: Option<Decimal>,
    pub compare_unit_price: Option<Decimal>,
    pub compare_total: Option<Decimal>,
}

impl OrderLine {
    /// Comparison minus own line total, where both exist.
    pub fn difference(&self) -> Option<Decimal> {
        self.compare_total?.checked_sub(self.total?)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdersReport {
    pub tenant: String,
    pub compare_tenant: Option<String>,
    pub lines: Vec<OrderLine>,
    pub total: Decimal,
    /// `None` when there is no comparison tenant at all.
    pub compare_total: Option<Decimal>,
}

impl OrdersReport {
    pub fn difference(&self) -> Option<Decimal> {
        self.compare_total?.checked_sub(self.total)
    }

    fn new(tenant: String, compare_tenant: Option<String>, rows: Vec<OrderRow>) -> OrdersReport {
        let lines: Vec<OrderLine> = rows
            .into_iter()
            .map(
                |(item_id, item, quantity, unit_price, compare_unit_price)| {
                    let line_total =
                        |price: Option<Decimal>| price?.checked_mul(Decimal::from(quantity?));
                    OrderLine {
                        total: line_total(unit_price),
                        compare_total: line_total(compare_unit_price),
                        item_id,
                        item,
                        quantity,
                        unit_price,
                        compare_unit_price,
                    }
                },
            )
            .collect();
        let sum = |totals: &mut dyn Iterator<Item = Option<Decimal>>| {
            totals
                .flatten()
                .fold(Decimal::ZERO, |acc, value| acc.saturating_add(value))
        };
        let total = sum(&mut lines.iter().map(|l| l.total));
        let compare_total = compare_tenant
            .as_ref()
            .map(|_| sum(&mut lines.iter().map(|l| l.compare_total)));
        OrdersReport {
            tenant,
            compare_tenant,
            lines,
            total,
            compare_total,
        }
    }
}

type OrderRow = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<Decimal>,
    Option<Decimal>,
);

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
        Some(requested) if !catalog.contains(requested) => {
            Err(DbError::UnknownTenant(requested.to_string()))
        }
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
        let tables: Result<Option<Vec<String>>, sqlx::Error> = sqlx::query_scalar(
            "SELECT array(SELECT c.relname::text FROM pg_catalog.pg_class c
                           WHERE c.relnamespace = n.oid AND c.relname IN ('items', 'orders')
                             AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
               FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
        )
        .bind(tenant)
        .fetch_optional(conn)
        .await;
        match tables {
            Ok(None) => DbError::TenantNotFound(tenant.to_string()),
            Ok(Some(tables)) => {
                let missing = ["items", "orders"]
                    .into_iter()
                    .find(|t| !tables.iter().any(|have| have == t));
                DbError::TenantTableMissing {
                    tenant: tenant.to_string(),
                    table: missing.unwrap_or("items").to_string(),
                }
            }
            Err(e) => self.error(e),
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
        let tenant = match user.tenant.as_deref() {
            None => return Err(DbError::NoTenant { null: true }),
            Some("") => return Err(DbError::NoTenant { null: false }),
            Some(tenant) => tenant,
        };
        self.counters.orders.fetch_add(1, Ordering::Relaxed);
        let mut tx = self.tracked_tx(handle).await?;
        let wanted: Vec<&str> = std::iter::once(tenant).chain(compare).collect();
        let found = Self::quoted_tenants(&mut tx, &wanted)
            .await
            .map_err(|e| self.error(e))?;
        let quoted = |name: &str| {
            found
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, q)| q.clone())
        };
        let own_schema = match quoted(tenant) {
            Some(schema) => schema,
            None => return Err(self.why_not_a_tenant(&mut tx, tenant).await),
        };
        let compare_schema = match compare {
            Some(name) => {
                Some(quoted(name).ok_or_else(|| DbError::UnknownTenant(name.to_string()))?)
            }
            None => None,
        };
        // Schema names are server-quoted identifiers; everything else is bound.
        let compare_price = match &compare_schema {
            Some(schema) => format!(
                "(SELECT ci.price::numeric FROM {schema}.items ci
                   WHERE ci.id::text = o.item_id::text OR ci.description::text = i.description::text
                   ORDER BY (ci.id::text = o.item_id::text) DESC, ci.id::text
                   LIMIT 1)"
            ),
            None => "NULL::numeric".to_string(),
        };
        let sql = format!(
            "SELECT o.item_id::text, i.description::text, o.quantity::bigint, i.price::numeric,
                    {compare_price}
               FROM {own_schema}.orders o
               LEFT JOIN {own_schema}.items i ON i.id::text = o.item_id::text
              WHERE o.user_id::text = $1
              ORDER BY o.id"
        );
        // The SQL text differs per tenant pair: keep it out of the statement cache.
        let rows: Result<Vec<OrderRow>, _> = sqlx::query_as(&sql)
            .bind(&user.id)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await;
        if let Some(handle) = handle {
            handle.finished();
        }
        let rows = rows.map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(OrdersReport::new(
            tenant.to_string(),
            compare.map(str::to_string),
            rows,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn money_is_exact() {
        let report = OrdersReport::new(
            "a".into(),
            Some("b".into()),
            vec![(
                Some("1".into()),
                Some("Pen".into()),
                Some(3),
                Some(dec("19.99")),
                None,
            )],
        );
        assert_eq!(report.lines[0].total, Some(dec("59.97")));
        assert_eq!(report.total.to_string(), "59.97");
        assert_eq!(
            report.lines[0].compare_total, None,
            "not sold there: no price, not zero"
        );
        assert_eq!(report.compare_total, Some(Decimal::ZERO));
        assert_eq!(report.lines[0].difference(), None);
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
            Err(DbError::UnknownTenant("Client3".into()))
        );
    }
}
