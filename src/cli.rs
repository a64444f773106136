//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::output::{Format, ReportFormat};

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

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
        started from the system's PostgreSQL binaries (the CLI says so on stderr).",
    after_help = examples::TOP,
    max_term_width = 100
)]
pub struct Cli {
    /// Config file (default: ./tenantscope.toml, else $XDG_CONFIG_HOME/tenantscope/config.toml;
    /// a ./tenantscope.toml setting [database], [tenancy] or [profiles] is read only from a
    /// directory listed in trusted_directories of your own config file)
    #[arg(long, global = true, value_name = "FILE", env = "TENANTSCOPE_CONFIG", hide_env_values = true, help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Database URL or key=value string, e.g. postgres://user@host:5432/db?sslmode=require
    /// or "host=db dbname=shop service=shop" (also TENANTSCOPE_DATABASE__URL,
    /// which DATABASE_URL yields to)
    // The variable is only shown here: Settings reads it in its own layer,
    // below TENANTSCOPE_DATABASE__URL (see `Cli::parse_args`).
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Use [profiles.NAME] of the config file (env: TENANTSCOPE_PROFILE)
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,

    /// Use the built-in demo database even if a database is configured
    // Not `conflicts_with` the URL: clap would count DATABASE_URL from the
    // environment (see `Cli::try_parse_env_aware`).
    #[arg(long, global = true, conflicts_with = "profile", help_heading = GLOBAL)]
    pub demo: bool,

    /// Write logs to this file (the dashboard never logs to the screen)
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub log_file: Option<PathBuf>,

    /// Detect the layout afresh: neither read nor write the detected model
    /// cached per database in $XDG_CACHE_HOME/tenantscope (`detect` never uses it)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_cache: bool,

    /// Initial comparison tenant (dashboard; default: tenancy.compare_with)
    #[arg(
        long,
        value_name = "TENANT",
        env = "TENANTSCOPE_TENANCY__COMPARE_WITH",
        hide_env_values = true
    )]
    pub compare: Option<String>,

    /// Open the dashboard on this user (by id)
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,

    /// With --user: the user's tenant (checked; for users kept per tenant)
    #[arg(long, value_name = "TENANT")]
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
        match Cli::try_parse_env_aware(std::env::args_os()) {
            Ok(cli) => cli,
            Err(error) if !error.use_stderr() => error.exit(),
            Err(error) => {
                let rendered = error.render().to_string();
                crate::say!("{}", brief_argument_error(&rendered));
                std::process::exit(2);
            }
        }
    }

    /// Parses like `try_parse_from`, but a flag filled from its environment
    /// variable is left unset: the `env` attributes only show the variables
    /// in `--help`, and the settings layers read them with their own
    /// precedence (`TENANTSCOPE_DATABASE__URL` above `DATABASE_URL`).
    pub fn try_parse_env_aware<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::parser::ValueSource;
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let from_env = |id: &str| matches.value_source(id) == Some(ValueSource::EnvVariable);
        if from_env("database_url") {
            cli.database_url = None;
        }
        if cli.demo && cli.database_url.is_some() {
            let mut command = Cli::command();
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                "the argument '--demo' cannot be used with '--database-url <URL>'",
            ));
        }
        if from_env("compare") {
            cli.compare = None;
        }
        // The dashboard's own flags say nothing to a subcommand: ignored,
        // `--compare nope users` looked accepted.
        let dashboard_flag = [
            ("--compare", cli.compare.is_some()),
            ("--user", cli.user.is_some()),
            ("--tenant", cli.tenant.is_some()),
            ("--no-mouse", cli.no_mouse),
        ]
        .into_iter()
        .find(|(_, given)| *given);
        if let (Some(name), Some((flag, _))) = (matches.subcommand_name(), dashboard_flag) {
            let mut command = Cli::command();
            // `snapshot --user 1`, `orders 1 --compare x`: the subcommand's own.
            let its_own = command.find_subcommand(name).is_some_and(|sub| {
                sub.get_arguments()
                    .any(|arg| arg.get_long() == flag.strip_prefix("--"))
            });
            let hint = match its_own {
                true => format!(" (as its own flag, after it: '{name} {flag}')"),
                false => String::new(),
            };
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("'{flag}' is for the dashboard and cannot be used with '{name}'{hint}"),
            ));
        }
        // Checked here, not by clap's `requires`: before a subcommand,
        // `--tenant` is told where it goes (above), not to add `--user`.
        if cli.tenant.is_some() && cli.user.is_none() {
            return Err(Cli::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "'--tenant' needs '--user <ID>': the user's tenant, where users are kept per tenant",
            ));
        }
        Ok(cli)
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
    // Lines become one, `; ` between them; a line ending in `:` leads into
    // the next ("were not provided: <USER_ID>").
    let message = message
        .iter()
        .enumerate()
        .fold(String::new(), |mut joined, (i, line)| {
            if i > 0 {
                joined.push_str(if joined.ends_with(':') { " " } else { "; " });
            }
            joined.push_str(line);
            joined
        });
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    // A missing argument: the usage line says what goes where.
    let usage = rendered
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("Usage: "))
        .filter(|_| message.contains("were not provided"))
        .map(|usage| format!("\nusage: {usage}"))
        .unwrap_or_default();
    format!("tenantscope: {message}{usage}\ntry 'tenantscope --help' for the usage")
}

