//! The subcommands of the `tenantscope` binary: each reads the database
//! (or only the settings) and writes its output to stdout.

use std::collections::HashMap;

use tenantscope::cli::{Cli, Connected, Format, PriceSortArg, ReportFormat};
use tenantscope::config::{ConfigFile, Settings};
use tenantscope::db::{self, Database, DbError, TenantCatalog, User, UserQuery};
use tenantscope::output::{self, CommandOut, Destination};
use tenantscope::{text, Failure};

use crate::{write_failure, write_stdout};

/// Runs a command that reads the database (`target`, as the snapshot
/// names it).
pub(crate) async fn execute(
    command: Connected,
    target: &str,
    database: &Database,
    settings: &Settings,
) -> Result<(), Failure> {
    let out = match command {
        Connected::Snapshot(args) => return snapshot(&args, target, database, settings).await,
        Connected::Users {
            filter,
            limit,
            tenant,
            format,
        } => return users(database, UserQuery { filter, limit }, tenant, format).await,
        Connected::Tenants { format } => {
            let catalog = database.tenants().await?;
            // By registry label where a registry names tenants, as the pane.
            let summaries = database.tenant_summaries(&catalog).await?;
            output::tenants(&summaries, &catalog, format, Destination::stdout())
        }
        Connected::Orders {
            user_id,
            compare,
            tenant,
            format,
        } => orders(database, settings, &user_id, compare, tenant, format).await?,
        Connected::Basket {
            user_id,
            tenant,
            format,
            limit,
        } => basket(database, &user_id, tenant, format, limit).await?,
        Connected::Health {
            format,
            reference,
            leaks,
            fail_on_drift,
        } => return health(database, format, reference, leaks, fail_on_drift).await,
        Connected::Detect => detect(database, settings).await?,
        Connected::Prices { format, sort } => prices(database, format, sort).await?,
    };
    write_stdout(&out)
}

/// `users`: the users (of one tenant, or all), streamed: written as the
/// rows arrive, memory flat at any size.
async fn users(
    database: &Database,
    query: UserQuery,
    tenant: Option<String>,
    format: Format,
) -> Result<(), Failure> {
    let schema = match tenant {
        Some(tenant) => Some(database.resolve_users_tenant(&tenant).await?),
        None => {
            say_left_out(database);
            None
        }
    };
    // One user more than the limit is read, to tell a cut list from one
    // that happens to have exactly that many users.
    let limit = query.limit;
    let query = UserQuery {
        limit: limit.map(|n| n.saturating_add(1)),
        ..query
    };
    let mut writer = output::UsersWriter::new(format, Destination::stdout(), CommandOut::stdout())
        .at_most(limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)));
    database
        .stream_users(&query, schema.as_deref(), &mut writer)
        .await?;
    let (cut, shown) = (writer.cut(), writer.shown());
    let (out, invalid_utf8) = writer.finish();
    out.finish().map_err(write_failure)?;
    warn_of_invalid_utf8(invalid_utf8);
    if cut {
        // What was written: a filter's exact-id matches come on top of the limit.
        let shown = match shown {
            0 => "no user shown".to_string(),
            1 => "only 1 user shown".to_string(),
            n => format!("only {n} users shown"),
        };
        tenantscope::say!("tenantscope: {shown}; more match (raise --limit)");
    }
    Ok(())
}

/// The warning of `values` shown lossily (not UTF-8), if any: `users`
/// and `orders` alike.
fn warn_of_invalid_utf8(values: usize) {
    if let Some(warning) = output::invalid_utf8_count_warning(values) {
        tenantscope::say!("tenantscope: warning: {warning}");
    }
}

/// `orders`: a user's orders priced in their tenant and another.
async fn orders(
    database: &Database,
    settings: &Settings,
    user_id: &str,
    compare: Option<String>,
    tenant: Option<String>,
    format: Format,
) -> Result<String, Failure> {
    let (user, catalog) = user_and_tenants(database, user_id, tenant.as_deref()).await?;
    let explicit = compare.is_some();
    let refused = |e: DbError| match explicit {
        true => Failure::from(e),
        // Not typed on this command line: say which setting named it.
        false => Failure::usage(format!("tenancy.compare_with: {e}")),
    };
    // A registry key or label names its schema; a registered tenant whose
    // schema is gone is said so (it was "unknown tenant").
    let compare = match compare.or_else(|| settings.tenancy.compare_with.clone()) {
        Some(name) => Some(
            database
                .resolve_in(&catalog, &name)
                .await
                .map_err(refused)?,
        ),
        None => None,
    };
    let requested = compare.as_deref();
    let choice =
        db::choose_compare_tenant(&catalog, user.tenant.as_deref(), requested).map_err(refused)?;
    // The user's own tenant compares with nothing: asked for with
    // --compare it is an error; from tenancy.compare_with (set for
    // every user) the next tenant stands in, and stderr says so.
    if choice.replaced_own {
        let own = tenantscope::text::quoted(requested.unwrap_or_default());
        if explicit {
            return Err(Failure::usage(format!(
                "--compare {own} is the user's own tenant: name another tenant, \
                 or leave --compare out"
            )));
        }
        tenantscope::say!(
            "tenantscope: tenancy.compare_with {own} is the user's own tenant; \
             comparing with {}",
            tenantscope::text::quoted(choice.tenant.as_deref().unwrap_or("no tenant"))
        );
    }
    // Streamed: the lines through a cursor, written as they come, the
    // totals summed on the way (the join runs once); memory stays flat.
    let to = Destination::stdout();
    let headers = output::order_headers(choice.tenant.as_deref(), &catalog, to);
    let headers: Vec<(&str, output::Align)> =
        headers.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let out = CommandOut::stdout();
    let mut writer = output::OrdersWriter::new(&user, &catalog, &headers, format, to, out);
    database
        .stream_orders(&user, choice.tenant.as_deref(), &mut writer)
        .await?;
    let invalid_utf8 = writer.invalid_utf8();
    writer.finish().finish().map_err(write_failure)?;
    warn_of_invalid_utf8(invalid_utf8);
    Ok(String::new())
}

