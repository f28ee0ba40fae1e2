//! Scripted proxy replies for every protocol: success, each refusal, truncated and garbage
//! replies, bytes after the reply, credentials. Every reply is also fed one byte at a time.

use super::http::base64;
use super::*;

const SOCKS5_GRANTED_V4: &[u8] = &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90];

fn proxy(protocol: Protocol) -> Proxy {
    Proxy {
        protocol,
        host: "127.0.0.1".into(),
        port: protocol.default_port(),
        credentials: None,
    }
}

fn with_credentials(protocol: Protocol, value: &[u8]) -> Proxy {
    Proxy {
        credentials: Some(Credentials::parse(value).unwrap()),
        ..proxy(protocol)
    }
}

/// Starts a handshake to `host:port`; returns it and its first request.
fn start(proxy: &Proxy, host: &str, port: u16) -> (ProxyHandshake, Vec<u8>) {
    let mut out = Vec::new();
    let handshake = ProxyHandshake::new(proxy, host, port, &mut out).unwrap();
    (handshake, out)
}

/// Feeds `reply` whole and, on a second handshake, one byte at a time; both must agree.
/// Returns the result and what the handshake sent in answer.
fn feed(
    proxy: &Proxy,
    host: &str,
    port: u16,
    reply: &[u8],
) -> (Result<usize, ProxyError>, Vec<u8>, bool) {
    let (mut whole, _) = start(proxy, host, port);
    let mut sent_whole = Vec::new();
    let result_whole = whole.receive(reply, &mut sent_whole);

    let (mut bytewise, _) = start(proxy, host, port);
    let mut sent_bytewise = Vec::new();
    let mut result_bytewise = Ok(0);
    for byte in reply {
        match bytewise.receive(std::slice::from_ref(byte), &mut sent_bytewise) {
            Ok(n) => result_bytewise = Ok(result_bytewise.unwrap() + n),
            Err(err) => {
                result_bytewise = Err(err);
                break;
            }
        }
    }
    assert_eq!(result_whole, result_bytewise, "whole vs byte by byte");
    assert_eq!(sent_whole, sent_bytewise, "whole vs byte by byte");
    assert_eq!(whole.is_complete(), bytewise.is_complete());
    (result_whole, sent_whole, whole.is_complete())
}

fn failure(result: Result<usize, ProxyError>) -> Failure {
    result.expect_err("the handshake should fail").failure
}

// ---- option values ----

#[test]
fn parse_defaults_follow_nc() {
    let p = parse("proxy.example", None).unwrap();
    assert_eq!(
        (p.protocol, p.host.as_str(), p.port),
        (Protocol::Socks5, "proxy.example", 1080)
    );
    let p = parse("proxy.example", Some("4")).unwrap();
    assert_eq!((p.protocol, p.port), (Protocol::Socks4, 1080));
    let p = parse("proxy.example", Some("connect")).unwrap();
    assert_eq!((p.protocol, p.port), (Protocol::HttpConnect, 3128));
    let p = parse("proxy.example", Some("CONNECT")).unwrap();
    assert_eq!(p.protocol, Protocol::HttpConnect);
    assert_eq!(p.credentials, None);
}

#[test]
fn parse_addresses_and_ports() {
    let p = parse("10.0.0.1:9050", Some("5")).unwrap();
    assert_eq!((p.host.as_str(), p.port), ("10.0.0.1", 9050));
    let p = parse("[::1]:8080", Some("connect")).unwrap();
    assert_eq!((p.host.as_str(), p.port), ("::1", 8080));
    let p = parse("[fe80::1]", None).unwrap();
    assert_eq!((p.host.as_str(), p.port), ("fe80::1", 1080));
    assert_eq!(p.to_string(), "SOCKS5 proxy [fe80::1]:1080");
    assert_eq!(
        parse("127.0.0.1:3128", Some("connect"))
            .unwrap()
            .to_string(),
        "HTTP proxy 127.0.0.1:3128"
    );
}

