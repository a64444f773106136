//! The shared users table. The password column is never selected.

use serde::Serialize;

use super::catalog::TenantCatalog;
use super::lossy::{raw, LossyText};
use std::sync::atomic::Ordering;

use super::{Database, DbError, QueryHandle, SchemaState};

mod merge;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    /// `None` when the users table has no `mail` column.
    pub mail: Option<String>,
    /// The user's tenant schema: the organization id as stored (a tenant
    /// schema name, or anything else), or the schema a registry maps the
    /// user's tenant to.
    pub tenant: Option<String>,
    /// The tenant as the registry names it (its label, else its key);
    /// `None` without a registry, where the schema is the tenant's name.
    pub tenant_name: Option<String>,
    /// `None` when NULL or the table has no `creation_timestamp` column.
    pub created: Option<String>,
    /// Where the user sits in the list order (not shown, not exported).
    #[serde(skip)]
    pub key: UserKey,
    /// How many of this user's values held invalid UTF-8 (shown with U+FFFD).
    #[serde(skip)]
    pub invalid_utf8: usize,
}

impl User {
    /// The tenant as people name it: the registry's name, else the schema.
    pub fn tenant_label(&self) -> Option<&str> {
        self.tenant_name.as_deref().or(self.tenant.as_deref())
    }

    /// An organization id a registry maps to no schema (no row has it, or
    /// its row names none): the user has a tenant, as the registry names
    /// it or as the id is stored, but no tenant schema.
    pub fn unmapped_id(&self) -> Option<&str> {
        match self.tenant.as_deref() {
            None | Some("") => self.tenant_name.as_deref().filter(|n| !n.is_empty()),
            Some(_) => None,
        }
    }
}

impl TenantCatalog {
    /// Whether `user`'s organization id names a tenant schema, in the
    /// words `tenants` uses.
    pub fn status_of(&self, user: &User) -> SchemaState {
        match user.tenant.as_deref() {
            None | Some("") if user.unmapped_id().is_some() => SchemaState::NoSchema,
            None | Some("") => SchemaState::NoTenant,
            Some(tenant) if self.contains(tenant) => SchemaState::Ok,
            Some(tenant) if self.key(tenant).is_some() => SchemaState::Missing,
            Some(tenant) if self.is_other_schema(tenant) => SchemaState::Incomplete,
            Some(_) => SchemaState::NoSchema,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    /// Case-insensitive substring of name, mail or tenant, or the exact id.
    pub filter: Option<String>,
    pub limit: Option<i64>,
}

/// `ILIKE` pattern matching `text` literally anywhere.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// The collations of the users list's order: its statements' ORDER BY,
/// its keyset comparisons and the merge's order of many tenants' users
/// compare names in `name` and ids in `id` (and tenants in the database's
/// default collation). Where users live in each tenant schema both are
/// the database's default ([`ListCollations::database_default`]),
/// whatever collation a users table's columns were declared with: each
/// tenant's table may have its own (one `COLLATE "C"`, another ICU's), and
/// only the database's default is the same for all (a batch of tenants
/// read in its columns' order and merged in another skipped users). Where
/// one users relation is read (a shared table, and the sources derived
/// from it), the name and id columns' own collations, read from the
/// catalog at connect time: the list is in the order psql's `ORDER BY
/// name, id` shows, and the table's (name, id) index serves it whatever
/// collation its name column declares.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::db) struct ListCollations {
    pub name: ListCollation,
    pub id: ListCollation,
}

impl ListCollations {
    /// Both in the database's default collation.
    pub fn database_default() -> ListCollations {
        ListCollations {
            name: ListCollation::database_default(),
            id: ListCollation::database_default(),
        }
    }
}

/// One collation of [`ListCollations`].
#[derive(Debug, Clone, PartialEq)]
pub(in crate::db) struct ListCollation {
    /// Its name as SQL: schema-qualified, each part quoted.
    pub quoted: String,
    /// Its `pg_collation` oid (the walk's index check compares an index's
    /// collations with it).
    pub oid: i64,
}

impl ListCollation {
    /// The database's default collation (`DEFAULT_COLLATION_OID`, 100).
    pub fn database_default() -> ListCollation {
        ListCollation::named("pg_catalog", "default", 100)
    }

    /// The collation named `name` in the schema `schema`, of oid `oid`
    /// (as the catalog has them).
    pub fn named(schema: &str, name: &str, oid: i64) -> ListCollation {
        let quote = crate::model::guard::quote_ident;
        ListCollation {
            quoted: format!("{}.{}", quote(schema), quote(name)),
            oid,
        }
    }
}

/// The text expression `expr` in the collation `collation` (one of the
/// users list's, [`ListCollations`]).
pub(in crate::db) fn in_list_order(expr: &str, collation: &ListCollation) -> String {
    format!("({expr}) COLLATE {}", collation.quoted)
}

/// A key's part as the statement gets it (`param`: the hex of its bytes,
/// see `user_columns`) as text in `collation`, the one of the key
/// expression it is compared with ([`ListCollations`]). `convert_from`'s
/// own result is in `"C"` (the collation of its `name` argument), which
/// would win over a column in the database's default: on a database
/// whose default is not `C`, a keyset compared in bytes what was sorted
/// linguistically (and no index served the comparison).
fn key_text(param: &str, collation: &ListCollation) -> String {
    in_list_order(
        &format!("convert_from(decode({param}, 'hex'), 'SQL_ASCII')"),
        collation,
    )
}

/// Which page of users to read.
#[derive(Debug, Clone, Copy)]
struct PageRequest<'a> {
    /// Text the name, mail or tenant contains, or the exact id.
    filter: Option<&'a str>,
    page: &'a Page,
    limit: i64,
    /// One tenant schema's users, else every tenant's.
    tenant: Option<&'a str>,
}

impl<'a> PageRequest<'a> {
    fn of_all(filter: Option<&'a str>, page: &'a Page, limit: i64) -> PageRequest<'a> {
        PageRequest {
            filter,
            page,
            limit,
            tenant: None,
        }
    }

    /// The first page of `query` (no limit: all of it).
    fn first(query: &'a UserQuery) -> PageRequest<'a> {
        let limit = query.limit.unwrap_or(i64::MAX);
        PageRequest::of_all(query.filter.as_deref(), &Page::First, limit)
    }
}

impl Database {
    /// The columns of a [`UserRow`]. The sort key travels as the hex of its
    /// raw bytes (`SQL_ASCII` is no conversion at all, whatever the database
    /// encoding), so paging resumes exactly even past invalid UTF-8.
    pub(super) fn user_columns(&self) -> String {
        let tables = &self.tables;
        let names = &tables.names;
        format!(
            "{id_raw}, {name_raw}, {mail}, {tenant}, {created},
             encode({name_key}, 'hex'), encode({id_key}, 'hex'), {tenant_name},
             encode({tenant_key}, 'hex')",
            id_raw = raw(&format!("u.{}", names.user_id)),
            name_raw = raw(&format!("coalesce(u.{}::text, '')", names.user_name)),
            mail = if tables.has_mail {
                raw(&format!("coalesce(u.{}::text, '')", names.user_mail))
            } else {
                "NULL::bytea".into()
            },
            tenant = raw(&format!("u.{}", tables.tenant_column)),
            tenant_name = match &tables.tenant_name_column {
                Some(column) => raw(&format!("u.{column}")),
                None => "NULL::bytea".into(),
            },
            name_key = raw(&tables.name_key),
            id_key = raw(&tables.id_key),
            tenant_key = raw(&self.tenant_key()),
            created = if tables.has_created {
                format!("u.{}::text", names.user_created)
            } else {
                "NULL::text".into()
            },
        )
    }

    /// The tenant as the users list's key has it, over the users row `u`
    /// (as users are listed by tenant, `''` for none): its last part where
    /// users of several tenants may share a name and an id (see
    /// [`Database::key_ties`]).
    pub(super) fn tenant_key(&self) -> String {
        in_list_order(
            &format!("coalesce({}, '')", self.tables.tenant_of("u")),
            &ListCollation::database_default(),
        )
    }

