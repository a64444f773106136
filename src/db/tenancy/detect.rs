//! Detection of the tenancy layout from the catalog alone, in a constant
//! number of queries whatever the number of schemas: one for the schema
//! names, the shared schema's tables and a sample of the other schemas'
//! (with the shared schema's foreign keys, whether Citus's
//! `pg_dist_schema` exists, and the schemas holding the tables the sample
//! names), one for the values of the registry candidates where there are
//! any, and one for Citus's distributed schemas when it exists (see
//! catalog_read.rs).
//!
//! Recognised: django-tenants (a shared table with a `schema_name` column;
//! with django-tenant-users when a shared table links users to it),
//! stancl/tenancy (`tenants(id, data)`), ros-apartment (`public.users`
//! pointing at a tenant table whose text column names the schemas), Citus
//! schema-based sharding (by catalog presence only), and the article's
//! layout (the default).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::checks::RegistrySchemas;
use crate::model::{LinkModel, OrdersModel, RegistryModel, TenancyModel, UsersAt, UsersModel};
use crate::text::plural;

/// One table (or view) and its columns, with whether each is text.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTable {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub text_columns: Vec<String>,
}

/// A single-column foreign key between two tables of the shared schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub table: String,
    pub column: String,
    pub ref_table: String,
    pub ref_column: String,
}

/// What the catalog queries return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub shared_schema: String,
    pub tables: Vec<CatalogTable>,
    pub schemas: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// `Some` when `pg_dist_schema` exists: the distributed schemas.
    pub citus_schemas: Option<Vec<String>>,
    /// Citus: (schema, `host:port` of the node holding it).
    pub citus_nodes: Vec<(String, String)>,
    /// Only a sample of the schemas was read in full: the others' tables
    /// are in `tables` with no columns, and only those the sample names as
    /// items, orders, per-tenant users or a ledger (see
    /// [`Catalog::tenant_table_names`]).
    pub sampled: bool,
    /// `tables` by a hash of (schema, table) (see [`table_key`]), built on
    /// first use: classification asks for every tenant's tables, linear in
    /// 15,000 tables at 5,000 schemas. Keyed by the hash, not by the
    /// names: neither building it nor asking it copies a name (copies were
    /// a fifth of the client's time in detection at 10,000 schemas).
    pub index: std::sync::OnceLock<HashMap<u64, usize>>,
}

/// The tenancy layout: which framework's convention the database follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TenancyLayout {
    Article,
    DjangoTenants,
    /// django-tenants with django-tenant-users' global users.
    DjangoTenantUsers,
    /// django-pgschemas: a registry as django-tenants', a domain model with
    /// a `folder`; static tenants and the clone reference are in its
    /// settings, not its registry.
    DjangoPgschemas,
    RosApartment,
    StanclTenancy,
    Citus,
}

impl TenancyLayout {
    pub fn name(self) -> &'static str {
        match self {
            TenancyLayout::Article => "article",
            TenancyLayout::DjangoTenants => "django-tenants",
            TenancyLayout::DjangoTenantUsers => "django-tenant-users",
            TenancyLayout::DjangoPgschemas => "django-pgschemas",
            TenancyLayout::RosApartment => "ros-apartment",
            TenancyLayout::StanclTenancy => "stancl-tenancy",
            TenancyLayout::Citus => "citus",
        }
    }
}

/// A table of the shared schema that may list the tenants.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryCandidate {
    pub kind: TenancyLayout,
    pub table: String,
    pub key: String,
    pub label: String,
    /// SQL expression over a row (names quoted by the caller's rule:
    /// see [`quote`]).
    pub schema_expr: String,
    /// ros-apartment: the users column pointing at the registry.
    pub users_column: Option<String>,
}

/// The detected model and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub kind: TenancyLayout,
    #[serde(skip)]
    pub model: TenancyModel,
    /// Tenant schemas (registered and present, or discovered).
    pub tenants: Vec<String>,
    /// Registered tenants without a schema, schemas nobody registered,
    /// and django-pgschemas' static schemas.
    #[serde(flatten)]
    pub registry: RegistrySchemas,
    /// Why, one line each, for stderr.
    pub reasons: Vec<String>,
    /// Where detection had to choose, the choice and the others.
    pub guesses: Vec<String>,
}

/// A name as an SQL identifier, quoted unless it is plainly lower-case
/// (the server quotes again wherever the name reaches SQL text; this is
/// for the expressions the model stores, shown to and editable by people).
pub fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

