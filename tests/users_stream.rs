//! The whole users list (`users`, `Database::stream_users`) where users
//! live in each of many tenant schemas: every user once, in the list's
//! order, each batch of tenants' users tables read as few times as its
//! rows need (not once per page of the list); the search across tenants
//! shows its users in that order too.

mod common;

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

/// Names whose order differs between the test server's default collation,
/// `C` (bytes: upper case, then `_`, then lower case, then `é`), and a
/// linguistic one (ICU's root, `und-x-icu`: `_` first, then the letters,
/// each lower case before upper, `é` beside `e`).
const CASES: [&str; 16] = [
    "a", "B", "b", "Z", "_x", "é", "A", "z", "É", "_", "ab", "aB", "Ab", "e", "E", "zz",
];

/// A database made `LOCALE_PROVIDER icu ICU_LOCALE 'und'`: its default
/// collation is ICU's root, not the server's `C`.
const ICU_DATABASE: &str = "LOCALE_PROVIDER icu ICU_LOCALE 'und'";

/// A users list's database in the collation test.
struct Collated {
    what: &'static str,
    /// How the database is made (`""`: the server's default, `C`).
    database: &'static str,
    /// Users in each of this many tenant schemas; 0: in the shared users
    /// table (the article's layout).
    tenants: usize,
    /// The collation of a tenant's users name column (by tenant number;
    /// the shared table's: 0), `None`: the database's default.
    column: fn(usize) -> Option<&'static str>,
}

