//! Against a real Citus 13.2.2 cluster (a coordinator and two workers,
//! schema-based sharding) started by the test from `../shared/citus`
//! (relative to the repository root) and stopped at its end: every CLI
//! command answers on the coordinator with the same numbers as the same
//! data on one plain server, with `public.users` a reference table and a
//! plain local table. Skipped, with the reason printed, only where
//! `../shared/citus` is absent (a user's clone); `.ci/run` installs Citus.
//!
//! TLS: Citus turns on TLS with a self-signed X.509 v1 certificate; most
//! tests connect with `sslmode=disable`, and one with the default settings
//! and `require` to a coordinator that refuses TCP without TLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, PgConnection};
use tenantscope::config::Settings;
use tenantscope::db::{ConnectionSource, Database};
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{start_app_on_user, stderr, stdout, tenantscope};

/// `../shared/citus` beside the repository, if there.
fn citus_kit() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/citus");
    let found = dir.join("cluster.sh").exists().then_some(dir);
    if found.is_none() {
        println!("skipped: ../shared/citus (Citus for tests) is not beside this repository");
    }
    found
}

/// A coordinator (`port`) and `workers` workers (`port + 1`, …) on
/// 127.0.0.1, in a directory of their own; stopped and removed on drop.
struct Cluster {
    kit: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    workers: u16,
}

