//! A tenant as people name it (`--tenant T`): its registry key, its label
//! or its schema name, matched exactly.

use crate::db::users::into_user;
use crate::db::{Database, DbError, TenantCatalog, User};

/// How many names an error lists before "…".
const LISTED: usize = 20;

/// `names` quoted, the first [`LISTED`] of them.
pub(super) fn listed(names: &[String]) -> String {
    shown(names.iter().map(|n| crate::text::quoted(n)).collect())
}

/// `names` as they are (quoted already), the first [`LISTED`] of them.
fn shown(mut names: Vec<String>) -> String {
    let all = names.len();
    names.truncate(LISTED);
    if all > LISTED {
        names.push(format!("… ({} in all)", crate::text::thousands(all as i64)));
    }
    names.join(", ")
}

impl Database {
    /// The schema of the tenant named `name` in `catalog` (read already):
    /// a tenant schema's name, or a registry row's key or label. Unknown or
    /// ambiguous: a usage error listing the candidates; a registered tenant
    /// whose schema is gone: [`DbError::SchemaMissing`]; a schema of that
    /// name without the tenant tables: [`DbError::TenantTableMissing`].
    pub async fn resolve_in(&self, catalog: &TenantCatalog, name: &str) -> Result<String, DbError> {
        match self.named_in(catalog, name)? {
            Err(unknown @ DbError::Setting(_)) => {
                Err(self.incomplete_or(catalog, name, unknown).await)
            }
            named => named,
        }
    }

    /// The table a schema named `name` lacks, where `catalog` knows it as
    /// such (a migration that stopped half way), else `unknown`.
    async fn incomplete_or(
        &self,
        catalog: &TenantCatalog,
        name: &str,
        unknown: DbError,
    ) -> DbError {
        if !catalog.is_other_schema(name) {
            return unknown;
        }
        let Ok(mut tx) = self.read_tx().await else {
            return unknown;
        };
        let why = self.why_not_a_tenant(&mut tx, name).await;
        Database::end_read(tx);
        match why {
            missing @ DbError::TenantTableMissing { .. } => missing,
            _ => unknown,
        }
    }