const LEDGERS: [&str; 3] = ["django_migrations", "schema_migrations", "migrations"];
const PRICE_COLUMNS: [&str; 4] = ["price", "unit_price", "amount", "cost"];
const LABEL_COLUMNS: [&str; 5] = ["description", "name", "title", "label", "sku"];
const QUANTITY_COLUMNS: [&str; 2] = ["quantity", "qty"];
const USER_COLUMNS: [&str; 4] = ["user_id", "customer_id", "owner_id", "profile_id"];
/// Per-tenant users tables: (table, name, mail, created).
const TENANT_USERS: [(&str, &str, &str, &str); 2] = [
    ("auth_user", "username", "email", "date_joined"),
    ("users", "name", "email", "created_at"),
];
/// Columns naming a user, best first (shared and linked users).
const USER_NAME_COLUMNS: [&str; 5] = ["name", "username", "full_name", "email", "mail"];
/// Columns holding a user's mail address, best first.
pub(super) const USER_MAIL_COLUMNS: [&str; 4] = ["email", "mail", "email_address", "e_mail"];
/// Columns holding when a user was created (shared and linked users).
const USER_CREATED_COLUMNS: [&str; 5] = [
    "date_joined",
    "created",
    "created_at",
    "joined",
    "creation_timestamp",
];

impl Catalog {
    pub(super) fn tables_in<'a>(
        &'a self,
        schema: &'a str,
    ) -> impl Iterator<Item = &'a CatalogTable> {
        self.tables.iter().filter(move |t| t.schema == schema)
    }

    /// The tables of the schemas read in full (beside the shared one) that
    /// classification asks every schema about: items-like (an `id`, a
    /// price and a label), orders-like (a quantity and a user column),
    /// per-tenant users and migration ledgers; by name.
    pub fn tenant_table_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = TENANT_USERS
            .iter()
            .map(|(t, ..)| t.to_string())
            .chain(LEDGERS.iter().map(|l| l.to_string()))
            .collect();
        for t in &self.tables {
            if t.schema == self.shared_schema {
                continue;
            }
            let has = |wanted: &[&str]| t.columns.iter().any(|c| wanted.contains(&c.as_str()));
            let items = has(&["id"]) && has(&PRICE_COLUMNS) && has(&LABEL_COLUMNS);
            let orders = has(&QUANTITY_COLUMNS) && has(&USER_COLUMNS);
            if items || orders {
                names.insert(t.table.clone());
            }
        }
        names.into_iter().collect()
    }

    /// What [`Catalog::tenant_table_names`] goes by, for the catalog
    /// statement that computes the same names on the server: the names
    /// always looked for, then the price, label, quantity and user
    /// columns.
    pub(super) fn tenant_table_rules() -> [Vec<String>; 5] {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let always: Vec<String> = TENANT_USERS
            .iter()
            .map(|(t, ..)| t.to_string())
            .chain(LEDGERS.iter().map(|l| l.to_string()))
            .collect();
        [
            always,
            own(&PRICE_COLUMNS),
            own(&LABEL_COLUMNS),
            own(&QUANTITY_COLUMNS),
            own(&USER_COLUMNS),
        ]
    }

    pub(super) fn table(&self, schema: &str, table: &str) -> Option<&CatalogTable> {
        let index = self.index.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.tables.len());
            for (at, t) in self.tables.iter().enumerate() {
                // The first of a (schema, table) pair, as the scan found it.
                index.entry(table_key(&t.schema, &t.table)).or_insert(at);
            }
            index
        });
        let is = |t: &&CatalogTable| t.schema == schema && t.table == table;
        match self.tables.get(*index.get(&table_key(schema, table))?) {
            Some(found) if is(&found) => Some(found),
            // Two pairs with one hash (never seen; 64 bits): the first of
            // the pair asked for, by reading them all.
            _ => self.tables.iter().find(is),
        }
    }
}

/// The key of a (schema, table) pair in [`Catalog::index`]: a hash of both
/// names (`str`'s `Hash` ends each with a byte no UTF-8 text holds, so no
/// two pairs hash the same bytes).
fn table_key(schema: &str, table: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    schema.hash(&mut hasher);
    table.hash(&mut hasher);
    hasher.finish()
}

/// A registry candidate with how many existing schemas it lists, and its
/// values.
type Scored<'a> = (usize, &'a RegistryCandidate, &'a Vec<String>);

