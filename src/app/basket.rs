//! The basket view (`b`): the selected user's order lines priced at every
//! tenant, a page of tenants at a time, ranked as pages arrive. Leaving
//! the user (the selection moves) cancels what is still being read.

use std::time::Duration;

use super::keymap::{
    bind, export_key, navigation, reload_key, spare, Action, Binding, KeyTable, ENTER, TENANTS,
    VIEW_END,
};
use super::load::{timed, Batch, BatchId, Batched, Cursor};
use super::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use super::screen::{Screen, Status};
use super::state::{State, View};
use crate::db::BASKET_BATCH;
use crate::db::{rank_basket, BasketTenant, Database, DbError, OrderLine, QueryHandle, User};
use crate::geometry;

pub const BASKET_SLOT: Slot = Slot("basket");

/// Whose basket: a user of a tenant (the same id in another tenant is
/// another user: users in each tenant schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketKey {
    pub user_id: String,
    pub tenant: Option<String>,
}

impl BasketKey {
    fn is_of(&self, user: &User) -> bool {
        self.user_id == user.id && self.tenant == user.tenant
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Basket {
    /// The tenants priced so far, a page of the catalog at a time.
    pub load: Batched<BasketKey>,
    pub user: Option<User>,
    /// The user's order lines, with their own tenant's prices.
    pub lines: Option<Vec<OrderLine>>,
    /// Ranked (see [`crate::db::rank_basket`]).
    pub tenants: Vec<BasketTenant>,
    pub rows: Cursor,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Page {
        batch: BatchId,
        result: Result<(Vec<OrderLine>, Vec<BasketTenant>), DbError>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub batch: BatchId,
    /// Boxed: a job travels in every `Effect`, kept small.
    pub user: Box<User>,
    /// Known after the first page.
    pub lines: Option<Vec<OrderLine>>,
    pub tenants: Vec<String>,
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
            batch: self.batch,
            result,
            elapsed,
        }
    }
}

use Action::*;

const NAV: [Binding; 6] = navigation(TENANTS);

const OWN: &[Binding] = &[
    bind(ENTER, Choose, "compare with this tenant", true),
    reload_key("price again", true),
    spare(export_key(false)),
];

pub const KEYS: KeyTable = &[&NAV, OWN, &VIEW_END];

pub const SCREEN: Screen = Screen {
    keys: |_| KEYS,
    on_action,
    loads: |state| vec![&state.basket.load],
    status,
    fresh: BASKET_SLOT.0,
    export: |state| {
        let basket = &state.basket;
        let (Some(user), Some(lines)) = (&basket.user, &basket.lines) else {
            return None;
        };
        // Not before the last tenant is priced (while pricing, or a page
        // failed): a file of the tenants priced so far would rank only them.
        if basket.tenants.is_empty() || basket.load.done() < basket.load.total() {
            return None;
        }
        let stem = format!("basket-{}", crate::text::file_safe(&user.id));
        let document = (
            user.clone(),
            lines.clone(),
            basket.tenants.clone(),
            state.catalog.clone(),
        );
        Some((stem, crate::output::Document::Basket(Box::new(document))))
    },
    help: &[("Basket across tenants", KEYS)],
    marks: &[
        ("3/4", "lines the tenant prices, of all"),
        ("lacks", "the basket's items it does not sell"),
        ("no price", "sold there at a NULL or NaN price"),
        ("no quantity", "the line's quantity is no number"),
        ("Total", "over the lines it prices only"),
        ("▼/▲", "cheaper/dearer than own, both priced"),
    ],
    ..Screen::BASE
};

fn status(state: &State) -> Status {
    let load = &state.basket.load;
    if let Some(error) = load.error() {
        return Status::Failed(crate::text::message_line(error).into_owned());
    }
    let (done, tenants) = (load.done(), load.total());
    let first = load
        .first()
        .filter(|d| !d.is_zero())
        .map(|d| format!(" (first page {} ms)", d.as_millis()))
        .unwrap_or_default();
    let failed = state
        .basket
        .tenants
        .iter()
        .filter(|t| t.error.is_some())
        .count();
    let failed = match failed {
        0 => String::new(),
        n => format!("; {n} could not be read"),
    };
    if load.is_loading() {
        return Status::Busy(format!(
            "pricing the basket… {done} of {}{first}",
            crate::text::plural(tenants, "tenant", "tenants")
        ));
    }
    match load.key() {
        None => Status::Empty,
        Some(_) => Status::Done(format!(
            "priced at {}{}{first}{failed}",
            crate::text::plural(done, "tenant", "tenants"),
            crate::app::screen::took(load.elapsed())
        )),
    }
}

/// `b`: the selected user's basket; kept when it is theirs already.
pub fn open(state: &mut State) -> Vec<Effect> {
    let Some(user) = state.selected_user().cloned() else {
        state.notice = Some(Err("no user selected".into()));
        return Vec::new();
    };
    super::nav::go(state, View::Basket);
    let load = &state.basket.load;
    let current = load.key().is_some_and(|k| k.is_of(&user));
    if current && load.error().is_none() && !load.started_before(state.read_again()) {
        return Vec::new();
    }
    start(state, user)
}

/// Prices `user`'s basket at every tenant of the catalog as it is now.
fn start(state: &mut State, user: User) -> Vec<Effect> {
    let ticket = state.ticket();
    let key = BasketKey {
        user_id: user.id.clone(),
        tenant: user.tenant.clone(),
    };
    let tenants = state.catalog.names().into();
    let mut basket = Basket {
        user: Some(user),
        ..Basket::default()
    };
    let first = basket.load.start(ticket, key, tenants, BASKET_BATCH);
    state.basket = basket;
    ask(state, first)
}

/// The job reading `batch`, if there is one.
fn ask(state: &State, batch: Option<Batch>) -> Vec<Effect> {
    let (Some(batch), Some(user)) = (batch, state.basket.user.clone()) else {
        return Vec::new();
    };
    let job = Job {
        batch: batch.id,
        user: Box::new(user),
        lines: state.basket.lines.clone(),
        tenants: batch.tenants,
    };
    vec![AppJob::Basket(job).task(BASKET_SLOT, Delay::None)]
}

pub fn on_msg(state: &mut State, msg: Msg, read: ReadTime) -> Vec<Effect> {
    let Msg::Page {
        batch,
        result,
        elapsed,
    } = msg;
    if !state.basket.load.accept(batch, elapsed) {
        return Vec::new();
    }
    if result.is_ok() {
        read.taken(state);
    }
    let basket = &mut state.basket;
    match result {
        Ok((lines, priced)) => {
            let empty = lines.is_empty();
            basket.lines = Some(lines);
            if empty {
                // Nothing to price anywhere.
                basket.load.stop(None);
                return Vec::new();
            }
            basket.tenants.extend(priced);
            rank_basket(&mut basket.tenants, basket.load.tenants());
            let rows = geometry::basket_rows(state.session.size).max(1);
            let len = state.basket.tenants.len();
            state.basket.rows.keep_visible(len, rows);
            let next = state.basket.load.next_batch();
            ask(state, next)
        }
        Err(error) => {
            basket.load.fail(error);
            Vec::new()
        }
    }
}

/// The dashboard's selection moved to another user (another id, or the
/// same id in another tenant): what is still being read for the old one is
/// cancelled.
pub fn selection_changed(state: &mut State, user: Option<&User>) -> Vec<Effect> {
    let load = &mut state.basket.load;
    let other = load
        .key()
        .is_some_and(|k| !user.is_some_and(|u| k.is_of(u)));
    if other && load.is_loading() && load.clear() {
        return vec![Effect::Cancel(BASKET_SLOT)];
    }
    Vec::new()
}

/// Enter: the dashboard, comparing the basket's user with the selected
/// tenant (not their own, which is no comparison).
fn compare_with_selected(state: &mut State) -> Vec<Effect> {
    let selected = state.basket.rows.selected;
    let Some(tenant) = state.basket.tenants.get(selected).map(|t| t.tenant.clone()) else {
        return Vec::new();
    };
    let own = state.basket.user.as_ref().and_then(|u| u.tenant.clone());
    if own.as_deref() == Some(tenant.as_str()) {
        let label = state.catalog.label(&tenant);
        state.notice = Some(Err(format!("{label} is the user's own tenant")));
        return Vec::new();
    }
    super::nav::go(state, View::Dashboard);
    state.dashboard.compare = Some(tenant);
    crate::app::dashboard::request_orders(state, Delay::None)
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let len = state.basket.tenants.len();
    let rows = geometry::basket_rows(state.session.size).max(1);
    if state.basket.rows.navigate(action, len, rows) {
        return Vec::new();
    }
    if action == Back {
        return super::nav::back_or(state, View::Dashboard);
    }
    if action == Choose {
        return compare_with_selected(state);
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
    use crate::app::{update, Data};
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
        let mut state = State::new(Data::new("big".into(), catalog, count, demo_users(), None));
        crate::app::init(&mut state);
        let first = basket_jobs(&press(&mut state, KeyCode::Char('b')));
        assert_eq!(state.view, View::Basket);
        let [job] = &first[..] else {
            panic!("{first:?}")
        };
        assert_eq!((job.tenants.len(), job.batch.end), (BASKET_BATCH, 200));
        assert_eq!(job.lines, None, "the lines come with the first page");
        let lines = teslas("2", "10");
        let priced = job
            .tenants
            .iter()
            .map(|t| {
                BasketTenant::priced(t.clone(), &lines, &[Some(crate::money::Value::parse("9"))])
            })
            .collect();
        let effects = update(
            &mut state,
            AppMsg::from(Msg::Page {
                batch: job.batch,
                result: Ok((lines.clone(), priced)),
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
                batch: second.batch,
                result: Ok((lines, Vec::new())),
                elapsed: Duration::ZERO,
            }),
        );
        assert!(late.is_empty());
        assert_eq!(state.basket.load.key(), None);
    }

    /// `b`, then each page the basket asks for priced at 9 a line, until
    /// it asks for none; `before` sees each page (its number from 1 and
    /// its tenants) before it is answered.
    fn price_every_page(
        state: &mut State,
        lines: &[crate::db::OrderLine],
        mut before: impl FnMut(&mut State, usize, &[String]),
    ) {
        let mut effects = press(state, KeyCode::Char('b'));
        let mut page = 0;
        while let [job] = &basket_jobs(&effects)[..] {
            page += 1;
            before(state, page, &job.tenants);
            let nine = [Some(crate::money::Value::parse("9"))];
            let priced = job
                .tenants
                .iter()
                .map(|t| BasketTenant::priced(t.clone(), lines, &nine))
                .collect();
            let answer = Msg::Page {
                batch: job.batch,
                result: Ok((lines.to_vec(), priced)),
                elapsed: Duration::ZERO,
            };
            effects = update(state, AppMsg::from(answer));
        }
    }

    /// A catalog reload while the basket is priced (`r` on the dashboard,
    /// the refresh timer) neither skips nor repeats a tenant: the basket
    /// pages over the tenants as it began.
    #[test]
    fn a_catalog_reload_midway_neither_skips_nor_repeats_tenants() {
        let names = |range: std::ops::RangeInclusive<i32>| -> Vec<String> {
            range.map(|i| format!("t{i:04}")).collect()
        };
        let count = UserCount {
            value: 4,
            estimated: false,
            ..Default::default()
        };
        let catalog = TenantCatalog::new(names(1..=450));
        let mut state = State::new(Data::new("big".into(), catalog, count, demo_users(), None));
        crate::app::init(&mut state);
        let lines = teslas("1", "10");
        let mut asked = Vec::new();
        price_every_page(&mut state, &lines, |state, page, tenants| {
            asked.extend(tenants.iter().cloned());
            // Midway, tenants come and go: the first hundred are
            // dropped, and more come after the last.
            if page == 2 {
                state.catalog = TenantCatalog::new(names(101..=600));
            }
        });
        assert_eq!(asked, names(1..=450), "each tenant of the start, once");
        assert_eq!(state.basket.tenants.len(), 450);
        assert!(!state.is_busy());
        assert!(
            matches!((SCREEN.status)(&state), Status::Done(s) if s.starts_with("priced at 450 tenants")),
            "{:?}",
            (SCREEN.status)(&state)
        );
    }

    /// `e` while the basket is still being priced exports nothing (it
    /// wrote the tenants priced so far, ranked among themselves, and said
    /// "exported"); once every page is in, it exports them all.
    #[test]
    fn export_waits_for_every_tenant_to_be_priced() {
        let names: Vec<String> = (1..=450).map(|i| format!("t{i:04}")).collect();
        let count = UserCount {
            value: 4,
            ..Default::default()
        };
        let catalog = TenantCatalog::new(names);
        let mut state = State::new(Data::new("big".into(), catalog, count, demo_users(), None));
        crate::app::init(&mut state);
        let lines = teslas("1", "10");
        let mut pages = 0;
        price_every_page(&mut state, &lines, |state, page, _| {
            pages = page;
            // Before the second page is asked for: the first one priced.
            if page == 2 {
                assert!(!state.basket.tenants.is_empty(), "a page priced");
                assert!(press(state, KeyCode::Char('e')).is_empty());
                let notice = state.notice.take().unwrap().unwrap_err();
                assert_eq!(notice, "still loading: nothing to export yet");
            }
        });
        assert!(pages > 1, "more than one page");
        let exported = press(&mut state, KeyCode::Char('e'));
        let [Effect::Export { document, .. }] = &exported[..] else {
            panic!("one export: {exported:?}")
        };
        let rows = document.csv().lines().count() - 1;
        assert_eq!(rows, 450, "every tenant in the file");
    }

    /// The first page fails (the user's tenant has no schema): nothing is
    /// counted as priced, and `e` says the view could not be loaded (it
    /// said "nothing loaded to export yet", the title "2 of 2 tenants").
    #[test]
    fn a_basket_that_fails_counts_no_tenant_and_says_why_nothing_exports() {
        let catalog = TenantCatalog::new(vec!["acme".into(), "globex".into()]);
        let count = UserCount {
            value: 4,
            ..Default::default()
        };
        let mut state = State::new(Data::new("db".into(), catalog, count, demo_users(), None));
        crate::app::init(&mut state);
        let [job] = &basket_jobs(&press(&mut state, KeyCode::Char('b')))[..] else {
            panic!("one basket load")
        };
        update(
            &mut state,
            AppMsg::from(Msg::Page {
                batch: job.batch,
                result: Err(DbError::UnmappedTenant("99".into())),
                elapsed: Duration::ZERO,
            }),
        );
        let load = &state.basket.load;
        assert_eq!((load.done(), load.total()), (0, 2));
        assert!(matches!((SCREEN.status)(&state), Status::Failed(_)));
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        let notice = state.notice.clone().unwrap().unwrap_err();
        assert!(notice.contains("could not be loaded"), "{notice}");
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
        let mut state = State::new(Data::new("big".into(), catalog, count, users, None));
        crate::app::init(&mut state);
        let [_] = &basket_jobs(&press(&mut state, KeyCode::Char('b')))[..] else {
            panic!("one basket load")
        };
        let key = state.basket.load.key().unwrap();
        assert_eq!(key.tenant.as_deref(), Some("acme"));
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
            (job.user.name.as_str(), job.user.tenant.as_deref()),
            ("carol", Some("globex"))
        );
        assert!(state.basket.load.key().unwrap().is_of(&job.user));
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
    }
}
