//! The catalog queries behind detection (a constant number, whatever the
//! number of schemas), and its explanation for people.
//!
//! What detection reads grows with the catalogue only where it must: the
//! schema names (one array), the shared schema's tables in full, the tables
//! and columns of a sample of the other schemas (every one up to
//! `2 × SAMPLE` schemas, else about `SAMPLE` spread by a hash of their oid,
//! and, for each table name, the first schema holding a table of that name:
//! however many empty or unrelated schemas there are, a tenant is read),
//! and, by `pg_class`'s (relname, relnamespace) index, which schemas hold
//! the few tables the sample names (items, orders, per-tenant users,
//! migration ledgers): one statement. A second reads the registry
//! candidates' values where the shared schema has any, and one more runs on
//! Citus; whether each tenant's tables match the sample's is `health`'s to
//! say.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use super::detect::{classify, Catalog, CatalogTable, Detection, ForeignKey, RegistryCandidate};
use crate::text::plural;

/// Schemas read in full beside the shared one: all of them up to twice
/// this, else about this many (and one holding each table name).
pub const SAMPLE: i64 = 24;

/// Row of the catalog query. The first row: the schemas read in full
/// (oids, in the foreign keys' place), the tenant table names it looked up
/// (in the text columns' place), whether Citus's `pg_dist_schema` exists,
/// and every schema (oids, names). A table row: one table of a read
/// schema: (schema oid, table, columns; then for the shared schema's
/// tables only: the columns' numbers, the text columns, single-column
/// foreign keys flattened in threes (column number, referenced table's
/// oid, referenced column number), the table's oid and its name quoted by
/// the server). A holder row: a tenant table name (last) and the oids of
/// the schemas holding a table of that name (in every schema's oids'
/// place).
/// Names travel as their bytes (a SQL_ASCII database may hold any): a
/// name that is not UTF-8 cannot be named back to the server, so it is left
/// out (see [`utf8`]).
type CatalogRow = (
    Option<i64>,
    Option<Vec<u8>>,
    Vec<Vec<u8>>,
    Option<Vec<i16>>,
    Option<Vec<Vec<u8>>>,
    Option<Vec<i64>>,
    Option<i64>,
    Option<Vec<u8>>,
    bool,
    Option<Vec<i64>>,
    Option<Vec<Vec<u8>>>,
    Option<Vec<u8>>,
);

