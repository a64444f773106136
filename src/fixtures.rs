//! Values and key presses shared by the unit tests, the integration tests
//! and the benchmark: the demo's users and tenants as plain values, and
//! helpers that drive the pure `update` and read the effects it returns.
#![doc(hidden)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::clipboard::Clipboard;
use crate::app::dashboard::{self, OrdersKey};
use crate::app::msg::{Effect, Job, Task};
use crate::app::{init, update, Data, Msg, State, UsersRequest};
use crate::db::{OrdersReport, TenantCatalog, User, UserCount, UserKey};

pub fn user_with_mail(id: &str, name: &str, mail: &str, tenant: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        mail: Some(mail.into()),
        tenant: Some(tenant.into()),
        tenant_name: None,
        created: None,
        key: UserKey {
            name: name.into(),
            id: id.into(),
            ..UserKey::default()
        },
        invalid_utf8: 0,
    }
}

/// A basket of one line: `quantity` Teslas (item 1) at `price`.
pub fn teslas(quantity: &str, price: &str) -> Vec<crate::db::OrderLine> {
    vec![crate::db::OrderLine::from_raw(crate::db::RawOrderLine {
        item_id: Some("1".into()),
        item: Some("Tesla".into()),
        quantity: Some(quantity.into()),
        unit_price: Some(price.into()),
        ..Default::default()
    })]
}

pub fn user(id: &str, name: &str, tenant: &str) -> User {
    user_with_mail(id, name, &format!("{name}@example.com"), tenant)
}

/// The demo's tenants.
pub fn catalog() -> TenantCatalog {
    TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()])
}

/// The demo's users, in list order (by name); stray_dude's tenant has no schema.
pub fn demo_users() -> Vec<User> {
    vec![
        user_with_mail("3", "mid_dude", "m@gmail.com", "client3"),
        user_with_mail("2", "poor_dude", "p@gmail.com", "client2"),
        user_with_mail("1", "rich_dude", "h@gmail.com", "client1"),
        user_with_mail("4", "stray_dude", "s@gmail.com", "client9"),
    ]
}

/// The dashboard on the demo's users, opened at 120×30.
pub fn demo_state() -> State {
    let users = demo_users();
    let count = UserCount {
        value: users.len() as i64,
        estimated: false,
        ..Default::default()
    };
    let mut state = State::new(Data::new("demo".into(), catalog(), count, users, None));
    state.session.size = (120, 30);
    init(&mut state);
    state
}

/// [`demo_state`] with rich_dude (of client1) selected.
pub fn rich_dude_selected() -> State {
    let mut state = demo_state();
    press(&mut state, KeyCode::Char('j'));
    press(&mut state, KeyCode::Char('j'));
    state
}

/// `n` users named u00000.., a page of a much longer list.
pub fn numbered(from: usize, n: usize) -> Vec<User> {
    (from..from + n)
        .map(|i| user(&i.to_string(), &format!("u{i:05}"), "client1"))
        .collect()
}

pub fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn chars(state: &mut State, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|ch| press(state, KeyCode::Char(ch)))
        .collect()
}

/// The dashboard jobs among `effects`.
pub fn dashboard_jobs(effects: &[Effect]) -> impl Iterator<Item = (&Task, &dashboard::Job)> {
    effects.iter().filter_map(|effect| match effect {
        Effect::Load(task) => match &task.job {
            Job::Dashboard(job) => Some((task.as_ref(), job)),
            _ => None,
        },
        _ => None,
    })
}

/// The last users page asked for in `effects`.
pub fn page_request(effects: &[Effect]) -> UsersRequest {
    dashboard_jobs(effects)
        .filter_map(|(_, job)| match job {
            dashboard::Job::UsersPage(request) | dashboard::Job::OrderedBy { request, .. } => {
                Some(request.clone())
            }
            _ => None,
        })
        .last()
        .unwrap_or_else(|| panic!("expected a users page load in {effects:?}"))
}

/// The orders load asked for in `effects`, with its task.
pub fn orders_load(effects: &[Effect]) -> (OrdersKey, Task) {
    dashboard_jobs(effects)
        .filter_map(|(task, job)| match job {
            dashboard::Job::Orders { key, .. } => Some((key.clone(), task.clone())),
            _ => None,
        })
        .last()
        .unwrap_or_else(|| panic!("expected an orders load in {effects:?}"))
}

pub fn deliver_page(state: &mut State, request: UsersRequest, rows: Vec<User>) -> Vec<Effect> {
    let msg = dashboard::Msg::UsersPage {
        request,
        result: Ok(rows),
    };
    update(state, Msg::from(msg))
}

/// Answers the orders load of `key` with `report`.
pub fn deliver_orders(state: &mut State, key: OrdersKey, report: OrdersReport) -> Vec<Effect> {
    let msg = dashboard::Msg::OrdersLoaded {
        key,
        result: Ok(report),
        elapsed: std::time::Duration::ZERO,
    };
    update(state, msg.into())
}

/// The jobs `effects` start, in order.
pub fn jobs(effects: &[Effect]) -> Vec<Job> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Load(task) => Some(task.job.clone()),
            _ => None,
        })
        .collect()
}

