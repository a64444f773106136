//! k. A user with 100,000 order lines (`--only orders`, issue 24), and
//! k2. with 1,000,000 (`--only orders-1m`): the orders pane's first screen
//! from process start (the release binary in a pty), its peak RSS after the
//! totals came and the cursor went to the last line and back, and the
//! `orders` CLI beside psql running the same join.
//!
//! The database: the article layout (sql/init.sql's shapes, its indexes),
//! tenants `t_a` (1,000 items) and `t_b` (900 of them, same ids and
//! descriptions, cheaper); `aaa_heavy` (first by name, so selected at start)
//! owns the lines in `t_a`.

use std::io::{Read, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::PgServer;

use super::{
    descendants, mb, ms, percentile, progress, script_command, secs, thousands, Res, HEIGHT, WAIT,
    WIDTH,
};

/// How many lines the heavy user has, and what goes with that number.
pub struct Size {
    lines: usize,
    /// Timed runs of each measure (after warm-up).
    runs: usize,
    section: &'static str,
    only: &'static str,
    pub marks: (&'static str, &'static str),
}

pub const K: Size = Size {
    lines: 100_000,
    runs: 10,
    section: "k",
    only: "orders",
    marks: ("<!-- bench k: orders -->", "<!-- /bench k -->"),
};

pub const K_MILLION: Size = Size {
    lines: 1_000_000,
    runs: 5,
    section: "k2",
    only: "orders-1m",
    marks: ("<!-- bench k2: orders -->", "<!-- /bench k2 -->"),
};

impl Size {
    fn database(&self) -> String {
        format!("orders_{}", self.lines)
    }

    /// The totals row once the server's totals came.
    fn totals(&self) -> String {
        format!("{} lines", thousands(self.lines as u64))
    }
}
/// The item of the first line (order o0000001 is of item 2).
const FIRST_LINE: &str = "prod_00002";
/// The cursor on the last line (order o0100000 is of item 1).
const LAST_LINE: &str = "▶ prod_00001";
const FIRST_SCREEN_TARGET: Duration = Duration::from_millis(100);
const RSS_TARGET_MB: f64 = 25.0;
const CLI_RATIO_TARGET: f64 = 1.5;
/// psql's equivalent of `orders aaa_heavy --format csv`: the same lines,
/// prices, totals and comparison, joined on the item id.
const JOIN: &str = "SELECT o.item_id, i.description, o.quantity, i.price, o.quantity * i.price, \
     c.price, o.quantity * c.price, o.quantity * c.price - o.quantity * i.price, c.id \
     FROM t_a.orders o LEFT JOIN t_a.items i ON i.id = o.item_id \
     LEFT JOIN t_b.items c ON c.id = o.item_id WHERE o.user_id = 'heavy' ORDER BY o.id";

fn sql(lines: usize) -> String {
    let tenant = |schema: &str| {
        format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.items (id text PRIMARY KEY, description text NOT NULL,
                                          price numeric(12,2) NOT NULL);
             CREATE TABLE {schema}.orders (id text PRIMARY KEY, user_id text NOT NULL,
                                           item_id text NOT NULL, quantity integer NOT NULL);
             CREATE INDEX orders_user_id_idx ON {schema}.orders (user_id);
             CREATE INDEX items_description_idx ON {schema}.items (description);"
        )
    };
    format!(
        "CREATE TABLE public.users (id text PRIMARY KEY, creation_timestamp timestamptz NOT NULL
                                    DEFAULT now(), name text NOT NULL, mail text NOT NULL UNIQUE,
                                    password text NOT NULL, organization_id text);
         CREATE INDEX users_name_id_idx ON public.users (name, id);
         {a}
         {b}
         INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
             ('heavy', 'aaa_heavy', 'heavy@example.com', 'pw', 't_a'),
             ('light', 'zzz_light', 'light@example.com', 'pw', 't_b');
         INSERT INTO t_a.items SELECT 'i' || lpad(n::text, 5, '0'), 'prod_' || lpad(n::text, 5, '0'),
                                      (n % 500 + 1) * 1.25
                                 FROM generate_series(1, 1000) n;
         INSERT INTO t_b.items SELECT id, description, round(price * 0.9, 2)
                                 FROM t_a.items WHERE id <= 'i00900';
         INSERT INTO t_a.orders SELECT 'o' || lpad(n::text, 7, '0'), 'heavy',
                                       'i' || lpad((n % 1000 + 1)::text, 5, '0'), n % 7 + 1
                                  FROM generate_series(1, {lines}) n;
         INSERT INTO t_b.orders VALUES ('o1', 'light', 'i00001', 1);",
        a = tenant("t_a"),
        b = tenant("t_b"),
    )
}

