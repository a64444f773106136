//! Tenant health: `health` and the health view's export.

use serde::Serialize;

use super::health_rows::{all_rows, listed_tenants, RowKind};
use super::{csv, json, table, Align, Destination, ReportFormat};
use crate::db::tenancy::FrameworkChecks;
use crate::db::{
    Count, HealthReport, Leak, LeakKind, OrphanOrganization, ReferenceChoice, TableReference,
    TenantCatalog, TenantHealth,
};
use crate::text;

/// Leaks of one tenant, when `health --leaks TENANT` asked for them.
#[derive(Debug, Clone, Copy)]
pub struct LeakCheck<'a> {
    pub tenant: &'a str,
    pub leaks: &'a [Leak],
}

/// `health --format json`. The keys are stable:
///
/// ```json
/// {
///   "healthy": false,
///   "tenants": [
///     {"tenant": "floaty", "status": "drift",
///      "users": {"value": 1, "estimated": false},
///      "items": {"value": 1, "estimated": true},
///      "orders": null,
///      "drift": [{"table": "items", "column": "price", "kind": "type_changed",
///                 "expected": {"type": "numeric(12,2)", "not_null": true},
///                 "found": {"type": "double precision", "not_null": true}}]}
///   ],
///   "references": [{"table": "items", "tenant": "client1", "chosen_by": "majority",
///                   "matching": 4, "with_table": 6, "tie": false,
///                   "columns": [{"name": "description", "type": "text", "not_null": true}]}],
///   "orphan_organizations": [{"organization_id": "ghost", "users": 2},
///                            {"organization_id": null, "users": 2}],
///   "unused_tenants": ["lonely"],
///   "leaks": {"tenant": "client1",
///             "orders": [{"order_id": "3", "user_id": "2", "kind": "other_tenant",
///                         "user_tenant": "client2"}]},
///   "wrong_copy": [{"schema": "public", "table": "items", "role": "tenant_table",
///                   "rows": 1, "more": false,
///                   "why": "a tenant table: its rows belong in the tenant schemas"}]
/// }
/// ```
///
/// - `healthy`: no drift, orphan organization, unused tenant or leak (what
///   `--fail-on-drift` checks).
/// - `status`: `ok`, `drift` (its tables differ from the reference or one is
///   missing) or `unused` (no drift, no user).
/// - `users` is exact up to 1,000 tenant users tables (users in each
///   tenant schema) and where a table was never analyzed or its statistics
///   say it is empty, else its `pg_class.reltuples` estimate (`estimated`
///   says which); `items` and `orders` are `pg_class.reltuples` estimates,
///   `null` when unknown (missing table, never analyzed, a view).
/// - drift `kind`: `missing_table` (`column`, `expected`, `found` null),
///   `missing_column` (`found` null), `extra_column` (`expected` null),
///   `type_changed`, `nullability_changed`; sorted by tenant, table, column.
/// - drift kind `missing_required_column`: the tenant lacks a column
///   tenantscope reads (items id/description/price, orders
///   user_id/item_id/quantity), whatever the other tenants have.
/// - `references`: per table, the column set others are compared with:
///   `chosen_by` `majority`, `required_columns` (a set with every required
///   column, preferred over an equally or more common set without),
///   `first_by_name` (an unsettled tie: the group with the alphabetically
///   first tenant) or `given` (`--reference`); `tie` is true when no column
///   set is strictly the most common.
/// - `organization_id` null: users with a NULL or empty organization id.
///   An id the registry lists (`registry.missing_schemas`, `unnamed`) is
///   not repeated here: its users are in `registry.users`.
/// - `leaks`: `null` without `--leaks`; leak `kind` is `other_tenant` (the
///   user's `user_tenant` is another tenant, or null) or `no_user`.
/// - `wrong_copy`: copies that should be empty and hold rows: a tenant
///   table (`role` `tenant_table`: items, orders) in the shared schema, or
///   a shared table (`shared_table`: the registry, a shared users table,
///   the link table) in a tenant schema. `rows` is counted up to 1000
///   (`more`: there are more); `null` when the copy could not be read
///   (`why` says why; not counted by `healthy`).
#[derive(Serialize)]
struct HealthJson<'a> {
    healthy: bool,
    tenants: &'a [TenantHealth],
    references: &'a [TableReference],
    orphan_organizations: Vec<&'a OrphanOrganization>,
    unused_tenants: &'a [String],
    leaks: Option<LeaksJson<'a>>,
    wrong_copy: &'a [crate::db::WrongCopy],
    /// Citus only, when a node did not answer: its `node` (`host:port`),
    /// `error` and the `tenants` on it, whose row counts are unknown.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unreachable_nodes: &'a [crate::db::NodeFault],
    /// `registry` and `ledger`: only when the tenancy model has them.
    #[serde(flatten)]
    checks: Option<&'a FrameworkChecks>,
}