    /// Whether users of several tenants may share a name and an id, so the
    /// list's key and order go on to the tenant: users in each tenant
    /// schema (an admin each tenant was made with). Not a shared users
    /// table: its ids are its own, and its (name, id) index serves the
    /// keyset; nor linked users, whose id key holds the schema already (a
    /// person is listed once per tenant).
    pub(super) fn key_ties(&self) -> bool {
        self.tables.model.users.at == super::UsersAt::PerTenant
    }

    /// The users list's key columns over the users row `u`, in its order:
    /// name, id, and (see [`Database::key_ties`]) the tenant; and the key
    /// as parameters to compare them with ([`Database::key_params`]).
    pub(super) fn key_columns(&self) -> (Vec<String>, String) {
        let tables = &self.tables;
        let mut columns = vec![tables.name_key.clone(), tables.id_key.clone()];
        if !self.key_ties() {
            return (columns, self.key_params(false));
        }
        columns.push(self.tenant_key());
        (columns, self.key_params(true))
    }

    /// Users ordered by name then id (the CLI's list).
    pub async fn users(&self, query: &UserQuery) -> Result<Vec<User>, DbError> {
        let limit = query.limit.unwrap_or(i64::MAX);
        self.users_page(query.filter.as_deref(), &Page::First, limit, None)
            .await
    }

