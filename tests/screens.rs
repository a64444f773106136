//! Frame snapshots: each screen drawn from a state value, no terminal, no database.
//! Review the files in tests/snapshots/ like code.

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tenantscope::app::{dashboard, health, init, prices, update, Data, Effect, Msg, State};
use tenantscope::db::{
    DbError, ItemRule, OrdersReport, RawOrderLine, RuleChoice, TenantCatalog, User, UserCount,
};
use tenantscope::fixtures;
use tenantscope::money::Value;
use tenantscope::ui::view;

/// The demo's users and tenants, with rich_dude selected.
fn demo_state() -> State {
    let mut state = fixtures::demo_state();
    select(&mut state, "rich_dude");
    state
}

fn key(state: &mut State, code: KeyCode) {
    fixtures::press(state, code);
}

fn select(state: &mut State, name: &str) {
    key(state, KeyCode::Home);
    while state.selected_user().unwrap().name != name {
        key(state, KeyCode::Down);
    }
}

/// An order line as the server sends it: exact text, no totals. Line
/// totals, totals and the comparison are computed by the production code
/// ([`OrdersReport::from_raw`]), not here.
fn line(id: &str, item: &str, qty: &str, price: &str, compare: Option<&str>) -> RawOrderLine {
    RawOrderLine {
        item_id: Some(id.into()),
        item: Some(item.into()),
        quantity: Some(qty.into()),
        unit_price: Some(price.into()),
        compare_unit_price: compare.map(str::to_string),
        // The item the comparison tenant sells under the same id.
        compare_item_id: compare.map(|_| id.into()),
        compare_item: compare.map(|_| item.into()),
        compare_matched: compare.is_some(),
        ..Default::default()
    }
}

/// Delivers `lines` as the result of the current orders load.
fn deliver(state: &mut State, tenant: &str, lines: Vec<RawOrderLine>) {
    let key = state.dashboard.orders.key().unwrap().clone();
    let mut report = OrdersReport::from_raw(tenant.into(), key.compare.clone(), lines);
    report.item_rule = key.compare.as_ref().map(|_| RuleChoice {
        rule: ItemRule::IdOrDescription,
        why: "the catalogues agree on ids".into(),
    });
    update(
        state,
        Msg::from(dashboard::Msg::OrdersLoaded {
            key,
            result: Ok(report),
            elapsed: Duration::from_millis(4),
        }),
    );
}

fn fail(state: &mut State, error: DbError) {
    let key = state.dashboard.orders.key().unwrap().clone();
    update(
        state,
        Msg::from(dashboard::Msg::OrdersLoaded {
            key,
            result: Err(error),
            elapsed: Duration::from_millis(4),
        }),
    );
}

fn render(state: &mut State, width: u16, height: u16) -> String {
    update(state, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    terminal.backend().to_string()
}

fn reference_lines() -> Vec<RawOrderLine> {
    vec![
        line("1", "Tesla", "10", "5000.00", Some("1000.00")),
        line("2", "Huawei", "5", "2000.00", Some("100.00")),
    ]
}

#[test]
fn loading() {
    let mut state = demo_state();
    let frame = render(&mut state, 120, 16);
    assert!(frame.contains("Loading orders of rich_dude"));
    insta::assert_snapshot!(frame);
}

/// A switch to another profile that fails: the header still names the
/// open database and its profile, and the prompt says Esc goes back to it,
/// still open.
#[test]
fn a_failed_profile_switch_says_the_open_database_is_still_there() {
    use tenantscope::app::connect::ConnectError;
    use tenantscope::app::connect::Msg as ConnectMsg;
    let mut state = demo_state();
    state.session.connect.profiles = vec![
        ("local".into(), "me@localhost:5432/shop".into()),
        ("broken".into(), "me@nowhere:5432/nosuchdb".into()),
    ];
    state.session.connect.profile = Some("local".into());
    key(&mut state, KeyCode::Char('P'));
    key(&mut state, KeyCode::Char('b'));
    let effects = fixtures::press(&mut state, KeyCode::Enter);
    let [tenantscope::app::Effect::Connect { ticket, .. }] = &effects[..] else {
        panic!("no connect: {effects:?}");
    };
    update(
        &mut state,
        Msg::from(ConnectMsg::Done {
            ticket: *ticket,
            result: Err(ConnectError {
                message: "cannot connect to me@nowhere:5432/nosuchdb: refused".into(),
                usage: false,
            }),
        }),
    );
    let frame = render(&mut state, 120, 12);
    let header = frame.lines().next().unwrap();
    assert!(header.contains("local: demo"), "{frame}");
    assert!(frame.contains("Not connected"), "{frame}");
    assert!(
        frame.contains("Esc to go back to demo (still open)"),
        "{frame}"
    );
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
            line("1", "Tesla", "10", "5000.00", Some("3500.00")),
            line("2", "Huawei", "5", "2000.00", None),
        ],
    );
    let frame = render(&mut state, 120, 16);
    let huawei = frame.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(
        huawei.contains('—') && !huawei.contains(" 0.00"),
        "{huawei}"
    );
    // Like for like: Tesla alone, 35,000.00 − 50,000.00; never 35,000.00
    // against the full 60,000.00 (−25,000.00).
    assert!(!frame.contains("25,000.00"), "{frame}");
    let like = frame.lines().find(|l| l.contains("Like for like")).unwrap();
    assert!(
        like.contains("50,000.00") && like.contains("▼ -15,000.00"),
        "{like}"
    );
    assert!(frame.contains("1 line not sold by client3"), "{frame}");
    insta::assert_snapshot!(frame);
}

#[test]
fn dearer_comparison_and_own_tenant_skipped() {
    let mut state = demo_state();
    state.dashboard.compare = Some("client3".into());
    select(&mut state, "mid_dude");
    deliver(
        &mut state,
        "client3",
        vec![line("1", "Tesla", "2", "3500.00", Some("5000.00"))],
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
        frame.contains("! 4  stray_dude"),
        "marked in the list, not by colour alone"
    );
    insta::assert_snapshot!(frame);
}

/// One name for a user's tenant in the list and the orders title: where
/// two tenants share a registry label the schema is beside it in both
/// (the list showed the bare label, the title "Acme (client2)"); a user
/// with no organization id reads `(none)` in the title as in the list
/// (the title said "(no tenant)").
#[test]
fn the_list_and_the_title_name_a_tenant_alike() {
    let opened = |users: Vec<tenantscope::db::User>, catalog: TenantCatalog| {
        let count = UserCount {
            value: users.len() as i64,
            ..Default::default()
        };
        let mut state = State::new(Data::new("demo".into(), catalog, count, users, None));
        init(&mut state);
        select(&mut state, "rich_dude");
        render(&mut state, 120, 16)
    };
    let rows = ["client1", "client2"]
        .map(|schema| (schema.to_string(), "Acme".to_string(), schema.to_string()));
    let shared_label = fixtures::catalog().with_registry(rows.to_vec());
    let frame = opened(fixtures::demo_users(), shared_label);
    // The list's row: the left pane of the line holding rich_dude's id.
    let row = frame.lines().find(|l| l.contains("h@gmail.com")).unwrap();
    // Cut to the list's column where it tells the two apart (both read
    // `Acme (cl…`).
    let list = row.split("││").next().unwrap();
    assert!(list.contains("…client1)"), "{frame}");
    assert!(frame.contains("of rich_dude · Acme (client1)"), "{frame}");
    let mut users = fixtures::demo_users();
    for user in users.iter_mut().filter(|u| u.name == "rich_dude") {
        user.tenant = None;
        user.tenant_name = None;
    }
    let frame = opened(users.clone(), fixtures::catalog());
    assert!(frame.contains("of rich_dude · (none)"), "{frame}");
    // One user is one user (the header said "1 users").
    users.retain(|u| u.name == "rich_dude");
    let frame = opened(users, fixtures::catalog());
    assert!(frame.contains(" 1 user · 3 tenants "), "{frame}");
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

/// A price that is NULL where the item is there reads `NULL`, told from
/// an item the comparison tenant does not sell (`—`).
#[test]
fn a_null_price_is_told_from_an_item_not_sold() {
    let mut state = demo_state();
    let mut null_there = line("1", "Tesla", "10", "5000.00", None);
    null_there.compare_matched = true;
    let not_sold = line("2", "Huawei", "5", "2000.00", None);
    let mut null_here = line("3", "Pen", "1", "1.00", Some("2.00"));
    null_here.unit_price = None;
    deliver(&mut state, "client1", vec![null_there, not_sold, null_here]);
    let frame = render(&mut state, 120, 16);
    let cells = |item: &str| -> Vec<String> {
        let row = frame.lines().find(|l| l.contains(item)).unwrap();
        let pane = row.rsplit("││").next().unwrap();
        pane.trim_matches(['"', '│'])
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // Item, qty, price, total, their price, their total, difference.
    assert_eq!(cells("Tesla")[3..5], ["50,000.00", "NULL"], "{frame}");
    assert_eq!(cells("Huawei")[3..5], ["10,000.00", "—"], "{frame}");
    assert_eq!(cells("Pen")[2..5], ["NULL", "—", "2.00"], "{frame}");
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
    let request = state.dashboard.users.request().cloned().unwrap();
    update(
        &mut state,
        Msg::from(dashboard::Msg::UsersPage {
            request,
            result: Ok(Vec::new()),
        }),
    );
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("No users match \"nobody\""));
    assert!(
        frame.contains("Enter keep filter") && frame.contains("Esc cancel"),
        "hint bar switches to the filter's keys"
    );
    insta::assert_snapshot!(frame);
}

#[test]
fn help_in_the_smallest_terminal_scrolls() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('?'));
    let top = render(&mut state, 40, 12);
    assert!(top.contains("j/k scroll · 1-7 of"), "{top}");
    // The popup leaves the hint bar in sight: how to close and scroll it.
    assert!(
        top.lines().last().unwrap().contains("?/Esc close help"),
        "{top}"
    );
    // PgDn pages by what shows: line 8 follows line 7 (it was skipped).
    key(&mut state, KeyCode::PageDown);
    let second = render(&mut state, 40, 12);
    assert!(second.contains("j/k scroll · 8-14 of"), "{second}");
    key(&mut state, KeyCode::PageUp);
    // Past its end (more steps than the help has lines).
    for _ in 0..200 {
        key(&mut state, KeyCode::Char('j'));
    }
    let bottom = render(&mut state, 40, 12);
    assert!(bottom.contains("wheel scrolls"), "{bottom}");
    // Ctrl-Z is read before any view's keys, and listed in every help.
    assert!(bottom.contains("Ctrl-Z"), "{bottom}");
    insta::assert_snapshot!("help_40x12_top", top);
    insta::assert_snapshot!("help_40x12_bottom", bottom);
}

