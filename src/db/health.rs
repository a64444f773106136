//! Health of the tenant set: row counts, schema drift between tenants,
//! orphans both ways, and orders that leaked across tenants.
//!
//! Everything is read from the catalog (`pg_namespace`, `pg_class`,
//! `pg_attribute`) in a fixed number of statements, never one per tenant.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::lossy::{raw, LossyText};
use super::{Database, DbError};

/// The tables every tenant schema should hold, in report order.
pub const TENANT_TABLES: [&str; 2] = ["items", "orders"];

/// The columns tenantscope itself reads from each tenant table (same order
/// as [`TENANT_TABLES`]): a tenant lacking one is drifted whatever the
/// majority looks like, since `orders` and `prices` fail on it.
pub const REQUIRED_COLUMNS: [&[&str]; 2] = [
    &["id", "description", "price"],
    &["user_id", "item_id", "quantity"],
];

/// `relkind`s that count as a table for the tenant catalog.
const TABLE_KINDS: &str = "('r', 'p', 'v', 'm', 'f')";

/// A row count: exact, or the planner's estimate from `pg_class.reltuples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: i64,
    pub estimated: bool,
}

impl Count {
    pub fn exact(value: i64) -> Count {
        Count {
            value,
            estimated: false,
        }
    }

    pub fn estimate(value: i64) -> Count {
        Count {
            value,
            estimated: true,
        }
    }
}

/// A column of a tenant table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Column {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `numeric(12,2)`.
    #[serde(rename = "type")]
    pub type_name: String,
    pub not_null: bool,
}

impl Column {
    pub fn shape(&self) -> ColumnShape {
        ColumnShape {
            type_name: self.type_name.clone(),
            not_null: self.not_null,
        }
    }
}

/// A column's type and nullability, without its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ColumnShape {
    #[serde(rename = "type")]
    pub type_name: String,
    pub not_null: bool,
}

impl ColumnShape {
    fn describe(&self) -> String {
        if self.not_null {
            format!("{} not null", self.type_name)
        } else {
            self.type_name.clone()
        }
    }
}

/// How a tenant's table differs from the reference. Ordered as reported
/// for one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The schema lacks the table (`column` is `None`).
    MissingTable,
    /// tenantscope reads this column ([`REQUIRED_COLUMNS`]) and this tenant
    /// lacks it (`expected`: the reference's column, if it has one).
    MissingRequiredColumn,
    /// The reference has the column, this tenant does not (`expected` only).
    MissingColumn,
    /// This tenant has a column the reference lacks (`found` only).
    ExtraColumn,
    /// Same column, another type (`expected` and `found`).
    TypeChanged,
    /// Same column, NOT NULL on one side only (`expected` and `found`).
    NullabilityChanged,
}

/// One difference between a tenant's table and the reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Drift {
    pub table: String,
    pub column: Option<String>,
    pub kind: DriftKind,
    /// The reference's column, where it has one.
    pub expected: Option<ColumnShape>,
    /// This tenant's column, where it has one.
    pub found: Option<ColumnShape>,
}

impl Drift {
    /// Plain one-line description, e.g.
    /// `items.price: type double precision, expected numeric(12,2)`.
    /// Not sanitized: names come from the database.
    pub fn describe(&self) -> String {
        let place = match &self.column {
            Some(column) => format!("{}.{column}", self.table),
            None => self.table.clone(),
        };
        let shape = |s: &Option<ColumnShape>| s.as_ref().map(ColumnShape::describe);
        let detail = match self.kind {
            DriftKind::MissingTable => "missing table".to_string(),
            DriftKind::MissingRequiredColumn => match shape(&self.expected) {
                Some(expected) => format!("missing required column ({expected})"),
                None => "missing required column".to_string(),
            },
            DriftKind::MissingColumn => format!(
                "missing column ({})",
                shape(&self.expected).unwrap_or_default()
            ),
            DriftKind::ExtraColumn => {
                format!("extra column ({})", shape(&self.found).unwrap_or_default())
            }
            DriftKind::TypeChanged => format!(
                "type {}, expected {}",
                self.found
                    .as_ref()
                    .map(|s| s.type_name.as_str())
                    .unwrap_or(""),
                self.expected
                    .as_ref()
                    .map(|s| s.type_name.as_str())
                    .unwrap_or("")
            ),
            DriftKind::NullabilityChanged => {
                let null = |s: &Option<ColumnShape>| match s {
                    Some(ColumnShape { not_null: true, .. }) => "not null",
                    _ => "nullable",
                };
                format!("{}, expected {}", null(&self.found), null(&self.expected))
            }
        };
        format!("{place}: {detail}")
    }
}

