//! The model's names as the server quotes them, for SQL text.

use super::TenancyModel;

/// The relkinds whose rows a query reads: tables, partitioned tables,
/// views, materialized views and foreign tables (`c.relkind IN …`), as a
/// literal for `concat!`.
macro_rules! table_kinds {
    () => {
        "('r', 'p', 'v', 'm', 'f')"
    };
}
pub(crate) use table_kinds;

/// [`table_kinds!`] for `format!`.
pub const TABLE_KINDS: &str = table_kinds!();

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
    /// schema is registered and not ignored. Empty without a registry and
    /// ignored schemas.
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
        let mut names = Names {
            tenant_filter: model.schemas.ignored_condition(),
            ..Names::default()
        };
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
                        AND c.relkind IN {TABLE_KINDS})
             AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                      WHERE c.relnamespace = n.oid AND c.relname = {orders}
                        AND c.relkind IN {TABLE_KINDS})
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
                        AND c.relkind IN {TABLE_KINDS})
             {filter}",
            items = self.items_lit,
            orders = self.orders_lit,
            filter = self.tenant_filter,
        )
    }
}
