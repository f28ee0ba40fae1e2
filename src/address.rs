//! Names, addresses and sockets: resolving hosts, opening the listening socket, starting a
//! non-blocking connection. Waiting for a connection to complete is the event loop's business.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Socket, Type};

use crate::error::{Error, lower_first};

/// How many connections may wait to be accepted: a `-k` listener's next clients during a
/// session, and a password listener's newcomers while its handshakes are busy. Past it the
/// kernel drops a connection's SYN and the client retries only a second later, so a stranger
/// who filled a short queue during a moment's stall delayed the partner by that second.
const BACKLOG: i32 = 128;

/// Which address families to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

/// The local end to bind before connecting (`-s`, `-p`), if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    pub address: Option<String>,
    pub port: Option<u16>,
}

/// Every address `host` stands for, in the resolver's order, within `family`.
pub fn resolve(
    host: &str,
    port: u16,
    family: Family,
    numeric: bool,
) -> Result<Vec<SocketAddr>, Error> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) if numeric => {
            return Err(Error::Runtime(format!(
                "host '{host}': not a numeric address, and -n forbids name lookups"
            )));
        }
        Err(_) => (literal, port)
            .to_socket_addrs()
            .map_err(|err| {
                let text = err.to_string();
                let reason = text.trim_start_matches("failed to lookup address information: ");
                Error::Runtime(format!("unknown host '{host}': {}", lower_first(reason)))
            })?
            .collect(),
    };
    let wanted: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| match family {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        })
        .collect();
    if wanted.is_empty() {
        let which = match family {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
            Family::Any => "usable",
        };
        return Err(Error::Runtime(format!(
            "host '{host}' has no {which} address"
        )));
    }
    Ok(wanted)
}

/// Opens the listening socket: on `address`, or on every address when `None` (IPv6 and IPv4
/// together where the system allows it, IPv4 alone where it has no IPv6).
pub fn listen(
    address: Option<&str>,
    port: u16,
    family: Family,
    numeric: bool,
) -> Result<TcpListener, Error> {
    let (addr, v6_only) = match address {
        Some(host) => (resolve(host, port, family, numeric)?[0], None),
        None if family == Family::V4 => ((Ipv4Addr::UNSPECIFIED, port).into(), None),
        None => (
            (Ipv6Addr::UNSPECIFIED, port).into(),
            Some(family == Family::V6),
        ),
    };
    match bound_listener(addr, v6_only) {
        Err(err) if address.is_none() && family == Family::Any && no_ipv6(&err) => {
            bound_listener((Ipv4Addr::UNSPECIFIED, port).into(), None)
        }
        other => other,
    }
    .map_err(|err| Error::io(format!("cannot listen on {addr}"), &err))
}

fn bound_listener(addr: SocketAddr, v6_only: Option<bool>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if let Some(v6_only) = v6_only {
        socket.set_only_v6(v6_only)?;
    }
    // A listener restarted (or re-opened by -k) must not wait for old connections' TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

fn no_ipv6(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL)
    )
}

/// Starts a non-blocking connection to `target` from `source`; it completes when the stream
/// turns writable. `numeric` forbids looking up the source address by name.
pub fn start_connect(
    target: SocketAddr,
    source: &Source,
    numeric: bool,
) -> Result<TcpStream, Error> {
    let local = match (source.address.as_deref(), source.port) {
        (None, None) => None,
        (Some(host), port) => {
            let family = if target.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            Some(resolve(host, port.unwrap_or(0), family, numeric)?[0])
        }
        (None, Some(port)) => {
            let any: IpAddr = if target.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            };
            Some(SocketAddr::new(any, port))
        }
    };
    let socket = Socket::new(Domain::for_address(target), Type::STREAM, None)
        .map_err(|err| Error::io(format!("cannot open a socket for {target}"), &err))?;
    if let Some(local) = local {
        socket
            .set_reuse_address(true)
            .and_then(|()| socket.bind(&local.into()))
            .map_err(|err| Error::io(format!("cannot bind {local}"), &err))?;
    }
    socket
        .set_nonblocking(true)
        .map_err(|err| Error::io(format!("cannot connect to {target}"), &err))?;
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => return Err(Error::io(format!("cannot connect to {target}"), &err)),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// How a connection begun by [`start_connect`] stands, once its stream has turned writable (or
/// at any time): `None` while it is still on its way.
pub fn connect_outcome(stream: &TcpStream) -> Option<io::Result<()>> {
    match stream.take_error() {
        Ok(Some(err)) | Err(err) => Some(Err(err)),
        Ok(None) => match stream.peer_addr() {
            Ok(_) => Some(Ok(())),
            Err(err) if err.kind() == io::ErrorKind::NotConnected => None,
            Err(err) => Some(Err(err)),
        },
    }
}

/// `host:port` in the one form tete's messages and proxy requests use: `example.com:80`,
/// `192.0.2.1:80`, `[::1]:80` (an IPv6 literal in brackets, whether or not it came with them).
#[derive(Debug, Clone, Copy)]
pub struct HostPort<'a> {
    host: &'a str,
    port: u16,
}

impl<'a> HostPort<'a> {
    pub fn new(host: &'a str, port: u16) -> HostPort<'a> {
        HostPort { host, port }
    }
}

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let HostPort { host, port } = self;
        if host.contains(':') && !host.starts_with('[') {
            write!(f, "[{host}]:{port}")
        } else {
            write!(f, "{host}:{port}")
        }
    }
}