/// `basket`: a user's orders priced in every tenant.
async fn basket(
    database: &Database,
    user_id: &str,
    tenant: Option<String>,
    format: Format,
    limit: Option<i64>,
) -> Result<String, Failure> {
    let (user, catalog) = user_and_tenants(database, user_id, tenant.as_deref()).await?;
    let (lines, mut priced) = database.basket(&user, catalog.names()).await?;
    // The best N of the tenants priced. One that could not be read cannot
    // be ranked (it might be the best), so it is always listed, last.
    let limit = limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut kept = 0;
    priced.retain(|t| {
        kept += usize::from(t.error.is_none());
        t.error.is_some() || kept <= limit
    });
    if kept > limit {
        // As `users` says it: `--limit 0` printed an empty table, silently.
        let shown = match limit {
            0 => "no tenant shown".to_string(),
            1 => "only the best tenant shown".to_string(),
            n => format!("only the best {n} tenants shown"),
        };
        let more = tenantscope::text::plural(kept - limit, "more was", "more were");
        tenantscope::say!("tenantscope: {shown}; {more} priced (raise --limit)");
    }
    if format != tenantscope::cli::Format::Json {
        for failed in priced.iter().filter(|t| t.error.is_some()) {
            let name = catalog.label(&failed.tenant);
            let name = tenantscope::text::sanitize(&name);
            tenantscope::say!("not priced: {name}");
        }
    }
    Ok(output::basket(
        &user,
        &lines,
        &priced,
        &catalog,
        format,
        Destination::stdout(),
    ))
}

/// `result`, an unknown tenant's error listing the tenants closest to the
/// name given (as `--compare`'s does).
async fn named<T>(database: &Database, result: Result<T, DbError>) -> Result<T, DbError> {
    match result {
        Err(DbError::UnknownTenant(name)) => match database.tenants().await {
            Ok(catalog) => Err(catalog.unknown(&name)),
            Err(_) => Err(DbError::UnknownTenant(name)),
        },
        result => result,
    }
}

/// The schema of a tenant named by registry key or label, as `--tenant`
/// takes it; else the name as given (a schema the checks look up).
async fn schema_named(
    database: &Database,
    name: Option<String>,
) -> Result<Option<String>, DbError> {
    match name {
        Some(name) => Ok(Some(database.schema_if_named(&name).await?.unwrap_or(name))),
        None => Ok(None),
    }
}

/// `health`: the drift report, with its findings as the exit status.
async fn health(
    database: &Database,
    format: ReportFormat,
    reference: Option<String>,
    leaks: Option<String>,
    fail_on_drift: bool,
) -> Result<(), Failure> {
    // A bad name fails before the checks run.
    let reference = schema_named(database, reference).await?;
    let leaks = schema_named(database, leaks).await?;
    let report = named(database, database.health(reference.as_deref()).await).await?;
    let checks = database
        .framework_checks(reference.as_deref(), &report.orphan_organizations)
        .await?;
    let leaked = match &leaks {
        Some(tenant) => Some(named(database, database.leaks(tenant).await).await?),
        None => None,
    };
    let check = leaks
        .as_deref()
        .zip(leaked.as_deref())
        .map(|(tenant, leaks)| output::LeakCheck { tenant, leaks });
    // The registry's labels, beside the schemas the report names. Text
    // only; a catalog that cannot be read leaves the schemas alone, as
    // the report is the registry's own check.
    let catalog = match format {
        ReportFormat::Json => TenantCatalog::default(),
        ReportFormat::Table => database.tenants().await.unwrap_or_default(),
    };
    let (out, found) = output::health(
        &report,
        check,
        Some(&checks),
        &catalog,
        format,
        Destination::stdout(),
    );
    write_stdout(&out)?;
    match found.is_empty() {
        false if fail_on_drift => Err(Failure::findings(format!("found {}", found.join(", ")))),
        _ => Ok(()),
    }
}