#[test]
fn help_popup() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    key(&mut state, KeyCode::Char('?'));
    let frame = render(&mut state, 100, 36);
    for binding in tenantscope::app::keymap::bindings(dashboard::KEYS) {
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

/// ratatui 0.29 places a changed cell by its index in the frame taken as
/// a u16 (`Buffer::pos_of`): on a terminal of more than 65,536 cells
/// (700×100) the bottom rows were drawn over the top ones, and the last
/// rows stayed blank. The dashboard draws in as many whole rows as fit in
/// 65,536 cells (93 of 100 at 700 columns) and says so in its header.
#[test]
fn a_terminal_of_more_than_65536_cells_draws_each_row_in_its_place() {
    for (width, height, drawn) in [
        (700u16, 100u16, 93usize),
        (1000, 500, 65),
        (660, 100, 99),
        (300, 219, 218),
        (256, 256, 256),
        (120, 30, 30),
    ] {
        let mut state = demo_state();
        deliver(&mut state, "client1", reference_lines());
        let frame = render(&mut state, width, height);
        let rows: Vec<&str> = frame.lines().collect();
        let size = format!("{width}×{height}");
        assert_eq!(rows.len(), usize::from(height), "{size}");
        assert!(
            rows[0].starts_with("\" tenantscope │"),
            "{size}: {}",
            rows[0]
        );
        assert!(
            rows[drawn - 2].starts_with("\" ✓ 2 order lines from client1"),
            "{size}: {}",
            rows[drawn - 2]
        );
        assert!(
            rows[drawn - 1].starts_with("\" ? help  q quit"),
            "{size}: {}",
            rows[drawn - 1]
        );
        for (y, row) in rows.iter().enumerate().skip(drawn) {
            assert!(
                row.trim_matches(['"', ' ']).is_empty(),
                "{size}, row {y}: {row}"
            );
        }
        let note = format!("{drawn} of {height} rows");
        assert_eq!(
            rows[0].contains(&note),
            drawn < usize::from(height),
            "{size}: {}",
            rows[0]
        );
    }
    // So wide that fewer rows than the dashboard needs fit: said so.
    let mut state = demo_state();
    let frame = render(&mut state, 6000, 20);
    assert!(
        frame.starts_with("\"Terminal too wide: 6000×20, need at most 5461 columns"),
        "{}",
        frame.lines().next().unwrap_or_default()
    );
}

/// The dashboard opened on `users`, of tenants client1 and client2.
fn state_with_users(users: Vec<User>) -> State {
    let catalog = TenantCatalog::new(vec!["client1".into(), "client2".into()]);
    let count = UserCount {
        value: users.len() as i64,
        estimated: false,
        ..Default::default()
    };
    let mut state = State::new(Data::new("demo".into(), catalog, count, users, None));
    init(&mut state);
    state
}

/// Values nobody here wrote: terminal escapes, bidi overrides, zero-width
/// characters, wide scripts, emoji and very long text.
fn hostile_state() -> State {
    let users = vec![
        fixtures::user_with_mail(
            "1",
            "evil\u{1b}[2J\u{1b}]0;pwned\u{7}",
            "x@gmail.com",
            "client1",
        ),
        fixtures::user_with_mail("2", "abc\u{202e}fed\u{200b}", "bidi@example.com", "client1"),
        fixtures::user_with_mail("3", "山田太郎山田太郎山田太郎", "山田@例え.jp", "client2"),
        fixtures::user_with_mail(
            "4",
            "rocket 🚀🚀🚀🚀🚀🚀🚀🚀",
            "a.very.long.mail.address.for.testing@subdomain.example.com",
            "client2",
        ),
        fixtures::user_with_mail("5", &"x".repeat(300), "long@example.com", &"t".repeat(80)),
    ];
    state_with_users(users)
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
            line("1", "cam\u{1b}[31mera\r\nline", "1", "10.00", Some("12.00")),
            line(
                "2",
                "超長い商品名超長い商品名超長い商品名超長い商品名",
                "2",
                "5.00",
                None,
            ),
            line("3", "🚀 launch kit", "1", "99.99", Some("80.00")),
        ],
    );
    let frame = render(&mut state, 120, 14);
    assert_no_control_characters(&frame);
    assert!(frame.contains("evil^[[2J^[]0;pwned<U+0"), "{frame}");
    assert!(
        frame.contains("abc<U+202"),
        "escaped, cut by its column: {frame}"
    );
    assert!(frame.contains("cam^[[31mera\\r\\nline"), "{frame}");
    assert!(frame.contains('…'), "long values are cut with an ellipsis");
    // Columns stay aligned: wide text never pushes a pane border or the
    // next column out of its cell.
    let mut terminal = Terminal::new(TestBackend::new(120, 14)).unwrap();
    let buffer = terminal.draw(|f| view(&state, f)).unwrap().buffer.clone();
    let users = tenantscope::geometry::areas(buffer.area).users;
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
    assert!(frame.contains("│▶ ! 5  xxxxxxxxxxxxxxxxxxxx… "), "{frame}");
    insta::assert_snapshot!("hostile_values_in_a_narrow_terminal_at_the_end", frame);
}

/// A noncharacter or an unassigned code point in a user's or an item's
/// name is escaped as other invisible characters are: written raw, the
/// terminal took U+FFFE for another width than the frame did, doubled the
/// orders pane's right border (`┐┐`, `││`) and left stale cells behind.
#[test]
fn noncharacters_and_unassigned_code_points_are_escaped() {
    let mut users = fixtures::demo_users();
    users.push(fixtures::user_with_mail(
        "01",
        "a\u{FFFE}z",
        "m\u{10FFFF}",
        "client1",
    ));
    users.push(fixtures::user_with_mail(
        "02",
        "b\u{0378}y",
        "n\u{FDD0}",
        "client1",
    ));
    let mut state = state_with_users(users);
    select(&mut state, "a\u{FFFE}z");
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Tes\u{FFFF}la", "10", "5000.00", Some("1000.00")),
            line("2", "Huawei", "5", "2000.00", Some("100.00")),
        ],
    );
    let frame = render(&mut state, 120, 14);
    let raw: Vec<char> = frame
        .chars()
        .filter(|c| {
            matches!(
                c,
                '\u{FFFE}' | '\u{FFFF}' | '\u{10FFFF}' | '\u{0378}' | '\u{FDD0}'
            )
        })
        .collect();
    assert!(raw.is_empty(), "written raw: {raw:?} in:\n{frame}");
    for shown in [
        "a<U+FFFE>z",
        "m<U+10FFFF>",
        "b<U+0378>y",
        "n<U+FDD0>",
        "Tes<U+FFFF>la",
    ] {
        assert!(frame.contains(shown), "{shown}: {frame}");
    }
    insta::assert_snapshot!(frame);
}

#[test]
fn missing_items_and_null_values() {
    let mut state = demo_state();
    // The server's answer for an order whose item is gone (no description,
    // no price) and one with a NULL quantity.
    let mut gone = line("7", "x", "3", "1.00", Some("2.00"));
    gone.item = None;
    gone.unit_price = None;
    let mut no_quantity = line("2", "Huawei", "1", "2000.00", Some("100.00"));
    no_quantity.quantity = None;
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Tesla", "10", "5000.00", Some("1000.00")),
            gone,
            no_quantity,
        ],
    );
    let frame = render(&mut state, 120, 14);
    assert!(frame.contains("(missing item 7)"), "{frame}");
    // Two lines have no own total: the total is unknown, not 50,000.00,
    // and the comparison covers Tesla alone (10,000.00 − 50,000.00).
    let total = frame.lines().find(|l| l.contains("││Total")).unwrap();
    assert!(
        total.contains('—') && !total.contains("50,000.00"),
        "{total}"
    );
    assert!(
        frame.contains("Total unknown: 2 lines without a total"),
        "{frame}"
    );
    let like = frame.lines().find(|l| l.contains("Like for like")).unwrap();
    assert!(like.contains("▼ -40,000.00"), "{like}");
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
        wrong_copy: vec![tenantscope::db::WrongCopy {
            schema: "public".into(),
            table: "orders".into(),
            role: tenantscope::db::CopyRole::TenantTable,
            rows: Some(2),
            more: false,
            why: "a tenant table: its rows belong in the tenant schemas".into(),
        }],
        unreachable_nodes: Vec::new(),
    }
}

/// An orders table estimated at 123 million rows (`~123,456,789`) shows
/// whole where the row has room (it read `…` at 120 columns: a count column
/// was capped at 10 cells). Where the row has no room, it shows as `…`,
/// never as its cut digits (`~123,456,…` read as a number), and widens
/// nothing.
#[test]
fn a_health_count_shows_whole_where_it_fits_else_an_ellipsis() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('t'));
    let mut report = drifted_report();
    report.tenants[0].orders = Some(tenantscope::db::Count::estimate(123_456_789));
    fixtures::deliver_health(&mut state, report);
    let row_of = |frame: &str, tenant: &str| {
        let row = frame.lines().find(|l| l.contains(tenant));
        row.unwrap_or_else(|| panic!("{frame}")).to_string()
    };
    let wide = render(&mut state, 120, 24);
    assert!(
        row_of(&wide, "tenant_0001").contains(" ~123,456,789 "),
        "{wide}"
    );
    let narrow = render(&mut state, 44, 24);
    let row = row_of(&narrow, "▶ ten…0001");
    assert!(!row.contains("~123,"), "{narrow}");
    assert!(row.contains(" … "), "{narrow}");
    // The other counts keep their digits: the cap cuts only what passes it.
    assert!(narrow.contains(" ~2,500 │"), "{narrow}");
}

/// An export reading every row is said as a load is, spinner first, until
/// its file is written (it read `✓ exporting…`, as if done); after another
/// database was opened, its answer names the database it read.
#[test]
fn an_export_reading_is_busy_then_names_its_database() {
    let mut state = demo_state();
    state.session.exporting = Some(tenantscope::app::Exporting {
        from: "prod".into(),
        reads: true,
        quit_asked: false,
    });
    let frame = render(&mut state, 120, 16);
    let status = frame.lines().rev().nth(1).unwrap();
    assert!(status.contains("exporting: reading every row…"), "{frame}");
    assert!(!status.contains('✓'), "{status}");
    update(
        &mut state,
        Msg::Exported(Ok("/tmp/tenantscope-orders-1.csv".into())),
    );
    let frame = render(&mut state, 120, 16);
    assert!(
        frame.contains("✓ exported to /tmp/tenantscope-orders-1.csv (from prod)"),
        "{frame}"
    );
    assert!(state.session.exporting.is_none());
}

