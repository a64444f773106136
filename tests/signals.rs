//! Signals, panics and temporary directories: the real binary on the demo
//! server, under a pseudo-terminal (util-linux `script`), as a user runs it.
//! Every wait has a generous deadline that fails the test rather than hang.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tenantscope::embedded::{remove_stale_dirs, PgServer, DIR_PREFIX, OWNER_FILE};

const DEADLINE: Duration = Duration::from_secs(90);
const ENTER: &str = "\u{1b}[?1049h";
const LEAVE: &str = "\u{1b}[?1049l";
const SHOW_CURSOR: &str = "\u{1b}[?25h";
const MOUSE_OFF: &str = "\u{1b}[?1000l";
const MOUSE_ON: &str = "\u{1b}[?1000h";

/// tenantscope on a pseudo-terminal, with a temporary directory of its own.
struct Session {
    script: Child,
    output: mpsc::Receiver<Vec<u8>>,
    screen: Vec<u8>,
    tmp: tempfile::TempDir,
    ended: bool,
}

impl Session {
    fn start(args: &str, env: &[(&str, &str)]) -> Session {
        let tmp = tempfile::tempdir().unwrap();
        // A pseudo-terminal starts at 0×0: give it a size first. `exec`, so
        // that script's child is tenantscope itself.
        let command = format!(
            "stty cols 120 rows 30; exec {} {args}",
            env!("CARGO_BIN_EXE_tenantscope")
        );
        let mut script = Command::new("script");
        script.env("XDG_CACHE_HOME", "/dev/null");
        script
            .args(["-qefc", &command, "/dev/null"])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env("TMPDIR", tmp.path())
            .env("RUST_BACKTRACE", "0")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        // Nothing from this machine names a database.
        for (key, _) in std::env::vars() {
            if key.starts_with("PG") || key.starts_with("TENANTSCOPE_") {
                script.env_remove(key);
            }
        }
        for (key, value) in env {
            script.env(key, value);
        }
        let mut script = script.spawn().expect("run script(1)");
        let mut stdout = script.stdout.take().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                if tx.send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Session {
            script,
            output,
            screen: Vec::new(),
            tmp,
            ended: false,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Reads the terminal until `check` holds on what was written after
    /// byte `from`.
    fn wait_for(&mut self, what: &str, from: usize, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !check(&String::from_utf8_lossy(
            &self.screen[from.min(self.screen.len())..],
        )) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.screen.extend(chunk),
                Err(_) => panic!("the terminal never showed {what}:\n{:?}", self.text()),
            }
        }
    }

    /// Reads the terminal to its end and returns tenantscope's exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.screen.extend(chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("tenantscope did not exit:\n{:?}", self.text())
                }
            }
        }
        self.ended = true;
        let status = self.script.wait().unwrap();
        status.code()
    }

    fn type_keys(&mut self, bytes: &[u8]) {
        let stdin = self.script.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// The private server's directory, once it exists.
    fn server_dir(&self) -> PathBuf {
        wait_until("the demo server's directory", || {
            std::fs::read_dir(self.tmp.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.join(OWNER_FILE).is_file())
        })
    }

    /// tenantscope's pid, from the owner record of its server directory.
    fn pid(&self) -> Pid {
        let record = std::fs::read_to_string(self.server_dir().join(OWNER_FILE)).unwrap();
        Pid::from_raw(record.split(' ').next().unwrap().parse().unwrap())
    }

    /// The postmaster's pid, once it runs.
    fn postgres_pid(&self) -> Pid {
        let pid_file = self.server_dir().join("data").join("postmaster.pid");
        wait_until("postmaster.pid", || {
            let text = std::fs::read_to_string(&pid_file).ok()?;
            text.lines().next()?.trim().parse().ok().map(Pid::from_raw)
        })
    }

    /// Asserts that nothing is left: no files, no process using them.
    fn assert_nothing_left(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(left, Vec::<PathBuf>::new(), "temporary files left");
        let users = processes_mentioning(self.tmp.path());
        assert_eq!(users, Vec::<String>::new(), "processes left");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed test must not leave a dashboard (and its server) running.
        if !self.ended {
            let _ = self.script.kill();
            if let Ok(record) = std::fs::read_to_string(self.server_dir_now().join(OWNER_FILE)) {
                if let Some(Ok(pid)) = record.split(' ').next().map(str::parse) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            let _ = self.script.wait();
        }
    }
}

impl Session {
    fn server_dir_now(&self) -> PathBuf {
        std::fs::read_dir(self.tmp.path())
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path())
            .unwrap_or_default()
    }
}

