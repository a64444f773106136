//! Database access: the shared users table, the tenant catalog, the priced
//! orders of one tenant, tenant health (drift, orphans, leaks) and the price
//! matrix across tenants. Knows nothing of the UI.
//!
//! Every query runs in a READ ONLY transaction with a transaction-local
//! statement_timeout, names and casts its columns (tenants drift in column
//! types and extra columns), and never reads the users' password column.
//! Reads across tenants also set a lock_timeout (a locked tenant is named,
//! not waited for); a server that stops answering meets a client-side
//! deadline (deadline.rs); pools take only the connections granted (grant.rs).

mod basket;
mod cancel;
mod catalog;
mod deadline;
mod grant;
mod health;
mod item_match;
pub mod libpq;
mod lossy;
mod open;
mod orders;
mod orders_window;
mod own_items;
mod pool;
mod pooler;
mod prices;
mod sql;
pub mod tenancy;
mod user_counts;
pub use user_counts::EXACT_TENANT_TABLES_UP_TO;
mod users;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64;

pub use basket::{rank as rank_basket, BasketTenant, GapReason, LineGap, BASKET_BATCH};
pub use cancel::QueryHandle;
pub use catalog::{listing_order, TenantCatalog, TenantSummary};
pub use health::{
    Column, ColumnShape, CopyRole, Count, Drift, DriftKind, HealthReport, HealthStatus, Leak,
    LeakKind, NodeFault, OrphanOrganization, ReferenceChoice, TableReference, TenantHealth,
    WrongCopy, TENANT_TABLES, WRONG_COPY_BATCH, WRONG_COPY_CAP,
};
pub use item_match::{ItemMatch, ItemRule, RuleChoice, KEY_COLUMNS};
pub use orders::{
    choose_compare_tenant, CompareChoice, KeyedLine, LinesTotals, OrderLine, OrdersReport,
    OrdersTotals, RawOrderLine,
};
pub use orders_window::OrderSink;
pub use pool::{
    connect_options, libpq_configured, target_label, ConnectionSource, LIBPQ_VARIABLES,
};
pub use prices::{PriceMatrix, PriceRow, PriceSort, TenantFailure, PRICE_BATCH, SPREAD_DECIMALS};
pub use tenancy::{
    search_key, SchemaState, SearchBatch, TenancyModel, TenantEntry, UsersAt, SEARCH_BATCH,
    SEARCH_PER_TENANT, SEARCH_WIDE_BATCH,
};
pub use users::{Page, User, UserCount, UserKey, UserQuery, UserSink, WALK_BOUND};

use sqlx::postgres::PgPool;

pub(crate) use grant::ReadTx;

use sql::{exact_text, union_all};

/// How long quitting waits for the connections to close (and superseded
/// queries to be cancelled) before it drops them: well within the one
/// second that `q`, Ctrl-C or SIGTERM take to end tenantscope whatever the
/// server does (docs/connecting.md, Security).
pub const QUIT_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Why a tenant of the list read earlier cannot be read now.
pub const GONE: &str = "not a tenant schema any more (dropped, or it lost the tenant tables)";

/// Appended to a read transaction's BEGIN: no JIT compilation for its
/// statements (the catalogue's, the orders totals').
const NO_JIT: &str = "; SET LOCAL jit = off";