/// A "who ordered" list opened while one tenant's users were listed is
/// titled by its own tenant alone (it read "Users of client1 who ordered
/// Huawei in client2").
#[test]
fn a_who_ordered_list_is_titled_by_its_own_tenant() {
    use tenantscope::db::{SchemaState, TenantEntry};
    let mut state = demo_state();
    state.dashboard.tenant = Some(TenantEntry::of_schema(
        "client1".into(),
        SchemaState::Ok,
        None,
    ));
    let key = (tenantscope::db::ItemRule::Description, "Huawei".to_string());
    dashboard::show_buyers(&mut state, "client2".into(), "Huawei".into(), key);
    let frame = render(&mut state, 120, 16);
    let title = frame.lines().nth(1).unwrap();
    assert!(
        title.contains(" Users who ordered Huawei in client2 "),
        "{frame}"
    );
    assert!(!title.contains("client1"), "{frame}");
}

#[test]
fn health_view_with_drift_orphans_and_a_leak() {
    use tenantscope::db::{Leak, LeakKind};
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('t'));
    fixtures::deliver_health(&mut state, drifted_report());
    key(&mut state, KeyCode::Char('L'));
    let leak = Leak {
        order_id: Some("2501".into()),
        user_id: Some("4".into()),
        kind: LeakKind::OtherTenant,
        user_tenant: Some("tenant_0004".into()),
    };
    // An orders table without an id column: its leak has no order id.
    let without_id = Leak {
        order_id: None,
        user_id: Some("5".into()),
        kind: LeakKind::NoUser,
        user_tenant: None,
    };
    let asked = state.health.leaks.pending().cloned().unwrap();
    update(
        &mut state,
        Msg::from(health::Msg::LeaksLoaded {
            key: asked,
            result: Ok(vec![leak, without_id]),
            elapsed: Duration::from_millis(3),
        }),
    );
    let frame = render(&mut state, 120, 24);
    for expected in [
        "items.quantity",
        "items.price",
        "double precision",
        "tenant_broken",
        "order 2501 → user 4 (user of tenant_0004)",
        "order (none) → user 5 (no such user)",
        "~2,500",
    ] {
        assert!(frame.contains(expected), "{expected} in\n{frame}");
    }
    // An organization id naming no schema is a row of its own, its users counted.
    let orphan = frame
        .lines()
        .find(|l| l.contains("tenant_missing"))
        .unwrap_or_else(|| panic!("no orphan row in\n{frame}"));
    assert!(
        orphan.contains("no schema") && orphan.contains(" 3 "),
        "{orphan}"
    );
    insta::assert_snapshot!(frame);
}

fn demo_matrix() -> tenantscope::db::PriceMatrix {
    use tenantscope::db::{PriceMatrix, PriceRow, PriceSort};
    let tenants: Vec<String> = vec!["client1".into(), "client2".into(), "client3".into()];
    let row = |item: &str, prices: [Option<&str>; 3]| {
        PriceRow::new(
            item.into(),
            prices.iter().map(|p| Value::from_text(*p)).collect(),
            &tenants,
        )
    };
    PriceMatrix {
        rows: vec![
            row("Huawei", [Some("2000.00"), Some("100.00"), None]),
            row("Tesla", [Some("5000.00"), Some("1000.00"), Some("3500.00")]),
            row("Pen", [Some("1.50"), None, None]),
            // A price wider than the default column (`▲ 1,234,567.89`)
            // and a spread wider than its column (×12345678.9).
            row("Bond", [Some("0.10"), Some("1234567.89"), None]),
            // A price wider than any column the screen has room for.
            row(
                "Yacht",
                [Some("1000000000000000000.00"), Some("5.00"), None],
            ),
        ],
        tenants: tenants.clone(),
        failed: Vec::new(),
        ..Default::default()
    }
    .sorted(PriceSort::Spread)
}

#[test]
fn price_matrix_marks_lowest_highest_and_spread() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('p'));
    let key = state
        .prices
        .matrix
        .pending()
        .cloned()
        .expect("the visible columns are loading");
    update(
        &mut state,
        Msg::from(prices::Msg::Loaded {
            key,
            result: Ok(demo_matrix()),
            elapsed: Duration::from_millis(5),
        }),
    );
    let frame = render(&mut state, 120, 14);
    let words = |item: &str| {
        let line = frame.lines().find(|l| l.contains(item)).unwrap();
        let words = line.split(['│', ' ', '"', '▶']).filter(|w| !w.is_empty());
        words.map(str::to_string).collect::<Vec<_>>()
    };
    // The price columns widen to the widest price where there is room
    // (they stayed 13 cells wide on any screen), and the spread to its
    // widest in what they leave (`×12345678.9` showed as `…` beside empty
    // room); too wide for the room (`▲ 1,000,…`): `…`, not its last
    // digits, and a price keeps its ▲.
    let bond = words("Bond");
    assert_eq!(
        bond,
        ["Bond", "▼", "0.10", "▲", "1,234,567.89", "—", "×12345678.9"]
    );
    let yacht = words("Yacht");
    assert_eq!(
        yacht,
        ["Yacht", "▲", "…", "▼", "5.00", "—", "×200000000000000000"]
    );
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
    // At 80 columns the title keeps the sort, and the status line names
    // the item rule (the title cut it: `· matched b┐`).
    let narrow = render(&mut state, 80, 14);
    let title = narrow.lines().nth(1).unwrap();
    assert!(title.contains("among all · sorted by spread ─"), "{title}");
    assert!(
        narrow.contains("✓ prices of 3 tenants (items matched by description) in 5 ms"),
        "{narrow}"
    );
}

/// Issue 9: client1 renamed orders.quantity, client2 did not (a 1-vs-1 tie).
fn tied_report() -> tenantscope::db::HealthReport {
    use tenantscope::db::{
        ColumnShape, Count, Drift, DriftKind, HealthReport, HealthStatus, ReferenceChoice,
        TableReference, TenantHealth,
    };
    let quantity = ColumnShape {
        type_name: "integer".into(),
        not_null: true,
    };
    let tenant = |name: &str, status, drift: Vec<Drift>| TenantHealth {
        tenant: name.into(),
        status,
        users: Count::exact(1),
        items: Some(Count::estimate(2)),
        orders: Some(Count::estimate(12_345)),
        drift,
    };
    let reference = |table: &str, tie| TableReference {
        table: table.into(),
        tenant: "client2".into(),
        chosen_by: if tie {
            ReferenceChoice::RequiredColumns
        } else {
            ReferenceChoice::Majority
        },
        matching: if tie { 1 } else { 2 },
        with_table: 2,
        tie,
        columns: vec![],
    };
    HealthReport {
        tenants: vec![
            tenant(
                "client1",
                HealthStatus::Drift,
                vec![Drift {
                    table: "orders".into(),
                    column: Some("quantity".into()),
                    kind: DriftKind::MissingRequiredColumn,
                    expected: Some(quantity),
                    found: None,
                }],
            ),
            tenant("client2", HealthStatus::Ok, vec![]),
        ],
        references: vec![reference("items", false), reference("orders", true)],
        orphan_organizations: vec![],
        unused_tenants: vec![],
        wrong_copy: vec![],
        unreachable_nodes: Vec::new(),
    }
}

#[test]
fn health_view_in_40_columns_marks_cut_names_and_says_there_was_a_tie() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('t'));
    fixtures::deliver_health(&mut state, tied_report());
    let frame = render(&mut state, 40, 24);
    let rows: Vec<&str> = frame
        .lines()
        .filter(|l| l.contains("✗ drift") || l.contains("✓ ok"))
        .collect();
    assert_eq!(rows.len(), 2, "{frame}");
    assert!(
        rows[0].contains("client1 ") && rows[1].contains("client2 "),
        "{frame}"
    );
    assert!(frame.contains("12,345"), "counts are not cut: {frame}");
    assert!(frame.contains("no majority"), "{frame}");
    insta::assert_snapshot!(frame);

    // A name that cannot fit is cut visibly, where it differs from
    // client1's (it read `client…`).
    let mut report = tied_report();
    report.tenants[1].tenant = "client2_with_a_name_too_long_for_forty_columns".into();
    key(&mut state, KeyCode::Char('r'));
    fixtures::deliver_health(&mut state, report);
    let frame = render(&mut state, 40, 24);
    let long = frame
        .lines()
        .find(|l| l.contains("✓ ok"))
        .unwrap_or_else(|| panic!("no row in\n{frame}"));
    assert!(
        long.contains("…2_wit…") && long.contains("~12,345"),
        "{long}"
    );
}

/// Issue 9: a name that was not UTF-8 (SQL_ASCII) shows with U+FFFD and the
/// status line counts such values; a table without `mail` leaves it blank.
#[test]
fn invalid_utf8_is_shown_replaced_and_counted_and_a_missing_mail_is_blank() {
    let mut bad = fixtures::user_with_mail("1", "rich\u{fffd}_dude", "", "client1");
    bad.mail = None;
    bad.invalid_utf8 = 1;
    let mut poor = fixtures::user_with_mail("2", "poor_dude", "", "client2");
    poor.mail = None;
    let mut state = state_with_users(vec![poor, bad]);
    select(&mut state, "rich\u{fffd}_dude");
    deliver(&mut state, "client1", reference_lines());
    let frame = render(&mut state, 120, 12);
    assert!(frame.contains("rich\u{fffd}_dude"), "{frame}");
    let status = frame.lines().rev().nth(1).unwrap();
    assert!(
        status.contains("⚠ 1 value had invalid UTF-8 (shown as \u{fffd})"),
        "{frame}"
    );
    insta::assert_snapshot!(frame);
}

/// Issue 9: `End` on a long window, then `→` to a window with few items:
/// the body shows those items (it used to stay scrolled past their end).
#[test]
fn price_matrix_after_end_then_a_shorter_window_shows_its_rows() {
    use tenantscope::db::{PriceMatrix, PriceRow, PriceSort};
    let matrix = |tenant: &str, items: usize| {
        let tenants = vec![tenant.to_string()];
        PriceMatrix {
            rows: (0..items)
                .map(|i| {
                    PriceRow::new(format!("Item {i:02}"), vec![Value::parse("1.00")], &tenants)
                })
                .collect(),
            tenants,
            failed: Vec::new(),
            ..Default::default()
        }
        .sorted(PriceSort::Name)
    };
    let mut state = demo_state();
    // 50 columns: one tenant column per window.
    update(&mut state, Msg::Resize(50, 14));
    key(&mut state, KeyCode::Char('p'));
    key(&mut state, KeyCode::Char('s'));
    let deliver_prices = |state: &mut State, tenant: &str, items: usize| {
        let tenants = fixtures::deliver_prices(state, matrix(tenant, items));
        assert_eq!(tenants, [tenant]);
    };
    deliver_prices(&mut state, "client1", 40);
    key(&mut state, KeyCode::End);
    assert!(render(&mut state, 50, 14).contains("Item 39"));
    key(&mut state, KeyCode::Right);
    deliver_prices(&mut state, "client2", 2);
    let frame = render(&mut state, 50, 14);
    assert!(
        frame.contains("Item 00") && frame.contains("Item 01"),
        "{frame}"
    );
    insta::assert_snapshot!(frame);
}

