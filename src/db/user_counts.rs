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
        Ok(exact(self.locking_counts(&statement).await?))
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
    ///
    /// Each statement gives up on a locked table after the lock timeout
    /// (a migration holding one tenant's users table waited out the whole
    /// statement timeout and failed every count): its tenants are then
    /// counted one by one, and a table still locked is given its
    /// statistics' row count (`pg_class.reltuples`, read without the
    /// table's lock), marked estimated: `~0` where never analyzed.
    pub(in crate::db) async fn users_of_schemas(
        &self,
        schemas: &[&String],
    ) -> Result<HashMap<String, Count>, DbError> {
        let chunks: Vec<&[&String]> = schemas.chunks(SEARCH_BATCH).collect();
        let answers = self
            .side_by_side(chunks.iter().map(|chunk| self.count_chunk(chunk)).collect())
            .await;
        let mut counts = HashMap::new();
        let mut locked = Vec::new();
        for answer in answers {
            let (counted, still_locked) = answer?;
            counts.extend(counted);
            locked.extend(still_locked);
        }
        if !locked.is_empty() {
            counts.extend(self.estimated_users(&locked).await?);
        }
        Ok(counts)
    }

    /// One statement's counts; when a table of it is locked, each schema
    /// on its own, returning those still locked apart.
    async fn count_chunk<'s>(
        &self,
        chunk: &[&'s String],
    ) -> Result<(HashMap<String, Count>, Vec<&'s String>), DbError> {
        match self.locking_counts(&self.count_statement(chunk)).await {
            Err(DbError::Locked { .. }) if chunk.len() > 1 => {}
            Err(DbError::Locked { .. }) => return Ok((HashMap::new(), chunk.to_vec())),
            counted => return Ok((exact(counted?), Vec::new())),
        }
        let (mut counts, mut locked) = (HashMap::new(), Vec::new());
        for schema in chunk {
            match self.locking_counts(&self.count_statement(&[schema])).await {
                Ok(counted) => counts.extend(exact(counted)),
                Err(DbError::Locked { .. }) => locked.push(*schema),
                Err(error) => return Err(error),
            }
        }
        Ok((counts, locked))
    }

    /// `(schema, count)` rows of a count statement, in a batch transaction
    /// of its own (see [`Database::rows_in_own_read`]) that gives up on a
    /// lock after the lock timeout.
    async fn locking_counts(&self, sql: &str) -> Result<HashMap<String, i64>, DbError> {
        let mut tx = self.batch_tx(None).await.map_err(|e| self.error(e))?;
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sql)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((s?, n)))
            .collect())
    }

    /// The statistics' row count of each of `schemas`' users tables,
    /// marked estimated (a never analyzed table's `-1` read as 0).
    async fn estimated_users(
        &self,
        schemas: &[&String],
    ) -> Result<HashMap<String, Count>, DbError> {
        let mut tx = self.read_tx().await?;
        let rows: Vec<(String, f64)> = sqlx::query_as(
            "SELECT n.nspname::text, c.reltuples::float8
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relname = $1::text::name AND n.nspname = ANY($2::text[]::name[])",
        )
        .bind(&self.tables.model.users.table)
        .bind(schemas)
        .persistent(false)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        Database::end_read(tx);
        Ok(rows
            .into_iter()
            .map(|(schema, rows)| (schema, Count::estimate(rows.max(0.0).round() as i64)))
            .collect())
    }

    /// The rows of `query` in a read transaction of its own, named by
    /// `handle` (one name for statements side by side: one cancel stops
    /// them all), ended as soon as its rows are in: its end releases the
    /// locks the statement took (a batch of tenants' users tables), so
    /// statements side by side never hold more than one batch each. Every
    /// statement over batches of tenants run side by side reads this way
    /// (`keyset_rows_batched`; the counts, in `locking_counts`, with a
    /// lock timeout besides).
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

    /// `(schema, count(*))` of each of `schemas`' users tables, in one
    /// statement (callers give [`SEARCH_BATCH`] schemas at most: a
    /// transaction holds its locks to its end, so thousands of users tables
    /// read in one would pass the server's lock table, "out of shared
    /// memory" at `max_locks_per_transaction` 64 and 5,000 tenants).
    fn count_statement(&self, schemas: &[&String]) -> String {
        let table = quote_ident(&self.tables.model.users.table);
        schemas
            .iter()
            .map(|schema| {
                format!(
                    "SELECT {}::text, count(*) FROM {}.{table}",
                    quote_literal(schema),
                    quote_ident(schema)
                )
            })
            .collect::<Vec<_>>()
            .join("\n UNION ALL ")
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
        let mut tx = self.read_tx().await?;
        let estimates: Vec<(String, f64)> = sqlx::query_as(
            "SELECT n.nspname::text, c.reltuples::float8
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relname = $1::text::name AND c.relkind = 'r'
                AND n.nspname = ANY($2::text[]::name[])",
        )
        .bind(&self.tables.model.users.table)
        .bind(&schemas)
        .persistent(false)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        Database::end_read(tx);
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
