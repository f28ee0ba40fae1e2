//! What `--map-port` tells the user: that the router is being asked, what it granted and what
//! the partner runs, or why there is no mapping; and which public addresses a router may
//! announce that tete will not give out, because no partner could reach this host there.

use std::net::Ipv4Addr;

use super::{BUDGET, Grant, Mapping, Method, Router};

/// The end of every line that says there is no mapping.
const LAN: &str = "; listening for the LAN only";

/// Said at once: the router is being asked, while the listener already waits.
pub(super) fn asking(gateway: Ipv4Addr, wanted: u16) -> String {
    format!(
        "asking the router at {gateway} to forward port {wanted} here (PCP, NAT-PMP or UPnP \
         IGD, a few seconds); the LAN can connect meanwhile"
    )
}

/// No router to ask: `why`.
pub(super) fn cannot_ask(wanted: u16, why: &str) -> String {
    format!("cannot ask the router to open port {wanted}: {why}{LAN}")
}

/// The router is not asked: `why`.
pub(super) fn not_asked(gateway: Ipv4Addr, wanted: u16, why: &str) -> String {
    format!("the router at {gateway} was not asked to open port {wanted}: {why}")
}

/// Nothing answered on any of the three protocols: and what the user can do about it.
pub(super) fn silent(gateway: Ipv4Addr, wanted: u16) -> String {
    format!(
        "no router answered the request to open port {wanted} (PCP, NAT-PMP and UPnP IGD at \
         {gateway}, {} s){LAN} (turn on UPnP or NAT-PMP in the router's settings, or forward \
         the port there by hand)",
        BUDGET.as_secs()
    )
}

/// The router answered, and there is no mapping: `why`, in the router's words where it gave
/// some.
pub(super) fn refused(gateway: Ipv4Addr, wanted: u16, why: &str) -> String {
    format!("the router at {gateway} did not open port {wanted} ({why}){LAN}")
}

/// The line that tells the user the mapping is there, and what the partner runs.
pub(super) fn opened(mapping: &Mapping, password: bool, again: &str) -> String {
    let Grant {
        public, external, ..
    } = mapping.grant;
    let method = method_name(&mapping.method);
    let mut line = format!(
        "the router {again}forwards {public}:{external} to port {} here ({method})",
        mapping.internal
    );
    if !password {
        line.push_str(
            ": anyone on the internet can connect to it now; a password (-P) keeps strangers out",
        );
    }
    if is_not_public(public) {
        line.push_str(&format!(
            "; but {public} is not a public address: another router (carrier-grade NAT?) stands \
             in front of this one, and the partner may not get through"
        ));
    }
    let flag = if password { "-P " } else { "" };
    line.push_str(&format!(
        "; the partner runs: tete {flag}{public} {external}"
    ));
    line
}

pub(super) fn method_name(method: &Method) -> &'static str {
    match method {
        Method::Pcp(_) => "PCP",
        Method::NatPmp => "NAT-PMP",
        Method::Upnp(_) => "UPnP IGD",
    }
}

/// Private (RFC 1918) and shared (RFC 6598, carrier-grade NAT) addresses: a router with one of
/// these outside is itself behind another NAT. A partner may still reach it (from the same
/// carrier, or the same building), so tete gives it out, with that warning.
fn is_not_public(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    address.is_private() || (a == 100 && (64..128).contains(&b))
}

/// Why no partner could reach this host at `public`, the address a router announced as its
/// own outside; `None` if one might. `client` is this host's address toward the router.
pub(super) fn unreachable(public: Ipv4Addr, router: &Router, client: Ipv4Addr) -> Option<String> {
    let [first, ..] = public.octets();
    let what = if first == 0 {
        "an unspecified address"
    } else if public.is_loopback() {
        "a loopback address"
    } else if public.is_broadcast() {
        "the broadcast address"
    } else if public.is_multicast() {
        "a multicast address"
    } else if first >= 240 {
        "a reserved address"
    } else if public.is_link_local() {
        "a link-local address"
    } else if public == client {
        "this host's own address"
    } else if public == router.gateway {
        "the router's own address on the LAN"
    } else if router.on_link.iter().any(|&(network, mask)| {
        u32::from(public) & u32::from(mask) == u32::from(network) & u32::from(mask)
    }) {
        "an address on this host's own network"
    } else {
        return None;
    };
    Some(format!(
        "the router says its public address is {public}, {what}, which no partner can reach: \
         not given out"
    ))
}
