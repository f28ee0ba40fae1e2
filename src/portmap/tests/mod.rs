//! The parsers on good, broken and hostile input, and the whole talk with stand-in routers
//! on loopback: a NAT-PMP-only router (the PCP fallback, renewal and deletion), a silent one
//! (the time bound), a hostile one, and a UPnP IGD (discovery, a permanent-only lease).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::http::{self, Url};
use super::talk::Heard;
use super::{
    Failure, Grant, LIFETIME, Method, PortMap, Router, gateway, map, natpmp, pcp, test_lifetime,
    upnp,
};

const PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 20, 1);
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[test]
fn the_default_gateway_is_the_default_routes_with_the_lowest_metric() {
    let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        hl\t000A12C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        wl\t00000000\t010B12C6\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
        hl\t00000000\t010A12C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
        down\t00000000\t010C12C6\t0002\t0\t0\t0\t00000000\t0\t0\t0\n\
        junk line\n";
    let expected = Ipv4Addr::from(0x010A_12C6u32.to_ne_bytes());
    assert_eq!(gateway::from_route_table(table), Some(expected));
    let no_default = "header\nhl\t000A12C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    assert_eq!(gateway::from_route_table(no_default), None);
    assert_eq!(gateway::from_route_table(""), None);
}

#[test]
fn pcp_requests_have_rfc_6887s_layout() {
    let nonce = [7u8; 12];
    let request = pcp::map_request(&nonce, Ipv4Addr::new(198, 18, 10, 2), 4000, 5000, 600);
    assert_eq!(&request[..4], &[2, 1, 0, 0]);
    assert_eq!(&request[4..8], &600u32.to_be_bytes());
    assert_eq!(
        &request[8..24],
        &Ipv4Addr::new(198, 18, 10, 2).to_ipv6_mapped().octets()
    );
    assert_eq!(&request[24..36], &nonce);
    assert_eq!(request[36], 6);
    assert_eq!(&request[40..44], &[0x0f, 0xa0, 0x13, 0x88]);
    assert_eq!(
        &request[44..60],
        &Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets()
    );
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

#[test]
fn pcp_replies_are_read_defensively() {
    let nonce = [9u8; 12];
    let good = pcp_reply(&nonce, 0, 4000, 5001, 300);
    let grant = Grant {
        public: PUBLIC,
        external: 5001,
        lifetime: 300,
    };
    assert_eq!(
        pcp::read_reply(&good, &nonce, 4000),
        Some(pcp::Reply::Granted(grant))
    );
    // Options after the MAP data are skipped.
    let mut with_option = good.clone();
    with_option.extend_from_slice(&[0x80, 0, 0, 4, 1, 2, 3, 4]);
    assert!(matches!(
        pcp::read_reply(&with_option, &nonce, 4000),
        Some(pcp::Reply::Granted(_))
    ));
    // Someone else's reply, another port, a request, junk, every truncation: not ours.
    assert_eq!(pcp::read_reply(&good, &[1u8; 12], 4000), None);
    assert_eq!(pcp::read_reply(&good, &nonce, 4001), None);
    assert_eq!(
        pcp::read_reply(&pcp_reply(&nonce, 0, 4000, 5001, 300)[..1], &nonce, 4000),
        None
    );
    let request = pcp::map_request(&nonce, LOOPBACK, 4000, 5001, 300);
    assert_eq!(pcp::read_reply(&request, &nonce, 4000), None);
    for len in 0..good.len() {
        assert!(
            !matches!(
                pcp::read_reply(&good[..len], &nonce, 4000),
                Some(pcp::Reply::Granted(_))
            ),
            "{len}"
        );
    }
    assert_eq!(pcp::read_reply(&vec![2u8; 2000], &nonce, 4000), None);
    // A refusal, whole or as a bare header, in words.
    let refused = pcp_reply(&nonce, 2, 4000, 5001, 0);
    let Some(pcp::Reply::Refused(why)) = pcp::read_reply(&refused, &nonce, 4000) else {
        panic!("a refusal");
    };
    assert!(why.starts_with("PCP: not authorized"), "{why}");
    assert!(matches!(
        pcp::read_reply(&refused[..24], &nonce, 4000),
        Some(pcp::Reply::Refused(_))
    ));
    // A NAT-PMP-only router's answer.
    let natpmp_only = [0, 0x81, 0, 1, 0, 0, 0, 0];
    assert_eq!(
        pcp::read_reply(&natpmp_only, &nonce, 4000),
        Some(pcp::Reply::NatPmpOnly)
    );
    // An IPv6 external address for an IPv4 mapping.
    let mut v6 = good;
    v6[44..60].copy_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    assert!(matches!(
        pcp::read_reply(&v6, &nonce, 4000),
        Some(pcp::Reply::Refused(_))
    ));
}

#[test]
fn nat_pmp_messages_follow_rfc_6886() {
    assert_eq!(
        natpmp::map_request(4000, 5000, 600),
        [0, 2, 0, 0, 0x0f, 0xa0, 0x13, 0x88, 0, 0, 2, 0x58]
    );
    assert_eq!(
        natpmp::delete_request(4000),
        [0, 2, 0, 0, 0x0f, 0xa0, 0, 0, 0, 0, 0, 0]
    );
    let address = [0, 128, 0, 0, 0, 0, 0, 9, 198, 18, 20, 1];
    assert_eq!(natpmp::read_address_reply(&address), Some(Ok(PUBLIC)));
    assert_eq!(natpmp::read_address_reply(&address[..11]), None);
    let mapped = [
        0, 130, 0, 0, 0, 0, 0, 9, 0x0f, 0xa0, 0x13, 0x89, 0, 0, 0, 60,
    ];
    assert_eq!(natpmp::read_map_reply(&mapped, 4000), Some(Ok((5001, 60))));
    assert_eq!(
        natpmp::read_map_reply(&mapped, 4001),
        None,
        "another port's"
    );
    assert_eq!(
        natpmp::read_map_reply(&mapped[..15], 4000),
        None,
        "cut short"
    );
    assert_eq!(
        natpmp::read_map_reply(&address, 4000),
        None,
        "another opcode"
    );
    let refused = [0, 130, 0, 2];
    let Some(Err(why)) = natpmp::read_map_reply(&refused, 4000) else {
        panic!("a refusal");
    };
    assert!(why.starts_with("NAT-PMP: not authorized"), "{why}");
    assert_eq!(
        natpmp::read_map_reply(&[1, 130, 0, 0], 4000),
        None,
        "another version"
    );
}

#[test]
fn urls_are_an_ipv4_address_and_a_path_fit_for_a_request_line() {
    let url = http::parse_url("http://198.18.10.1:5000/rootDesc.xml").unwrap();
    assert_eq!(url.server, "198.18.10.1:5000".parse().unwrap());
    assert_eq!(url.path, "/rootDesc.xml");
    assert_eq!(
        http::parse_url("http://198.18.10.1").unwrap().server.port(),
        80
    );
    for bad in [
        "https://198.18.10.1/x",
        "http://router.example/x",
        "http://198.18.10.1:0/x",
        "http://198.18.10.1:99999/x",
        "http://198.18.10.1/a b",
        "http://198.18.10.1/a\r\nX-Evil: 1",
        "http://198.18.10.1/\u{e9}",
    ] {
        assert_eq!(http::parse_url(bad), None, "{bad:?}");
    }
}

#[test]
fn http_replies_are_whole_before_they_count() {
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let read = |bytes: &[u8], all| http::read_reply(bytes, all);
    assert_eq!(read(reply, false).unwrap().unwrap().body, b"hello");
    assert!(read(&reply[..40], false).is_none());
    assert!(read(&reply[..40], true).unwrap().is_err());
    let chunked =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nhel\r\n2;x\r\nlo\r\n0\r\n\r\n";
    assert_eq!(read(chunked, false).unwrap().unwrap().body, b"hello");
    assert!(read(&chunked[..60], false).is_none());
    let until_close = b"HTTP/1.0 200 OK\r\n\r\nhello";
    assert!(read(until_close, false).is_none());
    assert_eq!(read(until_close, true).unwrap().unwrap().body, b"hello");
    assert!(read(b"SSH-2.0-OpenSSH\r\n\r\n", true).unwrap().is_err());
    assert!(
        read(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", true)
            .unwrap()
            .is_err()
    );
    let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nx";
    assert!(read(huge, true).unwrap().is_err());
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

#[test]
fn the_wan_service_is_found_and_only_on_the_gateway() {
    let location = Url {
        server: "127.0.0.1:5000".parse().unwrap(),
        path: "/rootDesc.xml".into(),
    };
    let control = upnp::find_control(DESCRIPTION, &location).unwrap();
    assert_eq!(
        control.service,
        "urn:schemas-upnp-org:service:WANIPConnection:1"
    );
    assert_eq!(control.url.path, "/ctl/IPConn");
    assert_eq!(control.url.server, location.server);
    let elsewhere = DESCRIPTION.replace("/ctl/IPConn<", "http://198.18.99.1:80/ctl<");
    assert!(upnp::find_control(&elsewhere, &location).is_err());
    let injected = DESCRIPTION.replace("WANIPConnection:1<", "WANIPConnection:1\"><x<");
    assert!(upnp::find_control(&injected, &location).is_err());
    assert!(upnp::find_control("<root/>", &location).is_err());
    assert!(upnp::find_control(&"<service>".repeat(10_000), &location).is_err());

    let answer = b"HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
        LOCATION: http://198.18.10.1:5000/rootDesc.xml\r\n\r\n";
    let gateway = Ipv4Addr::new(198, 18, 10, 1);
    assert!(upnp::read_search_reply(answer, gateway).is_some());
    assert!(upnp::read_search_reply(answer, Ipv4Addr::new(198, 18, 10, 9)).is_none());
    assert!(upnp::read_search_reply(&answer[..50], gateway).is_none());
}

#[test]
fn soap_faults_give_the_routers_reason_fit_for_a_terminal() {
    let body = "<s:Envelope><s:Body><s:Fault><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">\
        <errorCode>718</errorCode><errorDescription>Conflict\u{1b}[2J In Mapping</errorDescription>\
        </UPnPError></detail></s:Fault></s:Body></s:Envelope>";
    let reply = format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let Some(Ok(upnp::Outcome::Error(code, words))) =
        upnp::read_soap_reply(reply.as_bytes(), false)
    else {
        panic!("a fault");
    };
    assert_eq!((code, words.as_str()), (718, "Conflict[2J In Mapping"));
    assert_eq!(
        upnp::error_text(718, ""),
        "UPnP: the port is already mapped to another host (error 718)"
    );
    let address =
        "<u:GetExternalIPAddressResponse><NewExternalIPAddress>198.18.20.1</NewExternalIPAddress>";
    assert_eq!(upnp::external_address(address), Some(PUBLIC));
    assert_eq!(
        upnp::external_address("<NewExternalIPAddress></NewExternalIPAddress>"),
        None
    );
    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    assert!(upnp::read_soap_reply(not_found, true).unwrap().is_err());
}

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
            for reply in answer(&buf[..n]) {
                let _ = socket.send_to(&reply, from);
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
    }
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// PCP answered by NAT-PMP's "unsupported version": the mapping is made with NAT-PMP, renewed
/// at half its lifetime inside a poll loop, and deleted when the PortMap is dropped.
#[test]
fn a_nat_pmp_router_maps_renews_and_deletes() {
    let stand_in = natpmp_router(2);
    let listening: SocketAddr = (Ipv4Addr::UNSPECIFIED, 4000).into();
    // Asked for 30 s (as TETE_TEST_MAP_LIFETIME would), granted 2: the renewal asks for 30.
    let mapping = map(router(stand_in.port, closed_port()), listening, 5000, 30).unwrap();
    assert_eq!(mapping.method, Method::NatPmp);
    assert_eq!(
        mapping.grant,
        Grant {
            public: PUBLIC,
            external: 5000,
            lifetime: 2
        }
    );
    let seen: Vec<Vec<u8>> = stand_in.requests.try_iter().collect();
    assert_eq!(seen.len(), 3, "PCP, the address, the mapping: {seen:?}");

    let mut portmap = PortMap::keep(mapping, false);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    let start = Instant::now();
    let renewal = loop {
        assert!(start.elapsed() < Duration::from_secs(5), "no renewal");
        let now = Instant::now();
        let timeout = portmap
            .next_deadline()
            .map(|at| at.saturating_duration_since(now));
        poll.poll(&mut events, timeout).unwrap();
        assert_eq!(
            portmap.step(poll.registry(), Token(1), Instant::now()),
            None
        );
        if let Ok(request) = stand_in.requests.try_recv() {
            break (request, start.elapsed());
        }
    };
    assert_eq!(
        renewal.0,
        natpmp::map_request(4000, 5000, 30),
        "{renewal:?}"
    );
    assert!(
        renewal.1 >= Duration::from_millis(900),
        "renewed after {:?}",
        renewal.1
    );
    drop(portmap);
    let deletion = stand_in
        .requests
        .recv_timeout(Duration::from_secs(2))
        .unwrap();
    assert_eq!(deletion, natpmp::delete_request(4000));
    drop(poll);
}

/// TETE_TEST_MAP_LIFETIME: a whole number of seconds, never more than the default; anything
/// else is the default.
#[test]
fn the_test_lifetime_is_whole_seconds_up_to_the_default() {
    let lifetime = |text: &str| test_lifetime(Some(std::ffi::OsStr::new(text)));
    assert_eq!(lifetime("4"), Some(4));
    assert_eq!(lifetime("600"), Some(LIFETIME));
    for refused in ["0", "601", "-1", "1.5", "", " 4", "4s", "99999999999"] {
        assert_eq!(lifetime(refused), None, "{refused:?}");
    }
    assert_eq!(test_lifetime(None), None);
}

/// A router that never answers costs the budget, 3 s, and no more.
#[test]
fn a_silent_router_costs_three_seconds() {
    let pcp = udp_router(Duration::from_secs(6), |_| Vec::new());
    let ssdp = udp_router(Duration::from_secs(6), |_| Vec::new());
    let start = Instant::now();
    let failure = map(
        router(pcp.port, ssdp.port),
        (Ipv4Addr::UNSPECIFIED, 4000).into(),
        4000,
        LIFETIME,
    );
    let took = start.elapsed();
    assert!(matches!(failure, Err(Failure::Silent(_))), "{failure:?}");
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_millis(3500),
        "{took:?}"
    );
    assert!(ssdp.requests.try_iter().count() >= 2, "searched again");
}

/// A router that floods junk and others' replies before refusing: the refusal is heard, in
/// the router's words, within the budget.
#[test]
fn a_hostile_router_is_heard_out_and_refused() {
    let pcp = udp_router(Duration::from_secs(6), |request| {
        let nonce: pcp::Nonce = request
            .get(24..36)
            .and_then(|n| n.try_into().ok())
            .unwrap_or_default();
        let mut replies = vec![
            vec![0xff; 1500],
            vec![2],
            pcp_reply(&[0; 12], 0, 4000, 4000, 600),
        ];
        replies.extend((0..100).map(|i| vec![i as u8; i]));
        replies.push(pcp_reply(&nonce, 8, 4000, 4000, 0));
        replies
    });
    let start = Instant::now();
    let failure = map(
        router(pcp.port, closed_port()),
        (Ipv4Addr::UNSPECIFIED, 4000).into(),
        4000,
        LIFETIME,
    );
    assert!(start.elapsed() < Duration::from_millis(3500));
    assert_eq!(
        failure.unwrap_err(),
        Failure::Refused("PCP: the router is out of resources".into())
    );
}

/// A flood from the router is read 64 datagrams a step: the relay's loop, which steps a
/// renewal's talk at each turn, gets its turn back in between, and the answer behind the flood
/// is still heard.
#[test]
fn a_flood_is_read_a_step_at_a_time() {
    let stand_in = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    stand_in
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let port = stand_in.local_addr().unwrap().port();
    let nonce = [7u8; 12];
    let request = pcp::map_request(&nonce, LOOPBACK, 4000, 4000, 600);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut talk = super::datagram(router(port, closed_port()), &request, deadline).unwrap();
    let mut judge = |reply: &[u8], _| pcp::read_reply(reply, &nonce, 4000).map(Ok);
    assert!(matches!(
        talk.step(Instant::now(), &mut judge),
        Heard::Waiting
    ));
    let mut buf = [0u8; 100];
    let (n, client) = stand_in.recv_from(&mut buf).unwrap();
    assert_eq!(buf[..n], request);
    // On loopback each datagram is queued at the client before send_to returns.
    for _ in 0..100 {
        stand_in.send_to(&[0xff; 60], client).unwrap();
    }
    stand_in
        .send_to(&pcp_reply(&nonce, 0, 4000, 4000, 600), client)
        .unwrap();
    let mut steps = 1;
    let reply = loop {
        match talk.step(Instant::now(), &mut judge) {
            Heard::Waiting => steps += 1,
            Heard::Answer(reply) => break reply,
            Heard::Failed(failure) => panic!("{failure:?}"),
        }
        assert!(steps < 10, "no answer");
    };
    assert!(matches!(reply, pcp::Reply::Granted(_)), "{reply:?}");
    assert_eq!(steps, 2, "101 datagrams: 64, then the rest");
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
            let _ = stream.write_all(&answer(&request));
            let _ = seen.send(request);
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

/// A UPnP IGD (nothing on port 5351): discovery, the description, the external address, a
/// router that takes only permanent leases (so a second AddPortMapping without one), no
/// renewals, and DeletePortMapping at the end.
#[test]
fn a_upnp_router_maps_with_a_permanent_lease_and_deletes() {
    let (http_port, requests) = http_router(|request| {
        if request.starts_with("GET /rootDesc.xml") {
            ok(DESCRIPTION)
        } else if request.contains("#GetExternalIPAddress") {
            ok("<NewExternalIPAddress>198.18.20.1</NewExternalIPAddress>")
        } else if request.contains("<NewLeaseDuration>600<") {
            let fault = "<errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription>";
            format!(
                "HTTP/1.1 500 Error\r\nContent-Length: {}\r\n\r\n{fault}",
                fault.len()
            )
            .into_bytes()
        } else {
            ok("<u:Done/>")
        }
    });
    let location =
        format!("HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:{http_port}/rootDesc.xml\r\n\r\n");
    let ssdp = udp_router(Duration::from_secs(6), move |_| {
        vec![location.clone().into_bytes()]
    });
    let start = Instant::now();
    let mapping = map(
        router(closed_port(), ssdp.port),
        (Ipv4Addr::UNSPECIFIED, 4000).into(),
        5000,
        LIFETIME,
    )
    .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(mapping.method, Method::Upnp(_)));
    assert_eq!(
        mapping.grant,
        Grant {
            public: PUBLIC,
            external: 5000,
            lifetime: 0
        }
    );
    let seen: Vec<String> = requests.try_iter().collect();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let add = &seen[3];
    for argument in [
        "<NewExternalPort>5000<",
        "<NewInternalPort>4000<",
        "<NewInternalClient>127.0.0.1<",
        "<NewLeaseDuration>0<",
    ] {
        assert!(add.contains(argument), "{argument} in {add}");
    }
    let portmap = PortMap::keep(mapping, true);
    assert_eq!(
        portmap.next_deadline(),
        None,
        "a permanent lease is not renewed"
    );
    drop(portmap);
    let delete = requests.recv_timeout(Duration::from_secs(2)).unwrap();
    assert!(
        delete.contains("#DeletePortMapping") && delete.contains("<NewExternalPort>5000<"),
        "{delete}"
    );
}

/// A router whose description never ends: the talk stops at 64 KiB, at once.
#[test]
fn an_endless_reply_is_cut_off() {
    let (http_port, _requests) = http_router(|_| {
        let mut endless = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        endless.resize(200_000, b'x');
        endless
    });
    let location =
        format!("HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:{http_port}/d.xml\r\n\r\n");
    let ssdp = udp_router(Duration::from_secs(6), move |_| {
        vec![location.clone().into_bytes()]
    });
    let failure = map(
        router(closed_port(), ssdp.port),
        (Ipv4Addr::UNSPECIFIED, 4000).into(),
        4000,
        LIFETIME,
    );
    assert_eq!(
        failure.unwrap_err(),
        Failure::Refused("the router's reply is over 65536 bytes".into())
    );
}

#[test]
fn a_listener_on_another_address_is_not_mapped() {
    let failure = map(
        router(closed_port(), closed_port()),
        (Ipv4Addr::new(127, 0, 0, 2), 4000).into(),
        4000,
        LIFETIME,
    );
    let Err(Failure::Refused(why)) = failure else {
        panic!("{failure:?}");
    };
    assert!(why.contains("tete listens on 127.0.0.2 only"), "{why}");
}
