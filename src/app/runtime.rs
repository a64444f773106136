//! The edge: terminal, input thread, signals, and the tasks that carry out
//! effects. The UI never awaits I/O; tasks report back with messages.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

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

static PANICKED: AtomicBool = AtomicBool::new(false);

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

/// The event loop: draw, wait for input, a task result or a tick, update,
/// run effects. `on_frame` sees every drawn frame (tests watch it).
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    mut state: State,
    db: Database,
    mut events: UnboundedReceiver<Msg>,
    mut on_frame: impl FnMut(&Buffer),
) -> io::Result<State> {
    let (results_tx, mut results) = unbounded_channel();
    let mut executor = Executor::new(db, results_tx);
    let size = terminal.size()?;
    update(&mut state, Msg::Resize(size.width, size.height));
    for effect in init(&mut state) {
        executor.run(effect);
    }
    loop {
        let frame = terminal.draw(|frame| crate::ui::view(&state, frame))?;
        on_frame(frame.buffer);
        // Test hook (debug builds only): prove the terminal survives a panic.
        #[cfg(debug_assertions)]
        if std::env::var_os("TS_TEST_PANIC").is_some() {
            panic!("test-triggered panic after the first frame");
        }
        if state.quit {
            break;
        }
        if PANICKED.load(Ordering::SeqCst) {
            executor.cancel_all();
            return Err(io::Error::other(
                "a background task panicked (report above)",
            ));
        }
        let tick = if state.is_busy() {
            BUSY_TICK
        } else {
            IDLE_TICK
        };
        let msg = tokio::select! {
            Some(msg) = events.recv() => msg,
            Some(msg) = results.recv() => msg,
            _ = tokio::time::sleep(tick) => Msg::Tick,
        };
        let mut pending = vec![msg];
        // Take everything already queued (a key-repeat burst) before drawing.
        while let Ok(msg) = events.try_recv() {
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

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal before any panic report is printed.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        restore_terminal();
        previous(info);
    }));
}

/// Reads terminal input on a thread of its own; ends when the loop is gone.
fn spawn_input_thread(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || loop {
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => {
                let msg = match event::read() {
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

/// SIGTERM and SIGHUP end the dashboard like `q`, so the terminal is restored.
fn spawn_signal_task(tx: UnboundedSender<Msg>) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hangup.recv() => {}
        }
        let _ = tx.send(Msg::Terminate);
    });
}

/// Runs the dashboard on the real terminal until the user quits.
pub async fn run_terminal(state: State, db: Database) -> Result<(), Failure> {
    install_panic_hook();
    let setup = || -> io::Result<Terminal<CrosstermBackend<io::Stdout>>> {
        enable_raw_mode()?;
        crossterm::execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
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
    spawn_input_thread(tx.clone());
    spawn_signal_task(tx);
    let result = run_loop(&mut terminal, state, db, rx, |_| {}).await;
    restore_terminal();
    result
        .map(|_| ())
        .map_err(|e| Failure::runtime(format!("dashboard failed: {e}")))
}
