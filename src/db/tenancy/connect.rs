//! The model at connect time: configured or detected, and the users as a
//! FROM item when they are not simply one shared table.

use super::{detect, Detection, QuotedRegistry, TenancyModel, UsersAt};
use crate::db::users::{in_list_order, ListCollations};
use crate::db::{Database, DbError, SharedTables};
use crate::model::table_kinds;

impl Database {
    /// The detected model refined by the configured keys (`keys`: those
    /// the configuration sets, each replacing what detection found); the
    /// configured model alone when `explicit` (`tenancy.detect = false`),
    /// or when a model built in code (no keys) differs from the default.
    pub(in crate::db) async fn choose_model(
        &self,
        conn: &mut sqlx::PgConnection,
        configured: &TenancyModel,
        explicit: bool,
        keys: &[String],
        cache: Option<&std::path::Path>,
    ) -> Result<(TenancyModel, Option<Detection>), DbError> {
        let unconfigured = TenancyModel {
            compare_with: configured.compare_with.clone(),
            ..TenancyModel::default()
        };
        if explicit || (keys.is_empty() && *configured != unconfigured) {
            return Ok((configured.clone(), None));
        }
        let shared = &configured.schemas.shared;
        let mut detection = match cache {
            Some(dir) => super::cache::detect_cached(conn, shared, dir).await,
            None => detect(conn, shared).await,
        }
        .map_err(|e| self.error(e))?;
        let refining: Vec<String> = keys
            .iter()
            .filter(|k| *k != "compare_with")
            .cloned()
            .collect();
        if !refining.is_empty() {
            detection.model = detection.model.clone().refined(configured, &refining);
            detection
                .reasons
                .push(format!("configured: {}", refining.join(", ")));
            // What `detect` lists: no schema the settings rule out.
            let schemas = &detection.model.schemas;
            detection.tenants.retain(|t| !schemas.never_a_tenant(t));
        }
        let mut model = detection.model.clone();
        model.compare_with = configured.compare_with.clone();
        Ok((model, Some(detection)))
    }

    /// Detects the layout from the catalog (see [`detect`]).
    pub async fn detect_layout(&self, shared_schema: &str) -> Result<Detection, DbError> {
        self.retried(|| async move {
            let mut tx = self.catalog_tx().await?;
            let detection = detect(&mut tx, shared_schema)
                .await
                .map_err(|e| self.error(e))?;
            Database::end_read(tx);
            Ok(detection)
        })
        .await
    }

    /// What `detect` states: the detected layout refined by the configured
    /// `keys` (see [`Database::choose_model`]); detected alone where
    /// nothing refines it.
    pub async fn detect_refined(
        &self,
        configured: &TenancyModel,
        keys: &[String],
    ) -> Result<Detection, DbError> {
        let refined = self
            .retried(|| async move {
                let mut tx = self.catalog_tx().await?;
                let (_, detection) = self
                    .choose_model(&mut tx, configured, false, keys, None)
                    .await?;
                Database::end_read(tx);
                Ok(detection)
            })
            .await;
        match refined? {
            Some(detection) => Ok(detection),
            None => self.detect_layout(&configured.schemas.shared).await,
        }
    }

    /// `SELECT {columns} FROM … WHERE …` of the users in `source` meeting
    /// `condition` (over `u`). Where users live in each tenant schema and
    /// `source` is their union, `condition`, `order` and `limit` are applied
    /// in each tenant's own SELECT: planning one ORDER BY over a union of
    /// 2,000 tables takes longer than the statement timeout, while 2,000
    /// small sorted runs merge in well under a second. Any other source is
    /// filtered as it is (never `u.*`: a role may be denied a column).
    pub(in crate::db) fn users_where(
        &self,
        source: &str,
        condition: &str,
        order: &str,
        limit: &str,
    ) -> String {
        let live = self.live_branches();
        if source != self.tables.users_table || live.is_empty() {
            let columns = self.user_columns();
            return format!("SELECT {columns} FROM {source} u WHERE {condition}");
        }
        self.users_where_branches(&live, condition, order, limit)
    }

