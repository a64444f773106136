//! i. Tenant-first at 2,000 tenant schemas (`--only tenants`): layout
//! detection, and the search across tenants (`/` in the tenants pane) on
//! the real event loop, from the last keystroke to the first frame with a
//! result and to the frame that says every tenant was searched; and `a`,
//! every tenant's users in one list (its first and its last page).
//!
//! The database is a django-tenants layout with users inside each tenant
//! schema (`tenantscope::fixtures::many_tenants_sql`: one user, item and
//! order per tenant), so the figures are what 2,000 schemas cost, not rows.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database, SEARCH_BATCH};
use tenantscope::embedded::PgServer;
use tenantscope::fixtures::{many_tenants_sql, Harness};

use super::{mean, ms, percentile, progress, secs, Res, DEBOUNCE, WAIT};

pub const TENANTS: usize = 2_000;
const DETECTIONS: usize = 20;
/// Each matches about 110 users from the first batch on (under the 1,000
/// a search keeps), and each search runs to the last of its statements.
const SEARCHES: [&str; 4] = ["user_19", "user_2", "u3", "user_4"];
const ROUNDS: usize = 3;
pub const MARK_START: &str = "<!-- bench i: tenant-first -->";
pub const MARK_END: &str = "<!-- /bench i -->";

/// Builds the database and measures; returns the Markdown section.
pub fn run(runtime: &tokio::runtime::Runtime, server: &PgServer) -> Res<String> {
    runtime.block_on(async {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(
            &server.connect_options("postgres"),
        )
        .await?;
        sqlx::raw_sql("CREATE DATABASE many_tenants")
            .execute(&mut admin)
            .await?;
        progress(format!("i. building {TENANTS} django-tenants schemas"));
        let started = Instant::now();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(
            &server.connect_options("many_tenants"),
        )
        .await?;
        for statement in many_tenants_sql(TENANTS) {
            sqlx::raw_sql(&statement).execute(&mut conn).await?;
        }
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut conn).await?;
        let built = started.elapsed();
        let source = ConnectionSource::demo(server.connect_options("many_tenants"));
        let settings = Settings::default();
        progress("i. detection");
        let mut connects = Vec::new();
        let mut detections = Vec::new();
        let mut db = None;
        for _ in 0..DETECTIONS {
            let started = Instant::now();
            let opened = Database::connect(&source, &settings).await?;
            connects.push(started.elapsed());
            let started = Instant::now();
            let detection = opened.detect_layout("public").await?;
            detections.push(started.elapsed());
            if detection.model.layout != "django-tenants" {
                return Err(format!("detected {:?}", detection.model.layout).into());
            }
            if let Some(old) = db.replace(opened) {
                old.close().await;
            }
        }
        let db = db.expect("connected");
        progress("i. search across tenants");
        let (first, complete, open, all) = search_times(db.clone()).await?;
        db.close().await;
        Ok(render(
            built,
            &detections,
            &connects,
            &first,
            &complete,
            open,
            &all,
        ))
    })
}

/// Key → frame of every tenant's users: their first page (`a`), their
/// last page (End).
pub type AllUsers = (Vec<Duration>, Vec<Duration>);

/// (first result frame, complete frame) per search, minus the debounce,
/// the time to the first frame of the tenants pane, and [`AllUsers`].
async fn search_times(db: Database) -> Res<(Vec<Duration>, Vec<Duration>, Duration, AllUsers)> {
    search_times_of(db, TENANTS, &SEARCHES).await
}

