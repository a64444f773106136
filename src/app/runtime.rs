//! The edge: terminal, input thread, signals, and the tasks that carry out
//! effects. The UI never awaits I/O; tasks report back with messages.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use super::clipboard::Clipboard;
use super::dashboard::PAGE_SIZE;
use super::msg::Msg;
use super::state::State;
use super::tasks::Executor;
use super::update::{init, update};
use crate::db::{choose_compare_tenant, Database, Page};
use crate::Failure;

/// Spinner speed while something loads; idle, the loop wakes this rarely.
const BUSY_TICK: Duration = Duration::from_millis(100);
const IDLE_TICK: Duration = Duration::from_secs(5);

/// Set by the panic hook; the event loop then ends without drawing again.
static PANICKED: AtomicBool = AtomicBool::new(false);
/// Wakes the event loop after a panic on another thread (a background task).
static PANIC_WAKE: Notify = Notify::const_new();
/// Whether the terminal is in the dashboard's state (raw mode, alternate
/// screen, mouse capture), so that restoring it happens once and only then.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Held while the terminal is written (a frame, a suspend), so a panic on
/// another thread restores it between frames, never in the middle of one.
static TERMINAL: Mutex<()> = Mutex::new(());
/// Whether the dashboard captures the mouse (`ui.mouse`, `--no-mouse`).
static MOUSE: AtomicBool = AtomicBool::new(true);
/// The thread that draws; a panic on it already holds [`TERMINAL`].
static DRAWING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Loads what the first frame needs, in a constant number of queries
/// (catalog, count, first page: nothing proportional to the data), and
/// checks the requested comparison tenant, so bad input fails before the
/// terminal is touched.
pub async fn initial_state(
    db: &Database,
    target: String,
    compare: Option<String>,
    debounce: Duration,
) -> Result<State, Failure> {
    let catalog = db.tenants().await?;
    if let Some(tenant) = &compare {
        choose_compare_tenant(&catalog, None, Some(tenant))?;
    }
    let count = db.user_count().await?;
    let first_page = db
        .users_page(None, &Page::First, PAGE_SIZE as i64, None)
        .await?;
    let mut state = State::new(target, catalog, count, first_page, compare);
    state.debounce = debounce;
    Ok(state)
}

/// What the terminal's owner asks of the event loop, besides messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Ctrl-Z or SIGTSTP: give the terminal back to the shell and stop.
    Suspend,
    /// SIGCONT: whatever was on the screen, draw everything again.
    Redraw,
}

/// The event loop: draw, wait for input, a task result or a tick, update,
/// run effects. `on_frame` sees every drawn frame (tests watch it).
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: State,
    db: Database,
    events: UnboundedReceiver<Msg>,
    on_frame: impl FnMut(&Buffer),
) -> io::Result<State> {
    run_loop_with(terminal, state, db, events, Clipboard::none(), on_frame).await
}

/// [`run_loop`], copying to `clipboard` (tests read what was written).
pub async fn run_loop_with<B: Backend>(
    terminal: &mut Terminal<B>,
    state: State,
    db: Database,
    events: UnboundedReceiver<Msg>,
    clipboard: Clipboard,
    on_frame: impl FnMut(&Buffer),
) -> io::Result<State> {
    let (_edges_tx, edges) = unbounded_channel();
    let parts = (db, clipboard);
    drive(terminal, state, parts, events, edges, on_frame, |_| Ok(())).await
}