/// How long a tenant read waits for a lock another session holds: a tenth
/// of the statement timeout, so a locked tenant is named quickly and the
/// others are read meanwhile.
pub fn lock_timeout_ms(statement_timeout_ms: u64) -> u64 {
    (statement_timeout_ms / 10).max(1)
}

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
    /// A tenant named by the user of tenantscope is registered, but its
    /// schema is gone (not a usage error: the database is wrong).
    SchemaMissing {
        tenant: String,
        schema: String,
    },
    /// The schema exists but lacks a tenant table (`items` or `orders`).
    TenantTableMissing {
        tenant: String,
        table: String,
    },
    /// The user has no tenant: the users' tenant column
    /// (`tenancy.tenant_column`) is NULL (`null`) or an empty string.
    NoTenant {
        null: bool,
    },
    /// The user's organization id is one the registry maps to no schema:
    /// their tenant as the registry names it, else the id as stored (see
    /// [`User::unmapped_id`]).
    UnmappedTenant(String),
    /// A setting names a column tenantscope must not or cannot read.
    Setting(String),
    /// A tenant named by the user of tenantscope (e.g. `--compare`) does not exist.
    UnknownTenant(String),
    /// No user has the id among those read; `left_out`: tenants whose
    /// users could not be read (see [`Database::users_left_out`]).
    UserNotFound {
        id: String,
        left_out: Vec<String>,
    },
    /// A tenant whose users table lacks a required column (see
    /// [`Database::users_left_out`]): its users cannot be read.
    UsersLeftOut {
        tenant: String,
        table: String,
        missing: Vec<String>,
    },
    /// statement_timeout (or a cancel) stopped the query.
    Timeout {
        ms: u64,
    },
    /// Another session holds a table the read needs locked: given up after
    /// `lock_timeout` (tenant reads, see [`lock_timeout_ms`]).
    Locked {
        lock_timeout_ms: u64,
    },
    /// The server stopped answering after the connection was made (frozen,
    /// blackholed): the client-side deadline (see db/deadline.rs).
    NoAnswer {
        ms: u64,
        statement_timeout_ms: u64,
    },
    Query(String),
    /// The server refused the statement: its message with DETAIL and HINT
    /// (one line), and its SQLSTATE.
    Server {
        message: String,
        code: Option<String>,
    },
    /// Citus: the node (`host:port`) holding a tenant's schema is down or
    /// does not answer; every tenant on it gets this error from the first
    /// one's (one timeout per node, not per tenant).
    Node {
        node: String,
        cause: Box<DbError>,
    },
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Connect { target, cause } => write!(f, "cannot connect to {target}: {cause}"),
            DbError::SharedTable(message) => f.write_str(message),
            DbError::TenantNotFound(tenant) => {
                write!(
                    f,
                    "tenant schema not found: {}",
                    crate::text::quoted(tenant)
                )
            }
            DbError::SchemaMissing { tenant, schema } => write!(
                f,
                "tenant {}: schema missing (the registry names schema {}, which does not exist or lacks the tenant tables; see health)",
                crate::text::quoted(tenant),
                crate::text::quoted(schema)
            ),
            DbError::TenantTableMissing { tenant, table } => write!(
                f,
                "tenant schema {} has no {} table",
                crate::text::quoted(tenant),
                crate::text::sanitize(table)
            ),
            DbError::NoTenant { null: true } => {
                f.write_str("user has no tenant (organization id is NULL)")
            }
            DbError::NoTenant { null: false } => {
                f.write_str("user has no tenant (organization id is an empty string)")
            }
            DbError::UnmappedTenant(tenant) => write!(
                f,
                "user's tenant {} has no schema (the registry maps their organization id to none; see health)",
                crate::text::quoted(tenant)
            ),
            DbError::Setting(message) => f.write_str(message),
            DbError::UnknownTenant(tenant) => {
                write!(f, "unknown tenant: {}", crate::text::quoted(tenant))
            }
            DbError::UserNotFound { id, left_out } => {
                write!(f, "no user with id {}", crate::text::quoted(id))?;
                match left_out.as_slice() {
                    [] => Ok(()),
                    [one] => write!(
                        f,
                        " (tenant {}'s users were not read: see health)",
                        crate::text::sanitize(one)
                    ),
                    [first, rest @ ..] => write!(
                        f,
                        " (the users of {} tenants were not read, {}, …: see health)",
                        rest.len() + 1,
                        crate::text::sanitize(first)
                    ),
                }
            }
            DbError::UsersLeftOut {
                tenant,
                table,
                missing,
            } => write!(
                f,
                "tenant {}'s users cannot be read: its {} lacks {} (see health)",
                crate::text::sanitize(tenant),
                crate::text::sanitize(table),
                crate::text::sanitize(&missing.join(", "))
            ),
            DbError::Timeout { ms } => {
                write!(f, "query timed out after {ms} ms (statement_timeout)")
            }
            DbError::Locked { lock_timeout_ms } => write!(
                f,
                "locked: another session holds its table (gave up after lock_timeout \
                 {lock_timeout_ms} ms)"
            ),
            DbError::NoAnswer {
                ms,
                statement_timeout_ms,
            } => write!(
                f,
                "no answer from the server within {ms} ms (database.statement_timeout_ms \
                 {statement_timeout_ms} plus a margin): is it stopped or unreachable?"
            ),
            DbError::Query(message) | DbError::Server { message, .. } => {
                write!(f, "query failed: {message}")
            }
            DbError::Node { node, cause } => write!(f, "on node {node}: {cause}"),
        }
    }
}

impl std::error::Error for DbError {}

impl DbError {
    /// Errors in what the person asked for, as opposed to the database failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            DbError::UnknownTenant(_) | DbError::UserNotFound { .. } | DbError::Setting(_)
        )
    }

    /// The server said a column the statement names is not there
    /// (SQLSTATE 42703).
    pub fn is_missing_column(&self) -> bool {
        matches!(self, DbError::Server { code: Some(code), .. } if code == "42703")
    }

    /// Whether running the same load again may succeed: a lost or
    /// refused connection, a timeout, a server shutting down or short of
    /// resources, a lock or serialization conflict. Not an error in the
    /// statement itself (a query shape the server refuses, a missing
    /// table, a denied read), which fails the same way every time.
    pub fn retryable(&self) -> bool {
        match self {
            DbError::Connect { .. }
            | DbError::Timeout { .. }
            | DbError::Locked { .. }
            | DbError::NoAnswer { .. } => true,
            DbError::Server { code, .. } => code.as_deref().is_some_and(|code| {
                ["08", "40", "53", "57P", "58"]
                    .iter()
                    .any(|class| code.starts_with(class))
                    || code == "55P03"
            }),
            // Our own messages (pool, I/O, protocol): worth another try.
            DbError::Query(_) => true,
            DbError::Node { cause, .. } => cause.retryable(),
            _ => false,
        }
    }

    fn from_sqlx(error: sqlx::Error, statement_timeout_ms: u64) -> DbError {
        if let sqlx::Error::Database(db) = &error {
            if db.code().as_deref() == Some("57014") {
                return DbError::Timeout {
                    ms: statement_timeout_ms,
                };
            }
            if db.code().as_deref() == Some("55P03") {
                return DbError::Locked {
                    lock_timeout_ms: lock_timeout_ms(statement_timeout_ms),
                };
            }
            // The server's DETAIL and HINT say why and what to do (Citus:
            // "items and orders are not colocated"): kept, on one line.
            let mut message = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                for (label, part) in [("DETAIL", pg.detail()), ("HINT", pg.hint())] {
                    if let Some(part) = part.filter(|p| !p.trim().is_empty()) {
                        message.push_str(&format!(" ({label}: {part})"));
                    }
                }
            }
            return DbError::Server {
                message: crate::text::sanitize(&crate::text::one_line(&message)).into_owned(),
                code: db.code().map(|c| c.into_owned()),
            };
        }
        if let sqlx::Error::Io(io) = &error {
            // The server stopped, restarted or is out of reach: say so in
            // words, the system's reason after them.
            use std::io::ErrorKind::*;
            let what = match io.kind() {
                NotFound | ConnectionRefused | TimedOut | HostUnreachable | NetworkUnreachable => {
                    Some("cannot reach the server (is it still running?)")
                }
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    Some("lost the connection to the server (did it stop or restart?)")
                }
                _ => None,
            };
            if let Some(what) = what {
                let why =
                    crate::text::sanitize(&crate::text::one_line(&io.to_string())).into_owned();
                return DbError::Query(format!("{what}: {why}"));
            }
        }
        // Server messages can quote data: keep them to one visible line.
        DbError::Query(
            crate::text::sanitize(&crate::text::one_line(&error.to_string())).into_owned(),
        )
    }
}

