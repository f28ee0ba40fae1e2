//! Connect mode: where the peer comes from when tete dials.
//!
//! Each address of the host is tried in turn until one accepts (`-w` bounds the whole wait).
//! With a proxy (`-x`), tete connects to the proxy instead, then runs the proxy's handshake
//! ([`ProxyHandshake`], bytes in and out) on the non-blocking socket before the session begins:
//! the session never knows a proxy was there, except that it gets first whatever the
//! destination sent right behind the proxy's reply. `-w` bounds connecting and the handshake
//! together; without it the proxy has [`PROXY_REPLY_TIME`] to answer.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry};

use super::{Arrival, Notices, PEER, Readiness, write_ready};
use crate::address::{self, HostPort, Source};
use crate::error::Error;
use crate::options::Config;
use crate::proxy::{Proxy, ProxyError, ProxyHandshake};

/// How long a proxy has to complete its handshake, from the connection to it, when `-w` does not
/// say: a proxy of another protocol may never answer (an HTTP proxy waits for a request line
/// that a SOCKS5 greeting never finishes), and that must not hang a script. Generous, as the
/// proxy connects to the destination meanwhile, and Tor may first build a circuit.
const PROXY_REPLY_TIME: Duration = Duration::from_secs(30);

/// The most read from the proxy at once. The handshake takes only its replies; what follows in
/// the same read is the session's first input, which must fit in its buffers.
const PROXY_READ: usize = 1024;

enum Phase {
    /// Before the first attempt: the host's addresses, resolved.
    Resolved(VecDeque<SocketAddr>),
    /// Waiting for `stream` to connect to `target`, with `rest` still to try.
    Trying {
        stream: TcpStream,
        target: SocketAddr,
        rest: VecDeque<SocketAddr>,
    },
    /// With a proxy: connected to the proxy at `target`, running its handshake; `out` is what
    /// is still to be written to it.
    Proxying {
        stream: TcpStream,
        target: SocketAddr,
        handshake: ProxyHandshake,
        out: Vec<u8>,
    },
    /// The peer is in: its session is under way.
    Connected,
}

/// What connect mode dials: `host` on `port`, from `source`, through `proxy` if any.
pub(super) struct Dial<'a> {
    pub host: &'a str,
    pub port: u16,
    pub source: &'a Source,
    pub proxy: Option<&'a Proxy>,
}

pub(super) struct Connecting<'a> {
    config: &'a Config,
    dial: Dial<'a>,
    phase: Phase,
    /// When the wait for the connection (and the proxy's handshake) gives up.
    deadline: Option<Instant>,
    /// With a proxy: its handshake and first request, made before connecting (a destination
    /// the protocol cannot express fails at once), until the connection to the proxy is up.
    proxy_handshake: Option<(ProxyHandshake, Vec<u8>)>,
}

