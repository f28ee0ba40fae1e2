//! UPnP IGD: SSDP discovery, the device description, and the SOAP actions of the WAN
//! connection service (AddPortMapping, GetExternalIPAddress, DeletePortMapping).
//!
//! Only the default gateway is believed: an SSDP reply from another host, or a description or
//! control URL on another host, is ignored, so nobody else on the LAN can point tete at
//! themselves. The router's XML is read by looking for the few elements needed (any namespace
//! prefix), never by a general parser; what the router says is only ever put into a request
//! after checking that it holds nothing but the characters such a value has.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::http::{self, Url};

/// Where SSDP discovery requests go: the UPnP multicast group.
pub(super) const SSDP_GROUP: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 1900);

/// The discovery request for an Internet Gateway Device (a version 2 device answers it too).
pub(super) const M_SEARCH: &str = "M-SEARCH * HTTP/1.1\r\n\
    HOST: 239.255.255.250:1900\r\n\
    MAN: \"ssdp:discover\"\r\n\
    MX: 1\r\n\
    ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n";

/// The WAN connection service that maps ports, as the description names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Control {
    pub url: Url,
    /// `urn:schemas-upnp-org:service:WANIPConnection:1` or the like.
    pub service: String,
}

/// The services that map ports, in the order tete prefers them.
const SERVICES: [&str; 2] = [
    "urn:schemas-upnp-org:service:WANIPConnection:",
    "urn:schemas-upnp-org:service:WANPPPConnection:",
];

/// Reads an SSDP reply: the device description's URL, if the reply is an answer and its
/// LOCATION is on `gateway`.
pub(super) fn read_search_reply(datagram: &[u8], gateway: Ipv4Addr) -> Option<Url> {
    let (reply, _) = http::head(datagram)?;
    let url = http::parse_url(reply.header("LOCATION")?)?;
    (reply.status == 200 && url.server.ip() == gateway).then_some(url)
}

/// Finds the WAN connection service in the device description `xml` fetched from `location`.
pub(super) fn find_control(xml: &str, location: &Url) -> Result<Control, String> {
    let services: Vec<(&str, &str)> = elements(xml, "service")
        .filter_map(|service| {
            Some((
                element_text(service, "serviceType")?.trim(),
                element_text(service, "controlURL")?.trim(),
            ))
        })
        .collect();
    let (service, control) = SERVICES
        .iter()
        .find_map(|wanted| services.iter().find(|(kind, _)| kind.starts_with(wanted)))
        .ok_or("UPnP: the router's description has no WAN connection service")?;
    let unfit = || "UPnP: the router's control URL is unusable".to_string();
    let control = control.replace("&amp;", "&");
    let url = if control.starts_with("http://") {
        http::parse_url(&control).filter(|url| url.server.ip() == location.server.ip())
    } else {
        let path = if control.starts_with('/') {
            control
        } else {
            format!("/{control}")
        };
        http::safe_path(&path).map(|path| Url {
            server: location.server,
            path,
        })
    };
    let fit_type = service
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":.-".contains(&b));
    match url {
        Some(url) if fit_type => Ok(Control {
            url,
            service: service.to_string(),
        }),
        _ => Err(unfit()),
    }
}

/// A SOAP request for `action` of the service, with `arguments` (values tete made itself).
pub(super) fn soap(control: &Control, action: &str, arguments: &[(&str, String)]) -> Vec<u8> {
    let mut body = format!(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} \
         xmlns:u=\"{}\">",
        control.service
    );
    for (name, value) in arguments {
        body.push_str(&format!("<{name}>{value}</{name}>"));
    }
    body.push_str(&format!("</u:{action}></s:Body></s:Envelope>\r\n"));
    let headers = [
        "Content-Type: text/xml; charset=\"utf-8\"".to_string(),
        format!("SOAPAction: \"{}#{action}\"", control.service),
    ];
    http::request("POST", &control.url, &headers, &body)
}

/// AddPortMapping: TCP `external` on the router to `client`:`internal`, for `lease` seconds
/// (0: until deleted).
pub(super) fn add_mapping(
    control: &Control,
    client: Ipv4Addr,
    internal: u16,
    external: u16,
    lease: u32,
) -> Vec<u8> {
    let mut arguments = mapping_key(external);
    arguments.extend([
        ("NewInternalPort", internal.to_string()),
        ("NewInternalClient", client.to_string()),
        ("NewEnabled", "1".into()),
        ("NewPortMappingDescription", "tete".into()),
        ("NewLeaseDuration", lease.to_string()),
    ]);
    soap(control, "AddPortMapping", &arguments)
}

pub(super) fn delete_mapping(control: &Control, external: u16) -> Vec<u8> {
    soap(control, "DeletePortMapping", &mapping_key(external))
}

