//! The terminal and the process around the dashboard: entering and
//! restoring the terminal, suspending to the shell, the panic hook, input
//! on a thread of its own, and the signals that end or suspend it.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

use super::msg::Msg;

/// Set by the panic hook; the event loop then ends without drawing again.
pub(super) static PANICKED: AtomicBool = AtomicBool::new(false);
/// Wakes the event loop after a panic on another thread (a background task).
pub(super) static PANIC_WAKE: Notify = Notify::const_new();
/// Whether the terminal is in the dashboard's state (raw mode, alternate
/// screen, mouse capture), so that restoring it happens once and only then.
pub(super) static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Held while the terminal is written (a frame, a suspend), so a panic on
/// another thread restores it between frames, never in the middle of one.
pub(super) static TERMINAL: Mutex<()> = Mutex::new(());
/// Whether the dashboard captures the mouse (`ui.mouse`, `--no-mouse`).
static MOUSE: AtomicBool = AtomicBool::new(true);
/// The thread that draws; a panic on it already holds [`TERMINAL`].
pub(super) static DRAWING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// What the terminal's owner asks of the event loop, besides messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edge {
    /// Ctrl-Z or SIGTSTP: give the terminal back to the shell and stop.
    Suspend,
    /// SIGCONT: whatever was on the screen, draw everything again.
    Redraw,
}

/// The terminal lock; the lock of a thread that panicked is still good.
pub(super) fn lock_terminal() -> MutexGuard<'static, ()> {
    TERMINAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether entering the terminal captures the mouse.
pub(super) fn set_mouse_capture(on: bool) {
    MOUSE.store(on, Ordering::SeqCst);
}

/// Puts the terminal in the dashboard's state.
pub(super) fn enter_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
    crossterm::execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)?;
    if MOUSE.load(Ordering::SeqCst) {
        crossterm::execute!(io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// Gives the terminal back as it was (once: later calls do nothing).
pub(super) fn restore_terminal() {
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
pub(super) fn suspend_to_shell<B: Backend>(terminal: &mut Terminal<B>) -> io::Result<()> {
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
        // The drawing thread holds the lock itself when it panics mid-frame.
        let on_drawing_thread = DRAWING_THREAD.get() == Some(&std::thread::current().id());
        let _terminal = (!on_drawing_thread).then(lock_terminal);
        restore_terminal();
        report_then_flag(&PANICKED, || {
            let report = format!("{}\n", to_stderr.panic_report(info));
            // One write, so the block is not interleaved with other output.
            let _ = io::stderr().lock().write_all(report.as_bytes());
            tracing::error!("panic:\n{}", to_log.panic_report(info));
        });
        PANIC_WAKE.notify_one();
    }));
}

/// Writes the report, and only then raises `panicked` (the terminal lock
/// still held): the event loop ends the process on it, and must not before
/// the report is out (it did, and a background task's report was lost).
fn report_then_flag(panicked: &AtomicBool, report: impl FnOnce()) {
    report();
    panicked.store(true, Ordering::SeqCst);
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
pub(super) fn spawn_input_thread(tx: UnboundedSender<Msg>, edges: UnboundedSender<Edge>) {
    use crossterm::event::KeyEventKind;
    std::thread::spawn(move || loop {
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => {
                let msg = match event::read() {
                    Ok(Event::Key(key)) if super::keymap::SUSPEND.matches(&key) => {
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
pub(super) fn spawn_signal_task(
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
                    let _ = tx.send(Msg::Terminate(name));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panic_flag_is_raised_after_the_report() {
        let panicked = AtomicBool::new(false);
        let mut flag_while_reporting = None;
        report_then_flag(&panicked, || {
            flag_while_reporting = Some(panicked.load(Ordering::SeqCst));
        });
        assert_eq!(flag_while_reporting, Some(false));
        assert!(panicked.load(Ordering::SeqCst));
    }
}
