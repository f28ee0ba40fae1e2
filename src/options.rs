//! The command line: the one option table, and the one place where arguments are checked.
//!
//! Raw arguments become validated types here, once, at the edge (as ripgrep does): a
//! [`Command`] whose shapes cannot hold a forbidden combination. `-k` lives inside the listen
//! [`Mode`], `-d` and `--send-only` are one [`Direction`], and `-z` is a [`Probe`] of its own that
//! has no room for a password or a session option. Everything a user can get wrong is reported
//! as [`Error::Usage`] (exit status 2), so the rest of the program never checks again.
//!
//! The same table ([`OPTION_GROUPS`]) drives the parser, `--help` and the shell completions, so
//! none of them can drift from the others.

use std::ffi::OsStr;
use std::ops::RangeInclusive;
use std::time::Duration;

use getopts::{Fail, Options};

use crate::error::Error;
use crate::password::Password;
use crate::proxy::{self, Credentials, Proxy};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    /// `--completions SHELL`: print a completion script.
    Completions(Shell),
    /// `-z`: report whether ports accept, send nothing.
    Probe(Probe),
    /// A session: stdin and stdout joined to one connection.
    Run(Config),
}

/// A shell `--completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A validated session: every field is within range, and no two contradict each other.
#[derive(Debug, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    pub family: Family,
    pub numeric: bool,
    pub verbose: bool,
    /// `-w`: how long to wait for a connection (either mode) or a handshake.
    pub wait: Option<Duration>,
    /// `-i`: end the session when nothing moves for this long.
    pub idle_timeout: Option<Duration>,
    /// `-q`: after stdin's end, quit this long afterwards (`Some(ZERO)`: at once); `None`
    /// (no `-q`, or a negative value): the end-of-session rules alone decide.
    pub quit_after_eof: Option<Duration>,
    pub direction: Direction,
    /// Half-close the socket when stdin ends; false with `--no-shutdown`.
    pub half_close: bool,
    /// `-C`: send each LF from stdin as CR LF.
    pub crlf: bool,
    /// Chat mode where the standard streams allow it; false with `--no-chat`.
    pub chat: bool,
    pub password: PasswordSource,
    /// `--progress`: a live progress line on stderr, where it is a terminal.
    pub progress: bool,
}

impl Config {
    /// `-k`: serve peers one after another (listen mode only).
    pub fn keep_open(&self) -> bool {
        matches!(
            self.mode,
            Mode::Listen {
                keep_open: true,
                ..
            }
        )
    }
}

/// Which end of the connection tete is.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Connect to `host` on `port`, from `source` if given, through `proxy` if given (then
    /// `host` is the proxy's to look up, and `source` is the local end towards the proxy).
    Connect {
        host: String,
        port: u16,
        source: Source,
        proxy: Option<Proxy>,
    },
    /// Listen on `port` (0: the OS picks one), on `address` or on every address when `None`.
    Listen {
        address: Option<String>,
        port: u16,
        /// `-k`: serve peers one after another.
        keep_open: bool,
        /// `--map-port`: the port to ask the home router to forward here from the internet.
        map_port: Option<u16>,
    },
}

/// The local end to bind before connecting (`-s`, `-p`), if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    pub address: Option<String>,
    pub port: Option<u16>,
}

/// Which ways bytes move in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    /// `-d`: never read stdin.
    ReceiveOnly,
    /// `--send-only`: discard what the peer sends.
    SendOnly,
}

/// `-z`: try each port in turn, send nothing, answer with the exit status.
#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub host: String,
    pub ports: RangeInclusive<u16>,
    pub source: Source,
    pub family: Family,
    pub numeric: bool,
    pub verbose: bool,
    /// `-w`: how long each port may take to answer.
    pub wait: Option<Duration>,
}

/// Which address families to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

/// What tete takes from the environment; the caller reads it, so parsing stays pure.
pub struct Environment {
    /// `TETE_PASSWORD`.
    pub password: Option<Password>,
    /// `TETE_PROXY_AUTH` ([`proxy::AUTH_VARIABLE`]): `user:password` for the proxy.
    pub proxy_auth: Option<Vec<u8>>,
}

/// Where the room password comes from, if anywhere.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    /// `-P`: ask on the controlling terminal.
    Prompt,
    /// `--password-file FILE`: the file's first line.
    File(String),
    /// `TETE_PASSWORD`, taken from the environment by the caller; never empty.
    Environment(Password),
}

/// The usage lines shown by `--help`.
const USAGE: &str = "Usage: tete [options] host port\n       \
                     tete -l [options] [address] port\n       \
                     tete -z [options] host port[-port]";

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
                "only report whether ports (20-25: a range) accept",
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
            spec("N", "", "", "half-close when stdin ends (always done)"),
            spec(
                "",
                "no-shutdown",
                "",
                "do not half-close the socket when stdin ends",
            ),
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

