//! Opening a database: a pool for the dashboard, or one connection for a
//! one-shot command; then the tenancy model and the users table, resolved
//! in one read transaction.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection};

use super::users::{in_list_order, ListCollation, ListCollations};
use super::{pool, pooler, tenancy, ConnectionSource, Database, DbError, SharedTables};
use crate::config::Settings;

/// How long the pool may take for its first connection before one direct
/// attempt asks why (see [`Database::open`]).
const PROBE_AFTER: Duration = Duration::from_millis(250);

/// The users table as `resolve_tables` finds it: (quoted table, quoted
/// tenant column, whether this role may read the tenant column, which of
/// id/name/mail/creation_timestamp exist, plain name key, plain id key,
/// the model's names quoted as identifiers, and as literals, which of
/// id/name/mail/creation_timestamp this role may not read, whether
/// Citus is installed, and the collations of the name and id keys: their
/// schemas, names and oids, name first).
type UsersTableRow = (
    String,
    Option<String>,
    Option<bool>,
    Vec<String>,
    bool,
    bool,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    bool,
    Vec<String>,
    Vec<String>,
    Vec<i64>,
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

    /// For `detect`: one connection and no layout (the layout is what it
    /// finds; a missing users table must not stop it).
    pub async fn connect_unresolved(
        source: &ConnectionSource,
        settings: &Settings,
    ) -> Result<Database, DbError> {
        Self::open_with(source, settings, 1, false).await
    }

    async fn open(
        source: &ConnectionSource,
        settings: &Settings,
        max_connections: u32,
    ) -> Result<Database, DbError> {
        Self::open_with(source, settings, max_connections, true).await
    }

    async fn open_with(
        source: &ConnectionSource,
        settings: &Settings,
        max_connections: u32,
        resolve: bool,
    ) -> Result<Database, DbError> {
        let timeout = source
            .connect_timeout()
            .unwrap_or(Duration::from_millis(settings.database.connect_timeout_ms));
        let (options, fallback) = choose(source, timeout).await.map_err(|cause| match cause {
            // A root certificate file that stopped the tries: bad input.
            Chosen::Refused(cause) => {
                DbError::Setting(format!("cannot connect to {}: {cause}", source.label()))
            }
            Chosen::Failed(cause) => DbError::Connect {
                target: source.label(),
                cause,
            },
        })?;
        let first = options.get_ssl_mode();
        let tried_options = options.clone();
        let opened = Self::open_on(
            source,
            settings,
            max_connections,
            resolve,
            without_tls_on_a_socket(options),
        )
        .await;
        // libpq's prefer (allow): the TLS (plain) try failed, so the same
        // server once more the other way; a server that did not answer in
        // time is not waited for twice, nor one that offers no TLS under
        // prefer (that try was without TLS already: libpq makes no other).
        // Nor when no password was given: it would be missing again.
        let retry = match &opened {
            Err(DbError::Connect { cause, .. }) => {
                fallback.is_some()
                    && !cause.starts_with("no answer")
                    && cause != pool::NO_PASSWORD
                    && !(matches!(first, PgSslMode::Prefer)
                        && super::grant::tls_answer(&tried_options).await == Some(false))
            }
            _ => false,
        };
        let fallback = fallback.filter(|_| retry);
        match (opened, fallback) {
            (Err(DbError::Connect { target, cause }), Some(fallback)) => {
                let tried = if matches!(first, PgSslMode::Disable) {
                    "without TLS"
                } else {
                    "with TLS"
                };
                Self::open_on(
                    source,
                    settings,
                    max_connections,
                    resolve,
                    without_tls_on_a_socket(fallback),
                )
                .await
                .map_err(|again| match again {
                    DbError::Connect { cause: other, .. } => DbError::Connect {
                        target,
                        cause: format!("{other} (and {tried}: {cause})"),
                    },
                    again => again,
                })
            }
            (opened, _) => opened,
        }
    }

    /// [`Database::open_with`] on the options [`choose`] picked.
    async fn open_on(
        source: &ConnectionSource,
        settings: &Settings,
        max_connections: u32,
        resolve: bool,
        options: PgConnectOptions,
    ) -> Result<Database, DbError> {
        let target = source.label();
        let timeout = source
            .connect_timeout()
            .unwrap_or(Duration::from_millis(settings.database.connect_timeout_ms));
        let pooler = Arc::new(pooler::PoolState::new(
            source.pooler() || settings.database.pooler == crate::config::Pooler::Transaction,
        ));
        let discard = pooler.clone();
        // Signs of life for the client-side deadline (db/deadline.rs).
        let progress = Arc::new(super::deadline::Progress::default());
        let (made, lent, back) = (progress.clone(), progress.clone(), progress.clone());
        let grant = Arc::new(super::grant::Grant::new(max_connections));
        let probe_grant = grant.clone();
        // The session's time zone where libpq would set one (PGTZ), else
        // SELECT 1: the round trip a new connection answers before use.
        let first_statement = Arc::new(source.first_statement());
        let first_sql = first_statement.clone();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A ping before lending a connection finds one the server closed
            // while it sat idle. (Without it, selections measured no faster.)
            .test_before_acquire(true)
            .acquire_timeout(timeout)
            // Once a pooler is detected, a connection holding named
            // statements would reuse them: replace it.
            .before_acquire(move |conn, _| {
                lent.touch();
                let keep = !(discard.on() && conn.cached_statements_size() > 0);
                Box::pin(async move { Ok(keep) })
            })
            // A new connection answers one round trip before it is used: a
            // pooler with no server connection to give accepts the client
            // and holds its queries (see db/grant.rs).
            .after_connect(move |conn, _| {
                let (made, grant) = (made.clone(), probe_grant.clone());
                let sql = first_sql.clone();
                Box::pin(async move {
                    use sqlx::Executor;
                    made.touch();
                    match tokio::time::timeout(timeout, conn.execute(sql.as_str())).await {
                        Ok(answered) => answered.map(|_| ()),
                        Err(_) => {
                            grant.note_held_back();
                            Err(sqlx::Error::PoolTimedOut)
                        }
                    }
                })
            })
            .after_release(move |_, _| {
                back.touch();
                Box::pin(async { Ok(true) })
            })
            .connect_lazy_with(options.clone());
        let first = FirstConnection {
            password: source.has_password(&options),
            options: &options,
            statement: &first_statement,
            timeout,
            grant: &grant,
            target: &target,
        };
        first_connection(&pool, first).await?;
        let mut db = Database {
            pool,
            tables: Arc::new(SharedTables {
                model: settings.tenancy.clone(),
                names: tenancy::Names::default(),
                shared_schema: String::new(),
                users_table: String::new(),
                users_relation: None,
                tenant_column: String::new(),
                org_id_column: None,
                tenant_name_column: None,
                tenant_key_match: None,
                tenant_branches: Default::default(),
                scope_left_out: None,
                detection: None,
                name_key: String::new(),
                id_key: String::new(),
                collations: ListCollations::database_default(),
                has_mail: false,
                has_created: false,
                citus: false,
            }),
            counters: Arc::default(),
            item_rule_cache: Arc::default(),
            items_tables: Arc::default(),
            statement_timeout_ms: settings.database.statement_timeout_ms,
            pooler,
            progress,
            grant,
        };
        if resolve {
            // Connected: from here on, a server that stops answering meets
            // the client-side deadline.
            let watch = db.watch();
            // `resolve` fills in a copy, so a retry starts from the same `db`.
            db = watch
                .bound(db.retried(|| async {
                    let mut resolved = db.clone();
                    resolved.resolve(settings).await.map(|()| resolved)
                }))
                .await?;
        }
        Ok(db)
    }

    /// The model (detected only when `[tenancy]` says nothing), the shared tables and
    /// users source, into `self`: detection and the users table in one
    /// transaction.
    async fn resolve(&mut self, settings: &Settings) -> Result<(), DbError> {
        let mut tx = self.catalog_tx().await?;
        let (model, detection) = self
            .choose_model(
                &mut tx,
                &settings.tenancy,
                settings.tenancy_set,
                &settings.tenancy_keys,
                settings.detection_cache.as_deref(),
            )
            .await?;
        let mut tables = self.resolve_tables(&mut tx, &model).await?;
        // Back in the pool before the command's first read (see `ReadTx::end`).
        tx.end().await;
        tables.detection = detection;
        self.tables = Arc::new(tables);
        // A shared table with no registry is its own users source.
        if model.users.at != tenancy::UsersAt::Shared || model.schemas.registry.table.is_some() {
            self.derive_users_source().await?;
        }
        Ok(())
    }

    async fn resolve_tables(
        &self,
        tx: &mut PgConnection,
        tenancy: &tenancy::TenancyModel,
    ) -> Result<SharedTables, DbError> {
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
        // No mail or creation column (`user_mail`, `user_created` empty): a
        // name no table has, read as absent.
        let columns = &mut tenancy.users.columns;
        for (column, none) in [
            (&mut columns.mail, "tenantscope_no_mail"),
            (&mut columns.created, "tenantscope_no_created"),
        ] {
            if column.is_empty() {
                *column = none.into();
            }
        }
        let tenancy = &tenancy;
        // One statement: the table, its columns, whether the tenant column
        // may be read, whether the list can be paged on the raw (name, id)
        // columns (so an index on them serves it: both text, name never
        // NULL), the model's names quoted by the server, and the
        // collations of the name and the id (the column's, the database's
        // default for a column of no collatable type, cast to text, or for
        // a collation in a schema this role may not use: named in a
        // statement it needs USAGE there, which the column's own use never
        // did).
        // $4..$7: the id, name, mail and creation columns.
        let row: Option<UsersTableRow> = sqlx::query_as(
            concat!(
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
                    ARRAY(SELECT k.attname::text FROM pg_catalog.pg_attribute k
                           WHERE k.attrelid = c.oid AND k.attnum > 0 AND NOT k.attisdropped
                             AND k.attname IN ($4, $5, $6, $7)
                             AND NOT has_column_privilege(c.oid, k.attnum, 'SELECT')),
                    to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL,
                    coll.schemas, coll.names, coll.oids
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
               CROSS JOIN LATERAL (
                    SELECT array_agg(cn.nspname::text ORDER BY w.o) AS schemas,
                           array_agg(co.collname::text ORDER BY w.o) AS names,
                           array_agg(co.oid::int8 ORDER BY w.o) AS oids
                      FROM unnest(ARRAY[$5, $4]::text[]) WITH ORDINALITY AS w(col, o)
                      JOIN pg_catalog.pg_collation co ON co.oid = coalesce(
                           (SELECT kc.oid FROM pg_catalog.pg_attribute k
                              JOIN pg_catalog.pg_collation kc ON kc.oid = k.attcollation
                             WHERE k.attrelid = c.oid AND k.attname = w.col
                               AND NOT k.attisdropped
                               AND has_schema_privilege(kc.collnamespace, 'USAGE')),
                           (SELECT d.oid FROM pg_catalog.pg_collation d
                             WHERE d.collname = 'default'
                               AND d.collnamespace = 'pg_catalog'::regnamespace))
                      JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace) coll
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ",
            crate::model::table_kinds!()
        ),
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
        users_tables(model, tenancy, row)
    }
}

/// What [`first_connection`] waits for, and what it names on failure.
struct FirstConnection<'a> {
    options: &'a PgConnectOptions,
    /// What each new connection runs first (see
    /// [`ConnectionSource::first_statement`]).
    statement: &'a str,
    timeout: Duration,
    grant: &'a super::grant::Grant,
    target: &'a str,
    /// The try has a password to give (see [`pool::describe_login_error`]).
    password: bool,
}