impl Cluster {
    fn start(kit: &Path, workers: u16) -> Cluster {
        assert!(
            Path::new("/usr/lib/postgresql/15/lib/citus.so").exists(),
            "Citus is not installed: run {}/install.sh as root (.ci/run does)",
            kit.display()
        );
        let port = free_ports(workers + 1);
        let dir = tempfile::Builder::new()
            .prefix("tenantscope-citus-")
            .tempdir()
            .unwrap();
        let cluster = Cluster {
            kit: kit.to_path_buf(),
            dir,
            port,
            workers,
        };
        let out = Command::new(kit.join("cluster.sh"))
            .arg("start")
            .arg(cluster.dir.path())
            .arg(port.to_string())
            .arg(workers.to_string())
            .output()
            .expect("run cluster.sh");
        assert!(
            out.status.success(),
            "cluster.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn options(&self, node: u16, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port + node)
            .username("postgres")
            .database(database)
            .ssl_mode(PgSslMode::Disable)
    }

    fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// `host:port` of worker `i` (1-based), as Citus names it.
    fn node(&self, i: u16) -> String {
        format!("127.0.0.1:{}", self.port + i)
    }

    /// A database with Citus on every node, the workers added.
    async fn database(&self, name: &str) {
        for node in 0..=self.workers {
            let mut conn = PgConnection::connect_with(&self.options(node, "postgres"))
                .await
                .unwrap();
            run(&mut conn, &format!("CREATE DATABASE {name}")).await;
            conn.close().await.ok();
            let mut conn = PgConnection::connect_with(&self.options(node, name))
                .await
                .unwrap();
            run(&mut conn, "CREATE EXTENSION citus").await;
            conn.close().await.ok();
        }
        let mut conn = self.coordinator(name).await;
        run(
            &mut conn,
            &format!(
                "SELECT citus_set_coordinator_host('127.0.0.1', {})",
                self.port
            ),
        )
        .await;
        for worker in 1..=self.workers {
            run(
                &mut conn,
                &format!("SELECT citus_add_node('127.0.0.1', {})", self.port + worker),
            )
            .await;
        }
        conn.close().await.ok();
    }

    async fn coordinator(&self, database: &str) -> PgConnection {
        PgConnection::connect_with(&self.options(0, database))
            .await
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A frozen node cannot stop: wake every one first.
        for node in 0..=self.workers {
            if let Some(pid) = postmaster_pid(self.dir.path(), node) {
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).ok();
            }
        }
        Command::new(self.kit.join("cluster.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .output()
            .ok();
    }
}

fn postmaster_pid(dir: &Path, node: u16) -> Option<nix::unistd::Pid> {
    let text = std::fs::read_to_string(dir.join(format!("node{node}/postmaster.pid"))).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    Some(nix::unistd::Pid::from_raw(pid))
}

/// `count` consecutive free ports in a private range, from the OS's pick.
fn free_ports(count: u16) -> u16 {
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !(20000..=65000).contains(&base) {
            continue;
        }
        let all_free =
            (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no {count} consecutive free ports");
}

async fn run(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// A cluster of two workers with the demo database `db` on it, users a
/// reference table, and that database's URL; none without Citus for tests.
async fn reference_cluster(db: &str) -> Option<(Cluster, String)> {
    let cluster = Cluster::start(&citus_kit()?, 2);
    let url = citus_database(&cluster, db, Users::Reference).await;
    Some((cluster, url))
}

/// Runs `sql` on the coordinator's database `db`, one statement at a time
/// (Citus propagates DDL statement by statement, not in one implicit
/// transaction of several).
async fn on_coordinator(cluster: &Cluster, db: &str, sql: &str) {
    let mut conn = cluster.coordinator(db).await;
    for statement in sql.split_inclusive(';').filter(|s| !s.trim().is_empty()) {
        run(&mut conn, statement).await;
    }
    conn.close().await.ok();
}

/// How `public.users` is kept on Citus.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Users {
    Reference,
    Local,
}

const NAMES: [&str; 8] = [
    "Tesla", "Huawei", "Lamp", "Desk", "Chair", "Phone", "Kettle", "Bike",
];
const SHOPS: usize = 16;
/// The demo's tenant schemas (client1 to client4).
const DEMO_TENANTS: usize = 4;

/// The demo data (sql/init.sql, populate.sql, demo_more.sql) and 16 more
/// tenants whose catalogues number the same items differently (so items
/// match by description), a leaked order in client1 and in shop_01; all
/// by top-level statements (Citus distributes only those) and VALUES
/// lists. On Citus with local users, tenant tables cannot keep their
/// foreign key to users: it is left out there.
fn fixture(citus: Option<Users>) -> String {
    let [init, populate, more] = tenantscope::embedded::DEMO_SQL.map(|(_, sql)| sql.to_string());
    let fk = |sql: &str| match citus {
        Some(Users::Local) => sql.replace(" REFERENCES public.users (id)", ""),
        _ => sql.to_string(),
    };
    let mut sql = fk(&init);
    if citus == Some(Users::Reference) {
        sql = sql.replacen(
            "CREATE SCHEMA client1;",
            "SELECT create_reference_table('public.users');\nCREATE SCHEMA client1;",
            1,
        );
    }
    sql.push_str(&populate);
    sql.push_str(&fk(&more));
    sql.push_str(
        "INSERT INTO client1.orders (id, user_id, item_id, quantity) VALUES ('9', '2', '1', 1);\n",
    );
    let users_fk = match citus {
        Some(Users::Local) => "",
        _ => " REFERENCES public.users (id)",
    };
    for k in 1..=SHOPS {
        let s = format!("shop_{k:02}");
        sql.push_str(&format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.items (id text PRIMARY KEY, description text NOT NULL,
                                     price numeric(12,2) NOT NULL, sku text NOT NULL);
             CREATE TABLE {s}.orders (id text PRIMARY KEY,
                                      user_id text NOT NULL{users_fk},
                                      item_id text NOT NULL REFERENCES {s}.items (id),
                                      quantity integer NOT NULL);\n"
        ));
        let items: Vec<String> = (1..=5)
            .map(|i| {
                let price = (k * 37 + i * 113) % 900 + 10;
                // A sku per description, filled in everywhere but one of
                // shop_02's items (Django's blank `''`): `auto` checks
                // each pair's key column on the tenants' own nodes.
                let sku = match (k, i) {
                    (2, 1) => String::new(),
                    _ => format!("SKU-{}", (k + i) % 8),
                };
                format!(
                    "('{i}', '{}', {price}.{:02}, '{sku}')",
                    NAMES[(k + i) % 8],
                    (k * i) % 100
                )
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO {s}.items (id, description, price, sku) VALUES {};\n",
            items.join(", ")
        ));
        let mut orders = Vec::new();
        for j in 1..=2 {
            sql.push_str(&format!(
                "INSERT INTO public.users (id, name, mail, password, organization_id)
                 VALUES ('s{k}_{j}', 'shopper_{k:02}_{j}', 's{k}_{j}@example.com', 'pw', '{s}');\n"
            ));
            for o in 0..3 {
                orders.push(format!(
                    "('{j}{o}', 's{k}_{j}', '{}', {})",
                    (j * 3 + o) % 5 + 1,
                    o + 1
                ));
            }
        }
        sql.push_str(&format!(
            "INSERT INTO {s}.orders (id, user_id, item_id, quantity) VALUES {};\n",
            orders.join(", ")
        ));
    }
    sql.push_str("INSERT INTO shop_01.orders (id, user_id, item_id, quantity) VALUES ('99', 's2_1', '1', 1);\n");
    // The same creation times on both servers.
    sql.push_str("UPDATE public.users SET creation_timestamp = '2024-01-02 03:04:05+00';\n");
    sql.push_str("ANALYZE;\n");
    sql
}

/// Every user id of the fixture, and whether their tenant schema exists.
fn fixture_users() -> Vec<(String, bool)> {
    let mut users: Vec<(String, bool)> = ["1", "2", "3"]
        .iter()
        .map(|id| (id.to_string(), true))
        .collect();
    users.push(("4".into(), false));
    for k in 1..=SHOPS {
        for j in 1..=2 {
            users.push((format!("s{k}_{j}"), true));
        }
    }
    users
}

fn cli(url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", url];
    all.extend_from_slice(args);
    tenantscope(&all)
}

/// The commands whose output must be the same on Citus as on one server.
fn commands() -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = [
        &["users"][..],
        &["users", "--format", "json"],
        &["prices"],
        &["prices", "--format", "csv"],
        &["health"],
        &["health", "--leaks", "client1"],
        &["health", "--leaks", "shop_01"],
        &["health", "--leaks", "shop_02", "--format", "json"],
        &["orders", "1", "--compare", "client3"],
        &["orders", "s3_1", "--compare", "shop_07", "--format", "csv"],
        &["orders", "s3_1", "--compare", "shop_02", "--format", "json"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    for (id, exists) in fixture_users() {
        commands.push(vec!["orders".into(), id.clone()]);
        if exists && (id.len() == 1 || id.ends_with("_1")) {
            commands.push(vec!["basket".into(), id]);
        }
    }
    commands
}

/// `tenants --format json` without the Citus-only `node`, and the nodes.
fn tenants_and_nodes(url: &str) -> (serde_json::Value, Vec<(String, Option<String>)>) {
    let out = cli(url, &["tenants", "--format", "json"]);
    assert!(out.status.success(), "tenants: {}", stderr(&out));
    let mut json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut nodes = Vec::new();
    for tenant in json.as_array_mut().unwrap() {
        let object = tenant.as_object_mut().unwrap();
        let node = object
            .remove("node")
            .map(|n| n.as_str().unwrap().to_string());
        nodes.push((object["tenant"].as_str().unwrap_or("").to_string(), node));
    }
    (json, nodes)
}

/// The node of each distributed schema, as Citus's own view says.
async fn nodes_by_citus(cluster: &Cluster, database: &str) -> Vec<(String, String)> {
    let mut conn = cluster.coordinator(database).await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT split_part(table_name::text, '.', 1), nodename || ':' || nodeport
           FROM citus_shards WHERE citus_table_type = 'schema' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.ok();
    rows
}

async fn plain_server() -> TestDatabase {
    let db = TestDatabase::empty().await;
    db.run_sql(&fixture(None)).await;
    db
}

/// A new database `name` on the cluster with `sql` run in it, and the
/// kind Citus gave each table (`citus_tables`). One statement at a time:
/// Citus passes some DDL on to the workers as its whole query string,
/// which may then hold one command only.
async fn load(cluster: &Cluster, name: &str, sql: &str) -> Vec<(String, String)> {
    cluster.database(name).await;
    let mut conn = cluster.coordinator(name).await;
    for statement in sql.split(";\n") {
        if !statement.trim().is_empty() {
            run(&mut conn, statement).await;
        }
    }
    let kinds: Vec<(String, String)> =
        sqlx::query_as("SELECT table_name::text, citus_table_type FROM citus_tables ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.ok();
    kinds
}

async fn citus_database(cluster: &Cluster, name: &str, users: Users) -> String {
    let kinds = load(cluster, name, &fixture(Some(users))).await;
    // The layout is what the test means: tenant tables distributed per
    // schema, users kept as asked.
    assert_eq!(
        kinds.iter().filter(|(_, kind)| kind == "schema").count(),
        2 * (DEMO_TENANTS + SHOPS),
        "{kinds:?}"
    );
    let users_kind = kinds
        .iter()
        .find(|(t, _)| t == "users")
        .map(|(_, k)| k.as_str());
    match users {
        Users::Reference => assert_eq!(users_kind, Some("reference")),
        Users::Local => assert_eq!(users_kind, None, "users stays a plain local table"),
    }
    cluster.url(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_citus_answers_as_on_one_server() {
    let Some(kit) = citus_kit() else {
        return;
    };
    let cluster = Cluster::start(&kit, 2);
    let plain = plain_server().await;
    for (name, users) in [
        ("ref_users", Users::Reference),
        ("local_users", Users::Local),
    ] {
        let url = citus_database(&cluster, name, users).await;
        for command in commands() {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let one = cli(&plain.url, &args);
            let citus = cli(&url, &args);
            assert_eq!(
                citus.status.code(),
                one.status.code(),
                "{users:?} {command:?}: {}",
                stderr(&citus)
            );
            assert_eq!(stdout(&citus), stdout(&one), "{users:?} {command:?}");
            assert_eq!(stderr(&citus), stderr(&one), "{users:?} {command:?}");
        }
        // The shops' sku decided on the nodes: filled at shop_07, not at
        // shop_02 (the answers above are one server's too).
        let rule = |other: &str| {
            let args = ["orders", "s3_1", "--compare", other, "--format", "json"];
            let out: serde_json::Value = serde_json::from_str(&stdout(&cli(&url, &args))).unwrap();
            out["items_match"].clone()
        };
        assert_eq!(rule("shop_07")["rule"], "sku");
        let passed = rule("shop_02");
        assert_eq!(passed["rule"], "description", "{passed}");
        let why = passed["why"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("the sku column names not every item"),
            "{why}"
        );
        // Row counts: the shards' estimates, labelled as such (~), the
        // same as one server's after ANALYZE; not the coordinator's 0.
        let health = stdout(&cli(&url, &["health"]));
        let shop = health.lines().find(|l| l.starts_with("shop_01 ")).unwrap();
        assert!(shop.contains("~5") && shop.contains("~7"), "{health}");

        // tenants: the same, each tenant with the node Citus puts it on.
        let (one_json, one_nodes) = tenants_and_nodes(&plain.url);
        let (citus_json, citus_nodes) = tenants_and_nodes(&url);
        assert_eq!(citus_json, one_json);
        assert!(one_nodes.iter().all(|(_, node)| node.is_none()));
        let expected = nodes_by_citus(&cluster, name).await;
        assert_eq!(expected.len(), DEMO_TENANTS + SHOPS);
        for (tenant, node) in &citus_nodes {
            let want = expected.iter().find(|(t, _)| t == tenant).map(|(_, n)| n);
            assert_eq!(node.as_ref(), want, "{tenant}");
        }
        let workers: Vec<String> = (1..=cluster.workers).map(|i| cluster.node(i)).collect();
        assert!(
            workers.iter().all(|w| expected.iter().any(|(_, n)| n == w)),
            "tenants on every worker: {expected:?}"
        );
        let table = stdout(&cli(&url, &["tenants"]));
        assert!(table.lines().next().unwrap().ends_with("NODE"), "{table}");

        // detect names the distributed schemas and their nodes; its
        // configuration, read back, gives the same answers.
        let detect = cli(&url, &["detect"]);
        assert!(detect.status.success(), "{}", stderr(&detect));
        let why = stderr(&detect);
        assert!(why.contains("layout: citus"), "{why}");
        assert!(
            why.contains(&format!("{} distributed schemas", DEMO_TENANTS + SHOPS)),
            "{why}"
        );
        for worker in &workers {
            let on_it: Vec<&String> = expected
                .iter()
                .filter(|(_, n)| n == worker)
                .map(|(t, _)| t)
                .collect();
            let line = why
                .lines()
                .find(|l| l.contains(&format!("citus node {worker}:")))
                .unwrap_or_else(|| panic!("no line for {worker}: {why}"));
            assert!(
                line.contains(&tenantscope::text::plural(on_it.len(), "schema", "schemas")),
                "{line}"
            );
            for tenant in on_it {
                assert!(line.contains(&format!("\"{tenant}\"")), "{line}");
            }
        }
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(config.path(), stdout(&detect)).unwrap();
        let config = config.path().to_str().unwrap();
        for args in [
            &["orders", "s5_2"][..],
            &["health", "--leaks", "shop_01"],
            &["prices"],
        ] {
            let detected = cli(&url, args);
            let mut configured_args = vec!["--config", config];
            configured_args.extend_from_slice(args);
            let configured = cli(&url, &configured_args);
            assert!(configured.status.success(), "{}", stderr(&configured));
            assert_eq!(stdout(&configured), stdout(&detected), "{args:?}");
        }

        // The dashboard's orders pane, for every user with a tenant; the
        // header names the node holding the user's tenant.
        let options = cluster.options(0, name);
        let db = Database::connect(&ConnectionSource::demo(options), &Settings::default())
            .await
            .unwrap();
        let mut conn = cluster.coordinator(name).await;
        let tenant_of: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, organization_id FROM public.users")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        conn.close().await.ok();
        for (id, exists) in fixture_users() {
            if !exists {
                continue;
            }
            let mut app = start_app_on_user(db.clone(), &id, None, (140, 40)).await;
            let frame = app
                .frame_where(&format!("orders of {id}"), |f| {
                    f.contains("Total") || f.contains("Error")
                })
                .await;
            assert!(!frame.contains("Error"), "{users:?} user {id}:\n{frame}");
            let tenant = tenant_of.iter().find(|(u, _)| *u == id).unwrap().1.clone();
            let node = expected
                .iter()
                .find(|(t, _)| Some(t) == tenant.as_ref())
                .map(|(_, n)| n)
                .unwrap_or_else(|| panic!("no node for user {id}'s tenant {tenant:?}"));
            let header = frame.lines().next().unwrap_or("");
            assert!(
                header.contains(&format!("node {node}")),
                "user {id}: {header}"
            );
            app.handle.abort();
        }
        // The tenants pane: a Node column, each tenant's node.
        let mut app = start_app_on_user(db.clone(), "1", None, (160, 60)).await;
        app.press(crossterm::event::KeyCode::Char('T'));
        let frame = app
            .frame_where("the tenants pane with nodes", |f| {
                f.contains("Node") && f.contains("shop_01")
            })
            .await;
        // The table's rows: below its header row.
        let rows: Vec<&str> = frame.lines().skip_while(|l| !l.contains("Node")).collect();
        for (tenant, node) in &expected {
            let line = rows
                .iter()
                .find(|l| l.split_whitespace().any(|w| w == tenant))
                .unwrap_or_else(|| panic!("{tenant} not in\n{frame}"));
            assert!(line.contains(node.as_str()), "{tenant} on {node}: {line}");
        }
        app.handle.abort();
        db.close().await;
    }
}

/// A statement Citus refuses keeps the server's DETAIL and HINT, and the
/// dashboard offers no retry for it (the same query would fail again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_statement_keeps_detail_and_hint_and_offers_no_retry() {
    let Some((cluster, url)) = reference_cluster("refused").await else {
        return;
    };
    // A join of two tenant schemas, as the orders query once was: a view
    // that the orders query reads as the items table of client1.
    on_coordinator(
        &cluster,
        "refused",
        "ALTER TABLE client1.items RENAME TO items_own;
         CREATE VIEW client1.items AS
           SELECT o.id, o.description, coalesce(t.price, o.price) AS price
             FROM client1.items_own o LEFT JOIN client2.items t USING (id);",
    )
    .await;
    let out = cli(&url, &["orders", "1", "--compare", "client3"]);
    assert_ne!(out.status.code(), Some(0));
    let error = stderr(&out);
    assert!(
        error.contains("DETAIL:") || error.contains("HINT:"),
        "{error}"
    );
    assert_eq!(error.trim_end().lines().count(), 1, "{error}");

    let options = cluster.options(0, "refused");
    let db = Database::connect(&ConnectionSource::demo(options), &Settings::default())
        .await
        .unwrap();
    let mut app = start_app_on_user(db.clone(), "1", None, (140, 40)).await;
    let frame = app
        .frame_where("the refused orders", |f| f.contains("Error:"))
        .await;
    assert!(
        frame.contains("DETAIL:") || frame.contains("HINT:"),
        "{frame}"
    );
    assert!(!frame.contains("retry"), "{frame}");
    app.handle.abort();
    db.close().await;
}

/// A comparison tenant whose items view fails at run time on the nodes
/// (it divides by zero): the own lines stand and the comparison is said
/// to be unreadable, in text, JSON and CSV, as on one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_failing_on_the_nodes_leaves_the_own_lines_as_on_one_server() {
    let Some((cluster, url)) = reference_cluster("viewfail").await else {
        return;
    };
    let broken = "ALTER TABLE client2.items RENAME TO items_stored;
                  CREATE VIEW client2.items AS
                      SELECT id, description, price / 0 AS price FROM client2.items_stored;";
    on_coordinator(&cluster, "viewfail", broken).await;
    let plain = TestDatabase::reference().await;
    plain.run_sql(broken).await;
    for format in ["table", "json", "csv"] {
        let args = ["orders", "1", "--compare", "client2", "--format", format];
        let one = cli(&plain.url, &args);
        let citus = cli(&url, &args);
        assert_eq!(one.status.code(), Some(0), "{format}: {}", stderr(&one));
        assert_eq!(citus.status.code(), Some(0), "{format}: {}", stderr(&citus));
        assert_eq!(stdout(&citus), stdout(&one), "{format}");
        assert!(
            stdout(&citus).contains("its items could not be read"),
            "{format}: {}",
            stdout(&citus)
        );
    }
}

/// Tenants whose items tables have no primary key and repeat ids
/// (`common::DUPLICATE_ITEM_IDS`), as distributed schemas: the orders
/// query joins their items one per id (a subquery over the one schema)
/// and answers as on one server, one line per order, the CLI's stream,
/// the basket, and the dashboard's pages and server totals alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_item_ids_answer_as_on_one_server() {
    let Some(kit) = citus_kit() else {
        return;
    };
    let cluster = Cluster::start(&kit, 2);
    let name = "dupids";
    let [init, populate, _] = tenantscope::embedded::DEMO_SQL.map(|(_, sql)| sql.to_string());
    let sql = format!(
        "{}{populate}{}",
        init.replace(" REFERENCES public.users (id)", ""),
        common::DUPLICATE_ITEM_IDS
    );
    let kinds = load(&cluster, name, &sql).await;
    for table in ["dupids.items", "twins.items"] {
        assert!(
            kinds.iter().any(|(t, k)| t == table && k == "schema"),
            "{table} distributed by schema: {kinds:?}"
        );
    }
    let plain = TestDatabase::reference().await;
    plain.run_sql(common::DUPLICATE_ITEM_IDS).await;
    let url = cluster.url(name);
    for args in [
        &["orders", "80", "--compare", "client1"][..],
        &["orders", "80", "--compare", "client1", "--format", "json"],
        &["orders", "81", "--compare", "client2", "--format", "csv"],
        &["orders", "82"],
        &["basket", "80"],
        &["basket", "81", "--format", "json"],
        // dupids as the comparison: its Tesla rows (id 1) at 10 and 20.
        &["orders", "1", "--compare", "dupids", "--format", "json"],
        &["basket", "1", "--format", "json"],
        &["prices", "--format", "csv"],
    ] {
        let one = cli(&plain.url, args);
        let citus = cli(&url, args);
        assert_eq!(one.status.code(), Some(0), "{args:?}: {}", stderr(&one));
        assert_eq!(citus.status.code(), Some(0), "{args:?}: {}", stderr(&citus));
        assert_eq!(stdout(&citus), stdout(&one), "{args:?}");
    }
    let table = stdout(&cli(&url, &["orders", "80", "--compare", "client1"]));
    assert!(
        table.contains("Total unknown: 3 lines without a total"),
        "{table}"
    );
    assert!(table.contains("price is ambiguous"), "{table}");
    let compared = stdout(&cli(&url, &["orders", "1", "--compare", "dupids"]));
    let tesla = compared.lines().find(|l| l.starts_with("Tesla")).unwrap();
    assert!(tesla.contains("ambiguous"), "{compared}");

    // The dashboard's reads: a keyset page and the server's aggregate.
    let db = Database::connect(
        &ConnectionSource::demo(cluster.options(0, name)),
        &Settings::default(),
    )
    .await
    .unwrap();
    for id in ["80", "81", "82"] {
        let user = db.user(id).await.unwrap();
        let report = db.priced_orders(&user, Some("client1")).await.unwrap();
        let page = db
            .orders_page(
                &user,
                Some("client1"),
                &tenantscope::db::Page::First,
                100,
                None,
            )
            .await
            .unwrap();
        let lines: Vec<_> = page.into_iter().map(|l| l.line).collect();
        assert_eq!(lines, report.lines, "user {id}");
        let totals = db
            .orders_totals(&user, Some("client1"), None)
            .await
            .unwrap();
        assert_eq!(totals, report.totals, "user {id}");
    }
    db.close().await;
}

/// `CREATE EXTENSION citus` turns TLS on with a self-signed X.509 version
/// 1 certificate. With the coordinator refusing TCP without TLS, the
/// default settings (no sslmode: prefer) and `require` connect and answer
/// as `sslmode=disable` did before, as psql (libpq) connects; `disable`
/// is refused in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_settings_connect_to_the_coordinators_own_certificate() {
    let Some(kit) = citus_kit() else {
        return;
    };
    let cluster = Cluster::start(&kit, 1);
    let plain_url = citus_database(&cluster, "tls", Users::Reference).await;
    let before = cli(&plain_url, &["users"]);
    assert!(before.status.success(), "{}", stderr(&before));

    let node0 = cluster.dir.path().join("node0");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(node0.join("server.crt"))
        .output()
        .expect("run openssl");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Version: 1 "),
        "not a v1 certificate:\n{text}"
    );

    // TCP only with TLS from now on (Citus's own connections use TLS too).
    std::fs::write(
        node0.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    let mut conn = cluster.coordinator("tls").await;
    run(&mut conn, "SELECT pg_reload_conf()").await;
    conn.close().await.ok();
    // The reload is done once a connection without TLS is refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while PgConnection::connect_with(&cluster.options(0, "tls"))
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "pg_hba.conf not reloaded"
        );
        tokio::task::yield_now().await;
    }

