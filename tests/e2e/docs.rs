//! The documentation stays in step with the program: every option `tete --help` lists is in the
//! man page and the other way round, every completion script offers it, the man page states the
//! password room's numbers as `--help` does, the man page is clean under `mandoc -T lint`, and
//! README's completion commands work on a fresh account.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::harness::{TempDir, at_once, program_or_skip};

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

/// The password room's numbers, as `--help` states them (a unit test in src/relay/admission.rs
/// pins `--help` to the constants).
struct RoomNumbers {
    /// Handshakes the listener runs at once.
    slots: u32,
    /// Seconds a connection has for its HELLO, and for its proof (CONFIRM).
    hello: u32,
    confirm: u32,
    /// Wrong guesses a run before the room ends, with this exit status.
    guesses: u32,
    status: u32,
}

/// `text` with every run of white space one space: a sentence of a roff file, whatever its
/// line breaks.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The number that follows `before` in `text` (one line).
fn number_after(text: &str, before: &str) -> u32 {
    let rest = text
        .split(before)
        .nth(1)
        .unwrap_or_else(|| panic!("no {before:?} in {text:?}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {before:?} in {text:?}"))
}

fn room_numbers(help: &str) -> RoomNumbers {
    let help = one_line(help);
    let guesses = help
        .split(" wrong guesses in a run")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("--help says no number of guesses a run: {help:?}"));
    assert!(
        help.contains("one is checked a second"),
        "--help no longer says that one guess is checked a second: {help:?}"
    );
    RoomNumbers {
        slots: number_after(&help, "runs up to "),
        hello: number_after(&help, "a newcomer has "),
        confirm: number_after(&help, " s for its first message and "),
        guesses,
        status: number_after(
            &help,
            " wrong guesses in a run (-k too) tete ends with status ",
        ),
    }
}

/// The text of the man page between `from` and the next section or subsection, as one line.
fn man_part(page: &str, from: &str) -> String {
    let rest = page
        .split(from)
        .nth(1)
        .unwrap_or_else(|| panic!("the man page has no {from:?}"));
    let end = rest
        .find("\n.Sh ")
        .into_iter()
        .chain(rest.find("\n.Ss "))
        .min();
    one_line(&rest[..end.unwrap_or(rest.len())])
}

/// The man page says the same numbers for the password room as `--help` (and so as the code):
/// SECURITY's "A private room" and EXIT STATUS, typed by hand, are checked here, and every
/// number written in digits in "A private room" is one of them.
#[test]
fn man_page_states_the_room_numbers_of_help() {
    let numbers = room_numbers(&help_text());
    let RoomNumbers {
        slots,
        hello,
        confirm,
        guesses,
        status,
    } = numbers;
    let page = man_page();
    let room = man_part(&page, ".Ss A private room\n");
    // One guess is checked a second, so spending them all takes this many seconds.
    let words = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let all_guesses_take = words
        .get(guesses as usize)
        .unwrap_or_else(|| panic!("{guesses} guesses: spell the seconds here"));
    let said = [
        format!("runs up to {slots} handshakes at once"),
        format!("(HELLO) within {hello} seconds of the connection"),
        format!("(CONFIRM) within {confirm}."),
        format!("When all {slots} are taken"),
        format!("holds the most of the {slots} "),
        format!("when all {slots} have theirs in"),
        format!("who open about {slots} connections"),
        "at most one proof is checked a second".to_string(),
        format!("after {guesses} wrong guesses in a run"),
        format!("ends with status {status} and says that someone may be guessing"),
        format!("the {guesses} guesses, in about {all_guesses_take} seconds"),
    ];
    let unsaid: Vec<&String> = said.iter().filter(|words| !room.contains(*words)).collect();
    assert!(
        unsaid.is_empty(),
        "the man page's \"A private room\" does not say {unsaid:?}, as --help's numbers \
         (slots {slots}, HELLO {hello} s, CONFIRM {confirm} s, {guesses} guesses) would have it"
    );
    let known = [slots, hello, confirm, guesses, status];
    let typed: Vec<&str> = room
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '/')
        .filter(|word| word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty())
        .filter(|number| number.parse().is_ok_and(|n: u32| !known.contains(&n)))
        .collect();
    assert!(
        typed.is_empty(),
        "\"A private room\" states numbers that --help does not: {typed:?}"
    );
    let exit_status = man_part(&page, ".Sh EXIT STATUS\n");
    assert!(
        exit_status.contains(&format!("or {guesses} wrong password guesses")),
        "EXIT STATUS does not say {guesses} wrong password guesses: {exit_status:?}"
    );
}

/// README's lines that install the completions work on a fresh account (an empty HOME, no
/// bash-completion package): run as written, then each shell started as a person's would be
/// (zsh with the ~/.zshrc lines the README asks for) completes `tete --li`.
#[test]
fn readme_completion_lines_work_on_a_fresh_account() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = readme
        .split("Shell completions come from the binary itself")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README's completion commands");
    let zshrc_line = |between: (&str, &str)| {
        block
            .split(between.0)
            .nth(1)
            .and_then(|rest| rest.split(between.1).next())
            .unwrap_or_else(|| panic!("README's ~/.zshrc advice lacks {between:?}: {block}"))
            .to_string()
    };
    let zshrc = format!(
        "{}\n{}\n",
        zshrc_line(("#   ", " before `")),
        zshrc_line((" before `", "` in ~/.zshrc"))
    );
    let home = TempDir::new("fresh-account");
    let tete_dir = Path::new(env!("CARGO_BIN_EXE_tete"))
        .parent()
        .expect("tete's directory");
    let path = format!(
        "{}:{}",
        tete_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .env("HOME", home.path())
            .env("PATH", &path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("ZDOTDIR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("{program}: {err}"));
        assert!(out.status.success(), "{program} {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run("sh", &["-eu", "-c", block]);
    home.file(".zshrc", zshrc.as_bytes());
    let rc = home.join(".bashrc");
    let rc = rc.to_str().expect("a UTF-8 path");
    let checks: [(&str, &[&str], &str); 3] = [
        (
            "bash",
            &["--rcfile", rc, "-i", "-c", "complete -p tete"],
            "complete -F _tete tete",
        ),
        ("zsh", &["-i", "-c", "print -r -- $_comps[tete]"], "_tete"),
        ("fish", &["-c", "complete -C 'tete --li'"], "--listen\t"),
    ];
    // At once: zsh's first compinit, which writes ~/.zcompdump, takes a second.
    let check = |(shell, args, expected): (&str, &[&str], &str)| {
        if program_or_skip(shell, shell).is_none() {
            return;
        }
        let said = run(shell, args);
        assert!(
            said.starts_with(expected),
            "{shell} after README's lines, {args:?}: {said:?}\nthe lines:\n{block}"
        );
    };
    at_once(&[&|| check(checks[0]), &|| check(checks[1]), &|| {
        check(checks[2])
    }]);
}