/// Polls `probe` (a file or a process state, which send no event) until it
/// yields, failing after the deadline.
fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `signal` waits, unread, for the process `pid`.
fn pending(pid: Pid, signal: Signal) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let bit = 1u64 << (signal as i32 - 1);
    status
        .lines()
        .filter_map(|line| {
            line.strip_prefix("SigPnd:")
                .or(line.strip_prefix("ShdPnd:"))
        })
        .any(|mask| u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & bit != 0))
}

/// The state letter of a process (`T` stopped, `S` sleeping…), if it exists.
fn process_state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Command lines of live processes that name `path` (initdb -D, postgres -D).
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|cmd| String::from_utf8_lossy(&cmd).replace('\0', " "))
        .filter(|cmd| cmd.contains(needle))
        .collect()
}

fn gone(pid: Pid) -> bool {
    matches!(kill(pid, None), Err(nix::errno::Errno::ESRCH))
}

/// Whether `text` positions the cursor (`ESC [ row ; col H`): a frame being drawn.
fn moves_cursor(text: &str) -> bool {
    text.split("\u{1b}[").skip(1).any(|sequence| {
        let end = sequence.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|at| sequence[at..].starts_with('H'))
    })
}

/// The terminal, from the last time the dashboard left it, is back as it was.
fn assert_restored(screen: &str) {
    let entered = screen.rfind(ENTER).expect("the dashboard took the screen");
    let left = screen.rfind(LEAVE).expect("the alternate screen was left");
    assert!(entered < left, "left after the last entry: {screen:?}");
    assert!(screen[left..].contains(SHOW_CURSOR), "cursor shown");
    assert!(screen[entered..].contains(MOUSE_OFF), "mouse released");
}

/// The terminal restored and the demo server stopped as on `q`, and the
/// exit status and last line say which signal, as a command's do (it
/// exited 0, as if the user had quit).
fn quits_like_q_on(signal: Signal) {
    let mut session = Session::start("--demo", &[]);
    session.wait_for("the users list", 0, |s| s.contains("mid_dude"));
    let postgres = session.postgres_pid();
    kill(session.pid(), signal).unwrap();
    let code = session.wait_exit();
    let screen = session.text();
    assert_eq!(code, Some(128 + signal as i32), "{signal}: {screen:?}");
    assert!(
        screen.contains(&format!("tenantscope: interrupted by {signal}")),
        "{screen:?}"
    );
    assert_restored(&screen);
    assert!(gone(postgres), "the demo server was stopped");
    session.assert_nothing_left();
}

#[test]
fn no_mouse_leaves_the_mouse_to_the_terminal_and_esc_never_quits() {
    let mut session = Session::start("--demo --no-mouse", &[]);
    session.wait_for("the users list", 0, |s| s.contains("mid_dude"));
    // Esc at the whole list only says how to quit.
    session.type_keys(b"\x1b");
    // Only changed cells are written: look for the end of the message.
    session.wait_for("how to quit", 0, |s| s.contains("quits"));
    session.type_keys(b"q");
    assert_eq!(session.wait_exit(), Some(0));
    let screen = session.text();
    assert!(screen.contains(ENTER), "{screen:?}");
    assert!(!screen.contains(MOUSE_ON), "no mouse capture: {screen:?}");
    session.assert_nothing_left();
}

#[test]
fn sigint_quits_the_dashboard_like_q() {
    quits_like_q_on(Signal::SIGINT);
}

#[test]
fn sigquit_quits_the_dashboard_like_q() {
    quits_like_q_on(Signal::SIGQUIT);
}

#[test]
fn sigterm_quits_the_dashboard_like_q() {
    quits_like_q_on(Signal::SIGTERM);
}

#[test]
fn sighup_quits_the_dashboard_like_q() {
    quits_like_q_on(Signal::SIGHUP);
}

