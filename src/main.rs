use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use tenantscope::app::connect::{ConnectError, Connector, Opened};
use tenantscope::app::dashboard::open_on_user;
use tenantscope::app::runtime::{self, Signals};
use tenantscope::cli::{Cli, Command};
use tenantscope::config::{ConfigFile, Settings};
use tenantscope::db::{self, ConnectionSource, Database, UserQuery};
use tenantscope::embedded::{PgServer, ServerOptions, DEMO_SQL};
use tenantscope::output::{self, Destination};
use tenantscope::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let env: HashMap<String, String> = std::env::vars().collect();
    match run(cli, &env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tenantscope: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli, env: &HashMap<String, String>) -> Result<(), Failure> {
    // Commands about tenantscope itself: no settings, no database.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            write_stdout_bytes(&tenantscope::shell::completions(*shell));
            return Ok(());
        }
        Some(Command::Man) => {
            let page = tenantscope::shell::man_page()
                .map_err(|e| Failure::runtime(format!("cannot render the man page: {e}")))?;
            write_stdout_bytes(&page);
            return Ok(());
        }
        _ => {}
    }
    let file = ConfigFile::locate(cli.config.as_deref(), env);
    if let Some(warning) = tenantscope::config_report::shadow_warning(&file, env) {
        eprintln!("{warning}");
    }
    if let Some(Command::Config { path }) = &cli.command {
        return print_config(&cli, &file, env, *path);
    }
    let settings = Settings::load_profile(&file, env, cli.profile.as_deref().filter(|_| !cli.demo))
        .map_err(Failure::usage)?;
    // sqlx reads some PG* variables itself, each its own way; tenantscope
    // has resolved them in libpq's order (`env`), so sqlx must not see them
    // (nor the demo server's initdb and postgres). No thread runs yet.
    for (_, var) in db::LIBPQ_VARIABLES {
        std::env::remove_var(var);
    }
    if matches!(cli.command, Some(Command::Profiles)) {
        write_stdout(&profiles(&file, &settings, env));
        return Ok(());
    }
    if let Some(path) = &cli.log_file {
        init_logging(path)?;
    }
    // One hook for every panic, on any thread: terminal restored first, then
    // the report on stderr and in the log.
    runtime::install_panic_hook();
    let url = cli
        .database_url
        .as_deref()
        .or(settings.database.url.as_deref());
    let configured = if cli.demo {
        None
    } else {
        db::connect_options(url, env).map_err(Failure::usage)?
    };
    match (&configured, &settings.profile) {
        (Some(source), _) => {
            for warning in source.warnings() {
                eprintln!("tenantscope: warning: {warning}");
            }
        }
        (None, Some(profile)) if !cli.demo => {
            return Err(Failure::usage(format!(
                "profile {:?} names no database: set url in [profiles.{0}.database]",
                tenantscope::text::sanitize(profile)
            )))
        }
        // Never invented data by surprise: a script learns where it came from.
        (None, _) if !cli.demo && cli.command.is_some() => eprintln!(
            "tenantscope: no database configured (see --help): answering from the built-in \
             demo database; --demo hides this line"
        ),
        (None, _) => {}
    }
    // Declared before the runtime so it is dropped (server stopped) after it.
    let mut demo_server: Option<PgServer> = None;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    // Caught from here on, so that even an interrupted start-up cleans up.
    let mut signals = {
        let _entered = runtime.enter();
        Signals::catch().map_err(|e| Failure::runtime(format!("cannot catch signals: {e}")))?
    };
    if configured.is_none() {
        demo_server = Some(runtime.block_on(start_demo_server(&mut signals))?);
    }
    let profile_rows = profile_targets(&file, &settings, env);
    runtime.block_on(async {
        let source = match (configured, &demo_server) {
            (Some(source), _) => source,
            (None, Some(server)) => tokio::select! {
                source = load_demo(server) => source?,
                signal = signals.recv() => return Err(interrupted(signal)),
            },
            (None, None) => unreachable!("a demo server runs whenever no database is configured"),
        };
        let compare = cli
            .compare
            .clone()
            .or_else(|| settings.tenancy.compare_with.clone());
        let debounce = Duration::from_millis(settings.ui.debounce_ms);
        let connector = connector(Arc::new(Start {
            file,
            env: env.clone(),
            settings: settings.clone(),
            source: source.clone(),
            compare: compare.clone(),
        }));
        let refresh_every =
            (settings.ui.refresh_s > 0).then(|| Duration::from_secs(settings.ui.refresh_s));
        let mouse = settings.ui.mouse && !cli.no_mouse;
        // `--user` is checked before the terminal is touched (exit 2 in one
        // line when there is no such user), so it connects first.
        if cli.command.is_none() && cli.user.is_none() && std::io::stdout().is_terminal() {
            // The dashboard draws at once and connects itself, visibly;
            // it handles signals itself, restoring the terminal.
            let mut state = tenantscope::app::connect::connecting_state(
                source.label(),
                compare,
                profile_rows,
                debounce,
            );
            state.connect.profile = settings.profile.clone();
            state.refresh_every = refresh_every;
            return runtime::run_terminal(state, None, connector, signals, mouse).await;
        }
        let prepare = async {
            let database = Database::connect(&source, &settings).await?;
            tracing::info!(target = %source.label(), "connected");
            Ok::<_, Failure>(database)
        };
        let database = tokio::select! {
            prepared = prepare => prepared?,
            signal = signals.recv() => return Err(interrupted(signal)),
        };
        let result = if cli.command.is_none() {
            // No terminal to draw on, or `--user`: bad input still fails
            // first, as one line.
            let opened = async {
                let mut state =
                    runtime::initial_state(&database, source.label(), compare, debounce).await?;
                if let Some(id) = &cli.user {
                    open_on_user(&mut state, &database, id, cli.tenant.as_deref()).await?;
                }
                Ok::<_, Failure>(state)
            };
            let mut state = tokio::select! {
                state = opened => state?,
                signal = signals.recv() => return Err(interrupted(signal)),
            };
            state.connect.profiles = profile_rows;
            state.connect.profile = settings.profile.clone();
            state.refresh_every = refresh_every;
            runtime::run_terminal(state, Some(database.clone()), connector, signals, mouse).await
        } else if let Some(Command::Snapshot(args)) = &cli.command {
            let target = source.label();
            tokio::select! {
                result = snapshot(args, &target, &database, &settings) => result,
                signal = signals.recv() => Err(interrupted(signal)),
            }
        } else {
            tokio::select! {
                result = execute(cli, &database, &settings) => result,
                signal = signals.recv() => Err(interrupted(signal)),
            }
        };
        database.close().await;
        result
    })
}

