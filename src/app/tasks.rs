//! Carries out effects as tokio tasks. Each slot runs one load at a time:
//! a new load cancels the one before (client side and, for a query already
//! running, on the server); connections are made in tasks too ([`Connector`]).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::clipboard::Clipboard;
use super::connect;
use super::msg::{Delay, Effect, Msg, Slot, Task};
use super::state::Data;
use crate::db::{Database, QueryHandle};

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
    /// The token of the load running in each slot.
    running: HashMap<Slot, CancellationToken>,
    /// Cancelled once the last load started in each slot is over, its
    /// server-side cancel included: the next load in the slot waits for it.
    settled: HashMap<Slot, CancellationToken>,
    /// When each slot last started a load (see [`debounced`]).
    last_started: HashMap<Slot, Instant>,
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
            results,
            running: HashMap::new(),
            settled: HashMap::new(),
            last_started: HashMap::new(),
            export_dir: None,
        }
    }

    /// Where exports go (`ui.export_dir`); None: [`default_export_dir`].
    pub fn with_export_dir(mut self, dir: Option<std::path::PathBuf>) -> Executor {
        self.export_dir = dir;
        self
    }

    /// Carries out `effect`; true if it started a load at once (no delay).
    pub fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Load(task) => return self.spawn(task),
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
                    let results = self.results.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = results.send(copy());
                    });
                } else {
                    let _ = self.results.send(copy());
                }
            }
            Effect::Export {
                stem,
                document: crate::output::Document::OrdersToRead(what),
            } => {
                // Read whole (streamed) first, then written as any export.
                let results = self.results.clone();
                let dir = self.export_dir.clone();
                let Some(db) = self.db.clone() else {
                    let _ = results.send(Msg::Exported(Err("not connected".into())));
                    return false;
                };
                tokio::spawn(async move {
                    let csv = match crate::output::orders_csv_read(&db, &what).await {
                        Ok(csv) => csv,
                        Err(why) => {
                            let _ = results.send(Msg::Exported(Err(why)));
                            return;
                        }
                    };
                    let _ = tokio::task::spawn_blocking(move || {
                        let _ = results.send(Msg::Exported(export_file(dir, &stem, &csv)));
                    })
                    .await;
                });
            }
            Effect::Export { stem, document } => {
                let results = self.results.clone();
                let dir = self.export_dir.clone();
                tokio::task::spawn_blocking(move || {
                    let csv = document.csv();
                    let _ = results.send(Msg::Exported(export_file(dir, &stem, &csv)));
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
                msg = &mut work => {
                    // Both at once: the loop takes them in one go, one frame.
                    let at = local_time();
                    let _ = results.send(msg);
                    let _ = results.send(Msg::Read { slot: slot.0, at });
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

    /// Uses `db` from now on: the old database's loads are cancelled and
    /// their results go to `results`' old receiver, which the caller drops.
    /// Returns the old database, to close.
    pub fn replace_db(&mut self, db: Database, results: UnboundedSender<Msg>) -> Option<Database> {
        self.cancel_all();
        self.last_started.clear();
        self.results = results;
        self.db.replace(db)
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

/// Writes an export's `csv` into `dir` (else the default export
/// directory, created if needed): the path written, or why not.
fn export_file(dir: Option<std::path::PathBuf>, stem: &str, csv: &str) -> Result<String, String> {
    let dir = dir.unwrap_or_else(|| default_export_dir(&|n| std::env::var(n).ok()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
        .and_then(|()| write_export(&dir, stem, csv, &local_stamp()))
}

/// Writes an export to a new file in `dir`, named by `stem` and `stamp`;
/// never overwrites one.
fn write_export(
    dir: &std::path::Path,
    stem: &str,
    csv: &str,
    stamp: &str,
) -> Result<String, String> {
    use std::io::Write;
    for attempt in 0..100 {
        let suffix = if attempt == 0 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let path = dir.join(format!("tenantscope-{stem}-{stamp}{suffix}.csv"));
        let name = path.display().to_string();
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                return file
                    .write_all(csv.as_bytes())
                    .map(|()| name.clone())
                    .map_err(|e| format!("cannot write {name}: {e}"));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {name}: {e}")),
        }
    }
    Err("cannot find a free file name for the export".into())
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
}