/// A tenant's state in the report, its most serious finding first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    /// Its tables differ from the reference (or one is missing).
    Drift,
    /// No drift, but no user points at it.
    Unused,
}

/// One tenant schema: a non-system schema holding an `items` or an `orders` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantHealth {
    pub tenant: String,
    pub status: HealthStatus,
    /// Exact: users whose organization id is this tenant.
    pub users: Count,
    /// Estimated; `None` when unknown: the table is missing, was never
    /// analyzed (`reltuples` = -1), or is no plain table (a view, say).
    pub items: Option<Count>,
    /// Estimated, like `items`.
    pub orders: Option<Count>,
    /// Sorted by table, column, kind.
    pub drift: Vec<Drift>,
}

impl TenantHealth {
    pub fn has_table(&self, table: &str) -> bool {
        !self
            .drift
            .iter()
            .any(|d| d.kind == DriftKind::MissingTable && d.table == table)
    }
}

/// Why a table's reference column set was chosen. Column sets holding
/// every [`REQUIRED_COLUMNS`] entry come first, then the most common one,
/// then the one with the alphabetically first tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceChoice {
    /// The most common column set, strictly.
    Majority,
    /// Not (strictly) the most common, but the only or the most common one
    /// with the columns tenantscope requires: an equally or more common set
    /// lacks some.
    RequiredColumns,
    /// A tie the required columns do not settle: the group with the
    /// alphabetically first tenant.
    FirstByName,
    /// The tenant asked for.
    Given,
}

/// The column set other tenants' tables are compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableReference {
    pub table: String,
    /// The given tenant, or the first tenant (by name) of the majority.
    pub tenant: String,
    pub chosen_by: ReferenceChoice,
    /// Tenants whose table has exactly these columns.
    pub matching: usize,
    /// Tenants that have the table at all.
    pub with_table: usize,
    /// No single column set is the most common: two or more share the
    /// largest group size.
    pub tie: bool,
    /// Sorted by name.
    pub columns: Vec<Column>,
}

/// Organization ids in the users table that name no tenant schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrphanOrganization {
    /// `None`: NULL or empty (shown as "(none)").
    pub organization_id: Option<String>,
    pub users: i64,
}

/// The whole report. Every list has a stable order: tenants and unused
/// tenants by name, drift by table, column and kind, references by table,
/// orphan organizations by id with "(none)" last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub tenants: Vec<TenantHealth>,
    pub references: Vec<TableReference>,
    pub orphan_organizations: Vec<OrphanOrganization>,
    pub unused_tenants: Vec<String>,
}

impl HealthReport {
    /// No drift, no orphan organization and no unused tenant schema.
    pub fn is_healthy(&self) -> bool {
        self.drift_count() == 0
            && self.orphan_organizations.is_empty()
            && self.unused_tenants.is_empty()
    }

    /// Differences over all tenants.
    pub fn drift_count(&self) -> usize {
        self.tenants.iter().map(|t| t.drift.len()).sum()
    }

    pub fn tenants_with_drift(&self) -> usize {
        self.tenants.iter().filter(|t| !t.drift.is_empty()).count()
    }