/// Ended by a signal: exit 128 + its number, as shells expect (130 for Ctrl-C).
fn interrupted(signal: &str) -> Failure {
    tracing::info!(signal, "interrupted");
    let number = match signal {
        "SIGHUP" => 1,
        "SIGINT" => 2,
        "SIGQUIT" => 3,
        _ => 15,
    };
    Failure {
        code: 128 + number,
        ..Failure::runtime(format!("interrupted by {signal}"))
    }
}

/// Starts the demo server off the async threads; a signal meanwhile makes it
/// give up, stopping initdb or postgres and removing its directory.
async fn start_demo_server(signals: &mut Signals) -> Result<PgServer, Failure> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let start =
        tokio::task::spawn_blocking(move || PgServer::start_until(ServerOptions::default(), &flag));
    tokio::pin!(start);
    let joined = tokio::select! {
        joined = &mut start => joined,
        signal = signals.recv() => {
            interrupt.store(true, Ordering::SeqCst);
            // Wait for the clean-up; a server that won the race is dropped (stopped).
            drop(start.await);
            return Err(interrupted(signal));
        }
    };
    joined
        .map_err(|e| Failure::runtime(format!("the demo server start failed: {e}")))?
        .map_err(Failure::runtime)
}

/// What the dashboard connects with: the start-up source, and the config
/// file and environment to read a profile from.
struct Start {
    file: ConfigFile,
    env: HashMap<String, String>,
    settings: Settings,
    source: ConnectionSource,
    compare: Option<String>,
}

