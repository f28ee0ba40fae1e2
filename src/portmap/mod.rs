//! `--map-port`: the listener asks the home router to forward a port from the internet to it,
//! keeps the mapping alive while tete runs, and removes it on the way out.
//!
//! - [`gateway`]: which router to ask (the default route's gateway);
//! - [`pcp`] and [`natpmp`]: the fixed-layout datagrams of PCP (RFC 6887) and NAT-PMP
//!   (RFC 6886), both on UDP port 5351;
//! - [`upnp`] and [`http`]: UPnP IGD's SSDP discovery and SOAP actions;
//! - [`talk`]: one request and its answer over a non-blocking socket, within a deadline;
//! - [`lifecycle`]: a mapping kept alive, and removed.
//!
//! The first mapping is asked for before the loop starts, within [`BUDGET`] in all: PCP first,
//! NAT-PMP when the router answers PCP with NAT-PMP's "unsupported version", UPnP IGD when
//! nothing answers on port 5351 within [`QUIET_5351`] (or at once when the router says that
//! nothing listens there). Renewals run inside the relay's loop, on a socket the loop polls;
//! the deletion waits at most [`REMOVE_WAIT`], on every way out (the relay drops the
//! [`PortMap`] before a signal ends tete). No thread, no sleep.

mod gateway;
mod http;
mod lifecycle;
mod natpmp;
mod pcp;
mod talk;
mod upnp;

#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;

pub(crate) use lifecycle::PortMap;
use lifecycle::opened_line;
use talk::Talk;

/// The most the first mapping may take, whatever the router does.
const BUDGET: Duration = Duration::from_secs(3);
/// How long port 5351 may stay silent before tete tries UPnP IGD.
const QUIET_5351: Duration = Duration::from_millis(1000);
/// The lifetime asked for, in seconds: a mapping tete could not remove (killed by SIGKILL, a
/// power cut) closes by itself within this.
const LIFETIME: u32 = 600;

/// For testing only: the environment variable that makes tete ask for mappings of that many
/// seconds (1 to [`LIFETIME`]) instead, so that a test sees a real router renew a mapping in
/// seconds rather than minutes (`TETE_TEST_MAP_LIFETIME=4`). Read at the edge, with the rest
/// of the environment; never longer than the default, so it cannot keep a port open longer.
pub(crate) const TEST_LIFETIME_VARIABLE: &str = "TETE_TEST_MAP_LIFETIME";

/// The lifetime [`TEST_LIFETIME_VARIABLE`]'s `value` asks for, if it is a whole number of
/// seconds from 1 to [`LIFETIME`]; `None` (the default) otherwise.
pub(crate) fn test_lifetime(value: Option<&OsStr>) -> Option<u32> {
    let seconds: u32 = value?.to_str()?.parse().ok()?;
    (1..=LIFETIME).contains(&seconds).then_some(seconds)
}
/// How long a renewal may wait for the router.
const RENEW_WAIT: Duration = Duration::from_secs(3);
/// The longest wait before a failed renewal is tried again.
const RETRY: Duration = Duration::from_secs(30);
/// How long the deletion may hold up the exit.
const REMOVE_WAIT: Duration = Duration::from_secs(1);

const PCP_PORT: u16 = 5351;
const SSDP_PORT: u16 = 1900;

/// What a router granted: the public address and port, and for how long (seconds; 0 for a
/// UPnP mapping without a lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    public: Ipv4Addr,
    external: u16,
    lifetime: u32,
}

/// Why no mapping came of a request.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// Nothing answered (or nothing listens): the reason, for a verbose word.
    Silent(String),
    /// The router answered, and did not map: its reason.
    Refused(String),
}

/// The router and its ports (other ports only in tests, against a stand-in router).
#[derive(Debug, Clone, Copy)]
struct Router {
    gateway: Ipv4Addr,
    pcp_port: u16,
    ssdp_port: u16,
    /// Whether SSDP searches also go to the multicast group.
    multicast: bool,
}

/// How the mapping was made, and so how it is renewed and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Pcp(pcp::Nonce),
    NatPmp,
    Upnp(upnp::Control),
}

/// A mapping the router holds for this host.
#[derive(Debug)]
struct Mapping {
    method: Method,
    router: Router,
    /// This host's address toward the router: where the router forwards to.
    client: Ipv4Addr,
    internal: u16,
    /// The lifetime asked for, each time, in seconds.
    lifetime: u32,
    grant: Grant,
}

