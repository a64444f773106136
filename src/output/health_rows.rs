//! The health check's findings as rows, one per tenant or schema a check
//! named: what the health view lists and its CSV export writes.

use crate::db::tenancy::{FrameworkChecks, LedgerCheck, LedgerStatus, RegistryCheck};
use crate::db::{Count, HealthReport, SchemaState, TenantCatalog, TenantHealth};

/// What a row of the health view stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A tenant schema the check read: `report.tenants[i]`.
    Tenant(usize),
    /// A registered tenant, or (without a registry) an organization id,
    /// with no schema.
    NoSchema,
    /// The users with no tenant (no organization id): shown as `(none)`,
    /// which is no id (an organization id may read `(none)` too).
    NoTenant,
    /// A schema holding tenant tables that the registry does not list.
    Unregistered,
    /// django-pgschemas' static tenants and clone reference: no finding.
    Static,
    /// A schema that is no tenant (the shared one) with rows in a copy
    /// that should be empty.
    Shared,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    /// Said, not a finding.
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
}

/// One row of the health view: a tenant, or a schema (or organization id)
/// a check named, with everything found about it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    /// The schema or organization id (`(none)` on the [`RowKind::NoTenant`] row).
    pub schema: String,
    /// As people call it: the registry's label where there is one.
    pub name: String,
    pub kind: RowKind,
    pub status: &'static str,
    /// Its users, when known (a tenant's may be estimated).
    pub users: Option<Count>,
    pub findings: Vec<Finding>,
}

impl HealthRow {
    pub fn has_findings(&self) -> bool {
        self.findings.iter().any(|f| f.severity != Severity::Note)
    }

    /// The one rule for a row's status: a finding's replaces `ok`, an
    /// error's also a warning's (`unused`, migrations `ahead`); between
    /// errors the first stays.
    fn raise(&mut self, status: &'static str, severity: Severity) {
        let warned = matches!(self.status, "unused" | "ahead");
        if self.status == "ok" || (warned && severity == Severity::Error) {
            self.status = status;
        }
    }
}

/// Every row of the health view, in order: the tenants the check read,
/// then registered tenants with no schema (or organization ids naming
/// none), schemas nobody registered, static schemas, and other schemas
/// holding rows in a wrong copy. Wording follows the layout: with a
/// registry, tenants are registered, not organization ids.
pub fn all_rows(
    report: &HealthReport,
    checks: &FrameworkChecks,
    catalog: &TenantCatalog,
    leaks: &LeaksFound,
) -> Vec<HealthRow> {
    let registry = checks.registry.as_ref();
    let mut rows = RowSet {
        rows: tenant_rows(report, catalog),
        catalog,
    };
    if let Some(registry) = registry {
        rows.missing_schemas(registry);
    }
    rows.orphans(report, registry);
    if let Some(registry) = registry {
        rows.unregistered_and_static(registry);
    }
    if let Some(ledger) = &checks.ledger {
        rows.ledger(ledger);
    }
    rows.wrong_copy(report);
    rows.unused(report, registry.is_some());
    // A row's findings worst first (a wrong copy's error led by a
    // migration warning added before it); otherwise in the order found.
    for row in &mut rows.rows {
        row.findings.sort_by_key(|f| match f.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Note => 2,
        });
    }
    // What `L` answered leads, whatever its severity: the view's details
    // show it in its own place (a failed check sorted behind drift).
    rows.leaks(leaks);
    rows.rows
}

/// What the health view's `L` answered, by tenant schema: how many leaked
/// orders it found, or why it could not look (the check itself does not
/// look for them: `health` has none).
pub type LeaksFound = std::collections::BTreeMap<String, Result<usize, String>>;

fn finding(severity: Severity, text: String) -> Finding {
    Finding { severity, text }
}

/// The tenants the check read, each with its place in the report, in the
/// catalogue's order (by registry label, as the tenants pane lists them;
/// the report has them by schema): every list of them, the view's, its
/// export's and `health`'s table.
pub(super) fn listed_tenants<'r>(
    report: &'r HealthReport,
    catalog: &TenantCatalog,
) -> Vec<(usize, &'r TenantHealth)> {
    let mut tenants: Vec<_> = report.tenants.iter().enumerate().collect();
    tenants.sort_by(|(_, a), (_, b)| catalog.order(&a.tenant, &b.tenant));
    tenants
}

