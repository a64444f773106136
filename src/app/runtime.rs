//! The edge: terminal, input thread, signals, and the tasks that carry out
//! effects. The UI never awaits I/O; tasks report back with messages.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::msg::{Effect, Msg};
use super::state::State;
use super::state::PAGE_SIZE;
use super::update::{init, update};
use crate::db::{choose_compare_tenant, Database, Page, QueryHandle};
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

/// Carries out effects as tokio tasks. Each kind of load has one slot: a
/// new load cancels the one before (client side and, for queries already
/// running, on the server), so at most one of each is in flight.
struct Executor {
    db: Database,
    results: UnboundedSender<Msg>,
    /// When the last orders load was asked for (see [`debounced`]).
    last_orders_request: Option<Instant>,
    /// The token of the load running in each [`Slot`].
    slots: [Option<CancellationToken>; 6],
}

impl Executor {
    fn run(&mut self, effect: Effect) {
        match effect {
            Effect::LoadCatalog => {
                let db = self.db.clone();
                self.spawn(Slot::Catalog, Duration::ZERO, move |_| async move {
                    let loaded = async { Ok((db.tenants().await?, db.user_count().await?)) }.await;
                    Msg::CatalogLoaded(loaded)
                });
            }
            Effect::LoadUsersPage { request, delay } => {
                let db = self.db.clone();
                self.spawn(Slot::UsersPage, delay, move |handle| async move {
                    let filter = request.filter.as_deref();
                    let result = db
                        .users_page(filter, &request.page, PAGE_SIZE as i64, Some(&handle))
                        .await;
                    Msg::UsersPage { request, result }
                });
            }
            Effect::LoadOrders { key, user, delay } => {
                let now = Instant::now();
                let delay = debounced(self.last_orders_request, now, delay);
                self.last_orders_request = Some(now);
                let db = self.db.clone();
                self.spawn(Slot::Orders, delay, move |handle| async move {
                    let started = Instant::now();
                    let result = db.priced_orders_tracked(&user, key.compare.as_deref(), Some(&handle)).await;
                    let elapsed = started.elapsed();
                    tracing::info!(
                        user = %key.user_id, compare = ?key.compare, ms = elapsed.as_millis() as u64,
                        ok = result.is_ok(), "orders loaded"
                    );
                    Msg::OrdersLoaded { key, result, elapsed }
                });
            }
            Effect::CancelOrders => {
                if let Some(token) = self.slots[Slot::Orders as usize].take() {
                    token.cancel();
                }
            }
            Effect::LoadHealth => {
                let db = self.db.clone();
                self.spawn(Slot::Health, Duration::ZERO, move |_| async move {
                    let started = Instant::now();
                    let result = db.health(None).await;
                    Msg::HealthLoaded {
                        result,
                        elapsed: started.elapsed(),
                    }
                });
            }
            Effect::LoadLeaks { tenant } => {
                let db = self.db.clone();
                self.spawn(Slot::Leaks, Duration::ZERO, move |_| async move {
                    let started = Instant::now();
                    let result = db.leaks(&tenant).await;
                    Msg::LeaksLoaded {
                        tenant,
                        result,
                        elapsed: started.elapsed(),
                    }
                });
            }
            Effect::LoadPrices { tenants } => {
                let db = self.db.clone();
                self.spawn(Slot::Prices, Duration::ZERO, move |_| async move {
                    let started = Instant::now();
                    let result = db.price_matrix(&tenants).await;
                    Msg::PricesLoaded {
                        tenants,
                        result,
                        elapsed: started.elapsed(),
                    }
                });
            }
            Effect::LoadOrderedBy {
                request,
                tenant,
                item,
            } => {
                let db = self.db.clone();
                self.spawn(Slot::UsersPage, Duration::ZERO, move |_| async move {
                    let result = db.users_who_ordered(&tenant, &item, ORDERED_BY_LIMIT).await;
                    Msg::UsersPage { request, result }
                });
            }
            Effect::Export { stem, csv } => {
                let results = self.results.clone();
                tokio::task::spawn_blocking(move || {
                    let here = std::path::Path::new(".");
                    let _ = results.send(Msg::Exported(write_export(here, &stem, &csv)));
                });
            }
        }
    }

