//! Users counted per tenant (the tenants pane, `tenants`, health and the
//! user count): where users live in each tenant schema, a `count(*)` per
//! tenant's own table, [`SEARCH_BATCH`] tenants per statement, each
//! statement in a transaction of its own; else one GROUP BY over the
//! shared table.

use std::collections::HashMap;

use super::sql::{quote_ident, quote_literal};
use super::tenancy::{TenantEntry, UsersAt, SEARCH_BATCH};
use super::{Database, DbError, QueryHandle};

impl Database {
    /// Users per tenant schema: where users live in each tenant, one
    /// `count(*)` per tenant's own table (no column named, so a drifted
    /// table is still counted), [`SEARCH_BATCH`] tenants per statement (a
    /// union of thousands of tables costs more to plan than to run); else
    /// one GROUP BY over the shared table.
    pub(in crate::db) async fn users_by_tenant(
        &self,
        entries: &[TenantEntry],
    ) -> Result<HashMap<String, i64>, DbError> {
        let tables = &self.tables;
        let statements: Vec<String> = if tables.model.users.at == UsersAt::PerTenant {
            let schemas: Vec<&String> = entries
                .iter()
                .filter(|e| e.present)
                .map(|e| &e.schema)
                .collect();
            self.count_statements(&schemas)
        } else {
            vec![format!(
                "SELECT u.{tenant}::text, count(*) FROM {users} u GROUP BY 1",
                tenant = tables.tenant_column,
                users = tables.users_table
            )]
        };
        self.run_counts(statements).await
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

    /// Users of every tenant schema holding a users table, counted in
    /// batches (see `users_of_schemas`).
    pub(in crate::db) async fn users_per_tenant_schema(
        &self,
    ) -> Result<HashMap<String, i64>, DbError> {
        self.users_of_schemas(&self.users_schemas()).await
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
    pub(in crate::db) async fn users_of_schemas(
        &self,
        schemas: &[&String],
    ) -> Result<HashMap<String, i64>, DbError> {
        self.run_counts(self.count_statements(schemas)).await
    }

    /// `(schema, count)` rows of `statements`, each in a read transaction
    /// of its own: a transaction holds its locks to its end, so thousands
    /// of users tables read in one would pass the server's lock table
    /// ("out of shared memory" at `max_locks_per_transaction` 64 and 5,000
    /// tenants); a statement of [`SEARCH_BATCH`] tenants stays well within.
    /// Statements run side by side ([`Database::side_by_side`]) (each tenant
    /// is in one statement: the order they answer in changes nothing).
    async fn run_counts(&self, statements: Vec<String>) -> Result<HashMap<String, i64>, DbError> {
        let answers = self
            .side_by_side(
                statements
                    .iter()
                    .map(|sql| {
                        self.rows_in_own_read::<(Option<String>, i64)>(sqlx::query_as(sql), None)
                    })
                    .collect(),
            )
            .await;
        let mut counts = HashMap::new();
        for rows in answers {
            counts.extend(rows?.into_iter().filter_map(|(s, n)| Some((s?, n))));
        }
        Ok(counts)
    }

    /// The rows of `query` in a read transaction of its own, named by
    /// `handle` (one name for statements side by side: one cancel stops
    /// them all), ended as soon as its rows are in: its end releases the
    /// locks the statement took (a batch of tenants' users tables), so
    /// statements side by side never hold more than one batch each. Every
    /// statement over batches of tenants run side by side reads this way
    /// (`run_counts`, `keyset_rows_batched`).
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

    /// `(schema, count(*))` of each schema's users table, [`SEARCH_BATCH`]
    /// schemas per statement.
    fn count_statements(&self, schemas: &[&String]) -> Vec<String> {
        let table = quote_ident(&self.tables.model.users.table);
        schemas
            .chunks(SEARCH_BATCH)
            .map(|chunk| {
                chunk
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
            })
            .collect()
    }

    /// Every tenant's users, counted tenant by tenant where users live in
    /// each tenant schema (counting the union of thousands of users tables
    /// in one statement does not finish within a statement timeout).
    pub(in crate::db) async fn per_tenant_user_count(&self) -> Result<i64, DbError> {
        // The schemas holding a users table, not every tenant schema: one
        // without it would fail the count, and with it the dashboard's start.
        Ok(self.users_per_tenant_schema().await?.values().sum())
    }
}