/// Where users tables' name columns are collated otherwise than the
/// database's default, where tenants' columns differ among themselves (in
/// one batch of tenants and across batches), and where the database's
/// default is not `C`: the CLI's list (`users`, the binary, whole and cut
/// by `--limit`) and the dashboard's pages (`users_page`, forward,
/// backward and from a key, at page sizes that cut across the two orders)
/// list every user once, in one order. Users in each of many tenant
/// schemas (batches of tenants, merged) and of a few (one statement):
/// name, id and tenant in the database's default collation, as psql's
/// `ORDER BY name COLLATE "default"` has it (the one order the tenants'
/// tables share). Users in one shared table: in its columns' own
/// collations, as psql's `SELECT … FROM users ORDER BY name, id` has it
/// (and its (name, id) index serves it).
#[tokio::test]
async fn the_users_list_keeps_its_order_whatever_the_columns_collation() {
    let mut setups = Vec::new();
    for tenants in [PER_PAGE_TENANTS_MANY, PER_PAGE_TENANTS_FEW] {
        setups.extend([
            Collated {
                what: "ICU name columns in a C database",
                database: "",
                tenants,
                column: |_| Some("und-x-icu"),
            },
            Collated {
                what: "ICU, C and default name columns in a C database",
                database: "",
                tenants,
                column: |i| [Some("und-x-icu"), Some("C"), None][i % 3],
            },
            Collated {
                what: "C name columns in an ICU database",
                database: ICU_DATABASE,
                tenants,
                column: |_| Some("C"),
            },
            Collated {
                what: "C and default name columns in an ICU database",
                database: ICU_DATABASE,
                tenants,
                column: |i| [Some("C"), None][i % 2],
            },
        ]);
    }
    setups.extend([
        Collated {
            what: "a shared users table in an ICU database",
            database: ICU_DATABASE,
            tenants: 0,
            column: |_| None,
        },
        Collated {
            what: "a shared users table, ICU name column, in a C database",
            database: "",
            tenants: 0,
            column: |_| Some("und-x-icu"),
        },
        Collated {
            what: "a shared users table, C name column, in an ICU database",
            database: ICU_DATABASE,
            tenants: 0,
            column: |_| Some("C"),
        },
    ]);
    for setup in &setups {
        let what = match setup.tenants {
            0 => setup.what.to_string(),
            n => format!("{}, {n} tenants", setup.what),
        };
        let test_db = TestDatabase::empty_with(setup.database).await;
        // The two orders really differ here, and the default is the one
        // the database was made with.
        let order_by = |collation: &str| {
            let names = CASES.map(|n| format!("'{n}'")).join(", ");
            format!(
                "SELECT string_agg(n, ' ' ORDER BY n COLLATE {collation})
                   FROM unnest(ARRAY[{names}]) n"
            )
        };
        let default = test_db
            .query_text(&order_by("pg_catalog.\"default\""))
            .await;
        let c = test_db.query_text(&order_by("\"C\"")).await;
        let icu = test_db.query_text(&order_by("\"und-x-icu\"")).await;
        assert_ne!(c, icu, "C and ICU order these names alike");
        let made = if setup.database.is_empty() { &c } else { &icu };
        assert_eq!(&default, made, "the database's default: {what}");
        // What psql gives: users in each tenant schema by name, id and
        // tenant in the database's default collation; a shared table's by
        // name and id in its columns' own.
        let (users, order) = match setup.tenants {
            0 => (collated_shared_users(&test_db, setup.column).await, "n, i"),
            n => (
                collated_tenants(&test_db, n, setup.column).await,
                "n COLLATE pg_catalog.\"default\", i COLLATE pg_catalog.\"default\", t",
            ),
        };
        let all: Vec<String> = test_db
            .query_text(&format!(
                "SELECT string_agg(n || '@' || t, ',' ORDER BY {order}) FROM ({users}) u"
            ))
            .await
            .split(',')
            .map(str::to_string)
            .collect();
        assert!(all.len() >= CASES.len() * 2, "{what}: {}", all.len());
        // The filter `b` matches these names alone (not a mail, a tenant
        // or its registry name).
        let with_b: Vec<String> = all
            .iter()
            .filter(|u| u.split('@').next().unwrap().to_lowercase().contains('b'))
            .cloned()
            .collect();
        assert!(with_b.len() >= 10, "{what}: {}", with_b.len());
        for (filter, expected) in [(None, &all), (Some("b"), &with_b)] {
            let what = format!("{what}, filter {filter:?}");
            let cli = cli_users(&test_db, filter, None);
            let mut distinct = cli.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                cli.len(),
                "the CLI lists a user twice: {what}"
            );
            assert_eq!(&cli, expected, "the CLI's list: {what}");
            for limit in [1, 7, 20].into_iter().filter(|&l| l < expected.len()) {
                assert_eq!(
                    cli_users(&test_db, filter, Some(limit)),
                    expected[..limit],
                    "the CLI's list, --limit {limit}: {what}"
                );
            }
        }
        let source = ConnectionSource::demo(test_db.options.clone());
        let db = Database::connect(&source, &Settings::default())
            .await
            .unwrap();
        for (filter, expected) in [(None, &all), (Some("b"), &with_b)] {
            // One past the tenants: a page that takes a user of each;
            // pages of one user and of five where the users are few (each
            // page over many tenants reads two batches and sorts them).
            let wide = setup.tenants.max(PER_PAGE_TENANTS_FEW) as i64 + 1;
            let sizes = match setup.tenants > PER_PAGE_TENANTS_FEW {
                true => vec![7, wide],
                false => vec![1, 5, wide],
            };
            for size in sizes {
                let what = format!("{what}, filter {filter:?}, pages of {size}");
                let (forward, keys) = pages_forward(&db, filter, size).await;
                assert_eq!(&forward, expected, "forward: {what}");
                let backward = pages_backward(&db, filter, size).await;
                assert_eq!(&backward, expected, "backward: {what}");
                for (at, key) in keys.iter().enumerate().step_by(7) {
                    let page = db
                        .users_page(filter, &Page::From(key.clone()), size, None)
                        .await
                        .unwrap();
                    let names: Vec<String> = page.iter().map(name_at).collect();
                    let end = (at + size as usize).min(expected.len());
                    assert_eq!(names, expected[at..end], "from user {at}: {what}");
                }
            }
        }
        db.close().await;
    }
}