/// Waits for the pool's first connection; on failure, the error that names
/// the real cause.
async fn first_connection(pool: &sqlx::PgPool, first: FirstConnection<'_>) -> Result<(), DbError> {
    let FirstConnection {
        options,
        statement,
        timeout,
        grant,
        target,
        password,
    } = first;
    let connect_error = |cause: String| DbError::Connect {
        target: target.to_string(),
        cause,
    };
    let no_answer = || connect_error(format!("no answer within {} ms", timeout.as_millis()));
    // The pool's first connection is the check, and then the one the
    // work uses. A pool retries a refused connection until its timeout
    // and then says only "timed out": when it takes a moment, one
    // direct attempt names the real cause (refused, no such database).
    // The pool waits as long from now: so does the probe, not a whole
    // timeout from its own start (psql gives up at the timeout).
    let deadline = tokio::time::Instant::now() + timeout;
    let first = {
        let acquire = pool.acquire();
        tokio::pin!(acquire);
        tokio::select! {
            first = &mut acquire => first,
            () = tokio::time::sleep(PROBE_AFTER) => {
                match probe_until(options, deadline).await {
                    // Something answers but gives no session: the pool's
                    // own connection was held back, or the address
                    // answers an SSLRequest (a pooler with no server
                    // connection to give).
                    Err(answers) if grant.was_held_back() || answers => {
                        grant.note_held_back();
                        return Err(connect_error(super::grant::no_connection(
                            timeout.as_millis(),
                            grant,
                        )))
                    }
                    Err(_) => return Err(no_answer()),
                    Ok(Err(e)) => return Err(connect_error(pool::describe_login_error(&e, password))),
                    Ok(Ok(mut probe)) => {
                        // The pool's own connection may be failing at its
                        // first statement (a time zone the server refuses):
                        // say why, not "timed out".
                        use sqlx::Executor;
                        let answered = tokio::time::timeout(timeout, probe.execute(statement)).await;
                        probe.close().await.ok();
                        if let Ok(Err(e)) = answered {
                            return Err(connect_error(pool::describe_connect_error(&e)));
                        }
                        acquire.await
                    }
                }
            }
        }
    };
    match first {
        // Back in the pool before the caller's first read: dropped, it
        // would return on a task of its own, which may run only after
        // that read asked for one, so that read would open a second
        // connection (a server backend's start, for nothing).
        Ok(mut first) => first.return_to_pool().await,
        Err(sqlx::Error::PoolTimedOut)
            if grant.was_held_back() || super::grant::answers(options).await =>
        {
            grant.note_held_back();
            return Err(connect_error(super::grant::no_connection(
                timeout.as_millis(),
                grant,
            )));
        }
        Err(sqlx::Error::PoolTimedOut) => return Err(no_answer()),
        Err(e) => return Err(connect_error(pool::describe_login_error(&e, password))),
    }
    Ok(())
}

