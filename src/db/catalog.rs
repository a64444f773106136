//! The tenant catalog: schemas that hold both the items and the orders table
//! of the tenancy model.

use super::lossy::{raw, LossyText};
use super::{Database, DbError, SchemaState, TenantEntry};

/// Tenant schema names, in the order tenants are listed ([`listing_order`]:
/// by registry label where a registry names them), and where a registry
/// names tenants, each schema's registry key and label. Lookups are
/// exact: `Acme` is not `acme`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantCatalog {
    names: Vec<String>,
    /// Each of `names`' place in it: `contains` and `order` are asked per
    /// row drawn or sorted, and the labels' order lowercases both names.
    places: std::collections::HashMap<String, usize>,
    /// Schema → (key, label), for registered schemas.
    registered: std::collections::HashMap<String, (String, String)>,
    /// Labels more than one registered schema has, or that name another
    /// registered schema (set with `registered`, which every catalogue
    /// holds whole, so a label does not change as more schemas are read):
    /// `label` is asked per row drawn, and scanned every tenant for it.
    shared_labels: std::collections::HashSet<String>,
    /// Citus: schema → the node (`host:port`) holding it.
    nodes: std::collections::HashMap<String, String>,
    /// Schemas that exist but lack the tenant tables (the system's, the
    /// shared one and the ignored ones aside): an organization id naming
    /// one is `incomplete`.
    others: std::collections::HashSet<String>,
}

/// SQL condition on `pg_namespace n`: not the shared schema (the
/// parameter `shared`, e.g. `$1`) and not the system's, whatever a registry
/// lists (django-tenants registers the shared schema). The ignored
/// schemas are left out by the registry's filter, or in Rust
/// (`SchemasModel::never_a_tenant`, which says the same of a name).
pub(crate) fn candidate_schema(shared: &str) -> String {
    format!(
        "n.nspname <> {shared} AND n.nspname NOT LIKE 'pg\\_%'
         AND n.nspname <> 'information_schema'"
    )
}

/// The order tenants are listed in everywhere (the tenants pane, the `C`
/// picker, the `c` key's next tenant, the price matrix's columns), each
/// as (label, registry key, schema): by label as people read it, then by
/// key, then by schema, each in [`crate::text::tenant_order`]. Without a
/// registry all three are the schema.
pub fn listing_order(a: (&str, &str, &str), b: (&str, &str, &str)) -> std::cmp::Ordering {
    let natural = crate::text::tenant_order;
    natural(a.0, b.0)
        .then_with(|| natural(a.1, b.1))
        .then_with(|| natural(a.2, b.2))
}

impl TenantCatalog {
    pub fn new(mut names: Vec<String>) -> TenantCatalog {
        names.sort_by(|a, b| crate::text::tenant_order(a, b));
        names.dedup();
        TenantCatalog::default().listing(names)
    }

    /// `names`, already in the listing order, as this catalogue's.
    fn listing(mut self, names: Vec<String>) -> TenantCatalog {
        self.places = names.iter().cloned().zip(0..).collect();
        self.names = names;
        self
    }

    /// Citus: the node (`host:port`) holding `schema`.
    pub fn node(&self, schema: &str) -> Option<&str> {
        self.nodes.get(schema).map(String::as_str)
    }

    /// With the registry's (key, label, schema) rows.
    pub fn with_registry(mut self, rows: Vec<(String, String, String)>) -> TenantCatalog {
        for (key, label, schema) in rows {
            self.registered.entry(schema).or_insert((key, label));
        }
        let mut seen = std::collections::HashSet::new();
        self.shared_labels = self
            .registered
            .iter()
            .filter(|(schema, (_, label))| {
                let repeated = !seen.insert(label.as_str());
                repeated || (label != *schema && self.registered.contains_key(label))
            })
            .map(|(_, (_, label))| label.clone())
            .collect();
        let mut names = std::mem::take(&mut self.names);
        names.sort_by(|a, b| self.listed_order(a, b));
        self.listing(names)
    }

    /// `summaries` in the order `tenants` lists them, by this catalogue's
    /// labels (where a registry names tenants; by schema without one).
    pub fn sort_summaries(&self, summaries: &mut [TenantSummary]) {
        summaries.sort_by(|a, b| summary_order(a, b, self));
    }

