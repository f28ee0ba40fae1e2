//! The command line: the one option table, and the one place where arguments are checked.
//!
//! Raw arguments become validated types here, once, at the edge (as ripgrep does): a
//! [`Command`] whose shapes cannot hold a forbidden combination. `-k` lives inside the listen
//! [`Mode`], `-d` and `--send-only` are one [`Direction`], and `-z` is a [`Probe`] of its own that
//! has no room for a password or a session option. Everything a user can get wrong is reported
//! as [`Error::Usage`] (exit status 2), so the rest of the program never checks again.
//!
//! The same table (`table::OPTION_GROUPS`) drives the parser, `--help` and the shell completions, so
//! none of them can drift from the others.
//!
//! The rooms: [`table`] (the option table, `--help`, getopts' failures in tete's words),
//! [`values`] (ports, `-z`'s port lists, seconds, service names), and this file, which turns
//! the matches into a [`Command`].

mod table;
mod values;

use std::ffi::OsStr;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::address::{Family, Source};
use crate::error::Error;
use crate::password::{self, Password, PasswordSource};
use crate::portmap;
use crate::proxy::{self, Credentials, Proxy};
use crate::secure::CipherChoice;

pub use table::help;
pub(crate) use table::{OptionSpec, SHELLS, all_options};
use table::{make_opts, option_failure, shell_named};
pub use values::Shutdown;
use values::{
    is_number, listen_operands, parse_map_port, parse_peer_timeout, parse_port, parse_port_list,
    parse_quit_after_eof, parse_seconds, parse_shutdown,
};

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
    /// `--peer-timeout`: how long silence may last (see the option's help); `None` (0): never.
    pub peer_timeout: Option<Duration>,
    /// `-q`: after stdin's end, quit this long afterwards (`Some(ZERO)`: at once); `None`
    /// (no `-q`, or a negative value): the end-of-session rules alone decide.
    pub quit_after_eof: Option<Duration>,
    pub direction: Direction,
    /// When our end of stream goes out as a FIN: held (the default), `-N`, `--no-shutdown`.
    pub shutdown: Shutdown,
    /// `-C`: send each LF from stdin as CR LF.
    pub crlf: bool,
    /// Chat mode where the standard streams allow it; false with `--no-chat`.
    pub chat: bool,
    pub password: PasswordSource,
    /// The ciphers the password mode offers (from the environment: for tests only).
    pub cipher: CipherChoice,
    /// The lifetime `--map-port` asks the router for, in seconds, if not the default (from
    /// the environment: for tests only).
    pub map_lifetime: Option<u32>,
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
    /// The ports in the order given: each a port, or a range (`20-25`).
    pub ports: Vec<RangeInclusive<u16>>,
    pub source: Source,
    pub family: Family,
    pub numeric: bool,
    pub verbose: bool,
    /// `-w`: how long each port may take to answer.
    pub wait: Option<Duration>,
}

/// The environment variable that makes the password mode offer ChaCha20-Poly1305 only, for
/// testing (the mixed pair, the benchmark): `TETE_TEST_CIPHER=chacha20-poly1305`.
const TEST_CIPHER_VARIABLE: &str = "TETE_TEST_CIPHER";

/// What tete takes from the environment, read at the edge ([`Environment::take`]), so that
/// parsing and everything after it stay pure.
#[derive(Default)]
pub struct Environment {
    /// `TETE_PASSWORD`.
    pub password: Option<Password>,
    /// `TETE_PROXY_AUTH` ([`proxy::AUTH_VARIABLE`]): `user:password` for the proxy.
    pub proxy_auth: Option<Vec<u8>>,
    /// `TETE_TEST_CIPHER` ([`TEST_CIPHER_VARIABLE`]).
    pub cipher: CipherChoice,
    /// `TETE_TEST_MAP_LIFETIME` ([`portmap::TEST_LIFETIME_VARIABLE`]).
    pub map_lifetime: Option<u32>,
}

impl Environment {
    /// Reads what tete uses of the environment; both secrets leave the environment block (and
    /// `/proc/PID/environ`) at once. Call once, first thing, while tete is the only thread.
    pub fn take() -> Environment {
        Environment {
            password: password::take_from_environment(),
            proxy_auth: crate::sys::take_environment_variable(proxy::AUTH_VARIABLE)
                .map(|value| value.to_vec()),
            cipher: cipher_choice(std::env::var_os(TEST_CIPHER_VARIABLE).as_deref()),
            map_lifetime: portmap::test_lifetime(
                std::env::var_os(portmap::TEST_LIFETIME_VARIABLE).as_deref(),
            ),
        }
    }
}

/// The ciphers [`TEST_CIPHER_VARIABLE`]'s `value` asks for; anything but
/// `chacha20-poly1305` leaves the choice to the CPU.
fn cipher_choice(value: Option<&OsStr>) -> CipherChoice {
    match value {
        Some(value) if value == "chacha20-poly1305" => CipherChoice::ChaCha20Poly1305,
        _ => CipherChoice::Fastest,
    }
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
    ("peer-timeout", "--peer-timeout"),
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
        // Several ports, as nc -z takes them: `-z host 20-25 80 443`.
        [host, ports @ ..] => (host.clone(), parse_port_list(ports)?),
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
        peer_timeout: parse_peer_timeout(matches.opt_str("peer-timeout"))?,
        quit_after_eof: matches
            .opt_str("q")
            .map(|text| parse_quit_after_eof(&text))
            .transpose()?
            .flatten(),
        direction,
        shutdown: parse_shutdown(matches.opt_present("N"), matches.opt_present("no-shutdown"))?,
        crlf: matches.opt_present("C"),
        chat: !matches.opt_present("no-chat"),
        password,
        cipher: env.cipher,
        map_lifetime: env.map_lifetime,
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
    let map_text = map_port.map(|port| port.to_string());
    let port_option = matches.opt_str("p");
    let operands = listen_operands(&matches.free, port_option.is_some(), map_text.as_ref());
    let (address, port) = match (operands.as_slice(), &port_option) {
        ([], None) => return Err(usage("missing port to listen on")),
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
    parse_map_port(&text).map(Some)
}

pub(super) fn usage(message: &str) -> Error {
    Error::Usage(message.to_string())
}

#[cfg(test)]
mod tests;