/// The schemas detection sees (`ns`), their tables (`rel`, `pg_class`
/// scanned once, hashed against `ns`: a join sorted 20,000 rows at 10,000
/// schemas) and the sample of them it reads (`read`; `$1` the shared
/// schema, `$2` the sample size), for [`CATALOG_SQL`] and the cache's
/// fingerprint alike: a fingerprint over another sample would miss the
/// changes detection depends on. Beside the schemas picked by hash, the
/// first schema (by oid) holding each table name is read: a hash sample
/// alone could pick only empty or unrelated schemas and miss every tenant
/// (tests/detect_cache.rs); tenants share their table names, so this adds
/// about one schema where tenants are many, and reads more only where
/// the schemas' table names differ.
macro_rules! sampled_schemas {
    () => {
        concat!(
            "
WITH ns AS MATERIALIZED (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'),
rel AS MATERIALIZED (
    SELECT c.oid, c.relnamespace, c.relname, c.relkind FROM pg_catalog.pg_class c
     WHERE c.relkind IN ",
            crate::model::table_kinds!(),
            "
       AND c.relnamespace IN (SELECT ns.oid FROM ns)),
read AS MATERIALIZED (
    SELECT ns.oid FROM ns, (SELECT count(*) AS n FROM ns) t
     WHERE ns.nspname = $1 OR t.n <= 2 * $2
        OR abs(hashoid(ns.oid)::int8) % ceil(t.n / $2::numeric)::int8 = 0
    UNION
    SELECT min(c.relnamespace) FROM rel c
     WHERE c.relnamespace IS DISTINCT FROM (SELECT ns.oid FROM ns WHERE ns.nspname = $1)
     GROUP BY c.relname),
"
        )
    };
}
pub(super) use sampled_schemas;

/// The catalog detection reads, in one statement (see the module
/// comment). `pg_class` is scanned once (it has no index by schema
/// alone): its tables (`rel`, about two per tenant) give both the read
/// schemas' tables and which schemas hold the tenant table names
/// ([`Catalog::tenant_table_names`], computed here from the sample's
/// column lists by the same rule, `$3`..`$7`), hashed by name: looking
/// those up by `pg_class`'s name index fetched a heap row per schema
/// and table name, most of `pg_class`'s pages again (measured at 10,000
/// schemas: 2,600 pages and a sort of 20,000 rows). A catalogue with no
/// registry candidate costs one round trip. Columns through
/// `pg_attribute`'s (attrelid, attnum) index per table read (filtered by
/// `= ANY(array)`, whose small row estimate keeps the plan's cost under
/// `jit_above_cost`: with `IN (subquery)` it was estimated at half the
/// tables and compiled, 165 ms); what only the shared schema needs
/// computed only there, its foreign keys from `pg_constraint` alone
/// (named from the columns read here, not by joins).
const CATALOG_SQL: &str = concat!(
    sampled_schemas!(),
    "shared AS (SELECT ns.oid FROM ns WHERE ns.nspname = $1),
tabs AS MATERIALIZED (
    SELECT c.oid, c.relnamespace, c.relname,
           ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY a.attnum) AS cols
      FROM rel c
     WHERE c.relnamespace = ANY(ARRAY(SELECT read.oid FROM read))),
names AS MATERIALIZED (
    SELECT x.n FROM unnest($3::text[]) AS x(n)
    UNION
    SELECT t.relname::text FROM tabs t, LATERAL (SELECT t.cols::text[] AS c) k
     WHERE t.relnamespace IS DISTINCT FROM (SELECT oid FROM shared)
       AND (('id' = ANY(k.c) AND k.c && $4::text[] AND k.c && $5::text[])
            OR (k.c && $6::text[] AND k.c && $7::text[])))
SELECT NULL::int8, NULL::bytea, '{}'::bytea[], NULL::int2[],
       ARRAY(SELECT convert_to(names.n, 'SQL_ASCII') FROM names),
       ARRAY(SELECT read.oid::int8 FROM read), NULL::int8, NULL::bytea, (SELECT to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL),
       ARRAY(SELECT ns.oid::int8 FROM ns),
       ARRAY(SELECT convert_to(ns.nspname::text, 'SQL_ASCII') FROM ns), NULL::bytea
UNION ALL
SELECT c.relnamespace::int8, convert_to(c.relname::text, 'SQL_ASCII'),
       ARRAY(SELECT convert_to(a.a::text, 'SQL_ASCII')
              FROM unnest(c.cols) WITH ORDINALITY AS a(a, o) ORDER BY a.o),
       CASE WHEN c.relnamespace = (SELECT oid FROM shared) THEN ARRAY(
           SELECT a.attnum FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) END,
       CASE WHEN c.relnamespace = (SELECT oid FROM shared) THEN ARRAY(
           SELECT convert_to(a.attname::text, 'SQL_ASCII') FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              AND (SELECT t.typcategory FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) = 'S'
            ORDER BY a.attnum) END,
       CASE WHEN c.relnamespace = (SELECT oid FROM shared) THEN ARRAY(
           SELECT f.x FROM pg_catalog.pg_constraint k
            CROSS JOIN LATERAL unnest(ARRAY[k.conkey[1]::int8, k.confrelid::int8,
                                            k.confkey[1]::int8]) WITH ORDINALITY AS f(x, o)
            WHERE k.conrelid = c.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1
            ORDER BY k.oid, f.o) END,
       CASE WHEN c.relnamespace = (SELECT oid FROM shared) THEN c.oid::int8 END,
       CASE WHEN c.relnamespace = (SELECT oid FROM shared)
            THEN convert_to(quote_ident($1) || '.' || quote_ident(c.relname), 'SQL_ASCII') END,
       false, NULL, NULL, NULL
  FROM tabs c
UNION ALL
SELECT NULL, NULL, '{}', NULL, NULL, NULL, NULL, NULL, false,
       array_agg(c.relnamespace::int8), NULL, convert_to(c.relname::text, 'SQL_ASCII')
  FROM rel c
 WHERE c.relname IN (SELECT names.n::name FROM names)
 GROUP BY c.relname"
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
    Ok(detect_with_names(conn, shared_schema).await?.0)
}

