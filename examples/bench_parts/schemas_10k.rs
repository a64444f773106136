//! l. 10,000 tenant schemas (`--only 10k`, issue 24): the article's layout
//! (sql/scale.sql: shared `public.users`, with sql/indexes.sql) and a
//! django-tenants layout with users inside each schema
//! (`fixtures::many_tenants_sql`). Per database: detection without the
//! cache, connect with and without it, the CLI's `users --limit 100` beside
//! psql, the tenant directory (the tenants pane's statement), health,
//! prices; the article's basket view; the django-tenants database's tenants
//! pane, search and `a` on the real event loop; peak RSS of the CLI runs.
//! Prints PASS/MISS for issue 24's targets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database, BASKET_BATCH};
use tenantscope::embedded::testing::run_psql;
use tenantscope::embedded::PgServer;
use tenantscope::fixtures::many_tenants_sql_by;

use super::{mean, ms, percentile, progress, secs, sql_file, thousands, Res};

pub const SCHEMAS: usize = 10_000;
const RUNS: usize = 10;
pub const MARK_START: &str = "<!-- bench l: 10,000 schemas -->";
pub const MARK_END: &str = "<!-- /bench l -->";
const ARTICLE: &str = "article_10k";
const PER_TENANT: &str = "pertenant_10k";
/// Each matches 111 users at 10,000 tenants (under the 1,000 a search
/// keeps), from the first batch of schemas on.
const SEARCHES: [&str; 4] = ["user_19", "user_29", "user_39", "user_49"];

/// One target's verdict.
struct Check {
    pass: bool,
    what: String,
    why: Option<String>,
}

fn check(pass: bool, what: String, why: impl Into<String>) -> Check {
    Check {
        pass,
        what,
        why: (!pass).then(|| why.into()),
    }
}

/// What one database gave.
#[derive(Default)]
struct Figures {
    name: &'static str,
    schemas: usize,
    detection: Vec<Duration>,
    connect: Vec<Duration>,
    connect_cached: Vec<Duration>,
    cli: Vec<Duration>,
    cli_cached: Vec<Duration>,
    psql: Vec<Duration>,
    psql_error: Option<String>,
    rss_kb: u64,
    directory: Vec<Duration>,
    health: Vec<Duration>,
    health_error: Option<String>,
    prices: Option<Result<Duration, String>>,
    /// The server's share of the prices run, and its planning time (ms).
    prices_server: Option<(Share, f64)>,
    basket_first: Vec<Duration>,
    /// A basket page of [`BASKET_BATCH`] tenants in process
    /// (`basket_prices`), and the server's share of one (with planning).
    basket_page: Vec<Duration>,
    basket_server: Option<(Share, f64)>,
    pane: Option<Duration>,
    search_first: Vec<Duration>,
    search_all: Vec<Duration>,
    all_users: Vec<Duration>,
    ui_error: Option<String>,
    /// Start → first frame with users (pty), and psql printing the same
    /// page in the same kind of pty (article layout).
    frame: Vec<Duration>,
    psql_pty: Vec<Duration>,
    /// The server's share (pg_stat_statements) of detection, of the CLI
    /// runs (no cache, cache hit) and of psql's.
    detect_server: Option<Share>,
    cli_server: Option<Share>,
    cli_cached_server: Option<Share>,
    psql_server: Option<Share>,
}

/// What `pg_stat_statements` counted in one database over some runs, per
/// run: statements (BEGIN, SET and the like included), their execution
/// time on the server, and the heaviest one.
#[derive(Clone, Default)]
struct Share {
    statements: f64,
    ms: f64,
    heaviest: String,
    heaviest_ms: f64,
}

impl Share {
    fn said(&self) -> String {
        format!(
            "{:.1} ms on the server in {:.0} statements (the heaviest, {:.1} ms: `{}`)",
            self.ms, self.statements, self.heaviest_ms, self.heaviest
        )
    }
}

/// The server section l measures on: the bench's private one, or one kept
/// between runs (`--server DIR:PORT`), whose databases, once built, are
/// reused: building article_10k takes minutes.
pub trait Server {
    fn socket_dir(&self) -> &Path;
    fn port(&self) -> u16;
    fn connect_options(&self, database: &str) -> PgConnectOptions;
    fn url(&self, database: &str) -> String;
    /// Databases that exist already are reused, not built again.
    fn kept(&self) -> bool;
}

