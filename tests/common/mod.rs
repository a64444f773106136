//! Helpers shared by the integration tests (each test file uses some).
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use tenantscope::app::initial_state;
use tenantscope::app::{Msg, State};
use tenantscope::db::Database;
use tenantscope::embedded::testing::TestDatabase;
use tenantscope::fixtures::Harness;
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
    db.connect().await
}

/// The binary, run as a user would, with no database configured around it.
pub fn tenantscope(args: &[&str]) -> Output {
    bare_command().args(args).output().expect("run tenantscope")
}

/// `tenantscope --database-url <db> args…`.
pub fn on(db: &TestDatabase, args: &[&str]) -> Output {
    let mut all = vec!["--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    tenantscope(&all)
}

/// The binary with nothing from this machine that names a database: no
/// `DATABASE_URL`, no `PG*` or `TENANTSCOPE_*` variable, no config file.
pub fn bare_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantscope"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("PG") || key.starts_with("TENANTSCOPE_") || key == "DATABASE_URL" {
            command.env_remove(key.as_ref());
        }
    }
    command.env("XDG_CONFIG_HOME", "/nonexistent");
    // Nothing cached outside the test: no directory can be made under
    // /dev/null, even by root (a cache that cannot be written is skipped).
    command.env("XDG_CACHE_HOME", "/dev/null");
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A drawn frame as lines of text.
pub fn text(buffer: &Buffer) -> String {
    tenantscope::fixtures::frame_text(buffer)
}

/// The dashboard's real event loop on a TestBackend, fed keys by the test.
pub struct App {
    pub keys: UnboundedSender<Msg>,
    pub frames: watch::Receiver<String>,
    pub handle: tokio::task::JoinHandle<std::io::Result<State>>,
}

pub async fn start_app(db: Database, debounce: Duration, size: (u16, u16)) -> App {
    start_app_logged(db, debounce, size).await.0
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
    app_of(Harness::with_state(db, state, size, clipboard)).0
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

/// Every frame the loop draws, in order (a watch channel keeps only the
/// latest): for tests that must see a state pass, or never appear.
pub struct FrameLog {
    frames: tokio::sync::mpsc::UnboundedReceiver<(std::time::Instant, String)>,
}

impl FrameLog {
    /// Forgets the frames drawn so far: `until` then sees only later ones.
    pub fn skip_drawn(&mut self) {
        while self.frames.try_recv().is_ok() {}
    }

    /// Reads frames (up to 20 s) until one passes `check`; returns it and
    /// every frame drawn before it since the last call.
    pub async fn until(
        &mut self,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> (String, Vec<String>) {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.frames.recv()).await {
                Ok(Some((_, frame))) if check(&frame) => return (frame, seen),
                Ok(Some((_, frame))) => seen.push(frame),
                Ok(None) | Err(_) => panic!(
                    "no frame showed {what}; last frame:\n{}",
                    seen.last().map(String::as_str).unwrap_or("(none)")
                ),
            }
        }
    }
}

/// Like [`start_app`], with a log of every frame.
pub async fn start_app_logged(
    db: Database,
    debounce: Duration,
    size: (u16, u16),
) -> (App, FrameLog) {
    app_of(Harness::start(db, debounce, size).await.unwrap())
}

/// The shared harness as this suite's `App`, with its log of every frame.
fn app_of(harness: Harness) -> (App, FrameLog) {
    (
        App {
            keys: harness.keys,
            frames: harness.latest,
            handle: harness.handle,
        },
        FrameLog {
            frames: harness.log,
        },
    )
}

/// The orders pane's row of `item` in a drawn frame ("" when absent).
pub fn row<'a>(frame: &'a str, item: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.contains(&format!("││{item} ")))
        .unwrap_or("")
}

/// Ends [`TestDatabase::lock_table`]'s transaction: the waiting queries go on.
pub async fn unlock(locker: &mut sqlx::PgConnection) {
    sqlx::raw_sql("ROLLBACK").execute(locker).await.unwrap();
}

