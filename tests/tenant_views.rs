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
