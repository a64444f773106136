//! The README's walk-through, step by step, on the demo database: the real
//! event loop fed the keys the README names, each step's claim checked on
//! the frame drawn.

use std::time::Duration;

use crossterm::event::KeyCode;
use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{connect, row, start_app, App};

/// Types `text` (in a prompt) key by key.
fn type_text(app: &App, text: &str) {
    for c in text.chars() {
        app.press(KeyCode::Char(c));
    }
}

/// The users pane's row of `name` (with a mail; "" when absent).
fn user_row<'a>(frame: &'a str, name: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.contains(&format!(" {name} ")) && l.contains("@gmail.com"))
        .unwrap_or("")
}

/// A row of a full-width list (health, matrix, basket) holding `what`
/// (inside the frame: not the header).
fn list_row<'a>(frame: &'a str, what: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.starts_with('│') && l.contains(what))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_shows_what_it_says() {
    let test_db = TestDatabase::demo().await;
    let db = connect(&test_db).await;
    let mut app = start_app(db, Duration::from_millis(20), (120, 30)).await;

    // 1. mid_dude of client3 beside client1: a float price at its own scale.
    let frame = app
        .frame_where("step 1: mid_dude's orders", |f| {
            f.contains("Orders of mid_dude · client3 vs client1") && row(f, "Tesla").contains("▲")
        })
        .await;
    let tesla = row(&frame, "Tesla");
    assert!(
        tesla.contains(" 3,500 ") && tesla.contains("5,000.00") && !tesla.contains("3,500.00"),
        "{frame}"
    );

    // 2. j j: rich_dude of client1 against client2.
    app.press(KeyCode::Char('j'));
    app.press(KeyCode::Char('j'));
    let frame = app
        .frame_where("step 2: rich_dude against client2", |f| {
            f.contains("Orders of rich_dude · client1 vs client2")
                && row(f, "Total").contains("10,500.00")
        })
        .await;
    assert!(
        row(&frame, "Tesla").contains("5,000.00") && row(&frame, "Tesla").contains("1,000.00"),
        "{frame}"
    );
    assert!(row(&frame, "Total").contains("60,000.00"), "{frame}");

    // 3. c: client3 sells no Huawei: a dash, not zero, and like for like.
    app.press(KeyCode::Char('c'));
    let frame = app
        .frame_where("step 3: compared with client3", |f| {
            f.contains("Orders of rich_dude · client1 vs client3")
                && row(f, "Like for like").contains("35,000")
        })
        .await;
    assert!(row(&frame, "Huawei").contains('—'), "{frame}");
    assert!(!row(&frame, "Huawei").contains(" 0.00"), "{frame}");

    // 4. j: stray_dude, marked !, whose tenant has no schema.
    app.press(KeyCode::Char('j'));
    let frame = app
        .frame_where("step 4: stray_dude", |f| {
            f.contains("Orders of stray_dude · client9")
                && f.contains("Tenant schema not found: \"client9\"")
        })
        .await;
    assert!(user_row(&frame, "stray_dude").contains('!'), "{frame}");

    // 5. / poor Enter: poor_dude alone; Enter: his row; Esc, Esc: all again.
    app.press(KeyCode::Char('/'));
    type_text(&app, "poor");
    app.press(KeyCode::Enter);
    let frame = app
        .frame_where("step 5: the filter kept", |f| {
            f.contains("Orders of poor_dude · client2") && !f.contains("rich_dude")
        })
        .await;
    assert!(user_row(&frame, "poor_dude").contains("p@gmail.com"));
    app.press(KeyCode::Enter);
    let frame = app
        .frame_where("step 5: poor_dude's details", |f| {
            f.contains("User 2 · Esc closes") && f.contains("schema present")
        })
        .await;
    assert!(!frame.contains("poor-secret-pw"), "never the password");
    app.press(KeyCode::Esc);
    app.frame_where("step 5: the details closed", |f| !f.contains("Esc closes"))
        .await;
    app.press(KeyCode::Esc);
    app.frame_where("step 5: the filter cleared", |f| {
        f.contains("Users (4)") && f.contains("rich_dude") && f.contains("Orders of poor_dude")
    })
    .await;

    // 6. t: health: client3 drifted, client4 unused and behind, client9.
    app.press(KeyCode::Char('t'));
    let frame = app
        .frame_where("step 6: tenant health", |f| {
            f.contains("Tenant health") && list_row(f, "client9").contains("no schema")
        })
        .await;
    assert!(list_row(&frame, " client3 ").contains("drift"), "{frame}");
    assert!(
        list_row(&frame, " client4 ").contains("drift")
            && list_row(&frame, " client4 ").contains("items.creation_timestamp: missing column"),
        "{frame}"
    );
    assert!(list_row(&frame, " client2 ").contains("ok"), "{frame}");
    app.press(KeyCode::Char('f'));
    app.frame_where("step 6: only tenants with findings", |f| {
        f.contains("Tenant health") && !f.contains(" client1 ") && f.contains(" client3 ")
    })
    .await;
    app.press(KeyCode::Char('f'));
    app.frame_where("step 6: every tenant again", |f| {
        list_row(f, " client1 ").contains("ok")
    })
    .await;
    // client3's drift in the detail pane: the float, the ids, the column
    // (client3 was the first row with findings, and `f` keeps it selected).
    let frame = app
        .frame_where("step 6: client3's findings", |f| {
            f.contains("items.price: type double precision, expected numeric(12,2)")
        })
        .await;
    assert!(list_row(&frame, "▶").contains("client3"), "{frame}");
    for finding in [
        "items.colour: extra column (text)",
        "items.id: type integer, expected text",
    ] {
        assert!(frame.contains(finding), "{finding}:\n{frame}");
    }
    app.press(KeyCode::Char('j'));
    app.frame_where("step 6: client4, unused and behind", |f| {
        f.contains("no user's organization id names it")
            && f.contains("items.creation_timestamp: missing column")
    })
    .await;

    // 7. client2, L: the order mid_dude (user 3, of client3) placed there.
    app.press(KeyCode::Char('k'));
    app.press(KeyCode::Char('k'));
    app.frame_where("step 7: client2 selected", |f| {
        list_row(f, "▶").contains("client2")
    })
    .await;
    app.press(KeyCode::Char('L'));
    let frame = app
        .frame_where("step 7: the leaked order", |f| {
            f.contains("1 leaked order") && f.contains("order 3 → user 3 (user of client3)")
        })
        .await;
    // The row says so too, not "ok".
    let client2 = list_row(&frame, "▶");
    assert!(
        client2.contains("✗ leak") && client2.contains("1 leaked order"),
        "{frame}"
    );
    app.press(KeyCode::Esc);
    app.frame_where("step 7: back on the dashboard", |f| f.contains("Users (4)"))
        .await;

    // 8. p: the matrix; → to client2, Enter: who ordered Huawei there.
    app.press(KeyCode::Char('p'));
    let frame = app
        .frame_where("step 8: the price matrix", |f| {
            f.contains("Prices tenants 1–4 of 4") && list_row(f, "Huawei").contains("×20")
        })
        .await;
    let huawei = list_row(&frame, "Huawei");
    assert!(
        huawei.contains("▲ 2,000.00") && huawei.contains("▼ 100.00") && huawei.contains('—'),
        "{frame}"
    );
    app.press(KeyCode::Right);
    app.press(KeyCode::Enter);
    let frame = app
        .frame_where("step 8: who ordered Huawei at client2", |f| {
            // The title comes first, over "Loading users…": wait for him.
            f.contains("who ordered Huawei in client2") && !user_row(f, "poor_dude").is_empty()
        })
        .await;
    assert!(frame.contains("poor_dude") && !user_row(&frame, "rich_dude").contains("h@"));
    // Esc returns to that cell of the matrix; Esc again to the dashboard.
    app.press(KeyCode::Esc);
    app.frame_where("step 8: back on the matrix", |f| {
        f.contains("Prices tenants 1–4 of 4") && !f.contains("who ordered Huawei in client2")
    })
    .await;
    app.press(KeyCode::Esc);
    app.frame_where("step 8: back on the dashboard", |f| f.contains("Users (4)"))
        .await;

    // 9. rich_dude, b: his basket at every tenant, client3 last, lacking Huawei.
    app.press(KeyCode::Char('/'));
    type_text(&app, "rich");
    app.press(KeyCode::Enter);
    app.frame_where("step 9: rich_dude selected", |f| {
        f.contains("Orders of rich_dude · client1")
    })
    .await;
    app.press(KeyCode::Char('b'));
    let frame = app
        .frame_where("step 9: the basket", |f| {
            f.contains("Basket of rich_dude") && f.contains("priced at 4 tenants")
        })
        .await;
    let ranked: Vec<&str> = frame.lines().filter(|l| l.contains("/2 ")).collect();
    assert_eq!(ranked.len(), 4, "{frame}");
    for (line, (tenant, lines, total)) in ranked.iter().zip([
        ("client2", "2/2", "10,500.00"),
        ("client4", "2/2", "49,500.00"),
        ("client1 (own)", "2/2", "60,000.00"),
        ("client3 · lacks Huawei", "1/2", "35,000"),
    ]) {
        assert!(
            line.contains(tenant) && line.contains(lines) && line.contains(total),
            "{tenant}: {line}\n{frame}"
        );
    }
    assert!(ranked[3].contains("▼ -15,000.00"), "{frame}");
    // Enter on a tenant compares with it on the dashboard.
    app.press(KeyCode::Char('j'));
    app.press(KeyCode::Enter);
    app.frame_where("step 9: compared with client4", |f| {
        f.contains("Orders of rich_dude · client1 vs client4")
            && row(f, "Total").contains("49,500.00")
    })
    .await;

    // 10. ? shows the keys, q quits (the snapshot is tests/snapshot.rs's).
    app.press(KeyCode::Char('?'));
    // (The hint bar names the price matrix too: the popup's title.)
    let help = app
        .frame_where("step 10: help", |f| f.contains("Help · ? or Esc closes"))
        .await;
    assert!(help.contains("price matrix"), "{help}");
    app.quit().await;
}
