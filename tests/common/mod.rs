//! Helpers shared by the integration tests (each test file uses some).
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tenantscope::app::runtime::{initial_state, run_loop_with};
use tenantscope::app::{Msg, State};
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::money::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

/// A number as the server would send it (`"5000.00"`): exact, its scale kept.
pub fn dec(text: &str) -> Value {
    let value = Value::parse(text);
    assert!(value.is_number(), "{text:?} is not a number");
    value
}

pub async fn connect(db: &TestDatabase) -> Database {
    Database::connect(
        &ConnectionSource::demo(db.options.clone()),
        &Settings::default(),
    )
    .await
    .expect("connect")
}

/// The binary, run as a user would, with no database configured around it.
pub fn tenantscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .expect("run tenantscope")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A drawn frame as lines of text.
pub fn text(buffer: &Buffer) -> String {
    let width = buffer.area.width.max(1) as usize;
    buffer
        .content()
        .chunks(width)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dashboard's real event loop on a TestBackend, fed keys by the test.
pub struct App {
    pub keys: UnboundedSender<Msg>,
    pub frames: watch::Receiver<String>,
    pub handle: tokio::task::JoinHandle<std::io::Result<State>>,
}

pub async fn start_app(db: Database, debounce: Duration, size: (u16, u16)) -> App {
    let state = initial_state(&db, "demo".into(), None, debounce)
        .await
        .unwrap();
    start_app_with(db, state, size)
}

/// The dashboard opened with `--user ID [--tenant T]`.
pub async fn start_app_on_user(
    db: Database,
    id: &str,
    tenant: Option<&str>,
    size: (u16, u16),
) -> App {
    let mut state = initial_state(&db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    tenantscope::app::dashboard::open_on_user(&mut state, &db, id, tenant)
        .await
        .unwrap();
    start_app_with(db, state, size)
}

/// What the loop wrote to the clipboard (OSC 52 sequences), shared with the test.
#[derive(Clone, Default)]
pub struct Written(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Written {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Written {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The real loop, its clipboard writes kept in the returned buffer.
pub async fn start_app_copying(db: Database, size: (u16, u16)) -> (App, Written) {
    let state = initial_state(&db, "demo".into(), None, Duration::ZERO)
        .await
        .unwrap();
    let written = Written::default();
    let clipboard = tenantscope::app::clipboard::Clipboard::new(written.clone());
    (spawn_loop(db, state, size, clipboard), written)
}

/// The real loop on a TestBackend from `state`.
pub fn start_app_with(db: Database, state: State, size: (u16, u16)) -> App {
    spawn_loop(
        db,
        state,
        size,
        tenantscope::app::clipboard::Clipboard::none(),
    )
}

fn spawn_loop(
    db: Database,
    state: State,
    size: (u16, u16),
    clipboard: tenantscope::app::clipboard::Clipboard,
) -> App {
    let (keys, rx) = tokio::sync::mpsc::unbounded_channel();
    let (frames_tx, frames) = watch::channel(String::new());
    let handle = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        run_loop_with(&mut terminal, state, db, rx, clipboard, |buffer| {
            frames_tx.send_replace(text(buffer));
        })
        .await
    });
    App {
        keys,
        frames,
        handle,
    }
}

impl App {
    pub fn press(&self, code: KeyCode) {
        keys(&self.keys, &[code]);
    }

    pub async fn frame_where(&mut self, what: &str, check: impl Fn(&str) -> bool) -> String {
        frame_where(&mut self.frames, what, check).await
    }

    /// Ctrl-C quits in every mode (`q` would be text while filtering).
    pub async fn quit(self) -> State {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        self.keys.send(Msg::Key(ctrl_c)).unwrap();
        self.handle.await.unwrap().unwrap()
    }
}

pub fn keys(tx: &UnboundedSender<Msg>, codes: &[KeyCode]) {
    for code in codes {
        tx.send(Msg::Key(KeyEvent::new(*code, KeyModifiers::NONE)))
            .unwrap();
    }
}

/// Waits (up to 20 s) for a frame that passes `check`.
pub async fn frame_where(
    frames: &mut watch::Receiver<String>,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let found = tokio::time::timeout(Duration::from_secs(20), frames.wait_for(|f| check(f)))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|frame| frame.clone());
    found.unwrap_or_else(|| {
        panic!(
            "no frame showed {what}; last frame:\n{}",
            frames.borrow().as_str()
        )
    })
}