    /// One page of users in (name, id) order, by keyset: the work is the
    /// same on page one and page ten thousand. Rows come back ascending.
    ///
    /// A filter also matches the id exactly; that user is listed first
    /// (its key is `pinned`) and left out of the (name, id) sequence, so
    /// keyset paging around it stays exact.
    pub async fn users_page(
        &self,
        filter: Option<&str>,
        page: &Page,
        limit: i64,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<User>, DbError> {
        let request = PageRequest::of_all(filter, page, limit);
        self.retried(|| self.users_page_once(request, handle)).await
    }

    /// Users of one tenant schema, by name then id, filtered on the server:
    /// a WHERE on the tenant, and where users live in each tenant schema,
    /// that schema's users table alone.
    pub async fn users_in(&self, schema: &str, query: &UserQuery) -> Result<Vec<User>, DbError> {
        let request = PageRequest {
            tenant: Some(schema),
            ..PageRequest::first(query)
        };
        self.retried(|| self.users_page_once(request, None)).await
    }

    /// The users one tenant's reads join: with users in each tenant
    /// schema its own table (their ids are its own; see
    /// `tenant_source`), never the union of every tenant's (at 3,000
    /// tenants one statement over it took the server's memory); else the
    /// users table.
    pub(super) fn users_of_tenant(&self, tenant: &str) -> String {
        match self.tables.model.users.at {
            super::UsersAt::PerTenant => self.tenant_source(tenant),
            _ => self.tables.users_table.clone(),
        }
    }

    /// A tenant whose users table lacks a required column (see
    /// [`Database::users_left_out`]) is [`DbError::UsersLeftOut`]: a read
    /// of its users would fail on the server's "column does not exist".
    /// `tenant` named, or the one this copy is scoped to (`scoped_to`).
    pub(super) fn users_readable(&self, tenant: Option<&str>) -> Result<(), DbError> {
        let tables = &self.tables;
        let left_out = match tenant {
            Some(tenant) => tables
                .tenant_branches
                .iter()
                .find(|b| b.schema == tenant && !b.missing.is_empty())
                .map(|b| (&b.schema, &b.missing)),
            None => tables.scope_left_out.as_ref().map(|(s, m)| (s, m)),
        };
        match left_out {
            Some((tenant, missing)) => Err(DbError::UsersLeftOut {
                tenant: tenant.clone(),
                table: tables.model.users.table.clone(),
                missing: missing.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The users FROM item for `tenant` (all users without one), or `None`
    /// when users live in each tenant schema and `tenant` holds none.
    pub(super) fn users_source(&self, tenant: Option<&str>) -> Option<String> {
        let tables = &self.tables;
        match tenant {
            Some(tenant) if !tables.tenant_branches.is_empty() => tables
                .tenant_branches
                .iter()
                .find(|b| b.schema == tenant)
                .map(|b| format!("({})", b.select)),
            _ => Some(tables.users_table.clone()),
        }
    }

    async fn users_page_once(
        &self,
        request: PageRequest<'_>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<User>, DbError> {
        let mut tx = self.tracked_tx(handle).await?;
        let users = self.page_in(&mut tx, request, handle).await;
        if let Some(handle) = handle {
            handle.finished();
        }
        users
    }

    /// The CLI's list and the tenant catalog its statuses need, in one
    /// transaction (one connection, no second BEGIN).
    pub async fn users_with_catalog(
        &self,
        query: &UserQuery,
    ) -> Result<(Vec<User>, TenantCatalog), DbError> {
        self.retried(|| async move {
            let mut tx = self.read_tx().await?;
            let users = self
                .page_in(&mut tx, PageRequest::first(query), None)
                .await?;
            Ok((users, self.tenants_in(&mut tx).await?))
        })
        .await
    }

    /// The first page of every tenant's users and the catalogue of that
    /// page's own tenants only (by `pg_namespace`'s name index, not every
    /// schema), in one transaction: what the dashboard's first frame
    /// needs. The whole catalogue is [`Database::tenants`].
    pub async fn first_page_with_its_tenants(
        &self,
        limit: i64,
    ) -> Result<(Vec<User>, TenantCatalog), DbError> {
        self.retried(|| async move {
            let mut tx = self.read_tx().await?;
            let request = PageRequest::of_all(None, &Page::First, limit);
            let users = self.page_in(&mut tx, request, None).await?;
            let mut named: Vec<String> = users.iter().filter_map(|u| u.tenant.clone()).collect();
            named.sort();
            named.dedup();
            let catalog = self.tenants_among(&mut tx, Some(&named)).await?;
            Database::end_read(tx);
            Ok((users, catalog))
        })
        .await
    }

    /// [`Database::users_page`] in the transaction `tx`, of one tenant
    /// schema or of all.
    async fn page_in(
        &self,
        tx: &mut super::ReadTx,
        request: PageRequest<'_>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<User>, DbError> {
        let PageRequest {
            filter,
            page,
            limit,
            tenant,
        } = request;
        self.users_readable(tenant)?;
        let Some(source) = self.users_source(tenant) else {
            return Ok(Vec::new());
        };
        let filter = filter.filter(|f| !f.is_empty());
        // Where the pinned user sits: before every other user of the list.
        let (page, pin) = match page {
            Page::Before(key) if key.pinned => return Ok(Vec::new()),
            Page::After(key) if key.pinned => (&Page::First, false),
            Page::From(key) if key.pinned => (&Page::First, true),
            page => (page, true),
        };
        let keyset = PageRequest {
            filter,
            page,
            ..request
        };
        let mut users = self.keyset_page(tx, keyset, &source, handle).await;
        let reached_start = match page {
            Page::First => true,
            Page::Last | Page::Before(_) => users.as_ref().is_ok_and(|u| (u.len() as i64) < limit),
            Page::From(_) | Page::After(_) => false,
        };
        if let (Some(id), true, true, Ok(list)) = (filter, pin, reached_start, users.as_mut()) {
            let rows = self.pinned_rows(tx, id, tenant, &source).await;
            match rows {
                Ok(rows) => {
                    for (at, row) in rows.into_iter().enumerate() {
                        let mut user = into_user(row);
                        user.key.pinned = true;
                        list.insert(at, user);
                    }
                }
                Err(e) => users = Err(e),
            }
        }
        users
    }

    /// Every tenant's user whose id is `id` (users in each tenant schema,
    /// or linked to several tenants), by tenant as every view lists
    /// tenants ([`pinned_order`]): a filter's pinned users.
    pub(super) async fn pinned_rows(
        &self,
        tx: &mut super::ReadTx,
        id: &str,
        tenant: Option<&str>,
        source: &str,
    ) -> Result<Vec<UserRow>, DbError> {
        let order = self.tables.tenant_of("u");
        let condition = format!(
            "u.{user_id}::text = $1 AND ($2::text IS NULL OR {order} = $2)",
            user_id = self.tables.names.user_id,
        );
        let mut rows = Vec::new();
        if self.many_branches(source) {
            // In batches of tenants, each in a savepoint (the locks).
            for chunk in self.live_branches().chunks(PER_TENANT_BATCH) {
                let sql = self.users_where_branches(chunk, &condition, &order, "ALL");
                self.savepoint(tx).await?;
                let batch = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(tenant)
                    .persistent(false)
                    .fetch_all(&mut **tx)
                    .await;
                rows.extend(self.rolled_back(tx, batch).await?);
            }
        } else {
            let sql = self.users_where(source, &condition, &order, "ALL");
            rows = sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant)
                .persistent(self.persistent())
                .fetch_all(&mut **tx)
                .await
                .map_err(|e| self.error(e))?;
        }
        // As lists name the tenant: the registry's name, else the schema.
        fn listed(row: &UserRow) -> (&str, &str) {
            let name = row.7.as_ref().or(row.3.as_ref());
            (name.map_or("", |t| t.text.as_str()), &row.8)
        }
        rows.sort_by(|a, b| pinned_order(listed(a), listed(b)));
        Ok(rows)
    }

    /// Users of the (name, id) sequence, the exact id match left out.
    async fn keyset_page(
        &self,
        tx: &mut super::ReadTx,
        request: PageRequest<'_>,
        source: &str,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<User>, DbError> {
        self.counters.user_pages.fetch_add(1, Ordering::Relaxed);
        let (rows, descending) = if self.many_branches(source) {
            let (_, _, descending) = self.keyset_parts(&request);
            (
                self.keyset_rows_batched(tx, &request, handle).await?,
                descending,
            )
        } else {
            let (sql, descending) = match self.walk_first_sql(&request, source) {
                Some(sql) => (sql, false),
                None => self.keyset_sql(&request, source),
            };
            // A filtered page is planned for its pattern every time (an
            // unnamed statement): a generic plan cannot know that
            // '%user_00012%' is selective and 'u' is not, and the one it
            // settles on is right for one kind and 100× off for the other.
            let filtered = request.filter.is_some();
            let rows: Vec<UserRow> = keyset_binds(sqlx::query_as(&sql), &request)
                .persistent(self.persistent() && !filtered)
                .fetch_all(&mut **tx)
                .await
                .map_err(|e| self.error(e))?;
            (rows, descending)
        };
        let mut users: Vec<User> = rows.into_iter().map(into_user).collect();
        if descending {
            users.reverse();
        }
        Ok(users)
    }

    /// The statement of [`Database::keyset_page`] (parameters as
    /// [`keyset_binds`] binds them), and whether it reads descending.
    fn keyset_sql(&self, request: &PageRequest<'_>, source: &str) -> (String, bool) {
        let (condition, order, descending) = self.keyset_parts(request);
        let sql = format!(
            "{} ORDER BY {order} LIMIT $4",
            self.users_where(source, &condition, &order, "$4")
        );
        (sql, descending)
    }

    /// A filtered first page of the shared users table as one statement
    /// that first walks the (name, id) index over at most [`WALK_BOUND`]
    /// users and keeps the matches; only when fewer than the page's limit
    /// match there does its second part run: the plain statement of
    /// [`Database::keyset_sql`], planned as before. Same rows, same order:
    /// the walked users are the first of the order, so when `limit` of
    /// them match, no user past them comes before.
    ///
    /// Why: for a pattern whose trigrams are common (`user_0001`), the
    /// planner's bitmap scan of the trigram indexes reads their long
    /// posting lists and sorts every match (100–290 ms at 1M users, EXPLAIN
    /// ANALYZE) where the walk stops at the 100th match. The walk runs
    /// only where a plain btree index on (name, id) in the list's collations
    /// serves it (a check of `pg_index`, one InitPlan per statement): without one it would
    /// sort the whole table first. `None` where this does not apply (other
    /// pages, a tenant, derived or per-tenant sources, long limits).
    fn walk_first_sql(&self, request: &PageRequest<'_>, source: &str) -> Option<String> {
        let tables = &self.tables;
        let names = &tables.names;
        let collations = &tables.collations;
        let plain = tables.name_key
            == in_list_order(&format!("u.{}", names.user_name), &collations.name)
            && tables.id_key == in_list_order(&format!("u.{}", names.user_id), &collations.id);
        let applies = request.filter.is_some()
            && matches!(request.page, Page::First)
            && request.tenant.is_none()
            && request.limit <= WALK_LIMIT_MAX
            && plain
            && tables.users_relation.as_deref() == Some(source);
        if !applies {
            return None;
        }
        let (condition, order, _) = self.keyset_parts(request);
        let columns = self.user_columns();
        let indexed = self.walk_index_check(source);
        let row = self.tables.row_columns();
        // The walk's rows come out in its order (a CTE scan reads its rows
        // as they were stored; UNION ALL appends its parts in turn), and
        // one part of the two is empty.
        Some(format!(
            "WITH walk AS MATERIALIZED (
                 SELECT {columns}
                   FROM (SELECT {row} FROM {source} u WHERE {indexed}
                          ORDER BY {order} LIMIT {WALK_BOUND}) u
                  WHERE {condition} ORDER BY {order} LIMIT $4)
             SELECT * FROM walk WHERE (SELECT count(*) FROM walk) >= $4
             UNION ALL
             (SELECT {columns} FROM {source} u
               WHERE {condition} AND (SELECT count(*) FROM walk) < $4
               ORDER BY {order} LIMIT $4)"
        ))
    }

    /// SQL true where a plain btree index on `source`'s (name, id), in the
    /// list's collations (the name's and the id's, [`ListCollations`]),
    /// serves [`Database::walk_first_sql`]'s walk.
    fn walk_index_check(&self, source: &str) -> String {
        let names = &self.tables.names;
        let collations = &self.tables.collations;
        let literal = crate::model::guard::quote_literal;
        format!(
            "EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                       JOIN pg_catalog.pg_am am ON am.oid = ic.relam
                       JOIN pg_catalog.pg_attribute an
                         ON an.attrelid = i.indrelid AND an.attnum = i.indkey[0]
                       JOIN pg_catalog.pg_attribute ai
                         ON ai.attrelid = i.indrelid AND ai.attnum = i.indkey[1]
                      WHERE i.indrelid = {relation}::regclass AND am.amname = 'btree'
                        AND i.indpred IS NULL AND i.indexprs IS NULL
                        AND quote_ident(an.attname) = {name}
                        AND quote_ident(ai.attname) = {id}
                        AND i.indcollation[0] = {name_collation}::oid
                        AND i.indcollation[1] = {id_collation}::oid
                        AND i.indoption[0] = 0 AND i.indoption[1] = 0)",
            relation = literal(source),
            name_collation = collations.name.oid,
            id_collation = collations.id.oid,
            name = literal(&names.user_name),
            id = literal(&names.user_id),
        )
    }

    /// SQL condition on the users row `u`: its tenant contains the ILIKE
    /// pattern `$1`. Where a registry names tenants: its label and key,
    /// not the schema (generated names would match any digits typed).
    pub(super) fn tenant_matches(&self) -> String {
        match (
            &self.tables.tenant_name_column,
            &self.tables.tenant_key_match,
        ) {
            (Some(column), Some(key)) => format!("u.{column}::text ILIKE $1 OR {key}"),
            (Some(column), None) => format!(
                "u.{tenant}::text ILIKE $1 OR u.{column}::text ILIKE $1",
                tenant = self.tables.tenant_column
            ),
            (None, _) => format!("u.{}::text ILIKE $1", self.tables.tenant_column),
        }
    }

    /// The WHERE condition and ORDER BY of a keyset page, and whether it
    /// reads descending.
    fn keyset_parts(&self, request: &PageRequest<'_>) -> (String, String, bool) {
        let (columns, params) = self.key_columns();
        let key = columns.join(", ");
        let (keyset, descending) = match request.page {
            Page::First => ("TRUE".to_string(), false),
            Page::Last => ("TRUE".to_string(), true),
            Page::From(_) => (format!("({key}) >= {params}"), false),
            Page::After(_) => (format!("({key}) > {params}"), false),
            Page::Before(_) => (format!("({key}) < {params}"), true),
        };
        let direction = if descending { "DESC" } else { "ASC" };
        let tenant_match = self.tenant_matches();
        let mail = if self.tables.has_mail {
            format!("u.{}::text ILIKE $1", self.tables.names.user_mail)
        } else {
            "FALSE".into()
        };
        // Only the conditions this page has (the parameters are bound all
        // the same, typed by the client). A `$6::text IS NULL OR …` for the
        // tenant, added with `--tenant`, made the generic plan of the
        // prepared statement look cheap (a selective tenant the planner
        // cannot know is NULL); after five executions the server kept it:
        // an index walk in (name, id) order testing every user, which is
        // how a filter keystroke at 1M users went from 2.66 ms p50 to
        // 30.8 ms (292 ms p99). See also `filtered` in `keyset_page`.
        let filter_clause = match request.filter {
            Some(_) => format!(
                "(u.{user_name}::text ILIKE $1 OR {mail} OR {tenant_match})
                 AND u.{user_id}::text IS DISTINCT FROM $5",
                user_name = self.tables.names.user_name,
                user_id = self.tables.names.user_id,
            ),
            None => "TRUE".into(),
        };
        let tenant_clause = match request.tenant {
            Some(_) => format!("{} = $6", self.tables.tenant_of("u")),
            None => "TRUE".into(),
        };
        let condition = format!("({filter_clause}) AND {tenant_clause} AND {keyset}");
        let order = columns
            .iter()
            .map(|column| format!("{column} {direction}"))
            .collect::<Vec<_>>()
            .join(", ");
        (condition, order, descending)
    }

    /// Whether reading `source` means the union of more tenants' users
    /// tables than one statement may lock ([`PER_TENANT_BATCH`]).
    fn many_branches(&self, source: &str) -> bool {
        source == self.tables.users_table && self.live_branches().len() > PER_TENANT_BATCH
    }

    /// A keyset page over every tenant's users table where users live in
    /// each tenant schema and there are many: [`PER_TENANT_BATCH`] tenants
    /// to a statement, the best `limit` kept and ordered by the server (in
    /// the list's collations, as every statement of the list compares). In
    /// the page's direction, as the one statement reads.
    ///
    /// With at least two connections free beside `tx` (and one left for
    /// another load: [`Database::reserve_batches`]), statements run side
    /// by side on them, never waiting for the pool, each in a read
    /// transaction of its own (its end releases its locks) that `handle`
    /// cancels (one name for all), the rows kept so far cut to the best
    /// `limit` after each round; otherwise in turn on `tx`, each in a savepoint rolled back after it (which
    /// releases its locks: the transaction never holds more than one
    /// batch's). Either way each statement reads its own snapshot, as a
    /// READ COMMITTED transaction's statements do.
    async fn keyset_rows_batched(
        &self,
        tx: &mut super::ReadTx,
        request: &PageRequest<'_>,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<UserRow>, DbError> {
        let (condition, order, descending) = self.keyset_parts(request);
        let statements: Vec<String> = self
            .live_branches()
            .chunks(PER_TENANT_BATCH)
            .map(|chunk| {
                format!(
                    "{} ORDER BY {order} LIMIT $4",
                    self.users_where_branches(chunk, &condition, &order, "$4")
                )
            })
            .collect();
        // Rows kept before they are cut to the best `limit` (a round trip).
        let keep = request.limit.saturating_mul(4).max(1) as usize;
        let lanes = self.batch_lanes();
        // Statements side by side answer to one cancel.
        let shared = handle.map(QueryHandle::shared);
        let round = lanes.as_ref().map_or(1, |(_, width)| width * 2);
        let mut rows: Vec<UserRow> = Vec::new();
        for statements in statements.chunks(round) {
            let jobs: Vec<(&str, &PageRequest)> = statements
                .iter()
                .map(|sql| (sql.as_str(), request))
                .collect();
            let answers = self
                .batch_rows(tx, lanes.as_ref(), &jobs, shared.as_ref())
                .await?;
            rows.extend(answers.into_iter().flatten());
            if rows.len() > keep {
                rows = self
                    .server_ordered(tx, rows, descending, request.limit)
                    .await?;
            }
        }
        self.server_ordered(tx, rows, descending, request.limit)
            .await
    }

    /// Connections for statements over batches of tenants side by side
    /// (see [`Database::reserve_batches`]) and how many, when at least
    /// two; `None`: in turn on the load's own transaction.
    fn batch_lanes(&self) -> Option<(super::grant::Reserved, usize)> {
        let reserved = self.reserve_batches(true);
        let width = reserved.len();
        (width > 1).then_some((reserved, width))
    }

    /// The rows of `statements` over batches of tenants' users tables (each
    /// with the request [`keyset_binds`] binds), in the statements' order.
    ///
    /// With `lanes`, side by side on them, never waiting for the pool,
    /// each in a read transaction of its own (its end releases its locks)
    /// that `shared` cancels (one name for all); otherwise in turn on
    /// `tx`, each in a savepoint rolled back after it (which releases its
    /// locks: the transaction never holds more than one batch's). Either
    /// way each statement reads its own snapshot, as a READ COMMITTED
    /// transaction's statements do.
    async fn batch_rows(
        &self,
        tx: &mut super::ReadTx,
        lanes: Option<&(super::grant::Reserved, usize)>,
        statements: &[(&str, &PageRequest<'_>)],
        shared: Option<&QueryHandle>,
    ) -> Result<Vec<Vec<UserRow>>, DbError> {
        self.counters
            .user_batch_reads
            .fetch_add(statements.len() as u64, Ordering::Relaxed);
        let mut out = Vec::with_capacity(statements.len());
        match lanes {
            Some((reserved, width)) => {
                let jobs = statements
                    .iter()
                    .map(|(sql, request)| {
                        self.rows_in_own_read(keyset_binds(sqlx::query_as(sql), request), shared)
                    })
                    .collect();
                let answers = reserved.clone().scope(super::in_order(*width, jobs)).await;
                for batch in answers {
                    out.push(batch?);
                }
                self.progress.touch();
            }
            None => {
                for (sql, request) in statements {
                    self.savepoint(tx).await?;
                    let batch = keyset_binds(sqlx::query_as(sql), request)
                        .persistent(false)
                        .fetch_all(&mut **tx)
                        .await;
                    out.push(self.rolled_back(tx, batch).await?);
                    self.progress.touch();
                }
            }
        }
        Ok(out)
    }

    /// Starts a savepoint for one batch of tenants (see [`Database::rolled_back`]).
    async fn savepoint(&self, tx: &mut super::ReadTx) -> Result<(), DbError> {
        sqlx::query("SAVEPOINT tenantscope_batch")
            .persistent(false)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Rolls back to the savepoint of [`Database::savepoint`], which
    /// releases the locks the batch's statement took (and leaves the
    /// transaction usable after a failed one); then `result`.
    async fn rolled_back<T>(
        &self,
        tx: &mut super::ReadTx,
        result: Result<T, sqlx::Error>,
    ) -> Result<T, DbError> {
        sqlx::query("ROLLBACK TO SAVEPOINT tenantscope_batch")
            .persistent(false)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.error(e))?;
        result.map_err(|e| self.error(e))
    }

    /// `rows` in the list's order, (name, id) and where its key has one
    /// the tenant ([`Database::key_ties`]), in the list's collations
    /// ([`ListCollations`], as each batch's statement sorted them;
    /// descending with `descending`), the first `limit` of them.
    async fn server_ordered(
        &self,
        tx: &mut super::ReadTx,
        rows: Vec<UserRow>,
        descending: bool,
        limit: i64,
    ) -> Result<Vec<UserRow>, DbError> {
        if rows.is_empty() {
            return Ok(rows);
        }
        let order = self
            .server_order(
                tx,
                rows.iter().map(OrderKey::from),
                descending,
                limit,
                self.key_ties(),
            )
            .await?;
        let mut slots: Vec<Option<UserRow>> = rows.into_iter().map(Some).collect();
        Ok(order
            .into_iter()
            .filter_map(|i| slots.get_mut(i)?.take())
            .collect())
    }

    /// Where each of `keys` goes in the list's order, (name, id) in the
    /// list's collation (descending with `descending`), then by tenant with
    /// `by_tenant`; pinned keys (a filter's exact id match) before all the
    /// others, by tenant, as the list has them ([`pinned_places`]): their
    /// indexes in that order, the first `limit` of them. One statement. The one merge of
    /// users read apart (batches of tenants, a search's batches): the
    /// server compares, in the collation every statement of the list
    /// sorts by, never the client.
    pub(super) async fn server_order<'r>(
        &self,
        tx: &mut super::ReadTx,
        keys: impl Iterator<Item = OrderKey<'r>>,
        descending: bool,
        limit: i64,
        by_tenant: bool,
    ) -> Result<Vec<usize>, DbError> {
        let keys: Vec<OrderKey> = keys.collect();
        let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.id).collect();
        let tenants: Vec<&str> = keys.iter().map(|k| k.tenant).collect();
        let places = pinned_places(&keys);
        let pinned = places.iter().any(Option::is_some);
        let with_tenant = by_tenant || pinned;
        let direction = if descending { "DESC" } else { "ASC" };
        let mut arrays = String::from("$1::text[], $2::text[]");
        let mut columns = String::from("n, d");
        let mut order = Vec::new();
        if with_tenant {
            arrays.push_str(", $4::text[]");
            columns.push_str(", t");
        }
        if pinned {
            arrays.push_str(", $5::int4[]");
            columns.push_str(", p");
            order.push("k.p".to_string());
        }
        columns.push_str(", i");
        order.push(format!(
            "{} {direction}",
            key_text("k.n", &self.tables.collations.name)
        ));
        order.push(format!(
            "{} {direction}",
            key_text("k.d", &self.tables.collations.id)
        ));
        if by_tenant {
            order.push(format!(
                "{} {direction}",
                key_text("k.t", &ListCollation::database_default())
            ));
        }
        let order: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT (k.i - 1)::int8
               FROM unnest({arrays}) WITH ORDINALITY k({columns})
              ORDER BY {order}
              LIMIT $3",
            order = order.join(", "),
        ))
        .bind(&names)
        .bind(&ids)
        .bind(limit)
        .bind(&tenants)
        .bind(places)
        .persistent(false)
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| self.error(e))?;
        Ok(order
            .into_iter()
            .filter_map(|i| usize::try_from(i).ok())
            .collect())
    }

