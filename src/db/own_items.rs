//! The user's own items as an orders read joins them: at most one item per
//! id, so that an order is one line whatever the items table holds.
//!
//! An items table with a primary key or a unique index on its id (every
//! framework's) is joined as it is. One without (a drifted tenant) may
//! hold several rows under one id: it is joined through a relation with
//! one row per id, that counts the different items the id names (rows
//! that differ in price or description; identical copies are one item).
//! A line whose id names more than one is priced by none of them (see
//! [`crate::money::Problem::Ambiguous`]). Which of the two a tenant needs
//! is read from the catalog once per tenant and session (forgotten, like
//! the item rules, when the tenant list is read again).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{exact_text, Database};

/// Whether each tenant's items ids are unique, by tenant schema, as read
/// so far.
#[derive(Debug, Default)]
pub(super) struct UniqueIds(Mutex<HashMap<String, bool>>);

impl UniqueIds {
    fn get(&self, tenant: &str) -> Option<bool> {
        self.0.lock().ok()?.get(tenant).copied()
    }

    fn put(&self, tenant: &str, unique: bool) {
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(tenant.to_string(), unique);
        }
    }

    /// Forgets every answer: the tables may have changed.
    pub(super) fn clear(&self) {
        if let Ok(mut cache) = self.0.lock() {
            cache.clear();
        }
    }
}

/// Whether relation `$1` (qualified, quoted) is there, and whether a
/// unique index guarantees one row per value of its column `$2`: valid,
/// not partial, on that column alone (INCLUDE columns aside), on a table
/// whose rows are all its own (no inheritance children; a partitioned
/// table's unique index covers its partitions).
const UNIQUE_IDS: &str = "SELECT c.oid IS NOT NULL, coalesce(EXISTS (
          SELECT 1 FROM pg_catalog.pg_index x
            JOIN pg_catalog.pg_attribute a
              ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
           WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid
             AND x.indnkeyatts = 1 AND x.indpred IS NULL AND x.indexprs IS NULL
             AND a.attname = $2)
        AND NOT (c.relkind = 'r' AND c.relhassubclass), false)
   FROM (SELECT to_regclass($1) AS oid) r
   LEFT JOIN pg_catalog.pg_class c ON c.oid = r.oid";

/// How an orders read joins the own items (alias `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnItems {
    /// The table itself: its ids are unique.
    Table,
    /// One row per id, with the count of different items it names.
    OnePerId,
}

impl Database {
    /// How the items table of `tenant` (its quoted schema `schema`) is
    /// joined: as it is when a unique index that is valid, not partial
    /// and on the id column alone guarantees one row per id (a primary
    /// key is one; on a table with inheritance children it does not cover
    /// them, a partitioned table's does), else one row per id. A catalog
    /// lookup on `tx` the first time, remembered after; a table that is
    /// not there is not remembered (the read explains it).
    pub(super) async fn own_items(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
        schema: &str,
    ) -> Result<OwnItems, sqlx::Error> {
        let unique = match self.unique_ids.get(tenant) {
            Some(unique) => unique,
            None => {
                let relation = format!("{schema}.{}", self.tables.names.items);
                let (exists, unique): (bool, bool) = sqlx::query_as(UNIQUE_IDS)
                    .bind(&relation)
                    .bind(&self.tables.model.items.id)
                    .persistent(self.persistent())
                    .fetch_one(&mut *tx)
                    .await?;
                if exists {
                    self.unique_ids.put(tenant, unique);
                }
                unique
            }
        };
        Ok(if unique {
            OwnItems::Table
        } else {
            OwnItems::OnePerId
        })
    }

    /// Which of the items rows `alias` under one id stands for it: by the
    /// price's text, then the description, in byte order. The orders read
    /// and the basket's own keys pick the same row by it.
    pub(super) fn standing_order(&self, alias: &str) -> String {
        let n = &self.tables.names;
        format!(
            "({}) COLLATE \"C\", ({alias}.{}::text) COLLATE \"C\"",
            exact_text(&format!("{alias}.{}", n.item_price)),
            n.item_label
        )
    }

