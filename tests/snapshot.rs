//! `tenantscope snapshot` as a user runs it: frames drawn headlessly after
//! their loads, text and SVG, the colour switch, and the README's picture.

use std::process::{Command, Output};

use tenantscope::embedded::testing::TestDatabase;

mod common;
use common::{stderr, stdout};

/// The binary on `url` (or the built-in demo), piped, with `env` added.
fn snapshot(url: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantscope"));
    command.env("XDG_CACHE_HOME", "/dev/null");
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

/// The pictures in README.md and docs/, with the `snapshot` arguments that
/// draw each one from the demo (`tenantscope --demo snapshot ARGS --format
/// svg > FILE` regenerates it).
const PICTURES: [(&str, &[&str]); 4] = [
    ("docs/demo.svg", &["--user", "1"]),
    ("docs/health.svg", &["--view", "health", "--size", "120x24"]),
    ("docs/matrix.svg", &["--view", "prices", "--size", "100x12"]),
    (
        "docs/basket.svg",
        &["--view", "basket", "--user", "1", "--size", "100x13"],
    ),
];

#[test]
fn the_pictures_in_the_readme_and_docs_are_what_the_program_draws() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let readme = read("README.md");
    for (file, args) in PICTURES {
        let svg = ok(snapshot(
            None,
            &[args, &["--format", "svg"][..]].concat(),
            &[],
        ));
        assert_eq!(
            svg,
            read(file),
            "{file} is stale; regenerate: tenantscope --demo snapshot {} --format svg > {file}",
            args.join(" ")
        );
        assert!(
            readme.contains(&format!("]({file})")),
            "README.md does not show {file}"
        );
    }
    // The dashboard frame as text, in docs/dashboard.md beside its picture.
    let regenerate = "regenerate: tenantscope --demo snapshot --user 1 > docs/demo.txt; \
                      and paste docs/demo.txt into docs/dashboard.md";
    let text = ok(snapshot(None, &["--user", "1"], &[]));
    assert_eq!(
        text,
        read("docs/demo.txt"),
        "docs/demo.txt is stale; {regenerate}"
    );
    let page = read("docs/dashboard.md");
    assert!(
        page.contains(&format!("```\n{text}```\n")),
        "docs/dashboard.md's frame is not the program's; {regenerate}"
    );
    assert!(page.contains("](demo.svg)"));
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
        health.contains("Tenant health 4 tenants") && health.contains("client9"),
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
    // Narrow, a note cut to its column ends in "…" (it was cut silently:
    // "lacks Huawe").
    let narrow = ok(snapshot(
        url,
        &["--user", "1", "--view", "basket", "--size", "60x15"],
        &[],
    ));
    let client3 = narrow.lines().find(|l| l.contains("client3")).unwrap_or("");
    assert!(
        client3.contains("· lacks Hu") && client3.contains("…"),
        "{narrow}"
    );
    let out = snapshot(url, &["--user", "99"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no user with id"), "{}", stderr(&out));
}

/// Each view's snapshot twice, once on an idle machine and once under
/// load: the same bytes, with no load time ("in 3 ms") and no clock time
/// ("as of 12:00:01") in them. (The basket's status said "priced at 3
/// tenants in 2 ms": mutation-checked.)
#[tokio::test]
async fn every_views_snapshot_repeats_byte_for_byte_without_timings() {
    let db = TestDatabase::demo().await;
    let url = Some(db.url.as_str());
    let timing = |frame: &str| {
        let words: Vec<&str> = frame.split_whitespace().collect();
        let ms = words
            .windows(2)
            .any(|w| w[1].starts_with("ms") && w[0].ends_with(|c: char| c.is_ascii_digit()));
        let clock = frame.as_bytes().windows(8).any(|w| {
            w.iter().enumerate().all(|(i, b)| match i {
                2 | 5 => *b == b':',
                _ => b.is_ascii_digit(),
            })
        });
        ms || clock
    };
    for view in ["dashboard", "health", "prices", "basket", "tenants"] {
        let args = ["--user", "1", "--view", view, "--size", "120x30"];
        let first = ok(snapshot(url, &args, &[]));
        let second = under_load(&db, || ok(snapshot(url, &args, &[])));
        assert!(!timing(&first), "{view}: a timing in the frame:\n{first}");
        assert_eq!(first, second, "{view}: two snapshots differ");
    }
}

/// `take` while the server runs CPU-bound statements and a thread here
/// spins, so that anything timed in it takes longer than when idle.
fn under_load<T>(db: &TestDatabase, take: impl FnOnce() -> T) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let options = db.options.clone();
    let (connected, busy_now) = std::sync::mpsc::channel();
    let server = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut busy = sqlx::PgConnection::connect_with(&options).await.unwrap();
                connected.send(()).unwrap();
                // Short statements, so that the loop ends soon after `stop`.
                while !stop.load(Ordering::Relaxed) {
                    sqlx::raw_sql("SELECT count(*) FROM generate_series(1, 2000000)")
                        .execute(&mut busy)
                        .await
                        .unwrap();
                }
            })
        }
    });
    let spinner = std::thread::spawn({
        let stop = stop.clone();
        move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
    });
    busy_now.recv().unwrap();
    let taken = take();
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
    server.join().unwrap();
    taken
}

