//! SOCKS4 (with SOCKS4a for names) and SOCKS5 (RFC 1928, with RFC 1929's user name and
//! password): the requests, and the replies checked byte by byte as they arrive.

use std::net::IpAddr;

use super::{AUTH_VARIABLE, Credentials, Destination, Failure, Progress};

const SOCKS4_GRANTED: u8 = 90;
const SOCKS5_VERSION: u8 = 5;
const SOCKS5_NO_AUTH: u8 = 0;
const SOCKS5_USER_PASSWORD: u8 = 2;
const SOCKS5_NO_ACCEPTABLE: u8 = 0xff;
const SOCKS5_CONNECT: u8 = 1;
const SOCKS5_ATYP_IPV4: u8 = 1;
const SOCKS5_ATYP_NAME: u8 = 3;
const SOCKS5_ATYP_IPV6: u8 = 4;
const USER_PASSWORD_VERSION: u8 = 1;
const NO_ACCEPTABLE_METHOD: &str = "no acceptable authentication method (method 255)";

pub(super) fn socks4_request(
    destination: &Destination,
    port: u16,
    credentials: &Option<Credentials>,
) -> Result<Vec<u8>, String> {
    let mut request = vec![4, 1];
    request.extend_from_slice(&port.to_be_bytes());
    match destination {
        Destination::Ip(IpAddr::V4(ip)) => request.extend_from_slice(&ip.octets()),
        Destination::Ip(IpAddr::V6(_)) => {
            return Err("SOCKS4 cannot reach an IPv6 address (use -X 5)".into());
        }
        // SOCKS4a: the address 0.0.0.1 says "the name follows the USERID".
        Destination::Name(_) => request.extend_from_slice(&[0, 0, 0, 1]),
    }
    if let Some(c) = credentials {
        request.extend_from_slice(&c.user);
    }
    request.push(0);
    if let Destination::Name(name) = destination {
        request.extend_from_slice(name.as_bytes());
        request.push(0);
    }
    Ok(request)
}

pub(super) fn socks4_reply(got: &[u8]) -> Result<Progress, Failure> {
    if got[0] != 0 {
        return Err(Failure::Malformed(format!(
            "SOCKS4 reply version {}, expected 0",
            got[0]
        )));
    }
    if let Some(&code) = got.get(1)
        && code != SOCKS4_GRANTED
    {
        let words = match code {
            91 => "request rejected or failed",
            92 => "the proxy could not reach our identd",
            93 => "identd reported a different user",
            _ => "unknown reply code",
        };
        return Err(Failure::Refused(format!("{words} (reply code {code})")));
    }
    Ok(complete_at(got, 8))
}

