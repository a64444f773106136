//! Health checks the tenancy model makes possible: the registry against
//! the schemas, both ways, and the migration ledgers against each other.
//! A constant number of catalog queries, plus the ledgers' rows read in
//! batches of [`LEDGER_BATCH`] schemas per statement.

use crate::model::TABLE_KINDS;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::db::{Database, DbError};

/// Tenant ledgers read per statement.
pub const LEDGER_BATCH: usize = 200;

/// The registry against the schemas, both ways: what detection found
/// (and its cache keeps) and what `health` checks again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistrySchemas {
    /// Registered tenants whose schema does not exist (detection), or
    /// does not hold the tenant tables (`health`): "schema missing".
    pub missing_schemas: Vec<String>,
    /// Schemas that hold the tenant tables (or some of them: a
    /// half-deleted tenant) but nobody registered.
    pub unregistered_schemas: Vec<String>,
    /// django-pgschemas: schemas holding the tenant tables that its
    /// registry does not list, taken for the static tenants and the clone
    /// reference its settings name (the database cannot tell them from a
    /// tenant whose row was deleted): put in `ignore_schemas`, not a finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_schemas: Vec<String>,
}

/// Registered tenants with no schema, and tenant-like schemas nobody registered.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegistryCheck {
    pub table: String,
    #[serde(flatten)]
    pub schemas: RegistrySchemas,
    /// Keys of registry rows that name no schema (NULL or empty): their
    /// users' organization id names no tenant schema.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unnamed: Vec<String>,
    /// The users of each tenant listed above (`missing_schemas`,
    /// `unnamed`) that has any, from the health report's organization
    /// ids (see [`Database::framework_checks`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, i64>,
}

impl RegistryCheck {
    /// With the users of the tenants it lists, taken from `orphans` (the
    /// organization ids naming no tenant schema), where they are
    /// reported once: here.
    fn with_users(self, orphans: &[crate::db::OrphanOrganization]) -> RegistryCheck {
        let users = orphans
            .iter()
            .filter_map(|o| Some((o.organization_id.clone()?, o.users)))
            .filter(|(id, _)| self.lists(id))
            .collect();
        RegistryCheck { users, ..self }
    }

    /// The registry lists `id`: as a schema it names, or as the key of a
    /// row naming none.
    pub fn lists(&self, id: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|s| s == id);
        named(&self.schemas.missing_schemas) || named(&self.unnamed)
    }
}

/// Where a tenant's ledger stands against the others (or `--reference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// It lacks migrations other tenants (or the reference) ran.
    Behind,
    /// It ran migrations some other tenant (or the reference) lacks, and
    /// lacks none: further on, not broken.
    Ahead,
    /// Both: it lacks some and has others.
    Diverged,
}

impl LedgerStatus {
    pub fn word(self) -> &'static str {
        match self {
            LedgerStatus::Behind => "behind",
            LedgerStatus::Ahead => "ahead",
            LedgerStatus::Diverged => "diverged",
        }
    }
}

/// One tenant's ledger against the others'.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerDrift {
    pub tenant: String,
    pub status: LedgerStatus,
    /// Versions other tenants (or the reference) have and this one lacks.
    pub missing: Vec<String>,
    /// Versions this tenant has and some other tenant (or the reference) lacks.
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LedgerCheck {
    pub table: String,
    /// Tenants whose ledger was read (those holding the table).
    pub tenants: usize,
    /// Tenant schemas without the ledger table.
    pub without_ledger: Vec<String>,
    pub drift: Vec<LedgerDrift>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FrameworkChecks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerCheck>,
}