/// Works out the model from the catalog and the registry candidates'
/// values (`values[i]`: the schema names candidate `i` lists).
pub fn classify(
    catalog: &Catalog,
    candidates: &[RegistryCandidate],
    values: &[Vec<String>],
) -> Detection {
    let shared = catalog.shared_schema.as_str();
    let mut reasons = Vec::new();
    let mut guesses = Vec::new();
    let best = choose_registry(catalog, candidates, values, &mut reasons, &mut guesses);
    let (tenants, missing, registered) = registered_tenants(catalog, best);
    let mut model = TenancyModel::default();
    items_and_orders(catalog, &tenants, &mut model, &mut reasons, &mut guesses);
    let found = discover(catalog, best, &registered, &model, tenants, &mut reasons);
    let tenants = found.tenants;

    let kind = match best {
        Some((_, c, _)) => c.kind,
        None if catalog
            .citus_schemas
            .as_ref()
            .is_some_and(|c| !c.is_empty()) =>
        {
            TenancyLayout::Citus
        }
        None => TenancyLayout::Article,
    };
    if let Some(citus) = &catalog.citus_schemas {
        reasons.push(format!(
            "pg_dist_schema exists: {}",
            plural(citus.len(), "distributed schema", "distributed schemas")
        ));
        reasons.extend(super::catalog_read::citus_node_lines(&catalog.citus_nodes));
    }
    if let Some((_, c, _)) = best {
        model.schemas.registry = RegistryModel {
            table: Some(c.table.clone()),
            key: Some(c.key.clone()),
            label: Some(c.label.clone()),
            schema: Some(c.schema_expr.clone()),
        };
        // Schemas that are neither tenants nor shared nor hold a tenant
        // table: extensions, templates; and django-pgschemas' static ones.
        // A set for the lookups below (thousands of schemas).
        let with_some: BTreeSet<&String> = found.with_some.iter().collect();
        model.schemas.ignore = catalog
            .schemas
            .iter()
            .filter(|s| s.as_str() != shared && !registered.contains(*s))
            .filter(|s| !with_some.contains(s) || found.static_schemas.contains(s))
            .cloned()
            .collect();
    }
    let kind = users_model(catalog, best, kind, &tenants, &mut model, &mut reasons);
    // Said here, not first by every command after ("shared users table …
    // not found").
    let users = &model.users.table;
    let shared_users = model.users.at != UsersAt::PerTenant;
    if shared_users && !tenants.is_empty() && catalog.table(shared, users).is_none() {
        reasons.push(format!(
            "users: no users table found ({}.{} does not exist): set users_table and \
             tenant_column in [tenancy]",
            crate::text::sanitize(shared),
            crate::text::sanitize(users)
        ));
    }

    // The migration ledger: in the shared schema and the tenants.
    let holds = |schema: &str, table: &str| catalog.table(schema, table).is_some();
    model.schemas.ledger = LEDGERS
        .iter()
        .find(|l| holds(shared, l) && tenants.iter().any(|s| holds(s, l)))
        .map(|l| l.to_string());
    if let Some(ledger) = &model.schemas.ledger {
        reasons.push(format!("migration ledger: {ledger}"));
    }
    if kind == TenancyLayout::Article {
        // The default, but for the users table's own columns: detection
        // adds nothing else to it.
        let article = TenancyModel::default();
        if model.items.table == article.items.table && model.orders.table == article.orders.table {
            let users = model.users.clone();
            model = article;
            model.users = users;
        }
    }
    model.layout = kind.name().into();
    reasons.insert(0, format!("layout: {}", kind.name()));
    Detection {
        kind,
        model,
        tenants,
        registry: RegistrySchemas {
            missing_schemas: missing,
            unregistered_schemas: found.unregistered,
            static_schemas: found.static_schemas,
        },
        reasons,
        guesses,
    }
}