    let psql = tenantscope::embedded::find_binaries()
        .expect("PostgreSQL binaries")
        .join("psql");
    let base = format!("postgres://postgres@127.0.0.1:{}/tls", cluster.port);
    for (query, connects) in [
        ("", true),
        ("?sslmode=prefer", true),
        ("?sslmode=require", true),
        ("?sslmode=disable", false),
    ] {
        let url = format!("{base}{query}");
        let by_psql = Command::new(&psql)
            .args(["-X", "-w", "-At", "-c", "SELECT 1", &url])
            .env_remove("PGSSLMODE")
            .output()
            .unwrap();
        assert_eq!(by_psql.status.success(), connects, "psql {url}");
        let out = cli(&url, &["users"]);
        if connects {
            assert!(out.status.success(), "{url}: {}", stderr(&out));
            assert_eq!(stdout(&out), stdout(&before), "{url}");
        } else {
            assert_ne!(out.status.code(), Some(0), "{url}");
            assert_eq!(
                stderr(&out).trim_end().lines().count(),
                1,
                "{}",
                stderr(&out)
            );
        }
    }
}

/// The coordinator's log: lines of errors that mean a worker did not
/// answer (stopped: refused; frozen: a connection or statement timeout).
fn node_faults_logged(cluster: &Cluster) -> usize {
    let log = std::fs::read_to_string(cluster.dir.path().join("node0.log")).unwrap_or_default();
    log.lines()
        .filter(|l| {
            l.contains("ERROR:")
                && (l.contains("canceling statement due to statement timeout")
                    || l.contains("could not establish any connections to the node")
                    || l.contains("connection to the remote node"))
        })
        .count()
}

