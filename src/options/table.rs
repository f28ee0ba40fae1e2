//! The one option table behind the parser, `--help` and the completion scripts, and what
//! getopts refuses, said in tete's words.

use getopts::{Fail, Options};

use super::{Shell, usage};
use crate::error::Error;

/// The usage lines shown by `--help`.
const USAGE: &str = "Usage: tete [options] host port\n       \
                     tete -l [options] [address] port\n       \
                     tete -z [options] host port[-port] ...";

/// One option of the table.
pub(crate) struct OptionSpec {
    /// The one-letter name, or "" when there is none.
    pub short: &'static str,
    /// The long name, or "" when there is none.
    pub long: &'static str,
    /// What the value stands for (`SECS`, `FILE`...), or "" for a flag.
    pub value: &'static str,
    pub help: &'static str,
}

const fn spec(
    short: &'static str,
    long: &'static str,
    value: &'static str,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        short,
        long,
        value,
        help,
    }
}

/// Every option, in the groups `--help` and the man page share. The one table behind the
/// parser, the help text and the completion scripts.
pub(crate) const OPTION_GROUPS: &[(&str, &[OptionSpec])] = &[
    (
        "Connecting and listening",
        &[
            spec(
                "l",
                "listen",
                "",
                "listen for one peer instead of connecting",
            ),
            spec(
                "p",
                "source-port",
                "PORT",
                "connect: bind this local port; listen: the port",
            ),
            spec(
                "s",
                "source",
                "ADDR",
                "connect: bind this local address; listen: the address",
            ),
            spec("4", "", "", "use IPv4 only"),
            spec("6", "", "", "use IPv6 only"),
            spec(
                "n",
                "numeric",
                "",
                "numeric addresses only, no name lookups",
            ),
            spec(
                "w",
                "wait",
                "SECS",
                "give up connecting or waiting for a peer after SECS; once stdin has ended, \
                 end a session idle that long",
            ),
            spec(
                "x",
                "proxy",
                "ADDR",
                "connect through the proxy at ADDR[:PORT]",
            ),
            spec(
                "X",
                "proxy-type",
                "TYPE",
                "the proxy's protocol: 5 (SOCKS5, default), 4, connect",
            ),
            spec(
                "",
                "map-port",
                "PORT",
                "listen: ask the home router to forward its PORT here from the internet \
                 (PCP, NAT-PMP, UPnP IGD); PORT is also the port to listen on if none is given",
            ),
            spec(
                "z",
                "zero",
                "",
                "only report whether ports (several, or ranges: 20-25) accept",
            ),
        ],
    ),
    (
        "The session",
        &[
            spec(
                "k",
                "keep-open",
                "",
                "listen: serve peers one after another",
            ),
            spec(
                "i",
                "idle-timeout",
                "SECS",
                "end the session after SECS with nothing moving",
            ),
            spec(
                "q",
                "quit-after-eof",
                "SECS",
                "quit SECS after stdin ends (0: at once)",
            ),
            spec(
                "",
                "peer-timeout",
                "SECS",
                "end the session, status 1, once the peer has not answered for SECS; an empty \
                 stdin's end goes after SECS of silence on a live link (default 30; 0: never)",
            ),
            spec(
                "N",
                "",
                "",
                "half-close at once when stdin ends, whatever the peer sent (else the \
                 half-close waits for the peer's end once it has sent anything)",
            ),
            spec("", "no-shutdown", "", "never half-close the socket"),
            spec("d", "recv-only", "", "never read stdin"),
            spec("", "send-only", "", "discard what the peer sends"),
            spec("C", "crlf", "", "send each bare LF from stdin as CR LF"),
            spec(
                "",
                "no-chat",
                "",
                "at a terminal: no chat screen, as other netcats",
            ),
        ],
    ),
    (
        "Room password",
        &[
            spec("P", "password", "", "ask for the password on the terminal"),
            spec(
                "",
                "password-file",
                "FILE",
                "the password is FILE's first line",
            ),
        ],
    ),
    (
        "Information",
        &[
            spec(
                "v",
                "verbose",
                "",
                "report connections, and a summary at the end, on stderr",
            ),
            spec(
                "",
                "progress",
                "",
                "show a live progress line on stderr (a terminal)",
            ),
            spec("h", "help", "", "print this help and exit"),
            spec("V", "version", "", "print the version and exit"),
            spec(
                "",
                "completions",
                "SHELL",
                "print a bash, zsh or fish completion script",
            ),
        ],
    ),
];

/// Every option of [`OPTION_GROUPS`], in order.
pub(crate) fn all_options() -> impl Iterator<Item = &'static OptionSpec> {
    OPTION_GROUPS.iter().flat_map(|(_, specs)| specs.iter())
}