/// A subcommand (here `users` on the demo server, no database configured)
/// interrupted while the server starts: one line naming the signal, exit
/// 128 + its number, the server's directory and processes gone.
#[test]
fn a_subcommand_interrupted_says_so_exits_128_plus_the_signal_and_cleans_up() {
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let mut session = Session::start("users", &[]);
        // initdb is writing the cluster.
        let data = session.server_dir().join("data");
        wait_until("initdb at work", || data.is_dir().then_some(()));
        kill(session.pid(), signal).unwrap();
        let exit = session.wait_exit();
        let screen = session.text();
        assert_eq!(exit, Some(code), "{signal}: {screen:?}");
        assert!(
            screen.contains(&format!("tenantscope: interrupted by {signal}")),
            "{screen:?}"
        );
        assert!(!screen.contains("mid_dude"), "no users listed: {screen:?}");
        session.assert_nothing_left();
    }
}

/// The dashboard follows NO_COLOR (README): no colour is written, while an
/// empty NO_COLOR (as if unset) leaves the colours on.
#[test]
fn no_color_drops_the_dashboards_colours() {
    let colour = |screen: &str| {
        screen.split("\u{1b}[").skip(1).any(|sequence| {
            let end = sequence
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(sequence.len());
            sequence[end..].starts_with('m')
                && sequence[..end].split(';').any(|p| {
                    matches!(
                        p.parse::<u32>(),
                        Ok(30..=37 | 40..=47 | 90..=97 | 100..=107)
                    ) || p == "38"
                        || p == "48"
                })
        })
    };
    for (no_color, coloured) in [("", true), ("1", false)] {
        let mut session = Session::start("--demo", &[("NO_COLOR", no_color)]);
        session.wait_for("the users list", 0, |s| s.contains("mid_dude"));
        session.type_keys(b"q");
        assert_eq!(session.wait_exit(), Some(0));
        let screen = session.text();
        assert_eq!(
            colour(&screen),
            coloured,
            "NO_COLOR={no_color:?}: {screen:?}"
        );
        session.assert_nothing_left();
    }
}

/// Each printed character with the SGR attributes the terminal has when it
/// arrives (bold 1, dim 2, underline 4, reverse 7), as a terminal applies
/// them: an empty or 0 parameter resets all. Any other escape sequence (a
/// cursor move) is a break, written as '\n'.
fn attributed(stream: &str) -> Vec<(char, [bool; 4])> {
    let mut attrs = [false; 4];
    let mut out = Vec::new();
    let mut chars = stream.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            if !c.is_control() {
                out.push((c, attrs));
            }
            continue;
        }
        if chars.peek() != Some(&'[') {
            chars.next();
            out.push(('\n', attrs));
            continue;
        }
        chars.next();
        let mut params = String::new();
        let mut end = ' ';
        for c in chars.by_ref() {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                end = c;
                break;
            }
            params.push(c);
        }
        if end != 'm' {
            out.push(('\n', attrs));
            continue;
        }
        for param in params.split(';') {
            match param {
                "" | "0" => attrs = [false; 4],
                "1" => attrs[0] = true,
                "2" => attrs[1] = true,
                "4" => attrs[2] = true,
                "7" => attrs[3] = true,
                "22" => (attrs[0], attrs[1]) = (false, false),
                "24" => attrs[2] = false,
                "27" => attrs[3] = false,
                _ => {}
            }
        }
    }
    out
}

/// The attributes each character of the first `word` written had.
fn attributes_of(stream: &[(char, [bool; 4])], word: &str) -> Vec<[bool; 4]> {
    let text: Vec<char> = stream.iter().map(|(c, _)| *c).collect();
    let word: Vec<char> = word.chars().collect();
    let at = text
        .windows(word.len())
        .position(|w| w == word.as_slice())
        .unwrap_or_else(|| panic!("{word:?} never written"));
    stream[at..at + word.len()]
        .iter()
        .map(|(_, a)| *a)
        .collect()
}

/// Under NO_COLOR the dashboard keeps its meaning in attributes: the
/// selected row is reversed, headers bold and underlined, and nothing else
/// inherits them. (Colour sequences, which crossterm turns into bare resets
/// under NO_COLOR, used to wipe the selection's attributes: mutation-checked
/// by drawing without `to_monochrome`.)
#[test]
fn no_color_keeps_the_selection_and_emphasis_in_attributes() {
    const BOLD: usize = 0;
    const UNDERLINE: usize = 2;
    const REVERSE: usize = 3;
    let mut session = Session::start("--demo", &[("NO_COLOR", "1")]);
    session.wait_for("the orders", 0, |s| s.contains("Tesla"));
    session.type_keys(b"q");
    assert_eq!(session.wait_exit(), Some(0));
    let screen = session.text();
    let stream = attributed(&screen);
    for attrs in attributes_of(&stream, "mid_dude     m@gmail.com") {
        assert!(attrs[REVERSE], "the selected user is reversed: {screen:?}");
    }
    for header in ["Mail", "Tenant", "Item", "Qty"] {
        for attrs in attributes_of(&stream, header) {
            assert!(attrs[BOLD] && attrs[UNDERLINE], "{header}: {screen:?}");
            assert!(!attrs[REVERSE], "{header}: {screen:?}");
        }
    }
    for plain in ["poor_dude", "Tesla", "p@gmail.com"] {
        for attrs in attributes_of(&stream, plain) {
            assert_eq!(attrs, [false; 4], "{plain} is plain: {screen:?}");
        }
    }
    session.assert_nothing_left();
}

