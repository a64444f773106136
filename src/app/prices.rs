//! The price matrix (`p`): catalogue items as rows, a window of tenants as
//! columns; only the tenants on screen are read.

use std::time::Duration;

use crossterm::event::KeyCode;

use super::keymap::{
    bind, export_key, navigation, reload_key, spare, Action, Binding, Key, KeyTable, Rows, ENTER,
    VIEW_END,
};
use super::load::{timed, Cursor, Load, Ticket};
use super::msg::{Delay, Effect, Job as AppJob, ReadTime, Slot};
use super::screen::{Screen, Status};
use super::state::{State, View};
use crate::db::{Database, DbError, PriceMatrix, PriceSort, QueryHandle};
use crate::geometry;
use crate::output::Document;
use crate::text::sanitize;

#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// Keyed by the tenants asked for (the columns on screen); the last
    /// matrix stays on screen while the next columns load.
    pub matrix: Load<(Ticket, Vec<String>), PriceMatrix>,
    pub sort: PriceSort,
    /// The selected item row.
    pub rows: Cursor,
    /// The selected tenant column, as an index in the catalog, and the
    /// first column on screen.
    pub columns: Cursor,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            matrix: Load::default(),
            sort: PriceSort::Spread,
            rows: Cursor::default(),
            columns: Cursor::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    Loaded {
        key: (Ticket, Vec<String>),
        result: Result<PriceMatrix, DbError>,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub key: (Ticket, Vec<String>),
}

impl Job {
    pub async fn run(self, db: Database, _: QueryHandle) -> Msg {
        let (result, elapsed) = timed(db.price_matrix(&self.key.1)).await;
        Msg::Loaded {
            key: self.key,
            result,
            elapsed,
        }
    }
}

use Action::*;
use Key::{Char, Code};

const NAV: [Binding; 6] = navigation(Rows {
    up: "item up",
    down: "item down",
    first: "first item",
    last: "last item",
    hint: false,
});

const OWN: &[Binding] = &[
    bind(
        &[Code(KeyCode::Left), Char('h')],
        Left,
        "tenant left",
        false,
    ),
    bind(
        &[Code(KeyCode::Right), Char('l')],
        Right,
        "tenant right",
        true,
    ),
    bind(&[Char('s')], ToggleSort, "sort by spread/name", true),
    bind(ENTER, ShowBuyers, "users who ordered it", true),
    spare(reload_key("reload", false)),
    export_key(true),
];

pub const KEYS: KeyTable = &[&NAV, OWN, &VIEW_END];

pub const SCREEN: Screen = Screen {
    // More or fewer tenant columns fit now.
    on_resize: |state| request(state, false),
    refresh: |state| request(state, true),
    keys: |_| KEYS,
    on_action,
    loads: |state| vec![&state.prices.matrix],
    status,
    fresh: "prices",
    export: |state| {
        // Read anew for the file, every tenant (those on screen are some
        // of them): each item's lowest and highest over all, the tenants
        // not priced counted, as `prices` writes and says them.
        state.prices.matrix.value()?;
        let what = Box::new((state.prices.sort, state.catalog.clone()));
        Some((
            "prices".to_string(),
            Document::ToRead(crate::output::ToRead::Prices(what)),
        ))
    },
    help: &[("Price matrix", KEYS)],
    marks: &[
        ("▼", "lowest price among the tenants shown"),
        ("▲", "highest price among the tenants shown"),
        ("—", "not sold there"),
        ("NULL", "sold there at a NULL price"),
        ("?", "could not be read (the status says why)"),
        ("×", "spread (highest / lowest) of those shown"),
    ],
    ..Screen::BASE
};

/// What was priced, and which tenants could not be: each reason once,
/// after the first tenant it stopped (and how many more it stopped), so
/// a tenant is never said to have failed for another's reason.
fn status(state: &State) -> Status {
    let load = &state.prices.matrix;
    // With the rule the rows are matched by: the orders pane's may differ
    // (it decides per pair of tenants; the matrix one rule for all), and a
    // title of 80 columns had no room for it.
    let priced = |m: &PriceMatrix| {
        let tenants = crate::text::plural(m.tenants.len(), "tenant", "tenants");
        format!(
            "prices of {tenants} (items matched by {})",
            sanitize(m.rule.name())
        )
    };
    match load.value().filter(|_| !load.is_loading()) {
        Some(matrix) if !matrix.failed.is_empty() => {
            // How many first: the reasons may be cut at the screen's edge.
            let how_many = match matrix.failed.len() {
                1 => String::new(),
                n => format!("{n} "),
            };
            // Of the columns asked for, those priced.
            let shown = matrix.tenants.len();
            let tenants = crate::text::plural(shown, "tenant", "tenants");
            // The rule last: the reasons come first.
            Status::Failed(format!(
                "prices of {} of {tenants}; {how_many}not priced: {}; items matched by {}",
                shown.saturating_sub(matrix.failed.len()),
                not_priced(&matrix.failed),
                sanitize(matrix.rule.name()),
            ))
        }
        _ => Status::of(load, priced),
    }
}