impl Server for PgServer {
    fn socket_dir(&self) -> &Path {
        PgServer::socket_dir(self)
    }
    fn port(&self) -> u16 {
        PgServer::port(self)
    }
    fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgServer::connect_options(self, database)
    }
    fn url(&self, database: &str) -> String {
        PgServer::url(self, database)
    }
    fn kept(&self) -> bool {
        false
    }
}

/// A server kept between runs: its socket directory and port.
pub struct Kept {
    socket_dir: PathBuf,
    port: u16,
}

impl Kept {
    /// `DIR:PORT`.
    pub fn parse(text: &str) -> Res<Kept> {
        let (dir, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("--server {text}: expected DIR:PORT"))?;
        let port = port
            .parse()
            .map_err(|e| format!("--server {text}: port: {e}"))?;
        Ok(Kept {
            socket_dir: PathBuf::from(dir),
            port,
        })
    }
}

impl Server for Kept {
    fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(&self.socket_dir)
            .port(self.port)
            .username(tenantscope::embedded::SUPERUSER)
            .database(database)
    }
    fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@localhost:{}/{database}?host={}",
            tenantscope::embedded::SUPERUSER,
            self.port,
            self.socket_dir.display()
        )
    }
    fn kept(&self) -> bool {
        true
    }
}

/// Empties `pg_stat_statements` of database `name` (from the `postgres` database).
async fn stats_reset(server: &dyn Server, name: &str) -> Res<()> {
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&server.connect_options("postgres"))
            .await?;
    // Database `name`'s only: a kept server may serve other work.
    sqlx::query(
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)",
    )
    .bind(name)
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// What `pg_stat_statements` counted in database `name` since the reset,
/// divided by `runs`.
async fn stats_read(server: &dyn Server, name: &str, runs: usize) -> Res<Share> {
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&server.connect_options("postgres"))
            .await?;
    let (calls, ms): (f64, f64) = sqlx::query_as(
        "SELECT coalesce(sum(s.calls), 0)::float8, coalesce(sum(s.total_exec_time), 0)::float8
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await?;
    let heaviest: Option<(String, f64)> = sqlx::query_as(
        "SELECT left(regexp_replace(s.query, '\\s+', ' ', 'g'), 70), s.total_exec_time::float8
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1 ORDER BY s.total_exec_time DESC LIMIT 1",
    )
    .bind(name)
    .fetch_optional(&mut admin)
    .await?;
    let runs = runs.max(1) as f64;
    let (heaviest, heaviest_ms) = heaviest.unwrap_or_default();
    Ok(Share {
        statements: calls / runs,
        ms: ms / runs,
        heaviest: heaviest.replace('`', "'").replace('|', "/"),
        heaviest_ms: heaviest_ms / runs,
    })
}

/// Planning time (ms) `pg_stat_statements` counted in database `name`
/// since the reset, divided by `runs` (0 where it does not track planning:
/// the bench turns `pg_stat_statements.track_planning` on in the article
/// database).
async fn plan_read(server: &dyn Server, name: &str, runs: usize) -> Res<f64> {
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&server.connect_options("postgres"))
            .await?;
    let ms: f64 = sqlx::query_scalar(
        "SELECT coalesce(sum(s.total_plan_time), 0)::float8
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await?;
    Ok(ms / runs.max(1) as f64)
}

/// The server's share of what ran since [`stats_reset`] (`runs` times),
/// with its planning; `None` where it cannot be read.
async fn share_with_plans(server: &dyn Server, name: &str, runs: usize) -> Option<(Share, f64)> {
    let share = stats_read(server, name, runs).await.ok()?;
    let plan = plan_read(server, name, runs).await.ok()?;
    Some((share, plan))
}

/// A basket page in process, as the UI's first: the first user's lines
/// priced at the catalogue's first [`BASKET_BATCH`] tenants, 3 times, and
/// the server's share of one (with its planning).
async fn basket_page(
    server: &dyn Server,
    db: &Database,
) -> Res<(Vec<Duration>, Option<(Share, f64)>)> {
    let mut conn =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&server.connect_options(ARTICLE))
            .await?;
    let id: String = sqlx::query_scalar("SELECT id::text FROM public.users WHERE name = $1")
        .bind(super::FIRST_USER)
        .fetch_one(&mut conn)
        .await?;
    let user = db.user(&id).await?;
    let lines = db.priced_orders(&user, None).await?.lines;
    let catalog = db.tenants().await?;
    let page: Vec<String> = catalog.names().iter().take(BASKET_BATCH).cloned().collect();
    let own = user.tenant.clone().unwrap_or_default();
    let reset = stats_reset(server, ARTICLE).await.is_ok();
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        db.basket_prices(&own, &lines, &page, None).await?;
        times.push(start.elapsed());
    }
    let share = if reset {
        share_with_plans(server, ARTICLE, times.len()).await
    } else {
        None
    };
    Ok((times, share))
}

