//! The default gateway: the router that NAT-PMP, PCP and UPnP IGD requests go to; and the
//! networks this host reaches directly, where a router's public address cannot be.
//!
//! On Linux it is the default route's gateway in `/proc/net/route` (IPv4 only: the protocols
//! map IPv4 ports). Elsewhere tete says that it cannot find it, rather than guess.

use std::net::Ipv4Addr;

/// The table of IPv4 routes, one a line after a header.
#[cfg(target_os = "linux")]
const ROUTES: &str = "/proc/net/route";

/// The most of the route table read: a home machine's has a handful of lines.
#[cfg(target_os = "linux")]
const MAX_TABLE: u64 = 256 * 1024;

/// A network reached without a gateway: an address and its mask.
pub(super) type Network = (Ipv4Addr, Ipv4Addr);

/// The most directly reached networks kept.
const MAX_NETWORKS: usize = 32;

/// The default gateway's address and the networks this host reaches directly, or why there
/// is no gateway.
#[cfg(target_os = "linux")]
pub(super) fn default_gateway() -> Result<(Ipv4Addr, Vec<Network>), String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(ROUTES)
        .and_then(|file| file.take(MAX_TABLE).read_to_string(&mut text))
        .map_err(|err| format!("cannot read {ROUTES}: {}", crate::error::os_reason(&err)))?;
    let gateway = from_route_table(&text)
        .ok_or_else(|| format!("no default route through a gateway in {ROUTES}"))?;
    Ok((gateway, on_link(&text)))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn default_gateway() -> Result<(Ipv4Addr, Vec<Network>), String> {
    Err("finding the default gateway is supported on Linux only".into())
}

/// A route is up (`RTF_UP`); it goes through a gateway (`RTF_GATEWAY`).
const UP: u32 = 0x1;
const GATEWAY: u32 = 0x2;

/// The gateway of the default route with the lowest metric in the text of `/proc/net/route`,
/// whose lines read `Iface Destination Gateway Flags RefCnt Use Metric Mask ...`, the
/// addresses in hexadecimal as the kernel holds them (network byte order read as a native
/// number).
pub(super) fn from_route_table(text: &str) -> Option<Ipv4Addr> {
    routes(text)
        .filter(|route| route.default() && route.up && route.through_gateway)
        .min_by_key(|route| route.metric)
        .map(|route| route.gateway)
}

/// The networks of the routes in the text of `/proc/net/route` that are up and go through no
/// gateway (the default route aside): the networks this host is on.
pub(super) fn on_link(text: &str) -> Vec<Network> {
    routes(text)
        .filter(|route| route.up && !route.through_gateway && !route.default())
        .map(|route| (route.destination, route.mask))
        .take(MAX_NETWORKS)
        .collect()
}

/// A line of the route table.
struct Route {
    destination: Ipv4Addr,
    gateway: Ipv4Addr,
    mask: Ipv4Addr,
    metric: u32,
    up: bool,
    through_gateway: bool,
}

impl Route {
    fn default(&self) -> bool {
        self.destination.is_unspecified() && self.mask.is_unspecified()
    }
}

/// The lines of the route table that read as routes (after the header).
fn routes(text: &str) -> impl Iterator<Item = Route> + '_ {
    text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().take(8).collect();
        let [_, destination, gateway, flags, _, _, metric, mask] = fields[..] else {
            return None;
        };
        let hex = |field: &str| u32::from_str_radix(field, 16).ok();
        let address = |field: &str| Some(Ipv4Addr::from(hex(field)?.to_ne_bytes()));
        let flags = hex(flags)?;
        Some(Route {
            destination: address(destination)?,
            gateway: address(gateway)?,
            mask: address(mask)?,
            metric: metric.parse().ok()?,
            up: flags & UP != 0,
            through_gateway: flags & GATEWAY != 0 && !address(gateway)?.is_unspecified(),
        })
    })
}
