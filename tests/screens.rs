//! Frame snapshots: each screen drawn from a state value, no terminal, no database.
//! Review the files in tests/snapshots/ like code.

use std::str::FromStr;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rust_decimal::Decimal;
use tenantscope::app::{init, update, Msg, State};
use tenantscope::db::{DbError, OrderLine, OrdersReport, TenantCatalog, User, UserCount, UserKey};
use tenantscope::ui::view;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn user(id: &str, name: &str, mail: &str, tenant: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        mail: mail.into(),
        tenant: Some(tenant.into()),
        created: None,
        key: UserKey {
            name: name.into(),
            id: id.into(),
        },
    }
}

/// The demo's users and tenants, with rich_dude selected.
fn demo_state() -> State {
    let users = vec![
        user("3", "mid_dude", "m@gmail.com", "client3"),
        user("2", "poor_dude", "p@gmail.com", "client2"),
        user("1", "rich_dude", "h@gmail.com", "client1"),
        user("4", "stray_dude", "s@gmail.com", "client9"),
    ];
    let catalog = TenantCatalog::new(vec!["client1".into(), "client2".into(), "client3".into()]);
    let count = UserCount {
        value: users.len() as i64,
        estimated: false,
    };
    let mut state = State::new("demo".into(), catalog, count, users, None);
    init(&mut state);
    select(&mut state, "rich_dude");
    state
}

fn key(state: &mut State, code: KeyCode) {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn select(state: &mut State, name: &str) {
    key(state, KeyCode::Home);
    while state.selected_user().unwrap().name != name {
        key(state, KeyCode::Down);
    }
}

fn line(id: &str, item: &str, qty: i64, price: &str, compare: Option<&str>) -> OrderLine {
    let total = dec(price) * Decimal::from(qty);
    let compare_price = compare.map(dec);
    OrderLine {
        item_id: Some(id.into()),
        item: Some(item.into()),
        quantity: Some(qty),
        unit_price: Some(dec(price)),
        total: Some(total),
        compare_unit_price: compare_price,
        compare_total: compare_price.map(|p| p * Decimal::from(qty)),
    }
}

/// Delivers `lines` as the result of the current orders load.
fn deliver(state: &mut State, tenant: &str, lines: Vec<OrderLine>) {
    let key = state.orders.key().unwrap().clone();
    let total = lines.iter().filter_map(|l| l.total).sum();
    let compare_total = key
        .compare
        .as_ref()
        .map(|_| lines.iter().filter_map(|l| l.compare_total).sum());
    let report = OrdersReport {
        tenant: tenant.into(),
        compare_tenant: key.compare.clone(),
        lines,
        total,
        compare_total,
    };
    update(
        state,
        Msg::OrdersLoaded {
            key,
            result: Ok(report),
            elapsed: Duration::from_millis(4),
        },
    );
}

fn fail(state: &mut State, error: DbError) {
    let key = state.orders.key().unwrap().clone();
    update(
        state,
        Msg::OrdersLoaded {
            key,
            result: Err(error),
            elapsed: Duration::from_millis(4),
        },
    );
}

fn render(state: &mut State, width: u16, height: u16) -> String {
    update(state, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    terminal.backend().to_string()
}

fn reference_lines() -> Vec<OrderLine> {
    vec![
        line("1", "Tesla", 10, "5000.00", Some("1000.00")),
        line("2", "Huawei", 5, "2000.00", Some("100.00")),
    ]
}

#[test]
fn loading() {
    let mut state = demo_state();
    let frame = render(&mut state, 120, 16);
    assert!(frame.contains("Loading orders of rich_dude"));
    insta::assert_snapshot!(frame);
}

#[test]
fn loaded_with_comparison() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    let frame = render(&mut state, 120, 16);
    assert!(
        frame.contains("5,000.00") && frame.contains("1,000.00") && frame.contains("▼ -40,000.00")
    );
    insta::assert_snapshot!(frame);
}

#[test]
fn item_the_comparison_tenant_does_not_sell() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('c'));
    assert_eq!(state.compare_choice().tenant.as_deref(), Some("client3"));
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Tesla", 10, "5000.00", Some("3500.00")),
            line("2", "Huawei", 5, "2000.00", None),
        ],
    );
    let frame = render(&mut state, 120, 16);
    let huawei = frame.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(
        huawei.contains('—') && !huawei.contains(" 0.00"),
        "{huawei}"
    );
    insta::assert_snapshot!(frame);
}

