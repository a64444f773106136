//! The tenant health view (`t`): every tenant schema checked for drift,
//! use and row counts, and on request one tenant's leaked orders.

use std::time::Duration;

use super::keymap::{
    bind, export_key, navigation, reload_key, Action, Binding, Key, KeyTable, ENTER, TENANTS,
    VIEW_END,
};
use super::load::{timed, Cursor, Load, Ticket};
use super::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use super::screen::{nothing, Screen, Status};
use super::state::{State, View};
use crate::db::tenancy::FrameworkChecks;
use crate::db::{Database, DbError, HealthReport, Leak, QueryHandle};
use crate::geometry;
use crate::output::health_rows::{all_rows, HealthRow, LeaksFound, RowKind};
use crate::output::Document;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    /// A reload supersedes the check before it.
    pub report: Load<Ticket, HealthReport>,
    pub cursor: Cursor,
    /// Leaks of one tenant, asked for with `L`.
    pub leaks: Load<(Ticket, String), Vec<Leak>>,
    /// What `L` answered in each tenant asked so far (the leaks, or why
    /// it could not look), until the check runs again: an `L` on another
    /// tenant keeps this one's answer.
    pub leaks_of: std::collections::BTreeMap<String, Result<Vec<Leak>, String>>,
    /// The registry and ledger checks read with the report (`health`'s).
    pub checks: FrameworkChecks,
    /// `f`: only the rows with findings.
    pub only_findings: bool,
}

/// Every row, with the leaked orders `L` found in a tenant as one of its
/// findings (the check itself does not look for them).
pub fn all(state: &State) -> Vec<HealthRow> {
    let Some(report) = state.health.report.value() else {
        return Vec::new();
    };
    all_rows(report, &state.health.checks, &state.catalog, &leaks(state))
}

/// What `L` answered in each tenant: how many leaked orders, or why not.
fn leaks(state: &State) -> LeaksFound {
    let answers = state.health.leaks_of.iter();
    answers
        .map(|(schema, answer)| {
            (
                schema.clone(),
                answer.as_ref().map(Vec::len).map_err(Clone::clone),
            )
        })
        .collect()
}

/// Whether `L`'s answer for `row`'s tenant is the row's first finding:
/// leaked orders found, or a check that failed.
pub fn leaks_first(state: &State, row: &HealthRow) -> bool {
    let answer = state.health.leaks_of.get(&row.schema);
    let finding = answer.is_some_and(|a| a.as_ref().map_or(true, |found| !found.is_empty()));
    matches!(row.kind, RowKind::Tenant(_)) && finding
}

/// The rows on screen: all of them, or (`f`) those with findings.
pub fn rows(state: &State) -> Vec<HealthRow> {
    let mut rows = all(state);
    if state.health.only_findings {
        rows.retain(HealthRow::has_findings);
    }
    rows
}

