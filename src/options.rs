//! The command line: the getopts table, and the one place where arguments are checked.
//!
//! Everything a user can get wrong on the command line is caught here and reported as
//! [`Error::Usage`] (exit status 2), so the rest of the program works with values that are
//! already known to be well formed.

use std::ffi::OsStr;
use std::time::Duration;

use getopts::Options;

use crate::error::Error;
use crate::password::Password;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Run(Config),
}

/// Which end of the connection tete is.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Connect to `host` on `port`.
    Connect { host: String, port: u16 },
    /// Listen on `port`, on `address` or on every address when `None`.
    Listen { address: Option<String>, port: u16 },
}

/// Which address families to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

/// Where the room password comes from, if anywhere.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    /// `-P`: ask on the controlling terminal.
    Prompt,
    /// `--password-file FILE`: the file's first line.
    File(String),
    /// `TETE_PASSWORD`, taken from the environment by the caller.
    Environment(Password),
}

/// A validated run: every field is within range.
#[derive(Debug, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    /// Connect mode: the local port to bind before connecting (`-p`).
    pub source_port: Option<u16>,
    /// Connect mode: the local address to bind before connecting (`-s`).
    pub source_address: Option<String>,
    pub family: Family,
    pub numeric: bool,
    pub verbose: bool,
    /// `-z`: only report whether the port accepts.
    pub zero_io: bool,
    /// `-w`: how long to wait for a connection (either mode) or a handshake.
    pub wait: Option<Duration>,
    /// `-i`: end the session when nothing moves for this long.
    pub idle_timeout: Option<Duration>,
    /// `-k`: serve peers one after another.
    pub keep_open: bool,
    /// `-C`: send each LF from stdin as CR LF.
    pub crlf: bool,
    /// `-d`: never read stdin.
    pub recv_only: bool,
    /// `--send-only`: discard what the peer sends.
    pub send_only: bool,
    /// `-N`: never half-close the socket.
    pub no_shutdown: bool,
    pub password: PasswordSource,
}

/// The usage lines shown by `--help`.
const USAGE: &str = "Usage: tete [options] host port\n       tete -l [options] [address] port";

/// One option: short name, long name, value hint (empty for a flag), description.
type Spec = (&'static str, &'static str, &'static str, &'static str);

