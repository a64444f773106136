//! The tenant health view (`t`): every tenant schema checked for drift,
//! use and row counts, and on request one tenant's leaked orders.

use std::time::Duration;

use super::keymap::{bind, navigation, Action, Binding, Key, KeyTable, Rows, VIEW_END};
use super::load::{timed, Cursor, Load};
use super::msg::{Delay, Effect, Job as AppJob, Slot};
use super::screen::{export_loaded, no_mouse, no_text, no_warning, nothing, Screen, Status};
use super::state::{State, View};
use crate::db::tenancy::{FrameworkChecks, LedgerStatus};
use crate::db::{Database, DbError, HealthReport, Leak, QueryHandle, TenantCatalog};
use crate::output::Document;
use crate::ui::layout;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    /// Keyed by ticket: a reload supersedes the check before it.
    pub report: Load<u64, HealthReport>,
    pub cursor: Cursor,
    /// Leaks of one tenant, asked for with `L`, keyed by tenant.
    pub leaks: Load<String, Vec<Leak>>,
    /// The registry and ledger checks read with the report (`health`'s).
    pub checks: FrameworkChecks,
    /// `f`: only the rows with findings.
    pub only_findings: bool,
}

/// What a row of the health view stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A tenant schema the check read: `report.tenants[i]`.
    Tenant(usize),
    /// A registered tenant, or (without a registry) an organization id,
    /// with no schema.
    NoSchema,
    /// A schema holding tenant tables that the registry does not list.
    Unregistered,
    /// django-pgschemas' static tenants and clone reference: no finding.
    Static,
    /// A schema that is no tenant (the shared one) with rows in a copy
    /// that should be empty.
    Shared,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    /// Said, not a finding.
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
}

/// One row of the health view: a tenant, or a schema (or organization id)
/// a check named, with everything found about it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    /// The schema (or organization id; `(none)` for users without one).
    pub schema: String,
    /// As people call it: the registry's label where there is one.
    pub name: String,
    pub kind: RowKind,
    pub status: &'static str,
    /// Users of a tenant with no schema, when known.
    pub users: Option<i64>,
    pub findings: Vec<Finding>,
}

impl HealthRow {
    pub fn has_findings(&self) -> bool {
        self.findings.iter().any(|f| f.severity != Severity::Note)
    }
}