struct Measured {
    built: Duration,
    head: Vec<Duration>,
    totals: Vec<Duration>,
    first_screen: Vec<Duration>,
    totals_screen: Vec<Duration>,
    rss_kb: u64,
    cli: Vec<Duration>,
    psql: Vec<Duration>,
    cli_rss_kb: u64,
    psql_rss_kb: u64,
    /// Process CPU (user + system) of one run each, ms.
    cli_cpu_ms: f64,
    psql_cpu_ms: f64,
}

/// Builds the database and measures; returns the Markdown section.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    server: &PgServer,
    bin: &Path,
    size: &Size,
) -> Res<String> {
    let started = Instant::now();
    let database = size.database();
    let (head, totals) = runtime.block_on(async {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(
            &server.connect_options("postgres"),
        )
        .await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await?;
        progress(format!(
            "{}. a user with {} order lines",
            size.section,
            thousands(size.lines as u64)
        ));
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(
            &server.connect_options(&database),
        )
        .await?;
        sqlx::raw_sql(&sql(size.lines)).execute(&mut conn).await?;
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut conn).await?;
        in_process(server, size).await
    })?;
    let built = started.elapsed();
    let url = server.url(&database);
    let totals_row = size.totals();
    progress(format!("{}. first screen from process start", size.section));
    let mut first_screen = Vec::new();
    let mut totals_screen = Vec::new();
    for _ in 0..size.runs {
        let (start, mut app) = Pty::spawn(bin, &url, &totals_row)?;
        first_screen.push(app.wait(FIRST_LINE)? - start);
        totals_screen.push(app.wait(&totals_row)? - start);
        app.quit()?;
    }
    progress(format!("{}. peak RSS", size.section));
    let rss_kb = dashboard_rss(bin, &url, &totals_row)?;
    progress(format!("{}. the orders CLI beside psql", size.section));
    let (cli, psql, (cli_rss_kb, cli_cpu_ms), (psql_rss_kb, psql_cpu_ms)) =
        cli_beside_psql(bin, server, size)?;
    let measured = Measured {
        built,
        head,
        totals,
        first_screen,
        totals_screen,
        rss_kb,
        cli,
        psql,
        cli_rss_kb,
        psql_rss_kb,
        cli_cpu_ms,
        psql_cpu_ms,
    };
    Ok(render(&measured, size))
}

/// The first page and the totals, as the dashboard reads them, in turn.
async fn in_process(server: &PgServer, size: &Size) -> Res<(Vec<Duration>, Vec<Duration>)> {
    let source = ConnectionSource::demo(server.connect_options(&size.database()));
    let db = Database::connect(&source, &Settings::default()).await?;
    let user = db.user("heavy").await?;
    let (mut head, mut totals) = (Vec::new(), Vec::new());
    for round in 0..size.runs + 2 {
        let started = Instant::now();
        let report = db.orders_head(&user, Some("t_b"), 100, None).await?;
        let took = started.elapsed();
        if report.lines.len() != 100 {
            return Err(format!("first page of {} lines", report.lines.len()).into());
        }
        let started = Instant::now();
        let sums = db.orders_totals(&user, Some("t_b"), None).await?;
        let summed = started.elapsed();
        if sums.lines != size.lines {
            return Err(format!("totals over {} lines", sums.lines).into());
        }
        // Two warm-up rounds.
        if round >= 2 {
            head.push(took);
            totals.push(summed);
        }
    }
    db.close().await;
    Ok((head, totals))
}

/// VmHWM of the dashboard once the totals came, after Tab, G (the last
/// page), PgUp × 5 and g (the first page again).
fn dashboard_rss(bin: &Path, url: &str, totals: &str) -> Res<u64> {
    let (_, mut app) = Pty::spawn(bin, url, totals)?;
    app.wait(totals)?;
    let pid = descendants(app.script.id())
        .into_iter()
        .find(|(_, comm)| comm == "tenantscope")
        .map(|(pid, _)| pid)
        .ok_or("no tenantscope process under script")?;
    app.send(b"\t")?;
    app.send(b"G")?;
    app.wait(LAST_LINE)?;
    for _ in 0..5 {
        app.send(b"\x1b[5~")?;
    }
    app.send(b"g")?;
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    app.quit()?;
    Ok(kb)
}