async fn drive<B: Backend>(
    terminal: &mut Terminal<B>,
    mut state: State,
    (db, clipboard): (Database, Clipboard),
    mut events: UnboundedReceiver<Msg>,
    mut edges: UnboundedReceiver<Edge>,
    mut on_frame: impl FnMut(&Buffer),
    mut suspend: impl FnMut(&mut Terminal<B>) -> io::Result<()>,
) -> io::Result<State> {
    let (results_tx, mut results) = unbounded_channel();
    let mut executor = Executor::new(db, results_tx, clipboard);
    let size = terminal.size()?;
    update(&mut state, Msg::Resize(size.width, size.height));
    for effect in init(&mut state) {
        executor.run(effect);
    }
    let mut next_refresh = tokio::time::Instant::now() + state.refresh_every.unwrap_or(IDLE_TICK);
    loop {
        {
            let _terminal = lock_terminal();
            if PANICKED.load(Ordering::SeqCst) {
                // The hook restored the terminal and printed the report:
                // never draw over it.
                executor.cancel_all();
                return Err(io::Error::other(
                    "a background task panicked (report above)",
                ));
            }
            let frame = terminal.draw(|frame| crate::ui::view(&state, frame))?;
            on_frame(frame.buffer);
        }
        // Test hook (debug builds only): prove the terminal survives a panic.
        #[cfg(debug_assertions)]
        if std::env::var_os("TS_TEST_PANIC").is_some_and(|v| v != "task") {
            panic!("test-triggered panic after the first frame");
        }
        if state.quit {
            break;
        }
        let tick = if state.is_busy() {
            BUSY_TICK
        } else {
            IDLE_TICK
        };
        let refresh = async {
            match state.refresh_every {
                Some(_) => tokio::time::sleep_until(next_refresh).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            Some(msg) = events.recv() => msg,
            () = refresh => {
                next_refresh = tokio::time::Instant::now() + state.refresh_every.unwrap_or(IDLE_TICK);
                Msg::Refresh
            }
            Some(msg) = results.recv() => msg,
            Some(edge) = edges.recv() => {
                if edge == Edge::Suspend {
                    suspend(terminal)?;
                }
                // Back from the shell, or continued after a stop: the screen
                // holds something else; draw all of it, at its current size.
                terminal.clear()?;
                let size = terminal.size()?;
                Msg::Resize(size.width, size.height)
            }
            () = PANIC_WAKE.notified() => continue,
            _ = tokio::time::sleep(tick) => Msg::Tick,
        };
        let mut pending = vec![msg];
        // Take everything already queued (a key-repeat burst) before drawing.
        while let Ok(msg) = events.try_recv() {
            pending.push(msg);
        }
        // A result and its read time arrive together: draw them together.
        while let Ok(msg) = results.try_recv() {
            pending.push(msg);
        }
        for msg in pending {
            for effect in update(&mut state, msg) {
                executor.run(effect);
            }
        }
    }
    executor.cancel_all();
    Ok(state)
}

/// The terminal lock; the lock of a thread that panicked is still good.
fn lock_terminal() -> MutexGuard<'static, ()> {
    TERMINAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts the terminal in the dashboard's state.
fn enter_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
    crossterm::execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)?;
    if MOUSE.load(Ordering::SeqCst) {
        crossterm::execute!(io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// Gives the terminal back as it was (once: later calls do nothing).
fn restore_terminal() {
    if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Ctrl-Z: restores the terminal, stops this process (as the shell expects
/// of a job), and takes the terminal again once continued (`fg`).
fn suspend_to_shell<B: Backend>(terminal: &mut Terminal<B>) -> io::Result<()> {
    {
        let _terminal = lock_terminal();
        restore_terminal();
    }
    // SIGSTOP, not SIGTSTP: ours is caught (to get here), SIGSTOP cannot be.
    // The demo server runs in a process group of its own and keeps running.
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).map_err(io::Error::from)?;
    let _terminal = lock_terminal();
    enter_terminal()?;
    terminal.hide_cursor()
}

/// Installs the one panic hook: it restores the terminal first (if the
/// dashboard has it), then prints color-eyre's report to stderr as one
/// block, and logs it to the `--log-file` when there is one. Call once,
/// early, from `main`.
pub fn install_panic_hook() {
    use color_eyre::config::{HookBuilder, Theme};
    use std::io::IsTerminal;
    // Colours only on a terminal: a redirected stderr gets plain text.
    let styled = if io::stderr().is_terminal() {
        Theme::dark()
    } else {
        Theme::new()
    };
    let (to_stderr, _) = HookBuilder::default().theme(styled).into_hooks();
    let (to_log, _) = HookBuilder::default().theme(Theme::new()).into_hooks();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        {
            // The drawing thread holds the lock itself when it panics mid-frame.
            let on_drawing_thread = DRAWING_THREAD.get() == Some(&std::thread::current().id());
            let _terminal = (!on_drawing_thread).then(lock_terminal);
            restore_terminal();
        }
        let report = format!("{}\n", to_stderr.panic_report(info));
        // One write, so the block is not interleaved with other output.
        let _ = io::stderr().lock().write_all(report.as_bytes());
        tracing::error!("panic:\n{}", to_log.panic_report(info));
        PANIC_WAKE.notify_one();
    }));
}