/// An 8-bit RGB or RGBA PNG (what rsvg-convert writes) as (width, height,
/// RGB pixels).
fn decode_png(png: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut width, mut height, mut channels, mut data) = (0, 0, 0, Vec::new());
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let body = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!((body[8], body[12]), (8, 0), "8-bit, not interlaced");
                channels = match body[9] {
                    2 => 3,
                    6 => 4,
                    kind => panic!("PNG colour type {kind}"),
                };
            }
            b"IDAT" => data.extend_from_slice(body),
            _ => {}
        }
        at += 12 + len;
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&data).expect("zlib");
    let stride = width * channels;
    let mut pixels = vec![0u8; stride * height];
    for y in 0..height {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            } as i32;
            let b = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            } as i32;
            let c = if x >= channels && y > 0 {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            } as i32;
            let predicted = match line[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            pixels[y * stride + x] = (line[1 + x] as i32 + predicted) as u8;
        }
    }
    let rgb = pixels
        .chunks(channels)
        .flat_map(|p| p[..3].to_vec())
        .collect();
    (width, height, rgb)
}

/// `svg` drawn by rsvg-convert as a PNG (Debian librsvg2-bin, installed by
/// .ci/run), which parses it with libxml2: an SVG that is not well-formed
/// XML fails.
fn rsvg_convert(svg: &str) -> Output {
    use std::io::Write;
    let mut rsvg = Command::new("rsvg-convert")
        .args(["--format", "png"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rsvg-convert (Debian librsvg2-bin; .ci/run installs it)");
    rsvg.stdin
        .take()
        .unwrap()
        .write_all(svg.as_bytes())
        .unwrap();
    rsvg.wait_with_output().unwrap()
}

/// A noncharacter or an unassigned code point in a user's or an item's
/// name: escaped in the text frame as on the screen, and the SVG is XML
/// (U+FFFE and U+FFFF, which XML forbids, were written raw: librsvg said
/// "PCDATA invalid Char value 65534" and drew nothing).
#[tokio::test]
async fn noncharacters_are_escaped_and_the_svg_stays_xml() {
    let db = TestDatabase::demo().await;
    db.run_sql(
        "INSERT INTO public.users (id, name, mail, password, organization_id) VALUES \
         ('01', E'a\\uFFFEz', E'm\\U0010FFFF', 'pw', 'client1'), \
         ('02', E'b\\u0378y', E'n\\uFDD0', 'pw', 'client1'); \
         UPDATE client1.items SET description = E'Tes\\uFFFFla' WHERE id = '1';",
    )
    .await;
    let url = Some(db.url.as_str());
    let size = ["--user", "1", "--size", "120x20", "--color", "never"];
    let text = ok(snapshot(url, &size, &[]));
    let svg = ok(snapshot(
        url,
        &[&size[..], &["--format", "svg"]].concat(),
        &[],
    ));
    for (frame, shown) in [
        (
            &text,
            ["a<U+FFFE>z", "b<U+0378>y", "n<U+FDD0>", "Tes<U+FFFF>la"],
        ),
        (
            &svg,
            [
                "a&lt;U+FFFE&gt;z",
                "b&lt;U+0378&gt;y",
                "n&lt;U+FDD0&gt;",
                "Tes&lt;U+FFFF&gt;la",
            ],
        ),
    ] {
        for shown in shown {
            assert!(frame.contains(shown), "{shown}:\n{frame}");
        }
        let raw: Vec<char> = frame
            .chars()
            .filter(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}' | '\u{0378}' | '\u{FDD0}'))
            .collect();
        assert!(raw.is_empty(), "written raw: {raw:?}");
    }
    // A real XML parser reads it (libxml2, through librsvg).
    let png = rsvg_convert(&svg);
    assert!(png.status.success(), "{}", stderr(&png));
    assert!(png.stdout.starts_with(b"\x89PNG"));
}

/// The SVG as librsvg draws it (Debian librsvg2-bin, installed by .ci/run):
/// every letter lands in its own cell of the text frame and every blank
/// cell between words stays blank, so columns read as in the terminal.
/// (Glyphs placed by a list of x per tspan, which librsvg ignores, ran
/// together as "IdNameMailTenant": mutation-checked with that writer.)
#[tokio::test]
async fn svg_rasterized_by_librsvg_keeps_every_column() {
    const CELL_W: usize = 9;
    const CELL_H: usize = 18;
    let db = TestDatabase::demo().await;
    let url = Some(db.url.as_str());
    let size = ["--user", "1", "--size", "120x30", "--color", "never"];
    let text = ok(snapshot(url, &size, &[]));
    let svg = ok(snapshot(
        url,
        &[&size[..], &["--format", "svg"]].concat(),
        &[],
    ));
    let png = rsvg_convert(&svg);
    assert!(png.status.success(), "{}", stderr(&png));
    let (width, height, pixels) = decode_png(&png.stdout);
    assert_eq!((width, height), (120 * CELL_W, 30 * CELL_H));
    // Ink: brighter than the background (#1c1c1c) by far.
    let ink = |col: usize, row: usize, inset: usize| {
        (row * CELL_H..(row + 1) * CELL_H).any(|y| {
            (col * CELL_W + inset..(col + 1) * CELL_W - inset).any(|x| {
                let p = &pixels[(y * width + x) * 3..][..3];
                p.iter().map(|&v| v as u32).sum::<u32>() > 3 * 0x60
            })
        })
    };
    let mut letters = 0;
    for (row, line) in text.lines().enumerate() {
        let cells: Vec<char> = format!("{line:120}").chars().collect();
        for col in 0..120 {
            let blank = |c: usize| cells.get(c).is_none_or(|ch| *ch == ' ');
            if cells[col].is_ascii_alphanumeric() {
                letters += 1;
                assert!(
                    ink(col, row, 1),
                    "no ink for {:?} at {col},{row}:\n{line}",
                    cells[col]
                );
            } else if blank(col) && (col == 0 || blank(col - 1)) && blank(col + 1) {
                assert!(
                    !ink(col, row, 2),
                    "ink in the blank cell {col},{row}:\n{line}"
                );
            }
        }
    }
    assert!(letters > 200, "{text}");
}

/// Where users live in each tenant the app opens on the tenants pane,
/// where `t`, `p` and `b` mean nothing: `--view health|prices|basket`
/// drew the tenants pane. Each view is drawn, over all tenants' users.
#[tokio::test]
async fn every_view_is_drawn_where_the_app_opens_on_the_tenants_pane() {
    let db = TestDatabase::empty().await;
    for statement in tenantscope::fixtures::many_tenants_sql(3) {
        db.run_sql(&statement).await;
    }
    let url = Some(db.url.as_str());
    let tenants = ok(snapshot(
        url,
        &["--view", "tenants", "--size", "120x30"],
        &[],
    ));
    for (view, title) in [
        ("dashboard", "┌ Users ("),
        ("health", "┌ Tenant health"),
        ("prices", "┌ Prices"),
        ("basket", "┌ Basket of"),
    ] {
        let frame = ok(snapshot(url, &["--view", view, "--size", "120x30"], &[]));
        assert_ne!(frame, tenants, "{view}: the tenants pane was drawn");
        let top = frame.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(top.contains(title), "{view}:\n{frame}");
    }
}
