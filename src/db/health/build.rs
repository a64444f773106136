//! Counts, drift and orphans worked out in memory from the two catalog
//! queries' rows.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use super::{ColumnRow, TenantRow};
use crate::db::DbError;

/// What the tenant query says about one tenant schema.
struct TenantTables {
    tenant: String,
    users: i64,
    /// Per [`TENANT_TABLES`]: `None` when missing, else the estimate.
    tables: [Option<Option<i64>>; 2],
}

/// Works out counts, drift and orphans from the two query results.
#[cfg(test)]
pub(super) fn build_report(
    tenant_rows: Vec<TenantRow>,
    column_rows: Vec<ColumnRow>,
    reference: Option<&str>,
) -> Result<HealthReport, DbError> {
    let required = REQUIRED_COLUMNS.map(|t| t.iter().map(|c| c.to_string()).collect());
    build_report_with(tenant_rows, column_rows, reference, &required)
}

/// [`build_report`] with the columns tenantscope reads from each tenant
/// table as the tenancy model names them.
pub(super) fn build_report_with(
    tenant_rows: Vec<TenantRow>,
    column_rows: Vec<ColumnRow>,
    reference: Option<&str>,
    required: &[Vec<String>; 2],
) -> Result<HealthReport, DbError> {
    let (tenants, orphan_organizations) = tenants_and_orphans(tenant_rows);
    if let Some(reference) = reference {
        if !tenants.iter().any(|t| t.tenant == reference) {
            return Err(DbError::UnknownTenant(reference.to_string()));
        }
    }

    let columns = columns_by_table(column_rows);

    let mut drift: BTreeMap<&str, Vec<Drift>> = BTreeMap::new();
    let mut references = Vec::new();
    for (index, table) in TENANT_TABLES.into_iter().enumerate() {
        let mut with_table: Vec<(&str, &[Column])> = Vec::new();
        for t in &tenants {
            if t.tables[index].is_none() {
                drift.entry(t.tenant.as_str()).or_default().push(Drift {
                    table: table.to_string(),
                    column: None,
                    kind: DriftKind::MissingTable,
                    expected: None,
                    found: None,
                });
                continue;
            }
            let fingerprint = columns
                .get(&(t.tenant.clone(), table.to_string()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            with_table.push((&t.tenant, fingerprint));
        }
        let required: Vec<&str> = required[index].iter().map(String::as_str).collect();
        let required = required.as_slice();
        let Some(choice) = choose_reference(&with_table, reference, required) else {
            continue;
        };
        let expected = choice.columns;
        references.push(TableReference {
            table: table.to_string(),
            tenant: choice.tenant.to_string(),
            chosen_by: choice.chosen_by,
            matching: with_table.iter().filter(|(_, f)| *f == expected).count(),
            with_table: with_table.len(),
            tie: choice.tie,
            columns: expected.to_vec(),
        });
        for (tenant, found) in &with_table {
            let mut found_drift = if *found != expected {
                diff_columns(table, expected, found)
            } else {
                Vec::new()
            };
            for name in required {
                if found.iter().any(|c| c.name == *name) {
                    continue;
                }
                // Said once, as the more serious finding.
                found_drift.retain(|d| d.column.as_deref() != Some(*name));
                found_drift.push(Drift {
                    table: table.to_string(),
                    column: Some(name.to_string()),
                    kind: DriftKind::MissingRequiredColumn,
                    expected: expected.iter().find(|c| c.name == *name).map(Column::shape),
                    found: None,
                });
            }
            if !found_drift.is_empty() {
                drift.entry(*tenant).or_default().extend(found_drift);
            }
        }
    }

    let tenants: Vec<TenantHealth> = tenants
        .iter()
        .map(|t| {
            let mut drift = drift.remove(t.tenant.as_str()).unwrap_or_default();
            drift.sort();
            let status = if !drift.is_empty() {
                HealthStatus::Drift
            } else if t.users == 0 {
                HealthStatus::Unused
            } else {
                HealthStatus::Ok
            };
            let count = |estimate: Option<Option<i64>>| estimate.flatten().map(Count::estimate);
            TenantHealth {
                tenant: t.tenant.clone(),
                status,
                users: Count::exact(t.users),
                items: count(t.tables[0]),
                orders: count(t.tables[1]),
                drift,
            }
        })
        .collect();
    let unused_tenants = tenants
        .iter()
        .filter(|t| t.users.value == 0)
        .map(|t| t.tenant.clone())
        .collect();
    Ok(HealthReport {
        tenants,
        references,
        orphan_organizations,
        unused_tenants,
        wrong_copy: Vec::new(),
        unreachable_nodes: Vec::new(),
    })
}

/// The tenant query's rows split into tenants (by name) and organization ids
/// naming no tenant schema (the missing one last).
fn tenants_and_orphans(
    tenant_rows: Vec<TenantRow>,
) -> (Vec<TenantTables>, Vec<OrphanOrganization>) {
    let mut tenants = Vec::new();
    let mut orphan_organizations = Vec::new();
    for (tenant, org, users, has_items, items, has_orders, orders) in tenant_rows {
        match tenant {
            Some(tenant) => tenants.push(TenantTables {
                tenant: tenant.text,
                users,
                tables: [has_items.then_some(items), has_orders.then_some(orders)],
            }),
            None => orphan_organizations.push(OrphanOrganization {
                organization_id: org.map(|o| o.text),
                users,
            }),
        }
    }
    tenants.sort_by(|a, b| crate::text::tenant_order(&a.tenant, &b.tenant));
    orphan_organizations.sort_by(|a, b| {
        let id = |o: &OrphanOrganization| o.organization_id.clone().unwrap_or_default();
        (a.organization_id
            .is_none()
            .cmp(&b.organization_id.is_none()))
        .then_with(|| crate::text::tenant_order(&id(a), &id(b)))
    });
    (tenants, orphan_organizations)
}

/// Each (tenant, table)'s columns, sorted, from the column query's rows.
fn columns_by_table(column_rows: Vec<ColumnRow>) -> BTreeMap<(String, String), Vec<Column>> {
    let mut columns: BTreeMap<(String, String), Vec<Column>> = BTreeMap::new();
    for (tenant, table, name, type_name, not_null) in column_rows {
        columns
            .entry((tenant.text, table))
            .or_default()
            .push(Column {
                name: name.text,
                type_name,
                not_null,
            });
    }
    for list in columns.values_mut() {
        list.sort();
    }
    columns
}

/// A table's reference: whose column set, which, and why.
struct Choice<'a> {
    tenant: &'a str,
    columns: &'a [Column],
    chosen_by: ReferenceChoice,
    tie: bool,
}

/// The reference column set of one table: the given tenant's if it has the
/// table, else the best group of equal column sets: one holding every
/// `required` column first, then the largest, then the one holding the
/// alphabetically first tenant. `with_table` is sorted by tenant.
fn choose_reference<'a>(
    with_table: &[(&'a str, &'a [Column])],
    given: Option<&str>,
    required: &[&str],
) -> Option<Choice<'a>> {
    // Group members keep name order, so members[0] is the group's first tenant.
    let mut groups: BTreeMap<&[Column], Vec<&str>> = BTreeMap::new();
    for (tenant, columns) in with_table {
        groups.entry(columns).or_default().push(tenant);
    }
    let largest = groups.values().map(Vec::len).max()?;
    let tie = groups.values().filter(|m| m.len() == largest).count() > 1;
    if let Some(&(tenant, columns)) = with_table.iter().find(|(t, _)| Some(*t) == given) {
        return Some(Choice {
            tenant,
            columns,
            chosen_by: ReferenceChoice::Given,
            tie,
        });
    }
    let complete = |columns: &[Column]| {
        required
            .iter()
            .all(|r| columns.iter().any(|c| c.name == *r))
    };
    let (columns, members) = groups.iter().max_by(|(ca, a), (cb, b)| {
        complete(ca)
            .cmp(&complete(cb))
            .then_with(|| a.len().cmp(&b.len()))
            .then_with(|| crate::text::tenant_order(b[0], a[0]))
    })?;
    let chosen_by = if members.len() == largest && !tie {
        ReferenceChoice::Majority
    } else if groups
        .iter()
        .any(|(c, m)| m.len() >= members.len() && !complete(c))
    {
        ReferenceChoice::RequiredColumns
    } else {
        ReferenceChoice::FirstByName
    };
    Some(Choice {
        tenant: members[0],
        columns,
        chosen_by,
        tie,
    })
}