/// A row per tenant schema the check read, with its drift.
fn tenant_rows(report: &HealthReport, catalog: &TenantCatalog) -> Vec<HealthRow> {
    listed_tenants(report, catalog)
        .into_iter()
        .map(|(i, t)| HealthRow {
            schema: t.tenant.clone(),
            name: catalog.label(&t.tenant),
            kind: RowKind::Tenant(i),
            status: t.status.word(),
            users: Some(t.users),
            findings: t
                .drift
                .iter()
                .map(|d| finding(Severity::Error, d.describe()))
                .collect(),
        })
        .collect()
}

/// The rows so far, each check adding its findings to a schema's row (a
/// new row for a schema not yet listed).
struct RowSet<'c> {
    rows: Vec<HealthRow>,
    catalog: &'c TenantCatalog,
}

impl RowSet<'_> {
    /// Leaked orders found in a tenant: its first finding, and its status
    /// where nothing worse shows (as drift does over "unused"). A check
    /// that failed is its first finding too, a warning: the tenant's
    /// orders were not looked at.
    fn leaks(&mut self, leaks: &LeaksFound) {
        for row in &mut self.rows {
            if !matches!(row.kind, RowKind::Tenant(_)) {
                continue;
            }
            let (severity, status, text) = match leaks.get(&row.schema) {
                None | Some(Ok(0)) => continue,
                Some(Ok(found)) => (
                    Severity::Error,
                    "leak",
                    crate::text::plural(*found, "leaked order", "leaked orders"),
                ),
                Some(Err(why)) => (
                    Severity::Warning,
                    "unchecked",
                    format!("leaks not checked: {why}"),
                ),
            };
            row.findings.insert(0, finding(severity, text));
            row.raise(status, severity);
        }
    }

    fn row_of(&mut self, schema: &str, kind: RowKind) -> &mut HealthRow {
        // Findings on one schema share its row; the users with no id, and
        // an id naming no schema (a registry's key can read like an
        // unregistered schema's name), have rows of their own.
        let group = |kind: RowKind| match kind {
            RowKind::NoTenant => 0,
            RowKind::NoSchema => 1,
            _ => 2,
        };
        let at = match self
            .rows
            .iter()
            .position(|r| r.schema == schema && group(r.kind) == group(kind))
        {
            Some(at) => at,
            None => {
                self.rows.push(HealthRow {
                    schema: schema.to_string(),
                    name: self.catalog.label(schema),
                    kind,
                    // In the words of `tenants` (a registered tenant's
                    // reads "schema missing": see `missing_schemas`).
                    status: match kind {
                        RowKind::Tenant(_) => SchemaState::Ok.word(),
                        RowKind::NoSchema => SchemaState::NoSchema.word(),
                        RowKind::NoTenant => SchemaState::NoTenant.word(),
                        RowKind::Unregistered => "unregistered",
                        RowKind::Static => "static",
                        RowKind::Shared => "shared",
                    },
                    users: None,
                    findings: Vec::new(),
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[at]
    }

    /// Registered tenants whose schema is gone or lacks the tenant tables.
    fn missing_schemas(&mut self, registry: &RegistryCheck) {
        let text = format!("registered in {}, but has no tenant schema", registry.table);
        for schema in &registry.schemas.missing_schemas {
            let row = self.row_of(schema, RowKind::NoSchema);
            row.status = SchemaState::Missing.word();
            row.findings.push(finding(Severity::Error, text.clone()));
        }
        let text = format!("registered in {}, naming no schema", registry.table);
        self.flag(&registry.unnamed, RowKind::NoSchema, Severity::Error, &text);
    }

    /// The same finding on the row of each of `schemas`.
    fn flag(&mut self, schemas: &[String], kind: RowKind, severity: Severity, text: &str) {
        for schema in schemas {
            let row = self.row_of(schema, kind);
            row.findings.push(finding(severity, text.to_string()));
        }
    }

    /// Users of a tenant (or organization id) with no schema, or of none.
    fn orphans(&mut self, report: &HealthReport, registry: Option<&RegistryCheck>) {
        for orphan in &report.orphan_organizations {
            let users =
                crate::text::plural(usize::try_from(orphan.users).unwrap_or(0), "user", "users");
            let (schema, kind, text) = match (&orphan.organization_id, registry) {
                (Some(id), Some(registry)) if registry.lists(id) => (
                    id.as_str(),
                    RowKind::NoSchema,
                    format!("{users} of a tenant with no schema"),
                ),
                (Some(id), Some(registry)) => (
                    id.as_str(),
                    RowKind::NoSchema,
                    format!(
                        "organization id of {users}, which {} does not list",
                        registry.table
                    ),
                ),
                (Some(id), None) => (
                    id.as_str(),
                    RowKind::NoSchema,
                    format!("organization id of {users}, naming no tenant schema"),
                ),
                (None, _) => (
                    "(none)",
                    RowKind::NoTenant,
                    format!("{users} with no organization id"),
                ),
            };
            let row = self.row_of(schema, kind);
            row.users = Some(Count::exact(orphan.users));
            row.findings.push(finding(Severity::Warning, text));
        }
    }

    /// Schemas with tenant tables the registry does not list, and
    /// django-pgschemas' static ones.
    fn unregistered_and_static(&mut self, registry: &RegistryCheck) {
        let table = &registry.table;
        let text = format!("holds tenant tables, but {table} does not list it");
        let kind = RowKind::Unregistered;
        self.flag(
            &registry.schemas.unregistered_schemas,
            kind,
            Severity::Error,
            &text,
        );
        let text = format!(
            "not in {table}: django-pgschemas' static tenant or clone reference (ignore_schemas)"
        );
        self.flag(
            &registry.schemas.static_schemas,
            RowKind::Static,
            Severity::Note,
            &text,
        );
    }

    /// Tenants whose migrations are behind, ahead of or diverged from the
    /// shared ledger.
    fn ledger(&mut self, ledger: &LedgerCheck) {
        for drift in &ledger.drift {
            let list = |v: &[String]| v.join(", ");
            let text = match drift.status {
                LedgerStatus::Behind => format!(
                    "migrations behind ({}): lacks {}",
                    ledger.table,
                    list(&drift.missing)
                ),
                LedgerStatus::Ahead => format!(
                    "migrations ahead ({}): ran {}",
                    ledger.table,
                    list(&drift.extra)
                ),
                LedgerStatus::Diverged => format!(
                    "migrations diverged ({}): lacks {}; ran {}",
                    ledger.table,
                    list(&drift.missing),
                    list(&drift.extra)
                ),
            };
            let severity = match drift.status {
                LedgerStatus::Ahead => Severity::Warning,
                _ => Severity::Error,
            };
            let row = self.row_of(&drift.tenant, RowKind::Tenant(usize::MAX));
            row.raise(drift.status.word(), severity);
            row.findings.push(finding(severity, text));
        }
    }

    /// Rows in the wrong copy of a table (a tenant's in the shared one, or
    /// the reverse).
    fn wrong_copy(&mut self, report: &HealthReport) {
        for copy in &report.wrong_copy {
            let row = self.row_of(&copy.schema, RowKind::Shared);
            if copy.has_rows() {
                row.raise("wrong copy", Severity::Error);
            }
            let severity = if copy.has_rows() {
                Severity::Error
            } else {
                Severity::Warning
            };
            let text = format!(
                "{}: {} in the wrong copy ({})",
                copy.table,
                copy.rows_text(),
                copy.why
            );
            row.findings.push(finding(severity, text));
        }
    }

    /// Tenants no user belongs to.
    fn unused(&mut self, report: &HealthReport, registered: bool) {
        for schema in &report.unused_tenants {
            let text = match registered {
                true => "no user is a member of it",
                false => "no user's organization id names it",
            };
            self.row_of(schema, RowKind::Tenant(usize::MAX))
                .findings
                .push(finding(Severity::Warning, text.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::OrphanOrganization;

    /// The users with no organization id are a row of their own, apart from
    /// an organization id that reads `(none)` (it was taken for them).
    #[test]
    fn users_with_no_tenant_are_no_organization_id() {
        let orphan = |id: Option<&str>, users| OrphanOrganization {
            organization_id: id.map(str::to_string),
            users,
        };
        let report = HealthReport {
            orphan_organizations: vec![orphan(Some("(none)"), 3), orphan(None, 2)],
            ..HealthReport::default()
        };
        let catalog = TenantCatalog::new(Vec::new());
        let rows = all_rows(
            &report,
            &FrameworkChecks::default(),
            &catalog,
            &LeaksFound::new(),
        );
        let seen: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.schema.as_str(),
                    r.kind,
                    r.status,
                    r.users.map(|c| c.value),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("(none)", RowKind::NoSchema, "no schema", Some(3)),
                ("(none)", RowKind::NoTenant, "none", Some(2)),
            ]
        );
        assert_eq!(rows[1].findings[0].text, "2 users with no organization id");
    }

    /// Where a registry names tenants, their rows follow its labels, as the
    /// tenants pane lists them (they went by schema: `t1, t2, t3` beside
    /// the pane's `alpha, Mid, Zeta`); each row still points at its own
    /// tenant of the report.
    #[test]
    fn tenant_rows_follow_the_registry_labels() {
        use crate::db::TenantHealth;
        let schemas = ["t1", "t2", "t3"];
        let report = HealthReport {
            tenants: schemas.map(TenantHealth::healthy).to_vec(),
            ..HealthReport::default()
        };
        let registry = [("Zeta", "t1"), ("alpha", "t2"), ("Mid", "t3")];
        let catalog = TenantCatalog::new(schemas.map(String::from).to_vec()).with_registry(
            registry
                .iter()
                .map(|&(label, schema)| (schema.into(), label.into(), schema.into()))
                .collect(),
        );
        let rows = all_rows(
            &report,
            &FrameworkChecks::default(),
            &catalog,
            &LeaksFound::new(),
        );
        let seen: Vec<_> = rows.iter().map(|r| (r.name.as_str(), r.kind)).collect();
        assert_eq!(
            seen,
            [
                ("alpha", RowKind::Tenant(1)),
                ("Mid", RowKind::Tenant(2)),
                ("Zeta", RowKind::Tenant(0)),
            ]
        );
    }

    /// A registry key naming no schema and an unregistered schema of the
    /// same name are two rows (one read "no schema" beside the schema's
    /// findings).
    #[test]
    fn an_id_and_a_schema_of_one_name_are_two_rows() {
        let report = HealthReport {
            orphan_organizations: vec![OrphanOrganization {
                organization_id: Some("99".into()),
                users: 1,
            }],
            ..HealthReport::default()
        };
        let checks = FrameworkChecks {
            registry: Some(RegistryCheck {
                table: "companies".into(),
                schemas: crate::db::tenancy::RegistrySchemas {
                    unregistered_schemas: vec!["99".into()],
                    ..Default::default()
                },
                ..Default::default()
            }),
            ledger: None,
        };
        let rows = all_rows(
            &report,
            &checks,
            &TenantCatalog::new(Vec::new()),
            &LeaksFound::new(),
        );
        let seen: Vec<_> = rows.iter().map(|r| (r.schema.as_str(), r.status)).collect();
        assert_eq!(seen, [("99", "no schema"), ("99", "unregistered")]);
    }

    /// One rule for a row's status: an error's (leaks, a wrong copy)
    /// replaces migrations `ahead`, a warning; the first error stays.
    /// Leaks kept `ahead` (the leak rule knew only `ok` and `unused`).
    #[test]
    fn an_error_outranks_migrations_ahead_and_the_first_error_stays() {
        let tenant = |name: &str| crate::db::TenantHealth::healthy(name);
        let report = HealthReport {
            tenants: vec![tenant("a"), tenant("b")],
            wrong_copy: vec![crate::db::WrongCopy {
                schema: "b".into(),
                table: "users".into(),
                role: crate::db::CopyRole::SharedTable,
                rows: Some(2),
                more: false,
                why: "shared table".into(),
            }],
            ..HealthReport::default()
        };
        let ahead = |tenant: &str| crate::db::tenancy::LedgerDrift {
            tenant: tenant.into(),
            status: LedgerStatus::Ahead,
            missing: Vec::new(),
            extra: vec!["0002".into()],
        };
        let checks = FrameworkChecks {
            registry: None,
            ledger: Some(LedgerCheck {
                table: "django_migrations".into(),
                tenants: 2,
                drift: vec![ahead("a"), ahead("b")],
                ..Default::default()
            }),
        };
        let leaks = LeaksFound::from([("a".to_string(), Ok(1)), ("b".to_string(), Ok(1))]);
        let rows = all_rows(&report, &checks, &TenantCatalog::new(Vec::new()), &leaks);
        let seen: Vec<_> = rows.iter().map(|r| (r.schema.as_str(), r.status)).collect();
        assert_eq!(seen, [("a", "leak"), ("b", "wrong copy")]);
        // The findings worst first: the errors before migrations ahead.
        let severities: Vec<Severity> = rows[1].findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [Severity::Error, Severity::Error, Severity::Warning],
            "{:?}",
            rows[1]
        );
        // A failed `L` leads the row's findings, before its errors (it
        // sorted behind them, and the details then dropped an error).
        let leaks = LeaksFound::from([("b".to_string(), Err("timed out".to_string()))]);
        let rows = all_rows(&report, &checks, &TenantCatalog::new(Vec::new()), &leaks);
        let texts: Vec<&str> = rows[1].findings.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts[0], "leaks not checked: timed out", "{texts:?}");
        assert_eq!(texts.len(), 3, "every other finding kept: {texts:?}");
        assert_eq!(rows[1].status, "wrong copy");
    }
}
