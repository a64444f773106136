//! Carries out effects as tokio tasks. Each slot runs one load at a time:
//! a new load cancels the one before (client side and, for a query already
//! running, on the server); connections are made in tasks too ([`Connector`]).

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::clipboard::Clipboard;
use super::connect;
use super::msg::{Delay, Effect, Msg, Slot, Task};
use super::state::Data;
use crate::db::{Database, QueryHandle, TenantCatalog, User};
use crate::output::{Document, ToRead};

/// What a successful connection brings: the database and the dashboard's
/// data on it, which replaces the old database's.
#[derive(Clone)]
pub struct Opened {
    pub db: Database,
    /// Boxed: it travels in a message, kept small.
    pub data: Box<Data>,
}

// Without the database handle: its pool has no useful Debug.
impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users = self.data.dashboard.users.users().len();
        write!(f, "Opened({:?}, {users} users)", self.data.target)
    }
}

/// Why a connection (or its first load) failed, as one line.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    pub message: String,
    /// Bad input (exit 2 if the dashboard ends on it), not an unreachable server.
    pub usage: bool,
}

pub type Connecting = Pin<Box<dyn Future<Output = Result<Opened, ConnectError>> + Send>>;

/// Opens a profile (`None`: what start-up was configured with).
pub type Connector = Arc<dyn Fn(Option<String>) -> Connecting + Send + Sync>;

pub struct Executor {
    /// `ui.export_dir`; None: [`default_export_dir`].
    export_dir: Option<std::path::PathBuf>,
    /// None until the first connection is made.
    db: Option<Database>,
    /// Connects on `Effect::Connect`; none in tests that give a database.
    connector: Option<Connector>,
    clipboard: Clipboard,
    results: UnboundedSender<Msg>,
    /// Where exports and copies answer: a channel that outlives a
    /// database switch, which drops `results` with the old database's loads.
    lasting: UnboundedSender<Msg>,
    /// The token of the load running in each slot.
    running: HashMap<Slot, CancellationToken>,
    /// Cancelled once the last load started in each slot is over, its
    /// server-side cancel included: the next load in the slot waits for it.
    settled: HashMap<Slot, CancellationToken>,
    /// When each slot last started a load (see [`debounced`]).
    last_started: HashMap<Slot, Instant>,
    /// Databases replaced, kept open until [`Executor::close_replaced`]:
    /// an export may still read one.
    replaced: Vec<Database>,
}

impl Executor {
    pub fn new(
        db: Option<Database>,
        connector: Option<Connector>,
        results: UnboundedSender<Msg>,
        clipboard: Clipboard,
    ) -> Executor {
        Executor {
            db,
            connector,
            clipboard,
            lasting: results.clone(),
            results,
            running: HashMap::new(),
            settled: HashMap::new(),
            last_started: HashMap::new(),
            replaced: Vec::new(),
            export_dir: None,
        }
    }

    /// Where exports go (`ui.export_dir`); None: [`default_export_dir`].
    pub fn with_export_dir(mut self, dir: Option<std::path::PathBuf>) -> Executor {
        self.export_dir = dir;
        self
    }

    /// Exports and copies answer on `lasting` (see the field); by default
    /// the results channel.
    pub fn with_lasting(mut self, lasting: UnboundedSender<Msg>) -> Executor {
        self.lasting = lasting;
        self
    }