/// The registry: the candidate listing the most existing schemas.
fn choose_registry<'a>(
    catalog: &Catalog,
    candidates: &'a [RegistryCandidate],
    values: &'a [Vec<String>],
    reasons: &mut Vec<String>,
    guesses: &mut Vec<String>,
) -> Option<Scored<'a>> {
    let shared = catalog.shared_schema.as_str();
    let schemas: BTreeSet<&str> = catalog.schemas.iter().map(String::as_str).collect();
    let scored: Vec<Scored<'a>> = candidates
        .iter()
        .zip(values)
        .map(|(c, v)| {
            let hits = v
                .iter()
                .filter(|s| s.as_str() != shared && schemas.contains(s.as_str()))
                .count();
            (hits, c, v)
        })
        .filter(|(hits, ..)| *hits > 0)
        .collect();
    // No candidate lists an existing schema (an empty registry, or one
    // naming only missing schemas): the registry-shaped table listing the
    // most still states the layout, with no tenant.
    let best = scored
        .iter()
        .copied()
        .max_by_key(|(hits, ..)| *hits)
        .or_else(|| {
            candidates
                .iter()
                .zip(values)
                .map(|(c, v)| (0, c, v))
                .max_by_key(|(_, c, v)| (c.kind != TenancyLayout::RosApartment, v.len()))
        });
    if let Some((0, chosen, listed)) = best {
        reasons.push(if listed.iter().all(|s| s.as_str() == shared) {
            format!(
                "{shared}.{} looks like the {} registry but lists no tenant (it is empty)",
                chosen.table,
                chosen.kind.name()
            )
        } else {
            format!(
                "{shared}.{} looks like the {} registry but none of the {} it lists exists",
                chosen.table,
                chosen.kind.name(),
                plural(
                    listed.iter().filter(|s| s.as_str() != shared).count(),
                    "schema",
                    "schemas"
                )
            )
        });
    } else if let Some((hits, chosen, _)) = best {
        reasons.push(format!(
            "{shared}.{} lists {} through {} ({})",
            chosen.table,
            plural(hits, "existing schema", "existing schemas"),
            chosen.schema_expr,
            chosen.kind.name()
        ));
        let others: Vec<String> = scored
            .iter()
            .filter(|(_, c, _)| *c != chosen)
            .map(|(h, c, _)| format!("{}.{} ({h})", c.table, c.schema_expr))
            .collect();
        if !others.is_empty() {
            guesses.push(format!(
                "registry: chose {}.{}; other candidates: {}",
                chosen.table,
                chosen.schema_expr,
                others.join(", ")
            ));
        }
    }
    best
}

/// Tenant schemas: registered ones, or those holding tenant-like tables.
/// (present, missing, registered).
fn registered_tenants(
    catalog: &Catalog,
    best: Option<Scored<'_>>,
) -> (Vec<String>, Vec<String>, BTreeSet<String>) {
    let shared = catalog.shared_schema.as_str();
    let others = || {
        catalog
            .schemas
            .iter()
            .filter(|s| s.as_str() != shared)
            .cloned()
    };
    match best {
        Some((_, _, listed)) => {
            let registered: BTreeSet<String> = listed
                .iter()
                .filter(|s| s.as_str() != shared)
                .cloned()
                .collect();
            // A set: one lookup per tenant, not a scan of thousands.
            let schemas: BTreeSet<&String> = catalog.schemas.iter().collect();
            let (present, missing) = registered
                .iter()
                .cloned()
                .partition(|s| schemas.contains(s));
            (present, missing, registered)
        }
        None => (others().collect(), Vec::new(), BTreeSet::new()),
    }
}

