//! The requests that keep a mapping (the same request again, before it lapses) and that end it
//! (a lifetime of 0, or DeletePortMapping), and how the router's answers to them are read.

use std::time::Instant;

use super::talk::{Talk, Verdict};
use super::{Failure, Grant, Mapping, Method, datagram, granted, natpmp, pcp, said, silent, upnp};

/// The mapping's request again, for its full lifetime.
pub(super) fn renewal(mapping: &Mapping, deadline: Instant) -> Result<Talk, Failure> {
    let Grant { external, .. } = mapping.grant;
    let internal = mapping.internal;
    let router = &mapping.router;
    match &mapping.method {
        Method::Pcp(nonce) => {
            let lifetime = mapping.lifetime;
            let request = pcp::map_request(nonce, mapping.client, internal, external, lifetime);
            datagram(router, &request, deadline)
        }
        Method::NatPmp => datagram(
            router,
            &natpmp::map_request(internal, external, mapping.lifetime),
            deadline,
        ),
        Method::Upnp(control) => {
            let request = upnp::add_mapping(
                control,
                mapping.client,
                internal,
                external,
                mapping.grant.lifetime,
            );
            Talk::http(control.url.server, request, deadline).map_err(silent)
        }
    }
}

/// The router's answer to a renewal: the grant, or why it is not renewed (an address no
/// partner can reach counts as no renewal).
pub(super) fn read_renewal(mapping: &Mapping, reply: &[u8], all: bool) -> Verdict<Grant> {
    let grant = mapping.grant;
    let checked = |grant: Grant, method| {
        let grant = granted(grant, method)?;
        match said::unreachable(grant.public, &mapping.router, mapping.client) {
            Some(why) => Err(format!("{method}: {why}")),
            None => Ok(grant),
        }
    };
    match &mapping.method {
        Method::Pcp(nonce) => Some(match pcp::read_reply(reply, nonce, mapping.internal)? {
            pcp::Reply::Granted(grant) => checked(grant, "PCP"),
            pcp::Reply::Refused(why) => Err(why),
            pcp::Reply::NatPmpOnly => Err("PCP: the router no longer speaks PCP".into()),
        }),
        Method::NatPmp => Some(natpmp::read_map_reply(reply, mapping.internal)?.and_then(
            |(external, lifetime)| {
                checked(
                    Grant {
                        external,
                        lifetime,
                        ..grant
                    },
                    "NAT-PMP",
                )
            },
        )),
        Method::Upnp(_) => Some(upnp::read_soap_reply(reply, all)?.and_then(
            |outcome| match outcome {
                upnp::Outcome::Done(_) => Ok(grant),
                upnp::Outcome::Error(code, words) => Err(upnp::error_text(code, &words)),
            },
        )),
    }
}

/// The request that removes the mapping.
pub(super) fn deletion(mapping: &Mapping, deadline: Instant) -> Result<Talk, Failure> {
    let router = &mapping.router;
    match &mapping.method {
        Method::Pcp(nonce) => {
            let request = pcp::map_request(
                nonce,
                mapping.client,
                mapping.internal,
                mapping.grant.external,
                0,
            );
            datagram(router, &request, deadline)
        }
        Method::NatPmp => datagram(router, &natpmp::delete_request(mapping.internal), deadline),
        Method::Upnp(control) => {
            let request = upnp::delete_mapping(control, mapping.grant.external);
            Talk::http(control.url.server, request, deadline).map_err(silent)
        }
    }
}

/// The router's answer to the deletion: done (or nothing to delete), or its reason.
pub(super) fn read_deletion(mapping: &Mapping, reply: &[u8], all: bool) -> Verdict<()> {
    match &mapping.method {
        Method::Pcp(nonce) => Some(match pcp::read_reply(reply, nonce, mapping.internal)? {
            pcp::Reply::Granted(_) => Ok(()),
            pcp::Reply::Refused(why) => Err(why),
            pcp::Reply::NatPmpOnly => Err("PCP: the router no longer speaks PCP".into()),
        }),
        Method::NatPmp => Some(natpmp::read_map_reply(reply, mapping.internal)?.map(drop)),
        Method::Upnp(_) => Some(upnp::read_soap_reply(reply, all)?.and_then(
            |outcome| match outcome {
                upnp::Outcome::Done(_) => Ok(()),
                // NoSuchEntryInArray: already gone (it lapsed, or the router restarted).
                upnp::Outcome::Error(714, _) => Ok(()),
                upnp::Outcome::Error(code, words) => Err(upnp::error_text(code, &words)),
            },
        )),
    }
}