/// Every option, in the groups `--help` and the man page share. The one table behind both the
/// parser and the help text, so the two cannot drift apart.
const OPTION_GROUPS: &[(&str, &[Spec])] = &[
    (
        "Connecting and listening",
        &[
            (
                "l",
                "listen",
                "",
                "listen for one peer instead of connecting",
            ),
            (
                "p",
                "source-port",
                "PORT",
                "connect: bind this local port; listen: the port",
            ),
            (
                "s",
                "source",
                "ADDR",
                "connect: bind this local address; listen: the address",
            ),
            ("4", "", "", "use IPv4 only"),
            ("6", "", "", "use IPv6 only"),
            (
                "n",
                "numeric",
                "",
                "numeric addresses only, no name lookups",
            ),
            (
                "w",
                "wait",
                "SECS",
                "give up connecting, or waiting for a peer, after SECS",
            ),
            (
                "z",
                "zero",
                "",
                "only report (exit status) whether the port accepts",
            ),
        ],
    ),
    (
        "The session",
        &[
            (
                "k",
                "keep-open",
                "",
                "listen: serve peers one after another",
            ),
            (
                "i",
                "idle-timeout",
                "SECS",
                "end the session after SECS with nothing moving",
            ),
            (
                "N",
                "no-shutdown",
                "",
                "do not half-close the socket when stdin ends",
            ),
            ("d", "recv-only", "", "never read stdin"),
            ("", "send-only", "", "discard what the peer sends"),
            ("C", "crlf", "", "send each LF from stdin as CR LF"),
        ],
    ),
    (
        "Room password",
        &[
            ("P", "password", "", "ask for the password on the terminal"),
            (
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
            ("v", "verbose", "", "report connections on stderr"),
            ("h", "help", "", "print this help and exit"),
            ("V", "version", "", "print the version and exit"),
        ],
    ),
];

fn make_opts() -> Options {
    let mut opts = Options::new();
    for (_, specs) in OPTION_GROUPS {
        for &(short, long, hint, description) in *specs {
            if hint.is_empty() {
                opts.optflag(short, long, description);
            } else {
                opts.optopt(short, long, description, hint);
            }
        }
    }
    opts
}

/// The text of `--help`: the options grouped as in the man page.
pub fn help() -> String {
    let mut text = format!("tete: join stdin and stdout to one TCP connection\n\n{USAGE}\n");
    for (title, specs) in OPTION_GROUPS {
        text.push_str(&format!("\n{title}:\n"));
        for &(short, long, hint, description) in *specs {
            let short = if short.is_empty() {
                "    ".to_string()
            } else {
                format!("-{short}, ")
            };
            let long = if long.is_empty() {
                String::new()
            } else {
                format!("--{long} {hint}")
            };
            let names = format!("{short}{long}")
                .trim_end_matches([' ', ','])
                .to_string();
            text.push_str(&format!("  {names:<26}{description}\n"));
        }
    }
    text.push_str(
        "\nEnvironment: TETE_PASSWORD sets the room password (empty: none).\n\
         Exit status: 0 normal end, 1 runtime failure, 2 usage error, 3 secure channel failure.\n\
         See tete(1) for the details.\n",
    );
    text
}

/// Parses the arguments after the program name. `env_password` is `TETE_PASSWORD`'s value.
pub fn parse<S: AsRef<OsStr>>(
    args: &[S],
    env_password: Option<Password>,
) -> Result<Command, Error> {
    let matches = make_opts()
        .parse(args)
        .map_err(|err| Error::Usage(err.to_string()))?;
    if matches.opt_present("h") {
        return Ok(Command::Help);
    }
    if matches.opt_present("V") {
        return Ok(Command::Version);
    }

    let listen = matches.opt_present("l");
    let source_port = matches.opt_str("p").map(|p| parse_port(&p)).transpose()?;
    let source_address = matches.opt_str("s");
    let free = &matches.free;
    let mode = if listen {
        listen_mode(free, source_address.clone(), source_port)?
    } else {
        connect_mode(free)?
    };
    let family = match (matches.opt_present("4"), matches.opt_present("6")) {
        (true, true) => return Err(usage("-4 and -6 cannot be used together")),
        (true, false) => Family::V4,
        (false, true) => Family::V6,
        (false, false) => Family::Any,
    };

    let zero_io = matches.opt_present("z");
    let keep_open = matches.opt_present("k");
    let recv_only = matches.opt_present("d");
    let send_only = matches.opt_present("send-only");
    if zero_io && listen {
        return Err(usage("-z only works when connecting, not with -l"));
    }
    if keep_open && !listen {
        return Err(usage("-k only works with -l"));
    }
    if recv_only && send_only {
        return Err(usage("-d and --send-only cannot be used together"));
    }

    let password = match (matches.opt_present("P"), matches.opt_str("password-file")) {
        (true, Some(_)) => return Err(usage("-P and --password-file cannot be used together")),
        (true, None) => PasswordSource::Prompt,
        (false, Some(file)) => PasswordSource::File(file),
        (false, None) => match env_password {
            Some(value) if !value.is_empty() => PasswordSource::Environment(value),
            _ => PasswordSource::None,
        },
    };
    if zero_io && password != PasswordSource::None {
        return Err(usage("-z sends nothing, so it takes no password"));
    }

    Ok(Command::Run(Config {
        mode,
        // In listen mode -p and -s name the listening address, already folded into `mode`.
        source_port: source_port.filter(|_| !listen),
        source_address: source_address.filter(|_| !listen),
        family,
        numeric: matches.opt_present("n"),
        verbose: matches.opt_present("v"),
        zero_io,
        wait: matches
            .opt_str("w")
            .map(|s| parse_seconds("-w", &s))
            .transpose()?,
        idle_timeout: matches
            .opt_str("i")
            .map(|s| parse_seconds("-i", &s))
            .transpose()?,
        keep_open,
        crlf: matches.opt_present("C"),
        recv_only,
        send_only,
        no_shutdown: matches.opt_present("N"),
        password,
    }))
}

fn connect_mode(free: &[String]) -> Result<Mode, Error> {
    match free {
        [] => Err(usage("missing host and port")),
        [_] => Err(usage("missing port")),
        [host, port] => Ok(Mode::Connect {
            host: host.clone(),
            port: parse_port(port)?,
        }),
        [_, _, extra, ..] => Err(usage(&format!("unexpected operand '{extra}'"))),
    }
}

/// `-l port`, `-l address port`, `-l -p port` and `-l -s address -p port` all mean the same thing.
fn listen_mode(
    free: &[String],
    source_address: Option<String>,
    source_port: Option<u16>,
) -> Result<Mode, Error> {
    let (address, port) = match (free, source_port) {
        ([], None) => return Err(usage("missing port to listen on")),
        ([], Some(port)) => (None, port),
        ([port], None) => (None, parse_port(port)?),
        ([address], Some(port)) => (Some(address.clone()), port),
        ([address, port], None) => (Some(address.clone()), parse_port(port)?),
        ([_, _], Some(_)) => return Err(usage("-p and a port operand both given")),
        ([_, _, extra, ..], _) => return Err(usage(&format!("unexpected operand '{extra}'"))),
    };
    let address = match (address, source_address) {
        (Some(_), Some(_)) => return Err(usage("-s and an address operand both given")),
        (address, source) => address.or(source),
    };
    Ok(Mode::Listen { address, port })
}

fn parse_port(text: &str) -> Result<u16, Error> {
    match text.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(usage(&format!(
            "invalid port '{text}': must be a number from 1 to 65535"
        ))),
    }
}

/// The longest `-w` or `-i` accepted: about 31 years, far beyond any use, and small enough
/// that a deadline computed from it cannot overflow.
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

fn usage(message: &str) -> Error {
    Error::Usage(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, Error> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match parse(&args, None)? {
            Command::Run(config) => Ok(config),
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn listen_forms_agree() {
        let expected = Mode::Listen {
            address: None,
            port: 9000,
        };
        assert_eq!(run(&["-l", "9000"]).unwrap().mode, expected);
        assert_eq!(run(&["-l", "-p", "9000"]).unwrap().mode, expected);
        let on_loopback = Mode::Listen {
            address: Some("::1".into()),
            port: 9000,
        };
        assert_eq!(run(&["-l", "::1", "9000"]).unwrap().mode, on_loopback);
        assert_eq!(
            run(&["-l", "-s", "::1", "-p", "9000"]).unwrap().mode,
            on_loopback
        );
    }

    #[test]
    fn fractional_seconds() {
        let config = run(&["-w", "0.5", "-i", "2", "h", "1"]).unwrap();
        assert_eq!(config.wait, Some(Duration::from_millis(500)));
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn empty_environment_password_means_none() {
        let args = vec!["h".to_string(), "1".to_string()];
        let Ok(Command::Run(config)) = parse(&args, Some(Password::from(&b""[..]))) else {
            panic!("expected a run");
        };
        assert_eq!(config.password, PasswordSource::None);
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
        ] {
            assert!(matches!(run(args), Err(Error::Usage(_))), "{args:?}");
        }
    }
}