/// Items and orders: the most common price-like and quantity-like tables.
/// With no tenant (an empty registry), every schema but the shared one
/// shows what the tenants' tables would be.
fn items_and_orders(
    catalog: &Catalog,
    tenants: &[String],
    model: &mut TenancyModel,
    reasons: &mut Vec<String>,
    guesses: &mut Vec<String>,
) {
    let shared = catalog.shared_schema.as_str();
    // A set: one lookup per table, not a scan of thousands of tenants.
    let sampled: BTreeSet<&String> = if tenants.is_empty() {
        catalog
            .schemas
            .iter()
            .filter(|s| s.as_str() != shared)
            .collect()
    } else {
        tenants.iter().collect()
    };
    let mut counts = table_shapes(catalog, &sampled);
    if counts.is_empty() && catalog.sampled {
        // No tenant among the schemas read in full: the others read stand
        // for them.
        let others = catalog.schemas.iter().filter(|s| s.as_str() != shared);
        counts = table_shapes(catalog, &others.collect());
    }
    let per_table = table_reach(&counts);
    let mut items: Vec<(usize, &str, String, String)> = per_table
        .iter()
        .filter(|(_, (_, cols))| cols.contains(&"id"))
        .filter_map(|(table, (n, cols))| {
            let price = pick(cols, &PRICE_COLUMNS)?;
            let label = pick(cols, &LABEL_COLUMNS)?;
            Some((*n, *table, label, price))
        })
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut orders_found = None;
    // Where several tables could be the orders: the others, said.
    let mut other_orders = Vec::new();
    let usual_orders = model.orders.table.clone();
    for (_, items_table, label, price) in &items {
        let stem = items_table
            .rsplit('_')
            .next()
            .unwrap_or(items_table)
            .trim_end_matches('s');
        let candidates = orders_candidates(&per_table, &format!("{stem}_id"), &usual_orders);
        other_orders = candidates.iter().skip(1).map(|c| c.1.clone()).collect();
        let order = candidates
            .into_iter()
            .next()
            .map(|(_, table, user, item, quantity)| (table, user, item, quantity));
        if let Some(order) = order {
            orders_found = Some(order);
            model.items.table = items_table.to_string();
            model.items.label = label.clone();
            model.items.price = price.clone();
            break;
        }
    }
    if items.len() > 1 {
        guesses.push(format!(
            "items: chose {}; other price-like tables: {}",
            model.items.table,
            items
                .iter()
                .filter(|i| i.1 != model.items.table)
                .map(|i| i.1)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if orders_found.is_some() && !other_orders.is_empty() {
        guesses.push(format!(
            "orders: chose {}; other order-like tables: {}",
            orders_found.as_ref().map_or("", |o| o.0.as_str()),
            other_orders.join(", ")
        ));
    }
    if let Some((table, user, item, quantity)) = orders_found {
        reasons.push(format!(
            "{} plays items ({}, {}) and {table} plays orders ({user}, {item}, {quantity})",
            model.items.table, model.items.label, model.items.price
        ));
        model.orders = OrdersModel {
            table,
            user,
            item,
            quantity,
        };
    } else {
        reasons.push("no items/orders tables recognised: keeping items and orders".into());
    }
}

/// The first of `wanted` that `columns` has.
fn pick(columns: &[&str], wanted: &[&str]) -> Option<String> {
    wanted
        .iter()
        .find(|w| columns.contains(w))
        .map(|w| w.to_string())
}

/// Per table: in how many tenants, and the columns most of them have.
fn table_reach<'a>(
    counts: &BTreeMap<(&'a str, Vec<&'a str>), usize>,
) -> BTreeMap<&'a str, (usize, Vec<&'a str>)> {
    let mut per_table: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    let mut best_count: BTreeMap<&str, usize> = BTreeMap::new();
    for ((table, columns), n) in counts {
        let entry = per_table.entry(table).or_insert((0, Vec::new()));
        entry.0 += n;
        let best = best_count.entry(table).or_default();
        if *n > *best {
            *best = *n;
            entry.1 = columns.clone();
        }
    }
    per_table
}

/// The tables that could be the orders of an items table whose lines
/// name it by `item_column`: (tenants, table, user, item and quantity
/// columns), best first. The one most tenants hold, as for items; on a
/// tie the usual name (`usual`, `orders`), then by name: a lookalike
/// (`cart_lines` beside every tenant's `orders`) was taken when its name
/// came first.
fn orders_candidates(
    per_table: &BTreeMap<&str, (usize, Vec<&str>)>,
    item_column: &str,
    usual: &str,
) -> Vec<(usize, String, String, String, String)> {
    let mut candidates: Vec<_> = per_table
        .iter()
        .filter_map(|(table, (n, cols))| {
            let quantity = pick(cols, &QUANTITY_COLUMNS)?;
            let user = pick(cols, &USER_COLUMNS)?;
            let item = pick(cols, &[item_column, "item_id", "product_id"])?;
            Some((*n, table.to_string(), user, item, quantity))
        })
        .collect();
    candidates.sort_by(|a, b| {
        let unusual = |t: &str| t != usual;
        (b.0, unusual(&a.1), &a.1).cmp(&(a.0, unusual(&b.1), &b.1))
    });
    candidates
}

/// How many of `schemas` hold each (table, columns) shape. Tables whose
/// columns were not read (see [`Catalog::sampled`]) say nothing of it.
fn table_shapes<'a>(
    catalog: &'a Catalog,
    schemas: &BTreeSet<&String>,
) -> BTreeMap<(&'a str, Vec<&'a str>), usize> {
    let mut counts: BTreeMap<(&str, Vec<&str>), usize> = BTreeMap::new();
    for t in catalog.tables.iter().filter(|t| !t.columns.is_empty()) {
        if schemas.contains(&t.schema) {
            let columns = t.columns.iter().map(String::as_str).collect();
            *counts.entry((t.table.as_str(), columns)).or_default() += 1;
        }
    }
    counts
}

/// What discovery finds beside the registry.
struct Discovered {
    tenants: Vec<String>,
    /// Schemas holding some of the tenant tables.
    with_some: Vec<String>,
    static_schemas: Vec<String>,
    unregistered: Vec<String>,
}

