//! Listen mode: where the peer comes from when tete waits on a port.
//!
//! Without `-k` the listening socket closes as soon as the peer is in (at once in plain mode,
//! once it has proved it knows the password in password mode), so nobody else can join; with
//! `-k` it stays open, and the next client waits in its backlog until the current session is
//! over, then is served (nc's `-k`). A password listener lets connections in through its
//! [`Admission`]; a plain one takes the first.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::admission::{Admission, Connection};
use super::{Arrival, LISTENER, Notices, PEER, Readiness};
use crate::address;
use crate::error::Error;
use crate::layer::Layer;
use crate::options::Config;

pub(super) struct Listening<'a> {
    config: &'a Config,
    /// Where to listen: `-s` or the address operand (every address when `None`), and the port.
    address: Option<&'a str>,
    port: u16,
    /// The listening socket, open from the start until a peer is in (unless `-k`).
    door: Door,
    /// True while waiting for a peer; false while its session runs.
    waiting: bool,
    /// When the current wait for a peer gives up (`-w`).
    deadline: Option<Instant>,
    /// Password mode: when the last step stopped letting connections in with more waiting and
    /// a slot for them; the poll then returns at once.
    accept_more: Option<Instant>,
    /// Password mode: the handshakes under way, and the guess budget.
    admission: Admission<'a>,
}

impl<'a> Listening<'a> {
    /// Opens the listener on `address` (every address when `None`) and `port`: whatever can
    /// fail on the command line's account happens here, before the password prompt.
    pub(super) fn start(
        config: &'a Config,
        address: Option<&'a str>,
        port: u16,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<Listening<'a>, Error> {
        let mut listening = Listening {
            config,
            address,
            port,
            door: Door {
                listener: None,
                ready: Readiness::new(false),
            },
            waiting: false,
            deadline: None,
            accept_more: None,
            admission: Admission::new(config),
        };
        listening.listen(registry, notices)?;
        Ok(listening)
    }

    pub(super) fn listener_ready(&mut self) {
        self.door.ready.set();
    }

    /// The listening socket's address, while it is open.
    pub(super) fn listening_on(&self) -> Option<SocketAddr> {
        self.door.listener.as_ref()?.local_addr().ok()
    }

    /// Notes readiness from a poll event on a pending handshake's token, if `token` is one.
    pub(super) fn pending_ready(&mut self, token: Token, readable: bool, writable: bool) {
        self.admission.ready(token, readable, writable);
    }

    /// The next deadline of the wait for a peer, if any.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        if !self.waiting {
            return None;
        }
        [
            self.deadline,
            self.admission.next_deadline(),
            self.accept_more,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances the wait for a peer; `password` is the room's, for a password listener's
    /// handshakes. The peer, once it is in.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        password: Option<&[u8]>,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        if !self.waiting {
            return Ok(None);
        }
        match password {
            Some(password) => self.admit(registry, now, password, notices),
            None => self.accept(registry, now, notices),
        }
    }

    /// The session's peer has proved it knows the password (at once when there is none): the
    /// wait is over, and without `-k` nobody else may join.
    pub(super) fn authenticated(&mut self, registry: &Registry) {
        self.admission.wait_over();
        self.deadline = None;
        if !self.config.keep_open()
            && let Some(mut listener) = self.door.listener.take()
        {
            let _ = registry.deregister(&mut listener);
        }
    }

    /// Waits for a peer: on the listener still open (after a session, with `-k`), or on a new
    /// one.
    pub(super) fn listen(
        &mut self,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<(), Error> {
        self.waiting = true;
        self.deadline = self.config.wait.map(|wait| Instant::now() + wait);
        let listener = match self.door.listener.take() {
            // -k: the next client may already wait in the backlog.
            Some(listener) => listener,
            None => {
                let mut listener = address::listen(
                    self.address,
                    self.port,
                    self.config.family,
                    self.config.numeric,
                )?;
                registry
                    .register(&mut listener, LISTENER, Interest::READABLE)
                    .map_err(|err| Error::io("event loop", &err))?;
                self.door.ready.clear();
                listener
            }
        };
        if let Ok(local) = listener.local_addr() {
            notices.verbose(format!("listening on {local}"));
        }
        self.door.listener = Some(listener);
        Ok(())
    }

    /// Plain listen mode: the first connection is the peer.
    fn accept(
        &mut self,
        registry: &Registry,
        now: Instant,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        let Some((mut stream, peer)) = self.door.next(notices)? else {
            return self.check_wait(now).map(|()| None);
        };
        registry
            .register(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        Ok(Some(self.session_begins(stream, peer, None)))
    }

    /// Password listen mode: connections go through the admission; the partner is the peer.
    fn admit(
        &mut self,
        registry: &Registry,
        now: Instant,
        password: &[u8],
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        self.accept_more = None;
        let door = &mut self.door;
        let admitted = self
            .admission
            .step(registry, now, password, notices, |notices| {
                door.next(notices)
            })?;
        if admitted.held_back && self.door.ready.is_ready() {
            self.accept_more = Some(now);
        }
        let Some((mut stream, peer, layer)) = admitted.partner else {
            return self.check_wait(now).map(|()| None);
        };
        registry
            .reregister(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        Ok(Some(self.session_begins(stream, peer, Some(layer))))
    }

    /// The peer is in (its stream already registered as `PEER`): the wait is over.
    fn session_begins(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        layer: Option<Layer>,
    ) -> Arrival {
        self.deadline = None;
        self.waiting = false;
        Arrival {
            stream,
            peer,
            early: Vec::new(),
            layer,
        }
    }

    /// Fails once the `-w` wait for a peer is over.
    fn check_wait(&self, now: Instant) -> Result<(), Error> {
        match self.deadline {
            Some(deadline) if now >= deadline => Err(self.gave_up_waiting()),
            _ => Ok(()),
        }
    }

    /// The error for a `-w` that ran out before a peer came.
    fn gave_up_waiting(&self) -> Error {
        let wait = self.config.wait.unwrap_or_default().as_secs_f64();
        match self.admission.failed_handshakes() {
            0 => Error::Runtime(format!("no peer connected within {wait} s")),
            failed => Error::Runtime(format!(
                "no peer completed the password handshake within {wait} s ({failed} failed)"
            )),
        }
    }
}

/// The listening socket and its readiness.
struct Door {
    listener: Option<TcpListener>,
    ready: Readiness,
}

impl Door {
    /// The next connection waiting on the listener, if any.
    fn next(&mut self, notices: &mut Notices) -> Result<Option<Connection>, Error> {
        let Some(listener) = &self.listener else {
            return Ok(None);
        };
        loop {
            match self.ready.attempt(|| listener.accept()) {
                Ok(Some((stream, peer))) => {
                    // An IPv4 peer of a dual-stack listener: 127.0.0.1, not [::ffff:127.0.0.1].
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    notices.verbose(format!("connection from {peer}"));
                    return Ok(Some((stream, peer)));
                }
                Ok(None) => return Ok(None),
                // The peer gave up before we accepted: take the next one, if any.
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(err) => return Err(Error::io("accept", &err)),
            }
        }
    }
}