    /// The tenants whose users table has every required column: the
    /// members of the all-tenants users union.
    pub(in crate::db) fn live_branches(&self) -> Vec<&TenantBranch> {
        self.tables
            .tenant_branches
            .iter()
            .filter(|b| b.missing.is_empty())
            .collect()
    }

    /// [`Database::users_where`] over `branches` only (users in each
    /// tenant schema): each member ordered and limited on its own.
    pub(in crate::db) fn users_where_branches(
        &self,
        branches: &[&TenantBranch],
        condition: &str,
        order: &str,
        limit: &str,
    ) -> String {
        let columns = self.user_columns();
        let live: Vec<String> = branches
            .iter()
            .map(|b| {
                format!(
                    "(SELECT u.* FROM ({select}) u WHERE {condition}
                       ORDER BY {order} LIMIT {limit})",
                    select = b.select
                )
            })
            .collect();
        format!(
            "SELECT {columns} FROM ({}) u WHERE TRUE",
            live.join("\n UNION ALL ")
        )
    }

    /// The users table has the mail column the model names (the users
    /// lists show a Mail column).
    pub fn has_mail(&self) -> bool {
        self.tables.has_mail
    }

    /// Tenants whose users table lacks a column every tenant's must have
    /// (schema, missing columns): left out of the all-tenants users list.
    pub fn users_left_out(&self) -> Vec<(String, Vec<String>)> {
        self.tables
            .tenant_branches
            .iter()
            .filter(|b| !b.missing.is_empty())
            .map(|b| (b.schema.clone(), b.missing.clone()))
            .collect()
    }

    /// The model in force.
    pub fn model(&self) -> &TenancyModel {
        &self.tables.model
    }

    /// What detection found at connect time; `None` when configured.
    pub fn detection(&self) -> Option<&Detection> {
        self.tables.detection.as_ref()
    }

    /// SQL condition on `pg_namespace n`: a tenant schema holding the users
    /// table (per-tenant users), never the shared or an ignored schema.
    fn users_schema_condition() -> &'static str {
        concat!(
            "n.nspname <> $1 AND n.nspname <> ALL($2) AND n.nspname NOT LIKE 'pg\\_%'
             AND n.nspname <> 'information_schema'
             AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid
                            AND c.relname = $3 AND c.relkind IN ",
            table_kinds!(),
            ")
             AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid
                            AND c.relname = $4 AND c.relkind IN ",
            table_kinds!(),
            ")"
        )
    }

    /// The first tenant schema holding the users table (its columns stand
    /// for every tenant's).
    pub(in crate::db) async fn first_users_schema(
        &self,
        conn: &mut sqlx::PgConnection,
        model: &TenancyModel,
    ) -> Result<String, DbError> {
        // A tenant whose users table drifted (a column renamed) must not
        // stand for the others: the first with most of the user columns.
        let first: Option<String> = sqlx::query_scalar(&format!(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE {}
              ORDER BY (SELECT count(*) FROM pg_catalog.pg_attribute a
                          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                         WHERE c.relnamespace = n.oid AND c.relname = $3
                           AND a.attnum > 0 AND NOT a.attisdropped
                           AND a.attname::text = ANY($5::text[])) DESC,
                       n.nspname
              LIMIT 1",
            Self::users_schema_condition()
        ))
        .bind(&model.schemas.shared)
        .bind(&model.schemas.ignore)
        .bind(&model.users.table)
        .bind(&model.orders.table)
        .bind(vec![
            model.users.columns.id.clone(),
            model.users.columns.name.clone(),
            model.users.columns.mail.clone(),
            model.users.columns.created.clone(),
        ])
        .persistent(self.persistent())
        .fetch_optional(conn)
        .await
        .map_err(|e| self.error(e))?;
        first.ok_or_else(|| {
            DbError::SharedTable(format!(
                "no tenant schema holds a {} table beside {} (tenancy.users.at = \"per_tenant\")",
                model.users.table, model.orders.table
            ))
        })
    }

    /// Replaces the users FROM item where a registry, a link table or
    /// per-tenant tables stand between a user and their schema: the tenant
    /// column then holds the schema name, as in the article's layout, so
    /// every query over users works unchanged; `tenantscope_tenant` holds
    /// the tenant as the registry names it (label, else key).
    pub(in crate::db) async fn derive_users_source(&mut self) -> Result<(), DbError> {
        let model = &self.tables.model;
        let mut tx = self.catalog_tx().await?;
        let registry = match &model.schemas.registry.table {
            Some(table) => Some(self.quote_registry(&mut tx, table).await?),
            None => None,
        };
        // The registry's schema expression as tenantscope writes it from
        // the parsed setting (never the configured text).
        let expr = registry
            .as_ref()
            .map_or_else(|| "NULL".to_string(), |r| r.schema.clone());
        let mut tenant_filter = match &registry {
            Some(QuotedRegistry {
                table: registry_q, ..
            }) => format!("AND n.nspname IN (SELECT ({expr})::text FROM {registry_q})"),
            None => String::new(),
        };
        tenant_filter.push_str(&model.schemas.ignored_condition());
        let source = match (model.users.at, &registry) {
            (UsersAt::PerTenant, _) => Some(
                self.per_tenant_source(&mut tx, registry.as_ref(), &expr, &tenant_filter)
                    .await?,
            ),
            (UsersAt::Shared, Some(registry)) => Some(self.shared_source(registry, &expr)),
            (UsersAt::Link, registry) => {
                Some(self.link_source(&mut tx, registry.as_ref(), &expr).await?)
            }
            _ => None,
        };
        // Back in the pool before connecting returns (see `ReadTx::end`).
        tx.end().await;
        self.apply_users_source(registry.as_ref(), &expr, tenant_filter, source);
        Ok(())
    }

    /// Users in each tenant schema: one union member per schema.
    async fn per_tenant_source(
        &self,
        conn: &mut sqlx::PgConnection,
        registry: Option<&QuotedRegistry>,
        expr: &str,
        tenant_filter: &str,
    ) -> Result<UsersSource, DbError> {
        let tables = &self.tables;
        let model = &tables.model;
        // The registry's name of each schema, joined once (one of them
        // where several rows list a schema): a subquery per schema scans
        // the registry once per tenant, quadratic at 10,000 tenants.
        let (name_of, registry_join) = match registry {
            Some(QuotedRegistry {
                table: registry_q,
                key: key_q,
                label: label_q,
                ..
            }) => (
                "reg.label".to_string(),
                format!(
                    "LEFT JOIN (SELECT DISTINCT ON (x.s) x.s, x.label
                                  FROM (SELECT ({expr})::text AS s, quote_literal({name}) AS label
                                          FROM {registry_q} r) x
                                 ORDER BY x.s) reg ON reg.s = n.nspname",
                    name = tenant_name(key_q, label_q)
                ),
            ),
            None => ("NULL".to_string(), String::new()),
        };
        // The columns every tenant's users table must have ($5):
        // those the first tenant's has (see `first_users_schema`).
        let (users, orders) = (&model.users, &model.orders);
        let mut required = vec![users.columns.id.clone(), users.columns.name.clone()];
        if tables.has_mail {
            required.push(users.columns.mail.clone());
        }
        if tables.has_created {
            required.push(users.columns.created.clone());
        }
        // Per schema, by index (linear in the schemas): a join to
        // one aggregate over the catalog misplans into a quadratic
        // nested loop where the catalog's statistics are stale.
        type Row = (String, String, Option<String>, String, Vec<String>);
        let schemas: Vec<Row> = sqlx::query_as(&format!(
            "SELECT quote_ident(n.nspname), quote_literal(n.nspname), {name_of},
                    n.nspname::text,
                    ARRAY(SELECT r FROM unnest($5::text[]) WITH ORDINALITY AS q(r, o)
                           WHERE NOT EXISTS (
                                 SELECT 1 FROM pg_catalog.pg_attribute a
                                   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                                  WHERE c.relnamespace = n.oid AND c.relname = $3
                                    AND a.attname::text = q.r AND a.attnum > 0
                                    AND NOT a.attisdropped)
                           ORDER BY o)
               FROM pg_catalog.pg_namespace n {registry_join}
              WHERE {} {tenant_filter}
              ORDER BY n.nspname",
            Self::users_schema_condition()
        ))
        .bind(&model.schemas.shared)
        .bind(&model.schemas.ignore)
        .bind(&users.table)
        .bind(&orders.table)
        .bind(required)
        .persistent(self.persistent())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.error(e))?;
        let (table_q,): (String,) = sqlx::query_as("SELECT quote_ident($1)")
            .bind(&users.table)
            .persistent(self.persistent())
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.error(e))?;
        // Text throughout: tenants may drift in column types.
        let branches: Vec<TenantBranch> = schemas
            .into_iter()
            .map(|(ident, literal, name, schema, missing)| {
                let name = name.as_deref().unwrap_or("NULL");
                TenantBranch {
                    select: per_tenant_users(tables, &ident, &literal, &table_q, name),
                    schema,
                    missing,
                }
            })
            .collect();
        // A drifted tenant would fail the whole union: it is left
        // out (and said so); its own list still reads it.
        let mut selects: Vec<String> = branches
            .iter()
            .filter(|b| b.missing.is_empty())
            .map(|b| b.select.clone())
            .collect();
        if selects.is_empty() {
            let n = &tables.names;
            selects.push(format!(
                "SELECT NULL::text AS tenantscope_schema, NULL::text AS {}, NULL::text AS {},
                        NULL::text AS {}, NULL::text AS {}, NULL::text AS tenantscope_tenant
                  WHERE false",
                n.user_id, n.user_name, n.user_mail, n.user_created
            ));
        }
        Ok((selects.join(" UNION ALL "), branches))
    }

    /// Users in a shared table whose column names the registry's key. An
    /// id the registry does not map to a schema (no row, or a row naming
    /// none: NULL or empty) keeps its own name
    /// (`tenantscope_tenant`, `tenantscope_org`): it is an organization id
    /// naming no tenant schema, not a user with none.
    fn shared_source(&self, registry: &QuotedRegistry, expr: &str) -> UsersSource {
        let tables = &self.tables;
        let QuotedRegistry {
            table: registry_q,
            key: key_q,
            label: label_q,
            ..
        } = registry;
        (
            format!(
                "SELECT {row},
                        nullif((SELECT ({expr})::text FROM {registry_q} r
                                 WHERE r.{key_q}::text = u.{column}::text LIMIT 1), '')
                            AS tenantscope_schema,
                        coalesce((SELECT {name} FROM {registry_q} r
                                   WHERE r.{key_q}::text = u.{column}::text LIMIT 1),
                                 nullif(u.{column}::text, ''))
                            AS tenantscope_tenant,
                        u.{column}::text AS tenantscope_org
                   FROM {users} u",
                name = tenant_name(key_q, label_q),
                column = tables.tenant_column,
                users = tables.users_table,
                row = tables.row_columns(),
            ),
            Vec::new(),
        )
    }

    /// Users in a shared table linked to the tenants by a table of pairs.
    async fn link_source(
        &self,
        conn: &mut sqlx::PgConnection,
        registry: Option<&QuotedRegistry>,
        expr: &str,
    ) -> Result<UsersSource, DbError> {
        let tables = &self.tables;
        let model = &tables.model;
        let link = &model.users.link;
        // Both columns must be there and readable by this role.
        type LinkRow = (String, String, String, String, Option<bool>, Option<bool>);
        let (link_q, link_user, link_tenant, shared_lit, user_ok, tenant_ok): LinkRow =
            sqlx::query_as(
                "WITH t AS (SELECT to_regclass(quote_ident($1) || '.' || quote_ident($2)) AS oid)
                 SELECT quote_ident($1) || '.' || quote_ident($2), quote_ident($3),
                        quote_ident($4), quote_literal($1),
                        (SELECT has_column_privilege(a.attrelid, a.attnum, 'SELECT')
                           FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = t.oid AND a.attname = $3 AND a.attnum > 0
                            AND NOT a.attisdropped),
                        (SELECT has_column_privilege(a.attrelid, a.attnum, 'SELECT')
                           FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = t.oid AND a.attname = $4 AND a.attnum > 0
                            AND NOT a.attisdropped)
                   FROM t WHERE t.oid IS NOT NULL",
            )
            .bind(&model.schemas.shared)
            .bind(link.table.as_deref().unwrap_or_default())
            .bind(link.user.as_deref().unwrap_or_default())
            .bind(link.tenant.as_deref().unwrap_or_default())
            .persistent(self.persistent())
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| self.error(e))?
            .ok_or_else(|| {
                DbError::SharedTable(format!(
                    "link table {}.{} not found (see tenancy.link_table)",
                    crate::text::sanitize(&model.schemas.shared),
                    crate::text::sanitize(link.table.as_deref().unwrap_or_default())
                ))
            })?;
        let shown = format!(
            "{}.{}",
            model.schemas.shared,
            link.table.as_deref().unwrap_or_default()
        );
        for (setting, column, ok) in [
            ("tenancy.link_user", &link.user, user_ok),
            ("tenancy.link_tenant", &link.tenant, tenant_ok),
        ] {
            let column = column.as_deref().unwrap_or_default();
            if super::guard::is_secret_column(column) {
                return Err(DbError::Setting(
                    super::guard::secret_message(setting, column)
                        .trim_start_matches("invalid configuration: ")
                        .to_string(),
                ));
            }
            if ok != Some(true) {
                return Err(DbError::Setting(super::guard::unreadable_message(
                    setting,
                    column,
                    &shown,
                    ok.is_some(),
                )));
            }
        }
        // Without a registry the link names the schema itself.
        let tenants = match registry {
            Some(QuotedRegistry {
                table: registry_q,
                key: key_q,
                label: label_q,
                ..
            }) => format!(
                "SELECT r.{key_q}::text AS k, nullif(({expr})::text, '') AS s, {name} AS t
                   FROM {registry_q} r",
                name = tenant_name(key_q, label_q),
            ),
            None => format!(
                "SELECT DISTINCT l.{link_tenant}::text AS k, l.{link_tenant}::text AS s,
                        NULL::text AS t FROM {link_q} l"
            ),
        };
        // One row per (user, tenant); the shared schema's own
        // tenant row (django-tenants' public tenant, which every
        // user is linked to) is no tenant. A user linked to no
        // tenant is listed once, without one.
        Ok((
            format!(
                "SELECT {row}, r.s AS tenantscope_schema, r.t AS tenantscope_tenant
                   FROM {users} u
                   LEFT JOIN ({link_q} l
                              JOIN ({tenants}) r
                                ON r.k = l.{link_tenant}::text
                               AND r.s IS DISTINCT FROM {shared_lit})
                          ON l.{link_user}::text = u.{user_id}::text",
                users = tables.users_table,
                user_id = tables.names.user_id,
                row = tables.row_columns(),
            ),
            Vec::new(),
        ))
    }

    /// The layout with the users as `source` (when one was derived).
    fn apply_users_source(
        &mut self,
        registry: Option<&QuotedRegistry>,
        expr: &str,
        tenant_filter: String,
        source: Option<UsersSource>,
    ) {
        let model = &self.tables.model;
        let mut derived: SharedTables = (*self.tables).clone();
        derived.names.tenant_filter = tenant_filter;
        if let Some((source, branches)) = source {
            derived.users_table = format!("({source})");
            derived.tenant_column = "tenantscope_schema".into();
            derived.tenant_name_column = Some("tenantscope_tenant".into());
            // A registry names the tenants: the users filter matches its
            // key too (the label is `tenantscope_tenant`).
            derived.tenant_key_match = registry.map(|r| {
                format!(
                    "EXISTS (SELECT 1 FROM {table} r
                              WHERE ({expr})::text = u.tenantscope_schema
                                AND r.{key}::text ILIKE $1)",
                    table = r.table,
                    key = r.key,
                )
            });
            derived.tenant_branches = std::sync::Arc::new(branches);
            match model.users.at {
                UsersAt::PerTenant => {
                    // No one relation: the database's default.
                    derived.users_relation = None;
                    derived.collations = ListCollations::database_default();
                    let collations = &derived.collations;
                    derived.name_key = in_list_order(
                        &format!("coalesce(u.{}, '')", derived.names.user_name),
                        &collations.name,
                    );
                    derived.id_key =
                        in_list_order(&format!("u.{}", derived.names.user_id), &collations.id);
                }
                // A user linked to several tenants is listed once per
                // tenant: the schema keeps their list keys apart.
                UsersAt::Link => {
                    derived.id_key = in_list_order(
                        &format!(
                            "u.{}::text || ' ' || coalesce(u.tenantscope_schema, '')",
                            derived.names.user_id
                        ),
                        &derived.collations.id,
                    );
                }
                UsersAt::Shared => {
                    derived.org_id_column = Some("tenantscope_org".into());
                }
            }
        }
        self.tables = std::sync::Arc::new(derived);
    }
}