/// Discovery: tenants are the schemas holding both tables.
fn discover(
    catalog: &Catalog,
    best: Option<Scored<'_>>,
    registered: &BTreeSet<String>,
    model: &TenancyModel,
    tenants: Vec<String>,
    reasons: &mut Vec<String>,
) -> Discovered {
    let shared = catalog.shared_schema.as_str();
    let holds = |schema: &str, table: &str| catalog.table(schema, table).is_some();
    let with_tables: Vec<String> = catalog
        .schemas
        .iter()
        .filter(|s| s.as_str() != shared)
        .filter(|s| holds(s, &model.items.table) && holds(s, &model.orders.table))
        .cloned()
        .collect();
    // A half-deleted tenant holds only some of them.
    let with_some: Vec<String> = catalog
        .schemas
        .iter()
        .filter(|s| s.as_str() != shared)
        .filter(|s| holds(s, &model.items.table) || holds(s, &model.orders.table))
        .cloned()
        .collect();
    let tenants = if best.is_some() {
        tenants
    } else {
        with_tables.clone()
    };
    let pgschemas = best.is_some_and(|(_, c, _)| c.kind == TenancyLayout::DjangoPgschemas);
    // A set for the lookups below (thousands of schemas).
    let with_tables_set: BTreeSet<&String> = with_tables.iter().collect();
    let (static_schemas, unregistered): (Vec<String>, Vec<String>) = if best.is_some() {
        with_some
            .iter()
            .filter(|s| !registered.contains(*s))
            .cloned()
            .partition(|s| pgschemas && with_tables_set.contains(s))
    } else {
        (Vec::new(), Vec::new())
    };
    if !static_schemas.is_empty() {
        let (hold, them) = match static_schemas.len() {
            1 => ("holds", "it"),
            _ => ("hold", "them"),
        };
        reasons.push(format!(
            "{} {hold} the tenant tables but the registry does not list {them}: \
             taken for django-pgschemas' static tenants and clone reference (its \
             settings' TENANTS), so in ignore_schemas; keep only those of your \
             settings there to have any other reported as a schema nobody registered",
            static_schemas.join(", ")
        ));
    }
    Discovered {
        tenants,
        with_some,
        static_schemas,
        unregistered,
    }
}

/// Users: a shared table pointing at the registry, else one linked to
/// it by a table of pairs, else one per tenant. Returns the kind, which a
/// link to django-tenants' registry turns into django-tenant-users.
fn users_model(
    catalog: &Catalog,
    best: Option<Scored<'_>>,
    kind: TenancyLayout,
    tenants: &[String],
    model: &mut TenancyModel,
    reasons: &mut Vec<String>,
) -> TenancyLayout {
    let shared = catalog.shared_schema.as_str();
    let holds = |schema: &str, table: &str| catalog.table(schema, table).is_some();
    // `table` beside the orders of every tenant read (some hold it; one
    // the sample did not read holds neither).
    let orders = model.orders.table.clone();
    let in_every_tenant = |table: &str| {
        tenants
            .iter()
            .all(|s| holds(s, table) || !holds(s, &orders))
            && tenants.iter().any(|s| holds(s, table))
    };
    let link = best
        .filter(|(_, c, _)| c.users_column.is_none())
        .and_then(|(_, c, _)| catalog.user_links(&c.table, &c.key).into_iter().next());
    let mut kind = kind;
    if let Some(link) = &link {
        model.users.at = UsersAt::Link;
        model.users.table = link.users_table.clone();
        model.users.link = LinkModel {
            table: Some(link.table.clone()),
            user: Some(link.user_column.clone()),
            tenant: Some(link.tenant_column.clone()),
        };
        shared_user_columns(catalog.table(shared, &link.users_table), &mut model.users);
        // The link names the tenant: no column of the users table does.
        model.users.tenant_column = String::new();
        if kind == TenancyLayout::DjangoTenants {
            kind = TenancyLayout::DjangoTenantUsers;
        }
        reasons.push(format!(
            "users: {shared}.{}, linked to tenants by {}({}, {})",
            link.users_table, link.table, link.user_column, link.tenant_column
        ));
    }
    match best
        .and_then(|(_, c, _)| c.users_column.clone())
        .filter(|_| link.is_none())
    {
        Some(column) => {
            model.users.at = UsersAt::Shared;
            model.users.table = "users".into();
            model.users.tenant_column = column.clone();
            shared_user_columns(catalog.table(shared, "users"), &mut model.users);
            reasons.push(format!("users: {shared}.users, tenant by {column}"));
        }
        None if kind != TenancyLayout::Article && link.is_none() => {
            let per_tenant = TENANT_USERS
                .iter()
                .find(|(table, ..)| in_every_tenant(table));
            if let Some((table, name, mail, created)) = per_tenant {
                model.users.at = UsersAt::PerTenant;
                model.users.table = table.to_string();
                model.users.columns.name = name.to_string();
                model.users.columns.mail = mail.to_string();
                model.users.columns.created = created.to_string();
                // Each tenant's own table: no column names the tenant.
                model.users.tenant_column = String::new();
                reasons.push(format!("users: in every tenant schema, its {table} table"));
            }
        }
        // The article's users table: its own columns, where they differ.
        None if link.is_none() => {
            let table = model.users.table.clone();
            match catalog.table(shared, &table) {
                // No shared users table, one beside every tenant's orders:
                // users in each tenant schema, with that table's columns.
                None if in_every_tenant(&table) => {
                    model.users.at = UsersAt::PerTenant;
                    model.users.tenant_column = String::new();
                    let first = tenants.iter().find_map(|s| catalog.table(s, &table));
                    shared_user_columns(first, &mut model.users);
                    reasons.push(format!("users: in every tenant schema, its {table} table"));
                }
                users => shared_user_columns(users, &mut model.users),
            }
        }
        None => {}
    }
    kind
}

