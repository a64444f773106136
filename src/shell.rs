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
    for sub in command.get_subcommands() {
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
    preformatted(&mut page, &text_of(command.get_after_help()), true);
    page.to_writer(&mut out)?;
    Ok(once_preamble(&String::from_utf8_lossy(&out)).into_bytes())
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