impl FrameworkChecks {
    /// What the checks found, one phrase each (empty: nothing).
    pub fn findings(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Some(r) = &self.registry {
            if !r.schemas.missing_schemas.is_empty() {
                let n = r.schemas.missing_schemas.len();
                let tenants = crate::text::plural(n, "registered tenant", "registered tenants");
                found.push(format!("{tenants} with no schema"));
            }
            if !r.unnamed.is_empty() {
                let n = r.unnamed.len();
                let tenants = crate::text::plural(n, "registered tenant", "registered tenants");
                found.push(format!("{tenants} naming no schema"));
            }
            if !r.schemas.unregistered_schemas.is_empty() {
                let n = r.schemas.unregistered_schemas.len();
                let schemas = crate::text::plural(n, "schema", "schemas");
                found.push(format!("{schemas} nobody registered"));
            }
        }
        if let Some(l) = &self.ledger {
            // Tenants ahead are only news beside tenants behind.
            let behind = l
                .drift
                .iter()
                .filter(|d| d.status != LedgerStatus::Ahead)
                .count();
            if behind > 0 {
                let tenants = crate::text::plural(behind, "tenant", "tenants");
                found.push(format!(
                    "{tenants} behind on {} (lacking migrations others ran)",
                    l.table
                ));
            }
        }
        found
    }
}

fn lossy(names: Vec<Vec<u8>>) -> Vec<String> {
    names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// The version text of a ledger row, by the frameworks' ledger tables.
fn ledger_version(table: &str) -> Option<&'static str> {
    match table {
        "django_migrations" => Some("l.app::text || '.' || l.name::text"),
        "schema_migrations" => Some("l.version::text"),
        "migrations" => Some("l.migration::text"),
        _ => None,
    }
}

/// Each tenant's versions against the others': a tenant lacking a version
/// any other tenant has is behind; one having a version some other tenant
/// lacks is ahead (so a lone tenant that ran the newest migration is ahead,
/// and the others behind). With a `reference` tenant (one that has a
/// ledger), each other tenant is compared with it alone.
pub fn ledger_drift(
    versions: &BTreeMap<String, BTreeSet<String>>,
    reference: Option<&str>,
) -> Vec<LedgerDrift> {
    let reference = reference.and_then(|r| versions.get_key_value(r));
    let (all, common): (BTreeSet<&str>, BTreeSet<&str>) = match reference {
        Some((_, set)) => {
            let set: BTreeSet<&str> = set.iter().map(String::as_str).collect();
            (set.clone(), set)
        }
        None => {
            let mut sets = versions
                .values()
                .map(|s| s.iter().map(String::as_str).collect::<BTreeSet<&str>>());
            let first = sets.next().unwrap_or_default();
            sets.fold((first.clone(), first), |(all, common), set| {
                (
                    all.union(&set).copied().collect(),
                    common.intersection(&set).copied().collect(),
                )
            })
        }
    };
    versions
        .iter()
        .filter(|(tenant, _)| reference.is_none_or(|(r, _)| r != *tenant))
        .filter_map(|(tenant, set)| {
            let mine: BTreeSet<&str> = set.iter().map(String::as_str).collect();
            let missing: Vec<String> = all.difference(&mine).map(|v| v.to_string()).collect();
            let extra: Vec<String> = mine.difference(&common).map(|v| v.to_string()).collect();
            let status = match (missing.is_empty(), extra.is_empty()) {
                (true, true) => return None,
                (false, true) => LedgerStatus::Behind,
                (true, false) => LedgerStatus::Ahead,
                (false, false) => LedgerStatus::Diverged,
            };
            Some(LedgerDrift {
                tenant: tenant.clone(),
                status,
                missing,
                extra,
            })
        })
        .collect()
}