/// Answers the health check that is running.
pub fn deliver_health(state: &mut State, report: crate::db::HealthReport) -> Vec<Effect> {
    deliver_health_checked(state, report, Default::default())
}

/// Answers the health check that is running with `report` and the
/// registry and ledger `checks`.
pub fn deliver_health_checked(
    state: &mut State,
    report: crate::db::HealthReport,
    checks: crate::db::tenancy::FrameworkChecks,
) -> Vec<Effect> {
    let ticket = *state
        .health
        .report
        .pending()
        .expect("a health check is running");
    let msg = crate::app::health::Msg::Loaded {
        ticket,
        result: Ok(Box::new((report, checks))),
        elapsed: std::time::Duration::from_millis(7),
    };
    update(state, Msg::from(msg))
}

/// Answers the price matrix load that is running; returns its columns.
pub fn deliver_prices(state: &mut State, matrix: crate::db::PriceMatrix) -> Vec<String> {
    let key = state
        .prices
        .matrix
        .pending()
        .cloned()
        .expect("prices are loading");
    let msg = crate::app::prices::Msg::Loaded {
        key: key.clone(),
        result: Ok(matrix),
        elapsed: std::time::Duration::from_millis(5),
    };
    update(state, Msg::from(msg));
    key.1
}

/// The names of the search results across tenants, as listed.
pub fn search_names(state: &State) -> Vec<&str> {
    let users = &state.tenants.search.users;
    users.iter().map(|u| u.name.as_str()).collect()
}

