//! Users counted per tenant (the tenants pane, `tenants`, health and the
//! user count): where users live in each tenant schema, a `count(*)` per
//! tenant's own table, [`SEARCH_BATCH`] tenants per statement, each
//! statement in a transaction of its own; else one GROUP BY over the
//! shared table.

use std::collections::HashMap;

use super::sql::{quote_ident, quote_literal};
use super::tenancy::{UsersAt, SEARCH_BATCH};
use super::{Count, Database, DbError, QueryHandle};

/// Tenants' users tables counted exactly, every one, by
/// [`Database::users_per_tenant_schema_or_estimated`]: up to this many a
/// count of each is cheap (20 statements); beyond, analyzed tables are
/// given their statistics' row count.
pub const EXACT_TENANT_TABLES_UP_TO: usize = 1_000;

/// Exact counts as [`Count`]s.
fn exact(counts: HashMap<String, i64>) -> HashMap<String, Count> {
    counts
        .into_iter()
        .map(|(schema, n)| (schema, Count::exact(n)))
        .collect()
}

impl Database {
    /// Users per tenant schema: where users live in each tenant, as
    /// [`Database::users_per_tenant_schema_or_estimated`] counts them
    /// (estimated past [`EXACT_TENANT_TABLES_UP_TO`] tables); else one
    /// GROUP BY over the shared table.
    pub(in crate::db) async fn users_by_tenant(&self) -> Result<HashMap<String, Count>, DbError> {
        let tables = &self.tables;
        if tables.model.users.at == UsersAt::PerTenant {
            return self.users_per_tenant_schema_or_estimated().await;
        }
        let statement = format!(
            // No organization id (NULL or empty) as the empty name.
            "SELECT coalesce({tenant}, ''), count(*) FROM {users} u {members} GROUP BY 1",
            tenant = tables.tenant_of("u"),
            users = tables.users_table,
            members = self.members_only(),
        );
        let query = sqlx::query_as::<_, (Option<String>, i64)>(&statement);
        let rows = self.rows_in_own_read(query, None).await?;
        Ok(exact(
            rows.into_iter()
                .filter_map(|(s, n)| Some((s?, n)))
                .collect(),
        ))
    }

    /// A WHERE clause over the users row `u` leaving out, where users are
    /// linked to tenants, the people linked to none (django-tenant-users'
    /// public-tenant owner, a new sign-up): they have no organization id
    /// to lack. Empty elsewhere.
    pub(in crate::db) fn members_only(&self) -> String {
        match self.tables.model.users.at {
            UsersAt::Link => format!("WHERE u.{} IS NOT NULL", self.tables.tenant_column),
            _ => String::new(),
        }
    }

    /// The tenant schemas holding a users table (users in each tenant
    /// schema; drifted ones too: `count(*)` names no column).
    fn users_schemas(&self) -> Vec<&String> {
        self.tables
            .tenant_branches
            .iter()
            .map(|b| &b.schema)
            .collect()
    }

    /// Where users live in each tenant schema: the users of those of
    /// `schemas` (registered tenants lacking the tenant tables) that exist
    /// and hold a users table this role may read, one `count(*)` each; a
    /// schema that is gone holds none. Empty elsewhere, and when a count
    /// fails (logged): the other tenants' counts do not depend on it.
    pub(in crate::db) async fn users_of_incomplete(
        &self,
        schemas: &[&String],
    ) -> HashMap<String, Count> {
        if self.tables.model.users.at != UsersAt::PerTenant || schemas.is_empty() {
            return HashMap::new();
        }
        self.count_incomplete(schemas)
            .await
            .unwrap_or_else(|error| {
                tracing::info!(%error, "users of schemas without the tenant tables left uncounted");
                HashMap::new()
            })
    }

    async fn count_incomplete(
        &self,
        schemas: &[&String],
    ) -> Result<HashMap<String, Count>, DbError> {
        let query = sqlx::query_as::<_, (String,)>(concat!(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n
              WHERE n.nspname = ANY($1::text[]::name[])
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                             WHERE c.relnamespace = n.oid AND c.relname = $2::text::name
                               AND has_table_privilege(c.oid, 'SELECT')
                               AND c.relkind IN ",
            crate::model::table_kinds!(),
            ")"
        ))
        .bind(schemas)
        .bind(&self.tables.model.users.table);
        let holding: Vec<String> = self
            .rows_in_own_read(query, None)
            .await?
            .into_iter()
            .map(|(s,)| s)
            .collect();
        self.users_of_schemas(&holding.iter().collect::<Vec<_>>())
            .await
    }

    /// The users table counted by organization in one statement; where
    /// users live in each tenant schema an empty one: those are counted
    /// after, in batches of their own transactions, never as one union
    /// locking every tenant's users table.
    pub(in crate::db) fn users_counted_together(&self, per_tenant: bool) -> String {
        if per_tenant {
            format!(
                "(SELECT NULL::text AS {} WHERE false)",
                self.tables.tenant_column
            )
        } else {
            self.tables.users_table.clone()
        }
    }

