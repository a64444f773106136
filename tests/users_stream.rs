//! The whole users list (`users`, `Database::stream_users`) where users
//! live in each of many tenant schemas: every user once, in the list's
//! order, each batch of tenants' users tables read as few times as its
//! rows need (not once per page of the list).

use std::sync::atomic::Ordering;

use tenantscope::config::Settings;
use tenantscope::db::{
    ConnectionSource, Database, Page, TenantCatalog, User, UserKey, UserQuery, UserSink,
};
use tenantscope::embedded::testing::TestDatabase;

/// Tenants, users in each (two batches of 50 tenants: 2,000 and 400 users).
const TENANTS: usize = 60;
const USERS_EACH: usize = 40;
/// Users every tenant has under the same name and id.
const TIES: usize = 30;

/// Every user's name and tenant (`name@tenant`) as each pass saw it.
struct Names {
    passes: u8,
    seen: Vec<Vec<String>>,
}

impl UserSink for Names {
    fn passes(&self) -> u8 {
        self.passes
    }
    fn begin(&mut self, _: u8, _: &TenantCatalog) -> bool {
        self.seen.push(Vec::new());
        true
    }
    fn user(&mut self, pass: u8, user: &User) -> bool {
        let tenant = user.tenant.as_deref().unwrap_or("");
        self.seen[pass as usize].push(format!("{}@{tenant}", user.name));
        true
    }
}

async fn listed(db: &Database, filter: Option<&str>, passes: u8) -> Vec<Vec<String>> {
    let mut sink = Names {
        passes,
        seen: Vec::new(),
    };
    let query = UserQuery {
        filter: filter.map(str::to_string),
        limit: None,
    };
    db.stream_users(&query, None, &mut sink).await.unwrap();
    sink.seen
}

#[tokio::test]
async fn the_whole_list_over_many_tenants_reads_each_batch_by_its_rows_not_by_page() {
    let test_db = TestDatabase::empty().await;
    for statement in tenantscope::fixtures::many_tenants_sql_by(TENANTS, TENANTS) {
        test_db.run_sql(&statement).await;
    }
    // Names by a hash: every batch's users interleave in the list.
    test_db
        .run_sql(&format!(
            "DO $$ BEGIN FOR i IN 1..{TENANTS} LOOP
                 EXECUTE format($q$INSERT INTO %I.auth_user
                     SELECT g, 'u_' || md5(%s || '/' || g), 'u_' || md5(%s || '/' || g) || '@x.test',
                            '2024-01-01' FROM generate_series(2, {USERS_EACH}) g$q$,
                     format('t%s', lpad(i::text, 4, '0')), i, i);
             END LOOP; END $$"
        ))
        .await;
    // And 30 users every tenant has, the same name and id in each (an
    // admin each tenant was made with): 60 ties each, spread over the list,
    // some across the bounds of its pages and of a batch's reads. The list
    // is keyed by (name, id): a read from after one of them must not skip
    // the other tenants' copies.
    test_db
        .run_sql(&format!(
            "DO $$ BEGIN FOR i IN 1..{TENANTS} LOOP
                 EXECUTE format($q$INSERT INTO %I.auth_user
                     SELECT 1000 + k, 'u_' || md5('tie' || k), 'tie@x.test', '2024-01-01'::timestamptz
                       FROM generate_series(1, {TIES}) k$q$,
                     format('t%s', lpad(i::text, 4, '0')));
             END LOOP; END $$"
        ))
        .await;
    let union = (1..=TENANTS)
        .map(|i| {
            format!(
                "SELECT username::text AS n, id::text AS i, 't{i:04}' AS t FROM t{i:04}.auth_user"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let expected = |filter: &str| {
        let sql = format!(
            "SELECT coalesce(string_agg(n || '@' || t, ',' ORDER BY n, i, t), '') FROM ({union}) u
              WHERE n ILIKE '%{filter}%'"
        );
        let test_db = &test_db;
        async move {
            let text = test_db.query_text(&sql).await;
            text.split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        }
    };
    let all = expected("").await;
    assert_eq!(all.len(), TENANTS * (USERS_EACH + TIES));
    let some = expected("ab").await;
    assert!(some.len() > 100 && some.len() < all.len(), "{}", some.len());

    let source = ConnectionSource::demo(test_db.options.clone());
    let db = Database::connect(&source, &Settings::default())
        .await
        .unwrap();
    assert!(db.batch_width() > 1, "{}", db.batch_width());
    // One pass (csv, json): batch 1 holds 3,500 users (four reads of up
    // to 1,000), batch 2 700 (one read). Read page by page (1,000 users),
    // each page read both batches again: 10.
    let reads = || db.counters().user_batch_reads.load(Ordering::Relaxed);
    let before = reads();
    let once_over = listed(&db, None, 1).await;
    let mut distinct = once_over[0].clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        (once_over[0].len(), distinct.len()),
        (all.len(), all.len()),
        "every user once"
    );
    // In the list's order, ties by tenant.
    assert_eq!(once_over, std::slice::from_ref(&all));
    let one_pass = reads() - before;
    assert!(
        one_pass <= 5,
        "{one_pass} statements over batches of tenants"
    );
    // Two passes (a table: widths, then lines) and a filter.
    assert_eq!(listed(&db, None, 2).await, [all.clone(), all.clone()]);
    assert_eq!(
        listed(&db, Some("ab"), 2).await,
        [some.clone(), some.clone()]
    );
    db.close().await;
    // On one connection the batches are read in turn (savepoints): the same.
    let once = Database::connect_once(&source, &Settings::default())
        .await
        .unwrap();
    assert_eq!(once.batch_width(), 1);
    assert_eq!(listed(&once, None, 2).await, [all.clone(), all]);
    assert_eq!(listed(&once, Some("ab"), 1).await, [some]);
    once.close().await;
}

/// The dashboard's users list (`users_page`, keyset pages as the pane
/// reads them: j/k, PgDn/PgUp, End/Home, a reload from the selection)
/// where users live in each tenant schema and tenants share users of the
/// same name and id: every user once, in the CLI's order, forward and
/// backward at page sizes that cut among the ties; over many tenants
/// (batches of tenants) and over a few (one statement).
#[tokio::test]
async fn the_dashboard_pages_users_of_many_tenants_with_the_same_name_and_id_each_once() {
    for tenants in [PER_PAGE_TENANTS_MANY, PER_PAGE_TENANTS_FEW] {
        let test_db = TestDatabase::empty().await;
        for statement in tenantscope::fixtures::many_tenants_sql_by(tenants, tenants) {
            test_db.run_sql(&statement).await;
        }
        // Every tenant has 3 users of its own and 4 of the same name and id.
        test_db
            .run_sql(&format!(
                "DO $$ BEGIN FOR i IN 1..{tenants} LOOP
                     EXECUTE format($q$INSERT INTO %I.auth_user
                         SELECT g, 'u_' || md5(%s || '/' || g), 'own@x.test', '2024-01-01'::timestamptz
                           FROM generate_series(2, 3) g
                         UNION ALL
                         SELECT 1000 + k, 'u_' || md5('tie' || k), 'tie@x.test', '2024-01-01'::timestamptz
                           FROM generate_series(1, 4) k$q$,
                         format('t%s', lpad(i::text, 4, '0')), i);
                 END LOOP; END $$"
            ))
            .await;
        let source = ConnectionSource::demo(test_db.options.clone());
        let db = Database::connect(&source, &Settings::default())
            .await
            .unwrap();
        for filter in [None, Some("1002"), Some("ab")] {
            let cli = listed(&db, filter, 1).await.remove(0);
            let mut distinct = cli.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), cli.len(), "the CLI lists a user twice");
            if filter.is_none() {
                assert_eq!(cli.len(), tenants * 7, "the CLI's whole list");
            }
            for size in [1, 3, 5, tenants as i64 - 1, tenants as i64 + 1, 64] {
                let what = format!("{tenants} tenants, filter {filter:?}, pages of {size}");
                let (forward, keys) = pages_forward(&db, filter, size).await;
                assert_eq!(forward, cli, "forward: {what}");
                let backward = pages_backward(&db, filter, size).await;
                assert_eq!(backward, cli, "backward: {what}");
                // A reload from any user (not pinned) starts at that user.
                for (at, key) in keys.iter().enumerate().step_by(3) {
                    if key.pinned {
                        continue;
                    }
                    let page = db
                        .users_page(filter, &Page::From(key.clone()), size, None)
                        .await
                        .unwrap();
                    let names: Vec<String> = page.iter().map(name_at).collect();
                    let end = (at + size as usize).min(cli.len());
                    assert_eq!(names, cli[at..end], "from user {at}: {what}");
                }
            }
        }
        db.close().await;
    }
}