/// Connects the dashboard in a task: to the start-up database (`None`) or
/// to a profile, and loads its first state.
fn connector(start: Arc<Start>) -> Connector {
    Arc::new(move |profile: Option<String>| {
        let start = start.clone();
        Box::pin(async move {
            open_profile(&start, profile)
                .await
                .map_err(|failure| ConnectError {
                    usage: failure.code == 2,
                    message: failure.message,
                })
        })
    })
}

async fn open_profile(start: &Start, profile: Option<String>) -> Result<Opened, Failure> {
    // The profile of start-up is what start-up resolved (flags included).
    let profile = profile.filter(|name| Some(name) != start.settings.profile.as_ref());
    let (source, settings, compare) = match &profile {
        None => (
            start.source.clone(),
            start.settings.clone(),
            start.compare.clone(),
        ),
        Some(name) => {
            let settings = Settings::load_profile(&start.file, &start.env, Some(name))
                .map_err(Failure::usage)?;
            let source = db::connect_options(settings.database.url.as_deref(), &start.env)
                .map_err(Failure::usage)?
                .ok_or_else(|| Failure::usage(format!("profile {name:?} names no database")))?;
            let compare = settings.tenancy.compare_with.clone();
            (source, settings, compare)
        }
    };
    let database = Database::connect(&source, &settings).await?;
    tracing::info!(target = %source.label(), profile = ?profile, "connected");
    let opened = tenantscope::app::connect::open(database.clone(), source.label(), compare).await;
    if opened.is_err() {
        database.close().await;
    }
    opened
}

/// Creates the `demo` database on the private server and loads sql/ into it.
async fn load_demo(server: &PgServer) -> Result<ConnectionSource, Failure> {
    let fail = |e: sqlx::Error| Failure::runtime(format!("cannot load the demo data: {e}"));
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .map_err(fail)?;
    sqlx::raw_sql("CREATE DATABASE demo")
        .execute(&mut admin)
        .await
        .map_err(fail)?;
    admin.close().await.ok();
    let options = server.connect_options("demo");
    let mut conn = PgConnection::connect_with(&options).await.map_err(fail)?;
    for (_, sql) in DEMO_SQL {
        sqlx::raw_sql(sql).execute(&mut conn).await.map_err(fail)?;
    }
    // Statistics, so that estimated counts (health view) have something to show.
    sqlx::raw_sql("ANALYZE")
        .execute(&mut conn)
        .await
        .map_err(fail)?;
    conn.close().await.ok();
    Ok(ConnectionSource::demo(options))
}