impl<'a> Connecting<'a> {
    /// Resolves the host (or the proxy's): whatever can fail on the command line's account
    /// happens here, before the password prompt.
    pub(super) fn start(config: &'a Config, dial: Dial<'a>) -> Result<Connecting<'a>, Error> {
        // Through a proxy the destination is the proxy's to look up (Tor needs that).
        let (mut proxy_handshake, host, port) = (None, dial.host, dial.port);
        let (host, port) = match dial.proxy {
            None => (host, port),
            Some(proxy) => {
                let mut request = Vec::new();
                let handshake =
                    ProxyHandshake::new(proxy, host, port, &mut request).map_err(proxy_failure)?;
                proxy_handshake = Some((handshake, request));
                (proxy.host.as_str(), proxy.port)
            }
        };
        let targets =
            address::resolve(host, port, config.family, config.numeric).map_err(|err| {
                match (dial.proxy, err) {
                    // Say that it is the proxy's name that failed, not the destination's.
                    (Some(proxy), Error::Runtime(reason)) => {
                        Error::Runtime(format!("{proxy}: {reason}"))
                    }
                    (_, err) => err,
                }
            })?;
        Ok(Connecting {
            config,
            dial,
            phase: Phase::Resolved(targets.into()),
            deadline: None,
            proxy_handshake,
        })
    }

    /// The host and port dialled, as the command line gave them.
    pub(super) fn destination(&self) -> (&str, u16) {
        (self.dial.host, self.dial.port)
    }

    /// Starts connecting to the resolved addresses; `-w` counts from here.
    pub(super) fn connect(
        &mut self,
        registry: &Registry,
        notices: &mut Notices,
    ) -> Result<(), Error> {
        let Phase::Resolved(targets) = std::mem::replace(&mut self.phase, Phase::Connected) else {
            return Ok(());
        };
        self.deadline = self.config.wait.map(|wait| Instant::now() + wait);
        self.connect_next(registry, targets, None, notices)
    }

    /// The next deadline of the wait for the connection, if any.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Resolved(_) | Phase::Connected => None,
            Phase::Trying { .. } | Phase::Proxying { .. } => self.deadline,
        }
    }

    /// Advances the wait for the connection; the peer, once it is in.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        match self.phase {
            Phase::Resolved(_) | Phase::Connected => Ok(None),
            Phase::Trying { .. } => self.check_connecting(registry, now, notices),
            Phase::Proxying { .. } => self.check_proxying(now, notices),
        }
    }

    /// Starts connecting to the next address in `targets`; `failure` is why the last one failed.
    fn connect_next(
        &mut self,
        registry: &Registry,
        mut targets: VecDeque<SocketAddr>,
        failure: Option<Error>,
        notices: &mut Notices,
    ) -> Result<(), Error> {
        let mut failure = failure;
        while let Some(target) = targets.pop_front() {
            // Each failure but the last, which becomes the error, is worth a word with -v.
            if let Some(earlier) = &failure {
                notices.verbose(earlier.to_string());
            }
            match address::start_connect(target, self.dial.source, self.config.numeric) {
                Ok(mut stream) => {
                    registry
                        .register(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
                        .map_err(|err| Error::io("event loop", &err))?;
                    self.phase = Phase::Trying {
                        stream,
                        target,
                        rest: targets,
                    };
                    return Ok(());
                }
                Err(err) => failure = Some(err),
            }
        }
        Err(failure.unwrap_or_else(|| Error::Runtime("no address to connect to".into())))
    }

    /// Checks how the connection attempt went.
    fn check_connecting(
        &mut self,
        registry: &Registry,
        now: Instant,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        let Phase::Trying { stream, target, .. } = &mut self.phase else {
            return Ok(None);
        };
        let target = *target;
        let Some(outcome) = address::connect_outcome(stream) else {
            // Not connected yet: wait for the next event, unless time is up.
            if self.deadline.is_some_and(|deadline| now >= deadline) {
                return Err(self.gave_up_waiting());
            }
            return Ok(None);
        };
        let Phase::Trying {
            mut stream, rest, ..
        } = std::mem::replace(&mut self.phase, Phase::Connected)
        else {
            return Ok(None);
        };
        match (outcome, self.proxy_handshake.take()) {
            (Ok(()), None) => {
                self.deadline = None;
                notices.verbose(format!("connected to {target}"));
                Ok(Some(Arrival {
                    stream,
                    peer: target,
                    early: Vec::new(),
                    layer: None,
                }))
            }
            (Ok(()), Some((handshake, out))) => {
                notices.verbose(format!("connected to {}", self.named(target)));
                self.deadline = self.deadline.or(Some(now + PROXY_REPLY_TIME));
                self.phase = Phase::Proxying {
                    stream,
                    target,
                    handshake,
                    out,
                };
                self.check_proxying(now, notices)
            }
            (Err(err), handshake) => {
                self.proxy_handshake = handshake;
                let _ = registry.deregister(&mut stream);
                let failure = Error::io(format!("cannot connect to {}", self.named(target)), &err);
                self.connect_next(registry, rest, Some(failure), notices)?;
                Ok(None)
            }
        }
    }

    /// Advances the proxy's handshake as far as the socket allows.
    fn check_proxying(
        &mut self,
        now: Instant,
        notices: &mut Notices,
    ) -> Result<Option<Arrival>, Error> {
        let Phase::Proxying {
            stream,
            handshake,
            out,
            ..
        } = &mut self.phase
        else {
            return Ok(None);
        };
        let mut early = Vec::new();
        match exchange(stream, handshake, out, &mut early) {
            Ok(true) => {}
            Ok(false) if self.deadline.is_some_and(|deadline| now >= deadline) => {
                let limit = match self.config.wait {
                    Some(wait) => format!("-w {}", wait.as_secs_f64()),
                    None => format!("{} s; -w sets the limit", PROXY_REPLY_TIME.as_secs()),
                };
                return Err(Error::Runtime(format!(
                    "{} ({limit})",
                    handshake.timed_out()
                )));
            }
            Ok(false) => return Ok(None),
            Err(Exchange::Proxy(err)) => return Err(proxy_failure(err)),
            Err(Exchange::Io(err)) => {
                let proxy = self.dial.proxy.map(Proxy::to_string).unwrap_or_default();
                return Err(Error::io(proxy, &err));
            }
        }
        let Phase::Proxying { stream, target, .. } =
            std::mem::replace(&mut self.phase, Phase::Connected)
        else {
            return Ok(None);
        };
        self.deadline = None;
        if let Some(proxy) = self.dial.proxy {
            let destination = HostPort::new(self.dial.host, self.dial.port);
            notices.verbose(format!("{proxy} connected us to {destination}"));
        }
        Ok(Some(Arrival {
            stream,
            peer: target,
            early,
            layer: None,
        }))
    }

    /// What `target` is to the user: the proxy, if it is one (with its address when `-x`
    /// named it by name), or the address.
    fn named(&self, target: SocketAddr) -> String {
        match self.dial.proxy {
            Some(proxy) if proxy.host.parse() == Ok(target.ip()) => proxy.to_string(),
            Some(proxy) => format!("{proxy} ({target})"),
            None => target.to_string(),
        }
    }

    /// The error for a `-w` that ran out before the connection.
    fn gave_up_waiting(&self) -> Error {
        let wait = self.config.wait.unwrap_or_default().as_secs_f64();
        let what = match self.dial.proxy {
            Some(proxy) => proxy.to_string(),
            None => HostPort::new(self.dial.host, self.dial.port).to_string(),
        };
        Error::Runtime(format!(
            "cannot connect to {what}: timed out after {wait} s"
        ))
    }
}

