//! PCP (RFC 6887) MAP requests and replies: fixed-layout datagrams to UDP port 5351.
//!
//! A request is a 24-byte header (version 2, opcode MAP, the lifetime asked for, the client's
//! own address) and 36 bytes of MAP data (a random nonce that the reply must echo, TCP, the
//! internal port, the external port and address suggested). A reply has the same layout with
//! the result code, the lifetime granted and the external port and address assigned. Options
//! may follow either; tete sends none and skips any in a reply.
//!
//! Every reply must echo the request's nonce, error replies too: a reply without it (a bare
//! header, someone else's) is ignored, so that a host on the LAN that cannot see the request
//! cannot answer it. A router that speaks only NAT-PMP answers with NAT-PMP's "unsupported
//! version", which has no nonce: [`super::natpmp`] reads that cue, and [`super::exchange`]
//! decides how far to believe it.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Grant;

pub(super) const VERSION: u8 = 2;
const OPCODE_MAP: u8 = 1;
/// The R bit of the opcode byte: set in replies.
const REPLY: u8 = 0x80;
const TCP: u8 = 6;
/// A MAP request or reply without options: header and MAP data.
pub(super) const MAP_LEN: usize = 60;
const HEADER_LEN: usize = 24;
/// The largest PCP message (RFC 6887 section 7): a longer datagram is no PCP reply.
const MAX_LEN: usize = 1100;

/// The nonce a MAP reply must echo, and that a later renewal or deletion repeats.
pub(super) type Nonce = [u8; 12];

/// A MAP request for TCP `internal` port, suggesting `external`, for `lifetime` seconds (0:
/// delete the mapping), from `client` (the address the router sees the request come from).
pub(super) fn map_request(
    nonce: &Nonce,
    client: Ipv4Addr,
    internal: u16,
    external: u16,
    lifetime: u32,
) -> [u8; MAP_LEN] {
    let mut request = [0u8; MAP_LEN];
    request[0] = VERSION;
    request[1] = OPCODE_MAP;
    request[4..8].copy_from_slice(&lifetime.to_be_bytes());
    request[8..24].copy_from_slice(&client.to_ipv6_mapped().octets());
    request[24..36].copy_from_slice(nonce);
    request[36] = TCP;
    request[40..42].copy_from_slice(&internal.to_be_bytes());
    request[42..44].copy_from_slice(&external.to_be_bytes());
    // No preference for the external address: the IPv4-mapped unspecified address.
    request[44..60].copy_from_slice(&Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets());
    request
}

/// What a datagram from the router says about a MAP request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
    /// The mapping is there (or, for a deletion, gone).
    Granted(Grant),
    /// The router refused, for this reason.
    Refused(String),
    /// A PCP server of another version (its answer carries the nonce): NAT-PMP may do.
    NatPmpOnly,
}

/// Reads `datagram` as the reply to the MAP request with `nonce` for `internal`; `None` when it
/// is not that reply (another message, a stale reply, a reply without our nonce, junk), which
/// the caller ignores.
pub(super) fn read_reply(datagram: &[u8], nonce: &Nonce, internal: u16) -> Option<Reply> {
    if datagram.len() > MAX_LEN || datagram.len() < MAP_LEN || datagram[1] != REPLY | OPCODE_MAP {
        return None;
    }
    let map = &datagram[HEADER_LEN..MAP_LEN];
    if map[0..12] != nonce[..] || map[12] != TCP || port_at(map, 16) != internal {
        return None;
    }
    let result = datagram[3];
    if datagram[0] != VERSION || result != 0 {
        return Some(match result {
            // A PCP server of another version.
            1 => Reply::NatPmpOnly,
            code => Reply::Refused(format!("PCP: {}", result_text(code))),
        });
    }
    let lifetime = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    let mut address = [0u8; 16];
    address.copy_from_slice(&map[20..36]);
    let Some(public) = Ipv6Addr::from(address).to_ipv4_mapped() else {
        return Some(Reply::Refused(
            "PCP: the router gave an IPv6 external address for an IPv4 mapping".into(),
        ));
    };
    Some(Reply::Granted(Grant {
        public,
        external: port_at(map, 18),
        lifetime,
    }))
}

fn port_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// A PCP result code in words (RFC 6887 section 7.4).
fn result_text(code: u8) -> String {
    match code {
        2 => "not authorized (the router does not let this host open ports)".into(),
        3 => "the router found the request malformed".into(),
        4 => "the router does not support MAP requests".into(),
        5 | 6 => "the router refused an option".into(),
        7 => "the router has a network failure (no external address yet?)".into(),
        8 => "the router is out of resources".into(),
        9 => "the router does not map TCP".into(),
        10 => "this host is over its quota of mappings".into(),
        11 => "the router cannot provide that external port".into(),
        12 => "address mismatch (another NAT between this host and the router?)".into(),
        13 => "too many remote peers".into(),
        code => format!("result code {code}"),
    }
}
