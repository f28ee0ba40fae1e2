//! The parsers on good, broken and hostile input ([`messages`]), and the whole talk with
//! stand-in routers on loopback, driven as the relay's loop drives it: routers that answer,
//! stay silent or misbehave, and the time each protocol gets ([`routers`]); a host that
//! answers for the router ([`spoofing`]); public addresses no partner can reach
//! ([`addresses`]).

mod addresses;
mod messages;
mod routers;
mod spoofing;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::opening::{Opened, Opening};
use super::{Failure, Mapping, PortMap, Router, pcp};

const PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 20, 1);
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
const TOKEN: Token = Token(1);
/// Listening on all addresses, port 4000.
const ANYWHERE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 4000);

/// Asks `router` for the mapping as the relay's loop does: the opening's sockets polled, and
/// the opening stepped after each poll, until it is done (10 s at most).
fn map(
    router: Router,
    listening: SocketAddr,
    wanted: u16,
    lifetime: u32,
) -> Result<Mapping, Failure> {
    let mut poll = Poll::new().unwrap();
    let mut opening = Opening::begin(router, listening, wanted, lifetime, poll.registry(), TOKEN)
        .map_err(Failure::Refused)?;
    let mut events = Events::with_capacity(8);
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(10), "never done");
        match opening.step(poll.registry(), TOKEN, Instant::now()) {
            Opened::Waiting => {}
            Opened::Mapped(mapping) => return Ok(mapping),
            Opened::Failed(failure) => return Err(failure),
        }
        let timeout = opening
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout).unwrap();
    }
}

/// `--map-port` as the relay runs it, against `router`, for port 4000 (plain mode): the
/// lines it says, until `enough` of them or `limit` has passed; and the mapping, to remove.
fn said_by(router: Router, enough: usize, limit: Duration) -> (Vec<String>, PortMap, Poll) {
    let mut poll = Poll::new().unwrap();
    let opening = Opening::begin(router, ANYWHERE, 4000, 600, poll.registry(), TOKEN).unwrap();
    let mut portmap = PortMap::opening(opening, false);
    let mut events = Events::with_capacity(8);
    let mut lines = Vec::new();
    let start = Instant::now();
    while lines.len() < enough && start.elapsed() < limit {
        lines.extend(portmap.step(poll.registry(), TOKEN, Instant::now()));
        let timeout = portmap
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()).min(limit));
        poll.poll(&mut events, timeout).unwrap();
    }
    (lines, portmap, poll)
}

/// The nonce of a PCP request (zeros if it is none).
fn nonce_of(request: &[u8]) -> pcp::Nonce {
    request
        .get(24..36)
        .and_then(|nonce| nonce.try_into().ok())
        .unwrap_or_default()
}

/// A PCP MAP reply for `internal` with `result`, `lifetime`, `external` and `public`.
fn pcp_reply(
    nonce: &pcp::Nonce,
    result: u8,
    internal: u16,
    external: u16,
    lifetime: u32,
) -> Vec<u8> {
    let mut reply = pcp::map_request(nonce, LOOPBACK, internal, external, lifetime).to_vec();
    reply[1] = 0x81;
    reply[3] = result;
    reply[44..60].copy_from_slice(&PUBLIC.to_ipv6_mapped().octets());
    reply
}

/// A description as miniupnpd writes it, with the WAN service nested two devices down.
const DESCRIPTION: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceList><device><serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL>
</service></serviceList></device></deviceList></device></deviceList></device></root>"#;

/// A UDP socket on loopback standing in for the router's port 5351 (or its SSDP port), and
/// the requests it has seen.
struct StandIn {
    port: u16,
    requests: Receiver<Vec<u8>>,
}

