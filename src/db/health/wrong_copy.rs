//! Rows in the wrong copy of a table: frameworks create some tables in
//! every schema (ros-apartment creates all of them everywhere), and a lost
//! `search_path` writes rows into the copy that should stay empty. Tenant
//! tables (items, orders) should be empty in the shared schema; shared
//! tables (the registry, a shared users table, the link table) should be
//! empty in the tenant schemas.
//!
//! One catalog query finds the copies, then their rows are counted in
//! batches of [`WRONG_COPY_BATCH`] copies per statement, each count
//! stopping at [`WRONG_COPY_CAP`] + 1 rows: a copy full of stray rows is
//! never read to its end.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::model::{CopyRole, WrongCopy, TABLE_KINDS, WRONG_COPY_CAP};
use crate::db::lossy::{raw, LossyText};
use crate::db::tenancy::UsersAt;
use crate::db::{Database, DbError};

/// Copies counted per statement.
pub const WRONG_COPY_BATCH: usize = 200;

/// A copy to count: (schema, table, in the shared schema, quoted name).
type CopyRow = (LossyText, LossyText, bool, String);

impl Database {
    /// The tables whose shared-schema copy should be empty, and those whose
    /// tenant copies should be, as the tenancy model names them.
    fn copy_roles(&self) -> (Vec<String>, Vec<String>) {
        let m = &self.tables.model;
        let tenant_tables = vec![m.items.table.clone(), m.orders.table.clone()];
        let mut shared_tables: Vec<String> = m.schemas.registry.table.iter().cloned().collect();
        // Users in every tenant schema (django-tenants' auth_user) are
        // legitimately also in the shared one: only a shared table counts.
        if m.users.at != UsersAt::PerTenant {
            shared_tables.push(m.users.table.clone());
        }
        if m.users.at == UsersAt::Link {
            shared_tables.extend(m.users.link.table.iter().cloned());
        }
        (tenant_tables, shared_tables)
    }

    /// The copies to check (one catalog query, in the caller's transaction).
    pub(super) async fn wrong_copy_candidates(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Vec<CopyRow>, DbError> {
        let (tenant_tables, shared_tables) = self.copy_roles();
        let names = &self.tables.names;
        let sql = format!(
            "SELECT {schema}, {table}, n.nspname = $1,
                    quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               FROM pg_catalog.pg_namespace n
               JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
              WHERE (n.nspname = $1 AND c.relname = ANY($2::name[]))
                 OR (c.relname = ANY($3::name[]) AND n.nspname <> $1
                     AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_class t
                                  WHERE t.relnamespace = n.oid
                                    AND t.relname IN ({items}, {orders})
                                    AND t.relkind IN {TABLE_KINDS})
                     {filter})
              ORDER BY n.nspname, c.relname",
            schema = raw("n.nspname"),
            table = raw("c.relname"),
            items = names.items_lit,
            orders = names.orders_lit,
            // Registered tenants only, as for drift.
            filter = names.tenant_filter,
        );
        sqlx::query_as(&sql)
            .bind(&self.tables.shared_schema)
            .bind(&tenant_tables)
            .bind(&shared_tables)
            .persistent(false)
            .fetch_all(conn)
            .await
            .map_err(|e| self.error(e))
    }

    /// Counts the rows of `copies` in batches; returns those holding rows
    /// or that could not be read, sorted by schema and table.
    pub(super) async fn wrong_copies(
        &self,
        copies: Vec<CopyRow>,
    ) -> Result<Vec<WrongCopy>, DbError> {
        let shared = self.tables.shared_schema.clone();
        let selects: Vec<(usize, String)> = copies
            .iter()
            .enumerate()
            .map(|(i, (_, _, _, quoted))| {
                // The name is server-quoted; the index and cap are ours.
                let cap = WRONG_COPY_CAP + 1;
                (
                    i,
                    format!(
                        "SELECT {i}::int4, (SELECT count(*) FROM
                                (SELECT 1 FROM {quoted} LIMIT {cap}) s)::int8"
                    ),
                )
            })
            .collect();
        let (rows, errors): (Vec<(i32, i64)>, _) = self
            .tenant_batches(&selects, WRONG_COPY_BATCH, &[], None, &HashMap::new())
            .await?;
        // A copy this role may not read is named with its error.
        let counted = rows
            .into_iter()
            .map(|(i, n)| (usize::try_from(i).unwrap_or(usize::MAX), Ok(n)))
            .chain(errors.into_iter().map(|(i, e)| (i, Err(e.to_string()))));
        let mut found: Vec<WrongCopy> = counted
            .into_iter()
            .filter(|(_, n)| !matches!(n, Ok(0)))
            .filter_map(|(i, n)| {
                let (schema, table, in_shared, _) = copies.get(i)?;
                let (role, why) = if *in_shared {
                    (
                        CopyRole::TenantTable,
                        "a tenant table: its rows belong in the tenant schemas".to_string(),
                    )
                } else {
                    (
                        CopyRole::SharedTable,
                        format!("a shared table: its rows belong in {shared}"),
                    )
                };
                let (rows, more, why) = match n {
                    Ok(n) => (Some(n.min(WRONG_COPY_CAP)), n > WRONG_COPY_CAP, why),
                    Err(error) => (None, false, format!("{why}; could not count: {error}")),
                };
                Some(WrongCopy {
                    schema: schema.text.clone(),
                    table: table.text.clone(),
                    role,
                    rows,
                    more,
                    why,
                })
            })
            .collect();
        found.sort();
        Ok(found)
    }
}