#[test]
fn parse_refuses_bad_values() {
    for (arg, protocol, expect) in [
        ("proxy", Some("6"), "invalid proxy protocol '6'"),
        ("proxy", Some("http"), "invalid proxy protocol 'http'"),
        ("::1", None, "in brackets"),
        ("::1:1080", None, "in brackets"),
        ("[::1", None, "missing ']'"),
        ("[::1]1080", None, "expected ':PORT'"),
        ("[proxy]:1080", None, "not an IPv6 address"),
        (":1080", None, "no host"),
        ("", None, "no host"),
        ("proxy:", None, "invalid proxy port ''"),
        ("proxy:0", None, "invalid proxy port '0'"),
        ("proxy:65536", None, "invalid proxy port '65536'"),
        ("proxy:http", None, "invalid proxy port 'http'"),
    ] {
        let err = parse(arg, protocol).expect_err(arg);
        assert!(err.contains(expect), "{arg}: {err}");
    }
}

#[test]
fn credentials_split_at_the_first_colon_and_hide_the_password() {
    let c = Credentials::parse(b"alice:se:cret").unwrap();
    assert_eq!(
        (c.user.as_slice(), c.password.as_slice()),
        (&b"alice"[..], &b"se:cret"[..])
    );
    assert!(!format!("{c:?}").contains("se:cret"));
    let c = Credentials::parse(b"bob:").unwrap();
    assert!(c.password.is_empty());
    assert!(
        Credentials::parse(b"alice")
            .unwrap_err()
            .contains("user:password")
    );
    assert!(
        Credentials::parse(b":pw")
            .unwrap_err()
            .contains("user name is empty")
    );
    assert!(
        Credentials::parse(b"a:b\r\nX-Evil: 1")
            .unwrap_err()
            .contains("line break")
    );
}

// ---- SOCKS5 ----

#[test]
fn socks5_hands_the_name_to_the_proxy() {
    let (_, greeting) = start(&proxy(Protocol::Socks5), "example.onion", 22);
    assert_eq!(greeting, [5, 1, 0]);
    let (result, sent, complete) = feed(&proxy(Protocol::Socks5), "example.onion", 22, &[5, 0]);
    assert_eq!(result, Ok(2));
    assert!(!complete);
    let mut request = vec![5, 1, 0, 3, 13];
    request.extend_from_slice(b"example.onion");
    request.extend_from_slice(&[0, 22]);
    assert_eq!(sent, request);
}

#[test]
fn socks5_literals_go_as_addresses() {
    let p = proxy(Protocol::Socks5);
    let (_, sent, _) = feed(&p, "192.0.2.7", 443, &[5, 0]);
    assert_eq!(sent, [5, 1, 0, 1, 192, 0, 2, 7, 1, 187]);
    let (_, sent, _) = feed(&p, "[2001:db8::1]", 80, &[5, 0]);
    let mut expect = vec![5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8];
    expect.extend_from_slice(&[0; 11]);
    expect.extend_from_slice(&[1, 0, 80]);
    assert_eq!(sent, expect);
}

#[test]
fn socks5_success_keeps_the_session_bytes() {
    let p = proxy(Protocol::Socks5);
    for bound in [
        SOCKS5_GRANTED_V4.to_vec(),
        [&[5, 0, 0, 4][..], &[0; 16], &[0, 1]].concat(),
        [&[5, 0, 0, 3, 4][..], b"host", &[0, 1]].concat(),
    ] {
        let reply = [&[5, 0][..], &bound, b"SSH-2.0-banner\r\n"].concat();
        let (result, _, complete) = feed(&p, "example.com", 22, &reply);
        assert_eq!(result, Ok(2 + bound.len()), "{bound:?}");
        assert!(complete);
    }
}

#[test]
fn socks5_refusals_are_spelt_out() {
    let words = [
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused",
        "TTL expired",
        "command not supported",
        "address type not supported",
    ];
    for (code, words) in (1u8..).zip(words) {
        let reply = [5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0];
        let (result, _, _) = feed(&proxy(Protocol::Socks5), "example.com", 22, &reply);
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("SOCKS5 proxy 127.0.0.1:1080 refused: {words} (reply code {code})")
        );
    }
    let (result, _, _) = feed(&proxy(Protocol::Socks5), "x", 1, &[5, 0, 5, 9]);
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("unassigned reply code (reply code 9)")
    );
}

