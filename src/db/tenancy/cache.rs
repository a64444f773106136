//! The detected model cached per database in the user's cache directory
//! (`$XDG_CACHE_HOME/tenantscope`, else `~/.cache/tenantscope`), used at
//! start while a fingerprint of what detection read still matches:
//! the schemas (names and oids), the columns of the tables of the schemas
//! read in full (the shared one and the sample), the shared schema's
//! foreign keys, which schemas hold the tables the tenants are told by
//! (items, orders, per-tenant users, ledgers) and the registry's rows.
//! Any DDL that could change the model changes it; a cache file that
//! cannot be read or parsed is a miss, one that cannot be written is
//! skipped: the cache never makes a start fail. It holds no password
//! (names of schemas, tables and columns, and the detection's reasons),
//! and is written 0600 in a 0700 directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::catalog_read::{detect_with_names, sampled_schemas, SAMPLE};
use super::checks::RegistrySchemas;
use super::detect::{Detection, TenancyLayout};
use super::{guard, TenancyModel};
use crate::db::sql;

/// The rules' version: bumped whenever detection may answer a catalogue
/// otherwise (4: no users table leaves the column defaults; a users table
/// in every tenant schema is users per tenant; 5: the orders table is the
/// one most tenants hold, `orders` on a tie), so that an entry an older build wrote is
/// detected afresh, not reused.
const VERSION: u32 = 5;

/// The user's cache directory for tenantscope, from the environment
/// (`XDG_CACHE_HOME`, else `HOME/.cache`).
/// A relative or empty one is ignored (as the XDG spec says), so the
/// cache never lands under the working directory.
pub fn cache_dir(env: &std::collections::HashMap<String, String>) -> Option<PathBuf> {
    let absolute = |dir: &String| Path::new(dir).is_absolute();
    env.get("XDG_CACHE_HOME")
        .filter(|d| absolute(d))
        .map(PathBuf::from)
        .or_else(|| {
            env.get("HOME")
                .filter(|h| absolute(h))
                .map(|home| Path::new(home).join(".cache"))
        })
        .map(|dir| dir.join("tenantscope"))
}

/// Which server, database and role (the file's name is a hash of it);
/// first, the savepoint a cached entry's fingerprint is read in (see
/// [`cached_fingerprint`]): one simple query, one round trip (each
/// statement with parameters takes two: parse, then bind and execute).
const IDENTITY_SQL: &str = "SAVEPOINT tenantscope_cache;
SELECT concat_ws('/',
         CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
              THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END,
         (SELECT oid::text FROM pg_catalog.pg_database WHERE datname = current_database()),
         current_database(), current_user, inet_server_addr()::text, inet_server_port()::text)";

/// The fingerprint: (what any DDL changes, what the tables named and the
/// registry's rows change). `pg_class` is scanned once, as detection
/// scans it (see catalog_read.rs): its tables give the sample's and,
/// hashed by name, the schemas holding the tables named. `$1` shared schema, `$2` sample size, `$3` the
/// tenant table names; `{registry}` an aggregate over the registry.
fn fingerprint_sql(registry: &str) -> String {
    format!(
        concat!(
            sampled_schemas!(),
    "tabs AS MATERIALIZED (
    SELECT * FROM rel c WHERE c.relnamespace = ANY(ARRAY(SELECT read.oid FROM read)))
SELECT concat_ws(' ',
         (SELECT count(*) || ':' || md5(coalesce(string_agg(ns.oid || ':' || ns.nspname, ','
                                                             ORDER BY ns.oid), ''))
            FROM ns),
         (SELECT md5(coalesce(string_agg(concat_ws(':', t.oid, t.relnamespace, t.relname,
                                                   t.relkind, a.attnum, a.attname, a.atttypid),
                                         ',' ORDER BY t.oid, a.attnum), ''))
            FROM tabs t LEFT JOIN pg_catalog.pg_attribute a
              ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
         (SELECT md5(coalesce(string_agg(concat_ws(':', k.oid, k.conrelid, k.conkey,
                                                   k.confrelid, k.confkey), ',' ORDER BY k.oid), ''))
            FROM pg_catalog.pg_constraint k
           WHERE k.contype = 'f'
             AND k.conrelid IN (SELECT t.oid FROM tabs t JOIN ns ON ns.oid = t.relnamespace
                                 WHERE ns.nspname = $1))),
       concat_ws(' ',
         (SELECT count(*) || ':' || coalesce(sum(hashtext(c.relname)::int8 + c.relnamespace::int8), 0)
            FROM rel c
           WHERE c.relname IN (SELECT unnest($3::text[])::name)),
         {registry})"
        ),
        registry = registry
    )
}

/// A cache file.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    version: u32,
    identity: String,
    shared_schema: String,
    sample: i64,
    names: Vec<String>,
    catalog: String,
    tables: String,
    kind: TenancyLayout,
    /// The model as `detect` prints it (TOML), and its keys whose name is
    /// empty (TOML leaves them out).
    model: String,
    empty_keys: Vec<String>,
    tenants: Vec<String>,
    #[serde(flatten)]
    registry: RegistrySchemas,
    reasons: Vec<String>,
    guesses: Vec<String>,
}

