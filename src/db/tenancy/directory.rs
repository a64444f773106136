//! The dashboard's tenant-first reading: the tenants as the registry names
//! them (the tenants pane), the users of one tenant only (a database
//! scoped to it), and a search for users across tenant schemas, one batch
//! of schemas per statement.

use std::collections::HashMap;
use std::sync::Arc;

use super::connect::per_tenant_users;
use super::UsersAt;
use crate::db::lossy::{raw, LossyText};
use crate::db::sql::{quote_ident, quote_literal};
use crate::db::users::{into_user, OrderKey, UserRow};
use crate::db::{Count, Database, DbError, QueryHandle, User, UserKey};

/// Tenant schemas per search statement: small enough that the first
/// results show at once, large enough that 2,000 tenants take 40 statements.
pub const SEARCH_BATCH: usize = 50;
/// Tenant schemas a search asks for after its first batch: the database
/// reads them [`SEARCH_BATCH`] to a statement, side by side (three: the
/// dashboard's default pool of 4, one left for the other loads).
pub const SEARCH_WIDE_BATCH: usize = 3 * SEARCH_BATCH;
/// Matches kept per tenant schema in one search (a search for "a" in a
/// tenant of 100,000 users is not a list anyone reads).
pub const SEARCH_PER_TENANT: usize = 100;

/// A tenant of the tenants pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantEntry {
    /// The registry's key (the schema name when there is no registry).
    pub key: String,
    /// What people call it (the key when the registry has no label).
    pub label: String,
    /// Empty for the users with no organization id (NULL or empty): no
    /// schema has an empty name. For [`SchemaState::NoSchema`], the id
    /// naming none, what its users are counted and listed by.
    pub schema: String,
    pub state: SchemaState,
    /// Its users, when counted (see [`Database::tenant_directory`]): past
    /// [`crate::db::EXACT_TENANT_TABLES_UP_TO`] users tables in tenant
    /// schemas or for a locked one, the table's statistics, marked
    /// estimated.
    pub users: Option<Count>,
    /// Citus: the node (`host:port`) holding its schema.
    pub node: Option<String>,
}

/// Whether a tenant has its schema, and if not, why: one word for each in
/// every view (`tenants`, `users`, `health`, the tenants pane, exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// The schema exists and holds the tenant tables.
    Ok,
    /// A registry names the tenant, but its schema is gone (or lacks the
    /// tenant tables).
    Missing,
    /// An organization id that names no schema: no schema has its name, or
    /// (where a registry maps ids to schemas) the registry maps it to none.
    NoSchema,
    /// An organization id naming a schema that exists but lacks the tenant
    /// tables (a migration that stopped half way).
    Incomplete,
    /// The users with no organization id (NULL or empty).
    NoTenant,
}

impl SchemaState {
    pub fn word(self) -> &'static str {
        match self {
            SchemaState::Ok => "ok",
            SchemaState::Missing => "schema missing",
            SchemaState::NoSchema => "no schema",
            SchemaState::Incomplete => "incomplete",
            SchemaState::NoTenant => "none",
        }
    }
}

/// What one batch of a cross-tenant search found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchBatch {
    /// Matching users, in the users list's order (see
    /// [`Database::search_users`]); `tenant` is their schema.
    pub users: Vec<User>,
    /// The users shown before the batch (the search's `shown`) and the
    /// batch's own, together in the users list's order: indexes into the
    /// shown users (`0..shown`), then into `users`. Empty (a batch made
    /// by hand): `users` go after the shown ones.
    pub order: Vec<usize>,
    /// Schemas that could not be searched, with why (a dropped schema, a
    /// users table that drifted): the rest of the batch is still searched.
    pub failed: Vec<(String, String)>,
    /// Tenants (or the shared table) with more than [`SEARCH_PER_TENANT`]
    /// matches: only that many of each are kept.
    pub capped: usize,
}

impl SearchBatch {
    /// The batch's users put among `shown` (the users the search was asked
    /// with, in their order), all in the users list's order.
    pub fn merge_into(&mut self, shown: &mut Vec<User>) {
        let found = std::mem::take(&mut self.users);
        if self.order.len() != shown.len() + found.len() {
            shown.extend(found);
            return;
        }
        let mut slots: Vec<Option<User>> = shown.drain(..).chain(found).map(Some).collect();
        shown.extend(
            self.order
                .iter()
                .filter_map(|&i| slots.get_mut(i).and_then(Option::take)),
        );
    }
}

