//! The values options and operands take: ports (numbers or service names), `-z`'s port lists
//! and ranges, seconds, and when our end of stream goes out (`-N`, `--no-shutdown`).

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::usage;
use crate::error::Error;

pub(super) fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `first-last` with both numbers, as `-z` takes them.
fn split_range(text: &str) -> Option<(&str, &str)> {
    text.split_once('-')
        .filter(|(first, last)| is_number(first) && is_number(last))
}

/// A port: a number (0 only when `zero_allowed`, for `-l 0`) or a service name.
pub(super) fn parse_port(text: &str, zero_allowed: bool) -> Result<u16, Error> {
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

/// `--map-port`'s port on the router: a port as [`parse_port`] reads it (not 0), and if not,
/// an error that says which port.
pub(super) fn parse_map_port(text: &str) -> Result<u16, Error> {
    parse_port(text, false).map_err(|err| match err {
        Error::Usage(why) => usage(&format!(
            "--map-port {why} (the port the partner connects to on the router)"
        )),
        err => err,
    })
}

/// `-l`'s operands, with `--map-port`'s port (`map_port`) where no port is given (no `-p`,
/// `port_option` false): `tete -l --map-port 51423` listens on 51423, and so does
/// `tete -l 198.18.10.2 --map-port 51423`, on that address only.
pub(super) fn listen_operands(
    operands: &[String],
    port_option: bool,
    map_port: Option<&String>,
) -> Vec<String> {
    match (operands, map_port) {
        ([], Some(port)) if !port_option => vec![port.clone()],
        ([address], Some(port)) if !port_option && address.parse::<IpAddr>().is_ok() => {
            vec![address.clone(), port.clone()]
        }
        _ => operands.to_vec(),
    }
}

/// `-z`'s ports: each operand one port, or `first-last`, in the order given.
pub(super) fn parse_port_list(operands: &[String]) -> Result<Vec<RangeInclusive<u16>>, Error> {
    operands.iter().map(|text| parse_port_range(text)).collect()
}

/// One of `-z`'s operands: one port, or `first-last`.
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
pub(super) fn service_port(services: &str, name: &str) -> Option<u16> {
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
pub(super) fn parse_seconds(option: &str, text: &str) -> Result<Duration, Error> {
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
pub(super) fn parse_quit_after_eof(text: &str) -> Result<Option<Duration>, Error> {
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

/// `--peer-timeout`'s default: a partner that is gone ends the session within about 30 s.
const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// `--peer-timeout`, if given: 0 turns the check off (`None`), else seconds as
/// [`parse_seconds`] takes them.
pub(super) fn parse_peer_timeout(text: Option<String>) -> Result<Option<Duration>, Error> {
    let Some(text) = text else {
        return Ok(Some(DEFAULT_PEER_TIMEOUT));
    };
    match text.parse::<f64>() {
        Ok(0.0) => Ok(None),
        _ => parse_seconds("--peer-timeout", &text).map(Some),
    }
}

/// When a plain session's end of stream goes to the peer as a FIN, once stdin has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// When the end rules say (the default): held while the peer may still be sending.
    Held,
    /// `-N` (OpenBSD nc's "shut down after EOF"): at once, whatever was received.
    AtEnd,
    /// `--no-shutdown`: never.
    Never,
}

/// `-N` and `--no-shutdown`, given or not.
pub(super) fn parse_shutdown(at_end: bool, never: bool) -> Result<Shutdown, Error> {
    match (at_end, never) {
        (true, true) => Err(usage("-N and --no-shutdown cannot be used together")),
        (true, false) => Ok(Shutdown::AtEnd),
        (false, true) => Ok(Shutdown::Never),
        (false, false) => Ok(Shutdown::Held),
    }
}