    /// Runs `load` after `delay` in the slot's place, superseding what ran
    /// there. A superseded load is cancelled during its delay (it never
    /// reaches the database: the debounce) or, mid-query, on the server.
    fn spawn<F, Fut>(&mut self, slot: Slot, delay: Duration, load: F)
    where
        F: FnOnce(QueryHandle) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Msg> + Send + 'static,
    {
        let token = replace_token(&mut self.slots[slot as usize]);
        let db = self.db.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let handle = QueryHandle::default();
            let work = async {
                // Not even a zero sleep: tokio rounds a deadline up to its
                // next millisecond tick, which an at-once load would wait.
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                load(handle.clone()).await
            };
            tokio::pin!(work);
            tokio::select! {
                msg = &mut work => { let _ = results.send(msg); }
                // `work` still holds its transaction here, so the backend
                // being cancelled is still running our query.
                _ = token.cancelled() => db.cancel(&handle).await,
            }
        });
    }

    fn cancel_all(&mut self) {
        for token in self.slots.iter_mut().filter_map(Option::take) {
            token.cancel();
        }
    }
}

#[derive(Clone, Copy)]
enum Slot {
    Orders,
    UsersPage,
    Catalog,
    Health,
    Leaks,
    Prices,
}

/// At most this many users in a "who ordered" list.
const ORDERED_BY_LIMIT: i64 = 1_000;

/// Writes an export to a new file in the current directory; never
/// overwrites one.
fn write_export(dir: &std::path::Path, stem: &str, csv: &str) -> Result<String, String> {
    use std::io::Write;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
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

/// Leading and trailing debounce: the first selection after a quiet moment
/// loads at once (a single key press waits for nothing); one that follows
/// another within the debounce is part of a moving selection (a held key)
/// and waits for it to rest. `update` asks for the debounce; the edge, which
/// has the clock, knows whether the selection was at rest.
fn debounced(last_request: Option<Instant>, now: Instant, debounce: Duration) -> Duration {
    match last_request {
        Some(last) if now.saturating_duration_since(last) < debounce => debounce,
        _ => Duration::ZERO,
    }
}

fn replace_token(slot: &mut Option<CancellationToken>) -> CancellationToken {
    if let Some(old) = slot.take() {
        old.cancel();
    }
    let token = CancellationToken::new();
    *slot = Some(token.clone());
    token
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
    let mut executor = Executor {
        db,
        results: results_tx,
        last_orders_request: None,
        slots: Default::default(),
    };
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
        // Take everything already queued (a key-repeat burst, results that
        // arrived meanwhile) before drawing: a frame that a queued message
        // would change at once is not worth its draw.
        while let Ok(msg) = events.try_recv() {
            pending.push(msg);
        }
        while let Ok(msg) = results.try_recv() {
            pending.push(msg);
        }
        let mut started = false;
        for msg in pending {
            for effect in update(&mut state, msg) {
                executor.run(effect);
                started = true;
            }
        }
        // A task spawned from here waits in this worker's queue until the
        // loop awaits: let it send its query before the frame is drawn, so
        // the draw overlaps the query instead of delaying it.
        if started {
            tokio::task::yield_now().await;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(debounced(Some(start), quiet, debounce), Duration::ZERO);
        let held = start + Duration::from_millis(33);
        assert_eq!(
            debounced(Some(start), held, debounce),
            debounce,
            "key repeat"
        );
        assert_eq!(
            debounced(Some(start), start, Duration::ZERO),
            Duration::ZERO,
            "no debounce asked"
        );
    }

    #[test]
    fn exports_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_export(dir.path(), "orders-1", "a,b\n1,2\n").unwrap();
        let second = write_export(dir.path(), "orders-1", "a,b\n3,4\n").unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "a,b\n1,2\n");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "a,b\n3,4\n");
        assert!(first.contains("tenantscope-orders-1-") && first.ends_with(".csv"));
        let missing = write_export(std::path::Path::new("/nonexistent/dir"), "x", "");
        assert!(missing.unwrap_err().starts_with("cannot create"));
    }
}
