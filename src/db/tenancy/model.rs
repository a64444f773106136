//! The tenancy model: where tenants, users, items and orders live. It is the
//! `[tenancy]` section of the configuration, and what `tenantscope detect`
//! prints. The default is the article's layout (users in `public.users`
//! naming their tenant schema in `organization_id`; `items` and `orders` in
//! every tenant schema).

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// The tenancy model, in parts. The configuration keeps its flat keys
/// (`items_table`, `registry_key`, …): `TenancyModel::fields` lists them once,
/// and the serde impls below read and write through that list.
#[derive(Debug, Clone, PartialEq)]
pub struct TenancyModel {
    /// Name of the layout, for people (`article`, `django-tenants`, …).
    pub layout: String,
    pub schemas: SchemasModel,
    pub users: UsersModel,
    pub items: ItemsModel,
    pub orders: OrdersModel,
    /// Tenant whose prices are shown beside the user's own.
    pub compare_with: Option<String>,
}

/// Which schemas are tenants: those the registry lists (without one, those
/// holding the items and orders tables), never the shared or ignored ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemasModel {
    /// The shared (non-tenant) schema (`shared_schema`).
    pub shared: String,
    /// Other schemas that are never tenants: extensions, templates
    /// (`ignore_schemas`).
    pub ignore: Vec<String>,
    pub registry: RegistryModel,
    /// Migration ledger table found in every schema: django_migrations,
    /// schema_migrations, migrations (`ledger_table`).
    pub ledger: Option<String>,
}

/// The table of the shared schema listing the tenants (`registry_*` keys);
/// no table: every schema holding the items and orders tables is a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryModel {
    pub table: Option<String>,
    /// Column naming a tenant (users' tenant column holds it).
    pub key: Option<String>,
    /// Column people call the tenant by.
    pub label: Option<String>,
    /// SQL expression over a registry row giving its schema name (run read-only).
    pub schema: Option<String>,
}

impl RegistryModel {
    /// The table, key column and schema expression, when all are set.
    pub fn complete(&self) -> Option<(&str, &str, &str)> {
        match (&self.table, &self.key, &self.schema) {
            (Some(table), Some(key), Some(schema)) => Some((table, key, schema)),
            _ => None,
        }
    }
}

/// Where the users live and which of their columns are read.
#[derive(Debug, Clone, PartialEq)]
pub struct UsersModel {
    /// `users`: shared, linked or per tenant.
    pub at: UsersAt,
    /// Users table: in the shared schema, or in each tenant (`per_tenant`).
    pub table: String,
    /// Column of a shared users table that names the user's tenant.
    pub tenant_column: String,
    /// `link`: the table pairing users with tenants (`link_*` keys).
    pub link: LinkModel,
    /// `user_*` keys.
    pub columns: UserColumns,
}

/// The table pairing users with tenants, and its two columns.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkModel {
    pub table: Option<String>,
    pub user: Option<String>,
    pub tenant: Option<String>,
}

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

/// The users table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct UserColumns {
    pub id: String,
    pub name: String,
    pub mail: String,
    pub created: String,
}

/// The items table of every tenant schema (`items_table`, `item_*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsModel {
    pub table: String,
    pub id: String,
    pub label: String,
    pub price: String,
    /// How an item of one tenant is found in another (`items_match`):
    /// `auto`, `id`, `description` or an items column (see
    /// [`crate::db::ItemMatch`]).
    pub matching: String,
}

/// The orders table of every tenant schema (`orders_table`, `order_*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersModel {
    pub table: String,
    pub user: String,
    pub item: String,
    pub quantity: String,
}

