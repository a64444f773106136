//! What a health check reports, as plain values.

use serde::Serialize;

/// The tables every tenant schema should hold, in report order.
pub const TENANT_TABLES: [&str; 2] = ["items", "orders"];

/// The columns tenantscope itself reads from each tenant table (same order
/// as [`TENANT_TABLES`]): a tenant lacking one is drifted whatever the
/// majority looks like, since `orders` and `prices` fail on it.
#[cfg_attr(not(test), allow(dead_code))] // the article layout's, as the unit tests build reports
pub const REQUIRED_COLUMNS: [&[&str]; 2] = [
    &["id", "description", "price"],
    &["user_id", "item_id", "quantity"],
];

/// `relkind`s that count as a table for the tenant catalog.
pub(super) use crate::model::TABLE_KINDS;

/// A row count: exact, or the planner's estimate from `pg_class.reltuples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: i64,
    pub estimated: bool,
}

impl Count {
    /// `1,234`, `~1,234` for an estimate, `?` when unknown: one form for
    /// the screen and the table.
    pub fn label(count: Option<Count>) -> String {
        match count {
            None => "?".into(),
            Some(c) => {
                let tilde = if c.estimated { "~" } else { "" };
                format!("{tilde}{}", crate::text::thousands(c.value))
            }
        }
    }

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

impl HealthStatus {
    /// The word tables, CSV and the screen use (JSON's, too).
    pub fn word(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Drift => "drift",
            HealthStatus::Unused => "unused",
        }
    }
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

#[cfg(any(test, feature = "testing"))]
impl TenantHealth {
    /// A tenant with one user and nothing to report (for tests).
    pub fn healthy(name: &str) -> TenantHealth {
        TenantHealth {
            tenant: name.into(),
            status: HealthStatus::Ok,
            users: Count::exact(1),
            items: None,
            orders: None,
            drift: Vec::new(),
        }
    }
}

impl TenantHealth {
    pub fn has_table(&self, table: &str) -> bool {
        !self
            .drift
            .iter()
            .any(|d| d.kind == DriftKind::MissingTable && d.table == table)
    }

    /// The rows of its items and orders tables as the screen and the
    /// table show them: `—` where the table is missing, else
    /// [`Count::label`] (`?` unknown: never analyzed, or a view).
    pub fn rows_labels(&self) -> [String; 2] {
        [("items", self.items), ("orders", self.orders)].map(|(table, count)| {
            match self.has_table(table) {
                true => Count::label(count),
                false => "—".into(),
            }
        })
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

/// Which side of the layout a table belongs to, for [`WrongCopy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyRole {
    /// A tenant table (items, orders) found in the shared schema: its rows
    /// belong in the tenant schemas.
    TenantTable,
    /// A shared or pinned table (the registry, shared users, the link
    /// table) found in a tenant schema: its rows belong in the shared one.
    SharedTable,
}

/// Rows in a copy of a table that should be empty there: what a lost
/// `search_path` or an app listed on the wrong side leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct WrongCopy {
    pub schema: String,
    pub table: String,
    pub role: CopyRole,
    /// Rows found, counted up to [`WRONG_COPY_CAP`] (`more`: there are
    /// more); `None` when the copy could not be read (`why` says why).
    pub rows: Option<i64>,
    pub more: bool,
    /// One sentence for people.
    pub why: String,
}

/// Rows counted in a wrong copy before saying "more" (reading stops there).
pub const WRONG_COPY_CAP: i64 = 1000;

impl WrongCopy {
    /// Rows were found (an unreadable copy is reported, not counted).
    pub fn has_rows(&self) -> bool {
        self.rows.is_some_and(|n| n > 0)
    }

    /// `3 rows`, `more than 1000 rows`, `unreadable`.
    pub fn rows_text(&self) -> String {
        match self.rows {
            None => "unreadable".to_string(),
            Some(n) if self.more => format!("more than {n} rows"),
            Some(n) => crate::text::plural(usize::try_from(n).unwrap_or(0), "row", "rows"),
        }
    }

    /// `public.items: 3 rows (a tenant table: …)`. Not sanitized.
    pub fn describe(&self) -> String {
        let rows = self.rows_text();
        format!("{}.{}: {rows} ({})", self.schema, self.table, self.why)
    }
}

/// The whole report. Every list has a stable order: tenants and unused
/// tenants by name (in [`crate::text::tenant_order`]), drift by table,
/// column and kind, references by table, orphan organizations by id (so
/// too) with "(none)" last, wrong copies by schema then table.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct HealthReport {
    pub tenants: Vec<TenantHealth>,
    pub references: Vec<TableReference>,
    pub orphan_organizations: Vec<OrphanOrganization>,
    pub unused_tenants: Vec<String>,
    /// Copies of tables holding rows they should not (see [`WrongCopy`]).
    pub wrong_copy: Vec<WrongCopy>,
    /// Citus: nodes that did not answer the row estimate command; the row
    /// counts of their tenants are unknown.
    pub unreachable_nodes: Vec<NodeFault>,
}

/// Citus: a node that did not answer, its error, and the tenants it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NodeFault {
    /// `host:port`, as Citus names it.
    pub node: String,
    pub error: String,
    /// Tenant schemas on the node, sorted.
    pub tenants: Vec<String>,
}

impl NodeFault {
    /// `node 127.0.0.1:9702 did not answer (its error): row counts of its
    /// 2 tenants unknown: a, b`. Not sanitized.
    pub fn describe(&self) -> String {
        let error = self.error.lines().next().unwrap_or("").trim();
        let error = if error.is_empty() {
            String::new()
        } else {
            format!(" ({error})")
        };
        format!(
            "node {} did not answer{error}: row counts of its {} unknown{}",
            self.node,
            crate::text::plural(self.tenants.len(), "tenant", "tenants"),
            if self.tenants.is_empty() {
                String::new()
            } else {
                format!(": {}", self.tenants.join(", "))
            }
        )
    }
}

impl HealthReport {
    /// No drift, no orphan organization, no unused tenant schema and no
    /// rows in a wrong copy.
    pub fn is_healthy(&self) -> bool {
        self.drift_count() == 0
            && self.orphan_organizations.is_empty()
            && self.unused_tenants.is_empty()
            && self.wrong_copies() == 0
    }

    /// Copies holding rows that belong in another schema.
    pub fn wrong_copies(&self) -> usize {
        self.wrong_copy.iter().filter(|w| w.has_rows()).count()
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
