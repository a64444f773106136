//! The catalog queries behind detection (a constant number, whatever the
//! number of schemas), and its explanation for people.

use sqlx::PgConnection;

use super::detect::{classify, Catalog, CatalogTable, Detection, ForeignKey, RegistryCandidate};

/// Row of the schema query: (schemas, Citus present, foreign keys as four
/// columns: table, column, referenced table, referenced column).
/// Names travel as their bytes (a SQL_ASCII database may hold any): a
/// name that is not UTF-8 cannot be named back to the server, so it is left
/// out (see [`utf8`]).
type SchemasRow = (
    Vec<Vec<u8>>,
    bool,
    Vec<Vec<u8>>,
    Vec<Vec<u8>>,
    Vec<Vec<u8>>,
    Vec<Vec<u8>>,
);

/// Row of the table query: (schema, table, columns, text columns).
type TableRow = (Vec<u8>, Vec<u8>, Vec<Vec<u8>>, Vec<Vec<u8>>);

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
    let rows: Vec<TableRow> = sqlx::query_as(
        "SELECT convert_to(n.nspname::text, 'SQL_ASCII'), convert_to(c.relname::text, 'SQL_ASCII'),
                array_agg(convert_to(a.attname::text, 'SQL_ASCII') ORDER BY a.attnum),
                coalesce(array_agg(convert_to(a.attname::text, 'SQL_ASCII') ORDER BY a.attnum)
                           FILTER (WHERE t.typcategory = 'S'), '{}'::bytea[])
           FROM pg_catalog.pg_namespace n
           JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                                     AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                                         AND NOT a.attisdropped
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
          GROUP BY 1, 2",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    let (schemas, citus, fk_table, fk_column, fk_ref_table, fk_ref_column): SchemasRow = sqlx::query_as(
        "WITH fk AS (
             SELECT convert_to(cl.relname::text, 'SQL_ASCII') AS t,
                    convert_to(a.attname::text, 'SQL_ASCII') AS c,
                    convert_to(rc.relname::text, 'SQL_ASCII') AS rt,
                    convert_to(ra.attname::text, 'SQL_ASCII') AS rcol
               FROM pg_catalog.pg_constraint k
               JOIN pg_catalog.pg_class cl ON cl.oid = k.conrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
               JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid AND rc.relnamespace = n.oid
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
               JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
              WHERE k.contype = 'f' AND n.nspname = $1 AND cardinality(k.conkey) = 1)
         SELECT ARRAY(SELECT convert_to(n.nspname::text, 'SQL_ASCII')
                        FROM pg_catalog.pg_namespace n
                       WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                       ORDER BY 1),
                to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL,
                ARRAY(SELECT t FROM fk), ARRAY(SELECT c FROM fk),
                ARRAY(SELECT rt FROM fk), ARRAY(SELECT rcol FROM fk)",
    )
    .bind(shared_schema)
    .persistent(false)
    .fetch_one(&mut *conn)
    .await?;
    let citus_schemas = if citus {
        // Only on Citus: the table does not exist elsewhere (not tested here).
        Some(
            sqlx::query_scalar(
                "SELECT s.nspname::text FROM pg_catalog.pg_dist_schema d
                   JOIN pg_catalog.pg_namespace s ON s.oid = d.schemaid ORDER BY 1",
            )
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?,
        )
    } else {
        None
    };
    let catalog = Catalog {
        shared_schema: shared_schema.to_string(),
        tables: rows
            .into_iter()
            .filter_map(|(schema, table, columns, text_columns)| {
                Some(CatalogTable {
                    schema: utf8(schema)?,
                    table: utf8(table)?,
                    columns: utf8_all(columns),
                    text_columns: utf8_all(text_columns),
                })
            })
            .collect(),
        schemas: utf8_all(schemas),
        foreign_keys: fk_table
            .into_iter()
            .zip(fk_column)
            .zip(fk_ref_table.into_iter().zip(fk_ref_column))
            .filter_map(|((table, column), (ref_table, ref_column))| {
                Some(ForeignKey {
                    table: utf8(table)?,
                    column: utf8(column)?,
                    ref_table: utf8(ref_table)?,
                    ref_column: utf8(ref_column)?,
                })
            })
            .collect(),
        citus_schemas,
    };
    let candidates = catalog.registry_candidates();
    let values = registry_values(conn, shared_schema, &candidates).await?;
    Ok(classify(&catalog, &candidates, &values))
}

/// The schema names every candidate lists, in one statement. Table names
/// are quoted by the server; the expressions are ours (see
/// [`Catalog::registry_candidates`]).
async fn registry_values(
    conn: &mut PgConnection,
    shared_schema: &str,
    candidates: &[RegistryCandidate],
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let quoted: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident($1) || '.' || quote_ident(x) FROM unnest($2::text[]) WITH ORDINALITY AS t(x, o) ORDER BY o",
    )
    .bind(shared_schema)
    .bind(candidates.iter().map(|c| c.table.clone()).collect::<Vec<_>>())
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    let sql = candidates
        .iter()
        .zip(&quoted)
        .enumerate()
        .map(|(i, (c, table))| {
            format!(
                "SELECT {i}::int4, convert_to(({expr})::text, 'SQL_ASCII') FROM {table}",
                expr = c.schema_expr
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
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
