use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tenantscope::app::connect::{self, ConnectError, Connector, Opened};
use tenantscope::app::dashboard::open_on_user;
use tenantscope::app::runtime::{self, Signals};
use tenantscope::app::state::{Session, State};
use tenantscope::cli::{Cli, Command, Connected, Offline};
use tenantscope::config::{ConfigFile, Settings};
use tenantscope::db::{self, ConnectionSource, Database};
use tenantscope::embedded::PgServer;
use tenantscope::Failure;

mod commands;
mod demo;
use commands::{execute, print_config, profile_targets, profiles};
use demo::{load_demo, start_demo_server, LazyDemo};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let env: HashMap<String, String> = std::env::vars().collect();
    match run(cli, &env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // In the log file too (`--log-file`): it said only "connected"
            // or nothing of why a run ended.
            tracing::error!(code = failure.code, "{failure}");
            tenantscope::say!("tenantscope: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

fn run(mut cli: Cli, env: &HashMap<String, String>) -> Result<(), Failure> {
    let command = match cli.command.take() {
        Some(Command::Offline(command)) => return answer_offline(command, &cli, env),
        Some(Command::Connected(command)) => Some(command),
        None => None,
    };
    let file = located_config(&cli, env);
    let mut settings = load_settings(&cli, &file, env)?;
    // sqlx reads some PG* variables itself, each its own way; tenantscope
    // has resolved them in libpq's order (`env`), so sqlx must not see them
    // (nor the demo server's initdb and postgres). No thread runs yet.
    for (_, var) in db::LIBPQ_VARIABLES {
        std::env::remove_var(var);
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
    // The detected model cached per database (not for the demo's server,
    // new at every run; `detect` always looks afresh).
    if configured.is_some() && !cli.no_cache && !matches!(command, Some(Connected::Detect)) {
        settings.detection_cache = tenantscope::db::tenancy::cache_dir(env);
    }
    warn_about_source(&cli, command.is_some(), configured.as_ref(), &settings)?;
    serve(cli, command, env, &file, &settings, configured)
}

/// The config file `cli` names (or the default), its shadowing warned of.
fn located_config(cli: &Cli, env: &HashMap<String, String>) -> ConfigFile {
    let file = ConfigFile::locate(cli.config.as_deref(), env);
    if let Some(warning) = tenantscope::config_report::shadow_warning(&file, env) {
        tenantscope::say!("{warning}");
    }
    if let Some(warning) = tenantscope::config_report::exposed_password_warning(&file) {
        tenantscope::say!("{warning}");
    }
    file
}

/// The settings of the profile in force (none with `--demo`, whether
/// `--profile` or `TENANTSCOPE_PROFILE` names one).
pub(crate) fn load_settings(
    cli: &Cli,
    file: &ConfigFile,
    env: &HashMap<String, String>,
) -> Result<Settings, Failure> {
    if cli.demo {
        let mut env = env.clone();
        env.remove("TENANTSCOPE_PROFILE");
        return Settings::load_profile(file, &env, None).map_err(Failure::usage);
    }
    Settings::load_profile(file, env, cli.profile.as_deref()).map_err(Failure::usage)
}

/// A command answered before connecting: about tenantscope itself (no
/// settings read), or its settings and profiles.
fn answer_offline(
    command: Offline,
    cli: &Cli,
    env: &HashMap<String, String>,
) -> Result<(), Failure> {
    match command {
        Offline::Completions { shell } => {
            write_stdout_bytes(&tenantscope::shell::completions(shell))?;
        }
        Offline::Man => {
            let page = tenantscope::shell::man_page()
                .map_err(|e| Failure::runtime(format!("cannot render the man page: {e}")))?;
            write_stdout_bytes(&page)?;
        }
        Offline::Config { path } => {
            return print_config(cli, &located_config(cli, env), env, path);
        }
        Offline::Profiles => {
            let file = located_config(cli, env);
            let settings = load_settings(cli, &file, env)?;
            write_stdout(&profiles(&file, &settings, env))?;
        }
    }
    Ok(())
}

/// What the dashboard keeps whatever database it shows: the settings' pace
/// (debounce, refresh) and the profiles it may switch to, with the picker's
/// ways back to start-up's database (`configured`, else the demo).
fn dashboard_session(
    env: &HashMap<String, String>,
    file: &ConfigFile,
    settings: &Settings,
    configured: Option<&ConnectionSource>,
) -> Session {
    let mut session = Session::opened();
    session.debounce = Duration::from_millis(settings.ui.debounce_ms);
    session.refresh_every =
        (settings.ui.refresh_s > 0).then(|| Duration::from_secs(settings.ui.refresh_s));
    session.connect.profiles = profile_targets(file, settings, env);
    // The way back to the demo, unless a profile of the config file has
    // that name (then it is that profile).
    let (demo, target) = connect::DEMO_PROFILE;
    let demo_named = settings.profiles.contains_key(demo);
    if !demo_named {
        let entry = (demo.to_string(), target.to_string());
        session.connect.profiles.push(entry);
    }
    // The way back to start-up's database when it is no profile (nor the
    // demo with its entry, which a config profile named `demo` takes).
    let startup = match configured {
        Some(source) => settings.profile.is_none().then(|| source.label()),
        None => demo_named.then(|| target.to_string()),
    };
    if let Some(target) = startup {
        let entry = (connect::STARTUP_PROFILE.to_string(), target);
        session.connect.profiles.insert(0, entry);
    }
    session.connect.demo = configured.is_none();
    session.connect.profile = settings.profile.clone();
    session
}

/// The dashboard or a command, on the runtime, connected to `configured`
/// (`None`: the demo).
fn serve(
    cli: Cli,
    command: Option<Connected>,
    env: &HashMap<String, String>,
    file: &ConfigFile,
    settings: &Settings,
    configured: Option<ConnectionSource>,
) -> Result<(), Failure> {
    // The dashboard draws at once and connects itself, visibly (the demo
    // starts behind that screen). `--user` is checked before the terminal
    // is touched (exit 2 in one line when there is no such user), so it
    // connects first; so does `--compare` (a dashboard drawn first could
    // only say "not connected" of a tenant that does not exist).
    let draws_first = command.is_none()
        && cli.user.is_none()
        && cli.compare.is_none()
        && std::io::stdout().is_terminal();
    // Declared before the runtime so they are dropped (server stopped) after it.
    let mut demo_server: Option<PgServer> = None;
    let lazy_demo = Arc::new(LazyDemo::default());
    let runtime = async_runtime()?;
    // Caught from here on, so that even an interrupted start-up cleans up.
    let mut signals = {
        let _entered = runtime.enter();
        Signals::catch().map_err(|e| Failure::runtime(format!("cannot catch signals: {e}")))?
    };
    if configured.is_none() && !draws_first {
        demo_server = Some(runtime.block_on(start_demo_server(&mut signals))?);
    }
    let compare = cli
        .compare
        .clone()
        .or_else(|| settings.tenancy.compare_with.clone());
    let on_demo = configured.is_none();
    let mut session = dashboard_session(env, file, settings, configured.as_ref());
    // Started already where the dashboard does not draw first.
    session.connect.demo_ready = on_demo && !draws_first;
    let mouse = settings.ui.mouse && !cli.no_mouse;
    let start = |source: Option<ConnectionSource>| {
        connector(Arc::new(Start {
            file: file.clone(),
            env: env.clone(),
            settings: settings.clone(),
            source,
            on_demo,
            demo: lazy_demo.clone(),
            compare: compare.clone(),
        }))
    };
    if draws_first {
        let target = configured
            .as_ref()
            .map_or("demo".into(), ConnectionSource::label);
        let state = connect::connecting_state(target, session);
        // It handles signals itself (like q), restoring the terminal.
        let result = runtime.block_on(runtime::run_terminal(
            state,
            None,
            start(configured),
            signals,
            mouse,
            settings.ui.export_dir.clone(),
            tenantscope::ui::screen(),
        ));
        end_runtime(runtime, &lazy_demo);
        return result;
    }
    let result = runtime.block_on(async {
        let source = source_or_demo(configured, demo_server.as_ref(), &mut signals).await?;
        let connector = start(Some(source.clone()));
        let database = tokio::select! {
            prepared = connect_for(command.as_ref(), &source, settings) => prepared?,
            signal = signals.recv() => return Err(interrupted(signal)),
        };
        let result = if let Some(command) = command {
            let target = source.label();
            run_command(command, &target, &database, settings, &mut signals).await
        } else {
            // No terminal to draw on, or `--user`: bad input still fails
            // first, as one line.
            let opened = async {
                let data = connect::first_data(&database, source.label(), compare.clone()).await?;
                let mut state = State::reopened(session, data);
                if let Some(id) = &cli.user {
                    open_on_user(&mut state, &database, id, cli.tenant.as_deref()).await?;
                }
                Ok::<_, Failure>(state)
            };
            let state = tokio::select! {
                state = opened => state?,
                signal = signals.recv() => return Err(interrupted(signal)),
            };
            runtime::run_terminal(
                state,
                Some(database.clone()),
                connector,
                signals,
                mouse,
                settings.ui.export_dir.clone(),
                tenantscope::ui::screen(),
            )
            .await
        };
        database.let_go().await;
        result
    });
    end_runtime(runtime, &lazy_demo);
    result
}

/// Ends the runtime: a demo start still under way (the picker's demo, or
/// start-up's) stops, and dropping the runtime waits for it (our own
/// child, bounded). Otherwise nothing is waited for: a task still on a
/// server that does not answer is dropped (see `Database::let_go`).
fn end_runtime(runtime: tokio::runtime::Runtime, demo: &LazyDemo) {
    demo.give_up();
    if demo.is_starting() {
        drop(runtime);
    } else {
        runtime.shutdown_timeout(db::QUIT_GRACE);
    }
}

/// A command on `database`, until it ends or a signal comes: then its
/// statements stop on the server too (one waiting on a lock would wait on
/// there until its timeout), within half a second, so that with the quit
/// grace after it the run ends within one.
///
/// The command runs on a task of its own: its writes to stdout block
/// while the reader waits (a pager left open), and the signal must still
/// be seen. Where the signal and the command's end are both there, the
/// signal wins.
async fn run_command(
    command: Connected,
    target: &str,
    database: &Database,
    settings: &Settings,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let handle = db::QueryHandle::for_command();
    let answer = {
        let (target, database, settings) = (target.to_string(), database.clone(), settings.clone());
        tokio::spawn(async move {
            let answer = handle.scope(execute(command, &target, &database, &settings));
            database.within_deadline(answer).await
        })
    };
    let stop = answer.abort_handle();
    tokio::select! {
        biased;
        signal = signals.recv() => {
            // No statement begins after this (a dropped handle would leave
            // the task running); then those running stop on the server,
            // the command's and those of loads with handles of their own
            // (`snapshot`'s). A task blocked writing ends with the process.
            stop.abort();
            let cancel = database.cancel_all();
            let _ = tokio::time::timeout(Duration::from_millis(500), cancel).await;
            Err(interrupted(signal))
        }
        ended = answer => match ended {
            Ok(result) => result,
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            Err(failed) => Err(Failure::runtime(format!("the command stopped: {failed}"))),
        },
    }
}

/// The configured source, else the demo database loaded on `demo_server`.
async fn source_or_demo(
    configured: Option<ConnectionSource>,
    demo_server: Option<&PgServer>,
    signals: &mut Signals,
) -> Result<ConnectionSource, Failure> {
    match (configured, demo_server) {
        (Some(source), _) => Ok(source),
        (None, Some(server)) => tokio::select! {
            source = load_demo(
                server.connect_options("postgres"),
                server.connect_options("demo"),
            ) => source,
            signal = signals.recv() => Err(interrupted(signal)),
        },
        (None, None) => unreachable!("a demo server runs whenever no database is configured"),
    }
}

/// The source's warnings on stderr; a profile naming no database is an
/// error, and the demo standing in for none is said.
fn warn_about_source(
    cli: &Cli,
    command: bool,
    configured: Option<&ConnectionSource>,
    settings: &Settings,
) -> Result<(), Failure> {
    match (configured, &settings.profile) {
        (Some(source), _) => {
            for warning in source.warnings() {
                tenantscope::say!("tenantscope: warning: {warning}");
            }
        }
        (None, Some(profile)) if !cli.demo => {
            return Err(Failure::usage(format!(
                "profile {} names no database: set url in [profiles.{}.database]",
                tenantscope::text::quoted(profile),
                tenantscope::text::sanitize(profile)
            )))
        }
        // Never invented data by surprise: a script learns where it came from.
        (None, _) if !cli.demo && command => tenantscope::say!(
            "tenantscope: no database configured (see --help): answering from the built-in \
             demo database; --demo hides this line"
        ),
        (None, _) => {}
    }
    Ok(())
}

/// Two threads, for the dashboard and the commands alike: a command's
/// thread may block on stdout (see `run_command`) while the other reads
/// the signal and the server's answers.
fn async_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

/// The database for `command`: a command (the snapshot aside, which drives
/// the dashboard's loads) reads in turn: one connection, no pool of
/// several. Those that read every tenant read the ones a lock holds up
/// side by side: a pool too; so do `users` and `tenants`, which read
/// per-tenant users tables in batches side by side (the pool connects
/// only when asked: one connection where one is enough).
async fn connect_for(
    command: Option<&Connected>,
    source: &ConnectionSource,
    settings: &Settings,
) -> Result<Database, Failure> {
    let database = match command {
        None
        | Some(
            Connected::Snapshot(_)
            | Connected::Prices { .. }
            | Connected::Basket { .. }
            | Connected::Health { .. }
            | Connected::Users { .. }
            | Connected::Tenants { .. },
        ) => Database::connect(source, settings).await?,
        // Detection explains what it finds, the users table included.
        Some(Connected::Detect) => Database::connect_unresolved(source, settings).await?,
        Some(_) => Database::connect_once(source, settings).await?,
    };
    tracing::info!(target = %source.label(), "connected");
    Ok(database)
}

/// Ended by a signal (see [`Failure::interrupted`]), logged.
fn interrupted(signal: &str) -> Failure {
    tracing::info!(signal, "interrupted");
    Failure::interrupted(signal)
}

/// What the dashboard connects with: the start-up source, and the config
/// file and environment to read a profile from.
struct Start {
    file: ConfigFile,
    env: HashMap<String, String>,
    settings: Settings,
    /// `None`: the demo, started by the first connection.
    source: Option<ConnectionSource>,
    /// Start-up's database is the demo (started first or by `source`'s
    /// connection): the picker's demo entry is start-up's database.
    on_demo: bool,
    demo: Arc<LazyDemo>,
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
    // The profile of start-up is what start-up resolved (flags included);
    // so is the built-in demo when start-up opened it.
    let builtin_demo = |name: &String| {
        name == connect::DEMO_PROFILE.0 && !start.settings.profiles.contains_key(name)
    };
    let profile = profile
        .filter(|name| Some(name) != start.settings.profile.as_ref())
        .filter(|name| !(builtin_demo(name) && start.on_demo));
    let (source, settings, compare) = match &profile {
        None => (
            match &start.source {
                Some(source) => source.clone(),
                None => start.demo.source().await?,
            },
            start.settings.clone(),
            start.compare.clone(),
        ),
        // As `--demo` runs: the config file's settings without a profile,
        // and no detection cache (the demo's server is new each time).
        Some(name) if builtin_demo(name) => {
            let mut env = start.env.clone();
            env.remove("TENANTSCOPE_PROFILE");
            let settings =
                Settings::load_profile(&start.file, &env, None).map_err(Failure::usage)?;
            let compare = settings.tenancy.compare_with.clone();
            (start.demo.source().await?, settings, compare)
        }
        Some(name) => {
            let mut settings = Settings::load_profile(&start.file, &start.env, Some(name))
                .map_err(Failure::usage)?;
            settings.detection_cache = start.settings.detection_cache.clone();
            let source = db::connect_options(settings.database.url.as_deref(), &start.env)
                .map_err(Failure::usage)?
                .ok_or_else(|| {
                    let name = tenantscope::text::quoted(name);
                    Failure::usage(format!("profile {name} names no database"))
                })?;
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

pub(crate) fn write_stdout(out: &str) -> Result<(), Failure> {
    write_stdout_bytes(out.as_bytes())
}

pub(crate) fn write_stdout_bytes(out: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = tenantscope::output::CommandOut::stdout();
    let _ = stdout.write_all(out);
    stdout.finish().map_err(write_failure)
}

/// Output that could not be written (see [`tenantscope::output::CommandOut`]).
pub(crate) fn write_failure(error: std::io::Error) -> Failure {
    Failure::runtime(format!("cannot write the output: {error}"))
}

/// Logs go to a file, never to the screen the dashboard draws on.
fn init_logging(path: &std::path::Path) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::usage(format!("cannot open log file {}: {e}", path.display())))?;
    tracing_subscriber::fmt()
        // Escaped as on the terminal: data never reaches the log raw.
        .with_writer(std::sync::Mutex::new(tenantscope::logfile::Sanitizing(
            file,
        )))
        .with_ansi(false)
        .init();
    Ok(())
}