/// [`detect`], with the tenant table names it looked for in every schema
/// (see [`Catalog::tenant_table_names`]).
pub(super) async fn detect_with_names(
    conn: &mut PgConnection,
    shared_schema: &str,
) -> Result<(Detection, Vec<String>), sqlx::Error> {
    let [always, price, label, quantity, user] = Catalog::tenant_table_rules();
    let mut rows: Vec<CatalogRow> = sqlx::query_as(CATALOG_SQL)
        .bind(shared_schema)
        .bind(SAMPLE)
        .bind(always)
        .bind(price)
        .bind(label)
        .bind(quantity)
        .bind(user)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    // Holder rows (a name last): which schemas hold each tenant table name.
    let mut holders: Vec<(String, Vec<i64>)> = Vec::new();
    rows.retain_mut(|row| match row.11.take() {
        Some(name) => {
            if let Some(name) = utf8(name) {
                holders.push((name, row.9.take().unwrap_or_default()));
            }
            false
        }
        None => true,
    });
    // The first row (a NULL schema oid) lists the schemas.
    let at = rows.iter().position(|row| row.0.is_none());
    let first = at.map(|at| rows.swap_remove(at));
    let citus = first.as_ref().is_some_and(|row| row.8);
    let (read, oids, names, looked_up) = first
        .map(|row| {
            let read = row.5.unwrap_or_default();
            let looked_up = utf8_all(row.4.unwrap_or_default());
            (
                read,
                row.9.unwrap_or_default(),
                row.10.unwrap_or_default(),
                looked_up,
            )
        })
        .unwrap_or_default();
    let sampled = read.len() < oids.len();
    let schema_of: HashMap<i64, Vec<u8>> = oids.into_iter().zip(names).collect();
    // By name, as bytes: candidates (and so ties between them) come in a
    // stable order.
    let mut schemas: Vec<Vec<u8>> = schema_of.values().cloned().collect();
    schemas.sort();
    schemas.dedup();
    let key = |row: &CatalogRow| {
        let schema = row.0.and_then(|oid| schema_of.get(&oid)).cloned();
        (schema, row.1.clone())
    };
    rows.sort_by_cached_key(key);
    let (tables, foreign_keys, quoted) = tables_and_keys(rows, &schema_of);
    let (citus_schemas, citus_nodes) = if citus {
        citus_schemas(conn).await?
    } else {
        (None, Vec::new())
    };
    let mut catalog = Catalog {
        shared_schema: shared_schema.to_string(),
        tables,
        schemas: utf8_all(schemas),
        foreign_keys,
        citus_schemas,
        citus_nodes,
        sampled,
        index: Default::default(),
    };
    let candidates = catalog.registry_candidates();
    let names = catalog.tenant_table_names();
    // The statement above looked the same names up (computed there from
    // the same columns); any it did not (none, unless the two rules part)
    // are looked up with the registry's values. Holders are asked even
    // where every schema was read: as many statements for 3 schemas as
    // for 10,000 (tests/health.rs counts them).
    let looked_up: HashSet<&String> = looked_up.iter().collect();
    let unread: Vec<String> = names
        .iter()
        .filter(|n| !looked_up.contains(n))
        .cloned()
        .collect();
    let (values, more) = registry_values(conn, &quoted, &candidates, &unread).await?;
    holders.extend(more);
    if sampled {
        add_unread_holders(&mut catalog, holders, &schema_of);
    }
    Ok((classify(&catalog, &candidates, &values), names))
}

