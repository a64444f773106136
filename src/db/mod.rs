//! Database access: the shared users table, the tenant catalog, the priced
//! orders of one tenant, tenant health (drift, orphans, leaks) and the price
//! matrix across tenants. Knows nothing of the UI.
//!
//! Every query runs in a READ ONLY transaction with a transaction-local
//! statement_timeout, names and casts its columns (tenants drift in column
//! types and extra columns), and never reads the users' password column.

mod basket;
mod cancel;
mod catalog;
mod health;
pub mod libpq;
mod lossy;
mod orders;
mod pool;
mod pooler;
mod prices;
pub mod tenancy;
mod users;

use std::fmt;
use std::sync::atomic::AtomicU64;

pub use basket::{rank as rank_basket, BasketTenant, BASKET_BATCH};
pub use cancel::QueryHandle;
pub use catalog::{TenantCatalog, TenantSummary};
pub use health::{
    Column, ColumnShape, Count, Drift, DriftKind, HealthReport, HealthStatus, Leak, LeakKind,
    OrphanOrganization, ReferenceChoice, TableReference, TenantHealth, TENANT_TABLES,
};
pub use orders::{choose_compare_tenant, CompareChoice, OrderLine, OrdersReport, RawOrderLine};
pub use pool::{
    connect_options, libpq_configured, target_label, ConnectionSource, LIBPQ_VARIABLES,
};
pub use prices::{PriceMatrix, PriceRow, PriceSort, TenantFailure, PRICE_BATCH, SPREAD_DECIMALS};
pub use tenancy::{TenancyModel, UsersAt};
pub use users::{Page, TenantStatus, User, UserCount, UserKey, UserQuery};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

use crate::config::Settings;

/// Runs `$load` (an expression giving a future of a `Result`) and, when it
/// failed while a prepared-statement conflict was seen (a transaction
/// pooler, detected: see pooler.rs), runs it once more, now in pooler mode.
macro_rules! retried {
    ($db:expr, $load:expr) => {{
        let seen = $db.statement_conflicts();
        let result = $load.await;
        match result {
            Err(error) if $db.statement_conflicts() != seen => {
                tracing::info!(%error, "retrying once with unnamed statements");
                $load.await
            }
            result => result,
        }
    }};
}
pub(crate) use retried;

#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// No connection could be made at all.
    Connect {
        target: String,
        cause: String,
    },
    /// The configured shared users table (or its tenant column) is missing.
    SharedTable(String),
    /// The user's tenant schema does not exist.
    TenantNotFound(String),
    /// The schema exists but lacks a tenant table (`items` or `orders`).
    TenantTableMissing {
        tenant: String,
        table: String,
    },
    /// The user has no tenant: the organization id is NULL (`null`) or an
    /// empty string.
    NoTenant {
        null: bool,
    },
    /// A setting names a column tenantscope must not or cannot read.
    Setting(String),
    /// A tenant named by the user of tenantscope (e.g. `--compare`) does not exist.
    UnknownTenant(String),
    UserNotFound(String),
    /// statement_timeout (or a cancel) stopped the query.
    Timeout {
        ms: u64,
    },
    Query(String),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Connect { target, cause } => write!(f, "cannot connect to {target}: {cause}"),
            DbError::SharedTable(message) => f.write_str(message),
            DbError::TenantNotFound(tenant) => {
                write!(
                    f,
                    "tenant schema not found: {:?}",
                    crate::text::sanitize(tenant)
                )
            }
            DbError::TenantTableMissing { tenant, table } => write!(
                f,
                "tenant schema {:?} has no {} table",
                crate::text::sanitize(tenant),
                crate::text::sanitize(table)
            ),
            DbError::NoTenant { null: true } => {
                f.write_str("user has no tenant (organization id is NULL)")
            }
            DbError::NoTenant { null: false } => {
                f.write_str("user has no tenant (organization id is an empty string)")
            }
            DbError::Setting(message) => f.write_str(message),
            DbError::UnknownTenant(tenant) => {
                write!(f, "unknown tenant: {:?}", crate::text::sanitize(tenant))
            }
            DbError::UserNotFound(id) => {
                write!(f, "no user with id {:?}", crate::text::sanitize(id))
            }
            DbError::Timeout { ms } => {
                write!(f, "query timed out after {ms} ms (statement_timeout)")
            }
            DbError::Query(message) => write!(f, "query failed: {message}"),
        }
    }
}

impl std::error::Error for DbError {}