/// The arguments that name a mapping, first in every action on one: from any remote host,
/// TCP `external` on the router.
fn mapping_key(external: u16) -> Vec<(&'static str, String)> {
    vec![
        ("NewRemoteHost", String::new()),
        ("NewExternalPort", external.to_string()),
        ("NewProtocol", "TCP".into()),
    ]
}

pub(super) fn external_address_request(control: &Control) -> Vec<u8> {
    soap(control, "GetExternalIPAddress", &[])
}

/// UPnP's error code for a router that only takes mappings without a lease.
pub(super) const ONLY_PERMANENT_LEASES: u16 = 725;

/// How a SOAP action went.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Done; the reply's body.
    Done(String),
    /// The router's UPnP error: its code and its words for it.
    Error(u16, String),
}

/// Reads the HTTP reply to a SOAP action (200 with the result, or 500 with a UPnP error).
pub(super) fn read_soap_reply(bytes: &[u8], all: bool) -> Option<Result<Outcome, String>> {
    let reply = match http::read_reply(bytes, all)? {
        Ok(reply) => reply,
        Err(why) => return Some(Err(format!("UPnP: {why}"))),
    };
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    let code = element_text(&body, "errorCode").and_then(|code| code.trim().parse().ok());
    Some(match (reply.status, code) {
        (200, _) => Ok(Outcome::Done(body)),
        (_, Some(code)) => {
            let words = element_text(&body, "errorDescription").unwrap_or_default();
            Ok(Outcome::Error(code, printable(words)))
        }
        (status, None) => Err(format!("UPnP: the router answered HTTP {status}")),
    })
}

/// The external address in a GetExternalIPAddress result.
pub(super) fn external_address(body: &str) -> Option<Ipv4Addr> {
    element_text(body, "NewExternalIPAddress")?
        .trim()
        .parse()
        .ok()
}

/// A UPnP error in words, the router's own when it gave some.
pub(super) fn error_text(code: u16, words: &str) -> String {
    let meaning = match code {
        606 => "not authorized",
        718 => "the port is already mapped to another host",
        724 => "the router wants the same internal and external port",
        725 => "the router only takes permanent mappings",
        728 => "the router has no room for more mappings",
        729 => "the port conflicts with another mechanism",
        _ => "",
    };
    match (words.is_empty(), meaning.is_empty()) {
        (true, true) => format!("UPnP: error {code}"),
        (true, false) => format!("UPnP: {meaning} (error {code})"),
        (false, _) => format!("UPnP: {words} (error {code})"),
    }
}

/// The router's words, fit for a terminal: printable ASCII only, and not too many.
pub(super) fn printable(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(120)
        .collect()
}

/// The contents of each element `name` in `xml` (whatever its namespace prefix).
fn elements<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = xml;
    std::iter::from_fn(move || {
        let (content, after) = next_element(rest, name)?;
        rest = after;
        Some(content)
    })
}

/// The contents of the first element `name` in `xml`, if it has no child elements' markup
/// before its text ends (`<a>text</a>`).
pub(super) fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let (content, _) = next_element(xml, name)?;
    Some(&content[..content.find('<').unwrap_or(content.len())])
}

/// The contents of the next element `name` in `xml`, and what follows its end tag.
fn next_element<'a>(xml: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let mut rest = xml;
    loop {
        let open = rest.find('<')?;
        rest = &rest[open + 1..];
        let tag_end = rest.find('>')?;
        let tag = &rest[..tag_end];
        let tag_name = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .next()?;
        let local = tag_name.rsplit(':').next().unwrap_or(tag_name);
        rest = &rest[tag_end + 1..];
        if local != name || tag.ends_with('/') {
            continue;
        }
        let close = closing_tag(rest, name)?;
        let content = &rest[..close.0];
        return Some((content, &rest[close.1..]));
    }
}

/// Where the end tag of element `name` starts in `xml`, and where it ends.
fn closing_tag(xml: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let start = from + xml[from..].find("</")?;
        let end = start + xml[start..].find('>')?;
        let tag = xml[start + 2..end].trim();
        if tag.rsplit(':').next() == Some(name) {
            return Some((start, end + 1));
        }
        from = end + 1;
    }
}

/// The SSDP targets: the multicast group and the gateway itself (a router may answer a
/// unicast search where multicast is filtered).
pub(super) fn search_targets(gateway: Ipv4Addr, port: u16, multicast: bool) -> Vec<SocketAddr> {
    let mut targets = vec![SocketAddrV4::new(gateway, port).into()];
    if multicast {
        targets.insert(0, SSDP_GROUP.into());
    }
    targets
}