    /// The CLI's users list, of one tenant schema or of all, handed to
    /// `sink` user by user as it is read: a cursor in one read transaction,
    /// fetched [`STREAM_BATCH`] rows at a time (each FETCH its own
    /// statement under the statement timeout, so a slow reader of the
    /// output is never cut off), the whole list as many times over the
    /// same rows as the sink asks ([`UserSink::passes`]: a table's widths,
    /// then its lines). Memory holds one
    /// batch, whatever the list's length.
    ///
    /// The tenant catalog (in the same transaction; after the first batch,
    /// and of that batch's tenants only when the list ends within it) goes
    /// to the sink at each pass's start. Retried once, as other loads are,
    /// only while the sink has been told nothing.
    pub async fn stream_users(
        &self,
        query: &UserQuery,
        tenant: Option<&str>,
        sink: &mut (dyn UserSink + Send),
    ) -> Result<(), DbError> {
        self.retried_stream((query, tenant, sink), |db, (query, tenant, sink), told| {
            Box::pin(db.stream_users_once(query, *tenant, *sink, told))
        })
        .await
    }

    async fn stream_users_once(
        &self,
        query: &UserQuery,
        tenant: Option<&str>,
        sink: &mut (dyn UserSink + Send),
        told: &mut bool,
    ) -> Result<(), DbError> {
        let passes = sink.passes();
        let mut tx = self.read_tx().await?;
        let filter = query.filter.as_deref().filter(|f| !f.is_empty());
        let request = PageRequest {
            filter,
            page: &Page::First,
            limit: query.limit.unwrap_or(i64::MAX),
            tenant,
        };
        self.users_readable(tenant)?;
        let source = self.users_source(tenant);
        if source.as_deref().is_some_and(|s| self.many_branches(s)) {
            // Users in each of many tenant schemas: no one cursor over
            // them all (it would lock every users table at once), but
            // keyset pages, each read in batches of tenants.
            let streamed = self
                .stream_pages(&mut tx, &request, passes, sink, told)
                .await;
            if streamed.is_ok() {
                Database::hand_back(tx).await;
            }
            return streamed;
        }
        let mut pinned = Vec::new();
        // The first batch, read before the tenant catalog: a list that
        // ends within it (`--limit 100`, most filters) needs the catalog
        // of its own tenants only, not of every schema (10,000 names).
        let mut first: Vec<User> = Vec::new();
        let mut complete = true;
        if let Some(source) = &source {
            if let Some(id) = filter {
                pinned = self.pinned_rows(&mut tx, id, tenant, source).await?;
            }
            let (sql, _) = self.keyset_sql(&request, source);
            let scroll = if passes > 1 { "SCROLL" } else { "NO SCROLL" };
            let declare = format!("DECLARE tenantscope_users {scroll} CURSOR FOR {sql}");
            self.counters.user_pages.fetch_add(1, Ordering::Relaxed);
            keyset_binds(sqlx::query(&declare), &request)
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
            let size = first_batch(request.limit).max(1);
            let rows = self.fetch(&mut tx, size).await?;
            complete = rows.len() < size || rows.len() as i64 >= request.limit;
            first = rows.into_iter().map(into_user).collect();
        }
        let pinned: Vec<User> = pinned
            .into_iter()
            .map(|row| {
                let mut user = into_user(row);
                user.key.pinned = true;
                user
            })
            .collect();
        let catalog = self
            .list_catalog(&mut tx, complete.then_some((&pinned, &first)))
            .await?;
        for pass in 0..passes {
            if pass > 0 && source.is_some() && !complete {
                sqlx::query("MOVE ABSOLUTE 0 IN tenantscope_users")
                    .persistent(false)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            *told = true;
            if !sink.begin(pass, &catalog) {
                return Ok(());
            }
            for user in &pinned {
                if !sink.user(pass, user) {
                    return Ok(());
                }
            }
            // The first batch is in memory: every pass of a complete list,
            // the first pass of a longer one (the others read it again).
            if pass == 0 || complete {
                for user in &first {
                    if !sink.user(pass, user) {
                        return Ok(());
                    }
                }
                if complete {
                    continue;
                }
            }
            while source.is_some() {
                let rows = self.fetch_batch(&mut tx).await?;
                let last = rows.len() < STREAM_BATCH;
                for row in rows {
                    if !sink.user(pass, &into_user(row)) {
                        return Ok(());
                    }
                }
                if last {
                    break;
                }
            }
        }
        Database::hand_back(tx).await;
        Ok(())
    }

    /// The tenant catalog a streamed list needs: of the tenants of its
    /// users only, given the whole list (`pinned` and `first`, read before
    /// the catalog); else of every tenant schema.
    async fn list_catalog(
        &self,
        tx: &mut super::ReadTx,
        whole: Option<(&Vec<User>, &Vec<User>)>,
    ) -> Result<TenantCatalog, DbError> {
        let Some((pinned, first)) = whole else {
            return self.tenants_in(tx).await;
        };
        let mut named: Vec<String> = pinned
            .iter()
            .chain(first)
            .filter_map(|u| u.tenant.clone())
            .collect();
        named.sort();
        named.dedup();
        self.tenants_among(tx, Some(&named)).await
    }

    /// The next [`STREAM_BATCH`] rows of the users cursor.
    async fn fetch_batch(&self, tx: &mut super::ReadTx) -> Result<Vec<UserRow>, DbError> {
        self.fetch(tx, STREAM_BATCH).await
    }

    /// The next `count` rows of the users cursor.
    async fn fetch(&self, tx: &mut super::ReadTx, count: usize) -> Result<Vec<UserRow>, DbError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("FETCH {count} FROM tenantscope_users"))
            .persistent(false)
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| self.error(e))?;
        // A sign of life for the client-side deadline: the one
        // connection stays out for the whole list.
        self.progress.touch();
        Ok(rows)
    }

    /// How many users there are: exact when counting is cheap, else the
    /// planner's estimate, so start-up never scans a large table.
    pub async fn user_count(&self) -> Result<UserCount, DbError> {
        self.retried(|| self.user_count_once()).await
    }

    async fn user_count_once(&self) -> Result<UserCount, DbError> {
        let mut count = self.membership_count().await?;
        // Linked users: the people apart from their memberships.
        if let (super::UsersAt::Link, Some(relation)) =
            (self.tables.model.users.at, &self.tables.users_relation)
        {
            let mut tx = self.read_tx().await?;
            let people: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {relation}"))
                .persistent(false)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
            Database::end_read(tx);
            count.people = Some(people);
        }
        Ok(count)
    }

    /// The rows of the users source: users, or memberships where users are
    /// linked to tenants.
    async fn membership_count(&self) -> Result<UserCount, DbError> {
        if self.tables.model.users.at == super::UsersAt::PerTenant {
            let (value, estimated) = self.per_tenant_user_count().await?;
            return Ok(UserCount {
                value,
                estimated,
                ..Default::default()
            });
        }
        let mut tx = self.read_tx().await?;
        // Users gathered from every tenant: no one relation to estimate.
        let (estimate, pages): (f64, i32) = match &self.tables.users_relation {
            Some(relation) => sqlx::query_as(
                "SELECT reltuples::float8, relpages FROM pg_catalog.pg_class WHERE oid = $1::regclass",
            )
            .bind(relation)
            .persistent(self.persistent())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e))?,
            None => (-1.0, 0),
        };
        // Never analyzed (-1) and small, or known small: count exactly.
        if (0.0..EXACT_COUNT_BELOW).contains(&estimate) || (estimate < 0.0 && pages < 1_000) {
            let exact: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {} u",
                self.tables.users_table
            ))
            .persistent(self.persistent())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
            return Ok(UserCount {
                value: exact,
                estimated: false,
                ..Default::default()
            });
        }
        Ok(UserCount {
            value: estimate.max(0.0) as i64,
            estimated: true,
            ..Default::default()
        })
    }

    /// One user by id (compared as text, whatever the id column's type),
    /// in any tenant: [`Database::user_in`].
    pub async fn user(&self, id: &str) -> Result<User, DbError> {
        self.user_in(id, None).await
    }
}