    /// [`listing_order`] of two schemas, by their registry label and key.
    pub fn order(&self, a: &str, b: &str) -> std::cmp::Ordering {
        match (self.places.get(a), self.places.get(b)) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => self.listed_order(a, b),
        }
    }

    /// [`TenantCatalog::order`] worked out from the names, for those not
    /// in the catalogue (and to sort it).
    fn listed_order(&self, a: &str, b: &str) -> std::cmp::Ordering {
        let listed = |schema| match self.registered.get(schema) {
            Some((key, label)) => (label.as_str(), key.as_str(), schema),
            None => (schema, schema, schema),
        };
        listing_order(listed(a), listed(b))
    }

    /// Every registry row naming a tenant: (schema, key, label), registered
    /// schemas that are gone included (see [`Database::registry_rows`]).
    pub fn registered(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.registered
            .iter()
            .map(|(schema, (key, label))| (schema.as_str(), key.as_str(), label.as_str()))
    }

    /// The registry's key of tenant `schema`, if it is registered.
    pub fn key(&self, schema: &str) -> Option<&str> {
        self.registered.get(schema).map(|(key, _)| key.as_str())
    }

    /// What people call tenant `schema`: its registry label, else the
    /// schema. A label two tenants share gets its schema beside it.
    pub fn label(&self, schema: &str) -> String {
        match self.registered.get(schema) {
            Some((_, label)) if self.shared_labels.contains(label) => {
                format!("{label} ({schema})")
            }
            Some((_, label)) => label.clone(),
            None => schema.to_string(),
        }
    }

    /// [`TenantCatalog::label`] with the schema beside a label that is
    /// not it: for a report that names schemas elsewhere (`health`).
    pub fn label_and_schema(&self, schema: &str) -> String {
        match self.registered.get(schema) {
            Some((_, label)) if label != schema && !self.shared_labels.contains(label) => {
                format!("{label} ({schema})")
            }
            _ => self.label(schema),
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// [`TenantCatalog::label`] of each of [`TenantCatalog::names`] (for a
    /// list of every tenant: the picker).
    pub fn labels(&self) -> Vec<String> {
        self.names.iter().map(|schema| self.label(schema)).collect()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// "unknown tenant" for `name`, listing the tenants closest to it
    /// first (a few of them, and how many there are in all): each by the
    /// closest of its names (schema, registry key and label; a label and
    /// a key are taken where a schema is, `Tenant 5` for `t0005`), shown
    /// as [`TenantCatalog::label_and_schema`].
    pub fn unknown(&self, name: &str) -> super::DbError {
        let tenants = self.names.iter().map(|schema| {
            let mut names = vec![schema.as_str()];
            if let Some((key, label)) = self.registered.get(schema) {
                names.extend([key.as_str(), label.as_str()]);
            }
            (self.label_and_schema(schema), names)
        });
        super::DbError::Setting(unknown_tenant_of(name, tenants.collect()))
    }

    /// `name` is a schema that exists but lacks the tenant tables.
    pub fn is_other_schema(&self, name: &str) -> bool {
        self.others.contains(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.places.contains_key(name)
    }

    /// The tenant after (or, `backwards`, before) `from` in the listing
    /// order, wrapping around and skipping `skip`.
    pub fn step(&self, from: Option<&str>, backwards: bool, skip: Option<&str>) -> Option<String> {
        let candidates: Vec<&String> = self
            .names
            .iter()
            .filter(|n| Some(n.as_str()) != skip)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let Some(from) = from else {
            return Some(candidates[0].clone());
        };
        let position =
            candidates.partition_point(|n| self.order(n, from) == std::cmp::Ordering::Less);
        let exact = candidates.get(position).is_some_and(|n| n.as_str() == from);
        let count = candidates.len();
        let index = match (backwards, exact) {
            (false, true) => (position + 1) % count,
            (false, false) => position % count,
            (true, _) => (position + count - 1) % count,
        };
        Some(candidates[index].clone())
    }
}

/// A tenant as the users table sees it: a schema, with its number of users,
/// or an organization id that names no tenant schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSummary {
    /// `None` for users whose organization id is NULL (kept apart from an
    /// empty string, which is a value).
    pub tenant: Option<String>,
    pub state: SchemaState,
    pub users: i64,
    /// `users` is the planner's estimate (`pg_class.reltuples`), not a
    /// count: users in each of more than
    /// [`crate::db::EXACT_TENANT_TABLES_UP_TO`] tenant schemas, this one's
    /// table analyzed, or its table locked (see `users_of_schemas`).
    pub users_estimated: bool,
    /// Citus: the node holding the tenant's schema (`host:port`).
    pub node: Option<String>,
}

/// The order `tenants` lists them in: schemas, then the ids naming none,
/// then the users with no organization id ('' before NULL), each in the
/// order `catalog` lists tenants ([`TenantCatalog::order`]).
fn summary_order(
    a: &TenantSummary,
    b: &TenantSummary,
    catalog: &TenantCatalog,
) -> std::cmp::Ordering {
    let place = |s: &TenantSummary| {
        let no_tenant = s.state == SchemaState::NoTenant;
        (s.state != SchemaState::Ok, no_tenant, s.tenant.is_none())
    };
    let (id_a, id_b) = (a.tenant.as_deref(), b.tenant.as_deref());
    place(a)
        .cmp(&place(b))
        .then_with(|| catalog.order(id_a.unwrap_or_default(), id_b.unwrap_or_default()))
}

/// Citus: the node (`host:port`) holding the tables of schema `s.nsp`
/// (a distributed schema's tables all live on one node), else NULL.
pub(super) const NODE_OF_SCHEMA: &str = "SELECT nd.nodename || ':' || nd.nodeport
       FROM pg_catalog.pg_class t
       JOIN pg_catalog.pg_dist_shard sh ON sh.logicalrelid = t.oid
       JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = sh.shardid
       JOIN pg_catalog.pg_dist_node nd ON nd.groupid = pl.groupid AND nd.noderole = 'primary'
      WHERE t.relnamespace = s.nsp
      ORDER BY nd.nodename, nd.nodeport LIMIT 1";

impl Database {
    /// SQL for the Citus node (`host:port`) of the schema whose oid is
    /// `nsp` (an expression of the caller's query); NULL elsewhere.
    pub(super) fn node_of_schema(&self, nsp: &str) -> String {
        if self.tables.citus {
            format!("({})", NODE_OF_SCHEMA.replace("s.nsp", nsp))
        } else {
            "NULL::text".to_string()
        }
    }

    /// All tenant schemas, in one catalog query.
    pub async fn tenants(&self) -> Result<TenantCatalog, DbError> {
        self.retried(|| async move {
            // The catalogue is read anew (start, refresh): the tenants' items
            // may have changed, so item rules are decided again, and their
            // items tables read again.
            self.item_rule_cache.clear();
            self.items_tables.clear();
            let mut tx = self.read_tx().await?;
            self.tenants_in(&mut tx).await
        })
        .await
    }

    /// [`Database::tenants`] on a connection in a read transaction.
    pub(super) async fn tenants_in(
        &self,
        tx: &mut sqlx::PgConnection,
    ) -> Result<TenantCatalog, DbError> {
        self.tenants_among(tx, None).await
    }

    /// [`Database::tenants_in`], of the schemas `among` names only when
    /// given (by `pg_namespace`'s name index: what a short list of users
    /// needs, not the whole catalogue).
    pub(super) async fn tenants_among(
        &self,
        tx: &mut sqlx::PgConnection,
        among: Option<&[String]>,
    ) -> Result<TenantCatalog, DbError> {
        // A SQL_ASCII database may hold a schema name that is not UTF-8:
        // it cannot be named back to the server, so it is left out (the
        // `tenants` list still shows it, with U+FFFD) rather than failing
        // the whole catalog or being picked as a comparison tenant.
        // The tenant schemas, and beside them (`tenant` false) the other
        // schemas that lack the tenant tables, but the system's, the shared
        // one and the ignored ones: an organization id naming one is
        // `incomplete`.
        let sql = format!(
            "SELECT {name}, CASE WHEN t.tenant THEN {node} END, t.tenant
               FROM pg_catalog.pg_namespace n,
                    LATERAL (SELECT coalesce(({tenant_schema}), false) AS tenant) t
              WHERE {candidate} {among}
                AND (t.tenant OR NOT ({complete}))
              ORDER BY n.nspname",
            name = raw("n.nspname"),
            node = self.node_of_schema("n.oid"),
            candidate = candidate_schema("$1"),
            tenant_schema = self.is_tenant_schema(),
            complete = self.holds_tenant_tables(),
            among = if among.is_some() {
                "AND n.nspname = ANY($2::text[]::name[])"
            } else {
                ""
            },
        );
        let rows: Vec<(LossyText, Option<String>, bool)> = match among {
            None => self.catalog_rows(&mut *tx, &sql).await?,
            Some(among) => sqlx::query_as(&sql)
                .bind(&self.tables.shared_schema)
                .bind(among)
                .persistent(self.persistent())
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.error(e))?,
        };
        let (rows, others): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(.., tenant)| *tenant);
        let nodes = rows
            .iter()
            .filter(|(n, ..)| !n.replaced)
            .filter_map(|(n, node, _)| Some((n.text.clone(), node.clone()?)))
            .collect();
        let names: Vec<LossyText> = rows.into_iter().map(|(n, ..)| n).collect();
        let skipped = names.iter().filter(|n| n.replaced).count();
        if skipped > 0 {
            tracing::warn!(skipped, "tenant schemas whose name is not UTF-8 left out");
        }
        let mut catalog = TenantCatalog::new(
            names
                .into_iter()
                .filter(|n| !n.replaced)
                .map(|n| n.text)
                .collect(),
        );
        catalog.nodes = nodes;
        let schemas = &self.tables.model.schemas;
        catalog.others = others
            .into_iter()
            .map(|(n, ..)| n.text)
            .filter(|n| !schemas.never_a_tenant(n))
            .collect();
        Ok(catalog.with_registry(self.registry_rows(tx).await?))
    }

    /// Tenants with their user counts, plus organization ids that name no
    /// tenant schema; one round trip whatever the number of tenants.
    /// Listed as `catalog` lists tenants ([`TenantCatalog::sort_summaries`]).
    pub async fn tenant_summaries(
        &self,
        catalog: &TenantCatalog,
    ) -> Result<Vec<TenantSummary>, DbError> {
        self.retried(|| async move {
            // Where users live in each tenant schema, a union of every users
            // table in one statement would lock them all in one transaction
            // (past the server's lock table at thousands of tenants): they
            // are counted in batches, each in a transaction of its own.
            let per_tenant = self.tables.model.users.at == super::UsersAt::PerTenant;
            let schemas = &self.tables.model.schemas;
            let mut tx = self.read_tx().await?;
            let node = if self.tables.citus {
                format!("({NODE_OF_SCHEMA})")
            } else {
                "NULL::text".to_string()
            };
            let sql = format!(
                "WITH schemas AS (
                     SELECT n.nspname::text AS tenant, n.oid AS nsp
                       FROM pg_catalog.pg_namespace n
                      WHERE {tenant_schema}),
                 counts AS (
                     SELECT {tenant} AS tenant, count(*) AS users
                       FROM {users} u {members} GROUP BY 1)
                 SELECT {tenant_raw}, s.tenant IS NOT NULL, coalesce(c.users, 0),
                        {node},
                        s.tenant IS NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                                                      WHERE n.nspname = c.tenant
                                                        AND {candidate}
                                                        AND NOT ({complete}))
                   FROM schemas s FULL JOIN counts c ON c.tenant = s.tenant",
                tenant = self.tables.tenant_of("u"),
                users = self.users_counted_together(per_tenant),
                members = self.members_only(),
                tenant_raw = raw("coalesce(s.tenant, c.tenant)"),
                tenant_schema = self.is_tenant_schema(),
                complete = self.holds_tenant_tables(),
                candidate = candidate_schema("$1"),
            );
            // (tenant, schema exists, users, node, incomplete: as the
            // catalogue's `others`, see `TenantCatalog::is_other_schema`)
            type Row = (Option<LossyText>, bool, i64, Option<String>, bool);
            let rows: Vec<Row> = self.catalog_rows(&mut tx, &sql).await?;
            Database::end_read(tx);
            let mut summaries: Vec<TenantSummary> = rows
                .into_iter()
                .map(|(tenant, schema_exists, users, node, incomplete)| {
                    let tenant = tenant.map(|t| t.text);
                    let incomplete =
                        incomplete && !tenant.as_ref().is_some_and(|t| schemas.never_a_tenant(t));
                    let state = match (schema_exists, incomplete, tenant.as_deref()) {
                        (true, ..) => SchemaState::Ok,
                        (false, true, _) => SchemaState::Incomplete,
                        (false, false, None | Some("")) => SchemaState::NoTenant,
                        (false, false, Some(_)) => SchemaState::NoSchema,
                    };
                    TenantSummary {
                        tenant,
                        state,
                        users,
                        users_estimated: false,
                        node,
                    }
                })
                .collect();
            if per_tenant {
                let counts = self.users_per_tenant_schema_or_estimated().await?;
                for summary in summaries.iter_mut() {
                    if let Some(&users) = summary.tenant.as_ref().and_then(|t| counts.get(t)) {
                        summary.users = users.value;
                        summary.users_estimated = users.estimated;
                    }
                }
            }
            if self.tables.model.schemas.registry.complete().is_some() {
                self.add_registered_missing(&mut summaries).await?;
            }
            catalog.sort_summaries(&mut summaries);
            Ok(summaries)
        })
        .await
    }

    /// Registered tenants whose schema is gone (or lacks the tenant tables)
    /// added to `summaries`, as the registry lists them (linked users may
    /// already name them).
    async fn add_registered_missing(
        &self,
        summaries: &mut Vec<TenantSummary>,
    ) -> Result<(), DbError> {
        let gone: Vec<TenantEntry> = self
            .tenant_directory(false)
            .await?
            .into_iter()
            // The registry's rows (not the ids naming no schema).
            .filter(|e| e.state == SchemaState::Missing)
            .collect();
        // Users in each tenant schema: a schema that lacks the tenant
        // tables may still hold its users.
        let schemas: Vec<&String> = gone.iter().map(|e| &e.schema).collect();
        let users = self.users_of_incomplete(&schemas).await;
        for entry in gone {
            match summaries
                .iter_mut()
                .find(|s| s.tenant.as_deref() == Some(entry.schema.as_str()))
            {
                Some(known) if known.state != SchemaState::Ok => known.state = SchemaState::Missing,
                Some(_) => {}
                None => summaries.push(TenantSummary {
                    users: users.get(&entry.schema).map_or(0, |c| c.value),
                    users_estimated: users.get(&entry.schema).is_some_and(|c| c.estimated),
                    tenant: Some(entry.schema),
                    state: SchemaState::Missing,
                    node: None,
                }),
            }
        }
        Ok(())
    }

    /// The rows of a catalog query whose `$1` is the shared schema.
    pub(super) async fn catalog_rows<R>(
        &self,
        tx: &mut sqlx::PgConnection,
        sql: &str,
    ) -> Result<Vec<R>, DbError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        sqlx::query_as(sql)
            .bind(&self.tables.shared_schema)
            .persistent(self.persistent())
            .fetch_all(tx)
            .await
            .map_err(|e| self.error(e))
    }

    /// SQL condition on `pg_namespace n`: it holds the tenant tables,
    /// registered or not (a schema without them is `incomplete`).
    fn holds_tenant_tables(&self) -> String {
        let unfiltered = super::tenancy::Names {
            tenant_filter: String::new(),
            ..self.tables.names.clone()
        };
        unfiltered.has_tenant_tables()
    }

    /// Whether namespace `n` is a tenant schema: a [`candidate_schema`]
    /// (`$1` the shared one) holding the tenant tables.
    fn is_tenant_schema(&self) -> String {
        format!(
            "{} AND {}",
            candidate_schema("$1"),
            self.tables.names.has_tenant_tables()
        )
    }

    /// Exact-match lookup of `names` among the tenant schemas; the
    /// server-quoted identifier of each, in the order of `names`, or
    /// [`DbError::UnknownTenant`] for the first one that is not a tenant.
    pub(super) async fn quoted_or_unknown(
        &self,
        conn: &mut sqlx::PgConnection,
        names: &[&str],
    ) -> Result<Vec<String>, DbError> {
        let found = self
            .quoted_tenants(conn, names)
            .await
            .map_err(|e| self.error(e))?;
        names
            .iter()
            .map(|name| {
                found
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, quoted)| quoted.clone())
                    .ok_or_else(|| DbError::UnknownTenant(name.to_string()))
            })
            .collect()
    }

    /// Exact-match lookup of tenant schemas that hold the tenant tables,
    /// returning each found name with its server-quoted identifier.
    pub(super) async fn quoted_tenants(
        &self,
        conn: &mut sqlx::PgConnection,
        names: &[&str],
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        let found = self.quoted_tenants_on_nodes(conn, names).await?;
        Ok(found
            .into_iter()
            .map(|(name, quoted, _)| (name, quoted))
            .collect())
    }

    /// [`Database::quoted_tenants`] with the Citus node of each (NULL
    /// elsewhere).
    pub(crate) async fn quoted_tenants_on_nodes(
        &self,
        conn: &mut sqlx::PgConnection,
        names: &[&str],
    ) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT n.nspname::text, quote_ident(n.nspname), {node}
               FROM pg_catalog.pg_namespace n
              WHERE n.nspname = ANY($1) AND {candidate} AND {has_tables}",
            node = self.node_of_schema("n.oid"),
            candidate = candidate_schema("$2"),
            has_tables = self.tables.names.has_tenant_tables(),
        ))
        .bind(names)
        .bind(&self.tables.shared_schema)
        .persistent(self.persistent())
        .fetch_all(conn)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> TenantCatalog {
        TenantCatalog::new(vec!["client2".into(), "client1".into(), "client3".into()])
    }

    /// A catalogue of `schemas` with the registry's (key, label, schema)
    /// rows.
    fn registered(schemas: &[&str], registry: &[(&str, &str, &str)]) -> TenantCatalog {
        let rows = registry
            .iter()
            .map(|&(key, label, schema)| (key.into(), label.into(), schema.into()));
        TenantCatalog::new(schemas.iter().map(|s| s.to_string()).collect())
            .with_registry(rows.collect())
    }

    #[test]
    fn lookups_are_exact() {
        let catalog = catalog();
        assert!(catalog.contains("client1"));
        assert!(!catalog.contains("Client1"));
        assert!(!catalog.contains("client1, client2"));
        assert!(!catalog.contains(""));
    }

    /// Where a registry names tenants, they are listed, looked up and
    /// stepped through by label (as the tenants pane lists them), not by
    /// schema: the `C` picker and the matrix had `t1, t2, t3` beside the
    /// pane's `alpha, Mid, Zeta`.
    #[test]
    fn a_registry_lists_tenants_by_label() {
        let registry = [
            ("z", "Zeta", "t1"),
            ("a", "alpha", "t2"),
            ("m", "Mid", "t3"),
        ];
        let catalog = registered(&["t1", "t2", "t3", "s9"], &registry);
        assert_eq!(catalog.names(), ["t2", "t3", "s9", "t1"]);
        assert_eq!(catalog.labels(), ["alpha", "Mid", "s9", "Zeta"]);
        for schema in ["t1", "t2", "t3", "s9"] {
            assert!(catalog.contains(schema), "{schema}");
        }
        assert!(!catalog.contains("Mid"), "a label is no schema");
        let mut stepped = vec![];
        let mut at = None;
        for _ in 0..4 {
            at = catalog.step(at.as_deref(), false, None);
            stepped.push(at.clone().unwrap());
        }
        assert_eq!(stepped, ["t2", "t3", "s9", "t1"]);
        assert_eq!(catalog.step(Some("t2"), true, None).as_deref(), Some("t1"));
        // A name not in it falls in its place among the labels ("Mid" <
        // "n" < "s9"): the catalogue's own names compare by their place.
        assert_eq!(catalog.step(Some("n"), false, None).as_deref(), Some("s9"));
        assert_eq!(catalog.order("t3", "n"), std::cmp::Ordering::Less);
        assert_eq!(catalog.order("n", "s9"), std::cmp::Ordering::Less);
        assert_eq!(catalog.order("t1", "t2"), std::cmp::Ordering::Greater);
    }

    /// A label that names another tenant's schema, or that two tenants
    /// share, gets its schema beside it: `acme vs acme` read as one tenant
    /// where the label `acme` named schema hooli. A label that is its own
    /// schema is left alone.
    #[test]
    fn a_label_naming_another_schema_says_its_own() {
        // Each schema's label (its registry key is its schema).
        let schemas = ["acme", "hooli", "acme2", "globex"];
        let labels = ["Acme Corp", "acme", "Acme Corp", "globex"];
        let registry: Vec<_> = schemas
            .iter()
            .zip(labels)
            .map(|(&s, l)| (s, l, s))
            .collect();
        let catalog = registered(&schemas, &registry);
        let labels: Vec<String> = schemas.iter().map(|s| catalog.label(s)).collect();
        assert_eq!(
            labels,
            [
                "Acme Corp (acme)",
                "acme (hooli)",
                "Acme Corp (acme2)",
                "globex"
            ]
        );
    }

    #[test]
    fn step_wraps_and_skips() {
        let catalog = catalog();
        // (from, backwards, next) with client1 skipped.
        for (from, backwards, next) in [
            (None, false, "client2"),
            (Some("client2"), false, "client3"),
            (Some("client3"), false, "client2"),
            (Some("client2"), true, "client3"),
            (Some("client1"), false, "client2"),
        ] {
            assert_eq!(
                catalog.step(from, backwards, Some("client1")).as_deref(),
                Some(next),
                "from {from:?}, backwards {backwards}"
            );
        }
        assert_eq!(
            TenantCatalog::new(vec!["a".into()]).step(None, false, Some("a")),
            None
        );
    }

    /// `tenants` lists schemas, ids naming none, then no id ('' before
    /// NULL), each in reading order: also where a registry adds its
    /// tenants whose schema is gone (that sort went back to bytes).
    #[test]
    fn summaries_in_reading_order_by_group() {
        let summary = |tenant: Option<&str>, state| TenantSummary {
            tenant: tenant.map(str::to_string),
            state,
            users: 0,
            users_estimated: false,
            node: None,
        };
        let mut summaries = [
            summary(None, SchemaState::NoTenant),
            summary(Some("shop10"), SchemaState::Ok),
            summary(Some("Zeta"), SchemaState::Missing),
            summary(Some(""), SchemaState::NoTenant),
            summary(Some("shop2"), SchemaState::Ok),
            summary(Some("alpha"), SchemaState::NoSchema),
        ];
        TenantCatalog::default().sort_summaries(&mut summaries);
        let ids: Vec<Option<&str>> = summaries.iter().map(|s| s.tenant.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("shop2"),
                Some("shop10"),
                Some("alpha"),
                Some("Zeta"),
                Some(""),
                None
            ]
        );
    }

    /// Tenants in the order people read names, as the tenants pane lists
    /// them (`shop10` came before `shop2`, `Zeta` before `alpha`); lookups
    /// and steps follow that order.
    #[test]
    fn names_are_in_reading_order_and_found_in_it() {
        let names = ["shop10", "Zeta", "shop2", "alpha", "shop1", "Shop2"];
        let catalog = TenantCatalog::new(names.iter().map(|n| n.to_string()).collect());
        assert_eq!(
            catalog.names(),
            ["alpha", "shop1", "Shop2", "shop2", "shop10", "Zeta"]
        );
        for name in names {
            assert!(catalog.contains(name), "{name}");
        }
        assert!(!catalog.contains("shop3"));
        assert_eq!(
            catalog.step(Some("shop2"), false, None).as_deref(),
            Some("shop10")
        );
        assert_eq!(
            catalog.step(Some("shop3"), false, None).as_deref(),
            Some("shop10")
        );
        assert_eq!(
            catalog.step(Some("shop10"), true, None).as_deref(),
            Some("shop2")
        );
    }
}