/// Every row of the health view, in order: the tenants the check read,
/// then registered tenants with no schema (or organization ids naming
/// none), schemas nobody registered, static schemas, and other schemas
/// holding rows in a wrong copy. Wording follows the layout: with a
/// registry, tenants are registered, not organization ids.
pub fn all_rows(
    report: &HealthReport,
    checks: &FrameworkChecks,
    catalog: &TenantCatalog,
) -> Vec<HealthRow> {
    let finding = |severity, text: String| Finding { severity, text };
    let registry = checks.registry.as_ref();
    let mut rows: Vec<HealthRow> = report
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| HealthRow {
            schema: t.tenant.clone(),
            name: catalog.label(&t.tenant),
            kind: RowKind::Tenant(i),
            status: t.status.word(),
            users: Some(t.users.value),
            findings: t
                .drift
                .iter()
                .map(|d| finding(Severity::Error, d.describe()))
                .collect(),
        })
        .collect();
    fn row_of<'r>(
        rows: &'r mut Vec<HealthRow>,
        schema: &str,
        kind: RowKind,
        catalog: &TenantCatalog,
    ) -> &'r mut HealthRow {
        let at = match rows.iter().position(|r| r.schema == schema) {
            Some(at) => at,
            None => {
                rows.push(HealthRow {
                    schema: schema.to_string(),
                    name: catalog.label(schema),
                    kind,
                    status: match kind {
                        RowKind::Tenant(_) => "ok",
                        RowKind::NoSchema => "no schema",
                        RowKind::Unregistered => "unregistered",
                        RowKind::Static => "static",
                        RowKind::Shared => "shared",
                    },
                    users: None,
                    findings: Vec::new(),
                });
                rows.len() - 1
            }
        };
        &mut rows[at]
    }
    if let Some(registry) = registry {
        for schema in &registry.missing_schemas {
            row_of(&mut rows, schema, RowKind::NoSchema, catalog)
                .findings
                .push(finding(
                    Severity::Error,
                    format!(
                        "registered in {}, but its schema does not exist",
                        registry.table
                    ),
                ));
        }
    }
    for orphan in &report.orphan_organizations {
        let (schema, text) = match (&orphan.organization_id, registry) {
            (Some(id), Some(_)) => (
                id.clone(),
                format!("{} user(s) of a tenant with no schema", orphan.users),
            ),
            (Some(id), None) => (
                id.clone(),
                format!(
                    "organization id of {} user(s), naming no tenant schema",
                    orphan.users
                ),
            ),
            (None, Some(_)) => (
                "(none)".to_string(),
                format!("{} user(s) with no tenant", orphan.users),
            ),
            (None, None) => (
                "(none)".to_string(),
                format!("{} user(s) with no organization id", orphan.users),
            ),
        };
        let row = row_of(&mut rows, &schema, RowKind::NoSchema, catalog);
        row.users = Some(orphan.users);
        row.findings.push(finding(Severity::Warning, text));
    }
    if let Some(registry) = registry {
        for schema in &registry.unregistered_schemas {
            row_of(&mut rows, schema, RowKind::Unregistered, catalog)
                .findings
                .push(finding(
                    Severity::Error,
                    format!(
                        "holds tenant tables, but {} does not list it",
                        registry.table
                    ),
                ));
        }
        for schema in &registry.static_schemas {
            row_of(&mut rows, schema, RowKind::Static, catalog)
                .findings
                .push(finding(
                    Severity::Note,
                    format!(
                        "not in {}: django-pgschemas' static tenant or clone reference \
                         (ignore_schemas)",
                        registry.table
                    ),
                ));
        }
    }
    if let Some(ledger) = &checks.ledger {
        for drift in &ledger.drift {
            let list = |v: &[String]| v.join(", ");
            let text = match drift.status {
                LedgerStatus::Behind => format!(
                    "migrations behind ({}): lacks {}",
                    ledger.table,
                    list(&drift.missing)
                ),
                LedgerStatus::Ahead => format!(
                    "migrations ahead ({}): ran {}",
                    ledger.table,
                    list(&drift.extra)
                ),
                LedgerStatus::Diverged => format!(
                    "migrations diverged ({}): lacks {}; ran {}",
                    ledger.table,
                    list(&drift.missing),
                    list(&drift.extra)
                ),
            };
            let severity = match drift.status {
                LedgerStatus::Ahead => Severity::Warning,
                _ => Severity::Error,
            };
            let row = row_of(
                &mut rows,
                &drift.tenant,
                RowKind::Tenant(usize::MAX),
                catalog,
            );
            if row.status == "ok" || (row.status == "unused" && severity == Severity::Error) {
                row.status = drift.status.word();
            }
            row.findings.push(finding(severity, text));
        }
    }
    for copy in &report.wrong_copy {
        let row = row_of(&mut rows, &copy.schema, RowKind::Shared, catalog);
        if copy.has_rows() && matches!(row.status, "ok" | "unused" | "ahead") {
            row.status = "wrong copy";
        }
        let severity = if copy.has_rows() {
            Severity::Error
        } else {
            Severity::Warning
        };
        row.findings.push(finding(
            severity,
            format!(
                "{}: {} in the wrong copy ({})",
                copy.table,
                copy.rows_text(),
                copy.why
            ),
        ));
    }
    for schema in &report.unused_tenants {
        let row = row_of(&mut rows, schema, RowKind::Tenant(usize::MAX), catalog);
        let text = match registry {
            Some(_) => "no user is a member of it",
            None => "no user's organization id names it",
        };
        row.findings
            .push(finding(Severity::Warning, text.to_string()));
    }
    rows
}