fn make_opts() -> Options {
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

/// The text of `--help`: the options grouped as in the man page.
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
            text.push_str(&format!("  {names:<28}{}\n", spec.help));
        }
    }
    text.push_str(
        "\nPorts are numbers or service names (http); -l 0 lets the system pick one.\n\
         Environment: TETE_PASSWORD sets the room password (-z ignores it);\n\
         TETE_PROXY_AUTH=user:password, the credentials for the proxy of -x.\n\
         A password listener runs up to 8 handshakes at once (HELLO within 5 s, CONFIRM\n\
         within 10 s, whatever -w says). Only a wrong password is a guess: one checked a\n\
         second, 10 a run (-k too), then exit 3. Strangers (scans, junk, silence) are\n\
         dropped, not counted. Ctrl-C sends CLOSE(interrupted): a chat peer reads \"left\"\n\
         (0), a transfer \"incomplete\" (1); no CLOSE is \"truncated\" (3). stdout may hold\n\
         a verified prefix before a failure: check the status (set -o pipefail), write to\n\
         a temporary file and move it on success.\n\
         Exit status: 0 normal end, 1 runtime failure, 2 usage error, 3 secure channel failure.\n\
         See tete(1) for the details.\n",
    );
    text
}

/// Parses the arguments after the program name, with what the environment says.
pub fn parse<S: AsRef<OsStr>>(args: &[S], env: Environment) -> Result<Command, Error> {
    let matches = make_opts().parse(args).map_err(option_failure)?;
    if matches.opt_present("h") {
        return Ok(Command::Help);
    }
    if matches.opt_present("V") {
        return Ok(Command::Version);
    }
    if let Some(shell) = matches.opt_str("completions") {
        return shell_named(&shell).map(Command::Completions);
    }
    if matches.opt_present("z") {
        return probe(&matches).map(Command::Probe);
    }
    run(&matches, env).map(Command::Run)
}