#[derive(Debug, Clone)]
pub enum Msg {
    Loaded {
        ticket: Ticket,
        /// The report and the registry and ledger checks, read together.
        result: Result<Box<(HealthReport, FrameworkChecks)>, DbError>,
        elapsed: Duration,
    },
    LeaksLoaded {
        key: (Ticket, String),
        result: Result<Vec<Leak>, DbError>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Check { ticket: Ticket },
    Leaks { key: (Ticket, String) },
}

impl Job {
    pub async fn run(self, db: Database, _: QueryHandle) -> Msg {
        match self {
            Job::Check { ticket } => {
                let (result, elapsed) = timed(async {
                    let report = db.health(None).await?;
                    let orphans = &report.orphan_organizations;
                    let checks = db.framework_checks(None, orphans).await?;
                    Ok(Box::new((report, checks)))
                })
                .await;
                Msg::Loaded {
                    ticket,
                    result,
                    elapsed,
                }
            }
            Job::Leaks { key } => {
                let (result, elapsed) = timed(db.leaks(&key.1)).await;
                Msg::LeaksLoaded {
                    key,
                    result,
                    elapsed,
                }
            }
        }
    }
}

use Action::*;
use Key::Char;

const NAV: [Binding; 6] = navigation(TENANTS);

const OWN: &[Binding] = &[
    bind(ENTER, Choose, "tenant's users", true),
    bind(&[Char('L')], ShowLeaks, "find leaked orders", true),
    bind(&[Char('f')], OnlyFindings, "only rows with findings", true),
    reload_key("reload", true),
    export_key(true),
];

pub const KEYS: KeyTable = &[&NAV, OWN, &VIEW_END];

pub const SCREEN: Screen = Screen {
    // Heavy: `r` runs the checks, never the timer.
    refresh: nothing,
    keys: |_| KEYS,
    fresh: "health",
    on_action,
    loads: |state| vec![&state.health.report, &state.health.leaks],
    status: |state| {
        Status::of(&state.health.report, |r| {
            format!(
                "checked {}",
                crate::text::plural(r.tenants.len(), "tenant", "tenants")
            )
        })
    },
    export: |state| {
        let report = state.health.report.value()?.clone();
        let checks = state.health.checks.clone();
        let document = Box::new((report, checks, state.catalog.clone(), leaks(state)));
        Some(("health".to_string(), Document::Health(document)))
    },
    help: &[("Tenant health", KEYS)],
    marks: &[
        // The popup does not wrap: a long meaning goes on under no mark.
        ("✗", "a finding: drift, a wrong copy,"),
        ("", "a registered tenant with no schema,"),
        ("", "unregistered, migrations behind"),
        ("!", "worth a look: no user, an organization"),
        ("", "id naming no schema, users with no"),
        ("", "organization id, migrations ahead,"),
        ("", "leaks not checked (L failed)"),
        ("·", "said, not a finding"),
        ("~", "estimated from statistics"),
    ],
    ..Screen::BASE
};

pub fn open(state: &mut State) -> Vec<Effect> {
    super::nav::go(state, View::Health);
    let report = &state.health.report;
    let stale = report.asked_before(state.read_again());
    if report.is_loading() || (report.value().is_some() && !stale) {
        return Vec::new();
    }
    reload(state)
}

/// Checks again, showing the last report meanwhile (its rows change as
/// `L`'s answers go: the selected row is found again).
fn reload(state: &mut State) -> Vec<Effect> {
    let ticket = state.ticket();
    let selected = selected_row(state);
    state.health.report.refresh(ticket);
    state.health.leaks.clear();
    state.health.leaks_of.clear();
    select_row(state, selected);
    vec![AppJob::Health(Job::Check { ticket }).task(Slot("health"), Delay::None)]
}

/// Which row is selected: its schema (or id) and kind, which a new
/// report keeps (a tenant's place among the report's does not).
type RowId = (String, std::mem::Discriminant<RowKind>);

fn selected_row(state: &State) -> Option<RowId> {
    let row = rows(state).into_iter().nth(state.health.cursor.selected)?;
    Some((row.schema, std::mem::discriminant(&row.kind)))
}

/// Selects `row` where it is still listed, and keeps the selection on
/// screen: rows listed before it (a new tenant, `f` hiding a row) do not
/// move the selection to another one.
fn select_row(state: &mut State, row: Option<RowId>) {
    let rows = rows(state);
    let same = |r: &HealthRow, (schema, kind): &RowId| {
        r.schema == *schema && std::mem::discriminant(&r.kind) == *kind
    };
    if let Some(at) = row.and_then(|id| rows.iter().position(|r| same(r, &id))) {
        state.health.cursor.selected = at;
    }
    let fit = screen_rows(state.session.size);
    state.health.cursor.keep_visible(rows.len(), fit);
}

pub fn on_msg(state: &mut State, msg: Msg, read: ReadTime) -> Vec<Effect> {
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
            let selected = selected_row(state);
            let health = &mut state.health;
            if health.report.accept(&ticket, result, elapsed) {
                health.checks = checks;
                let read_it = health.report.value().is_some();
                select_row(state, selected);
                if read_it {
                    read.taken(state);
                }
            }
        }
        Msg::LeaksLoaded {
            key,
            result,
            elapsed,
        } => {
            let health = &mut state.health;
            if health
                .leaks
                .accept(&key, result.map_err(Into::into), elapsed)
            {
                if let Some(done) = health.leaks.done() {
                    let answer = done.result.clone();
                    let answer = answer.map_err(|e| crate::text::message_line(&e).into_owned());
                    health.leaks_of.insert(key.1, answer);
                }
                if health.leaks.value().is_some() {
                    read.taken(state);
                }
            }
        }
    }
    Vec::new()
}

