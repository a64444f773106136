//! The layouts real frameworks create (sql/fixtures/, each built from the
//! framework's own DDL with two healthy tenants and planted anomalies):
//! detection with no configuration, the `detect` round trip, and users and
//! orders per layout, on the private test server.

mod common;

use common::{stderr, stdout, tenantscope};
use serde_json::Value as Json;
use tenantscope::embedded::testing::TestDatabase;

async fn fixture(name: &str) -> TestDatabase {
    let db = TestDatabase::empty().await;
    let path = format!("{}/sql/fixtures/{name}.sql", env!("CARGO_MANIFEST_DIR"));
    db.run_sql(&std::fs::read_to_string(path).unwrap()).await;
    db
}

fn run(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    tenantscope(&all)
}

/// stdout of a command that must succeed.
fn ok(db: &TestDatabase, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json(db: &TestDatabase, args: &[&str]) -> Json {
    serde_json::from_str(&ok(db, args)).unwrap()
}

/// `detect`: the TOML (parsed) and the explanation.
fn detect(db: &TestDatabase) -> (toml::Table, String) {
    let out = run(db, &["detect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model: toml::Table = stdout(&out).parse().unwrap();
    let tenancy = model["tenancy"].as_table().unwrap().clone();
    (tenancy, stderr(&out))
}

/// The first object of a JSON list whose `field` is `value`.
fn find<'a>(list: &'a Json, field: &str, value: &str) -> Option<&'a Json> {
    list.as_array()?.iter().find(|o| o[field] == value)
}

fn names(users: &Json, field: &str) -> Vec<String> {
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u[field].as_str().unwrap_or("").to_string())
        .collect()
}