/// What getopts refused, in tete's words; an option of another netcat gets the tool to use.
fn option_failure(fail: Fail) -> Error {
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

fn shell_named(name: &str) -> Result<Shell, Error> {
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

fn family(matches: &getopts::Matches) -> Result<Family, Error> {
    match (matches.opt_present("4"), matches.opt_present("6")) {
        (true, true) => Err(usage("-4 and -6 cannot be used together")),
        (true, false) => Ok(Family::V4),
        (false, true) => Ok(Family::V6),
        (false, false) => Ok(Family::Any),
    }
}

fn seconds_option(matches: &getopts::Matches, option: &str) -> Result<Option<Duration>, Error> {
    matches
        .opt_str(option)
        .map(|text| parse_seconds(&format!("-{option}"), &text))
        .transpose()
}

/// The session options `-z` has no use for: each is an error with it rather than ignored.
const NOT_WITH_PROBE: &[(&str, &str)] = &[
    ("k", "-k"),
    ("i", "-i"),
    ("q", "-q"),
    ("d", "-d"),
    ("send-only", "--send-only"),
    ("no-shutdown", "--no-shutdown"),
    ("C", "-C"),
    ("no-chat", "--no-chat"),
    ("progress", "--progress"),
    ("map-port", "--map-port"),
];

fn probe(matches: &getopts::Matches) -> Result<Probe, Error> {
    if matches.opt_present("l") {
        return Err(usage("-z only works when connecting, not with -l"));
    }
    if matches.opt_present("x") || matches.opt_present("X") {
        return Err(usage(
            "-z tries ports directly, not through a proxy (-x, -X)",
        ));
    }
    // An exported TETE_PASSWORD is no request: only an explicit password is an error.
    if matches.opt_present("P") || matches.opt_present("password-file") {
        return Err(usage("-z sends nothing, so it takes no password"));
    }
    if let Some((_, name)) = NOT_WITH_PROBE
        .iter()
        .find(|(option, _)| matches.opt_present(option))
    {
        return Err(usage(&format!(
            "-z only probes ports, so {name} has no meaning with it"
        )));
    }
    let (host, ports) = match matches.free.as_slice() {
        [] => return Err(usage("missing host and port")),
        [_] => return Err(usage("missing port")),
        [host, ports] => (host.clone(), parse_port_range(ports)?),
        [_, _, extra, ..] => return Err(usage(&format!("unexpected operand '{extra}'"))),
    };
    Ok(Probe {
        host,
        ports,
        source: source(matches)?,
        family: family(matches)?,
        numeric: matches.opt_present("n"),
        verbose: matches.opt_present("v"),
        wait: seconds_option(matches, "w")?,
    })
}

fn source(matches: &getopts::Matches) -> Result<Source, Error> {
    Ok(Source {
        address: matches.opt_str("s"),
        port: matches
            .opt_str("p")
            .map(|port| parse_port(&port, false))
            .transpose()?,
    })
}

fn run(matches: &getopts::Matches, env: Environment) -> Result<Config, Error> {
    let keep_open = matches.opt_present("k");
    let mode = if matches.opt_present("l") {
        if matches.opt_present("x") || matches.opt_present("X") {
            return Err(usage("-x and -X only work when connecting, not with -l"));
        }
        listen_mode(matches, keep_open)?
    } else if keep_open {
        return Err(usage("-k only works with -l"));
    } else if matches.opt_present("map-port") {
        return Err(usage(
            "--map-port only works with -l: it opens the listening port on the home router",
        ));
    } else {
        connect_mode(matches, env.proxy_auth)?
    };
    let direction = match (matches.opt_present("d"), matches.opt_present("send-only")) {
        (true, true) => return Err(usage("-d and --send-only cannot be used together")),
        (true, false) => Direction::ReceiveOnly,
        (false, true) => Direction::SendOnly,
        (false, false) => Direction::Both,
    };
    let password = match (matches.opt_present("P"), matches.opt_str("password-file")) {
        (true, Some(_)) => return Err(usage("-P and --password-file cannot be used together")),
        (true, None) => PasswordSource::Prompt,
        (false, Some(file)) => PasswordSource::File(file),
        // A misspelt variable in a script must not turn a private room into plaintext.
        (false, None) => match env.password {
            Some(value) if value.is_empty() => {
                return Err(usage(
                    "TETE_PASSWORD is set but empty; unset it to run without a password",
                ));
            }
            Some(value) => PasswordSource::Environment(value),
            None => PasswordSource::None,
        },
    };
    Ok(Config {
        mode,
        family: family(matches)?,
        numeric: matches.opt_present("n"),
        verbose: matches.opt_present("v"),
        wait: seconds_option(matches, "w")?,
        idle_timeout: seconds_option(matches, "i")?,
        quit_after_eof: matches
            .opt_str("q")
            .map(|text| parse_quit_after_eof(&text))
            .transpose()?
            .flatten(),
        direction,
        // -N is OpenBSD nc's "shut down after EOF", which tete always does: accepted, no change.
        half_close: match (matches.opt_present("N"), matches.opt_present("no-shutdown")) {
            (true, true) => return Err(usage("-N and --no-shutdown cannot be used together")),
            (_, no_shutdown) => !no_shutdown,
        },
        crlf: matches.opt_present("C"),
        chat: !matches.opt_present("no-chat"),
        password,
        progress: matches.opt_present("progress"),
    })
}

fn connect_mode(matches: &getopts::Matches, proxy_auth: Option<Vec<u8>>) -> Result<Mode, Error> {
    match matches.free.as_slice() {
        [] => Err(usage("missing host and port")),
        [_] => Err(usage("missing port")),
        [host, port] => Ok(Mode::Connect {
            host: host.clone(),
            port: parse_port(port, false)?,
            source: source(matches)?,
            proxy: proxy_option(matches, proxy_auth)?,
        }),
        [_, _, extra, ..] => Err(usage(&format!("unexpected operand '{extra}'"))),
    }
}

/// `-x ADDR[:PORT]` and `-X TYPE` as OpenBSD nc reads them, with the credentials from the
/// environment (never from argv, where every local user could read them).
fn proxy_option(
    matches: &getopts::Matches,
    proxy_auth: Option<Vec<u8>>,
) -> Result<Option<Proxy>, Error> {
    let protocol = matches.opt_str("X");
    let Some(address) = matches.opt_str("x") else {
        return match protocol {
            Some(_) => Err(usage("-X needs -x, the proxy's address")),
            None => Ok(None),
        };
    };
    let mut proxy = proxy::parse(&address, protocol.as_deref()).map_err(|err| usage(&err))?;
    proxy.credentials = proxy_auth
        .map(|value| Credentials::parse(&value))
        .transpose()
        .map_err(|err| usage(&err))?;
    Ok(Some(proxy))
}

/// `-l port`, `-l address port`, `-l -p port` and `-l -s address -p port` all mean the same thing.
fn listen_mode(matches: &getopts::Matches, keep_open: bool) -> Result<Mode, Error> {
    let map_port = map_port_option(matches)?;
    // `tete -l --map-port 51423`: the router's port is the one to listen on too.
    let map_text = map_port.map(|port| port.to_string());
    let port_option = matches.opt_str("p");
    let (address, port) = match (matches.free.as_slice(), &port_option) {
        ([], None) => match &map_text {
            Some(port) => (None, port),
            None => return Err(usage("missing port to listen on")),
        },
        ([], Some(port)) => (None, port),
        ([port], None) => (None, port),
        // `tete -l -p 52282 52283`: a number is a second port, not an IPv4 address.
        ([second], Some(port)) if is_number(second) => {
            return Err(usage(&format!(
                "more than one port to listen on: -p {port} and {second}"
            )));
        }
        ([address], Some(port)) => (Some(address.clone()), port),
        ([address, port], None) => (Some(address.clone()), port),
        ([_, second], Some(port)) => {
            return Err(usage(&format!(
                "more than one port to listen on: -p {port} and {second}"
            )));
        }
        ([_, _, extra, ..], _) => return Err(usage(&format!("unexpected operand '{extra}'"))),
    };
    let address = match (address, matches.opt_str("s")) {
        (Some(_), Some(_)) => return Err(usage("-s and an address operand both given")),
        (address, source) => address.or(source),
    };
    Ok(Mode::Listen {
        address,
        port: parse_port(port, true)?,
        keep_open,
        map_port,
    })
}

/// `--map-port PORT`: a port on the router (1 to 65535, or a service name); the routers'
/// protocols map IPv4 ports only.
fn map_port_option(matches: &getopts::Matches) -> Result<Option<u16>, Error> {
    let Some(text) = matches.opt_str("map-port") else {
        return Ok(None);
    };
    if matches.opt_present("6") {
        return Err(usage(
            "--map-port asks the IPv4 home router for a port, so it does not work with -6",
        ));
    }
    match parse_port(&text, false) {
        Ok(port) => Ok(Some(port)),
        Err(Error::Usage(why)) => Err(usage(&format!(
            "--map-port {why} (the port the partner connects to on the router)"
        ))),
        Err(err) => Err(err),
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `first-last` with both numbers, as `-z` takes them.
fn split_range(text: &str) -> Option<(&str, &str)> {
    text.split_once('-')
        .filter(|(first, last)| is_number(first) && is_number(last))
}

/// A port: a number (0 only when `zero_allowed`, for `-l 0`) or a service name.
fn parse_port(text: &str, zero_allowed: bool) -> Result<u16, Error> {
    if split_range(text).is_some() {
        return Err(usage(&format!(
            "port range '{text}': ranges only work with -z"
        )));
    }
    let lowest = if zero_allowed { 0 } else { 1 };
    if is_number(text) {
        return match text.parse::<u16>() {
            Ok(port) if port >= lowest => Ok(port),
            _ => Err(usage(&format!(
                "invalid port '{text}': must be a number from {lowest} to 65535"
            ))),
        };
    }
    let services = std::fs::read_to_string(SERVICES).unwrap_or_default();
    service_port(&services, text).ok_or_else(|| {
        usage(&format!(
            "unknown port '{text}': neither a number from {lowest} to 65535 nor a TCP \
             service in {SERVICES}"
        ))
    })
}

/// `-z`'s ports: one port, or `first-last`.
fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, Error> {
    let Some((first, last)) = split_range(text) else {
        let port = parse_port(text, false)?;
        return Ok(port..=port);
    };
    let (first, last) = (parse_port(first, false)?, parse_port(last, false)?);
    if first > last {
        return Err(usage(&format!(
            "port range '{text}': the first port is above the last"
        )));
    }
    Ok(first..=last)
}

/// The system's list of service names (from the netbase package on Debian).
const SERVICES: &str = "/etc/services";

/// The TCP port of service `name` (or one of its aliases) in the text of `/etc/services`,
/// whose lines read `name port/protocol [aliases...] [# comment]`.
fn service_port(services: &str, name: &str) -> Option<u16> {
    services.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let official = words.next()?;
        let (port, protocol) = words.next()?.split_once('/')?;
        let named = official == name || words.any(|alias| alias == name);
        (named && protocol == "tcp")
            .then(|| port.parse().ok())
            .flatten()
    })
}

/// The longest `-w`, `-i` or `-q` accepted: about 31 years, far beyond any use, and small
/// enough that a deadline computed from it cannot overflow.
const MAX_SECONDS: f64 = 1e9;

/// Whole or fractional seconds, more than zero and at most [`MAX_SECONDS`].
fn parse_seconds(option: &str, text: &str) -> Result<Duration, Error> {
    text.parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0 && *secs <= MAX_SECONDS)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| {
            usage(&format!(
                "invalid {option} value '{text}': must be a number of seconds above zero \
                 and at most {MAX_SECONDS}"
            ))
        })
}