/// The search across tenants (`/` in the tenants pane) shows the users it
/// finds in the users list's order, as the list filtered by the same text
/// (`users --filter`) and psql's `ORDER BY name COLLATE "default"` have
/// them: over its batches of tenants (50, then the rest), in the
/// database's default collation whatever the name columns' (it sorted
/// them by their bytes, tenant by tenant: `B` before `a`, `é` last). An
/// exact id comes first, by tenant, as in the list.
#[tokio::test]
async fn the_search_across_tenants_shows_what_it_finds_in_the_lists_order() {
    let setups = [
        Collated {
            what: "C and default name columns in an ICU database",
            database: ICU_DATABASE,
            tenants: PER_PAGE_TENANTS_MANY,
            column: |i| [Some("C"), None][i % 2],
        },
        Collated {
            what: "ICU name columns in a C database",
            database: "",
            tenants: PER_PAGE_TENANTS_MANY,
            column: |_| Some("und-x-icu"),
        },
    ];
    for Collated {
        what,
        database,
        tenants,
        column,
    } in setups
    {
        let test_db = TestDatabase::empty_with(database).await;
        let users = collated_tenants(&test_db, tenants, column).await;
        // The users named from CASES (ids 2 to 7, mail m@x.test), as psql
        // orders them.
        let expected: Vec<String> = test_db
            .query_text(&format!(
                "SELECT string_agg(n || '@' || t, ','
                        ORDER BY n COLLATE pg_catalog.\"default\",
                                 i COLLATE pg_catalog.\"default\", t)
                   FROM ({users}) u WHERE i <> '1'"
            ))
            .await
            .split(',')
            .map(str::to_string)
            .collect();
        assert_eq!(expected.len(), tenants * 6, "{what}");
        if !database.is_empty() {
            // Their names' bytes order them otherwise here.
            let names: Vec<&str> = expected
                .iter()
                .filter_map(|u| u.split('@').next())
                .collect();
            let mut bytes = names.clone();
            bytes.sort();
            assert_ne!(bytes, names, "{what}");
        }
        let db = common::connect(&test_db).await;
        let found = search(&db, "@x.test").await;
        assert_eq!(found, expected, "{what}");
        // The list filtered alike: also where an id is the text typed.
        for text in ["@x.test", "b", "3"] {
            let list = cli_users(&test_db, Some(text), None);
            assert_eq!(search(&db, text).await, list, "{what}, {text:?}");
        }
        db.close().await;
    }
}

/// An id every tenant's users table has, typed as a filter: its users
/// come first, one a tenant, in the order every view lists tenants (the
/// catalogue's: by the registry's name, numbers by value, either case
/// alike: `alpha`, `Tenant 4` … `Tenant 60`, `zeta shop`), in the CLI, the
/// pane's first page and the search across tenants alike. They followed
/// the server's collation of the schemas (`Shop3`, `shop10`, `shop2`).
#[tokio::test]
async fn an_exact_id_lists_its_users_in_the_tenants_order() {
    let test_db = TestDatabase::empty().await;
    let tenants = PER_PAGE_TENANTS_MANY;
    for statement in tenantscope::fixtures::many_tenants_sql_by(tenants, tenants) {
        test_db.run_sql(&statement).await;
    }
    // Registered as `Tenant N`, but for two.
    for (from, to, name) in [
        ("t0001", "shop10", "Tenant 1"),
        ("t0002", "shop2", "zeta shop"),
        ("t0003", "Shop3", "alpha"),
    ] {
        test_db
            .run_sql(&format!(
                "ALTER SCHEMA {from} RENAME TO \"{to}\";
                 UPDATE public.customers_client SET schema_name = '{to}', name = '{name}'
                  WHERE schema_name = '{from}'"
            ))
            .await;
    }
    // Each tenant's one user, id 1, is named after its place when made.
    let mut expected = vec!["user_3@Shop3".to_string(), "user_1@shop10".to_string()];
    expected.extend((4..=tenants).map(|i| format!("user_{i}@t{i:04}")));
    expected.push("user_2@shop2".to_string());
    let db = common::connect(&test_db).await;
    let catalog = db.tenants().await.unwrap();
    let schemas: Vec<&str> = expected
        .iter()
        .filter_map(|u| u.split('@').nth(1))
        .collect();
    assert_eq!(catalog.names(), schemas, "the catalogue's order");
    assert_eq!(cli_users(&test_db, Some("1"), None), expected, "the CLI");
    let page = db.users_page(Some("1"), &Page::First, 100, None).await;
    let page: Vec<String> = page.unwrap().iter().map(name_at).collect();
    assert_eq!(page, expected, "the pane's first page");
    assert_eq!(
        search(&db, "1").await,
        expected,
        "the search across tenants"
    );
    db.close().await;
}

/// What the dashboard's search across tenants shows for `text` (`/` in
/// the tenants pane, each batch's statement run and its answer taken by
/// the app), as `name@schema`: read in more than one batch.
async fn search(db: &Database, text: &str) -> Vec<String> {
    use crossterm::event::KeyCode;
    use tenantscope::app::msg::{Effect, Job};
    use tenantscope::app::{tenants, update, Msg};
    use tenantscope::fixtures::{chars, press};
    let mut state = tenantscope::app::initial_state(db, "demo".into(), None, Default::default())
        .await
        .unwrap();
    state.session.size = (120, 30);
    tenantscope::app::init(&mut state);
    assert_eq!(state.catalog.len(), PER_PAGE_TENANTS_MANY);
    press(&mut state, KeyCode::Char('/'));
    let mut effects = chars(&mut state, text);
    let mut batches = 0;
    // The last search asked for supersedes those before it (typing).
    while let Some(job) = effects.iter().rev().find_map(|e| match e {
        Effect::Load(task) => match &task.job {
            Job::Tenants(job @ tenants::Job::Search { .. }) => Some(job.clone()),
            _ => None,
        },
        _ => None,
    }) {
        let msg = job.run(db.clone(), Default::default()).await;
        effects = update(&mut state, Msg::from(msg));
        batches += 1;
    }
    assert!(batches > 1, "{text:?}: {batches} batch");
    let search = &state.tenants.search;
    assert_eq!(search.load.error(), None, "{text:?}");
    assert_eq!(search.load.done(), PER_PAGE_TENANTS_MANY, "{text:?}");
    search
        .users
        .iter()
        .map(|u| format!("{}@{}", u.name, u.tenant.as_deref().unwrap_or_default()))
        .collect()
}