/// `detect`: the detected model as TOML, why on stderr.
async fn detect(database: &Database, settings: &Settings) -> Result<String, Failure> {
    let detection = match database.detection() {
        Some(detection) => detection.clone(),
        None => {
            database
                .detect_refined(&settings.tenancy, &settings.tenancy_keys)
                .await?
        }
    };
    {
        use std::io::Write;
        // As `say!`: a closed stderr is no panic.
        let _ = write!(std::io::stderr(), "{}", detection.explain());
    }
    // No tenant and no registry to name: the model would only be
    // the defaults, which nothing here matches.
    if detection.tenants.is_empty() && detection.model.schemas.registry.table.is_none() {
        let model = &detection.model;
        return Err(Failure::findings(format!(
            "detect: nothing to show: no registry table in {shared} and no schema \
             holding both {items} and {orders}",
            shared = tenantscope::text::sanitize(&model.schemas.shared),
            items = model.items.table,
            orders = model.orders.table,
        )));
    }
    // The item rule, shown on the first two tenants.
    if let [own, other, ..] = detection.tenants.as_slice() {
        let setting = &detection.model.items.matching;
        match database
            .item_rule_between(&detection.model, own, other)
            .await
        {
            Ok(choice) => tenantscope::say!(
                "detect: items_match = {setting:?}: {} and {} match items by {} ({})",
                text::sanitize(own),
                text::sanitize(other),
                choice.rule.name(),
                text::sanitize(&choice.why)
            ),
            Err(e) => tenantscope::say!("detect: items_match = {setting:?}: not decided ({e})"),
        }
    }
    Ok(detection.model.to_toml())
}

/// `prices`: every item's price in every tenant.
async fn prices(
    database: &Database,
    format: Format,
    sort: PriceSortArg,
) -> Result<String, Failure> {
    let catalog = database.tenants().await?;
    let matrix = database.price_matrix(catalog.names()).await?;
    // JSON carries failures in `failed`; the others get a note each.
    if format != tenantscope::cli::Format::Json {
        if let Some(failures) = output::price_failures(&matrix, &catalog) {
            tenantscope::say!("{failures}");
        }
    }
    // Nothing priced, and not for want of items: every tenant failed (or
    // failed and the rest had no item to show).
    let all_failed = matrix.rows.is_empty() && !matrix.failed.is_empty();
    let out = output::prices(
        &matrix.sorted(sort.into()),
        &catalog,
        format,
        Destination::stdout(),
    );
    if all_failed {
        // An empty matrix is no answer: a cron job must see it fail. JSON
        // says why in `failed`; a table or CSV of headers alone would read
        // as "no items", so nothing is written (stderr names each tenant).
        if format == tenantscope::cli::Format::Json {
            write_stdout(&out)?;
        }
        return Err(Failure::runtime("no tenant could be priced"));
    }
    Ok(out)
}

/// The user a command is about (looked for in `tenant` when one is named),
/// with every tenant to price or compare against.
async fn user_and_tenants(
    database: &Database,
    user_id: &str,
    tenant: Option<&str>,
) -> Result<(User, TenantCatalog), db::DbError> {
    let user = database.user_of_tenant(user_id, tenant).await?;
    // Found among every tenant's users: those left out were not looked
    // in (the same id may be there).
    if tenant.is_none() {
        say_left_out(database);
    }
    Ok((user, database.tenants().await?))
}

/// The tenants every tenant's users leave out (their users table lacks a
/// required column), on stderr: stdout stays parseable.
fn say_left_out(database: &Database) {
    let left_out = database.users_left_out();
    let table = &database.model().users.table;
    if let Some(warning) = output::left_out_warning(&left_out, table) {
        tenantscope::say!("tenantscope: warning: {warning}");
    }
}

/// Each profile with the database it names (labels never hold a
/// password; errors are redacted), in name order.
pub(crate) fn profile_targets(
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
pub(crate) fn profiles(
    file: &ConfigFile,
    settings: &Settings,
    env: &HashMap<String, String>,
) -> String {
    if settings.profiles.is_empty() {
        tenantscope::say!("tenantscope: the config file defines no [profiles.NAME] sections");
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
    write_stdout(&out)
}

/// `tenantscope config [--path]`: settings are loaded (and so checked) but
/// no database is touched.
pub(crate) fn print_config(
    cli: &Cli,
    file: &ConfigFile,
    env: &HashMap<String, String>,
    path_only: bool,
) -> Result<(), Failure> {
    use tenantscope::config_report::{self as report, Flags};
    if path_only {
        let read = file.read_path().map(std::path::Path::to_path_buf);
        let path = read.or_else(|| report::looked_for(file, env).pop().map(|(path, _)| path));
        return match path {
            Some(path) => {
                if !path.is_file() {
                    tenantscope::say!(
                        "note: no config file exists; this is where tenantscope looks last"
                    );
                }
                write_stdout(&format!("{}\n", report::shown(&path)))
            }
            None => Err(Failure::usage(
                "no config file and neither XDG_CONFIG_HOME nor HOME is set",
            )),
        };
    }
    let settings = crate::load_settings(cli, file, env)?;
    let flags = Flags {
        database_url: cli.database_url.as_deref(),
        compare: cli.compare.as_deref(),
        profile: settings.profile.clone(),
    };
    write_stdout(&report::render(&settings, file, env, &flags))
}