#[test]
fn dearer_comparison_and_own_tenant_skipped() {
    let mut state = demo_state();
    state.compare = Some("client3".into());
    select(&mut state, "mid_dude");
    deliver(
        &mut state,
        "client3",
        vec![line("1", "Tesla", 2, "3500.00", Some("5000.00"))],
    );
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("▲ +3,000.00") && frame.contains("own tenant skipped"));
    insta::assert_snapshot!(frame);
}

#[test]
fn tenant_schema_missing() {
    let mut state = demo_state();
    select(&mut state, "stray_dude");
    fail(&mut state, DbError::TenantNotFound("client9".into()));
    let frame = render(&mut state, 120, 16);
    assert!(frame.contains("Tenant schema not found: \"client9\""));
    assert!(
        frame.contains("! stray_dude"),
        "marked in the list, not by colour alone"
    );
    insta::assert_snapshot!(frame);
}

#[test]
fn database_error() {
    let mut state = demo_state();
    fail(
        &mut state,
        DbError::Query(
            "error communicating with database: Connection refused (os error 111)".into(),
        ),
    );
    let frame = render(&mut state, 120, 16);
    assert!(frame.contains("Press r to retry"));
    insta::assert_snapshot!(frame);
}

#[test]
fn user_with_no_orders() {
    let mut state = demo_state();
    select(&mut state, "poor_dude");
    deliver(&mut state, "client2", Vec::new());
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("poor_dude has no orders in client2."));
    insta::assert_snapshot!(frame);
}

#[test]
fn filter_without_matches() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('/'));
    for ch in "nobody".chars() {
        key(&mut state, KeyCode::Char(ch));
    }
    // The database answers the filter with no rows.
    let request = state.users_request.clone().unwrap();
    update(
        &mut state,
        Msg::UsersPage {
            request,
            result: Ok(Vec::new()),
        },
    );
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("No users match \"nobody\""));
    assert!(
        frame.contains("Enter keep filter"),
        "hint bar switches to the filter's keys"
    );
    insta::assert_snapshot!(frame);
}

#[test]
fn help_popup() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    key(&mut state, KeyCode::Char('?'));
    let frame = render(&mut state, 100, 36);
    for binding in tenantscope::app::keymap::NORMAL {
        assert!(
            frame.contains(binding.description),
            "help lists {}",
            binding.description
        );
    }
    insta::assert_snapshot!(frame);
}

#[test]
fn narrow_terminal_stacks_panes() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    let frame = render(&mut state, 70, 24);
    insta::assert_snapshot!(frame);
}

#[test]
fn tiny_terminal_says_so() {
    let mut state = demo_state();
    let frame = render(&mut state, 20, 5);
    assert!(frame.contains("Terminal too"));
    insta::assert_snapshot!(frame);
}

#[test]
fn every_size_renders_without_panic() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    key(&mut state, KeyCode::Char('?'));
    for width in 0..=130 {
        for height in [0, 1, 5, 11, 12, 13, 24, 40] {
            update(&mut state, Msg::Resize(width, height));
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal.draw(|frame| view(&state, frame)).unwrap();
        }
    }
}

/// Values nobody here wrote: terminal escapes, bidi overrides, zero-width
/// characters, wide scripts, emoji and very long text.
fn hostile_state() -> State {
    let users = vec![
        user(
            "1",
            "evil\u{1b}[2J\u{1b}]0;pwned\u{7}",
            "x@gmail.com",
            "client1",
        ),
        user("2", "abc\u{202e}fed\u{200b}", "bidi@example.com", "client1"),
        user("3", "山田太郎山田太郎山田太郎", "山田@例え.jp", "client2"),
        user(
            "4",
            "rocket 🚀🚀🚀🚀🚀🚀🚀🚀",
            "a.very.long.mail.address.for.testing@subdomain.example.com",
            "client2",
        ),
        user("5", &"x".repeat(300), "long@example.com", &"t".repeat(80)),
    ];
    let catalog = TenantCatalog::new(vec!["client1".into(), "client2".into()]);
    let count = UserCount {
        value: users.len() as i64,
        estimated: false,
    };
    let mut state = State::new("demo".into(), catalog, count, users, None);
    init(&mut state);
    state
}