/// A private server that counts statements (`pg_stat_statements`, which
/// ships with the server package: without it a test fails rather than
/// counting less), with `settings` besides; its database `counted`, loaded
/// with `sql`; and an admin connection that reads the counts.
pub async fn counting_server(
    settings: &[(&str, &str)],
    sql: &str,
) -> (tenantscope::embedded::PgServer, sqlx::PgConnection) {
    use sqlx::Connection;
    let mut settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings.push((
        "shared_preload_libraries".into(),
        "pg_stat_statements".into(),
    ));
    let server =
        tenantscope::embedded::PgServer::start_with(tenantscope::embedded::ServerOptions {
            settings,
            ..Default::default()
        })
        .expect("start a private server with pg_stat_statements");
    let mut admin = sqlx::PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    for statement in [
        "CREATE DATABASE counted",
        "CREATE EXTENSION pg_stat_statements",
    ] {
        sqlx::raw_sql(statement).execute(&mut admin).await.unwrap();
    }
    run_counted(&server, sql).await;
    (server, admin)
}

/// Runs `sql` in the counting server's database.
pub async fn run_counted(server: &tenantscope::embedded::PgServer, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect_with(&server.connect_options("counted"))
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.ok();
}

/// The cells of the CSV line whose first cell is `first` (no quoting in it).
pub fn csv_row<'a>(csv: &'a str, first: &str) -> Vec<&'a str> {
    csv.lines()
        .find(|l| l.split(',').next() == Some(first))
        .unwrap_or_else(|| panic!("no {first} row: {csv}"))
        .split(',')
        .collect()
}

