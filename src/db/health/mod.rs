//! Health of the tenant set: row counts, schema drift between tenants,
//! orphans both ways, and orders that leaked across tenants.
//!
//! Everything is read from the catalog (`pg_namespace`, `pg_class`,
//! `pg_attribute`) in a fixed number of statements, never one per tenant.

mod build;
mod model;
mod wrong_copy;

use super::lossy::{raw, LossyText};
use super::{Database, DbError};
use build::build_report_with;
pub use model::*;
pub use wrong_copy::WRONG_COPY_BATCH;

/// Row of the tenant query: (tenant, organization id, users, has items,
/// items estimate, has orders, orders estimate). A row without a tenant is
/// an organization id that names no tenant schema. Names are read lossily:
/// a SQL_ASCII database may hold any bytes.
pub(super) type TenantRow = (
    Option<LossyText>,
    Option<LossyText>,
    i64,
    bool,
    Option<i64>,
    bool,
    Option<i64>,
);

/// Citus: the row estimate of every shard on every node (`reltuples` of
/// the shard tables, named as `shard_name` names them), one remote command
/// per node, each node's answer or error with the distributed schemas it
/// holds; a node that does not answer leaves its shards unknown.
const NODE_ESTIMATES_SQL: &str =
    "SELECT coalesce(nd.nodename || ':' || nd.nodeport, n.nodeid::text),
        n.success, n.result,
        ARRAY(SELECT DISTINCT ns.nspname::text
                FROM pg_catalog.pg_dist_schema s
                JOIN pg_catalog.pg_namespace ns ON ns.oid = s.schemaid
                JOIN pg_catalog.pg_dist_partition p ON p.colocationid = s.colocationid
                JOIN pg_catalog.pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
                JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = sh.shardid
               WHERE pl.groupid = nd.groupid
               ORDER BY 1)
   FROM pg_catalog.run_command_on_all_nodes(
          $cmd$SELECT coalesce(json_object_agg(c.oid::regclass::text, c.reltuples), '{}')
                 FROM pg_catalog.pg_class c
                WHERE c.relkind IN ('r', 'p') AND c.relname ~ '_[0-9]+$'$cmd$) n
   LEFT JOIN pg_catalog.pg_dist_node nd ON nd.nodeid = n.nodeid
  ORDER BY 1";

/// The shard estimates the nodes sent (`$2`, a JSON object shard → rows):
/// a shard placed on several nodes (a reference table) counts once.
const SHARD_ROWS_CTE: &str = "shard_rows AS (
    SELECT e.key AS shard, e.value::float8 AS rows FROM json_each_text($2::json) e),
";

/// Node answers of [`NODE_ESTIMATES_SQL`]: the estimates merged (the
/// largest of a shard's placements, none for never analyzed), and the
/// nodes that failed.
fn merge_node_estimates(
    rows: Vec<(String, bool, Option<String>, Vec<String>)>,
) -> (serde_json::Map<String, serde_json::Value>, Vec<NodeFault>) {
    let mut estimates: std::collections::BTreeMap<String, f64> = Default::default();
    let mut faults = Vec::new();
    for (node, success, result, tenants) in rows {
        let parsed = if success {
            result.as_deref().and_then(|r| {
                serde_json::from_str::<std::collections::BTreeMap<String, f64>>(r).ok()
            })
        } else {
            None
        };
        match parsed {
            Some(shards) => {
                for (shard, rows) in shards.into_iter().filter(|(_, rows)| *rows >= 0.0) {
                    let entry = estimates.entry(shard).or_insert(rows);
                    *entry = entry.max(rows);
                }
            }
            None => faults.push(NodeFault {
                node,
                error: result.unwrap_or_default(),
                tenants,
            }),
        }
    }
    let json = estimates
        .into_iter()
        .map(|(shard, rows)| (shard, serde_json::Value::from(rows)))
        .collect();
    (json, faults)
}

/// Row of the column query: (tenant, table, column, type, not null).
pub(super) type ColumnRow = (LossyText, String, LossyText, String, bool);

