//! A mapping's life after the first request: renewed inside the relay's loop before it lapses,
//! and removed when tete ends.
//!
//! A renewal is the mapping's request again, asked at half the lifetime granted; a failed one
//! is tried again (after a quarter of the lifetime, at most [`RETRY`]), and the user hears once
//! when the mapping has lapsed, and again if the router then gives it back, or moves it.

use std::time::{Duration, Instant};

use mio::{Registry, Token};

use super::talk::{Heard, Talk, Verdict};
use super::{
    Failure, Grant, Mapping, Method, REMOVE_WAIT, RENEW_WAIT, RETRY, datagram, natpmp, pcp, silent,
    upnp,
};

/// A mapping the relay keeps alive, and removes when dropped.
pub(crate) struct PortMap {
    /// `None` once removed.
    mapping: Option<Mapping>,
    renewal: Renewal,
    /// When the mapping lapses unless renewed (`None`: it does not).
    expires: Option<Instant>,
    /// The user has been told that the mapping lapsed.
    lapsed: bool,
    password: bool,
}

enum Renewal {
    Never,
    At(Instant),
    Asking(Talk),
}

impl PortMap {
    pub(super) fn keep(mapping: Mapping, password: bool) -> PortMap {
        let now = Instant::now();
        let mut map = PortMap {
            renewal: Renewal::Never,
            expires: None,
            lapsed: false,
            password,
            mapping: None,
        };
        map.granted(&mapping, now);
        map.mapping = Some(mapping);
        map
    }

    /// When the loop must step the renewal even without an event.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match &self.renewal {
            Renewal::Never => None,
            Renewal::At(at) => Some(*at),
            Renewal::Asking(talk) => Some(talk.next_deadline()),
        }
    }

    /// Moves the renewal on (its socket is registered under `token` while it runs). Returns a
    /// line for the user when the mapping lapsed, came back, or moved.
    pub(crate) fn step(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<String> {
        let mapping = self.mapping.as_ref()?;
        if let Renewal::At(at) = self.renewal {
            if now < at {
                return None;
            }
            let mut talk = match renewal(mapping, now + RENEW_WAIT) {
                Ok(talk) => talk,
                Err(failure) => return self.failed(failure, now),
            };
            if let Err(err) = talk.register(registry, token) {
                return self.failed(silent(err), now);
            }
            self.renewal = Renewal::Asking(talk);
        }
        let Renewal::Asking(talk) = &mut self.renewal else {
            return None;
        };
        let heard = talk.step(now, &mut |reply, all| read_renewal(mapping, reply, all));
        if !matches!(heard, Heard::Waiting) {
            talk.deregister(registry);
        }
        match heard {
            Heard::Waiting => None,
            Heard::Failed(failure) => self.failed(failure, now),
            Heard::Answer(grant) => {
                let mut mapping = self.mapping.take()?;
                let moved = grant.public != mapping.grant.public
                    || grant.external != mapping.grant.external;
                let back = std::mem::take(&mut self.lapsed);
                mapping.grant = grant;
                self.granted(&mapping, now);
                let line = (moved || back).then(|| opened_line(&mapping, self.password, "again "));
                self.mapping = Some(mapping);
                line
            }
        }
    }

    /// Removes the mapping from the router, waiting at most [`REMOVE_WAIT`]. Returns a line
    /// for the user if that failed.
    pub(crate) fn remove(&mut self) -> Option<String> {
        let mapping = self.mapping.take()?;
        // A renewal under way is dropped: the deletion supersedes it.
        self.renewal = Renewal::Never;
        let gateway = mapping.router.gateway;
        let removed = deletion(&mapping, Instant::now() + REMOVE_WAIT)
            .and_then(|talk| talk.finish(|reply, all| read_deletion(&mapping, reply, all)));
        let why = match removed {
            Ok(()) => return None,
            Err(Failure::Silent(why) | Failure::Refused(why)) => why,
        };
        let lapses = match mapping.grant.lifetime {
            0 => "it stays until the router restarts".to_string(),
            lifetime => format!("it lapses within {lifetime} s"),
        };
        Some(format!(
            "could not remove the port mapping on the router at {gateway} ({why}); {lapses}"
        ))
    }

    /// Schedules the next renewal of the grant `mapping` holds, made at `now`.
    fn granted(&mut self, mapping: &Mapping, now: Instant) {
        let lifetime = Duration::from_secs(mapping.grant.lifetime.into());
        self.expires = (!lifetime.is_zero()).then(|| now + lifetime);
        self.renewal = match lifetime.is_zero() {
            true => Renewal::Never,
            false => Renewal::At(now + (lifetime / 2).max(Duration::from_secs(1))),
        };
    }

    /// A renewal failed: try again later; say so once when the mapping has lapsed.
    fn failed(&mut self, failure: Failure, now: Instant) -> Option<String> {
        let lifetime = self
            .mapping
            .as_ref()
            .map_or(super::LIFETIME, |mapping| mapping.grant.lifetime);
        let wait = (Duration::from_secs(lifetime.into()) / 4).clamp(Duration::from_secs(1), RETRY);
        self.renewal = Renewal::At(now + wait);
        let lapsed = self.expires.is_some_and(|expires| now >= expires);
        if !lapsed || self.lapsed {
            return None;
        }
        self.lapsed = true;
        let (Failure::Silent(why) | Failure::Refused(why)) = failure;
        Some(format!(
            "the router did not renew the port mapping ({why}): a partner on the internet may \
             not get in; trying again every {} s",
            wait.as_secs()
        ))
    }
}

impl Drop for PortMap {
    /// The relay removes the mapping itself on every way out, and says how that went; a
    /// `PortMap` dropped without that (a panic unwinding) still removes it, quietly.
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// The line that tells the user the mapping is there, and what the partner runs.
pub(super) fn opened_line(mapping: &Mapping, password: bool, again: &str) -> String {
    let Grant {
        public, external, ..
    } = mapping.grant;
    let method = match mapping.method {
        Method::Pcp(_) => "PCP",
        Method::NatPmp => "NAT-PMP",
        Method::Upnp(_) => "UPnP IGD",
    };
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

/// Private (RFC 1918) and shared (RFC 6598, carrier-grade NAT) addresses: a router with one of
/// these outside is itself behind another NAT.
fn is_not_public(address: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    address.is_private() || (a == 100 && (64..128).contains(&b))
}

/// The mapping's request again, for its full lifetime.
fn renewal(mapping: &Mapping, deadline: Instant) -> Result<Talk, Failure> {
    let Grant { external, .. } = mapping.grant;
    let internal = mapping.internal;
    let router = mapping.router;
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

fn read_renewal(mapping: &Mapping, reply: &[u8], all: bool) -> Verdict<Grant> {
    let grant = mapping.grant;
    let checked = |grant: Grant, method| {
        super::granted(grant, method).map_err(|failure| match failure {
            Failure::Silent(why) | Failure::Refused(why) => why,
        })
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
fn deletion(mapping: &Mapping, deadline: Instant) -> Result<Talk, Failure> {
    let router = mapping.router;
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

fn read_deletion(mapping: &Mapping, reply: &[u8], all: bool) -> Verdict<()> {
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