    pub fn tenant(&self, name: &str) -> Option<&TenantHealth> {
        self.tenants.iter().find(|t| t.tenant == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakKind {
    /// The order's user belongs to another tenant (or to none).
    OtherTenant,
    /// No user has the order's user id.
    NoUser,
}

/// An order in one tenant whose user is not one of that tenant's users.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Leak {
    pub order_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: LeakKind,
    /// The user's organization id (`None` for no user, or a NULL/empty one).
    pub user_tenant: Option<String>,
}

/// Row of the tenant query: (tenant, organization id, users, has items,
/// items estimate, has orders, orders estimate). A row without a tenant is
/// an organization id that names no tenant schema. Names are read lossily:
/// a SQL_ASCII database may hold any bytes.
type TenantRow = (
    Option<LossyText>,
    Option<LossyText>,
    i64,
    bool,
    Option<i64>,
    bool,
    Option<i64>,
);

/// Row of the column query: (tenant, table, column, type, not null).
type ColumnRow = (LossyText, String, LossyText, String, bool);

/// Row of the leak query: (order id, user id, user exists, user's tenant).
type LeakRow = (Option<String>, Option<String>, bool, Option<String>);

impl Database {
    /// SQL condition on `pg_namespace n`: neither a system schema nor the
    /// shared one (bound as `$1`).
    fn candidate_schema_condition() -> &'static str {
        "n.nspname <> $1 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    }

    /// The health of every tenant schema, compared with `reference`'s tables
    /// (default: the majority's).
    ///
    /// Runs **2 queries** in one READ ONLY transaction (plus its BEGIN and
    /// COMMIT), whatever the number of tenants: one for the tenant schemas,
    /// their `reltuples` estimates and the user count per organization id
    /// (a single `GROUP BY` over the users table), one for the columns of
    /// every tenant's `items` and `orders` from `pg_attribute`. Drift and
    /// orphans are then worked out in memory. `tests/health.rs` checks the
    /// count with `pg_stat_statements` for 3 and for 60 extra tenants.
    ///
    /// A tenant is any non-system schema (not the shared one) that holds an
    /// `items` or an `orders` table; one lacking the other table shows the
    /// drift "missing table". An unknown `reference` is
    /// [`DbError::UnknownTenant`]; a reference tenant lacking a table leaves
    /// that table's reference to the majority.
    pub async fn health(&self, reference: Option<&str>) -> Result<HealthReport, DbError> {
        let candidate = Self::candidate_schema_condition();
        let tenants_sql = format!(
            "WITH tables AS (
                 SELECT c.relnamespace AS nsp, c.relname::text AS name,
                        CASE WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0
                             THEN c.reltuples::bigint END AS estimate
                   FROM pg_catalog.pg_class c
                  WHERE c.relname IN ('items', 'orders') AND c.relkind IN {TABLE_KINDS}),
             schemas AS (
                 SELECT n.nspname::text AS tenant,
                        i.nsp IS NOT NULL AS has_items, i.estimate AS items,
                        o.nsp IS NOT NULL AS has_orders, o.estimate AS orders
                   FROM pg_catalog.pg_namespace n
                   LEFT JOIN tables i ON i.nsp = n.oid AND i.name = 'items'
                   LEFT JOIN tables o ON o.nsp = n.oid AND o.name = 'orders'
                  WHERE {candidate} AND (i.nsp IS NOT NULL OR o.nsp IS NOT NULL)),
             counts AS (
                 SELECT nullif(u.{org}::text, '') AS org, count(*) AS users
                   FROM {users} u GROUP BY 1)
             SELECT {tenant_raw}, {org_raw}, coalesce(c.users, 0)::bigint,
                    coalesce(s.has_items, false), s.items,
                    coalesce(s.has_orders, false), s.orders
               FROM schemas s FULL JOIN counts c ON c.org = s.tenant",
            org = self.layout.tenant_column,
            users = self.layout.users_table,
            tenant_raw = raw("s.tenant"),
            org_raw = raw("c.org"),
        );
        let columns_sql = format!(
            "SELECT {tenant_raw}, c.relname::text, {column_raw},
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
               FROM pg_catalog.pg_namespace n
               JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
               JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
              WHERE {candidate}
                AND c.relname IN ('items', 'orders') AND c.relkind IN {TABLE_KINDS}
                AND a.attnum > 0 AND NOT a.attisdropped",
            tenant_raw = raw("n.nspname"),
            column_raw = raw("a.attname"),
        );
        let mut tx = self.read_tx().await?;
        let tenant_rows: Vec<TenantRow> = sqlx::query_as(&tenants_sql)
            .bind(&self.layout.shared_schema)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        let column_rows: Vec<ColumnRow> = sqlx::query_as(&columns_sql)
            .bind(&self.layout.shared_schema)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        build_report(tenant_rows, column_rows, reference)
    }

    /// Orders in `tenant` whose user id (compared as text) names a user of
    /// another tenant, a user with no tenant, or no user at all, ordered by
    /// order id. Two queries: an exact-match catalog lookup of the tenant,
    /// then one over its orders joined to the users table, bounded by the
    /// statement timeout.
    ///
    /// A tenant that is no tenant schema is [`DbError::UnknownTenant`]; one
    /// without an `orders` table is [`DbError::TenantTableMissing`].
    pub async fn leaks(&self, tenant: &str) -> Result<Vec<Leak>, DbError> {
        let mut tx = self.read_tx().await?;
        let found: Option<(String, bool)> = sqlx::query_as(&format!(
            "SELECT quote_ident(n.nspname),
                    EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                             WHERE c.relnamespace = n.oid AND c.relname = 'orders'
                               AND c.relkind IN {TABLE_KINDS})
               FROM pg_catalog.pg_namespace n
              WHERE n.nspname = $2 AND {candidate}
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                             WHERE c.relnamespace = n.oid AND c.relname IN ('items', 'orders')
                               AND c.relkind IN {TABLE_KINDS})",
            candidate = Self::candidate_schema_condition(),
        ))
        .bind(&self.layout.shared_schema)
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let schema = match found {
            None => return Err(DbError::UnknownTenant(tenant.to_string())),
            Some((_, false)) => {
                return Err(DbError::TenantTableMissing {
                    tenant: tenant.to_string(),
                    table: "orders".into(),
                })
            }
            Some((schema, true)) => schema,
        };
        // The schema is a server-quoted identifier; the tenant name is bound.
        let sql = format!(
            "SELECT o.id::text, o.user_id::text, u.id IS NOT NULL, nullif(u.{org}::text, '')
               FROM {schema}.orders o
               LEFT JOIN {users} u ON u.id::text = o.user_id::text
              WHERE u.id IS NULL OR u.{org}::text IS DISTINCT FROM $1
              ORDER BY o.id, o.user_id",
            org = self.layout.tenant_column,
            users = self.layout.users_table,
        );
        let rows: Vec<LeakRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(rows
            .into_iter()
            .map(|(order_id, user_id, has_user, user_tenant)| Leak {
                order_id,
                user_id,
                kind: if has_user {
                    LeakKind::OtherTenant
                } else {
                    LeakKind::NoUser
                },
                user_tenant,
            })
            .collect())
    }
}

