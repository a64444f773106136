//! A private PostgreSQL server started from the system's binaries.
//!
//! It backs both the demo (`tenantscope --demo`) and the test suite: a fresh
//! cluster in a temporary directory, reachable only through a Unix socket in
//! that directory, gone when the [`PgServer`] is dropped.

mod stale;
/// Test support (the `testing` feature): not in the release library.
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use stale::write_owner;
pub use stale::{remove_stale_dirs, DIR_PREFIX, OWNER_FILE};

use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, User};
use sqlx::postgres::PgConnectOptions;
use tempfile::TempDir;

/// The superuser created by initdb; trust authentication on the private socket.
pub const SUPERUSER: &str = "tenantscope";
/// Only names the socket file; the socket directory is private to the server.
pub const PORT: u16 = 5432;
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The demo data, embedded so the binary works from any directory.
pub const DEMO_SQL: [(&str, &str); 3] = [
    ("sql/init.sql", include_str!("../../sql/init.sql")),
    ("sql/populate.sql", include_str!("../../sql/populate.sql")),
    ("sql/demo_more.sql", include_str!("../../sql/demo_more.sql")),
];

#[derive(Debug)]
pub struct EmbeddedError(String);

impl fmt::Display for EmbeddedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmbeddedError {}

fn fail(message: impl Into<String>) -> EmbeddedError {
    EmbeddedError(message.into())
}

/// A running private server. Dropping it stops the server and deletes its files.
pub struct PgServer {
    dir: TempDir,
    pid: Pid,
    exited: mpsc::Receiver<()>,
    stopped: bool,
    bin: PathBuf,
    run_as: Option<Account>,
    options: ServerOptions,
}

/// Extra server settings; the default is a Unix socket only.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Also listen on 127.0.0.1 at this port.
    pub tcp_port: Option<u16>,
    /// Extra `-c name=value` settings.
    pub settings: Vec<(String, String)>,
    /// Files written into the data directory before the start (certificates,
    /// a pg_hba.conf), owner-only.
    pub files: Vec<(String, String)>,
}

impl PgServer {
    /// Creates a cluster with initdb and starts postgres on a private socket.
    /// Blocks until the server accepts connections (about a second).
    pub fn start() -> Result<PgServer, EmbeddedError> {
        Self::start_with(ServerOptions::default())
    }

    /// Like [`PgServer::start`], with extra settings (tests of TCP and TLS).
    pub fn start_with(options: ServerOptions) -> Result<PgServer, EmbeddedError> {
        Self::start_until(options, &AtomicBool::new(false))
    }

    /// Like [`PgServer::start_with`], but gives up (removing everything it
    /// made, stopping initdb or postgres) once `interrupt` is set: a Ctrl-C
    /// during the demo's start-up leaves nothing behind.
    pub fn start_until(
        options: ServerOptions,
        interrupt: &AtomicBool,
    ) -> Result<PgServer, EmbeddedError> {
        let bin = find_binaries()?;
        let run_as = unprivileged_account()?;
        remove_stale_dirs(&std::env::temp_dir());
        // Private to the server's account (and root): the server trusts
        // whoever reaches its socket, as its superuser.
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| fail(format!("cannot create a temporary directory: {e}")))?;
        write_owner(dir.path())?;
        if let Some(account) = &run_as {
            std::os::unix::fs::chown(
                dir.path(),
                Some(account.uid.as_raw()),
                Some(account.gid.as_raw()),
            )
            .map_err(|e| {
                fail(format!(
                    "cannot hand the temporary directory to postgres: {e}"
                ))
            })?;
        }
        let data = dir.path().join("data");
        run_initdb(&bin, dir.path(), &run_as, interrupt)?;
        for (name, text) in &options.files {
            let path = data.join(name);
            std::fs::write(&path, text)
                .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
            if let Some(account) = &run_as {
                std::os::unix::fs::chown(
                    &path,
                    Some(account.uid.as_raw()),
                    Some(account.gid.as_raw()),
                )
                .map_err(|e| fail(format!("cannot hand {} to postgres: {e}", path.display())))?;
            }
            // PostgreSQL insists that a private key is readable by its owner only.
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|e| fail(format!("cannot protect {}: {e}", path.display())))?;
        }
        let (pid, exited) = launch(&bin, dir.path(), &run_as, &options)?;
        let mut server = PgServer {
            dir,
            pid,
            exited,
            stopped: false,
            bin,
            run_as,
            options,
        };
        server.wait_until_ready(interrupt)?;
        Ok(server)
    }

    /// Starts a stopped server again on the same data and socket.
    pub fn restart(&mut self) -> Result<(), EmbeddedError> {
        self.stop();
        let (pid, exited) = launch(&self.bin, self.dir.path(), &self.run_as, &self.options)?;
        self.pid = pid;
        self.exited = exited;
        self.stopped = false;
        self.wait_until_ready(&AtomicBool::new(false))
    }

    fn wait_until_ready(&mut self, interrupt: &AtomicBool) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.dir.path().join("data").join("postmaster.pid");
        let log_path = self.dir.path().join("postgres.log");
        loop {
            // Line 8 of postmaster.pid is the postmaster's status.
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                if text.lines().nth(7).map(str::trim) == Some("ready") {
                    return Ok(());
                }
            }
            if self.exited.try_recv().is_ok() {
                self.stopped = true;
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(fail(format!(
                    "postgres exited at start: {}",
                    last_line(&log)
                )));
            }
            if interrupt.load(Ordering::SeqCst) {
                // Dropping `self` stops postgres and removes the directory.
                return Err(fail(INTERRUPTED));
            }
            if Instant::now() > deadline {
                return Err(fail("postgres did not become ready within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The port, which also names the socket file.
    pub fn port(&self) -> u16 {
        self.options.tcp_port.unwrap_or(PORT)
    }

    /// Connection options for `database` on this server, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(self.socket_dir())
            .port(self.port())
            .username(SUPERUSER)
            .database(database)
    }

    /// A URL for `database` that libpq-style clients (and sqlx) accept.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{}/{database}?host={}",
            self.port(),
            self.socket_dir().display()
        )
    }

    /// Stops the server (fast shutdown, then harder) and waits for it to exit.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        for signal in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGKILL] {
            if kill(self.pid, signal).is_err() {
                return; // already gone
            }
            match self.exited.recv_timeout(STOP_TIMEOUT) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        // TempDir removes the directory after this.
    }
}