/// [`search_times`] on `many_tenants_sql(tenants)`, typing `searches`
/// (each must match fewer users than a search keeps, so that it runs to
/// its last batch).
pub async fn search_times_of(
    db: Database,
    tenants: usize,
    searches: &[&str],
) -> Res<(Vec<Duration>, Vec<Duration>, Duration, AllUsers)> {
    let started = Instant::now();
    let mut harness = Harness::start(db, DEBOUNCE, (super::WIDTH, super::HEIGHT))
        .await
        .map_err(|e| e.to_string())?;
    let all = format!("✓ {} tenants", super::thousands(tenants as u64));
    harness
        .frame_where("the tenants pane", WAIT, |f| f.contains(&all))
        .await?;
    let open = started.elapsed();
    let (mut first, mut complete) = (Vec::new(), Vec::new());
    let done = format!(
        "searched {0}/{0} tenants:",
        super::thousands(tenants as u64)
    );
    for _ in 0..ROUNDS {
        for text in searches {
            harness.press(KeyCode::Char('/'));
            let mut last = Instant::now();
            for ch in text.chars() {
                last = harness.press(KeyCode::Char(ch));
            }
            let typed = format!("/{text}▏");
            let (at, frame, _) = harness
                .next_frame_where("a result", WAIT, |f| f.contains(&typed) && f.contains("@t"))
                .await?;
            first.push(at.saturating_duration_since(last).saturating_sub(DEBOUNCE));
            // A fast search's first frame with results may be its last.
            let at = if frame.contains(&done) {
                at
            } else {
                harness
                    .next_frame_where("the whole search", WAIT, |f| f.contains(&done))
                    .await?
                    .0
            };
            complete.push(at.saturating_duration_since(last).saturating_sub(DEBOUNCE));
            // Esc drops the search; the prompt closes.
            harness.press(KeyCode::Esc);
        }
    }
    // `a`: by name, user_1000 is on the first page and user_999 the last.
    let (mut all_first, mut all_last) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let pressed = harness.press(KeyCode::Char('a'));
        let (at, _, _) = harness
            .next_frame_where("every tenant's users", WAIT, |f| {
                f.contains("user_1000") && f.contains("Tenant 1000")
            })
            .await?;
        all_first.push(at.saturating_duration_since(pressed));
        let pressed = harness.press(KeyCode::End);
        let (at, _, _) = harness
            .next_frame_where("their last page", WAIT, |f| f.contains("user_999 "))
            .await?;
        all_last.push(at.saturating_duration_since(pressed));
        // Back to the tenants pane.
        harness.press(KeyCode::Esc);
        harness
            .next_frame_where("the tenants pane", WAIT, |f| f.contains(" Tenants "))
            .await?;
    }
    harness.quit().await?;
    Ok((first, complete, open, (all_first, all_last)))
}

fn render(
    built: Duration,
    detections: &[Duration],
    connects: &[Duration],
    first: &[Duration],
    complete: &[Duration],
    open: Duration,
    (all_first, all_last): &AllUsers,
) -> String {
    let pair = |s: &[Duration]| {
        format!(
            "{} / {} / {} (n={})",
            ms(percentile(s, 50.0)),
            ms(percentile(s, 99.0)),
            ms(mean(s)),
            s.len()
        )
    };
    let batches = TENANTS.div_ceil(SEARCH_BATCH);
    let n = super::thousands(TENANTS as u64);
    format!(
        "{MARK_START}\n## i. Tenant-first at {n} tenant schemas\n\n\
         `cargo run --release --example bench -- --only tenants` (also part of a whole run). \
         A django-tenants database with users inside each of {n} tenant schemas \
         (`fixtures::many_tenants_sql`: one user, item and order per schema; built in {built}), \
         on the same private server.\n\n\
         | Measure | p50 / p99 / mean |\n| --- | --- |\n\
         | detection (`detect_layout`: the catalog read in a constant number of queries) | {det} |\n\
         | connect (detection, layout, the per-tenant users source) | {con} |\n\
         | start → tenants pane with its {n} tenants and their user counts (one run) | {open} |\n\
         | search keystroke → first frame with a result, minus debounce | {first} |\n\
         | search keystroke → frame \"searched {n}/{n} tenants\" ({batches} statements of {SEARCH_BATCH} schemas), minus debounce | {complete} |\n\
         | `a` → first page of every tenant's users (keyset, ORDER BY and LIMIT in each of {n} SELECTs) | {all_first} |\n\
         | End in that list → its last page | {all_last} |\n\n\
         Searches: {searches:?}, typed at once after `/`, {ROUNDS} rounds; each matches users from the \
         first batch on, and each runs to the last batch.\n{MARK_END}\n",
        built = secs(built),
        det = pair(detections),
        con = pair(connects),
        open = ms(open),
        first = pair(first),
        complete = pair(complete),
        all_first = pair(all_first),
        all_last = pair(all_last),
        searches = SEARCHES,
    )
}