/// `tenants` tenant schemas (the Django layout, users in each), each
/// tenant's users name column collated as `column` says, and six users
/// named from [`CASES`] beside its own (`user_N`), ids 2 to 7: names that
/// repeat across tenants, each batch's users interleaved with the others'.
/// Returns SQL of every tenant's users as (name `n`, id `i`, tenant `t`).
async fn collated_tenants(
    test_db: &TestDatabase,
    tenants: usize,
    column: fn(usize) -> Option<&'static str>,
) -> String {
    for statement in tenantscope::fixtures::many_tenants_sql_by(tenants, tenants) {
        test_db.run_sql(&statement).await;
    }
    let mut sql = String::new();
    for i in 1..=tenants {
        if let Some(collation) = column(i) {
            sql.push_str(&format!(
                "ALTER TABLE t{i:04}.auth_user
                   ALTER COLUMN username TYPE varchar(150) COLLATE \"{collation}\";\n"
            ));
        }
        let users: Vec<String> = (0..6)
            .map(|k| {
                let name = CASES[(i * 5 + k * 3) % CASES.len()];
                format!("({}, '{name}', 'm@x.test', '2024-01-01')", k + 2)
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO t{i:04}.auth_user VALUES {};\n",
            users.join(", ")
        ));
    }
    test_db.run_sql(&sql).await;
    (1..=tenants)
        .map(|i| {
            format!(
                "SELECT username::text AS n, id::text AS i, 't{i:04}'::text AS t
                   FROM t{i:04}.auth_user"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The article's layout (sql/init.sql: users in one shared table, with its
/// (name, id) index, rebuilt in the column's collation) whose name column
/// is collated as `column(0)` says, and two users of each name of
/// [`CASES`], one in each tenant. Returns SQL of its users as (name `n`, id
/// `i`, tenant `t`; the columns, in their own collations).
async fn collated_shared_users(
    test_db: &TestDatabase,
    column: fn(usize) -> Option<&'static str>,
) -> String {
    test_db.run_sql(include_str!("../sql/init.sql")).await;
    if let Some(collation) = column(0) {
        test_db
            .run_sql(&format!(
                "ALTER TABLE public.users ALTER COLUMN name TYPE text COLLATE \"{collation}\""
            ))
            .await;
    }
    let users: Vec<String> = (0..CASES.len() * 2)
        .map(|k| {
            let name = CASES[k * 7 % CASES.len()];
            let tenant = ["client1", "client2"][k / CASES.len()];
            format!("('{k}', '{name}', 'm{k}@x.test', 'pw', '{tenant}')")
        })
        .collect();
    test_db
        .run_sql(&format!(
            "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES {}",
            users.join(", ")
        ))
        .await;
    "SELECT name AS n, id AS i, organization_id AS t FROM public.users".into()
}

/// The binary's `users --format json [--filter F] [--limit N]`: each user
/// as `name@schema`.
fn cli_users(test_db: &TestDatabase, filter: Option<&str>, limit: Option<usize>) -> Vec<String> {
    let mut args = vec!["users", "--format", "json"];
    if let Some(filter) = filter {
        args.extend(["--filter", filter]);
    }
    let limit = limit.map(|l| l.to_string());
    if let Some(limit) = &limit {
        args.extend(["--limit", limit]);
    }
    let output = common::on(test_db, &args);
    assert!(
        output.status.success(),
        "users failed: {}",
        common::stderr(&output)
    );
    let users: serde_json::Value = serde_json::from_str(&common::stdout(&output)).unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}@{}",
                u["name"].as_str().unwrap(),
                u["schema"].as_str().unwrap()
            )
        })
        .collect()
}
