//! HTTP CONNECT (RFC 9110): the request, with Basic credentials, and the reply header checked
//! as it arrives.

use super::{Credentials, Destination, Failure, MAX_HTTP_REPLY, Progress};
use crate::address::HostPort;

pub(super) fn request(
    destination: &Destination,
    port: u16,
    credentials: &Option<Credentials>,
) -> Vec<u8> {
    let target = match destination {
        Destination::Ip(ip) => HostPort::new(&ip.to_string(), port).to_string(),
        Destination::Name(name) => HostPort::new(name, port).to_string(),
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(c) = credentials {
        let mut pair = c.user.clone();
        pair.push(b':');
        pair.extend_from_slice(&c.password);
        request.push_str(&format!("Proxy-Authorization: Basic {}\r\n", base64(&pair)));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Checks the reply header as it arrives: the status line's start at once, the status code
/// when the whole header is in.
pub(super) fn reply(got: &[u8]) -> Result<Progress, Failure> {
    const VERSION: &[u8] = b"HTTP/1.";
    let start = &got[..got.len().min(VERSION.len())];
    if start != &VERSION[..start.len()] {
        // A binary reply (a SOCKS proxy's, say) is clearer in hex than as question marks.
        let shown = if got.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            printable(got)
        } else {
            got.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(Failure::Malformed(format!("not an HTTP reply: {shown}")));
    }
    if got.len() > MAX_HTTP_REPLY {
        return Err(Failure::ReplyTooLong);
    }
    if !got.ends_with(b"\r\n\r\n") {
        return Ok(Progress::Incomplete);
    }
    let line_end = got.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let status_line = &got[..line_end];
    let code = status_code(status_line).ok_or_else(|| {
        Failure::Malformed(format!("bad status line: {}", printable(status_line)))
    })?;
    match code {
        200..=299 => Ok(Progress::Complete),
        407 => Err(Failure::AuthRequired(printable(status_line))),
        _ => Err(Failure::Refused(printable(status_line))),
    }
}

/// `HTTP/1.x SP 3DIGIT [SP reason]`: the status code.
fn status_code(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (minor, rest) = rest.split_first()?;
    let rest = rest.strip_prefix(b" ")?;
    if !minor.is_ascii_digit() || rest.len() < 3 || !rest[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if rest.len() > 3 && rest[3] != b' ' {
        return None;
    }
    std::str::from_utf8(&rest[..3]).ok()?.parse().ok()
}

/// Peer-controlled bytes made safe for one line on a terminal, cut to a readable length: by
/// the chat's rules ([`crate::chat::escaped`]), so that neither a control character nor one
/// that reorders or breaks the line unseen (U+202E, U+2028) reaches stderr raw.
fn printable(bytes: &[u8]) -> String {
    const LIMIT: usize = 120;
    let text = crate::chat::escaped(&bytes[..bytes.len().min(LIMIT)]);
    if bytes.len() > LIMIT {
        format!("{text}...")
    } else {
        text
    }
}

/// Standard base64 with padding (RFC 4648), for the Basic credentials; twenty lines do not
/// need a crate.
pub(super) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(group >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
