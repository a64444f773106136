//! The tenancy model (where tenants, users, items and orders live) and its
//! detection from the catalog.

mod candidates;
mod catalog_read;
mod checks;
mod connect;
pub mod detect;
mod directory;
pub mod guard;
mod lookup;
mod model;

pub use catalog_read::detect;
pub use checks::{
    FrameworkChecks, LedgerCheck, LedgerDrift, LedgerStatus, RegistryCheck, LEDGER_BATCH,
};
pub(crate) use connect::TenantBranch;
pub use detect::{Detection, LayoutKind};
pub use directory::{SearchBatch, TenantEntry, SEARCH_BATCH, SEARCH_PER_TENANT};
pub use model::{
    ItemsModel, LinkModel, OrdersModel, RegistryModel, SchemasModel, TenancyModel, UserColumns,
    UsersAt, UsersModel,
};

use crate::db::{sql, Database, DbError};

/// The model's table and column names as the server quotes them, resolved
/// once at connect time: identifiers for SQL text (`"shop_item"`), literals
/// for catalog lookups by name (`'shop_item'`).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub items: String,
    pub items_lit: String,
    pub item_id: String,
    pub item_label: String,
    pub item_price: String,
    pub orders: String,
    pub orders_lit: String,
    pub order_user: String,
    pub order_item: String,
    pub order_quantity: String,
    pub user_id: String,
    pub user_name: String,
    pub user_mail: String,
    pub user_created: String,
    /// Extra SQL condition on `pg_namespace n` (starting with AND): the
    /// schema is registered and not ignored. Empty without a registry.
    pub tenant_filter: String,
}

impl Names {
    /// The names to quote, in the order [`Names::from_quoted`] reads them
    /// (both read the model's one list of keys).
    pub fn raw(model: &TenancyModel) -> Vec<String> {
        model
            .quoted_names()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// From the server's `quote_ident` and `quote_literal` of
    /// [`Names::raw`] of `model`.
    pub fn from_quoted(model: &TenancyModel, idents: &[String], literals: &[String]) -> Names {
        let mut names = Names::default();
        for (i, (_, slot)) in model.quoted_names().into_iter().enumerate() {
            let (ident, literal) = slot(&mut names);
            *ident = idents.get(i).cloned().unwrap_or_default();
            if let Some(literal) = literal {
                *literal = literals.get(i).cloned().unwrap_or_default();
            }
        }
        names
    }

    /// SQL condition on `pg_namespace n`: the schema holds both the items
    /// and the orders table.
    pub fn has_tenant_tables(&self) -> String {
        format!(
            "EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                      WHERE c.relnamespace = n.oid AND c.relname = {items}
                        AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
             AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                      WHERE c.relnamespace = n.oid AND c.relname = {orders}
                        AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
             {filter}",
            items = self.items_lit,
            orders = self.orders_lit,
            filter = self.tenant_filter,
        )
    }
}

impl Names {
    /// SQL condition on `pg_namespace n`: the schema holds the items or the
    /// orders table (a half-deleted tenant holds only some), within the filter.
    pub fn has_any_tenant_table(&self) -> String {
        format!(
            "EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                      WHERE c.relnamespace = n.oid AND c.relname IN ({items}, {orders})
                        AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
             {filter}",
            items = self.items_lit,
            orders = self.orders_lit,
            filter = self.tenant_filter,
        )
    }
}

/// The registry's names as the server quotes them, for SQL text.
pub(super) struct QuotedRegistry {
    /// `shared_schema.registry_table`.
    pub table: String,
    /// The key column (`id` when the model names none).
    pub key: String,
    /// The label column (the key when the model names none).
    pub label: String,
    /// `ignore_schemas` as one `text[]` literal (`'{}'` when empty).
    pub ignored: String,
    /// `registry_schema` as tenantscope writes it (see [`guard::SchemaExpr`]):
    /// never the configured text.
    pub schema: String,
}

impl Database {
    /// The model's registry names (its table is `table`) quoted, in one
    /// statement that also reads the table's columns: every column a key
    /// names (key, label, the schema expression's) must be there, readable
    /// by this role and not a secret, else the setting is refused.
    pub(super) async fn quote_registry(
        &self,
        tx: &mut sqlx::PgConnection,
        table: &str,
    ) -> Result<QuotedRegistry, DbError> {
        let model = &self.layout.model;
        let registry = &model.schemas.registry;
        let key = registry.key.as_deref().unwrap_or("id");
        let label = registry.label.as_deref().unwrap_or(key);
        let expr = guard::SchemaExpr::parse(registry.schema.as_deref().unwrap_or(key))
            .map_err(|why| DbError::Setting(format!("tenancy.registry_schema: {why}")))?;
        type Row = (String, String, bool, Vec<String>, Vec<String>);
        let (table_q, ignored, found, columns, readable): Row = sqlx::query_as(
            "SELECT quote_ident($1) || '.' || quote_ident($2),
                    quote_literal(coalesce($3::text[], '{}')),
                    EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2
                               AND c.relkind IN ('r', 'p', 'v', 'm', 'f')),
                    ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = $2
                             AND a.attnum > 0 AND NOT a.attisdropped),
                    ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = $2
                             AND a.attnum > 0 AND NOT a.attisdropped
                             AND has_column_privilege(c.oid, a.attnum, 'SELECT'))",
        )
        .bind(&model.schemas.shared)
        .bind(table)
        .bind(&model.schemas.ignore)
        .persistent(self.persistent())
        .fetch_one(tx)
        .await
        .map_err(|e| self.error(e))?;
        let shown = format!("{}.{table}", model.schemas.shared);
        if !found {
            return Err(DbError::SharedTable(format!(
                "registry table {:?} not found (see tenancy.shared_schema and tenancy.registry_table)",
                crate::text::sanitize(&shown)
            )));
        }
        let mut named = vec![
            ("tenancy.registry_key", key),
            ("tenancy.registry_label", label),
        ];
        named.extend(
            expr.columns()
                .into_iter()
                .map(|c| ("tenancy.registry_schema", c)),
        );
        for (setting, column) in named {
            if guard::is_secret_column(column) {
                return Err(DbError::Setting(
                    guard::secret_message(setting, column)
                        .trim_start_matches("invalid configuration: ")
                        .to_string(),
                ));
            }
            if !readable.iter().any(|c| c == column) {
                let exists = columns.iter().any(|c| c == column);
                return Err(DbError::Setting(guard::unreadable_message(
                    setting, column, &shown, exists,
                )));
            }
        }
        Ok(QuotedRegistry {
            table: table_q,
            key: sql::quote_ident(key),
            label: sql::quote_ident(label),
            ignored,
            schema: expr.to_sql(),
        })
    }
}
