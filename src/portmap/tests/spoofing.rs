//! A host on the LAN that answers for the router without seeing its requests (a blind
//! spoofer, as /tmp/attack/spoof.c was): its NAT-PMP answers are not believed once anything
//! shows that someone other than the router answers; PCP's nonce wins over a forged cue.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::Duration;

use super::super::{Failure, Grant, LIFETIME, Method, pcp};
use super::{
    ANYWHERE, PUBLIC, closed_port, map, no_upnp, nonce_of, pcp_reply, router, udp_router,
    udp_router_from,
};

/// The spoofer's public address and port.
const FAKE: [u8; 4] = [198, 19, 66, 66];
const FAKE_PORT: [u8; 2] = [0x11, 0x5c];

/// The spoofer's three datagrams, as spoof.c sends them to every port: a cue (with `opcode`),
/// an external address, and a mapping of port 4000.
fn sprayed(opcode: u8) -> Vec<Vec<u8>> {
    let mut address = vec![0, 128, 0, 0, 0, 0, 0, 0];
    address.extend(FAKE);
    let mut mapped = vec![0, 130, 0, 0, 0, 0, 0, 0, 0x0f, 0xa0];
    mapped.extend(FAKE_PORT);
    mapped.extend([0, 0, 2, 0x58]);
    vec![vec![0, opcode, 0, 1], address, mapped]
}

/// What the spoofer of /tmp/attack/spoof_poc.sh sends (a cue of a made-up opcode), and the same
/// with the right one, to every request on port 5351, for a router that does not answer there:
/// tete believes none of it, asks no NAT-PMP mapping, and says why.
#[test]
fn a_blind_spoofers_nat_pmp_answers_are_not_believed() {
    let upnp = no_upnp();
    let spoofers = [0xff, 0x81].map(|opcode| {
        let spoofer = udp_router(Duration::from_secs(6), move |_| sprayed(opcode));
        let router = router(spoofer.port, upnp.port);
        let asking = thread::spawn(move || map(router, ANYWHERE, 4000, LIFETIME));
        (opcode, spoofer, asking)
    });
    for (opcode, spoofer, asking) in spoofers {
        let failure = asking.join().unwrap();
        let Err(Failure::Refused(why)) = failure else {
            panic!("{opcode:#x}: {failure:?}");
        };
        assert!(why.contains("posing as the router"), "{why}");
        let asked: Vec<Vec<u8>> = spoofer.requests.try_iter().collect();
        assert!(
            asked.iter().all(|request| request[..2] != [0, 2]),
            "{opcode:#x}: a NAT-PMP mapping was asked for: {asked:?}"
        );
    }
}

/// A forged cue comes before the router's PCP answer, and NAT-PMP starts: the PCP answer with
/// the nonce, when it comes, wins over whatever NAT-PMP heard.
#[test]
fn a_pcp_answer_wins_over_a_forged_cue() {
    let mut pcp_client: Option<(SocketAddr, pcp::Nonce)> = None;
    let stand_in = udp_router_from(Duration::from_secs(6), move |request, from| {
        match request {
            [2, ..] => {
                pcp_client = Some((from, nonce_of(request)));
                vec![(from, vec![0, 0x81, 0, 1, 0, 0, 0, 1])]
            }
            // The router answers PCP late, as NAT-PMP is asked (by the spoofer, falsely).
            [0, 0] => {
                let mut fake = vec![0, 128, 0, 0, 0, 0, 0, 1];
                fake.extend(FAKE);
                let mut replies = vec![(from, fake)];
                if let Some((client, nonce)) = pcp_client {
                    replies.push((client, pcp_reply(&nonce, 0, 4000, 4000, 600)));
                }
                replies
            }
            _ => Vec::new(),
        }
    });
    let mapping = map(router(stand_in.port, closed_port()), ANYWHERE, 4000, 600).unwrap();
    assert!(matches!(mapping.method, Method::Pcp(_)), "{mapping:?}");
    let grant = Grant {
        public: PUBLIC,
        external: 4000,
        lifetime: 600,
    };
    assert_eq!(mapping.grant, grant);
}

/// A NAT-PMP-only router, with `address` sending these answers to the address request, and
/// the mapping's answer from `mapped`.
fn natpmp_answering(
    address: impl Fn() -> Vec<Vec<u8>> + Send + 'static,
    mapped: Vec<u8>,
) -> super::StandIn {
    udp_router(Duration::from_secs(6), move |request| match request {
        [2, ..] => vec![vec![0, 0x81, 0, 1, 0, 0, 0, 5]],
        [0, 0] => address(),
        [0, 2, ..] => vec![mapped.clone()],
        _ => Vec::new(),
    })
}

fn address_reply(epoch: u32, address: [u8; 4]) -> Vec<u8> {
    let mut reply = vec![0, 128, 0, 0];
    reply.extend(epoch.to_be_bytes());
    reply.extend(address);
    reply
}

/// NAT-PMP answers that disagree (two addresses, a clock that jumps) or answer what was not
/// asked (another port's mapping) show that someone else answers too: none is believed.
#[test]
fn nat_pmp_answers_that_disagree_are_not_believed() {
    let mapped = |port: u16| {
        let mut reply = vec![0, 130, 0, 0, 0, 0, 0, 5];
        reply.extend(port.to_be_bytes());
        reply.extend([0x0f, 0xa0, 0, 0, 2, 0x58]);
        reply
    };
    let public = PUBLIC.octets();
    let cases: [(super::StandIn, &str); 3] = [
        (
            natpmp_answering(
                move || vec![address_reply(5, public), address_reply(5, FAKE)],
                mapped(4000),
            ),
            "disagree with each other",
        ),
        (
            natpmp_answering(move || vec![address_reply(50_000, public)], mapped(4000)),
            "whose clocks disagree",
        ),
        (
            natpmp_answering(move || vec![address_reply(5, public)], mapped(4001)),
            "questions tete did not ask",
        ),
    ];
    let upnp = no_upnp();
    let asking: Vec<_> = cases
        .into_iter()
        .map(|(stand_in, said)| {
            let router = router(stand_in.port, upnp.port);
            (
                thread::spawn(move || map(router, ANYWHERE, 4000, 600)),
                said,
            )
        })
        .collect();
    // The same router, agreeing with itself: mapped.
    let honest = natpmp_answering(move || vec![address_reply(5, public)], mapped(4000));
    let mapping = map(router(honest.port, upnp.port), ANYWHERE, 4000, 600).unwrap();
    for (asking, said) in asking {
        let failure = asking.join().unwrap();
        let Err(Failure::Refused(why)) = failure else {
            panic!("{said}: {failure:?}");
        };
        assert!(
            why.contains(said) && why.contains("posing as the router"),
            "{said}: {why}"
        );
    }
    assert_eq!(mapping.method, Method::NatPmp);
    assert_eq!(mapping.grant.public, Ipv4Addr::from(public));
}
