//! Opening a database: a pool for the dashboard, or one connection for a
//! one-shot command; then the tenancy model and the users table, resolved
//! in one read transaction.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection};

use super::{pool, pooler, retried, tenancy, ConnectionSource, Database, DbError, SharedLayout};
use crate::config::Settings;

/// How long the pool may take for its first connection before one direct
/// attempt asks why (see [`Database::open`]).
const PROBE_AFTER: Duration = Duration::from_millis(250);

/// The users table as `resolve_layout` finds it: (quoted table, quoted
/// tenant column, whether this role may read the tenant column, which of
/// id/name/mail/creation_timestamp exist, plain name key, plain id key,
/// the model's names quoted as identifiers, and as literals, and whether
/// Citus is installed).
type UsersTableRow = (
    String,
    Option<String>,
    Option<bool>,
    Vec<String>,
    bool,
    bool,
    Vec<String>,
    Vec<String>,
    bool,
);

impl Database {
    /// Connects with a pool of `database.max_connections` (the dashboard
    /// loads in parallel) and checks that the users table exists.
    pub async fn connect(
        source: &ConnectionSource,
        settings: &Settings,
    ) -> Result<Database, DbError> {
        Self::open(source, settings, settings.database.max_connections).await
    }

    /// For a one-shot command: a single connection, used by every statement
    /// in turn.
    pub async fn connect_once(
        source: &ConnectionSource,
        settings: &Settings,
    ) -> Result<Database, DbError> {
        Self::open(source, settings, 1).await
    }