impl DbError {
    /// Errors in what the person asked for, as opposed to the database failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            DbError::UnknownTenant(_) | DbError::UserNotFound(_) | DbError::Setting(_)
        )
    }

    fn from_sqlx(error: sqlx::Error, statement_timeout_ms: u64) -> DbError {
        if let sqlx::Error::Database(db) = &error {
            if db.code().as_deref() == Some("57014") {
                return DbError::Timeout {
                    ms: statement_timeout_ms,
                };
            }
        }
        // Server messages can quote data: keep them to one visible line.
        DbError::Query(
            crate::text::sanitize(&crate::text::one_line(&error.to_string())).into_owned(),
        )
    }
}

/// `expr` (a price or quantity of any type) as the server's exact text, read
/// into [`crate::money::Value`]. Money's own text is locale-formatted
/// (`$5,000.00`), so it goes through numeric; numeric text is exact, and
/// float text (PostgreSQL 12+, any `extra_float_digits` > 0) is the
/// shortest form that reads back to the same float, as psql shows it. Text
/// is taken as it is and checked client-side, so `'N/A'` is a problem of
/// its line, not a query error. `expr` is evaluated three times: pass a
/// column, not a subquery.
fn exact_text(expr: &str) -> String {
    format!(
        "CASE WHEN pg_typeof({expr}) = 'money'::regtype THEN ({expr})::numeric::text \
         ELSE ({expr})::text END"
    )
}

/// One statement of the `(column, select)` parts of a tenant batch.
pub(super) fn union_all(selects: &[(usize, String)]) -> String {
    selects
        .iter()
        .map(|(_, select)| select.as_str())
        .collect::<Vec<_>>()
        .join("\n UNION ALL ")
}

/// Quoted names of the shared users table and its tenant column, resolved by
/// the server once at connect time (they come from configuration).
#[derive(Debug, Clone)]
pub(crate) struct SharedLayout {
    /// The tenancy model in force (configured or detected).
    model: tenancy::TenancyModel,
    /// Its table and column names, quoted by the server.
    names: tenancy::Names,
    shared_schema: String,
    /// The users as a FROM item: the shared table, or a query over it (a
    /// registry maps its tenant column to schemas) or over every tenant's
    /// users table.
    users_table: String,
    /// The shared users table itself, when there is one (privileges, size).
    users_relation: Option<String>,
    tenant_column: String,
    /// The layout detected at connect time (no [tenancy] configured).
    detection: Option<tenancy::Detection>,
    /// Sort key of the users list: the raw columns where an index on
    /// (name, id) can serve it, text casts otherwise.
    name_key: String,
    id_key: String,
    /// The optional columns of the users table (id, name and the tenant
    /// column are required).
    has_mail: bool,
    has_created: bool,
}

/// The users table as `resolve_layout` finds it: (quoted table, quoted
/// tenant column, which of id/name/mail/creation_timestamp exist, plain
/// name key, plain id key).
type UsersTableRow = (String, Option<String>, Vec<String>, bool, bool);

/// A handle on a tenant database. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    layout: std::sync::Arc<SharedLayout>,
    statement_timeout_ms: u64,
    counters: std::sync::Arc<QueryCounters>,
    pooler: std::sync::Arc<pooler::PoolerState>,
}

/// How many loads of each kind reached the database (benchmarks, tests).
#[derive(Debug, Default)]
pub struct QueryCounters {
    pub orders: AtomicU64,
    pub user_pages: AtomicU64,
}

impl Database {
    /// Connects and checks that the shared users table exists.
    pub async fn connect(
        source: &ConnectionSource,
        settings: &Settings,
    ) -> Result<Database, DbError> {
        let target = source.label();
        let options = source.options().clone();
        let timeout = source
            .connect_timeout()
            .unwrap_or(std::time::Duration::from_millis(
                settings.database.connect_timeout_ms,
            ));
        // One direct connection first: it reports the real cause (refused,
        // auth failed, no such database) where a pool would only time out.
        let connect_error = |cause: String| DbError::Connect {
            target: target.clone(),
            cause,
        };
        let first = tokio::time::timeout(timeout, PgConnection::connect_with(&options))
            .await
            .map_err(|_| connect_error(format!("no answer within {} ms", timeout.as_millis())))?
            .map_err(|e| connect_error(pool::describe_connect_error(&e)))?;
        first.close().await.ok();
        let pooler = std::sync::Arc::new(pooler::PoolerState::new(
            source.pooler() || settings.database.pooler == crate::config::Pooler::Transaction,
        ));
        let discard = pooler.clone();
        let pool = PgPoolOptions::new()
            .max_connections(settings.database.max_connections)
            .acquire_timeout(timeout)
            // Once a pooler is detected, a connection holding named
            // statements would reuse them: replace it.
            .before_acquire(move |conn, _| {
                let keep = !(discard.on() && conn.cached_statements_size() > 0);
                Box::pin(async move { Ok(keep) })
            })
            .connect_lazy_with(options);
        let mut db = Database {
            pool,
            layout: std::sync::Arc::new(SharedLayout {
                model: settings.tenancy.clone(),
                names: tenancy::Names::default(),
                shared_schema: String::new(),
                users_table: String::new(),
                users_relation: None,
                tenant_column: String::new(),
                detection: None,
                name_key: String::new(),
                id_key: String::new(),
                has_mail: false,
                has_created: false,
            }),
            counters: std::sync::Arc::default(),
            statement_timeout_ms: settings.database.statement_timeout_ms,
            pooler,
        };
        retried!(db, db.resolve(settings))?;
        Ok(db)
    }