/// The Examples sections of `--help` (also in the man page). Each line
/// fits 80 columns, so clap never has to wrap a command.
mod examples {
    pub const TOP: &str = "\
Examples:
  # the dashboard on the private demo database
  tenantscope
  tenantscope --database-url postgres://support@db.example.com/app
  tenantscope --config ~/work/acme.toml
  tenantscope --profile staging health
  tenantscope users --format json | jq -r '.[].name'
  tenantscope completions bash > /etc/bash_completion.d/tenantscope

Environment:
  TENANTSCOPE_<SECTION>__<KEY>  any setting, e.g. TENANTSCOPE_DATABASE__URL
  DATABASE_URL                  the URL, below TENANTSCOPE_DATABASE__URL
  PGHOST, PGDATABASE, PGUSER, PGPASSWORD, PGPORT, PGSSLMODE and ~/.pgpass
                                libpq's, when no URL is set anywhere";
    pub const USERS: &str = "\
Examples:
  tenantscope --demo users
  tenantscope users --filter acme --limit 20
  # users whose tenant schema is missing
  tenantscope users --format json | jq -r '.[]|select(.tenant_schema!=\"ok\").name'";
    pub const TENANTS: &str = "\
Examples:
  tenantscope --demo tenants
  tenantscope tenants --format csv > tenants.csv";
    pub const ORDERS: &str = "\
Examples:
  tenantscope --demo orders 1
  tenantscope --demo orders 1 --compare client3
  tenantscope orders 42 --format json | jq '.total'";
    pub const HEALTH: &str = "\
Examples:
  tenantscope --demo health
  tenantscope health --format json | jq '.tenants[] | select(.status != \"ok\")'
  # crontab: mail when any drift, orphan or leak appears (exit code 3)
  0 6 * * * tenantscope health --fail-on-drift --leaks acme || mail -s drift me";
    pub const BASKET: &str = "\
Examples:
  tenantscope --demo basket 1
  # the three tenants that price the user's basket best
  tenantscope basket 42 --limit 3 --format csv";
    pub const DETECT: &str = "\
Examples:
  tenantscope --demo detect
  # keep what was detected as the config (its findings go to stderr)
  tenantscope detect > tenantscope.toml";
    pub const PROFILES: &str = "\
Examples:
  tenantscope profiles
  tenantscope --profile staging health";
    pub const PRICES: &str = "\
Examples:
  tenantscope --demo prices
  tenantscope prices --sort name --format csv > prices.csv
  tenantscope prices --format json | jq '.items[] | select(.spread > 2)'";
    pub const COMPLETIONS: &str = "\
Examples:
  tenantscope completions bash > /etc/bash_completion.d/tenantscope
  # zsh, with fpath+=(~/.zfunc) in ~/.zshrc before compinit
  tenantscope completions zsh > ~/.zfunc/_tenantscope
  tenantscope completions fish > ~/.config/fish/completions/tenantscope.fish";
    pub const CONFIG: &str = "\
Examples:
  tenantscope config
  TENANTSCOPE_UI__DEBOUNCE_MS=50 tenantscope config --database-url postgres://db/app
  $EDITOR \"$(tenantscope config --path)\"";
    pub const SNAPSHOT: &str = "\
Examples:
  tenantscope --demo snapshot --user 1
  tenantscope --demo snapshot --view prices --size 100x24 --color never
  tenantscope --demo snapshot --format svg > dashboard.svg
  # colours follow --color, else the terminal; NO_COLOR or TERM=dumb: none
  tenantscope snapshot --view health --color always | less -R";
    pub const MAN: &str = "\
Examples:
  tenantscope man > ~/.local/share/man/man1/tenantscope.1 && man tenantscope
  tenantscope man | man -l -";
}

/// A subcommand: one that reads a database, or one answered before
/// connecting. (`display_order`: `--help` lists both groups' subcommands
/// in one order.)
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Connected(Connected),
    #[command(flatten)]
    Offline(Offline),
}