/// How many tenants an "unknown tenant" error names.
const CLOSEST: usize = 5;

/// `unknown tenant: "X" (closest: "a", "b", …; N tenants in all)`: the
/// tenants nearest to `name` first (same letters ignoring case, then a name
/// containing it or contained in it, then by edit distance; a name a third
/// of its letters or more away is not close), `tenants:` when every one is
/// listed. Each tenant is shown as its first and ranked by the closest of
/// its names (a schema, a registry key, a label).
fn unknown_tenant_of(name: &str, tenants: Vec<(String, Vec<&str>)>) -> String {
    // Letters and digits only, lower case: `tenant5` is close to `Tenant 5
    // GmbH`, `acme-eu` to `acme_eu`.
    let plain = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = plain(name);
    let rank = |n: &str| {
        let lower = plain(n);
        // Containment from three letters on: a short registry key (`2`,
        // django-tenants' ids) is in many a name, and says nothing.
        let long = lower.chars().count().min(wanted.chars().count()) >= 3;
        let kind = if lower == wanted {
            0
        } else if long && (lower.contains(&wanted) || wanted.contains(&lower)) {
            1
        } else {
            2
        };
        (kind, edit_distance(&wanted, &lower))
    };
    let mut ranked: Vec<(usize, usize, &String)> = tenants
        .iter()
        .map(|(shown, names)| {
            let (kind, distance) = names
                .iter()
                .map(|n| rank(n))
                .min()
                .unwrap_or((2, usize::MAX));
            (kind, distance, shown)
        })
        .collect();
    ranked.sort();
    let names = &tenants;
    let all = names.len() <= CLOSEST;
    let near = (wanted.chars().count() / 3).max(2);
    let shown: Vec<String> = ranked
        .iter()
        .filter(|(kind, distance, _)| all || *kind < 2 || *distance <= near)
        .take(CLOSEST)
        .map(|(_, _, n)| crate::text::quoted(n))
        .collect();
    let name = crate::text::quoted(name);
    let count = crate::text::thousands(names.len() as i64);
    match names.len() {
        0 => format!("unknown tenant: {name} (there is no tenant)"),
        _ if all => format!("unknown tenant: {name} (tenants: {})", shown.join(", ")),
        _ if shown.is_empty() => {
            format!("unknown tenant: {name} (none is named like it, of {count} tenants)")
        }
        _ => format!(
            "unknown tenant: {name} (closest: {}; {count} tenants in all)",
            shown.join(", ")
        ),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod unknown_tests {
    fn unknown_tenant(name: &str, names: &[String]) -> String {
        let tenants = names.iter().map(|n| (n.clone(), vec![n.as_str()]));
        super::unknown_tenant_of(name, tenants.collect())
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    /// A registry's tenants are found by label and key too, and shown by
    /// label with the schema beside: schema names alone were ranked
    /// ("none is named like it" for a label's typo).
    #[test]
    fn labels_and_keys_are_candidates() {
        let rows = (1..=20)
            .map(|i| {
                (
                    format!("{i}"),
                    format!("Tenant {i} GmbH"),
                    format!("t{i:04}"),
                )
            })
            .collect();
        let catalog = super::TenantCatalog::new((1..=20).map(|i| format!("t{i:04}")).collect())
            .with_registry(rows);
        for (name, first) in [
            ("tenant 5 gmbh", "Tenant 5 GmbH (t0005)"),
            ("Tenant 5", "Tenant 5 GmbH (t0005)"),
            ("t0O05", "Tenant 5 GmbH (t0005)"),
            // A typo beside numeric keys (`1`, `2`, … are in "t0012x"):
            // the schema it is a letter from comes first.
            ("t0012x", "Tenant 12 GmbH (t0012)"),
            ("tenant7", "Tenant 7 GmbH (t0007)"),
        ] {
            let hint = catalog.unknown(name).to_string();
            let expected = format!("unknown tenant: \"{name}\" (closest: \"{first}\"");
            assert!(hint.starts_with(&expected), "{hint}");
        }
    }

    #[test]
    fn a_few_candidates_closest_first() {
        let all = names(&[
            "acme", "beta", "client1", "client2", "client3", "globex", "zeta",
        ]);
        assert_eq!(
            unknown_tenant("Client2", &all),
            "unknown tenant: \"Client2\" (closest: \"client2\", \"client1\", \"client3\"; 7 tenants in all)"
        );
        assert_eq!(
            unknown_tenant("nosuch", &all),
            "unknown tenant: \"nosuch\" (none is named like it, of 7 tenants)"
        );
        assert_eq!(
            unknown_tenant("glob", &all),
            "unknown tenant: \"glob\" (closest: \"globex\"; 7 tenants in all)"
        );
        assert_eq!(
            unknown_tenant("x", &names(&["b", "a"])),
            "unknown tenant: \"x\" (tenants: \"a\", \"b\")"
        );
        assert_eq!(
            unknown_tenant("x", &[]),
            "unknown tenant: \"x\" (there is no tenant)"
        );
    }
}