/// A TCP server that accepts connections and never answers.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn the_dashboard_draws_connecting_at_once_and_q_quits_while_it_waits() {
    let port = silent_server().to_string();
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "app"),
        ("PGCONNECT_TIMEOUT", "600"),
    ];
    let mut session = Session::start("", &env);
    // The terminal gets words with cursor moves between them.
    let target = format!("app@127.0.0.1:{port}/app…");
    session.wait_for("connecting…", 0, |s| {
        s.contains(" Connecting ") && s.contains("connecting") && s.contains(&target)
    });
    session.type_keys(b"q");
    let code = session.wait_exit();
    let screen = session.text();
    assert_eq!(code, Some(0), "{screen:?}");
    assert_restored(&screen);
}

#[test]
fn a_failed_first_load_shows_a_retry_prompt_and_quitting_reports_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    drop(listener);
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "app"),
    ];
    let mut session = Session::start("", &env);
    // Only changed cells are written: the prompt's row is blank before it
    // shows, so its words arrive whole (with cursor moves between them).
    session.wait_for("the retry prompt", 0, |s| s.contains("retry,"));
    let after_first = session.screen.len();
    session.type_keys(b"r");
    // Connecting again blanks the row; the second failure writes it again.
    session.wait_for("the prompt again", after_first, |s| s.contains("retry,"));
    session.type_keys(b"q");
    let code = session.wait_exit();
    let screen = session.text();
    assert_eq!(code, Some(1), "{screen:?}");
    assert_restored(&screen);
    let after = &screen[screen.rfind(LEAVE).unwrap()..];
    let expected = format!("tenantscope: cannot connect to app@127.0.0.1:{port}/app");
    assert!(after.contains(&expected), "{after:?}");
}

#[test]
fn ctrl_z_and_sigtstp_suspend_with_the_terminal_restored_and_redraw_on_resume() {
    let mut session = Session::start("--demo", &[]);
    session.wait_for("the users list", 0, |s| s.contains("mid_dude"));
    let me = session.pid();
    let postgres = session.postgres_pid();
    let script = Pid::from_raw(session.script.id() as i32);
    for suspend in ["Ctrl-Z", "SIGTSTP"] {
        // script(1) learns of its child's stops through SIGCHLD, which does
        // not queue: a stop notice sent while the previous one (the child
        // continued) is still unread merges into it and is lost, and script
        // would never stop. On a busy machine script reads late.
        wait_until("script(1) to read its child's last notice", || {
            (!pending(script, Signal::SIGCHLD)).then_some(())
        });
        let before = session.screen.len();
        match suspend {
            "Ctrl-Z" => session.type_keys(b"\x1a"),
            _ => kill(me, Signal::SIGTSTP).unwrap(),
        }
        wait_until("tenantscope stopped", || {
            (process_state(me) == Some('T')).then_some(())
        });
        // While stopped, the terminal is back in its ordinary mode.
        let termios = Command::new("stty")
            .args(["-a", "-F", &format!("/proc/{me}/fd/0")])
            .output()
            .unwrap();
        let termios = String::from_utf8_lossy(&termios.stdout);
        let modes: Vec<&str> = termios.split([' ', ';', '\n']).collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(modes.contains(&mode), "{suspend}: raw mode off: {termios}");
        }
        let state = process_state(postgres);
        assert!(
            state.is_some_and(|s| s != 'T'),
            "{suspend}: the demo server keeps running ({state:?})"
        );
        // What `fg` does. script(1) stops along with its child, like a shell
        // holding the job, and continues it when continued itself. It stops
        // a moment after its child: continued before that, it would stop
        // afterwards and relay nothing more.
        wait_until("script(1) stopped with it", || {
            (process_state(script) == Some('T')).then_some(())
        });
        kill(script, Signal::SIGCONT).unwrap();
        kill(me, Signal::SIGCONT).unwrap();
        session.wait_for("the dashboard back, drawn in full", before, |s| {
            let Some(left) = s.find(LEAVE) else {
                return false;
            };
            let restored = &s[left..];
            let Some(entered) = restored.find(ENTER) else {
                return false;
            };
            restored[..entered].contains(SHOW_CURSOR)
                && s[..entered + left].contains(MOUSE_OFF)
                && restored[entered..].contains(MOUSE_ON)
                && restored[entered..].contains("mid_dude")
        });
    }
    session.type_keys(b"q");
    assert_eq!(session.wait_exit(), Some(0), "{:?}", session.text());
    assert_restored(&session.text());
    session.assert_nothing_left();
}

