//! The basket view (`b`): the selected user's order lines priced at every
//! tenant, a page of tenants at a time, ranked as pages arrive. Leaving
//! the user (the selection moves) cancels what is still being read.

use std::time::Duration;

use super::keymap::{bind, navigation, Action, Binding, Key, KeyTable, Rows, VIEW_END};
use super::load::{timed, Cursor};
use super::msg::{Delay, Effect, Job as AppJob, Slot};
use super::screen::{no_mouse, no_text, no_warning, nothing, Screen, Status};
use super::state::{State, View};
use crate::db::BASKET_BATCH;
use crate::db::{rank_basket, BasketTenant, Database, DbError, OrderLine, QueryHandle, User};
use crate::ui::layout;

pub const BASKET_SLOT: Slot = Slot("basket");

/// Which basket: a user, and which reading of it (`r` reads it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketKey {
    pub user_id: String,
    /// The user's tenant schema: the same id in another tenant is
    /// another user (users in each tenant schema).
    pub tenant: Option<String>,
    pub generation: u64,
}

impl BasketKey {
    fn is_of(&self, user: &User) -> bool {
        self.user_id == user.id && self.tenant == user.tenant
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Basket {
    pub key: Option<BasketKey>,
    pub user: Option<User>,
    /// The user's order lines, with their own tenant's prices.
    pub lines: Option<Vec<OrderLine>>,
    /// Ranked (see [`crate::db::rank_basket`]).
    pub tenants: Vec<BasketTenant>,
    /// Tenants of the catalog asked for so far.
    pub next: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub rows: Cursor,
    /// How long the first page took, and all of them.
    pub first_page: Option<Duration>,
    pub elapsed: Duration,
    generation: u64,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Page {
        key: BasketKey,
        result: Result<(Vec<OrderLine>, Vec<BasketTenant>), DbError>,
        next: usize,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub key: BasketKey,
    /// Boxed: a job travels in every `Effect`, kept small.
    pub user: Box<User>,
    /// Known after the first page.
    pub lines: Option<Vec<OrderLine>>,
    pub tenants: Vec<String>,
    /// Where the page ends in the catalog.
    pub next: usize,
}

impl Job {
    pub async fn run(self, db: Database, handle: QueryHandle) -> Msg {
        let (result, elapsed) = timed(async {
            let lines = match self.lines {
                Some(lines) => lines,
                None => db.priced_orders(&self.user, None).await?.lines,
            };
            let own = self.user.tenant.as_deref().unwrap_or_default();
            let priced = db
                .basket_prices(own, &lines, &self.tenants, Some(&handle))
                .await?;
            Ok((lines, priced))
        })
        .await;
        Msg::Page {
            key: self.key,
            result,
            next: self.next,
            elapsed,
        }
    }
}

use Action::*;

const NAV: [Binding; 6] = navigation(Rows {
    up: "tenant up",
    down: "tenant down",
    first: "first tenant",
    last: "last tenant",
    hint: true,
});

const OWN: &[Binding] = &[bind(&[Key::Char('r')], Reload, "price again", true)];

pub const KEYS: KeyTable = &[&NAV, OWN, &VIEW_END];

pub const SCREEN: Screen = Screen {
    on_resize: nothing,
    refresh: nothing,
    keys: |_| KEYS,
    on_action,
    on_key: no_text,
    on_mouse: no_mouse,
    is_busy: |state| state.basket.loading,
    status,
    fresh: BASKET_SLOT.0,
    warning: no_warning,
    export: |_| None,
    help: &[("Basket across tenants", KEYS)],
    marks: &[
        ("3/4", "lines the tenant sells, of the basket's"),
        ("Total", "over the lines it sells only"),
        ("▼/▲", "cheaper/dearer than own, same lines"),
    ],
};

fn status(state: &State) -> Status {
    let basket = &state.basket;
    let tenants = state.catalog.len();
    if let Some(error) = &basket.error {
        return Status::Failed(crate::text::sanitize(error).into_owned());
    }
    let done = basket.next.min(tenants);
    let first = basket
        .first_page
        .map(|d| format!(" (first page {} ms)", d.as_millis()))
        .unwrap_or_default();
    let failed = basket.tenants.iter().filter(|t| t.error.is_some()).count();
    let failed = match failed {
        0 => String::new(),
        n => format!("; {n} could not be read"),
    };
    if basket.loading {
        return Status::Busy(format!(
            "pricing the basket… {done} of {tenants} tenants{first}"
        ));
    }
    match basket.key {
        None => Status::Empty,
        Some(_) => Status::Done(format!(
            "priced at {done} tenants in {} ms{first}{failed}",
            basket.elapsed.as_millis()
        )),
    }
}

/// `b`: the selected user's basket; kept when it is theirs already.
pub fn open(state: &mut State) -> Vec<Effect> {
    let Some(user) = state.selected_user().cloned() else {
        state.notice = Some(Err("no user selected".into()));
        return Vec::new();
    };
    state.view = View::Basket;
    let current = state.basket.key.as_ref().is_some_and(|k| k.is_of(&user));
    if current && state.basket.error.is_none() {
        return Vec::new();
    }
    start(state, user)
}

fn start(state: &mut State, user: User) -> Vec<Effect> {
    let generation = state.basket.generation + 1;
    state.basket = Basket {
        key: Some(BasketKey {
            user_id: user.id.clone(),
            tenant: user.tenant.clone(),
            generation,
        }),
        user: Some(user),
        generation,
        ..Basket::default()
    };
    next_page(state)
}

/// The next [`BASKET_BATCH`] tenants of the catalog, if any are left.
fn next_page(state: &mut State) -> Vec<Effect> {
    let data = &mut state.data;
    let names = data.catalog.names();
    let basket = &mut data.basket;
    let (Some(key), Some(user)) = (basket.key.clone(), basket.user.clone()) else {
        return Vec::new();
    };
    if basket.next >= names.len() {
        basket.loading = false;
        return Vec::new();
    }
    let end = (basket.next + BASKET_BATCH).min(names.len());
    let job = Job {
        key,
        user: Box::new(user),
        lines: basket.lines.clone(),
        tenants: names[basket.next..end].to_vec(),
        next: end,
    };
    basket.loading = true;
    vec![AppJob::Basket(job).task(BASKET_SLOT, Delay::None)]
}

pub fn on_msg(state: &mut State, msg: Msg) -> Vec<Effect> {
    let Msg::Page {
        key,
        result,
        next,
        elapsed,
    } = msg;
    let basket = &mut state.basket;
    if basket.key.as_ref() != Some(&key) {
        return Vec::new();
    }
    basket.elapsed += elapsed;
    basket.first_page.get_or_insert(elapsed);
    match result {
        Ok((lines, priced)) => {
            if lines.is_empty() {
                // Nothing to price anywhere.
                basket.lines = Some(lines);
                basket.loading = false;
                return Vec::new();
            }
            basket.lines = Some(lines);
            basket.tenants.extend(priced);
            rank_basket(&mut basket.tenants);
            basket.next = next;
            let rows = layout::basket_rows(state.session.size).max(1);
            let len = state.basket.tenants.len();
            state.basket.rows.keep_visible(len, rows);
            next_page(state)
        }
        Err(error) => {
            basket.loading = false;
            basket.error = Some(error.to_string());
            Vec::new()
        }
    }
}

/// The dashboard's selection moved to another user (another id, or the
/// same id in another tenant): what is still being read for the old one is
/// cancelled.
pub fn selection_changed(state: &mut State, user: Option<&User>) -> Vec<Effect> {
    let basket = &mut state.basket;
    let other = basket
        .key
        .as_ref()
        .is_some_and(|k| !user.is_some_and(|u| k.is_of(u)));
    if !other || !basket.loading {
        return Vec::new();
    }
    basket.loading = false;
    basket.key = None;
    vec![Effect::Cancel(BASKET_SLOT)]
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let len = state.basket.tenants.len();
    let rows = layout::basket_rows(state.session.size).max(1);
    if state.basket.rows.navigate(action, len, rows) {
        return Vec::new();
    }
    if action == Back {
        state.view = View::Dashboard;
        return Vec::new();
    }
    match state.basket.user.clone() {
        Some(user) if action == Reload => start(state, user),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::{Job as AppJob, Msg as AppMsg};
    use crate::app::update;
    use crate::db::{TenantCatalog, UserCount};
    use crate::fixtures::*;
    use crossterm::event::KeyCode;

    fn basket_jobs(effects: &[Effect]) -> Vec<Job> {
        jobs(effects)
            .into_iter()
            .filter_map(|job| match job {
                AppJob::Basket(job) => Some(job),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pages_through_tenants_and_cancels_when_the_selection_moves() {
        let catalog = TenantCatalog::new((1..=450).map(|i| format!("t{i:04}")).collect());
        let count = UserCount {
            value: 4,
            estimated: false,
            ..Default::default()
        };
        let mut state = State::new("big".into(), catalog, count, demo_users(), None);
        crate::app::init(&mut state);
        let first = basket_jobs(&press(&mut state, KeyCode::Char('b')));
        assert_eq!(state.view, View::Basket);
        let [job] = &first[..] else {
            panic!("{first:?}")
        };
        assert_eq!((job.tenants.len(), job.next), (BASKET_BATCH, 200));
        assert_eq!(job.lines, None, "the lines come with the first page");
        let lines = vec![crate::db::OrderLine::from_raw(crate::db::RawOrderLine {
            item_id: Some("1".into()),
            item: Some("Tesla".into()),
            quantity: Some("2".into()),
            unit_price: Some("10".into()),
            ..Default::default()
        })];
        let priced = job
            .tenants
            .iter()
            .map(|t| BasketTenant::priced(t.clone(), &lines, &[crate::money::Value::parse("9")]))
            .collect();
        let effects = update(
            &mut state,
            AppMsg::from(Msg::Page {
                key: job.key.clone(),
                result: Ok((lines.clone(), priced)),
                next: job.next,
                elapsed: Duration::from_millis(5),
            }),
        );
        let [second] = &basket_jobs(&effects)[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(second.tenants.first().map(String::as_str), Some("t0201"));
        assert_eq!(second.lines.as_ref(), Some(&lines));
        assert_eq!(state.basket.tenants.len(), 200);
        assert!(state.is_busy());
        // Back on the dashboard, another user: the rest is not read.
        press(&mut state, KeyCode::Esc);
        let effects = press(&mut state, KeyCode::Char('j'));
        assert!(
            effects.contains(&Effect::Cancel(BASKET_SLOT)),
            "{effects:?}"
        );
        // A late page for the old user changes nothing.
        let late = update(
            &mut state,
            AppMsg::from(Msg::Page {
                key: second.key.clone(),
                result: Ok((lines, Vec::new())),
                next: second.next,
                elapsed: Duration::ZERO,
            }),
        );
        assert!(late.is_empty());
        assert_eq!(state.basket.key, None);
    }

    #[test]
    fn the_same_id_in_another_tenant_is_another_users_basket() {
        // Users in each tenant schema: id 1 in acme and id 1 in globex.
        let users = vec![
            user_with_mail("1", "alice", "a@acme.test", "acme"),
            user_with_mail("1", "carol", "c@globex.test", "globex"),
        ];
        let catalog = TenantCatalog::new((1..=450).map(|i| format!("t{i:04}")).collect());
        let count = UserCount {
            value: 2,
            estimated: false,
            ..Default::default()
        };
        let mut state = State::new("big".into(), catalog, count, users, None);
        crate::app::init(&mut state);
        let [job] = &basket_jobs(&press(&mut state, KeyCode::Char('b')))[..] else {
            panic!("one basket load")
        };
        assert_eq!(job.key.tenant.as_deref(), Some("acme"));
        // To carol (the same id, another tenant): alice's basket stops...
        press(&mut state, KeyCode::Esc);
        let effects = press(&mut state, KeyCode::Char('j'));
        assert_eq!(
            state.selected_user().map(|u| u.name.as_str()),
            Some("carol")
        );
        assert!(
            effects.contains(&Effect::Cancel(BASKET_SLOT)),
            "{effects:?}"
        );
        // ...and `b` reads carol's, not alice's kept one.
        let [job] = &basket_jobs(&press(&mut state, KeyCode::Char('b')))[..] else {
            panic!("carol's basket is read")
        };
        assert_eq!(
            (job.user.name.as_str(), job.key.tenant.as_deref()),
            ("carol", Some("globex"))
        );
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
    }
}