#[derive(Serialize)]
struct LeaksJson<'a> {
    tenant: &'a str,
    orders: &'a [Leak],
}

/// The organization ids that name no tenant schema, and apart from them the
/// count of users with no id at all: an id may read `(none)`, so the two
/// are never one list in text. Ids the registry lists (a registered tenant
/// whose schema is gone) are its finding, with their users (see
/// [`framework_checks_text`]), not listed twice.
fn orphans_by_id<'r>(
    report: &'r HealthReport,
    checks: Option<&'r FrameworkChecks>,
) -> (Vec<(&'r str, i64)>, Option<i64>) {
    let mut named = Vec::new();
    let mut no_id = None;
    for orphan in unlisted_orphans(report, checks) {
        match &orphan.organization_id {
            Some(id) => named.push((id.as_str(), orphan.users)),
            None => *no_id.get_or_insert(0) += orphan.users,
        }
    }
    (named, no_id)
}

/// The report's organization ids naming no tenant schema, but for those
/// the registry lists (reported there, with their users).
fn unlisted_orphans<'r>(
    report: &'r HealthReport,
    checks: Option<&'r FrameworkChecks>,
) -> impl Iterator<Item = &'r OrphanOrganization> {
    let registry = checks.and_then(|c| c.registry.as_ref());
    report.orphan_organizations.iter().filter(move |o| {
        let listed = o.organization_id.as_deref().zip(registry);
        !listed.is_some_and(|(id, registry)| registry.lists(id))
    })
}

/// What the health report found, the registry and ledger `checks` with
/// it; empty when healthy (and no leak): the `--fail-on-drift` condition.
fn health_findings(
    report: &HealthReport,
    leaks: Option<LeakCheck<'_>>,
    checks: Option<&FrameworkChecks>,
    catalog: &TenantCatalog,
) -> Vec<String> {
    let mut found = Vec::new();
    if report.drift_count() > 0 {
        found.push(format!(
            "{} ({})",
            text::plural(
                report.tenants_with_drift(),
                "tenant with drift",
                "tenants with drift"
            ),
            text::plural(report.drift_count(), "difference", "differences")
        ));
    }
    let (named, no_id) = orphans_by_id(report, checks);
    if !named.is_empty() {
        found.push(text::plural(
            named.len(),
            "organization id with no tenant schema",
            "organization ids with no tenant schema",
        ));
    }
    if let Some(users) = no_id {
        let who = if users == 1 { "user" } else { "users" };
        found.push(format!(
            "{} {who} with no organization id",
            text::thousands(users)
        ));
    }
    if !report.unused_tenants.is_empty() {
        found.push(text::plural(
            report.unused_tenants.len(),
            "tenant schema with no user",
            "tenant schemas with no user",
        ));
    }
    if report.wrong_copies() > 0 {
        found.push(text::plural(
            report.wrong_copies(),
            "table copy with rows in the wrong schema",
            "table copies with rows in the wrong schema",
        ));
    }
    if let Some(check) = leaks.filter(|c| !c.leaks.is_empty()) {
        found.push(format!(
            "{} in {}",
            text::plural(check.leaks.len(), "leaked order", "leaked orders"),
            text::sanitize(&catalog.label_and_schema(check.tenant))
        ));
    }
    found.extend(checks.map(FrameworkChecks::findings).unwrap_or_default());
    found
}