    /// The own items of quoted schema `own` as a FROM item (to be aliased
    /// `i`), and SQL over `i` for the number of different items the line's
    /// id names where that is more than one (else NULL).
    ///
    /// One row per id: the rows that differ in price (its text, as read)
    /// or description are kept once each (DISTINCT ON), counted per id (a
    /// window, evaluated before the outer DISTINCT ON), and the first of
    /// them in (price, description) order stands for the id. No row place
    /// (`ctid`) is used, so an items view works too; the relation names
    /// one schema, as each part of the orders query does (Citus).
    pub(super) fn own_items_sql(&self, own: &str, how: OwnItems) -> (String, String) {
        let n = &self.tables.names;
        match how {
            OwnItems::Table => (format!("{own}.{}", n.items), "NULL::int8".to_string()),
            OwnItems::OnePerId => {
                let id = |alias: &str| format!("{alias}.{}::text", n.item_id);
                (
                    format!(
                        "(SELECT DISTINCT ON ({vid}) v.*,
                                 count(*) OVER (PARTITION BY {vid}) AS tenantscope_items
                            FROM (SELECT DISTINCT ON ({did}, {d}) d.*
                                    FROM {own}.{items} d
                                   WHERE d.{item_id} IS NOT NULL
                                   ORDER BY {did}, {d}) v
                           ORDER BY {vid}, {v})",
                        vid = id("v"),
                        did = id("d"),
                        d = self.standing_order("d"),
                        v = self.standing_order("v"),
                        items = n.items,
                        item_id = n.item_id,
                    ),
                    "CASE WHEN i.tenantscope_items > 1 THEN i.tenantscope_items END".to_string(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::orders::{LinesRead, OrdersPlan, OrdersSchemas};
    use crate::db::sql::quote_ident;
    use crate::db::Page;
    use crate::embedded::testing::TestDatabase;

    async fn how(db: &Database, tenant: &str) -> OwnItems {
        let mut tx = db.read_tx().await.unwrap();
        let how = db
            .own_items(&mut tx, tenant, &quote_ident(tenant))
            .await
            .unwrap();
        Database::end_read(tx);
        how
    }

    /// Only an index that guarantees one row per id keeps the plain join:
    /// each table here is `u_<case>.items`; the answer is remembered until
    /// the tenant list is read again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_plain_join_only_where_an_index_keeps_ids_unique() {
        let test_db = TestDatabase::demo().await;
        let cases = [
            (
                "pk",
                "id text PRIMARY KEY, description text, price numeric",
                "",
                true,
            ),
            (
                "constraint",
                "id text UNIQUE, description text, price numeric",
                "",
                true,
            ),
            (
                "include",
                "id int, description text, price numeric",
                "CREATE UNIQUE INDEX ON u_include.items (id) INCLUDE (price)",
                true,
            ),
            (
                "parted",
                "id int PRIMARY KEY, description text, price numeric) PARTITION BY RANGE (id",
                "CREATE TABLE u_parted.low PARTITION OF u_parted.items FOR VALUES FROM (0) TO (10)",
                true,
            ),
            (
                "none",
                "id text, description text, price numeric",
                "",
                false,
            ),
            (
                "plain_index",
                "id text, description text, price numeric",
                "CREATE INDEX ON u_plain_index.items (id)",
                false,
            ),
            (
                "partial",
                "id text, description text, price numeric",
                "CREATE UNIQUE INDEX ON u_partial.items (id) WHERE price > 0",
                false,
            ),
            (
                "pair",
                "id text, description text, price numeric, UNIQUE (id, description)",
                "",
                false,
            ),
            (
                "expression",
                "id text, description text, price numeric",
                "CREATE UNIQUE INDEX ON u_expression.items (lower(id))",
                false,
            ),
            (
                "parent",
                "id text PRIMARY KEY, description text, price numeric",
                "CREATE TABLE u_parent.child () INHERITS (u_parent.items)",
                false,
            ),
        ];
        for (case, columns, extra, _) in cases {
            test_db
                .run_sql(&format!(
                    "CREATE SCHEMA u_{case}; CREATE TABLE u_{case}.items ({columns}); {extra}"
                ))
                .await;
        }
        // A unique index whose build failed on duplicates: left invalid.
        let mut session = test_db
            .session(
                "CREATE SCHEMA u_invalid;
                 CREATE TABLE u_invalid.items (id text, description text, price numeric);
                 INSERT INTO u_invalid.items VALUES ('1', 'a', 1), ('1', 'b', 2);
                 CREATE SCHEMA u_view;
                 CREATE VIEW u_view.items AS SELECT * FROM client1.items;",
            )
            .await;
        let failed = sqlx::raw_sql("CREATE UNIQUE INDEX CONCURRENTLY ON u_invalid.items (id)")
            .execute(&mut session)
            .await;
        assert!(failed.is_err());
        drop(session);
        let db = test_db.connect().await;
        for (case, _, _, unique) in cases {
            let expected = if unique {
                OwnItems::Table
            } else {
                OwnItems::OnePerId
            };
            assert_eq!(how(&db, &format!("u_{case}")).await, expected, "{case}");
        }
        for tenant in ["u_invalid", "u_view", "no_such_schema"] {
            assert_eq!(how(&db, tenant).await, OwnItems::OnePerId, "{tenant}");
        }
        // client1 (text ids) and client3 (integer ids) have primary keys.
        assert_eq!(how(&db, "client3").await, OwnItems::Table);
        assert_eq!(how(&db, "client1").await, OwnItems::Table);

        // The orders query of such a tenant joins the table itself.
        let plan = OrdersPlan {
            user_id: "1".into(),
            tenant: "client1".into(),
            compare: None,
            compare_used: None,
            rule: None,
            compare_error: None,
        };
        let schemas = OrdersSchemas {
            own: "client1".into(),
            compare: None,
            own_items: OwnItems::Table,
        };
        let page = Page::First;
        let sql = db.orders_sql(&schemas, &plan, LinesRead::Page(&page, 100));
        assert!(sql.contains("LEFT JOIN client1.items i ON"), "{sql}");
        assert!(!sql.contains("DISTINCT") && !sql.contains("OVER"), "{sql}");

        // Remembered until the tenant list is read again.
        test_db
            .run_sql("ALTER TABLE client1.items DROP CONSTRAINT items_pkey CASCADE")
            .await;
        assert_eq!(how(&db, "client1").await, OwnItems::Table);
        db.tenants().await.unwrap();
        assert_eq!(how(&db, "client1").await, OwnItems::OnePerId);
        db.close().await;
    }
}