/// Serves datagrams with `answer` (what to send back to each, if anything) for `life`.
fn udp_router(
    life: Duration,
    mut answer: impl FnMut(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
) -> StandIn {
    udp_router_from(life, move |request, from| {
        answer(request)
            .into_iter()
            .map(|reply| (from, reply))
            .collect()
    })
}

/// An SSDP stand-in whose every answer points at `path` on the HTTP stand-in at `http_port`.
fn ssdp_pointing_at(http_port: u16, path: &str) -> StandIn {
    let location =
        format!("HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:{http_port}{path}\r\n\r\n");
    udp_router(Duration::from_secs(6), move |_| {
        vec![location.clone().into_bytes()]
    })
}

/// Serves datagrams with `answer`, which also sees where each came from, and says where each
/// reply goes.
fn udp_router_from(
    life: Duration,
    mut answer: impl FnMut(&[u8], SocketAddr) -> Vec<(SocketAddr, Vec<u8>)> + Send + 'static,
) -> StandIn {
    let socket = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let (seen, requests) = mpsc::channel();
    thread::spawn(move || {
        let end = Instant::now() + life;
        let mut buf = [0u8; 2048];
        while Instant::now() < end {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let _ = seen.send(buf[..n].to_vec());
            for (to, reply) in answer(&buf[..n], from) {
                let _ = socket.send_to(&reply, to);
            }
        }
    });
    StandIn { port, requests }
}

/// A router that speaks NAT-PMP only, granting `lifetime` seconds.
fn natpmp_router(lifetime: u32) -> StandIn {
    udp_router(Duration::from_secs(10), move |request| match request {
        [2, ..] => vec![vec![0, 0x81, 0, 1, 0, 0, 0, 0]],
        [0, 0] => vec![vec![0, 128, 0, 0, 0, 0, 0, 1, 198, 18, 20, 1]],
        [0, 2, 0, 0, internal @ .., _, _, _, _] if request.len() == 12 => {
            let [a, b, c, d] = lifetime.to_be_bytes();
            let external = [request[6], request[7]];
            vec![vec![
                0,
                130,
                0,
                0,
                0,
                0,
                0,
                1,
                internal[0],
                internal[1],
                external[0],
                external[1],
                a,
                b,
                c,
                d,
            ]]
        }
        _ => Vec::new(),
    })
}

fn router(pcp_port: u16, ssdp_port: u16) -> Router {
    Router {
        gateway: LOOPBACK,
        pcp_port,
        ssdp_port,
        multicast: false,
        on_link: Vec::new(),
    }
}

/// A UPnP IGD that fails at once: its search answered, its description on a TCP port nothing
/// listens on. For the tests whose subject is port 5351, which need not wait UPnP's share.
fn no_upnp() -> StandIn {
    let closed = TcpListener::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let location = format!("HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:{closed}/d.xml\r\n\r\n");
    udp_router(Duration::from_secs(10), move |_| {
        vec![location.clone().into_bytes()]
    })
}

/// A UPnP IGD that says its external address is `external` and does whatever it is asked: its
/// SSDP port, and the HTTP requests it has seen.
fn igd(external: &'static str) -> (StandIn, Receiver<String>) {
    let (http_port, requests) = http_router(move |request| {
        if request.starts_with("GET /rootDesc.xml") {
            ok(DESCRIPTION)
        } else if request.contains("#GetExternalIPAddress") {
            ok(&format!(
                "<NewExternalIPAddress>{external}</NewExternalIPAddress>"
            ))
        } else {
            ok("<u:Done/>")
        }
    });
    let ssdp = ssdp_pointing_at(http_port, "/rootDesc.xml");
    (ssdp, requests)
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves HTTP on loopback: each connection's request goes to `answer`, whose reply is
/// written back. The requests are seen on the channel.
fn http_router(
    mut answer: impl FnMut(&str) -> Vec<u8> + Send + 'static,
) -> (u16, Receiver<String>) {
    let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen, requests) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { break };
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n")
                    && (head.starts_with("GET") || body.ends_with("</s:Envelope>\r\n"))
                {
                    break;
                }
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            let _ = seen.send(request.clone()); // before the answer, which lets the test look
            let _ = stream.write_all(&answer(&request));
        }
    });
    (port, requests)
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