/// The same commands, with no config and with `detect`'s TOML as config,
/// print the same.
fn assert_round_trip(db: &TestDatabase, commands: &[&[&str]]) {
    let toml = ok(db, &["detect"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("detected.toml");
    std::fs::write(&config, &toml).unwrap();
    let config = config.to_str().unwrap();
    for command in commands {
        let detected = run(db, command);
        let mut with_config = vec!["--config", config];
        with_config.extend_from_slice(command);
        let configured = run(db, &with_config);
        assert_eq!(
            (detected.status.code(), stdout(&detected), stderr(&detected)),
            (
                configured.status.code(),
                stdout(&configured),
                stderr(&configured)
            ),
            "{command:?} differs with the detected config:\n{toml}"
        );
    }
    // Read back, the config detects nothing more: detect prints it again.
    assert_eq!(ok(db, &["--config", config, "detect"]), toml);
}

#[tokio::test]
async fn django_tenants_is_detected_with_its_anomalies() {
    let db = fixture("django_tenants").await;
    let (model, why) = detect(&db);
    assert_eq!(model["layout"].as_str(), Some("django-tenants"));
    assert_eq!(model["registry_table"].as_str(), Some("customers_client"));
    assert_eq!(model["registry_schema"].as_str(), Some("schema_name"));
    assert_eq!(model["registry_label"].as_str(), Some("name"));
    assert_eq!(model["users"].as_str(), Some("per_tenant"));
    assert_eq!(model["users_table"].as_str(), Some("auth_user"));
    assert_eq!(model["user_name"].as_str(), Some("username"));
    assert_eq!(model["user_mail"].as_str(), Some("email"));
    assert_eq!(model["items_table"].as_str(), Some("shop_item"));
    assert_eq!(model["item_label"].as_str(), Some("name"));
    assert_eq!(model["orders_table"].as_str(), Some("shop_order"));
    assert_eq!(model["ledger_table"].as_str(), Some("django_migrations"));
    assert_eq!(model["ignore_schemas"].as_array().unwrap().len(), 1);
    assert!(
        why.contains("registered but no schema: \"initech\""),
        "{why}"
    );
    assert!(why.contains("schema nobody registered: \"hooli\""), "{why}");
    assert!(
        why.contains("2 tenant schemas: \"acme\", \"globex\""),
        "{why}"
    );
}

/// A registry label that is another tenant's schema name (hooli
/// registered as `acme` beside schema acme, `Acme Corp`) is shown with
/// its schema wherever the two could be confused: `orders`' heading read
/// `in tenant Acme Corp, compared with acme`, and `users` listed a
/// hooli user under `acme`.
#[tokio::test]
async fn a_label_naming_another_tenants_schema_is_told_apart() {
    let db = fixture("django_tenants").await;
    db.run_sql(
        "INSERT INTO public.customers_client (schema_name, name, paid_until, on_trial, created_on)
         VALUES ('hooli', 'acme', '2099-12-31', false, '2024-01-05');
         INSERT INTO hooli.auth_user (password, is_superuser, username, first_name, last_name,
                                      email, is_staff, is_active, date_joined)
         VALUES ('x', false, 'hank', 'Hank', 'H', 'hank@hooli.test', false, true,
                 '2024-03-04 09:00+00');",
    )
    .await;
    let tenants = ok(&db, &["tenants"]);
    assert!(tenants.contains("acme (hooli)"), "{tenants}");
    let users = ok(&db, &["users", "--filter", "hank"]);
    assert!(users.contains("acme (hooli)"), "{users}");
    let orders = ok(
        &db,
        &["orders", "1", "--tenant", "Acme Corp", "--compare", "hooli"],
    );
    let heading = orders.lines().next().unwrap_or_default();
    assert!(heading.contains("compared with acme (hooli)"), "{orders}");
}

#[tokio::test]
async fn django_tenants_users_and_orders_by_tenant_key_label_or_schema() {
    let db = fixture("django_tenants").await;
    for name in ["acme", "Acme Corp", "2"] {
        let users = json(&db, &["users", "--tenant", name, "--format", "json"]);
        assert_eq!(names(&users, "name"), ["alice", "bob"], "--tenant {name}");
        assert_eq!(names(&users, "mail"), ["alice@acme.test", "bob@acme.test"]);
        // The tenant as the registry names it, and its schema.
        assert_eq!(names(&users, "tenant"), ["Acme Corp", "Acme Corp"]);
        assert_eq!(names(&users, "schema"), ["acme", "acme"]);
    }
    // User 1 exists in acme and in globex: the tenant must be named, as
    // the registry names them (`--tenant` takes those names).
    let ambiguous = run(&db, &["orders", "1"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(
        stderr(&ambiguous).contains("in several tenants (\"Acme Corp\", \"Globex\")"),
        "{}",
        stderr(&ambiguous)
    );
    let unknown = run(&db, &["users", "--tenant", "umbrella"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("\"Acme Corp (acme)\", \"Globex (globex)\""),
        "{}",
        stderr(&unknown)
    );
    // Registered without a schema: named so, a fault of the database
    // (exit 1), not an unknown name (exit 2).
    let gone = run(&db, &["users", "--tenant", "initech"]);
    assert_eq!(gone.status.code(), Some(1), "{}", stderr(&gone));
    assert!(
        stderr(&gone).contains("schema missing"),
        "{}",
        stderr(&gone)
    );

    // globex numbers its catalogue apart from acme's (no id in common), as
    // a framework's per-schema IDENTITY does once tenants diverge: only
    // the name can pair the Widgets.
    db.run_sql(
        "BEGIN;
         UPDATE globex.shop_item SET id = 1000 - id;
         UPDATE globex.shop_order SET item_id = 1000 - item_id;
         COMMIT;",
    )
    .await;
    let widget_there = db
        .query_text("SELECT price::text FROM globex.shop_item WHERE name = 'Widget'")
        .await;
    let report = json(
        &db,
        &[
            "orders",
            "1",
            "--tenant",
            "acme",
            "--compare",
            "globex",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["user"]["name"], "alice");
    assert_eq!(report["user"]["tenant"], "Acme Corp");
    assert_eq!(report["user"]["schema"], "acme");
    let lines = report["orders"].as_array().unwrap();
    let items: Vec<&str> = lines.iter().map(|l| l["item"].as_str().unwrap()).collect();
    assert_eq!(items, ["Widget", "Gadget"]);
    assert_eq!(lines[0]["quantity"].to_string(), "3");
    assert_eq!(lines[0]["unit_price"].to_string(), "9.99");
    assert_eq!(lines[0]["total"].to_string(), "29.97");
    // globex's Widget, matched by name (ids differ), at its own price.
    assert_eq!(
        lines[0]["compare_unit_price"].as_f64(),
        widget_there.parse::<f64>().ok()
    );
    assert!(
        lines[1]["compare_unit_price"].is_null(),
        "globex sells no Gadget"
    );
}

#[tokio::test]
async fn django_tenants_detect_round_trip() {
    let db = fixture("django_tenants").await;
    assert_round_trip(
        &db,
        &[
            &["tenants", "--format", "json"],
            &["users", "--tenant", "globex", "--format", "json"],
            &["orders", "1", "--tenant", "acme", "--format", "json"],
            &["orders", "1"],
        ],
    );
}

/// `basket ID --tenant T` and `orders ID --tenant T` where users live in
/// each tenant schema and the same id is a user in two of them: the named
/// tenant's user, by schema or registry label; a user of another tenant is
/// refused naming where it is.
#[tokio::test]
async fn an_id_in_two_tenants_is_the_named_tenants_user_for_basket_and_orders() {
    let db = fixture("django_tenants").await;
    for command in ["basket", "orders"] {
        for (tenant, name) in [
            ("globex", "carol"),
            ("acme", "alice"),
            ("Acme Corp", "alice"),
        ] {
            let out = json(&db, &[command, "1", "--tenant", tenant, "--format", "json"]);
            assert_eq!(
                out["user"]["name"], name,
                "{command} --tenant {tenant}: {out}"
            );
        }
        let wrong = run(&db, &[command, "2", "--tenant", "globex"]);
        assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
        assert!(
            stderr(&wrong).contains("user \"2\" belongs to tenant \"Acme Corp\", not \"globex\""),
            "{}",
            stderr(&wrong)
        );
    }
}

/// (name, tenant, schema) of each listed user.
fn placed(users: &Json) -> Vec<(String, Option<String>, Option<String>)> {
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let text = |v: &Json| v.as_str().map(str::to_string);
            (
                u["name"].as_str().unwrap().to_string(),
                text(&u["tenant"]),
                text(&u["schema"]),
            )
        })
        .collect()
}

/// Linked users (django-tenant-users): a person linked to two tenants is
/// listed once per tenant under the same name and id; the dashboard's
/// pages (`users_page`, one user a page, forward from the first and back
/// from the last) list each once, in the CLI's order.
#[tokio::test]
async fn linked_users_of_two_tenants_are_each_paged_once_in_the_cli_order() {
    use tenantscope::db::{ConnectionSource, Database, Page};
    let db = fixture("django_tenant_users").await;
    let users = json(&db, &["users", "--format", "json"]);
    let cli: Vec<(String, Option<String>)> = placed(&users)
        .into_iter()
        .map(|(name, _, schema)| (name, schema))
        .collect();
    assert!(cli.iter().filter(|(name, _)| name == "bob").count() == 2);
    let source = ConnectionSource::demo(db.options.clone());
    let database = Database::connect(&source, &tenantscope::config::Settings::default())
        .await
        .unwrap();
    let one = |page: Page| {
        let database = &database;
        async move { database.users_page(None, &page, 1, None).await.unwrap() }
    };
    let (mut forward, mut backward) = (Vec::new(), Vec::new());
    let mut page = one(Page::First).await;
    while let Some(user) = page.pop() {
        forward.push((user.name.clone(), user.tenant.clone()));
        page = one(Page::After(user.key)).await;
        assert!(forward.len() <= cli.len(), "forward: {forward:?}");
    }
    let mut page = one(Page::Last).await;
    while let Some(user) = page.pop() {
        backward.insert(0, (user.name.clone(), user.tenant.clone()));
        page = one(Page::Before(user.key)).await;
        assert!(backward.len() <= cli.len(), "backward: {backward:?}");
    }
    database.close().await;
    assert_eq!(forward, cli);
    assert_eq!(backward, cli);
}

/// Linked users: a filter's exact id lists the person once per tenant
/// linked, first, by the tenant's registry name as every view lists
/// tenants (the schema would put `acme_…` first), in the CLI and the
/// dashboard's page.
#[tokio::test]
async fn an_exact_id_lists_a_linked_person_by_tenant_name() {
    use tenantscope::db::{ConnectionSource, Database, Page};
    let db = fixture("django_tenant_users").await;
    db.run_sql("UPDATE public.companies_company SET name = 'Zeta Acme' WHERE slug = 'acme'")
        .await;
    let some = |s: &str| Some(s.to_string());
    let expected = [
        ("bob".to_string(), some("Globex"), some("globex_1704240000")),
        (
            "bob".to_string(),
            some("Zeta Acme"),
            some("acme_1704153600"),
        ),
        // Not pinned: Globex's registry key is 3.
        (
            "carol".to_string(),
            some("Globex"),
            some("globex_1704240000"),
        ),
    ];
    let users = json(&db, &["users", "--filter", "3", "--format", "json"]);
    assert_eq!(placed(&users), expected, "the CLI");
    let source = ConnectionSource::demo(db.options.clone());
    let database = Database::connect(&source, &tenantscope::config::Settings::default())
        .await
        .unwrap();
    let page = database.users_page(Some("3"), &Page::First, 10, None).await;
    database.close().await;
    let page: Vec<_> = page
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.tenant_name, u.tenant))
        .collect();
    assert_eq!(page, expected, "the dashboard's first page");
}

#[tokio::test]
async fn django_tenant_users_is_detected_with_linked_users() {
    let db = fixture("django_tenant_users").await;
    let (model, why) = detect(&db);
    assert_eq!(model["layout"].as_str(), Some("django-tenant-users"));
    assert_eq!(model["registry_table"].as_str(), Some("companies_company"));
    assert_eq!(model["registry_label"].as_str(), Some("name"));
    assert_eq!(model["users"].as_str(), Some("link"));
    assert_eq!(model["users_table"].as_str(), Some("users_tenantuser"));
    assert_eq!(
        model["link_table"].as_str(),
        Some("users_tenantuser_tenants")
    );
    assert_eq!(model["link_user"].as_str(), Some("tenantuser_id"));
    assert_eq!(model["link_tenant"].as_str(), Some("company_id"));
    assert_eq!(model["user_name"].as_str(), Some("name"));
    assert_eq!(model["items_table"].as_str(), Some("shop_item"));
    assert_eq!(model["ledger_table"].as_str(), Some("django_migrations"));
    assert!(
        why.contains("linked to tenants by users_tenantuser_tenants"),
        "{why}"
    );

    // One row per (user, tenant); the public tenant every user is linked
    // to is no tenant, so it is never listed. admin's other tenant is
    // registered without a schema.
    let some = |s: &str| Some(s.to_string());
    let (acme, globex) = (some("acme_1704153600"), some("globex_1704240000"));
    let users = json(&db, &["users", "--format", "json"]);
    assert_eq!(
        placed(&users),
        [
            ("admin".into(), some("Initech"), some("initech_1704326400")),
            ("alice".into(), some("Acme Corp"), acme.clone()),
            ("bob".into(), some("Acme Corp"), acme.clone()),
            ("bob".into(), some("Globex"), globex.clone()),
            ("carol".into(), some("Globex"), globex.clone()),
        ]
    );
    assert_eq!(users[0]["tenant_schema"], "schema missing");
    assert_eq!(users[1]["tenant_schema"], "ok");
    assert_eq!(names(&users, "mail")[2], "bob@example.com");
    // --tenant picks by key, label or schema, on the server.
    for name in ["globex", "Globex", "3", "globex_1704240000"] {
        if name == "globex" {
            // The slug is no registry key, label or schema name.
            assert_eq!(
                run(&db, &["users", "--tenant", name]).status.code(),
                Some(2)
            );
            continue;
        }
        let users = json(&db, &["users", "--tenant", name, "--format", "json"]);
        assert_eq!(
            placed(&users),
            [
                ("bob".into(), some("Globex"), globex.clone()),
                ("carol".into(), some("Globex"), globex.clone()),
            ],
            "--tenant {name}"
        );
    }
    let filtered = json(
        &db,
        &[
            "users",
            "--tenant",
            "Acme Corp",
            "--filter",
            "bob",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        placed(&filtered),
        [("bob".into(), some("Acme Corp"), acme.clone())]
    );
    // bob (id 3) is in both tenants: the tenant must be named.
    let ambiguous = run(&db, &["orders", "3"]);
    assert_eq!(ambiguous.status.code(), Some(2), "{}", stderr(&ambiguous));
    // Named as the registry names them (`--tenant` takes those names).
    assert!(
        stderr(&ambiguous).contains("(\"Acme Corp\", \"Globex\")"),
        "{}",
        stderr(&ambiguous)
    );
    let report = json(
        &db,
        &[
            "orders",
            "3",
            "--tenant",
            "Globex",
            "--compare",
            "Acme Corp",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["user"]["name"], "bob");
    assert_eq!(report["user"]["tenant"], "Globex");
    assert_eq!(report["user"]["schema"], "globex_1704240000");
    // Tenants as the registry names them, the generated schema beside.
    assert_eq!(report["compare_tenant"], "Acme Corp");
    assert_eq!(report["compare_schema"], "acme_1704153600");
    assert_eq!(report["compare_tenant_key"], "2");
    assert_eq!(report["user"]["tenant_key"], "3");
    let lines = report["orders"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["item"], "Sprocket");
    assert_eq!(lines[0]["total"].to_string(), "17.00");
    let in_acme = json(
        &db,
        &[
            "orders",
            "3",
            "--tenant",
            "acme_1704153600",
            "--format",
            "json",
        ],
    );
    assert_eq!(in_acme["orders"][0]["item"], "Gadget");
    assert_eq!(in_acme["orders"][0]["total"].to_string(), "50.00");

    // bob's order in acme is no leak for being bob's in globex too.
    let leaks = json(
        &db,
        &["health", "--leaks", "acme_1704153600", "--format", "json"],
    );
    assert_eq!(leaks["leaks"]["orders"], serde_json::json!([]), "{leaks}");

    let tenants = json(&db, &["tenants", "--format", "json"]);
    let counts: Vec<(String, i64)> = tenants
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["schema_exists"] == true)
        .map(|t| {
            (
                t["schema"].as_str().unwrap().to_string(),
                t["users"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("acme_1704153600".to_string(), 2),
            ("globex_1704240000".to_string(), 2)
        ]
    );
}

#[tokio::test]
async fn django_tenant_users_detect_round_trip() {
    let db = fixture("django_tenant_users").await;
    assert_round_trip(
        &db,
        &[
            &["tenants", "--format", "json"],
            &["users", "--format", "json"],
            &["users", "--tenant", "Globex", "--format", "json"],
            &["orders", "3", "--tenant", "Acme Corp", "--format", "json"],
            &["orders", "3"],
            &["health", "--format", "json"],
        ],
    );
}

#[tokio::test]
async fn ros_apartment_is_detected_with_shared_users() {
    let db = fixture("ros_apartment").await;
    let (model, why) = detect(&db);
    assert_eq!(model["layout"].as_str(), Some("ros-apartment"));
    assert_eq!(model["registry_table"].as_str(), Some("companies"));
    assert_eq!(model["registry_schema"].as_str(), Some("subdomain"));
    assert_eq!(model["users"].as_str(), Some("shared"));
    assert_eq!(model["tenant_column"].as_str(), Some("company_id"));
    assert_eq!(model["items_table"].as_str(), Some("items"));
    assert_eq!(model["item_label"].as_str(), Some("name"));
    assert_eq!(model["ledger_table"].as_str(), Some("schema_migrations"));
    assert_eq!(
        model["ignore_schemas"].as_array().unwrap()[0].as_str(),
        Some("shared_extensions")
    );
    assert!(
        why.contains("registered but no schema: \"initech\""),
        "{why}"
    );
    assert!(why.contains("schema nobody registered: \"hooli\""), "{why}");

    let users = json(&db, &["users", "--format", "json"]);
    assert_eq!(names(&users, "name"), ["Alice", "Bob", "Carol"]);
    assert_eq!(names(&users, "tenant"), ["acme", "acme", "globex"]);
    assert_eq!(names(&users, "schema"), ["acme", "acme", "globex"]);
    assert_eq!(names(&users, "mail")[2], "carol@globex.test");
    let report = json(
        &db,
        &["orders", "1", "--compare", "globex", "--format", "json"],
    );
    assert_eq!(report["user"]["tenant"], "acme");
    let lines = report["orders"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["item"], "Gadget");
    assert_eq!(lines[1]["unit_price"].to_string(), "25.00");
    // Each tenant numbers its items: globex's item 2 is a Sprocket, not a
    // Gadget. Matched by description, globex sells no Gadget, and its
    // Widget is its item 1 too (11.5).
    assert_eq!(report["items_match"]["rule"], "description");
    assert_eq!(lines[1]["compare_unit_price"], Json::Null);
    assert_eq!(lines[1]["compare_item"], Json::Null);
    assert_eq!(report["compare_missing"], 1);
    assert_eq!(lines[0]["item"], "Widget");
    assert_eq!(lines[0]["compare_unit_price"].to_string(), "11.5");
    assert_eq!(lines[0]["compare_item"], "Widget");
    let carol = json(&db, &["orders", "3", "--format", "json"]);
    assert_eq!(carol["orders"][0]["item"], "Sprocket");
    assert_eq!(carol["orders"][0]["total"].to_string(), "21.25");
}

#[tokio::test]
async fn ros_apartment_detect_round_trip() {
    let db = fixture("ros_apartment").await;
    assert_round_trip(
        &db,
        &[
            &["tenants", "--format", "json"],
            &["users", "--format", "json"],
            &["orders", "1", "--format", "json"],
        ],
    );
}

#[tokio::test]
async fn stancl_tenancy_is_detected_with_users_in_each_tenant() {
    let db = fixture("stancl_tenancy").await;
    let (model, why) = detect(&db);
    assert_eq!(model["layout"].as_str(), Some("stancl-tenancy"));
    assert_eq!(model["registry_table"].as_str(), Some("tenants"));
    assert_eq!(model["users"].as_str(), Some("per_tenant"));
    assert_eq!(model["users_table"].as_str(), Some("users"));
    assert_eq!(model["ledger_table"].as_str(), Some("migrations"));
    assert!(why.contains("\"globex-eu\", \"tenantacme\""), "{why}");
    assert!(
        why.contains("registered but no schema: \"tenantinitech\""),
        "{why}"
    );
    assert!(
        why.contains("schema nobody registered: \"tenanthooli\""),
        "{why}"
    );

    // The tenant's key (id) names the schema its data names.
    for name in ["globex", "globex-eu"] {
        let users = json(&db, &["users", "--tenant", name, "--format", "json"]);
        assert_eq!(names(&users, "name"), ["Carol"]);
        // The registry's id names the tenant; its data names the schema.
        assert_eq!(names(&users, "tenant"), ["globex"]);
        assert_eq!(names(&users, "schema"), ["globex-eu"]);
    }
    let report = json(
        &db,
        &[
            "orders",
            "1",
            "--tenant",
            "globex",
            "--compare",
            "acme",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["user"]["name"], "Carol");
    assert_eq!(report["orders"][0]["item"], "Sprocket");
    assert_eq!(report["orders"][0]["quantity"].to_string(), "5");
}

#[tokio::test]
async fn stancl_tenancy_detect_round_trip() {
    let db = fixture("stancl_tenancy").await;
    assert_round_trip(
        &db,
        &[
            &["users", "--format", "json"],
            &["users", "--tenant", "acme", "--format", "json"],
            &["orders", "2", "--tenant", "acme", "--format", "json"],
        ],
    );
}

#[tokio::test]
async fn the_articles_layout_is_detected_as_the_default() {
    let db = TestDatabase::demo().await;
    let out = run(&db, &["detect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = tenantscope::db::TenancyModel::default().to_toml();
    assert_eq!(stdout(&out), expected);
    assert!(stderr(&out).contains("layout: article"), "{}", stderr(&out));
}

#[tokio::test]
async fn only_registered_schemas_are_tenants() {
    for (fixture_name, tenants) in [
        ("django_tenants", ["acme", "globex"]),
        (
            "django_tenant_users",
            ["acme_1704153600", "globex_1704240000"],
        ),
        ("ros_apartment", ["acme", "globex"]),
        // By label (acme, globex), as the tenants pane lists them.
        ("stancl_tenancy", ["tenantacme", "globex-eu"]),
    ] {
        let db = fixture(fixture_name).await;
        let listed = json(&db, &["tenants", "--format", "json"]);
        let schemas: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["schema_exists"] == true)
            // A registry's tenant has its label as `tenant`, its schema beside.
            .map(|t| t["schema"].as_str().or(t["tenant"].as_str()).unwrap())
            .collect();
        assert_eq!(schemas, tenants, "{fixture_name}: {listed}");
        let prices = json(&db, &["prices", "--format", "json"]);
        assert!(
            !prices.to_string().contains("hooli"),
            "{fixture_name}: {prices}"
        );
    }
}

/// `health --format json` and its exit code with `--fail-on-drift`.
fn health(db: &TestDatabase) -> (Json, Option<i32>, String) {
    let report = json(db, &["health", "--format", "json"]);
    let strict = run(db, &["health", "--fail-on-drift"]);
    (report, strict.status.code(), stdout(&strict))
}

#[tokio::test]
async fn health_reports_each_frameworks_planted_anomalies() {
    for (fixture_name, registry, missing, orphan, drifted, ledger, lacking, wrong) in [
        (
            "django_tenants",
            "customers_client",
            "initech",
            "hooli",
            "globex",
            "django_migrations",
            "shop.0002_order_quantity",
            &[("public", "shop_item", "tenant_table")][..],
        ),
        (
            "django_tenant_users",
            "companies_company",
            "initech_1704326400",
            "hooli_1704412800",
            "globex_1704240000",
            "django_migrations",
            "shop.0002_order_quantity",
            &[("acme_1704153600", "users_tenantuser", "shared_table")][..],
        ),
        (
            "ros_apartment",
            "companies",
            "initech",
            "hooli",
            "globex",
            "schema_migrations",
            "20240201000000",
            &[
                ("globex", "companies", "shared_table"),
                ("public", "items", "tenant_table"),
            ][..],
        ),
        (
            "stancl_tenancy",
            "tenants",
            "tenantinitech",
            "tenanthooli",
            "globex-eu",
            "migrations",
            "2024_02_01_000000_add_quantity_to_orders",
            &[("public", "items", "tenant_table")][..],
        ),
    ] {
        let db = fixture(fixture_name).await;
        let (report, code, text) = health(&db);
        assert_eq!(report["healthy"], false, "{fixture_name}");
        assert_eq!(report["registry"]["table"], registry);
        assert_eq!(
            report["registry"]["missing_schemas"],
            serde_json::json!([missing])
        );
        assert_eq!(
            report["registry"]["unregistered_schemas"],
            serde_json::json!([orphan])
        );
        // Drift among the registered tenants only: the orphan is no tenant.
        let tenants: Vec<&str> = report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tenant"].as_str().unwrap())
            .collect();
        assert!(!tenants.contains(&orphan), "{fixture_name}: {tenants:?}");
        // Two tenants disagree on items.price: a tie, so which one is
        // "drifted" is the tie rule's (first by name); the difference is shown.
        let drift: Vec<String> = report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["drift"].as_array().unwrap().iter().map(|d| d.to_string()))
            .collect();
        assert_eq!(drift.len(), 1, "{fixture_name}: {report}");
        assert!(
            drift[0].contains("\"column\":\"price\"") && drift[0].contains("double precision"),
            "{fixture_name}: {report}"
        );
        assert_eq!(report["ledger"]["table"], ledger);
        // The tenant that lacks the newest migration is behind; the
        // others ran it: ahead of it, not drifted.
        let ledger_drift = report["ledger"]["drift"].as_array().unwrap();
        let (behind, ahead): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
            ledger_drift.iter().partition(|d| d["status"] != "ahead");
        assert_eq!(
            behind,
            [
                &serde_json::json!({ "tenant": drifted, "status": "behind", "missing": [lacking], "extra": [] })
            ],
            "{fixture_name}"
        );
        assert!(!ahead.is_empty(), "{fixture_name}: {ledger_drift:?}");
        for tenant in ahead {
            assert_eq!(tenant["missing"], serde_json::json!([]), "{fixture_name}");
            assert_eq!(
                tenant["extra"],
                serde_json::json!([lacking]),
                "{fixture_name}"
            );
        }
        // Named by its label where the registry has one, its schema beside.
        let behind = text.lines().find(|l| l.starts_with("  behind: "));
        assert!(
            behind.is_some_and(
                |l| l.ends_with(&format!("behind: {drifted} (lacks {lacking})"))
                    || l.ends_with(&format!(" ({drifted}) (lacks {lacking})"))
            ),
            "{text}"
        );
        // Rows in copies that should be empty: one row each was planted.
        let found: Vec<(&str, &str, &str, i64)> = report["wrong_copy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["schema"].as_str().unwrap(),
                    w["table"].as_str().unwrap(),
                    w["role"].as_str().unwrap(),
                    w["rows"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(&str, &str, &str, i64)> =
            wrong.iter().map(|&(s, t, r)| (s, t, r, 1)).collect();
        assert_eq!(found, expected, "{fixture_name}: {report}");
        for (schema, table, ..) in wrong {
            assert!(
                text.contains(&format!("  {schema}.{table}: 1 row (")),
                "{text}"
            );
        }
        assert!(
            text.contains("table cop") && text.contains("with rows in the wrong schema"),
            "{text}"
        );
        assert_eq!(code, Some(3), "{fixture_name}: --fail-on-drift");
        // By its label where the registry has one, its schema beside (and
        // the users naming it, where any do).
        let missing_line = text.lines().find(|l| l.contains(" with no schema: "));
        assert!(
            missing_line.is_some_and(
                |l| l.contains(&format!(": {missing}")) || l.contains(&format!(" ({missing})"))
            ),
            "{text}"
        );
        assert!(text.contains(&format!("does not list: {orphan}")), "{text}");
    }
}

#[tokio::test]
async fn the_articles_health_json_has_no_registry_or_ledger_keys() {
    let db = TestDatabase::demo().await;
    let report = json(&db, &["health", "--format", "json"]);
    assert_eq!(report["wrong_copy"], serde_json::json!([]), "{report}");
    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        // serde_json sorts keys.
        [
            "healthy",
            "leaks",
            "orphan_organizations",
            "references",
            "tenants",
            "unused_tenants",
            "wrong_copy"
        ]
    );
}

/// docs/frameworks.md's config example for each framework is what `detect` prints
/// for its fixture (the page leaves the defaults out).
#[tokio::test]
async fn the_readme_examples_are_what_detect_prints() {
    #[derive(serde::Deserialize)]
    struct File {
        tenancy: tenantscope::db::TenancyModel,
    }
    let section = include_str!("../docs/frameworks.md");
    let examples: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|block| &block[..block.find("```").unwrap()])
        .collect();
    let fixtures = [
        "django_tenants",
        "django_tenant_users",
        "ros_apartment",
        "stancl_tenancy",
    ];
    assert_eq!(examples.len(), fixtures.len(), "one example per framework");
    for (fixture_name, example) in fixtures.into_iter().zip(examples) {
        let db = fixture(fixture_name).await;
        let detected: File = toml::from_str(&ok(&db, &["detect"])).unwrap();
        let documented: File = toml::from_str(example).unwrap();
        assert_eq!(documented.tenancy, detected.tenancy, "{fixture_name}");
    }
}

/// `users --tenant T` where users live in each tenant schema: one
/// statement, on that schema's users table alone (counted by
/// `pg_stat_statements` on a private server).
#[tokio::test]
async fn one_tenants_users_are_read_from_its_schema_alone() {
    use sqlx::Connection;
    use tenantscope::db::{ConnectionSource, Database, UserQuery};

    let path = format!(
        "{}/sql/fixtures/django_tenants.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    let (server, mut admin) =
        common::counting_server(&[], &std::fs::read_to_string(path).unwrap()).await;
    let db = Database::connect(
        &ConnectionSource::demo(server.connect_options("counted")),
        &tenantscope::config::Settings::default(),
    )
    .await
    .unwrap();
    sqlx::raw_sql("SELECT pg_stat_statements_reset()")
        .execute(&mut admin)
        .await
        .unwrap();
    let users = db.users_in("globex", &UserQuery::default()).await.unwrap();
    db.close().await;
    let placed: Vec<(&str, Option<&str>)> = users
        .iter()
        .map(|u| (u.name.as_str(), u.tenant.as_deref()))
        .collect();
    assert_eq!(placed, [("carol", Some("globex"))]);
    // Statements naming a tenant's users table: the list, once, on globex.
    let reads: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.query, s.calls FROM pg_stat_statements s
           JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = 'counted' AND s.query LIKE '%.auth_user%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(reads.len(), 1, "{reads:#?}");
    assert_eq!(reads[0].1, 1, "{reads:#?}");
    assert!(reads[0].0.contains("globex.auth_user"), "{reads:#?}");
    assert!(!reads[0].0.contains("acme.auth_user"), "{reads:#?}");
    admin.close().await.ok();
}

#[tokio::test]
async fn tenancy_keys_refine_detection_unless_detect_is_false() {
    let db = fixture("django_tenants").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tenancy.toml");
    let config_arg = config.to_str().unwrap();
    // Nothing configured: detected, django-tenants' users are listed.
    let detected = ok(&db, &["users"]);
    // `compare_with` alone: still detected.
    std::fs::write(&config, "[tenancy]\ncompare_with = \"nope\"\n").unwrap();
    assert_eq!(ok(&db, &["--config", config_arg, "users"]), detected);
    // Another key refines what was detected: the rest stays detected
    // (auth_user's last_login is NULL, date_joined is not).
    let created = |args: &[&str]| -> Vec<Json> {
        let users = json(&db, args);
        users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["created"].clone())
            .collect()
    };
    let all_set = created(&["users", "--format", "json"]);
    assert!(all_set.iter().all(|c| c.is_string()), "{all_set:?}");
    std::fs::write(&config, "[tenancy]\nuser_created = \"last_login\"\n").unwrap();
    let refined = created(&["--config", config_arg, "users", "--format", "json"]);
    assert_eq!(refined.len(), all_set.len());
    assert!(refined.iter().all(|c| c.is_null()), "{refined:?}");
    // `detect = false`: the article's layout, as configured (even though it
    // is the default), which this database does not have.
    std::fs::write(&config, "[tenancy]\ndetect = false\n").unwrap();
    let out = run(&db, &["--config", config_arg, "users"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("public.users"),
        "the configured table is named: {}",
        stderr(&out)
    );
}

/// Detection names foreign keys by column number: a link table whose
/// earlier columns were dropped (numbers with gaps, as migrations leave
/// them) is still recognised, with its own columns, and lists the same users.
#[tokio::test]
async fn a_link_table_with_dropped_columns_is_still_recognised() {
    let db = fixture("django_tenant_users").await;
    let before = json(&db, &["users", "--format", "json"]);
    db.run_sql(
        "CREATE TABLE public.links_new (
             legacy_a integer, legacy_b text, id bigint PRIMARY KEY,
             tenantuser_id bigint NOT NULL REFERENCES public.users_tenantuser (id),
             company_id bigint NOT NULL REFERENCES public.companies_company (id));
         ALTER TABLE public.links_new DROP COLUMN legacy_a, DROP COLUMN legacy_b;
         INSERT INTO public.links_new (id, tenantuser_id, company_id)
              SELECT id, tenantuser_id, company_id FROM public.users_tenantuser_tenants;
         DROP TABLE public.users_tenantuser_tenants;
         ALTER TABLE public.links_new RENAME TO users_tenantuser_tenants;",
    )
    .await;
    let (model, why) = detect(&db);
    assert_eq!(
        model["layout"].as_str(),
        Some("django-tenant-users"),
        "{why}"
    );
    assert_eq!(
        model["link_table"].as_str(),
        Some("users_tenantuser_tenants")
    );
    assert_eq!(model["link_user"].as_str(), Some("tenantuser_id"));
    assert_eq!(model["link_tenant"].as_str(), Some("company_id"));
    assert_eq!(json(&db, &["users", "--format", "json"]), before);
}

/// Where a registry names tenants, every output names them by its label
/// (generated schema names are not what users call tenants), with the key
/// and schema beside them in JSON.
#[tokio::test]
async fn registry_labels_name_tenants_in_basket_and_prices() {
    let db = fixture("django_tenant_users").await;
    let registry: std::collections::HashMap<String, (String, String)> = {
        let rows = db
            .query_text(
                "SELECT string_agg(schema_name || '=' || id || '=' || name, ';')
                   FROM public.companies_company",
            )
            .await;
        rows.split(';')
            .map(|row| {
                let parts: Vec<&str> = row.split('=').collect();
                (
                    parts[0].to_string(),
                    (parts[1].to_string(), parts[2].to_string()),
                )
            })
            .collect()
    };
    let basket = json(
        &db,
        &["basket", "3", "--tenant", "Globex", "--format", "json"],
    );
    let tenants = basket["tenants"].as_array().unwrap();
    assert!(!tenants.is_empty(), "{basket}");
    for tenant in tenants {
        let schema = tenant["schema"].as_str().unwrap();
        let (key, label) = &registry[schema];
        assert_eq!(tenant["tenant"], label.as_str(), "{tenant}");
        assert_eq!(tenant["tenant_key"], key.as_str(), "{tenant}");
    }
    let table = ok(&db, &["basket", "3", "--tenant", "Globex"]);
    assert!(
        table.starts_with("basket of bob (id 3) in Globex:"),
        "{table}"
    );
    assert!(
        !table.contains("_17042"),
        "no generated schema name: {table}"
    );
    let prices = json(&db, &["prices", "--format", "json"]);
    let labels: Vec<&str> = prices["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let schemas: Vec<&str> = prices["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), schemas.len());
    for (label, schema) in labels.iter().zip(&schemas) {
        assert_eq!(*label, registry[*schema].1);
    }
    assert!(!ok(&db, &["prices"]).contains("_17042"));
    let tenants = json(&db, &["tenants", "--format", "json"]);
    for tenant in tenants.as_array().unwrap() {
        let Some(schema) = tenant["schema"].as_str() else {
            continue;
        };
        let (key, label) = &registry[schema];
        assert_eq!(tenant["tenant"], label.as_str(), "{tenant}");
        assert_eq!(tenant["tenant_key"], key.as_str(), "{tenant}");
    }
    assert!(
        tenants
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tenant"] == "Globex"),
        "{tenants}"
    );
    assert!(!ok(&db, &["tenants"]).contains("_17042"));
}

/// Linked users (django-tenant-users): the header counts the people and
/// their memberships apart (a person in two tenants is one person, two
/// memberships), as the tables say. A person linked to no tenant (the
/// public-tenant owner) has no organization id to lack: neither the
/// tenants pane nor `tenants` lists them under `(none)` (health does not).
#[tokio::test]
async fn linked_users_are_counted_as_people_and_memberships() {
    let db = fixture("django_tenant_users").await;
    // A new sign-up, linked to no tenant yet.
    db.run_sql(
        "INSERT INTO public.users_tenantuser (password, email, is_active, is_verified, name)
              VALUES ('x', 'dora@example.com', true, false, 'dora')",
    )
    .await;
    let people = db
        .query_text("SELECT count(*)::text FROM public.users_tenantuser")
        .await;
    let out = run(&db, &["snapshot", "--view", "tenants", "--color", "never"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("(none)"), "{}", stdout(&out));
    let tenants = ok(&db, &["tenants"]);
    assert!(!tenants.contains("(none)"), "{tenants}");
    // An empty registry label names the tenant by its key, everywhere
    // (the users list did; the tenants and health read `(empty)`).
    db.run_sql("UPDATE public.companies_company SET name = '' WHERE slug = 'acme'")
        .await;
    let tenants = json(&db, &["tenants", "--format", "json"]);
    let acme = find(&tenants, "schema", "acme_1704153600");
    assert_eq!(acme.map(|t| &t["tenant"]), Some(&"2".into()), "{tenants}");
    let users = json(&db, &["users", "--format", "json"]);
    let alice = find(&users, "name", "alice");
    assert_eq!(alice.map(|u| &u["tenant"]), Some(&"2".into()), "{users}");
    let header = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        header.contains(&format!("{people} people · ")),
        "{people} people: {header}"
    );
    let memberships: usize = header
        .split(" people · ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{header}"));
    let users = json(&db, &["users", "--format", "json"]);
    assert_eq!(memberships, users.as_array().unwrap().len(), "{header}");
    assert!(memberships > people.parse::<usize>().unwrap(), "{header}");
}

/// ros-apartment with users whose company ids the registry maps to no
/// schema: Dave's 99 (no row), Erin's 4 (a NULL subdomain), Fred's 5 (an
/// empty one); Dave has an order in acme.
async fn unmapped_ids() -> TestDatabase {
    let db = fixture("ros_apartment").await;
    db.run_sql(
        "ALTER TABLE public.users DROP CONSTRAINT fk_rails_7682a3bdfe;
         INSERT INTO public.companies (name, subdomain, created_at, updated_at) VALUES
             ('Nameless', NULL, '2024-01-05', '2024-01-05'),
             ('Blank', '', '2024-01-05', '2024-01-05');
         INSERT INTO public.users (name, email, company_id, created_at, updated_at) VALUES
             ('Dave', 'dave@gone.test', 99, '2024-03-04', '2024-03-04'),
             ('Erin', 'erin@nameless.test', 4, '2024-03-04', '2024-03-04'),
             ('Fred', 'fred@blank.test', 5, '2024-03-04', '2024-03-04');
         INSERT INTO acme.orders (user_id, item_id, quantity, created_at, updated_at)
              VALUES (4, 1, 1, '2024-03-05', '2024-03-05');",
    )
    .await;
    db
}

/// ros-apartment without its foreign key (as many installs run): Dave's
/// company id names no company, Erin's company names no subdomain. Each
/// is an organization id naming no tenant schema, counted and listed under
/// its own id (they read as "users with no organization id"), and the
/// registry row with no schema is a finding of its own.
#[tokio::test]
async fn ids_the_registry_maps_to_no_schema_are_counted_under_their_own_id() {
    let db = unmapped_ids().await;
    let health = json(&db, &["health", "--format", "json"]);
    let orphans: Vec<(String, i64)> = health["orphan_organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let id = o["organization_id"].as_str().unwrap_or("(null)");
            (id.to_string(), o["users"].as_i64().unwrap())
        })
        .collect();
    // 4 and 5 are the registry's (below, with their users), not repeated.
    assert_eq!(orphans, [("99".to_string(), 1)]);
    // An empty subdomain names no schema, as NULL does (it was a missing
    // schema named "" and its user had no organization id).
    assert_eq!(health["registry"]["unnamed"], serde_json::json!(["4", "5"]));
    assert_eq!(
        health["registry"]["users"],
        serde_json::json!({"4": 1, "5": 1})
    );
    let missing = &health["registry"]["missing_schemas"];
    assert_eq!(missing, &serde_json::json!(["initech"]));
    let text = ok(&db, &["health"]);
    // Registered ids under the registry, with their users; 99 alone is
    // no registered tenant's.
    assert!(
        text.contains("Registered in companies naming no schema: 4 (1 user), 5 (1 user)"),
        "{text}"
    );
    let ids = text.split("name no tenant schema:\n").nth(1).unwrap();
    let ids: Vec<&str> = ids.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        ids,
        ["ORGANIZATION  USERS", "99                1"],
        "{text}"
    );
    // Dave's order in acme leaks to the id he has, not to no tenant.
    let leaks = json(&db, &["health", "--leaks", "acme", "--format", "json"]);
    let leak = &leaks["leaks"]["orders"][0];
    assert_eq!(leak["user_id"], "4", "{leaks}");
    assert_eq!(leak["user_tenant"], "99", "{leaks}");
    // By the registry's key, as `--tenant` takes it (it was "unknown").
    let by_key = json(&db, &["health", "--leaks", "1", "--format", "json"]);
    assert_eq!(by_key["leaks"], leaks["leaks"]);
    // An unregistered schema is no tenant to look in (as in the health view).
    let out = run(&db, &["health", "--leaks", "hooli"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // His orders: an id naming no schema, not "organization id is NULL".
    let out = run(&db, &["orders", "4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("user's tenant \"99\" has no schema"),
        "{}",
        stderr(&out)
    );
    assert!(!text.contains("no organization id"), "{text}");

    let tenants = json(&db, &["tenants", "--format", "json"]);
    let counted: Vec<(String, i64)> = tenants
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let name = t["tenant"].as_str().unwrap_or("(null)").to_string();
            (name, t["users"].as_i64().unwrap())
        })
        .collect();
    assert!(counted.contains(&("99".to_string(), 1)), "{counted:?}");
    assert!(counted.contains(&("4".to_string(), 1)), "{counted:?}");
    assert!(!counted.iter().any(|(t, _)| t == "(null)"), "{counted:?}");

    // Named by that id where the registry names nothing.
    let users = json(&db, &["users", "--format", "json"]);
    assert_eq!(names(&users, "name")[3..], ["Dave", "Erin", "Fred"]);
    assert_eq!(names(&users, "tenant")[3..], ["99", "4", "5"]);
    // `--tenant` takes the ids `tenants` lists (it said "unknown tenant").
    let dave = json(&db, &["users", "--tenant", "99", "--format", "json"]);
    assert_eq!(names(&dave, "name"), ["Dave"]);
    let by_id = json(
        &db,
        &[
            "users", "--tenant", "99", "--filter", "4", "--format", "json",
        ],
    );
    assert_eq!(
        names(&by_id, "name"),
        ["Dave"],
        "the exact id is pinned too"
    );
    let out = run(&db, &["users", "--tenant", "98"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Such an id is named in every view as the users list names it: the
/// orders pane's and the basket's titles, the users list's mark, the
/// tenants pane (its Schema cell `—`), `tenants`, the health view; Enter
/// on it lists its user.
#[tokio::test]
async fn an_id_naming_no_schema_reads_so_in_every_view() {
    let db = unmapped_ids().await;
    let frame = ok(
        &db,
        &[
            "snapshot", "--user", "4", "--tenant", "99", "--color", "never",
        ],
    );
    assert!(frame.contains("Tenant \"99\" has no schema"), "{frame}");
    // The pane's title names that tenant too (it said "(no tenant)").
    assert!(frame.contains("Orders of Dave · 99 "), "{frame}");
    // His basket prices nothing and counts no tenant (it said "2 of 2").
    let args = [
        "snapshot", "--user", "4", "--tenant", "99", "--view", "basket", "--color", "never",
    ];
    let basket = ok(&db, &args);
    let title = basket.lines().nth(1).unwrap_or_default();
    assert!(title.contains("Basket of Dave · 99 · ? ─"), "{basket}");
    assert!(!title.contains(" of 2 "), "{basket}");
    assert!(basket.contains("has no schema"), "{basket}");
    let marked = ok(&db, &["users"]);
    let dave = marked.lines().find(|l| l.contains("Dave")).unwrap();
    assert!(
        dave.contains(" no schema "),
        "an id naming no schema: {marked}"
    );
    // The tenants pane lists the id and Enter lists its users.
    let out = run(&db, &["snapshot", "--view", "tenants", "--color", "never"]);
    let frame = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let row = frame
        .lines()
        .find(|l| l.contains(" 99 "))
        .unwrap_or_default();
    assert!(row.contains("1 (no schema)"), "{frame}");
    // Its Schema cell names none (it showed the id as if it were a schema).
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..5], ["│", "!", "99", "99", "—"], "{frame}");
    let listed = ok(&db, &["tenants"]);
    let line = listed.lines().find(|l| l.starts_with("99 ")).unwrap();
    assert!(line.contains(" no schema "), "not `missing`: {listed}");
    let csv = ok(&db, &["tenants", "--format", "csv"]);
    assert!(csv.starts_with("tenant,schema_status,users\n"), "{csv}");
    assert!(csv.contains("\n99,no schema,1\n"), "{csv}");
    let args = [
        "snapshot", "--view", "health", "--size", "160x30", "--color", "never",
    ];
    let frame = ok(&db, &args);
    assert!(
        frame.contains("organization id of 1 user, which companies does not list")
            && frame.contains("registered in companies, naming no schema"),
        "{frame}"
    );
    // Enter on it lists its user: the database scoped to that id.
    let source = tenantscope::db::ConnectionSource::demo(db.options.clone());
    let settings = tenantscope::config::Settings::default();
    let database = tenantscope::db::Database::connect(&source, &settings)
        .await
        .unwrap();
    let query = tenantscope::db::UserQuery::default();
    let listed = database.scoped_to("99").users(&query).await.unwrap();
    let listed: Vec<&str> = listed.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(listed, ["Dave"]);
}

/// `1` is acme's key and the label (its subdomain, a schema never made) of
/// another tenant: `--tenant 1` is ambiguous, listing both (it went to
/// acme in silence, and the user of the other "belonged to tenant "1",
/// not "1"").
#[tokio::test]
async fn a_label_reading_like_another_tenants_key_is_ambiguous() {
    let db = fixture("ros_apartment").await;
    db.run_sql(
        "INSERT INTO public.companies (id, name, subdomain, created_at, updated_at)
              VALUES (40, 'Numbered', '1', '2024-01-05', '2024-01-05');
         INSERT INTO public.users (id, name, email, company_id, created_at, updated_at)
              VALUES (40, 'Nina', 'nina@numbered.test', 40, '2024-03-04', '2024-03-04');",
    )
    .await;
    for args in [
        &["snapshot", "--user", "40", "--tenant", "1"][..],
        &["users", "--tenant", "1"],
        &["orders", "1", "--compare", "1"],
    ] {
        let out = run(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("tenant \"1\" is ambiguous: schemas \"acme\", \"1\" (schema missing)"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A registered tenant whose schema is gone, with a user: the pane and
    // `tenants` say so in the same words (the pane said "(no schema)").
    let frame = ok(&db, &["snapshot", "--view", "tenants", "--color", "never"]);
    let row = frame
        .lines()
        .find(|l| l.contains(" 40 "))
        .unwrap_or_default();
    assert!(
        row.trim_end_matches('│').ends_with("1 (schema missing)"),
        "{frame}"
    );
    // None in the shared table: 0, as `tenants` counts them (it was blank).
    let initech = frame
        .lines()
        .find(|l| l.contains(" 3 "))
        .unwrap_or_default();
    assert!(
        initech
            .trim_end_matches('│')
            .ends_with("0 (schema missing)"),
        "{frame}"
    );
    let listed = ok(&db, &["tenants", "--format", "csv"]);
    assert!(listed.contains("\n1,schema missing,1\n"), "{listed}");
    // At 40 columns a name cut shows `…` (it was cut bare: `inite`), and
    // the Users cell stays whole.
    let args = [
        "snapshot", "--view", "tenants", "--size", "40x12", "--color", "never",
    ];
    let narrow = ok(&db, &args);
    let initech = narrow
        .lines()
        .find(|l| l.contains(" 3 "))
        .unwrap_or_default();
    assert!(initech.contains("init…"), "{narrow}");
    assert!(initech.contains("schema missing"), "{narrow}");
}

/// `--compare` names a tenant as `--tenant` does, in every command: by
/// registry key in the dashboard too (it took only schema names there), and
/// a registered tenant whose schema is gone is said so (it was "unknown").
#[tokio::test]
async fn compare_takes_a_registry_key_and_names_a_missing_schema() {
    let db = fixture("ros_apartment").await;
    let args = [
        "snapshot",
        "--user",
        "1",
        "--compare",
        "2",
        "--color",
        "never",
    ];
    let frame = ok(&db, &args);
    assert!(
        frame.contains("Orders of Alice · acme vs globex"),
        "{frame}"
    );
    let listed = ok(&db, &["orders", "1", "--compare", "2"]);
    assert!(
        listed.starts_with("Alice (id 1, alice@acme.test) in tenant acme, compared with globex")
    );
    // `hooli`: a schema with both tables that the registry does not list,
    // no tenant (it said "has no items table").
    let said = [
        ("initech", 1, "tenant \"initech\": schema missing"),
        ("hooli", 2, "unknown tenant: \"hooli\""),
    ];
    for command in [&["orders", "1"][..], &["snapshot", "--user", "1"]] {
        for (compare, code, message) in said {
            let out = run(&db, &[command, &["--compare", compare]].concat());
            assert_eq!(
                out.status.code(),
                Some(code),
                "{command:?}: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains(message),
                "{command:?}: {}",
                stderr(&out)
            );
        }
    }
}

/// A registered tenant whose schema is gone, or holds no tenant tables,
/// with a user: one finding, under the registry, with its users. Gone, it
/// was listed twice, also as an "organization id" (`initech`, the
/// schema's name, not the user's id 3), and counted twice; without the
/// tables, it was only such an id, "which companies does not list".
#[tokio::test]
async fn a_registered_tenant_without_its_schema_is_one_health_finding() {
    let db = fixture("ros_apartment").await;
    db.run_sql(
        "INSERT INTO public.companies (id, name, subdomain, created_at, updated_at)
              VALUES (6, 'Umbrella', 'umbrella', now(), now());
         CREATE SCHEMA umbrella;
         INSERT INTO public.users (id, name, email, company_id, created_at, updated_at)
              VALUES (4, 'Ivan', 'ivan@initech.test', 3, now(), now()),
                     (5, 'Ivy', 'ivy@umbrella.test', 6, now(), now())",
    )
    .await;
    let text = ok(&db, &["health"]);
    assert!(
        text.contains(
            "Registered in companies with no schema: initech (1 user), umbrella (1 user)"
        ),
        "{text}"
    );
    assert!(
        !text.contains("Organization ids that name no tenant schema"),
        "{text}"
    );
    let found = text.lines().find(|l| l.starts_with("Found: ")).unwrap();
    assert!(
        found.contains("2 registered tenants with no schema"),
        "{found}"
    );
    assert!(!found.contains("organization id"), "{found}");
    let report = json(&db, &["health", "--format", "json"]);
    assert_eq!(
        report["orphan_organizations"],
        serde_json::json!([]),
        "{report}"
    );
    let registry = &report["registry"];
    assert_eq!(
        registry["missing_schemas"],
        serde_json::json!(["initech", "umbrella"])
    );
    assert_eq!(
        registry["users"],
        serde_json::json!({"initech": 1, "umbrella": 1})
    );
    // The users list says so of each user, as `tenants` of each tenant.
    let users = json(&db, &["users", "--format", "json"]);
    let ivy = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Ivy");
    assert_eq!(ivy.unwrap()["tenant_schema"], "schema missing", "{users}");
}

/// django-tenants with a tenant whose migrations stopped after `auth`: its
/// schema holds its users but not the shop's tables. `tenants` and the
/// tenants pane count those users (`tenants` said 0: it counted only the
/// tenant schemas), beside `schema missing`.
#[tokio::test]
async fn a_registered_schema_without_the_tenant_tables_still_counts_its_users() {
    let db = fixture("django_tenants").await;
    db.run_sql(
        "CREATE SCHEMA initech;
         CREATE TABLE initech.auth_user (LIKE acme.auth_user INCLUDING ALL);
         INSERT INTO initech.auth_user SELECT * FROM acme.auth_user;",
    )
    .await;
    let text = ok(&db, &["tenants"]);
    let cells: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("Initech "))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(cells, ["Initech", "schema", "missing", "2"], "{text}");
    let tenants = json(&db, &["tenants", "--format", "json"]);
    let initech = find(&tenants, "tenant", "Initech").unwrap();
    assert_eq!(initech["users"], 2, "{tenants}");
    let frame = ok(&db, &["snapshot", "--view", "tenants", "--color", "never"]);
    let line = frame.lines().find(|l| l.contains(" Initech ")).unwrap();
    assert!(line.contains("2 (schema missing)"), "{frame}");
}

/// The article layout with a users table of other column names: `detect`
/// names the table's own columns (it printed the article's `name` and
/// `creation_timestamp`, and `users` then failed), and the users list reads
/// them with the printed TOML as with none.
#[tokio::test]
async fn the_article_layout_reads_the_users_tables_own_columns() {
    let db = TestDatabase::reference().await;
    db.run_sql(
        "ALTER TABLE public.users RENAME COLUMN name TO username;
         ALTER TABLE public.users RENAME COLUMN mail TO email;
         ALTER TABLE public.users DROP COLUMN creation_timestamp;",
    )
    .await;
    let (model, _) = detect(&db);
    assert_eq!(model["layout"].as_str(), Some("article"));
    assert_eq!(model["user_name"].as_str(), Some("username"));
    assert_eq!(model["user_mail"].as_str(), Some("email"));
    assert!(!model.contains_key("user_created"), "{model:?}");
    let users = json(&db, &["users", "--format", "json"]);
    let mails = names(&users, "mail");
    assert!(mails.iter().all(|m| m.contains('@')), "{users}");
    assert_round_trip(&db, &[&["users", "--format", "json"]]);
    // No mail column: no mail key (it printed `user_mail = "mail"`), and an
    // empty one says the same.
    db.run_sql("ALTER TABLE public.users DROP COLUMN email;")
        .await;
    let (model, _) = detect(&db);
    assert!(!model.contains_key("user_mail"), "{model:?}");
    let users = json(&db, &["users", "--format", "json"]);
    assert!(users[0]["mail"].is_null(), "{users}");
    assert_round_trip(&db, &[&["users", "--format", "json"]]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("no_mail.toml");
    std::fs::write(
        &config,
        "[tenancy]\nuser_name = \"username\"\nuser_mail = \"\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let configured = json(&db, &["--config", config, "users", "--format", "json"]);
    assert_eq!(configured, users);
}

/// A role that may read every column of the users table but one it has
/// no use for (Django's `password`, as `sql/support_role.sql` grants; a
/// Rails `updated_at`) lists the same users as the owner, filtered too:
/// the registry's and the link's users were read as `u.*`, which names
/// that column ("permission denied for table …").
#[tokio::test]
async fn a_role_denied_an_unread_users_column_lists_the_same_users() {
    for (name, table, denied) in [
        ("django_tenant_users", "public.users_tenantuser", "password"),
        ("ros_apartment", "public.users", "updated_at"),
    ] {
        let db = fixture(name).await;
        // Roles are the server's, not one database's: one per fixture.
        let role = format!("reader_{name}");
        db.run_sql(&format!(
            "CREATE ROLE {role} LOGIN;
             DO $$ DECLARE s text; readable text; BEGIN
               FOR s IN SELECT nspname FROM pg_namespace
                         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
                 EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', s);
                 EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO {role}', s);
               END LOOP;
               EXECUTE 'REVOKE SELECT ON {table} FROM {role}';
               SELECT string_agg(quote_ident(attname), ', ') INTO readable
                 FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attnum > 0
                  AND NOT attisdropped AND attname <> '{denied}';
               EXECUTE format('GRANT SELECT (%s) ON {table} TO {role}', readable);
             END $$;"
        ))
        .await;
        let owner = db.url.clone();
        let reader = owner.replace("tenantscope@", &format!("{role}@"));
        assert_ne!(owner, reader);
        for args in [
            &["users", "--format", "json"][..],
            &["users", "--filter", "a", "--format", "json"],
        ] {
            let list = |url: &str| {
                let mut all = vec!["--database-url", url];
                all.extend_from_slice(args);
                let out = tenantscope(&all);
                assert!(out.status.success(), "{name} {args:?}: {}", stderr(&out));
                stdout(&out)
            };
            let expected = list(&owner);
            assert!(expected.contains("\"name\""), "{name}: {expected}");
            assert_eq!(list(&reader), expected, "{name} {args:?}");
        }
    }
}