/// Tenants in the paging test: more than one batch of tenants' users
/// tables (`PER_TENANT_BATCH`), and fewer (one statement).
const PER_PAGE_TENANTS_MANY: usize = 60;
const PER_PAGE_TENANTS_FEW: usize = 8;

fn name_at(user: &User) -> String {
    format!("{}@{}", user.name, user.tenant.as_deref().unwrap_or(""))
}

/// Every user of the pane's list paged forward from the first page (each
/// next page after the last user shown), and their keys.
async fn pages_forward(
    db: &Database,
    filter: Option<&str>,
    size: i64,
) -> (Vec<String>, Vec<UserKey>) {
    let (mut names, mut keys) = (Vec::new(), Vec::new());
    let mut page = Page::First;
    loop {
        let users = db.users_page(filter, &page, size, None).await.unwrap();
        names.extend(users.iter().map(name_at));
        keys.extend(users.iter().map(|u| u.key.clone()));
        match users.last() {
            Some(last) if users.len() as i64 >= size => page = Page::After(last.key.clone()),
            _ => break,
        }
        assert!(names.len() < 10_000, "paging forward never ends");
    }
    (names, keys)
}

/// Every user of the pane's list paged backward from the last page (End,
/// then each page before the first user shown), in the list's order.
async fn pages_backward(db: &Database, filter: Option<&str>, size: i64) -> Vec<String> {
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut page = Page::Last;
    loop {
        let users = db.users_page(filter, &page, size, None).await.unwrap();
        pages.push(users.iter().map(name_at).collect());
        // A page before the pinned users' place reads nothing.
        match users.iter().find(|u| !u.key.pinned) {
            Some(first) if !users[0].key.pinned && users.len() as i64 >= size => {
                page = Page::Before(first.key.clone())
            }
            _ => break,
        }
        assert!(pages.len() < 10_000, "paging backward never ends");
    }
    pages.into_iter().rev().flatten().collect()
}