/// Fractional quantities, an exact product past i64 and a NaN price, as
/// the server sends them: nothing rounded, the NaN named, the total unknown.
#[test]
fn exact_values_and_an_unusable_price() {
    let mut state = demo_state();
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Pen", "2.500", "19.99", Some("20")),
            line("2", "Pin", "0.001", "19.99", Some("19.99")),
            line("3", "Grain", "9223372036854775807", "0.01", None),
            line("4", "Mystery", "1", "NaN", Some("5.00")),
        ],
    );
    let frame = render(&mut state, 170, 16);
    let row = |item: &str| {
        frame
            .lines()
            .find(|l| l.contains(item))
            .unwrap()
            .to_string()
    };
    // 2.5 × 19.99 = 49.975 against 2.5 × 20 = 50: +0.025.
    assert!(
        row("Pen").contains(" 2.5 ") && row("Pen").contains("49.975"),
        "{frame}"
    );
    assert!(row("Pen").contains("▲ +0.025"), "{frame}");
    assert!(
        row("Pin").contains("0.001") && row("Pin").contains("0.01999"),
        "{frame}"
    );
    assert!(
        row("Grain").contains("92,233,720,368,547,758.07"),
        "{frame}"
    );
    assert!(row("Mystery").contains("NaN"), "{frame}");
    assert!(
        frame.contains("Total unknown: 1 line with a price that is not a number (NaN)"),
        "{frame}"
    );
    insta::assert_snapshot!(frame);
    // Narrower, the own figures stay whole and the compared ones give
    // way: shown as `…`, never cut.
    let narrow = render(&mut state, 120, 16);
    let words = |item: &str| {
        let row = narrow.lines().find(|l| l.contains(item)).unwrap();
        let pane = row.split("││").nth(1).unwrap();
        let words = pane.split(['│', ' ', '"']).filter(|w| !w.is_empty());
        words.map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(
        words("Grain"),
        [
            "Grain",
            "9,223,372,036,854,775,807",
            "0.01",
            "92,233,720,368,547,758.07",
            "—",
            "—",
            "—"
        ],
        "{narrow}"
    );
    assert_eq!(
        words("Pin"),
        ["Pin", "0.001", "19.99", "0.01999", "…", "…", "…"],
        "{narrow}"
    );
}

/// The matrix names a tenant whose prices could not be read, and shows a
/// text price that is no number in its cell.
#[test]
fn price_matrix_names_a_tenant_it_could_not_read() {
    use tenantscope::db::{PriceMatrix, PriceRow, TenantFailure};
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('p'));
    let (_, tenants) = state.prices.matrix.pending().cloned().unwrap();
    let row = |item: &str, prices: [Option<&str>; 3]| {
        PriceRow::new(
            item.into(),
            prices.iter().map(|p| Value::from_text(*p)).collect(),
            &tenants,
        )
    };
    let matrix = PriceMatrix {
        rows: vec![
            row("Huawei", [Some("2000.00"), Some("N/A"), None]),
            row("Tesla", [Some("5000.00"), Some("1000.00"), None]),
        ],
        tenants: tenants.clone(),
        failed: vec![TenantFailure {
            tenant: "client3".into(),
            error: "query failed: permission denied for schema client3".into(),
        }],
        ..Default::default()
    };
    fixtures::deliver_prices(&mut state, matrix);
    let frame = render(&mut state, 120, 14);
    assert!(
        frame.contains("not priced: client3: query failed: permission denied"),
        "{frame}"
    );
    // Of the columns asked for, those priced (it said "prices of 3 tenants").
    assert!(
        frame.contains("✗ prices of 2 of 3 tenants; not priced"),
        "{frame}"
    );
    assert!(frame.contains("✗ client3"), "{frame}");
    let huawei = frame.lines().find(|l| l.contains("Huawei")).unwrap();
    assert!(huawei.contains("not a number"), "{huawei}");
    // Its cells say nothing is known ("?"), not "not sold" ("—"); the
    // spread follows.
    let cells: Vec<&str> = huawei
        .trim_matches(['"', '│'])
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells, ["Huawei", "2,000.00", "not a number", "?", "—"]);
    insta::assert_snapshot!(frame);
    // Enter on its cell says why, not "does not sell".
    for _ in 0..2 {
        key(&mut state, KeyCode::Right);
    }
    key(&mut state, KeyCode::Enter);
    let frame = render(&mut state, 120, 14);
    assert!(
        frame.contains("client3 could not be priced: query failed: permission denied"),
        "{frame}"
    );
}

/// Tenants not priced for different reasons are each said with their own:
/// the status read "not priced: e (and 1 more): its items table has no
/// price column", though the other had failed on a lock. How many comes
/// first: reasons that name their schema never group, and the line is cut.
#[test]
fn price_matrix_says_each_reason_with_the_tenants_it_stopped() {
    use tenantscope::db::{PriceMatrix, TenantFailure};
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('p'));
    let (_, tenants) = state.prices.matrix.pending().cloned().unwrap();
    let failure = |tenant: &str, error: &str| TenantFailure {
        tenant: tenant.into(),
        error: error.into(),
    };
    let no_price = "its items table has no price column";
    let lock = "canceling statement due to lock timeout";
    let matrix = PriceMatrix {
        tenants,
        failed: vec![
            failure("e", no_price),
            failure("a", lock),
            failure("f", no_price),
        ],
        ..Default::default()
    };
    fixtures::deliver_prices(&mut state, matrix);
    let frame = render(&mut state, 200, 14);
    let status = frame.lines().rev().nth(1).unwrap();
    assert!(
        status.contains(&format!(
            "; 3 not priced: e (and 1 more): {no_price}; a: {lock}"
        )),
        "{status}"
    );
}

#[test]
fn detail_popup_of_a_user_and_of_an_order_line() {
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    key(&mut state, KeyCode::Enter);
    let user = render(&mut state, 80, 24);
    assert!(user.contains("User 1 · Esc closes"), "{user}");
    assert!(user.contains("h@gmail.com") && user.contains("schema present"));
    insta::assert_snapshot!("detail_user_80x24", user);
    key(&mut state, KeyCode::Esc);
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Enter);
    let line = render(&mut state, 200, 50);
    assert!(line.contains("Order line Tesla"), "{line}");
    assert!(line.contains("50000.00"), "exact digits, to copy: {line}");
    insta::assert_snapshot!("detail_order_line_200x50", line);
}

/// rich_dude's basket at three tenants: full, own, and one lacking a line.
/// The basket of the reference lines (Tesla, Huawei) priced at each
/// `(tenant, Tesla's price, Huawei's price)`.
fn basket_priced(prices: &[(&str, Option<&str>, Option<&str>)]) -> State {
    use tenantscope::app::basket;
    use tenantscope::db::{BasketTenant, OrderLine};
    let mut state = demo_state();
    deliver(&mut state, "client1", reference_lines());
    key(&mut state, KeyCode::Char('b'));
    let batch = state.basket.load.awaited().unwrap();
    let lines: Vec<OrderLine> = reference_lines()
        .into_iter()
        .map(OrderLine::from_raw)
        .collect();
    let price =
        |tesla: Option<&str>, huawei: Option<&str>| [tesla, huawei].map(|p| p.map(Value::parse));
    let priced = prices
        .iter()
        .map(|(tenant, tesla, huawei)| {
            BasketTenant::priced(tenant.to_string(), &lines, &price(*tesla, *huawei))
        })
        .collect();
    update(
        &mut state,
        Msg::from(basket::Msg::Page {
            batch,
            result: Ok((lines, priced)),
            elapsed: Duration::from_millis(7),
        }),
    );
    state
}

fn basket_state() -> State {
    basket_priced(&[
        ("client2", Some("1000.00"), Some("100.00")),
        ("client1", Some("5000.00"), Some("2000.00")),
        ("client3", Some("3500.00"), None),
    ])
}

#[test]
fn basket_ranks_tenants_with_their_coverage() {
    let mut state = basket_state();
    let small = render(&mut state, 80, 24);
    assert!(
        small.contains("1/2"),
        "client3 sells one of two lines: {small}"
    );
    insta::assert_snapshot!("basket_80x24", small);
    let large = render(&mut state, 200, 50);
    assert!(large.contains("client1 (own)"), "{large}");
    insta::assert_snapshot!("basket_200x50", large);
}

/// A comparison price of 1,000 digits (its total out of range) or a
/// realistic 1e30 does not fit the orders pane: it shows as `…` and takes
/// no more room than that, so the item, the quantity and the own prices
/// stay whole (they were cut to a letter beside ~60 blank cells).
#[test]
fn a_number_too_wide_to_show_leaves_the_other_columns_their_room() {
    let thousand_digits = format!("1{}", "0".repeat(999));
    let cases = [
        (
            "a_price_of_1000_digits_takes_no_room_from_the_others",
            line("3", "X3", "10", "1", Some(&thousand_digits)),
            ["X3", "10", "out of range"],
        ),
        (
            "a_price_of_1e30_takes_no_room_from_the_others",
            line("1", "Tesla", "2", "79999.99", Some("1e+30")),
            ["Tesla", "79,999.99", "159,999.98"],
        ),
    ];
    for (name, line, shown) in cases {
        let mut state = demo_state();
        deliver(&mut state, "client1", vec![line]);
        // At 200 columns the 1e30 prices fit whole, the item still does.
        for cells in [100, 200, 120] {
            let frame = render(&mut state, cells, 16);
            let header = frame
                .lines()
                .find(|l| l.contains("Item"))
                .unwrap_or_else(|| panic!("{frame}"));
            for title in ["Item", "Qty", "Unit price", "Total"] {
                assert!(header.contains(&format!("{title} ")), "{name}: {header}");
            }
            let row = frame
                .lines()
                .find(|l| l.contains(shown[0]))
                .unwrap_or_else(|| panic!("{frame}"));
            for cell in shown {
                assert!(row.contains(cell), "{name} at {cells}: {row}");
            }
            if cells <= 120 {
                // The huge price is `…`, never its cut digits.
                assert!(row.contains(" … ") && !row.contains(",000,"), "{row}");
            }
            if cells == 120 {
                insta::assert_snapshot!(name, frame);
            }
        }
    }
}