fn screen_rows(size: (u16, u16)) -> usize {
    geometry::health_rows(size).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let len = rows(state).len();
    let fit = screen_rows(state.session.size);
    if state.health.cursor.navigate(action, len, fit) {
        return Vec::new();
    }
    match action {
        ShowLeaks => return show_leaks(state),
        OnlyFindings => {
            let selected = rows(state).into_iter().nth(state.health.cursor.selected);
            state.health.only_findings = !state.health.only_findings;
            // The row selected stays selected where it is still listed.
            let listed = rows(state);
            let at = selected.and_then(|was| {
                listed
                    .iter()
                    .position(|row| row.kind == was.kind && row.schema == was.schema)
            });
            state.health.cursor = Cursor::default();
            state
                .health
                .cursor
                .select(at.unwrap_or(0), listed.len(), fit);
        }
        Reload => return reload(state),
        Choose => return show_users(state),
        Back => return super::nav::back_or(state, View::Dashboard),
        _ => {}
    }
    Vec::new()
}

/// Enter on a tenant: its users, in the dashboard's list (Esc returns
/// here, on the same row).
fn show_users(state: &mut State) -> Vec<Effect> {
    let Some(row) = rows(state).into_iter().nth(state.health.cursor.selected) else {
        return Vec::new();
    };
    // An organization id naming no schema, or none at all: its users (the
    // list reads them by that id, as the check counted them; no schema
    // needed).
    let with_users = row.users.is_some_and(|n| n.value > 0);
    if row.kind == RowKind::NoTenant && with_users {
        let entry = crate::db::TenantEntry::no_tenant(row.users);
        return super::dashboard::show_tenant(state, Some(entry), None);
    }
    let orphan_users = row.kind == RowKind::NoSchema && with_users;
    if !orphan_users
        && (!matches!(row.kind, RowKind::Tenant(_)) || !state.catalog.contains(&row.schema))
    {
        let name = crate::text::quoted(&row.name);
        state.notice = Some(Err(format!("{name} is no tenant schema: no users to list")));
        return Vec::new();
    }
    let state_of_schema = match orphan_users {
        // A registered tenant's (schema gone or incomplete), else an id's.
        true if state.catalog.key(&row.schema).is_some() => crate::db::SchemaState::Missing,
        true => crate::db::SchemaState::NoSchema,
        false => crate::db::SchemaState::Ok,
    };
    let schema = row.schema;
    let listed = state.tenants.entries().iter().find(|e| e.schema == schema);
    let entry = listed.cloned().unwrap_or_else(|| crate::db::TenantEntry {
        key: state.catalog.key(&schema).unwrap_or(&schema).to_string(),
        label: state.catalog.label(&schema),
        node: state.catalog.node(&schema).map(str::to_string),
        schema,
        state: state_of_schema,
        users: row.users,
    });
    super::dashboard::show_tenant(state, Some(entry), None)
}