/// `user`'s place in a search for `text`, as in the users list filtered
/// by it: its list key, pinned (before everyone) where its id is `text`.
/// What a search's next batch is asked with for the users it shows.
pub fn search_key(user: &User, text: &str) -> UserKey {
    UserKey {
        pinned: user.id == text,
        ..user.key.clone()
    }
}

impl TenantEntry {
    /// What the tenants are listed by: see [`crate::db::listing_order`].
    fn listed(&self) -> (&str, &str, &str) {
        (&self.label, &self.key, &self.schema)
    }

    /// A tenant known by its schema's name alone (no registry names it).
    pub fn of_schema(schema: String, state: SchemaState, users: Option<Count>) -> TenantEntry {
        TenantEntry {
            key: schema.clone(),
            label: schema.clone(),
            schema,
            state,
            users,
            node: None,
        }
    }

    /// The users with no organization id (NULL or empty), listed after the
    /// tenants: no tenant's.
    pub fn no_tenant(users: Option<Count>) -> TenantEntry {
        TenantEntry {
            key: String::new(),
            label: String::new(),
            schema: String::new(),
            state: SchemaState::NoTenant,
            users,
            node: None,
        }
    }

    pub fn is_no_tenant(&self) -> bool {
        self.state == SchemaState::NoTenant
    }

    /// The schema exists and holds the tenant tables.
    pub fn present(&self) -> bool {
        self.state == SchemaState::Ok
    }
}

impl Database {
    /// The tenants: registry rows (key, label, schema, whether the schema
    /// is there) or, without a registry, the tenant schemas. With
    /// `count_users`, each tenant's users too and, after them, the
    /// organization ids naming no tenant schema: one `GROUP BY` over a
    /// shared users table, as `health` counts it, or one `count(*)` per
    /// tenant's own users table (past [`crate::db::EXACT_TENANT_TABLES_UP_TO`]
    /// of them, an analyzed table's statistics, as `tenants` counts them).
    /// A count that fails (a tenant's users table is gone) leaves the
    /// counts out.
    pub async fn tenant_directory(&self, count_users: bool) -> Result<Vec<TenantEntry>, DbError> {
        self.retried(|| async move {
            let model = &self.tables.model;
            let schemas = self.tenants().await?;
            let registry = &model.schemas.registry;
            let mut entries: Vec<TenantEntry> = match registry.complete() {
                Some(_) => {
                    let mut tx = self.read_tx().await?;
                    let rows = self.registry_rows(&mut tx).await?;
                    Database::end_read(tx);
                    rows.into_iter()
                        .map(|(key, label, schema)| {
                            let state = match schemas.contains(&schema) {
                                true => SchemaState::Ok,
                                false => SchemaState::Missing,
                            };
                            TenantEntry {
                                label,
                                key,
                                state,
                                schema,
                                users: None,
                                node: None,
                            }
                        })
                        .collect()
                }
                _ => schemas
                    .names()
                    .iter()
                    .map(|schema| TenantEntry::of_schema(schema.clone(), SchemaState::Ok, None))
                    .collect(),
            };
            // Citus: the node of each schema, in one statement.
            if self.tables.citus {
                let present: Vec<&str> = entries
                    .iter()
                    .filter(|e| e.present())
                    .map(|e| e.schema.as_str())
                    .collect();
                let mut tx = self.read_tx().await?;
                let nodes = self
                    .quoted_tenants_on_nodes(&mut tx, &present)
                    .await
                    .map_err(|e| self.error(e))?;
                Database::end_read(tx);
                for entry in entries.iter_mut() {
                    entry.node = nodes
                        .iter()
                        .find(|(schema, ..)| *schema == entry.schema)
                        .and_then(|(.., node)| node.clone());
                }
            }
            // As the catalogue lists them.
            entries.sort_by(|a, b| crate::db::listing_order(a.listed(), b.listed()));
            if count_users {
                let missing: Vec<&String> = entries
                    .iter()
                    .filter(|e| !e.present())
                    .map(|e| &e.schema)
                    .collect();
                let incomplete = self.users_of_incomplete(&missing).await;
                let counts = self.users_by_tenant().await;
                match counts.map(|c| c.into_iter().chain(incomplete).collect::<HashMap<_, _>>()) {
                    Ok(counts) => {
                        // A registered tenant whose schema is gone keeps
                        // the users counted for it in a shared table (none
                        // is 0, as `tenants` says); users in each tenant
                        // schema, those its schema still holds, if any.
                        let shared = model.users.at != UsersAt::PerTenant;
                        for entry in entries.iter_mut() {
                            let counted = counts.get(&entry.schema).copied();
                            entry.users = if entry.present() || shared {
                                Some(counted.unwrap_or(Count::exact(0)))
                            } else {
                                counted
                            };
                        }
                        entries.extend(ids_without_schema(&entries, counts, &schemas));
                    }
                    Err(error) => tracing::info!(%error, "tenant user counts left out"),
                }
            }
            Ok(entries)
        })
        .await
    }