/// Prices of many digits with nothing to compare (every comparison cell
/// `—`): the own total and the Total row show whole at 120 columns (the
/// Total column was 5 cells, `…`, beside about 30 cells of `—`), the
/// columns of `—` take what is left, and a unit price too wide to fit
/// beside the total is `…`, never its cut digits.
#[test]
fn the_own_total_takes_room_before_columns_of_dashes() {
    let pi = "3.14159265358979323846264338327950288";
    let mut state = demo_state();
    deliver(
        &mut state,
        "client1",
        vec![
            line("1", "Pi to 36 places", "3", pi, None),
            line("2", "A trace", "1", "1e-20", None),
            line("3", "The answer", "1", "42", None),
        ],
    );
    let total = "51.42477796076937971539793014983850864";
    let tall = render(&mut state, 300, 30);
    assert!(tall.contains(total) && tall.contains(pi), "{tall}");
    let frame = render(&mut state, 120, 16);
    // The orders pane's row that starts with `item`.
    let row = |item: &str| {
        let pane = frame.lines().filter_map(|l| l.split("││").nth(1));
        let row = pane.clone().find(|l| l.starts_with(item));
        row.unwrap_or_else(|| panic!("no {item} in\n{frame}"))
    };
    assert!(row("Total ").contains(total), "{frame}");
    assert!(
        row("Pi ").contains("9.42477796076937971538793014983850864"),
        "{frame}"
    );
    assert!(row("The answer").contains(" 42 "), "{frame}");
    // The unit prices too wide to fit beside the total are `…`, never cut.
    let whole = [pi, "0.00000000000000000001", total];
    for item in ["Pi ", "A trace", "The answer"] {
        for word in row(item).split(['│', ' ']).filter(|w| w.contains('.')) {
            let cut = whole.iter().any(|n| n.contains(word) && *n != word);
            assert!(!cut || word.starts_with("9.42"), "{word} in\n{frame}");
        }
    }
    assert!(row("Pi ").contains(" … "), "{frame}");
    insta::assert_snapshot!(frame);
}

/// Totals in the tens of billions are drawn whole where there is room, and
/// as `…` where there is not: never with their leading digits cut.
#[test]
fn basket_amounts_are_whole_or_an_ellipsis_never_cut() {
    let mut state = basket_priced(&[
        ("client2", Some("7000000000.00"), Some("1.00")),
        ("client1", Some("5000.00"), Some("2000.00")),
    ]);
    // 10 Teslas and 5 Huaweis (the reference lines).
    let (total, difference) = ("70,000,000,005.00", "+69,999,940,005.00");
    let client2 = |frame: &str| {
        let row = frame
            .lines()
            .find(|l| l.contains("client2") && l.contains("/2"));
        row.unwrap_or_else(|| panic!("no client2 row: {frame}"))
            .to_string()
    };
    let wide = client2(&render(&mut state, 80, 24));
    assert!(wide.contains(total) && wide.contains(difference), "{wide}");
    for (cells, whole_total) in [(65, true), (60, false), (44, false)] {
        let row = client2(&render(&mut state, cells, 24));
        for word in row.split(['│', ' ']).filter(|w| !w.is_empty()) {
            for number in [total, difference] {
                assert!(
                    word == number || !number.ends_with(word) || !word.contains(','),
                    "{word:?}, cut from {number}, at {cells} columns: {row}"
                );
            }
        }
        assert_eq!(row.contains(total), whole_total, "{row}");
        assert!(!row.contains(difference) && row.contains('…'), "{row}");
    }
}

/// Where the numbers squeeze the tenant names, the own tenant's `(own)`
/// stays (its name gives way) and a difference cut to `…` keeps its ▲.
/// Totals too wide to show take no more room than their `…`: at 44
/// columns the names stay whole (they were "clien… (own)" beside blank
/// cells); at 40 the headers alone squeeze them, and the own name keeps
/// what tells it from `client2`.
#[test]
fn a_squeezed_basket_keeps_the_own_mark_and_the_difference_sign() {
    let mut state = basket_priced(&[
        ("client2", Some("7000000000.00"), Some("1.00")),
        ("client1", Some("5000.00"), Some("2000.00")),
    ]);
    for (cells, own) in [(44, "client1 (own)"), (40, "clie…1 (own)")] {
        let frame = render(&mut state, cells, 24);
        let rows: Vec<&str> = frame.lines().filter(|l| l.contains("2/2")).collect();
        assert!(rows[0].contains(own), "{frame}");
        assert!(
            rows[1].contains("client2") && rows[1].contains("▲ …"),
            "{frame}"
        );
    }
}

/// The basket names the line a tenant lacks; Enter compares with the
/// selected tenant on the dashboard (not with the user's own tenant).
#[test]
fn basket_names_what_a_tenant_lacks_and_enter_compares_with_it() {
    let mut state = basket_state();
    let frame = render(&mut state, 120, 24);
    let client3 = frame
        .lines()
        .find(|l| l.contains("3     client3"))
        .unwrap_or_else(|| panic!("{frame}"));
    assert!(client3.contains("client3 · lacks Huawei"), "{frame}");
    assert!(client3.contains("1/2"), "{frame}");
    let full = frame.lines().find(|l| l.contains("1     client2")).unwrap();
    assert!(!full.contains("lacks"), "{frame}");
    assert!(frame.contains("Enter compare with this tenant"), "{frame}");
    // The own tenant is no comparison: said, and the basket stays.
    key(&mut state, KeyCode::Down);
    key(&mut state, KeyCode::Enter);
    let frame = render(&mut state, 120, 24);
    assert!(
        frame.contains("client1 is the user's own tenant"),
        "{frame}"
    );
    assert_eq!(state.view, tenantscope::app::View::Basket);
    key(&mut state, KeyCode::End);
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.view, tenantscope::app::View::Dashboard);
    let frame = render(&mut state, 120, 24);
    assert!(frame.contains("compare: client3"), "{frame}");
    assert!(frame.contains("rich_dude · client1 vs client3"), "{frame}");
}

/// g/Home and G/End in the help popup jump to its top and bottom.
#[test]
fn help_jumps_to_its_ends() {
    let mut state = demo_state();
    key(&mut state, KeyCode::Char('?'));
    let top = render(&mut state, 40, 12);
    // Past its end (more steps than the help has lines).
    for _ in 0..200 {
        key(&mut state, KeyCode::Char('j'));
    }
    let bottom = render(&mut state, 40, 12);
    assert_ne!(top, bottom);
    key(&mut state, KeyCode::Home);
    assert_eq!(render(&mut state, 40, 12), top);
    key(&mut state, KeyCode::End);
    assert_eq!(render(&mut state, 40, 12), bottom);
    key(&mut state, KeyCode::Char('g'));
    assert_eq!(render(&mut state, 40, 12), top);
    key(&mut state, KeyCode::Char('G'));
    assert_eq!(render(&mut state, 40, 12), bottom);
    assert!(state.help_open);
}

/// A registry layout's report (django-tenants): every kind of finding the
/// CLI's `health` lists, in the registry's words.
fn registry_findings() -> (
    tenantscope::db::HealthReport,
    tenantscope::db::tenancy::FrameworkChecks,
) {
    use tenantscope::db::tenancy::{
        FrameworkChecks, LedgerCheck, LedgerDrift, LedgerStatus, RegistryCheck, RegistrySchemas,
    };
    use tenantscope::db::{
        ColumnShape, CopyRole, Count, Drift, DriftKind, HealthReport, HealthStatus,
        OrphanOrganization, TenantHealth, WrongCopy,
    };
    let tenant = |name: &str, drift: Vec<Drift>| TenantHealth {
        tenant: name.into(),
        status: if drift.is_empty() {
            HealthStatus::Ok
        } else {
            HealthStatus::Drift
        },
        users: Count::exact(2),
        items: Some(Count::estimate(3)),
        orders: Some(Count::estimate(4)),
        drift,
    };
    let shape = |t: &str| ColumnShape {
        type_name: t.into(),
        not_null: true,
    };
    let report = HealthReport {
        tenants: vec![
            tenant("acme", Vec::new()),
            tenant(
                "globex",
                vec![Drift {
                    table: "shop_item".into(),
                    column: Some("price".into()),
                    kind: DriftKind::TypeChanged,
                    expected: Some(shape("numeric(10,2)")),
                    found: Some(shape("double precision")),
                }],
            ),
            tenant(
                "initech",
                vec![Drift {
                    table: "shop_order".into(),
                    column: Some("quantity".into()),
                    kind: DriftKind::MissingRequiredColumn,
                    expected: Some(shape("integer")),
                    found: None,
                }],
            ),
            // Its users counted from the statistics (past 1,000 tenants).
            TenantHealth {
                users: Count::estimate(2),
                ..tenant("umbrella", Vec::new())
            },
        ],
        // Users of the registered tenant whose schema is gone.
        orphan_organizations: vec![OrphanOrganization {
            organization_id: Some("hooli".into()),
            users: 1,
        }],
        wrong_copy: vec![WrongCopy {
            schema: "public".into(),
            table: "shop_item".into(),
            role: CopyRole::TenantTable,
            rows: Some(2),
            more: false,
            why: "a tenant table: its rows belong in the tenant schemas".into(),
        }],
        ..HealthReport::default()
    };
    let drift = |tenant: &str, status, missing: &[&str], extra: &[&str]| LedgerDrift {
        tenant: tenant.into(),
        status,
        missing: missing.iter().map(|s| s.to_string()).collect(),
        extra: extra.iter().map(|s| s.to_string()).collect(),
    };
    let checks = FrameworkChecks {
        registry: Some(RegistryCheck {
            table: "customers_client".into(),
            schemas: RegistrySchemas {
                missing_schemas: vec!["hooli".into()],
                unregistered_schemas: vec!["leftover".into()],
                static_schemas: vec!["www".into()],
            },
            unnamed: Vec::new(),
            users: Default::default(),
        }),
        ledger: Some(LedgerCheck {
            table: "django_migrations".into(),
            tenants: 4,
            without_ledger: Vec::new(),
            drift: vec![
                drift("acme", LedgerStatus::Ahead, &[], &["shop.0002_qty"]),
                drift("initech", LedgerStatus::Behind, &["shop.0002_qty"], &[]),
                drift(
                    "umbrella",
                    LedgerStatus::Diverged,
                    &["shop.0002_qty"],
                    &["shop.0009_x"],
                ),
            ],
        }),
    };
    (report, checks)
}