/// The options of other netcats that tete deliberately lacks, and what to use instead: a
/// user who types them learns that at once, not from a bare "unrecognized option".
const UNSUPPORTED: &[(&[&str], &str)] = &[
    (
        &["u", "udp"],
        "tete speaks TCP only; for UDP use socat or ncat -u",
    ),
    (
        &["U", "unixsock"],
        "tete does not do Unix sockets; use socat or ncat -U",
    ),
    (
        &["e", "exec", "c", "sh-exec", "lua-exec"],
        "tete does not run programs on the connection; use socat or ncat -e",
    ),
    (
        &["t", "telnet"],
        "tete does not answer telnet negotiation; use ncat -t",
    ),
    (
        &["proxy-auth"],
        "tete takes proxy credentials from TETE_PROXY_AUTH=user:password, never from the \
         command line",
    ),
    (
        &["ssl", "ssl-cert", "ssl-key", "ssl-verify", "K", "R", "Z"],
        "tete does not speak TLS (its password mode encrypts); use ncat --ssl or socat",
    ),
    (
        &["T", "M", "m", "S", "D", "b"],
        "tete does not set that socket option; use OpenBSD nc or socat",
    ),
    (
        &["I", "O"],
        "tete sizes its socket buffers itself; use OpenBSD nc -I/-O or socat",
    ),
    (
        &["F"],
        "tete does not pass the socket on; use OpenBSD nc -F",
    ),
    (
        &["r", "randomize"],
        "tete tries ports in order; use OpenBSD nc -r",
    ),
    (&["g", "G"], "tete does not do source routing; use ncat -g"),
    (
        &["o", "output", "hex-dump"],
        "tete writes what it receives to stdout; redirect it, or use ncat -o",
    ),
    (&["sctp"], "tete speaks TCP only; for SCTP use ncat --sctp"),
    (
        &[
            "broker",
            "chat",
            "allow",
            "allowfile",
            "deny",
            "denyfile",
            "max-conns",
        ],
        "tete serves one peer at a time; use ncat --broker for more",
    ),
];

pub(super) fn make_opts() -> Options {
    let mut opts = Options::new();
    for spec in all_options() {
        if spec.value.is_empty() {
            opts.optflag(spec.short, spec.long, spec.help);
        } else {
            opts.optopt(spec.short, spec.long, spec.help, spec.value);
        }
    }
    opts
}

/// How wide `--help` may be, in columns.
pub(super) const HELP_WIDTH: usize = 100;

/// Where an option's description starts in `--help`.
const HELP_INDENT: usize = 30;

/// The text of `--help`: the options grouped as in the man page, within [`HELP_WIDTH`]
/// columns (a long description goes on below, under its start).
pub fn help() -> String {
    let mut text = format!("tete: join stdin and stdout to one TCP connection\n\n{USAGE}\n");
    for (title, specs) in OPTION_GROUPS {
        text.push_str(&format!("\n{title}:\n"));
        for spec in *specs {
            let short = if spec.short.is_empty() {
                "    ".to_string()
            } else {
                format!("-{}, ", spec.short)
            };
            let long = if spec.long.is_empty() {
                String::new()
            } else {
                format!("--{} {}", spec.long, spec.value)
            };
            let names = format!("{short}{long}")
                .trim_end_matches([' ', ','])
                .to_string();
            let mut lines = wrap(spec.help, HELP_WIDTH - HELP_INDENT).into_iter();
            let first = lines.next().unwrap_or_default();
            let names_width = HELP_INDENT - 2;
            text.push_str(&format!("  {names:<names_width$}{first}\n"));
            for line in lines {
                text.push_str(&format!("{:HELP_INDENT$}{line}\n", ""));
            }
        }
    }
    text.push_str(
        "\nPorts are numbers or service names (http); -l 0 lets the system pick one.\n\
         Environment: TETE_PASSWORD sets the room password (-z ignores it);\n\
         TETE_PROXY_AUTH=user:password, the credentials for the proxy of -x.\n\
         A password listener runs up to 8 handshakes at once; whatever -w says, a newcomer\n\
         has 5 s for its first message and 10 s to prove that it knows the password.\n\
         Only a wrong password counts as a guess: one is checked a second, and after 10\n\
         wrong guesses in a run (-k too) tete ends with status 3. Strangers (port scans,\n\
         junk, silence) are dropped, not counted.\n\
         With a password, each end tells the other why it stopped: after your Ctrl-C the\n\
         peer says that you left, in a chat (status 0), or that the data may be incomplete\n\
         (status 1); a session that breaks off without a word is reported as truncated (3).\n\
         stdout may hold the verified start of the data before a failure: check the exit\n\
         status (set -o pipefail), write to a temporary file and move it on success.\n\
         Exit status: 0 normal end, 1 runtime failure, 2 usage error, 3 secure channel failure.\n\
         See tete(1) for the details.\n",
    );
    text
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than
/// that has a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// What getopts refused, in tete's words; an option of another netcat gets the tool to use.
pub(super) fn option_failure(fail: Fail) -> Error {
    let dashed = |name: &str| {
        if name.chars().count() == 1 {
            format!("-{name}")
        } else {
            format!("--{name}")
        }
    };
    match fail {
        // getopts quotes an argument that is not UTF-8 instead of naming an option.
        Fail::UnrecognizedOption(name) if name.starts_with('"') => {
            usage(&format!("argument {name} is not valid UTF-8"))
        }
        Fail::UnrecognizedOption(name) => match UNSUPPORTED
            .iter()
            .find(|(names, _)| names.contains(&name.as_str()))
        {
            Some((_, instead)) => usage(&format!("{}: {instead}", dashed(&name))),
            None => usage(&format!("unknown option {}", dashed(&name))),
        },
        Fail::ArgumentMissing(name) => usage(&format!("{} needs a value", dashed(&name))),
        Fail::OptionDuplicated(name) => usage(&format!("{} given more than once", dashed(&name))),
        Fail::UnexpectedArgument(name) => usage(&format!("{} takes no value", dashed(&name))),
        Fail::OptionMissing(name) => usage(&format!("{} is required", dashed(&name))),
    }
}

/// The shells `--completions` knows, by name.
pub(crate) const SHELLS: &[(&str, Shell)] = &[
    ("bash", Shell::Bash),
    ("zsh", Shell::Zsh),
    ("fish", Shell::Fish),
];

pub(super) fn shell_named(name: &str) -> Result<Shell, Error> {
    SHELLS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, shell)| shell)
        .ok_or_else(|| {
            usage(&format!(
                "no completions for '{name}': choose bash, zsh or fish"
            ))
        })
}
