//! What a shell and `man` need: completion scripts and the manual page,
//! both generated from the clap definition so they cannot drift from it.

use clap::CommandFactory;
use roff::{bold, roman, Roff};

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "tenantscope", &mut out);
    out
}

/// `tenantscope(1)` in roff: one page for everything (clap_mangen alone
/// would point at a `tenantscope-users(1)` page per subcommand, which no one
/// installs), so each subcommand gets a subsection with its options and
/// examples, and the top command's Examples and Environment become sections.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone().after_help(None::<&str>));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut page = Roff::new();
    page.control("SH", ["COMMANDS"]);
    // In the order `--help` lists them (the subcommands are declared in
    // two groups, see `cli::Command`).
    let mut subcommands: Vec<_> = command.get_subcommands().collect();
    subcommands.sort_by_key(|sub| sub.get_display_order());
    for sub in subcommands {
        let name = format!("tenantscope {}", sub.get_name());
        page.control("SS", [name.as_str()]);
        page.text([roman(text_of(sub.get_about()))]);
        let mut synopsis = format!("{name} [OPTIONS]");
        for positional in sub.get_positionals() {
            synopsis.push_str(&format!(
                " <{}>",
                positional.get_id().as_str().to_uppercase()
            ));
        }
        page.control("PP", []).text([bold(synopsis)]);
        page.to_writer(&mut out)?;
        page = Roff::new();
        // The options without their `.SH OPTIONS` heading: they belong to
        // this subsection.
        let mut options = Vec::new();
        clap_mangen::Man::new(sub.clone().after_help(None::<&str>))
            .render_options_section(&mut options)?;
        let options = String::from_utf8_lossy(&options).replacen(".SH OPTIONS\n", "", 1);
        out.extend_from_slice(options.as_bytes());
        preformatted(&mut page, &text_of(sub.get_after_help()), false);
    }
    keys_section(&mut page);
    preformatted(&mut page, &text_of(command.get_after_help()), true);
    exit_status_and_files(&mut page);
    page.to_writer(&mut out)?;
    Ok(ascii_only(&once_preamble(&String::from_utf8_lossy(&out))).into_bytes())
}

/// KEYS: every view's key table, as its `?` popup shows it (the same
/// tables drive the keys, so the page cannot drift from them).
fn keys_section(page: &mut Roff) {
    use crate::app::keymap::{bindings, HELP};
    use crate::app::View;
    page.control("SH", ["KEYS"]);
    page.text([roman(
        "The dashboard's keys, by view; ? shows those of the view on screen.",
    )]);
    let views = [
        View::Dashboard,
        View::Health,
        View::Prices,
        View::Basket,
        View::Tenants,
        View::Connect,
    ];
    let sections = views
        .iter()
        .flat_map(|view| view.screen().help.iter().copied())
        .chain([("Help popup", HELP)]);
    let mut seen = Vec::new();
    for (title, table) in sections {
        if seen.contains(&title) {
            continue;
        }
        seen.push(title);
        // The dashboard's own section is "Keys" in its popup.
        let title = if title == "Keys" { "Dashboard" } else { title };
        page.control("SS", [title]);
        for binding in bindings(table) {
            page.control("TP", []);
            page.text([bold(binding.label())]);
            page.text([roman(binding.description)]);
        }
    }
}

/// EXIT STATUS and FILES, as [`crate::Failure`] and the settings have them.
fn exit_status_and_files(page: &mut Roff) {
    let exit_status = [
        ("0", "Success."),
        (
            "1",
            "The database or the environment failed: an unreachable server, a missing tenant schema, no PostgreSQL binaries for the demo.",
        ),
        (
            "2",
            "Bad input: configuration, flags, URL, an unknown user or tenant; the dashboard without a terminal.",
        ),
        (
            "3",
            "health --fail-on-drift found drift, an orphan or a leak; detect found nothing to show.",
        ),
        ("128+N", "Ended by signal N (130 for SIGINT, 143 for SIGTERM)."),
    ];
    let files = [
        (
            "./tenantscope.toml",
            "The config file of the current directory ([database], [tenancy] and [profiles] only from a trusted directory).",
        ),
        (
            "$XDG_CONFIG_HOME/tenantscope/config.toml",
            "The user's config file (~/.config/tenantscope/config.toml); --config or TENANTSCOPE_CONFIG names another.",
        ),
        (
            "~/.pgpass, pg_service.conf",
            "Passwords and services, read as libpq reads them (PGPASSFILE, PGSERVICEFILE).",
        ),
        (
            "ui.export_dir",
            "Where e writes CSV files: default $XDG_DOWNLOAD_DIR or ~/Downloads, else ~/.local/share/tenantscope/exports.",
        ),
        ("--log-file FILE", "Logs, when asked for; the dashboard never logs to the screen."),
    ];
    for (heading, items) in [("EXIT STATUS", &exit_status[..]), ("FILES", &files[..])] {
        page.control("SH", [heading]);
        for (item, meaning) in items {
            page.control("TP", []);
            page.text([bold(*item)]);
            page.text([roman(*meaning)]);
        }
    }
}

fn text_of(styled: Option<&clap::builder::StyledStr>) -> String {
    styled.map(ToString::to_string).unwrap_or_default()
}

/// Help notes ("Examples:" then indented lines) as headings and `.nf` blocks,
/// so the man reader keeps each example on its own line.
fn preformatted(page: &mut Roff, notes: &str, top: bool) {
    let mut open = false;
    for line in notes.lines() {
        if let Some(heading) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
            if open {
                page.control("fi", []);
                open = false;
            }
            if top {
                page.control("SH", [heading.to_uppercase().as_str()]);
            } else {
                page.control("PP", []).text([bold(heading)]);
            }
        } else if !line.is_empty() {
            if !open {
                page.control("nf", []);
                open = true;
            }
            page.text([roman(line)]);
        }
    }
    if open {
        page.control("fi", []);
    }
}

/// Characters beyond ASCII (the keys' arrows, "…") as groff's `\[uXXXX]`,
/// which every man renderer reads without a locale.
fn ascii_only(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\[u{:04X}]", c as u32)
            }
        })
        .collect()
}

/// Every roff render starts with the same apostrophe preamble; the page
/// needs it once, at the top.
fn once_preamble(text: &str) -> String {
    let mut seen = false;
    text.lines()
        .filter(|line| {
            let preamble = line.starts_with(".ie \\n(.g") || line.starts_with(".el .ds Aq");
            if preamble && line.starts_with(".el") {
                let first = !seen;
                seen = true;
                return first;
            }
            !preamble || !seen
        })
        .map(|line| format!("{line}\n"))
        .collect()
}