/// The lines after the first (the CLI table's note) of a text table, as
/// their cells: runs of text between two or more spaces.
pub fn table_cells(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .skip(1)
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

/// A JSON object's keys, sorted: what a stable output shape is checked by.
pub fn sorted_keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

/// Runs `sql` on `conn` (every 20 ms, up to 20 s) until `check` accepts its
/// rows: for server state no frame shows (pg_stat_activity).
pub async fn poll_rows<R, T>(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    what: &str,
    mut check: impl FnMut(&[R]) -> Option<T>,
) -> T
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<R> = sqlx::query_as(sql).fetch_all(&mut *conn).await.unwrap();
        if let Some(value) = check(&rows) {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what} did not happen within 20 s; last rows: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Statements the server ran in the `counted` database since the last
/// reset (`pg_stat_statements`), leaving out transaction control, SET and
/// a new connection's probe (db/grant.rs: as many as the pool happened to
/// open, not work the load did).
pub async fn counted_statements(admin: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(s.calls), 0)::bigint
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = 'counted' AND s.query NOT LIKE '%pg_stat_statements%'
            AND s.query !~* '^(BEGIN|COMMIT|ROLLBACK|SET )'
            AND s.query !~* '^SELECT \\$1$'",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Renumbers `schema`'s catalogue as a framework's per-schema sequence
/// would, apart from the other tenants': every item id becomes
/// `offset − id` (reversed, and offset), the orders following; the orders'
/// foreign keys to the items are dropped first. Text or integer ids.
pub async fn renumber_items(db: &TestDatabase, schema: &str, offset: i64) {
    db.run_sql(&format!(
        r#"DO $$
        DECLARE
          c record;
          item_type text := (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                              WHERE attrelid = '{schema}.items'::regclass AND attname = 'id');
          order_type text := (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                               WHERE attrelid = '{schema}.orders'::regclass AND attname = 'item_id');
        BEGIN
          FOR c IN SELECT conname FROM pg_constraint
                    WHERE conrelid = '{schema}.orders'::regclass AND contype = 'f'
                      AND confrelid = '{schema}.items'::regclass LOOP
            EXECUTE format('ALTER TABLE {schema}.orders DROP CONSTRAINT %I', c.conname);
          END LOOP;
          -- Through negative ids: a swap in one UPDATE could collide.
          EXECUTE format('UPDATE {schema}.items SET id = (-(id::text::int8))::text::%s', item_type);
          EXECUTE format('UPDATE {schema}.items SET id = ({offset} + id::text::int8)::text::%s', item_type);
          EXECUTE format('UPDATE {schema}.orders SET item_id = ({offset} - item_id::text::int8)::text::%s',
                         order_type);
        END $$;"#
    ))
    .await;
}

/// `orders user --compare other` and `basket user` against what SQL
/// written here says when items are the same by description (the lowest
/// id in text order among equal ones): each line's comparison price, and
/// `other`'s basket total and missing lines. For catalogues numbered
/// independently, where neither the id nor id-then-description is right.
pub async fn assert_compared_by_description(db: &TestDatabase, user: &str, own: &str, other: &str) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&db.options)
        .await
        .unwrap();
    let matched = format!(
        "FROM {own}.orders o JOIN {own}.items i ON i.id = o.item_id
         LEFT JOIN LATERAL (SELECT c.price FROM {other}.items c
                             WHERE c.description = i.description
                             ORDER BY c.id::text LIMIT 1) c ON true
         WHERE o.user_id::text = '{user}'"
    );
    let mut expected: Vec<(String, Option<f64>)> = sqlx::query_as(&format!(
        "SELECT i.description::text, c.price::float8 {matched}"
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let (total, missing): (Option<f64>, i64) = sqlx::query_as(&format!(
        "SELECT sum(o.quantity * c.price)::float8, count(*) FILTER (WHERE c.price IS NULL) {matched}"
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    // The data must tell the rules apart: by id, some line would differ.
    let id_differs: bool = sqlx::query_scalar(&format!(
        "SELECT bool_or((SELECT d.price FROM {other}.items d
                          WHERE d.id::text = i.id::text) IS DISTINCT FROM c.price) {matched}"
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.ok();
    assert!(!expected.is_empty(), "{user} has orders in {own}");
    assert!(id_differs, "{own} and {other} agree by id: renumber one");

    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--database-url", db.url.as_str()];
        all.extend_from_slice(args);
        let out = tenantscope(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let orders = json(&["orders", user, "--compare", other, "--format", "json"]);
    let mut got: Vec<(String, Option<f64>)> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_string(),
                l["compare_unit_price"].as_f64(),
            )
        })
        .collect();
    let by_item = |a: &(String, Option<f64>), b: &(String, Option<f64>)| {
        a.0.cmp(&b.0).then(a.1.partial_cmp(&b.1).unwrap())
    };
    got.sort_by(by_item);
    expected.sort_by(by_item);
    assert_eq!(got, expected, "{own} vs {other}: {orders}");
    assert_eq!(
        orders["compare_missing"].as_i64(),
        Some(missing),
        "{orders}"
    );

    let basket = json(&["basket", user, "--format", "json"]);
    let at = basket["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == other)
        .unwrap_or_else(|| panic!("{other} in {basket}"));
    assert_eq!(at["total"].as_f64(), total, "{other}'s basket: {basket}");
    assert_eq!(at["missing_lines"].as_i64(), Some(missing), "{basket}");
}

/// Tenants whose items tables have no primary key and repeat ids, beside
/// the reference data (client1, client2), one top-level statement a line
/// (Citus distributes only those). `dupids` is the reported reproduction:
/// two items under id '1' at other prices (10, 20), one under a NULL id,
/// and user 80's three orders (Tesla twice, one without an item).
/// `twins` (integer ids) repeats item 1 as an identical row (one item,
/// priced as such) and has two items under id 3 that differ only in
/// description; user 81 orders items 1 and 2, user 82 item 3 twice.
pub const DUPLICATE_ITEM_IDS: &str = "CREATE SCHEMA dupids;
CREATE TABLE dupids.items (id text, description text, price numeric);
CREATE TABLE dupids.orders (id text, user_id text, item_id text, quantity int);
INSERT INTO dupids.items VALUES ('1', 'Tesla', 10), ('1', 'Tesla', 20), (NULL, 'Huawei', 5);
INSERT INTO public.users (id, name, mail, password, organization_id) VALUES ('80', 'dupids', 'dupids@x', 'pw', 'dupids');
INSERT INTO dupids.orders VALUES ('1', '80', '1', 1), (NULL, '80', NULL, 2), ('1', '80', '1', 1);
CREATE SCHEMA twins;
CREATE TABLE twins.items (id integer, description text, price numeric(12,2));
CREATE TABLE twins.orders (id integer, user_id text, item_id integer, quantity integer);
INSERT INTO twins.items VALUES (1, 'Tesla', 4000.00), (1, 'Tesla', 4000.00), (2, 'Huawei', 150.00), (3, 'Lamp', 20.00), (3, 'Desk lamp', 20.00);
INSERT INTO public.users (id, name, mail, password, organization_id) VALUES ('81', 'twin_one', 'twin1@x', 'pw', 'twins'), ('82', 'twin_two', 'twin2@x', 'pw', 'twins');
INSERT INTO twins.orders VALUES (1, '81', 1, 2), (2, '81', 2, 1), (3, '82', 3, 1), (4, '82', 3, 2);
";
