//! Users and tenants: `users`, `tenants`.

use serde::Serialize;

use std::io::Write;

use super::{csv, json, json_element, table, Align, ColumnWidths, CsvRecords, Destination, Format};
use crate::db::{SchemaState, TenantCatalog, TenantSummary, User, UserSink};
use crate::text;

#[derive(Serialize)]
struct UserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    /// The tenant as the registry names it (else its schema).
    tenant: Option<&'a str>,
    /// Whether `schema` exists, in the words of `tenants`: `ok`, `schema
    /// missing`, `no schema`, `incomplete`, `none`.
    tenant_schema: &'static str,
    created: Option<&'a str>,
    schema: Option<&'a str>,
}

/// "2 values had invalid UTF-8 (shown as �)", or `None` when all decoded.
pub fn invalid_utf8_warning(users: &[User]) -> Option<String> {
    invalid_utf8_count_warning(users.iter().map(|u| u.invalid_utf8).sum())
}

/// [`invalid_utf8_warning`] of `values` values.
pub fn invalid_utf8_count_warning(values: usize) -> Option<String> {
    (values > 0).then(|| {
        format!(
            "{} invalid UTF-8 (shown as \u{FFFD})",
            text::plural(values, "value had", "values had")
        )
    })
}

/// Which tenants every tenant's users list leaves out, their users table
/// `table` lacking a required column ((schema, missing columns), see
/// `Database::users_left_out`), and where to look (`health`).
pub fn left_out_warning(left_out: &[(String, Vec<String>)], table: &str) -> Option<String> {
    let table = text::sanitize(table);
    match left_out {
        [] => None,
        [(schema, missing)] => Some(format!(
            "tenant {}'s users left out: its {table} lacks {} (see health)",
            text::sanitize(schema),
            text::sanitize(&missing.join(", "))
        )),
        [(first, _), rest @ ..] => Some(format!(
            "users of {} tenants left out ({}, …): their {table} lacks a column (see health)",
            rest.len() + 1,
            text::sanitize(first)
        )),
    }
}

/// The columns of `users` as a table (CSV adds `schema`).
const USER_HEADERS: [(&str, Align); 6] = [
    ("ID", Align::Right),
    ("NAME", Align::Left),
    ("MAIL", Align::Left),
    ("TENANT", Align::Left),
    ("SCHEMA", Align::Left),
    ("CREATED", Align::Left),
];

/// The CSV header of `users`: [`USER_HEADERS`] in lower case, the
/// schema column named `tenant_schema`, then `schema`.
fn user_csv_headers() -> Vec<String> {
    let mut headers: Vec<String> = USER_HEADERS.iter().map(|(h, _)| h.to_lowercase()).collect();
    headers[4] = "tenant_schema".into();
    headers.push("schema".into());
    headers
}

fn user_json<'a>(u: &'a User, catalog: &TenantCatalog) -> UserJson<'a> {
    UserJson {
        id: &u.id,
        name: &u.name,
        mail: u.mail.as_deref(),
        tenant: u.tenant_label(),
        tenant_schema: catalog.status_of(u).word(),
        created: u.created.as_deref(),
        schema: u.tenant.as_deref(),
    }
}

/// A user's cells in the table's columns; with `schema`, CSV's last one too.
fn user_cells(u: &User, catalog: &TenantCatalog, schema: bool) -> Vec<String> {
    // The table has no schema column: it names the tenant as the dashboard
    // does, a label two tenants share (or that names another tenant's
    // schema) with its schema beside it, and quotes an id that reads like
    // its words for none (`tenants` does). CSV keeps values as they are.
    let tenant = match (u.tenant.as_deref(), schema) {
        (Some(tenant), false) if !tenant.is_empty() => {
            crate::text::id_text(Some(&catalog.label(tenant)))
        }
        (_, false) => crate::text::id_text(u.tenant_label()),
        (_, true) => u.tenant_label().unwrap_or_default().to_string(),
    };
    let mut row = vec![
        u.id.clone(),
        u.name.clone(),
        u.mail.clone().unwrap_or_default(),
        tenant,
        catalog.status_of(u).word().to_string(),
        u.created.clone().unwrap_or_default(),
    ];
    if schema {
        // The schema goes last: the documented columns keep their places.
        row.push(u.tenant.clone().unwrap_or_default());
    }
    row
}