#[test]
fn q_ctrl_c_or_sigint_while_the_demo_starts_quit_and_leave_nothing() {
    for how in ["q", "Ctrl-C at the terminal", "kill -INT"] {
        let mut session = Session::start("--demo", &[]);
        // The dashboard draws before the demo server is up, and says why
        // it waits (words arrive with cursor moves between them).
        session.wait_for("the starting screen", 0, |s| {
            s.contains(ENTER) && s.contains("starting") && s.contains("database…")
        });
        // initdb is writing the cluster.
        let data = session.server_dir().join("data");
        wait_until("initdb at work", || data.is_dir().then_some(()));
        match how {
            "q" => session.type_keys(b"q"),
            "kill -INT" => kill(session.pid(), Signal::SIGINT).unwrap(),
            _ => session.type_keys(b"\x03"),
        }
        let code = session.wait_exit();
        let screen = session.text();
        // A signal says so in the exit status (130); keys quit.
        let expected = if how == "kill -INT" { 130 } else { 0 };
        assert_eq!(code, Some(expected), "{how} quits like q: {screen:?}");
        assert_restored(&screen);
        assert!(
            !screen.contains("mid_dude"),
            "{how}: quit before the demo opened"
        );
        session.assert_nothing_left();
    }
}

#[test]
fn a_panicking_background_task_ends_the_dashboard_with_the_report_after_the_restore() {
    // On a configured database the task panics sooner after the first
    // frame than on the demo (whose server starts meanwhile): the loop
    // ended the process before the hook had written the report.
    task_panic_reported("--demo");
    // On a configured database, with stderr to a file, the task panicked
    // soon enough after the first frame for the event loop to end the
    // process before the hook had written the report: it was lost.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(tenantscope::embedded::testing::TestDatabase::reference());
    let logs = tempfile::tempdir().unwrap();
    let (log, err) = (logs.path().join("log"), logs.path().join("err"));
    let mut session = Session::start(
        &format!(
            "--database-url {} --log-file {} 2>{}",
            db.url,
            log.display(),
            err.display()
        ),
        &[("TS_TEST_PANIC", "task")],
    );
    assert_eq!(session.wait_exit(), Some(1));
    let err = std::fs::read_to_string(&err).unwrap();
    let report = err.find("test-triggered panic in a background task");
    let ending = err.find("dashboard failed: a background task panicked");
    assert!(report.is_some() && report < ending, "{err}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("test-triggered panic"), "{logged}");
}

fn task_panic_reported(source: &str) {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("tenantscope.log");
    let mut session = Session::start(
        &format!("{source} --log-file {}", log.display()),
        &[("TS_TEST_PANIC", "task")],
    );
    let code = session.wait_exit();
    let screen = session.text();
    assert_eq!(code, Some(1), "{screen:?}");
    let left = screen.rfind(LEAVE).expect("the alternate screen was left");
    let report = screen
        .find("test-triggered panic in a background task")
        .expect("the report is printed");
    assert!(left < report, "restored before the report: {screen:?}");
    assert!(screen[left..].contains(SHOW_CURSOR));
    assert!(
        !screen[left..].contains(ENTER) && !moves_cursor(&screen[report..]),
        "nothing drawn over the report: {screen:?}"
    );
    let ending = screen[report..]
        .find("dashboard failed: a background task panicked")
        .expect("the dashboard says why it ended, after the report");
    // Its one line is the last thing written, and points at the report.
    let (line, rest) = screen[report + ending..]
        .split_once('\n')
        .unwrap_or((&screen[report + ending..], ""));
    assert!(line.trim_end().ends_with("(report above)"), "{line:?}");
    assert!(rest.trim().is_empty(), "nothing after the ending: {rest:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("test-triggered panic in a background task"),
        "the report is logged: {logged}"
    );
    session.assert_nothing_left();
}

#[test]
fn a_killed_tenantscope_leaves_a_directory_that_the_next_start_removes() {
    let mut session = Session::start("--demo", &[]);
    session.wait_for("the users list", 0, |s| s.contains("mid_dude"));
    let postgres = session.postgres_pid();
    let stale = session.server_dir();
    kill(session.pid(), Signal::SIGKILL).unwrap();
    session.wait_exit();
    // The kernel stops the server with its parent (PR_SET_PDEATHSIG).
    wait_until("the orphaned server to exit", || {
        gone(postgres).then_some(())
    });
    assert!(stale.is_dir(), "SIGKILL leaves the directory");

    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["--demo", "tenants", "--format", "json"])
        .env("TMPDIR", session.tmp.path())
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    session.assert_nothing_left();
}