/// Runs a CLI command (not the dashboard).
async fn execute(cli: Cli, database: &Database, settings: &Settings) -> Result<(), Failure> {
    let out = match cli.command {
        None
        | Some(
            Command::Profiles
            | Command::Completions { .. }
            | Command::Man
            | Command::Config { .. }
            | Command::Snapshot(_),
        ) => unreachable!("answered before connecting"),
        Some(Command::Users {
            filter,
            limit,
            tenant,
            format,
        }) => {
            let catalog = database.tenants().await?;
            let query = UserQuery { filter, limit };
            let users = match tenant {
                Some(tenant) => {
                    let schema = database.resolve_tenant(&tenant).await?;
                    database.users_in(&schema, &query).await?
                }
                None => database.users(&query).await?,
            };
            if let Some(warning) = output::invalid_utf8_warning(&users) {
                eprintln!("warning: {warning}");
            }
            output::users(&users, &catalog, format, Destination::stdout())
        }
        Some(Command::Tenants { format }) => output::tenants(
            &database.tenant_summaries().await?,
            format,
            Destination::stdout(),
        ),
        Some(Command::Orders {
            user_id,
            compare,
            tenant,
            format,
        }) => {
            let schema = match tenant {
                Some(tenant) => Some(database.resolve_tenant(&tenant).await?),
                None => None,
            };
            let user = database.user_in(&user_id, schema.as_deref()).await?;
            let catalog = database.tenants().await?;
            // A registry key or label names its schema; anything else goes
            // on as given, to be refused as an unknown tenant.
            let compare = match compare.or_else(|| settings.tenancy.compare_with.clone()) {
                Some(name) => Some(database.resolve_tenant(&name).await.unwrap_or(name)),
                None => None,
            };
            let requested = compare.as_deref();
            let choice = db::choose_compare_tenant(&catalog, user.tenant.as_deref(), requested)?;
            let report = database
                .priced_orders(&user, choice.tenant.as_deref())
                .await?;
            output::orders(&user, &report, format, Destination::stdout())
        }
        Some(Command::Basket {
            user_id,
            tenant,
            format,
            limit,
        }) => {
            let user = database.user(&user_id).await?;
            if let Some(tenant) = &tenant {
                tenantscope::app::dashboard::check_tenant(&user, tenant)?;
            }
            let catalog = database.tenants().await?;
            let (lines, mut priced) = database.basket(&user, catalog.names()).await?;
            priced.truncate(limit.map_or(usize::MAX, |n| n as usize));
            if format != tenantscope::cli::Format::Json {
                for failed in priced.iter().filter(|t| t.error.is_some()) {
                    let name = tenantscope::text::sanitize(&failed.tenant);
                    eprintln!("not priced: {name}");
                }
            }
            output::basket(&user, &lines, &priced, format, Destination::stdout())
        }
        Some(Command::Health {
            format,
            reference,
            leaks,
            fail_on_drift,
        }) => {
            let report = database.health(reference.as_deref()).await?;
            let checks = database.framework_checks().await?;
            let leaked = match &leaks {
                Some(tenant) => Some(database.leaks(tenant).await?),
                None => None,
            };
            let check = leaks
                .as_deref()
                .zip(leaked.as_deref())
                .map(|(tenant, leaks)| output::LeakCheck { tenant, leaks });
            write_stdout(&output::health_checked(
                &report,
                check,
                Some(&checks),
                format,
                Destination::stdout(),
            ));
            let found: Vec<String> = output::health_findings(&report, check)
                .into_iter()
                .chain(checks.findings())
                .collect();
            return match found.is_empty() {
                false if fail_on_drift => {
                    Err(Failure::findings(format!("found {}", found.join(", "))))
                }
                _ => Ok(()),
            };
        }
        Some(Command::Detect) => {
            let detection = match database.detection() {
                Some(detection) => detection.clone(),
                None => {
                    database
                        .detect_layout(&settings.tenancy.shared_schema)
                        .await?
                }
            };
            eprint!("{}", detection.explain());
            detection.model.to_toml()
        }
        Some(Command::Prices { format, sort }) => {
            let catalog = database.tenants().await?;
            let matrix = database.price_matrix(catalog.names()).await?;
            // JSON carries failures in `failed`; the others get a note each.
            if format != tenantscope::cli::Format::Json {
                if let Some(failures) = output::price_failures(&matrix) {
                    eprintln!("{failures}");
                }
            }
            output::prices(&matrix.sorted(sort.into()), format, Destination::stdout())
        }
    };
    write_stdout(&out);
    Ok(())
}

