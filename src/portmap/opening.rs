//! The first mapping, asked for inside the relay's loop: port 5351 ([`Exchange`]: PCP, then
//! NAT-PMP on the router's cue), then UPnP IGD ([`Discovery`]) when port 5351 is silent or
//! refuses. Each phase has its share of time (see the module above); the refusals heard on the
//! way make the reason given if nothing maps the port.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use mio::{Registry, Token};

use super::exchange::Exchange;
use super::igd::Discovery;
use super::talk::Heard;
use super::{Asked, BUDGET, Failure, Mapping, Router, UPNP_SHARE};

pub(super) struct Opening {
    router: Router,
    asked: Asked,
    start: Instant,
    phase: Phase,
    /// What the router refused on the way, in its words.
    refusals: Vec<String>,
}

enum Phase {
    Udp(Box<Exchange>),
    Upnp(Box<Discovery>),
}

/// How the opening stands.
pub(super) enum Opened {
    Waiting,
    /// The router holds the mapping (its address not yet judged, for PCP).
    Mapped(Mapping),
    Failed(Failure),
}

impl Opening {
    /// Starts asking `router` to forward `wanted` to `listening` for `lifetime` seconds; the
    /// first socket is polled under `token`. Fails, in words, if it cannot even start.
    pub(super) fn begin(
        router: Router,
        listening: SocketAddr,
        wanted: u16,
        lifetime: u32,
        registry: &Registry,
        token: Token,
    ) -> Result<Opening, String> {
        let asked = super::asked(&router, listening, wanted, lifetime)?;
        let start = Instant::now();
        let exchange =
            Exchange::begin(&router, asked, start, registry, token).map_err(super::reason)?;
        Ok(Opening {
            router,
            asked,
            start,
            phase: Phase::Udp(Box::new(exchange)),
            refusals: Vec::new(),
        })
    }

    pub(super) fn gateway(&self) -> Ipv4Addr {
        self.router.gateway
    }

    pub(super) fn wanted(&self) -> u16 {
        self.asked.wanted
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Udp(exchange) => exchange.next_deadline(),
            Phase::Upnp(discovery) => Some(discovery.next_deadline()),
        }
    }

    /// Moves the opening on: reads what has come, sends what is due.
    pub(super) fn step(&mut self, registry: &Registry, token: Token, now: Instant) -> Opened {
        // Twice at most: port 5351's end starts UPnP, whose search goes at once.
        for _ in 0..2 {
            let heard = match &mut self.phase {
                Phase::Udp(exchange) => exchange.step(registry, token, now),
                Phase::Upnp(discovery) => discovery.step(registry, token, now),
            };
            let failure = match heard {
                Heard::Waiting => return Opened::Waiting,
                Heard::Answer((method, grant)) => {
                    return Opened::Mapped(self.asked.mapping(&self.router, method, grant));
                }
                Heard::Failed(failure) => failure,
            };
            if let Failure::Refused(why) = &failure {
                self.refusals.push(why.clone());
            }
            let Phase::Udp(exchange) = &mut self.phase else {
                break;
            };
            exchange.deregister(registry);
            let deadline = (self.start + BUDGET).max(now + UPNP_SHARE);
            match Discovery::begin(&self.router, self.asked, deadline, registry, token) {
                Ok(discovery) => self.phase = Phase::Upnp(Box::new(discovery)),
                Err(failure) => return self.failed(failure),
            }
        }
        self.failed(Failure::Silent("no answer".into()))
    }

    /// Nothing mapped: the router's refusals, if it made any; else silence.
    fn failed(&mut self, failure: Failure) -> Opened {
        if let Failure::Refused(why) = failure
            && !self.refusals.contains(&why)
        {
            self.refusals.push(why);
        }
        Opened::Failed(match self.refusals.is_empty() {
            true => Failure::Silent("no answer".into()),
            false => Failure::Refused(self.refusals.join("; ")),
        })
    }

    /// The mappings the router may hold though it has not said so: to remove if tete ends now.
    pub(super) fn leftovers(&self) -> Vec<Mapping> {
        match &self.phase {
            Phase::Udp(exchange) => exchange.leftovers(),
            Phase::Upnp(discovery) => discovery.leftover().into_iter().collect(),
        }
    }

    pub(super) fn deregister(&mut self, registry: &Registry) {
        match &mut self.phase {
            Phase::Udp(exchange) => exchange.deregister(registry),
            Phase::Upnp(discovery) => discovery.deregister(registry),
        }
    }
}