    /// The registry's (key, label, schema) rows: the label is the key
    /// where the registry has no label column or a NULL one; rows without a
    /// key or schema are left out, and so are rows naming the shared schema
    /// (django-tenants registers it too) or an ignored one: no tenant's.
    /// None without a registry.
    pub(crate) async fn registry_rows(
        &self,
        tx: &mut sqlx::PgConnection,
    ) -> Result<Vec<(String, String, String)>, DbError> {
        let model = &self.tables.model;
        let registry = &model.schemas.registry;
        let Some((table, key, expr)) = registry.complete() else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {key}, {label}, {schema} FROM {shared}.{table} r",
            shared = quote_ident(&model.schemas.shared),
            table = quote_ident(table),
            key = raw(&format!("r.{}::text", quote_ident(key))),
            // An empty label names nothing: the key names the tenant.
            label = raw(&format!(
                "nullif(r.{}::text, '')",
                quote_ident(registry.label.as_deref().unwrap_or(key))
            )),
            // A row naming no schema (NULL or empty) is no tenant's (see
            // `health`'s unnamed rows).
            schema = raw(&format!("nullif(({expr})::text, '')")),
        );
        type Row = (Option<LossyText>, Option<LossyText>, Option<LossyText>);
        let rows: Vec<Row> = sqlx::query_as(&sql)
            .persistent(false)
            .fetch_all(tx)
            .await
            .map_err(|e| self.error(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, label, schema)| {
                let (key, schema) = (key?.text, schema?.text);
                Some((label.map_or_else(|| key.clone(), |l| l.text), key, schema))
            })
            .filter(|(.., schema)| !model.schemas.never_a_tenant(schema))
            .map(|(label, key, schema)| (key, label, schema))
            .collect())
    }

    /// This database with its users narrowed to one tenant schema: where
    /// users live in each tenant, that schema's users table alone (not the
    /// union over every tenant); else the shared table filtered on the
    /// tenant column (`schema` empty: the users with no organization id).
    /// Every users query (pages, filter, id) then reads only that tenant.
    pub fn scoped_to(&self, schema: &str) -> Database {
        let mut tables = (*self.tables).clone();
        tables.users_table = self.tenant_source(schema);
        tables.users_relation = None;
        // One tenant's source, read as it is (no union of branches).
        let left_out = self
            .tables
            .tenant_branches
            .iter()
            .find(|b| b.schema == schema);
        tables.scope_left_out = left_out
            .filter(|b| !b.missing.is_empty())
            .map(|b| (b.schema.clone(), b.missing.clone()));
        tables.tenant_branches = Default::default();
        Database {
            tables: Arc::new(tables),
            ..self.clone()
        }
    }

    /// The users FROM item of one tenant schema. Borrows the layout: the
    /// search builds one per schema, and the layout holds every tenant's.
    pub(in crate::db) fn tenant_source(&self, schema: &str) -> String {
        let tables = &self.tables;
        let n = &tables.names;
        if tables.model.users.at == UsersAt::PerTenant {
            // That tenant's branch of the union (with its registry name);
            // a schema the union lacks is read anyway, so that its error shows.
            return self.users_source(Some(schema)).unwrap_or_else(|| {
                let table = quote_ident(&tables.model.users.table);
                let select = per_tenant_users(
                    tables,
                    &quote_ident(schema),
                    &quote_literal(schema),
                    &table,
                    "NULL",
                );
                format!("({select})")
            });
        }
        // The columns the users queries read, by name: a role denied
        // the password column may not select `*`.
        let mut columns = vec![n.user_id.clone(), n.user_name.clone()];
        if tables.has_mail {
            columns.push(n.user_mail.clone());
        }
        if tables.has_created {
            columns.push(n.user_created.clone());
        }
        if !columns.contains(&tables.tenant_column) {
            columns.push(tables.tenant_column.clone());
        }
        columns.extend(tables.tenant_name_column.clone());
        columns.extend(tables.org_id_column.clone());
        let columns: Vec<String> = columns.iter().map(|c| format!("s.{c}")).collect();
        let tenant = tables.tenant_of("s");
        let condition = match schema {
            "" => format!("nullif({tenant}, '') IS NULL"),
            _ => format!("{tenant} = {}", quote_literal(schema)),
        };
        format!(
            "(SELECT {columns} FROM {users} s WHERE {condition})",
            columns = columns.join(", "),
            users = tables.users_table,
        )
    }

    /// Users whose id is `text` or whose name or mail contains it
    /// (case-insensitive), in `schemas` (where users live in each tenant:
    /// one statement per [`SEARCH_BATCH`] schemas, [`Database::side_by_side`]) or, with users in one shared table, in all of
    /// it (`schemas` is then ignored). A statement the server refuses is run
    /// again schema by schema, so that one broken tenant is named and the
    /// others are still searched.
    ///
    /// In the users list's order, as the list filtered by `text` has it:
    /// the exact id first, then by name, id and tenant in the list's
    /// collations (a shared table's own name and id collations, else the
    /// database's default), as the server compares them.
    /// `shown` are the keys of the users the search shows already (its
    /// earlier batches', in that order, [`search_key`]): the batch's users
    /// are placed among them by the server, in the statement that merges
    /// the list's batches of tenants ([`SearchBatch::order`]), so a later
    /// tenant's users go where the list has them, not after the others.
    pub async fn search_users(
        &self,
        text: &str,
        schemas: &[String],
        shown: &[UserKey],
        handle: Option<&QueryHandle>,
    ) -> Result<SearchBatch, DbError> {
        self.retried(|| async move {
            let per_tenant = self.tables.model.users.at == UsersAt::PerTenant;
            let mut batch = SearchBatch::default();
            let members: Vec<(Option<&String>, String)> = if per_tenant {
                let mut readable = Vec::new();
                for schema in schemas {
                    // Its users cannot be read: said, not asked of the server.
                    match self.users_readable(Some(schema)) {
                        Ok(()) => readable.push(schema),
                        Err(e) => batch.failed.push((schema.clone(), e.to_string())),
                    }
                }
                let select = |schema: &String| self.search_select(&self.tenant_source(schema));
                readable.into_iter().map(|s| (Some(s), select(s))).collect()
            } else {
                vec![(None, self.search_select(&self.tables.users_table))]
            };
            // More schemas than one statement reads: statements of
            // SEARCH_BATCH schemas side by side, answering to one cancel,
            // their results in the schemas' order.
            let shared = handle.map(QueryHandle::shared);
            let handle = shared.as_ref();
            let parts = self
                .side_by_side(
                    members
                        .chunks(SEARCH_BATCH)
                        .map(|part| self.search_part(part, text, handle))
                        .collect(),
                )
                .await;
            let mut found = Vec::new();
            for part in parts {
                let (users, failed) = part?;
                found.extend(users);
                batch.failed.extend(failed);
            }
            let order = self.search_order(text, shown, &found, handle).await?;
            if let Some(handle) = handle {
                handle.finished();
            }
            // Each tenant's first in that order are kept: the cap never
            // drops the user whose id was typed for users whose name or
            // tenant merely contains it.
            (batch.users, batch.order, batch.capped) =
                place_capped(shown.len(), found, &order, per_tenant);
            Ok(batch)
        })
        .await
    }

    /// The list's order of the users `shown` and those `found` after them
    /// ([`Database::server_order`], one statement, none when there is
    /// nothing to place): indexes into `shown`, then into `found`.
    async fn search_order(
        &self,
        text: &str,
        shown: &[UserKey],
        found: &[User],
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<usize>, DbError> {
        let all = shown.len() + found.len();
        if found.is_empty() || all < 2 {
            return Ok((0..all).collect());
        }
        let found: Vec<UserKey> = found.iter().map(|u| search_key(u, text)).collect();
        let keys = shown.iter().chain(&found).map(OrderKey::from);
        let mut tx = self.tracked_tx(handle).await?;
        let order = self
            .server_order(&mut tx, keys, false, all as i64, self.key_ties())
            .await?;
        Database::end_read(tx);
        // Each of them once.
        let mut each = order.clone();
        each.sort_unstable();
        if !each.into_iter().eq(0..all) {
            return Err(DbError::Query(
                "the search's order came back incomplete".into(),
            ));
        }
        Ok(order)
    }

    /// One statement over `members` (schema, select), each member alone
    /// when the server refuses it: the users found, and the schemas that
    /// could not be searched, with why.
    async fn search_part(
        &self,
        members: &[(Option<&String>, String)],
        text: &str,
        handle: Option<&QueryHandle>,
    ) -> Result<(Vec<User>, Vec<(String, String)>), DbError> {
        let mut failed = Vec::new();
        let all: Vec<&str> = members.iter().map(|(_, s)| s.as_str()).collect();
        let users = match self
            .search_statement(&all.join("\n UNION ALL "), text, handle)
            .await
        {
            Ok(users) => users,
            Err(sqlx::Error::Database(_)) if members.len() > 1 => {
                let mut users = Vec::new();
                for (schema, select) in members {
                    match self.search_statement(select, text, handle).await {
                        Ok(found) => users.extend(found),
                        Err(e @ sqlx::Error::Database(_)) => {
                            let schema = schema.cloned().unwrap_or_default();
                            failed.push((schema, self.error(e).to_string()));
                        }
                        // Not that tenant's data: the connection or the pool.
                        Err(e) => return Err(self.error(e)),
                    }
                }
                users
            }
            Err(e @ sqlx::Error::Database(_)) => {
                let schema = members[0].0.cloned().unwrap_or_default();
                failed.push((schema, self.error(e).to_string()));
                Vec::new()
            }
            Err(e) => return Err(self.error(e)),
        };
        Ok((users, failed))
    }

    /// One member of a search statement: `$1` the ILIKE pattern, `$2` the
    /// exact id; the name, mail or tenant (as the users filter has it)
    /// contains the text, or the id is it.
    fn search_select(&self, source: &str) -> String {
        let n = &self.tables.names;
        let mail = if self.tables.has_mail {
            format!("OR u.{}::text ILIKE $1", n.user_mail)
        } else {
            String::new()
        };
        format!(
            "(SELECT {columns} FROM {source} u
               WHERE u.{id}::text = $2 OR u.{name}::text ILIKE $1 {mail} OR ({tenant})
               ORDER BY u.{id}::text = $2 DESC, {name_key}, {id_key} LIMIT {over})",
            columns = self.user_columns(),
            id = n.user_id,
            name = n.user_name,
            tenant = self.tenant_matches(),
            name_key = self.tables.name_key,
            id_key = self.tables.id_key,
            // One more than is kept: says that there were more.
            over = SEARCH_PER_TENANT + 1,
        )
    }

    /// Runs one search statement in its own batch transaction (see
    /// [`Database::batch_tx`]: a tenant table held locked is given up after
    /// the lock timeout, not the statement's), cancellable through
    /// `handle`; the error stays a `sqlx::Error` to tell a refused
    /// statement from a lost connection.
    async fn search_statement(
        &self,
        sql: &str,
        text: &str,
        handle: Option<&QueryHandle>,
    ) -> Result<Vec<User>, sqlx::Error> {
        let mut tx = self.batch_tx(handle).await?;
        let rows: Vec<UserRow> = sqlx::query_as(sql)
            .bind(crate::db::users::contains_pattern(text))
            .bind(text)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await?;
        Database::end_read(tx);
        Ok(rows.into_iter().map(into_user).collect())
    }
}

