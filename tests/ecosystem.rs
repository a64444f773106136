//! What a packager and a shell user check: completions, the man page,
//! `--help`, the rust-version check. None of these needs a database.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;
use common::{stderr, stdout, tenantscope};

/// Every subcommand, as clap lists them (`help` aside): a new one is
/// checked without being named here.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    let names: Vec<String> = tenantscope::cli::Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .filter(|name| name != "help")
        .collect();
    // Both groups (those that connect and those that do not) are there.
    for sub in ["users", "basket", "snapshot", "profiles", "config", "man"] {
        assert!(names.iter().any(|n| n == sub), "{sub} in {names:?}");
    }
    names
}

/// Is `program` on PATH? A missing shell is skipped with the reason printed,
/// unless `.ci/run` asks for every shell (TS_TEST_REQUIRE_SHELLS=1).
fn shell_available(program: &str) -> bool {
    tool_available(
        program,
        std::env::var_os("TS_TEST_REQUIRE_SHELLS").is_some(),
    )
}

/// Is `program` on PATH? When missing, fails if `required`, else says the
/// check is skipped.
fn tool_available(program: &str, required: bool) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            !required,
            "{program} is required (CI or TS_TEST_REQUIRE_SHELLS) but not installed"
        );
        eprintln!("skipped: {program} is not installed (.ci/run installs it)");
    }
    found
}

/// In CI (`CI=true`, or `.ci/run`'s TS_TEST_REQUIRE_SHELLS) every tool the
/// suite renders or parses with must be there: a missing one fails.
fn in_ci() -> bool {
    std::env::var_os("TS_TEST_REQUIRE_SHELLS").is_some()
        || std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Runs `program args` with `script` on stdin; the script must parse.
fn parses(program: &str, args: &[&str], script: &str) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} rejects the script: {}",
        stderr(&out)
    );
}

