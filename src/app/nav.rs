//! Esc's way back: a stack of the places the views on screen were entered
//! from. Entering a view from another ([`go`]) pushes where it came from;
//! Esc ([`back`]) pops it, so each Esc returns to exactly the view before,
//! with its selection and scroll.
//!
//! Every view keeps its own state while another is on screen (the matrix
//! its cell, the tenants pane its row), so a place is mostly its view. The
//! one exception is the dashboard's users list, which "who ordered" (the
//! matrix) and a tenant's users (the tenants pane, health) replace: the
//! list they replace is kept with each place that showed it, and put back
//! when Esc returns there.
//!
//! The stack is the open database's ([`Data`](super::state::Data)): a
//! connection to another database replaces it with everything else, so
//! Esc never returns to a view of a database no longer open.

use super::dashboard::Dashboard;
use super::msg::Effect;
use super::state::{State, View};

/// The most places kept.
pub const MAX_PLACES: usize = 100;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Nav {
    stack: Vec<Place>,
}

/// A view Esc returns to.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub view: View,
    /// The dashboard's list as it was when this place was left, once
    /// another list replaced it (`None`: the list shown is still this one).
    list: Option<Box<Dashboard>>,
}

impl Nav {
    /// The views Esc returns to, the next one last.
    pub fn places(&self) -> impl Iterator<Item = View> + '_ {
        self.stack.iter().map(|place| place.view)
    }

    /// Esc has a view to return to.
    pub fn can_go_back(&self) -> bool {
        !self.stack.is_empty()
    }
}

/// Shows `to`, entered from the view on screen (which Esc returns to).
/// Showing the view already on screen pushes nothing.
pub fn go(state: &mut State, to: View) {
    if state.view != to {
        // Round trips (the matrix, who ordered, the matrix…) pile up: the
        // oldest places go first.
        if state.nav.stack.len() >= MAX_PLACES {
            state.nav.stack.remove(0);
        }
        let from = state.view;
        state.nav.stack.push(Place {
            view: from,
            list: None,
        });
        state.view = to;
    }
}

/// The dashboard's list is about to be replaced by another (who ordered,
/// one tenant's users): every place that showed it keeps it.
pub fn list_replaced(state: &mut State) {
    let mut kept = state.dashboard.clone();
    kept.detail = None;
    for place in &mut state.nav.stack {
        if place.view == View::Dashboard && place.list.is_none() {
            place.list = Some(Box::new(kept.clone()));
        }
    }
}

/// Esc: back to the view this one was entered from, as it was. `None`:
/// there is none (the view opened first).
pub fn back(state: &mut State) -> Option<Vec<Effect>> {
    let place = state.nav.stack.pop()?;
    state.view = place.view;
    let mut effects = match place.list {
        Some(list) => super::dashboard::restore(state, list),
        None => Vec::new(),
    };
    effects.extend(mend(state));
    Some(effects)
}

/// Esc back to a view (from another, or from a popup over it): what
/// failed there for want of the server is read again (as the refresh
/// timer would): it may be back, and another view found it so.
pub fn mend(state: &mut State) -> Vec<Effect> {
    let screen = state.view.screen();
    match (screen.loads)(state).iter().any(|load| load.may_mend()) {
        true => (screen.refresh)(state),
        false => Vec::new(),
    }
}