fn assert_no_control_characters(frame: &str) {
    let stray: Vec<char> = frame
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        stray.is_empty(),
        "raw control characters {stray:?} in:\n{frame}"
    );
    for invisible in ['\u{202e}', '\u{200b}'] {
        assert!(!frame.contains(invisible), "{invisible:?} written raw");
    }
}

#[test]
fn hostile_values_are_made_visible_and_cut_to_their_columns() {
    let mut state = hostile_state();
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "cam\u{1b}[31mera\r\nline", 1, "10.00", Some("12.00")),
            line(
                "2",
                "超長い商品名超長い商品名超長い商品名超長い商品名",
                2,
                "5.00",
                None,
            ),
            line("3", "🚀 launch kit", 1, "99.99", Some("80.00")),
        ],
    );
    let frame = render(&mut state, 120, 14);
    assert_no_control_characters(&frame);
    assert!(frame.contains("evil^[[2J^[]0;pwned<U+0"), "{frame}");
    assert!(frame.contains("abc<U+202E"), "{frame}");
    assert!(frame.contains("cam^[[31mera\\r\\nline"), "{frame}");
    assert!(frame.contains('…'), "long values are cut with an ellipsis");
    // Columns stay aligned: wide text never pushes a pane border or the
    // next column out of its cell.
    let mut terminal = Terminal::new(TestBackend::new(120, 14)).unwrap();
    let buffer = terminal.draw(|f| view(&state, f)).unwrap().buffer.clone();
    let users = tenantscope::ui::layout::areas(buffer.area).users;
    let right_border = users.x + users.width - 1;
    let tenant_column = (0..users.width)
        .map(|x| users.x + x)
        .find(|&x| buffer[(x, users.y + 1)].symbol() == "T");
    // The header, then each user's tenant (first letter), in list order.
    let tenants = ["T", "c", "c", "c", "c", "t"];
    let tenant = tenant_column.unwrap();
    for (y, first) in (users.y + 1..).zip(tenants) {
        assert_eq!(buffer[(right_border, y)].symbol(), "│", "row {y}");
        assert_eq!(
            (
                buffer[(tenant - 1, y)].symbol(),
                buffer[(tenant, y)].symbol()
            ),
            (" ", first),
            "tenant column starts at the same cell in row {y}"
        );
    }
    insta::assert_snapshot!(frame);
}

#[test]
fn hostile_values_in_a_narrow_terminal() {
    // At the top of the list: the escape-sequence user is on screen.
    let mut state = hostile_state();
    let frame = render(&mut state, 70, 20);
    assert_no_control_characters(&frame);
    assert!(frame.contains("evil^[[2J"), "{frame}");
    assert!(frame.contains("abc<U+202E"), "{frame}");
    insta::assert_snapshot!(frame);

    // At the bottom: the 300-character name, cut to its column.
    key(&mut state, KeyCode::Char('G'));
    let frame = render(&mut state, 70, 20);
    assert_no_control_characters(&frame);
    assert!(frame.contains("│▶ ! xxxxxxxxxxxxxxxxxx… "), "{frame}");
    insta::assert_snapshot!("hostile_values_in_a_narrow_terminal_at_the_end", frame);
}

#[test]
fn missing_items_and_null_values() {
    let mut state = demo_state();
    let mut gone = line("7", "x", 3, "1.00", Some("2.00"));
    gone.item = None;
    gone.unit_price = None;
    gone.total = None;
    let mut no_quantity = line("2", "Huawei", 1, "2000.00", Some("100.00"));
    no_quantity.quantity = None;
    no_quantity.total = None;
    no_quantity.compare_total = None;
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Tesla", 10, "5000.00", Some("1000.00")),
            gone,
            no_quantity,
        ],
    );
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("(missing item 7)"), "{frame}");
    insta::assert_snapshot!(frame);
}