fn show_leaks(state: &mut State) -> Vec<Effect> {
    let Some(row) = rows(state).into_iter().nth(state.health.cursor.selected) else {
        return Vec::new();
    };
    // Only a tenant schema the check read has orders to look in.
    let RowKind::Tenant(i) = row.kind else {
        let name = crate::text::quoted(&row.name);
        state.notice = Some(Err(format!(
            "{name} is no tenant schema: L looks for leaked orders in one"
        )));
        return Vec::new();
    };
    let in_report = state.health.report.value().and_then(|r| r.tenants.get(i));
    let Some(tenant) = in_report.map(|t| t.tenant.clone()) else {
        return Vec::new();
    };
    let key = (state.ticket(), tenant);
    // Its last answer goes: the new one (or its failure) stands alone.
    state.health.leaks_of.remove(&key.1);
    state.health.leaks.start(key.clone());
    vec![AppJob::Health(Job::Leaks { key }).task(Slot("leaks"), Delay::None)]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::KeyCode;

    use super::*;
    use crate::app::msg::{Job as AppJob, Msg as AppMsg};
    use crate::app::update;
    use crate::db::TenantHealth;
    use crate::fixtures::*;

    /// The demo's dashboard after `t`, and the check it asked for.
    fn health_view_opened() -> (State, Ticket) {
        let mut state = demo_state();
        match &jobs(&press(&mut state, KeyCode::Char('t')))[..] {
            [AppJob::Health(Job::Check { ticket })] => (state, *ticket),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn health_view_opens_loads_and_finds_leaks_for_the_selected_tenant() {
        let (mut state, ticket) = health_view_opened();
        assert_eq!(state.view, View::Health);
        let tenant = TenantHealth::healthy;
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
        update(&mut state, loaded(Ticket(ticket.0 + 1)));
        assert!(state.health.report.is_loading(), "not the check asked for");
        update(&mut state, loaded(ticket));
        assert_eq!(state.health.report.value(), Some(&report));
        let leaks_key = |effects: &[Effect]| match &jobs(effects)[..] {
            [AppJob::Health(Job::Leaks { key })] => key.clone(),
            other => panic!("{other:?}"),
        };
        let first = leaks_key(&press(&mut state, KeyCode::Char('L')));
        press(&mut state, KeyCode::Char('j'));
        let second = leaks_key(&press(&mut state, KeyCode::Char('L')));
        assert_eq!(
            (first.1.as_str(), second.1.as_str()),
            ("client1", "client2")
        );
        // A late answer for another tenant is not shown as this one's.
        let leaks_of = |key| {
            AppMsg::from(Msg::LeaksLoaded {
                key,
                result: Ok(Vec::new()),
                elapsed: Duration::ZERO,
            })
        };
        update(&mut state, leaks_of(first));
        assert!(state.health.leaks.is_loading());
        assert_eq!(
            state.health.leaks.key().map(|k| k.1.as_str()),
            Some("client2")
        );
        update(&mut state, leaks_of(second));
        assert_eq!(state.health.leaks.value(), Some(&Vec::new()));
        let client2 = |state: &State| {
            let row = rows(state).into_iter().find(|r| r.schema == "client2");
            row.map(|r| (r.status, r.findings.first().map(|f| f.text.clone())))
        };
        assert_eq!(client2(&state), Some(("ok", None)), "none found");
        // Leaks found make the row's status and first finding, so `f`
        // (only findings) keeps it.
        let third = leaks_key(&press(&mut state, KeyCode::Char('L')));
        update(
            &mut state,
            AppMsg::from(Msg::LeaksLoaded {
                key: third,
                result: Ok(vec![Leak {
                    order_id: Some("3".into()),
                    user_id: Some("3".into()),
                    kind: crate::db::LeakKind::OtherTenant,
                    user_tenant: Some("client3".into()),
                }]),
                elapsed: Duration::ZERO,
            }),
        );
        let found = Some(("leak", Some("1 leaked order".to_string())));
        assert_eq!(client2(&state), found);
        state.health.only_findings = true;
        assert_eq!(client2(&state), found);
        state.health.only_findings = false;
        // The export says what the view says (it dropped the leaks).
        let exported_client2 = |state: &mut State| {
            let exported = press(state, KeyCode::Char('e'));
            let [Effect::Export { document, .. }] = &exported[..] else {
                panic!("one export: {exported:?}")
            };
            let csv = document.csv();
            update(
                state,
                AppMsg::Exported(Ok("./tenantscope-health.csv".into())),
            );
            let row = csv.lines().find(|l| l.starts_with("client2,"));
            row.unwrap().to_string()
        };
        let row = exported_client2(&mut state);
        assert!(
            row.starts_with("client2,client2,leak,") && row.ends_with(",1 leaked order"),
            "{row}"
        );
        // An `L` on another tenant keeps client2's answer (only the last
        // was kept); the check run again forgets them.
        press(&mut state, KeyCode::Char('k'));
        let fourth = leaks_key(&press(&mut state, KeyCode::Char('L')));
        assert_eq!(fourth.1, "client1");
        update(&mut state, leaks_of(fourth));
        assert_eq!(client2(&state), found);
        // `L` on client2 again: its old answer goes while the new one loads
        // (a failed check kept it beside the error).
        press(&mut state, KeyCode::Char('j'));
        let fifth = leaks_key(&press(&mut state, KeyCode::Char('L')));
        assert_eq!(fifth.1, "client2");
        assert_eq!(client2(&state), Some(("ok", None)));
        // A check that fails is the row's first finding, in the view and
        // its export (the export said nothing of it).
        update(
            &mut state,
            AppMsg::from(Msg::LeaksLoaded {
                key: fifth,
                result: Err(crate::db::DbError::UsersLeftOut {
                    tenant: "client2".into(),
                    table: "users".into(),
                    missing: vec!["name".into()],
                }),
                elapsed: Duration::ZERO,
            }),
        );
        let unchecked = client2(&state).unwrap();
        assert_eq!(unchecked.0, "unchecked");
        let text = unchecked.1.unwrap();
        assert!(text.starts_with("leaks not checked: "), "{text}");
        let row = exported_client2(&mut state);
        assert!(
            row.starts_with("client2,client2,unchecked,") && row.contains(&text),
            "{row}"
        );
        press(&mut state, KeyCode::Char('k'));
        let ticket = match &jobs(&press(&mut state, KeyCode::Char('r')))[..] {
            [AppJob::Health(Job::Check { ticket })] => *ticket,
            other => panic!("{other:?}"),
        };
        update(&mut state, loaded(ticket));
        assert_eq!(client2(&state), Some(("ok", None)));
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "t is not bound here"
        );
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert!(!state.session.quit, "Esc goes back, it does not quit");
        assert!(
            press(&mut state, KeyCode::Char('t')).is_empty(),
            "the report is kept"
        );
    }

    /// A check run again keeps the selected row where rows come before
    /// it (a new tenant): the selection stayed at its row number, on
    /// another tenant.
    #[test]
    fn a_check_run_again_keeps_the_selected_row() {
        let (mut state, ticket) = health_view_opened();
        let report = |names: &[&str]| HealthReport {
            tenants: names.iter().map(|n| TenantHealth::healthy(n)).collect(),
            ..HealthReport::default()
        };
        let loaded = |ticket, names: &[&str]| {
            AppMsg::from(Msg::Loaded {
                ticket,
                result: Ok(Box::new((report(names), FrameworkChecks::default()))),
                elapsed: Duration::ZERO,
            })
        };
        update(&mut state, loaded(ticket, &["client2", "client3"]));
        press(&mut state, KeyCode::Char('j'));
        let selected = |state: &State| rows(state)[state.health.cursor.selected].schema.clone();
        assert_eq!(selected(&state), "client3");
        let ticket = match &jobs(&press(&mut state, KeyCode::Char('r')))[..] {
            [AppJob::Health(Job::Check { ticket })] => *ticket,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            selected(&state),
            "client3",
            "the last report shown meanwhile"
        );
        update(
            &mut state,
            loaded(ticket, &["client1", "client2", "client3"]),
        );
        assert_eq!(selected(&state), "client3");
    }

    /// Leaks found in an unused tenant make it a leak (as drift does);
    /// `L` on a row that is no tenant schema says so (it did nothing).
    #[test]
    fn leaks_outrank_unused_and_l_on_no_tenant_says_why_not() {
        let (mut state, ticket) = health_view_opened();
        let mut unused = TenantHealth::healthy("client4");
        unused.status = crate::db::HealthStatus::Unused;
        let report = HealthReport {
            tenants: vec![unused],
            orphan_organizations: vec![crate::db::OrphanOrganization {
                organization_id: Some("client9".into()),
                users: 1,
            }],
            ..Default::default()
        };
        let checks = FrameworkChecks::default();
        update(
            &mut state,
            AppMsg::from(Msg::Loaded {
                ticket,
                result: Ok(Box::new((report, checks))),
                elapsed: Duration::ZERO,
            }),
        );
        let key = match &jobs(&press(&mut state, KeyCode::Char('L')))[..] {
            [AppJob::Health(Job::Leaks { key })] => key.clone(),
            other => panic!("{other:?}"),
        };
        let leak = Leak {
            order_id: Some("7".into()),
            user_id: Some("9".into()),
            kind: crate::db::LeakKind::NoUser,
            user_tenant: None,
        };
        update(
            &mut state,
            AppMsg::from(Msg::LeaksLoaded {
                key,
                result: Ok(vec![leak]),
                elapsed: Duration::ZERO,
            }),
        );
        let client4 = rows(&state).into_iter().find(|r| r.schema == "client4");
        assert_eq!(client4.map(|r| r.status), Some("leak"));
        press(&mut state, KeyCode::Char('j'));
        assert!(press(&mut state, KeyCode::Char('L')).is_empty());
        assert!(
            matches!(&state.notice, Some(Err(n)) if n == "\"client9\" is no tenant schema: L looks for leaked orders in one"),
            "{:?}",
            state.notice
        );
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
    }
}