/// What the tenant query says about one tenant schema.
struct TenantTables {
    tenant: String,
    users: i64,
    /// Per [`TENANT_TABLES`]: `None` when missing, else the estimate.
    tables: [Option<Option<i64>>; 2],
}

/// Works out counts, drift and orphans from the two query results.
fn build_report(
    tenant_rows: Vec<TenantRow>,
    column_rows: Vec<ColumnRow>,
    reference: Option<&str>,
) -> Result<HealthReport, DbError> {
    let mut tenants = Vec::new();
    let mut orphan_organizations = Vec::new();
    for (tenant, org, users, has_items, items, has_orders, orders) in tenant_rows {
        match tenant {
            Some(tenant) => tenants.push(TenantTables {
                tenant: tenant.text,
                users,
                tables: [has_items.then_some(items), has_orders.then_some(orders)],
            }),
            None => orphan_organizations.push(OrphanOrganization {
                organization_id: org.map(|o| o.text),
                users,
            }),
        }
    }
    tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    orphan_organizations.sort_by(|a, b| {
        let key = |o: &OrphanOrganization| (o.organization_id.is_none(), o.organization_id.clone());
        key(a).cmp(&key(b))
    });
    if let Some(reference) = reference {
        if !tenants.iter().any(|t| t.tenant == reference) {
            return Err(DbError::UnknownTenant(reference.to_string()));
        }
    }

    let mut columns: BTreeMap<(String, String), Vec<Column>> = BTreeMap::new();
    for (tenant, table, name, type_name, not_null) in column_rows {
        columns
            .entry((tenant.text, table))
            .or_default()
            .push(Column {
                name: name.text,
                type_name,
                not_null,
            });
    }
    for list in columns.values_mut() {
        list.sort();
    }

    let mut drift: BTreeMap<&str, Vec<Drift>> = BTreeMap::new();
    let mut references = Vec::new();
    for (index, table) in TENANT_TABLES.into_iter().enumerate() {
        let mut with_table: Vec<(&str, &[Column])> = Vec::new();
        for t in &tenants {
            if t.tables[index].is_none() {
                drift.entry(t.tenant.as_str()).or_default().push(Drift {
                    table: table.to_string(),
                    column: None,
                    kind: DriftKind::MissingTable,
                    expected: None,
                    found: None,
                });
                continue;
            }
            let fingerprint = columns
                .get(&(t.tenant.clone(), table.to_string()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            with_table.push((&t.tenant, fingerprint));
        }
        let required = REQUIRED_COLUMNS[index];
        let Some(choice) = choose_reference(&with_table, reference, required) else {
            continue;
        };
        let expected = choice.columns;
        references.push(TableReference {
            table: table.to_string(),
            tenant: choice.tenant.to_string(),
            chosen_by: choice.chosen_by,
            matching: with_table.iter().filter(|(_, f)| *f == expected).count(),
            with_table: with_table.len(),
            tie: choice.tie,
            columns: expected.to_vec(),
        });
        for (tenant, found) in &with_table {
            let mut found_drift = if *found != expected {
                diff_columns(table, expected, found)
            } else {
                Vec::new()
            };
            for name in required {
                if found.iter().any(|c| c.name == *name) {
                    continue;
                }
                // Said once, as the more serious finding.
                found_drift.retain(|d| d.column.as_deref() != Some(*name));
                found_drift.push(Drift {
                    table: table.to_string(),
                    column: Some(name.to_string()),
                    kind: DriftKind::MissingRequiredColumn,
                    expected: expected.iter().find(|c| c.name == *name).map(Column::shape),
                    found: None,
                });
            }
            if !found_drift.is_empty() {
                drift.entry(*tenant).or_default().extend(found_drift);
            }
        }
    }

    let tenants: Vec<TenantHealth> = tenants
        .iter()
        .map(|t| {
            let mut drift = drift.remove(t.tenant.as_str()).unwrap_or_default();
            drift.sort();
            let status = if !drift.is_empty() {
                HealthStatus::Drift
            } else if t.users == 0 {
                HealthStatus::Unused
            } else {
                HealthStatus::Ok
            };
            let count = |estimate: Option<Option<i64>>| estimate.flatten().map(Count::estimate);
            TenantHealth {
                tenant: t.tenant.clone(),
                status,
                users: Count::exact(t.users),
                items: count(t.tables[0]),
                orders: count(t.tables[1]),
                drift,
            }
        })
        .collect();
    let unused_tenants = tenants
        .iter()
        .filter(|t| t.users.value == 0)
        .map(|t| t.tenant.clone())
        .collect();
    Ok(HealthReport {
        tenants,
        references,
        orphan_organizations,
        unused_tenants,
    })
}

/// A table's reference: whose column set, which, and why.
struct Choice<'a> {
    tenant: &'a str,
    columns: &'a [Column],
    chosen_by: ReferenceChoice,
    tie: bool,
}

/// The reference column set of one table: the given tenant's if it has the
/// table, else the best group of equal column sets: one holding every
/// `required` column first, then the largest, then the one holding the
/// alphabetically first tenant. `with_table` is sorted by tenant.
fn choose_reference<'a>(
    with_table: &[(&'a str, &'a [Column])],
    given: Option<&str>,
    required: &[&str],
) -> Option<Choice<'a>> {
    // Group members keep name order, so members[0] is the group's first tenant.
    let mut groups: BTreeMap<&[Column], Vec<&str>> = BTreeMap::new();
    for (tenant, columns) in with_table {
        groups.entry(columns).or_default().push(tenant);
    }
    let largest = groups.values().map(Vec::len).max()?;
    let tie = groups.values().filter(|m| m.len() == largest).count() > 1;
    if let Some(&(tenant, columns)) = with_table.iter().find(|(t, _)| Some(*t) == given) {
        return Some(Choice {
            tenant,
            columns,
            chosen_by: ReferenceChoice::Given,
            tie,
        });
    }
    let complete = |columns: &[Column]| {
        required
            .iter()
            .all(|r| columns.iter().any(|c| c.name == *r))
    };
    let (columns, members) = groups.iter().max_by(|(ca, a), (cb, b)| {
        complete(ca)
            .cmp(&complete(cb))
            .then_with(|| a.len().cmp(&b.len()))
            .then_with(|| b[0].cmp(a[0]))
    })?;
    let chosen_by = if members.len() == largest && !tie {
        ReferenceChoice::Majority
    } else if groups
        .iter()
        .any(|(c, m)| m.len() >= members.len() && !complete(c))
    {
        ReferenceChoice::RequiredColumns
    } else {
        ReferenceChoice::FirstByName
    };
    Some(Choice {
        tenant: members[0],
        columns,
        chosen_by,
        tie,
    })
}

