use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

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
    let settings = Settings::load(&file, env).map_err(Failure::usage)?;
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
    runtime.block_on(async {
        let prepare = async {
            let source = match (configured, &demo_server) {
                (Some(source), _) => source,
                (None, Some(server)) => load_demo(server).await?,
                (None, None) => {
                    unreachable!("a demo server runs whenever no database is configured")
                }
            };
            let database = Database::connect(&source, &settings).await?;
            tracing::info!(target = %source.label(), "connected");
            Ok::<_, Failure>((source.label(), database))
        };
        let (target, database) = tokio::select! {
            prepared = prepare => prepared?,
            signal = signals.recv() => return Err(interrupted(signal)),
        };
        let result = if cli.command.is_none() {
            // The dashboard handles signals itself, restoring the terminal.
            dashboard(cli, &target, &database, &settings, signals).await
        } else if let Some(Command::Snapshot(args)) = &cli.command {
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

fn interrupted(signal: &str) -> Failure {
    tracing::info!(signal, "interrupted");
    Failure::runtime(format!("interrupted by {signal}"))
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

/// Loads what the first frame needs (bad input fails before the terminal is
/// touched), then runs the dashboard.
async fn dashboard(
    cli: Cli,
    target: &str,
    database: &Database,
    settings: &Settings,
    mut signals: Signals,
) -> Result<(), Failure> {
    let initial = runtime::initial_state(
        database,
        target.to_string(),
        cli.compare
            .or_else(|| settings.tenancy.compare_with.clone()),
        Duration::from_millis(settings.ui.debounce_ms),
    );
    let state = tokio::select! {
        state = initial => state?,
        signal = signals.recv() => return Err(interrupted(signal)),
    };
    runtime::run_terminal(state, database.clone(), signals).await
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
        None => unreachable!("the dashboard runs without a command"),
        Some(
            Command::Completions { .. }
            | Command::Man
            | Command::Config { .. }
            | Command::Snapshot(_),
        ) => {
            unreachable!("answered before connecting")
        }
        Some(Command::Users {
            filter,
            limit,
            format,
        }) => {
            let catalog = database.tenants().await?;
            let users = database.users(&UserQuery { filter, limit }).await?;
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
            format,
        }) => {
            let user = database.user(&user_id).await?;
            let catalog = database.tenants().await?;
            let requested = compare
                .as_deref()
                .or(settings.tenancy.compare_with.as_deref());
            let choice = db::choose_compare_tenant(&catalog, user.tenant.as_deref(), requested)?;
            let report = database
                .priced_orders(&user, choice.tenant.as_deref())
                .await?;
            output::orders(&user, &report, format, Destination::stdout())
        }
        Some(Command::Health {
            format,
            reference,
            leaks,
            fail_on_drift,
        }) => {
            let report = database.health(reference.as_deref()).await?;
            let leaked = match &leaks {
                Some(tenant) => Some(database.leaks(tenant).await?),
                None => None,
            };
            let check = leaks
                .as_deref()
                .zip(leaked.as_deref())
                .map(|(tenant, leaks)| output::LeakCheck { tenant, leaks });
            write_stdout(&output::health(
                &report,
                check,
                format,
                Destination::stdout(),
            ));
            return match output::health_findings(&report, check) {
                Some(found) if fail_on_drift => Err(Failure::findings(format!("found {found}"))),
                _ => Ok(()),
            };
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
