//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::output::{Format, ReportFormat};

#[derive(Debug, Parser)]
#[command(
    name = "tenantscope",
    version,
    about = "Terminal dashboard for schema-per-tenant PostgreSQL databases",
    long_about = "Terminal dashboard for schema-per-tenant PostgreSQL databases.\n\n\
        Without a subcommand it opens the dashboard. It connects as psql does: \
        --database-url, database.url or DATABASE_URL (a URL or key=value string), \
        a profile, a service (pg_service.conf) or the PG* variables, with the \
        password from .pgpass. With none of these it runs on a private demo server \
        started from the system's PostgreSQL binaries (the CLI says so on stderr)."
)]
pub struct Cli {
    /// Config file (default: ./tenantscope.toml, else $XDG_CONFIG_HOME/tenantscope/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database URL or key=value string, e.g. postgres://user@host:5432/db?sslmode=require
    /// or "host=db dbname=shop service=shop"
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Use [profiles.NAME] of the config file (env: TENANTSCOPE_PROFILE)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Use the built-in demo database even if a database is configured
    #[arg(long, global = true, conflicts_with_all = ["database_url", "profile"])]
    pub demo: bool,

    /// Write logs to this file (the dashboard never logs to the screen)
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Initial comparison tenant (dashboard)
    #[arg(long, value_name = "TENANT")]
    pub compare: Option<String>,

    /// Open the dashboard on this user (by id)
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,

    /// With --user: the user's tenant (checked; for users kept per tenant)
    #[arg(long, value_name = "TENANT", requires = "user")]
    pub tenant: Option<String>,

    /// Leave the mouse to the terminal (select-to-copy); also ui.mouse = false
    #[arg(long)]
    pub no_mouse: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process arguments. Help and version print as clap prints
    /// them; a bad argument is one line on stderr (plus a pointer to
    /// `--help`) and exit 2, like every other tenantscope error.
    pub fn parse_args() -> Cli {
        match Cli::try_parse() {
            Ok(cli) => cli,
            Err(error) if !error.use_stderr() => error.exit(),
            Err(error) => {
                eprintln!("{}", brief_argument_error(&error.render().to_string()));
                std::process::exit(2);
            }
        }
    }
}

/// clap's multi-line report as `tenantscope: <error and details>` and a hint.
pub fn brief_argument_error(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Usage:")
                && !line.starts_with("For more information")
        })
        .collect();
    let message = message.join("; ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    format!("tenantscope: {message}\ntry 'tenantscope --help' for the usage")
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List users from the shared users table (never their passwords)
    Users {
        /// Only users whose name, mail or tenant contains TEXT (case-insensitive)
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// At most N users
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
        limit: Option<i64>,
        /// Only the users of tenant T (its key, label or schema name)
        #[arg(long, value_name = "T")]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List tenants with their user counts, and organization ids with no schema
    Tenants {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A user's priced orders beside another tenant's prices for the same items
    Orders {
        /// The user's id (as text, whatever the column type)
        user_id: String,
        /// Comparison tenant (default: tenancy.compare_with, else the first other tenant)
        #[arg(long, value_name = "TENANT")]
        compare: Option<String>,
        /// The user's tenant T (its key, label or schema name), where users
        /// live in each tenant schema
        #[arg(long, value_name = "T")]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Tenant health: row counts, schema drift between tenants, orphans both
    /// ways and, with --leaks, orders that belong to another tenant's users
    Health {
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Compare every tenant's tables with this tenant's (default: the
        /// column set most tenants share)
        #[arg(long, value_name = "TENANT")]
        reference: Option<String>,
        /// Also list TENANT's orders whose user belongs to another tenant or to no user
        #[arg(long, value_name = "TENANT")]
        leaks: Option<String>,
        /// Exit with code 3 when any drift, orphan or leak is found (for cron jobs)
        #[arg(long)]
        fail_on_drift: bool,
    },
    /// The config file's profiles and the database each names (no passwords)
    Profiles,
    /// A user's order lines priced at every tenant, ranked: most lines
    /// priced first, then the lowest total
    Basket {
        /// The user's id (as text, whatever the column type)
        user_id: String,
        /// The user's tenant (checked; for users kept per tenant)
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// At most N tenants (the best ranked)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
        limit: Option<i64>,
    },
    /// Detect the tenancy layout: the model as TOML on stdout (save it as a
    /// config), what was found and why on stderr
    Detect,
    /// Prices of the same items (by exact description) across all tenants
    Prices {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Row order: largest spread (max/min) first, or by item name
        #[arg(long, value_enum, default_value_t = PriceSortArg::Spread)]
        sort: PriceSortArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriceSortArg {
    Spread,
    Name,
}

impl From<PriceSortArg> for crate::db::PriceSort {
    fn from(sort: PriceSortArg) -> crate::db::PriceSort {
        match sort {
            PriceSortArg::Spread => crate::db::PriceSort::Spread,
            PriceSortArg::Name => crate::db::PriceSort::Name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_after_subcommand() {
        let cli = Cli::parse_from(["tenantscope", "orders", "1", "--demo", "--format", "json"]);
        assert!(cli.demo);
        assert!(matches!(
            cli.command,
            Some(Command::Orders {
                format: Format::Json,
                ..
            })
        ));
    }

    #[test]
    fn health_and_prices_flags() {
        let cli = Cli::parse_from([
            "tenantscope",
            "health",
            "--reference",
            "client1",
            "--leaks",
            "client2",
            "--fail-on-drift",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::Health {
                format: ReportFormat::Table,
                fail_on_drift: true,
                ..
            })
        ));
        assert!(Cli::try_parse_from(["tenantscope", "health", "--format", "csv"]).is_err());
        let cli = Cli::parse_from(["tenantscope", "prices", "--format", "csv"]);
        assert!(matches!(
            cli.command,
            Some(Command::Prices {
                format: Format::Csv,
                sort: PriceSortArg::Spread,
            })
        ));
    }
}