pub(super) fn socks5_request(destination: &Destination, port: u16) -> Result<Vec<u8>, String> {
    let mut request = vec![SOCKS5_VERSION, SOCKS5_CONNECT, 0];
    match destination {
        Destination::Ip(IpAddr::V4(ip)) => {
            request.push(SOCKS5_ATYP_IPV4);
            request.extend_from_slice(&ip.octets());
        }
        Destination::Ip(IpAddr::V6(ip)) => {
            request.push(SOCKS5_ATYP_IPV6);
            request.extend_from_slice(&ip.octets());
        }
        Destination::Name(name) => {
            let len = u8::try_from(name.len())
                .map_err(|_| format!("host name longer than 255 bytes: '{name}'"))?;
            request.extend_from_slice(&[SOCKS5_ATYP_NAME, len]);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// SOCKS5's greeting: the authentication methods we offer ("none", and user name and password
/// when there are credentials, whose parts must fit in a length byte each).
pub(super) fn socks5_greeting(
    credentials: &Option<Credentials>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match credentials {
        Some(c) if c.user.len() > 255 || c.password.len() > 255 => Err(format!(
            "SOCKS5 user names and passwords are limited to 255 bytes ({AUTH_VARIABLE})"
        )),
        Some(_) => {
            out.extend_from_slice(&[SOCKS5_VERSION, 2, SOCKS5_NO_AUTH, SOCKS5_USER_PASSWORD]);
            Ok(())
        }
        None => {
            out.extend_from_slice(&[SOCKS5_VERSION, 1, SOCKS5_NO_AUTH]);
            Ok(())
        }
    }
}

/// The proxy chose authentication `method`: true when it is user name and password, which then
/// go out (the CONNECT request follows their verdict); false for none (the CONNECT request
/// goes out at once).
pub(super) fn method_chosen(
    method: u8,
    credentials: Option<Credentials>,
    out: &mut Vec<u8>,
) -> Result<bool, Failure> {
    match (method, credentials) {
        (SOCKS5_NO_AUTH, _) => Ok(false),
        (SOCKS5_USER_PASSWORD, Some(c)) => {
            out.push(USER_PASSWORD_VERSION);
            // socks5_greeting checked that both fit in a length byte.
            out.push(c.user.len() as u8);
            out.extend_from_slice(&c.user);
            out.push(c.password.len() as u8);
            out.extend_from_slice(&c.password);
            Ok(true)
        }
        (SOCKS5_NO_ACCEPTABLE, None) => Err(Failure::AuthRequired(NO_ACCEPTABLE_METHOD.into())),
        (SOCKS5_NO_ACCEPTABLE, Some(_)) => Err(Failure::AuthRejected(NO_ACCEPTABLE_METHOD.into())),
        (method, _) => Err(Failure::Malformed(format!(
            "chose authentication method {method}, which was not offered"
        ))),
    }
}

pub(super) fn socks5_method_reply(got: &[u8]) -> Result<Progress, Failure> {
    socks5_version(got[0])?;
    Ok(complete_at(got, 2))
}

pub(super) fn user_password_reply(got: &[u8]) -> Result<Progress, Failure> {
    if got[0] != USER_PASSWORD_VERSION {
        return Err(Failure::Malformed(format!(
            "authentication reply version {}, expected 1",
            got[0]
        )));
    }
    match got.get(1) {
        Some(0) => Ok(Progress::Complete),
        Some(status) => Err(Failure::AuthRejected(format!("status {status}"))),
        None => Ok(Progress::Incomplete),
    }
}

pub(super) fn socks5_reply(got: &[u8]) -> Result<Progress, Failure> {
    socks5_version(got[0])?;
    if let Some(&code) = got.get(1)
        && code != 0
    {
        return Err(Failure::Refused(format!(
            "{} (reply code {code})",
            socks5_reply_words(code)
        )));
    }
    if got.get(2).is_some_and(|&reserved| reserved != 0) {
        return Err(Failure::Malformed("reserved byte is not 0".into()));
    }
    // VER REP RSV ATYP, the bound address, then a 2-byte port.
    let total = match (got.get(3), got.get(4)) {
        (None, _) => return Ok(Progress::Incomplete),
        (Some(&SOCKS5_ATYP_IPV4), _) => 4 + 4 + 2,
        (Some(&SOCKS5_ATYP_IPV6), _) => 4 + 16 + 2,
        (Some(&SOCKS5_ATYP_NAME), Some(&len)) => 5 + usize::from(len) + 2,
        (Some(&SOCKS5_ATYP_NAME), None) => return Ok(Progress::Incomplete),
        (Some(&atyp), _) => {
            return Err(Failure::Malformed(format!("unknown address type {atyp}")));
        }
    };
    Ok(complete_at(got, total))
}

fn socks5_version(version: u8) -> Result<(), Failure> {
    if version == SOCKS5_VERSION {
        Ok(())
    } else {
        Err(Failure::Malformed(format!(
            "SOCKS version {version}, expected 5"
        )))
    }
}

/// RFC 1928's reply codes in words.
fn socks5_reply_words(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

fn complete_at(got: &[u8], total: usize) -> Progress {
    if got.len() == total {
        Progress::Complete
    } else {
        Progress::Incomplete
    }
}