/// `users` with every user in memory; [`UsersWriter`] writes the same
/// text as the users arrive.
pub fn users(users: &[User], catalog: &TenantCatalog, format: Format, to: Destination) -> String {
    match format {
        Format::Json => json(
            &users
                .iter()
                .map(|u| user_json(u, catalog))
                .collect::<Vec<_>>(),
            to,
        ),
        Format::Table | Format::Csv => {
            let csv_format = format == Format::Csv;
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| user_cells(u, catalog, csv_format))
                .collect();
            if csv_format {
                let headers = user_csv_headers();
                let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                csv(&headers, &rows, to)
            } else {
                table(&USER_HEADERS, &rows, to)
            }
        }
    }
}

/// `users` written as the users arrive, so memory stays flat however
/// many there are: CSV and JSON in one pass; a table in two over the same
/// rows (a cursor in one transaction): the first learns the column widths
/// (nothing kept but the widest of each), the second writes.
///
/// Feed it with [`crate::db::Database::stream_users`]. Write errors (a
/// closed pipe, `| head`) stop the reading quietly, as they always did.
pub struct UsersWriter<W: Write> {
    format: Format,
    to: Destination,
    out: W,
    catalog: TenantCatalog,
    columns: ColumnWidths<'static>,
    widths: Vec<usize>,
    written: usize,
    invalid_utf8: usize,
    csv: CsvRecords,
    /// At most this many listed users (pinned ones aside); see [`UsersWriter::at_most`].
    limit: Option<usize>,
    /// Listed users seen in the current pass.
    listed: usize,
    /// A user beyond `limit` arrived: the list was cut.
    cut: bool,
}

impl<W: Write> UsersWriter<W> {
    pub fn new(format: Format, to: Destination, out: W) -> UsersWriter<W> {
        UsersWriter {
            format,
            to,
            out,
            catalog: TenantCatalog::new(Vec::new()),
            columns: ColumnWidths::new(&USER_HEADERS, to),
            widths: Vec::new(),
            written: 0,
            invalid_utf8: 0,
            csv: CsvRecords::default(),
            limit: None,
            listed: 0,
            cut: false,
        }
    }

    /// Writes at most `limit` listed users (a filter's pinned exact-id
    /// matches come on top, as the query gives them). Read one more than
    /// that: when it arrives, [`UsersWriter::cut`] says the list was cut.
    pub fn at_most(mut self, limit: Option<usize>) -> UsersWriter<W> {
        self.limit = limit;
        self
    }

    /// More users matched than the limit let through.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// Users written (pinned ones too).
    pub fn shown(&self) -> usize {
        self.written
    }

    /// Values with invalid UTF-8 among the users written.
    pub fn invalid_utf8(&self) -> usize {
        self.invalid_utf8
    }

    fn writing(&self, pass: u8) -> bool {
        pass + 1 == self.passes()
    }

    fn put(&mut self, text: &str) -> bool {
        self.out.write_all(text.as_bytes()).is_ok()
    }

    /// CSV: one record.
    fn record(&mut self, values: &[String]) -> bool {
        self.csv.write(&mut self.out, self.to, values)
    }

    /// Ends the output (JSON's closing bracket) and flushes it.
    pub fn finish(mut self) -> (W, usize) {
        if self.format == Format::Json {
            let end = if self.written == 0 { "[]\n" } else { "\n]\n" };
            let _ = self.put(end);
        }
        let _ = self.out.flush();
        (self.out, self.invalid_utf8)
    }
}

impl<W: Write> UserSink for UsersWriter<W> {
    fn passes(&self) -> u8 {
        match self.format {
            Format::Table => 2,
            Format::Csv | Format::Json => 1,
        }
    }

    fn begin(&mut self, pass: u8, catalog: &TenantCatalog) -> bool {
        self.catalog = catalog.clone();
        self.listed = 0;
        if !self.writing(pass) {
            return true;
        }
        match self.format {
            Format::Json => true,
            Format::Csv => {
                let headers = user_csv_headers();
                self.record(&headers)
            }
            Format::Table => {
                self.widths = self.columns.widths();
                let mut line = self
                    .columns
                    .line(&self.widths, USER_HEADERS.iter().map(|(title, _)| *title));
                line.push('\n');
                self.put(&line)
            }
        }
    }