/// The error of a start-up given up because it was interrupted.
pub const INTERRUPTED: &str = "start-up interrupted";

/// Runs initdb into `dir`/data. In a process group of its own, so a Ctrl-C at
/// the terminal reaches only tenantscope, which then stops initdb in order.
fn run_initdb(
    bin: &Path,
    dir: &Path,
    run_as: &Option<Account>,
    interrupt: &AtomicBool,
) -> Result<(), EmbeddedError> {
    let log_path = dir.join("initdb.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", log_path.display())))?;
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8"])
        .arg("--no-locale")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0);
    as_account(&mut initdb, run_as);
    // Killed outright, tenantscope takes initdb with it (this thread waits
    // for initdb, so it outlives it); the next start removes the directory.
    // SAFETY: prctl is async-signal-safe and touches no Rust state.
    unsafe {
        initdb.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let mut child = initdb
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", bin.join("initdb").display())))?;
    loop {
        if interrupt.load(Ordering::SeqCst) {
            // initdb removes what it wrote on SIGINT; wait so nothing outlives us.
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
            let _ = child.wait();
            return Err(fail(INTERRUPTED));
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(fail(format!("initdb failed: {}", last_line(&log))));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(format!("cannot wait for initdb: {e}"))),
        }
    }
}

/// Spawns postgres on an initialized data directory; returns its pid and a
/// receiver that fires when it exits.
fn launch(
    bin: &Path,
    dir: &Path,
    run_as: &Option<Account>,
    options: &ServerOptions,
) -> Result<(Pid, mpsc::Receiver<()>), EmbeddedError> {
    let log_path = dir.join("postgres.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| fail(format!("cannot open the server log: {e}")))?;
    let listen = match options.tcp_port {
        Some(_) => "listen_addresses=127.0.0.1".to_string(),
        // No TCP at all: the socket directory is the only way in.
        None => "listen_addresses=".to_string(),
    };
    let mut postgres = Command::new(bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-k")
        .arg(dir)
        .arg("-p")
        .arg(options.tcp_port.unwrap_or(PORT).to_string())
        .args(["-c", &listen])
        // Trust authentication: the socket is for this account alone.
        .args(["-c", "unix_socket_permissions=0700"])
        // A throwaway cluster: durability only costs time.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Own process group: a Ctrl-C at the terminal reaches tenantscope,
        // which then stops the server in order.
        .process_group(0);
    for (name, value) in &options.settings {
        postgres.arg("-c").arg(format!("{name}={value}"));
    }
    as_account(&mut postgres, run_as);
    // If tenantscope is killed outright, the kernel stops the server too.
    let program = bin.join("postgres").display().to_string();
    spawn_kept(postgres, Signal::SIGQUIT, "postgres", &program).map_err(fail)
}

/// Runs `command` as a child that gets `signal` when this process dies,
/// and returns its pid and a receiver told when it exits. The death signal
/// follows the thread that forked, so the fork happens on a thread
/// (`what`-keeper) that lives exactly as long as the child.
pub(crate) fn spawn_kept(
    mut command: Command,
    signal: Signal,
    what: &str,
    program: &str,
) -> Result<(Pid, mpsc::Receiver<()>), String> {
    // SAFETY: prctl is async-signal-safe and touches no Rust state.
    unsafe {
        command
            .pre_exec(move || nix::sys::prctl::set_pdeathsig(signal).map_err(std::io::Error::from));
    }
    let (pid_tx, pid_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("{what}-keeper"))
        .spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id()));
                let _ = child.wait();
                let _ = exit_tx.send(());
            }
            Err(e) => {
                let _ = pid_tx.send(Err(e));
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let pid = pid_rx
        .recv()
        .map_err(|_| format!("the {what} keeper thread died"))?
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    Ok((Pid::from_raw(pid as i32), exit_rx))
}

struct Account {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

/// PostgreSQL refuses to run as root: as root, run it as the `postgres`
/// account that Debian's package creates.
fn unprivileged_account() -> Result<Option<Account>, EmbeddedError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some(Account {
            uid: user.uid,
            gid: user.gid,
        })),
        _ => Err(fail(
            "PostgreSQL will not run as root and there is no 'postgres' account to run it as: \
             install the postgresql package or run tenantscope as a normal user",
        )),
    }
}

fn as_account(command: &mut Command, account: &Option<Account>) {
    if let Some(account) = account {
        command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
        command.env("HOME", "/tmp");
    }
}

/// Finds initdb and postgres: on PATH first, else the newest
/// /usr/lib/postgresql/*/bin (Debian installs them off PATH).
pub fn find_binaries() -> Result<PathBuf, EmbeddedError> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in on_path {
        if dir.join("initdb").is_file() {
            let resolved = std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir);
            if resolved.join("postgres").is_file() {
                return Ok(resolved);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        fail(
            "no PostgreSQL server binaries (initdb, postgres) found on PATH or under \
             /usr/lib/postgresql: install them (Debian: apt-get install postgresql) or point \
             tenantscope at a running server with --database-url or DATABASE_URL",
        )
    })
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .to_string()
}