/// How long [`super::grant::answers`] may take (its own limit).
const ANSWERS_WITHIN: Duration = Duration::from_millis(500);

/// The probe's direct connection, given until `deadline` (when the pool's
/// own wait ends); if none by then, `Err`: whether anything answers at that
/// address ([`super::grant::answers`]), asked in the last half second
/// before the deadline so that it is known then (asked after it, a server
/// that never answers took 0.75 s longer to give up on than psql).
async fn probe_until(
    options: &PgConnectOptions,
    deadline: tokio::time::Instant,
) -> Result<Result<PgConnection, sqlx::Error>, bool> {
    let connect = tokio::time::timeout_at(deadline, PgConnection::connect_with(options));
    let ask_at = deadline
        .checked_sub(ANSWERS_WITHIN)
        .unwrap_or_else(tokio::time::Instant::now);
    let asked = async {
        tokio::time::sleep_until(ask_at).await;
        super::grant::answers(options).await
    };
    tokio::pin!(connect, asked);
    let mut answered = None;
    loop {
        tokio::select! {
            connected = &mut connect => {
                return match connected {
                    Ok(connected) => Ok(connected),
                    Err(_) => Err(match answered {
                        Some(answers) => answers,
                        None => asked.await,
                    }),
                };
            }
            answers = &mut asked, if answered.is_none() => answered = Some(answers),
        }
    }
}

