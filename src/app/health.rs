//! The tenant health view (`t`): every tenant schema checked for drift,
//! use and row counts, and on request one tenant's leaked orders.

use std::time::Duration;

use super::keymap::{bind, navigation, Action, Binding, Key, KeyTable, Rows, VIEW_END};
use super::load::{timed, Cursor, Load};
use super::msg::{Delay, Effect, Job as AppJob, Slot};
use super::screen::{export_loaded, no_mouse, no_text, no_warning, nothing, Screen, Status};
use super::state::{State, View};
use crate::db::{Database, DbError, HealthReport, Leak, QueryHandle};
use crate::output::Document;
use crate::ui::layout;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    /// Keyed by ticket: a reload supersedes the check before it.
    pub report: Load<u64, HealthReport>,
    pub cursor: Cursor,
    /// Leaks of one tenant, asked for with `L`, keyed by tenant.
    pub leaks: Load<String, Vec<Leak>>,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Loaded {
        ticket: u64,
        result: Result<HealthReport, DbError>,
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
                let (result, elapsed) = timed(db.health(None)).await;
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
        ("✗", "drift from the reference"),
        ("-", "no user points at it"),
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
    let health = &mut state.health;
    match msg {
        Msg::Loaded {
            ticket,
            result,
            elapsed,
        } => {
            let result = result.map_err(|e| e.to_string());
            if health.report.accept(&ticket, result, elapsed) {
                let tenants = health.report.value().map_or(0, |r| r.tenants.len());
                health.cursor.keep_visible(tenants, rows(state.size));
            }
        }
        Msg::LeaksLoaded {
            tenant,
            result,
            elapsed,
        } => {
            let result = result.map_err(|e| e.to_string());
            health.leaks.accept(&tenant, result, elapsed);
        }
    }
    Vec::new()
}

fn rows(size: (u16, u16)) -> usize {
    layout::health_rows(size).max(1)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let tenants = state.health.report.value().map_or(0, |r| r.tenants.len());
    let rows = rows(state.size);
    if state.health.cursor.navigate(action, tenants, rows) {
        return Vec::new();
    }
    match action {
        ShowLeaks => return show_leaks(state),
        Reload => return reload(state),
        Back => state.view = View::Dashboard,
        _ => {}
    }
    Vec::new()
}

fn show_leaks(state: &mut State) -> Vec<Effect> {
    let Some(report) = state.health.report.value() else {
        return Vec::new();
    };
    let Some(tenant) = report.tenants.get(state.health.cursor.selected) else {
        return Vec::new();
    };
    let tenant = tenant.tenant.clone();
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
        };
        let loaded = |ticket| {
            AppMsg::from(Msg::Loaded {
                ticket,
                result: Ok(report.clone()),
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