    /// Carries out `effect`; true if it started a load at once (no delay).
    pub fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Load(task) => return self.spawn(*task),
            Effect::Cancel(slot) => {
                if let Some(token) = self.running.remove(&slot) {
                    token.cancel();
                }
            }
            Effect::Connect { ticket, profile } => {
                let Some(connector) = self.connector.clone() else {
                    let error = ConnectError {
                        message: "no profiles to connect to".into(),
                        usage: true,
                    };
                    let done = connect::Msg::Done {
                        ticket,
                        result: Err(error),
                    };
                    let _ = self.results.send(done.into());
                    return false;
                };
                let results = self.results.clone();
                tokio::spawn(async move {
                    let result = connector(profile).await;
                    let _ = results.send(connect::Msg::Done { ticket, result }.into());
                });
            }
            // OSC 52 is written at once, between frames, on the terminal's
            // thread; tmux runs off it.
            Effect::Copy { what, text } => {
                let clipboard = self.clipboard.clone();
                let copy = move || {
                    let result = clipboard.copy(&text).map(|to| format!("{what} {to}"));
                    Msg::Copied(result.map_err(|e| format!("cannot copy: {e}")))
                };
                if self.clipboard.runs_a_program() {
                    let results = self.lasting.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = results.send(copy());
                    });
                } else {
                    let _ = self.lasting.send(copy());
                }
            }
            // Rows to read first: off the UI path, on a connection.
            Effect::Export {
                stem,
                document: Document::ToRead(read),
                note,
            } => {
                let results = self.lasting.clone();
                let dir = self.export_dir.clone();
                let Some(db) = self.db.clone() else {
                    let _ = results.send(Msg::Exported(Err("not connected".into())));
                    return false;
                };
                tokio::spawn(async move {
                    let result = match read {
                        ToRead::Orders(what) => export_orders(&db, dir, &stem, &what).await,
                        ToRead::Prices(what) => export_prices(&db, dir, stem, *what).await,
                    };
                    let _ = results.send(Msg::Exported(noted(result, note)));
                });
            }
            Effect::Export {
                stem,
                document,
                note,
            } => {
                let results = self.lasting.clone();
                let dir = self.export_dir.clone();
                tokio::task::spawn_blocking(move || {
                    let csv = document.csv();
                    let written = export_file(dir, &stem, &csv);
                    let _ = results.send(Msg::Exported(noted(written, note)));
                });
            }
        }
        false
    }

    /// Runs the task after its delay in its slot's place, superseding what
    /// ran there. A superseded load is cancelled during its delay (it never
    /// reaches the database: the debounce) or, mid-query, on the server.
    fn spawn(&mut self, Task { slot, delay, job }: Task) -> bool {
        let Some(db) = self.db.clone() else {
            // No view that loads is on screen before the first connection.
            return false;
        };
        let now = Instant::now();
        let delay = match delay {
            Delay::None => Duration::ZERO,
            Delay::Fixed(delay) => delay,
            Delay::Debounce(debounce) => debounced(self.last_started.get(&slot), now, debounce),
        };
        self.last_started.insert(slot, now);
        let token = CancellationToken::new();
        if let Some(old) = self.running.insert(slot, token.clone()) {
            old.cancel();
        }
        let settled = CancellationToken::new();
        let before = self.settled.insert(slot, settled.clone());
        let results = self.results.clone();
        tokio::spawn(async move {
            // However this task ends (a panic included).
            let _settled = settled.drop_guard();
            // Test hook (debug builds only): a background task that panics.
            #[cfg(debug_assertions)]
            if std::env::var_os("TS_TEST_PANIC").is_some_and(|v| v == "task") {
                panic!("test-triggered panic in a background task");
            }
            let handle = QueryHandle::default();
            let work = async {
                // Not even a zero sleep: tokio rounds a deadline up to its
                // next millisecond tick, which an at-once load would wait.
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                // The load it supersedes is cancelled on the server first
                // (a bounded wait, see `Database::cancel`): behind a pooler
                // with every server connection taken, this load would
                // otherwise take the connection the cancel needs while the
                // old query holds the other, and both wait for ever.
                if let Some(before) = before {
                    before.cancelled().await;
                }
                job.run(db.clone(), handle.clone()).await
            };
            let mut work = Box::pin(work);
            let superseded = tokio::select! {
                result = &mut work => {
                    // When it was read: the view dates what it shows by it
                    // if it takes the result and the load succeeded.
                    let at = local_time();
                    let _ = results.send(Msg::Loaded { slot: slot.0, at, result });
                    false
                }
                _ = token.cancelled() => true,
            };
            if superseded {
                // Its connection goes back once the query ends; the cancel
                // (which may need another server connection behind a
                // pooler) does not hold it meanwhile, and only hits the
                // query's own transaction, still open until then.
                drop(work);
                db.cancel(&handle).await;
            }
        });
        delay.is_zero()
    }

    pub fn cancel_all(&mut self) {
        for (_, token) in self.running.drain() {
            token.cancel();
        }
    }

    /// Uses `db` from now on, its loads answering on `results`: the old
    /// database's loads are cancelled and their results go to the old
    /// receiver, which the caller drops. The old database stays open until
    /// [`Executor::close_replaced`] (an export may still read it).
    pub fn replace_db(&mut self, db: Database, results: UnboundedSender<Msg>) {
        self.cancel_all();
        self.last_started.clear();
        self.results = results;
        self.replaced.extend(self.db.replace(db));
    }

    /// Closes the databases replaced so far (each on a task of its own).
    pub fn close_replaced(&mut self) {
        for old in self.replaced.drain(..) {
            tokio::spawn(async move { old.close().await });
        }
    }

    pub fn into_db(self) -> Option<Database> {
        self.db
    }
}