/// `pid start-time` of a process, as the owner record holds it.
fn identity(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    format!("{pid} {}", after.split_whitespace().nth(19).unwrap())
}

#[test]
fn only_directories_of_dead_owners_without_a_live_server_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let me = std::process::id();
    let make = |name: &str, owner: Option<String>, postmaster: Option<u32>| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        if let Some(owner) = owner {
            std::fs::write(dir.join(OWNER_FILE), owner + "\n").unwrap();
        }
        if let Some(pid) = postmaster {
            std::fs::write(dir.join("data/postmaster.pid"), format!("{pid}\n/x\n")).unwrap();
        }
        dir
    };
    let dead_owner = make(
        &format!("{DIR_PREFIX}dead"),
        Some(format!("{dead} 12345")),
        None,
    );
    // Our pid with another start time: the pid of a dead owner, reused.
    let reused = make(
        &format!("{DIR_PREFIX}reused"),
        Some(format!("{me} 1")),
        None,
    );
    let dead_server = make(
        &format!("{DIR_PREFIX}deadserver"),
        Some(format!("{dead} 12345")),
        Some(dead),
    );
    let live = make(&format!("{DIR_PREFIX}live"), Some(identity(me)), None);
    let live_server = make(
        &format!("{DIR_PREFIX}liveserver"),
        Some(format!("{dead} 12345")),
        Some(me),
    );
    let unowned = make(&format!("{DIR_PREFIX}unowned"), None, None);
    let other = make("something-else", Some(format!("{dead} 12345")), None);

    let mut removed = remove_stale_dirs(tmp.path());
    removed.sort();
    let mut expected = vec![dead_owner.clone(), reused.clone(), dead_server.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    for dir in [dead_owner, reused, dead_server] {
        assert!(!dir.exists(), "{} removed", dir.display());
    }
    for dir in [live, live_server, unowned, other] {
        assert!(dir.is_dir(), "{} kept", dir.display());
    }
}

#[test]
fn a_server_records_its_owner_and_leaves_nothing_when_stopped() {
    let server = PgServer::start().expect("start a private server");
    let dir = server.socket_dir().to_path_buf();
    assert!(dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with(DIR_PREFIX));
    let owner = std::fs::read_to_string(dir.join(OWNER_FILE)).unwrap();
    assert_eq!(owner.trim(), identity(std::process::id()));
    // A live owner's directory survives another start's clean-up.
    let parent = dir.parent().unwrap();
    assert!(!remove_stale_dirs(parent).contains(&dir));
    drop(server);
    assert!(!dir.exists(), "the directory is removed with the server");
    assert_eq!(processes_mentioning(&dir), Vec::<String>::new());
}

/// Uses the process-wide test server that every test file shares.
#[tokio::test]
async fn the_shared_test_server_answers() {
    let db = tenantscope::embedded::testing::TestDatabase::empty().await;
    assert_eq!(db.query_text("SELECT 'up'").await, "up");
}

#[test]
fn a_test_process_leaves_nothing_in_the_temporary_directory() {
    // This test binary again, running one test on the shared test server,
    // which is stopped when the process exits.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_shared_test_server_answers",
            "--test-threads=1",
        ])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("1 passed"), "the test ran: {report}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(processes_mentioning(tmp.path()), Vec::<String>::new());
}