/// One row per tenant of `tenants`: its name, its status word, then `cells`.
fn tenant_rows(
    tenants: &[(usize, &crate::db::TenantHealth)],
    catalog: &TenantCatalog,
    cells: impl Fn(&crate::db::TenantHealth) -> Vec<String>,
) -> Vec<Vec<String>> {
    let row = |(_, t): &(usize, &crate::db::TenantHealth)| {
        let name = catalog.label_and_schema(&t.tenant);
        let mut row = vec![name, t.status.word().to_string()];
        row.extend(cells(t));
        row
    };
    tenants.iter().map(row).collect()
}

/// The health view's rows as CSV, all of them ([`all_rows`]): the tenants
/// the check read, then registered tenants or organization ids with no
/// schema, unregistered and static schemas, and a schema that is no tenant
/// (the shared one) holding wrong copies. A tenant's row has its counts and
/// its drift in one cell; every row its wrong copies in another, and in
/// `findings` every finding the view lists for it, `; ` between them.
pub fn health_csv(
    report: &HealthReport,
    checks: &FrameworkChecks,
    catalog: &TenantCatalog,
    leaks: &super::health_rows::LeaksFound,
) -> String {
    let value =
        |count: Option<crate::db::Count>| count.map(|c| c.value.to_string()).unwrap_or_default();
    let estimated = |count: Option<crate::db::Count>| {
        count.map(|c| c.estimated.to_string()).unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = all_rows(report, checks, catalog, leaks)
        .iter()
        .map(|row| {
            // Named as the view names it, its schema beside: none for an id
            // naming no schema or the users with none (as the tenants
            // pane's export has it; a registered tenant's schema that is
            // gone is named).
            let gone = row.status == crate::db::SchemaState::Missing.word();
            let schema = match row.kind {
                RowKind::NoSchema if !gone => String::new(),
                RowKind::NoTenant => String::new(),
                _ => row.schema.clone(),
            };
            // The users with no organization id have no name a cell can
            // hold (`(none)` would read as an id of that text), as in
            // `tenants` CSV: empty, their status says which row it is.
            let name = match row.kind {
                RowKind::NoTenant => String::new(),
                _ => row.name.clone(),
            };
            let mut cells = vec![name, schema, row.status.to_string()];
            match row.kind {
                RowKind::Tenant(i) if i < report.tenants.len() => {
                    let t = &report.tenants[i];
                    let drift: Vec<String> = t.drift.iter().map(|d| d.describe()).collect();
                    cells.extend([
                        t.users.value.to_string(),
                        t.users.estimated.to_string(),
                        value(t.items),
                        estimated(t.items),
                        value(t.orders),
                        estimated(t.orders),
                        drift.join("; "),
                    ]);
                }
                _ => {
                    cells.push(row.users.map(|c| c.value.to_string()).unwrap_or_default());
                    cells.push(
                        row.users
                            .map(|c| c.estimated.to_string())
                            .unwrap_or_default(),
                    );
                    cells.extend(std::iter::repeat_n(String::new(), 5));
                }
            }
            cells.push(wrong_copies_of(report, &row.schema));
            let findings: Vec<&str> = row.findings.iter().map(|f| f.text.as_str()).collect();
            cells.push(findings.join("; "));
            cells
        })
        .collect();
    let headers = [
        "tenant",
        "schema",
        "status",
        "users",
        "users_estimated",
        "items",
        "items_estimated",
        "orders",
        "orders_estimated",
        "drift",
        "wrong_copy",
        "findings",
    ];
    csv(&headers, &rows, Destination::PipeOrFile)
}

/// The wrong copies in `schema`, one cell: `items: 2 rows; orders: 1 row`.
fn wrong_copies_of(report: &HealthReport, schema: &str) -> String {
    report
        .wrong_copy
        .iter()
        .filter(|w| w.schema == schema)
        .map(|w| format!("{}: {}", w.table, w.rows_text()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a reference was chosen, in words (text report and health view).
pub fn reference_reason(choice: ReferenceChoice) -> &'static str {
    match choice {
        ReferenceChoice::Majority => "most common",
        ReferenceChoice::RequiredColumns => "has the columns tenantscope reads",
        ReferenceChoice::FirstByName => "first by name",
        ReferenceChoice::Given => "given",
    }
}

/// A table's reference for the text report: "items as in client1
/// (most common, 3 of 4 tenants)".
fn reference_text(r: &TableReference, catalog: &TenantCatalog) -> String {
    format!(
        "{} as in {} ({}{}, {} of {} tenants)",
        text::sanitize(&r.table),
        text::sanitize(&catalog.label_and_schema(&r.tenant)),
        reference_reason(r.chosen_by),
        if r.tie { "; no majority: a tie" } else { "" },
        r.matching,
        r.with_table
    )
}

/// The health report with the registry and ledger checks of the tenancy
/// model, and what it found ([`health_findings`], empty when healthy):
/// JSON (see [`HealthJson`]) or text for a terminal: one row per tenant
/// (`~` marks estimated counts, `?` unknown ones, `—` a missing table) with
/// its drift listed under it, then the references, orphans, leaks and a
/// summary line.
pub fn health(
    report: &HealthReport,
    leaks: Option<LeakCheck<'_>>,
    checks: Option<&crate::db::tenancy::FrameworkChecks>,
    catalog: &TenantCatalog,
    format: ReportFormat,
    to: Destination,
) -> (String, Vec<String>) {
    let found = health_findings(report, leaks, checks, catalog);
    if format == ReportFormat::Json {
        let out = json(
            &HealthJson {
                healthy: found.is_empty(),
                checks,
                tenants: &report.tenants,
                references: &report.references,
                orphan_organizations: unlisted_orphans(report, checks).collect(),
                unused_tenants: &report.unused_tenants,
                wrong_copy: &report.wrong_copy,
                unreachable_nodes: &report.unreachable_nodes,
                leaks: leaks.map(|c| LeaksJson {
                    tenant: c.tenant,
                    orders: c.leaks,
                }),
            },
            to,
        );
        return (out, found);
    }
    let (l, r) = (Align::Left, Align::Right);
    let mut out = tenants_text(report, catalog, to);
    for fault in &report.unreachable_nodes {
        out.push_str(&format!("\n{}\n", text::sanitize(&fault.describe())));
    }
    if !report.references.is_empty() {
        let references: Vec<String> = report
            .references
            .iter()
            .map(|r| reference_text(r, catalog))
            .collect();
        out.push_str(&format!("\nReference: {}\n", references.join("; ")));
    }
    let (named, no_id) = orphans_by_id(report, checks);
    if !named.is_empty() {
        out.push_str("\nOrganization ids that name no tenant schema:\n");
        let rows: Vec<Vec<String>> = named
            .iter()
            .map(|(id, users)| {
                vec![
                    text::id_cell(Some(id)).into_owned(),
                    text::thousands(*users),
                ]
            })
            .collect();
        out.push_str(&table(&[("ORGANIZATION", l), ("USERS", r)], &rows, to));
    }
    if let Some(users) = no_id {
        out.push_str(&format!(
            "\nUsers with no organization id: {}\n",
            text::thousands(users)
        ));
    }
    if !report.unused_tenants.is_empty() {
        let names: Vec<String> = report
            .unused_tenants
            .iter()
            .map(|t| text::name_cell(&catalog.label_and_schema(t)))
            .collect();
        out.push_str(&format!(
            "\nTenant schemas no user points at: {}\n",
            names.join(", ")
        ));
    }
    if !report.wrong_copy.is_empty() {
        out.push_str("\nRows in the wrong copy of a table:\n");
        for copy in &report.wrong_copy {
            out.push_str(&format!("  {}\n", text::sanitize(&copy.describe())));
        }
    }
    if let Some(check) = leaks {
        out.push_str(&leaks_text(check, catalog, to));
    }
    if let Some(checks) = checks {
        out.push_str(&framework_checks_text(checks, catalog));
    }
    match found.is_empty() {
        false => out.push_str(&format!("\nFound: {}\n", found.join(", "))),
        true => out.push_str(&format!(
            "\nHealthy: {}, no drift, no orphans{}\n",
            text::plural(report.tenants.len(), "tenant", "tenants"),
            if leaks.is_some() { ", no leaks" } else { "" }
        )),
    }
    (out, found)
}

/// The tenants table, each tenant's drift under its line.
fn tenants_text(report: &HealthReport, catalog: &TenantCatalog, to: Destination) -> String {
    let (l, r) = (Align::Left, Align::Right);
    // In the catalogue's order, each tenant's drift under its own row.
    let listed = listed_tenants(report, catalog);
    let rows = tenant_rows(&listed, catalog, |t| {
        let [items, orders] = t.rows_labels();
        vec![Count::label(Some(t.users)), items, orders]
    });
    let tenants = table(
        &[
            ("TENANT", l),
            ("STATUS", l),
            ("USERS", r),
            ("ITEMS", r),
            ("ORDERS", r),
        ],
        &rows,
        to,
    );
    let mut lines = tenants.lines();
    let mut out = String::new();
    out.push_str(lines.next().unwrap_or_default());
    out.push('\n');
    for ((_, tenant), line) in listed.iter().zip(lines) {
        out.push_str(line);
        out.push('\n');
        for drift in &tenant.drift {
            out.push_str(&format!("  {}\n", text::sanitize(&drift.describe())));
        }
    }
    out
}

/// The leak check's count and, when there are any, its table.
fn leaks_text(check: LeakCheck<'_>, catalog: &TenantCatalog, to: Destination) -> String {
    let (l, r) = (Align::Left, Align::Right);
    let mut out = String::new();
    out.push_str(&format!(
        "\nOrders in {} whose user is not one of its users: {}\n",
        text::sanitize(&catalog.label_and_schema(check.tenant)),
        check.leaks.len()
    ));
    if !check.leaks.is_empty() {
        let rows: Vec<Vec<String>> = check
            .leaks
            .iter()
            .map(|leak| {
                vec![
                    text::id_text(leak.order_id.as_deref()),
                    text::id_text(leak.user_id.as_deref()),
                    match leak.kind {
                        LeakKind::NoUser => "(no such user)".to_string(),
                        LeakKind::OtherTenant => text::id_text(
                            leak.user_tenant
                                .as_deref()
                                .map(|t| catalog.label_and_schema(t))
                                .as_deref(),
                        ),
                    },
                ]
            })
            .collect();
        out.push_str(&table(
            &[("ORDER", r), ("USER", r), ("USER'S TENANT", l)],
            &rows,
            to,
        ));
    }
    out
}

/// The registry and ledger checks as text (nothing when all agree).
fn framework_checks_text(checks: &FrameworkChecks, catalog: &TenantCatalog) -> String {
    // Each with the users whose organization id names it, where any do.
    let users = checks.registry.as_ref().map(|r| &r.users);
    // Tenants as the registry names them, the schema beside.
    let list = |names: &[String]| {
        names
            .iter()
            .map(|name| {
                let users = users.and_then(|u| u.get(name));
                let users = users.map(|&n| usize::try_from(n).unwrap_or(0));
                let name = text::name_cell(&catalog.label_and_schema(name));
                match users {
                    Some(users) => format!("{name} ({})", text::plural(users, "user", "users")),
                    None => name,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let versions = |names: &[String]| {
        let names: Vec<String> = names.iter().map(|n| text::name_cell(n)).collect();
        names.join(", ")
    };
    let mut out = String::new();
    if let Some(registry) = &checks.registry {
        if !registry.schemas.missing_schemas.is_empty() {
            out.push_str(&format!(
                "\nRegistered in {} with no schema: {}\n",
                text::sanitize(&registry.table),
                list(&registry.schemas.missing_schemas)
            ));
        }
        if !registry.unnamed.is_empty() {
            out.push_str(&format!(
                "\nRegistered in {} naming no schema: {}\n",
                text::sanitize(&registry.table),
                list(&registry.unnamed)
            ));
        }
        if !registry.schemas.unregistered_schemas.is_empty() {
            out.push_str(&format!(
                "\nSchemas with the tenant tables that {} does not list: {}\n",
                text::sanitize(&registry.table),
                list(&registry.schemas.unregistered_schemas)
            ));
        }
        if !registry.schemas.static_schemas.is_empty() {
            out.push_str(&format!(
                "\nNot in {}, taken for django-pgschemas' static tenants or clone reference \
                 (ignore_schemas): {}\n",
                text::sanitize(&registry.table),
                list(&registry.schemas.static_schemas)
            ));
        }
    }
    if let Some(ledger) = &checks.ledger {
        if !ledger.drift.is_empty() {
            out.push_str(&format!(
                "\nMigration ledger ({}):\n",
                text::sanitize(&ledger.table)
            ));
        }
        for drift in &ledger.drift {
            let mut parts = Vec::new();
            if !drift.missing.is_empty() {
                parts.push(format!("lacks {}", versions(&drift.missing)));
            }
            if !drift.extra.is_empty() {
                parts.push(format!("ran {}", versions(&drift.extra)));
            }
            out.push_str(&format!(
                "  {}: {} ({})\n",
                drift.status.word(),
                text::sanitize(&catalog.label_and_schema(&drift.tenant)),
                parts.join("; ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{CopyRole, HealthStatus, WrongCopy};

    /// A leak's tenants are named as the registry labels them, the schema
    /// beside: the heading, the user's tenant and the `Found:` line (the
    /// user's tenant read `globex` beside `Orders in Acme Corp (acme)`).
    /// The first line of `text` naming `name`.
    fn row_of<'t>(text: &'t str, name: &str) -> &'t str {
        text.lines().find(|l| l.contains(name)).unwrap_or_default()
    }

    /// Organization ids naming no schema (`None`: no id), with their users.
    fn orphans(ids: &[(Option<&str>, i64)]) -> Vec<OrphanOrganization> {
        ids.iter()
            .map(|(id, users)| OrphanOrganization {
                organization_id: id.map(str::to_string),
                users: *users,
            })
            .collect()
    }

    #[test]
    fn orphan_counts_are_grouped_as_every_count() {
        let report = HealthReport {
            tenants: vec![crate::db::TenantHealth::healthy("acme")],
            orphan_organizations: orphans(&[(Some("nosuch"), 1428), (None, 2500)]),
            ..HealthReport::default()
        };
        let catalog = TenantCatalog::new(vec!["acme".into()]);
        let format = (ReportFormat::Table, Destination::PipeOrFile);
        let (text, _) = health(&report, None, None, &catalog, format.0, format.1);
        assert!(row_of(&text, "nosuch").ends_with(" 1,428"), "{text}");
        assert!(
            text.contains("Users with no organization id: 2,500"),
            "{text}"
        );
    }

    /// With a registry, the table lists tenants by label (as the view and
    /// the tenants pane do), each tenant's drift under its own row: sorting
    /// the rows alone put one tenant's drift under another.
    #[test]
    fn the_table_lists_tenants_by_label_with_their_own_drift() {
        let catalog =
            TenantCatalog::new(vec!["a_schema".into(), "b_schema".into()]).with_registry(vec![
                ("z".into(), "Zulu".into(), "a_schema".into()),
                ("a".into(), "Alpha".into(), "b_schema".into()),
            ]);
        let drifted = TenantHealth {
            drift: vec![crate::db::Drift {
                table: "orders".into(),
                column: None,
                kind: crate::db::DriftKind::MissingTable,
                expected: None,
                found: None,
            }],
            ..TenantHealth::healthy("b_schema")
        };
        let report = HealthReport {
            tenants: vec![TenantHealth::healthy("a_schema"), drifted.clone()],
            ..HealthReport::default()
        };
        let (text, _) = health(
            &report,
            None,
            None,
            &catalog,
            ReportFormat::Table,
            Destination::PipeOrFile,
        );
        let lines: Vec<&str> = text.lines().collect();
        let alpha = lines.iter().position(|l| l.starts_with("Alpha")).unwrap();
        let zulu = lines.iter().position(|l| l.starts_with("Zulu")).unwrap();
        assert!(alpha < zulu, "{text}");
        let drift = format!("  {}", drifted.drift[0].describe());
        assert_eq!(lines[alpha + 1], drift, "{text}");
        assert_ne!(lines[zulu + 1], drift, "{text}");
    }

    #[test]
    fn leaks_name_tenants_by_label() {
        let catalog = TenantCatalog::new(vec!["acme".into(), "globex".into()]).with_registry(vec![
            ("1".into(), "Acme Corp".into(), "acme".into()),
            ("2".into(), "Globex Inc".into(), "globex".into()),
        ]);
        let leaks = [Leak {
            order_id: Some("4".into()),
            user_id: Some("3".into()),
            kind: LeakKind::OtherTenant,
            user_tenant: Some("globex".into()),
        }];
        let check = LeakCheck {
            tenant: "acme",
            leaks: &leaks,
        };
        let report = HealthReport {
            tenants: vec![crate::db::TenantHealth::healthy("acme")],
            ..HealthReport::default()
        };
        let (text, found) = health(
            &report,
            Some(check),
            None,
            &catalog,
            ReportFormat::Table,
            Destination::PipeOrFile,
        );
        assert!(
            text.contains("Orders in Acme Corp (acme) whose user"),
            "{text}"
        );
        assert!(
            row_of(&text, "Globex").ends_with("Globex Inc (globex)"),
            "{text}"
        );
        assert!(
            found.contains(&"1 leaked order in Acme Corp (acme)".to_string()),
            "{found:?}"
        );
    }

    #[test]
    fn csv_has_the_views_rows_wrong_copies_and_findings() {
        let copy = |schema: &str, table: &str, role, rows| WrongCopy {
            schema: schema.into(),
            table: table.into(),
            role,
            rows,
            more: false,
            why: "misplaced".into(),
        };
        let report = HealthReport {
            tenants: vec![TenantHealth {
                tenant: "acme".into(),
                status: HealthStatus::Ok,
                users: Count::estimate(2),
                items: None,
                orders: None,
                drift: Vec::new(),
            }],
            wrong_copy: vec![
                copy("acme", "users", CopyRole::SharedTable, Some(1)),
                copy("public", "items", CopyRole::TenantTable, Some(3)),
                copy("public", "orders", CopyRole::TenantTable, None),
            ],
            orphan_organizations: orphans(&[(Some("client9"), 3), (Some("(none)"), 2), (None, 1)]),
            ..HealthReport::default()
        };
        // Named as the registry labels it, the schema beside.
        let catalog = TenantCatalog::new(vec!["acme".into()]).with_registry(vec![(
            "7".into(),
            "Acme Corp".into(),
            "acme".into(),
        )]);
        let csv = health_csv(
            &report,
            &FrameworkChecks::default(),
            &catalog,
            &Default::default(),
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "tenant,schema,status,users,users_estimated,items,items_estimated,orders,orders_estimated,drift,wrong_copy,findings",
                "Acme Corp,acme,wrong copy,2,true,,,,,,users: 1 row,users: 1 row in the wrong copy (misplaced)",
                "client9,,no schema,3,false,,,,,,,\"organization id of 3 users, naming no tenant schema\"",
                "(none),,no schema,2,false,,,,,,,\"organization id of 2 users, naming no tenant schema\"",
                ",,none,1,false,,,,,,,1 user with no organization id",
                "public,public,shared,,,,,,,,items: 3 rows; orders: unreadable,items: 3 rows in the wrong copy (misplaced); orders: unreadable in the wrong copy (misplaced)",
            ]
        );
        assert!(!report.is_healthy());
        assert_eq!(
            report.wrong_copies(),
            2,
            "the unreadable copy is not counted"
        );
    }
}
