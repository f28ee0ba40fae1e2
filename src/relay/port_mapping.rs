//! `--map-port` in the loop: the router's mapping, asked for once the listener is open (before
//! the loop turns), renewed as the loop turns (its talk polled under [`PORTMAP`]), and removed
//! on every way out. What it has to say goes back to the loop as [`Notices`].

use std::net::SocketAddr;
use std::time::Instant;

use mio::Registry;

use super::{Notices, PORTMAP};
use crate::options::{Config, Mode};
use crate::portmap::{self, PortMap};

/// The mapping tete holds on the router, if it asked for one and got it.
pub(super) struct PortMapping(Option<PortMap>);

impl PortMapping {
    /// With `--map-port`, asks the default gateway to forward the port to `listening` (at most
    /// a few seconds), and says how that went; `password`: whether the room has one, which
    /// the partner's command then shows.
    pub(super) fn open(
        config: &Config,
        listening: Option<SocketAddr>,
        password: bool,
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
        let (portmap, line) = portmap::open(listening, *wanted, config.map_lifetime, password);
        notices.always(line);
        PortMapping(portmap)
    }

    /// When the loop must step the renewal even without an event.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.0.as_ref().and_then(PortMap::next_deadline)
    }

    /// Renews the mapping when it is time; says when it lapsed, came back, or moved.
    pub(super) fn step(&mut self, registry: &Registry, now: Instant, notices: &mut Notices) {
        if let Some(line) = self
            .0
            .as_mut()
            .and_then(|portmap| portmap.step(registry, PORTMAP, now))
        {
            notices.always(line);
        }
    }

    /// Removes the mapping from the router (waiting at most a second), and says so if that
    /// failed. Once only: later calls do nothing.
    pub(super) fn remove(&mut self, notices: &mut Notices) {
        if let Some(line) = self.0.take().and_then(|mut portmap| portmap.remove()) {
            notices.always(line);
        }
    }
}