impl Database {
    /// The registry and ledger checks of the model in force (each `None`
    /// when the model has no registry or no ledger).
    /// `reference`: the tenant (schema) ledgers are compared with, as
    /// `health --reference` names it; else each with all the others.
    /// `orphans`: the health report's organization ids naming no tenant
    /// schema, whose users the registry's tenants are given.
    pub async fn framework_checks(
        &self,
        reference: Option<&str>,
        orphans: &[crate::db::OrphanOrganization],
    ) -> Result<FrameworkChecks, DbError> {
        self.retried(|| async move {
            let model = &self.tables.model;
            let names = &self.tables.names;
            let mut tx = self.read_tx().await?;
            let mut checks = FrameworkChecks::default();
            let registry = &model.schemas.registry;
            if let (Some(table), Some(_)) = (&registry.table, &registry.schema) {
                let check = self.registry_check(&mut tx, table).await?;
                checks.registry = Some(check.with_users(orphans));
            }
            let ledger = model
                .schemas
                .ledger
                .as_deref()
                .and_then(|t| ledger_version(t).map(|v| (t, v)));
            if let Some((table, version)) = ledger {
                // The tenants, and the quoted ledger of each that has one.
                let schemas: Vec<(Vec<u8>, Option<String>)> = sqlx::query_as(&format!(
                    "SELECT convert_to(n.nspname::text, 'SQL_ASCII'),
                            CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                               WHERE c.relnamespace = n.oid AND c.relname = $2
                                                 AND c.relkind IN {TABLE_KINDS})
                                 THEN quote_ident(n.nspname) || '.' || quote_ident($2) END
                       FROM pg_catalog.pg_namespace n
                      WHERE {} AND {}
                      ORDER BY 1",
                    crate::db::catalog::candidate_schema("$1"),
                    names.has_tenant_tables()
                ))
                .bind(&model.schemas.shared)
                .bind(table)
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
                let schemas: Vec<(String, Option<String>)> = schemas
                    .into_iter()
                    .map(|(s, q)| (String::from_utf8_lossy(&s).into_owned(), q))
                    .collect();
                let with: Vec<(&String, &String)> = schemas
                    .iter()
                    .filter_map(|(s, q)| q.as_ref().map(|q| (s, q)))
                    .collect();
                let mut versions: BTreeMap<String, BTreeSet<String>> = with
                    .iter()
                    .map(|(s, _)| ((*s).clone(), BTreeSet::new()))
                    .collect();
                for chunk in with.chunks(LEDGER_BATCH) {
                    // Tenants are numbered within the batch: names stay bound.
                    let sql = chunk
                        .iter()
                        .enumerate()
                        .map(|(i, (_, q))| {
                            format!(
                                "SELECT {i}::int4, convert_to({version}, 'SQL_ASCII') FROM {q} l"
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" UNION ALL ");
                    let rows: Vec<(i32, Option<Vec<u8>>)> = sqlx::query_as(&sql)
                        .persistent(false)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(|e| self.error(e))?;
                    for (i, v) in rows {
                        let tenant = chunk.get(i as usize).map(|(s, _)| (*s).clone());
                        if let (Some(tenant), Some(v)) = (tenant, v) {
                            let v = String::from_utf8_lossy(&v).into_owned();
                            versions.entry(tenant).or_default().insert(v);
                        }
                    }
                }
                checks.ledger = Some(LedgerCheck {
                    table: table.to_string(),
                    tenants: versions.len(),
                    without_ledger: schemas
                        .iter()
                        .filter(|(_, q)| q.is_none())
                        .map(|(s, _)| s.clone())
                        .collect(),
                    drift: ledger_drift(&versions, reference),
                });
            }
            Database::end_read(tx);
            Ok(checks)
        })
        .await
    }

    /// The registry against the catalog: registered schemas that do not
    /// exist, tenant schemas not registered, and static schemas ignored.
    async fn registry_check(
        &self,
        tx: &mut sqlx::PgConnection,
        table: &str,
    ) -> Result<RegistryCheck, DbError> {
        let model = &self.tables.model;
        let names = &self.tables.names;
        // The schema expression as tenantscope writes it, never the
        // configured text.
        let quoted = self.quote_registry(&mut *tx, table).await?;
        let (registry_q, key_q, expr) = (quoted.table, quoted.key, quoted.schema);
        let unfiltered = crate::db::tenancy::Names {
            tenant_filter: String::new(),
            ..names.clone()
        };
        // Registered, and gone or without the tenant tables ("schema
        // missing", as `tenants` says); a schema holding any of them
        // that is not registered.
        let (complete, any) = (
            unfiltered.has_tenant_tables(),
            unfiltered.has_any_tenant_table(),
        );
        // Names as bytes (SQL_ASCII may hold any), shown lossily.
        type Lists = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<Vec<u8>>);
        let (missing, unregistered, unnamed): Lists = sqlx::query_as(&format!(
            "WITH reg AS (SELECT DISTINCT nullif(({expr})::text, '') AS s FROM {registry_q})
             SELECT ARRAY(SELECT convert_to(s, 'SQL_ASCII') FROM reg
                           WHERE s IS NOT NULL AND s <> $1 AND s <> ALL($2)
                             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                                              WHERE n.nspname = reg.s AND {complete})
                           ORDER BY 1),
                    ARRAY(SELECT convert_to(n.nspname::text, 'SQL_ASCII')
                            FROM pg_catalog.pg_namespace n
                           WHERE n.nspname <> $1 AND n.nspname <> ALL($2)
                             AND {any}
                             AND NOT EXISTS (SELECT 1 FROM reg WHERE reg.s = n.nspname)
                           ORDER BY 1),
                    ARRAY(SELECT convert_to(r.{key_q}::text, 'SQL_ASCII') FROM {registry_q} r
                           WHERE nullif(({expr})::text, '') IS NULL AND r.{key_q} IS NOT NULL
                           ORDER BY 1)"
        ))
        .bind(&model.schemas.shared)
        .bind(&model.schemas.ignore)
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        Ok(RegistryCheck {
            table: table.to_string(),
            schemas: RegistrySchemas {
                missing_schemas: lossy(missing),
                unregistered_schemas: lossy(unregistered),
                static_schemas: self
                    .detection()
                    .map(|d| {
                        d.registry
                            .static_schemas
                            .iter()
                            .filter(|s| model.schemas.ignore.contains(s))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            unnamed: lossy(unnamed),
            users: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_is_behind_when_it_lacks_what_others_ran() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let drift = |tenant: &str, status, missing: &[&str], extra: &[&str]| LedgerDrift {
            tenant: tenant.into(),
            status,
            missing: missing.iter().map(|s| s.to_string()).collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        // A rollout that died before c: c is behind, a and b ahead of it.
        let versions: BTreeMap<String, BTreeSet<String>> = [
            ("a".to_string(), set(&["1", "2"])),
            ("b".to_string(), set(&["1", "2"])),
            ("c".to_string(), set(&["1"])),
        ]
        .into();
        assert_eq!(
            ledger_drift(&versions, None),
            vec![
                drift("a", LedgerStatus::Ahead, &[], &["2"]),
                drift("b", LedgerStatus::Ahead, &[], &["2"]),
                drift("c", LedgerStatus::Behind, &["2"], &[]),
            ]
        );
        // A lone tenant that ran the newest migration is ahead, not the
        // anomaly: the two that have not run it yet are behind.
        let versions: BTreeMap<String, BTreeSet<String>> = [
            ("a".to_string(), set(&["1"])),
            ("b".to_string(), set(&["1"])),
            ("c".to_string(), set(&["1", "2"])),
        ]
        .into();
        assert_eq!(
            ledger_drift(&versions, None),
            vec![
                drift("a", LedgerStatus::Behind, &["2"], &[]),
                drift("b", LedgerStatus::Behind, &["2"], &[]),
                drift("c", LedgerStatus::Ahead, &[], &["2"]),
            ]
        );
        // Against a reference: only what it has counts, both ways.
        assert_eq!(
            ledger_drift(&versions, Some("a")),
            vec![drift("c", LedgerStatus::Ahead, &[], &["2"])]
        );
        let versions: BTreeMap<String, BTreeSet<String>> = [
            ("a".to_string(), set(&["1", "2"])),
            ("c".to_string(), set(&["1", "9"])),
        ]
        .into();
        assert_eq!(
            ledger_drift(&versions, Some("a")),
            vec![drift("c", LedgerStatus::Diverged, &["2"], &["9"])]
        );
    }
}
