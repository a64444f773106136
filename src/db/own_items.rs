//! The items tables as an orders read joins them: at most one item per
//! id, so that an order is one line whatever the items table holds, and
//! only the columns a table has.
//!
//! An items table with a primary key or a unique index on its id (every
//! framework's) is joined as it is. One without (a drifted tenant) may
//! hold several rows under one id: it is joined through a relation with
//! one row per id, that counts the different items the id names (rows
//! that differ in price or description; identical copies are one item).
//! A line whose id names more than one is priced by none of them (see
//! [`crate::money::Problem::Ambiguous`]). Which of the two a tenant needs,
//! and which of the id, description and price columns its table lacks,
//! is read from the catalog in one statement once per tenant and session
//! (forgotten, like the item rules, when the tenant list is read again).
//! The same statement says whether the tenant's orders table has an `id`
//! column (see [`OrderIds`]): a drifted tenant's may have none.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{exact_text, Database};

/// What the catalog says of one tenant's items table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemsTable {
    /// Of the id, description and price columns (as configured), those
    /// the table lacks, in that order.
    pub lacks: Vec<String>,
    /// A unique index guarantees one row per id (see [`ITEMS_TABLE`]).
    pub unique_ids: bool,
    /// Whether the tenant's orders table has an `id` column.
    pub order_ids: OrderIds,
}

/// [`ItemsTable`] by tenant schema, as read so far.
#[derive(Debug, Default)]
pub(super) struct ItemsTables(Mutex<HashMap<String, ItemsTable>>);

impl ItemsTables {
    pub(super) fn get(&self, tenant: &str) -> Option<ItemsTable> {
        self.0.lock().ok()?.get(tenant).cloned()
    }

    fn put(&self, tenant: &str, table: &ItemsTable) {
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(tenant.to_string(), table.clone());
        }
    }

    /// Forgets every answer: the tables may have changed.
    pub(super) fn clear(&self) {
        if let Ok(mut cache) = self.0.lock() {
            cache.clear();
        }
    }
}

/// Of the relation `$2` in schema `$1` (no row where there is none): which
/// of the columns `$3` it lacks, and whether a unique index guarantees one
/// row per value of its column `$4`: valid, not partial, on that column
/// alone (INCLUDE columns aside), on a table whose rows are all its own
/// (no inheritance children; a partitioned table's unique index covers
/// its partitions). Then, of the relation `$5` (the orders) in the same
/// schema, whether it has an `id` column and whether its rows have places
/// (`ctid`: not a view); both NULL where there is no such relation. The
/// catalog only: no privilege on the tables needed.
const ITEMS_TABLE: &str = concat!(
    "SELECT array(SELECT w FROM unnest($3::text[]) WITH ORDINALITY AS u(w, k)
                WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attname = w
                                     AND a.attnum > 0 AND NOT a.attisdropped)
                ORDER BY k),
          EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                    JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid
                     AND x.indnkeyatts = 1 AND x.indpred IS NULL AND x.indexprs IS NULL
                     AND a.attname = $4)
            AND NOT (c.relkind = 'r' AND c.relhassubclass),
          o.ids, o.places
     FROM pg_catalog.pg_class c
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (
          SELECT bool_or(a.attname = 'id' AND a.attnum > 0) AS ids,
                 bool_or(a.attname = 'ctid' AND a.attnum < 0) AS places
            FROM pg_catalog.pg_class r
            JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND NOT a.attisdropped
           WHERE r.relnamespace = n.oid AND r.relname = $5 AND r.relkind IN ",
    crate::model::table_kinds!(),
    ") o
    WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ",
    crate::model::table_kinds!()
);

/// A row of [`ITEMS_TABLE`]: the columns lacked, unique ids, and of the
/// orders, an `id` column and row places (NULL: no orders relation).
type ItemsTableRow = (Vec<String>, bool, Option<bool>, Option<bool>);

/// How an orders read joins the own items (alias `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnItems {
    /// The table itself: its ids are unique.
    Table,
    /// One row per id, with the count of different items it names.
    OnePerId,
}

impl OwnItems {
    /// As `table` (what the catalog says, if there is one) needs.
    fn of(table: Option<&ItemsTable>) -> OwnItems {
        match table.is_some_and(|t| t.unique_ids) {
            true => OwnItems::Table,
            false => OwnItems::OnePerId,
        }
    }
}

/// Whether a tenant's orders table has an `id` column, as the catalog says
/// (see [`ITEMS_TABLE`]). Without one (a drifted tenant:
/// `orders(user_id, item_id, quantity)`, or a composite primary key), an
/// orders read gives each line a NULL id (`NULL AS id`): the lines are
/// keyed and ordered by their row place alone (see
/// [`super::orders_window::Keyset`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderIds {
    /// The table's `id` column (also where the catalog did not say: a
    /// missing table is explained by the read that names it).
    Column { row_places: bool },
    /// No `id` column.
    Absent { row_places: bool },
}

impl OrderIds {
    /// Where the catalog did not say: an `id` column and row places (a
    /// missing relation fails the read, which explains it).
    pub(super) const UNKNOWN: OrderIds = OrderIds::Column { row_places: true };

    /// Whether the relation's rows have places (`tableoid`, `ctid`: a
    /// table, not a view).
    pub(super) fn row_places(self) -> bool {
        match self {
            OrderIds::Column { row_places } | OrderIds::Absent { row_places } => row_places,
        }
    }
}

