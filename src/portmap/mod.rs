//! `--map-port`: the listener asks the home router to forward a port from the internet to it,
//! keeps the mapping alive while tete runs, and removes it on the way out.
//!
//! - [`gateway`]: which router to ask (the default route's gateway), and the networks this
//!   host is on;
//! - [`pcp`] and [`natpmp`]: the fixed-layout datagrams of PCP (RFC 6887) and NAT-PMP
//!   (RFC 6886), both on UDP port 5351;
//! - [`upnp`] and [`http`]: UPnP IGD's SSDP discovery and SOAP actions;
//! - [`talk`]: one request and its answer over a non-blocking socket, within a deadline;
//! - [`exchange`]: PCP, then NAT-PMP on the router's cue, and what tete believes of their
//!   answers (a host on the LAN may pose as the router);
//! - [`igd`]: UPnP IGD's steps, from discovery to the mapping;
//! - [`opening`]: the first mapping, asked for inside the relay's loop: port 5351, then UPnP;
//! - [`lifecycle`]: a mapping asked for, kept alive, and removed; [`upkeep`]: the requests
//!   that renew and delete it;
//! - [`said`]: what tete tells the user, and which public addresses it will not give out.
//!
//! Everything runs inside the relay's loop, on non-blocking sockets the loop polls: the
//! listener serves the LAN while the router is asked, and a signal acts at once. The first
//! mapping gets PCP [`QUIET_5351`] of silence; after NAT-PMP's cue, NAT-PMP gets
//! [`NATPMP_SHARE`] from it (port 5351 gets [`MAX_5351`] in all); UPnP IGD then gets the rest
//! of [`BUDGET`], and at least [`UPNP_SHARE`]. A router that never answers costs [`BUDGET`].
//! The deletion waits at most [`REMOVE_WAIT`], on every way out (the relay removes the
//! [`PortMap`] before a signal ends tete). No thread, no sleep.

mod exchange;
mod gateway;
mod http;
mod igd;
mod lifecycle;
mod natpmp;
mod opening;
mod pcp;
mod said;
mod talk;
mod upkeep;
mod upnp;

#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Registry, Token};

pub(crate) use lifecycle::PortMap;
use talk::Talk;

/// The time the first mapping may take, whatever the router does, when port 5351 stays
/// silent.
const BUDGET: Duration = Duration::from_secs(3);
/// How long port 5351 may stay silent before tete tries UPnP IGD.
const QUIET_5351: Duration = Duration::from_millis(1000);
/// How long NAT-PMP may take after the router's cue.
const NATPMP_SHARE: Duration = Duration::from_millis(1000);
/// The most port 5351 may take in all, PCP and NAT-PMP.
const MAX_5351: Duration = Duration::from_millis(2000);
/// The least UPnP IGD gets, however late it starts.
const UPNP_SHARE: Duration = Duration::from_millis(2000);
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

/// The router and its ports (other ports only in tests, against a stand-in router), and the
/// networks this host is on.
#[derive(Debug, Clone)]
struct Router {
    gateway: Ipv4Addr,
    pcp_port: u16,
    ssdp_port: u16,
    /// Whether SSDP searches also go to the multicast group.
    multicast: bool,
    /// The networks this host reaches without the router: no public address is on them.
    on_link: Vec<gateway::Network>,
}

/// How the mapping was made, and so how it is renewed and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Pcp(pcp::Nonce),
    NatPmp,
    Upnp(upnp::Control),
}

/// A mapping the router holds for this host (or may hold: one asked for and not yet answered).
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

/// What is asked of the router: to forward its TCP port `wanted` to `client`'s `internal`
/// port for `lifetime` seconds.
#[derive(Debug, Clone, Copy)]
struct Asked {
    client: Ipv4Addr,
    internal: u16,
    wanted: u16,
    lifetime: u32,
}

impl Asked {
    /// The mapping made by `method` with `grant`.
    fn mapping(&self, router: &Router, method: Method, grant: Grant) -> Mapping {
        Mapping {
            method,
            router: router.clone(),
            client: self.client,
            internal: self.internal,
            lifetime: self.lifetime,
            grant,
        }
    }
}

/// Starts asking the default gateway to forward TCP port `wanted` to `listening` (the
/// listener's own address) for `lifetime` seconds at a time ([`LIFETIME`] if `None`); its
/// first socket is polled under `token`. Returns the mapping under way, if it could start, and
/// the line to show: that the router is being asked, or why it is not.
pub(crate) fn start(
    listening: SocketAddr,
    wanted: u16,
    lifetime: Option<u32>,
    password: bool,
    registry: &Registry,
    token: Token,
) -> (Option<PortMap>, String) {
    let (gateway, on_link) = match gateway::default_gateway() {
        Ok(found) => found,
        Err(why) => return (None, said::cannot_ask(wanted, &why)),
    };
    let router = Router {
        gateway,
        pcp_port: PCP_PORT,
        ssdp_port: SSDP_PORT,
        multicast: true,
        on_link,
    };
    let lifetime = lifetime.unwrap_or(LIFETIME);
    match opening::Opening::begin(router, listening, wanted, lifetime, registry, token) {
        Ok(opening) => (
            Some(PortMap::opening(opening, password)),
            said::asking(gateway, wanted),
        ),
        Err(why) => (None, said::not_asked(gateway, wanted, &why)),
    }
}

/// The request to forward `wanted` to `listening`, if the router can forward there: to
/// this host's address toward it, on which (or on all addresses) tete must listen.
fn asked(
    router: &Router,
    listening: SocketAddr,
    wanted: u16,
    lifetime: u32,
) -> Result<Asked, String> {
    let client = client_address(router.gateway)
        .map_err(|err| format!("cannot reach it: {}", crate::error::os_reason(&err)))?;
    let fit = match listening.ip() {
        IpAddr::V4(ip) => ip.is_unspecified() || ip == client,
        IpAddr::V6(ip) => ip.is_unspecified() || ip.to_ipv4_mapped() == Some(client),
    };
    if !fit {
        return Err(format!(
            "it would forward to {client}, and tete listens on {} only; listen on all \
             addresses (no address after -l) or on {client}",
            listening.ip()
        ));
    }
    Ok(Asked {
        client,
        internal: listening.port(),
        wanted,
        lifetime,
    })
}

/// A grant that a partner can use: a port, some time.
fn granted(grant: Grant, method: &str) -> Result<Grant, String> {
    if grant.external == 0 || grant.lifetime == 0 {
        return Err(format!(
            "{method}: the router granted no usable mapping (port {}, {} s)",
            grant.external, grant.lifetime
        ));
    }
    Ok(grant)
}

fn silent(err: io::Error) -> Failure {
    Failure::Silent(crate::error::os_reason(&err))
}

/// The reason a failure gives, whichever kind.
fn reason(failure: Failure) -> String {
    match failure {
        Failure::Silent(why) | Failure::Refused(why) => why,
    }
}

/// A datagram talk with the router's port 5351, on a socket of its own connected to it (so
/// that only its replies arrive, and an ICMP "port unreachable" shows as a failure).
fn datagram(router: &Router, request: &[u8], deadline: Instant) -> Result<Talk, Failure> {
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
