//! Reaching the destination through a proxy (`-x ADDR[:PORT]`, `-X 4|5|connect`), as OpenBSD nc
//! does, so `ssh -o ProxyCommand='tete -X 5 -x proxy:1080 %h %p'` works the way people know.
//!
//! The handshake is a state machine over bytes, with no sockets and no clock, like the password
//! mode's ([`crate::secure`]): [`ProxyHandshake::new`] writes the first request, the caller moves
//! the proxy's reply into [`ProxyHandshake::receive`], which consumes only the reply and says how
//! many bytes it took; whatever follows the reply is the session's (the destination may speak
//! first, e.g. an SSH server's banner).
//!
//! The protocols, with nc's meanings and default ports:
//! - `-X 5` (the default), SOCKS5 (RFC 1928), port 1080: a host name is handed to the proxy as
//!   ATYP 3 and never looked up here (Tor needs that: the lookup must happen at the exit); an IPv4
//!   or IPv6 literal goes as ATYP 1 or 4. With credentials, user name and password
//!   authentication (RFC 1929) is offered besides "no authentication".
//! - `-X 4`, SOCKS4, port 1080: an IPv4 literal as is, a host name as SOCKS4a (the proxy looks it
//!   up); IPv6 cannot be expressed. The credentials' user name, if any, is the USERID.
//! - `-X connect`, HTTP CONNECT (RFC 9110), port 3128: `CONNECT host:port` (IPv6 in brackets),
//!   with `Proxy-Authorization: Basic` when there are credentials. The reply header is read up to
//!   [`MAX_HTTP_REPLY`] bytes; any 2xx status is success.
//!
//! Credentials come from the environment variable [`AUTH_VARIABLE`] (`user:password`), never
//! from argv, where every local user could read them.
//!
//! The rooms: this file holds what `-x` and `-X` say ([`Proxy`], [`parse`]) and how a
//! handshake fails ([`ProxyError`]); `handshake.rs` drives it ([`ProxyHandshake`]: which stage
//! waits for which reply, what goes out next); `socks.rs` writes and checks SOCKS4 and SOCKS5
//! messages, `http.rs` HTTP CONNECT's.
//!
//! Replies are parsed strictly and byte by byte, so a wrong peer fails at its first wrong byte
//! and a refusal is reported as soon as its code has arrived. Errors are final.

mod handshake;
mod http;
mod socks;

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::address::HostPort;

pub use handshake::ProxyHandshake;

/// The environment variable holding the proxy credentials, `user:password`.
pub const AUTH_VARIABLE: &str = "TETE_PROXY_AUTH";
/// The largest HTTP CONNECT reply header accepted, status line and terminating blank line included.
pub const MAX_HTTP_REPLY: usize = 8 * 1024;

/// The proxy protocols of `-X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `-X 4`: SOCKS4, and SOCKS4a for host names.
    Socks4,
    /// `-X 5`: SOCKS5.
    Socks5,
    /// `-X connect`: HTTP CONNECT.
    HttpConnect,
}

/// The protocols by the names `-X` takes (`connect` in any case), the default first; the
/// parser and the completion scripts both read this.
pub const PROTOCOL_NAMES: [(&str, Protocol); 3] = [
    ("5", Protocol::Socks5),
    ("4", Protocol::Socks4),
    ("connect", Protocol::HttpConnect),
];

impl Protocol {
    /// nc's default port for the protocol.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Socks4 | Protocol::Socks5 => 1080,
            Protocol::HttpConnect => 3128,
        }
    }

    /// What `-X NAME` means, in a few words (the completion scripts show it beside the name).
    pub fn summary(self) -> &'static str {
        match self {
            Protocol::Socks5 => "SOCKS5, the default",
            Protocol::Socks4 => "SOCKS4, and SOCKS4a for host names",
            Protocol::HttpConnect => "HTTP CONNECT",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Protocol::Socks4 => "SOCKS4",
            Protocol::Socks5 => "SOCKS5",
            Protocol::HttpConnect => "HTTP",
        }
    }
}

/// A user name and password for the proxy. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: Vec<u8>,
    password: Vec<u8>,
}

impl Credentials {
    /// Parses the value of [`AUTH_VARIABLE`]: `user:password`, split at the first colon (the
    /// password may contain colons; a user name cannot, as in HTTP basic authentication).
    pub fn parse(value: &[u8]) -> Result<Credentials, String> {
        let colon = value
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| format!("{AUTH_VARIABLE} must be user:password (no ':' found)"))?;
        let (user, password) = (&value[..colon], &value[colon + 1..]);
        if user.is_empty() {
            return Err(format!("{AUTH_VARIABLE}: the user name is empty"));
        }
        if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("{AUTH_VARIABLE} contains a line break or NUL"));
        }
        Ok(Credentials {
            user: user.to_vec(),
            password: password.to_vec(),
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &String::from_utf8_lossy(&self.user))
            .finish_non_exhaustive()
    }
}

