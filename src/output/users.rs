//! Users and tenants: `users`, `tenants`.

use serde::Serialize;

use super::{csv, json, table, Align, Destination, Format};
use crate::db::{TenantCatalog, TenantStatus, TenantSummary, User};
use crate::text;

fn status_word(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Present => "ok",
        TenantStatus::Missing => "missing",
        TenantStatus::NoTenant => "none",
    }
}

#[derive(Serialize)]
struct UserJson<'a> {
    id: &'a str,
    name: &'a str,
    mail: Option<&'a str>,
    /// The tenant as the registry names it (else its schema).
    tenant: Option<&'a str>,
    /// Whether `schema` exists: `ok`, `missing`, `none`.
    tenant_schema: &'static str,
    created: Option<&'a str>,
    schema: Option<&'a str>,
}

/// "2 values had invalid UTF-8 (shown as �)", or `None` when all decoded.
pub fn invalid_utf8_warning(users: &[User]) -> Option<String> {
    let values: usize = users.iter().map(|u| u.invalid_utf8).sum();
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

pub fn users(users: &[User], catalog: &TenantCatalog, format: Format, to: Destination) -> String {
    match format {
        Format::Json => json(
            &users
                .iter()
                .map(|u| UserJson {
                    id: &u.id,
                    name: &u.name,
                    mail: u.mail.as_deref(),
                    tenant: u.tenant_label(),
                    tenant_schema: status_word(catalog.status_of(u)),
                    created: u.created.as_deref(),
                    schema: u.tenant.as_deref(),
                })
                .collect::<Vec<_>>(),
            to,
        ),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.clone(),
                        u.name.clone(),
                        u.mail.clone().unwrap_or_default(),
                        u.tenant_label().unwrap_or_default().to_string(),
                        status_word(catalog.status_of(u)).to_string(),
                        u.created.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let headers = ["id", "name", "mail", "tenant", "tenant_schema", "created"];
            if format == Format::Csv {
                // The schema goes last: the documented columns keep their places.
                let mut headers = headers.to_vec();
                headers.push("schema");
                let rows: Vec<Vec<String>> = rows
                    .into_iter()
                    .zip(users)
                    .map(|(mut row, u)| {
                        row.push(u.tenant.clone().unwrap_or_default());
                        row
                    })
                    .collect();
                csv(&headers, &rows, to)
            } else {
                let l = Align::Left;
                table(
                    &[
                        ("ID", Align::Right),
                        ("NAME", l),
                        ("MAIL", l),
                        ("TENANT", l),
                        ("SCHEMA", l),
                        ("CREATED", l),
                    ],
                    &rows,
                    to,
                )
            }
        }
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
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    registered: bool,
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
                        schema_exists: summary.schema_exists,
                        users: summary.users,
                        registered: summary.registered,
                        node: summary.node.as_deref(),
                    }
                })
                .collect();
            json(&rows, to)
        }
        Format::Table | Format::Csv => {
            let on_nodes = summaries.iter().any(|t| t.node.is_some());
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|t| {
                    // The table names what a CSV cell cannot (NULL or '').
                    let tenant = match (t.tenant.as_deref(), format) {
                        (None | Some(""), Format::Csv) => String::new(),
                        (None, _) => "(none)".to_string(),
                        (Some(""), _) => "(empty)".to_string(),
                        (Some(_), _) => tenant_name(t, catalog).unwrap_or_default(),
                    };
                    let mut row = vec![
                        tenant,
                        match (t.schema_exists, t.registered) {
                            (true, _) => "ok",
                            (false, true) => "schema missing",
                            (false, false) => "missing",
                        }
                        .to_string(),
                        t.users.to_string(),
                    ];
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
            // Citus: the node each tenant lives on.
            if on_nodes {
                headers.push(("NODE", Align::Left));
            }
            if format == Format::Csv {
                let names: Vec<String> = headers.iter().map(|(h, _)| h.to_lowercase()).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                csv(&names, &rows, to)
            } else {
                table(&headers, &rows, to)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