/// Every process of a server (the postmaster and its children): stopped
/// (`SIGSTOP`) or continued together.
fn server_processes(server: &PgServer) -> Vec<Pid> {
    let pid_file = server.socket_dir().join("data").join("postmaster.pid");
    let text = std::fs::read_to_string(pid_file).unwrap();
    let postmaster: i32 = text.lines().next().unwrap().trim().parse().unwrap();
    let mut pids = vec![Pid::from_raw(postmaster)];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        if after.split_whitespace().nth(1) == Some(&postmaster.to_string()) {
            pids.push(Pid::from_raw(pid));
        }
    }
    pids
}

/// A frozen server (every process stopped) until dropped.
struct Frozen(Vec<Pid>);

impl Frozen {
    fn freeze(server: &PgServer) -> Frozen {
        let pids = server_processes(server);
        for pid in &pids {
            kill(*pid, Signal::SIGSTOP).unwrap();
        }
        for pid in &pids {
            wait_until("a server process stopped", || {
                matches!(process_state(*pid), Some('T') | None).then_some(())
            });
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = kill(*pid, Signal::SIGCONT);
        }
    }
}

/// A private server loaded like the demo (its database `demo`).
fn demo_server() -> PgServer {
    let server = PgServer::start().expect("start a private server");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect_with(&server.connect_options("postgres"))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE DATABASE demo")
            .execute(&mut admin)
            .await
            .unwrap();
        let mut demo = sqlx::PgConnection::connect_with(&server.connect_options("demo"))
            .await
            .unwrap();
        for (_, sql) in tenantscope::embedded::DEMO_SQL {
            sqlx::raw_sql(sql).execute(&mut demo).await.unwrap();
        }
    });
    server
}

/// The quit guarantee: whatever the server does (here: every one of its
/// processes stopped while the basket loads), `q`, Ctrl-C and SIGTERM end
/// the dashboard within a second, the terminal restored.
#[test]
fn q_ctrl_c_and_sigterm_quit_within_a_second_while_the_server_is_frozen() {
    let server = demo_server();
    let url = server.url("demo");
    for how in ["q", "Ctrl-C at the terminal", "kill -TERM"] {
        let mut session = Session::start("", &[("DATABASE_URL", url.as_str())]);
        // mid_dude's orders: drawn once the tenant catalogue is read, which
        // `b` waits for (frozen before it, the basket never opens: a busy
        // machine drew the users list and froze the server before it).
        session.wait_for("mid_dude's orders", 0, |s| s.contains("Tesla"));
        let frozen = Frozen::freeze(&server);
        let before = session.screen.len();
        session.type_keys(b"b");
        // The basket's own loading line, drawn whole when the view opens;
        // the status line's "pricing the basket" may arrive in pieces
        // (ratatui rewrites only the cells that differ from "loading orders").
        session.wait_for("the basket loading", before, |s| {
            s.contains("Pricing the basket")
        });
        let me = Pid::from_raw(session.script.id() as i32);
        let asked = Instant::now();
        match how {
            "q" => session.type_keys(b"q"),
            "kill -TERM" => kill(
                Pid::from_raw(
                    std::fs::read_to_string(format!("/proc/{me}/task/{me}/children"))
                        .unwrap()
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap(),
                ),
                Signal::SIGTERM,
            )
            .unwrap(),
            _ => session.type_keys(b"\x03"),
        }
        let code = session.wait_exit();
        let took = asked.elapsed();
        drop(frozen);
        let screen = session.text();
        assert!(
            took < Duration::from_secs(1),
            "{how} with the server frozen took {took:?}"
        );
        // A signal says so in the exit status (143); keys quit.
        let expected = if how == "kill -TERM" { 143 } else { 0 };
        assert_eq!(code, Some(expected), "{how} quits like q: {screen:?}");
        assert_restored(&screen);
    }
}

/// On a terminal, `--compare` naming no tenant is refused before the
/// dashboard is drawn, in one line with exit 2, as `--user` is. The
/// dashboard was drawn, said "Not connected", and offered a retry that
/// could never succeed.
#[test]
fn an_unknown_compare_tenant_on_a_terminal_exits_2_before_drawing() {
    let mut session = Session::start("--demo --compare nope", &[]);
    let exit = session.wait_exit();
    let screen = session.text();
    assert_eq!(exit, Some(2), "{screen:?}");
    assert!(
        screen.contains("tenantscope: unknown tenant: \"nope\""),
        "{screen:?}"
    );
    assert!(!screen.contains("Not connected"), "{screen:?}");
    assert!(!moves_cursor(&screen), "never drawn: {screen:?}");
    session.assert_nothing_left();
}

