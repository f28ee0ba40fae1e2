//! `--map-port` in the loop: the router's mapping, asked for once the listener is open, while
//! the loop turns and the LAN can already connect (its talks polled under [`PORTMAP`]), renewed
//! as the loop turns, and removed on every way out. What it has to say goes back to the loop
//! as [`Notices`]: that the router is being asked, then what came of it.

use std::net::SocketAddr;
use std::time::Instant;

use mio::Registry;

use super::{Notices, PORTMAP};
use crate::options::{Config, Mode};
use crate::portmap::{self, PortMap};

/// The mapping tete holds on the router, if it asked for one and got it.
pub(super) struct PortMapping(Option<PortMap>);

impl PortMapping {
    /// With `--map-port`, starts asking the default gateway to forward the port to `listening`
    /// (the answer comes as the loop turns), and says so; `password`: whether the room has
    /// one, which the partner's command then shows.
    pub(super) fn open(
        config: &Config,
        listening: Option<SocketAddr>,
        password: bool,
        registry: &Registry,
        notices: &mut Notices,
    ) -> PortMapping {
        let (
            Mode::Listen {
                map_port: Some(wanted),
                ..
            },
            Some(listening),
        ) = (&config.mode, listening)
        else {
            return PortMapping(None);
        };
        let lifetime = config.map_lifetime;
        let (portmap, line) =
            portmap::start(listening, *wanted, lifetime, password, registry, PORTMAP);
        notices.always(line);
        PortMapping(portmap)
    }

    /// When the loop must step the renewal even without an event.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.0.as_ref().and_then(PortMap::next_deadline)
    }

    /// Moves the request on, or renews the mapping when it is time; says what came of the
    /// request, and when the mapping lapsed, came back, or moved.
    pub(super) fn step(&mut self, registry: &Registry, now: Instant, notices: &mut Notices) {
        if let Some(line) = self
            .0
            .as_mut()
            .and_then(|portmap| portmap.step(registry, PORTMAP, now))
        {
            notices.always(line);
        }
    }

    /// Removes the mapping from the router (waiting at most a second; a request still
    /// unanswered gets its deletion sent, and no wait), and says so if that failed. Once only:
    /// later calls do nothing.
    pub(super) fn remove(&mut self, notices: &mut Notices) {
        if let Some(line) = self.0.take().and_then(|mut portmap| portmap.remove()) {
            notices.always(line);
        }
    }
}