/// `found` placed among `shown` users as `order` says (the list's order
/// of them all: indexes into the shown users, then into `found`), keeping
/// at most [`SEARCH_PER_TENANT`] of each tenant's found users (of all,
/// with one shared users table), the first in that order: the users kept
/// in that order, the order of the shown users and those (as
/// [`SearchBatch::order`]), and how many tenants had more.
fn place_capped(
    shown: usize,
    found: Vec<User>,
    order: &[usize],
    per_tenant: bool,
) -> (Vec<User>, Vec<usize>, usize) {
    let mut slots: Vec<Option<User>> = found.into_iter().map(Some).collect();
    let mut seen: HashMap<Option<String>, usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut placed = Vec::with_capacity(order.len());
    for &i in order {
        if i < shown {
            placed.push(i);
            continue;
        }
        let Some(user) = slots.get_mut(i - shown).and_then(Option::take) else {
            continue;
        };
        let tenant = per_tenant.then(|| user.tenant.clone()).flatten();
        let count = seen.entry(tenant).or_default();
        *count += 1;
        if *count <= SEARCH_PER_TENANT {
            placed.push(shown + kept.len());
            kept.push(user);
        }
    }
    let capped = seen.values().filter(|&&n| n > SEARCH_PER_TENANT).count();
    (kept, placed, capped)
}