/// The local wall-clock time, `HH:MM:SS` (the status line's "as of").
fn local_time() -> String {
    use nix::libc;
    // SAFETY: `time` and `localtime_r` write only to the values passed in.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// Leading and trailing debounce: the first load after a quiet moment
/// starts at once (a single key press waits for nothing); one that follows
/// another within the debounce is part of a moving selection (a held key)
/// and waits for it to rest. `update` asks for the debounce; the edge, which
/// has the clock, knows whether the selection was at rest.
fn debounced(last: Option<&Instant>, now: Instant, debounce: Duration) -> Duration {
    match last {
        Some(last) if now.saturating_duration_since(*last) < debounce => debounce,
        _ => Duration::ZERO,
    }
}

/// Where exports go without `ui.export_dir`: the user's download directory
/// (`XDG_DOWNLOAD_DIR`, else `~/Downloads` when there is one), else
/// `tenantscope/exports` in their data directory (`XDG_DATA_HOME`, else
/// `~/.local/share`); never the current directory, which is often a
/// repository.
pub fn default_export_dir(env: &dyn Fn(&str) -> Option<String>) -> std::path::PathBuf {
    use std::path::PathBuf;
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("XDG_DOWNLOAD_DIR") {
        return dir;
    }
    let home = set("HOME");
    if let Some(downloads) = home.as_ref().map(|h| h.join("Downloads")) {
        if downloads.is_dir() {
            return downloads;
        }
    }
    set("XDG_DATA_HOME")
        .filter(|dir| dir.is_absolute())
        .or_else(|| home.map(|h| h.join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tenantscope/exports")
}

/// The local date and time for a file name, `2026-12-05_154812`.
fn local_stamp() -> String {
    use nix::libc;
    // SAFETY: `time` and `localtime_r` write only to the values passed in.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02}_{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Writes an export's `csv` into `dir` (see [`export_dir`]): the path
/// written, or why not.
fn export_file(dir: Option<PathBuf>, stem: &str, csv: &str) -> Result<String, String> {
    write_export(&export_dir(dir)?, stem, csv, &local_stamp())
}

/// Where exports go: `dir` (`~/` is the home directory; empty is unset),
/// else the default export directory; created if needed.
fn export_dir(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    let env = |name: &str| std::env::var(name).ok();
    let configured = crate::config::export_path(dir, &env)?;
    let dir = configured
        .clone()
        .unwrap_or_else(|| default_export_dir(&env));
    let setting = if configured.is_some() {
        " (ui.export_dir)"
    } else {
        ""
    };
    std::fs::create_dir_all(&dir)
        .map(|()| dir.clone())
        .map_err(|e| match std::fs::metadata(&dir) {
            // create_dir_all's own words are "File exists".
            Ok(meta) if !meta.is_dir() => format!(
                "cannot export to {}: it is not a directory{setting}",
                dir.display()
            ),
            _ => format!("cannot create {}: {e}", dir.display()),
        })
}

/// Writes an export to a new file in `dir`, named by `stem` and `stamp`
/// (see [`create_export`]).
fn write_export(dir: &Path, stem: &str, csv: &str, stamp: &str) -> Result<String, String> {
    let (mut file, path) = create_export(dir, stem, stamp)?;
    let name = path.display().to_string();
    file.write_all(csv.as_bytes())
        .map(|()| name.clone())
        .map_err(|e| format!("cannot write {name}: {e}"))
}

/// A new file in `dir` named by `stem` and `stamp`; never one that exists.
fn create_export(dir: &Path, stem: &str, stamp: &str) -> Result<(File, PathBuf), String> {
    for attempt in 0..100 {
        let suffix = if attempt == 0 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let path = dir.join(format!("tenantscope-{stem}-{stamp}{suffix}.csv"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Err("cannot find a free file name for the export".into())
}

/// A user's orders (compared with a tenant) read into a new export file
/// as the lines arrive ([`write_orders_csv`]): the path written, or why
/// not (a file begun is removed then).
async fn export_orders(
    db: &Database,
    dir: Option<PathBuf>,
    stem: &str,
    what: &(User, Option<String>, TenantCatalog),
) -> Result<String, String> {
    let (file, path) = create_export(&export_dir(dir)?, stem, &local_stamp())?;
    let name = path.display().to_string();
    let mut unfinished = Unfinished(Some(&path));
    match write_orders_csv(db, what, file).await {
        Ok(_) => {
            unfinished.0 = None;
            Ok(name)
        }
        Err(OrdersExportError::Read(e)) => Err(format!("cannot export: {e}")),
        Err(OrdersExportError::Write(e)) => Err(format!("cannot write {name}: {e}")),
    }
}

/// A written file's path with what it lacks (`note`) beside it.
fn noted(written: Result<String, String>, note: Option<String>) -> Result<String, String> {
    written.map(|path| match note {
        Some(note) => format!("{path} ({note})"),
        None => path,
    })
}

/// Every tenant's prices, read as `prices` reads them, written in `sort`'s
/// order; the tenants that could not be priced are counted in the answer
/// (their cells say `not read`), and none priced is an error, as the
/// command's exit status says.
async fn export_prices(
    db: &Database,
    dir: Option<PathBuf>,
    stem: String,
    (sort, catalog): (crate::db::PriceSort, TenantCatalog),
) -> Result<String, String> {
    let matrix = db
        .price_matrix(catalog.names())
        .await
        .map_err(|e| format!("cannot export: {e}"))?;
    if matrix.rows.is_empty() && !matrix.failed.is_empty() {
        return Err("cannot export: no tenant could be priced".into());
    }
    let failed = matrix.failed.len();
    let document = Document::Prices(Box::new((matrix.sorted(sort), catalog)));
    let path = tokio::task::spawn_blocking(move || export_file(dir, &stem, &document.csv()))
        .await
        .map_err(|e| format!("cannot export: {e}"))??;
    Ok(match failed {
        0 => path,
        n => format!(
            "{path} ({} not read: see its cells)",
            crate::text::plural(n, "tenant", "tenants")
        ),
    })
}

/// An export file still being written: removed when dropped unfinished,
/// whether the export failed or its task was dropped (the app quit
/// meanwhile), so no truncated export is left under an export's name.
struct Unfinished<'a>(Option<&'a std::path::Path>);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Why an orders export failed.
#[derive(Debug)]
enum OrdersExportError {
    Read(crate::db::DbError),
    Write(io::Error),
}

/// Buffered writes to an export file (the CLI's stdout buffer's size).
const EXPORT_BUFFER: usize = 64 * 1024;

/// The CSV of every one of a user's order lines compared with a tenant,
/// as the dashboard exports it ([`crate::output::orders`]'s bytes), read
/// through [`Database::stream_orders`] and written to `out` as the lines
/// arrive: memory holds a batch and a buffer, never the export. `out`
/// back, flushed, or why not.
async fn write_orders_csv<W: Write + Send>(
    db: &Database,
    (user, compare, catalog): &(User, Option<String>, TenantCatalog),
    out: W,
) -> Result<W, OrdersExportError> {
    use crate::output::{order_headers, Align, Destination, Format, OrdersWriter};
    let to = Destination::PipeOrFile;
    let headers = order_headers(compare.as_deref(), catalog, to);
    let headers: Vec<(&str, Align)> = headers.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let out = KeptError::new(io::BufWriter::with_capacity(EXPORT_BUFFER, out));
    let mut writer = OrdersWriter::new(user, catalog, &headers, Format::Csv, to, out);
    let read = db
        .stream_orders(user, compare.as_deref(), &mut writer)
        .await;
    // Flushed here: a write that failed stopped the reading quietly.
    let out = writer.finish();
    read.map_err(OrdersExportError::Read)?;
    out.into_inner()
        .and_then(|out| out.into_inner().map_err(io::IntoInnerError::into_error))
        .map_err(OrdersExportError::Write)
}

/// A writer that keeps its first error ([`crate::output::OrdersWriter`]
/// stops at a failed write without saying why) and refuses every write
/// after it.
struct KeptError<W> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write> KeptError<W> {
    fn new(out: W) -> KeptError<W> {
        KeptError { out, error: None }
    }

    /// The writer, or the first error it met.
    fn into_inner(self) -> io::Result<W> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.out),
        }
    }

    fn kept<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        result.map_err(|error| {
            let again = io::Error::new(error.kind(), error.to_string());
            self.error.get_or_insert(error);
            again
        })
    }
}

impl<W: Write> Write for KeptError<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("an earlier write failed"));
        }
        let result = self.out.write(buf);
        self.kept(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Err(io::Error::other("an earlier write failed"));
        }
        let result = self.out.flush();
        self.kept(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_go_to_the_download_or_data_directory_never_the_cwd() {
        let home = tempfile::tempdir().unwrap();
        let home_s = home.path().to_str().unwrap().to_string();
        let env = |pairs: Vec<(&'static str, String)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            }
        };
        let h = home_s.clone();
        assert_eq!(
            default_export_dir(&env(vec![("HOME", h.clone())])),
            home.path().join(".local/share/tenantscope/exports")
        );
        assert_eq!(
            default_export_dir(&env(vec![
                ("HOME", h.clone()),
                ("XDG_DATA_HOME", "/data".into())
            ])),
            std::path::Path::new("/data/tenantscope/exports")
        );
        std::fs::create_dir(home.path().join("Downloads")).unwrap();
        assert_eq!(
            default_export_dir(&env(vec![("HOME", h.clone())])),
            home.path().join("Downloads")
        );
        assert_eq!(
            default_export_dir(&env(vec![("HOME", h), ("XDG_DOWNLOAD_DIR", "/dl".into())])),
            std::path::Path::new("/dl")
        );
        // A readable local time in the name, and a second export beside it.
        let stamp = local_stamp();
        assert_eq!(stamp.len(), "2026-12-05_154812".len(), "{stamp}");
        assert_eq!(&stamp[4..5], "-");
        assert_eq!(&stamp[10..11], "_");
        let dir = home.path();
        let first = write_export(dir, "basket-1", "a\n", &stamp).unwrap();
        let second = write_export(dir, "basket-1", "b\n", &stamp).unwrap();
        assert_eq!(first, format!("{home_s}/tenantscope-basket-1-{stamp}.csv"));
        assert_eq!(
            second,
            format!("{home_s}/tenantscope-basket-1-{stamp}-1.csv")
        );
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "a\n");
    }

    #[test]
    fn a_selection_after_a_quiet_moment_loads_at_once_a_moving_one_waits() {
        let debounce = Duration::from_millis(120);
        let start = Instant::now();
        assert_eq!(
            debounced(None, start, debounce),
            Duration::ZERO,
            "the first one"
        );
        let quiet = start + Duration::from_millis(500);
        assert_eq!(debounced(Some(&start), quiet, debounce), Duration::ZERO);
        let held = start + Duration::from_millis(33);
        assert_eq!(
            debounced(Some(&start), held, debounce),
            debounce,
            "key repeat"
        );
        assert_eq!(
            debounced(Some(&start), start, Duration::ZERO),
            Duration::ZERO,
            "no debounce asked"
        );
    }

    #[test]
    fn an_export_dir_that_is_a_file_is_said_to_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("exports");
        std::fs::write(&file, "").unwrap();
        let error = export_file(Some(file.clone()), "orders", "a\n").unwrap_err();
        assert_eq!(
            error,
            format!(
                "cannot export to {}: it is not a directory (ui.export_dir)",
                file.display()
            )
        );
        // `~/` is the home directory, and an empty setting is no setting.
        let env = |name: &str| (name == "HOME").then(|| "/home/ann".to_string());
        let dir = |text: &str| crate::config::export_path(Some(PathBuf::from(text)), &env);
        assert_eq!(dir("~/csv"), Ok(Some(PathBuf::from("/home/ann/csv"))));
        assert_eq!(dir("~"), Ok(Some(PathBuf::from("/home/ann"))));
        assert_eq!(dir("/srv/~x"), Ok(Some(PathBuf::from("/srv/~x"))));
        assert_eq!(dir(""), Ok(None));
        // Anything that would land in the current directory is refused.
        for relative in ["~ann/x", "exports", "./x"] {
            let error = dir(relative).unwrap_err();
            assert!(error.contains("is not an absolute path"), "{error}");
        }
        let no_home = |_: &str| None;
        let error = crate::config::export_path(Some(PathBuf::from("~/x")), &no_home).unwrap_err();
        assert!(error.starts_with("ui.export_dir \"~/x\""), "{error}");
        // Below a file, the system says "Not a directory" itself.
        let below = file.join("sub");
        let error = export_file(Some(below.clone()), "orders", "a\n").unwrap_err();
        assert!(error.contains("Not a directory"), "{error}");
    }

    #[test]
    fn exports_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let first =
            write_export(dir.path(), "orders-1", "a,b\n1,2\n", "2026-12-05_154812").unwrap();
        let second =
            write_export(dir.path(), "orders-1", "a,b\n3,4\n", "2026-12-05_154812").unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "a,b\n1,2\n");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "a,b\n3,4\n");
        assert!(first.contains("tenantscope-orders-1-") && first.ends_with(".csv"));
        let missing = write_export(
            std::path::Path::new("/nonexistent/dir"),
            "x",
            "",
            "2026-12-05_154812",
        );
        assert!(missing.unwrap_err().starts_with("cannot create"));
    }

    /// What an export file receives, write by write; at the first write
    /// it says so (`first`) and waits for `go_on`.
    struct Watched {
        bytes: Vec<u8>,
        writes: usize,
        first: Option<tokio::sync::oneshot::Sender<()>>,
        go_on: std::sync::mpsc::Receiver<()>,
    }

    impl Write for Watched {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(first) = self.first.take() {
                let _ = first.send(());
                // The worker's other tasks (the server's replies) go on.
                let _ = tokio::task::block_in_place(|| self.go_on.recv());
            }
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An orders export whose task is dropped before it ends (the app quit
    /// meanwhile) leaves no half-written file behind. Its read waits on a
    /// lock of the user's orders, so the file is open and unfinished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_orders_export_dropped_midway_leaves_no_file() {
        use crate::embedded::testing::TestDatabase;
        let test_db = TestDatabase::demo().await;
        let db = test_db.connect().await;
        let user = db.user("1").await.unwrap();
        let what = (
            user,
            Some("client2".to_string()),
            db.tenants().await.unwrap(),
        );
        let dir =
            std::env::temp_dir().join(format!("tenantscope-unfinished-{}", std::process::id()));
        let files = |dir: &Path| std::fs::read_dir(dir).map_or(0, |d| d.count());
        let mut locker = test_db.lock_table("client1.orders").await;
        let export = {
            let (db, dir) = (db.clone(), dir.clone());
            tokio::spawn(async move { export_orders(&db, Some(dir), "orders-1", &what).await })
        };
        let waiting = "SELECT count(*)::text FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let mut polls = 0;
        while test_db.query_text(waiting).await != "1" {
            polls += 1;
            assert!(polls < 3_000, "the export never waited on the lock");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(files(&dir), 1, "the export's file is open");
        export.abort();
        assert!(export.await.unwrap_err().is_cancelled());
        assert_eq!(files(&dir), 0, "the unfinished export was removed");
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut locker)
            .await
            .unwrap();
        let _ = std::fs::remove_dir(&dir);
    }

    /// The orders export is written as the lines arrive: the first bytes
    /// reach the file while the read's cursor is still open on the server
    /// (an export built in memory first writes once the read is over),
    /// and they are the in-memory CSV's, byte for byte.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_orders_export_is_written_as_the_lines_arrive() {
        use crate::embedded::testing::TestDatabase;
        use crate::output::{orders, Destination, Format};
        let test_db = TestDatabase::reference().await;
        // 5,000 lines: five FETCH batches, several buffers of CSV.
        test_db.run_sql(crate::fixtures::BULK_TENANTS).await;
        test_db
            .run_sql(
                "INSERT INTO bulk.items
                      SELECT n, 'item ' || n, n + 0.25 FROM generate_series(1, 40) n;
                 INSERT INTO other.items
                      SELECT n, 'item ' || n, n FROM generate_series(1, 30) n;
                 INSERT INTO bulk.orders
                      SELECT 3 * n, 'bulk', 1 + n % 40, 1 + n % 3 FROM generate_series(1, 5000) n;",
            )
            .await;
        let db = test_db.connect().await;
        let user = db.user("bulk").await.unwrap();
        let catalog = db.tenants().await.unwrap();
        let what = (user.clone(), Some("other".to_string()), catalog.clone());
        let (first, first_write) = tokio::sync::oneshot::channel();
        let (go_on, waiting) = std::sync::mpsc::channel();
        let out = Watched {
            bytes: Vec::new(),
            writes: 0,
            first: Some(first),
            go_on: waiting,
        };
        let export = {
            let (db, what) = (db.clone(), what.clone());
            tokio::spawn(async move { write_orders_csv(&db, &what, out).await.unwrap() })
        };
        first_write.await.unwrap();
        let reading = test_db
            .query_text(
                "SELECT count(*)::text FROM pg_stat_activity
                  WHERE datname = current_database() AND state = 'idle in transaction'
                    AND query LIKE 'FETCH % FROM tenantscope_orders'",
            )
            .await;
        go_on.send(()).unwrap();
        let out = export.await.unwrap();
        assert_eq!(reading, "1", "the first write came after the read");
        let report = db.priced_orders(&user, Some("other")).await.unwrap();
        assert_eq!(report.lines.len(), 5_000);
        let whole = orders(
            &user,
            &report,
            &catalog,
            Format::Csv,
            Destination::PipeOrFile,
        );
        assert!(whole.len() > 3 * EXPORT_BUFFER, "{}", whole.len());
        assert_eq!(String::from_utf8(out.bytes).unwrap(), whole);
        assert!(out.writes > 3, "{} writes", out.writes);
    }
}