impl Database {
    /// The key a keyset compares with, as a row: the raw bytes of its name
    /// and id (`$2`, `$3`: hex, see `user_columns`) and `with_tenant` its
    /// tenant (`$7`), as text in the collations of the key columns they
    /// meet ([`key_text`], [`ListCollations`]).
    pub(super) fn key_params(&self, with_tenant: bool) -> String {
        let collations = &self.tables.collations;
        let mut params = vec![
            key_text("$2", &collations.name),
            key_text("$3", &collations.id),
        ];
        if with_tenant {
            params.push(key_text("$7", &ListCollation::database_default()));
        }
        format!("({})", params.join(", "))
    }

    /// [`Database::stream_users`] where users live in each of many tenant
    /// schemas: a merge of every batch's own keyset pages (see
    /// `users/merge.rs`: each batch of [`PER_TENANT_BATCH`] tenants read again
    /// only once its users read ahead are handed out), the pinned users
    /// first, `passes` times.
    ///
    /// The first [`STREAM_BATCH`] users are read once, before the tenant
    /// catalog, and kept for every pass: a list that ends within them
    /// (`--limit 100`, most filters) is never read again for a table's
    /// second pass, and needs the catalog of its own tenants only (as the
    /// one-cursor list does). Longer lists read their later users again on
    /// each pass.
    async fn stream_pages(
        &self,
        tx: &mut super::ReadTx,
        request: &PageRequest<'_>,
        passes: u8,
        sink: &mut (dyn UserSink + Send),
        told: &mut bool,
    ) -> Result<(), DbError> {
        let source = self.tables.users_table.clone();
        let pinned: Vec<User> = match request.filter {
            Some(id) => self
                .pinned_rows(tx, id, request.tenant, &source)
                .await?
                .into_iter()
                .map(|row| {
                    let mut user = into_user(row);
                    user.key.pinned = true;
                    user
                })
                .collect(),
            None => Vec::new(),
        };
        let first_size = first_batch(request.limit);
        let mut merge = Some(self.user_merge(request));
        let mut first: Vec<User> = Vec::new();
        while let (true, Some(reading)) = (first.len() < first_size, merge.as_mut()) {
            let rows = reading.next(self, tx, first_size - first.len()).await?;
            if rows.is_empty() {
                break;
            }
            first.extend(rows.into_iter().map(into_user));
        }
        // The whole list: the limit reached, or the users ran out.
        let complete = first_size as i64 == request.limit || first.len() < first_size;
        let catalog = self
            .list_catalog(tx, complete.then_some((&pinned, &first)))
            .await?;
        for pass in 0..passes {
            *told = true;
            if !sink.begin(pass, &catalog) {
                return Ok(());
            }
            for user in pinned.iter().chain(&first) {
                if !sink.user(pass, user) {
                    return Ok(());
                }
            }
            if complete {
                continue;
            }
            // The first pass goes on where the first users ended; the
            // others read the list again from after the last of them, by
            // its key (its tenant included: no other tenant's user of the
            // same name and id is passed over). Counting them off instead
            // would drop or repeat one added or removed between passes.
            let mut reading = match (merge.take(), first.last()) {
                (Some(reading), _) => reading,
                (None, Some(last)) => self.user_merge(request).after(&last.key),
                (None, None) => self.user_merge(request),
            };
            let mut left = usize::try_from(request.limit - first.len() as i64).unwrap_or(0);
            while left > 0 {
                let rows = reading.next(self, tx, left.min(STREAM_BATCH)).await?;
                if rows.is_empty() {
                    break;
                }
                left -= rows.len();
                for row in rows {
                    if !sink.user(pass, &into_user(row)) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Tenants' users tables to a statement (each in a savepoint of its own)
/// where users live in each tenant schema: a statement locks each table
/// and its indexes to the transaction's end, and the server's lock table
/// holds `max_locks_per_transaction` (64 by default) per connection.
pub const PER_TENANT_BATCH: usize = 50;

/// How many users a filtered first page walks in (name, id) order before
/// it asks the planner's way instead (see `walk_first_sql`): a few ms of
/// `ILIKE` at most (1–3 µs a user on 3 columns, measured at 1M users).
pub const WALK_BOUND: i64 = 2_000;
/// Pages longer than this never walk first (the CLI's whole lists; its
/// `--limit 1000` reads 1,001 users, to tell whether more match).
const WALK_LIMIT_MAX: i64 = 1_001;

/// Rows a FETCH of [`Database::stream_users`] reads at a time.
const STREAM_BATCH: usize = 1_000;

/// The size of a stream's first batch of users: a list of up to one more
/// than [`STREAM_BATCH`] is read whole in it (the CLI asks one user past
/// its `--limit`, only to tell whether more match: `--limit 1000` then
/// needs no second batch, nor the catalog of every tenant), a longer one
/// [`STREAM_BATCH`] at a time.
fn first_batch(limit: i64) -> usize {
    match usize::try_from(limit) {
        Ok(limit) if limit <= STREAM_BATCH + 1 => limit,
        _ => STREAM_BATCH,
    }
}

/// Binds a keyset statement's parameters ($1 pattern, $2 and $3 the key,
/// $4 limit, $5 the exact id, $6 the tenant, $7 the key's tenant).
fn keyset_binds<'q, Q: KeysetBind<'q>>(query: Q, request: &PageRequest<'_>) -> Q {
    let key = match request.page {
        Page::From(key) | Page::After(key) | Page::Before(key) => Some(key),
        Page::First | Page::Last => None,
    };
    query
        .bind_text(request.filter.map(contains_pattern))
        .bind_text(key.map(|k| k.name.clone()))
        .bind_text(key.map(|k| k.id.clone()))
        .bind_int(request.limit)
        .bind_text(request.filter.map(str::to_string))
        .bind_text(request.tenant.map(str::to_string))
        .bind_text(key.map(|k| k.tenant.clone()))
}

/// The two kinds of sqlx query [`keyset_binds`] binds to.
trait KeysetBind<'q>: Sized {
    fn bind_text(self, value: Option<String>) -> Self;
    fn bind_int(self, value: i64) -> Self;
}

impl<'q> KeysetBind<'q> for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_text(self, value: Option<String>) -> Self {
        self.bind(value)
    }
    fn bind_int(self, value: i64) -> Self {
        self.bind(value)
    }
}

impl<'q, O> KeysetBind<'q>
    for sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind_text(self, value: Option<String>) -> Self {
        self.bind(value)
    }
    fn bind_int(self, value: i64) -> Self {
        self.bind(value)
    }
}

/// What [`Database::stream_users`] hands the users to, pass by pass.
/// Each method answers whether to go on (false: stop reading, quietly).
pub trait UserSink {
    /// How many passes over the users this sink needs (a table: its
    /// widths, then its lines).
    fn passes(&self) -> u8;
    /// Pass `pass` (from 0) begins; `catalog` names the tenants.
    fn begin(&mut self, pass: u8, catalog: &TenantCatalog) -> bool;
    /// The next user of pass `pass`.
    fn user(&mut self, pass: u8, user: &User) -> bool;
}

/// (id, name, mail, tenant, created, name key, id key, tenant name,
/// tenant key): see `user_columns`.
pub(super) type UserRow = (
    LossyText,
    LossyText,
    Option<LossyText>,
    Option<LossyText>,
    Option<String>,
    String,
    String,
    Option<LossyText>,
    String,
);

/// The places of the pinned keys among themselves ([`pinned_order`]);
/// `None` for the others, ordered after them.
fn pinned_places(keys: &[OrderKey]) -> Vec<Option<i32>> {
    let mut pinned: Vec<(usize, &str, &str)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| Some((i, k.pinned?, k.tenant)))
        .collect();
    pinned.sort_by(|a, b| pinned_order((a.1, a.2), (b.1, b.2)));
    let mut places = vec![None; keys.len()];
    for (place, (i, ..)) in pinned.into_iter().enumerate() {
        places[i] = i32::try_from(place).ok();
    }
    places
}

pub(super) fn into_user(
    (id, name, mail, tenant, created, name_key, id_key, tenant_name, tenant_key): UserRow,
) -> User {
    let invalid_utf8 = [Some(&id), Some(&name), mail.as_ref(), tenant.as_ref()]
        .into_iter()
        .flatten()
        .filter(|t| t.replaced)
        .count();
    let tenant = tenant.map(|t| t.text);
    let tenant_name = tenant_name.map(|t| t.text);
    let tenant_listed = tenant_name.as_ref().or(tenant.as_ref());
    User {
        key: UserKey {
            name: name_key,
            id: id_key,
            tenant: tenant_key,
            pinned: false,
            tenant_listed: tenant_listed.cloned().unwrap_or_default(),
        },
        id: id.text,
        name: name.text,
        mail: mail.map(|m| m.text),
        tenant,
        tenant_name,
        created,
        invalid_utf8,
    }
}

/// Below this many users (by the planner's estimate) an exact count is cheap.
const EXACT_COUNT_BELOW: f64 = 100_000.0;

/// A user count, exact or estimated from planner statistics (shown as `~`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserCount {
    pub value: i64,
    pub estimated: bool,
    /// Where users are linked to tenants (`users = "link"`), `value`
    /// counts memberships (a person in two tenants twice) and this the
    /// people.
    pub people: Option<i64>,
}