/// Esc in a view entered from another: back there; in the view opened
/// first, to `otherwise`.
pub fn back_or(state: &mut State, otherwise: View) -> Vec<Effect> {
    back(state).unwrap_or_else(|| {
        state.view = otherwise;
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::KeyCode;

    use super::*;
    use crate::app::msg::Msg as AppMsg;
    use crate::app::{basket, tenants, update};
    use crate::db::{HealthReport, PriceMatrix, PriceRow, TenantEntry, TenantHealth};
    use crate::fixtures::*;
    use crate::money::Value;

    fn entry(schema: &str) -> TenantEntry {
        TenantEntry {
            key: schema.into(),
            label: schema.into(),
            schema: schema.into(),
            state: crate::db::SchemaState::Ok,
            users: Some(crate::db::Count::exact(1)),
            node: None,
        }
    }

    /// The tenants pane with its list read.
    fn deliver_directory(state: &mut State) {
        let ticket = *state.tenants.directory.pending().expect("the list loads");
        let entries = ["client1", "client2", "client3"].map(entry).to_vec();
        let msg = tenants::Msg::Directory {
            ticket,
            result: Ok(entries),
            elapsed: Duration::ZERO,
        };
        update(state, AppMsg::from(msg));
    }

    /// The users list that `effects` load, read: poor_dude of client2.
    fn deliver_poor_dude(state: &mut State, effects: &[Effect]) {
        let rows = vec![user("2", "poor_dude", "client2")];
        deliver_page(state, page_request(effects), rows);
    }

    fn selected(state: &State) -> Option<&str> {
        state.selected_user().map(|u| u.name.as_str())
    }

    fn names(state: &State) -> Vec<&str> {
        let users = state.dashboard.users.users();
        users.iter().map(|u| u.name.as_str()).collect()
    }

    /// A list that replaced another, still loading: none of the old one's
    /// users, selection or orders; Enter and `y` say so rather than act
    /// on a user not in the list.
    fn nothing_of_the_old_list(state: &mut State) {
        assert!(state.dashboard.users.is_loading());
        assert_eq!(names(state), Vec::<&str>::new());
        assert_eq!(selected(state), None);
        assert!(state.dashboard.orders.key().is_none(), "no orders shown");
        let effects = press(state, KeyCode::Enter);
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(state.dashboard.detail, None);
        assert_eq!(
            state.notice,
            Some(Err("still loading: no user to show yet".into()))
        );
        let effects = press(state, KeyCode::Char('y'));
        assert!(effects.is_empty(), "nothing copied: {effects:?}");
        assert_eq!(
            state.notice,
            Some(Err("still loading: no user to copy yet".into()))
        );
        let effects = press(state, KeyCode::Char('e'));
        assert!(effects.is_empty(), "nothing exported: {effects:?}");
        assert!(matches!(&state.notice, Some(Err(n)) if n.contains("nothing to export yet")));
    }

    /// What failed for want of the server (the orders, a page of users)
    /// is read again when Esc returns to the dashboard: another view found
    /// the server back, and they said "cannot reach the server" until `r`.
    /// A failure no retry mends (a tenant without its schema, a users
    /// table that drifted) is left as it is.
    #[test]
    fn esc_back_reads_again_what_failed_for_want_of_the_server() {
        use crate::app::dashboard::{Job, Msg};
        use crate::db::DbError;
        let unreachable = || DbError::Connect {
            target: "db".into(),
            cause: "connection refused".into(),
        };
        let drifted = || DbError::SharedTable("public.users has no column name".into());
        let orders = |state: &mut State, error: DbError| {
            let key = state.dashboard.orders.pending().unwrap().clone();
            let result = Err(error);
            let elapsed = Duration::ZERO;
            update(
                state,
                Msg::OrdersLoaded {
                    key,
                    result,
                    elapsed,
                }
                .into(),
            );
        };
        let users = |state: &mut State, error: DbError| {
            let effects = press(state, KeyCode::Char('r'));
            let request = page_request(&effects);
            update(
                state,
                Msg::UsersPage {
                    request,
                    result: Err(error),
                }
                .into(),
            );
            let key = state.dashboard.orders.pending().unwrap().clone();
            let compare = key.compare.clone();
            let report = crate::db::OrdersReport::from_raw("client1".into(), compare, Vec::new());
            deliver_orders(state, key, report);
        };
        type Fail = fn(&mut State, DbError);
        let cases: [(Fail, DbError, bool); 4] = [
            (orders, unreachable(), true),
            (orders, DbError::TenantNotFound("client9".into()), false),
            (users, unreachable(), true),
            (users, drifted(), false),
        ];
        // Back from another view, and from a popup over the dashboard
        // (the comparison picker, the help): Esc from a popup left them.
        for opens in ['t', 'C', '?'] {
            for (fail, error, again) in cases.clone() {
                let mut state = demo_state();
                fail(&mut state, error.clone());
                press(&mut state, KeyCode::Char(opens));
                let effects = press(&mut state, KeyCode::Esc);
                assert_eq!(state.view, View::Dashboard);
                assert!(state.picker.is_none() && !state.help_open);
                let reads = jobs(&effects).iter().any(|job| {
                    matches!(
                        job,
                        crate::app::msg::Job::Dashboard(Job::Orders { .. } | Job::UsersPage(_))
                    )
                });
                assert_eq!(reads, again, "{opens}, {error}: {effects:?}");
            }
        }
    }

    /// The pane opened from the dashboard: Enter on a tenant, Esc, Esc comes
    /// back to the whole list at the user selected (it used to go between
    /// "Tenants" and "Users of client1" for ever).
    #[test]
    fn tenants_then_a_tenants_users_then_esc_esc_is_where_the_pane_was_opened_from() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('j'));
        assert_eq!(selected(&state), Some("poor_dude"));
        press(&mut state, KeyCode::Char('T'));
        deliver_directory(&mut state);
        press(&mut state, KeyCode::Char('j'));
        let effects = press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(
            state.dashboard.tenant.as_ref().map(|t| t.schema.as_str()),
            Some("client2")
        );
        nothing_of_the_old_list(&mut state);
        deliver_poor_dude(&mut state, &effects);

        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Tenants);
        assert_eq!(state.tenants.rows.selected, 1, "on client2 still");

        let effects = press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(state.dashboard.tenant, None, "every tenant's users again");
        assert_eq!(
            names(&state),
            ["mid_dude", "poor_dude", "rich_dude", "stray_dude"]
        );
        assert_eq!(selected(&state), Some("poor_dude"));
        // poor_dude's orders were shown, and are again.
        let (key, _) = orders_load(&effects);
        assert_eq!(key.user_id, "2");

        // Nowhere further back: Esc says how to quit, and stays.
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert!(matches!(&state.notice, Some(Ok(n)) if n.contains("q quits")));
    }

    /// Tenant-first (users in each tenant schema): the pane is the first
    /// view; a tenant's users, Esc: the pane; Esc there goes nowhere.
    #[test]
    fn tenant_first_esc_returns_to_the_pane_and_stops_there() {
        let mut state = demo_state();
        state.tenants.per_tenant = true;
        state.dashboard.users = crate::app::dashboard::UsersWindow::new(Vec::new());
        state.view = View::Dashboard;
        crate::app::init(&mut state);
        assert_eq!(state.view, View::Tenants);
        assert!(!state.nav.can_go_back());
        deliver_directory(&mut state);
        press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::Dashboard);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Tenants);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Tenants);
        assert!(matches!(&state.notice, Some(Ok(n)) if n.contains("tenants first")));
    }

    /// 30 items over the demo's tenants, every one sold everywhere.
    fn matrix(tenants: &[String]) -> PriceMatrix {
        let rows = (0..30)
            .map(|i| {
                let prices = tenants.iter().map(|_| Value::parse("10")).collect();
                PriceRow::new(format!("item {i:02}"), prices, tenants)
            })
            .collect();
        PriceMatrix {
            tenants: tenants.to_vec(),
            rows,
            ..Default::default()
        }
    }

    /// Enter on a matrix cell (who ordered it), Esc: the same cell, scrolled
    /// as it was (it used to land on the users list); Esc again: the
    /// dashboard's list as it was before `p`.
    #[test]
    fn a_matrix_cell_then_who_ordered_then_esc_is_the_same_cell_and_scroll() {
        let mut state = demo_state();
        state.session.size = (120, 20);
        press(&mut state, KeyCode::Char('k'));
        press(&mut state, KeyCode::Char('G'));
        assert_eq!(selected(&state), Some("stray_dude"));
        press(&mut state, KeyCode::Char('p'));
        let tenants = state.catalog.names().to_vec();
        deliver_prices(&mut state, matrix(&tenants));
        for _ in 0..25 {
            press(&mut state, KeyCode::Down);
        }
        press(&mut state, KeyCode::Right);
        let at = (state.prices.rows, state.prices.columns);
        assert!(at.0.offset > 0, "scrolled: {at:?}");

        let effects = press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::Dashboard);
        assert!(state.dashboard.list_label.is_some());
        let hints: Vec<_> = crate::app::keymap::hints(state.keys()).collect();
        assert!(
            hints.contains(&("Esc".into(), "back to the matrix")),
            "the hint says where Esc goes: {hints:?}"
        );
        nothing_of_the_old_list(&mut state);
        deliver_poor_dude(&mut state, &effects);

        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Prices);
        assert_eq!((state.prices.rows, state.prices.columns), at);

        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(state.dashboard.list_label, None);
        assert_eq!(names(&state).len(), 4);
        assert_eq!(selected(&state), Some("stray_dude"));
    }

    /// Round trips keep at most [`MAX_PLACES`] places, the latest ones.
    #[test]
    fn round_trips_keep_the_latest_places() {
        let mut state = demo_state();
        // `T` the tenants pane, `a` every tenant's users: two places a trip.
        for _ in 0..MAX_PLACES {
            press(&mut state, KeyCode::Char('T'));
            press(&mut state, KeyCode::Char('a'));
        }
        assert_eq!(state.nav.places().count(), MAX_PLACES);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(state.nav.places().last(), Some(View::Tenants));
        assert_eq!(state.nav.places().next(), Some(View::Dashboard));
    }

    /// Enter on a tenant in health: its users; Esc: health, on that row.
    #[test]
    fn health_then_a_tenants_users_then_esc_is_health_on_the_same_row() {
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('t'));
        let tenant = TenantHealth::healthy;
        let report = HealthReport {
            tenants: ["client1", "client2", "client3"].map(tenant).to_vec(),
            ..Default::default()
        };
        deliver_health(&mut state, report);
        press(&mut state, KeyCode::Down);
        press(&mut state, KeyCode::Down);
        let row = state.health.cursor;
        assert_eq!(row.selected, 2);

        let effects = press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::Dashboard);
        let request = page_request(&effects);
        assert_eq!(request.scope.as_deref(), Some("client3"));
        deliver_page(&mut state, request, vec![user("3", "mid_dude", "client3")]);
        assert_eq!(names(&state), ["mid_dude"]);

        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Health);
        assert_eq!(state.health.cursor, row);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(names(&state).len(), 4, "the whole list, as before `t`");
    }

    /// Enter on a basket's tenant compares with it on the dashboard; Esc:
    /// the basket, on that tenant (it used to stay on the dashboard).
    #[test]
    fn basket_then_enter_then_esc_is_the_basket_on_the_same_tenant() {
        let mut state = rich_dude_selected();
        let effects = press(&mut state, KeyCode::Char('b'));
        assert_eq!(state.view, View::Basket);
        let job = jobs(&effects)
            .into_iter()
            .find_map(|job| match job {
                crate::app::msg::Job::Basket(job) => Some(job),
                _ => None,
            })
            .expect("the basket is priced");
        let lines = teslas("2", "10");
        let priced = job
            .tenants
            .iter()
            .map(|t| crate::db::BasketTenant::priced(t.clone(), &lines, &[Some(Value::parse("9"))]))
            .collect();
        let msg = basket::Msg::Page {
            batch: job.batch,
            result: Ok((lines, priced)),
            elapsed: Duration::ZERO,
        };
        update(&mut state, AppMsg::from(msg));
        // The last tenant, not the user's own (client1).
        press(&mut state, KeyCode::Char('G'));
        let row = state.basket.rows;
        let tenant = state.basket.tenants[row.selected].tenant.clone();
        assert_ne!(tenant, "client1");

        press(&mut state, KeyCode::Enter);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(state.compare_choice().tenant, Some(tenant.clone()));
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Basket);
        assert_eq!(state.basket.rows, row);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(selected(&state), Some("rich_dude"));
        assert_eq!(state.compare_choice().tenant, Some(tenant), "as picked");
    }

    /// Both prompts alike: Esc cancels the edit and puts back what was
    /// there when the prompt opened; a kept filter or search is cleared by
    /// Esc from the list.
    #[test]
    fn esc_in_either_prompt_puts_back_what_was_there() {
        // The users filter: `/rich` Enter, `/po` Esc: "rich" again.
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('/'));
        let effects = chars(&mut state, "rich");
        deliver_page(
            &mut state,
            page_request(&effects),
            vec![user("1", "rich_dude", "client1")],
        );
        press(&mut state, KeyCode::Enter);
        press(&mut state, KeyCode::Char('/'));
        let effects = chars(&mut state, "po");
        let typed = page_request(&effects);
        assert_eq!(state.dashboard.filter.text, "po");
        let effects = press(&mut state, KeyCode::Esc);
        assert!(!state.dashboard.filter.prompt.editing);
        assert_eq!(state.dashboard.filter.text, "rich");
        assert_eq!(names(&state), ["rich_dude"]);
        assert!(effects.contains(&Effect::Cancel(crate::app::dashboard::USERS_SLOT)));
        // The page of "po", late, is not taken.
        deliver_page(&mut state, typed, vec![user("2", "poor_dude", "client2")]);
        assert_eq!(names(&state), ["rich_dude"]);
        // From the list, Esc clears the kept filter.
        let effects = press(&mut state, KeyCode::Esc);
        assert_eq!(state.dashboard.filter.text, "");
        assert_eq!(page_request(&effects).filter, None);

        // The tenants search: `/a` Enter, `/` `b` Esc: "a" and its results.
        let mut state = demo_state();
        press(&mut state, KeyCode::Char('T'));
        deliver_directory(&mut state);
        press(&mut state, KeyCode::Char('/'));
        let effects = chars(&mut state, "a");
        let batch = effects
            .iter()
            .find_map(|e| match e {
                Effect::Load(task) => match &task.job {
                    crate::app::msg::Job::Tenants(tenants::Job::Search { batch, .. }) => {
                        Some(*batch)
                    }
                    _ => None,
                },
                _ => None,
            })
            .expect("a search");
        let found = crate::db::SearchBatch {
            users: vec![user("1", "rich_dude", "client1")],
            ..Default::default()
        };
        let msg = tenants::Msg::Batch {
            batch,
            result: Ok(found),
            elapsed: Duration::ZERO,
        };
        update(&mut state, AppMsg::from(msg));
        press(&mut state, KeyCode::Enter);
        let shown = state.tenants.search.clone();
        press(&mut state, KeyCode::Char('/'));
        chars(&mut state, "b");
        assert_eq!(state.tenants.search.text(), Some("ab"));
        let effects = press(&mut state, KeyCode::Esc);
        assert_eq!(effects, [Effect::Cancel(tenants::SEARCH_SLOT)]);
        assert_eq!(state.tenants.search.text(), Some("a"));
        assert_eq!(state.tenants.search.users, shown.users);
        assert!(!state.tenants.search.prompt.editing);
        // From the list, Esc clears the kept search; then back to the dashboard.
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.tenants.search.text(), None);
        assert_eq!(state.view, View::Tenants);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
    }
}
