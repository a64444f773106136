//! The tables detection looks at first: registry candidates (tables of
//! the shared schema that may list the tenants) and link tables (pairing
//! global users with those tenants).

use super::detect::{quote, Catalog, ForeignKey, RegistryCandidate, TenancyLayout};

/// Columns of a registry that are bookkeeping, not a tenant's name.
const NOT_NAMES: [&str; 4] = ["created_at", "updated_at", "type", "domain"];

/// A table of the shared schema linking users to the registry's tenants.
#[derive(Debug, Clone, PartialEq)]
pub struct UserLink {
    pub table: String,
    pub user_column: String,
    pub tenant_column: String,
    pub users_table: String,
}

impl Catalog {
    /// Tables of the shared schema with a foreign key to the registry's
    /// key and one to a users-like table (one with an `email` or `mail`), as
    /// django-tenant-users' `tenants` many-to-many table; by table name.
    pub fn user_links(&self, registry: &str, key: &str) -> Vec<UserLink> {
        let mut found = Vec::new();
        for link in self.tables_in(&self.shared_schema) {
            let keys: Vec<&ForeignKey> = self
                .foreign_keys
                .iter()
                .filter(|k| k.table == link.table)
                .collect();
            let Some(to_tenant) = keys
                .iter()
                .find(|k| k.ref_table == registry && k.ref_column == key)
            else {
                continue;
            };
            for to_user in keys.iter().filter(|k| k.ref_table != registry) {
                let users = self.table(&self.shared_schema, &to_user.ref_table);
                let mail = |c: &String| super::detect::USER_MAIL_COLUMNS.contains(&c.as_str());
                if users.is_some_and(|u| u.columns.iter().any(mail)) {
                    found.push(UserLink {
                        table: link.table.clone(),
                        user_column: to_user.column.clone(),
                        tenant_column: to_tenant.column.clone(),
                        users_table: to_user.ref_table.clone(),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.table.cmp(&b.table));
        found
    }

    /// Tables of the shared schema that may list the tenants.
    pub fn registry_candidates(&self) -> Vec<RegistryCandidate> {
        let shared = &self.shared_schema;
        let mut found = Vec::new();
        for t in self.tables_in(shared) {
            let has = |c: &str| t.columns.iter().any(|x| x == c);
            if has("schema_name") && has("id") {
                // django-pgschemas' domain model has a `folder` column
                // (django-tenants' has not).
                let pgschemas = self.foreign_keys.iter().any(|k| {
                    k.ref_table == t.table
                        && self.table(shared, &k.table).is_some_and(|d| {
                            ["domain", "folder"]
                                .iter()
                                .all(|c| d.columns.iter().any(|x| x == c))
                        })
                });
                found.push(RegistryCandidate {
                    kind: if pgschemas {
                        TenancyLayout::DjangoPgschemas
                    } else {
                        TenancyLayout::DjangoTenants
                    },
                    table: t.table.clone(),
                    key: "id".into(),
                    label: if has("name") { "name" } else { "schema_name" }.into(),
                    schema_expr: "schema_name".into(),
                    users_column: None,
                });
            }
            if t.table == "tenants" && has("id") && has("data") {
                found.push(RegistryCandidate {
                    kind: TenancyLayout::StanclTenancy,
                    table: t.table.clone(),
                    key: "id".into(),
                    label: "id".into(),
                    // stancl's DatabaseConfig: the tenancy_db_name attribute
                    // (kept in `data`), else prefix `tenant` + id.
                    schema_expr:
                        "coalesce(data::jsonb ->> 'tenancy_db_name', 'tenant' || id::text)".into(),
                    users_column: None,
                });
            }
        }
        // ros-apartment: the shared users table points at the tenant table,
        // by a foreign key or by Rails' naming (company_id → companies).
        if let Some(users) = self.table(shared, "users") {
            let mut links: Vec<(String, String, String)> = self
                .foreign_keys
                .iter()
                .filter(|k| k.table == "users")
                .map(|k| (k.column.clone(), k.ref_table.clone(), k.ref_column.clone()))
                .collect();
            for column in &users.columns {
                if let Some(stem) = column.strip_suffix("_id") {
                    for table in [
                        format!("{stem}s"),
                        format!("{}ies", stem.trim_end_matches('y')),
                    ] {
                        if self.table(shared, &table).is_some()
                            && !links.iter().any(|(c, _, _)| c == column)
                        {
                            links.push((column.clone(), table, "id".into()));
                        }
                    }
                }
            }
            for (column, ref_table, ref_column) in links {
                let Some(registry) = self.table(shared, &ref_table) else {
                    continue;
                };
                for name in &registry.text_columns {
                    if NOT_NAMES.contains(&name.as_str())
                        || *name == ref_column
                        || super::guard::is_secret_column(name)
                    {
                        continue;
                    }
                    found.push(RegistryCandidate {
                        kind: TenancyLayout::RosApartment,
                        table: ref_table.clone(),
                        key: ref_column.clone(),
                        label: name.clone(),
                        schema_expr: quote(name),
                        users_column: Some(column.clone()),
                    });
                }
            }
        }
        found
    }
}
