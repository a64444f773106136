//! The tenancy model: where tenants, users, items and orders live. It is the
//! `[tenancy]` section of the configuration, and what `tenantscope detect`
//! prints. The default is the article's layout (users in `public.users`
//! naming their tenant schema in `organization_id`; `items` and `orders` in
//! every tenant schema).

use serde::{Deserialize, Serialize};

/// Where the users live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsersAt {
    /// One table in the shared schema; `tenant_column` names the tenant
    /// (its schema, or its registry key when there is a registry).
    #[default]
    Shared,
    /// One table in the shared schema, linked to tenants by `link_table`.
    Link,
    /// A users table inside every tenant schema (no tenant column).
    PerTenant,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TenancyModel {
    /// Name of the layout, for people (`article`, `django-tenants`, …).
    pub layout: String,
    /// The shared (non-tenant) schema.
    pub shared_schema: String,
    /// Other schemas that are never tenants (extensions, templates).
    pub ignore_schemas: Vec<String>,

    /// Table of the shared schema listing the tenants; unset: every schema
    /// holding the items and orders tables is a tenant.
    pub registry_table: Option<String>,
    /// Column of the registry naming a tenant (users' tenant column holds it).
    pub registry_key: Option<String>,
    /// Column of the registry people call the tenant by.
    pub registry_label: Option<String>,
    /// SQL expression over a registry row giving its schema name (run read-only).
    pub registry_schema: Option<String>,

    pub users: UsersAt,
    /// Users table: in the shared schema, or in each tenant (`per_tenant`).
    pub users_table: String,
    /// Column of a shared users table that names the user's tenant.
    pub tenant_column: String,
    /// `link`: the table pairing users with tenants, and its two columns.
    pub link_table: Option<String>,
    pub link_user: Option<String>,
    pub link_tenant: Option<String>,
    pub user_id: String,
    pub user_name: String,
    pub user_mail: String,
    pub user_created: String,

    pub items_table: String,
    pub item_id: String,
    pub item_label: String,
    pub item_price: String,
    pub orders_table: String,
    pub order_user: String,
    pub order_item: String,
    pub order_quantity: String,

    /// Migration ledger table found in every schema (django_migrations,
    /// schema_migrations, migrations).
    pub ledger_table: Option<String>,

    /// Tenant whose prices are shown beside the user's own.
    pub compare_with: Option<String>,
}

impl Default for TenancyModel {
    fn default() -> Self {
        TenancyModel {
            layout: "article".into(),
            shared_schema: "public".into(),
            ignore_schemas: Vec::new(),
            registry_table: None,
            registry_key: None,
            registry_label: None,
            registry_schema: None,
            users: UsersAt::Shared,
            users_table: "users".into(),
            tenant_column: "organization_id".into(),
            link_table: None,
            link_user: None,
            link_tenant: None,
            user_id: "id".into(),
            user_name: "name".into(),
            user_mail: "mail".into(),
            user_created: "creation_timestamp".into(),
            items_table: "items".into(),
            item_id: "id".into(),
            item_label: "description".into(),
            item_price: "price".into(),
            orders_table: "orders".into(),
            order_user: "user_id".into(),
            order_item: "item_id".into(),
            order_quantity: "quantity".into(),
            ledger_table: None,
            compare_with: None,
        }
    }
}

impl TenancyModel {
    /// Names that must not be empty, with their keys.
    pub fn required_names(&self) -> [(&'static str, &str); 15] {
        [
            ("tenancy.shared_schema", &self.shared_schema),
            ("tenancy.users_table", &self.users_table),
            ("tenancy.tenant_column", &self.tenant_column),
            ("tenancy.user_id", &self.user_id),
            ("tenancy.user_name", &self.user_name),
            ("tenancy.user_mail", &self.user_mail),
            ("tenancy.user_created", &self.user_created),
            ("tenancy.items_table", &self.items_table),
            ("tenancy.item_id", &self.item_id),
            ("tenancy.item_label", &self.item_label),
            ("tenancy.item_price", &self.item_price),
            ("tenancy.orders_table", &self.orders_table),
            ("tenancy.order_user", &self.order_user),
            ("tenancy.order_item", &self.order_item),
            ("tenancy.order_quantity", &self.order_quantity),
        ]
    }

    /// The model's own consistency (names are checked against the catalog
    /// at connect time).
    pub fn validate(&self) -> Result<(), String> {
        if let Some((key, _)) = self.required_names().iter().find(|(_, n)| n.is_empty()) {
            return Err(format!("invalid configuration: {key} must not be empty"));
        }
        let registry = [
            &self.registry_key,
            &self.registry_label,
            &self.registry_schema,
        ];
        if self.registry_table.is_none() && registry.iter().any(|v| v.is_some()) {
            return Err(
                "invalid configuration: tenancy.registry_key, registry_label and registry_schema \
                 need tenancy.registry_table"
                    .into(),
            );
        }
        if self.registry_table.is_some()
            && (self.registry_schema.is_none() || self.registry_key.is_none())
        {
            return Err(
                "invalid configuration: tenancy.registry_table needs tenancy.registry_key and \
                 tenancy.registry_schema"
                    .into(),
            );
        }
        if self.users == UsersAt::Link
            && (self.link_table.is_none() || self.link_user.is_none() || self.link_tenant.is_none())
        {
            return Err(
                "invalid configuration: tenancy.users = \"link\" needs tenancy.link_table, \
                 link_user and link_tenant"
                    .into(),
            );
        }
        Ok(())
    }

    /// The model as a `[tenancy]` TOML section, ready to save as a config.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct File<'a> {
            tenancy: &'a TenancyModel,
        }
        toml::to_string(&File { tenancy: self }).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_keeps_every_field() {
        let model = TenancyModel {
            layout: "stancl-tenancy".into(),
            registry_table: Some("tenants".into()),
            registry_key: Some("id".into()),
            registry_schema: Some(
                "coalesce(data::jsonb ->> 'tenancy_db_name', 'tenant' || id)".into(),
            ),
            users: UsersAt::PerTenant,
            ignore_schemas: vec!["extensions".into()],
            ledger_table: Some("migrations".into()),
            ..TenancyModel::default()
        };
        let text = model.to_toml();
        assert!(text.starts_with("[tenancy]\n"), "{text}");
        #[derive(Deserialize)]
        struct File {
            tenancy: TenancyModel,
        }
        let back: File = toml::from_str(&text).unwrap();
        assert_eq!(back.tenancy, model);
    }

    #[test]
    fn a_registry_needs_its_key_and_schema() {
        let model = TenancyModel {
            registry_table: Some("customers_client".into()),
            ..TenancyModel::default()
        };
        assert!(model.validate().unwrap_err().contains("registry_schema"));
        let link = TenancyModel {
            users: UsersAt::Link,
            ..TenancyModel::default()
        };
        assert!(link.validate().unwrap_err().contains("link_table"));
        assert_eq!(TenancyModel::default().validate(), Ok(()));
    }
}