/// Asks the default gateway to forward TCP port `wanted` to `listening` (the listener's own
/// address) for `lifetime` seconds at a time ([`LIFETIME`] if `None`), within [`BUDGET`].
/// Returns the mapping, if any, and the line to show: the partner's command, or why there is
/// no mapping.
pub(crate) fn open(
    listening: SocketAddr,
    wanted: u16,
    lifetime: Option<u32>,
    password: bool,
) -> (Option<PortMap>, String) {
    let gateway = match gateway::default_gateway() {
        Ok(gateway) => gateway,
        Err(why) => {
            return (
                None,
                format!("cannot ask the router to open port {wanted}: {why}{LAN}"),
            );
        }
    };
    let router = Router {
        gateway,
        pcp_port: PCP_PORT,
        ssdp_port: SSDP_PORT,
        multicast: true,
    };
    match map(router, listening, wanted, lifetime.unwrap_or(LIFETIME)) {
        Ok(mapping) => {
            let line = opened_line(&mapping, password, "");
            (Some(PortMap::keep(mapping, password)), line)
        }
        Err(Failure::Silent(_)) => (
            None,
            format!(
                "no router answered the request to open port {wanted} (PCP, NAT-PMP and UPnP \
                 IGD at {gateway}, {} s){LAN}",
                BUDGET.as_secs()
            ),
        ),
        Err(Failure::Refused(why)) => (
            None,
            format!("the router at {gateway} did not open port {wanted} ({why}){LAN}"),
        ),
    }
}

/// The end of every line that says there is no mapping.
const LAN: &str = "; listening for the LAN only";

/// Asks `router` for the mapping, for `lifetime` seconds: PCP, then NAT-PMP, then UPnP IGD.
fn map(
    router: Router,
    listening: SocketAddr,
    wanted: u16,
    lifetime: u32,
) -> Result<Mapping, Failure> {
    let start = Instant::now();
    let deadline = start + BUDGET;
    let client = client_address(router.gateway).map_err(|err| {
        Failure::Refused(format!(
            "cannot reach it: {}",
            crate::error::os_reason(&err)
        ))
    })?;
    let unfit = match listening.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() || ip == client => None,
        IpAddr::V6(ip) if ip.is_unspecified() || ip.to_ipv4_mapped() == Some(client) => None,
        ip => Some(ip),
    };
    if let Some(ip) = unfit {
        return Err(Failure::Refused(format!(
            "not asked: it would forward to {client}, and tete listens on {ip} only"
        )));
    }
    let asked = Asked {
        client,
        internal: listening.port(),
        wanted,
        lifetime,
    };
    let mut refusals = Vec::new();
    let quiet = (start + QUIET_5351).min(deadline);
    for attempt in [Attempt::Udp(quiet), Attempt::Upnp] {
        let tried = match attempt {
            Attempt::Udp(quiet) => pcp_or_natpmp(router, asked, quiet, deadline),
            Attempt::Upnp => upnp(router, asked, deadline),
        };
        match tried {
            Ok((method, grant)) => {
                return Ok(Mapping {
                    method,
                    router,
                    client,
                    internal: asked.internal,
                    lifetime,
                    grant,
                });
            }
            Err(Failure::Refused(why)) => refusals.push(why),
            Err(Failure::Silent(_)) => {}
        }
    }
    match refusals.is_empty() {
        true => Err(Failure::Silent("no answer".into())),
        false => Err(Failure::Refused(refusals.join("; "))),
    }
}

/// What is asked of the router: to forward its TCP port `wanted` to `client`'s `internal`
/// port for `lifetime` seconds.
#[derive(Clone, Copy)]
struct Asked {
    client: Ipv4Addr,
    internal: u16,
    wanted: u16,
    lifetime: u32,
}

enum Attempt {
    /// PCP or NAT-PMP, giving up on silence at the instant given.
    Udp(Instant),
    Upnp,
}

/// PCP, or NAT-PMP if the router speaks only that.
fn pcp_or_natpmp(
    router: Router,
    asked: Asked,
    quiet: Instant,
    deadline: Instant,
) -> Result<(Method, Grant), Failure> {
    let Asked {
        client,
        internal,
        wanted,
        lifetime,
    } = asked;
    let nonce = fresh_nonce();
    let request = pcp::map_request(&nonce, client, internal, wanted, lifetime);
    let reply = datagram(router, &request, quiet)?
        .finish(|reply, _| pcp::read_reply(reply, &nonce, internal).map(Ok))?;
    let grant = match reply {
        pcp::Reply::Granted(grant) => grant,
        pcp::Reply::Refused(why) => return Err(Failure::Refused(why)),
        pcp::Reply::NatPmpOnly => {
            let public = datagram(router, &natpmp::ADDRESS_REQUEST, deadline)?
                .finish(|reply, _| natpmp::read_address_reply(reply))?;
            let request = natpmp::map_request(internal, wanted, lifetime);
            let (external, lifetime) = datagram(router, &request, deadline)?
                .finish(|reply, _| natpmp::read_map_reply(reply, internal))?;
            let grant = Grant {
                public,
                external,
                lifetime,
            };
            return granted(grant, "NAT-PMP").map(|grant| (Method::NatPmp, grant));
        }
    };
    granted(grant, "PCP").map(|grant| (Method::Pcp(nonce), grant))
}

