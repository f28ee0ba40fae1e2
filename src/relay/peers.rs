//! Where the peer comes from: connecting to it ([`super::connecting`]), or listening for it
//! ([`super::listening`]); the loop asks this one type, whichever it is.

use std::net::SocketAddr;
use std::time::Instant;

use mio::{Registry, Token};

use super::connecting::{Connecting, Dial};
use super::listening::Listening;
use super::{Arrival, Notices, presence};
use crate::address::Family;
use crate::error::Error;
use crate::options::{Config, Mode};

/// Where the peer comes from: connecting to it, or listening for it.
/// Both boxed, as they differ in size (a password listener's slots, a proxy's handshake).
pub(super) enum Peers<'a> {
    Connecting(Box<Connecting<'a>>),
    Listening(Box<Listening<'a>>),
}

impl<'a> Peers<'a> {
    /// Resolves the host, or opens the listener: whatever can fail on the command line's
    /// account happens here, before the password prompt.
    pub(super) fn start(
        config: &'a Config,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<Peers<'a>, Error> {
        Ok(match &config.mode {
            Mode::Connect {
                host,
                port,
                source,
                proxy,
            } => {
                let dial = Dial {
                    host,
                    port: *port,
                    source,
                    proxy: proxy.as_ref(),
                };
                Peers::Connecting(Box::new(Connecting::start(config, dial)?))
            }
            Mode::Listen { address, port, .. } => {
                let address = address.as_deref();
                let listening = Listening::start(config, address, *port, registry, notices)?;
                Peers::Listening(Box::new(listening))
            }
        })
    }

    /// Connect mode: starts connecting; `-w` counts from here.
    pub(super) fn connect(
        &mut self,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<(), Error> {
        match self {
            Peers::Connecting(connecting) => connecting.connect(registry, notices),
            Peers::Listening(_) => Ok(()),
        }
    }

    pub(super) fn listener_ready(&mut self) {
        if let Peers::Listening(listening) = self {
            listening.listener_ready();
        }
    }

    /// Where the listener listens, in listen mode while it is open.
    pub(super) fn listening_on(&self) -> Option<SocketAddr> {
        match self {
            Peers::Connecting(_) => None,
            Peers::Listening(listening) => listening.listening_on(),
        }
    }

    pub(super) fn pending_ready(&mut self, token: Token, readable: bool, writable: bool) {
        if let Peers::Listening(listening) = self {
            listening.pending_ready(token, readable, writable);
        }
    }

    /// What chat mode's presence row says while no partner is in; `again`: after one left.
    /// `family`: the one the listener was bound for (`-4`, `-6`).
    pub(super) fn awaited(&self, again: bool, family: Family) -> String {
        match self {
            Peers::Connecting(connecting) => {
                let (host, port) = connecting.destination();
                presence::connecting(host, port)
            }
            Peers::Listening(listening) => {
                presence::listening(listening.listening_on(), family, again)
            }
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self {
            Peers::Connecting(connecting) => connecting.next_deadline(),
            Peers::Listening(listening) => listening.next_deadline(),
        }
    }

    /// Advances the wait for a peer; `password` is the room's.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        password: Option<&[u8]>,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        match self {
            Peers::Connecting(connecting) => connecting.step(registry, now, notices),
            Peers::Listening(listening) => listening.step(registry, now, password, notices),
        }
    }

    /// The session's peer has proved it knows the password (at once when there is none).
    pub(super) fn authenticated(&mut self, registry: &Registry) {
        if let Peers::Listening(listening) = self {
            listening.authenticated(registry);
        }
    }

    /// `-k`: waits for the next peer.
    pub(super) fn listen(
        &mut self,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<(), Error> {
        match self {
            Peers::Connecting(_) => Ok(()),
            Peers::Listening(listening) => listening.listen(registry, notices),
        }
    }
}
