//! Public addresses a router may announce that no partner could reach this host at: refused
//! with what the router said, never given out; the mapping, if one was made, removed. Private
//! and shared addresses are given out, with the warning that the router is behind a NAT.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::super::said;
use super::super::{Failure, Grant, LIFETIME, Mapping, Method, pcp};
use super::{
    ANYWHERE, LOOPBACK, PUBLIC, closed_port, map, no_upnp, nonce_of, pcp_reply, router, udp_router,
};

#[test]
fn addresses_no_partner_can_reach_are_named() {
    let mut stand_in = router(5351, 1900);
    stand_in.gateway = Ipv4Addr::new(198, 18, 7, 1);
    stand_in.on_link = vec![(
        Ipv4Addr::new(198, 18, 7, 0),
        Ipv4Addr::new(255, 255, 255, 0),
    )];
    let client = Ipv4Addr::new(198, 18, 8, 2);
    for (address, what) in [
        ("0.0.0.0", "an unspecified address"),
        ("0.1.2.3", "an unspecified address"),
        ("127.0.0.1", "a loopback address"),
        ("255.255.255.255", "the broadcast address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("169.254.1.1", "a link-local address"),
        ("198.18.8.2", "this host's own address"),
        ("198.18.7.1", "the router's own address on the LAN"),
        ("198.18.7.3", "an address on this host's own network"),
    ] {
        let address: Ipv4Addr = address.parse().unwrap();
        let why = said::unreachable(address, &stand_in, client).unwrap_or_default();
        assert!(
            why.contains(&format!(
                "public address is {address}, {what}, which no partner"
            )),
            "{address}: {why:?}"
        );
    }
    for reachable in ["198.18.20.1", "10.0.0.1", "192.168.1.1", "100.64.0.1"] {
        let address: Ipv4Addr = reachable.parse().unwrap();
        assert_eq!(
            said::unreachable(address, &stand_in, client),
            None,
            "{reachable}"
        );
    }
}

/// The partner's command for a public address, and for private and shared ones the warning.
#[test]
fn private_and_shared_addresses_keep_their_warning() {
    let line = |public: Ipv4Addr| {
        let grant = Grant {
            public,
            external: 5000,
            lifetime: 600,
        };
        let mapping = Mapping {
            method: Method::NatPmp,
            router: router(5351, 1900),
            client: LOOPBACK,
            internal: 4000,
            lifetime: 600,
            grant,
        };
        said::opened(&mapping, true, "")
    };
    let public = line(PUBLIC);
    assert!(
        public.ends_with("the partner runs: tete -P 198.18.20.1 5000"),
        "{public}"
    );
    assert!(!public.contains("not a public address"), "{public}");
    for behind_a_nat in [Ipv4Addr::new(192, 168, 1, 2), Ipv4Addr::new(100, 64, 0, 1)] {
        let line = line(behind_a_nat);
        assert!(line.contains("is not a public address"), "{line}");
        assert!(
            line.contains(&format!("tete -P {behind_a_nat} 5000")),
            "{line}"
        );
    }
}

/// A PCP router that grants the mapping on 127.0.0.1: refused in a line that says what the
/// router said, no partner's command; and the mapping made is deleted.
#[test]
fn a_pcp_grant_on_loopback_is_refused_and_removed() {
    let stand_in = udp_router(Duration::from_secs(6), |request| {
        let mut reply = pcp_reply(&nonce_of(request), 0, 4000, 4000, 600);
        reply[44..60].copy_from_slice(&LOOPBACK.to_ipv6_mapped().octets());
        vec![reply]
    });
    let (lines, mut portmap, _poll) = super::said_by(
        router(stand_in.port, closed_port()),
        1,
        Duration::from_secs(2),
    );
    let [line] = &lines[..] else {
        panic!("{lines:?}");
    };
    assert!(
        line.contains(
            "did not open port 4000 (PCP: the router says its public address is \
             127.0.0.1, a loopback address, which no partner can reach: not given out)"
        ),
        "{line}"
    );
    assert!(!line.contains("partner runs"), "{line}");
    assert_eq!(portmap.remove(), None);
    let asked: Vec<Vec<u8>> = stand_in.requests.try_iter().collect();
    let nonce = nonce_of(&asked[0]);
    let deletion = pcp::map_request(&nonce, LOOPBACK, 4000, 4000, 0).to_vec();
    assert!(asked.contains(&deletion), "{asked:?}");
}

/// A NAT-PMP router that names a link-local address: no mapping is asked for.
#[test]
fn a_nat_pmp_router_naming_a_link_local_address_maps_nothing() {
    let stand_in = udp_router(Duration::from_secs(6), |request| match request {
        [2, ..] => vec![vec![0, 0x81, 0, 1, 0, 0, 0, 1]],
        [0, 0] => vec![vec![0, 128, 0, 0, 0, 0, 0, 1, 169, 254, 1, 1]],
        _ => Vec::new(),
    });
    let failure = map(
        router(stand_in.port, no_upnp().port),
        ANYWHERE,
        4000,
        LIFETIME,
    );
    let Err(Failure::Refused(why)) = failure else {
        panic!("{failure:?}");
    };
    assert!(why.starts_with("NAT-PMP: the router says its public address is 169.254.1.1"));
    let asked: Vec<Vec<u8>> = stand_in.requests.try_iter().collect();
    assert!(
        asked.iter().all(|request| request[..2] != [0, 2]),
        "{asked:?}"
    );
}

/// A UPnP IGD that names a multicast address (as /tmp/attack/fakeigd.py's lie did): refused
/// before any AddPortMapping.
#[test]
fn a_upnp_router_naming_a_multicast_address_maps_nothing() {
    let (ssdp, requests) = super::igd("224.0.0.1");
    let failure = map(router(closed_port(), ssdp.port), ANYWHERE, 4000, LIFETIME);
    let Err(Failure::Refused(why)) = failure else {
        panic!("{failure:?}");
    };
    assert!(
        why.contains("UPnP: the router says its public address is 224.0.0.1"),
        "{why}"
    );
    let seen: Vec<String> = requests.try_iter().collect();
    assert!(
        seen.iter()
            .all(|request| !request.contains("AddPortMapping")),
        "{seen:#?}"
    );
}