fn drifted_report() -> tenantscope::db::HealthReport {
    use tenantscope::db::{
        ColumnShape, Count, Drift, DriftKind, HealthReport, HealthStatus, OrphanOrganization,
        TenantHealth,
    };
    let shape = |type_name: &str, not_null: bool| ColumnShape {
        type_name: type_name.into(),
        not_null,
    };
    let tenant = |name: &str, status, users, drift: Vec<Drift>| TenantHealth {
        tenant: name.into(),
        status,
        users: Count::exact(users),
        items: Some(Count::estimate(50)),
        orders: Some(Count::estimate(2500)),
        drift,
    };
    HealthReport {
        tenants: vec![
            tenant("tenant_0001", HealthStatus::Ok, 500, vec![]),
            tenant(
                "tenant_0002",
                HealthStatus::Drift,
                500,
                vec![Drift {
                    table: "items".into(),
                    column: Some("quantity".into()),
                    kind: DriftKind::ExtraColumn,
                    expected: None,
                    found: Some(shape("integer", false)),
                }],
            ),
            tenant(
                "tenant_0003",
                HealthStatus::Drift,
                500,
                vec![Drift {
                    table: "items".into(),
                    column: Some("price".into()),
                    kind: DriftKind::TypeChanged,
                    expected: Some(shape("numeric(12,2)", true)),
                    found: Some(shape("double precision", true)),
                }],
            ),
            TenantHealth {
                orders: None,
                ..tenant(
                    "tenant_broken",
                    HealthStatus::Drift,
                    0,
                    vec![Drift {
                        table: "orders".into(),
                        column: None,
                        kind: DriftKind::MissingTable,
                        expected: None,
                        found: None,
                    }],
                )
            },
            tenant("tenant_empty", HealthStatus::Unused, 0, vec![]),
        ],
        references: vec![],
        orphan_organizations: vec![OrphanOrganization {
            organization_id: Some("tenant_missing".into()),
            users: 3,
        }],
        unused_tenants: vec!["tenant_broken".into(), "tenant_empty".into()],
    }
}

#[test]
fn health_view_with_drift_orphans_and_a_leak() {
    use tenantscope::db::{Leak, LeakKind};
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('t'));
    update(
        &mut state,
        Msg::HealthLoaded {
            result: Ok(drifted_report()),
            elapsed: Duration::from_millis(7),
        },
    );
    key(&mut state, KeyCode::Char('L'));
    let leak = Leak {
        order_id: Some("2501".into()),
        user_id: Some("4".into()),
        kind: LeakKind::OtherTenant,
        user_tenant: Some("tenant_0004".into()),
    };
    update(
        &mut state,
        Msg::LeaksLoaded {
            tenant: "tenant_0001".into(),
            result: Ok(vec![leak]),
            elapsed: Duration::from_millis(3),
        },
    );
    let frame = render(&mut state, 120, 24);
    for expected in [
        "items.quantity",
        "items.price",
        "double precision",
        "tenant_broken",
        "tenant_missing (3)",
        "order 2501 → user 4 (user of tenant_0004)",
        "~2,500",
    ] {
        assert!(frame.contains(expected), "{expected} in\n{frame}");
    }
    insta::assert_snapshot!(frame);
}

fn demo_matrix() -> tenantscope::db::PriceMatrix {
    use tenantscope::db::{PriceMatrix, PriceRow, PriceSort};
    let tenants: Vec<String> = vec!["client1".into(), "client2".into(), "client3".into()];
    let row = |item: &str, prices: [Option<&str>; 3]| {
        PriceRow::new(
            item.into(),
            prices.iter().map(|p| p.map(dec)).collect(),
            &tenants,
        )
    };
    PriceMatrix {
        rows: vec![
            row("Huawei", [Some("2000.00"), Some("100.00"), None]),
            row("Tesla", [Some("5000.00"), Some("1000.00"), Some("3500.00")]),
            row("Pen", [Some("1.50"), None, None]),
        ],
        tenants: tenants.clone(),
    }
    .sorted(PriceSort::Spread)
}

#[test]
fn price_matrix_marks_lowest_highest_and_spread() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('p'));
    let tenants = state
        .prices
        .pending
        .clone()
        .expect("the visible columns are loading");
    update(
        &mut state,
        Msg::PricesLoaded {
            tenants,
            result: Ok(demo_matrix()),
            elapsed: Duration::from_millis(5),
        },
    );
    let frame = render(&mut state, 120, 14);
    let huawei = frame.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(
        huawei.contains("▲ 2,000.00") && huawei.contains("▼ 100.00") && huawei.contains("×20"),
        "{huawei}"
    );
    let pen = frame.lines().find(|l| l.contains("Pen")).unwrap();
    assert!(
        !pen.contains('▲') && !pen.contains('×'),
        "one price: no marks, no spread: {pen}"
    );
    assert!(
        frame.lines().position(|l| l.contains("Huawei"))
            < frame.lines().position(|l| l.contains("Tesla"))
    );
    insta::assert_snapshot!(frame);
}