/// The tables every query reads, resolved once at connect time from the
/// tenancy model: its names quoted by the server, the users as a FROM item
/// (the shared table, or a query over a registry, a link table or every
/// tenant's users table), the tenant column and filter, the users list's
/// sort keys and which optional columns exist.
#[derive(Debug, Clone)]
pub(crate) struct SharedTables {
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
    /// Column of the users source holding the organization id as stored,
    /// where a registry maps it to the schema in `tenant_column` (shared
    /// users with a registry); see [`SharedTables::tenant_of`].
    org_id_column: Option<String>,
    /// Column of the users source naming the tenant as the registry does
    /// (derived sources only).
    tenant_name_column: Option<String>,
    /// SQL over the users row `u` true when the registry's key of its
    /// tenant matches the filter pattern `$1` (registry layouts only): a
    /// registry names tenants, so the filter matches its label and key,
    /// never the (often generated) schema name.
    tenant_key_match: Option<String>,
    /// Users in every tenant schema: each schema's SELECT (by its quoted
    /// literal), so one tenant's users are read from its schema alone.
    /// Shared: a one-tenant copy of the tables (`scoped_to`) must not copy
    /// thousands of them.
    tenant_branches: std::sync::Arc<Vec<tenancy::TenantBranch>>,
    /// A copy scoped to one tenant (`scoped_to`) whose users table lacks a
    /// required column: its schema and those columns (its users cannot be
    /// read; see [`Database::users_readable`]).
    scope_left_out: Option<(String, Vec<String>)>,
    /// The layout detected at connect time (no [tenancy] configured).
    detection: Option<tenancy::Detection>,
    /// Sort key of the users list: the raw columns where an index on
    /// (name, id) can serve it, text casts otherwise; in the list's
    /// collations (`users::in_list_order`, `collations`).
    name_key: String,
    id_key: String,
    /// The collations `name_key` and `id_key` are in, as the keyset's
    /// parameters are compared with them: the database's default where
    /// users live in each tenant schema, else the users relation's name
    /// and id columns' own (see `users::ListCollations`).
    collations: users::ListCollations,
    /// The optional columns of the users table (id, name and the tenant
    /// column are required).
    has_mail: bool,
    has_created: bool,
    /// Citus is installed (`pg_dist_partition` exists): no statement may
    /// join two tenant schemas, or a tenant schema with a local table.
    citus: bool,
}

impl SharedTables {
    /// SQL over the users row `alias`: the user's tenant as text, as users
    /// are counted and listed by tenant. Where a registry maps the user's
    /// organization id to no schema (no row has that id, or the row names
    /// no schema), the id as stored: it is an organization id naming no
    /// tenant schema, not a missing one. (Such an id spelled like a
    /// registered schema is counted with that schema.)
    fn tenant_of(&self, alias: &str) -> String {
        let tenant = format!("{alias}.{}::text", self.tenant_column);
        match &self.org_id_column {
            Some(org) => format!("coalesce({tenant}, {alias}.{org})"),
            None => tenant,
        }
    }

    /// The users row `u`'s columns the list reads (each once), for a
    /// subquery standing in for the users relation: never `u.*`, which
    /// names the password too, a column a support role is denied.
    fn row_columns(&self) -> String {
        let names = &self.names;
        let mut columns = vec![&names.user_id, &names.user_name, &self.tenant_column];
        columns.extend(self.has_mail.then_some(&names.user_mail));
        columns.extend(self.has_created.then_some(&names.user_created));
        columns.extend(&self.org_id_column);
        columns.extend(&self.tenant_name_column);
        let mut seen = std::collections::HashSet::new();
        columns.retain(|column| seen.insert(*column));
        let columns: Vec<String> = columns.iter().map(|c| format!("u.{c}")).collect();
        columns.join(", ")
    }
}