/// Differences of `found` from `expected`, by column name.
fn diff_columns(table: &str, expected: &[Column], found: &[Column]) -> Vec<Drift> {
    let by_name = |columns: &[Column]| -> BTreeMap<String, ColumnShape> {
        columns
            .iter()
            .map(|c| (c.name.clone(), c.shape()))
            .collect()
    };
    let (expected, found) = (by_name(expected), by_name(found));
    let names: BTreeSet<&String> = expected.keys().chain(found.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let drift = |kind, expected: Option<&ColumnShape>, found: Option<&ColumnShape>| Drift {
            table: table.to_string(),
            column: Some(name.clone()),
            kind,
            expected: expected.cloned(),
            found: found.cloned(),
        };
        match (expected.get(name), found.get(name)) {
            (Some(e), None) => out.push(drift(DriftKind::MissingColumn, Some(e), None)),
            (None, Some(f)) => out.push(drift(DriftKind::ExtraColumn, None, Some(f))),
            (Some(e), Some(f)) => {
                if e.type_name != f.type_name {
                    out.push(drift(DriftKind::TypeChanged, Some(e), Some(f)));
                }
                if e.not_null != f.not_null {
                    out.push(drift(DriftKind::NullabilityChanged, Some(e), Some(f)));
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, type_name: &str, not_null: bool) -> ColumnRow {
        // Tenant and table are filled in by `columns_of`.
        (
            LossyText::default(),
            String::new(),
            name.into(),
            type_name.into(),
            not_null,
        )
    }

    fn columns_of(tenant: &str, table: &str, columns: &[ColumnRow]) -> Vec<ColumnRow> {
        columns
            .iter()
            .map(|(_, _, name, type_name, not_null)| {
                (
                    tenant.into(),
                    table.to_string(),
                    name.clone(),
                    type_name.clone(),
                    *not_null,
                )
            })
            .collect()
    }

    fn standard_items() -> Vec<ColumnRow> {
        vec![
            col("id", "text", true),
            col("description", "text", true),
            col("price", "numeric(12,2)", true),
        ]
    }

    fn standard_orders() -> Vec<ColumnRow> {
        vec![
            col("id", "text", true),
            col("user_id", "text", true),
            col("item_id", "text", true),
            col("quantity", "integer", true),
        ]
    }

    fn tenant(name: &str, users: i64, items: bool, orders: bool) -> TenantRow {
        (Some(name.into()), None, users, items, Some(2), orders, None)
    }

    fn kinds(report: &HealthReport, tenant: &str) -> Vec<(String, Option<String>, DriftKind)> {
        report
            .tenant(tenant)
            .unwrap()
            .drift
            .iter()
            .map(|d| (d.table.clone(), d.column.clone(), d.kind))
            .collect()
    }

    #[test]
    fn majority_is_the_reference_and_every_kind_of_drift_is_listed() {
        let mut columns = Vec::new();
        for t in ["a", "b", "c"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        // d: price as float, description nullable, an extra column, no id.
        columns.extend(columns_of(
            "d",
            "items",
            &[
                col("description", "text", false),
                col("price", "double precision", false),
                col("quantity", "integer", false),
            ],
        ));
        let rows = vec![
            tenant("d", 1, true, false),
            tenant("a", 1, true, true),
            tenant("c", 0, true, true),
            tenant("b", 2, true, true),
            (None, Some("ghost".into()), 3, false, None, false, None),
            (None, None, 2, false, None, false, None),
            (None, Some("alpha".into()), 1, false, None, false, None),
        ];
        let report = build_report(rows, columns, None).unwrap();
        let names: Vec<_> = report.tenants.iter().map(|t| t.tenant.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(report.references[0].tenant, "a");
        assert_eq!(report.references[0].chosen_by, ReferenceChoice::Majority);
        assert_eq!(
            (
                report.references[0].matching,
                report.references[0].with_table
            ),
            (3, 4)
        );
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            kinds(&report, "d"),
            [
                (
                    "items".into(),
                    s("description"),
                    DriftKind::NullabilityChanged
                ),
                ("items".into(), s("id"), DriftKind::MissingRequiredColumn),
                ("items".into(), s("price"), DriftKind::TypeChanged),
                ("items".into(), s("price"), DriftKind::NullabilityChanged),
                ("items".into(), s("quantity"), DriftKind::ExtraColumn),
                ("orders".into(), None, DriftKind::MissingTable),
            ]
        );
        let price = &report.tenant("d").unwrap().drift[2];
        assert_eq!(
            price.describe(),
            "items.price: type double precision, expected numeric(12,2)"
        );
        assert_eq!(
            report.tenant("d").unwrap().drift[0].describe(),
            "items.description: nullable, expected not null"
        );
        assert_eq!(
            report.tenant("d").unwrap().drift[4].describe(),
            "items.quantity: extra column (integer)"
        );
        assert!(kinds(&report, "a").is_empty());
        assert_eq!(report.tenant("c").unwrap().status, HealthStatus::Unused);
        assert_eq!(report.tenant("d").unwrap().status, HealthStatus::Drift);
        assert_eq!(report.tenant("a").unwrap().status, HealthStatus::Ok);
        assert_eq!(report.unused_tenants, ["c"]);
        let orphans: Vec<_> = report
            .orphan_organizations
            .iter()
            .map(|o| (o.organization_id.as_deref(), o.users))
            .collect();
        assert_eq!(orphans, [(Some("alpha"), 1), (Some("ghost"), 3), (None, 2)]);
        assert_eq!(report.drift_count(), 6);
        assert_eq!(report.tenants_with_drift(), 1);
        assert!(!report.is_healthy());
        assert_eq!(
            report.tenant("a").unwrap().items,
            Some(Count::estimate(2)),
            "reltuples is an estimate"
        );
        assert_eq!(
            report.tenant("a").unwrap().orders,
            None,
            "never analyzed: unknown"
        );
        assert_eq!(report.tenant("b").unwrap().users, Count::exact(2));
    }

    #[test]
    fn ties_go_to_the_group_with_the_required_columns_then_by_name() {
        let other = [col("id", "integer", true)];
        let mut columns = Vec::new();
        columns.extend(columns_of("m", "items", &standard_items()));
        columns.extend(columns_of("z", "items", &standard_items()));
        columns.extend(columns_of("b", "items", &other));
        columns.extend(columns_of("k", "items", &other));
        let rows: Vec<TenantRow> = ["m", "z", "b", "k"]
            .into_iter()
            .map(|t| tenant(t, 1, true, false))
            .collect();
        let report = build_report(rows.clone(), columns.clone(), None).unwrap();
        assert_eq!(report.references.len(), 1, "no tenant has orders");
        let reference = &report.references[0];
        assert_eq!(
            (
                reference.tenant.as_str(),
                reference.chosen_by,
                reference.tie
            ),
            ("m", ReferenceChoice::RequiredColumns, true)
        );
        assert_eq!(report.tenant("m").unwrap().drift.len(), 1, "only orders");
        assert_eq!(
            kinds(&report, "b")[..3],
            [
                (
                    "items".into(),
                    Some("description".into()),
                    DriftKind::MissingRequiredColumn
                ),
                ("items".into(), Some("id".into()), DriftKind::TypeChanged),
                (
                    "items".into(),
                    Some("price".into()),
                    DriftKind::MissingRequiredColumn
                ),
            ]
        );

        // Both complete: the required columns settle nothing, the name does.
        let mut extra = standard_items();
        extra.push(col("note", "text", false));
        let mut columns = Vec::new();
        columns.extend(columns_of("m", "items", &standard_items()));
        columns.extend(columns_of("b", "items", &extra));
        let rows: Vec<TenantRow> = ["m", "b"]
            .into_iter()
            .map(|t| tenant(t, 1, true, false))
            .collect();
        let report = build_report(rows, columns, None).unwrap();
        let reference = &report.references[0];
        assert_eq!(
            (
                reference.tenant.as_str(),
                reference.chosen_by,
                reference.tie
            ),
            ("b", ReferenceChoice::FirstByName, true)
        );
    }

    #[test]
    fn a_column_tenantscope_reads_is_required_even_when_every_tenant_lacks_it() {
        let renamed: Vec<ColumnRow> = standard_orders()
            .into_iter()
            .map(|mut c| {
                if c.2.text == "quantity" {
                    c.2 = "qty".into();
                }
                c
            })
            .collect();
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &renamed));
        }
        let rows = vec![tenant("a", 1, true, true), tenant("b", 1, true, true)];
        let report = build_report(rows, columns, None).unwrap();
        assert!(!report.is_healthy());
        assert_eq!(report.references[1].chosen_by, ReferenceChoice::Majority);
        for t in ["a", "b"] {
            let drift = &report.tenant(t).unwrap().drift;
            assert_eq!(drift.len(), 1);
            assert_eq!(
                drift[0].describe(),
                "orders.quantity: missing required column"
            );
            assert_eq!(report.tenant(t).unwrap().status, HealthStatus::Drift);
        }
    }

    #[test]
    fn a_given_reference_wins_and_must_exist() {
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
        }
        let mut extra = standard_items();
        extra.push(col("quantity", "integer", false));
        columns.extend(columns_of("c", "items", &extra));
        for t in ["a", "b", "c"] {
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        let rows: Vec<TenantRow> = ["a", "b", "c"]
            .into_iter()
            .map(|t| tenant(t, 1, true, true))
            .collect();
        let report = build_report(rows.clone(), columns.clone(), Some("c")).unwrap();
        assert_eq!(report.references[0].tenant, "c");
        assert_eq!(report.references[0].chosen_by, ReferenceChoice::Given);
        assert_eq!(
            kinds(&report, "a"),
            [(
                "items".into(),
                Some("quantity".into()),
                DriftKind::MissingColumn
            )]
        );
        assert!(kinds(&report, "c").is_empty());
        assert_eq!(
            build_report(rows, columns, Some("C")),
            Err(DbError::UnknownTenant("C".into()))
        );
    }

    #[test]
    fn healthy_when_all_agree() {
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        let rows = vec![tenant("a", 1, true, true), tenant("b", 1, true, true)];
        let report = build_report(rows, columns, None).unwrap();
        assert!(report.is_healthy());
        assert_eq!(report.references.len(), 2);
        assert_eq!(report.references[1].columns.len(), 4);
    }
}