    async fn open(
        source: &ConnectionSource,
        settings: &Settings,
        max_connections: u32,
    ) -> Result<Database, DbError> {
        let target = source.label();
        let options = without_tls_on_a_socket(source.options().clone());
        let timeout = source
            .connect_timeout()
            .unwrap_or(Duration::from_millis(settings.database.connect_timeout_ms));
        let connect_error = |cause: String| DbError::Connect {
            target: target.clone(),
            cause,
        };
        let no_answer = || connect_error(format!("no answer within {} ms", timeout.as_millis()));
        let pooler = Arc::new(pooler::PoolState::new(
            source.pooler() || settings.database.pooler == crate::config::Pooler::Transaction,
        ));
        let discard = pooler.clone();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A ping before lending a connection finds one the server closed
            // while it sat idle. (Without it, selections measured no faster.)
            .test_before_acquire(true)
            .acquire_timeout(timeout)
            // Once a pooler is detected, a connection holding named
            // statements would reuse them: replace it.
            .before_acquire(move |conn, _| {
                let keep = !(discard.on() && conn.cached_statements_size() > 0);
                Box::pin(async move { Ok(keep) })
            })
            .connect_lazy_with(options.clone());
        // The pool's first connection is the check, and then the one the
        // work uses. A pool retries a refused connection until its timeout
        // and then says only "timed out": when it takes a moment, one
        // direct attempt names the real cause (refused, no such database).
        let first = {
            let acquire = pool.acquire();
            tokio::pin!(acquire);
            tokio::select! {
                first = &mut acquire => first,
                () = tokio::time::sleep(PROBE_AFTER) => {
                    match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
                        Err(_) => return Err(no_answer()),
                        Ok(Err(e)) => return Err(connect_error(pool::describe_connect_error(&e))),
                        Ok(Ok(probe)) => {
                            probe.close().await.ok();
                            acquire.await
                        }
                    }
                }
            }
        };
        match first {
            Ok(first) => drop(first),
            Err(sqlx::Error::PoolTimedOut) => return Err(no_answer()),
            Err(e) => return Err(connect_error(pool::describe_connect_error(&e))),
        }
        let mut db = Database {
            pool,
            layout: Arc::new(SharedLayout {
                model: settings.tenancy.clone(),
                names: tenancy::Names::default(),
                shared_schema: String::new(),
                users_table: String::new(),
                users_relation: None,
                tenant_column: String::new(),
                tenant_name_column: None,
                tenant_branches: Default::default(),
                detection: None,
                name_key: String::new(),
                id_key: String::new(),
                has_mail: false,
                has_created: false,
                citus: false,
            }),
            counters: Arc::default(),
            item_rule_cache: Arc::default(),
            statement_timeout_ms: settings.database.statement_timeout_ms,
            pooler,
        };
        retried!(db, db.resolve(settings))?;
        Ok(db)
    }

    /// The model (detected only when `[tenancy]` says nothing), layout and
    /// users source, into `self`: detection and the users table in one
    /// transaction.
    async fn resolve(&mut self, settings: &Settings) -> Result<(), DbError> {
        let mut tx = self.read_tx().await?;
        let (model, detection) = self
            .choose_model(&mut tx, &settings.tenancy, settings.tenancy_set)
            .await?;
        let mut layout = self.resolve_layout(&mut tx, &model).await?;
        // Read only: dropped, it rolls back with the next statement.
        drop(tx);
        layout.detection = detection;
        self.layout = Arc::new(layout);
        // A shared table with no registry is its own users source.
        if model.users.at != tenancy::UsersAt::Shared || model.schemas.registry.table.is_some() {
            self.derive_users_source().await?;
        }
        Ok(())
    }

    async fn resolve_layout(
        &self,
        tx: &mut PgConnection,
        tenancy: &tenancy::TenancyModel,
    ) -> Result<SharedLayout, DbError> {
        // Users in every tenant: the first tenant's table stands for them.
        let model = tenancy;
        let mut tenancy = tenancy.clone();
        if tenancy.users.at == tenancy::UsersAt::PerTenant {
            tenancy.schemas.shared = self.first_users_schema(&mut *tx, &tenancy).await?;
            tenancy.users.tenant_column = tenancy.users.columns.id.clone();
        }
        // Linked users: the link table names the tenant, not a column.
        if tenancy.users.at == tenancy::UsersAt::Link {
            tenancy.users.tenant_column = tenancy.users.columns.id.clone();
        }
        let tenancy = &tenancy;
        // One statement: the table, its columns, whether the tenant column
        // may be read, whether the list can be paged on the raw (name, id)
        // columns (so an index on them serves it: both text, name never
        // NULL), and the model's names quoted by the server.
        // $4..$7: the id, name, mail and creation columns.
        let row: Option<UsersTableRow> = sqlx::query_as(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(a.attname),
                    has_column_privilege(c.oid, a.attname, 'SELECT'),
                    ARRAY(SELECT k.attname::text FROM pg_catalog.pg_attribute k
                           WHERE k.attrelid = c.oid AND k.attnum > 0 AND NOT k.attisdropped
                             AND k.attname IN ($4, $5, $6, $7)),
                    coalesce((SELECT k.attnotnull AND k.atttypid IN ('text'::regtype, 'varchar'::regtype)
                                FROM pg_catalog.pg_attribute k
                               WHERE k.attrelid = c.oid AND k.attname = $5 AND NOT k.attisdropped), false),
                    coalesce((SELECT k.atttypid IN ('text'::regtype, 'varchar'::regtype)
                                FROM pg_catalog.pg_attribute k
                               WHERE k.attrelid = c.oid AND k.attname = $4 AND NOT k.attisdropped), false),
                    ARRAY(SELECT quote_ident(x) FROM unnest($8::text[]) WITH ORDINALITY AS t(x, o) ORDER BY o),
                    ARRAY(SELECT quote_literal(x) FROM unnest($8::text[]) WITH ORDINALITY AS t(x, o) ORDER BY o),
                    to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        )
        .bind(&tenancy.schemas.shared)
        .bind(&tenancy.users.table)
        .bind(&tenancy.users.tenant_column)
        .bind(&tenancy.users.columns.id)
        .bind(&tenancy.users.columns.name)
        .bind(&tenancy.users.columns.mail)
        .bind(&tenancy.users.columns.created)
        .bind(tenancy::Names::raw(tenancy))
        .persistent(self.persistent())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let table = format!("{}.{}", tenancy.schemas.shared, tenancy.users.table);
        let has = |columns: &[String], name: &str| columns.iter().any(|c| c == name);
        let per_tenant = model.users.at == tenancy::UsersAt::PerTenant;
        match row {
            None => Err(DbError::SharedTable(format!(
                "shared users table {table} not found (see tenancy.shared_schema and tenancy.users_table)"
            ))),
            Some((_, None, ..)) => Err(DbError::SharedTable(format!(
                "column {} not found in {table} (see tenancy.tenant_column)",
                tenancy.users.tenant_column
            ))),
            Some((_, _, _, columns, ..))
                if !has(&columns, &tenancy.users.columns.id) || !has(&columns, &tenancy.users.columns.name) =>
            {
                let missing = if has(&columns, &tenancy.users.columns.id) {
                    &tenancy.users.columns.name
                } else {
                    &tenancy.users.columns.id
                };
                Err(DbError::SharedTable(format!(
                    "column {missing} not found in {table} (tenancy.user_id and tenancy.user_name are required)"
                )))
            }
            // The tenant column is printed as every user's tenant: it may
            // not be a column this role is denied (the support role is
            // denied the password column). Secret names are refused with
            // the settings, before this.
            Some((users_table, _, readable, ..)) if !per_tenant && readable != Some(true) => {
                Err(DbError::Setting(format!(
                    "tenancy.tenant_column {:?}: this role may not read that column of {} (a secret?)",
                    crate::text::sanitize(&model.users.tenant_column),
                    crate::text::sanitize(&users_table)
                )))
            }
            Some((
                users_table,
                Some(tenant_column),
                _,
                columns,
                plain_name,
                plain_id,
                idents,
                literals,
                citus,
            )) => {
                let names = tenancy::Names::from_quoted(&idents, &literals);
                let (name, id) = (&names.user_name, &names.user_id);
                Ok(SharedLayout {
                    model: model.clone(),
                    shared_schema: model.schemas.shared.clone(),
                    // Per-tenant users: no one shared table.
                    users_relation: (!per_tenant).then(|| users_table.clone()),
                    detection: None,
                    users_table,
                    tenant_column,
                    tenant_name_column: None,
                    tenant_branches: Default::default(),
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
                    has_mail: has(&columns, &tenancy.users.columns.mail),
                    has_created: has(&columns, &tenancy.users.columns.created),
                    citus,
                    names,
                })
            }
        }
    }
}

/// As libpq: no TLS on a Unix socket, so no round trip asking for it
/// (the server would refuse it there anyway).
fn without_tls_on_a_socket(options: PgConnectOptions) -> PgConnectOptions {
    if options.get_socket().is_some() || options.get_host().starts_with('/') {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    }
}