/// Organization ids of users that name no tenant schema, after the
/// tenants (as `tenants` lists them): a support desk looks for a customer
/// there whether or not its schema was ever made; then the users with no
/// organization id (counted under the empty name). Counted from a shared
/// users table (where users live per tenant, `counts` holds no such id).
fn ids_without_schema(
    entries: &[TenantEntry],
    counts: std::collections::HashMap<String, Count>,
    schemas: &crate::db::TenantCatalog,
) -> Vec<TenantEntry> {
    let listed: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.schema.as_str()).collect();
    let mut ids: Vec<(String, Count)> = counts
        .into_iter()
        .filter(|(id, users)| users.value > 0 && !listed.contains(id.as_str()))
        .collect();
    // The users with no organization id last.
    ids.sort_by(|a, b| (a.0.is_empty(), &a.0).cmp(&(b.0.is_empty(), &b.0)));
    ids.into_iter()
        .map(|(id, users)| match id.as_str() {
            "" => TenantEntry::no_tenant(Some(users)),
            _ => {
                let state = match schemas.is_other_schema(&id) {
                    true => SchemaState::Incomplete,
                    false => SchemaState::NoSchema,
                };
                TenantEntry::of_schema(id, state, Some(users))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str, tenant: &str) -> User {
        crate::fixtures::user(id, name, tenant)
    }

    fn names(users: &[User]) -> Vec<&str> {
        users.iter().map(|u| u.name.as_str()).collect()
    }

    /// A batch's users go among those shown where the server's order puts
    /// them; each tenant keeps its first in that order (the exact id the
    /// server put first), and the order is of those kept.
    #[test]
    fn a_batch_is_placed_among_the_users_shown_and_capped_in_that_order() {
        let mut shown = vec![user("1", "alice", "t1"), user("2", "carol", "t1")];
        // The server's order: the exact id 7 first, then by name.
        let mut found = vec![user("3", "Bob", "t2"), user("4", "dave", "t2")];
        found.extend((0..SEARCH_PER_TENANT).map(|i| user(&format!("x{i}"), "zed", "t3")));
        found.push(user("7", "zz", "t3"));
        let shown_len = shown.len();
        let last = shown_len + found.len() - 1;
        let mut order = vec![last, 0, shown_len, 1, shown_len + 1];
        order.extend(shown_len + 2..last);
        let (kept, placed, capped) = place_capped(shown_len, found, &order, true);
        assert_eq!(capped, 1, "t3 had one more");
        assert_eq!(kept.len(), 2 + SEARCH_PER_TENANT);
        assert_eq!(kept[0].name, "zz", "the exact id kept");
        assert_eq!(kept.last().map(|u| u.id.as_str()), Some("x98"), "x99 cut");
        let mut batch = SearchBatch {
            users: kept,
            order: placed,
            ..SearchBatch::default()
        };
        batch.merge_into(&mut shown);
        assert_eq!(names(&shown[..5]), ["zz", "alice", "Bob", "carol", "dave"]);
        assert_eq!(shown.len(), 4 + SEARCH_PER_TENANT);
    }

    /// A batch made without an order of them all (by hand) goes after the
    /// users shown.
    #[test]
    fn a_batch_without_an_order_goes_after_the_users_shown() {
        let mut shown = vec![user("1", "b", "t1")];
        let mut batch = SearchBatch {
            users: vec![user("2", "a", "t2")],
            ..SearchBatch::default()
        };
        batch.merge_into(&mut shown);
        assert_eq!(names(&shown), ["b", "a"]);
    }

    /// The users a search shows are asked with their list keys, the exact
    /// id pinned (before everyone, as the list filtered by it has them);
    /// the user itself keeps its key as the list reads from it.
    #[test]
    fn the_exact_id_is_pinned_in_the_search_key_only() {
        let user = user("42", "x", "t1");
        assert!(search_key(&user, "42").pinned);
        assert!(!search_key(&user, "4").pinned);
        assert!(!user.key.pinned);
        assert_eq!(search_key(&user, "4").name, user.key.name);
    }
}