    fn user(&mut self, pass: u8, user: &User) -> bool {
        if !user.key.pinned {
            self.listed += 1;
            if self.limit.is_some_and(|limit| self.listed > limit) {
                self.cut = true;
                // Read no further, unless a later pass is still to come.
                return !self.writing(pass);
            }
        }
        if !self.writing(pass) {
            let row = user_cells(user, &self.catalog, false);
            self.columns.fit(&row);
            return true;
        }
        self.invalid_utf8 += user.invalid_utf8;
        let first = self.written == 0;
        self.written += 1;
        // The last user shown of a list already known to be cut (a
        // table's first pass read past it): nothing more to read.
        let done = !user.key.pinned && self.cut && self.limit == Some(self.listed);
        let written = match self.format {
            Format::Json => {
                let exact = serde_json::to_string_pretty(&user_json(user, &self.catalog))
                    .expect("serializable values");
                let lead = if first { "[\n" } else { ",\n" };
                self.put(&json_element(&exact, lead, "  ", self.to))
            }
            Format::Csv => {
                let row = user_cells(user, &self.catalog, true);
                self.record(&row)
            }
            Format::Table => {
                let row = user_cells(user, &self.catalog, false);
                let mut line = self
                    .columns
                    .line(&self.widths, row.iter().map(String::as_str));
                line.push('\n');
                self.put(&line)
            }
        };
        written && !done
    }
}

/// `tenants --format json`: each tenant as [`TenantSummary`], and where a
/// registry names it, `tenant` is the registry's label with `tenant_key`
/// and `schema` beside it.
#[derive(Serialize)]
struct TenantJson<'a> {
    tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a str>,
    schema_exists: bool,
    users: i64,
    /// `users` is an estimate (see [`TenantSummary::users_estimated`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    users_estimated: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    registered: bool,
    /// An id naming no schema (see [`SchemaState::NoSchema`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_schema: bool,
    /// See [`SchemaState::Incomplete`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
}

/// What the registry calls `summary`'s tenant (else its own name).
fn tenant_name(summary: &TenantSummary, catalog: &TenantCatalog) -> Option<String> {
    let tenant = summary.tenant.as_deref()?;
    Some(catalog.label(tenant))
}

pub fn tenants(
    summaries: &[TenantSummary],
    catalog: &TenantCatalog,
    format: Format,
    to: Destination,
) -> String {
    match format {
        Format::Json => {
            let rows: Vec<TenantJson> = summaries
                .iter()
                .map(|summary| {
                    let key = summary.tenant.as_deref().and_then(|t| catalog.key(t));
                    TenantJson {
                        tenant: tenant_name(summary, catalog),
                        tenant_key: key,
                        schema: key.and(summary.tenant.as_deref()),
                        schema_exists: summary.state == SchemaState::Ok,
                        users: summary.users,
                        users_estimated: summary.users_estimated,
                        registered: summary.state == SchemaState::Missing,
                        no_schema: summary.state == SchemaState::NoSchema,
                        incomplete: summary.state == SchemaState::Incomplete,
                        node: summary.node.as_deref(),
                    }
                })
                .collect();
            json(&rows, to)
        }
        Format::Table | Format::Csv => {
            let on_nodes = summaries.iter().any(|t| t.node.is_some());
            // Estimated counts: `~` in the table (as health shows them), a
            // column of its own in CSV (its `users` cells stay numbers).
            let estimates = summaries.iter().any(|t| t.users_estimated);
            // A CSV cell cannot tell NULL from '': the users with no
            // organization id are one row there (two read the same).
            let merged;
            let summaries = match format {
                Format::Csv => {
                    merged = no_tenant_merged(summaries);
                    &merged[..]
                }
                _ => summaries,
            };
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|t| {
                    // The table names what a CSV cell cannot (NULL or '').
                    let tenant = match (t.tenant.as_deref(), format) {
                        (None | Some(""), Format::Csv) => String::new(),
                        (Some(_), Format::Csv) => tenant_name(t, catalog).unwrap_or_default(),
                        _ => {
                            let name = tenant_name(t, catalog);
                            text::id_cell(name.as_deref()).into_owned()
                        }
                    };
                    let mut row = vec![
                        tenant,
                        t.state.word().to_string(),
                        match format {
                            Format::Table => crate::db::Count::label(Some(crate::db::Count {
                                value: t.users,
                                estimated: t.users_estimated,
                            })),
                            _ => t.users.to_string(),
                        },
                    ];
                    if estimates && format == Format::Csv {
                        row.push(t.users_estimated.to_string());
                    }
                    if on_nodes {
                        row.push(t.node.clone().unwrap_or_default());
                    }
                    row
                })
                .collect();
            let mut headers = vec![
                ("TENANT", Align::Left),
                ("SCHEMA", Align::Left),
                ("USERS", Align::Right),
            ];
            if estimates && format == Format::Csv {
                headers.push(("USERS_ESTIMATED", Align::Left));
            }
            // Citus: the node each tenant lives on.
            if on_nodes {
                headers.push(("NODE", Align::Left));
            }
            if format == Format::Csv {
                // The column holds the schema's status, not its name (as
                // the tenants pane's export names it).
                let name = |h: &str| match h {
                    "SCHEMA" => "schema_status".to_string(),
                    h => h.to_lowercase(),
                };
                let names: Vec<String> = headers.iter().map(|(h, _)| name(h)).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                csv(&names, &rows, to)
            } else {
                table(&headers, &rows, to)
            }
        }
    }
}