impl Database {
    /// What the catalog says of `tenant`'s items table (and of its orders'
    /// ids, [`OrderIds`]): a lookup on `tx`
    /// the first time, remembered after; `None` where there is no such
    /// table (not remembered: the read explains it).
    pub(super) async fn items_table(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
    ) -> Result<Option<ItemsTable>, sqlx::Error> {
        if let Some(known) = self.items_tables.get(tenant) {
            return Ok(Some(known));
        }
        let items = &self.tables.model.items;
        let wanted = [&items.id, &items.label, &items.price];
        let row: Option<ItemsTableRow> = sqlx::query_as(ITEMS_TABLE)
            .bind(tenant)
            .bind(&items.table)
            .bind(wanted)
            .bind(&items.id)
            .bind(&self.tables.model.orders.table)
            .persistent(self.persistent())
            .fetch_optional(&mut *tx)
            .await?;
        let table = row.map(|(lacks, unique_ids, ids, places)| ItemsTable {
            lacks,
            unique_ids,
            order_ids: match (ids, places) {
                (Some(false), places) => OrderIds::Absent {
                    row_places: places.unwrap_or(false),
                },
                (Some(true), Some(row_places)) => OrderIds::Column { row_places },
                _ => OrderIds::UNKNOWN,
            },
        });
        if let Some(table) = &table {
            self.items_tables.put(tenant, table);
        }
        Ok(table)
    }

    /// How the items table of `tenant` is joined: as it is where its ids
    /// are unique ([`ItemsTable::unique_ids`]), else one row per id; and
    /// whether its orders table has ids ([`OrderIds`]). One catalog lookup
    /// ([`Database::items_table`]).
    pub(super) async fn own_tables(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
    ) -> Result<(OwnItems, OrderIds), sqlx::Error> {
        let table = self.items_table(tx, tenant).await?;
        let ids = table.as_ref().map_or(OrderIds::UNKNOWN, |t| t.order_ids);
        Ok((OwnItems::of(table.as_ref()), ids))
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
    use crate::db::Page;
    use crate::embedded::testing::TestDatabase;

    async fn how(db: &Database, tenant: &str) -> OwnItems {
        let mut tx = db.read_tx().await.unwrap();
        let (how, _) = db.own_tables(&mut tx, tenant).await.unwrap();
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
        // The same statement says which columns a table lacks.
        test_db
            .run_sql("CREATE SCHEMA u_noprice; CREATE TABLE u_noprice.items (id text PRIMARY KEY, label text)")
            .await;
        let mut tx = db.read_tx().await.unwrap();
        let table = |lacks: &[&str], unique_ids| {
            Some(ItemsTable {
                lacks: lacks.iter().map(|c| c.to_string()).collect(),
                unique_ids,
                order_ids: OrderIds::UNKNOWN,
            })
        };
        for (tenant, expected) in [
            ("u_noprice", table(&["description", "price"], true)),
            ("u_view", table(&[], false)),
            ("no_such_schema", None),
        ] {
            let found = db.items_table(&mut tx, tenant).await.unwrap();
            assert_eq!(found, expected, "{tenant}");
        }
        Database::end_read(tx);
        // And whether the orders table has an id column (and row places).
        test_db
            .run_sql(
                "CREATE TABLE u_noprice.orders (user_id text, item_id text, quantity int);
                 CREATE VIEW u_view.orders AS SELECT user_id, item_id, quantity FROM client1.orders;
                 CREATE TABLE u_pk.orders (id int, user_id text, item_id text, quantity int);
                 ALTER TABLE u_pk.orders DROP COLUMN id;
                 CREATE TABLE u_none.orders (id int, user_id text, item_id text, quantity int);
                 CREATE SCHEMA u_idview;
                 CREATE TABLE u_idview.items (id text PRIMARY KEY, description text, price numeric);
                 CREATE VIEW u_idview.orders AS SELECT * FROM client1.orders;",
            )
            .await;
        // Read again: the tenant list is.
        db.tenants().await.unwrap();
        let mut tx = db.read_tx().await.unwrap();
        for (tenant, expected) in [
            ("u_noprice", OrderIds::Absent { row_places: true }),
            ("u_view", OrderIds::Absent { row_places: false }),
            ("u_pk", OrderIds::Absent { row_places: true }),
            ("u_none", OrderIds::Column { row_places: true }),
            ("u_idview", OrderIds::Column { row_places: false }),
            // No orders relation: the read will say so.
            ("u_include", OrderIds::UNKNOWN),
        ] {
            let found = db.items_table(&mut tx, tenant).await.unwrap();
            assert_eq!(found.map(|t| t.order_ids), Some(expected), "{tenant}");
        }
        Database::end_read(tx);
        // A table that was not there is looked for again (not remembered).
        test_db
            .run_sql("CREATE SCHEMA no_such_schema; CREATE TABLE no_such_schema.items (id text)")
            .await;
        let mut tx = db.read_tx().await.unwrap();
        let found = db.items_table(&mut tx, "no_such_schema").await.unwrap();
        assert_eq!(found, table(&["description", "price"], false));
        Database::end_read(tx);

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
            order_ids: OrderIds::UNKNOWN,
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