/// Row of the leak query: (order id, user id, user exists, user's tenant).
pub(super) type LeakRow = (Option<String>, Option<String>, bool, Option<String>);

impl Database {
    /// SQL condition on `pg_namespace n`: neither a system schema nor the
    /// shared one (bound as `$1`).
    fn candidate_schema_condition() -> &'static str {
        "n.nspname <> $1 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    }

    /// The health of every tenant schema, compared with `reference`'s tables
    /// (default: the majority's).
    ///
    /// Runs **3 queries** (on Citus 4: the nodes' shard estimates first)
    /// in one READ ONLY transaction (plus its BEGIN and
    /// COMMIT), whatever the number of tenants: one for the tenant schemas,
    /// their `reltuples` estimates and the user count per organization id
    /// (a single `GROUP BY` over the users table), one for the columns of
    /// every tenant's `items` and `orders` from `pg_attribute`, one for the
    /// copies of tables that should be empty (see `wrong_copy.rs`), whose
    /// rows are then counted in batches (none where no such copy exists).
    /// Drift and orphans are then worked out in memory. `tests/health.rs` checks the
    /// count with `pg_stat_statements` for 3 and for 60 extra tenants.
    ///
    /// A tenant is any non-system schema (not the shared one) that holds an
    /// `items` or an `orders` table; one lacking the other table shows the
    /// drift "missing table". An unknown `reference` is
    /// [`DbError::UnknownTenant`]; a reference tenant lacking a table leaves
    /// that table's reference to the majority.
    pub async fn health(&self, reference: Option<&str>) -> Result<HealthReport, DbError> {
        self.retried(|| async move {
            let candidate = Self::candidate_schema_condition();
            let per_tenant = self.tables.model.users.at == crate::db::tenancy::UsersAt::PerTenant;
            // The tables playing items and orders are reported under those roles.
            let names = &self.tables.names;
            let role = format!(
                "CASE c.relname WHEN {items} THEN 'items' ELSE 'orders' END",
                items = names.items_lit
            );
            let local_estimate = "CASE WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0
                                       THEN c.reltuples::bigint END";
            // On Citus a distributed table's reltuples on the coordinator is 0:
            // the estimates are the shards', read on every node in the same
            // statement (one remote command per node, not per tenant).
            let (shard_rows, estimate) = if self.tables.citus {
                (
                    SHARD_ROWS_CTE,
                    format!(
                        "CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                                            WHERE p.logicalrelid = c.oid)
                              THEN (SELECT CASE WHEN count(*) = count(r.rows) AND count(*) > 0
                                                THEN sum(r.rows)::bigint END
                                      FROM pg_catalog.pg_dist_shard sh
                                      LEFT JOIN shard_rows r
                                             ON r.shard = pg_catalog.shard_name(sh.logicalrelid, sh.shardid)
                                     WHERE sh.logicalrelid = c.oid)
                              ELSE {local_estimate} END"
                    ),
                )
            } else {
                ("", local_estimate.to_string())
            };
            let tenants_sql = format!(
                "WITH {shard_rows}tables AS (
                     SELECT c.relnamespace AS nsp, {role} AS name,
                            {estimate} AS estimate
                       FROM pg_catalog.pg_class c
                      WHERE c.relname IN ({items}, {orders}) AND c.relkind IN {TABLE_KINDS}),
                 schemas AS (
                     SELECT n.nspname::text AS tenant,
                            i.nsp IS NOT NULL AS has_items, i.estimate AS items,
                            o.nsp IS NOT NULL AS has_orders, o.estimate AS orders
                       FROM pg_catalog.pg_namespace n
                       LEFT JOIN tables i ON i.nsp = n.oid AND i.name = 'items'
                       LEFT JOIN tables o ON o.nsp = n.oid AND o.name = 'orders'
                      WHERE {candidate} AND (i.nsp IS NOT NULL OR o.nsp IS NOT NULL) {filter}),
                 counts AS (
                     SELECT nullif({org}, '') AS org, count(*) AS users
                       FROM {users} u {members} GROUP BY 1)
                 SELECT {tenant_raw}, {org_raw}, coalesce(c.users, 0)::bigint,
                        coalesce(s.has_items, false), s.items,
                        coalesce(s.has_orders, false), s.orders
                   FROM schemas s FULL JOIN counts c ON c.org = s.tenant",
                org = self.tables.tenant_of("u"),
                // Users in each tenant schema: `report_per_tenant_users`.
                users = self.users_counted_together(per_tenant),
                tenant_raw = raw("s.tenant"),
                org_raw = raw("c.org"),
                items = names.items_lit,
                orders = names.orders_lit,
                // With a registry: registered tenants only (the registry check
                // reports the others).
                filter = names.tenant_filter,
                members = self.members_only(),
            );
            let columns_sql = format!(
                "SELECT {tenant_raw}, {role}, {column_raw},
                        pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
                   FROM pg_catalog.pg_namespace n
                   JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
                  WHERE {candidate}
                    AND c.relname IN ({items}, {orders}) AND c.relkind IN {TABLE_KINDS}
                    AND a.attnum > 0 AND NOT a.attisdropped {filter}",
                filter = names.tenant_filter,
                items = names.items_lit,
                orders = names.orders_lit,
                tenant_raw = raw("n.nspname"),
                column_raw = raw("a.attname"),
            );
            let mut tx = self.read_tx().await?;
            let (tenant_rows, faults) = self.tenant_rows(&mut tx, &tenants_sql).await?;
            let column_rows: Vec<ColumnRow> = self.catalog_rows(&mut tx, &columns_sql).await?;
            let copies = self.wrong_copy_candidates(&mut tx).await?;
            Database::end_read(tx);
            let wrong_copy = self.wrong_copies(copies).await?;
            let required = self.required_columns();
            let mut report = build_report_with(tenant_rows, column_rows, reference, &required)?;
            report.wrong_copy = wrong_copy;
            if per_tenant {
                self.report_per_tenant_users(&mut report).await?;
            }
            report.unreachable_nodes = faults
                .into_iter()
                .map(|mut fault| {
                    fault
                        .tenants
                        .retain(|t| report.tenants.iter().any(|r| r.tenant == *t));
                    fault
                })
                .collect();
            self.report_left_out(&mut report);
            Ok(report)
        })
        .await
    }

    /// The tenants' rows; on Citus with the shards' estimates read first, in
    /// a statement of their own that also says which nodes did not answer.
    async fn tenant_rows(
        &self,
        tx: &mut sqlx::PgConnection,
        tenants_sql: &str,
    ) -> Result<(Vec<TenantRow>, Vec<NodeFault>), DbError> {
        if !self.tables.citus {
            return Ok((self.catalog_rows(tx, tenants_sql).await?, Vec::new()));
        }
        let nodes = sqlx::query_as(NODE_ESTIMATES_SQL)
            .persistent(self.persistent())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        let (estimates, faults) = merge_node_estimates(nodes);
        let rows = sqlx::query_as(tenants_sql)
            .bind(&self.tables.shared_schema)
            .bind(serde_json::Value::Object(estimates).to_string())
            .persistent(self.persistent())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Ok((rows, faults))
    }

    /// The columns tenantscope reads from the items and orders tables, as
    /// the tenancy model names them.
    fn required_columns(&self) -> [Vec<String>; 2] {
        let m = &self.tables.model;
        [
            vec![
                m.items.id.clone(),
                m.items.label.clone(),
                m.items.price.clone(),
            ],
            vec![
                m.orders.user.clone(),
                m.orders.item.clone(),
                m.orders.quantity.clone(),
            ],
        ]
    }

    /// Where users live in each tenant schema: each tenant's users,
    /// counted [`crate::db::SEARCH_BATCH`] tenants to a statement, each
    /// statement in its own transaction (see `users_of_schemas`); at more than
    /// [`crate::db::EXACT_TENANT_TABLES_UP_TO`] tenants, analyzed tables
    /// estimated from their statistics (shown as estimates; a tenant
    /// without users is said so only from an exact count).
    async fn report_per_tenant_users(&self, report: &mut HealthReport) -> Result<(), DbError> {
        let counts = self.users_per_tenant_schema_or_estimated().await?;
        for tenant in report.tenants.iter_mut() {
            if let Some(&users) = counts.get(&tenant.tenant) {
                tenant.users = users;
                // "No users" only from an exact count (a locked table never
                // analyzed is estimated `~0`).
                if users.value > 0 || users.estimated {
                    // Its status was decided before its users were counted.
                    if tenant.status == HealthStatus::Unused {
                        tenant.status = HealthStatus::Ok;
                    }
                    report.unused_tenants.retain(|t| *t != tenant.tenant);
                }
            }
        }
        Ok(())
    }

    /// Tenants left out of every tenant's users list (their users table
    /// lacks a required column, see `users_left_out`): that drift (their
    /// users were counted with the others': `count(*)` names no column).
    fn report_left_out(&self, report: &mut HealthReport) {
        for (schema, missing) in self.users_left_out() {
            let Some(tenant) = report.tenants.iter_mut().find(|t| t.tenant == schema) else {
                continue;
            };
            tenant.drift.extend(missing.into_iter().map(|column| Drift {
                table: self.tables.model.users.table.clone(),
                column: Some(column),
                kind: DriftKind::MissingRequiredColumn,
                expected: None,
                found: None,
            }));
            tenant.drift.sort();
            tenant.status = HealthStatus::Drift;
        }
    }

    /// Orders in `tenant` whose user id (compared as text) names a user of
    /// another tenant, a user with no tenant, or no user at all, ordered by
    /// order id (where the orders table has no `id` column, each with no
    /// order id, ordered by user id). Two queries: an exact-match catalog
    /// lookup of the tenant (and of whether its orders have ids), then one
    /// over its orders joined to the users table, bounded by the statement
    /// timeout.
    ///
    /// A tenant that is no tenant schema is [`DbError::UnknownTenant`]; one
    /// without an `orders` table is [`DbError::TenantTableMissing`].
    pub async fn leaks(&self, tenant: &str) -> Result<Vec<Leak>, DbError> {
        self.retried(|| async move {
            let mut tx = self.read_tx().await?;
            let found: Option<(String, bool, Option<String>, bool)> = sqlx::query_as(&format!(
                "SELECT quote_ident(n.nspname),
                        EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                 WHERE c.relnamespace = n.oid AND c.relname = {orders}
                                   AND c.relkind IN {TABLE_KINDS}),
                        {node},
                        EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
                                 WHERE c.relnamespace = n.oid AND c.relname = {orders}
                                   AND c.relkind IN {TABLE_KINDS} AND a.attname = 'id'
                                   AND a.attnum > 0 AND NOT a.attisdropped)
                   FROM pg_catalog.pg_namespace n
                  WHERE n.nspname = $2 AND {candidate}
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                 WHERE c.relnamespace = n.oid AND c.relname IN ({items}, {orders})
                                   AND c.relkind IN {TABLE_KINDS}) {filter}",
                candidate = Self::candidate_schema_condition(),
                // With a registry: registered tenants only, as the check.
                filter = self.tables.names.tenant_filter,
                items = self.tables.names.items_lit,
                orders = self.tables.names.orders_lit,
                node = self.node_of_schema("n.oid"),
            ))
            .bind(&self.tables.shared_schema)
            .bind(tenant)
            .persistent(self.persistent())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
            let (schema, node, ids) = match found {
                None => return Err(DbError::UnknownTenant(tenant.to_string())),
                Some((_, false, _, _)) => {
                    return Err(DbError::TenantTableMissing {
                        tenant: tenant.to_string(),
                        table: "orders".into(),
                    })
                }
                Some((schema, true, node, ids)) => (schema, node, ids),
            };
            // An orders table without an `id` column (a drifted tenant):
            // its leaks are listed with no order id, by user id.
            let (order_id, by_id) = match ids {
                true => ("o.id::text", "o.id, "),
                false => ("NULL::text", ""),
            };
            // The schema is a server-quoted identifier; the tenant name is bound.
            // A user id may be listed once per tenant (users in each tenant
            // schema, or linked to several): an order leaks only when no user
            // of this tenant has its user id.
            // On Citus the users table may be a plain local table, which no
            // statement may join with a distributed tenant table: the users
            // the orders name are read on their own first (MATERIALIZED CTEs,
            // planned apart), and the orders joined to that result.
            self.users_readable(Some(tenant))?;
            let users_table = self.users_of_tenant(tenant);
            let (with, users) = if self.tables.citus {
                // The id as stored, where a registry maps it (`tenant_of`).
                let raw_org = match &self.tables.org_id_column {
                    Some(column) => format!(", u.{column}"),
                    None => String::new(),
                };
                (
                    format!(
                        "WITH ids AS MATERIALIZED (
                              SELECT DISTINCT o.{order_user}::text AS id FROM {schema}.{orders} o),
                          users_named AS MATERIALIZED (
                              SELECT u.{user_id}, u.{org}{raw_org} FROM {users} u
                               WHERE u.{user_id}::text IN (SELECT id FROM ids))\n",
                        orders = self.tables.names.orders,
                        order_user = self.tables.names.order_user,
                        user_id = self.tables.names.user_id,
                        org = self.tables.tenant_column,
                        users = users_table,
                    ),
                    "users_named".to_string(),
                )
            } else {
                (String::new(), users_table)
            };
            let sql = format!(
                "{with}SELECT {order_id}, o.{order_user}::text,
                        EXISTS (SELECT 1 FROM {users} u WHERE u.{user_id}::text = o.{order_user}::text),
                        (SELECT min(nullif({tenant_of}, '')) FROM {users} u
                          WHERE u.{user_id}::text = o.{order_user}::text)
                   FROM {schema}.{orders} o
                  WHERE NOT EXISTS (SELECT 1 FROM {users} u
                                     WHERE u.{user_id}::text = o.{order_user}::text
                                       AND u.{org}::text = $1)
                  ORDER BY {by_id}o.{order_user}",
                orders = self.tables.names.orders,
                order_user = self.tables.names.order_user,
                user_id = self.tables.names.user_id,
                org = self.tables.tenant_column,
                // An id the registry maps to no schema, as stored.
                tenant_of = self.tables.tenant_of("u"),
            );
            let rows: Vec<LeakRow> = sqlx::query_as(&sql)
                .bind(tenant)
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.on_node(node.as_deref(), self.error(e)))?;
            Database::end_read(tx);
            Ok(rows.into_iter().map(leak_of).collect())
        })
        .await
    }
}