/// How an exchange with the proxy failed.
enum Exchange {
    /// The proxy refused, or broke its protocol.
    Proxy(ProxyError),
    /// The socket failed.
    Io(io::Error),
}

fn proxy_failure(err: ProxyError) -> Error {
    Error::Runtime(err.to_string())
}

/// Writes the handshake's requests and feeds it the proxy's replies until the socket would
/// block (false) or the handshake is complete (true); then `early` holds what followed the
/// last reply in the same read. Readiness comes on edges, so every call goes until `WouldBlock`.
fn exchange(
    stream: &mut TcpStream,
    handshake: &mut ProxyHandshake,
    out: &mut Vec<u8>,
    early: &mut Vec<u8>,
) -> Result<bool, Exchange> {
    let mut buf = [0u8; PROXY_READ];
    // Called at every step while the handshake runs, so the socket is tried each time.
    let (mut readable, mut writable) = (Readiness::new(true), Readiness::new(true));
    loop {
        let written = write_ready(stream, out, &mut writable).map_err(Exchange::Io)?;
        out.drain(..written);
        let Some(n) = readable
            .attempt(|| stream.read(&mut buf))
            .map_err(Exchange::Io)?
        else {
            return Ok(false);
        };
        if n == 0 {
            return Err(Exchange::Proxy(handshake.closed()));
        }
        let used = handshake.receive(&buf[..n], out).map_err(Exchange::Proxy)?;
        if handshake.is_complete() {
            early.extend_from_slice(&buf[used..n]);
            return Ok(true);
        }
    }
}
