//! `tenantscope snapshot` as a user runs it: frames drawn headlessly after
//! their loads, text and SVG, the colour switch, and the README's picture.

use std::process::{Command, Output};

use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{stderr, stdout};

/// The binary on `url` (or the built-in demo), piped, with `env` added.
fn snapshot(url: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantscope"));
    match url {
        Some(url) => command.args(["--database-url", url]),
        None => command.arg("--demo"),
    };
    command
        .arg("snapshot")
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .envs(env.iter().copied())
        .output()
        .expect("run tenantscope")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Text with every SGR sequence removed.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('m').expect("SGR ends with m");
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn readme_picture_is_what_the_program_draws() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let regenerate = "regenerate: tenantscope --demo snapshot --user 1 > docs/demo.txt; \
                      ... --format svg > docs/demo.svg; and paste docs/demo.txt into README.md";
    let text = ok(snapshot(None, &["--user", "1"], &[]));
    assert_eq!(
        text,
        read("docs/demo.txt"),
        "docs/demo.txt is stale; {regenerate}"
    );
    let svg = ok(snapshot(None, &["--user", "1", "--format", "svg"], &[]));
    assert_eq!(
        svg,
        read("docs/demo.svg"),
        "docs/demo.svg is stale; {regenerate}"
    );
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("```\n{text}```\n")),
        "README.md's frame is not the program's; {regenerate}"
    );
    assert!(readme.contains("](docs/demo.svg)"));
}

#[tokio::test]
async fn text_frame_has_the_size_the_selection_and_no_colour_when_piped() {
    let db = TestDatabase::demo().await;
    let url = Some(db.url.as_str());
    let plain = ok(snapshot(url, &["--user", "1", "--size", "120x24"], &[]));
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), 24, "{plain}");
    assert!(lines
        .iter()
        .all(|l| unicode_width::UnicodeWidthStr::width(*l) <= 120));
    assert!(
        !plain.contains('\x1b'),
        "piped, --color auto draws no colour"
    );
    // The loads finished: rich_dude selected, his orders and totals shown.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("▶") && l.contains("rich_dude")),
        "{plain}"
    );
    assert!(
        plain.contains("Orders of rich_dude · client1 vs client2"),
        "{plain}"
    );
    assert!(
        plain.contains("60,000.00") && plain.contains("10,500.00"),
        "{plain}"
    );
    assert!(plain.contains("✓ 2 order lines from client1\n"), "{plain}");
    assert!(!plain.contains("loading"), "{plain}");

    // --color always, even under NO_COLOR: the same frame, in colour, each
    // line the full width.
    let coloured = ok(snapshot(
        url,
        &["--user", "1", "--size", "120x24", "--color", "always"],
        &[("NO_COLOR", "1")],
    ));
    assert!(coloured.contains("\x1b[0;"), "{coloured:?}");
    let stripped = strip_sgr(&coloured);
    for (with, without) in stripped.lines().zip(plain.lines()) {
        assert_eq!(unicode_width::UnicodeWidthStr::width(with), 120);
        assert_eq!(with.trim_end(), without);
    }
    let never = ok(snapshot(
        url,
        &["--user", "1", "--size", "120x24", "--color", "never"],
        &[],
    ));
    assert_eq!(never, plain);

    // The other views, once loaded.
    let health = ok(snapshot(url, &["--view", "health"], &[]));
    assert!(
        health.contains("Tenant health 3 tenants") && health.contains("client9"),
        "{health}"
    );
    let prices = ok(snapshot(url, &["--view", "prices"], &[]));
    assert!(
        prices.contains("Huawei") && prices.contains("×20"),
        "{prices}"
    );
    let compared = ok(snapshot(url, &["--user", "1", "--compare", "client3"], &[]));
    assert!(
        compared.contains("Orders of rich_dude · client1 vs client3"),
        "{compared}"
    );

    // Bad input: one line, exit 2, nothing drawn.
    for args in [
        &["--user", "999"][..],
        &["--size", "80"],
        &["--size", "0x10"],
    ] {
        let out = snapshot(url, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr(&out).starts_with("tenantscope: "),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn svg_frame_has_the_cells_text_and_colours() {
    let db = TestDatabase::demo().await;
    let url = Some(db.url.as_str());
    let svg = ok(snapshot(
        url,
        &["--user", "1", "--size", "90x20", "--format", "svg"],
        &[],
    ));
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"810\" height=\"360\"")
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<text ").count(),
        20,
        "a text line per row with text"
    );
    assert!(svg.contains("rich_dude"), "{svg}");
    // The selected row's blue background and the header's cyan title.
    assert!(svg.contains("fill=\"#0000ee\"/>"), "{svg}");
    assert!(svg.contains("fill=\"#00cdcd\" font-weight=\"bold\">tenantscope<"));
    // Self-contained: nothing fetched from elsewhere.
    assert!(!svg.contains("href") && !svg.contains("@import"));
    // --color never: the default colours only, the same text.
    let mono = ok(snapshot(
        url,
        &[
            "--user", "1", "--size", "90x20", "--format", "svg", "--color", "never",
        ],
        &[],
    ));
    assert!(!mono.contains("#0000ee") && !mono.contains("#00cdcd"));
    assert!(mono.contains("rich_dude"));
}

/// The basket view, opened on a user as `--user` does (an unknown id: exit 2).
#[tokio::test]
async fn basket_view_on_a_user_and_bad_users_refused() {
    let db = TestDatabase::demo().await;
    let url = Some(db.url.as_str());
    let frame = ok(snapshot(
        url,
        &["--user", "1", "--view", "basket", "--size", "100x20"],
        &[],
    ));
    assert!(frame.contains("Basket of rich_dude"), "{frame}");
    let client2 = frame.lines().find(|l| l.contains("client2")).unwrap_or("");
    assert!(
        client2.contains("10,500.00") && client2.contains("2/2"),
        "{frame}"
    );
    let out = snapshot(url, &["--user", "99"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no user with id"), "{}", stderr(&out));
}