/// A drawn frame as lines of text.
pub fn frame_text(buffer: &ratatui::buffer::Buffer) -> String {
    let width = buffer.area.width.max(1) as usize;
    buffer
        .content()
        .chunks(width)
        .map(|row| {
            crate::snapshot::shown_cells(row)
                .map(|cell| cell.symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dashboard's real event loop on a `TestBackend`, fed keys by the
/// caller: the whole-app tests and the benchmark both drive it.
pub struct Harness {
    pub keys: tokio::sync::mpsc::UnboundedSender<Msg>,
    /// The latest frame.
    pub latest: tokio::sync::watch::Receiver<String>,
    /// Every frame in order, with when it was drawn.
    pub log: tokio::sync::mpsc::UnboundedReceiver<(std::time::Instant, String)>,
    /// How many frames the loop has drawn.
    pub drawn: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The loop; it ends with the state it quit in.
    pub handle: tokio::task::JoinHandle<std::io::Result<State>>,
}

impl Harness {
    /// Opens the dashboard on `db` as `tenantscope` would, at `size`.
    pub async fn start(
        db: crate::db::Database,
        debounce: std::time::Duration,
        size: (u16, u16),
    ) -> Result<Harness, crate::Failure> {
        let state = crate::app::initial_state(&db, "demo".into(), None, debounce).await?;
        Ok(Harness::with_state(db, state, size, Clipboard::none()))
    }

    /// Runs the loop from `state`, copying to `clipboard`. Exports go to a
    /// temporary directory of the loop's own, removed when the loop ends (a
    /// test leaves nothing in the user's download or data directory).
    pub fn with_state(
        db: crate::db::Database,
        state: State,
        size: (u16, u16),
        clipboard: Clipboard,
    ) -> Harness {
        use std::sync::atomic::Ordering;
        let (keys, events) = tokio::sync::mpsc::unbounded_channel();
        let (latest_tx, latest) = tokio::sync::watch::channel(String::new());
        let (log_tx, log) = tokio::sync::mpsc::unbounded_channel();
        let drawn = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = drawn.clone();
        let handle = tokio::spawn(async move {
            let exports = tempfile::Builder::new()
                .prefix("tenantscope-exports-")
                .tempdir()?;
            let backend = ratatui::backend::TestBackend::new(size.0, size.1);
            let mut terminal = ratatui::Terminal::new(backend)?;
            let on_frame = move |buffer: &ratatui::buffer::Buffer| {
                let at = std::time::Instant::now();
                let frame = frame_text(buffer);
                counter.fetch_add(1, Ordering::Relaxed);
                let _ = log_tx.send((at, frame.clone()));
                latest_tx.send_replace(frame);
            };
            let backing = crate::app::runtime::Backing {
                db: Some(db),
                connector: None,
                clipboard,
                export_dir: Some(exports.path().to_path_buf()),
            };
            crate::app::runtime::run_loop(
                &mut terminal,
                state,
                backing,
                events,
                crate::ui::screen(),
                on_frame,
            )
            .await
            .map(|(state, _)| state)
        });
        Harness {
            keys,
            latest,
            log,
            drawn,
            handle,
        }
    }

    /// Sends a key; returns when. Frames logged before it are dropped.
    pub fn press(&mut self, code: KeyCode) -> std::time::Instant {
        while self.log.try_recv().is_ok() {}
        let at = std::time::Instant::now();
        let _ = self
            .keys
            .send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        at
    }

    /// The latest frame, or the next one, that passes `check`, within `within`.
    pub async fn frame_where(
        &mut self,
        what: &str,
        within: std::time::Duration,
        check: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let found = tokio::time::timeout(within, self.latest.wait_for(|f| check(f)))
            .await
            .map(|found| found.map(|frame| frame.clone()));
        match found {
            Ok(Ok(frame)) => Ok(frame),
            _ => Err(format!(
                "no frame showed {what} within {within:?}; last frame:\n{}",
                self.latest.borrow().as_str()
            )),
        }
    }

    /// The first frame drawn from now on (since the last call or key)
    /// that passes `check`, when it was drawn, and the frames before it.
    pub async fn next_frame_where(
        &mut self,
        what: &str,
        within: std::time::Duration,
        check: impl Fn(&str) -> bool,
    ) -> Result<(std::time::Instant, String, Vec<String>), String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.log.recv()).await {
                Ok(Some((at, frame))) if check(&frame) => return Ok((at, frame, seen)),
                Ok(Some((_, frame))) => seen.push(frame),
                Ok(None) => return Err(format!("the loop ended waiting for {what}")),
                Err(_) => {
                    let last = seen.last().map(String::as_str).unwrap_or("(none)");
                    return Err(format!(
                        "no frame showed {what} within {within:?}; last frame:\n{last}"
                    ));
                }
            }
        }
    }

    /// Ctrl-C quits in every mode (`q` would be text while filtering).
    pub async fn quit(self) -> std::io::Result<State> {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let _ = self.keys.send(Msg::Key(ctrl_c));
        self.handle.await.map_err(std::io::Error::other)?
    }
}

/// An environment for code that takes its variables as a map.
pub fn env(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A django-tenants database with `n` tenants `t0001`… (registered as
/// "Tenant 1"…), as light as the layout allows: per tenant one user
/// (`user_1`, `u1@t1.test`, …), one item and one order, no index. One
/// statement per 250 tenants (each a DO block), so that no transaction
/// takes more locks than the server's lock table holds. The scale test and
/// the benchmark build it.
pub fn many_tenants_sql(n: usize) -> Vec<String> {
    many_tenants_sql_by(n, 250)
}

/// [`many_tenants_sql`] with `per_statement` tenants to a statement (a
/// server with a smaller lock table needs fewer).
pub fn many_tenants_sql_by(n: usize, per_statement: usize) -> Vec<String> {
    let step = per_statement.max(1);
    // t0001…: wider from 10,000 tenants on (lpad cuts longer numbers).
    let width = n.to_string().len().max(4);
    let mut statements = vec!["CREATE TABLE public.customers_client (
             id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
             schema_name varchar(63) NOT NULL UNIQUE, name varchar(100) NOT NULL);
         CREATE TABLE public.auth_user (id integer PRIMARY KEY, username varchar(150) NOT NULL,
             email varchar(254) NOT NULL, date_joined timestamptz NOT NULL);
         INSERT INTO public.customers_client (schema_name, name) VALUES ('public', 'Main site');"
        .to_string()];
    for from in (1..=n).step_by(step) {
        let to = (from + step - 1).min(n);
        statements.push(format!(
            "DO $$
             DECLARE s text;
             BEGIN
                 FOR i IN {from}..{to} LOOP
                     s := format('t%s', lpad(i::text, {width}, '0'));
                     EXECUTE format($q$
                         CREATE SCHEMA %1$I;
                         CREATE TABLE %1$I.auth_user (id integer NOT NULL,
                             username varchar(150) NOT NULL, email varchar(254) NOT NULL,
                             date_joined timestamptz NOT NULL);
                         CREATE TABLE %1$I.shop_item (id bigint NOT NULL,
                             name varchar(100) NOT NULL, price numeric(10, 2) NOT NULL);
                         CREATE TABLE %1$I.shop_order (id bigint NOT NULL, quantity integer NOT NULL,
                             item_id bigint NOT NULL, user_id integer NOT NULL);
                         INSERT INTO %1$I.auth_user
                              VALUES (1, 'user_%2$s', 'u%2$s@t%2$s.test', '2024-01-01');
                         INSERT INTO %1$I.shop_item VALUES (1, 'Widget', 9.99);
                         INSERT INTO %1$I.shop_order VALUES (1, 2, 1, 1);
                         INSERT INTO public.customers_client (schema_name, name)
                              VALUES (%1$L, 'Tenant %2$s');
                     $q$, s, i);
                 END LOOP;
             END $$;"
        ));
    }
    statements
}

/// Tenants `bulk` (integer order ids, so that text order is not id order)
/// and `other`, empty, and `bulk`'s user `bulk`: the orders tests fill them.
pub const BULK_TENANTS: &str = "
    CREATE SCHEMA bulk;
    CREATE TABLE bulk.items (id int, description text, price numeric);
    CREATE TABLE bulk.orders (id int, user_id text, item_id int, quantity numeric);
    CREATE SCHEMA other;
    CREATE TABLE other.items (id int, description text, price numeric);
    CREATE TABLE other.orders (id int, user_id text, item_id int, quantity numeric);
    INSERT INTO public.users (id, name, mail, password, organization_id)
         VALUES ('bulk', 'bulk_dude', 'bulk@x', 'pw', 'bulk');";