/// A proxy to go through: what `-x` and `-X` say, plus the credentials from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub protocol: Protocol,
    /// A name or an IP literal, without brackets.
    pub host: String,
    pub port: u16,
    /// From [`AUTH_VARIABLE`]; [`parse`] leaves it `None`, the caller fills it in.
    pub credentials: Option<Credentials>,
}

impl fmt::Display for Proxy {
    /// "SOCKS5 proxy 127.0.0.1:1080", "HTTP proxy \[::1\]:3128".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} proxy {}",
            self.protocol.name(),
            HostPort::new(&self.host, self.port)
        )
    }
}

/// Parses `-x ADDR[:PORT]` and `-X 4|5|connect` (`None`: SOCKS5, as in nc). `ADDR` is a name,
/// an IPv4 literal or a bracketed IPv6 literal (`[::1]:1080`); a bare IPv6 literal is refused
/// because its last group could be taken for a port. The error is a usage message.
pub fn parse(proxy_arg: &str, protocol_arg: Option<&str>) -> Result<Proxy, String> {
    let protocol = match protocol_arg {
        None => Protocol::Socks5,
        Some(name) => PROTOCOL_NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, protocol)| protocol)
            .ok_or_else(|| format!("invalid proxy protocol '{name}': must be 4, 5 or connect"))?,
    };
    let (host, port) = if let Some(rest) = proxy_arg.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid proxy address '{proxy_arg}': missing ']'"))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "invalid proxy address '{proxy_arg}': '{inside}' is not an IPv6 address"
            ));
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("invalid proxy address '{proxy_arg}': expected ':PORT' after ']'")
            })?),
        };
        (inside, port)
    } else {
        match proxy_arg.split_once(':') {
            Some((_, rest)) if rest.contains(':') => {
                return Err(format!(
                    "invalid proxy address '{proxy_arg}': write an IPv6 address in brackets, \
                     e.g. [::1]:1080"
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (proxy_arg, None),
        }
    };
    if host.is_empty() {
        return Err(format!("invalid proxy address '{proxy_arg}': no host"));
    }
    let port = match port {
        None => protocol.default_port(),
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => {
                return Err(format!(
                    "invalid proxy port '{text}': must be a number from 1 to 65535"
                ));
            }
        },
    };
    Ok(Proxy {
        protocol,
        host: host.to_string(),
        port,
        credentials: None,
    })
}

/// How a proxy handshake failed; [`ProxyError`] adds which proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The proxy answered and refused: the reply code or status line, in words.
    Refused(String),
    /// The proxy wants credentials and [`AUTH_VARIABLE`] is not set: its reply in words.
    AuthRequired(String),
    /// The proxy turned down the credentials: its reply in words.
    AuthRejected(String),
    /// The reply is not what the protocol allows: what was wrong.
    Malformed(String),
    /// The HTTP reply header is longer than [`MAX_HTTP_REPLY`].
    ReplyTooLong,
    /// The connection ended before the reply was complete.
    Closed,
    /// The reply did not complete before the deadline (`-w`; the caller keeps the clock).
    TimedOut,
    /// The destination cannot be expressed in this protocol (IPv6 over SOCKS4, a name over 255
    /// bytes for SOCKS5, a name with forbidden bytes).
    Destination(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(reason) => write!(f, "refused: {reason}"),
            Failure::AuthRequired(reply) => write!(
                f,
                "requires authentication: {reply} (set {AUTH_VARIABLE}=user:password)"
            ),
            Failure::AuthRejected(reply) => {
                write!(f, "rejected the credentials in {AUTH_VARIABLE}: {reply}")
            }
            Failure::Malformed(what) => write!(f, "malformed reply: {what}"),
            Failure::ReplyTooLong => {
                write!(f, "reply header longer than {MAX_HTTP_REPLY} bytes")
            }
            Failure::Closed => f.write_str("closed the connection before replying"),
            Failure::TimedOut => f.write_str("did not reply in time"),
            Failure::Destination(why) => f.write_str(why),
        }
    }
}

/// A failed proxy handshake. `Display` is one line naming the proxy: "SOCKS5 proxy
/// 127.0.0.1:1080 refused: host unreachable (reply code 4)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// The proxy as [`Proxy`] displays it.
    pub proxy: String,
    pub failure: Failure,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.proxy, self.failure)
    }
}

impl std::error::Error for ProxyError {}

/// How far a stage's reply has come.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    Incomplete,
    Complete,
}

/// Where the proxy should connect to.
enum Destination<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

impl Destination<'_> {
    fn parse(host: &str) -> Result<Destination<'_>, String> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Destination::Ip(ip));
        }
        if bare.is_empty() || bare.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(format!("cannot ask for host '{}'", bare.escape_debug()));
        }
        Ok(Destination::Name(bare))
    }
}

#[cfg(test)]
mod tests;