/// `e: no price column; a (and 2 more): lock timeout`: the failures
/// grouped by reason, in their first tenants' column order.
fn not_priced(failed: &[crate::db::TenantFailure]) -> String {
    let mut reasons: Vec<(String, &str, usize)> = Vec::new();
    for failure in failed {
        let reason = crate::text::message_line(&failure.error).into_owned();
        match reasons.iter_mut().find(|(r, ..)| *r == reason) {
            Some((.., more)) => *more += 1,
            None => reasons.push((reason, &failure.tenant, 0)),
        }
    }
    let said: Vec<String> = reasons
        .iter()
        .map(|(reason, first, more)| {
            let others = match more {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            format!("{}{others}: {reason}", crate::text::sanitize(first))
        })
        .collect();
    said.join("; ")
}

pub fn open(state: &mut State) -> Vec<Effect> {
    super::nav::go(state, View::Prices);
    let stale = state.prices.matrix.asked_before(state.read_again());
    request(state, stale)
}

/// The tenants whose columns fit on screen, from the first shown.
fn visible_tenants(state: &State) -> Vec<String> {
    let columns = geometry::price_columns(state.session.size.0);
    let names = state.catalog.names();
    let first = state.prices.columns.offset.min(names.len());
    names[first..(first + columns).min(names.len())].to_vec()
}

/// Loads the prices of the visible columns, unless they are loaded or on
/// their way: at 2,000 tenants only what is on screen is read.
pub fn request(state: &mut State, force: bool) -> Vec<Effect> {
    let tenants = visible_tenants(state);
    let matrix = &state.prices.matrix;
    let asked = matrix.pending().map(|(_, t)| t);
    let shown = matrix.value().map(|m| &m.tenants);
    if !force && (asked == Some(&tenants) || shown == Some(&tenants)) {
        return Vec::new();
    }
    let key = (state.ticket(), tenants);
    state.prices.matrix.refresh(key.clone());
    vec![AppJob::Prices(Job { key }).task(Slot("prices"), Delay::None)]
}

pub fn on_msg(state: &mut State, msg: Msg, read: ReadTime) -> Vec<Effect> {
    let Msg::Loaded {
        key,
        result,
        elapsed,
    } = msg;
    let sort = state.prices.sort;
    let result = result
        .map(|m| m.sorted(sort))
        .map_err(super::load::Failure::from);
    let screen = geometry::price_rows(state.session.size).max(1);
    let view = &mut state.prices;
    // The item selected, to select again: other columns sort it elsewhere.
    let selected = view
        .matrix
        .value()
        .and_then(|m| m.rows.get(view.rows.selected));
    let selected = selected.map(|row| row.description.clone());
    if view.matrix.accept(&key, result, elapsed) {
        let rows = view.matrix.value().map_or(&[][..], |m| &m.rows[..]);
        let at = rows
            .iter()
            .position(|r| Some(&r.description) == selected.as_ref());
        match at {
            Some(at) => view.rows.select(at, rows.len(), screen),
            // Fewer items may have come: keep the selection on one.
            None => view.rows.keep_visible(rows.len(), screen),
        }
        if view.matrix.value().is_some() {
            read.taken(state);
        }
    }
    Vec::new()
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let items = state.prices.matrix.value().map_or(0, |m| m.rows.len());
    let rows = geometry::price_rows(state.session.size).max(1);
    let tenants = state.catalog.len();
    let columns = geometry::price_columns(state.session.size.0).max(1);
    let view = &mut state.prices;
    if view.rows.navigate(action, items, rows) {
        return Vec::new();
    }
    match action {
        Left | Right => {
            let delta = if action == Left { -1 } else { 1 };
            view.columns.move_by(delta, tenants, columns);
            return request(state, false);
        }
        ToggleSort => {
            view.sort = match view.sort {
                PriceSort::Spread => PriceSort::Name,
                PriceSort::Name => PriceSort::Spread,
            };
            if let Some(matrix) = view.matrix.value_mut() {
                matrix.sort(view.sort);
            }
            view.rows.first();
        }
        ShowBuyers => return show_buyers(state),
        Reload => return request(state, true),
        Back => return super::nav::back_or(state, View::Dashboard),
        _ => {}
    }
    Vec::new()
}

/// Enter on a cell: that tenant's users who ordered the item, in the
/// users list of the dashboard.
fn show_buyers(state: &mut State) -> Vec<Effect> {
    let view = &state.prices;
    let Some(matrix) = view.matrix.value() else {
        return Vec::new();
    };
    let (Some(row), Some(tenant)) = (
        matrix.rows.get(view.rows.selected),
        state.catalog.names().get(view.columns.selected),
    ) else {
        return Vec::new();
    };
    let (item, tenant) = (row.description.clone(), tenant.clone());
    let matched = (matrix.rule.clone(), row.key.clone());
    if let Some(why) = matrix.failure(&tenant) {
        state.notice = Some(Err(format!(
            "{} could not be priced: {}",
            crate::text::sanitize(&state.catalog.label(&tenant)),
            crate::text::message_line(why)
        )));
        return Vec::new();
    }
    if matrix.price(view.rows.selected, &tenant) == crate::money::Value::Missing {
        state.notice = Some(Err(format!(
            "{} does not sell {}",
            crate::text::sanitize(&state.catalog.label(&tenant)),
            crate::text::sanitize(&item)
        )));
        return Vec::new();
    }
    super::dashboard::show_buyers(state, tenant, item, matched)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::KeyCode;

    use super::*;
    use crate::app::msg::{Job as AppJob, Msg as AppMsg};
    use crate::app::{dashboard, Data};
    use crate::app::{init, update};
    use crate::db::{PriceRow, TenantCatalog, UserCount};
    use crate::fixtures::*;

    /// The dashboard over 2000 tenants (far more than fit as price
    /// columns), on a terminal `width` columns wide.
    fn big_dashboard(width: u16) -> State {
        let tenants = TenantCatalog::new((1..=2000).map(|i| format!("tenant_{i:04}")).collect());
        let count = UserCount {
            value: 4,
            estimated: false,
            ..Default::default()
        };
        let mut state = State::new(Data::new("big".into(), tenants, count, demo_users(), None));
        state.session.size = (width, 30);
        init(&mut state);
        state
    }

    fn prices_asked(effects: &[Effect]) -> (Ticket, Vec<String>) {
        match &jobs(effects)[..] {
            [AppJob::Prices(Job { key })] => key.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn loaded(key: (Ticket, Vec<String>), matrix: PriceMatrix) -> AppMsg {
        AppMsg::from(Msg::Loaded {
            key,
            result: Ok(matrix),
            elapsed: Duration::ZERO,
        })
    }

    /// A view reopened after `r` (in the dashboard, in the tenants pane)
    /// reads again, the matrix and health showing what they had until the
    /// new data comes: the matrix showed the prices of before the reload
    /// (and its export, read anew, the new ones). Without an `r` between
    /// (the refresh timer's reads aside), reopening reads nothing.
    #[test]
    fn views_reopened_after_a_reload_read_again() {
        let view_jobs = |effects: &[Effect]| -> Vec<&'static str> {
            jobs(effects)
                .iter()
                .filter_map(|job| match job {
                    AppJob::Prices(_) => Some("prices"),
                    AppJob::Health(_) => Some("health"),
                    AppJob::Basket(_) => Some("basket"),
                    _ => None,
                })
                .collect()
        };
        let answer = |state: &mut State| {
            let tenants = state.prices.matrix.pending().unwrap().1.clone();
            deliver_prices(
                state,
                PriceMatrix {
                    tenants,
                    ..Default::default()
                },
            );
        };
        let mut state = rich_dude_selected();
        let visits = [
            (KeyCode::Char('p'), "prices"),
            (KeyCode::Char('t'), "health"),
            (KeyCode::Char('b'), "basket"),
        ];
        for (key, view) in visits {
            assert_eq!(view_jobs(&press(&mut state, key)), [view], "first open");
            match view {
                "prices" => answer(&mut state),
                "health" => drop(deliver_health(&mut state, Default::default())),
                _ => {}
            }
            press(&mut state, KeyCode::Esc);
            assert_eq!(state.view, View::Dashboard);
            assert!(
                view_jobs(&press(&mut state, key)).is_empty(),
                "{view}: kept"
            );
            press(&mut state, KeyCode::Esc);
        }
        // The refresh timer's reads: health's check is not run again.
        dashboard::refresh(&mut state);
        for (key, view) in visits {
            assert!(
                view_jobs(&press(&mut state, key)).is_empty(),
                "{view}: timer"
            );
            press(&mut state, KeyCode::Esc);
        }
        let reloads = [
            vec![KeyCode::Char('r')],
            vec![KeyCode::Char('T'), KeyCode::Char('r'), KeyCode::Esc],
        ];
        for reload in reloads {
            for key in reload {
                press(&mut state, key);
            }
            assert_eq!(state.view, View::Dashboard);
            reopened_read_again(&mut state, &visits, &answer, &view_jobs);
        }
    }

    fn reopened_read_again(
        state: &mut State,
        visits: &[(KeyCode, &'static str)],
        answer: &dyn Fn(&mut State),
        view_jobs: &dyn Fn(&[Effect]) -> Vec<&'static str>,
    ) {
        for &(key, view) in visits {
            assert_eq!(view_jobs(&press(state, key)), [view], "after r");
            if view == "prices" {
                assert!(state.prices.matrix.value().is_some(), "shown meanwhile");
                answer(state);
            }
            if view == "health" {
                assert!(state.health.report.value().is_some(), "shown meanwhile");
                deliver_health(state, Default::default());
            }
            press(state, KeyCode::Esc);
            assert!(view_jobs(&press(state, key)).is_empty(), "{view}: read");
            press(state, KeyCode::Esc);
        }
    }

    /// At 60 columns the item column narrows so that two tenants show (it
    /// stayed 22 wide beside one); the status counts one tenant as one.
    #[test]
    fn sixty_columns_show_two_tenants_and_the_status_counts_right() {
        let draw = |state: &State| {
            let (w, h) = state.session.size;
            let backend = ratatui::backend::TestBackend::new(w, h);
            let mut terminal = ratatui::Terminal::new(backend).unwrap();
            terminal
                .draw(|frame| crate::ui::view(state, frame))
                .unwrap();
            crate::fixtures::frame_text(terminal.backend().buffer())
        };
        let matrix = |tenants: &[String]| PriceMatrix {
            tenants: tenants.to_vec(),
            rows: vec![PriceRow::new(
                "A rather long item description".into(),
                tenants
                    .iter()
                    .map(|_| crate::money::Value::parse("10"))
                    .collect(),
                tenants,
            )],
            ..Default::default()
        };
        let mut state = demo_state();
        state.session.size = (60, 20);
        press(&mut state, KeyCode::Char('p'));
        let asked = state.prices.matrix.pending().unwrap().1.clone();
        assert_eq!(asked.len(), 2, "two tenants asked for at 60 columns");
        deliver_prices(&mut state, matrix(&asked));
        let frame = draw(&state);
        let header = frame.lines().nth(2).unwrap();
        assert!(
            header.contains("client1") && header.contains("client2"),
            "{frame}"
        );
        assert!(frame.contains("A rather long item"), "{frame}");

        let mut state = demo_state();
        state.session.size = (40, 20);
        press(&mut state, KeyCode::Char('p'));
        let asked = state.prices.matrix.pending().unwrap().1.clone();
        assert_eq!(asked.len(), 1);
        deliver_prices(&mut state, matrix(&asked));
        let frame = draw(&state);
        assert!(frame.contains("prices of 1 tenant "), "{frame}");
    }

    /// Other columns sort the items otherwise (by the spread among them):
    /// the selection stays on the item, not on its row number (Enter then
    /// listed the buyers of another item).
    #[test]
    fn the_selected_item_stays_selected_when_other_columns_load() {
        let mut state = big_dashboard(80);
        let matrix = |tenants: &[String], prices: [(&str, &str, &str); 3]| {
            PriceMatrix {
                tenants: tenants.to_vec(),
                rows: prices
                    .iter()
                    .map(|(item, a, b)| {
                        let values = [a, b].map(|p| crate::money::Value::parse(p));
                        let mut values = values.to_vec();
                        values.resize(tenants.len(), crate::money::Value::parse("1"));
                        PriceRow::new(item.to_string(), values, tenants)
                    })
                    .collect(),
                ..Default::default()
            }
            .sorted(PriceSort::Spread)
        };
        let key = prices_asked(&press(&mut state, KeyCode::Char('p')));
        let first = matrix(
            &key.1,
            [("Neg", "1", "2"), ("Pen", "1", "9"), ("Cup", "1", "5")],
        );
        update(&mut state, loaded(key, first));
        let selected = |state: &State| {
            let matrix = state.prices.matrix.value().unwrap();
            matrix.rows[state.prices.rows.selected].description.clone()
        };
        press(&mut state, KeyCode::Char('j'));
        press(&mut state, KeyCode::Char('j'));
        assert_eq!(selected(&state), "Neg");
        // Right past the last column shown: the next ones are read.
        let effects = (0..geometry::price_columns(80))
            .map(|_| press(&mut state, KeyCode::Char('l')))
            .find(|effects| !effects.is_empty())
            .expect("the next columns are asked for");
        let key = prices_asked(&effects);
        let next = matrix(
            &key.1,
            [("Neg", "1", "90"), ("Pen", "1", "1"), ("Cup", "1", "5")],
        );
        update(&mut state, loaded(key, next));
        assert_eq!(state.prices.rows.selected, 0, "Neg sorts first now");
        assert_eq!(selected(&state), "Neg");
    }

    #[test]
    fn a_wider_terminal_reads_the_columns_that_now_fit_and_only_in_the_matrix() {
        let mut state = big_dashboard(80);
        // On the dashboard a resize reads no prices.
        assert!(jobs(&update(&mut state, AppMsg::Resize(200, 30)))
            .iter()
            .all(|job| !matches!(job, AppJob::Prices(_))));
        state.session.size = (80, 30);
        let narrow = prices_asked(&press(&mut state, KeyCode::Char('p'))).1;
        let wide = prices_asked(&update(&mut state, AppMsg::Resize(200, 30))).1;
        assert_eq!(narrow.len(), geometry::price_columns(80));
        assert_eq!(wide.len(), geometry::price_columns(200));
        assert!(wide.len() > narrow.len());
        // Once they are shown, the timer's refresh reads the same columns again.
        let empty = PriceMatrix {
            tenants: wide.clone(),
            rows: Vec::new(),
            failed: Vec::new(),
            ..Default::default()
        };
        deliver_prices(&mut state, empty);
        assert_eq!(prices_asked(&update(&mut state, AppMsg::Refresh)).1, wide);
    }

    /// `r` asks for the same columns again: the answer to the first asking,
    /// late, is stale (it used to be taken, keyed by the columns alone).
    #[test]
    fn a_reload_drops_the_late_answer_for_the_same_columns() {
        let mut state = big_dashboard(120);
        let first = prices_asked(&press(&mut state, KeyCode::Char('p')));
        let again = prices_asked(&press(&mut state, KeyCode::Char('r')));
        assert_eq!(first.1, again.1, "the same columns");
        let matrix = |marker: &str| PriceMatrix {
            tenants: first.1.clone(),
            rows: vec![PriceRow::new(
                marker.into(),
                first
                    .1
                    .iter()
                    .map(|_| crate::money::Value::parse("1"))
                    .collect(),
                &first.1,
            )],
            ..Default::default()
        };
        update(&mut state, loaded(first.clone(), matrix("late")));
        assert!(state.is_busy(), "still waiting for the reload");
        assert_eq!(state.prices.matrix.value(), None);
        update(&mut state, loaded(again, matrix("fresh")));
        let shown = state
            .prices
            .matrix
            .value()
            .map(|m| m.rows[0].description.as_str());
        assert_eq!(shown, Some("fresh"));
        assert!(!state.is_busy());
    }

    /// `e` in the matrix before it has answered finds nothing to export,
    /// and says it is still loading; once it is in, every row goes out.
    /// (claims.rs's export test once pressed `e` on a frame that was still
    /// the dashboard's: the test was wrong, not this state.)
    #[test]
    fn export_in_the_matrix_waits_for_its_load() {
        let mut state = big_dashboard(120);
        let asked = prices_asked(&press(&mut state, KeyCode::Char('p')));
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        assert_eq!(
            state.notice,
            Some(Err("still loading: nothing to export yet".into()))
        );
        let matrix = PriceMatrix {
            tenants: asked.1.clone(),
            ..Default::default()
        };
        update(&mut state, loaded(asked, matrix));
        let effects = press(&mut state, KeyCode::Char('e'));
        // Read anew for the file, whether or not every tenant is on screen:
        // one way to count the tenants not priced and refuse none priced.
        let read = Document::ToRead(crate::output::ToRead::Prices(Box::new((
            state.prices.sort,
            state.catalog.clone(),
        ))));
        assert!(
            matches!(&effects[..], [Effect::Export { stem, document, .. }]
                if stem == "prices" && *document == read),
            "{effects:?}"
        );
        // A second `e` while the first reads starts no second read (a
        // second full read and a second file); once written, it does.
        assert!(press(&mut state, KeyCode::Char('e')).is_empty());
        assert_eq!(
            state.notice,
            Some(Err("still exporting: one export at a time".into()))
        );
        // `q` meanwhile says what quitting would drop; once written, or
        // pressed again, it quits (it quit at once, the file unwritten).
        press(&mut state, KeyCode::Char('q'));
        assert!(!state.session.quit);
        assert_eq!(
            state.notice,
            Some(Err(
                "still exporting: q again quits, and the file is not written".into()
            ))
        );
        update(&mut state, AppMsg::Exported(Ok("./t.csv".into())));
        assert_eq!(press(&mut state, KeyCode::Char('e')).len(), 1);
        press(&mut state, KeyCode::Char('q'));
        assert!(!state.session.quit, "a second export asks again");
        press(&mut state, KeyCode::Char('q'));
        assert!(state.session.quit);
    }

    #[test]
    fn price_matrix_fetches_only_the_visible_columns() {
        let mut state = big_dashboard(120);
        let (first_ticket, first) = prices_asked(&press(&mut state, KeyCode::Char('p')));
        let columns = geometry::price_columns(120);
        assert_eq!(first.len(), columns);
        assert_eq!(first[0], "tenant_0001");
        // Moving right within the window reads nothing; past it, the next columns.
        for _ in 0..columns - 1 {
            assert!(press(&mut state, KeyCode::Char('l')).is_empty());
        }
        let (ticket, shifted) = prices_asked(&press(&mut state, KeyCode::Char('l')));
        assert_eq!(shifted[0], "tenant_0002");
        assert_eq!(shifted.len(), columns);
        // The answer for the old window is dropped.
        let stale = PriceMatrix {
            tenants: first.clone(),
            rows: Vec::new(),
            failed: Vec::new(),
            ..Default::default()
        };
        update(&mut state, loaded((first_ticket, first), stale));
        assert!(state.prices.matrix.value().is_none());
        let row = PriceRow::new(
            "Tesla".into(),
            shifted
                .iter()
                .map(|_| crate::money::Value::parse("0"))
                .collect(),
            &shifted,
        );
        let matrix = PriceMatrix {
            tenants: shifted.clone(),
            rows: vec![row],
            failed: Vec::new(),
            ..Default::default()
        };
        update(&mut state, loaded((ticket, shifted.clone()), matrix));
        assert!(state.prices.matrix.value().is_some());

        // Enter: the users of the selected tenant who ordered the item.
        let effects = press(&mut state, KeyCode::Enter);
        match &jobs(&effects)[..] {
            [AppJob::Dashboard(dashboard::Job::OrderedBy { tenant, item, .. })] => assert_eq!(
                (tenant.as_str(), item.as_str()),
                (state.catalog.names()[columns].as_str(), "Tesla")
            ),
            other => panic!("{other:?}"),
        }
        let request = page_request(&effects);
        assert_eq!(state.view, View::Dashboard);
        deliver_page(&mut state, request, vec![user("7", "buyer", "tenant_0009")]);
        assert!(
            state.dashboard.users.is_complete(),
            "the list is whole: no paging into the full table"
        );
        assert_eq!(state.selected_user().unwrap().name, "buyer");
        // Esc: back to the matrix; Esc again: the list as it was before `p`.
        press(&mut state, KeyCode::Esc);
        assert!(!state.session.quit, "Esc leaves the list first");
        assert_eq!(state.view, View::Prices);
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.view, View::Dashboard);
        assert_eq!(state.dashboard.list_label, None);
        assert_eq!(state.dashboard.users.users(), &demo_users()[..]);
    }

    #[test]
    fn no_key_is_bound_twice() {
        crate::app::keymap::assert_no_key_twice(KEYS);
    }
}