#[test]
fn socks5_garbage_fails_at_the_first_wrong_byte() {
    let p = proxy(Protocol::Socks5);
    for (reply, expect) in [
        (
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            "SOCKS version 72, expected 5",
        ),
        (
            &[5, 2][..],
            "chose authentication method 2, which was not offered",
        ),
        (&[5, 0, 4][..], "SOCKS version 4, expected 5"),
        (&[5, 0, 5, 0, 1][..], "reserved byte is not 0"),
        (&[5, 0, 5, 0, 0, 7][..], "unknown address type 7"),
    ] {
        let (result, _, _) = feed(&p, "example.com", 22, reply);
        let err = failure(result);
        assert!(
            matches!(&err, Failure::Malformed(what) if what == expect),
            "{err:?}"
        );
    }
}

#[test]
fn socks5_truncated_reply_is_closed_and_errors_are_final() {
    let p = proxy(Protocol::Socks5);
    let (mut handshake, _) = start(&p, "example.com", 22);
    let mut out = Vec::new();
    assert_eq!(handshake.receive(&[5, 0, 5, 0, 0, 1, 127], &mut out), Ok(7));
    assert!(!handshake.is_complete());
    assert_eq!(handshake.closed().failure, Failure::Closed);
    assert_eq!(
        handshake.timed_out().to_string(),
        "SOCKS5 proxy 127.0.0.1:1080 did not reply in time"
    );
    assert_eq!(
        handshake.closed().to_string(),
        "SOCKS5 proxy 127.0.0.1:1080 closed the connection before replying"
    );

    let (mut refused, _) = start(&p, "example.com", 22);
    let first = refused.receive(&[5, 0, 5, 4], &mut out).unwrap_err();
    assert_eq!(refused.receive(&[0, 1], &mut out), Err(first.clone()));
    assert_eq!(refused.receive(&[], &mut out), Err(first.clone()));
    assert_eq!(refused.closed(), first);
}

#[test]
fn socks5_authenticates_with_credentials() {
    let p = with_credentials(Protocol::Socks5, b"alice:pw");
    let (_, greeting) = start(&p, "example.com", 22);
    assert_eq!(greeting, [5, 2, 0, 2]);
    let (result, sent, complete) = feed(&p, "example.com", 22, &[5, 2, 1, 0]);
    assert_eq!(result, Ok(4));
    assert!(!complete);
    let auth = [&[1, 5][..], b"alice", &[2], b"pw"].concat();
    let request = [&[5, 1, 0, 3, 11][..], b"example.com", &[0, 22]].concat();
    assert_eq!(sent, [auth.clone(), request].concat());

    let (result, _, _) = feed(&p, "example.com", 22, &[5, 2, 1, 1]);
    assert_eq!(
        result.unwrap_err().to_string(),
        "SOCKS5 proxy 127.0.0.1:1080 rejected the credentials in TETE_PROXY_AUTH: status 1"
    );
    let (result, _, _) = feed(&p, "example.com", 22, &[5, 2, 5]);
    assert!(matches!(failure(result), Failure::Malformed(_)));
    // A proxy may still choose "no authentication".
    let reply = [&[5, 0][..], SOCKS5_GRANTED_V4].concat();
    assert_eq!(feed(&p, "example.com", 22, &reply).0, Ok(12));
}

#[test]
fn socks5_asking_for_credentials_we_lack_says_how_to_give_them() {
    let (result, _, _) = feed(&proxy(Protocol::Socks5), "example.com", 22, &[5, 0xff]);
    assert_eq!(
        result.unwrap_err().to_string(),
        "SOCKS5 proxy 127.0.0.1:1080 requires authentication: no acceptable authentication \
         method (method 255) (set TETE_PROXY_AUTH=user:password)"
    );
    let p = with_credentials(Protocol::Socks5, b"alice:pw");
    let (result, _, _) = feed(&p, "example.com", 22, &[5, 0xff]);
    assert!(matches!(failure(result), Failure::AuthRejected(_)));
}