/// A handle on a tenant database. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    tables: std::sync::Arc<SharedTables>,
    statement_timeout_ms: u64,
    counters: std::sync::Arc<QueryCounters>,
    pooler: std::sync::Arc<pooler::PoolState>,
    /// How items match across tenants, per pair decided so far.
    item_rule_cache: std::sync::Arc<item_match::RuleCache>,
    /// What the catalog says of each tenant's items table, as read so far.
    items_tables: std::sync::Arc<own_items::ItemsTables>,
    /// The server's last sign of life (see db/deadline.rs).
    progress: std::sync::Arc<deadline::Progress>,
    /// How many connections the server or pooler grants (db/grant.rs).
    grant: std::sync::Arc<grant::Grant>,
}

/// One run of a stream, for [`Database::retried_stream`].
type StreamRun<'r> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), DbError>> + Send + 'r>>;

/// How many loads of each kind reached the database (benchmarks, tests).
#[derive(Debug, Default)]
pub struct QueryCounters {
    pub orders: AtomicU64,
    pub user_pages: AtomicU64,
    /// Statements over a batch of tenants' users tables read for the
    /// users list where users live in each tenant schema.
    pub user_batch_reads: AtomicU64,
}

impl Database {
    /// Runs `load` (a read: a future of a `Result`) and, when it failed
    /// while an error worth a retry was seen, runs it once more: after a
    /// prepared-statement conflict (a transaction pooler, detected: see
    /// pooler.rs), now in pooler mode; after a lost connection, on a fresh
    /// one. Loads only read, so running one twice is safe. A public query
    /// is `self.retried(|| async move { … }).await` around its body.
    pub(crate) async fn retried<T, F>(&self, load: impl Fn() -> F) -> Result<T, DbError>
    where
        F: std::future::Future<Output = Result<T, DbError>>,
    {
        let seen = self.retryable_errors();
        match load().await {
            Err(error) if self.retryable_errors() != seen => {
                tracing::info!(%error, "retrying once");
                load().await
            }
            result => result,
        }
    }