/// A user's position in the list order, for keyset paging: the key
/// columns as the hex of their bytes (opaque), and the tenant's listed
/// name, which orders pinned users among themselves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UserKey {
    pub name: String,
    pub id: String,
    /// The user's tenant: the key's last part where users of several
    /// tenants may share a name and an id (users in each tenant schema),
    /// else not compared.
    pub tenant: String,
    /// The exact id match of a filter, listed before everyone else.
    pub pinned: bool,
    /// The tenant as lists name it (the registry's name for it, else its
    /// schema): what orders the pinned users among themselves
    /// ([`pinned_order`]).
    pub tenant_listed: String,
}

/// A user's place in the list's order as [`Database::server_order`]
/// compares it: its key's parts as the hex of their bytes (see
/// `user_columns`), and whether it is pinned (a filter's exact id match,
/// before everyone).
#[derive(Debug, Clone, Copy)]
pub(super) struct OrderKey<'a> {
    name: &'a str,
    id: &'a str,
    tenant: &'a str,
    /// Pinned, with its tenant as lists name it ([`UserKey::tenant_listed`]).
    pinned: Option<&'a str>,
}

impl<'a> From<&'a UserRow> for OrderKey<'a> {
    fn from(row: &'a UserRow) -> OrderKey<'a> {
        OrderKey {
            name: &row.5,
            id: &row.6,
            tenant: &row.8,
            pinned: None,
        }
    }
}