#[test]
fn socks5_destinations_it_cannot_carry() {
    let mut out = Vec::new();
    let long = "a".repeat(256);
    let err = ProxyHandshake::new(&proxy(Protocol::Socks5), &long, 22, &mut out).unwrap_err();
    assert!(matches!(err.failure, Failure::Destination(ref why) if why.contains("255 bytes")));
    let err = ProxyHandshake::new(&proxy(Protocol::Socks5), "a\r\nb", 22, &mut out).unwrap_err();
    assert!(matches!(err.failure, Failure::Destination(_)));
    let long_user = [vec![b'u'; 256], b":pw".to_vec()].concat();
    let p = with_credentials(Protocol::Socks5, &long_user);
    assert!(ProxyHandshake::new(&p, "example.com", 22, &mut out).is_err());
    assert!(out.is_empty(), "nothing is sent for a refused destination");
}

// ---- SOCKS4 ----

#[test]
fn socks4_requests_for_addresses_and_names() {
    let (_, sent) = start(&proxy(Protocol::Socks4), "192.0.2.7", 22);
    assert_eq!(sent, [4, 1, 0, 22, 192, 0, 2, 7, 0]);
    let (_, sent) = start(&proxy(Protocol::Socks4), "example.com", 22);
    assert_eq!(
        sent,
        [&[4, 1, 0, 22, 0, 0, 0, 1, 0][..], b"example.com", &[0]].concat()
    );
    let p = with_credentials(Protocol::Socks4, b"alice:unused");
    let (_, sent) = start(&p, "192.0.2.7", 22);
    assert_eq!(
        sent,
        [&[4, 1, 0, 22, 192, 0, 2, 7][..], b"alice", &[0]].concat()
    );
    let mut out = Vec::new();
    let err = ProxyHandshake::new(&proxy(Protocol::Socks4), "::1", 22, &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SOCKS4 proxy 127.0.0.1:1080 SOCKS4 cannot reach an IPv6 address (use -X 5)"
    );
}

#[test]
fn socks4_success_refusals_and_garbage() {
    let p = proxy(Protocol::Socks4);
    let (result, sent, complete) = feed(
        &p,
        "example.com",
        22,
        b"\x00\x5a\x00\x00\x00\x00\x00\x00SSH",
    );
    assert_eq!((result, complete), (Ok(8), true));
    assert!(sent.is_empty());
    for (code, words) in [
        (91, "request rejected or failed"),
        (92, "the proxy could not reach our identd"),
        (93, "identd reported a different user"),
        (17, "unknown reply code"),
    ] {
        let (result, _, _) = feed(&p, "example.com", 22, &[0, code, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            result.unwrap_err().to_string(),
            format!("SOCKS4 proxy 127.0.0.1:1080 refused: {words} (reply code {code})")
        );
    }
    let (result, _, _) = feed(&p, "example.com", 22, &[4, 90]);
    assert!(matches!(failure(result), Failure::Malformed(_)));
    let (result, _, complete) = feed(&p, "example.com", 22, &[0, 90, 0]);
    assert_eq!((result, complete), (Ok(3), false));
}

// ---- HTTP CONNECT ----

#[test]
fn http_connect_request() {
    let p = proxy(Protocol::HttpConnect);
    let (_, sent) = start(&p, "example.com", 22);
    assert_eq!(
        sent,
        b"CONNECT example.com:22 HTTP/1.1\r\nHost: example.com:22\r\n\r\n"
    );
    let (_, sent) = start(&p, "::1", 22);
    assert_eq!(sent, b"CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n");
    let (_, sent) = start(&p, "[::1]", 22);
    assert!(sent.starts_with(b"CONNECT [::1]:22 "));
}

#[test]
fn http_connect_basic_authentication() {
    // RFC 7617's example.
    let p = with_credentials(Protocol::HttpConnect, b"Aladdin:open sesame");
    let (_, sent) = start(&p, "example.com", 443);
    assert_eq!(
        sent,
        &b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
           Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"[..]
    );
}

#[test]
fn base64_matches_rfc_4648() {
    for (input, expect) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), expect);
    }
    assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
}

#[test]
fn http_success_keeps_the_session_bytes() {
    let p = proxy(Protocol::HttpConnect);
    for header in [
        &b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"[..],
        b"HTTP/1.1 200\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ] {
        let reply = [header, b"SSH-2.0-OpenSSH\r\n"].concat();
        let (result, sent, complete) = feed(&p, "example.com", 22, &reply);
        assert_eq!(result, Ok(header.len()));
        assert!(complete && sent.is_empty());
    }
}