/// `-q` as Debian's nc reads it: 0 quits at once, a negative value waits for ever (`None`).
fn parse_quit_after_eof(text: &str) -> Result<Option<Duration>, Error> {
    match text.parse::<f64>() {
        Ok(secs) if secs < 0.0 => Ok(None),
        Ok(0.0) => Ok(Some(Duration::ZERO)),
        Ok(secs) if secs > 0.0 => parse_seconds("-q", text).map(Some),
        _ => Err(usage(&format!(
            "invalid -q value '{text}': must be a number of seconds (0: at once; negative: \
             wait for the peer)"
        ))),
    }
}

fn usage(message: &str) -> Error {
    Error::Usage(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str], env_password: Option<&str>) -> Result<Command, Error> {
        let env = Environment {
            password: env_password.map(|p| Password::from(p.as_bytes())),
            proxy_auth: None,
        };
        parse(args, env)
    }

    fn run(args: &[&str]) -> Result<Config, Error> {
        match parse_args(args, None)? {
            Command::Run(config) => Ok(config),
            other => panic!("expected a run, got {other:?}"),
        }
    }

    fn probe_of(args: &[&str], env_password: Option<&str>) -> Result<Probe, Error> {
        match parse_args(args, env_password)? {
            Command::Probe(probe) => Ok(probe),
            other => panic!("expected a probe, got {other:?}"),
        }
    }

    /// The message of the usage error `args` give.
    #[track_caller]
    fn usage_message(args: &[&str]) -> String {
        match parse_args(args, None) {
            Err(Error::Usage(message)) => message,
            other => panic!("{args:?}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn listen_forms_agree() {
        let expected = Mode::Listen {
            address: None,
            port: 9000,
            keep_open: false,
            map_port: None,
        };
        assert_eq!(run(&["-l", "9000"]).unwrap().mode, expected);
        assert_eq!(run(&["-l", "-p", "9000"]).unwrap().mode, expected);
        let on_loopback = Mode::Listen {
            address: Some("::1".into()),
            port: 9000,
            keep_open: true,
            map_port: None,
        };
        assert_eq!(run(&["-k", "-l", "::1", "9000"]).unwrap().mode, on_loopback);
        assert_eq!(
            run(&["-k", "-l", "-s", "::1", "-p", "9000"]).unwrap().mode,
            on_loopback
        );
        assert!(run(&["-k", "-l", "9000"]).unwrap().keep_open());
    }

    #[test]
    fn connect_takes_its_source() {
        let config = run(&["-s", "127.0.0.1", "-p", "4000", "h", "80"]).unwrap();
        assert_eq!(
            config.mode,
            Mode::Connect {
                host: "h".into(),
                port: 80,
                source: Source {
                    address: Some("127.0.0.1".into()),
                    port: Some(4000),
                },
                proxy: None,
            }
        );
        assert!(!config.keep_open());
    }

    #[test]
    fn listen_on_port_zero_lets_the_system_pick() {
        let config = run(&["-l", "0"]).unwrap();
        assert!(matches!(config.mode, Mode::Listen { port: 0, .. }));
        assert!(usage_message(&["h", "0"]).contains("from 1 to 65535"));
    }

    #[test]
    fn a_second_number_is_a_second_port_not_an_address() {
        for args in [
            &["-l", "-p", "52282", "52283"][..],
            &["-l", "-p", "1", "h", "2"],
        ] {
            assert!(
                usage_message(args).contains("more than one port"),
                "{args:?}"
            );
        }
        // A name is still the address to listen on.
        let config = run(&["-l", "-p", "52282", "localhost"]).unwrap();
        assert_eq!(
            config.mode,
            Mode::Listen {
                address: Some("localhost".into()),
                port: 52282,
                keep_open: false,
                map_port: None,
            }
        );
    }

    /// `--map-port PORT` is the router's port; the port to listen on is the operand or `-p`
    /// (0: the system's pick), and PORT itself when neither is given.
    #[test]
    fn map_port_is_the_routers_port_and_the_listening_port_by_default() {
        let listen = |port, map_port, keep_open| Mode::Listen {
            address: None,
            port,
            keep_open,
            map_port,
        };
        let cases = [
            (
                &["-l", "--map-port", "51423"][..],
                listen(51423, Some(51423), false),
            ),
            (
                &["-k", "-l", "--map-port=51423"],
                listen(51423, Some(51423), true),
            ),
            (
                &["-l", "0", "--map-port", "51423"],
                listen(0, Some(51423), false),
            ),
            (
                &["-l", "-p", "5000", "--map-port", "51423"],
                listen(5000, Some(51423), false),
            ),
        ];
        for (args, mode) in cases {
            assert_eq!(run(args).unwrap().mode, mode, "{args:?}");
        }
        assert!(matches!(
            run(&["-P", "-l", "--map-port", "51423"]).unwrap().password,
            PasswordSource::Prompt
        ));
        for (args, said) in [
            (&["--map-port", "51423", "h", "1"][..], "only works with -l"),
            (&["-l", "--map-port", "0"], "--map-port invalid port '0'"),
            (
                &["-l", "--map-port", "65536"],
                "the port the partner connects to",
            ),
            (
                &["-l", "--map-port", "no-such-service"],
                "--map-port unknown port",
            ),
            (
                &["-6", "-l", "--map-port", "51423"],
                "does not work with -6",
            ),
            (
                &["-l", "--map-port", "1", "--map-port", "2"],
                "given more than once",
            ),
            (
                &["-z", "--map-port", "1", "h", "1"],
                "--map-port has no meaning",
            ),
            (&["-l", "--map-port"], "--map-port needs a value"),
        ] {
            let message = usage_message(args);
            assert!(message.contains(said), "{args:?}: {message}");
        }
    }

    #[test]
    fn services_are_looked_up_by_name_and_alias() {
        let services = "# comment\n\
                        ftp\t\t21/tcp\n\
                        http\t\t80/tcp\t\twww\t# WorldWideWeb HTTP\n\
                        domain\t\t53/udp\n\
                        domain\t\t53/tcp\n\
                        \n\
                        kerberos-adm\t749/tcp\n";
        assert_eq!(service_port(services, "http"), Some(80));
        assert_eq!(service_port(services, "www"), Some(80));
        assert_eq!(service_port(services, "domain"), Some(53));
        assert_eq!(service_port(services, "kerberos-adm"), Some(749));
        assert_eq!(service_port(services, "WorldWideWeb"), None);
        assert_eq!(service_port(services, "gopher"), None);
        assert_eq!(service_port(services, "21/tcp"), None);
    }

    #[test]
    fn unknown_service_is_a_usage_error() {
        let message = usage_message(&["h", "no-such-service"]);
        assert!(
            message.contains("unknown port 'no-such-service'"),
            "{message}"
        );
    }

    #[test]
    fn ranges_only_for_probes() {
        let probe = probe_of(&["-z", "h", "20-25"], None).unwrap();
        assert_eq!(probe.ports, 20..=25);
        assert_eq!(probe_of(&["-z", "h", "22"], None).unwrap().ports, 22..=22);
        assert!(usage_message(&["h", "20-25"]).contains("only work with -z"));
        assert!(usage_message(&["-z", "h", "25-20"]).contains("above the last"));
        assert!(usage_message(&["-z", "h", "0-20"]).contains("from 1 to 65535"));
        assert!(usage_message(&["-z", "h", "20-70000"]).contains("70000"));
    }

    #[test]
    fn probe_keeps_what_probing_needs() {
        let probe = probe_of(
            &[
                "-z",
                "-v",
                "-n",
                "-4",
                "-w",
                "2",
                "-s",
                "127.0.0.1",
                "-p",
                "5000",
                "h",
                "1-2",
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            probe,
            Probe {
                host: "h".into(),
                ports: 1..=2,
                source: Source {
                    address: Some("127.0.0.1".into()),
                    port: Some(5000)
                },
                family: Family::V4,
                numeric: true,
                verbose: true,
                wait: Some(Duration::from_secs(2)),
            }
        );
    }

    #[test]
    fn probe_ignores_an_exported_password_but_refuses_an_explicit_one() {
        assert!(probe_of(&["-z", "h", "1"], Some("secret")).is_ok());
        assert!(probe_of(&["-z", "h", "1"], Some("")).is_ok());
        for args in [
            &["-z", "-P", "h", "1"][..],
            &["-z", "--password-file", "f", "h", "1"],
        ] {
            assert!(usage_message(args).contains("no password"), "{args:?}");
        }
    }

    #[test]
    fn probe_refuses_session_options() {
        for (option, name) in [
            (&["-k"][..], "-k"),
            (&["-i", "1"], "-i"),
            (&["-q", "1"], "-q"),
            (&["-d"], "-d"),
            (&["--send-only"], "--send-only"),
            (&["--no-shutdown"], "--no-shutdown"),
            (&["-C"], "-C"),
            (&["--no-chat"], "--no-chat"),
        ] {
            let mut args = vec!["-z"];
            args.extend_from_slice(option);
            args.extend_from_slice(&["h", "1"]);
            let message = usage_message(&args);
            assert!(message.contains(name), "{args:?}: {message}");
        }
        assert!(usage_message(&["-z", "-l", "1"]).contains("-z"));
    }

    #[test]
    fn empty_environment_password_is_a_usage_error() {
        let message = match parse_args(&["h", "1"], Some("")) {
            Err(Error::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert!(
            message.contains("TETE_PASSWORD is set but empty"),
            "{message}"
        );
        // An explicit source makes the environment irrelevant.
        let Ok(Command::Run(config)) = parse_args(&["-P", "h", "1"], Some("")) else {
            panic!("expected a run");
        };
        assert_eq!(config.password, PasswordSource::Prompt);
        let Ok(Command::Run(config)) = parse_args(&["h", "1"], Some("pw")) else {
            panic!("expected a run");
        };
        assert_eq!(
            config.password,
            PasswordSource::Environment(Password::from(&b"pw"[..]))
        );
        // --help needs no password at all.
        assert_eq!(parse_args(&["--help"], Some("")), Ok(Command::Help));
    }

    #[test]
    fn n_is_openbsds_shutdown_after_eof_and_no_shutdown_is_long_only() {
        assert!(run(&["-N", "h", "1"]).unwrap().half_close);
        assert!(run(&["h", "1"]).unwrap().half_close);
        assert!(!run(&["--no-shutdown", "h", "1"]).unwrap().half_close);
    }

    #[test]
    fn chat_mode_is_on_unless_turned_off() {
        assert!(run(&["h", "1"]).unwrap().chat);
        assert!(!run(&["--no-chat", "h", "1"]).unwrap().chat);
        assert!(!run(&["--no-chat", "-l", "1"]).unwrap().chat);
    }

    #[test]
    fn direction_is_one_setting() {
        assert_eq!(run(&["h", "1"]).unwrap().direction, Direction::Both);
        assert_eq!(
            run(&["-d", "h", "1"]).unwrap().direction,
            Direction::ReceiveOnly
        );
        assert_eq!(
            run(&["--send-only", "h", "1"]).unwrap().direction,
            Direction::SendOnly
        );
        assert!(usage_message(&["-d", "--send-only", "h", "1"]).contains("--send-only"));
    }

    #[test]
    fn n_and_no_shutdown_contradict() {
        assert!(matches!(
            run(&["-N", "--no-shutdown", "h", "1"]),
            Err(Error::Usage(_))
        ));
        assert!(run(&["-N", "h", "1"]).unwrap().half_close);
    }

    #[test]
    fn quit_after_eof_as_debian_reads_it() {
        let quit = |value: &str| run(&["-q", value, "h", "1"]).map(|c| c.quit_after_eof);
        assert_eq!(quit("0"), Ok(Some(Duration::ZERO)));
        assert_eq!(quit("1"), Ok(Some(Duration::from_secs(1))));
        assert_eq!(quit("0.25"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(quit("-1"), Ok(None));
        assert_eq!(run(&["h", "1"]).unwrap().quit_after_eof, None);
        for bad in ["soon", "NaN", "inf", "1e19"] {
            assert!(matches!(quit(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn other_netcats_options_name_the_tool_that_has_them() {
        for (args, tool) in [
            (&["-u", "h", "1"][..], "socat"),
            (&["-uv", "h", "1"], "socat"),
            (&["--udp", "h", "1"], "socat"),
            (&["-U", "/tmp/s"], "ncat -U"),
            (&["-e", "/bin/sh", "h", "1"], "ncat -e"),
            (&["-c", "ls", "h", "1"], "ncat -e"),
            (&["-t", "h", "1"], "ncat -t"),
            (&["-T", "lowdelay", "h", "1"], "OpenBSD nc"),
            (&["--proxy-auth", "u:p", "h", "1"], "TETE_PROXY_AUTH"),
            (&["-b", "h", "1"], "socat"),
            (&["-F", "h", "1"], "nc -F"),
            (&["-I", "4096", "h", "1"], "nc -I/-O"),
            (&["-O", "4096", "h", "1"], "nc -I/-O"),
            (&["-r", "-z", "h", "1-2"], "nc -r"),
            (&["-S", "h", "1"], "OpenBSD nc"),
            (&["-M", "5", "h", "1"], "OpenBSD nc"),
            (&["-m", "5", "h", "1"], "OpenBSD nc"),
            (&["--ssl", "h", "1"], "ncat --ssl"),
        ] {
            let message = usage_message(args);
            assert!(
                message.contains(tool) && message.starts_with(&format!("-{}", &args[0][1..2])),
                "{args:?}: {message}"
            );
        }
        assert_eq!(usage_message(&["-j", "h", "1"]), "unknown option -j");
    }

    #[test]
    fn proxy_as_openbsd_nc_reads_it() {
        let proxy_of = |args: &[&str], auth: Option<&str>| {
            let env = Environment {
                password: None,
                proxy_auth: auth.map(|a| a.as_bytes().to_vec()),
            };
            match parse(args, env) {
                Ok(Command::Run(Config {
                    mode: Mode::Connect { proxy, .. },
                    ..
                })) => Ok(proxy),
                Ok(other) => panic!("{args:?}: expected a connection, got {other:?}"),
                Err(err) => Err(err),
            }
        };
        let proxy = proxy_of(&["-x", "127.0.0.1", "h", "22"], None)
            .unwrap()
            .unwrap();
        assert_eq!(proxy.to_string(), "SOCKS5 proxy 127.0.0.1:1080");
        assert_eq!(proxy.credentials, None);
        let proxy = proxy_of(&["-X", "connect", "-x", "p:8080", "h", "22"], Some("u:a:b"))
            .unwrap()
            .unwrap();
        assert_eq!(proxy.to_string(), "HTTP proxy p:8080");
        assert_eq!(
            proxy.credentials,
            Some(Credentials::parse(b"u:a:b").unwrap())
        );
        let proxy = proxy_of(&["--proxy-type", "4", "--proxy", "[::1]", "h", "22"], None)
            .unwrap()
            .unwrap();
        assert_eq!(proxy.to_string(), "SOCKS4 proxy [::1]:1080");
        // The credentials matter only with a proxy.
        assert_eq!(proxy_of(&["h", "22"], Some("nonsense")), Ok(None));
        for (args, auth, says) in [
            (
                &["-x", "p", "h", "22"][..],
                Some("no-colon"),
                "TETE_PROXY_AUTH",
            ),
            (&["-x", "p", "h", "22"], Some(""), "TETE_PROXY_AUTH"),
            (&["-X", "5", "h", "22"], None, "-X needs -x"),
            (
                &["-X", "6", "-x", "p", "h", "22"],
                None,
                "must be 4, 5 or connect",
            ),
            (&["-x", "p:0", "h", "22"], None, "invalid proxy port"),
        ] {
            match proxy_of(args, auth) {
                Err(Error::Usage(message)) => assert!(message.contains(says), "{message}"),
                other => panic!("{args:?}: expected a usage error, got {other:?}"),
            }
        }
        assert!(usage_message(&["-l", "-x", "p", "1"]).contains("not with -l"));
        assert!(usage_message(&["-z", "-x", "p", "h", "1"]).contains("not through a proxy"));
        assert!(usage_message(&["-z", "--progress", "h", "1"]).contains("--progress"));
        assert!(run(&["--progress", "h", "1"]).unwrap().progress);
        assert!(run(&["--progress", "-l", "1"]).unwrap().progress);
        assert!(!run(&["h", "1"]).unwrap().progress);
    }

    #[test]
    fn getopts_failures_in_our_words() {
        assert_eq!(usage_message(&["h", "1", "-w"]), "-w needs a value");
        assert_eq!(
            usage_message(&["-w", "1", "-w", "2", "h", "1"]),
            "--wait given more than once"
        );
        assert_eq!(
            usage_message(&["--listen=yes", "1"]),
            "--listen takes no value"
        );
    }

    #[test]
    fn completions_name_a_shell() {
        assert_eq!(
            parse_args(&["--completions", "fish"], None),
            Ok(Command::Completions(Shell::Fish))
        );
        assert!(usage_message(&["--completions", "tcsh"]).contains("bash, zsh or fish"));
    }

    #[test]
    fn fractional_seconds() {
        let config = run(&["-w", "0.5", "-i", "2", "h", "1"]).unwrap();
        assert_eq!(config.wait, Some(Duration::from_millis(500)));
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["-w", "soon", "h", "1"][..],
            &["-i", "-3", "h", "1"],
            &["-w", "0", "h", "1"],
            &["-w", "NaN", "h", "1"],
            &["-w", "1e19", "h", "1"],
            &["-i", "inf", "h", "1"],
            &["-k", "h", "1"],
            &["-l", "-z", "1"],
            &["h", "65536"],
            &["-4", "-6", "h", "1"],
            &["-P", "--password-file", "f", "h", "1"],
            &["-l", "-s", "a", "b", "1"],
        ] {
            assert!(matches!(run(args), Err(Error::Usage(_))), "{args:?}");
        }
    }

    #[test]
    fn every_message_is_lower_case() {
        for args in [
            &["-u"][..],
            &["-j"],
            &["-w"],
            &["h", "x-y-z"],
            &["-l"],
            &["h"],
            &["h", "1", "2"],
        ] {
            let message = usage_message(args);
            assert!(
                !message.starts_with(|c: char| c.is_ascii_uppercase()),
                "{args:?}: {message}"
            );
        }
    }
}