/// The users table's row read into the shared tables, or the error naming what is
/// missing or unreadable (the table, the tenant column, a required column,
/// a column this role is denied). `model` is the settings' model, `tenancy`
/// the one adjusted for the query.
fn users_tables(
    model: &tenancy::TenancyModel,
    tenancy: &tenancy::TenancyModel,
    row: Option<UsersTableRow>,
) -> Result<SharedTables, DbError> {
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
                "tenancy.tenant_column {}: this role may not read that column of {} (a secret?)",
                crate::text::quoted(&model.users.tenant_column),
                crate::text::sanitize(&users_table)
            )))
        }
        // Every user column is printed too.
        Some((users_table, _, _, _, _, _, _, _, unreadable, ..)) if !unreadable.is_empty() => {
            let column = &unreadable[0];
            let user = &model.users.columns;
            let setting = [
                ("tenancy.user_id", &user.id),
                ("tenancy.user_name", &user.name),
                ("tenancy.user_mail", &user.mail),
                ("tenancy.user_created", &user.created),
            ]
            .into_iter()
            .find(|(_, c)| *c == column)
            .map_or("tenancy.user_*", |(k, _)| k);
            Err(DbError::Setting(tenancy::guard::unreadable_message(
                setting,
                column,
                &users_table,
                true,
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
            _,
            citus,
            collation_schemas,
            collation_names,
            collation_oids,
        )) => {
            let names = tenancy::Names::from_quoted(tenancy, &idents, &literals);
            let (name, id) = (&names.user_name, &names.user_id);
            // The raw columns where an index on them can serve the list.
            let name_key = match plain_name {
                true => format!("u.{name}"),
                false => format!("coalesce(u.{name}::text, '')"),
            };
            let id_key = match plain_id {
                true => format!("u.{id}"),
                false => format!("u.{id}::text"),
            };
            let collations = list_collations(
                per_tenant,
                (&collation_schemas, &collation_names, &collation_oids),
            );
            Ok(SharedTables {
                model: model.clone(),
                shared_schema: model.schemas.shared.clone(),
                // Per-tenant users: no one shared table.
                users_relation: (!per_tenant).then(|| users_table.clone()),
                detection: None,
                users_table,
                tenant_column,
                org_id_column: None,
                tenant_name_column: None,
                tenant_key_match: None,
                tenant_branches: Default::default(),
                scope_left_out: None,
                name_key: in_list_order(&name_key, &collations.name),
                id_key: in_list_order(&id_key, &collations.id),
                collations,
                has_mail: has(&columns, &tenancy.users.columns.mail),
                has_created: has(&columns, &tenancy.users.columns.created),
                citus,
                names,
            })
        }
    }
}