/// A derived users FROM item, with its per-tenant branches (empty unless
/// users live in each tenant schema).
type UsersSource = (String, Vec<TenantBranch>);

/// SQL naming a registry row's tenant, over alias `r`: its label, else
/// (NULL or empty) its key.
fn tenant_name(key_q: &str, label_q: &str) -> String {
    format!("coalesce(nullif(r.{label_q}::text, ''), r.{key_q}::text)")
}

/// One tenant schema's users where users live in each tenant schema.
#[derive(Debug, Clone)]
pub(crate) struct TenantBranch {
    pub schema: String,
    /// Its member of the users union (see [`per_tenant_users`]).
    pub select: String,
    /// Required columns its users table lacks (read from the catalog at
    /// connect time): such a tenant is left out of the all-tenants union.
    pub missing: Vec<String>,
}

/// One tenant's users as the per-tenant users source selects them (the
/// union's member): `ident` and `literal` quote the schema, `table_q` the
/// users table. Text throughout: tenants may drift in column types.
pub(in crate::db) fn per_tenant_users(
    tables: &SharedTables,
    ident: &str,
    literal: &str,
    table_q: &str,
    tenant_name: &str,
) -> String {
    let n = &tables.names;
    let optional = |has: bool, column: &str| {
        if has {
            format!("t.{column}::text")
        } else {
            "NULL::text".into()
        }
    };
    format!(
        "SELECT {literal}::text AS tenantscope_schema, t.{id}::text AS {id},
                t.{name}::text AS {name}, {mail} AS {mail_as},
                {created} AS {created_as}, {tenant_name}::text AS tenantscope_tenant
           FROM {ident}.{table_q} t",
        id = n.user_id,
        name = n.user_name,
        mail = optional(tables.has_mail, &n.user_mail),
        mail_as = n.user_mail,
        created = optional(tables.has_created, &n.user_created),
        created_as = n.user_created,
    )
}