/// The catalog's rows (sorted) as tables, the foreign keys from them to
/// the shared schema's tables, and the quoted name of each table.
fn tables_and_keys(
    rows: Vec<CatalogRow>,
    schema_of: &HashMap<i64, Vec<u8>>,
) -> (Vec<CatalogTable>, Vec<ForeignKey>, HashMap<String, String>) {
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
    for (oid_ns, table, columns, _, text_columns, keys, oid, quoted_name, ..) in rows {
        let schema = oid_ns.and_then(|oid| schema_of.get(&oid)).cloned();
        let (Some(schema), Some(table)) = (schema.and_then(utf8), table.and_then(utf8)) else {
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
    (tables, foreign_keys, quoted)
}

/// A sampled catalog: the schemas read in full are in `tables` already;
/// the other schemas that hold the tenant tables (`holders`: a table name
/// and its schemas' oids) are added, columns unread. At 10,000 schemas
/// that is 20,000 tables or more: each schema's name is made text once,
/// the pairs already there are told by schema oid (no names copied to
/// ask), and the tables sorted by reference.
fn add_unread_holders(
    catalog: &mut Catalog,
    holders: Vec<(String, Vec<i64>)>,
    schema_of: &HashMap<i64, Vec<u8>>,
) {
    let names: HashMap<i64, &str> = schema_of
        .iter()
        .filter_map(|(oid, name)| Some((*oid, std::str::from_utf8(name).ok()?)))
        .collect();
    let oid_of: HashMap<&str, i64> = names.iter().map(|(oid, name)| (*name, *oid)).collect();
    let mut known: HashSet<(i64, &str)> = catalog
        .tables
        .iter()
        .filter_map(|t| Some((*oid_of.get(t.schema.as_str())?, t.table.as_str())))
        .collect();
    let mut added = Vec::new();
    for (table, oids) in &holders {
        for oid in oids {
            let Some(schema) = names.get(oid) else {
                continue;
            };
            if known.insert((*oid, table.as_str())) {
                added.push(CatalogTable {
                    schema: schema.to_string(),
                    table: table.clone(),
                    columns: Vec::new(),
                    text_columns: Vec::new(),
                });
            }
        }
    }
    catalog.tables.extend(added);
    catalog
        .tables
        .sort_unstable_by(|a, b| (&a.schema, &a.table).cmp(&(&b.schema, &b.table)));
    catalog.index = Default::default();
}

/// Citus's distributed schemas and the node holding each.
async fn citus_schemas(
    conn: &mut PgConnection,
) -> Result<(Option<Vec<String>>, Vec<(String, String)>), sqlx::Error> {
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
    Ok((
        Some(rows.into_iter().map(|(schema, _)| schema).collect()),
        nodes,
    ))
}

/// The schema names every candidate lists, and the schemas (by oid)
/// holding each of `names` (by `pg_class`'s name index), in one
/// statement. Table names were quoted by the server (`quoted`, by table of
/// the shared schema); the expressions are ours (see
/// [`Catalog::registry_candidates`]).
async fn registry_values(
    conn: &mut PgConnection,
    quoted: &HashMap<String, String>,
    candidates: &[RegistryCandidate],
    names: &[String],
) -> Result<(Vec<Vec<String>>, Vec<(String, Vec<i64>)>), sqlx::Error> {
    let mut parts: Vec<String> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            // Every candidate is a table of the shared schema, so quoted.
            let table = quoted.get(&c.table)?;
            Some(format!(
                // An empty name is none (no schema has it).
                "SELECT {i}::int4, convert_to(nullif(({expr})::text, ''), 'SQL_ASCII'), NULL::int8[]
                   FROM {table}",
                expr = c.schema_expr
            ))
        })
        .collect();
    if !names.is_empty() {
        parts.push(format!(
            "SELECT (-array_position($1::text[], c.relname::text))::int4, NULL::bytea,
                    array_agg(c.relnamespace::int8)
               FROM pg_catalog.pg_class c
              WHERE c.relname = ANY($1::text[]::name[]) AND c.relkind IN {}
              GROUP BY c.relname",
            crate::model::table_kinds!()
        ));
    }
    let mut values = vec![Vec::new(); candidates.len()];
    if parts.is_empty() {
        return Ok((values, Vec::new()));
    }
    let sql = parts.join(" UNION ALL ");
    let mut query = sqlx::query_as(&sql).persistent(false);
    if !names.is_empty() {
        query = query.bind(names);
    }
    /// (candidate, or minus the 1-based name; a value; the schemas holding it).
    type ValueRow = (Option<i32>, Option<Vec<u8>>, Option<Vec<i64>>);
    let rows: Vec<ValueRow> = query.fetch_all(&mut *conn).await?;
    let mut holders = Vec::new();
    for (i, value, oids) in rows {
        match (i, oids) {
            (Some(i), Some(oids)) if i < 0 => {
                let name = usize::try_from(-i64::from(i) - 1)
                    .ok()
                    .and_then(|at| names.get(at));
                if let Some(name) = name {
                    holders.push((name.clone(), oids));
                }
            }
            (Some(i), _) => {
                let list = usize::try_from(i).ok().and_then(|i| values.get_mut(i));
                if let (Some(list), Some(value)) = (list, value.and_then(utf8)) {
                    list.push(value);
                }
            }
            _ => {}
        }
    }
    Ok((values, holders))
}

impl Detection {
    /// What was found and why, for people (stderr of `detect`).
    pub fn explain(&self) -> String {
        let mut out = String::new();
        // The first 20 of each list: 4,000 tenants made one line of 40 kB.
        let list = super::lookup::listed;
        for reason in &self.reasons {
            out.push_str(&format!("detect: {}\n", crate::text::sanitize(reason)));
        }
        match self.tenants.as_slice() {
            [] => out.push_str("detect: no tenant schema\n"),
            tenants => out.push_str(&format!(
                "detect: {}: {}\n",
                plural(tenants.len(), "tenant schema", "tenant schemas"),
                list(tenants)
            )),
        }
        if !self.registry.missing_schemas.is_empty() {
            out.push_str(&format!(
                "detect: registered but no schema: {}\n",
                list(&self.registry.missing_schemas)
            ));
        }
        if !self.registry.unregistered_schemas.is_empty() {
            out.push_str(&format!(
                "detect: schema nobody registered: {}\n",
                list(&self.registry.unregistered_schemas)
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
                .map(|s| crate::text::quoted(s))
                .collect();
            let more = schemas.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!(
                "citus node {}: {}: {}{more}",
                crate::text::sanitize(node),
                plural(schemas.len(), "schema", "schemas"),
                shown.join(", ")
            )
        })
        .collect()
}