/// Differences of `found` from `expected`, by column name.
fn diff_columns(table: &str, expected: &[Column], found: &[Column]) -> Vec<Drift> {
    let by_name = |columns: &[Column]| -> BTreeMap<String, ColumnShape> {
        columns
            .iter()
            .map(|c| (c.name.clone(), c.shape()))
            .collect()
    };
    let (expected, found) = (by_name(expected), by_name(found));
    let names: BTreeSet<&String> = expected.keys().chain(found.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let drift = |kind, expected: Option<&ColumnShape>, found: Option<&ColumnShape>| Drift {
            table: table.to_string(),
            column: Some(name.clone()),
            kind,
            expected: expected.cloned(),
            found: found.cloned(),
        };
        match (expected.get(name), found.get(name)) {
            (Some(e), None) => out.push(drift(DriftKind::MissingColumn, Some(e), None)),
            (None, Some(f)) => out.push(drift(DriftKind::ExtraColumn, None, Some(f))),
            (Some(e), Some(f)) => {
                if e.type_name != f.type_name {
                    out.push(drift(DriftKind::TypeChanged, Some(e), Some(f)));
                }
                if e.not_null != f.not_null {
                    out.push(drift(DriftKind::NullabilityChanged, Some(e), Some(f)));
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::lossy::LossyText;

    fn col(name: &str, type_name: &str, not_null: bool) -> ColumnRow {
        // Tenant and table are filled in by `columns_of`.
        (
            LossyText::default(),
            String::new(),
            name.into(),
            type_name.into(),
            not_null,
        )
    }

    fn columns_of(tenant: &str, table: &str, columns: &[ColumnRow]) -> Vec<ColumnRow> {
        columns
            .iter()
            .map(|(_, _, name, type_name, not_null)| {
                (
                    tenant.into(),
                    table.to_string(),
                    name.clone(),
                    type_name.clone(),
                    *not_null,
                )
            })
            .collect()
    }

    fn standard_items() -> Vec<ColumnRow> {
        vec![
            col("id", "text", true),
            col("description", "text", true),
            col("price", "numeric(12,2)", true),
        ]
    }

    fn standard_orders() -> Vec<ColumnRow> {
        vec![
            col("id", "text", true),
            col("user_id", "text", true),
            col("item_id", "text", true),
            col("quantity", "integer", true),
        ]
    }

    fn tenant(name: &str, users: i64, items: bool, orders: bool) -> TenantRow {
        (Some(name.into()), None, users, items, Some(2), orders, None)
    }

    fn kinds(report: &HealthReport, tenant: &str) -> Vec<(String, Option<String>, DriftKind)> {
        report
            .tenant(tenant)
            .unwrap()
            .drift
            .iter()
            .map(|d| (d.table.clone(), d.column.clone(), d.kind))
            .collect()
    }

    /// The first reference's tenant, how it was chosen, and whether by a tie.
    fn chosen(report: &HealthReport) -> (&str, ReferenceChoice, bool) {
        let reference = &report.references[0];
        (
            reference.tenant.as_str(),
            reference.chosen_by,
            reference.tie,
        )
    }

    #[test]
    fn majority_is_the_reference_and_every_kind_of_drift_is_listed() {
        let mut columns = Vec::new();
        for t in ["a", "b", "c"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        // d: price as float, description nullable, an extra column, no id.
        columns.extend(columns_of(
            "d",
            "items",
            &[
                col("description", "text", false),
                col("price", "double precision", false),
                col("quantity", "integer", false),
            ],
        ));
        let rows = vec![
            tenant("d", 1, true, false),
            tenant("a", 1, true, true),
            tenant("c", 0, true, true),
            tenant("b", 2, true, true),
            (None, Some("ghost".into()), 3, false, None, false, None),
            (None, None, 2, false, None, false, None),
            (None, Some("alpha".into()), 1, false, None, false, None),
        ];
        let report = build_report(rows, columns, None).unwrap();
        let names: Vec<_> = report.tenants.iter().map(|t| t.tenant.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(report.references[0].tenant, "a");
        assert_eq!(report.references[0].chosen_by, ReferenceChoice::Majority);
        assert_eq!(
            (
                report.references[0].matching,
                report.references[0].with_table
            ),
            (3, 4)
        );
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            kinds(&report, "d"),
            [
                (
                    "items".into(),
                    s("description"),
                    DriftKind::NullabilityChanged
                ),
                ("items".into(), s("id"), DriftKind::MissingRequiredColumn),
                ("items".into(), s("price"), DriftKind::TypeChanged),
                ("items".into(), s("price"), DriftKind::NullabilityChanged),
                ("items".into(), s("quantity"), DriftKind::ExtraColumn),
                ("orders".into(), None, DriftKind::MissingTable),
            ]
        );
        let price = &report.tenant("d").unwrap().drift[2];
        assert_eq!(
            price.describe(),
            "items.price: type double precision, expected numeric(12,2)"
        );
        assert_eq!(
            report.tenant("d").unwrap().drift[0].describe(),
            "items.description: nullable, expected not null"
        );
        assert_eq!(
            report.tenant("d").unwrap().drift[4].describe(),
            "items.quantity: extra column (integer)"
        );
        assert!(kinds(&report, "a").is_empty());
        assert_eq!(report.tenant("c").unwrap().status, HealthStatus::Unused);
        assert_eq!(report.tenant("d").unwrap().status, HealthStatus::Drift);
        assert_eq!(report.tenant("a").unwrap().status, HealthStatus::Ok);
        assert_eq!(report.unused_tenants, ["c"]);
        let orphans: Vec<_> = report
            .orphan_organizations
            .iter()
            .map(|o| (o.organization_id.as_deref(), o.users))
            .collect();
        assert_eq!(orphans, [(Some("alpha"), 1), (Some("ghost"), 3), (None, 2)]);
        assert_eq!(report.drift_count(), 6);
        assert_eq!(report.tenants_with_drift(), 1);
        assert!(!report.is_healthy());
        assert_eq!(
            report.tenant("a").unwrap().items,
            Some(Count::estimate(2)),
            "reltuples is an estimate"
        );
        assert_eq!(
            report.tenant("a").unwrap().orders,
            None,
            "never analyzed: unknown"
        );
        assert_eq!(report.tenant("b").unwrap().users, Count::exact(2));
    }

    #[test]
    fn ties_go_to_the_group_with_the_required_columns_then_by_name() {
        let other = [col("id", "integer", true)];
        let mut columns = Vec::new();
        columns.extend(columns_of("m", "items", &standard_items()));
        columns.extend(columns_of("z", "items", &standard_items()));
        columns.extend(columns_of("b", "items", &other));
        columns.extend(columns_of("k", "items", &other));
        let rows: Vec<TenantRow> = ["m", "z", "b", "k"]
            .into_iter()
            .map(|t| tenant(t, 1, true, false))
            .collect();
        let report = build_report(rows.clone(), columns.clone(), None).unwrap();
        assert_eq!(report.references.len(), 1, "no tenant has orders");
        assert_eq!(
            chosen(&report),
            ("m", ReferenceChoice::RequiredColumns, true)
        );
        assert_eq!(report.tenant("m").unwrap().drift.len(), 1, "only orders");
        assert_eq!(
            kinds(&report, "b")[..3],
            [
                (
                    "items".into(),
                    Some("description".into()),
                    DriftKind::MissingRequiredColumn
                ),
                ("items".into(), Some("id".into()), DriftKind::TypeChanged),
                (
                    "items".into(),
                    Some("price".into()),
                    DriftKind::MissingRequiredColumn
                ),
            ]
        );

        // Both complete: the required columns settle nothing, the name does.
        let mut extra = standard_items();
        extra.push(col("note", "text", false));
        let mut columns = Vec::new();
        columns.extend(columns_of("m", "items", &standard_items()));
        columns.extend(columns_of("b", "items", &extra));
        let rows: Vec<TenantRow> = ["m", "b"]
            .into_iter()
            .map(|t| tenant(t, 1, true, false))
            .collect();
        let report = build_report(rows, columns, None).unwrap();
        assert_eq!(chosen(&report), ("b", ReferenceChoice::FirstByName, true));
    }

    #[test]
    fn a_column_tenantscope_reads_is_required_even_when_every_tenant_lacks_it() {
        let renamed: Vec<ColumnRow> = standard_orders()
            .into_iter()
            .map(|mut c| {
                if c.2.text == "quantity" {
                    c.2 = "qty".into();
                }
                c
            })
            .collect();
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &renamed));
        }
        let rows = vec![tenant("a", 1, true, true), tenant("b", 1, true, true)];
        let report = build_report(rows, columns, None).unwrap();
        assert!(!report.is_healthy());
        assert_eq!(report.references[1].chosen_by, ReferenceChoice::Majority);
        for t in ["a", "b"] {
            let drift = &report.tenant(t).unwrap().drift;
            assert_eq!(drift.len(), 1);
            assert_eq!(
                drift[0].describe(),
                "orders.quantity: missing required column"
            );
            assert_eq!(report.tenant(t).unwrap().status, HealthStatus::Drift);
        }
    }

    #[test]
    fn a_given_reference_wins_and_must_exist() {
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
        }
        let mut extra = standard_items();
        extra.push(col("quantity", "integer", false));
        columns.extend(columns_of("c", "items", &extra));
        for t in ["a", "b", "c"] {
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        let rows: Vec<TenantRow> = ["a", "b", "c"]
            .into_iter()
            .map(|t| tenant(t, 1, true, true))
            .collect();
        let report = build_report(rows.clone(), columns.clone(), Some("c")).unwrap();
        assert_eq!(report.references[0].tenant, "c");
        assert_eq!(report.references[0].chosen_by, ReferenceChoice::Given);
        assert_eq!(
            kinds(&report, "a"),
            [(
                "items".into(),
                Some("quantity".into()),
                DriftKind::MissingColumn
            )]
        );
        assert!(kinds(&report, "c").is_empty());
        assert_eq!(
            build_report(rows, columns, Some("C")),
            Err(DbError::UnknownTenant("C".into()))
        );
    }

    #[test]
    fn healthy_when_all_agree() {
        let mut columns = Vec::new();
        for t in ["a", "b"] {
            columns.extend(columns_of(t, "items", &standard_items()));
            columns.extend(columns_of(t, "orders", &standard_orders()));
        }
        let rows = vec![tenant("a", 1, true, true), tenant("b", 1, true, true)];
        let report = build_report(rows, columns, None).unwrap();
        assert!(report.is_healthy());
        assert_eq!(report.references.len(), 2);
        assert_eq!(report.references[1].columns.len(), 4);
    }
}