/// The signals that end tenantscope in order: caught from start-up on (so an
/// interrupted demo start still removes its files), and by the dashboard.
pub struct Signals {
    interrupt: Signal,
    quit: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    /// Catches SIGINT, SIGQUIT, SIGTERM and SIGHUP from now on. Needs a
    /// tokio runtime.
    pub fn catch() -> io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The name of the next signal to arrive.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.quit.recv() => "SIGQUIT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

/// Reads terminal input on a thread of its own; ends when the loop is gone.
/// In raw mode Ctrl-Z is a key, not a signal: it suspends like one.
fn spawn_input_thread(tx: UnboundedSender<Msg>, edges: UnboundedSender<Edge>) {
    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
    std::thread::spawn(move || loop {
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => {
                let msg = match event::read() {
                    Ok(Event::Key(key))
                        if key.code == KeyCode::Char('z')
                            && key.modifiers.contains(KeyModifiers::CONTROL) =>
                    {
                        if key.kind == KeyEventKind::Press {
                            let _ = edges.send(Edge::Suspend);
                        }
                        continue;
                    }
                    Ok(Event::Key(key)) => Msg::Key(key),
                    Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
                    Ok(Event::Resize(width, height)) => Msg::Resize(width, height),
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
            Ok(false) if tx.is_closed() => break,
            Ok(false) => {}
            Err(_) => break,
        }
    });
}

/// SIGINT, SIGQUIT, SIGTERM and SIGHUP end the dashboard like `q`, so the
/// terminal is restored and the demo server stopped; SIGTSTP suspends it
/// like Ctrl-Z; SIGCONT redraws.
fn spawn_signal_task(
    tx: UnboundedSender<Msg>,
    edges: UnboundedSender<Edge>,
    mut signals: Signals,
) -> io::Result<()> {
    let mut stop = signal(SignalKind::from_raw(nix::libc::SIGTSTP))?;
    let mut resume = signal(SignalKind::from_raw(nix::libc::SIGCONT))?;
    tokio::spawn(async move {
        loop {
            let edge = tokio::select! {
                name = signals.recv() => {
                    tracing::info!(signal = name, "quitting on a signal");
                    let _ = tx.send(Msg::Terminate);
                    return;
                }
                _ = stop.recv() => Edge::Suspend,
                _ = resume.recv() => Edge::Redraw,
            };
            if edges.send(edge).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// Runs the dashboard on the real terminal until the user quits (or a
/// signal ends it like `q`).
pub async fn run_terminal(
    state: State,
    db: Database,
    signals: Signals,
    mouse: bool,
) -> Result<(), Failure> {
    // Without capture, the terminal's own select-to-copy works.
    MOUSE.store(mouse, Ordering::SeqCst);
    let _ = DRAWING_THREAD.set(std::thread::current().id());
    let setup = || -> io::Result<Terminal<CrosstermBackend<io::Stdout>>> {
        enter_terminal()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        terminal.hide_cursor()?;
        terminal.clear()?;
        Ok(terminal)
    };
    let mut terminal = match setup() {
        Ok(terminal) => terminal,
        Err(e) => {
            restore_terminal();
            return Err(Failure::runtime(format!("cannot set up the terminal: {e}")));
        }
    };
    let (tx, rx) = unbounded_channel();
    let (edges_tx, edges) = unbounded_channel();
    spawn_input_thread(tx.clone(), edges_tx.clone());
    let result = match spawn_signal_task(tx, edges_tx, signals) {
        Ok(()) => {
            drive(
                &mut terminal,
                state,
                (db, Clipboard::terminal()),
                rx,
                edges,
                |_| {},
                suspend_to_shell,
            )
            .await
        }
        Err(e) => Err(e),
    };
    {
        let _terminal = lock_terminal();
        restore_terminal();
    }
    result
        .map(|_| ())
        .map_err(|e| Failure::runtime(format!("dashboard failed: {e}")))
}