impl Default for TenancyModel {
    fn default() -> Self {
        TenancyModel {
            layout: "article".into(),
            schemas: SchemasModel {
                shared: "public".into(),
                ignore: Vec::new(),
                registry: RegistryModel {
                    table: None,
                    key: None,
                    label: None,
                    schema: None,
                },
                ledger: None,
            },
            users: UsersModel {
                at: UsersAt::Shared,
                table: "users".into(),
                tenant_column: "organization_id".into(),
                link: LinkModel {
                    table: None,
                    user: None,
                    tenant: None,
                },
                columns: UserColumns {
                    id: "id".into(),
                    name: "name".into(),
                    mail: "mail".into(),
                    created: "creation_timestamp".into(),
                },
            },
            items: ItemsModel {
                table: "items".into(),
                id: "id".into(),
                label: "description".into(),
                price: "price".into(),
                matching: "auto".into(),
            },
            orders: OrdersModel {
                table: "orders".into(),
                user: "user_id".into(),
                item: "item_id".into(),
                quantity: "quantity".into(),
            },
            compare_with: None,
        }
    }
}

/// The field behind one `[tenancy]` key.
enum Field<'a> {
    Text(&'a mut String),
    Maybe(&'a mut Option<String>),
    List(&'a mut Vec<String>),
    Users(&'a mut UsersAt),
}

/// How many `[tenancy]` keys there are.
const KEY_COUNT: usize = 28;

impl TenancyModel {
    /// Every `[tenancy]` key with its field, in the order `detect` prints
    /// them: the one list of the configuration's flat keys (the borrow
    /// checker refuses two keys on one field).
    fn fields(&mut self) -> [(&'static str, Field<'_>); KEY_COUNT] {
        use Field::{List, Maybe, Text, Users};
        let TenancyModel {
            layout,
            schemas,
            users,
            items,
            orders,
            compare_with,
        } = self;
        let registry = &mut schemas.registry;
        let (link, user) = (&mut users.link, &mut users.columns);
        [
            ("layout", Text(layout)),
            ("shared_schema", Text(&mut schemas.shared)),
            ("ignore_schemas", List(&mut schemas.ignore)),
            ("registry_table", Maybe(&mut registry.table)),
            ("registry_key", Maybe(&mut registry.key)),
            ("registry_label", Maybe(&mut registry.label)),
            ("registry_schema", Maybe(&mut registry.schema)),
            ("users", Users(&mut users.at)),
            ("users_table", Text(&mut users.table)),
            ("tenant_column", Text(&mut users.tenant_column)),
            ("link_table", Maybe(&mut link.table)),
            ("link_user", Maybe(&mut link.user)),
            ("link_tenant", Maybe(&mut link.tenant)),
            ("user_id", Text(&mut user.id)),
            ("user_name", Text(&mut user.name)),
            ("user_mail", Text(&mut user.mail)),
            ("user_created", Text(&mut user.created)),
            ("items_table", Text(&mut items.table)),
            ("item_id", Text(&mut items.id)),
            ("item_label", Text(&mut items.label)),
            ("item_price", Text(&mut items.price)),
            ("items_match", Text(&mut items.matching)),
            ("orders_table", Text(&mut orders.table)),
            ("order_user", Text(&mut orders.user)),
            ("order_item", Text(&mut orders.item)),
            ("order_quantity", Text(&mut orders.quantity)),
            ("ledger_table", Maybe(&mut schemas.ledger)),
            ("compare_with", Maybe(compare_with)),
        ]
    }

    /// `self` with the fields of the keys in `keys` taken from `configured`
    /// (configured keys refining a detected model).
    pub fn refined(mut self, configured: &TenancyModel, keys: &[String]) -> TenancyModel {
        let mut from = configured.clone();
        for ((key, to), (_, from)) in self.fields().into_iter().zip(from.fields()) {
            if !keys.iter().any(|k| k == key) {
                continue;
            }
            match (to, from) {
                (Field::Text(to), Field::Text(from)) => *to = std::mem::take(from),
                (Field::Maybe(to), Field::Maybe(from)) => *to = from.take(),
                (Field::List(to), Field::List(from)) => *to = std::mem::take(from),
                (Field::Users(to), Field::Users(from)) => *to = *from,
                _ => {}
            }
        }
        self
    }

    /// The `[tenancy]` keys, for serde's "expected one of" list.
    fn keys() -> &'static [&'static str] {
        static KEY_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
            TenancyModel::default()
                .fields()
                .iter()
                .map(|(key, _)| *key)
                .collect()
        });
        &KEY_NAMES
    }

    /// Names that must not be empty, with their keys.
    pub fn required_names(&self) -> [(&'static str, &str); 15] {
        let (users, user, items, orders) =
            (&self.users, &self.users.columns, &self.items, &self.orders);
        [
            ("tenancy.shared_schema", &self.schemas.shared),
            ("tenancy.users_table", &users.table),
            ("tenancy.tenant_column", &users.tenant_column),
            ("tenancy.user_id", &user.id),
            ("tenancy.user_name", &user.name),
            ("tenancy.user_mail", &user.mail),
            ("tenancy.user_created", &user.created),
            ("tenancy.items_table", &items.table),
            ("tenancy.item_id", &items.id),
            ("tenancy.item_label", &items.label),
            ("tenancy.item_price", &items.price),
            ("tenancy.orders_table", &orders.table),
            ("tenancy.order_user", &orders.user),
            ("tenancy.order_item", &orders.item),
            ("tenancy.order_quantity", &orders.quantity),
        ]
    }

    /// The model's own consistency (names are checked against the catalog
    /// at connect time).
    pub fn validate(&self) -> Result<(), String> {
        // Empty-allowed: a creation column (it may be absent), and the
        // tenant column where the users are linked or in each tenant.
        let may_be_empty = |key: &str| {
            key == "tenancy.user_created"
                || (key == "tenancy.tenant_column" && self.users.at != UsersAt::Shared)
        };
        if let Some((key, _)) = self
            .required_names()
            .iter()
            .find(|(key, n)| n.is_empty() && !may_be_empty(key))
        {
            return Err(format!("invalid configuration: {key} must not be empty"));
        }
        let registry = &self.schemas.registry;
        let columns = [&registry.key, &registry.label, &registry.schema];
        if registry.table.is_none() && columns.iter().any(|v| v.is_some()) {
            return Err(
                "invalid configuration: tenancy.registry_key, registry_label and registry_schema \
                 need tenancy.registry_table"
                    .into(),
            );
        }
        if registry.table.is_some() && registry.complete().is_none() {
            return Err(
                "invalid configuration: tenancy.registry_table needs tenancy.registry_key and \
                 tenancy.registry_schema"
                    .into(),
            );
        }
        let link = &self.users.link;
        if self.users.at == UsersAt::Link
            && (link.table.is_none() || link.user.is_none() || link.tenant.is_none())
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

/// Reads the flat keys as `#[serde(default, deny_unknown_fields)]` would
/// (that attribute does not combine with `flatten`): an unset key keeps its
/// default, an unknown one is serde's own error naming it.
impl<'de> Deserialize<'de> for TenancyModel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = TenancyModel;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("struct TenancyModel")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TenancyModel, A::Error> {
                let mut model = TenancyModel::default();
                while let Some(key) = map.next_key::<String>()? {
                    let mut fields = model.fields();
                    let Some((_, field)) = fields.iter_mut().find(|(k, _)| *k == key) else {
                        return Err(de::Error::unknown_field(&key, TenancyModel::keys()));
                    };
                    match field {
                        Field::Text(value) => **value = map.next_value()?,
                        Field::Maybe(value) => **value = map.next_value()?,
                        Field::List(value) => **value = map.next_value()?,
                        Field::Users(value) => **value = map.next_value()?,
                    }
                }
                Ok(model)
            }
        }
        deserializer.deserialize_struct("TenancyModel", TenancyModel::keys(), Keys)
    }
}