#[test]
fn health_view_lists_registry_and_ledger_findings_in_the_registrys_words() {
    let mut state = demo_state();
    let registered = ["acme", "globex", "hooli", "initech", "umbrella"];
    state.catalog = TenantCatalog::new(
        ["acme", "globex", "initech", "umbrella"]
            .map(String::from)
            .to_vec(),
    )
    .with_registry(
        registered
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let label = format!("{}{} Corp", s[..1].to_uppercase(), &s[1..]);
                ((i + 1).to_string(), label, s.to_string())
            })
            .collect(),
    );
    key(&mut state, KeyCode::Char('t'));
    let (report, checks) = registry_findings();
    fixtures::deliver_health_checked(&mut state, report, checks);
    let frame = render(&mut state, 130, 24);
    let row = |name: &str| {
        frame
            .lines()
            .find(|l| l.trim_start_matches('"').starts_with('│') && l.contains(name))
            .unwrap_or_else(|| panic!("no row {name} in\n{frame}"))
            .to_string()
    };
    for (name, words) in [
        ("Acme Corp", ["ahead", "ran shop.0002_qty"]),
        ("Globex Corp", ["drift", "shop_item.price: type double"]),
        ("Initech Corp", ["drift", "missing required column"]),
        (
            "Umbrella Corp",
            ["diverged", "lacks shop.0002_qty; ran shop.0009"],
        ),
        (
            "Hooli Corp",
            ["schema missing", "registered in customers_client"],
        ),
        (
            "leftover",
            ["unregistered", "customers_client does not list"],
        ),
        ("www", ["static", "django-pgschemas"]),
        ("public", ["shared", "shop_item: 2 rows in the wrong copy"]),
    ] {
        let line = row(name);
        for word in words {
            assert!(line.contains(word), "{word} in {line}");
        }
    }
    assert!(row("Umbrella Corp").contains(" ~2 "), "an estimate");
    assert!(!row("Acme Corp").contains("~2"), "an exact count");
    assert!(!frame.contains("organization"), "{frame}");
    assert!(!frame.contains("org id"), "{frame}");
    insta::assert_snapshot!("health_registry_all", frame);

    // `f`: only the rows with findings; the clean static schema goes.
    key(&mut state, KeyCode::Char('f'));
    let narrowed = render(&mut state, 130, 24);
    assert!(!narrowed.contains("www"), "{narrowed}");
    for name in ["Acme Corp", "Hooli Corp", "leftover", "public"] {
        assert!(narrowed.contains(name), "{name} in\n{narrowed}");
    }
    insta::assert_snapshot!("health_registry_findings_only", narrowed);
    // `e` writes every row of the view, `f` or not, each with the status
    // and the findings the view gives it: the registry's and the ledger's too.
    let effects = fixtures::press(&mut state, KeyCode::Char('e'));
    let [tenantscope::app::Effect::Export { document, .. }] = &effects[..] else {
        panic!("no export: {effects:?}");
    };
    let csv = document.csv();
    // Each row named as the view names it, its schema beside.
    let status_and_findings = |schema: &str| {
        let line = csv
            .lines()
            .find(|l| l.split(',').nth(1) == Some(schema))
            .unwrap_or_else(|| panic!("no row {schema} in\n{csv}"));
        let cells: Vec<&str> = line.split(',').collect();
        (cells[2], line.to_string())
    };
    assert!(csv.contains("\nAcme Corp,acme,ahead,"), "{csv}");
    for (schema, status, finding) in [
        (
            "acme",
            "ahead",
            "migrations ahead (django_migrations): ran shop.0002_qty",
        ),
        (
            "initech",
            "drift",
            "migrations behind (django_migrations): lacks shop.0002_qty",
        ),
        (
            "umbrella",
            "diverged",
            "lacks shop.0002_qty; ran shop.0009_x",
        ),
        (
            "hooli",
            "schema missing",
            "registered in customers_client, but has no tenant schema",
        ),
        (
            "leftover",
            "unregistered",
            "holds tenant tables, but customers_client does not list it",
        ),
        ("www", "static", "django-pgschemas' static tenant"),
        ("public", "shared", "shop_item: 2 rows in the wrong copy"),
    ] {
        let (got, line) = status_and_findings(schema);
        assert_eq!(got, status, "{line}");
        assert!(line.contains(finding), "{finding} in {line}");
    }
    assert_eq!(
        csv.lines().count(),
        1 + 8,
        "a header and the eight rows of the view:\n{csv}"
    );
    // The key is in the one key map: the hint bar and `?` help name it.
    assert!(narrowed.contains("f only rows with findings"), "{narrowed}");
    key(&mut state, KeyCode::Char('?'));
    let help = render(&mut state, 130, 40);
    assert!(help.contains("only rows with findings"), "{help}");
}

/// `C`: the comparison tenant picker over the dashboard, 200 registered
/// tenants besides the demo's, narrowed by typing part of a label: only the
/// rows on screen are drawn, the count says how many match of how many.
#[test]
fn comparison_picker_narrowed_by_typing() {
    let mut schemas: Vec<String> = fixtures::catalog().names().to_vec();
    let registry: Vec<(String, String, String)> = (1..=200)
        .map(|i| (format!("c{i}"), format!("Acme {i:04}"), format!("t{i:04}")))
        .collect();
    schemas.extend(registry.iter().map(|(_, _, schema)| schema.clone()));
    let catalog = tenantscope::db::TenantCatalog::new(schemas).with_registry(registry);
    let count = UserCount {
        value: 4,
        estimated: false,
        ..Default::default()
    };
    let mut state = State::new(Data::new(
        "demo".into(),
        catalog,
        count,
        fixtures::demo_users(),
        None,
    ));
    init(&mut state);
    select(&mut state, "rich_dude");
    key(&mut state, KeyCode::Char('C'));
    for ch in "ACME 01".chars() {
        key(&mut state, KeyCode::Char(ch));
    }
    key(&mut state, KeyCode::Down);
    let frame = render(&mut state, 100, 30);
    assert!(frame.contains("100 of 202"), "{frame}");
    assert!(
        frame.contains("Acme 0100") && !frame.contains("Acme 0199"),
        "{frame}"
    );
    assert!(frame.contains("Esc cancel"), "the hint bar: {frame}");
    insta::assert_snapshot!(frame);
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.compare_choice().tenant.as_deref(), Some("t0101"));
}

/// `P`: the profile picker is the same popup, narrowed by typing; the
/// profile in use is marked `●`.
#[test]
fn profile_picker_narrowed_by_typing() {
    let mut state = demo_state();
    state.session.connect.profiles = vec![
        ("prod-eu".into(), "app@db-eu.internal:5432/shop".into()),
        ("prod-us".into(), "app@db-us.internal:5432/shop".into()),
        ("staging".into(), "app@staging:5432/shop".into()),
    ];
    state.session.connect.profile = Some("prod-us".into());
    key(&mut state, KeyCode::Char('P'));
    for ch in "PROD".chars() {
        key(&mut state, KeyCode::Char(ch));
    }
    let frame = render(&mut state, 80, 24);
    assert!(
        frame.contains("2 of 3") && !frame.contains("staging"),
        "{frame}"
    );
    insta::assert_snapshot!(frame);
}

/// A database of 2,500 tenants named alike (`{prefix}0001`…`{prefix}2500`):
/// rich_dude of `{prefix}0044` compared with `{prefix}0045`, his orders
/// shown.
fn tenants_named_alike(prefix: &str) -> State {
    let schemas = (1..=2500).map(|n| format!("{prefix}{n:04}")).collect();
    let own = format!("{prefix}0044");
    let users = vec![fixtures::user_with_mail(
        "1",
        "rich_dude",
        "h@gmail.com",
        &own,
    )];
    let count = UserCount {
        value: 1,
        ..Default::default()
    };
    let catalog = TenantCatalog::new(schemas);
    let mut state = State::new(Data::new("demo".into(), catalog, count, users, None));
    state.session.size = (120, 30);
    state.dashboard.compare = Some(format!("{prefix}0045"));
    init(&mut state);
    deliver(&mut state, &own, reference_lines());
    state
}

/// The users list at 120 columns, its users in tenants named alike: the
/// Tenant column read `tenant_0…` on every row. Cut, each keeps its
/// number.
#[test]
fn the_users_list_keeps_what_tells_similar_tenants_apart() {
    let schemas = (1..=2500).map(|n| format!("tenant_{n:04}")).collect();
    let users = (44..47)
        .map(|n| {
            let (id, tenant) = (n.to_string(), format!("tenant_{n:04}"));
            fixtures::user_with_mail(&id, &format!("user{n}"), "u@example.com", &tenant)
        })
        .collect();
    let count = UserCount {
        value: 3,
        ..Default::default()
    };
    let catalog = TenantCatalog::new(schemas);
    let mut state = State::new(Data::new("demo".into(), catalog, count, users, None));
    init(&mut state);
    let frame = render(&mut state, 120, 12);
    for n in 44..47 {
        let user = format!(" user{n} ");
        let row = frame
            .lines()
            .find(|l| l.contains(&user) && l.contains("u@"));
        let list = row.unwrap().split("││").next().unwrap();
        assert!(list.contains(&format!("…00{n}")), "{frame}");
    }
}

/// The words of the orders pane's row holding `text` (its tenants' row:
/// `vs own`).
fn pane_words(frame: &str, text: &str) -> Vec<String> {
    let row = frame.lines().find(|l| l.contains(text));
    let row = row.unwrap_or_else(|| panic!("no {text:?} in\n{frame}"));
    let pane = row.split("││").nth(1).unwrap_or(row);
    let words = pane.split(['│', ' ', '"']).filter(|w| !w.is_empty());
    words.map(str::to_string).collect()
}

/// With tenants `tenant_0001`…`tenant_2500`, the orders pane's headers at
/// 120 columns read `tenant_00…` and `tenant_00…`: the own tenant and the
/// comparison's could not be told apart. Cut, they keep what tells them
/// apart.
#[test]
fn the_orders_headers_keep_what_tells_similar_tenants_apart() {
    let mut state = tenants_named_alike("tenant_");
    let frame = render(&mut state, 120, 12);
    assert!(
        frame.contains("Orders of rich_dude · tenant_0044 vs tenant_0045"),
        "{frame}"
    );
    let tenants = pane_words(&frame, "vs own");
    assert_eq!(tenants.len(), 4, "{frame}");
    assert!(
        tenants[0].ends_with("…0044") && tenants[1].ends_with("…0045"),
        "{frame}"
    );
    assert!(tenants[0].starts_with("ten"), "{frame}");
}

