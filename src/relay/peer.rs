//! Where the peer comes from, and what happens when its session is over.
//!
//! Connect mode tries each address of the host in turn until one accepts (`-w` bounds the whole
//! wait). With a proxy (`-x`), it connects to the proxy instead, then runs the proxy's handshake
//! ([`ProxyHandshake`], bytes in and out) on the non-blocking socket before the session begins:
//! the session never knows a proxy was there, except that it gets first whatever the
//! destination sent right behind the proxy's reply. `-w` bounds connecting and the handshake
//! together; without it the proxy has [`PROXY_REPLY_TIME`] to answer. Listen mode waits on the
//! listening socket. Without `-k` the listening socket closes as
//! soon as the peer is in (at once in plain mode, once it has proved it knows the password in
//! password mode), so nobody else can join; with `-k` it stays open, and the next client waits
//! in its backlog until the current session is over, then is served (nc's `-k`).
//!
//! A password listener outlasts strangers. It runs up to eight handshakes at once, each with its
//! own deadlines ([`super::pending`]), and commits to a connection only when the connector's
//! READY has opened: then the listener closes (unless `-k`) and the other pending handshakes
//! are dropped. Only a wrong password (a whole HELLO, then a CONFIRM_C that fails) counts
//! against the room: it is said on stderr, at most one CONFIRM_C is checked per
//! [`GUESS_INTERVAL`], and the run gives up after [`MAX_WRONG_GUESSES`] (with `-k` too: the
//! budget is the run's, not the session's). Scans, junk, silence, dropped connections and a
//! failure after our answer guessed nothing: they are dropped, not counted and said only with
//! `-v` (a plaintext client, once a run without it).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::End;
use super::event_loop::{FIRST_PENDING, LISTENER, PEER};
use super::pending::{Failure, Outcome, Room, SLOTS, Slots};
use crate::address;
use crate::error::Error;
use crate::layer::Layer;
use crate::options::{Config, Mode};
use crate::proxy::{Proxy, ProxyError, ProxyHandshake};
use crate::secure::Cipher;

/// The least time between two CONFIRM_C checks of a password listener: a waiting one is held
/// until it has passed, so guesses come one a second at most.
const GUESS_INTERVAL: Duration = Duration::from_secs(1);

/// How many wrong passwords a password listener takes in one run before it gives up.
const MAX_WRONG_GUESSES: u32 = 10;

/// How many connections a password listener lets in between two polls (twice its slots).
const ACCEPTS_PER_STEP: usize = 2 * SLOTS;

/// How long a proxy has to complete its handshake, from the connection to it, when `-w` does not
/// say: a proxy of another protocol may never answer (an HTTP proxy waits for a request line
/// that a SOCKS5 greeting never finishes), and that must not hang a script. Generous, as the
/// proxy connects to the destination meanwhile, and Tor may first build a circuit.
const PROXY_REPLY_TIME: Duration = Duration::from_secs(30);

/// The most read from the proxy at once. The handshake takes only its replies; what follows in
/// the same read is the session's first input, which must fit in its buffers.
const PROXY_READ: usize = 1024;

/// What the loop should do after a step of waiting for a peer.
pub(super) enum Next {
    /// Nothing yet: wait for the next event or deadline.
    Wait,
    /// A peer is connected (and registered with the poll as `PEER`): start its session, with
    /// `early`, what the destination sent right behind a proxy's reply, as its first input,
    /// and `layer`, the channel a password listener's handshake has already opened.
    Session {
        stream: TcpStream,
        peer: SocketAddr,
        early: Vec<u8>,
        layer: Option<Layer>,
    },
}