impl Serialize for TenancyModel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `fields` lends its fields mutably: write a copy.
        let mut model = self.clone();
        let mut out = serializer.serialize_struct("TenancyModel", KEY_COUNT)?;
        for (key, field) in model.fields() {
            match field {
                // An empty name is a key that does not apply (see `validate`).
                Field::Text(value) if value.is_empty() => out.skip_field(key)?,
                Field::Text(value) => out.serialize_field(key, value)?,
                Field::Maybe(value) => out.serialize_field(key, value)?,
                Field::List(value) => out.serialize_field(key, value)?,
                Field::Users(value) => out.serialize_field(key, value)?,
            }
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_keeps_every_field() {
        let mut model = TenancyModel {
            layout: "stancl-tenancy".into(),
            ..TenancyModel::default()
        };
        model.schemas = SchemasModel {
            ignore: vec!["extensions".into()],
            registry: RegistryModel {
                table: Some("tenants".into()),
                key: Some("id".into()),
                label: None,
                schema: Some("coalesce(data::jsonb ->> 'tenancy_db_name', 'tenant' || id)".into()),
            },
            ledger: Some("migrations".into()),
            ..model.schemas
        };
        model.users.at = UsersAt::PerTenant;
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
    fn every_flat_key_sets_its_own_field() {
        // A distinct value per key, so each part shows which key reached it.
        let mut text = String::from("[tenancy]\n");
        for (i, key) in TenancyModel::keys().iter().enumerate() {
            let value = match *key {
                "users" => "\"link\"".to_string(),
                "ignore_schemas" => format!("[\"v{i}\"]"),
                _ => format!("\"v{i}\""),
            };
            text.push_str(&format!("{key} = {value}\n"));
        }
        #[derive(Deserialize)]
        struct File {
            tenancy: TenancyModel,
        }
        let model = toml::from_str::<File>(&text).unwrap().tenancy;
        assert_eq!(model.to_toml(), text);
        let value = |key: &str| {
            let i = TenancyModel::keys().iter().position(|k| *k == key);
            format!("v{}", i.unwrap())
        };
        assert_eq!(model.schemas.shared, value("shared_schema"));
        assert_eq!(
            model.schemas.registry.schema,
            Some(value("registry_schema"))
        );
        assert_eq!(model.schemas.ledger, Some(value("ledger_table")));
        assert_eq!(model.users.at, UsersAt::Link);
        assert_eq!(model.users.link.tenant, Some(value("link_tenant")));
        assert_eq!(model.users.columns.created, value("user_created"));
        assert_eq!(model.items.price, value("item_price"));
        assert_eq!(model.orders.item, value("order_item"));
    }

    #[test]
    fn configured_keys_refine_and_keys_that_do_not_apply_are_left_out() {
        let mut detected = TenancyModel {
            layout: "django-tenants".into(),
            ..TenancyModel::default()
        };
        detected.items.table = "shop_item".into();
        detected.users.at = UsersAt::PerTenant;
        detected.users.tenant_column = String::new();
        detected.users.columns.created = String::new();
        let mut configured = TenancyModel::default();
        configured.schemas.ignore = vec!["sample".into()];
        configured.users.columns.name = "username".into();
        let refined = detected
            .clone()
            .refined(&configured, &["ignore_schemas".into()]);
        assert_eq!(refined.schemas.ignore, ["sample"]);
        // Only the named key: the rest is the detected model's.
        assert_eq!(
            TenancyModel {
                schemas: SchemasModel {
                    ignore: Vec::new(),
                    ..refined.schemas.clone()
                },
                ..refined.clone()
            },
            detected
        );
        let text = refined.to_toml();
        assert!(!text.contains("tenant_column"), "{text}");
        assert!(!text.contains("user_created"), "{text}");
        assert_eq!(refined.validate(), Ok(()));
        // Shared users need their tenant column.
        let mut shared = refined;
        shared.users.at = UsersAt::Shared;
        assert!(shared.validate().unwrap_err().contains("tenant_column"));
    }

    #[test]
    fn a_registry_needs_its_key_and_schema() {
        let mut model = TenancyModel::default();
        model.schemas.registry.table = Some("customers_client".into());
        assert!(model.validate().unwrap_err().contains("registry_schema"));
        let mut link = TenancyModel::default();
        link.users.at = UsersAt::Link;
        assert!(link.validate().unwrap_err().contains("link_table"));
        assert_eq!(TenancyModel::default().validate(), Ok(()));
    }
}
