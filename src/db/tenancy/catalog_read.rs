//! The catalog queries behind detection (a constant number, whatever the
//! number of schemas), and its explanation for people.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::detect::{classify, Catalog, CatalogTable, Detection, ForeignKey, RegistryCandidate};

/// Row of the catalog query: (schema, table (`None` for a schema holding
/// none), columns; then for the shared schema's tables only: the columns'
/// numbers, the text columns, single-column foreign keys flattened in
/// threes (column number, referenced table's oid, referenced column
/// number), the table's oid and its name quoted by the server; then
/// whether Citus's `pg_dist_schema` exists).
/// Names travel as their bytes (a SQL_ASCII database may hold any): a
/// name that is not UTF-8 cannot be named back to the server, so it is left
/// out (see [`utf8`]).
type CatalogRow = (
    Vec<u8>,
    Option<Vec<u8>>,
    Vec<Vec<u8>>,
    Option<Vec<i16>>,
    Option<Vec<Vec<u8>>>,
    Option<Vec<i64>>,
    Option<i64>,
    Option<Vec<u8>>,
    bool,
);

/// The whole catalog detection reads, in one statement. A fresh backend
/// pays most for planning and for its first touch of each catalog page, so:
/// one plan; columns through `pg_attribute`'s (attrelid, attnum) index per
/// table rather than a scan and sort of all of it; what only the shared
/// schema needs computed only there, its foreign keys from
/// `pg_constraint` alone (named from the columns read here, not by joins).
const CATALOG_SQL: &str = concat!(
    "
SELECT convert_to(n.nspname::text, 'SQL_ASCII'), convert_to(c.relname::text, 'SQL_ASCII'),
       ARRAY(SELECT convert_to(a.attname::text, 'SQL_ASCII') FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
       CASE WHEN n.nspname = $1 THEN ARRAY(
           SELECT a.attnum FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) END,
       CASE WHEN n.nspname = $1 THEN ARRAY(
           SELECT convert_to(a.attname::text, 'SQL_ASCII') FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              AND (SELECT t.typcategory FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) = 'S'
            ORDER BY a.attnum) END,
       CASE WHEN n.nspname = $1 THEN ARRAY(
           SELECT f.x FROM pg_catalog.pg_constraint k
            CROSS JOIN LATERAL unnest(ARRAY[k.conkey[1]::int8, k.confrelid::int8,
                                            k.confkey[1]::int8]) WITH ORDINALITY AS f(x, o)
            WHERE k.conrelid = c.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1
            ORDER BY k.oid, f.o) END,
       CASE WHEN n.nspname = $1 THEN c.oid::int8 END,
       CASE WHEN n.nspname = $1
            THEN convert_to(quote_ident(n.nspname) || '.' || quote_ident(c.relname), 'SQL_ASCII') END,
       (SELECT to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL)
  FROM pg_catalog.pg_namespace n
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                                 AND c.relkind IN ",
    crate::model::table_kinds!(),
    "
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
);

/// A table of the shared schema as foreign keys name it: its name and its
/// columns by number.
struct Shared {
    table: Option<String>,
    columns: HashMap<i16, Option<String>>,
}

/// A name, if it is UTF-8.
fn utf8(bytes: Vec<u8>) -> Option<String> {
    String::from_utf8(bytes).ok()
}

/// The UTF-8 names of a list, in order.
fn utf8_all(list: Vec<Vec<u8>>) -> Vec<String> {
    list.into_iter().filter_map(utf8).collect()
}

/// Reads the catalog and classifies it (see the module comment for the
/// queries). `conn` should be in a read-only transaction.
pub async fn detect(
    conn: &mut PgConnection,
    shared_schema: &str,
) -> Result<Detection, sqlx::Error> {
    let mut rows: Vec<CatalogRow> = sqlx::query_as(CATALOG_SQL)
        .bind(shared_schema)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    // By name, as bytes: candidates (and so ties between them) come in a
    // stable order.
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let citus = rows.first().is_some_and(|row| row.8);
    let mut schemas: Vec<Vec<u8>> = rows.iter().map(|row| row.0.clone()).collect();
    schemas.dedup();
    // The shared schema's tables by oid, to name foreign keys.
    let shared: HashMap<i64, Shared> = rows
        .iter()
        .filter_map(|row| {
            let numbers = row.3.as_ref()?;
            let columns = numbers
                .iter()
                .zip(&row.2)
                .map(|(n, name)| (*n, utf8(name.clone())))
                .collect();
            let table = row.1.clone().and_then(utf8);
            Some((row.6?, Shared { table, columns }))
        })
        .collect();
    let mut tables = Vec::new();
    let mut foreign_keys = Vec::new();
    let mut quoted = HashMap::new();
    for (schema, table, columns, _, text_columns, keys, oid, quoted_name, _) in rows {
        let (Some(schema), Some(table)) = (utf8(schema), table.and_then(utf8)) else {
            continue;
        };
        let own = oid.and_then(|oid| shared.get(&oid));
        for key in keys.unwrap_or_default().chunks_exact(3) {
            let name = |table: Option<&Shared>, number: i64| {
                let number = i16::try_from(number).ok()?;
                table?.columns.get(&number)?.clone()
            };
            let to = shared.get(&key[1]);
            if let (Some(column), Some(ref_table), Some(ref_column)) = (
                name(own, key[0]),
                to.and_then(|t| t.table.clone()),
                name(to, key[2]),
            ) {
                foreign_keys.push(ForeignKey {
                    table: table.clone(),
                    column,
                    ref_table,
                    ref_column,
                });
            }
        }
        if let Some(name) = quoted_name.and_then(utf8) {
            quoted.insert(table.clone(), name);
        }
        tables.push(CatalogTable {
            schema,
            table,
            columns: utf8_all(columns),
            text_columns: utf8_all(text_columns.unwrap_or_default()),
        });
    }
    let (citus_schemas, citus_nodes) = if citus {
        // Only on Citus: the tables do not exist elsewhere (tests/citus.rs).
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT s.nspname::text, ({node})
               FROM pg_catalog.pg_dist_schema d
               JOIN pg_catalog.pg_namespace s ON s.oid = d.schemaid ORDER BY 1",
            node = crate::db::catalog::NODE_OF_SCHEMA.replace("s.nsp", "s.oid"),
        ))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
        let nodes = rows
            .iter()
            .filter_map(|(schema, node)| Some((schema.clone(), node.clone()?)))
            .collect();
        (
            Some(rows.into_iter().map(|(schema, _)| schema).collect()),
            nodes,
        )
    } else {
        (None, Vec::new())
    };
    let catalog = Catalog {
        shared_schema: shared_schema.to_string(),
        tables,
        schemas: utf8_all(schemas),
        foreign_keys,
        citus_schemas,
        citus_nodes,
        index: Default::default(),
    };
    let candidates = catalog.registry_candidates();
    let values = registry_values(conn, &quoted, &candidates).await?;
    Ok(classify(&catalog, &candidates, &values))
}