    /// The model, layout and users source, into `self`.
    async fn resolve(&mut self, settings: &Settings) -> Result<(), DbError> {
        let (model, detection) = self.choose_model(&settings.tenancy).await?;
        let mut layout = self.resolve_layout(&model).await?;
        layout.detection = detection;
        self.layout = std::sync::Arc::new(layout);
        self.check_tenant_column(&model.tenant_column).await?;
        self.derive_users_source().await
    }

    /// The tenant column is printed as every user's tenant: it may not be a
    /// column this role is denied (the support role is denied the password
    /// column). Secret names are refused with the settings, before this.
    async fn check_tenant_column(&self, column: &str) -> Result<(), DbError> {
        let Some(relation) = &self.layout.users_relation else {
            return Ok(());
        };
        let mut tx = self.read_tx().await?;
        let readable: bool =
            sqlx::query_scalar("SELECT has_column_privilege($1::regclass, $2, 'SELECT')")
                .bind(relation)
                .bind(column)
                .persistent(self.persistent())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
        if readable {
            Ok(())
        } else {
            Err(DbError::Setting(format!(
                "tenancy.tenant_column {:?}: this role may not read that column of {} (a secret?)",
                crate::text::sanitize(column),
                crate::text::sanitize(relation)
            )))
        }
    }

    async fn resolve_layout(
        &self,
        tenancy: &tenancy::TenancyModel,
    ) -> Result<SharedLayout, DbError> {
        let mut tx = self.read_tx().await?;
        // Users in every tenant: the first tenant's table stands for them.
        let model = tenancy;
        let mut tenancy = tenancy.clone();
        if tenancy.users == tenancy::UsersAt::PerTenant {
            tenancy.shared_schema = self.first_users_schema(&mut tx, &tenancy).await?;
            tenancy.tenant_column = tenancy.user_id.clone();
        }
        let tenancy = &tenancy;
        let (idents, literals): (Vec<String>, Vec<String>) = sqlx::query_as(
            "SELECT array_agg(quote_ident(x) ORDER BY o), array_agg(quote_literal(x) ORDER BY o)
               FROM unnest($1::text[]) WITH ORDINALITY AS t(x, o)",
        )
        .bind(tenancy::Names::raw(tenancy))
        .persistent(self.persistent())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let names = tenancy::Names::from_quoted(&idents, &literals);
        // Also: can the list be paged on the raw (name, id) columns, so an
        // index on them serves it? Only if both are text and name is never NULL.
        // $4..$7: the id, name, mail and creation columns.
        let row: Option<UsersTableRow> = sqlx::query_as(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(a.attname),
                    ARRAY(SELECT k.attname::text FROM pg_catalog.pg_attribute k
                           WHERE k.attrelid = c.oid AND k.attnum > 0 AND NOT k.attisdropped
                             AND k.attname IN ($4, $5, $6, $7)),
                    coalesce((SELECT k.attnotnull AND k.atttypid IN ('text'::regtype, 'varchar'::regtype)
                                FROM pg_catalog.pg_attribute k
                               WHERE k.attrelid = c.oid AND k.attname = $5 AND NOT k.attisdropped), false),
                    coalesce((SELECT k.atttypid IN ('text'::regtype, 'varchar'::regtype)
                                FROM pg_catalog.pg_attribute k
                               WHERE k.attrelid = c.oid AND k.attname = $4 AND NOT k.attisdropped), false)
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        )
        .bind(&tenancy.shared_schema)
        .bind(&tenancy.users_table)
        .bind(&tenancy.tenant_column)
        .bind(&tenancy.user_id)
        .bind(&tenancy.user_name)
        .bind(&tenancy.user_mail)
        .bind(&tenancy.user_created)
        .persistent(self.persistent())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let table = format!("{}.{}", tenancy.shared_schema, tenancy.users_table);
        let has = |columns: &[String], name: &str| columns.iter().any(|c| c == name);
        match row {
            None => Err(DbError::SharedTable(format!(
                "shared users table {table} not found (see tenancy.shared_schema and tenancy.users_table)"
            ))),
            Some((_, None, _, _, _)) => Err(DbError::SharedTable(format!(
                "column {} not found in {table} (see tenancy.tenant_column)",
                tenancy.tenant_column
            ))),
            Some((_, _, columns, _, _))
                if !has(&columns, &tenancy.user_id) || !has(&columns, &tenancy.user_name) =>
            {
                let missing = if has(&columns, &tenancy.user_id) {
                    &tenancy.user_name
                } else {
                    &tenancy.user_id
                };
                Err(DbError::SharedTable(format!(
                    "column {missing} not found in {table} (tenancy.user_id and tenancy.user_name are required)"
                )))
            }
            Some((users_table, Some(tenant_column), columns, plain_name, plain_id)) => {
                let (name, id) = (&names.user_name, &names.user_id);
                Ok(SharedLayout {
                    model: model.clone(),
                    shared_schema: model.shared_schema.clone(),
                    // Per-tenant users: no one shared table.
                    users_relation: (model.users != tenancy::UsersAt::PerTenant)
                        .then(|| users_table.clone()),
                    detection: None,
                    users_table,
                    tenant_column,
                    name_key: if plain_name {
                        format!("u.{name}")
                    } else {
                        format!("coalesce(u.{name}::text, '')")
                    },
                    id_key: if plain_id {
                        format!("u.{id}")
                    } else {
                        format!("u.{id}::text")
                    },
                    has_mail: has(&columns, &tenancy.user_mail),
                    has_created: has(&columns, &tenancy.user_created),
                    names,
                })
            }
        }
    }

