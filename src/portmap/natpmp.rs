//! NAT-PMP (RFC 6886) requests and replies: fixed-layout datagrams to UDP port 5351.
//!
//! Two requests matter: the external address (2 bytes: version 0, opcode 0; the reply is 12
//! bytes) and a TCP mapping (12 bytes: version 0, opcode 2, the internal port, the external
//! port suggested, the lifetime asked for; the reply is 16 bytes, with the external port and
//! lifetime granted). A lifetime of 0 with external port 0 deletes the mapping. Every reply
//! carries the router's clock (seconds since its start, "the epoch") after the result code.
//!
//! A NAT-PMP reply has no nonce: what tete can check is that it comes from the router's port
//! 5351 to the socket that asked, answers the opcode asked (plus 128), names the port asked
//! for, and agrees with the router's other answers. [`classify`] reads what a datagram is, for
//! [`super::exchange`] to judge.

use std::net::Ipv4Addr;

const OPCODE_ADDRESS: u8 = 0;
/// PCP's MAP, as the opcode of the request that NAT-PMP answers with "unsupported version".
const OPCODE_PCP_MAP: u8 = 1;
const OPCODE_MAP_TCP: u8 = 2;
/// Added to the opcode in a reply.
const REPLY: u8 = 128;

/// The request for the router's external address.
pub(super) const ADDRESS_REQUEST: [u8; 2] = [0, OPCODE_ADDRESS];

/// What a mapping request got: the external port and lifetime, or the router's reason.
pub(super) type Granted = Result<(u16, u32), String>;

/// A request to map TCP `internal` port, suggesting `external`, for `lifetime` seconds.
pub(super) fn map_request(internal: u16, external: u16, lifetime: u32) -> [u8; 12] {
    let mut request = [0u8; 12];
    request[1] = OPCODE_MAP_TCP;
    request[4..6].copy_from_slice(&internal.to_be_bytes());
    request[6..8].copy_from_slice(&external.to_be_bytes());
    request[8..12].copy_from_slice(&lifetime.to_be_bytes());
    request
}

/// The request that deletes the mapping of TCP `internal` port (RFC 6886 section 3.4).
pub(super) fn delete_request(internal: u16) -> [u8; 12] {
    map_request(internal, 0, 0)
}

/// Reads `datagram` as the reply to the external address request: `None` when it is another
/// message, else the address or the router's reason for refusing.
pub(super) fn read_address_reply(datagram: &[u8]) -> Option<Result<Ipv4Addr, String>> {
    let result = result_of(datagram, OPCODE_ADDRESS, 12)?;
    Some(result.map(|()| Ipv4Addr::new(datagram[8], datagram[9], datagram[10], datagram[11])))
}

/// Reads `datagram` as the reply to a mapping request for `internal`: `None` when it is
/// another message, else the external port and lifetime granted, or the router's reason.
pub(super) fn read_map_reply(datagram: &[u8], internal: u16) -> Option<Granted> {
    let (port, granted) = map_reply(datagram)?;
    // A refusal may be short; a grant must be for this port.
    (granted.is_err() || port == Some(internal)).then_some(granted)
}

/// Reads `datagram` as the reply to a TCP mapping request: the internal port it names (if
/// any), and what was granted or the router's reason.
fn map_reply(datagram: &[u8]) -> Option<(Option<u16>, Granted)> {
    let result = result_of(datagram, OPCODE_MAP_TCP, 16)?;
    let port = |at: usize| {
        let bytes = datagram.get(at..at + 2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let granted = result.map(|()| {
        let lifetime = u32::from_be_bytes([datagram[12], datagram[13], datagram[14], datagram[15]]);
        (port(10).unwrap_or_default(), lifetime)
    });
    Some((port(8), granted))
}

/// The result of a reply to `opcode` whose success is `len` bytes long: `None` when the
/// datagram is not such a reply; a success shorter than `len` is none either.
fn result_of(datagram: &[u8], opcode: u8, len: usize) -> Option<Result<(), String>> {
    let [0, reply, high, low, ..] = datagram else {
        return None;
    };
    if *reply != REPLY + opcode {
        return None;
    }
    match u16::from_be_bytes([*high, *low]) {
        0 if datagram.len() >= len => Some(Ok(())),
        0 => None,
        code => Some(Err(format!("NAT-PMP: {}", result_text(code)))),
    }
}

/// What a datagram from port 5351 is, read as NAT-PMP.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// "Unsupported version" in answer to a PCP MAP request: the router speaks NAT-PMP only.
    Cue,
    /// An answer to the external address request: the address, or the router's refusal.
    Address(Result<Ipv4Addr, String>),
    /// An answer to a TCP mapping request for `internal` (missing from a short refusal): the
    /// external port and lifetime, or the router's refusal.
    Map {
        internal: Option<u16>,
        granted: Granted,
    },
    /// A NAT-PMP reply to any other request (tete asks none other).
    Other,
}

/// Reads `datagram` as a NAT-PMP reply, with the router's clock if it carries one; `None` when
/// it is not one (another version, a request, a reply cut short).
pub(super) fn classify(datagram: &[u8]) -> Option<(Message, Option<u32>)> {
    let [0, opcode, high, low, ..] = *datagram else {
        return None;
    };
    if opcode < REPLY {
        return None;
    }
    let epoch = datagram
        .get(4..8)
        .map(|bytes| u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
    let message = match opcode - REPLY {
        OPCODE_ADDRESS => Message::Address(read_address_reply(datagram)?),
        OPCODE_MAP_TCP => {
            let (internal, granted) = map_reply(datagram)?;
            Message::Map { internal, granted }
        }
        OPCODE_PCP_MAP if u16::from_be_bytes([high, low]) == 1 => Message::Cue,
        _ => Message::Other,
    };
    Some((message, epoch))
}

/// A NAT-PMP result code in words (RFC 6886 section 3.5).
fn result_text(code: u16) -> String {
    match code {
        1 => "the router does not support this version".into(),
        2 => "not authorized or refused (port mapping may be off on the router)".into(),
        3 => "the router has a network failure (no external address yet?)".into(),
        4 => "the router is out of resources".into(),
        5 => "the router does not support this request".into(),
        code => format!("result code {code}"),
    }
}