/// Each profile with the database it names (labels never hold a
/// password; errors are redacted), in name order.
fn profile_targets(
    file: &ConfigFile,
    settings: &Settings,
    env: &HashMap<String, String>,
) -> Vec<(String, String)> {
    settings
        .profiles
        .keys()
        .map(|name| {
            let target = Settings::load_profile(file, env, Some(name))
                .and_then(|profile| db::connect_options(profile.database.url.as_deref(), env))
                .map(|source| match source {
                    Some(source) => source.label(),
                    None => "(no database: set url)".into(),
                })
                .unwrap_or_else(|error| format!("(invalid: {error})"));
            (
                tenantscope::text::sanitize(name).into_owned(),
                tenantscope::text::redact_secrets(&target),
            )
        })
        .collect()
}

/// `tenantscope profiles`: a table of profiles and their targets.
fn profiles(file: &ConfigFile, settings: &Settings, env: &HashMap<String, String>) -> String {
    if settings.profiles.is_empty() {
        eprintln!("tenantscope: the config file defines no [profiles.NAME] sections");
        return String::new();
    }
    let rows = profile_targets(file, settings, env);
    let width = rows
        .iter()
        .map(|(name, _)| tenantscope::text::width(name))
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!("{:width$}  TARGET\n", "NAME");
    for (name, target) in rows {
        let in_use = settings.profile.as_deref() == Some(name.as_str());
        let marker = if in_use { "  (in use)" } else { "" };
        out.push_str(&format!("{name:width$}  {target}{marker}\n"));
    }
    out
}

/// `tenantscope snapshot`: one frame, drawn headlessly, on stdout.
async fn snapshot(
    args: &tenantscope::snapshot::Args,
    target: &str,
    database: &Database,
    settings: &Settings,
) -> Result<(), Failure> {
    use std::io::IsTerminal;
    use tenantscope::snapshot::{self as snap, ColorChoice, SnapshotFormat};
    let compare = settings.tenancy.compare_with.clone();
    let buffer = snap::frame(database, target, compare, args).await?;
    let out = match args.format {
        SnapshotFormat::Svg => snap::svg::render(&buffer, args.color != ColorChoice::Never),
        SnapshotFormat::Text => {
            let env = |name: &str| std::env::var(name).ok();
            let color = snap::use_color(args.color, std::io::stdout().is_terminal(), &env);
            snap::text(&buffer, color)
        }
    };
    write_stdout(&out);
    Ok(())
}

/// `tenantscope config [--path]`: settings are loaded (and so checked) but
/// no database is touched.
fn print_config(
    cli: &Cli,
    file: &ConfigFile,
    env: &HashMap<String, String>,
    path_only: bool,
) -> Result<(), Failure> {
    use tenantscope::config_report::{self as report, Flags};
    if path_only {
        let read = report::file_read(file).map(std::path::Path::to_path_buf);
        let path = read.or_else(|| report::looked_for(file, env).pop().map(|(path, _)| path));
        return match path {
            Some(path) => {
                if !path.is_file() {
                    eprintln!("note: no config file exists; this is where tenantscope looks last");
                }
                write_stdout(&format!("{}\n", report::shown(&path)));
                Ok(())
            }
            None => Err(Failure::usage(
                "no config file and neither XDG_CONFIG_HOME nor HOME is set",
            )),
        };
    }
    let settings = Settings::load(file, env).map_err(Failure::usage)?;
    let flags = Flags {
        database_url: cli.database_url.as_deref(),
        compare: cli.compare.as_deref(),
    };
    write_stdout(&report::render(&settings, file, env, &flags));
    Ok(())
}

fn write_stdout(out: &str) {
    write_stdout_bytes(out.as_bytes());
}

fn write_stdout_bytes(out: &[u8]) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = stdout.write_all(out).and_then(|()| stdout.flush());
}

/// Logs go to a file, never to the screen the dashboard draws on.
fn init_logging(path: &std::path::Path) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::usage(format!("cannot open log file {}: {e}", path.display())))?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    Ok(())
}