    /// A READ ONLY transaction with a transaction-local statement_timeout,
    /// opened in one round trip.
    async fn read_tx(&self) -> Result<Transaction<'static, Postgres>, DbError> {
        self.read_tx_named(None).await
    }

    /// [`Database::read_tx`], named `name` for the transaction's duration.
    pub(super) async fn read_tx_named(
        &self,
        name: Option<&str>,
    ) -> Result<Transaction<'static, Postgres>, DbError> {
        let mut begin = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
            self.statement_timeout_ms
        );
        if let Some(name) = name {
            // Our own text (hex digits, spaces), so quoting as a literal is enough.
            begin.push_str(&format!("; SET LOCAL application_name = '{name}'"));
        }
        // In a task of its own: a load dropped (superseded) while BEGIN is
        // on its way would leave the connection idle in a transaction, as
        // sqlx queues its ROLLBACK only once BEGIN has answered; behind a
        // transaction pooler that pins a server connection. The task
        // finishes the BEGIN, then drops the transaction: rolled back.
        let pool = self.pool.clone();
        match tokio::spawn(async move { pool.begin_with(begin).await }).await {
            Ok(begun) => begun.map_err(|e| self.error(e)),
            Err(e) => Err(DbError::Query(format!("BEGIN did not finish: {e}"))),
        }
    }

    /// A read-only transaction for one batch of tenants: a batch the
    /// server refuses is retried tenant by tenant, so its error stays a
    /// `sqlx::Error` for the caller to tell apart.
    pub(super) async fn batch_tx(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let begin = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
            self.statement_timeout_ms
        );
        self.pool.begin_with(begin).await
    }

    pub fn counters(&self) -> &QueryCounters {
        &self.counters
    }

    fn error(&self, error: sqlx::Error) -> DbError {
        self.pooler.observe(&error);
        DbError::from_sqlx(error, self.statement_timeout_ms)
    }

    pub fn statement_timeout_ms(&self) -> u64 {
        self.statement_timeout_ms
    }

    /// Closes the pool's connections (before the demo server stops).
    pub async fn close(&self) {
        self.pool.close().await;
        // sqlx 0.8's close can return with a connection still open
        // (launchbadge/sqlx#3217): one dropped just before, whose return to
        // the pool (a ping that flushes its ROLLBACK) had begun, lands in
        // the closed pool's idle queue after close emptied it for the last
        // time, and stays open as long as this handle lives. Closing again
        // closes it; bounded, like waiting for any connection.
        let deadline = tokio::time::Instant::now() + self.pool.options().get_acquire_timeout();
        while self.pool.size() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            self.pool.close().await;
        }
    }
}