/// The subcommands that connect to a database (`execute` answers them).
#[derive(Debug, Subcommand)]
pub enum Connected {
    /// List users from the shared users table (never their passwords)
    #[command(display_order = 0, after_help = examples::USERS)]
    Users {
        /// Only users whose name, mail or tenant contains TEXT (case-insensitive)
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// At most N users
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
        limit: Option<i64>,
        /// Only the users of tenant T (its key, label or schema name)
        #[arg(long, value_name = "T")]
        tenant: Option<String>,
        /// Output: an aligned table, JSON (exact numbers), or CSV
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List tenants with their user counts, and organization ids with no schema
    #[command(display_order = 1, after_help = examples::TENANTS)]
    Tenants {
        /// Output: an aligned table, JSON (exact numbers), or CSV
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A user's priced orders beside another tenant's prices for the same items
    #[command(display_order = 2, after_help = examples::ORDERS)]
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
        /// Output: an aligned table, JSON (exact numbers), or CSV
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Tenant health: row counts, schema drift between tenants, orphans both
    /// ways and, with --leaks, orders that belong to another tenant's users
    #[command(display_order = 3, after_help = examples::HEALTH)]
    Health {
        /// Output: an aligned table, or JSON (exact numbers)
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
    /// A user's order lines priced at every tenant, ranked: most lines
    /// priced first, then the lowest total
    #[command(display_order = 5, after_help = examples::BASKET)]
    Basket {
        /// The user's id (as text, whatever the column type)
        user_id: String,
        /// The user's tenant (checked; for users kept per tenant)
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// Output: an aligned table, JSON (exact numbers), or CSV
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The best N tenants (those that could not be read are listed too)
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
        limit: Option<i64>,
    },
    /// Detect the tenancy layout: the model as TOML on stdout (save it as a
    /// config), what was found and why on stderr
    #[command(display_order = 6, after_help = examples::DETECT)]
    Detect,
    /// Prices of the same items across all tenants (matched by the
    /// `items_match` rule: a key column every tenant has, else the description)
    #[command(display_order = 7, after_help = examples::PRICES)]
    Prices {
        /// Output: an aligned table, JSON (exact numbers), or CSV
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Row order: largest spread (max/min) first, or by item name
        #[arg(long, value_enum, default_value_t = PriceSortArg::Spread)]
        sort: PriceSortArg,
    },
    /// Draw one frame of the dashboard, once its loads have finished, as
    /// text (ANSI colours on a terminal) or SVG: for tickets, slides and tests
    #[command(display_order = 11, after_help = examples::SNAPSHOT)]
    Snapshot(crate::snapshot::Args),
}

/// The subcommands answered before connecting: about tenantscope itself,
/// its settings and profiles.
#[derive(Debug, Subcommand)]
pub enum Offline {
    /// The config file's profiles and the database each names (no passwords)
    #[command(display_order = 4, after_help = examples::PROFILES)]
    Profiles,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(display_order = 8, after_help = examples::COMPLETIONS)]
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout
    #[command(display_order = 9, after_help = examples::MAN)]
    Man,
    /// Print the effective configuration as TOML, each value with its source
    /// (default, file, environment variable or flag), passwords hidden
    #[command(display_order = 10, after_help = examples::CONFIG)]
    Config {
        /// Print only the config file that is read (or, with none, where
        /// tenantscope looks last)
        #[arg(long)]
        path: bool,
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

/// `--limit N`: a whole number, 0 or more ("-1" said "unexpected
/// argument", and the range's own message names i64's maximum).
fn count(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        Ok(_) => Err("must be 0 or more".into()),
        Err(e) => match e.kind() {
            // More than there can be: no limit.
            std::num::IntErrorKind::PosOverflow => Ok(i64::MAX),
            std::num::IntErrorKind::NegOverflow => Err("must be 0 or more".into()),
            _ => Err("not a whole number".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--limit`: what a user might type, each with its answer.
    #[test]
    fn a_limit_is_a_whole_number_0_or_more() {
        for (text, expected) in [
            ("0", Ok(0)),
            ("20", Ok(20)),
            ("99999999999999999999", Ok(i64::MAX)),
            ("-1", Err("must be 0 or more")),
            ("-99999999999999999999", Err("must be 0 or more")),
            ("1.5", Err("not a whole number")),
            ("x", Err("not a whole number")),
            ("", Err("not a whole number")),
        ] {
            assert_eq!(count(text), expected.map_err(String::from), "{text:?}");
        }
        let parsed = Cli::try_parse_from(["tenantscope", "users", "--limit", "-1"]);
        let error = parsed.unwrap_err().to_string();
        assert!(
            error.contains("'-1' for '--limit <N>': must be 0 or more"),
            "{error}"
        );
    }
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
            Some(Command::Connected(Connected::Orders {
                format: Format::Json,
                ..
            }))
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
            Some(Command::Connected(Connected::Health {
                format: ReportFormat::Table,
                fail_on_drift: true,
                ..
            }))
        ));
        assert!(Cli::try_parse_from(["tenantscope", "health", "--format", "csv"]).is_err());
        let cli = Cli::parse_from(["tenantscope", "prices", "--format", "csv"]);
        assert!(matches!(
            cli.command,
            Some(Command::Connected(Connected::Prices {
                format: Format::Csv,
                sort: PriceSortArg::Spread,
            }))
        ));
    }
}
