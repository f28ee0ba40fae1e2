//! Stand-in routers on loopback, driven as the relay's loop drives them: a NAT-PMP-only router
//! (the PCP fallback, renewal and deletion), a silent one (the time bound), a hostile one, a
//! UPnP IGD (discovery, a permanent-only lease); the time each protocol gets; and what is
//! removed when tete ends while the router is being asked.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::super::talk::Heard;
use super::super::{Failure, Grant, LIFETIME, Method, PortMap, natpmp, pcp};
use super::{
    ANYWHERE, DESCRIPTION, LOOPBACK, PUBLIC, closed_port, http_router, map, natpmp_router, no_upnp,
    nonce_of, ok, pcp_reply, router, ssdp_pointing_at, udp_router,
};

/// PCP answered by NAT-PMP's "unsupported version": the mapping is made with NAT-PMP, renewed
/// at half its lifetime inside a poll loop, and deleted when the PortMap is dropped.
#[test]
fn a_nat_pmp_router_maps_renews_and_deletes() {
    let stand_in = natpmp_router(2);
    // Asked for 30 s (as TETE_TEST_MAP_LIFETIME would), granted 2: the renewal asks for 30.
    let mapping = map(router(stand_in.port, closed_port()), ANYWHERE, 5000, 30).unwrap();
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

/// A router that never answers costs the budget, 3 s, and no more.
#[test]
fn a_silent_router_costs_three_seconds() {
    let pcp = udp_router(Duration::from_secs(6), |_| Vec::new());
    let ssdp = udp_router(Duration::from_secs(6), |_| Vec::new());
    let start = Instant::now();
    let failure = map(router(pcp.port, ssdp.port), ANYWHERE, 4000, LIFETIME);
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
        let nonce = nonce_of(request);
        let refused = pcp_reply(&nonce, 2, 4000, 4000, 0);
        let mut replies = vec![
            vec![0xff; 1500],
            vec![2],
            pcp_reply(&[0; 12], 0, 4000, 4000, 600),
            // A bare header, without the nonce: nobody's answer.
            refused[..24].to_vec(),
        ];
        replies.extend((0..100).map(|i| vec![i as u8; i]));
        replies.push(pcp_reply(&nonce, 8, 4000, 4000, 0));
        replies
    });
    let start = Instant::now();
    let failure = map(router(pcp.port, no_upnp().port), ANYWHERE, 4000, LIFETIME);
    assert!(start.elapsed() < Duration::from_millis(3500));
    let Err(Failure::Refused(why)) = failure else {
        panic!("{failure:?}");
    };
    assert!(
        why.starts_with("PCP: the router is out of resources; UPnP"),
        "{why}"
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
    let mut talk =
        super::super::datagram(&router(port, closed_port()), &request, deadline).unwrap();
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
    let ssdp = ssdp_pointing_at(http_port, "/rootDesc.xml");
    let start = Instant::now();
    let mapping = map(router(closed_port(), ssdp.port), ANYWHERE, 5000, LIFETIME).unwrap();
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
    let ssdp = ssdp_pointing_at(http_port, "/d.xml");
    let failure = map(router(closed_port(), ssdp.port), ANYWHERE, 4000, LIFETIME);
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

/// A router that answers PCP with NAT-PMP's cue, and then nothing: NAT-PMP gets its second
/// from the cue (it asks again), then UPnP IGD its turn, which maps the port.
#[test]
fn after_the_cue_nat_pmp_and_then_upnp_get_their_time() {
    let cue_only = udp_router(Duration::from_secs(6), |request| match request {
        [2, ..] => vec![vec![0, 0x81, 0, 1, 0, 0, 0, 1]],
        _ => Vec::new(),
    });
    let (ssdp, _requests) = super::igd("198.18.20.1");
    let start = Instant::now();
    let mapping = map(router(cue_only.port, ssdp.port), ANYWHERE, 4000, LIFETIME).unwrap();
    let took = start.elapsed();
    assert!(matches!(mapping.method, Method::Upnp(_)), "{mapping:?}");
    assert_eq!(mapping.grant.public, PUBLIC);
    let asked: Vec<Vec<u8>> = cue_only.requests.try_iter().collect();
    let addresses = asked
        .iter()
        .filter(|r| r[..] == natpmp::ADDRESS_REQUEST)
        .count();
    assert!(addresses >= 3, "NAT-PMP asked again: {asked:?}");
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

/// tete ends while the router is being asked: the requests that may have mapped the port get
/// their deletion at once (PCP's with its nonce, NAT-PMP's), and nothing waits for an answer.
#[test]
fn ending_while_the_router_is_asked_removes_what_it_may_have_mapped() {
    let silent = udp_router(Duration::from_secs(6), |_| Vec::new());
    let (lines, mut portmap, _poll) = super::said_by(router(silent.port, closed_port()), 1, {
        Duration::from_millis(100)
    });
    assert!(lines.is_empty(), "{lines:?}");
    let first = silent
        .requests
        .recv_timeout(Duration::from_secs(1))
        .unwrap();
    let start = Instant::now();
    assert_eq!(portmap.remove(), None);
    assert!(
        start.elapsed() < Duration::from_millis(50),
        "{:?}",
        start.elapsed()
    );
    let deletion = silent
        .requests
        .recv_timeout(Duration::from_secs(1))
        .unwrap();
    let nonce = nonce_of(&first);
    assert_eq!(
        deletion,
        pcp::map_request(&nonce, LOOPBACK, 4000, 4000, 0),
        "PCP's deletion, with the request's nonce"
    );

    // A NAT-PMP router that has said its address, and not yet granted the mapping.
    let natpmp_router = udp_router(Duration::from_secs(6), |request| match request {
        [2, ..] => vec![vec![0, 0x81, 0, 1, 0, 0, 0, 1]],
        [0, 0] => vec![vec![0, 128, 0, 0, 0, 0, 0, 1, 198, 18, 20, 1]],
        _ => Vec::new(),
    });
    let stand_in = router(natpmp_router.port, closed_port());
    let (_, mut portmap, _poll) = super::said_by(stand_in, 1, Duration::from_millis(200));
    let asked: Vec<Vec<u8>> = natpmp_router.requests.try_iter().collect();
    assert!(
        asked.contains(&natpmp::map_request(4000, 4000, 600).to_vec()),
        "{asked:?}"
    );
    assert_eq!(portmap.remove(), None);
    let deleted = natpmp::delete_request(4000).to_vec();
    let mut seen = Vec::new();
    while !seen.contains(&deleted) {
        let request = natpmp_router.requests.recv_timeout(Duration::from_secs(1));
        seen.push(request.unwrap_or_else(|_| panic!("no deletion: {seen:?}")));
    }
}
