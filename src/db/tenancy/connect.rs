//! The model at connect time: configured or detected, and the users as a
//! FROM item when they are not simply one shared table.

use super::{detect, Detection, TenancyModel, UsersAt};
use crate::db::{Database, DbError, SharedLayout};

impl Database {
    /// The configured model, or the detected one when `[tenancy]` says
    /// nothing but (perhaps) `compare_with`.
    pub(in crate::db) async fn choose_model(
        &self,
        conn: &mut sqlx::PgConnection,
        configured: &TenancyModel,
        explicit: bool,
    ) -> Result<(TenancyModel, Option<Detection>), DbError> {
        let unconfigured = TenancyModel {
            compare_with: configured.compare_with.clone(),
            ..TenancyModel::default()
        };
        if configured.users == UsersAt::Link {
            // Accepted by the model so that configs can say it; not read yet.
            return Err(DbError::Setting(
                "tenancy.users = \"link\" is not supported yet; use \"shared\" or \"per_tenant\""
                    .into(),
            ));
        }
        if explicit || *configured != unconfigured {
            return Ok((configured.clone(), None));
        }
        let detection = detect(conn, &configured.shared_schema)
            .await
            .map_err(|e| self.error(e))?;
        let mut model = detection.model.clone();
        model.compare_with = configured.compare_with.clone();
        Ok((model, Some(detection)))
    }

    /// Detects the layout from the catalog (see [`detect`]).
    pub async fn detect_layout(&self, shared_schema: &str) -> Result<Detection, DbError> {
        crate::db::retried!(self, self.detect_layout_once(shared_schema))
    }

    async fn detect_layout_once(&self, shared_schema: &str) -> Result<Detection, DbError> {
        let mut tx = self.read_tx().await?;
        let detection = detect(&mut tx, shared_schema)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(detection)
    }

    /// The model in force.
    pub fn model(&self) -> &TenancyModel {
        &self.layout.model
    }

    /// What detection found at connect time; `None` when configured.
    pub fn detection(&self) -> Option<&Detection> {
        self.layout.detection.as_ref()
    }