/// The users list's collations of the name and the id column, from the
/// catalog's (schemas, names, oids), name first: for per-tenant users the
/// database's default (the one order every tenant's table shares); for
/// one relation, its columns' own.
fn list_collations(
    per_tenant: bool,
    (schemas, names, oids): (&[String], &[String], &[i64]),
) -> ListCollations {
    let read = |at: usize| match (schemas.get(at), names.get(at), oids.get(at)) {
        (Some(schema), Some(name), Some(&oid)) if !per_tenant => {
            ListCollation::named(schema, name, oid)
        }
        _ => ListCollation::database_default(),
    };
    ListCollations {
        name: read(0),
        id: read(1),
    }
}

/// As libpq with several hosts, TLS tries (`allow`; `prefer` with a root
/// certificate) or `target_session_attrs`: the first try, in order, that
/// connects and whose server will do; its options then serve the pool.
/// A single server with `any` and nothing to check first is left to the
/// pool (no extra connection): then the second value is its fallback try
/// (`prefer` without TLS), for when the pool's first connection fails.
/// Every probe connection is closed with a Terminate message.
async fn choose(
    source: &ConnectionSource,
    timeout: Duration,
) -> Result<(PgConnectOptions, Option<PgConnectOptions>), Chosen> {
    let candidates = source.candidates();
    let attrs = source.session_attrs();
    if let Some(why) = no_server_socket(source) {
        return Err(Chosen::Failed(why));
    }
    let servers = candidates.iter().filter(|c| !c.fallback).count();
    // (allow with a root certificate file: its TLS fallback is checked
    // first, in the loop below.)
    if servers == 1
        && attrs == pool::SessionAttrs::Any
        && candidates
            .iter()
            .all(|c| c.verify.is_none() && c.refuse.is_none())
    {
        let fallback = candidates.get(1).map(|c| c.options.clone());
        return Ok((candidates[0].options.clone(), fallback));
    }
    let mut failures: Vec<String> = Vec::new();
    let mut refused = false;
    let passes = if attrs == pool::SessionAttrs::PreferStandby {
        2
    } else {
        1
    };
    for pass in 0..passes {
        // A server whose first try connected, or failed as a second try
        // would (no answer, no password, prefer where it offers no TLS:
        // libpq makes no other): its fallback is not tried.
        let mut settled = false;
        for (at, candidate) in candidates.iter().enumerate() {
            if !candidate.fallback {
                settled = false;
            } else if settled {
                continue;
            }
            // As libpq: a failed TLS try ends the tries, unless the same
            // server is tried again the other way (prefer, allow's first).
            let retried = candidates.get(at + 1).is_some_and(|next| next.fallback);
            let mut options = candidate.options.clone();
            let place = format!("{}:{}", options.get_host(), options.get_port());
            // As libpq: a TLS try that cannot be made ends the attempt
            // (the hosts after it are not tried).
            if let Some(why) = &candidate.refuse {
                failures.push(format!("{place}: {why}"));
                return Err(Chosen::Refused(failures.join("; ")));
            }
            if let Some(verify) = &candidate.verify {
                match verified(&options, verify, timeout).await {
                    Ok(anchor) => options = options.ssl_root_cert_from_pem(anchor),
                    Err(Unverified { why, tls }) => {
                        failures.push(format!("{place}: {why}"));
                        if tls && !retried {
                            return Err(Chosen::Failed(failures.join("; ")));
                        }
                        continue;
                    }
                }
            }
            let mut conn =
                match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
                    Err(_) => {
                        failures.push(format!(
                            "{place}: no answer within {} ms",
                            timeout.as_millis()
                        ));
                        settled = true;
                        continue;
                    }
                    Ok(Err(e)) => {
                        let why = pool::describe_login_error(&e, candidate.password);
                        settled = why == pool::NO_PASSWORD
                            || (matches!(options.get_ssl_mode(), PgSslMode::Prefer)
                                && super::grant::tls_answer(&options).await == Some(false));
                        failures.push(format!("{place}: {why}"));
                        if matches!(e, sqlx::Error::Tls(_)) && !retried {
                            return Err(Chosen::Failed(failures.join("; ")));
                        }
                        continue;
                    }
                    Ok(Ok(conn)) => conn,
                };
            settled = true;
            let fits = match attrs.probe() {
                None => Ok(true),
                Some(sql) => sqlx::query_scalar::<_, bool>(sql)
                    .fetch_one(&mut conn)
                    .await
                    .map(|flag| attrs.accepts(flag, pass)),
            };
            conn.close().await.ok();
            match fits {
                Ok(true) => return Ok((options, None)),
                Ok(false) => refused = true,
                Err(e) => failures.push(format!("{place}: {}", pool::describe_connect_error(&e))),
            }
        }
    }
    failures.dedup();
    if refused {
        failures.push(format!(
            "no server in the list is {} (target_session_attrs)",
            attrs.name()
        ));
    }
    Err(Chosen::Failed(failures.join("; ")))
}

