//! Directories left by a private server whose owner was killed outright
//! (SIGKILL): each records its owner, and the next start removes those
//! whose owner and server are both gone.

use std::path::{Path, PathBuf};

use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::{fail, EmbeddedError};

/// Names the private servers' directories in the temporary directory.
pub const DIR_PREFIX: &str = "tenantscope-pg-";
/// The file in such a directory that names the process that made it.
pub const OWNER_FILE: &str = "owner";

/// A process as `pid start-time` (the start time, from /proc/PID/stat, tells
/// a reused pid from the process that once had it).
fn process_identity(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from
    // the last ')'. Field 3 is the state, field 22 the start time.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    if fields.first() == Some(&"Z") {
        return None; // a zombie has exited
    }
    Some(format!("{pid} {}", fields.get(19)?))
}

pub(super) fn write_owner(dir: &Path) -> Result<(), EmbeddedError> {
    let me = process_identity(std::process::id() as i32)
        .ok_or_else(|| fail("cannot read this process's start time from /proc"))?;
    let path = dir.join(OWNER_FILE);
    std::fs::write(&path, format!("{me}\n"))
        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

/// Whether the process recorded as `pid start-time` still runs.
fn owner_alive(record: &str) -> bool {
    let record = record.trim();
    let Some(pid) = record.split(' ').next().and_then(|p| p.parse::<i32>().ok()) else {
        return true; // unreadable: not ours to judge
    };
    process_identity(pid).as_deref() == Some(record)
}

/// Removes the private-server directories in `tmp` left by processes that
/// are gone (killed with SIGKILL, say): only those with an owner record
/// naming a dead process and no live postmaster. A directory without an
/// owner record may be one being made right now, so it is left alone.
/// Returns the directories removed.
pub fn remove_stale_dirs(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return removed;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let named = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(DIR_PREFIX));
        if !named || !entry.file_type().is_ok_and(|t| t.is_dir()) || !mine(&entry) {
            continue;
        }
        let Ok(owner) = std::fs::read_to_string(path.join(OWNER_FILE)) else {
            continue;
        };
        if owner_alive(&owner) || postmaster_alive(&path.join("data")) {
            continue;
        }
        // Another process may be removing it at the same moment: errors are fine.
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Only our own directories (root's servers run as postgres, so root may
/// tidy those too): another user's are never ours to remove.
fn mine(entry: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid();
    me.is_root() || entry.metadata().is_ok_and(|m| m.uid() == me.as_raw())
}

/// Whether data/postmaster.pid names a process that still exists.
fn postmaster_alive(data: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        return false;
    };
    match text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    {
        // EPERM: it exists, as another user (postgres when we are root).
        Some(pid) if pid > 0 => !matches!(
            kill(Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        ),
        _ => true, // being written, or unreadable: leave it
    }
}