impl Entry {
    fn detection(&self) -> Option<Detection> {
        #[derive(Deserialize)]
        struct File {
            tenancy: TenancyModel,
        }
        let mut model = toml::from_str::<File>(&self.model).ok()?.tenancy;
        // TOML leaves out a key whose name is empty (one that does not
        // apply): empty again, not the default.
        for (key, field) in model.fields() {
            if let crate::model::Field::Text(value) = field {
                if self.empty_keys.iter().any(|k| k == key) {
                    value.clear();
                }
            }
        }
        Some(Detection {
            kind: self.kind,
            model,
            tenants: self.tenants.clone(),
            registry: self.registry.clone(),
            reasons: self.reasons.clone(),
            guesses: self.guesses.clone(),
        })
    }
}

/// The model's keys whose name is empty.
fn empty_keys(model: &TenancyModel) -> Vec<String> {
    let mut model = model.clone();
    model
        .fields()
        .filter_map(|(key, field)| match field {
            crate::model::Field::Text(value) if value.is_empty() => Some(key.to_string()),
            _ => None,
        })
        .collect()
}

/// A stable hash for the file's name (FNV-1a, 64 bits).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The registry's rows as an aggregate (count and a sum of hashes of the
/// schema names it lists), written from the model (names quoted here, the
/// schema expression as tenantscope writes it); `NULL` without one.
fn registry_sql(model: &TenancyModel) -> String {
    let registry = &model.schemas.registry;
    let (Some(table), Some(expr)) = (&registry.table, &registry.schema) else {
        return "NULL".into();
    };
    let Ok(expr) = guard::SchemaExpr::parse(expr) else {
        return "NULL".into();
    };
    format!(
        "(SELECT count(*) || ':' || coalesce(sum(hashtext(({expr})::text)::int8), 0)
            FROM {}.{} r)",
        sql::quote_ident(&model.schemas.shared),
        sql::quote_ident(table),
        expr = expr.to_sql()
    )
}

async fn fingerprint(
    conn: &mut PgConnection,
    shared: &str,
    names: &[String],
    registry: &str,
) -> Result<(String, String), sqlx::Error> {
    sqlx::query_as(&fingerprint_sql(registry))
        .bind(shared)
        .bind(SAMPLE)
        .bind(names)
        .persistent(false)
        .fetch_one(conn)
        .await
}

/// A cached entry's fingerprint, `None` where it cannot be read (the
/// registry the cached model names was dropped, renamed or made
/// unreadable since): a miss, never a failed start. In the savepoint
/// [`IDENTITY_SQL`] made, so the read transaction goes on to detect
/// afresh; read, the savepoint is left as it is (a read-only transaction
/// ends with it: no statement to release it).
async fn cached_fingerprint(
    conn: &mut PgConnection,
    shared: &str,
    names: &[String],
    registry: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    use sqlx::Executor;
    let now = fingerprint(conn, shared, names, registry).await;
    if let Err(ref error) = now {
        tracing::debug!(%error, "the cached model's fingerprint: detecting afresh");
        (&mut *conn)
            .execute("ROLLBACK TO SAVEPOINT tenantscope_cache")
            .await?;
    }
    Ok(now.ok())
}

fn read_entry(path: &Path) -> Option<Entry> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `entry` (0600, through a file renamed into place); any failure
/// only leaves the cache as it was.
fn write_entry(path: &Path, entry: &Entry) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // `mode` applies only to a directory it creates.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let text = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    drop(file);
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// Detection through the cache in `dir`: the cached model while its
/// fingerprint matches, else detection (and the cache refreshed).
pub async fn detect_cached(
    conn: &mut PgConnection,
    shared: &str,
    dir: &Path,
) -> Result<Detection, sqlx::Error> {
    let identity: String = {
        use sqlx::{Executor, Row};
        (&mut *conn).fetch_one(IDENTITY_SQL).await?.try_get(0)?
    };
    let path = dir.join(format!(
        "detected-{:016x}.json",
        fnv(&format!("{identity}\0{shared}"))
    ));
    if let Some(entry) = read_entry(&path).filter(|e| {
        e.version == VERSION
            && e.identity == identity
            && e.shared_schema == shared
            && e.sample == SAMPLE
    }) {
        let registry = entry
            .detection()
            .map_or_else(|| "NULL".into(), |d| registry_sql(&d.model));
        let now = cached_fingerprint(conn, shared, &entry.names, &registry).await?;
        if now == Some((entry.catalog.clone(), entry.tables.clone())) {
            if let Some(detection) = entry.detection() {
                tracing::debug!(path = %path.display(), "detection from the cache");
                return Ok(detection);
            }
        }
    }
    // Before and after: DDL in between leaves the cache as it was.
    let (before, _) = fingerprint(conn, shared, &[], "NULL").await?;
    let (detection, names) = detect_with_names(conn, shared).await?;
    let (catalog, tables) =
        fingerprint(conn, shared, &names, &registry_sql(&detection.model)).await?;
    if catalog == before {
        let entry = Entry {
            version: VERSION,
            identity,
            shared_schema: shared.to_string(),
            sample: SAMPLE,
            names,
            catalog,
            tables,
            kind: detection.kind,
            model: detection.model.to_toml(),
            empty_keys: empty_keys(&detection.model),
            tenants: detection.tenants.clone(),
            registry: detection.registry.clone(),
            reasons: detection.reasons.clone(),
            guesses: detection.guesses.clone(),
        };
        if let Err(e) = write_entry(&path, &entry) {
            tracing::debug!(path = %path.display(), error = %e, "detection cache not written");
        }
    }
    Ok(detection)
}