/// The server's share of `runs` runs of `work`; `None` (said on stderr)
/// where `pg_stat_statements` cannot be read.
fn server_share(
    runtime: &tokio::runtime::Runtime,
    server: &dyn Server,
    name: &str,
    runs: usize,
    mut work: impl FnMut() -> Res<()>,
) -> Res<Option<Share>> {
    if let Err(e) = runtime.block_on(stats_reset(server, name)) {
        progress(format!("l. {name}: pg_stat_statements not readable: {e}"));
        return Ok(None);
    }
    for _ in 0..runs {
        work()?;
    }
    Ok(runtime.block_on(stats_read(server, name, runs)).ok())
}

/// psql printing `sql`'s rows in a pty as the dashboard's (a, 200×50):
/// spawn → the first output holding the first user.
fn psql_in_pty(psql: &Path, server: &dyn Server, name: &str, sql: &str) -> Res<Duration> {
    let command = format!(
        "stty cols {w} rows {h}; '{psql}' -X -A -t -P pager=off -h '{socket}' -p {port} -U {user} \
         -d {name} -c '{sql}'",
        w = super::WIDTH,
        h = super::HEIGHT,
        psql = psql.display(),
        socket = server.socket_dir().display(),
        port = server.port(),
        user = tenantscope::embedded::SUPERUSER,
    );
    let start = Instant::now();
    let mut child = super::script_command(&command).spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, seen) = std::sync::mpsc::channel();
    let reader =
        std::thread::spawn(move || super::watch_output(stdout, super::FIRST_USER.as_bytes(), tx));
    // Kept open until psql is done: at EOF `script` ends the session early.
    let stdin = child.stdin.take();
    let shown = seen.recv_timeout(super::WAIT);
    let status = child.wait()?;
    drop(stdin);
    let _ = reader.join();
    match shown {
        Ok(at) if status.success() => Ok(at - start),
        _ => Err(format!("psql in a pty: no {} ({status})", super::FIRST_USER).into()),
    }
}

pub fn run(runtime: &tokio::runtime::Runtime, server: &dyn Server) -> Res<String> {
    let started = Instant::now();
    let (bin, _) = super::dashboard_binary()?;
    let built = build(runtime, server)?;
    let mut figures = Vec::new();
    for (name, psql_sql) in [
        (
            ARTICLE,
            Some(
                "SELECT id, name, mail, organization_id, creation_timestamp FROM public.users \
                 ORDER BY name, id LIMIT 100",
            ),
        ),
        (PER_TENANT, None),
    ] {
        figures.push(measure(runtime, server, &bin, name, psql_sql)?);
    }
    Ok(render(server, &built, &figures, started.elapsed()))
}

/// What a kept server's database says once it is built: a database
/// without it (a build cut short) is not measured.
const BUILT: &str = "tenantscope bench l: built";

