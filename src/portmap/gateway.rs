//! The default gateway: the router that NAT-PMP, PCP and UPnP IGD requests go to.
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

/// The default gateway's address, or why there is none.
#[cfg(target_os = "linux")]
pub(super) fn default_gateway() -> Result<Ipv4Addr, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(ROUTES)
        .and_then(|file| file.take(MAX_TABLE).read_to_string(&mut text))
        .map_err(|err| format!("cannot read {ROUTES}: {}", crate::error::os_reason(&err)))?;
    from_route_table(&text).ok_or_else(|| format!("no default route through a gateway in {ROUTES}"))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn default_gateway() -> Result<Ipv4Addr, String> {
    Err("finding the default gateway is supported on Linux only".into())
}

/// A route is up (`RTF_UP`) and goes through a gateway (`RTF_GATEWAY`).
const UP_THROUGH_GATEWAY: u32 = 0x1 | 0x2;

/// The gateway of the default route with the lowest metric in the text of `/proc/net/route`,
/// whose lines read `Iface Destination Gateway Flags RefCnt Use Metric Mask ...`, the
/// addresses in hexadecimal as the kernel holds them (network byte order read as a native
/// number).
pub(super) fn from_route_table(text: &str) -> Option<Ipv4Addr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().take(8).collect();
            let [_, destination, gateway, flags, _, _, metric, mask] = fields[..] else {
                return None;
            };
            let hex = |field: &str| u32::from_str_radix(field, 16).ok();
            let default = hex(destination)? == 0 && hex(mask)? == 0;
            let up = hex(flags)? & UP_THROUGH_GATEWAY == UP_THROUGH_GATEWAY;
            let gateway = Ipv4Addr::from(hex(gateway)?.to_ne_bytes());
            let metric: u32 = metric.parse().ok()?;
            (default && up && !gateway.is_unspecified()).then_some((metric, gateway))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, gateway)| gateway)
}
