//! What the dashboard and the users filter show on databases the
//! frameworks build (sql/fixtures/): the health view lists every finding
//! the CLI's `health` lists, the users filter matches the names people see
//! (not generated schema names), and link layouts count people and
//! memberships apart.

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

fn json(db: &TestDatabase, args: &[&str]) -> Json {
    let mut all = vec!["--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    let out = tenantscope(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// (name, tenant label, schema) of each user listed by `users --filter`.
fn filtered(db: &TestDatabase, filter: &str) -> Vec<(String, String, String)> {
    let users = json(db, &["users", "--filter", filter, "--format", "json"]);
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let text = |field: &str| u[field].as_str().unwrap_or_default().to_string();
            (text("name"), text("tenant"), text("schema"))
        })
        .collect()
}

#[tokio::test]
async fn the_users_filter_matches_registry_names_not_generated_schema_names() {
    let db = fixture("django_tenant_users").await;
    // Every tenant schema is named `<slug>_<timestamp>`: digits of the
    // timestamp are no name anyone sees.
    assert_eq!(filtered(&db, "1704"), Vec::new());
    assert_eq!(filtered(&db, "_17"), Vec::new());
    let acme = |name: &str| {
        (
            name.to_string(),
            "Acme Corp".to_string(),
            "acme_1704153600".to_string(),
        )
    };
    assert_eq!(filtered(&db, "Acme"), [acme("alice"), acme("bob")]);
    assert_eq!(filtered(&db, "acme corp"), [acme("alice"), acme("bob")]);
    // The registry's key (companies_company.id) names a tenant too: 3 is
    // Globex's key (and bob's user id, which pins bob's first row).
    let by_key: Vec<(String, String)> = filtered(&db, "3")
        .into_iter()
        .map(|(name, tenant, _)| (name, tenant))
        .collect();
    assert_eq!(
        by_key,
        [
            ("bob".to_string(), "Acme Corp".to_string()),
            ("bob".to_string(), "Globex".to_string()),
            ("carol".to_string(), "Globex".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_health_view_lists_every_anomaly_the_cli_lists() {
    use crossterm::event::KeyCode;
    let db = fixture("django_tenants").await;
    let cli = json(&db, &["health", "--format", "json"]);
    // Every schema the CLI names with a finding.
    let mut named: Vec<String> = Vec::new();
    let texts = |value: &Json| -> Vec<String> {
        value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    named.extend(texts(&cli["registry"]["missing_schemas"]));
    named.extend(texts(&cli["registry"]["unregistered_schemas"]));
    named.extend(texts(&cli["unused_tenants"]));
    for drift in cli["ledger"]["drift"].as_array().into_iter().flatten() {
        named.push(drift["tenant"].as_str().unwrap().to_string());
    }
    for tenant in cli["tenants"].as_array().unwrap() {
        if !tenant["drift"].as_array().unwrap().is_empty() {
            named.push(tenant["tenant"].as_str().unwrap().to_string());
        }
    }
    for copy in cli["wrong_copy"].as_array().unwrap() {
        if copy["rows"].as_i64().is_some_and(|n| n > 0) {
            named.push(copy["schema"].as_str().unwrap().to_string());
        }
    }
    named.sort();
    named.dedup();
    assert!(named.len() >= 3, "the fixture plants anomalies: {cli}");

    let database = common::connect(&db).await;
    let mut app = common::start_app(database, std::time::Duration::ZERO, (160, 40)).await;
    // A registry layout opens on its tenants pane; `a` is the dashboard.
    app.frame_where("the tenants pane", |f| f.contains("Acme Corp"))
        .await;
    app.press(KeyCode::Char('a'));
    app.press(KeyCode::Char('t'));
    app.press(KeyCode::Char('f'));
    let frame = app
        .frame_where("the health check", |f| f.contains("checked "))
        .await;
    let title = format!(
        "{} with findings",
        if named.len() == 1 {
            "1 row".to_string()
        } else {
            format!("{} rows", named.len())
        }
    );
    assert!(
        frame.contains(&title),
        "{title} in\n{frame}\nCLI: {named:?}"
    );
    // Each schema the CLI names is a row (by schema, or its details say so).
    let state = app.quit().await;
    let rows = tenantscope::app::health::rows(&state);
    let mut shown: Vec<String> = rows.iter().map(|r| r.schema.clone()).collect();
    shown.sort();
    assert_eq!(shown, named, "{frame}");
    for row in &rows {
        let first = &row.findings[0].text;
        let cut: String = first.chars().take(20).collect();
        assert!(frame.contains(&cut), "{cut} in\n{frame}");
    }
    assert!(!frame.contains("organization"), "{frame}");
}