/// The price matrix's tenant columns at 120 columns, named alike and
/// wider than their 13 cells, read `customer_te…` each: cut, they keep
/// their numbers (a column not read, its `✗` too).
#[test]
fn the_price_matrix_keeps_what_tells_similar_tenants_apart() {
    use tenantscope::db::{PriceMatrix, PriceRow, TenantFailure};
    let mut state = tenants_named_alike("customer_tenant_number_");
    key(&mut state, KeyCode::Char('p'));
    let (_, tenants) = state.prices.matrix.pending().cloned().unwrap();
    let prices = tenants.iter().map(|_| Value::parse("1.00")).collect();
    let matrix = PriceMatrix {
        rows: vec![PriceRow::new("Tesla".into(), prices, &tenants)],
        tenants: tenants.clone(),
        failed: vec![TenantFailure {
            tenant: tenants[2].clone(),
            error: "permission denied".into(),
        }],
        ..Default::default()
    };
    fixtures::deliver_prices(&mut state, matrix);
    let frame = render(&mut state, 120, 12);
    let header = frame.lines().find(|l| l.contains("Spread")).unwrap();
    let words: Vec<&str> = header
        .split(['│', ' ', '"'])
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        words,
        [
            "Item",
            "customer…0001",
            "customer…0002",
            "✗",
            "custom…0003",
            "customer…0004",
            "customer…0005",
            "customer…0006",
            "Spread"
        ],
        "{frame}"
    );
}

/// The basket at 46 columns, its tenants named alike and wider than the
/// Tenant column, read `customer_tenant…` on every row: cut, each keeps
/// its number, beside its `(own)`, what it lacks or why it failed.
#[test]
fn the_basket_keeps_what_tells_similar_tenants_apart() {
    use tenantscope::app::basket;
    use tenantscope::db::{BasketTenant, OrderLine};
    let prefix = "customer_tenant_number_";
    let mut state = tenants_named_alike(prefix);
    key(&mut state, KeyCode::Char('b'));
    let batch = state.basket.load.awaited().unwrap();
    let lines: Vec<OrderLine> = reference_lines()
        .into_iter()
        .map(OrderLine::from_raw)
        .collect();
    // Tenants 40…49: the odd ones sell both lines, the even ones Tesla.
    let mut priced: Vec<BasketTenant> = (40..50)
        .map(|n| {
            let huawei = (n % 2 == 1).then(|| Value::parse("2.00"));
            let prices = [Some(Value::parse("1.00")), huawei];
            BasketTenant::priced(format!("{prefix}{n:04}"), &lines, &prices)
        })
        .collect();
    priced[9].error = Some("permission denied".into());
    update(
        &mut state,
        Msg::from(basket::Msg::Page {
            batch,
            result: Ok((lines, priced)),
            elapsed: Duration::from_millis(7),
        }),
    );
    let frame = render(&mut state, 46, 20);
    let rows: Vec<&str> = frame.lines().filter(|l| l.contains("/2")).collect();
    assert_eq!(rows.len(), 10, "{frame}");
    for n in 40..50 {
        let number = format!("…00{n}");
        let row = rows.iter().find(|r| r.contains(&number));
        assert!(row.is_some(), "no {number} in\n{frame}");
    }
    let own = rows.iter().find(|r| r.contains("0044")).unwrap();
    assert!(own.contains("0044 (own)"), "{frame}");
    let failed = rows.iter().find(|r| r.contains("0049")).unwrap();
    assert!(
        failed.contains("✗ c") && failed.contains("…0049"),
        "{frame}"
    );
}

/// The tester's tenants: 300 schemas named alike, `…subsidiary_0001` to
/// `…subsidiary_0300`, wider than every place that names one.
const SUBSIDIARY: &str = "acme_international_holdings_subsidiary_";

/// A database of [`SUBSIDIARY`] tenants and `floaty`, opened at a
/// target as long as a real one: a user of `own` compared with
/// subsidiary 0045, his orders shown (Tesla sold by both, Huawei and
/// Nokia by his own tenant only).
fn subsidiaries(own: &str) -> State {
    let mut schemas: Vec<String> = (1..=300).map(|n| format!("{SUBSIDIARY}{n:04}")).collect();
    schemas.push("floaty".into());
    let users = vec![fixtures::user_with_mail(
        "1",
        "float user",
        "f@example.com",
        own,
    )];
    let count = UserCount {
        value: 1,
        ..Default::default()
    };
    let target = "reporting@db-eu-west-1.internal.example.com:5432/shop";
    let data = Data::new(
        target.into(),
        TenantCatalog::new(schemas),
        count,
        users,
        None,
    );
    let mut state = State::new(data);
    state.session.size = (120, 30);
    state.dashboard.compare = Some(format!("{SUBSIDIARY}0045"));
    init(&mut state);
    let lines = vec![
        line("1", "Tesla", "10", "5000.00", Some("1000.00")),
        line("2", "Huawei", "5", "2000.00", None),
        line("3", "Nokia", "1", "100.00", None),
    ];
    deliver(&mut state, own, lines);
    state
}

/// The sizes the tests of names alike are drawn at: the tester's and a
/// narrow one.
const SIZES: [(u16, u16); 2] = [(120, 30), (80, 24)];

/// A health report of the [`SUBSIDIARY`] tenants 0040…0049, all well.
fn subsidiaries_health() -> tenantscope::db::HealthReport {
    use tenantscope::db::{Count, HealthReport, HealthStatus, TenantHealth};
    let tenants = (40..50)
        .map(|n| TenantHealth {
            tenant: format!("{SUBSIDIARY}{n:04}"),
            status: HealthStatus::Ok,
            users: Count::exact(12),
            items: Some(Count::exact(50)),
            orders: Some(Count::exact(2500)),
            drift: vec![],
        })
        .collect();
    HealthReport {
        tenants,
        references: vec![],
        orphan_organizations: vec![],
        unused_tenants: vec![],
        wrong_copy: vec![],
        unreachable_nodes: Vec::new(),
    }
}

/// The tenants pane (`T`) of the [`SUBSIDIARY`] tenants 0040…0049, a
/// registry naming each (`ACME International Holdings Subsidiary 0040`,
/// key `acme-international-holdings-subsidiary-0040`).
fn subsidiaries_pane(state: &mut State) {
    use tenantscope::app::tenants;
    use tenantscope::db::{Count, SchemaState, TenantEntry};
    key(state, KeyCode::Char('T'));
    let entries = (40..50)
        .map(|n| TenantEntry {
            key: format!("acme-international-holdings-subsidiary-{n:04}"),
            label: format!("ACME International Holdings Subsidiary {n:04}"),
            schema: format!("{SUBSIDIARY}{n:04}"),
            state: SchemaState::Ok,
            users: Some(Count::exact(12)),
            node: None,
        })
        .collect();
    let ticket = state.tenants.directory.key().cloned().unwrap();
    update(
        state,
        Msg::from(tenants::Msg::Directory {
            ticket,
            result: Ok(entries),
            elapsed: Duration::from_millis(3),
        }),
    );
}

/// What the header names as the comparison.
fn header_compare(frame: &str) -> String {
    let header = frame.lines().next().unwrap_or_default();
    let compare = header.split_once("compare: ");
    let compare = compare.map(|(_, c)| c.trim_end_matches(['"', ' ']));
    compare
        .unwrap_or_else(|| panic!("no comparison in\n{frame}"))
        .to_string()
}

/// The tester's header at 120 columns read `compare:
/// acme_international_holdings_subsidiary…` whichever subsidiary `c` had
/// moved to: the name keeps its end, so `c` reads as another tenant. (At
/// 80 columns the target and the counts leave it no room, as before: the
/// orders pane's title names it.)
#[test]
fn the_header_names_the_comparison_by_its_end() {
    for (width, height) in [(120, 30), (110, 24)] {
        let mut state = subsidiaries(&format!("{SUBSIDIARY}0044"));
        let first = render(&mut state, width, height);
        let before = header_compare(&first);
        key(&mut state, KeyCode::Char('c'));
        let frame = render(&mut state, width, height);
        let after = header_compare(&frame);
        assert!(before.ends_with("045"), "{first}");
        assert!(after.ends_with("046"), "{frame}");
        assert!(before.starts_with("acm"), "{first}");
    }
}

/// The orders pane's title: whose orders, the own tenant and the
/// comparison as shown (`X vs Y`).
fn orders_title_tenants(frame: &str) -> (String, String) {
    let title = frame
        .lines()
        .find_map(|l| l.split_once("Orders of float user · "));
    let title = title.unwrap_or_else(|| panic!("no title in\n{frame}")).1;
    let title = title.split(" ─").next().unwrap_or_default();
    let (own, compare) = title.split_once(" vs ").unwrap_or((title, ""));
    (own.to_string(), compare.to_string())
}

/// The orders pane of a subsidiary's user (and of `floaty`'s) compared
/// with subsidiary 0045 read `acme_international_… vs
/// acme_international_…`, its comparison column `acme_inte…` and its note
/// `not sold by acme_international_holdings_su…`: each keeps its end.
#[test]
fn the_orders_title_and_note_name_both_tenants_by_their_end() {
    for own in [format!("{SUBSIDIARY}0044"), "floaty".to_string()] {
        for (width, height) in SIZES {
            let mut state = subsidiaries(&own);
            let frame = render(&mut state, width, height);
            let (own_shown, compare) = orders_title_tenants(&frame);
            assert!(compare.ends_with("0045"), "{compare:?} in\n{frame}");
            assert!(own_shown.ends_with(&own[own.len() - 4..]), "{frame}");
            assert_ne!(own_shown, compare, "{frame}");
            let note = frame.lines().find(|l| l.contains("not sold by"));
            assert!(note.is_some_and(|n| n.contains("0045")), "{frame}");
            let tenants = pane_words(&frame, "vs own");
            assert!(tenants[1].ends_with("0045"), "{frame}");
        }
    }
}