/// A leak check's row: its user of another tenant, or of none.
fn leak_of((order_id, user_id, has_user, user_tenant): LeakRow) -> Leak {
    let kind = match has_user {
        true => LeakKind::OtherTenant,
        false => LeakKind::NoUser,
    };
    Leak {
        order_id,
        user_id,
        kind,
        user_tenant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_estimates_merge_placements_and_keep_the_failed_nodes() {
        let rows = vec![
            (
                "127.0.0.1:1".to_string(),
                true,
                Some(r#"{"a.items_1": 5, "public.users_9": 3, "b.items_2": -1}"#.to_string()),
                vec!["a".to_string()],
            ),
            (
                "127.0.0.1:2".to_string(),
                true,
                Some(r#"{"public.users_9": 4}"#.to_string()),
                vec![],
            ),
            (
                "127.0.0.1:3".to_string(),
                false,
                Some("connection to the remote node refused".to_string()),
                vec!["c".to_string(), "d".to_string()],
            ),
        ];
        let (estimates, faults) = merge_node_estimates(rows);
        assert_eq!(
            serde_json::Value::Object(estimates),
            serde_json::json!({"a.items_1": 5.0, "public.users_9": 4.0})
        );
        assert_eq!(
            faults,
            [NodeFault {
                node: "127.0.0.1:3".into(),
                error: "connection to the remote node refused".into(),
                tenants: vec!["c".into(), "d".into()],
            }]
        );
        assert_eq!(
            faults[0].describe(),
            "node 127.0.0.1:3 did not answer (connection to the remote node refused): \
             row counts of its 2 tenants unknown: c, d"
        );
    }
}