#[test]
fn http_refusals_quote_the_status_line() {
    let p = proxy(Protocol::HttpConnect);
    let reply = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    let (result, _, _) = feed(&p, "example.com", 22, reply);
    assert_eq!(
        result.unwrap_err().to_string(),
        "HTTP proxy 127.0.0.1:3128 refused: HTTP/1.1 403 Forbidden"
    );
    let reply = b"HTTP/1.0 500 Unable to connect\r\nServer: tinyproxy\r\n\r\n<html>";
    let (result, _, _) = feed(&p, "example.com", 22, reply);
    assert!(
        matches!(failure(result), Failure::Refused(line) if line == "HTTP/1.0 500 Unable to connect")
    );

    // A hostile proxy's words cannot reorder the line, nor start one that looks like tete's.
    let reply = "HTTP/1.1 403 \u{202e}dlrow\u{2028}tete: fake\x1b[2J\r\n\r\n".as_bytes();
    let (result, _, _) = feed(&p, "example.com", 22, reply);
    assert_eq!(
        result.unwrap_err().to_string(),
        "HTTP proxy 127.0.0.1:3128 refused: HTTP/1.1 403 \\u{202e}dlrow\\u{2028}tete: fake^[[2J"
    );

    let reply = b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
    let (result, _, _) = feed(&p, "example.com", 22, reply);
    assert_eq!(
        result.unwrap_err().to_string(),
        "HTTP proxy 127.0.0.1:3128 requires authentication: HTTP/1.1 407 Proxy Authentication \
         Required (set TETE_PROXY_AUTH=user:password)"
    );
    let with = with_credentials(Protocol::HttpConnect, b"a:b");
    let (result, _, _) = feed(&with, "example.com", 22, reply);
    assert!(matches!(failure(result), Failure::AuthRejected(line) if line.contains("407")));
}

#[test]
fn http_garbage_truncation_and_size_limit() {
    let p = proxy(Protocol::HttpConnect);
    for (reply, expect) in [
        (&b"SSH-2.0-OpenSSH\r\n"[..], "not an HTTP reply: S"),
        (b"HTTP/2 200\r\n\r\n", "not an HTTP reply: HTTP/2"),
        (b"\x05\xff", "not an HTTP reply: 05"),
        (b"HTTP\x00", "not an HTTP reply: 48 54 54 50 00"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "bad status line: HTTP/1.1 20 OK"),
        (b"HTTP/1.1 200OK\r\n\r\n", "bad status line: HTTP/1.1 200OK"),
        (b"HTTP/1.1  200 OK\r\n\r\n", "bad status line"),
        (b"HTTP/1.x 200 OK\r\n\r\n", "bad status line"),
        (
            b"HTTP/1.1 2\x1b[2J\r\n\r\n",
            "bad status line: HTTP/1.1 2^[[2J",
        ),
    ] {
        let (result, _, _) = feed(&p, "example.com", 22, reply);
        let err = failure(result);
        assert!(
            matches!(&err, Failure::Malformed(what) if what.starts_with(expect)),
            "{err:?}"
        );
    }

    let (result, _, complete) = feed(&p, "example.com", 22, b"HTTP/1.1 200 OK\r\n");
    assert_eq!((result, complete), (Ok(17), false));

    let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    long.resize(MAX_HTTP_REPLY - 4, b'a');
    let fits = [&long[..], b"\r\n\r\n"].concat();
    assert_eq!(fits.len(), MAX_HTTP_REPLY);
    assert_eq!(feed(&p, "example.com", 22, &fits).0, Ok(MAX_HTTP_REPLY));
    long.push(b'a');
    let too_long = [&long[..], b"\r\n\r\n"].concat();
    assert_eq!(
        failure(feed(&p, "example.com", 22, &too_long).0),
        Failure::ReplyTooLong
    );
}

#[test]
fn nothing_is_consumed_after_completion() {
    let (mut handshake, _) = start(&proxy(Protocol::Socks4), "192.0.2.7", 22);
    let mut out = Vec::new();
    assert_eq!(
        handshake.receive(&[0, 90, 0, 0, 0, 0, 0, 0], &mut out),
        Ok(8)
    );
    assert_eq!(handshake.receive(b"later", &mut out), Ok(0));
    assert!(out.is_empty());
}