/// The name, mail and creation columns of a shared users table: the
/// model's where the table has it, else the first of its kind the table
/// has. A table lacking one keeps the model's name (connecting then says it
/// is missing), and has no mail or creation key (none is read).
fn shared_user_columns(users: Option<&CatalogTable>, model: &mut UsersModel) {
    // No such table: nothing is known of its columns, the defaults stand.
    let Some(users) = users else { return };
    let has = |column: &str| users.columns.iter().any(|c| c == column);
    let pick = |current: &str, wanted: &[&str]| {
        let first = wanted.iter().find(|w| has(w)).map(|w| w.to_string());
        Some(current.to_string()).filter(|c| has(c)).or(first)
    };
    let columns = &mut model.columns;
    if let Some(name) = pick(&columns.name, &USER_NAME_COLUMNS) {
        columns.name = name;
    }
    columns.mail = pick(&columns.mail, &USER_MAIL_COLUMNS).unwrap_or_default();
    columns.created = pick(&columns.created, &USER_CREATED_COLUMNS).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, table: &str, columns: &[&str]) -> CatalogTable {
        CatalogTable {
            schema: schema.into(),
            table: table.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            text_columns: Vec::new(),
        }
    }

    /// Each of name, mail and creation is a column the users table has
    /// (linked users were named by `email` and dated by nothing else; the
    /// article's layout kept its own names for a table without them).
    #[test]
    fn shared_users_columns_are_the_tables_own() {
        let picked = |columns: &[&str]| {
            let mut model = TenancyModel::default().users;
            shared_user_columns(Some(&table("public", "users", columns)), &mut model);
            let c = model.columns;
            (c.name, c.mail, c.created)
        };
        let strings = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(picked(&["id", "mail"]), strings("mail", "mail", ""));
        assert_eq!(
            picked(&["id", "username", "email", "date_joined"]),
            strings("username", "email", "date_joined")
        );
        assert_eq!(
            picked(&["id", "full_name", "mail", "created_at"]),
            strings("full_name", "mail", "created_at")
        );
        assert_eq!(picked(&["id"]), strings("name", "", ""));
        let address = ["id", "name", "email_address"];
        assert_eq!(picked(&address), strings("name", "email_address", ""));
        // The article layout's own columns; the model's own column wins
        // where the table has several of a kind.
        let demo = ["id", "name", "mail", "password", "creation_timestamp"];
        assert_eq!(picked(&demo), strings("name", "mail", "creation_timestamp"));
        let both = [
            "id",
            "name",
            "email",
            "mail",
            "created_at",
            "creation_timestamp",
        ];
        assert_eq!(picked(&both), strings("name", "mail", "creation_timestamp"));
    }

    /// Tenant schemas `a` and `b` with items and orders (and `extra` in
    /// each), beside `shared` tables in `public`.
    fn tenants_a_and_b(shared: Vec<CatalogTable>, extra: Option<(&str, &[&str])>) -> Catalog {
        let mut tables = shared;
        for schema in ["a", "b"] {
            tables.push(table(schema, "items", &["id", "description", "price"]));
            let orders = ["id", "user_id", "item_id", "quantity"];
            tables.push(table(schema, "orders", &orders));
            if let Some((name, columns)) = extra {
                tables.push(table(schema, name, columns));
            }
        }
        Catalog {
            shared_schema: "public".into(),
            tables,
            schemas: vec!["a".into(), "b".into(), "public".into()],
            ..Catalog::default()
        }
    }

    /// No users table anywhere: `detect` says so (it answered the
    /// article layout in silence, and every command then failed).
    #[test]
    fn no_users_table_is_said() {
        let catalog = tenants_a_and_b(Vec::new(), None);
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert!(
            detection
                .reasons
                .iter()
                .any(|r| r.contains("no users table found (public.users does not exist)")),
            "{:?}",
            detection.reasons
        );
        // Nothing is known of its columns: the defaults stand, so that
        // `users = "per_tenant"` set by hand reads each tenant's `mail`
        // (an absent table read as one lacking them: no mail shown).
        let columns = &detection.model.users.columns;
        assert_eq!(columns, &TenancyModel::default().users.columns);
    }

    /// No shared users table and a `users` table in every tenant schema:
    /// users live in each (with that table's columns), said so; it was
    /// "no users table found", and `users = "per_tenant"` set by hand
    /// read no mail from an `email` column.
    #[test]
    fn a_users_table_in_every_tenant_is_per_tenant_users() {
        let users = ("users", &["id", "name", "email", "created_at"][..]);
        let catalog = tenants_a_and_b(Vec::new(), Some(users));
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert_eq!(detection.kind, TenancyLayout::Article);
        let model = &detection.model.users;
        assert_eq!(model.at, UsersAt::PerTenant);
        assert_eq!(
            (model.columns.mail.as_str(), model.columns.created.as_str()),
            ("email", "created_at")
        );
        assert!(
            detection
                .reasons
                .iter()
                .any(|r| r == "users: in every tenant schema, its users table"),
            "{:?}",
            detection.reasons
        );
    }

    #[test]
    fn two_price_like_tables_are_a_guess_named_on_stderr() {
        let users = table("public", "users", &["id", "name", "organization_id"]);
        let products = ("products", &["id", "name", "unit_price"][..]);
        let catalog = tenants_a_and_b(vec![users], Some(products));
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert_eq!(detection.kind, TenancyLayout::Article);
        // The default, but for the mail and creation columns this users
        // table lacks.
        let mut article = TenancyModel::default();
        article.users.columns.mail = String::new();
        article.users.columns.created = String::new();
        assert_eq!(detection.model, article);
        assert_eq!(detection.tenants, ["a", "b"]);
        assert!(
            detection.guesses.iter().any(|g| g.contains("products")),
            "{:?}",
            detection.guesses
        );
    }

    /// An orders-like table in one tenant (`cart_lines`, named before
    /// `orders`) does not play orders: the one most tenants hold does. It
    /// was taken, every real tenant read as incomplete and `orders` failed.
    #[test]
    fn the_orders_table_is_the_one_most_tenants_hold() {
        let users = table("public", "users", &["id", "name", "organization_id"]);
        let mut catalog = tenants_a_and_b(vec![users], None);
        let lookalike = ["user_id", "item_id", "quantity"];
        catalog.tables.push(table("b", "cart_lines", &lookalike));
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert_eq!(detection.model.orders.table, "orders");
        assert_eq!(detection.tenants, ["a", "b"]);
        // Beside `orders` in every tenant: a tie, which the usual name
        // wins, and which `detect` names (it took `cart_lines`, unsaid).
        let users = table("public", "users", &["id", "name", "organization_id"]);
        let catalog = tenants_a_and_b(vec![users], Some(("cart_lines", &lookalike)));
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert_eq!(detection.model.orders.table, "orders");
        let guess = "orders: chose orders; other order-like tables: cart_lines";
        assert!(
            detection.guesses.contains(&guess.to_string()),
            "{:?}",
            detection.guesses
        );
        // Alone in every tenant, it is the orders table.
        let mut catalog = tenants_a_and_b(Vec::new(), Some(("cart_lines", &lookalike)));
        catalog.tables.retain(|t| t.table != "orders");
        let detection = classify(&catalog, &catalog.registry_candidates(), &[]);
        assert_eq!(detection.model.orders.table, "cart_lines");
    }

    #[test]
    fn names_needing_quotes_are_quoted() {
        assert_eq!(quote("subdomain"), "subdomain");
        assert_eq!(quote("Sub Domain"), "\"Sub Domain\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