/// Builds both databases (on a kept server, those built before are
/// reused); returns how long each took.
fn build(
    runtime: &tokio::runtime::Runtime,
    server: &dyn Server,
) -> Res<Vec<(String, Option<Duration>)>> {
    let mut took = Vec::new();
    for name in [ARTICLE, PER_TENANT] {
        let built: Option<Option<String>> = runtime.block_on(async {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(
                &server.connect_options("postgres"),
            )
            .await?;
            let comment = sqlx::query_scalar(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            )
            .bind(name)
            .fetch_optional(&mut admin)
            .await?;
            if comment.is_none() {
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
            }
            // Planning is most of what prices and the basket cost the
            // server: counted where they are measured.
            if name == ARTICLE {
                if let Err(e) = sqlx::raw_sql(&format!(
                    "ALTER DATABASE {ARTICLE} SET pg_stat_statements.track_planning = on"
                ))
                .execute(&mut admin)
                .await
                {
                    progress(format!("l. pg_stat_statements.track_planning: {e}"));
                }
            }
            // The server's share of each run (see `Share`); a server
            // without it is measured all the same.
            if let Err(e) = sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&mut admin)
                .await
            {
                progress(format!("l. pg_stat_statements: {e}"));
            }
            Ok::<_, Box<dyn std::error::Error>>(comment)
        })?;
        match built {
            Some(Some(comment)) if server.kept() && comment == BUILT => {
                progress(format!("l. {name}: reused (built in an earlier run)"));
                took.push((format!("{name} reused from an earlier run"), None));
                continue;
            }
            Some(_) => {
                return Err(
                    format!("l. {name} exists but was not built to the end: drop it").into(),
                )
            }
            None => {}
        }
        let start = Instant::now();
        let what = if name == ARTICLE {
            build_article(server)?
        } else {
            build_per_tenant(runtime, server)?
        };
        runtime.block_on(async {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(
                &server.connect_options("postgres"),
            )
            .await?;
            sqlx::raw_sql(&format!("COMMENT ON DATABASE {name} IS '{BUILT}'"))
                .execute(&mut admin)
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        took.push((what, Some(start.elapsed())));
    }
    Ok(took)
}

/// article_10k: sql/scale.sql, then sql/indexes.sql.
fn build_article(server: &dyn Server) -> Res<String> {
    progress(format!("l. {ARTICLE}: sql/scale.sql, {SCHEMAS} tenants"));
    run_psql(
        server.socket_dir(),
        ARTICLE,
        &sql_file("scale.sql"),
        &[
            ("tenants", SCHEMAS.to_string()),
            ("users", "200000".into()),
            ("items", "10".into()),
            ("orders_per_user", "2".into()),
        ],
    )?;
    run_psql(server.socket_dir(), ARTICLE, &sql_file("indexes.sql"), &[])?;
    Ok(format!(
        "{ARTICLE} (sql/scale.sql tenants={SCHEMAS} users=200000 items=10 \
         orders_per_user=2, then sql/indexes.sql)"
    ))
}

/// pertenant_10k: `fixtures::many_tenants_sql`, then VACUUM ANALYZE.
fn build_per_tenant(runtime: &tokio::runtime::Runtime, server: &dyn Server) -> Res<String> {
    progress(format!("l. {PER_TENANT}: {SCHEMAS} django-tenants schemas"));
    runtime.block_on(async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(
            &server.connect_options(PER_TENANT),
        )
        .await?;
        for statement in many_tenants_sql_by(SCHEMAS, 100) {
            sqlx::raw_sql(&statement).execute(&mut conn).await?;
        }
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut conn).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(format!(
        "{PER_TENANT} (`fixtures::many_tenants_sql({SCHEMAS})`)"
    ))
}

fn timed_command(command: &mut Command) -> Res<(Duration, std::process::Output)> {
    let start = Instant::now();
    let output = command.output()?;
    Ok((start.elapsed(), output))
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    server: &dyn Server,
    bin: &Path,
    name: &'static str,
    psql_sql: Option<&str>,
) -> Res<Figures> {
    let mut f = Figures {
        name,
        ..Figures::default()
    };
    let source = ConnectionSource::demo(server.connect_options(name));
    let cache = tempfile::tempdir()?;
    progress(format!("l. {name}: detection and connect"));
    let db = runtime.block_on(async {
        let plain = Settings::default();
        let cached = Settings {
            detection_cache: Some(cache.path().to_path_buf()),
            ..Settings::default()
        };
        // The cache written once before the cached connects.
        Database::connect(&source, &cached).await?.close().await;
        let mut db = None;
        for _ in 0..RUNS {
            let start = Instant::now();
            let opened = Database::connect(&source, &plain).await?;
            f.connect.push(start.elapsed());
            let start = Instant::now();
            let again = Database::connect(&source, &cached).await?;
            f.connect_cached.push(start.elapsed());
            again.close().await;
            let start = Instant::now();
            let detection = opened.detect_layout("public").await?;
            f.detection.push(start.elapsed());
            f.schemas = detection.tenants.len();
            if let Some(old) = db.replace(opened) {
                old.close().await;
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(db.expect("connected"))
    })?;
    f.detect_server = server_share(runtime, server, name, 5, || {
        runtime.block_on(db.detect_layout("public"))?;
        Ok(())
    })?;
    progress(format!("l. {name}: CLI users --limit 100 beside psql"));
    let url = server.url(name);
    let psql_bin = tenantscope::embedded::find_binaries()?.join("psql");
    let cli = |cached: bool| {
        let mut command = Command::new("/usr/bin/time");
        command
            .args(["-f", "%M"])
            .arg(bin)
            .env_remove("DATABASE_URL");
        for (var, _) in std::env::vars() {
            if var.starts_with("TENANTSCOPE_") || var.starts_with("PG") {
                command.env_remove(var);
            }
        }
        command
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env("XDG_CACHE_HOME", cache.path())
            .args(["--database-url", &url]);
        if !cached {
            command.arg("--no-cache");
        }
        command.args(["users", "--limit", "100"]);
        command
    };
    for round in 0..RUNS + 2 {
        let (took, out) = timed_command(&mut cli(false))?;
        let (took_cached, out_cached) = timed_command(&mut cli(true))?;
        for out in [&out, &out_cached] {
            if !out.status.success() {
                return Err(format!(
                    "{name}: users --limit 100: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let rss: u64 = String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            f.rss_kb = f.rss_kb.max(rss);
        }
        let psql = psql_sql.map(|sql| {
            timed_command(
                Command::new(&psql_bin)
                    .args(["-X", "-A", "-t", "-h"])
                    .arg(server.socket_dir())
                    .args(["-p", &server.port().to_string()])
                    .args(["-U", tenantscope::embedded::SUPERUSER, "-d"])
                    .args([name, "-c", sql]),
            )
        });
        if round < 2 {
            continue; // warm-up
        }
        f.cli.push(took);
        f.cli_cached.push(took_cached);
        if let Some(psql) = psql {
            let (took, out) = psql?;
            if out.status.success() {
                f.psql.push(took);
            } else {
                f.psql_error = Some(String::from_utf8_lossy(&out.stderr).trim().to_string());
            }
        }
    }
    let quiet = |command: &mut Command| -> Res<()> {
        let out = command.output()?;
        if !out.status.success() {
            return Err(format!("{command:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(())
    };
    f.cli_server = server_share(runtime, server, name, 5, || quiet(&mut cli(false)))?;
    f.cli_cached_server = server_share(runtime, server, name, 5, || quiet(&mut cli(true)))?;
    if let Some(sql) = psql_sql {
        f.psql_server = server_share(runtime, server, name, 5, || {
            quiet(
                Command::new(&psql_bin)
                    .args(["-X", "-A", "-t", "-h"])
                    .arg(server.socket_dir())
                    .args(["-p", &server.port().to_string()])
                    .args(["-U", tenantscope::embedded::SUPERUSER, "-d"])
                    .args([name, "-c", sql]),
            )
        })?;
        progress(format!("l. {name}: first frame beside psql, in a pty"));
        for round in 0..RUNS + 1 {
            let (start, mut app) = super::PtyApp::spawn(bin, &url)?;
            let shown = app.first_frame()?;
            app.quit()?;
            let psql = psql_in_pty(&psql_bin, server, name, sql)?;
            if round > 0 {
                f.frame.push(shown - start);
                f.psql_pty.push(psql);
            }
        }
    }
    if psql_sql.is_none() {
        f.psql_error = Some(format!(
            "no single psql statement: the users of {} schemas are {} tables, more than \
             the default lock table holds in one statement",
            thousands(SCHEMAS as u64),
            thousands(SCHEMAS as u64)
        ));
    }
    progress(format!("l. {name}: tenant directory, health, prices"));
    runtime.block_on(async {
        for _ in 0..3 {
            // As the dashboard reads them: the user count (its header's),
            // then the tenants pane's directory, with each tenant's users
            // only where that count was exact (app/tenants.rs).
            let start = Instant::now();
            let count = db.user_count().await?;
            db.tenant_directory(!count.estimated).await?;
            f.directory.push(start.elapsed());
            let start = Instant::now();
            match db.health(None).await {
                Ok(_) => f.health.push(start.elapsed()),
                Err(e) => {
                    f.health_error = Some(e.to_string());
                    break;
                }
            }
        }
        let tenants: Vec<String> = db
            .tenant_directory(false)
            .await?
            .into_iter()
            .map(|t| t.schema)
            .collect();
        let reset = stats_reset(server, name).await.is_ok();
        let start = Instant::now();
        f.prices = Some(match db.price_matrix(&tenants).await {
            Ok(_) => Ok(start.elapsed()),
            Err(e) => Err(e.to_string()),
        });
        if reset {
            f.prices_server = share_with_plans(server, name, 1).await;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    if name == ARTICLE {
        progress(format!("l. {name}: basket view"));
        let (first, _) = runtime.block_on(super::basket_times(&db))?;
        f.basket_first = first;
        let (page, share) = runtime.block_on(basket_page(server, &db))?;
        f.basket_page = page;
        f.basket_server = share;
    } else {
        progress(format!("l. {name}: tenants pane, search, a"));
        match runtime.block_on(super::tenants::search_times_of(
            db.clone(),
            SCHEMAS,
            &SEARCHES,
        )) {
            Ok((first, all, pane, (all_first, _))) => {
                f.search_first = first;
                f.search_all = all;
                f.pane = Some(pane);
                f.all_users = all_first;
            }
            Err(e) => {
                let e = e.to_string();
                f.ui_error = Some(e.lines().next().unwrap_or_default().to_string());
            }
        }
    }
    runtime.block_on(db.close());
    Ok(f)
}

fn render(
    server: &dyn Server,
    built: &[(String, Option<Duration>)],
    figures: &[Figures],
    total: Duration,
) -> String {
    let p = |s: &[Duration]| {
        if s.is_empty() {
            "—".to_string()
        } else {
            format!(
                "{} / {} (n={})",
                ms(percentile(s, 50.0)),
                ms(percentile(s, 90.0)),
                s.len()
            )
        }
    };
    let mut out = format!(
        "{MARK_START}\n## l. {n} tenant schemas (issue 24)\n\n\
         `cargo run --release --example bench -- --only 10k` (also part of a whole run), on {on}; \
         took {total}. Built: {built}. Times are p50 / p90 unless said; \
         whole processes for the CLI rows (output to a pipe), interleaved, after 2 warm-up rounds.\n\n\
         | Measure | {a} | {b} |\n| --- | --- | --- |\n",
        n = thousands(SCHEMAS as u64),
        on = if server.kept() {
            "a server kept between runs (`--server DIR:PORT`)"
        } else {
            "the same private server"
        },
        total = secs(total),
        built = built
            .iter()
            .map(|(what, took)| match took {
                Some(took) => format!("{what} in {}", secs(*took)),
                None => what.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        a = figures[0].name,
        b = figures[1].name,
    );
    let mut row = |what: &str, cell: &dyn Fn(&Figures) -> String| {
        out.push_str(&format!(
            "| {what} | {} | {} |\n",
            cell(&figures[0]),
            cell(&figures[1])
        ));
    };
    row("tenants detected", &|f| thousands(f.schemas as u64));
    row(
        "detection (`detect_layout`, no cache)",
        &|f| p(&f.detection),
    );
    row(
        "connect, no cache (detection, layout, users source)",
        &|f| p(&f.connect),
    );
    row(
        "connect, cache hit (fingerprint instead of detection)",
        &|f| p(&f.connect_cached),
    );
    row("CLI `users --limit 100 --no-cache`", &|f| p(&f.cli));
    row("CLI `users --limit 100`, cache hit", &|f| p(&f.cli_cached));
    row("psql, the same rows", &|f| match &f.psql_error {
        Some(e) => e.clone(),
        None => p(&f.psql),
    });
    row(
        "start → first frame with users (pty, 200×50, cache hit)",
        &|f| p(&f.frame),
    );
    row(
        "psql printing the same 100 users in the same kind of pty",
        &|f| p(&f.psql_pty),
    );
    let share = |s: &Option<Share>| {
        s.as_ref().map_or("—".to_string(), |s| {
            format!("{:.1} ms, {:.0} statements", s.ms, s.statements)
        })
    };
    row(
        "server's share per detection (pg_stat_statements: execution, statements)",
        &|f| share(&f.detect_server),
    );
    row(
        "server's share per CLI run, no cache / cache hit / psql",
        &|f| {
            format!(
                "{} / {} / {}",
                share(&f.cli_server),
                share(&f.cli_cached_server),
                share(&f.psql_server)
            )
        },
    );
    row("CLI peak RSS (max over its runs)", &|f| {
        format!("{:.1} MB", f.rss_kb as f64 / 1024.0)
    });
    row(
        "user count, then the tenant directory (the tenants pane's statements)",
        &|f| p(&f.directory),
    );
    row(
        "health report `db.health(None)`",
        &|f| match &f.health_error {
            Some(e) => format!("failed: {e}"),
            None => p(&f.health),
        },
    );
    row(
        "prices: `price_matrix` of every tenant (one run)",
        &|f| match &f.prices {
            Some(Ok(d)) => ms(*d),
            Some(Err(e)) => format!("failed: {e}"),
            None => "—".into(),
        },
    );
    row("basket: `b` → first page (UI)", &|f| p(&f.basket_first));
    row(
        "start → tenants pane with every tenant (UI, one run)",
        &|f| f.pane.map_or("—".into(), ms),
    );
    row("search → first result, minus debounce (UI)", &|f| {
        p(&f.search_first)
    });
    row(
        "search → all tenants searched, minus debounce (UI)",
        &|f| p(&f.search_all),
    );
    row("`a` → first page of every tenant's users (UI)", &|f| {
        p(&f.all_users)
    });
    row("UI run failed", &|f| {
        f.ui_error.clone().unwrap_or("—".into())
    });
    out.push_str("\n### Targets (issue 24)\n\n");
    for c in checks(figures) {
        out.push_str(&format!(
            "- {} {}\n",
            if c.pass { "PASS" } else { "MISS" },
            c.what
        ));
        if let Some(why) = c.why {
            out.push_str(&format!("  - why: {why}\n"));
        }
    }
    out.push_str(&format!("{MARK_END}\n"));
    out
}

/// Why the prices row takes what it takes, as measured in its run.
fn prices_why(f: &Figures) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    match (&f.prices, &f.prices_server) {
        (Some(Ok(wall)), Some((share, plan))) => format!(
            "measured in its run ({} tenants, {}): {} and {:.0} ms planning \
             (each statement opens and plans its tenants' items tables: {} to a statement, \
             statements side by side on {cores} cores), summed over its connections",
            thousands(f.schemas as u64),
            ms(*wall),
            share.said(),
            plan,
            tenantscope::db::PRICE_BATCH,
        ),
        (Some(Err(e)), _) => e.clone(),
        _ => "not measured: pg_stat_statements could not be read".into(),
    }
}

/// Why the basket's first page takes what it takes, as measured in its run.
fn basket_why(f: &Figures, first: Option<Duration>, page: Option<Duration>) -> String {
    match (first, page, &f.basket_server) {
        (Some(first), Some(page), Some((share, plan))) => format!(
            "measured: a page of {BASKET_BATCH} tenants in process (`basket_prices`, item \
             rules already cached) takes {} (p50 of {}): {} and {:.0} ms \
             planning per page; the UI's first page {} beyond it (the item rules of a new \
             pair, the page's lines, drawing)",
            ms(page),
            f.basket_page.len(),
            share.said(),
            plan,
            if first >= page {
                format!("takes {} more", ms(first - page))
            } else {
                format!("is {} less", ms(page - first))
            },
        ),
        _ => "not measured: pg_stat_statements could not be read".into(),
    }
}

fn checks(figures: &[Figures]) -> Vec<Check> {
    let p50 = |s: &[Duration]| (!s.is_empty()).then(|| percentile(s, 50.0));
    let mut out = Vec::new();
    let limit = |what: String, got: Option<Duration>, max: Duration, why: &str| {
        let pass = got.is_some_and(|d| d <= max);
        check(
            pass,
            format!(
                "{what}: p50 {} ≤ {}",
                got.map_or("not measured".into(), ms),
                ms(max)
            ),
            why,
        )
    };
    for f in figures {
        let n = f.name;
        let ms_of = |d: Duration| d.as_secs_f64() * 1000.0;
        let detect_why = match (&f.detect_server, p50(&f.detection)) {
            (Some(s), Some(d)) => format!(
                "measured: {}; the other {:.1} ms of the p50 are the client's (the pool's \
                 ping, BEGIN, round trips, classifying {} schemas)",
                s.said(),
                (ms_of(d) - s.ms).max(0.0),
                thousands(f.schemas as u64)
            ),
            _ => "not measured: pg_stat_statements could not be read".into(),
        };
        out.push(limit(
            format!("{n}: detection without cache"),
            p50(&f.detection),
            Duration::from_millis(40),
            &detect_why,
        ));
        let psql = p50(&f.psql);
        for (what, cli, share) in [
            ("--no-cache", &f.cli, &f.cli_server),
            ("cache hit", &f.cli_cached, &f.cli_cached_server),
        ] {
            let why = match (share, &f.psql_server, p50(cli), psql) {
                (Some(s), Some(ps), Some(c), Some(pp)) => format!(
                    "measured per run: {}, psql {}; the rest, {:.1} ms against psql's {:.1} ms, \
                     is the processes' own (start, connecting a new backend, round trips, \
                     writing)",
                    s.said(),
                    ps.said(),
                    (ms_of(c) - s.ms).max(0.0),
                    (ms_of(pp) - ps.ms).max(0.0)
                ),
                (Some(s), ..) => format!("measured per run: {}", s.said()),
                _ => "a process that connects, reads the layout and the tenant catalogue \
                      pays more round trips than psql's one statement (not measured: \
                      pg_stat_statements could not be read)"
                    .into(),
            };
            let got = p50(cli);
            let pass = matches!((got, psql), (Some(c), Some(p)) if c <= p);
            let ratio = match (got, psql) {
                (Some(c), Some(p)) => format!("{:.2}×", c.as_secs_f64() / p.as_secs_f64()),
                _ => "no psql reference".into(),
            };
            out.push(check(
                pass,
                format!(
                    "{n}: CLI `users --limit 100` ({what}) p50 {} ≤ 1.0 × psql p50 {}: {ratio}",
                    got.map_or("—".into(), ms),
                    psql.map_or("—".into(), ms)
                ),
                f.psql_error.clone().unwrap_or(why),
            ));
        }
        if !f.frame.is_empty() || n == ARTICLE {
            let (frame, pty) = (p50(&f.frame), p50(&f.psql_pty));
            let pass = matches!((frame, pty), (Some(a), Some(b)) if a <= b);
            let why = match (frame, pty, p50(&f.cli_cached)) {
                (Some(a), Some(b), Some(c)) => format!(
                    "measured: the CLI's `users --limit 100` (cache hit, the same page, no \
                     terminal) takes {} here; the dashboard adds {:.1} ms to it (a runtime of \
                     two workers, a pool, the terminal; its first frame waits for the first \
                     page and that page's tenants only), psql in the pty {}",
                    ms(c),
                    ms_of(a) - ms_of(c),
                    ms(b)
                ),
                _ => "not measured".into(),
            };
            out.push(check(
                pass,
                format!(
                    "{n}: start → first frame with users p50 {} ≤ 1.0 × psql printing the same \
                     page in the same pty, p50 {}",
                    frame.map_or("—".into(), ms),
                    pty.map_or("—".into(), ms)
                ),
                why,
            ));
        }
        out.push(limit(
            format!("{n}: tenants pane statements (user count, then tenant directory)"),
            p50(&f.directory),
            Duration::from_millis(if n == PER_TENANT { 1000 } else { 300 }),
            "each per-tenant users table costs the server 0.1–0.25 ms to open and lock \
             whatever its rows (10,000 in psql: 0.5 s on a warm backend, 2.3 s on a fresh \
             one); 50 to a statement, 3 statements side by side, on 2 shared cores; past \
             1,000 tenants only the tables never analyzed (or empty by their statistics) \
             are opened, the others estimated from pg_class.reltuples",
        ));
        out.push(limit(
            format!("{n}: health"),
            p50(&f.health),
            Duration::from_millis(if n == PER_TENANT { 2000 } else { 1000 }),
            f.health_error
                .as_deref()
                .unwrap_or("health reads every tenant's columns and rows"),
        ));
        out.push(check(
            f.rss_kb > 0 && f.rss_kb <= 50 * 1024,
            format!(
                "{n}: CLI peak RSS {:.1} MB ≤ 50 MB",
                f.rss_kb as f64 / 1024.0
            ),
            "the layout of every tenant held in memory",
        ));
        if n == ARTICLE {
            out.push(check(
                matches!(f.prices, Some(Ok(d)) if d <= Duration::from_secs(2)),
                format!(
                    "{n}: prices of every tenant ≤ 2 s: {}",
                    match &f.prices {
                        Some(Ok(d)) => ms(*d),
                        Some(Err(e)) => e.clone(),
                        None => "not measured".into(),
                    }
                ),
                prices_why(f),
            ));
            out.push(limit(
                format!("{n}: basket first page"),
                p50(&f.basket_first),
                Duration::from_millis(300),
                &basket_why(f, p50(&f.basket_first), p50(&f.basket_page)),
            ));
        } else {
            out.push(limit(
                format!("{n}: search first result"),
                p50(&f.search_first),
                Duration::from_millis(300),
                "the first batch of schemas",
            ));
            out.push(limit(
                format!("{n}: search all tenants"),
                p50(&f.search_all),
                Duration::from_secs(1),
                "planning: about 0.08 ms of server planning per users table, 800 ms of \
                 a search at 10,000 against 150 ms executing (pg_stat_statements with \
                 track_planning, 2026-12-06); the search in the library alone takes \
                 1.3 s whatever the batch width (150, 500, 2,000, 10,000)",
            ));
            out.push(limit(
                format!("{n}: start → tenants pane"),
                f.pane,
                Duration::from_millis(1000),
                "connecting (the per-tenant users source) and the counts (see the \
                 tenants pane statements)",
            ));
        }
    }
    let _ = mean;
    out
}