enum Phase {
    /// Connect mode: waiting for `stream` to connect to `target`, with `rest` still to try.
    Connecting {
        stream: TcpStream,
        target: SocketAddr,
        rest: VecDeque<SocketAddr>,
    },
    /// Connect mode with a proxy: connected to the proxy at `target`, running its handshake;
    /// `out` is what is still to be written to it.
    Proxying {
        stream: TcpStream,
        target: SocketAddr,
        handshake: ProxyHandshake,
        out: Vec<u8>,
    },
    /// Listen mode: waiting for a peer on the listener.
    Listening,
    /// Connect mode, before the first attempt: the host's addresses, resolved.
    Resolved(VecDeque<SocketAddr>),
    /// A session is under way.
    Busy,
}

pub(super) struct Peers<'a> {
    config: &'a Config,
    phase: Phase,
    listener: Option<TcpListener>,
    listener_ready: bool,
    /// Password listen mode: how many handshakes have failed in this wait for a peer.
    failed_handshakes: u32,
    /// Password listen mode: how many wrong passwords this run has seen (never reset).
    wrong_guesses: u32,
    /// Password listen mode: the handshakes under way.
    pending: Slots,
    /// Password listen mode: when the next CONFIRM_C may be checked.
    next_check: Option<Instant>,
    /// Password listen mode: a plaintext client has been mentioned (once a run without -v).
    said_not_tete: bool,
    /// Password listen mode: when the last step stopped accepting with connections left and a
    /// slot for them; the poll then returns at once.
    accept_more: Option<Instant>,
    /// When the current wait for a connection or a peer gives up (`-w`).
    deadline: Option<Instant>,
    /// With a proxy: its handshake and first request, made before connecting (a destination
    /// the protocol cannot express fails at once), until the connection to the proxy is up.
    proxy_handshake: Option<(ProxyHandshake, Vec<u8>)>,
}