/// The rows on screen: all of them, or (`f`) those with findings.
pub fn rows(state: &State) -> Vec<HealthRow> {
    let Some(report) = state.health.report.value() else {
        return Vec::new();
    };
    let mut rows = all_rows(report, &state.health.checks, &state.catalog);
    if state.health.only_findings {
        rows.retain(HealthRow::has_findings);
    }
    rows
}

#[derive(Debug, Clone)]
pub enum Msg {
    Loaded {
        ticket: u64,
        /// The report and the registry and ledger checks, read together.
        result: Result<Box<(HealthReport, FrameworkChecks)>, DbError>,
        elapsed: Duration,
    },
    LeaksLoaded {
        tenant: String,
        result: Result<Vec<Leak>, DbError>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Check { ticket: u64 },
    Leaks { tenant: String },
}

impl Job {
    pub async fn run(self, db: Database, _: QueryHandle) -> Msg {
        match self {
            Job::Check { ticket } => {
                let (result, elapsed) = timed(async {
                    let report = db.health(None).await?;
                    Ok(Box::new((report, db.framework_checks(None).await?)))
                })
                .await;
                Msg::Loaded {
                    ticket,
                    result,
                    elapsed,
                }
            }
            Job::Leaks { tenant } => {
                let (result, elapsed) = timed(db.leaks(&tenant)).await;
                Msg::LeaksLoaded {
                    tenant,
                    result,
                    elapsed,
                }
            }
        }
    }
}

use Action::*;

const NAV: [Binding; 6] = navigation(Rows {
    up: "move up",
    down: "move down",
    first: "first tenant",
    last: "last tenant",
    hint: true,
});

const OWN: &[Binding] = &[
    bind(&[Key::Char('L')], ShowLeaks, "find leaked orders", true),
    bind(
        &[Key::Char('f')],
        OnlyFindings,
        "only rows with findings",
        true,
    ),
    bind(&[Key::Char('r')], Reload, "reload", true),
    bind(&[Key::Char('e')], Export, "export CSV", true),
];

pub const KEYS: KeyTable = &[&NAV, OWN, &VIEW_END];

pub const SCREEN: Screen = Screen {
    on_resize: nothing,
    // Heavy: `r` runs the checks, never the timer.
    refresh: nothing,
    keys: |_| KEYS,
    fresh: "health",
    on_action,
    on_key: no_text,
    on_mouse: no_mouse,
    warning: no_warning,
    is_busy: |state| state.health.report.is_loading() || state.health.leaks.is_loading(),
    status: |state| {
        Status::of(&state.health.report, |r| {
            format!("checked {} tenants", r.tenants.len())
        })
    },
    export: |state| export_loaded("health", &state.health.report, Document::Health),
    help: &[("Tenant health", KEYS)],
    marks: &[
        (
            "✗",
            "a finding: drift, no schema, unregistered, migrations behind, wrong copy",
        ),
        ("!", "worth a look: no user, migrations ahead"),
        ("·", "said, not a finding"),
        ("~", "estimated from statistics"),
    ],
};

pub fn open(state: &mut State) -> Vec<Effect> {
    state.view = View::Health;
    let health = &state.health;
    if health.report.is_loading() || health.report.value().is_some() {
        return Vec::new();
    }
    reload(state)
}

fn reload(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    state.health.report.start(ticket);
    state.health.leaks.clear();
    vec![AppJob::Health(Job::Check { ticket }).task(Slot("health"), Delay::None)]
}

pub fn on_msg(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Loaded {
            ticket,
            result,
            elapsed,
        } => {
            let (result, checks) = match result {
                Ok(both) => {
                    let (report, checks) = *both;
                    (Ok(report), checks)
                }
                Err(e) => (Err(e.into()), FrameworkChecks::default()),
            };
            let health = &mut state.health;
            if health.report.accept(&ticket, result, elapsed) {
                health.checks = checks;
                let len = rows(state).len();
                let fit = screen_rows(state.size);
                state.health.cursor.keep_visible(len, fit);
            }
        }
        Msg::LeaksLoaded {
            tenant,
            result,
            elapsed,
        } => {
            let result = result.map_err(super::load::Failure::from);
            state.health.leaks.accept(&tenant, result, elapsed);
        }
    }
    Vec::new()
}