impl<'a> From<&'a UserKey> for OrderKey<'a> {
    fn from(key: &'a UserKey) -> OrderKey<'a> {
        OrderKey {
            name: &key.name,
            id: &key.id,
            tenant: &key.tenant,
            pinned: key.pinned.then_some(key.tenant_listed.as_str()),
        }
    }
}

/// The order of pinned users (a filter's exact id, one a tenant) among
/// themselves, each as (its tenant as lists name it, its tenant key): by
/// tenant as the catalogue lists tenants (the registry's name, else the
/// schema, in [`crate::text::tenant_order`]; see
/// [`crate::db::listing_order`]), then by the key's bytes (its hex keeps
/// their order). The server's collation put `shop10` before `shop2`.
fn pinned_order(a: (&str, &str), b: (&str, &str)) -> std::cmp::Ordering {
    crate::text::tenant_order(a.0, b.0).then_with(|| a.1.cmp(b.1))
}

/// Which page of a keyset-paged list to read: the users list (by
/// [`UserKey`]), or a user's order lines (by order key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page<K = UserKey> {
    First,
    Last,
    /// From this row on, inclusive (a reload keeps the selection).
    From(K),
    After(K),
    Before(K),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk applies to a filtered first page of the demo's shared
    /// users, and its index check holds there (sql/indexes.sql's (name,
    /// id) index), and no longer once that index is dropped: the
    /// data_layer test that compares results both ways passes as well if
    /// the walk never ran.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_walk_applies_where_its_index_serves_it() {
        let test_db = crate::embedded::testing::TestDatabase::demo().await;
        let db = test_db.connect().await;
        let source = db.tables.users_relation.clone().expect("shared users");
        let first = Page::First;
        let request = PageRequest::of_all(Some("dude"), &first, 100);
        assert!(db.walk_first_sql(&request, &source).is_some());
        let next = Page::Last;
        let request = PageRequest::of_all(Some("dude"), &next, 100);
        assert!(db.walk_first_sql(&request, &source).is_none());
        let check = format!("SELECT ({})::text", db.walk_index_check(&source));
        assert_eq!(test_db.query_text(&check).await, "true");
        test_db.run_sql("DROP INDEX public.users_name_id_idx").await;
        assert_eq!(test_db.query_text(&check).await, "false");
        db.close().await;
    }

    /// A page after a key compares in the shared users table's name and
    /// id columns' own collations, as the page's ORDER BY sorts and the
    /// table's (name, id) index holds, whatever the database's default:
    /// the index serves the comparison (an Index Cond, not a filter over
    /// every user from the first) and the order (no Sort), and the walk's
    /// index check holds. Where the database's default is not `C` (ICU's
    /// root) and the column is in it; where the column is `"C"` in that
    /// database; and where it is ICU's in a `C` database. The key's
    /// parameters came in `"C"` (`convert_from`'s `name` argument), which
    /// won over the column's default: pages compared in bytes what was
    /// sorted linguistically, and skipped users; and the list compared in
    /// the database's default whatever the column's: no index served it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_index_serves_the_keyset_in_the_name_columns_collation() {
        use sqlx::Connection;
        const ICU: &str = "LOCALE_PROVIDER icu ICU_LOCALE 'und'";
        for (database, column) in [(ICU, None), (ICU, Some("C")), ("", Some("und-x-icu"))] {
            let what = format!("database {database:?}, name column {column:?}");
            let test_db = crate::embedded::testing::TestDatabase::empty_with(database).await;
            for (_, sql) in crate::embedded::DEMO_SQL {
                test_db.run_sql(sql).await;
            }
            if let Some(collation) = column {
                // The (name, id) index is made again in the column's.
                test_db
                    .run_sql(&format!(
                        "ALTER TABLE public.users ALTER COLUMN name TYPE text COLLATE \"{collation}\""
                    ))
                    .await;
            }
            let db = test_db.connect().await;
            let source = db.tables.users_relation.clone().expect("shared users");
            let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect();
            let after = Page::After(UserKey {
                name: hex("poor_dude"),
                id: hex("2"),
                ..UserKey::default()
            });
            let request = PageRequest::of_all(None, &after, 10);
            let (sql, _) = db.keyset_sql(&request, &source);
            // The demo's few users: a sequential scan is cheaper, and would
            // say nothing.
            let mut conn = sqlx::PgConnection::connect_with(&test_db.options)
                .await
                .unwrap();
            sqlx::raw_sql("SET enable_seqscan = off")
                .execute(&mut conn)
                .await
                .unwrap();
            let plan: Vec<(String,)> =
                keyset_binds(sqlx::query_as(&format!("EXPLAIN {sql}")), &request)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let plan: Vec<String> = plan.into_iter().map(|(line,)| line).collect();
            let plan = plan.join("\n");
            assert!(plan.contains("users_name_id_idx"), "{what}: {plan}");
            assert!(plan.contains("Index Cond: (ROW("), "{what}: {plan}");
            assert!(!plan.contains("Sort"), "{what}: {plan}");
            conn.close().await.ok();
            let check = format!("SELECT ({})::text", db.walk_index_check(&source));
            assert_eq!(test_db.query_text(&check).await, "true", "{what}");
            db.close().await;
        }
    }

    /// A shared users table keeps its (name, id) keyset, which its (name,
    /// id) index serves; users in each tenant schema are keyed and ordered
    /// by tenant too (tenants may share a user's name and id).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_key_goes_on_to_the_tenant_only_where_users_live_in_each_schema() {
        use crate::embedded::testing::TestDatabase;
        let key = UserKey::default();
        let after = Page::After(key);
        let shared = TestDatabase::demo().await;
        let db = shared.connect().await;
        let source = db.tables.users_table.clone();
        let (sql, _) = db.keyset_sql(&PageRequest::of_all(None, &after, 10), &source);
        assert!(!db.key_ties());
        assert!(
            sql.contains(&format!("> {}", db.key_params(false))),
            "{sql}"
        );
        assert!(!sql.contains("$7"), "{sql}");
        db.close().await;
        let per_tenant = TestDatabase::empty().await;
        for statement in crate::fixtures::many_tenants_sql(3) {
            per_tenant.run_sql(&statement).await;
        }
        let db = per_tenant.connect().await;
        let source = db.tables.users_table.clone();
        let (sql, _) = db.keyset_sql(&PageRequest::of_all(None, &after, 10), &source);
        assert!(db.key_ties());
        assert!(sql.contains(&format!("> {}", db.key_params(true))), "{sql}");
        let tenant = db.tenant_key();
        assert!(sql.contains(&format!("{tenant} ASC")), "{sql}");
        db.close().await;
    }

    /// A sink counting what it is told.
    #[derive(Default)]
    struct Count(usize);

    impl UserSink for Count {
        fn passes(&self) -> u8 {
            1
        }
        fn begin(&mut self, _: u8, _: &TenantCatalog) -> bool {
            true
        }
        fn user(&mut self, _: u8, _: &User) -> bool {
            self.0 += 1;
            true
        }
    }

    /// A command reads on one server connection (here on one thread, the
    /// strictest case: a return spawned on a task runs only when the test
    /// awaits): the connect path's read transaction has given its
    /// connection back to the pool when connecting returns, so the
    /// command's first read takes that one (dropped, it went back on a task
    /// of its own, run only later: the read opened a second connection, a
    /// new server backend, or waited on a timer); and `users`' stream gives
    /// its own back before it returns, so closing finds nothing on its way
    /// back to wait for (it polled every millisecond).
    #[tokio::test(flavor = "current_thread")]
    async fn a_command_reads_on_one_connection_back_in_the_pool_between_reads() {
        use crate::embedded::testing::TestDatabase;
        let many_tenants = TestDatabase::empty().await;
        for statement in crate::fixtures::many_tenants_sql(PER_TENANT_BATCH + 10) {
            many_tenants.run_sql(&statement).await;
        }
        // One cursor over the shared users table, with the default pool;
        // keyset pages over many tenants' users tables, with a pool of one
        // (batches in turn, on the stream's own connection: others side by
        // side return on their own time).
        let defaults = crate::config::Settings::default();
        let mut alone = defaults.clone();
        alone.database.max_connections = 1;
        for (test_db, settings) in [
            (TestDatabase::demo().await, &defaults),
            (many_tenants, &alone),
        ] {
            let source = crate::db::ConnectionSource::demo(test_db.options.clone());
            let db = Database::connect(&source, settings).await.unwrap();
            let connections = |db: &Database| (db.pool.size(), db.pool.num_idle());
            assert_eq!(connections(&db), (1, 1), "after connecting");
            let mut sink = Count::default();
            let query = UserQuery {
                filter: None,
                limit: Some(100),
            };
            db.stream_users(&query, None, &mut sink).await.unwrap();
            assert!(sink.0 > 0, "no users streamed");
            assert_eq!(connections(&db), (1, 1), "after the stream");
            let every_place = db.grant.size() as usize;
            assert_eq!(db.grant.free(), every_place, "a place still held");
            db.close().await;
        }
    }

    #[test]
    fn filter_pattern_is_literal() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn tenant_status_is_exact() {
        let catalog = TenantCatalog::new(vec!["acme".into()]);
        let user = |tenant: Option<&str>| User {
            id: "1".into(),
            name: "n".into(),
            mail: Some("m".into()),
            tenant: tenant.map(str::to_string),
            tenant_name: None,
            created: None,
            key: UserKey::default(),
            invalid_utf8: 0,
        };
        assert_eq!(catalog.status_of(&user(Some("acme"))), SchemaState::Ok);
        assert_eq!(
            catalog.status_of(&user(Some("Acme"))),
            SchemaState::NoSchema
        );
        assert_eq!(catalog.status_of(&user(Some(""))), SchemaState::NoTenant);
        assert_eq!(catalog.status_of(&user(None)), SchemaState::NoTenant);
    }
}