impl<'a> Peers<'a> {
    /// Resolves the host, or opens the listener: whatever can fail on the command line's
    /// account happens here, before the password prompt.
    pub(super) fn start(config: &'a Config, registry: &Registry) -> Result<Peers<'a>, Error> {
        let mut peers = Peers {
            config,
            phase: Phase::Listening,
            listener: None,
            listener_ready: false,
            accept_more: None,
            failed_handshakes: 0,
            wrong_guesses: 0,
            pending: Slots::new(FIRST_PENDING),
            next_check: None,
            said_not_tete: false,
            deadline: None,
            proxy_handshake: None,
        };
        match &config.mode {
            Mode::Connect {
                host, port, proxy, ..
            } => {
                // Through a proxy the destination is the proxy's to look up (Tor needs that).
                let (host, port) = match proxy {
                    None => (host.as_str(), *port),
                    Some(proxy) => {
                        let mut request = Vec::new();
                        let handshake = ProxyHandshake::new(proxy, host, *port, &mut request)
                            .map_err(proxy_failure)?;
                        peers.proxy_handshake = Some((handshake, request));
                        (proxy.host.as_str(), proxy.port)
                    }
                };
                let targets =
                    address::resolve(host, port, config.family, config.numeric).map_err(|err| {
                        match (proxy, err) {
                            // Say that it is the proxy's name that failed, not the destination's.
                            (Some(proxy), Error::Runtime(reason)) => {
                                Error::Runtime(format!("{proxy}: {reason}"))
                            }
                            (_, err) => err,
                        }
                    })?;
                peers.phase = Phase::Resolved(targets.into());
            }
            Mode::Listen { .. } => peers.listen(registry)?,
        }
        Ok(peers)
    }

    /// Connect mode: starts connecting to the resolved addresses; `-w` counts from here.
    pub(super) fn connect(&mut self, registry: &Registry) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Resolved(_)) {
            return Ok(());
        }
        let Phase::Resolved(targets) = std::mem::replace(&mut self.phase, Phase::Busy) else {
            return Ok(());
        };
        self.deadline = self.config.wait.map(|wait| Instant::now() + wait);
        self.connect_next(registry, targets, None)
    }

    /// The listening socket's address, while it is open.
    pub(super) fn listening_on(&self) -> Option<SocketAddr> {
        self.listener.as_ref()?.local_addr().ok()
    }

    pub(super) fn listener_ready(&mut self) {
        self.listener_ready = true;
    }

    /// Notes readiness from a poll event on a pending handshake's token, if `token` is one.
    pub(super) fn pending_ready(&mut self, token: Token, readable: bool, writable: bool) {
        self.pending.ready(token, readable, writable);
    }

    /// The next deadline of the wait for a peer, if any.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Busy | Phase::Resolved(_) => None,
            Phase::Listening => {
                let check = self.next_check.filter(|_| self.pending.confirm_waiting());
                [
                    self.deadline,
                    self.pending.next_deadline(),
                    check,
                    self.accept_more,
                ]
                .into_iter()
                .flatten()
                .min()
            }
            _ => self.deadline,
        }
    }

    /// Advances the wait for a peer; `password` is the room's, for a password listener's
    /// handshakes.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        password: Option<&[u8]>,
    ) -> Result<Next, Error> {
        match self.phase {
            Phase::Busy | Phase::Resolved(_) => Ok(Next::Wait),
            Phase::Connecting { .. } => self.check_connecting(registry, now),
            Phase::Proxying { .. } => self.check_proxying(now),
            Phase::Listening => match password {
                Some(password) => self.admit(registry, now, password),
                None => self.accept(registry, now),
            },
        }
    }

    /// The session's peer has proved it knows the password (at once when there is none): the
    /// wait is over (its count of failed handshakes starts again; the run's count of wrong
    /// passwords does not), and without `-k` nobody else may join.
    pub(super) fn authenticated(&mut self, registry: &Registry, cipher: Option<Cipher>) {
        if let Some(cipher) = cipher {
            self.verbose(&format!("secure channel up ({cipher})"));
        }
        self.failed_handshakes = 0;
        self.deadline = None;
        if !self.keep_open()
            && let Some(mut listener) = self.listener.take()
        {
            let _ = registry.deregister(&mut listener);
        }
    }

    /// Decides what follows a session that ended with `end`. Returns true when tete is done.
    pub(super) fn session_over(
        &mut self,
        registry: &Registry,
        end: End,
        peer: SocketAddr,
    ) -> Result<bool, Error> {
        match end {
            End::StdoutClosed => return Ok(true),
            // With -k one peer's broken connection or channel is that peer's loss, not the
            // server's end; stdin and stdout failures still end it.
            End::PeerLost(err) | End::Failed(err @ Error::Secure(_)) if self.keep_open() => {
                eprintln!("tete: {err}")
            }
            End::Failed(err) | End::PeerLost(err) => return Err(err),
            End::Idle => {
                let idle = self.config.idle_timeout.unwrap_or_default().as_secs_f64();
                eprintln!("tete: nothing moved for {idle} s; closing the connection to {peer}");
                if !self.keep_open() {
                    return Err(Error::Silent);
                }
            }
            End::Done => self.verbose("peer closed"),
            End::PeerLeft => eprintln!("tete: the peer left"),
        }
        if !self.keep_open() {
            return Ok(true);
        }
        self.listen(registry)?;
        Ok(false)
    }

    fn keep_open(&self) -> bool {
        self.config.keep_open()
    }

    /// Starts connecting to the next address in `targets`; `failure` is why the last one failed.
    fn connect_next(
        &mut self,
        registry: &Registry,
        mut targets: VecDeque<SocketAddr>,
        failure: Option<Error>,
    ) -> Result<(), Error> {
        let Mode::Connect { source, .. } = &self.config.mode else {
            return Ok(());
        };
        let mut failure = failure;
        while let Some(target) = targets.pop_front() {
            // Each failure but the last, which becomes the error, is worth a word with -v.
            if let Some(earlier) = &failure {
                self.verbose(&earlier.to_string());
            }
            match address::start_connect(target, source, self.config.numeric) {
                Ok(mut stream) => {
                    registry
                        .register(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
                        .map_err(|err| Error::io("event loop", &err))?;
                    self.phase = Phase::Connecting {
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
    fn check_connecting(&mut self, registry: &Registry, now: Instant) -> Result<Next, Error> {
        let Phase::Connecting { stream, target, .. } = &mut self.phase else {
            return Ok(Next::Wait);
        };
        let target = *target;
        let Some(outcome) = address::connect_outcome(stream) else {
            // Not connected yet: wait for the next event, unless time is up.
            if self.deadline.is_some_and(|deadline| now >= deadline) {
                return Err(self.gave_up_waiting());
            }
            return Ok(Next::Wait);
        };
        let Phase::Connecting {
            mut stream, rest, ..
        } = std::mem::replace(&mut self.phase, Phase::Busy)
        else {
            return Ok(Next::Wait);
        };
        match (outcome, self.proxy_handshake.take()) {
            (Ok(()), None) => {
                self.deadline = None;
                self.verbose(&format!("connected to {target}"));
                Ok(Next::Session {
                    stream,
                    peer: target,
                    early: Vec::new(),
                    layer: None,
                })
            }
            (Ok(()), Some((handshake, out))) => {
                self.verbose(&format!("connected to {}", self.named(target)));
                self.deadline = self.deadline.or(Some(now + PROXY_REPLY_TIME));
                self.phase = Phase::Proxying {
                    stream,
                    target,
                    handshake,
                    out,
                };
                self.check_proxying(now)
            }
            (Err(err), handshake) => {
                self.proxy_handshake = handshake;
                let _ = registry.deregister(&mut stream);
                let failure = Error::io(format!("cannot connect to {}", self.named(target)), &err);
                self.connect_next(registry, rest, Some(failure))?;
                Ok(Next::Wait)
            }
        }
    }

    /// Advances the proxy's handshake as far as the socket allows.
    fn check_proxying(&mut self, now: Instant) -> Result<Next, Error> {
        let Phase::Proxying {
            stream,
            handshake,
            out,
            ..
        } = &mut self.phase
        else {
            return Ok(Next::Wait);
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
            Ok(false) => return Ok(Next::Wait),
            Err(Exchange::Proxy(err)) => return Err(proxy_failure(err)),
            Err(Exchange::Io(err)) => {
                let proxy = self.proxy().map(Proxy::to_string).unwrap_or_default();
                return Err(Error::io(proxy, &err));
            }
        }
        let Phase::Proxying { stream, target, .. } =
            std::mem::replace(&mut self.phase, Phase::Busy)
        else {
            return Ok(Next::Wait);
        };
        self.deadline = None;
        if let (Some(proxy), Mode::Connect { host, port, .. }) = (self.proxy(), &self.config.mode) {
            self.verbose(&format!(
                "{proxy} connected us to {}",
                address::host_port(host, *port)
            ));
        }
        Ok(Next::Session {
            stream,
            peer: target,
            early,
            layer: None,
        })
    }

    /// What `target` is to the user: the proxy, if it is one (with its address when `-x`
    /// named it by name), or the address.
    fn named(&self, target: SocketAddr) -> String {
        match self.proxy() {
            Some(proxy) if proxy.host.parse() == Ok(target.ip()) => proxy.to_string(),
            Some(proxy) => format!("{proxy} ({target})"),
            None => target.to_string(),
        }
    }

    /// The proxy of `-x`, if any.
    fn proxy(&self) -> Option<&Proxy> {
        match &self.config.mode {
            Mode::Connect { proxy, .. } => proxy.as_ref(),
            Mode::Listen { .. } => None,
        }
    }

    /// The error for a `-w` that ran out before a connection (either mode).
    fn gave_up_waiting(&self) -> Error {
        let wait = self.config.wait.unwrap_or_default().as_secs_f64();
        match &self.config.mode {
            Mode::Connect {
                proxy: Some(proxy), ..
            } => Error::Runtime(format!(
                "cannot connect to {proxy}: timed out after {wait} s"
            )),
            Mode::Connect { host, port, .. } => Error::Runtime(format!(
                "cannot connect to {}: timed out after {wait} s",
                address::host_port(host, *port)
            )),
            Mode::Listen { .. } if self.failed_handshakes > 0 => Error::Runtime(format!(
                "no peer completed the password handshake within {wait} s ({} failed)",
                self.failed_handshakes
            )),
            Mode::Listen { .. } => Error::Runtime(format!("no peer connected within {wait} s")),
        }
    }

    /// Waits for a peer: on the listener still open (after a failed handshake, with `-k`), or
    /// on a new one.
    fn listen(&mut self, registry: &Registry) -> Result<(), Error> {
        let Mode::Listen { address, port, .. } = &self.config.mode else {
            return Ok(());
        };
        self.phase = Phase::Listening;
        self.deadline = self.config.wait.map(|wait| Instant::now() + wait);
        let listener = match self.listener.take() {
            // -k: the next client may already wait in the backlog.
            Some(listener) => listener,
            None => {
                let mut listener = address::listen(
                    address.as_deref(),
                    *port,
                    self.config.family,
                    self.config.numeric,
                )?;
                registry
                    .register(&mut listener, LISTENER, Interest::READABLE)
                    .map_err(|err| Error::io("event loop", &err))?;
                self.listener_ready = false;
                listener
            }
        };
        if let Ok(local) = listener.local_addr() {
            self.verbose(&format!("listening on {local}"));
        }
        self.listener = Some(listener);
        Ok(())
    }

    /// Plain listen mode: the first connection is the peer.
    fn accept(&mut self, registry: &Registry, now: Instant) -> Result<Next, Error> {
        let Some((mut stream, peer)) = self.next_connection()? else {
            return self.check_wait(now).map(|()| Next::Wait);
        };
        registry
            .register(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        Ok(self.session_begins(stream, peer, None))
    }

    /// Password listen mode: every new connection starts a pending handshake; the first whose
    /// channel opens is the peer. The handshakes move on after each new connection, before the
    /// next is let in, and every socket is read again before one is replaced: a stranger's
    /// junk is dropped at once, and a partner's CONFIRM_C that arrived during a burst of
    /// connections counts, where otherwise the burst could push the partner out. At most
    /// [`ACCEPTS_PER_STEP`] connections are let in before the next poll, so that a flood
    /// faster than the room cannot keep it from hearing its handshakes or its timers.
    /// Connections wait in the backlog while every slot holds a CONFIRM_C (waiting for its
    /// check, or answered and waiting for READY), and once a partner is in.
    fn admit(&mut self, registry: &Registry, now: Instant, password: &[u8]) -> Result<Next, Error> {
        let may_check = self.next_check.is_none_or(|at| now >= at);
        let mut checked = false;
        let mut outcomes = Vec::new();
        let mut accepted = 0;
        self.accept_more = None;
        loop {
            let reread = self.pending.is_full();
            let (stepped, did_check) =
                self.pending
                    .step(registry, now, may_check && !checked, reread);
            checked |= did_check;
            let opened = stepped
                .iter()
                .any(|outcome| matches!(outcome, Outcome::Open(..)));
            outcomes.extend(stepped);
            if opened {
                break;
            }
            let Some(slot) = self.pending.vacancy() else {
                break;
            };
            if accepted == ACCEPTS_PER_STEP {
                self.accept_more = self.listener_ready.then_some(now);
                break;
            }
            let Some(connection) = self.next_connection()? else {
                break;
            };
            let peer = connection.1;
            accepted += 1;
            let room = self
                .pending
                .admit(registry, slot, connection, password, self.config.crlf, now)
                .map_err(|err| Error::io("event loop", &err))?;
            if let Room::Replaced(replaced) = room {
                self.failed_handshakes += 1;
                self.verbose(&format!(
                    "{replaced} made the least progress of {SLOTS} pending handshakes: \
                     dropped for {peer}"
                ));
            }
        }
        if checked {
            self.next_check = Some(now + GUESS_INTERVAL);
        }
        let mut opened = None;
        for outcome in outcomes {
            match outcome {
                Outcome::Open(stream, peer, layer) => {
                    if opened.is_none() {
                        opened = Some((stream, peer, layer));
                    } else {
                        // Two partners proved the password in the same step: the room is one
                        // person's, the first one's.
                        self.verbose(&format!(
                            "{peer} also knew the password, after the partner: dropped"
                        ));
                    }
                }
                Outcome::Guess(peer, err) => {
                    self.failed_handshakes += 1;
                    self.wrong_guesses += 1;
                    if self.wrong_guesses >= MAX_WRONG_GUESSES {
                        return Err(Error::Secure(format!(
                            "secure channel with {peer}: {err}; {MAX_WRONG_GUESSES} wrong \
                             passwords in this run: someone may be guessing the room password, \
                             so choose another"
                        )));
                    }
                    eprintln!("tete: secure channel with {peer}: {err}; waiting for another peer");
                }
                Outcome::Dropped(peer, Failure::NotTete) => {
                    self.failed_handshakes += 1;
                    if self.config.verbose || !self.said_not_tete {
                        eprintln!(
                            "tete: {peer} is not a password peer (it did not open with tete's \
                             handshake); waiting for another peer"
                        );
                        self.said_not_tete = true;
                    }
                }
                Outcome::Dropped(peer, Failure::Other(why)) => {
                    self.failed_handshakes += 1;
                    self.verbose(&format!(
                        "secure channel with {peer}: {why}; waiting for another peer"
                    ));
                }
            }
        }
        let Some((mut stream, peer, layer)) = opened else {
            return self.check_wait(now).map(|()| Next::Wait);
        };
        // The partner is in: nobody else's handshake goes on.
        self.pending.clear(registry);
        registry
            .reregister(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        Ok(self.session_begins(stream, peer, Some(layer)))
    }

    /// A listener's peer is in (its stream already registered as `PEER`): the wait is over.
    fn session_begins(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        layer: Option<Layer>,
    ) -> Next {
        self.deadline = None;
        self.phase = Phase::Busy;
        Next::Session {
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

    /// The next connection waiting on the listener, if any.
    fn next_connection(&mut self) -> Result<Option<(TcpStream, SocketAddr)>, Error> {
        let Some(listener) = &self.listener else {
            return Ok(None);
        };
        while self.listener_ready {
            match listener.accept() {
                Ok((stream, peer)) => {
                    // An IPv4 peer of a dual-stack listener: 127.0.0.1, not [::ffff:127.0.0.1].
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    self.verbose(&format!("connection from {peer}"));
                    return Ok(Some((stream, peer)));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.listener_ready = false;
                }
                // The peer gave up before we accepted: take the next one, if any.
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(err) => return Err(Error::io("accept", &err)),
            }
        }
        Ok(None)
    }

    fn verbose(&self, message: &str) {
        if self.config.verbose {
            eprintln!("tete: {message}");
        }
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
    loop {
        while !out.is_empty() {
            match stream.write(out) {
                Ok(n) => {
                    out.drain(..n);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Exchange::Io(err)),
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(Exchange::Proxy(handshake.closed())),
            Ok(n) => {
                let used = handshake.receive(&buf[..n], out).map_err(Exchange::Proxy)?;
                if handshake.is_complete() {
                    early.extend_from_slice(&buf[used..n]);
                    return Ok(true);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Exchange::Io(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pending::{CONFIRM_TIME, HELLO_TIME, SLOTS};
    use super::MAX_WRONG_GUESSES;

    /// `--help` states the password listener's policy in numbers: they must be these.
    #[test]
    fn help_states_the_listener_policy_as_it_is() {
        let help = crate::options::help().replace('\n', " ");
        for said in [
            format!("up to {SLOTS} handshakes at once"),
            format!("HELLO within {} s", HELLO_TIME.as_secs()),
            format!("CONFIRM within {} s", CONFIRM_TIME.as_secs()),
            format!("{MAX_WRONG_GUESSES} a run"),
        ] {
            assert!(help.contains(&said), "--help does not say {said:?}");
        }
    }
}
