//! The tenancy model (where tenants, users, items and orders live) and its
//! detection from the catalog.

mod cache;
mod candidates;
mod catalog_read;
mod checks;
mod connect;
pub mod detect;
mod directory;
mod lookup;

pub use crate::model::guard;
pub use crate::model::Names;

pub use crate::model::{
    ItemsModel, LinkModel, OrdersModel, RegistryModel, SchemasModel, TenancyModel, UserColumns,
    UsersAt, UsersModel,
};
pub use cache::cache_dir;
pub use catalog_read::detect;
pub use checks::{
    FrameworkChecks, LedgerCheck, LedgerDrift, LedgerStatus, RegistryCheck, RegistrySchemas,
    LEDGER_BATCH,
};
pub(crate) use connect::TenantBranch;
pub use detect::{Detection, TenancyLayout};
pub use directory::{
    search_key, SchemaState, SearchBatch, TenantEntry, SEARCH_BATCH, SEARCH_PER_TENANT,
    SEARCH_WIDE_BATCH,
};

use crate::db::{sql, Database, DbError};

/// The registry's names as the server quotes them, for SQL text.
pub(super) struct QuotedRegistry {
    /// `shared_schema.registry_table`.
    pub table: String,
    /// The key column (`id` when the model names none).
    pub key: String,
    /// The label column (the key when the model names none).
    pub label: String,
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
        let model = &self.tables.model;
        let registry = &model.schemas.registry;
        let key = registry.key.as_deref().unwrap_or("id");
        let label = registry.label.as_deref().unwrap_or(key);
        let expr = guard::SchemaExpr::parse(registry.schema.as_deref().unwrap_or(key))
            .map_err(|why| DbError::Setting(format!("tenancy.registry_schema: {why}")))?;
        type Row = (String, bool, Vec<String>, Vec<String>);
        let (table_q, found, columns, readable): Row = sqlx::query_as(concat!(
            "SELECT quote_ident($1) || '.' || quote_ident($2),
                    EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2
                               AND c.relkind IN ",
            crate::model::table_kinds!(),
            "),
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
        ))
        .bind(&model.schemas.shared)
        .bind(table)
        .persistent(self.persistent())
        .fetch_one(tx)
        .await
        .map_err(|e| self.error(e))?;
        let shown = format!("{}.{table}", model.schemas.shared);
        if !found {
            return Err(DbError::SharedTable(format!(
                "registry table {} not found (see tenancy.shared_schema and tenancy.registry_table)",
                crate::text::quoted(&shown)
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
            schema: expr.to_sql(),
        })
    }
}