/// Every process of node `i` (its postmaster and the backends serving
/// the coordinator's cached connections), for SIGSTOP and SIGCONT.
fn node_processes(cluster: &Cluster, i: u16) -> Vec<nix::unistd::Pid> {
    let postmaster = postmaster_pid(cluster.dir.path(), i).expect("node running");
    let children = Command::new("pgrep")
        .args(["-P", &postmaster.to_string()])
        .output()
        .expect("run pgrep");
    let mut pids = vec![postmaster];
    pids.extend(
        String::from_utf8_lossy(&children.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(nix::unistd::Pid::from_raw),
    );
    pids
}

/// `health --leaks`'s own part: from its heading to the blank line after.
fn leaks_section(health: &str) -> String {
    health
        .lines()
        .skip_while(|l| !l.starts_with("Orders in "))
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// (tenant, item key) → price.
type Cells = std::collections::BTreeMap<(String, String), serde_json::Value>;

/// `prices --format json`: each tenant's price per item key, and the
/// failed tenants with their errors.
fn prices_by_tenant(url: &str, config: &str) -> (Cells, Vec<(String, String)>) {
    let out = cli(url, &["--config", config, "prices", "--format", "json"]);
    assert!(out.status.success(), "prices: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut cells = std::collections::BTreeMap::new();
    for item in json["items"].as_array().unwrap() {
        let key = item["key"].as_str().unwrap().to_string();
        for (tenant, price) in item["prices"].as_object().unwrap() {
            cells.insert((tenant.clone(), key.clone()), price.clone());
        }
    }
    let failed = json["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["tenant"].as_str().unwrap().to_string(),
                f["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (cells, failed)
}

/// Faults per node: with worker 2 stopped, then frozen (every process of
/// it stopped with SIGSTOP) mid-session, `prices` names exactly worker 2's
/// tenants as failed, each with its node, after one refusal or one
/// timeout for the whole node (counted in the coordinator's log), and
/// prices worker 1's tenants as before; `health` answers, worker 2's row
/// counts unknown; `tenants` answers with every node. A session opened
/// before the freeze (the dashboard's pool, its worker connections
/// cached) does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_or_frozen_worker_costs_one_timeout_and_names_its_tenants() {
    let Some((cluster, url)) = reference_cluster("faults").await else {
        return;
    };
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[database]\nstatement_timeout_ms = 3000\n").unwrap();
    let config = config.path().to_str().unwrap();
    let nodes = nodes_by_citus(&cluster, "faults").await;
    let (worker1, worker2) = (cluster.node(1), cluster.node(2));
    let on = |node: &str| -> Vec<String> {
        nodes
            .iter()
            .filter(|(_, n)| n == node)
            .map(|(t, _)| t.clone())
            .collect()
    };
    let (healthy_tenants, lost_tenants) = (on(&worker1), on(&worker2));
    assert!(
        !healthy_tenants.is_empty() && lost_tenants.len() > 1,
        "{nodes:?}"
    );
    let (all_prices, failed) = prices_by_tenant(&url, config);
    assert!(failed.is_empty(), "{failed:?}");
    let tenants_before = stdout(&cli(&url, &["--config", config, "tenants"]));
    let health_before = stdout(&cli(&url, &["--config", config, "health"]));
    let leaks_before = stdout(&cli(
        &url,
        &["--config", config, "health", "--leaks", &healthy_tenants[0]],
    ));
    assert!(
        leaks_section(&leaks_before).contains(&format!("Orders in {}", healthy_tenants[0])),
        "{leaks_before}"
    );

    // The dashboard's session, its worker connections warm.
    let mut settings = Settings::default();
    settings.database.statement_timeout_ms = 3000;
    let db = Database::connect(
        &ConnectionSource::demo(cluster.options(0, "faults")),
        &settings,
    )
    .await
    .unwrap();
    let names: Vec<String> = nodes.iter().map(|(t, _)| t.clone()).collect();
    assert!(db.price_matrix(&names).await.unwrap().failed.is_empty());

    let check = |what: &str, faults_before: usize| {
        let (prices, failed) = prices_by_tenant(&url, config);
        let faults = node_faults_logged(&cluster) - faults_before;
        assert_eq!(faults, 1, "{what}: one refusal or timeout for the node");
        let mut named: Vec<String> = failed.iter().map(|(t, _)| t.clone()).collect();
        named.sort();
        let mut lost = lost_tenants.clone();
        lost.sort();
        assert_eq!(named, lost, "{what}: {failed:?}");
        for (tenant, error) in &failed {
            assert!(
                error.contains(&format!("on node {worker2}")),
                "{what} {tenant}: {error}"
            );
        }
        for ((tenant, key), price) in &all_prices {
            if healthy_tenants.contains(tenant) {
                assert_eq!(
                    prices.get(&(tenant.clone(), key.clone())),
                    Some(price),
                    "{what}"
                );
            }
        }
        let tenants = cli(&url, &["--config", config, "tenants"]);
        assert_eq!(
            stdout(&tenants),
            tenants_before,
            "{what}: {}",
            stderr(&tenants)
        );
        let health = cli(&url, &["--config", config, "health"]);
        assert!(health.status.success(), "{what}: {}", stderr(&health));
        let health = stdout(&health);
        for tenant in &healthy_tenants {
            let line = |text: &str| {
                text.lines()
                    .find(|l| l.split_whitespace().next() == Some(tenant.as_str()))
                    .map(str::to_string)
            };
            assert_eq!(line(&health), line(&health_before), "{what}: {health}");
        }
        for tenant in &lost_tenants {
            let line = health
                .lines()
                .find(|l| l.split_whitespace().next() == Some(tenant.as_str()))
                .unwrap_or_else(|| panic!("{what}: {tenant} not in {health}"));
            assert!(line.contains('?') && !line.contains('~'), "{what}: {line}");
        }
        // The node is named, with exactly its tenants.
        let named = health
            .lines()
            .find(|l| l.contains(&format!("node {worker2} did not answer")))
            .unwrap_or_else(|| panic!("{what}: no line naming {worker2}: {health}"));
        let listed: Vec<&str> = named.rsplit(": ").next().unwrap().split(", ").collect();
        let mut lost = lost_tenants.clone();
        lost.sort();
        assert_eq!(listed, lost, "{what}: {named}");
        assert!(
            !health.contains(&format!("node {worker1}")),
            "{what}: {health}"
        );
        // One tenant's statements (leaks, orders) name the node too; a
        // tenant elsewhere answers as before.
        let shop = lost
            .iter()
            .find_map(|t| t.strip_prefix("shop_"))
            .expect("a shop on worker 2");
        let user = format!("s{}_1", shop.trim_start_matches('0'));
        let leaks_args = ["--config", config, "health", "--leaks", &lost[0]];
        let orders_args = ["--config", config, "orders", &user];
        for args in [&leaks_args[..], &orders_args] {
            let out = cli(&url, args);
            let error = stderr(&out);
            assert_ne!(out.status.code(), Some(0), "{what} {args:?}");
            assert_eq!(error.trim_end().lines().count(), 1, "{what}: {error}");
            assert!(
                error.contains(&format!("on node {worker2}")),
                "{what} {args:?}: {error}"
            );
        }
        let healthy_leaks = cli(
            &url,
            &["--config", config, "health", "--leaks", &healthy_tenants[0]],
        );
        assert_eq!(
            leaks_section(&stdout(&healthy_leaks)),
            leaks_section(&leaks_before),
            "{what}: {}",
            stderr(&healthy_leaks)
        );
    };
    // The dashboard's health view names the node too.
    let health_view = |db: Database| async move {
        let mut app = start_app_on_user(db, "1", None, (200, 40)).await;
        app.press(crossterm::event::KeyCode::Char('t'));
        let frame = app
            .frame_where("the health view", |f| {
                f.contains("Tenant health") && f.contains("tenants ·")
            })
            .await;
        app.handle.abort();
        frame
    };
    let frame = health_view(db.clone()).await;
    assert!(!frame.contains("did not answer"), "{frame}");

    // Stopped.
    // As cluster.sh does: the server runs as postgres when we are root.
    let pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl";
    let mut stop = if nix::unistd::geteuid().is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", pg_ctl]);
        command
    } else {
        Command::new(pg_ctl)
    };
    let out = stop
        .arg("-D")
        .arg(cluster.dir.path().join("node2"))
        .args(["-m", "fast", "-w", "stop"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "worker 2 did not stop: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check("stopped", node_faults_logged(&cluster));
    let frame = health_view(db.clone()).await;
    assert!(
        frame.contains(&format!("node {worker2} did not answer")),
        "{frame}"
    );
    let before = node_faults_logged(&cluster);
    let matrix = db.price_matrix(&names).await.unwrap();
    assert_eq!(
        node_faults_logged(&cluster) - before,
        1,
        "stopped, mid-session"
    );
    assert_eq!(
        matrix.failed.len(),
        lost_tenants.len(),
        "{:?}",
        matrix.failed
    );

    // Started again, then frozen mid-session.
    let out = Command::new(cluster.kit.join("cluster.sh"))
        .arg("start")
        .arg(cluster.dir.path())
        .arg(cluster.port.to_string())
        .arg(cluster.workers.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.price_matrix(&names).await.unwrap().failed.is_empty());
    let frozen = node_processes(&cluster, 2);
    for pid in &frozen {
        nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    }
    check("frozen", node_faults_logged(&cluster));
    let before = node_faults_logged(&cluster);
    let matrix = db.price_matrix(&names).await.unwrap();
    assert_eq!(
        node_faults_logged(&cluster) - before,
        1,
        "frozen, mid-session"
    );
    assert_eq!(
        matrix.failed.len(),
        lost_tenants.len(),
        "{:?}",
        matrix.failed
    );
    for failure in &matrix.failed {
        assert!(failure.error.contains(&worker2), "{failure:?}");
    }
    for pid in &frozen {
        nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGCONT).ok();
    }
    db.close().await;
}

/// Backends of `database` on one node other than the asking one and
/// Citus's own daemons: (pid, query start as epoch seconds), those
/// matching `condition`.
async fn backends(conn: &mut PgConnection, database: &str, condition: &str) -> Vec<(i32, f64)> {
    sqlx::query_as(&format!(
        "SELECT pid, extract(epoch FROM query_start)::float8 FROM pg_stat_activity
          WHERE datname = '{database}' AND pid <> pg_backend_pid()
            AND backend_type = 'client backend' AND query_start IS NOT NULL
            AND {condition}"
    ))
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Cancel under churn: with every tenant's shards locked on the workers,
/// the dashboard's orders load for each new selection waits there; moving
/// the selection on, again and again, leaves at each step exactly one
/// statement running on the coordinator (a newer one) and exactly one
/// waiting on the workers (its part, newer too): each superseded load was
/// stopped on the coordinator and on its worker. Once unlocked, the pane
/// shows the current selection's orders, as the CLI prints them; and no
/// statement is left running on any node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_loads_are_cancelled_on_the_coordinator_and_the_workers() {
    let Some((cluster, url)) = reference_cluster("churn").await else {
        return;
    };
    // Every tenant shard, locked on its worker by a session of its own
    // (Citus refuses a lock on a shard unless manual changes are allowed).
    let mut conn = cluster.coordinator("churn").await;
    let shards: Vec<(String, i32)> = sqlx::query_as(
        "SELECT shard_name::text, nodeport FROM citus_shards
          WHERE citus_table_type = 'schema' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.ok();
    let mut lockers = Vec::new();
    let mut watchers = Vec::new();
    for worker in 1..=cluster.workers {
        let port = i32::from(cluster.port + worker);
        let names: Vec<&str> = shards
            .iter()
            .filter(|(_, p)| *p == port)
            .map(|(s, _)| s.as_str())
            .collect();
        assert!(!names.is_empty(), "shards on worker {worker}: {shards:?}");
        let mut locker = PgConnection::connect_with(&cluster.options(worker, "churn"))
            .await
            .unwrap();
        run(
            &mut locker,
            &format!(
                "SET citus.enable_manual_changes_to_shards = on;
                 BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                names.join(", ")
            ),
        )
        .await;
        lockers.push(locker);
        watchers.push(
            PgConnection::connect_with(&cluster.options(worker, "churn"))
                .await
                .unwrap(),
        );
    }
    let mut coordinator = cluster.coordinator("churn").await;

    let mut settings = Settings::default();
    // Longer than any wait below: a statement that ends was cancelled.
    settings.database.statement_timeout_ms = 60_000;
    let db = Database::connect(
        &ConnectionSource::demo(cluster.options(0, "churn")),
        &settings,
    )
    .await
    .unwrap();
    let mut app = common::start_app(db.clone(), std::time::Duration::ZERO, (140, 40)).await;
    // The users pane's names in order, and which is selected (▶).
    let users = |frame: &str| -> (Vec<String>, Option<usize>) {
        let rows: Vec<(bool, String)> = frame
            .lines()
            .filter_map(|line| {
                let row = line.strip_prefix('│')?;
                let selected = row.starts_with('▶');
                let name = row.trim_start_matches('▶').split_whitespace().nth(1)?;
                (name != "Name").then(|| (selected, name.to_string()))
            })
            .collect();
        let at = rows.iter().position(|(selected, _)| *selected);
        (rows.into_iter().map(|(_, name)| name).collect(), at)
    };
    let first = app
        .frame_where("the users list", |f| users(f).1.is_some())
        .await;
    let (names, at) = users(&first);
    // Seven moves down (steps 1 to 7 below).
    let name = names[at.unwrap() + 7].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (mut newest_coordinator, mut newest_worker) = (0.0, 0.0);
    for step in 0..8 {
        if step > 0 {
            app.press(crossterm::event::KeyCode::Char('j'));
        }
        // The load's statement: running on the coordinator, its part
        // waiting on a worker; the superseded ones gone from both.
        loop {
            let running = backends(&mut coordinator, "churn", "state = 'active'").await;
            let mut waiting = Vec::new();
            for watcher in watchers.iter_mut() {
                waiting.extend(backends(watcher, "churn", "wait_event_type = 'Lock'").await);
            }
            match (&running[..], &waiting[..]) {
                ([one], [part]) if one.1 > newest_coordinator && part.1 > newest_worker => {
                    newest_coordinator = one.1;
                    newest_worker = part.1;
                    break;
                }
                _ => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "step {step}: coordinator {running:?}, workers {waiting:?} \
                 (newest {newest_coordinator}, {newest_worker})"
            );
            tokio::task::yield_now().await;
        }
    }
    // The selection now: the header names it while its load waits. (A
    // frame drawn before the last move names the one before.)
    app.frame_where("the selection after the churn", |f| {
        f.contains(&format!("Orders of {name} "))
    })
    .await;
    for locker in lockers.iter_mut() {
        run(locker, "ROLLBACK").await;
    }
    let frame = app
        .frame_where("the selection's orders", |f| {
            f.contains(&format!("Orders of {name} "))
                && (f.contains("Total") || f.contains("Error"))
        })
        .await;
    assert!(!frame.contains("Error"), "{frame}");
    let id: String = sqlx::query_scalar("SELECT id FROM public.users WHERE name = $1")
        .bind(&name)
        .fetch_one(&mut coordinator)
        .await
        .unwrap();
    let printed = stdout(&cli(&url, &["orders", &id]));
    let total = printed
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no total for {id}: {printed}"))
        .to_string();
    assert!(
        common::row(&frame, "Total").contains(&total),
        "{name} ({id}): {total} expected\n{frame}"
    );
    app.quit().await;
    db.close().await;
    // Nothing left running on any node.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut left = backends(&mut coordinator, "churn", "state <> 'idle'").await;
        for watcher in watchers.iter_mut() {
            left.extend(backends(watcher, "churn", "state <> 'idle'").await);
        }
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left running: {left:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// Every command's exit code, stdout and stderr on `url`.
fn answers(url: &str) -> Vec<(Vec<String>, Option<i32>, String, String)> {
    commands()
        .into_iter()
        .map(|command| {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let out = cli(url, &args);
            let code = out.status.code();
            (command, code, stdout(&out), stderr(&out))
        })
        .collect()
}

/// Moving a live database onto Citus: the tenant schemas start as plain
/// schemas on the coordinator (`public.users` a local table, as the
/// database was on one server) and are distributed one at a time with
/// `citus_schema_distribute`; after the first, a middle and the last
/// move every command answers as before the move. `health`'s row counts
/// of a schema just moved are `?` until it is analyzed (its shards are
/// new); the test checks that, then runs ANALYZE as an operator would. `tenants` is compared
/// without its Citus-only `node`, which is checked on its own: a moved
/// schema names its worker, one not yet moved names none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_tenant_schemas_onto_citus_one_at_a_time_keeps_every_answer() {
    let Some(kit) = citus_kit() else {
        return;
    };
    let cluster = Cluster::start(&kit, 2);
    let name = "moving";
    cluster.database(name).await;
    let mut conn = cluster.coordinator(name).await;
    // The database as it was on one server: no schema distributed.
    run(&mut conn, "SET citus.enable_schema_based_sharding = off").await;
    for statement in fixture(Some(Users::Local)).split(";\n") {
        if !statement.trim().is_empty() {
            run(&mut conn, statement).await;
        }
    }
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM citus_tables")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tables, 0, "nothing distributed before the move");
    let url = cluster.url(name);
    let before = answers(&url);
    assert!(before.iter().all(|(c, code, _, e)| {
        // Only the user without a tenant schema may fail, as on one server.
        *code == Some(0) || c.get(1).map(String::as_str) == Some("4") || e.is_empty()
    }));
    let (tenants_before, nodes) = tenants_and_nodes(&url);
    assert!(nodes.iter().all(|(_, node)| node.is_none()), "{nodes:?}");

    // A dashboard's connection pool, open across the whole move.
    let db = Database::connect(
        &ConnectionSource::demo(cluster.options(0, name)),
        &Settings::default(),
    )
    .await
    .unwrap();
    let dashboard = |db: Database, id: &'static str, when: &'static str| async move {
        let mut app = start_app_on_user(db, id, None, (140, 40)).await;
        let frame = app
            .frame_where(&format!("orders of {id} {when}"), |f| {
                f.contains("Error")
                    || (f.contains("Total") && f.contains(" · as of ") && !f.contains("loading"))
            })
            .await;
        assert!(!frame.contains("Error"), "user {id} {when}:\n{frame}");
        app.handle.abort();
        frame
    };
    let mut panes = Vec::new();
    for id in ["1", "s1_1", "s16_1"] {
        panes.push(dashboard(db.clone(), id, "before the move").await);
    }

    let mut schemas: Vec<String> = (1..=DEMO_TENANTS).map(|k| format!("client{k}")).collect();
    schemas.extend((1..=SHOPS).map(|k| format!("shop_{k:02}")));
    let checked = [0, schemas.len() / 2, schemas.len() - 1];
    for (step, schema) in schemas.iter().enumerate() {
        run(
            &mut conn,
            &format!("SELECT citus_schema_distribute('{schema}')"),
        )
        .await;
        if checked.contains(&step) {
            // The new shards on the worker were never analyzed (and, below
            // autovacuum's 50-row threshold, never will be on their own):
            // their row counts are unknown, shown as `?`, not a wrong 0.
            let health = stdout(&cli(&url, &["health"]));
            let line = health
                .lines()
                .find(|l| l.starts_with(&format!("{schema} ")))
                .unwrap_or_else(|| panic!("{schema} not in {health}"));
            let counts: Vec<&str> = line.split_whitespace().skip(3).collect();
            assert_eq!(counts, ["?", "?"], "{line}");
        }
        // What an operator does after moving a schema: ANALYZE it (Citus
        // passes it on to the shards); the estimates are back.
        run(
            &mut conn,
            &format!("ANALYZE {schema}.items, {schema}.orders"),
        )
        .await;
        if !checked.contains(&step) {
            continue;
        }
        let moved = &schemas[..=step];
        let now = answers(&url);
        for (was, is) in before.iter().zip(&now) {
            assert_eq!(is, was, "after moving {moved:?}");
        }
        let (tenants_now, nodes) = tenants_and_nodes(&url);
        assert_eq!(tenants_now, tenants_before, "after moving {moved:?}");
        let by_citus = nodes_by_citus(&cluster, name).await;
        assert_eq!(by_citus.len(), moved.len(), "{by_citus:?}");
        for (tenant, node) in &nodes {
            let want = by_citus.iter().find(|(t, _)| t == tenant).map(|(_, n)| n);
            assert_eq!(node.as_ref(), want, "{tenant} after moving {moved:?}");
        }
    }
    // The same pool, its connections opened before the move: the same
    // orders panes, now with the node in the header (the header and the
    // status line, with its timings, are left out of the comparison).
    for (id, before) in ["1", "s1_1", "s16_1"].into_iter().zip(&panes) {
        let after = dashboard(db.clone(), id, "after the move").await;
        // Not the header (it gains the node) nor the status line (timings).
        let body = |f: &str| {
            f.lines()
                .skip(1)
                .filter(|l| !l.contains(" · as of "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let differ: Vec<(String, String)> = body(&after)
            .into_iter()
            .zip(body(before))
            .filter(|(a, b)| a != b)
            .collect();
        assert!(differ.is_empty(), "user {id}: {differ:#?}");
        assert!(
            after.lines().next().unwrap().contains("node 127.0.0.1:"),
            "{after}"
        );
    }
    db.close().await;
    conn.close().await.ok();
}