fn screen_rows(size: (u16, u16)) -> usize {
    layout::health_rows(size).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let len = rows(state).len();
    let fit = screen_rows(state.size);
    if state.health.cursor.navigate(action, len, fit) {
        return Vec::new();
    }
    match action {
        ShowLeaks => return show_leaks(state),
        OnlyFindings => {
            state.health.only_findings = !state.health.only_findings;
            state.health.cursor = Cursor::default();
        }
        Reload => return reload(state),
        Back => state.view = View::Dashboard,
        _ => {}
    }
    Vec::new()
}

fn show_leaks(state: &mut State) -> Vec<Effect> {
    let Some(row) = rows(state).into_iter().nth(state.health.cursor.selected) else {
        return Vec::new();
    };
    // Only a tenant schema the check read has orders to look in.
    let RowKind::Tenant(i) = row.kind else {
        return Vec::new();
    };
    let in_report = state.health.report.value().and_then(|r| r.tenants.get(i));
    let Some(tenant) = in_report.map(|t| t.tenant.clone()) else {
        return Vec::new();
    };
    state.health.leaks.start(tenant.clone());
    vec![AppJob::Health(Job::Leaks { tenant }).task(Slot("leaks"), Delay::None)]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::KeyCode;

    use super::*;
    use crate::app::msg::{Job as AppJob, Msg as AppMsg};
    use crate::app::update;
    use crate::db::{Count, HealthStatus, TenantHealth};
    use crate::fixtures::*;

    #[test]
    fn health_view_opens_loads_and_finds_leaks_for_the_selected_tenant() {
        let mut state = demo_state();
        let ticket = match &jobs(&press(&mut state, KeyCode::Char('t')))[..] {
            [AppJob::Health(Job::Check { ticket })] => *ticket,
            other => panic!("{other:?}"),
        };
        assert_eq!(state.view, View::Health);
        let tenant = |name: &str| TenantHealth {
            tenant: name.into(),
            status: HealthStatus::Ok,
            users: Count::exact(1),
            items: None,
            orders: None,
            drift: Vec::new(),
        };
        let report = HealthReport {
            tenants: vec![tenant("client1"), tenant("client2")],
            references: Vec::new(),
            orphan_organizations: Vec::new(),
            unused_tenants: Vec::new(),
            wrong_copy: Vec::new(),
            unreachable_nodes: Vec::new(),
        };
        let loaded = |ticket| {
            AppMsg::from(Msg::Loaded {
                ticket,
                result: Ok(Box::new((report.clone(), FrameworkChecks::default()))),
                elapsed: Duration::ZERO,
            })
        };
        update(&mut state, loaded(ticket + 1));
        assert!(state.health.report.is_loading(), "not the check asked for");
        update(&mut state, loaded(ticket));
        assert_eq!(state.health.report.value(), Some(&report));
        press(&mut state, KeyCode::Char('j'));
        assert_eq!(
            jobs(&press(&mut state, KeyCode::Char('L'))),
            vec![AppJob::Health(Job::Leaks {
                tenant: "client2".into()
            })]
        );
        // A late answer for another tenant is not shown as this one's.
        let leaks_of = |tenant: &str| {
            AppMsg::from(Msg::LeaksLoaded {
                tenant: tenant.into(),
                result: Ok(Vec::new()),
                elapsed: Duration::ZERO,
            })
        };
        update(&mut state, leaks_of("client1"));
        assert!(state.health.leaks.is_loading());
        assert_eq!(
            state.health.leaks.key().map(String::as_str),
            Some("client2")
        );
        update(&mut state, leaks_of("client2"));
        assert_eq!(state.health.leaks.value(), Some(&Vec::new()));
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "t is not bound here"
        );
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert!(!state.quit, "Esc goes back, it does not quit");
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "the report is kept"
        );
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
    }
}
