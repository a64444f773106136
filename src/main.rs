use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use tenantscope::app::runtime;
use tenantscope::cli::{Cli, Command};
use tenantscope::config::{ConfigFile, Settings};
use tenantscope::db::{self, ConnectionSource, Database, UserQuery};
use tenantscope::embedded::{PgServer, DEMO_SQL};
use tenantscope::{output, Failure};

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
    let settings = Settings::load(&ConfigFile::locate(cli.config.as_deref(), env), env)
        .map_err(Failure::usage)?;
    if let Some(path) = &cli.log_file {
        init_logging(path)?;
    }
    // Panic reports, printed after the dashboard has restored the terminal.
    let _ = color_eyre::install();
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
    let demo_server = match configured {
        Some(_) => None,
        None => Some(PgServer::start().map_err(Failure::runtime)?),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let source = match (configured, &demo_server) {
            (Some(source), _) => source,
            (None, Some(server)) => load_demo(server).await?,
            (None, None) => unreachable!("a demo server runs whenever no database is configured"),
        };
        let database = Database::connect(&source, &settings).await?;
        tracing::info!(target = %source.label(), "connected");
        let target = source.label();
        let result = if cli.command.is_none() {
            // The dashboard handles signals itself, restoring the terminal.
            execute(cli, &target, &database, &settings).await
        } else {
            tokio::select! {
                result = execute(cli, &target, &database, &settings) => result,
                signal = shutdown_signal() => Err(Failure::runtime(format!("interrupted by {signal}"))),
            }
        };
        database.close().await;
        result
    })
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

async fn execute(
    cli: Cli,
    target: &str,
    database: &Database,
    settings: &Settings,
) -> Result<(), Failure> {
    let compare = cli.compare;
    let out = match cli.command {
        None => {
            let state = runtime::initial_state(
                database,
                target.to_string(),
                compare.or_else(|| settings.tenancy.compare_with.clone()),
                Duration::from_millis(settings.ui.debounce_ms),
            )
            .await?;
            return runtime::run_terminal(state, database.clone()).await;
        }
        Some(Command::Users {
            filter,
            limit,
            format,
        }) => {
            let catalog = database.tenants().await?;
            let users = database.users(&UserQuery { filter, limit }).await?;
            output::users(&users, &catalog, format)
        }
        Some(Command::Tenants { format }) => {
            output::tenants(&database.tenant_summaries().await?, format)
        }
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
            output::orders(&user, &report, format)
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
            write_stdout(&output::health(&report, check, format));
            return match output::health_findings(&report, check) {
                Some(found) if fail_on_drift => Err(Failure::findings(format!("found {found}"))),
                _ => Ok(()),
            };
        }
        Some(Command::Prices { format, sort }) => {
            let catalog = database.tenants().await?;
            let matrix = database.price_matrix(catalog.names()).await?;
            output::prices(&matrix.sorted(sort.into()), format)
        }
    };
    write_stdout(&out);
    Ok(())
}

fn write_stdout(out: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP, so the demo server is stopped in order.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut hangup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
    }
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