/// Where every host is a socket directory and no server socket is in
/// any: which were looked for.
fn no_server_socket(source: &ConnectionSource) -> Option<String> {
    let candidates = source.candidates();
    let sockets: Vec<String> = candidates
        .iter()
        .filter(|c| c.options.get_host().starts_with('/'))
        .map(|c| format!("{}/.s.PGSQL.{}", c.options.get_host(), c.options.get_port()))
        .collect();
    if sockets.len() < candidates.len() || sockets.iter().any(|s| Path::new(s).exists()) {
        return None;
    }
    let default = if source.param("host").is_none() {
        " No host was given: that is libpq's default socket directory."
    } else {
        ""
    };
    Some(format!(
        "no server socket at {} (is a server running there?{default})",
        sockets.join(", ")
    ))
}

/// Why [`choose`] found no server.
enum Chosen {
    /// Every try failed (or no server would do): the reasons.
    Failed(String),
    /// A try that may not be made ended the tries (a root certificate
    /// file missing or unusable, as libpq ends them there): bad input.
    Refused(String),
}

/// [`verify_server`] for the try `options`, off the async threads: the
/// certificate that anchored the chain, or why it failed.
async fn verified(
    options: &PgConnectOptions,
    verify: &pool::Verify,
    timeout: Duration,
) -> Result<Vec<u8>, Unverified> {
    let (host, port, verify) = (
        options.get_host().to_string(),
        options.get_port(),
        verify.clone(),
    );
    tokio::task::spawn_blocking(move || verify_server(&host, port, &verify, timeout))
        .await
        .unwrap_or_else(|e| Err(unreached(e.to_string())))
}