    /// SQL condition on `pg_namespace n`: a tenant schema holding the users
    /// table (per-tenant users), never the shared or an ignored schema.
    fn users_schema_condition() -> &'static str {
        "n.nspname <> $1 AND n.nspname <> ALL($2) AND n.nspname NOT LIKE 'pg\\_%'
         AND n.nspname <> 'information_schema'
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid
                        AND c.relname = $3 AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid
                        AND c.relname = $4 AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))"
    }

    /// The first tenant schema holding the users table (its columns stand
    /// for every tenant's).
    pub(in crate::db) async fn first_users_schema(
        &self,
        conn: &mut sqlx::PgConnection,
        model: &TenancyModel,
    ) -> Result<String, DbError> {
        let first: Option<String> = sqlx::query_scalar(&format!(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE {}
              ORDER BY n.nspname LIMIT 1",
            Self::users_schema_condition()
        ))
        .bind(&model.shared_schema)
        .bind(&model.ignore_schemas)
        .bind(&model.users_table)
        .bind(&model.orders_table)
        .persistent(self.persistent())
        .fetch_optional(conn)
        .await
        .map_err(|e| self.error(e))?;
        first.ok_or_else(|| {
            DbError::SharedTable(format!(
                "no tenant schema holds a {} table beside {} (tenancy.users = \"per_tenant\")",
                model.users_table, model.orders_table
            ))
        })
    }

    /// Replaces the users FROM item where a registry or per-tenant tables
    /// stand between a user and their schema: the tenant column then
    /// holds the schema name, as in the article's layout, so every query
    /// over users works unchanged.
    pub(in crate::db) async fn derive_users_source(&mut self) -> Result<(), DbError> {
        let layout = &self.layout;
        let model = &layout.model;
        let mut tx = self.read_tx().await?;
        let tenant_filter = match &model.registry_table {
            Some(registry) => {
                let (registry_q, ignored): (String, String) = sqlx::query_as(
                    "SELECT quote_ident($1) || '.' || quote_ident($2),
                            quote_literal(coalesce($3::text[], '{}'))",
                )
                .bind(&model.shared_schema)
                .bind(registry)
                .bind(&model.ignore_schemas)
                .persistent(self.persistent())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
                format!(
                    "AND n.nspname IN (SELECT ({expr})::text FROM {registry_q})
                     AND n.nspname <> ALL({ignored}::text[])",
                    expr = model.registry_schema.as_deref().unwrap_or("NULL"),
                )
            }
            None => String::new(),
        };
        let source = match (model.users, &model.registry_table) {
            (UsersAt::PerTenant, _) => {
                let schemas: Vec<(String, String)> = sqlx::query_as(&format!(
                    "SELECT quote_ident(n.nspname), quote_literal(n.nspname)
                       FROM pg_catalog.pg_namespace n WHERE {} {tenant_filter}
                      ORDER BY n.nspname",
                    Self::users_schema_condition()
                ))
                .bind(&model.shared_schema)
                .bind(&model.ignore_schemas)
                .bind(&model.users_table)
                .bind(&model.orders_table)
                .persistent(self.persistent())
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
                let (table_q,): (String,) = sqlx::query_as("SELECT quote_ident($1)")
                    .bind(&model.users_table)
                    .persistent(self.persistent())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
                let n = &layout.names;
                let optional = |has: bool, column: &str| {
                    if has {
                        format!("t.{column}::text")
                    } else {
                        "NULL::text".into()
                    }
                };
                // Text throughout: tenants may drift in column types.
                let mut selects: Vec<String> = schemas
                    .iter()
                    .map(|(ident, literal)| {
                        format!(
                            "SELECT {literal}::text AS tenantscope_schema, t.{id}::text AS {id},
                                    t.{name}::text AS {name}, {mail} AS {mail_as},
                                    {created} AS {created_as}
                               FROM {ident}.{table_q} t",
                            id = n.user_id,
                            name = n.user_name,
                            mail = optional(layout.has_mail, &n.user_mail),
                            mail_as = n.user_mail,
                            created = optional(layout.has_created, &n.user_created),
                            created_as = n.user_created,
                        )
                    })
                    .collect();
                if selects.is_empty() {
                    selects.push(format!(
                        "SELECT NULL::text AS tenantscope_schema, NULL::text AS {}, NULL::text AS {},
                                NULL::text AS {}, NULL::text AS {} WHERE false",
                        n.user_id, n.user_name, n.user_mail, n.user_created
                    ));
                }
                Some(selects.join(" UNION ALL "))
            }
            (UsersAt::Shared, Some(registry)) => {
                let (registry_q, key_q): (String, String) = sqlx::query_as(
                    "SELECT quote_ident($1) || '.' || quote_ident($2), quote_ident($3)",
                )
                .bind(&model.shared_schema)
                .bind(registry)
                .bind(model.registry_key.as_deref().unwrap_or("id"))
                .persistent(self.persistent())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
                // The registry's schema expression is the operator's (or
                // detection's) SQL, run read-only like everything else.
                Some(format!(
                    "SELECT u.*, (SELECT ({expr})::text FROM {registry_q}
                                   WHERE {key_q}::text = u.{column}::text LIMIT 1)
                                AS tenantscope_schema
                       FROM {users} u",
                    expr = model.registry_schema.as_deref().unwrap_or("NULL"),
                    column = layout.tenant_column,
                    users = layout.users_table,
                ))
            }
            _ => None,
        };
        tx.commit().await.map_err(|e| self.error(e))?;
        let mut derived: SharedLayout = (*self.layout).clone();
        derived.names.tenant_filter = tenant_filter;
        if let Some(source) = source {
            derived.users_table = format!("({source})");
            derived.tenant_column = "tenantscope_schema".into();
            if model.users == UsersAt::PerTenant {
                derived.users_relation = None;
                derived.name_key = format!("coalesce(u.{}, '')", derived.names.user_name);
                derived.id_key = format!("u.{}", derived.names.user_id);
            }
        }
        self.layout = std::sync::Arc::new(derived);
        Ok(())
    }
}
