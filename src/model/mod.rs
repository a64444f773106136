//! The tenancy model: where tenants, users, items and orders live. It is the
//! `[tenancy]` section of the configuration, and what `tenantscope detect`
//! prints. The default is the article's layout (users in `public.users`
//! naming their tenant schema in `organization_id`; `items` and `orders` in
//! every tenant schema).

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

pub mod guard;
mod names;

pub(crate) use names::table_kinds;
pub use names::{Names, TABLE_KINDS};

/// The tenancy model, in parts. The configuration keeps its flat keys
/// (`items_table`, `registry_key`, …): `TenancyModel::keys_mut` lists them once,
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

impl SchemasModel {
    /// `name` is never a tenant's schema: the shared one, an ignored one or
    /// the system's.
    pub fn never_a_tenant(&self, name: &str) -> bool {
        name == self.shared
            || self.ignore.iter().any(|s| s == name)
            || name.starts_with("pg_")
            || name == "information_schema"
    }

    /// SQL condition on `pg_namespace n` (`AND …`) leaving the ignored
    /// schemas out, with or without a registry; empty when none are.
    pub fn ignored_condition(&self) -> String {
        if self.ignore.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self
            .ignore
            .iter()
            .map(|s| guard::quote_literal(s))
            .collect();
        format!(" AND n.nspname NOT IN ({})", names.join(", "))
    }
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

impl ItemsModel {
    /// The items column an `items_match` setting names, if it names one
    /// (not `auto`, `id` or `description`).
    pub fn column_of(setting: &str) -> Option<&str> {
        match setting {
            "" | "auto" | "id" | "description" => None,
            column => Some(column),
        }
    }
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
pub(crate) enum Field<'a> {
    Text(&'a mut String),
    Maybe(&'a mut Option<String>),
    List(&'a mut Vec<String>),
    Users(&'a mut UsersAt),
}

/// What a `[tenancy]` key must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// A setting with a default that names nothing in the database
    /// (`layout`, `ignore_schemas`, `users`, `items_match`).
    Setting,
    /// A table or column name that must not be empty.
    Name,
    /// A name that may be empty where the users are not one shared table
    /// (`tenant_column`: the link or the schema names the tenant).
    NameIfShared,
    /// A name that may always be empty (`user_mail`, `user_created`: the
    /// column may be absent).
    NameOrEmpty,
    /// Unset by default: the example configuration shows an example value.
    Example,
}

/// Where a name goes in [`Names`] once the server has quoted it: the
/// identifier, and the literal where one is kept.
type NameSlot = fn(&mut Names) -> (&mut String, Option<&mut String>);

/// One `[tenancy]` key: its flat name, the field behind it, what it must
/// hold, and its place in [`Names`] (names the SQL text uses).
struct Key<'a> {
    name: &'static str,
    field: Field<'a>,
    need: Need,
    quoted: Option<NameSlot>,
}

/// How many `[tenancy]` keys there are.
const KEY_COUNT: usize = 28;

impl TenancyModel {
    /// Every `[tenancy]` key with its field, in the order `detect` prints
    /// them: the one list of the configuration's flat keys (the borrow
    /// checker refuses two keys on one field). Everything else about the
    /// keys (serde, required names, examples, quoted names) reads this.
    fn keys_mut(&mut self) -> [Key<'_>; KEY_COUNT] {
        use Field::{List, Maybe, Text, Users};
        use Need::{Example, Name, NameIfShared, NameOrEmpty, Setting};
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
        let key = |name, field, need| Key {
            name,
            field,
            need,
            quoted: None,
        };
        let quoted = |name, field, slot: NameSlot| Key {
            name,
            field,
            need: Name,
            quoted: Some(slot),
        };
        [
            key("layout", Text(layout), Setting),
            key("shared_schema", Text(&mut schemas.shared), Name),
            key("ignore_schemas", List(&mut schemas.ignore), Setting),
            key("registry_table", Maybe(&mut registry.table), Example),
            key("registry_key", Maybe(&mut registry.key), Example),
            key("registry_label", Maybe(&mut registry.label), Example),
            key("registry_schema", Maybe(&mut registry.schema), Example),
            key("users", Users(&mut users.at), Setting),
            key("users_table", Text(&mut users.table), Name),
            key(
                "tenant_column",
                Text(&mut users.tenant_column),
                NameIfShared,
            ),
            key("link_table", Maybe(&mut link.table), Example),
            key("link_user", Maybe(&mut link.user), Example),
            key("link_tenant", Maybe(&mut link.tenant), Example),
            quoted("user_id", Text(&mut user.id), |n| (&mut n.user_id, None)),
            quoted("user_name", Text(&mut user.name), |n| {
                (&mut n.user_name, None)
            }),
            Key {
                need: NameOrEmpty,
                ..quoted("user_mail", Text(&mut user.mail), |n| {
                    (&mut n.user_mail, None)
                })
            },
            Key {
                need: NameOrEmpty,
                ..quoted("user_created", Text(&mut user.created), |n| {
                    (&mut n.user_created, None)
                })
            },
            quoted("items_table", Text(&mut items.table), |n| {
                (&mut n.items, Some(&mut n.items_lit))
            }),
            quoted("item_id", Text(&mut items.id), |n| (&mut n.item_id, None)),
            quoted("item_label", Text(&mut items.label), |n| {
                (&mut n.item_label, None)
            }),
            quoted("item_price", Text(&mut items.price), |n| {
                (&mut n.item_price, None)
            }),
            key("items_match", Text(&mut items.matching), Setting),
            quoted("orders_table", Text(&mut orders.table), |n| {
                (&mut n.orders, Some(&mut n.orders_lit))
            }),
            quoted("order_user", Text(&mut orders.user), |n| {
                (&mut n.order_user, None)
            }),
            quoted("order_item", Text(&mut orders.item), |n| {
                (&mut n.order_item, None)
            }),
            quoted("order_quantity", Text(&mut orders.quantity), |n| {
                (&mut n.order_quantity, None)
            }),
            key("ledger_table", Maybe(&mut schemas.ledger), Example),
            key("compare_with", Maybe(compare_with), Example),
        ]
    }

    /// Each key with its field (see [`TenancyModel::keys_mut`]).
    pub(crate) fn fields(&mut self) -> impl Iterator<Item = (&'static str, Field<'_>)> {
        self.keys_mut().into_iter().map(|k| (k.name, k.field))
    }

    /// The names the SQL text uses, to be quoted by the server, each with
    /// its place in [`Names`], in key order.
    pub(super) fn quoted_names(&self) -> Vec<(String, NameSlot)> {
        let mut model = self.clone();
        model
            .keys_mut()
            .into_iter()
            .filter_map(|k| match (k.field, k.quoted) {
                (Field::Text(value), Some(slot)) => Some((value.clone(), slot)),
                _ => None,
            })
            .collect()
    }

    /// The keys with no default, each taken (left unset) with whether it
    /// was set: what the example configuration shows as examples.
    #[cfg(test)]
    pub(crate) fn take_examples(&mut self) -> Vec<(&'static str, bool)> {
        self.keys_mut()
            .into_iter()
            .filter(|k| k.need == Need::Example)
            .filter_map(|k| match k.field {
                Field::Maybe(value) => Some((k.name, value.take().is_some())),
                _ => None,
            })
            .collect()
    }

    /// `self` with the fields of the keys in `keys` taken from `configured`
    /// (configured keys refining a detected model).
    pub fn refined(mut self, configured: &TenancyModel, keys: &[String]) -> TenancyModel {
        let mut from = configured.clone();
        for ((key, to), (_, from)) in self.fields().zip(from.fields()) {
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

    /// The `[tenancy]` keys (serde's "expected one of" list, the config
    /// report).
    pub fn keys() -> &'static [&'static str] {
        static KEY_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
            TenancyModel::default()
                .fields()
                .map(|(key, _)| key)
                .collect()
        });
        &KEY_NAMES
    }

    /// The model's own consistency (names are checked against the catalog
    /// at connect time).
    pub fn validate(&self) -> Result<(), String> {
        let shared = self.users.at == UsersAt::Shared;
        let mut model = self.clone();
        let empty = model
            .keys_mut()
            .into_iter()
            .find(|k| match (&k.field, k.need) {
                (Field::Text(value), Need::Name) => value.is_empty(),
                (Field::Text(value), Need::NameIfShared) => value.is_empty() && shared,
                _ => false,
            });
        if let Some(key) = empty {
            return Err(format!(
                "invalid configuration: tenancy.{} must not be empty",
                key.name
            ));
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
                    let Some((_, field)) = model.fields().find(|(k, _)| *k == key) else {
                        return Err(de::Error::unknown_field(&key, TenancyModel::keys()));
                    };
                    match field {
                        Field::Text(value) => *value = map.next_value()?,
                        Field::Maybe(value) => *value = map.next_value()?,
                        Field::List(value) => *value = map.next_value()?,
                        Field::Users(value) => *value = map.next_value()?,
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

    /// Every key, set to a value of its own through TOML, lands in its own
    /// field, survives writing and reading again, and (for the names the
    /// SQL text uses) reaches its own place in `Names`.
    #[test]
    fn every_key_round_trips_to_its_own_field() {
        let keys = TenancyModel::keys();
        assert_eq!(keys.len(), KEY_COUNT);
        let mut text = String::from("[tenancy]\n");
        for key in keys {
            text.push_str(&match *key {
                "users" => "users = \"link\"\n".to_string(),
                "ignore_schemas" => "ignore_schemas = [\"ignore_schemas\"]\n".to_string(),
                _ => format!("{key} = \"{key}\"\n"),
            });
        }
        #[derive(Deserialize)]
        struct File {
            tenancy: TenancyModel,
        }
        let model = toml::from_str::<File>(&text).unwrap().tenancy;
        let (users, user) = (&model.users, &model.users.columns);
        let (registry, link) = (&model.schemas.registry, &model.users.link);
        let fields: [(&str, Option<&str>); KEY_COUNT] = [
            ("layout", Some(&model.layout)),
            ("shared_schema", Some(&model.schemas.shared)),
            (
                "ignore_schemas",
                model.schemas.ignore.first().map(String::as_str),
            ),
            ("registry_table", registry.table.as_deref()),
            ("registry_key", registry.key.as_deref()),
            ("registry_label", registry.label.as_deref()),
            ("registry_schema", registry.schema.as_deref()),
            ("users", (users.at == UsersAt::Link).then_some("users")),
            ("users_table", Some(&users.table)),
            ("tenant_column", Some(&users.tenant_column)),
            ("link_table", link.table.as_deref()),
            ("link_user", link.user.as_deref()),
            ("link_tenant", link.tenant.as_deref()),
            ("user_id", Some(&user.id)),
            ("user_name", Some(&user.name)),
            ("user_mail", Some(&user.mail)),
            ("user_created", Some(&user.created)),
            ("items_table", Some(&model.items.table)),
            ("item_id", Some(&model.items.id)),
            ("item_label", Some(&model.items.label)),
            ("item_price", Some(&model.items.price)),
            ("items_match", Some(&model.items.matching)),
            ("orders_table", Some(&model.orders.table)),
            ("order_user", Some(&model.orders.user)),
            ("order_item", Some(&model.orders.item)),
            ("order_quantity", Some(&model.orders.quantity)),
            ("ledger_table", model.schemas.ledger.as_deref()),
            ("compare_with", model.compare_with.as_deref()),
        ];
        for (key, value) in fields {
            assert_eq!(value, Some(key), "tenancy.{key} reads into its own field");
        }
        let again = toml::from_str::<File>(&model.to_toml()).unwrap().tenancy;
        assert_eq!(again, model, "{}", model.to_toml());

        // The server's quoting stood in for by a mark on each name.
        let raw = Names::raw(&model);
        let idents: Vec<String> = raw.iter().map(|n| format!("i:{n}")).collect();
        let literals: Vec<String> = raw.iter().map(|n| format!("l:{n}")).collect();
        let names = Names::from_quoted(&model, &idents, &literals);
        let quoted = [
            (&names.items, "i:items_table"),
            (&names.items_lit, "l:items_table"),
            (&names.item_id, "i:item_id"),
            (&names.item_label, "i:item_label"),
            (&names.item_price, "i:item_price"),
            (&names.orders, "i:orders_table"),
            (&names.orders_lit, "l:orders_table"),
            (&names.order_user, "i:order_user"),
            (&names.order_item, "i:order_item"),
            (&names.order_quantity, "i:order_quantity"),
            (&names.user_id, "i:user_id"),
            (&names.user_name, "i:user_name"),
            (&names.user_mail, "i:user_mail"),
            (&names.user_created, "i:user_created"),
        ];
        for (got, want) in quoted {
            assert_eq!(got, want);
        }
        assert_eq!(raw.len(), 12, "{raw:?}");
    }

    #[test]
    fn an_empty_required_name_is_refused_by_its_key() {
        let mut model = TenancyModel::default();
        model.orders.item = String::new();
        assert_eq!(
            model.validate().unwrap_err(),
            "invalid configuration: tenancy.order_item must not be empty"
        );
        let mut model = TenancyModel::default();
        model.users.columns.created = String::new();
        assert_eq!(model.validate(), Ok(()));
        model.users.tenant_column = String::new();
        assert!(model
            .validate()
            .unwrap_err()
            .contains("tenancy.tenant_column"));
        model.users.at = UsersAt::PerTenant;
        assert_eq!(model.validate(), Ok(()));
    }

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