/// `orders aaa_heavy --format csv` and psql's join to a pipe, process
/// start to exit, alternating, after 2 warm-up pairs; each output checked
/// for every line. Then one run of each under /usr/bin/time for its RSS
/// and its CPU time (user + system, ms).
#[allow(clippy::type_complexity)]
fn cli_beside_psql(
    bin: &Path,
    server: &PgServer,
    size: &Size,
) -> Res<(Vec<Duration>, Vec<Duration>, (u64, f64), (u64, f64))> {
    let psql_bin = tenantscope::embedded::find_binaries()?.join("psql");
    let database = size.database();
    let url = server.url(&database);
    let ours = || {
        let mut command = Command::new(bin);
        command
            .args(["--database-url", &url, "orders", "heavy", "--format", "csv"])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env_remove("DATABASE_URL");
        command
    };
    let port = server.port().to_string();
    let theirs = || {
        let mut command = Command::new(&psql_bin);
        command
            .args(["-X", "-A", "-t", "-F", ",", "-h"])
            .arg(server.socket_dir())
            .args(["-p", &port, "-U", tenantscope::embedded::SUPERUSER])
            .args(["-d", &database, "-c", JOIN]);
        command
    };
    let run = |mut command: Command, lines: usize| -> Res<Duration> {
        let start = Instant::now();
        let output = command.stdin(Stdio::null()).output()?;
        let took = start.elapsed();
        let got = output.stdout.iter().filter(|b| **b == b'\n').count();
        if !output.status.success() || got != lines {
            return Err(format!(
                "{command:?}: {got} lines, {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(took)
    };
    let (mut cli, mut psql) = (Vec::new(), Vec::new());
    for _ in 0..size.runs + 2 {
        // CSV: a header, then one row per line.
        cli.push(run(ours(), size.lines + 1)?);
        psql.push(run(theirs(), size.lines)?);
    }
    let rss = |command: Command| -> Res<(u64, f64)> {
        let mut timed = Command::new("/usr/bin/time");
        timed.args(["-f", "%M %U %S"]).arg(command.get_program());
        timed.args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => timed.env(key, value),
                None => timed.env_remove(key),
            };
        }
        let output = timed.stdin(Stdio::null()).output()?;
        let text = String::from_utf8_lossy(&output.stderr);
        let parsed = text.lines().last().and_then(|line| {
            let mut fields = line.split_whitespace();
            let kb: u64 = fields.next()?.parse().ok()?;
            let user: f64 = fields.next()?.parse().ok()?;
            let system: f64 = fields.next()?.parse().ok()?;
            Some((kb, (user + system) * 1000.0))
        });
        parsed.ok_or_else(|| format!("no RSS and CPU from /usr/bin/time: {text}").into())
    };
    let cli_rss = rss(ours())?;
    let psql_rss = rss(theirs())?;
    Ok((cli.split_off(2), psql.split_off(2), cli_rss, psql_rss))
}

/// The dashboard in a pty, its output watched for markers.
struct Pty {
    script: Child,
    stdin: Option<ChildStdin>,
    seen: mpsc::Receiver<(String, Instant)>,
    found: Vec<(String, Instant)>,
    wanted: mpsc::Sender<String>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    fn spawn(bin: &Path, url: &str, totals: &str) -> Res<(Instant, Pty)> {
        let command = format!(
            "stty cols {WIDTH} rows {HEIGHT}; '{}' --database-url '{url}'",
            bin.display()
        );
        let mut script = script_command(&command);
        script
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env_remove("DATABASE_URL")
            .current_dir(std::env::temp_dir());
        let start = Instant::now();
        let mut child = script.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, seen) = mpsc::channel();
        let (wanted, markers) = mpsc::channel::<String>();
        for marker in [FIRST_LINE, totals, LAST_LINE] {
            wanted.send(marker.to_string())?;
        }
        let reader = std::thread::spawn(move || watch(stdout, markers, tx));
        let stdin = child.stdin.take();
        Ok((
            start,
            Pty {
                script: child,
                stdin,
                seen,
                found: Vec::new(),
                wanted,
                reader: Some(reader),
            },
        ))
    }

    /// When `marker` first showed.
    fn wait(&mut self, marker: &str) -> Res<Instant> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some((_, at)) = self.found.iter().find(|(m, _)| m == marker) {
                return Ok(*at);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(found) => self.found.push(found),
                Err(_) => return Err(format!("no frame showed {marker:?} within {WAIT:?}").into()),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Res<()> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(bytes)?;
        stdin.flush()?;
        Ok(())
    }

    fn quit(mut self) -> Res<()> {
        self.send(b"q")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.script.try_wait()?.is_none() {
            if Instant::now() > deadline {
                return Err("tenantscope did not quit within 10 s of q".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.wanted.send(String::new());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Ok(())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.script.try_wait() {
            for (pid, _) in descendants(self.script.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = self.script.kill();
            let _ = self.script.wait();
        }
    }
}

/// Drains the pty output and reports each marker the first time it shows.
fn watch(
    mut out: impl Read,
    markers: mpsc::Receiver<String>,
    seen: mpsc::Sender<(String, Instant)>,
) {
    let mut pending: Vec<String> = markers.try_iter().collect();
    let mut tail: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = out.read(&mut buffer) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buffer[..n]);
        pending.retain(|marker| {
            let bytes = marker.as_bytes();
            let shown = tail.windows(bytes.len()).any(|w| w == bytes);
            if shown {
                let _ = seen.send((marker.clone(), Instant::now()));
            }
            !shown
        });
        // Keep enough to find a marker cut across two reads.
        if tail.len() > 256 {
            tail.drain(..tail.len() - 256);
        }
    }
}

fn render(m: &Measured, size: &Size) -> String {
    let median = |samples: &[Duration]| percentile(samples, 50.0);
    let first = median(&m.first_screen);
    let ratio = median(&m.cli).as_secs_f64() / median(&m.psql).as_secs_f64().max(1e-9);
    let verdict = |pass: bool| if pass { "PASS" } else { "MISS" };
    let n = thousands(size.lines as u64);
    let mut out = String::new();
    out.push_str(size.marks.0);
    out.push_str(&format!(
        "\n## {}. A user with {n} order lines\n\n\
         Made by `cargo run --release --example bench -- --only {}` on {}: {}; load \
         average {} at the end. The machine is shared with other sessions running builds and \
         tests at the same time: its load shows in the tails. Database built in {}.\n\n\
         | Measure | median | p90 |\n| --- | --- | --- |\n",
        size.section,
        size.only,
        super::command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        super::machine(),
        super::loadavg(),
        secs(m.built),
    ));
    let row = |label: &str, samples: &[Duration]| {
        format!(
            "| {label} | {} | {} |\n",
            ms(median(samples)),
            ms(percentile(samples, 90.0))
        )
    };
    out.push_str(&row(
        "process start → first screen of lines (pty)",
        &m.first_screen,
    ));
    out.push_str(&row(
        "process start → the server's totals on screen",
        &m.totals_screen,
    ));
    out.push_str(&row(
        "`orders_head` (first page of 100), in process",
        &m.head,
    ));
    out.push_str(&row(
        "`orders_totals` (one aggregate statement), in process",
        &m.totals,
    ));
    out.push_str(&row(
        "`orders heavy --format csv` (CLI), start to exit",
        &m.cli,
    ));
    out.push_str(&row("psql, the same join as CSV, start to exit", &m.psql));
    out.push_str(&format!(
        "\nPeak RSS: dashboard {:.1} MB (after the totals, G, PgUp × 5, g); CLI {:.1} MB; \
         psql {:.1} MB.\n\n",
        mb(m.rss_kb),
        mb(m.cli_rss_kb),
        mb(m.psql_rss_kb),
    ));
    out.push_str(&format!(
        "- {} first screen ≤ {} with {n} lines: {} median\n",
        verdict(first <= FIRST_SCREEN_TARGET),
        ms(FIRST_SCREEN_TARGET),
        ms(first),
    ));
    if first > FIRST_SCREEN_TARGET {
        out.push_str(&format!(
            "  - from process start, so connecting, detection and the users page are in it; \
             the first page itself takes {} (`orders_head`)\n",
            ms(median(&m.head))
        ));
    }
    out.push_str(&format!(
        "- {} dashboard peak RSS ≤ {RSS_TARGET_MB} MB: {:.1} MB\n",
        verdict(mb(m.rss_kb) <= RSS_TARGET_MB),
        mb(m.rss_kb),
    ));
    out.push_str(&format!(
        "- {} `orders` CLI ≤ {CLI_RATIO_TARGET}× psql's join: {ratio:.2}× ({} vs {})\n",
        verdict(ratio <= CLI_RATIO_TARGET),
        ms(median(&m.cli)),
        ms(median(&m.psql)),
    ));
    if ratio > CLI_RATIO_TARGET {
        out.push_str(&format!(
            "  - the CLI runs the join once (its totals are added up as the lines stream; \
             `orders_totals` above, {}, is the dashboard's aggregate, not in the CLI's \
             time); process CPU (user + system, one run each under /usr/bin/time): \
             CLI {:.0} ms vs psql {:.0} ms: the difference is the client's own work per \
             line (decoding, exact decimal parsing and sums, formatting)\n",
            ms(median(&m.totals)),
            m.cli_cpu_ms,
            m.psql_cpu_ms,
        ));
    }
    out.push_str(&format!(
        "- How: {} runs of each after warm-up; the dashboard (200×50, the release binary \
         under `script`) is timed to the first output holding the first line's item, and to \
         \"{}\"; psql: `psql -X -A -t -F , -c \"{JOIN}\"`.\n",
        size.runs,
        size.totals(),
    ));
    out.push_str(size.marks.1);
    out.push('\n');
    out
}