    /// [`Database::retried`] for a load that hands what it reads to a sink
    /// as it goes (the CLI's streams): `stream` runs on `args` (the sink
    /// among them) and sets its `told` flag once the sink has been told
    /// anything; a failure after that is not retried (the sink would be
    /// told it twice). `stream` boxes its future: an async closure's is
    /// not proved `Send` for the task that spawns a stream (a rustc limit).
    async fn retried_stream<A>(
        &self,
        mut args: A,
        stream: impl for<'r> Fn(&'r Self, &'r mut A, &'r mut bool) -> StreamRun<'r>,
    ) -> Result<(), DbError> {
        let seen = self.retryable_errors();
        let mut told = false;
        match stream(self, &mut args, &mut told).await {
            Err(error) if !told && self.retryable_errors() != seen => {
                tracing::info!(%error, "retrying once");
                stream(self, &mut args, &mut told).await
            }
            result => result,
        }
    }

    /// Places for statements over batches of tenants side by side, taken
    /// now from the pool's free connections, never waited for (see
    /// [`grant::Reserved`]): one free connection is left for another load,
    /// and a load that does not yet `hold` a connection keeps one more for
    /// the statement it may wait for. Side by side, such a load runs one
    /// more statement than it reserved (at most [`PARALLEL_BATCHES`]); a
    /// load that holds one runs as many as it reserved, or in turn on its
    /// own connection when that is fewer than two. Each statement locks at
    /// most one batch of tenants' tables (a few hundred locks), so together
    /// they stay far within the server's lock table at default settings
    /// (`max_locks_per_transaction` 64 × `max_connections` 100).
    pub(super) fn reserve_batches(&self, hold: bool) -> grant::Reserved {
        let (leave, most) = if hold {
            (1, PARALLEL_BATCHES)
        } else {
            (2, PARALLEL_BATCHES - 1)
        };
        self.grant
            .reserve(self.grant.free().saturating_sub(leave).min(most))
    }

    /// How many statements over batches of tenants a load that starts now
    /// (holding no connection yet) runs side by side: see
    /// [`Database::reserve_batches`]; 1 when the pool has fewer than three
    /// connections free.
    pub fn batch_width(&self) -> usize {
        self.grant
            .free()
            .saturating_sub(2)
            .min(PARALLEL_BATCHES - 1)
            + 1
    }

    /// `jobs` in order (see [`in_order`]), side by side on connections
    /// reserved now, plus one that may wait for the pool like any load
    /// reading in turn: a busy pool slows them, never fails them.
    pub(super) async fn side_by_side<F: std::future::Future>(
        &self,
        jobs: Vec<F>,
    ) -> Vec<F::Output> {
        let reserved = self.reserve_batches(false);
        let width = reserved.len() + 1;
        reserved.scope(in_order(width, jobs)).await
    }

    /// A READ ONLY transaction with a transaction-local statement_timeout,
    /// opened in one round trip.
    async fn read_tx(&self) -> Result<ReadTx, DbError> {
        self.begin_read(None, "").await
    }

    /// [`Database::read_tx`] for the catalogue statements of the connect
    /// path and detection: JIT off. At 10,000 schemas their cost estimates
    /// pass `jit_above_cost` (the misestimated joins over `pg_class`), and
    /// compiling the plan took 150–200 ms of a 300 ms detection on a
    /// server built with LLVM (as Debian's and most packages are), where
    /// the statement itself runs in a third of that.
    pub(super) async fn catalog_tx(&self) -> Result<ReadTx, DbError> {
        self.begin_read(None, NO_JIT).await
    }

    /// A read transaction named `name` (when given), with `extra` (more
    /// `; SET LOCAL …`, our own text) in the same round trip.
    async fn begin_read(&self, name: Option<&str>, extra: &str) -> Result<ReadTx, DbError> {
        self.begin_detached(name, extra)
            .await
            .map_err(|e| self.error(e))
    }

    /// `BEGIN READ ONLY` with the statement timeout, `extra`, the name and
    /// the Citus settings, in a task of its own: a load dropped
    /// (superseded) while BEGIN is on its way would leave the connection
    /// idle in a transaction, as sqlx queues its ROLLBACK only once BEGIN
    /// has answered; behind a transaction pooler that pins a server
    /// connection. The task finishes the BEGIN, then drops the
    /// transaction: rolled back.
    async fn begin_detached(&self, name: Option<&str>, extra: &str) -> Result<ReadTx, sqlx::Error> {
        // extra_float_digits: a float's text is exact (the shortest that
        // reads back to it) only above 0; the server's own setting (its
        // config, ALTER DATABASE/ROLE, PGOPTIONS) may be 0 and round it.
        let mut begin = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}; \
             SET LOCAL extra_float_digits = 1{extra}",
            self.statement_timeout_ms
        );
        if let Some(name) = name.map(str::to_string).or_else(cancel::ambient_name) {
            // Our own text (hex digits, spaces), so quoting as a literal is enough.
            begin.push_str(&format!("; SET LOCAL application_name = '{name}'"));
        }
        begin.push_str(&self.citus_settings());
        let (pool, grant) = (self.pool.clone(), self.grant.clone());
        let reserved = grant::take_reserved();
        match tokio::spawn(async move { grant::begin(&pool, &grant, begin, reserved).await }).await
        {
            Ok(begun) => begun,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(sqlx::Error::Protocol(format!("BEGIN did not finish: {e}"))),
            },
        }
    }

    /// Ends a read transaction (every one here is READ ONLY) without
    /// waiting for the server: dropped, it queues a ROLLBACK, which for a
    /// read-only transaction is as good as COMMIT, and the pool sends it as
    /// the connection goes back, after the load has its rows.
    fn end_read(tx: ReadTx) {
        drop(tx);
    }

    /// Ends a stream's read transaction with its connection back in the
    /// pool before the command ends: `Database::close` finds it idle
    /// instead of polling until its return task has run. Every row is
    /// written by now: a server that stops answering here costs the quit
    /// grace (the connection is then closed), not the deadline.
    async fn hand_back(tx: ReadTx) {
        let _ = tokio::time::timeout(QUIT_GRACE, tx.end()).await;
    }

    /// A read-only transaction for one batch of tenants: a batch the
    /// server refuses is retried tenant by tenant, so its error stays a
    /// `sqlx::Error` for the caller to tell apart.
    ///
    /// A tenant table another session holds locked (a migration) is
    /// given up after [`lock_timeout_ms`]: the tenant is named as locked
    /// instead of holding the rest for a whole statement timeout. Named by
    /// `handle` (see [`QueryHandle`]) when given, so that a superseded
    /// batch is stopped on the server.
    pub(super) async fn batch_tx(
        &self,
        handle: Option<&QueryHandle>,
    ) -> Result<ReadTx, sqlx::Error> {
        self.batch_tx_with(handle, "").await
    }

    /// [`Database::batch_tx`] with `extra` (`; …`, our own text) in its
    /// BEGIN: a test holds the BEGIN on the server with it.
    async fn batch_tx_with(
        &self,
        handle: Option<&QueryHandle>,
        extra: &str,
    ) -> Result<ReadTx, sqlx::Error> {
        let settings = format!(
            "; SET LOCAL lock_timeout = {}{extra}",
            lock_timeout_ms(self.statement_timeout_ms)
        );
        let name = handle.map(QueryHandle::next_name);
        self.begin_detached(name.as_deref(), &settings).await
    }

    /// Citus: a worker that does not answer a new connection (frozen) is
    /// given up after half the statement timeout (its default: 30 s,
    /// longer than ours), so the statement fails naming that node, and
    /// the remote commands of `health` (one per node) leave that node's
    /// estimates unknown instead of failing the whole statement.
    fn citus_settings(&self) -> String {
        if self.tables.citus {
            format!(
                "; SET LOCAL citus.node_connection_timeout = {}",
                (self.statement_timeout_ms / 2).clamp(10, 3_600_000)
            )
        } else {
            String::new()
        }
    }

    /// `error` of a statement on one tenant's Citus `node`: a connection
    /// error or a timeout (the node down or frozen) is [`DbError::Node`],
    /// naming it; anything else, or no node, as it is.
    pub(super) fn on_node(&self, node: Option<&str>, error: DbError) -> DbError {
        match node {
            Some(node) if error.retryable() && !matches!(error, DbError::Locked { .. }) => {
                DbError::Node {
                    node: node.to_string(),
                    cause: Box::new(error),
                }
            }
            _ => error,
        }
    }

    /// [`Database::on_node`] for a statement on `tenants`, their nodes
    /// looked up only now that it failed (no round trip on success): named
    /// when they all live on one node.
    pub(super) async fn on_tenant_nodes(&self, tenants: &[&str], error: DbError) -> DbError {
        if !self.tables.citus || !error.retryable() || matches!(error, DbError::Locked { .. }) {
            return error;
        }
        let Ok(mut tx) = self.read_tx().await else {
            return error;
        };
        let found = self.quoted_tenants_on_nodes(&mut tx, tenants).await;
        Database::end_read(tx);
        let mut nodes: Vec<String> = match found {
            Ok(rows) => rows.into_iter().filter_map(|(_, _, node)| node).collect(),
            Err(_) => return error,
        };
        nodes.sort();
        nodes.dedup();
        match nodes.as_slice() {
            [node] => self.on_node(Some(node), error),
            _ => error,
        }
    }

    /// The rows of per-tenant `selects` (each tagged with its index), `size`
    /// to a statement: one `UNION ALL` each, in its own read transaction,
    /// with `arrays` bound as `$1`, `$2`, …. A batch the server refuses is
    /// run again tenant by tenant, so one tenant that fails (a missing
    /// table, a denied read) fails alone: its index and error come back
    /// beside the rows. Any other error (the connection, the pool) ends it.
    /// With `handle`, a superseded load cancels the batch it is running on
    /// the server.
    ///
    /// `nodes`: the Citus node of each select (by index; empty on plain
    /// PostgreSQL): one node's tenants to a batch, and a batch that fails
    /// because its node is down or does not answer (a connection error, a
    /// timeout) fails every tenant of that node with [`DbError::Node`],
    /// without asking again: a stopped or frozen worker costs one error or
    /// one timeout, and the other nodes' tenants still answer.
    pub(super) async fn tenant_batches<R: TenantRow>(
        &self,
        selects: &[(usize, String)],
        size: usize,
        arrays: &[&[Option<&str>]],
        handle: Option<&QueryHandle>,
        nodes: &HashMap<usize, String>,
    ) -> Result<(Vec<R>, Vec<(usize, DbError)>), DbError> {
        let reads = BatchReads {
            arrays: std::sync::Arc::new(
                arrays
                    .iter()
                    .map(|array| array.iter().map(|v| v.map(str::to_owned)).collect())
                    .collect(),
            ),
            // Batches side by side answer to one cancel.
            handle: handle.map(QueryHandle::shared),
        };
        // Grouped by node, in the order the nodes first appear.
        type Group<'a> = (Option<&'a String>, Vec<(usize, String)>);
        let mut groups: Vec<Group> = Vec::new();
        for select in selects {
            let node = nodes.get(&select.0);
            match groups.iter_mut().find(|(n, _)| *n == node) {
                Some((_, group)) => group.push(select.clone()),
                None => groups.push((node, vec![select.clone()])),
            }
        }
        let mut out = Gathered {
            rows: Vec::new(),
            failed: Vec::new(),
        };
        for (node, group) in &groups {
            match node {
                // One server: the batches side by side, in their order.
                None => {
                    self.side_by_side_batches(group, size, &reads, &mut out)
                        .await?
                }
                Some(node) => {
                    self.node_batches(node, group, size, &reads, &mut out)
                        .await?
                }
            }
        }
        // In the selects' order, whichever batch failed first.
        out.failed.sort_by_key(|(index, _)| *index);
        Ok((out.rows, out.failed))
    }

    /// [`Database::tenant_batches`] on one Citus node: one batch after
    /// another, and once the node is down (a retryable error that is not a
    /// lock), its remaining tenants fail with [`DbError::Node`] unasked.
    async fn node_batches<R: TenantRow>(
        &self,
        node: &str,
        group: &[(usize, String)],
        size: usize,
        reads: &BatchReads,
        out: &mut Gathered<R>,
    ) -> Result<(), DbError> {
        let on_node = |cause: &DbError| DbError::Node {
            node: node.to_string(),
            cause: Box::new(cause.clone()),
        };
        let mut down: Option<DbError> = None;
        for chunk in group.chunks(size.max(1)) {
            if let Some(cause) = &down {
                out.failed
                    .extend(chunk.iter().map(|(index, _)| (*index, on_node(cause))));
                continue;
            }
            match self.union_rows(chunk, reads).await {
                Ok(batch) => out.rows.extend(batch),
                Err(e @ sqlx::Error::Database(_)) => {
                    let error = self.error(e);
                    if error.retryable() && !matches!(error, DbError::Locked { .. }) {
                        out.failed
                            .extend(chunk.iter().map(|(index, _)| (*index, on_node(&error))));
                        down = Some(error);
                    } else if chunk.len() > 1 {
                        self.tenant_by_tenant(chunk, reads, out).await?
                    } else {
                        out.failed.push((chunk[0].0, error))
                    }
                }
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(())
    }

    /// [`Database::tenant_batches`] on one server: the batches side by
    /// side; the tenants of every batch the server refused again one by
    /// one, all at once, so locked tenants spread over several batches
    /// cost one more lock timeout, not one each.
    async fn side_by_side_batches<R: TenantRow>(
        &self,
        group: &[(usize, String)],
        size: usize,
        reads: &BatchReads,
        out: &mut Gathered<R>,
    ) -> Result<(), DbError> {
        let chunks: Vec<_> = group.chunks(size.max(1)).collect();
        let answers = self
            .side_by_side(
                chunks
                    .iter()
                    .map(|chunk| self.union_rows::<R>(chunk, reads))
                    .collect(),
            )
            .await;
        let mut refused: Vec<(usize, String)> = Vec::new();
        for (chunk, answer) in chunks.into_iter().zip(answers) {
            match answer {
                Ok(batch) => out.rows.extend(batch),
                Err(sqlx::Error::Database(_)) if chunk.len() > 1 => {
                    refused.extend_from_slice(chunk)
                }
                Err(e @ sqlx::Error::Database(_)) => out.failed.push((chunk[0].0, self.error(e))),
                Err(e) => return Err(self.error(e)),
            }
        }
        if !refused.is_empty() {
            self.tenant_by_tenant(&refused, reads, out).await?;
        }
        Ok(())
    }

    /// A batch the server refused, again tenant by tenant, all at once (as
    /// many at a time as the pool grants): N locked tenants cost one
    /// lock_timeout, not N.
    async fn tenant_by_tenant<R: TenantRow>(
        &self,
        chunk: &[(usize, String)],
        reads: &BatchReads,
        out: &mut Gathered<R>,
    ) -> Result<(), DbError> {
        let mut singles = tokio::task::JoinSet::new();
        for (at, select) in chunk.iter().enumerate() {
            let (db, select, reads) = (self.clone(), select.clone(), reads.clone());
            singles.spawn(cancel::carried(async move {
                let result = db.union_rows::<R>(std::slice::from_ref(&select), &reads);
                (at, select.0, result.await)
            }));
        }
        let mut results = Vec::with_capacity(chunk.len());
        while let Some(joined) = singles.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => return Err(DbError::Query(format!("a tenant read ended: {e}"))),
            }
        }
        // In the tenants' order, whichever answered first.
        results.sort_by_key(|(at, _, _)| *at);
        for (_, index, result) in results {
            match result {
                Ok(batch) => out.rows.extend(batch),
                Err(e @ sqlx::Error::Database(_)) => out.failed.push((index, self.error(e))),
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(())
    }

    /// One batch of [`Database::tenant_batches`].
    async fn union_rows<R: TenantRow>(
        &self,
        selects: &[(usize, String)],
        reads: &BatchReads,
    ) -> Result<Vec<R>, sqlx::Error> {
        let mut tx = self.batch_tx(reads.handle.as_ref()).await?;
        let sql = union_all(selects);
        // The SQL text differs per tenant set: keep it out of the statement cache.
        let mut query = sqlx::query_as(&sql).persistent(false);
        for array in reads.arrays.iter() {
            query = query.bind(array.as_slice());
        }
        let rows = query.fetch_all(&mut *tx).await?;
        Database::end_read(tx);
        Ok(rows)
    }

    pub fn counters(&self) -> &QueryCounters {
        &self.counters
    }

    fn error(&self, error: sqlx::Error) -> DbError {
        self.pooler.observe(&error);
        if let sqlx::Error::PoolTimedOut = error {
            let ms = self.pool.options().get_acquire_timeout().as_millis();
            return DbError::Query(grant::no_connection(ms, &self.grant));
        }
        DbError::from_sqlx(error, self.statement_timeout_ms)
    }

    fn watch(&self) -> deadline::Watch {
        deadline::Watch {
            pool: self.pool.clone(),
            progress: self.progress.clone(),
            statement_timeout_ms: self.statement_timeout_ms,
        }
    }

    /// Runs `work` (a command) under the client-side deadline: once the
    /// server has not answered for `database.statement_timeout_ms` plus a
    /// margin while a query waits, it fails with [`DbError::NoAnswer`].
    pub async fn within_deadline<T, E: From<DbError>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.watch().bound(work).await
    }

    pub fn statement_timeout_ms(&self) -> u64 {
        self.statement_timeout_ms
    }

    /// The same pool with another statement timeout (`ms` as validated
    /// settings give it): tests give a short one to the statement under
    /// test only, not to connecting and start-up.
    pub fn with_statement_timeout(&self, ms: u64) -> Database {
        Database {
            statement_timeout_ms: ms,
            ..self.clone()
        }
    }

    /// On the way out (quit, a signal, a command's end): closes what
    /// closes at once and lets go of the rest. A connection still busy on
    /// a server that does not answer (frozen, blackholed) is not waited
    /// for beyond [`QUIT_GRACE`]: it is dropped with the process, and its
    /// query, cancelled in the background meanwhile, ends on the server
    /// with its session.
    pub async fn let_go(&self) {
        if tokio::time::timeout(QUIT_GRACE, self.close())
            .await
            .is_err()
        {
            tracing::info!("connections still busy at exit: dropped without waiting");
        }
    }

    /// Closes the pool's connections (before the demo server stops).
    pub async fn close(&self) {
        // A load drops its read transaction: its ROLLBACK waits, queued,
        // for the connection's next use. A connection on its way back to
        // the pool (a spawned task) flushes it with a ping, unless the pool
        // is closed by then: then it is sent with the Terminate, and the
        // server answers it to a client already gone ("could not send data
        // to client: Broken pipe", "connection to client lost"). So every
        // connection is back, quiet, before the pool closes (bounded, as
        // below; close waits for lent connections anyway).
        let deadline = tokio::time::Instant::now() + self.pool.options().get_acquire_timeout();
        while self.pool.size() as usize > self.pool.num_idle()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
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

/// The most statements over batches of tenants run at once (see
/// [`Database::reserve_batches`]).
pub const PARALLEL_BATCHES: usize = 4;

/// Awaits `jobs`, at most `width` at a time, and gives their results in
/// the jobs' order whichever finished first. Every job runs (a failed one
/// does not stop the others: callers decide per batch); dropped, it drops
/// the jobs still running (see [`Database::side_by_side`] for jobs that
/// take connections).
///
/// The jobs come as a `Vec`, not an iterator of closures: a closure
/// borrowing in the future's state trips rustc's check that the dashboard's
/// tasks are `Send` ("not general enough").
pub(crate) async fn in_order<F: std::future::Future>(width: usize, jobs: Vec<F>) -> Vec<F::Output> {
    use futures_util::StreamExt;
    futures_util::stream::iter(jobs)
        .buffered(width.max(1))
        .collect()
        .await
}

/// A row of a per-tenant batch ([`Database::tenant_batches`]).
pub(super) trait TenantRow:
    for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'static
{
}

impl<R> TenantRow for R where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + 'static
{
}

/// What every batch of one [`Database::tenant_batches`] call binds (the
/// arrays) and answers to (the cancel handle), shared by its tasks.
#[derive(Clone)]
struct BatchReads {
    arrays: std::sync::Arc<Vec<Vec<Option<String>>>>,
    handle: Option<QueryHandle>,
}

/// The rows and the per-tenant failures gathered so far.
struct Gathered<R> {
    rows: Vec<R>,
    failed: Vec<(usize, DbError)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs run side by side (the first finishes only once the second has
    /// run, which in turn would never happen one at a time) and their
    /// results come in the jobs' order, not in the order they finished.
    #[tokio::test]
    async fn jobs_in_order_run_side_by_side_and_answer_in_order() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut rx = Some(rx);
        let mut tx = Some(tx);
        let jobs = (0..3).map(|i| {
            let (rx, tx) = (
                if i == 0 { rx.take() } else { None },
                if i == 1 { tx.take() } else { None },
            );
            async move {
                if let Some(rx) = rx {
                    rx.await.expect("the second job ran");
                }
                if let Some(tx) = tx {
                    tx.send(()).unwrap();
                }
                i
            }
        });
        assert_eq!(in_order(2, jobs.collect()).await, [0, 1, 2]);
        let none: Vec<std::future::Ready<u8>> = Vec::new();
        assert!(in_order(3, none).await.is_empty());
    }

    /// Polls `sql` (a boolean) until it is true, failing after 500 tries
    /// (5 s of pauses between them).
    async fn until(test_db: &crate::embedded::testing::TestDatabase, what: &str, sql: &str) {
        for _ in 0..500 {
            if test_db.query_text(&format!("SELECT ({sql})::text")).await == "true" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("gave up waiting for {what}");
    }

    /// No connection of the test's database is in a transaction, open or
    /// aborted, or busy.
    const ALL_IDLE: &str = "SELECT count(*) = 0 FROM pg_stat_activity
                             WHERE datname = current_database() AND pid <> pg_backend_pid()
                               AND state <> 'idle'";

    /// A batch's load dropped while its BEGIN runs on the server leaves no
    /// connection idle in a transaction: the BEGIN finishes in a task of
    /// its own and is rolled back. (Dropped with the load, its reply was
    /// drained by the pool's ping, and the connection went back to the
    /// pool inside the open transaction.) An advisory lock the test holds
    /// keeps the BEGIN's round trip waiting on the server.
    #[tokio::test]
    async fn a_batch_dropped_while_its_begin_runs_leaves_no_transaction_open() {
        use sqlx::Connection;
        let test_db = crate::embedded::testing::TestDatabase::demo().await;
        // A statement timeout the wait below never reaches on a busy machine.
        let db = test_db.connect().await.with_statement_timeout(600_000);
        let mut holder = test_db.session("SELECT pg_advisory_lock(7125)").await;
        let begin = db.batch_tx_with(None, "; SELECT pg_advisory_xact_lock_shared(7125)");
        let waiting = "SELECT count(*) = 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'
                          AND query LIKE 'BEGIN READ ONLY%'";
        tokio::select! {
            begun = begin => panic!("the BEGIN answered while the lock was held: {:?}", begun.err()),
            _ = until(&test_db, "the BEGIN waiting on the lock", waiting) => {}
        }
        // The load is dropped; its BEGIN answers now.
        sqlx::raw_sql("SELECT pg_advisory_unlock(7125)")
            .execute(&mut holder)
            .await
            .unwrap();
        holder.close().await.unwrap();
        until(&test_db, "the dropped load's connection idle", ALL_IDLE).await;
        db.close().await;
    }

    /// A BEGIN that fails after its transaction opened (a cancel or a
    /// timeout landing on a `SET LOCAL`) leaves no connection in the pool
    /// stuck in the aborted transaction, where every later BEGIN would
    /// fail too: sqlx rolls back only a transaction it saw begin, so the
    /// connection is closed.
    #[tokio::test]
    async fn a_begin_failed_midway_leaves_no_aborted_transaction_in_the_pool() {
        let test_db = crate::embedded::testing::TestDatabase::demo().await;
        let db = test_db.connect().await;
        let failed = db.batch_tx_with(None, "; SELECT 1 / 0").await.err();
        assert!(
            failed.is_some_and(|e| e.to_string().contains("division by zero")),
            "the BEGIN failed on its statement"
        );
        until(&test_db, "the failed BEGIN's connection gone", ALL_IDLE).await;
        db.close().await;
    }
}