    /// Users of each of `schemas` (users in each tenant schema), counted
    /// without naming a column: a drifted users table is counted too.
    /// [`SEARCH_BATCH`] tenants to a statement, each in a transaction of
    /// its own (see [`Database::tenant_batches`]: a transaction holds its
    /// locks to its end, so thousands of users tables read in one would
    /// pass the server's lock table).
    ///
    /// A users table another session holds locked (a migration) is given
    /// up after the lock timeout, as every tenant batch does (it waited the
    /// whole statement timeout and failed every count), and given its
    /// statistics' row count, marked estimated: `~0` where there is none.
    pub(in crate::db) async fn users_of_schemas(
        &self,
        schemas: &[&String],
    ) -> Result<HashMap<String, Count>, DbError> {
        let table = quote_ident(&self.tables.model.users.table);
        let selects: Vec<(usize, String)> = schemas
            .iter()
            .enumerate()
            .map(|(at, schema)| {
                let (name, schema) = (quote_literal(schema), quote_ident(schema));
                (
                    at,
                    format!("SELECT {name}::text, count(*) FROM {schema}.{table}"),
                )
            })
            .collect();
        let (rows, failed) = self
            .tenant_batches::<(Option<String>, i64)>(
                &selects,
                SEARCH_BATCH,
                &[],
                None,
                &HashMap::new(),
            )
            .await?;
        let mut counts: HashMap<String, Count> = rows
            .into_iter()
            .filter_map(|(schema, n)| Some((schema?, Count::exact(n))))
            .collect();
        let mut locked = Vec::new();
        for (at, error) in failed {
            match error {
                DbError::Locked { .. } => locked.push(schemas[at]),
                error => return Err(error),
            }
        }
        if !locked.is_empty() {
            let statistics = self.users_statistics(&locked).await?;
            counts.extend(locked.into_iter().map(|schema| {
                let rows = statistics.get(schema).copied().unwrap_or(0.0);
                (
                    schema.clone(),
                    Count::estimate(rows.max(0.0).round() as i64),
                )
            }));
        }
        Ok(counts)
    }

    /// The statistics' row count (`pg_class.reltuples`: -1 never
    /// analyzed) of each of `schemas`' users tables that is a plain table,
    /// read from the catalog (no lock on the tables).
    async fn users_statistics(&self, schemas: &[&String]) -> Result<HashMap<String, f64>, DbError> {
        let query = sqlx::query_as::<_, (String, f64)>(
            "SELECT n.nspname::text, c.reltuples::float8
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relname = $1::text::name AND c.relkind = 'r'
                AND n.nspname = ANY($2::text[]::name[])",
        )
        .bind(&self.tables.model.users.table)
        .bind(schemas);
        Ok(self
            .rows_in_own_read(query, None)
            .await?
            .into_iter()
            .collect())
    }

    /// The rows of `query` in a read transaction of its own, named by
    /// `handle` (one name for statements side by side: one cancel stops
    /// them all), ended as soon as its rows are in: its end releases the
    /// locks the statement took (a batch of tenants' users tables), so
    /// statements side by side never hold more than one batch each. Every
    /// statement over batches of tenants run side by side reads this way
    /// (`keyset_rows_batched`, the shared table's counts).
    pub(in crate::db) async fn rows_in_own_read<'q, R>(
        &self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, R, sqlx::postgres::PgArguments>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<R>, DbError>
    where
        R: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut tx = self.tracked_tx(handle).await?;
        let rows = query
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        Ok(rows)
    }

    /// Every tenant's users where users live in each tenant schema, and
    /// whether any of them is the planner's estimate (see
    /// [`Database::users_per_tenant_schema_or_estimated`]): the user count
    /// the dashboard starts with; the tenants pane counts each tenant's the
    /// same way, so at 10,000 tenants neither opens every users table.
    pub(in crate::db) async fn per_tenant_user_count(&self) -> Result<(i64, bool), DbError> {
        let counts = self.users_per_tenant_schema_or_estimated().await?;
        let value = counts.values().map(|c| c.value).sum();
        Ok((value, counts.values().any(|c| c.estimated)))
    }

    /// Users of every tenant schema holding a users table: exact where
    /// there are at most [`EXACT_TENANT_TABLES_UP_TO`] of them (counted in
    /// batches, see `users_of_schemas`). Beyond, counting them all opens
    /// and locks every users table (0.1–0.25 ms each on the server, whatever
    /// its rows: 0.5 to 2.3 s at 10,000), so a table the server has
    /// analyzed and found rows in is given its statistics' row count
    /// (`pg_class.reltuples`), marked estimated; the others (never
    /// analyzed, or empty by their statistics: "no users" is said only
    /// when exact) are counted exactly. One catalog statement decides.
    pub(in crate::db) async fn users_per_tenant_schema_or_estimated(
        &self,
    ) -> Result<HashMap<String, Count>, DbError> {
        let schemas = self.users_schemas();
        if schemas.len() <= EXACT_TENANT_TABLES_UP_TO {
            return self.users_of_schemas(&schemas).await;
        }
        let estimates = self.users_statistics(&schemas).await?;
        let mut counts: HashMap<String, Count> = estimates
            .into_iter()
            .filter(|(_, rows)| *rows >= 0.5)
            .map(|(schema, rows)| (schema, Count::estimate(rows.round() as i64)))
            .collect();
        let rest: Vec<&String> = schemas
            .into_iter()
            .filter(|s| !counts.contains_key(*s))
            .collect();
        counts.extend(self.users_of_schemas(&rest).await?);
        Ok(counts)
    }
}