    /// The schema of the tenant named `name` ([`Database::resolve_in`]),
    /// `None` where no tenant is named so (the caller may take the name
    /// as a schema's); ambiguous, or registered with its schema gone: the
    /// error.
    pub async fn schema_if_named(&self, name: &str) -> Result<Option<String>, DbError> {
        match self.tenant_named(name).await? {
            Ok(schema) => Ok(Some(schema)),
            Err(DbError::Setting(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// [`Database::resolve_in`] in a catalog read now, with a name no
    /// tenant has apart from the other failures: `Ok(Err(unknown))`, the
    /// error listing the tenants closest to it.
    async fn tenant_named(&self, name: &str) -> Result<Result<String, DbError>, DbError> {
        let schemas = self.retried(|| self.tenants()).await?;
        self.named_in(&schemas, name)
    }

    /// [`Database::tenant_named`] in the catalog `schemas`.
    fn named_in(
        &self,
        schemas: &TenantCatalog,
        name: &str,
    ) -> Result<Result<String, DbError>, DbError> {
        // (key, label, schema) of every registered tenant.
        let mut rows: Vec<(String, String, String)> = schemas
            .names()
            .iter()
            .map(|s| (s.clone(), s.clone(), s.clone()))
            .collect();
        // (key, label, schema) of registered tenants whose schema is gone;
        // the catalog carries the registry's rows (read with it).
        let mut gone: Vec<(String, String, String)> = Vec::new();
        for (schema, key, label) in schemas.registered() {
            let row = (key.to_string(), label.to_string(), schema.to_string());
            match schemas.contains(schema) {
                true => rows.push(row),
                false => gone.push(row),
            }
        }
        let named = |(key, label, schema): &&(String, String, String)| {
            key == name || label == name || schema == name
        };
        let mut matches: Vec<&String> = rows.iter().filter(named).map(|r| &r.2).collect();
        matches.sort_by(|a, b| schemas.order(a, b));
        matches.dedup();
        // Registered, schema gone: named, and answered so (not
        // "unknown"); beside a tenant of the same name, ambiguous (it
        // went to the other silently).
        // One each: the catalog keeps a registry row per schema.
        let mut gone: Vec<&(String, String, String)> = gone.iter().filter(named).collect();
        gone.sort_by(|a, b| schemas.order(&a.2, &b.2));
        match (matches.as_slice(), gone.as_slice()) {
            ([one], []) => Ok(Ok((*one).clone())),
            ([], [(_, label, schema)]) => Ok(Err(DbError::SchemaMissing {
                tenant: label.clone(),
                schema: schema.clone(),
            })),
            ([], []) => Ok(Err(schemas.unknown(name))),
            (many, gone) => {
                let quoted = crate::text::quoted;
                let candidates = many.iter().map(|s| quoted(s)).chain(
                    gone.iter()
                        .map(|(.., s)| format!("{} (schema missing)", quoted(s))),
                );
                Err(DbError::Setting(format!(
                    "tenant {} is ambiguous: schemas {}",
                    crate::text::quoted(name),
                    shown(candidates.collect())
                )))
            }
        }
    }

    /// Whose users `--tenant T` lists: the tenant [`Database::resolve_in`]
    /// finds, else an organization id some user has that names no tenant
    /// schema (`tenants` and the tenants pane list those), as stored.
    pub async fn resolve_users_tenant(&self, name: &str) -> Result<String, DbError> {
        match self.tenant_named(name).await? {
            Err(unknown @ DbError::Setting(_)) => match self.has_users_of(name).await? {
                true => Ok(name.to_string()),
                false => Err(unknown),
            },
            named => named,
        }
    }

    /// Some user's organization id is `id`, and names no tenant schema.
    async fn has_users_of(&self, id: &str) -> Result<bool, DbError> {
        self.retried(|| async move {
            let Some(users) = self.users_source(Some(id)) else {
                return Ok(false);
            };
            let tables = &self.tables;
            // The id as stored, where a registry maps ids to schemas: a
            // condition the server can test before it looks the id up.
            let condition = match &tables.org_id_column {
                Some(org) => format!("u.{org} = $1 AND u.{} IS NULL", tables.tenant_column),
                None => format!("{} = $1", tables.tenant_of("u")),
            };
            let sql = format!("SELECT 1 FROM {users} u WHERE {condition} LIMIT 1");
            let query = sqlx::query_as::<_, (i32,)>(&sql).bind(id);
            Ok(!self.rows_in_own_read(query, None).await?.is_empty())
        })
        .await
    }

    /// One user by id, of the tenant named `tenant` (a schema, or a
    /// registry key or label, or an organization id naming no schema) when
    /// given: `--tenant T` with a user id.
    pub async fn user_of_tenant(&self, id: &str, tenant: Option<&str>) -> Result<User, DbError> {
        let Some(tenant) = tenant else {
            return self.user_in(id, None).await;
        };
        let schema = self.resolve_users_tenant(tenant).await?;
        match self.user_in(id, Some(&schema)).await {
            // Say where the id is, if it is one user elsewhere.
            Err(DbError::UserNotFound { .. }) => {
                let elsewhere = self.user_in(id, None).await.ok();
                let sane = crate::text::quoted;
                let found = elsewhere.as_ref().and_then(User::tenant_label);
                Err(DbError::Setting(match found {
                    Some(other) => format!(
                        "user {} belongs to tenant {}, not {}",
                        sane(id),
                        sane(other),
                        sane(tenant)
                    ),
                    None => format!("no user with id {} in tenant {}", sane(id), sane(tenant)),
                }))
            }
            found => found,
        }
    }

    /// One user by id, in `schema` when given. An id found in several
    /// tenants (users in each tenant schema) is a usage error naming them.
    pub async fn user_in(&self, id: &str, schema: Option<&str>) -> Result<User, DbError> {
        self.retried(|| async move {
            // A named tenant with users in each schema: that schema's table alone.
            self.users_readable(schema)?;
            let not_found = || DbError::UserNotFound {
                id: id.to_string(),
                // Every tenant was looked in but those left out.
                left_out: match schema {
                    Some(_) => Vec::new(),
                    None => self.users_left_out().into_iter().map(|(s, _)| s).collect(),
                },
            };
            let Some(users) = self.users_source(schema) else {
                return Err(not_found());
            };
            // Over many tenant schemas, in batches (see `pinned_rows`): one
            // statement over 4,000 users tables outlasted the timeout.
            let mut tx = self.read_tx().await?;
            let rows = self.pinned_rows(&mut tx, id, schema, &users).await?;
            Database::end_read(tx);
            let mut users: Vec<User> = rows.into_iter().map(into_user).collect();
            match users.len() {
                0 => Err(not_found()),
                1 => Ok(users.remove(0)),
                _ => {
                    // As the registry names them (the schema without one).
                    let tenants: Vec<String> = users
                        .iter()
                        .map(|u| u.tenant_label().unwrap_or_default().to_string())
                        .collect();
                    Err(DbError::Setting(format!(
                        "user id {} is in several tenants ({}): name one with --tenant",
                        crate::text::quoted(id),
                        listed(&tenants)
                    )))
                }
            }
        })
        .await
    }
}
