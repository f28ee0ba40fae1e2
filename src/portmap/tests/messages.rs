//! The messages: PCP's and NAT-PMP's datagrams, HTTP and SOAP, the route table, read on good,
//! broken and hostile input.

use std::net::Ipv4Addr;

use super::super::http::{self, Url};
use super::super::{Grant, LIFETIME, gateway, natpmp, pcp, test_lifetime, upnp};
use super::{DESCRIPTION, LOOPBACK, PUBLIC, pcp_reply};

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
    let lan = Ipv4Addr::from(0x000A_12C6u32.to_ne_bytes());
    let mask = Ipv4Addr::new(255, 255, 255, 0);
    assert_eq!(gateway::on_link(table), [(lan, mask)]);
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
    // Every reply must carry the nonce: a bare header, even a refusal, is no one's answer; so
    // is NAT-PMP's "unsupported version" (which natpmp::classify reads as the cue).
    assert_eq!(pcp::read_reply(&refused[..24], &nonce, 4000), None);
    let natpmp_only = [0, 0x81, 0, 1, 0, 0, 0, 0];
    assert_eq!(pcp::read_reply(&natpmp_only, &nonce, 4000), None);
    // A PCP server of another version, with the nonce: NAT-PMP may do.
    let mut other_version = pcp_reply(&nonce, 1, 4000, 5001, 0);
    other_version[0] = 1;
    assert_eq!(
        pcp::read_reply(&other_version, &nonce, 4000),
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

/// What a datagram from port 5351 is: the cue only as NAT-PMP's answer to PCP's MAP opcode,
/// with the router's clock read from every reply.
#[test]
fn nat_pmp_replies_are_told_apart_with_their_clock() {
    use natpmp::Message;
    let cue = [0, 0x81, 0, 1, 0, 0, 0, 7];
    assert_eq!(natpmp::classify(&cue), Some((Message::Cue, Some(7))));
    assert_eq!(natpmp::classify(&cue[..4]), Some((Message::Cue, None)));
    // The attacker's cue of /tmp/attack/spoof.c: another opcode, no cue.
    let forged = [0, 0xff, 0, 1];
    assert_eq!(natpmp::classify(&forged), Some((Message::Other, None)));
    assert_eq!(
        natpmp::classify(&[0, 0x81, 0, 0, 0, 0, 0, 7]),
        Some((Message::Other, Some(7)))
    );
    let address = [0, 128, 0, 0, 0, 0, 0, 9, 198, 18, 20, 1];
    assert_eq!(
        natpmp::classify(&address),
        Some((Message::Address(Ok(PUBLIC)), Some(9)))
    );
    let mapped = [
        0, 130, 0, 0, 0, 0, 0, 9, 0x0f, 0xa0, 0x13, 0x89, 0, 0, 0, 60,
    ];
    let map = Message::Map {
        internal: Some(4000),
        granted: Ok((5001, 60)),
    };
    assert_eq!(natpmp::classify(&mapped), Some((map, Some(9))));
    let short_refusal = Message::Map {
        internal: None,
        granted: Err("NAT-PMP: the router is out of resources".into()),
    };
    assert_eq!(
        natpmp::classify(&[0, 130, 0, 4]),
        Some((short_refusal, None))
    );
    // Requests, other versions, a success cut short: no reply.
    for datagram in [&[0u8, 2][..], &[2, 0x81, 0, 1], &address[..11], &[0, 128]] {
        assert_eq!(natpmp::classify(datagram), None, "{datagram:?}");
    }
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
