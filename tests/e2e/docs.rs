//! The documentation stays in step with the program: every option `tete --help` lists is in the
//! man page and the other way round, every completion script offers it, and the man page is
//! clean under `mandoc -T lint`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::harness::program_or_skip;

/// What `tete ARGS...` prints on stdout; it must succeed.
fn tete_output(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tete"))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("run tete {args:?}: {err}"));
    assert!(out.status.success(), "tete {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("tete's output is UTF-8")
}

fn help_text() -> String {
    tete_output(&["--help"])
}

fn man_page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/tete.1");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// The options --help lists, as "-x" and "--long" names.
fn help_options(help: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in help.lines().filter(|line| line.starts_with("  ")) {
        for word in line.split_whitespace() {
            let word = word.trim_end_matches(',');
            let is_short = word.len() == 2 && word.starts_with('-') && word != "--";
            let is_long = word.len() > 2 && word.starts_with("--");
            if is_short || is_long {
                names.insert(word.to_string());
            } else {
                break;
            }
        }
    }
    names
}

/// The options the man page documents: every `Fl` on an `.It` line of OPTIONS.
fn man_options(page: &str) -> BTreeSet<String> {
    let options = page
        .split(".Sh OPTIONS")
        .nth(1)
        .and_then(|rest| rest.split("\n.Sh ").next())
        .expect("the man page has an OPTIONS section");
    options
        .lines()
        .filter(|line| line.starts_with(".It "))
        .flat_map(fl_names)
        .collect()
}

/// The option names after each `Fl` macro on one roff line: `Fl \-send\-only` is "--send-only".
fn fl_names(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|pair| pair[0] == "Fl")
        .map(|pair| format!("-{}", pair[1].replace("\\-", "-")))
        .collect()
}

#[test]
fn help_and_man_page_list_the_same_options() {
    let help = help_options(&help_text());
    let man = man_options(&man_page());
    assert!(
        help.len() >= 30,
        "too few options parsed from --help: {help:?}"
    );
    let only_help: Vec<_> = help.difference(&man).collect();
    let only_man: Vec<_> = man.difference(&help).collect();
    assert!(
        only_help.is_empty() && only_man.is_empty(),
        "--help and man/tete.1 disagree: only in --help {only_help:?}, only in the man page {only_man:?}"
    );
}

#[test]
fn the_netcat_habits_are_documented_on_both_sides() {
    let help = help_options(&help_text());
    let man = man_options(&man_page());
    for option in [
        "-q",
        "--quit-after-eof",
        "-N",
        "--no-shutdown",
        "--completions",
        "-z",
        "-x",
        "--proxy",
        "-X",
        "--proxy-type",
        "--progress",
    ] {
        assert!(help.contains(option), "--help lacks {option}");
        assert!(man.contains(option), "the man page's OPTIONS lack {option}");
    }
}

/// Every option of --help, in the words each shell's completion script spells it with.
#[test]
fn completion_scripts_offer_every_option() {
    let help = help_options(&help_text());
    for shell in ["bash", "zsh", "fish"] {
        let script = tete_output(&["--completions", shell]);
        let missing: Vec<&String> = help
            .iter()
            .filter(|name| {
                let spelt = match (shell, name.strip_prefix("--")) {
                    ("fish", Some(long)) => format!("-l {long}"),
                    ("fish", None) => format!("-s {}", &name[1..]),
                    _ => name.to_string(),
                };
                !script.contains(&spelt)
            })
            .collect();
        assert!(
            missing.is_empty(),
            "the {shell} completions lack {missing:?}"
        );
    }
}

#[test]
fn man_page_names_no_long_option_that_help_lacks() {
    let help = help_options(&help_text());
    let page = man_page();
    let mentioned: BTreeSet<String> = page
        .lines()
        .flat_map(fl_names)
        .filter(|name| name.starts_with("--"))
        .collect();
    let unknown: Vec<_> = mentioned.difference(&help).collect();
    assert!(
        unknown.is_empty(),
        "the man page mentions options --help lacks: {unknown:?}"
    );
}

#[test]
fn man_page_has_the_sections_users_need() {
    let page = man_page();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "ENVIRONMENT",
        "EXIT STATUS",
        "EXAMPLES",
        "SECURITY",
        "SEE ALSO",
    ] {
        assert!(
            page.contains(&format!(".Sh {section}\n")),
            "no {section} section"
        );
    }
    let environment = page
        .split(".Sh ENVIRONMENT\n")
        .nth(1)
        .and_then(|rest| rest.split("\n.Sh ").next())
        .unwrap_or_default();
    for variable in ["TETE_PASSWORD", "TETE_PROXY_AUTH"] {
        assert!(
            environment.contains(&format!(".It Ev {variable}\n")),
            "ENVIRONMENT must document {variable}"
        );
    }
    for peer in ["Xr nc 1", "Xr ncat 1", "Xr socat 1"] {
        assert!(page.contains(peer), "SEE ALSO must name {peer}");
    }
}

#[test]
fn man_page_is_clean_under_mandoc_lint() {
    let Some(mandoc) = program_or_skip("mandoc", "mandoc") else {
        return;
    };
    let out = Command::new(mandoc)
        .args(["-T", "lint", "-W", "warning"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/tete.1"))
        .output()
        .expect("running mandoc");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "mandoc -T lint:\n{report}"
    );
}
