//! The edge: the event loop, on the real terminal (see `terminal`) or a test
//! backend, with effects carried out as tasks. The UI never awaits I/O.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::{Frame, Terminal};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::clipboard::Clipboard;
use super::connect::{self, Connector};
use super::msg::Msg;
use super::state::State;
use super::tasks::Executor;
use super::terminal::{
    enter_terminal, lock_terminal, restore_terminal, set_mouse_capture, spawn_input_thread,
    spawn_signal_task, suspend_to_shell, Edge, DRAWING_THREAD, PANICKED, PANIC_WAKE,
};
pub use super::terminal::{install_panic_hook, Signals};
use super::update::{init, update};
use crate::db::Database;
use crate::Failure;

/// Spinner speed while something loads; idle, the loop wakes this rarely.
const BUSY_TICK: Duration = Duration::from_millis(100);
const IDLE_TICK: Duration = Duration::from_secs(5);
/// How long a frame waits for the answer of a load started at once.
const STALE_FRAME: Duration = Duration::from_millis(16);
/// Loads that chain (a search's batches) each answering within
/// STALE_FRAME would hold every frame back: a change waits no longer than
/// this to be drawn.
const MAX_FRAME_GAP: Duration = Duration::from_millis(50);

/// The event loop on a terminal of the caller's (tests): draw, wait for
/// input, a task result or a tick, update, run effects; no suspend or
/// continue edges. `draw` renders the state into a frame (the binary and
/// the tests pass `ui::screen()`: the loop knows no screen); `on_frame` sees
/// every drawn frame (tests watch it). Ends with the state and the
/// database last open.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: State,
    backing: Backing,
    events: UnboundedReceiver<Msg>,
    draw: impl FnMut(&State, &mut Frame),
    on_frame: impl FnMut(&Buffer),
) -> io::Result<(State, Option<Database>)> {
    let (_edges_tx, edges) = unbounded_channel();
    drive(
        terminal,
        state,
        backing,
        (events, edges),
        draw,
        on_frame,
        |_| Ok(()),
    )
    .await
}

/// What the loop's effects reach: the database open at start (if any), how
/// to connect to another (start-up, retry, profiles), and where copies and
/// exports go.
pub struct Backing {
    pub db: Option<Database>,
    pub connector: Option<Connector>,
    /// Tests read what was written.
    pub clipboard: Clipboard,
    /// `ui.export_dir` (None: the user's default).
    pub export_dir: Option<std::path::PathBuf>,
}