/// The schema names every candidate lists, in one statement. Table names
/// were quoted by the server (`quoted`, by table of the shared schema); the
/// expressions are ours (see [`Catalog::registry_candidates`]).
async fn registry_values(
    conn: &mut PgConnection,
    quoted: &HashMap<String, String>,
    candidates: &[RegistryCandidate],
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let sql = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            // Every candidate is a table of the shared schema, so quoted.
            let table = quoted.get(&c.table)?;
            Some(format!(
                "SELECT {i}::int4, convert_to(({expr})::text, 'SQL_ASCII') FROM {table}",
                expr = c.schema_expr
            ))
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    if sql.is_empty() {
        return Ok(vec![Vec::new(); candidates.len()]);
    }
    let rows: Vec<(i32, Option<Vec<u8>>)> = sqlx::query_as(&sql)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    let mut values = vec![Vec::new(); candidates.len()];
    for (i, value) in rows {
        if let (Some(list), Some(value)) = (values.get_mut(i as usize), value.and_then(utf8)) {
            list.push(value);
        }
    }
    Ok(values)
}

impl Detection {
    /// What was found and why, for people (stderr of `detect`).
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("{:?}", crate::text::sanitize(n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for reason in &self.reasons {
            out.push_str(&format!("detect: {}\n", crate::text::sanitize(reason)));
        }
        out.push_str(&format!(
            "detect: {} tenant schema(s): {}\n",
            self.tenants.len(),
            list(&self.tenants)
        ));
        if !self.missing_schemas.is_empty() {
            out.push_str(&format!(
                "detect: registered but no schema: {}\n",
                list(&self.missing_schemas)
            ));
        }
        if !self.unregistered_schemas.is_empty() {
            out.push_str(&format!(
                "detect: schema nobody registered: {}\n",
                list(&self.unregistered_schemas)
            ));
        }
        for guess in &self.guesses {
            out.push_str(&format!(
                "detect: guessed: {}\n",
                crate::text::sanitize(guess)
            ));
        }
        out
    }
}

/// For `detect`'s reasons: which Citus node holds which distributed
/// schemas, one line per node (the first names of a long list).
pub(super) fn citus_node_lines(nodes: &[(String, String)]) -> Vec<String> {
    let mut by_node: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (schema, node) in nodes {
        by_node.entry(node).or_default().push(schema);
    }
    by_node
        .into_iter()
        .map(|(node, schemas)| {
            let shown: Vec<String> = schemas
                .iter()
                .take(20)
                .map(|s| format!("{:?}", crate::text::sanitize(s)))
                .collect();
            let more = schemas.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!(
                "citus node {}: {} schema(s): {}{more}",
                crate::text::sanitize(node),
                schemas.len(),
                shown.join(", ")
            )
        })
        .collect()
}
