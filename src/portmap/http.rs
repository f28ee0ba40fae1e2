//! The little of HTTP/1.1 that UPnP IGD needs: `http://` URLs with an IPv4 address, a request
//! with `Connection: close`, and a reply read defensively (its length from `Content-Length`,
//! chunks, or the server's close; every length checked against what arrived).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// A place on the router's web server: its address and the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Url {
    pub server: SocketAddr,
    pub path: String,
}

/// Reads `http://ADDRESS[:PORT][/PATH]`, with ADDRESS an IPv4 address; a path with bytes that
/// could end a request line or header (spaces, control bytes, anything outside ASCII) is
/// refused, so nothing the router says can change the request tete writes.
pub(super) fn parse_url(text: &str) -> Option<Url> {
    let rest = text.trim().strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, port.parse().ok().filter(|port| *port != 0)?),
        None => (authority, 80),
    };
    let address: Ipv4Addr = host.parse().ok()?;
    Some(Url {
        server: SocketAddrV4::new(address, port).into(),
        path: safe_path(path)?,
    })
}

/// `path` if it is fit for a request line: printable ASCII without spaces.
pub(super) fn safe_path(path: &str) -> Option<String> {
    let fit = path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic());
    fit.then(|| path.to_string())
}

/// A request to `url` with `headers` (each a whole line without its CR LF) and `body`.
pub(super) fn request(method: &str, url: &Url, headers: &[String], body: &str) -> Vec<u8> {
    let mut text = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        url.path, url.server
    );
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    if method == "POST" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// A reply: its status code, headers and body.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name` (any case), if present.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Reads the status line and headers at the start of `bytes` (an SSDP datagram, or an HTTP
/// reply so far): `None` while they are incomplete or when they are not HTTP.
pub(super) fn head(bytes: &[u8]) -> Option<(Reply, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let mut status_line = lines.next()?.split(' ');
    let version = status_line.next()?;
    let status = status_line.next()?.parse().ok()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    Some((reply, end))
}

/// Reads `bytes` as a whole HTTP reply: `None` while more is to come (`all` false); once
/// `all` is true (the server has closed), the reply, or why it is not one.
pub(super) fn read_reply(bytes: &[u8], all: bool) -> Option<Result<Reply, String>> {
    let cut = |what: &str| all.then(|| Err(format!("the router's {what}")));
    let Some((mut reply, start)) = head(bytes) else {
        return cut("reply is not HTTP");
    };
    let body = &bytes[start..];
    let chunked = reply
        .header("Transfer-Encoding")
        .is_some_and(|coding| coding.eq_ignore_ascii_case("chunked"));
    let whole = if chunked {
        dechunk(body)
    } else if let Some(length) = reply.header("Content-Length") {
        let length: usize = match length.parse() {
            Ok(length) => length,
            Err(_) => return Some(Err("the router's reply has a bad length".into())),
        };
        body.get(..length).map(<[u8]>::to_vec)
    } else if all {
        Some(body.to_vec())
    } else {
        None
    };
    match whole {
        Some(body) => {
            reply.body = body;
            Some(Ok(reply))
        }
        None => cut("reply was cut short"),
    }
}

/// The body of a chunked reply, once its last (empty) chunk has arrived.
fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        let chunk = bytes.get(..size)?;
        body.extend_from_slice(chunk);
        bytes = bytes.get(size..)?.strip_prefix(b"\r\n")?;
    }
}