/// A grant that a partner can use: a port, an address, some time.
fn granted(grant: Grant, method: &str) -> Result<Grant, Failure> {
    if grant.external == 0 || grant.lifetime == 0 || grant.public.is_unspecified() {
        return Err(Failure::Refused(format!(
            "{method}: the router granted no usable mapping (address {}, port {}, {} s)",
            grant.public, grant.external, grant.lifetime
        )));
    }
    Ok(grant)
}

/// UPnP IGD: discovery, the description, the external address, then the mapping.
fn upnp(router: Router, asked: Asked, deadline: Instant) -> Result<(Method, Grant), Failure> {
    let Asked {
        client,
        internal,
        wanted,
        mut lifetime,
    } = asked;
    let gateway = router.gateway;
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()).map_err(silent)?;
    let targets = upnp::search_targets(gateway, router.ssdp_port, router.multicast);
    let _ = socket.set_multicast_ttl_v4(2);
    let search = upnp::M_SEARCH.as_bytes().to_vec();
    let location = Talk::datagram(socket, targets, gateway.into(), search, deadline)
        .finish(|reply, _| upnp::read_search_reply(reply, gateway).map(Ok))?;
    // The router has answered: from here on, any failure is its own.
    let broken = |failure| match failure {
        Failure::Silent(why) => Failure::Refused(format!("UPnP: {why}")),
        refused => refused,
    };
    let describe = http::request("GET", &location, &[], "");
    let description = Talk::http(location.server, describe, deadline)
        .map_err(silent)
        .and_then(|talk| talk.finish(http::read_reply))
        .map_err(broken)?;
    if description.status != 200 {
        let status = description.status;
        return Err(Failure::Refused(format!(
            "UPnP: the description answered HTTP {status}"
        )));
    }
    let control = upnp::find_control(&String::from_utf8_lossy(&description.body), &location)
        .map_err(Failure::Refused)?;
    let address = soap(&control, upnp::external_address_request(&control), deadline)
        .map_err(broken)
        .and_then(done)?;
    let public = upnp::external_address(&address)
        .ok_or_else(|| Failure::Refused("UPnP: the router gave no external address".into()))?;
    let add = |lease| {
        let request = upnp::add_mapping(&control, client, internal, wanted, lease);
        soap(&control, request, deadline).map_err(broken)
    };
    let mut added = add(lifetime)?;
    if let upnp::Outcome::Error(upnp::ONLY_PERMANENT_LEASES, _) = added {
        lifetime = 0;
        added = add(lifetime)?;
    }
    done(added)?;
    let grant = Grant {
        public,
        external: wanted,
        lifetime,
    };
    Ok((Method::Upnp(control), grant))
}

/// Runs one SOAP action to the end.
fn soap(
    control: &upnp::Control,
    request: Vec<u8>,
    deadline: Instant,
) -> Result<upnp::Outcome, Failure> {
    Talk::http(control.url.server, request, deadline)
        .map_err(silent)?
        .finish(upnp::read_soap_reply)
}

/// The body of an action that was done; the router's error in words otherwise.
fn done(outcome: upnp::Outcome) -> Result<String, Failure> {
    match outcome {
        upnp::Outcome::Done(body) => Ok(body),
        upnp::Outcome::Error(code, words) => Err(Failure::Refused(upnp::error_text(code, &words))),
    }
}

fn silent(err: io::Error) -> Failure {
    Failure::Silent(crate::error::os_reason(&err))
}

/// A datagram talk with the router's port 5351, on a socket of its own connected to it (so
/// that only its replies arrive, and an ICMP "port unreachable" shows as a failure).
fn datagram(router: Router, request: &[u8], deadline: Instant) -> Result<Talk, Failure> {
    let port = SocketAddr::new(router.gateway.into(), router.pcp_port);
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()).map_err(silent)?;
    socket.connect(port).map_err(silent)?;
    Ok(Talk::datagram(
        socket,
        Vec::new(),
        router.gateway.into(),
        request.to_vec(),
        deadline,
    ))
}

/// This host's address toward `gateway`: the source address of packets sent there.
fn client_address(gateway: Ipv4Addr) -> io::Result<Ipv4Addr> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.connect((gateway, PCP_PORT))?;
    match socket.local_addr()?.ip() {
        IpAddr::V4(ip) => Ok(ip),
        IpAddr::V6(_) => Err(io::ErrorKind::AddrNotAvailable.into()),
    }
}

/// A PCP nonce from the system's random source (or, should that fail, from the clock and the
/// process: the nonce only has to be unpredictable to others on the LAN, and unique to us).
fn fresh_nonce() -> pcp::Nonce {
    use rand_core::RngCore;
    let mut nonce = [0u8; 12];
    if rand_core::OsRng.try_fill_bytes(&mut nonce).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        nonce[..8].copy_from_slice(&now.to_be_bytes());
        nonce[8..].copy_from_slice(&std::process::id().to_be_bytes());
    }
    nonce
}