/// `summaries` with the users with no organization id (NULL and '') in
/// one row, where the first of them was.
fn no_tenant_merged(summaries: &[TenantSummary]) -> Vec<TenantSummary> {
    let mut merged: Vec<TenantSummary> = Vec::with_capacity(summaries.len());
    let mut none_at = None;
    for summary in summaries {
        if summary.state != SchemaState::NoTenant {
            merged.push(summary.clone());
            continue;
        }
        match none_at {
            Some(at) => {
                let first: &mut TenantSummary = &mut merged[at];
                first.users += summary.users;
                first.users_estimated |= summary.users_estimated;
            }
            None => {
                none_at = Some(merged.len());
                merged.push(TenantSummary {
                    tenant: None,
                    ..summary.clone()
                });
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table cut by the limit: the first pass reads one user past it (and
    /// learns the list is cut), the second stops after the last one shown,
    /// reading no further page.
    #[test]
    fn a_cut_table_reads_no_further_than_its_last_user() {
        let users: Vec<User> = ["a", "b", "c"]
            .iter()
            .map(|name| crate::fixtures::user(name, name, "client1"))
            .collect();
        let catalog = TenantCatalog::new(vec!["client1".into()]);
        let mut writer =
            UsersWriter::new(Format::Table, Destination::PipeOrFile, Vec::new()).at_most(Some(2));
        assert!(writer.begin(0, &catalog));
        assert!(
            users.iter().all(|u| writer.user(0, u)),
            "measuring reads on"
        );
        assert!(writer.cut());
        assert!(writer.begin(1, &catalog));
        assert!(writer.user(1, &users[0]));
        assert!(
            !writer.user(1, &users[1]),
            "the last shown: read no further"
        );
        assert_eq!(writer.shown(), 2);
        let (out, _) = writer.finish();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1 + 2);
    }

    /// The table's counts read as `health`'s (`~12,345`); it wrote
    /// `~12345`. CSV keeps numbers.
    #[test]
    fn tenant_counts_read_as_health_writes_them() {
        let summary = |users, users_estimated| crate::db::TenantSummary {
            tenant: Some("acme".into()),
            state: crate::db::SchemaState::Ok,
            users,
            users_estimated,
            node: None,
        };
        let catalog = TenantCatalog::new(vec!["acme".into()]);
        let table = |s| tenants(&[s], &catalog, Format::Table, Destination::PipeOrFile);
        assert!(table(summary(12345, true)).contains(" ~12,345"));
        assert!(table(summary(12345, false)).contains(" 12,345"));
        let csv = tenants(
            &[summary(12345, true)],
            &catalog,
            Format::Csv,
            Destination::PipeOrFile,
        );
        assert!(csv.contains(",12345,true"), "{csv}");
    }

    #[test]
    fn the_left_out_tenants_are_named_and_health_pointed_at() {
        let one = [("acme".to_string(), vec!["username".to_string()])];
        assert_eq!(left_out_warning(&[], "auth_user"), None);
        assert_eq!(
            left_out_warning(&one, "auth_user").as_deref(),
            Some("tenant acme's users left out: its auth_user lacks username (see health)")
        );
        let three: Vec<(String, Vec<String>)> = ["a\u{1b}[2J", "b", "c"]
            .iter()
            .map(|s| (s.to_string(), vec!["email".to_string()]))
            .collect();
        let said = left_out_warning(&three, "auth_user").unwrap();
        assert!(said.starts_with("users of 3 tenants left out (a"), "{said}");
        assert!(!said.contains('\u{1b}'), "no escape reaches the terminal");
    }
}