/// The profile picker offers the built-in demo: from a configured profile
/// to the demo (its server started only then) and back to the profile;
/// quitting stops that server and leaves nothing.
#[test]
fn the_picker_goes_from_a_profile_to_the_demo_and_back() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(tenantscope::embedded::testing::TestDatabase::reference());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let toml = format!("[profiles.ref.database]\nurl = {:?}\n", db.url);
    std::fs::write(&config, toml).unwrap();
    let args = format!("--config {} --profile ref", config.display());
    let mut session = Session::start(&args, &[]);
    session.wait_for("the profile's users", 0, |s| s.contains("poor_dude"));
    assert!(
        !session.tmp.path().read_dir().unwrap().any(|_| true),
        "no demo server before it is chosen"
    );
    let mark = session.screen.len();
    session.type_keys(b"P");
    session.wait_for("the picker", mark, |s| {
        plain(s).contains("demo the built-in demo database")
    });
    // (Frames are drawn as differences: a row new on screen is whole.)
    session.type_keys(b"demo\r");
    session.wait_for("the demo's users", mark, |s| {
        plain(s).contains("starting the demo database…") && s.contains("stray_dude")
    });
    session.type_keys(b"P");
    session.wait_for("the picker again", mark, |s| {
        s.matches("Profiles · type to filter").count() == 2
    });
    let mark = session.screen.len();
    session.type_keys(b"ref\r");
    session.wait_for("the profile again", mark, |s| {
        plain(s).contains("connecting to tenantscope@") && s.contains("poor_dude")
    });
    session.type_keys(b"q");
    let code = session.wait_exit();
    let screen = session.text();
    assert_eq!(code, Some(0), "{screen:?}");
    assert_restored(&screen);
    session.assert_nothing_left();
}

/// What a stream of frames writes, as text: colours dropped, a cursor move
/// (between words the frame did not change) read as one space.
fn plain(stream: &str) -> String {
    let mut out = String::new();
    let mut rest = stream;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(after.len().saturating_sub(1));
        if !after[end..].starts_with('m') {
            out.push(' ');
        }
        rest = &after[(end + 1).min(after.len())..];
    }
    out.push_str(rest);
    out
}

/// Whether the pipe read at `pipe` holds all it can (its writer blocks).
fn full(pipe: &impl std::os::fd::AsRawFd) -> bool {
    let fd = pipe.as_raw_fd();
    let mut unread: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one int where it is told; F_GETPIPE_SZ
    // takes no argument.
    let (done, capacity) = unsafe {
        (
            nix::libc::ioctl(fd, nix::libc::FIONREAD, &mut unread),
            nix::libc::fcntl(fd, nix::libc::F_GETPIPE_SZ),
        )
    };
    assert!(done == 0 && capacity > 0, "FIONREAD, F_GETPIPE_SZ");
    unread >= capacity
}

/// A command whose reader stops reading (a pager left open) blocks
/// writing its output. A signal still ends it: one line naming it, exit
/// 128 + its number, and its server session (a cursor held open) gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_blocked_on_its_output_still_ends_on_a_signal() {
    let db = tenantscope::embedded::testing::TestDatabase::demo().await;
    db.run_sql(
        "INSERT INTO client1.orders (id, user_id, item_id, quantity)
              SELECT 'bulk' || n, '1', '1', 1 FROM generate_series(1, 20000) n;",
    )
    .await;
    let sessions = "SELECT count(*)::text FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name LIKE 'tenantscope%'";
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let (reader, writer) = std::io::pipe().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
            .args(["--database-url", &db.url, "orders", "1", "--format", "csv"])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env("XDG_CACHE_HOME", "/dev/null")
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The pipe full: the command waits to write.
        wait_until("the pipe full", || full(&reader).then_some(()));
        let pid = Pid::from_raw(child.id() as i32);
        kill(pid, signal).unwrap();
        let exit = wait_until("the command's exit", || child.try_wait().unwrap());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(exit.code(), Some(code), "{signal}: {err}");
        assert_eq!(err, format!("tenantscope: interrupted by {signal}\n"));
        drop(reader);
        let deadline = Instant::now() + DEADLINE;
        while db.query_text(sessions).await != "0" {
            assert!(Instant::now() < deadline, "{signal}: its session stayed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