/// The loop of [`run_loop`] and [`run_terminal`] on `terminal`: its inputs are the messages
/// (keys, signals) and the terminal's edges (suspend, continue).
async fn drive<B: Backend>(
    terminal: &mut Terminal<B>,
    mut state: State,
    backing: Backing,
    (mut events, mut edges): (UnboundedReceiver<Msg>, UnboundedReceiver<Edge>),
    mut draw: impl FnMut(&State, &mut Frame),
    mut on_frame: impl FnMut(&Buffer),
    mut suspend: impl FnMut(&mut Terminal<B>) -> io::Result<()>,
) -> io::Result<(State, Option<Database>)> {
    let (results_tx, mut results) = unbounded_channel();
    // Exports and copies: they answer on whichever database is open then.
    let (lasting_tx, mut lasting) = unbounded_channel();
    let mut executor = Executor::new(backing.db, backing.connector, results_tx, backing.clipboard)
        .with_lasting(lasting_tx)
        .with_export_dir(backing.export_dir);
    let size = terminal.size()?;
    update(&mut state, Msg::Resize(size.width, size.height));
    for effect in init(&mut state) {
        executor.run(effect);
    }
    let refresh_at = |state: &State| {
        tokio::time::Instant::now() + state.session.refresh_every.unwrap_or(IDLE_TICK)
    };
    let mut next_refresh = refresh_at(&state);
    // A message taken while a frame waited (see STALE_FRAME): it goes
    // before the frame, which it would make stale.
    let mut carried: Option<Msg> = None;
    // Since when the screen lags the state (a frame held back), if it does.
    let mut held_since: Option<Instant> = None;
    loop {
        if carried.is_none() {
            let _terminal = lock_terminal();
            if PANICKED.load(Ordering::SeqCst) {
                // The hook restored the terminal and printed the report:
                // never draw over it.
                executor.cancel_all();
                return Err(io::Error::other(
                    "a background task panicked (report above)",
                ));
            }
            let frame = terminal.draw(|frame| draw(&state, frame))?;
            on_frame(frame.buffer);
            held_since = None;
        }
        // Test hook (debug builds only): prove the terminal survives a panic.
        #[cfg(debug_assertions)]
        if std::env::var_os("TS_TEST_PANIC").is_some_and(|v| v != "task") {
            panic!("test-triggered panic after the first frame");
        }
        if state.session.quit {
            break;
        }
        // The spinner turns while something loads, an export's read too.
        let tick = if state.is_busy() || state.export_reading() {
            BUSY_TICK
        } else {
            IDLE_TICK
        };
        let msg = if let Some(msg) = carried.take() {
            msg
        } else {
            // `ui.refresh_s`: reload what is on screen on an interval.
            let refresh = async {
                match state.session.refresh_every {
                    Some(_) => tokio::time::sleep_until(next_refresh).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(msg) = events.recv() => msg,
                () = refresh => {
                    next_refresh = refresh_at(&state);
                    Msg::Refresh
                }
                Some(msg) = results.recv() => msg,
                Some(msg) = lasting.recv() => msg,
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
            }
        };
        let pending = with_queued(msg, &mut events, [&mut results, &mut lasting]);
        let (started, at_once) = handle(&mut state, &mut executor, &mut results, pending);
        // A task spawned from here waits in this worker's queue until the
        // loop awaits: let it send its query before the frame is drawn, so
        // the draw overlaps the query instead of delaying it.
        if started {
            tokio::task::yield_now().await;
        }
        // A load started at once mostly answers within a frame's time: the
        // frame drawn meanwhile ("Loading…") would be stale at once, and its
        // draw would delay the answer's. So the frame waits for the answer
        // (or a key) that long, and is drawn if neither comes.
        if at_once && hold_frame(&mut held_since, Instant::now()) {
            tokio::select! {
                Some(msg) = results.recv() => carried = Some(msg),
                Some(msg) = events.recv() => carried = Some(msg),
                () = tokio::time::sleep(STALE_FRAME) => {}
            }
        }
    }
    executor.cancel_all();
    Ok((state, executor.into_db()))
}

/// `msg` and everything already queued (a key-repeat burst, results that
/// arrived meanwhile), taken before drawing: a frame that a queued message
/// would change at once is not worth its draw.
fn with_queued(
    msg: Msg,
    events: &mut UnboundedReceiver<Msg>,
    results: [&mut UnboundedReceiver<Msg>; 2],
) -> Vec<Msg> {
    let mut pending = vec![msg];
    while let Ok(msg) = events.try_recv() {
        pending.push(msg);
    }
    for results in results {
        while let Ok(msg) = results.try_recv() {
            pending.push(msg);
        }
    }
    pending
}

/// Updates the state with each message in turn and runs the effects;
/// returns whether a load started, and whether one started at once. A
/// connection's message brings its database: the executor uses it from
/// then on, with a new results channel. The old one is closed, once the
/// export reading it (if any) has answered (closing its pool failed the
/// export's next batch): parked in the executor till then.
fn handle(
    state: &mut State,
    executor: &mut Executor,
    results: &mut UnboundedReceiver<Msg>,
    pending: Vec<Msg>,
) -> (bool, bool) {
    let (mut started, mut at_once) = (false, false);
    for msg in pending {
        if let Some(db) = connect::adopted(state, &msg) {
            // Results of the old database's loads are dropped with
            // their channel: none can land in the new state.
            let (results_tx, fresh) = unbounded_channel();
            *results = fresh;
            executor.replace_db(db, results_tx);
        }
        for effect in update(state, msg) {
            at_once |= executor.run(effect);
            started = true;
        }
        if state.session.exporting.is_none() {
            executor.close_replaced();
        }
    }
    (started, at_once)
}

/// Whether a frame waits for a load started at once (see STALE_FRAME):
/// yes, unless the screen has lagged the state for MAX_FRAME_GAP already.
/// Counted from the first frame held back, not from the last one drawn: a
/// key after a rest would otherwise find the last frame long past and draw
/// the stale one at once.
fn hold_frame(held_since: &mut Option<Instant>, now: Instant) -> bool {
    now.saturating_duration_since(*held_since.get_or_insert(now)) < MAX_FRAME_GAP
}

/// The dashboard draws on a terminal: standard input and output must be
/// one, and the process must have a controlling terminal (crossterm reads
/// keys from /dev/tty). Else one clear line, not "No such device or
/// address (os error 6)".
fn needs_a_terminal() -> Result<(), Failure> {
    use std::io::IsTerminal;
    let missing = if !io::stdout().is_terminal() {
        Some("standard output is not a terminal")
    } else if !io::stdin().is_terminal() {
        Some("standard input is not a terminal")
    } else if std::fs::File::open("/dev/tty").is_err() {
        Some("there is no controlling terminal")
    } else {
        None
    };
    match missing {
        Some(why) => Err(Failure::usage(format!(
            "the dashboard needs a terminal ({why}); for scripts use a subcommand \
             (users, orders, health, …) or `tenantscope snapshot`"
        ))),
        None => Ok(()),
    }
}

/// Runs the dashboard on the real terminal until the user quits (or a
/// signal ends it like `q`).
pub async fn run_terminal(
    state: State,
    db: Option<Database>,
    connector: Connector,
    signals: Signals,
    mouse: bool,
    export_dir: Option<std::path::PathBuf>,
    draw: impl FnMut(&State, &mut Frame),
) -> Result<(), Failure> {
    needs_a_terminal()?;
    // Without capture, the terminal's own select-to-copy works.
    set_mouse_capture(mouse);
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
                Backing {
                    db,
                    connector: Some(connector),
                    clipboard: Clipboard::terminal(),
                    export_dir,
                },
                (rx, edges),
                draw,
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
    let (state, db) = result.map_err(|e| Failure::runtime(format!("dashboard failed: {e}")))?;
    // Never waits on the server on the way out (see `Database::let_go`).
    if let Some(db) = db {
        db.let_go().await;
    }
    // Ended by a signal: 128 + its number, as a command ends.
    if let Some(signal) = state.session.ended_by {
        return Err(Failure::interrupted(signal));
    }
    // Left without ever connecting: say why, with its exit code.
    match state.session.connect.failed_at_start() {
        Some(error) if error.usage => Err(Failure::usage(&error.message)),
        Some(error) => Err(Failure::runtime(&error.message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_waits_for_a_quick_answer_however_long_the_screen_rested() {
        let rested = Instant::now() + Duration::from_secs(10);
        let mut held_since = None;
        assert!(
            hold_frame(&mut held_since, rested),
            "the first key after a rest"
        );
        // Loads that chain: held while the screen lags less than the gap.
        let soon = rested + MAX_FRAME_GAP - Duration::from_millis(1);
        assert!(hold_frame(&mut held_since, soon));
        assert!(!hold_frame(&mut held_since, rested + MAX_FRAME_GAP));
    }
}