fn completions(shell: &str) -> String {
    let out = tenantscope(&["completions", shell]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    // The script completes the subcommands and their flags.
    for word in ["health", "prices", "fail-on-drift"] {
        assert!(script.contains(word), "{shell} completions lack {word}");
    }
    script
}

#[test]
fn bash_completions_parse() {
    let script = completions("bash");
    if shell_available("bash") {
        parses("bash", &["-n"], &script);
    }
}

#[test]
fn zsh_completions_parse() {
    let script = completions("zsh");
    if shell_available("zsh") {
        parses("zsh", &["-n"], &script);
    }
}

#[test]
fn fish_completions_parse() {
    let script = completions("fish");
    if shell_available("fish") {
        parses("fish", &["--no-execute"], &script);
    }
}

#[test]
fn elvish_and_powershell_completions_are_printed() {
    completions("elvish");
    completions("powershell");
    let out = tenantscope(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad input");
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let out = tenantscope(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    let title = page
        .lines()
        .find(|line| !line.starts_with(".ie") && !line.starts_with(".el"))
        .unwrap();
    assert!(title.starts_with(".TH tenantscope 1"), "{title}");
    assert!(page.contains(".SH SYNOPSIS") && page.contains(".SH OPTIONS"));
    for sub in subcommands() {
        // A subsection of its own, with its options and examples.
        let section = page
            .split(&format!(".SS \"tenantscope {sub}\"\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("man page lacks {sub}"));
        let section = section.split(".SS ").next().unwrap();
        assert!(
            section.contains("\\fB\\-h\\fR, \\fB\\-\\-help\\fR"),
            "{sub}: {section}"
        );
        assert!(section.contains("Examples"), "{sub}: {section}");
    }
    assert!(page.contains(".SH EXAMPLES") && page.contains(".SH ENVIRONMENT"));
    // KEYS from the views' own key tables; EXIT STATUS and FILES.
    for section in [".SH KEYS", ".SH \"EXIT STATUS\"", ".SH FILES"] {
        assert!(page.contains(section), "{section}");
    }
    let keys = page.split(".SH KEYS").nth(1).unwrap();
    let keys = keys.split("\n.SH ").next().unwrap();
    for words in [
        "compare with this tenant",
        "export CSV",
        "Basket across tenants",
    ] {
        assert!(keys.contains(words), "KEYS lacks {words}: {keys}");
    }
    assert!(page.contains("ui.export_dir") && page.contains("128+N"));
    assert!(page.contains("tenantscope health \\-\\-fail\\-on\\-drift"));
    // man(1)'s renderer takes it without a warning (required in CI).
    if tool_available("groff", in_ci()) {
        let mut child = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.stderr.is_empty(), "groff: {}", stderr(&out));
    }
}

/// `--help` of the program and of `command`, at 80 columns.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "80")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn every_help_has_examples_and_fits_80_columns() {
    let mut pages = vec![(String::from("tenantscope"), help(&[]))];
    for sub in subcommands() {
        pages.push((format!("tenantscope {sub}"), help(&[&sub])));
    }
    for (name, page) in &pages {
        assert!(
            page.contains("\nExamples:\n"),
            "{name} --help has no examples"
        );
        let example = page.split("\nExamples:\n").nth(1).unwrap();
        assert!(
            example.contains(name.as_str()),
            "{name}'s examples do not run {name}"
        );
        for line in page.lines() {
            // A longer line would be broken mid-word by the terminal.
            let width = unicode_width::UnicodeWidthStr::width(line);
            assert!(width <= 80, "{name}: {width} columns: {line}");
        }
        // Environment variables appear next to the flags they stand for.
        assert!(page.contains("[env: DATABASE_URL]"), "{name}: {page}");
    }
    let top = &pages[0].1;
    for var in [
        "TENANTSCOPE_DATABASE__URL",
        "TENANTSCOPE_TENANCY__COMPARE_WITH",
        "PGDATABASE",
        "PGPASSWORD",
    ] {
        assert!(top.contains(var), "tenantscope --help does not name {var}");
    }
    let health = &pages[4].1;
    assert!(
        health.contains("health --fail-on-drift"),
        "the cron example"
    );
    assert!(health.contains("| jq "), "the JSON example");
}

#[test]
fn help_hides_the_database_url_value() {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["--help"])
        .env("DATABASE_URL", "postgres://app:hunter2@db/app")
        .output()
        .unwrap();
    let page = stdout(&out);
    assert!(page.contains("[env: DATABASE_URL]"));
    assert!(!page.contains("hunter2"), "{page}");
}

#[test]
fn msrv_check_passes_on_the_lock_file_and_fails_when_stale() {
    if !shell_available("python3") {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let check = format!("{root}/.ci/msrv");
    let metadata = |declared: &str, needed: &str| {
        serde_json::json!({"packages": [
            {"name": "tenantscope", "version": "0.1.0", "source": null, "rust_version": declared},
            {"name": "config", "version": "0.15.27", "source": "registry+x", "rust_version": needed},
            {"name": "csv", "version": "1.3.0", "source": "registry+x", "rust_version": "1.73"},
        ]})
    };
    let run = |meta: serde_json::Value| {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(meta.to_string().as_bytes()).unwrap();
        Command::new("python3")
            .args([&check, file.path().to_str().unwrap()])
            .output()
            .unwrap()
    };
    let stale = run(metadata("1.80", "1.88.0"));
    assert!(!stale.status.success());
    assert!(
        stderr(&stale).contains("need 1.88 (config 0.15.27)"),
        "{}",
        stderr(&stale)
    );
    // Too high is as wrong as too low: it turns away compilers that work.
    assert!(!run(metadata("1.90", "1.88")).status.success());
    assert!(run(metadata("1.88", "1.88.0")).status.success());
    // And the real Cargo.toml against the real Cargo.lock.
    let real = Command::new("python3")
        .arg(&check)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(real.status.success(), "{}", stderr(&real));
}

#[test]
fn the_variable_shown_beside_the_flag_keeps_its_own_precedence() {
    // --help names DATABASE_URL next to --database-url, yet a flag beats
    // TENANTSCOPE_DATABASE__URL and DATABASE_URL does not: the variable
    // must not be read as if it were the flag. Port 1 refuses at once.
    let out = Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(["users"])
        .env("XDG_CACHE_HOME", "/dev/null")
        .env(
            "TENANTSCOPE_DATABASE__URL",
            "postgres://winner@127.0.0.1:1/x",
        )
        .env("DATABASE_URL", "postgres://loser@127.0.0.1:1/x")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot connect to winner@"),
        "{}",
        stderr(&out)
    );
}

/// The binary in `dir` with only `env` (and PATH) around it.
fn run_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tenantscope"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn config_names_sources_files_and_the_shadowed_file() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("tenantscope")).unwrap();
    let xdg_file = xdg.join("tenantscope").join("config.toml");
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    // The project's directory is trusted (SECURITY.md), so its file is read.
    std::fs::write(
        &xdg_file,
        format!(
            "trusted_directories = [{:?}]\n[database]\nmax_connections = 2\n",
            project.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("tenantscope.toml"),
        "[database]\nurl = \"postgres://app:Sekr1t@db.example.com/app\"\n",
    )
    .unwrap();
    let env = [
        ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
        ("TENANTSCOPE_TENANCY__USERS_TABLE", "accounts"),
    ];
    let out = run_in(&project, &["config"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    let has = |needle: &str| {
        report.lines().any(|l| {
            l.starts_with(needle.split(" # ").next().unwrap())
                && l.ends_with(needle.split(" # ").nth(1).unwrap())
        })
    };
    assert!(
        has(r#"url = "postgres://app:***@db.example.com/app" # file ./tenantscope.toml"#),
        "{report}"
    );
    assert!(
        has(r#"users_table = "accounts" # env TENANTSCOPE_TENANCY__USERS_TABLE"#),
        "{report}"
    );
    // The XDG file is not layered under the local one: its 2 is not used.
    assert!(has("# max_connections = 4 # default"), "{report}");
    assert!(report.contains("#   ./tenantscope.toml (read)"));
    assert!(report.contains(&format!("#   {} (exists, ignored)", xdg_file.display())));
    assert!(!report.contains("Sekr1t") && !stderr(&out).contains("Sekr1t"));
    assert!(
        stderr(&out).contains(&format!("so {} is ignored", xdg_file.display())),
        "the shadowed file is named: {}",
        stderr(&out)
    );

    let out = run_in(&project, &["config", "--path"], &env);
    assert_eq!(stdout(&out), "./tenantscope.toml\n");
    // Without the local file the XDG one is read, and nothing is shadowed.
    let out = run_in(dir.path(), &["config", "--path"], &env);
    assert_eq!(stdout(&out), format!("{}\n", xdg_file.display()));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = run_in(dir.path(), &["config"], &env);
    assert!(stdout(&out).contains(&format!("# file {}", xdg_file.display())));
    // A flag beats the file, and a bad file is refused as every command refuses it.
    let out = run_in(
        &project,
        &["config", "--database-url", "postgres://flag@h/d"],
        &env,
    );
    assert!(
        stdout(&out).contains("# flag --database-url"),
        "{}",
        stdout(&out)
    );
    std::fs::write(
        project.join("tenantscope.toml"),
        "[database]\nmax_connections = 0\n",
    )
    .unwrap();
    let out = run_in(&project, &["config"], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("database.max_connections"),
        "{}",
        stderr(&out)
    );
}

/// The docs' benchmark figures are BENCHMARKS.md's (section i's medians,
/// and j's ratios to psql): a new benchmark run that changes them fails
/// here until the README says the same.
#[test]
fn the_readme_quotes_the_figures_benchmarks_md_measured() {
    let root = env!("CARGO_MANIFEST_DIR");
    // The figures are in docs/frameworks.md (tenant-first) and docs/cli.md.
    let readme = ["docs/frameworks.md", "docs/cli.md"]
        .map(|path| std::fs::read_to_string(format!("{root}/{path}")).unwrap())
        .join("\n\n");
    let bench = std::fs::read_to_string(format!("{root}/BENCHMARKS.md")).unwrap();
    let row = |start: &str| -> &str {
        bench
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("BENCHMARKS.md has no row {start:?}"))
    };
    // Section i: "| measure | p50 / p99 / mean |": the p50.
    let p50 = |start: &str| -> String {
        let cell = row(start).split(" | ").nth(1).unwrap();
        cell.split(" / ").next().unwrap().trim().to_string()
    };
    let paragraph = readme
        .split("\n\n")
        .find(|p| p.contains("At 2,000 tenant schemas"))
        .expect("the README's tenant-first figures");
    let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    for (what, figure) in [
        ("detection", p50("| detection (")),
        (
            "a search's first results",
            p50("| search keystroke → first frame"),
        ),
        (
            "every tenant read",
            p50("| search keystroke → frame \"searched"),
        ),
        ("`a`'s first page", p50("| `a` → first page")),
    ] {
        assert!(
            paragraph.contains(&format!(" {figure}")),
            "README says of {what} not BENCHMARKS.md's {figure}: {paragraph}"
        );
    }
    // Row j: the ratios, small then big, configured then detecting.
    let ratios: Vec<&str> = row("| j.")
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '×'))
        .filter(|w| w.ends_with('×') && w.len() > 1)
        .collect();
    assert_eq!(ratios.len(), 4, "{ratios:?}");
    let paragraph = readme
        .split("\n\n")
        .find(|p| p.contains("times `users --limit 100` beside psql"))
        .expect("the README's command cost figures");
    let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut at = 0;
    for ratio in ratios {
        let found = paragraph[at..]
            .find(ratio)
            .unwrap_or_else(|| panic!("README lacks {ratio} (in order): {paragraph}"));
        at += found + ratio.len();
    }
}

/// The README's first screen: at most 150 lines, its test command the one
/// `.ci/run` runs, and every relative link in it and in docs/ names a file
/// that exists (and, with `#`, a heading of that file).
#[test]
fn the_readme_is_one_screen_and_every_link_in_the_docs_resolves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap();
    let readme = read(&root.join("README.md"));
    let lines = readme.lines().count();
    assert!(lines <= 150, "README.md has {lines} lines");
    let test_command = readme
        .lines()
        .find(|l| l.starts_with("cargo test"))
        .and_then(|l| l.split('#').next())
        .map(str::trim)
        .expect("README names the test command");
    assert!(
        read(&root.join(".ci/run"))
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.ends_with(test_command)),
        "{test_command:?} is not what .ci/run runs"
    );

    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut checked = 0;
    for page in &pages {
        let text = read(page);
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            if target.contains("://") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            assert!(file.exists(), "{}: {target} names no file", page.display());
            if !anchor.is_empty() {
                assert!(
                    anchors(&read(&file)).iter().any(|a| a == anchor),
                    "{}: {target}: no such heading",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}

/// The anchors GitHub makes of a Markdown file's headings (code blocks
/// left out).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim().to_lowercase();
        out.push(
            title
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect(),
        );
    }
    out
}

/// `config`'s output saved as the config file and read back: the same
/// effective settings (each line's value; only where it comes from
/// changes). The defaults are comments, so a saved report of defaults sets
/// nothing (detection stays on, no layout is pinned); a value from the
/// environment becomes the file's.
#[test]
fn config_output_saved_as_the_config_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    let xdg = xdg.to_str().unwrap();
    // Each setting line without its origin comment; the files list left out.
    let values = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|l| !l.starts_with("#   ") && !l.is_empty())
            .skip_while(|l| !l.starts_with('['))
            .map(|l| match l.find("  # ") {
                Some(at) => l[..at].trim_end().to_string(),
                None => l.to_string(),
            })
            .collect()
    };
    for env in [
        &[("XDG_CONFIG_HOME", xdg)][..],
        &[
            ("XDG_CONFIG_HOME", xdg),
            ("TENANTSCOPE_UI__REFRESH_S", "30"),
        ],
    ] {
        let out = run_in(dir.path(), &["config"], env);
        assert!(out.status.success(), "{}", stderr(&out));
        let report = stdout(&out);
        let saved = dir.path().join("saved.toml");
        std::fs::write(&saved, &report).unwrap();
        let again = run_in(
            dir.path(),
            &["--config", saved.to_str().unwrap(), "config"],
            &[("XDG_CONFIG_HOME", xdg)],
        );
        assert!(again.status.success(), "{}", stderr(&again));
        let again = stdout(&again);
        assert_eq!(values(&again), values(&report), "{report}\n{again}");
        assert!(
            again
                .lines()
                .any(|l| l.starts_with("# detect = true") && l.ends_with("# default")),
            "detection stays on: {again}"
        );
        assert!(
            again
                .lines()
                .any(|l| l.starts_with("# layout = \"article\"") && l.ends_with("# default")),
            "no layout pinned: {again}"
        );
        let from_file = again.lines().filter(|l| l.contains("# file ")).count();
        assert_eq!(from_file, env.len() - 1, "{again}");
    }
}