/// A root certificate file: one TLS handshake with the server at
/// `host:port` (each of its addresses in turn, as libpq), trusting every
/// certificate of the file and nothing else (libpq; sqlx would take the
/// file's first certificate and the system's CAs), and for verify-full
/// checking the certificate against `name` (libpq checks `host`, not
/// `hostaddr`). Returns the certificate that anchored the chain, as PEM:
/// the connection then made by sqlx checks the chain against it again.
fn verify_server(
    host: &str,
    port: u16,
    verify: &pool::Verify,
    timeout: Duration,
) -> Result<Vec<u8>, Unverified> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let what = verify.name.as_deref().unwrap_or(host);
    let tls_error = |e: &dyn std::fmt::Display| tls_failed(format!("TLS with {what:?}: {e}"));
    if let Some(problem) = pool::root_file_problem(&verify.root) {
        return Err(tls_failed(problem));
    }
    let pem = std::fs::read(&verify.root).map_err(|e| tls_error(&e))?;
    let roots = openssl::x509::X509::stack_from_pem(&pem).map_err(|e| tls_error(&e))?;
    let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(|e| tls_error(&e))?;
    for root in roots {
        store.add_cert(root).map_err(|e| tls_error(&e))?;
    }
    let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
        .map_err(|e| tls_error(&e))?;
    // Replaces the system's CAs the builder loaded.
    builder.set_cert_store(store.build());
    let connector = builder.build();
    let addresses: Vec<std::net::SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            unreached(format!(
                "could not translate host name {host:?} to address: {e}"
            ))
        })?
        .collect();
    let mut last = format!("could not translate host name {host:?} to address");
    for address in addresses {
        let mut tcp = match std::net::TcpStream::connect_timeout(&address, timeout) {
            Ok(tcp) => tcp,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        tcp.set_read_timeout(Some(timeout)).ok();
        tcp.set_write_timeout(Some(timeout)).ok();
        // SSLRequest: length 8, code 80877103.
        tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
            .map_err(|e| unreached(e.to_string()))?;
        let mut answer = [0u8];
        tcp.read_exact(&mut answer)
            .map_err(|e| unreached(e.to_string()))?;
        if answer[0] != b'S' {
            return Err(tls_failed("server does not support TLS".into()));
        }
        let mut config = connector.configure().map_err(|e| tls_error(&e))?;
        config.set_verify_hostname(verify.name.is_some());
        let mut stream = config
            .connect(verify.name.as_deref().unwrap_or(host), tcp)
            .map_err(|e| tls_error(&e))?;
        let anchor = stream
            .ssl()
            .verified_chain()
            .and_then(|chain| chain.iter().last().map(|c| c.to_pem()))
            .ok_or_else(|| tls_error(&"no verified chain"))?
            .map_err(|e| tls_error(&e))?;
        stream.shutdown().ok();
        return Ok(anchor);
    }
    Err(unreached(last))
}

/// Why [`verify_server`] failed.
struct Unverified {
    why: String,
    /// TLS failed there (none offered, the root file, the handshake, the
    /// certificate), so libpq tries no other host (but `prefer` the same
    /// one without TLS); else the server was not reached (its name, TCP).
    tls: bool,
}

/// A TLS failure (see [`Unverified`]).
fn tls_failed(why: String) -> Unverified {
    Unverified { why, tls: true }
}

/// A server not reached (see [`Unverified`]).
fn unreached(why: String) -> Unverified {
    Unverified { why, tls: false }
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
