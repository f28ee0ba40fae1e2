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
//! Replies are parsed strictly and byte by byte, so a wrong peer fails at its first wrong byte
//! and a refusal is reported as soon as its code has arrived. Errors are final.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

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

impl Protocol {
    /// nc's default port for the protocol.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Socks4 | Protocol::Socks5 => 1080,
            Protocol::HttpConnect => 3128,
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
    /// "SOCKS5 proxy 127.0.0.1:1080", "HTTP proxy [::1]:3128".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} proxy {}",
            self.protocol.name(),
            HostPort(&self.host, self.port)
        )
    }
}

/// Parses `-x ADDR[:PORT]` and `-X 4|5|connect` (`None`: SOCKS5, as in nc). `ADDR` is a name,
/// an IPv4 literal or a bracketed IPv6 literal (`[::1]:1080`); a bare IPv6 literal is refused
/// because its last group could be taken for a port. The error is a usage message.
pub fn parse(proxy_arg: &str, protocol_arg: Option<&str>) -> Result<Proxy, String> {
    let protocol = match protocol_arg {
        None | Some("5") => Protocol::Socks5,
        Some("4") => Protocol::Socks4,
        Some(other) if other.eq_ignore_ascii_case("connect") => Protocol::HttpConnect,
        Some(other) => {
            return Err(format!(
                "invalid proxy protocol '{other}': must be 4, 5 or connect"
            ));
        }
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

/// Drives one proxy handshake; see the module docs.
#[derive(Debug)]
pub struct ProxyHandshake {
    proxy: String,
    had_credentials: bool,
    stage: Stage,
    /// The reply bytes of the current stage received so far.
    got: Vec<u8>,
}

#[derive(Debug)]
enum Stage {
    /// SOCKS4 request sent; waiting for the 8-byte reply.
    Socks4Reply,
    /// SOCKS5 greeting sent; waiting for the chosen method. `request` goes out after it.
    Socks5Method {
        request: Vec<u8>,
        credentials: Option<Credentials>,
    },
    /// RFC 1929 user name and password sent; waiting for their verdict.
    Socks5Auth {
        request: Vec<u8>,
    },
    /// SOCKS5 CONNECT request sent; waiting for the reply.
    Socks5Reply,
    /// HTTP CONNECT sent; waiting for the reply header.
    HttpReply,
    Done,
    Failed(Failure),
}

/// How far a stage's reply has come.
enum Progress {
    Incomplete,
    Complete,
}

const SOCKS4_GRANTED: u8 = 90;
const SOCKS5_VERSION: u8 = 5;
const SOCKS5_NO_AUTH: u8 = 0;
const SOCKS5_USER_PASSWORD: u8 = 2;
const SOCKS5_NO_ACCEPTABLE: u8 = 0xff;
const SOCKS5_CONNECT: u8 = 1;
const SOCKS5_ATYP_IPV4: u8 = 1;
const SOCKS5_ATYP_NAME: u8 = 3;
const SOCKS5_ATYP_IPV6: u8 = 4;
const USER_PASSWORD_VERSION: u8 = 1;
const NO_ACCEPTABLE_METHOD: &str = "no acceptable authentication method (method 255)";

impl ProxyHandshake {
    /// Starts a handshake asking `proxy` for a connection to `host` (a name or an IP literal,
    /// brackets allowed) on `port`; appends the first request to `out`. Fails before sending
    /// anything when the protocol cannot express the destination.
    pub fn new(
        proxy: &Proxy,
        host: &str,
        port: u16,
        out: &mut Vec<u8>,
    ) -> Result<ProxyHandshake, ProxyError> {
        let fail = |why: String| ProxyError {
            proxy: proxy.to_string(),
            failure: Failure::Destination(why),
        };
        let destination = Destination::parse(host).map_err(&fail)?;
        let credentials = proxy.credentials.clone();
        let stage = match proxy.protocol {
            Protocol::Socks4 => {
                out.extend_from_slice(
                    &socks4_request(&destination, port, &credentials).map_err(fail)?,
                );
                Stage::Socks4Reply
            }
            Protocol::Socks5 => {
                let request = socks5_request(&destination, port).map_err(fail)?;
                if let Some(c) = &credentials {
                    if c.user.len() > 255 || c.password.len() > 255 {
                        return Err(fail(format!(
                            "SOCKS5 user names and passwords are limited to 255 bytes \
                             ({AUTH_VARIABLE})"
                        )));
                    }
                    out.extend_from_slice(&[
                        SOCKS5_VERSION,
                        2,
                        SOCKS5_NO_AUTH,
                        SOCKS5_USER_PASSWORD,
                    ]);
                } else {
                    out.extend_from_slice(&[SOCKS5_VERSION, 1, SOCKS5_NO_AUTH]);
                }
                Stage::Socks5Method {
                    request,
                    credentials,
                }
            }
            Protocol::HttpConnect => {
                out.extend_from_slice(&http_request(&destination, port, &credentials));
                Stage::HttpReply
            }
        };
        Ok(ProxyHandshake {
            proxy: proxy.to_string(),
            had_credentials: proxy.credentials.is_some(),
            stage,
            got: Vec::new(),
        })
    }

    /// Feeds bytes received from the proxy. Consumes only the proxy's replies, never a byte
    /// beyond, and returns how many it consumed: the rest belongs to the session. Appends any
    /// next request to `out`. Any split of the input gives the same result.
    pub fn receive(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ProxyError> {
        let result = self.advance(input, out);
        if let Err(failure) = &result {
            self.stage = Stage::Failed(failure.clone());
        }
        result.map_err(|failure| self.error(failure))
    }

    /// True once the proxy has granted the connection: from here on, bytes are the session's.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// The error for the proxy closing the connection before the handshake completed.
    pub fn closed(&self) -> ProxyError {
        self.final_or(Failure::Closed)
    }

    /// The error for the deadline (`-w`) passing before the handshake completed.
    pub fn timed_out(&self) -> ProxyError {
        self.final_or(Failure::TimedOut)
    }

    /// An earlier failure stays the one reported.
    fn final_or(&self, failure: Failure) -> ProxyError {
        match &self.stage {
            Stage::Failed(earlier) => self.error(earlier.clone()),
            _ => self.error(failure),
        }
    }

    fn error(&self, failure: Failure) -> ProxyError {
        ProxyError {
            proxy: self.proxy.clone(),
            failure,
        }
    }

    fn advance(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Failure> {
        if let Stage::Failed(failure) = &self.stage {
            return Err(failure.clone());
        }
        let mut used = 0;
        while used < input.len() {
            let check = match &self.stage {
                Stage::Done | Stage::Failed(_) => break,
                Stage::Socks4Reply => socks4_reply,
                Stage::Socks5Method { .. } => socks5_method_reply,
                Stage::Socks5Auth { .. } => user_password_reply,
                Stage::Socks5Reply => socks5_reply,
                Stage::HttpReply => http_reply,
            };
            self.got.push(input[used]);
            used += 1;
            let progress = match check(&self.got) {
                // The reply functions cannot know whether credentials were sent.
                Err(Failure::AuthRequired(reply)) if self.had_credentials => {
                    Err(Failure::AuthRejected(reply))
                }
                other => other,
            };
            if let Progress::Complete = progress? {
                self.next_stage(out)?;
            }
        }
        Ok(used)
    }

    /// The current stage's reply is complete and good: send what comes next.
    fn next_stage(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        let reply = std::mem::take(&mut self.got);
        self.stage = match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Socks5Method {
                request,
                credentials,
            } => match (reply[1], credentials) {
                (SOCKS5_NO_AUTH, _) => {
                    out.extend_from_slice(&request);
                    Stage::Socks5Reply
                }
                (SOCKS5_USER_PASSWORD, Some(c)) => {
                    out.push(USER_PASSWORD_VERSION);
                    // new() checked that both fit in a length byte.
                    out.push(c.user.len() as u8);
                    out.extend_from_slice(&c.user);
                    out.push(c.password.len() as u8);
                    out.extend_from_slice(&c.password);
                    Stage::Socks5Auth { request }
                }
                (SOCKS5_NO_ACCEPTABLE, None) => {
                    return Err(Failure::AuthRequired(NO_ACCEPTABLE_METHOD.into()));
                }
                (SOCKS5_NO_ACCEPTABLE, Some(_)) => {
                    return Err(Failure::AuthRejected(NO_ACCEPTABLE_METHOD.into()));
                }
                (method, _) => {
                    return Err(Failure::Malformed(format!(
                        "chose authentication method {method}, which was not offered"
                    )));
                }
            },
            Stage::Socks5Auth { request } => {
                out.extend_from_slice(&request);
                Stage::Socks5Reply
            }
            _ => Stage::Done,
        };
        Ok(())
    }
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

fn socks4_request(
    destination: &Destination,
    port: u16,
    credentials: &Option<Credentials>,
) -> Result<Vec<u8>, String> {
    let mut request = vec![4, 1];
    request.extend_from_slice(&port.to_be_bytes());
    match destination {
        Destination::Ip(IpAddr::V4(ip)) => request.extend_from_slice(&ip.octets()),
        Destination::Ip(IpAddr::V6(_)) => {
            return Err("SOCKS4 cannot reach an IPv6 address (use -X 5)".into());
        }
        // SOCKS4a: the address 0.0.0.1 says "the name follows the USERID".
        Destination::Name(_) => request.extend_from_slice(&[0, 0, 0, 1]),
    }
    if let Some(c) = credentials {
        request.extend_from_slice(&c.user);
    }
    request.push(0);
    if let Destination::Name(name) = destination {
        request.extend_from_slice(name.as_bytes());
        request.push(0);
    }
    Ok(request)
}

fn socks4_reply(got: &[u8]) -> Result<Progress, Failure> {
    if got[0] != 0 {
        return Err(Failure::Malformed(format!(
            "SOCKS4 reply version {}, expected 0",
            got[0]
        )));
    }
    if let Some(&code) = got.get(1)
        && code != SOCKS4_GRANTED
    {
        let words = match code {
            91 => "request rejected or failed",
            92 => "the proxy could not reach our identd",
            93 => "identd reported a different user",
            _ => "unknown reply code",
        };
        return Err(Failure::Refused(format!("{words} (reply code {code})")));
    }
    Ok(complete_at(got, 8))
}

fn socks5_request(destination: &Destination, port: u16) -> Result<Vec<u8>, String> {
    let mut request = vec![SOCKS5_VERSION, SOCKS5_CONNECT, 0];
    match destination {
        Destination::Ip(IpAddr::V4(ip)) => {
            request.push(SOCKS5_ATYP_IPV4);
            request.extend_from_slice(&ip.octets());
        }
        Destination::Ip(IpAddr::V6(ip)) => {
            request.push(SOCKS5_ATYP_IPV6);
            request.extend_from_slice(&ip.octets());
        }
        Destination::Name(name) => {
            let len = u8::try_from(name.len())
                .map_err(|_| format!("host name longer than 255 bytes: '{name}'"))?;
            request.extend_from_slice(&[SOCKS5_ATYP_NAME, len]);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

fn socks5_method_reply(got: &[u8]) -> Result<Progress, Failure> {
    socks5_version(got[0])?;
    Ok(complete_at(got, 2))
}

fn user_password_reply(got: &[u8]) -> Result<Progress, Failure> {
    if got[0] != USER_PASSWORD_VERSION {
        return Err(Failure::Malformed(format!(
            "authentication reply version {}, expected 1",
            got[0]
        )));
    }
    match got.get(1) {
        Some(0) => Ok(Progress::Complete),
        Some(status) => Err(Failure::AuthRejected(format!("status {status}"))),
        None => Ok(Progress::Incomplete),
    }
}

fn socks5_reply(got: &[u8]) -> Result<Progress, Failure> {
    socks5_version(got[0])?;
    if let Some(&code) = got.get(1)
        && code != 0
    {
        return Err(Failure::Refused(format!(
            "{} (reply code {code})",
            socks5_reply_words(code)
        )));
    }
    if got.get(2).is_some_and(|&reserved| reserved != 0) {
        return Err(Failure::Malformed("reserved byte is not 0".into()));
    }
    // VER REP RSV ATYP, the bound address, then a 2-byte port.
    let total = match (got.get(3), got.get(4)) {
        (None, _) => return Ok(Progress::Incomplete),
        (Some(&SOCKS5_ATYP_IPV4), _) => 4 + 4 + 2,
        (Some(&SOCKS5_ATYP_IPV6), _) => 4 + 16 + 2,
        (Some(&SOCKS5_ATYP_NAME), Some(&len)) => 5 + usize::from(len) + 2,
        (Some(&SOCKS5_ATYP_NAME), None) => return Ok(Progress::Incomplete),
        (Some(&atyp), _) => {
            return Err(Failure::Malformed(format!("unknown address type {atyp}")));
        }
    };
    Ok(complete_at(got, total))
}

fn socks5_version(version: u8) -> Result<(), Failure> {
    if version == SOCKS5_VERSION {
        Ok(())
    } else {
        Err(Failure::Malformed(format!(
            "SOCKS version {version}, expected 5"
        )))
    }
}

/// RFC 1928's reply codes in words.
fn socks5_reply_words(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

fn complete_at(got: &[u8], total: usize) -> Progress {
    if got.len() == total {
        Progress::Complete
    } else {
        Progress::Incomplete
    }
}

fn http_request(
    destination: &Destination,
    port: u16,
    credentials: &Option<Credentials>,
) -> Vec<u8> {
    let target = match destination {
        Destination::Ip(ip) => HostPort(&ip.to_string(), port).to_string(),
        Destination::Name(name) => HostPort(name, port).to_string(),
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(c) = credentials {
        let mut pair = c.user.clone();
        pair.push(b':');
        pair.extend_from_slice(&c.password);
        request.push_str(&format!("Proxy-Authorization: Basic {}\r\n", base64(&pair)));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Checks the reply header as it arrives: the status line's start at once, the status code
/// when the whole header is in.
fn http_reply(got: &[u8]) -> Result<Progress, Failure> {
    const VERSION: &[u8] = b"HTTP/1.";
    let start = &got[..got.len().min(VERSION.len())];
    if start != &VERSION[..start.len()] {
        // A binary reply (a SOCKS proxy's, say) is clearer in hex than as question marks.
        let shown = if got.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            printable(got)
        } else {
            got.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(Failure::Malformed(format!("not an HTTP reply: {shown}")));
    }
    if got.len() > MAX_HTTP_REPLY {
        return Err(Failure::ReplyTooLong);
    }
    if !got.ends_with(b"\r\n\r\n") {
        return Ok(Progress::Incomplete);
    }
    let line_end = got.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let status_line = &got[..line_end];
    let code = status_code(status_line).ok_or_else(|| {
        Failure::Malformed(format!("bad status line: {}", printable(status_line)))
    })?;
    match code {
        200..=299 => Ok(Progress::Complete),
        407 => Err(Failure::AuthRequired(printable(status_line))),
        _ => Err(Failure::Refused(printable(status_line))),
    }
}

/// `HTTP/1.x SP 3DIGIT [SP reason]`: the status code.
fn status_code(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (minor, rest) = rest.split_first()?;
    let rest = rest.strip_prefix(b" ")?;
    if !minor.is_ascii_digit() || rest.len() < 3 || !rest[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if rest.len() > 3 && rest[3] != b' ' {
        return None;
    }
    std::str::from_utf8(&rest[..3]).ok()?.parse().ok()
}

/// Peer-controlled bytes made safe for one line on a terminal, cut to a readable length.
fn printable(bytes: &[u8]) -> String {
    const LIMIT: usize = 120;
    let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if bytes.len() > LIMIT {
        format!("{text}...")
    } else {
        text
    }
}

/// `host:port`, with an IPv6 literal in brackets.
struct HostPort<'a>(&'a str, u16);

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]:{}", self.0, self.1)
        } else {
            write!(f, "{}:{}", self.0, self.1)
        }
    }
}

/// Standard base64 with padding (RFC 4648), for the Basic credentials; twenty lines do not
/// need a crate.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(group >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