/// The tenant names of the health table's rows.
fn health_names(frame: &str) -> Vec<String> {
    let rows = frame.lines().filter(|l| l.contains("✓ ok"));
    let name = |row: &str| {
        let row = row.trim_start_matches(['"', '│', '▶']);
        row.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    rows.map(name).collect()
}

/// The health view of ten subsidiaries read `acme_international_…` on
/// every row, even at 200 columns with the Findings column empty, and
/// titled its details `acme_international_holdings_subsidiary_…`: cut,
/// each keeps its number; with room, each is whole.
#[test]
fn the_health_view_keeps_what_tells_similar_tenants_apart() {
    for (width, height) in SIZES {
        let mut state = subsidiaries("floaty");
        key(&mut state, KeyCode::Char('t'));
        fixtures::deliver_health(&mut state, subsidiaries_health());
        let frame = render(&mut state, width, height);
        let names = health_names(&frame);
        assert_eq!(names.len(), 10, "{frame}");
        for (name, n) in names.iter().zip(40..) {
            assert!(name.ends_with(&format!("00{n}")), "{name} in\n{frame}");
        }
        let details = frame.lines().find(|l| l.contains("┌ acme_"));
        assert!(details.is_some_and(|d| d.contains("_0040 ")), "{frame}");
    }
    let mut state = subsidiaries("floaty");
    key(&mut state, KeyCode::Char('t'));
    fixtures::deliver_health(&mut state, subsidiaries_health());
    let frame = render(&mut state, 200, 30);
    let names = health_names(&frame);
    let whole: Vec<String> = (40..50).map(|n| format!("{SUBSIDIARY}{n:04}")).collect();
    assert_eq!(names, whole, "{frame}");
}

/// The tenants pane (`T`) of ten subsidiaries read the same Tenant, Key
/// and Schema on every row: each of the three keeps the number.
#[test]
fn the_tenants_pane_keeps_what_tells_similar_tenants_apart() {
    for (width, height) in SIZES {
        let mut state = subsidiaries("floaty");
        subsidiaries_pane(&mut state);
        let frame = render(&mut state, width, height);
        for n in 40..50 {
            let number = format!("00{n}");
            let row = frame
                .lines()
                .find(|l| l.contains(&number) && l.contains("12│"));
            let row = row.unwrap_or_else(|| panic!("no {number} in\n{frame}"));
            assert_eq!(row.matches(&number).count(), 3, "{frame}");
        }
    }
}

/// `C`, `004` typed: every row read
/// `acme_international_holdings_subsidiary_0…` (the label capped at half
/// the popup beside an empty detail column): each keeps its number.
#[test]
fn the_comparison_picker_keeps_what_tells_similar_tenants_apart() {
    for (width, height) in [(120, 30), (44, 24)] {
        let mut state = subsidiaries("floaty");
        key(&mut state, KeyCode::Char('C'));
        for ch in "004".chars() {
            key(&mut state, KeyCode::Char(ch));
        }
        let frame = render(&mut state, width, height);
        let rows: Vec<&str> = frame
            .lines()
            .filter_map(|l| l.split('│').find(|cell| cell.contains("acme")))
            .map(str::trim)
            .collect();
        assert!(rows.len() >= 8, "{frame}");
        for row in &rows {
            let number = row.rsplit(['_', '…']).next().unwrap_or_default();
            assert!(number.starts_with("004") || number == "0004", "{frame}");
        }
        let mut apart = rows.clone();
        apart.dedup();
        assert_eq!(apart, rows, "{frame}");
    }
}

/// The basket's title read `Basket of float user ·
/// acme_international_… · 3 lines`: the tenant keeps its end.
#[test]
fn the_basket_title_names_the_tenant_by_its_end() {
    for (width, height) in SIZES {
        let mut state = subsidiaries(&format!("{SUBSIDIARY}0044"));
        key(&mut state, KeyCode::Char('b'));
        let frame = render(&mut state, width, height);
        let title = frame
            .lines()
            .find_map(|l| l.split_once("Basket of float user · "));
        let title = title.unwrap_or_else(|| panic!("no title in\n{frame}")).1;
        let tenant = title.split(" · ").next().unwrap_or_default();
        assert!(
            tenant.starts_with("acme_") && tenant.ends_with("_0044"),
            "{frame}"
        );
    }
}

/// One view's load in [`a_failed_or_stale_load_leaves_the_read_time_of_the_data_shown`].
struct Reading {
    what: &'static str,
    slot: &'static str,
    /// Its status line gives the slot's time once read ("as of").
    dated: bool,
    /// Opens the view from rich_dude's dashboard, its orders loading: the
    /// effects.
    open: fn(&mut State) -> Vec<Effect>,
    /// Reads it again, after the effects of the last answer: the effects.
    again: fn(&mut State, Vec<Effect>) -> Vec<Effect>,
    /// The answer to the load awaited (asked for by `effects`): its data,
    /// or a failure.
    answer: fn(&State, &[Effect], bool) -> tenantscope::app::msg::ViewMsg,
}

/// Delivers `result` as the runtime does: read in `slot` at `at`.
fn read_at(
    state: &mut State,
    slot: &'static str,
    at: &str,
    result: tenantscope::app::msg::ViewMsg,
) -> Vec<Effect> {
    let at = at.to_string();
    update(state, Msg::Loaded { slot, at, result })
}

fn gone() -> DbError {
    DbError::Query("the server went away".into())
}

/// The read time ("as of") moves only with a result the view takes and
/// that succeeded, in every view alike: a failed read (`r` again, or a
/// search's next batch) leaves the time of the last data read, and so
/// does a result dropped as stale (the runtime stamped every finished
/// load, and the status said data read at 01:00 was "as of" 02:00).
#[test]
fn a_failed_or_stale_load_leaves_the_read_time_of_the_data_shown() {
    use tenantscope::app::msg::ViewMsg;
    use tenantscope::app::{basket, tenants};
    let again = |state: &mut State, _| fixtures::press(state, KeyCode::Char('r'));
    let readings = [
        Reading {
            what: "orders",
            slot: "orders",
            dated: true,
            open: |_| Vec::new(),
            again,
            answer: |state, _, ok| {
                let key = state.dashboard.orders.pending().unwrap().clone();
                let report = OrdersReport::from_raw("client1".into(), None, reference_lines());
                ViewMsg::Dashboard(dashboard::Msg::OrdersLoaded {
                    key,
                    result: if ok { Ok(report) } else { Err(gone()) },
                    elapsed: Duration::from_millis(4),
                })
            },
        },
        Reading {
            what: "users",
            slot: "users page",
            // The dashboard's status gives the orders' time.
            dated: false,
            open: |state| fixtures::press(state, KeyCode::Char('r')),
            again,
            answer: |state, effects, ok| {
                let users = state.dashboard.users.users();
                let from = users.iter().skip_while(|u| u.name != "rich_dude");
                let rows: Vec<User> = from.cloned().collect();
                ViewMsg::Dashboard(dashboard::Msg::UsersPage {
                    request: fixtures::page_request(effects),
                    result: if ok { Ok(rows) } else { Err(gone()) },
                })
            },
        },
        Reading {
            what: "health",
            slot: "health",
            dated: true,
            open: |state| fixtures::press(state, KeyCode::Char('t')),
            again,
            answer: |state, _, ok| {
                let both = Box::new((drifted_report(), Default::default()));
                ViewMsg::Health(health::Msg::Loaded {
                    ticket: *state.health.report.pending().unwrap(),
                    result: if ok { Ok(both) } else { Err(gone()) },
                    elapsed: Duration::from_millis(7),
                })
            },
        },
        Reading {
            what: "prices",
            slot: "prices",
            dated: true,
            open: |state| fixtures::press(state, KeyCode::Char('p')),
            again,
            answer: |state, _, ok| {
                ViewMsg::Prices(prices::Msg::Loaded {
                    key: state.prices.matrix.pending().unwrap().clone(),
                    result: if ok { Ok(demo_matrix()) } else { Err(gone()) },
                    elapsed: Duration::from_millis(5),
                })
            },
        },
        Reading {
            what: "basket",
            slot: "basket",
            dated: true,
            open: |state| {
                deliver(state, "client1", reference_lines());
                fixtures::press(state, KeyCode::Char('b'))
            },
            again,
            answer: |state, _, ok| {
                use tenantscope::db::{BasketTenant, OrderLine};
                let lines: Vec<OrderLine> = reference_lines()
                    .into_iter()
                    .map(OrderLine::from_raw)
                    .collect();
                let prices = [Some(Value::parse("5000.00")), Some(Value::parse("2000.00"))];
                let priced = vec![BasketTenant::priced("client1".into(), &lines, &prices)];
                ViewMsg::Basket(basket::Msg::Page {
                    batch: state.basket.load.awaited().unwrap(),
                    result: if ok { Ok((lines, priced)) } else { Err(gone()) },
                    elapsed: Duration::from_millis(7),
                })
            },
        },
        Reading {
            what: "tenants",
            slot: "tenants",
            dated: true,
            open: |state| fixtures::press(state, KeyCode::Char('T')),
            again,
            answer: |state, _, ok| {
                ViewMsg::Tenants(tenants::Msg::Directory {
                    ticket: *state.tenants.directory.pending().unwrap(),
                    result: if ok { Ok(Vec::new()) } else { Err(gone()) },
                    elapsed: Duration::from_millis(3),
                })
            },
        },
        Reading {
            what: "search",
            slot: "search",
            // Its first batch read, the next is on its way.
            dated: false,
            open: |state| {
                // Users in each of 120 tenant schemas: batches of tenants.
                state.tenants.per_tenant = true;
                let names = (1..=120).map(|i| format!("t{i:03}")).collect();
                state.catalog = TenantCatalog::new(names);
                key(state, KeyCode::Char('T'));
                key(state, KeyCode::Char('/'));
                fixtures::press(state, KeyCode::Char('a'))
            },
            // The next batch, asked for when the first came.
            again: |_, effects| effects,
            answer: |state, _, ok| {
                let found = tenantscope::db::SearchBatch::default();
                ViewMsg::Tenants(tenants::Msg::Batch {
                    batch: state.tenants.search.load.awaited().unwrap(),
                    result: if ok { Ok(found) } else { Err(gone()) },
                    elapsed: Duration::from_millis(3),
                })
            },
        },
    ];
    for reading in readings {
        let what = reading.what;
        let mut state = demo_state();
        let effects = (reading.open)(&mut state);
        let read = (reading.answer)(&state, &effects, true);
        let effects = read_at(&mut state, reading.slot, "01:00:00", read.clone());
        let read_at_of = |state: &State| state.read_at.get(reading.slot).cloned();
        assert_eq!(read_at_of(&state).as_deref(), Some("01:00:00"), "{what}");
        let frame = render(&mut state, 120, 24);
        assert_eq!(
            frame.contains("as of 01:00:00"),
            reading.dated,
            "{what}:\n{frame}"
        );
        let effects = (reading.again)(&mut state, effects);
        // The first answer again, late (its request answered, or superseded).
        read_at(&mut state, reading.slot, "02:00:00", read);
        assert_eq!(
            read_at_of(&state).as_deref(),
            Some("01:00:00"),
            "{what}, stale"
        );
        let failed = (reading.answer)(&state, &effects, false);
        read_at(&mut state, reading.slot, "03:00:00", failed);
        assert_eq!(
            read_at_of(&state).as_deref(),
            Some("01:00:00"),
            "{what}, failed"
        );
        let frame = render(&mut state, 120, 24);
        for not_read in ["02:00:00", "03:00:00"] {
            assert!(!frame.contains(not_read), "{what}:\n{frame}");
        }
    }
}
