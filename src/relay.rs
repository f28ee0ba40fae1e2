//! The event loop: one single-threaded mio `Poll` over stdin, stdout, the socket and, in listen
//! mode, the listening socket.
//!
//! The loop moves through phases: connecting (trying each address of the host in turn) or
//! listening, then a session with one peer, then the end (or, with `-k`, listening again).
//! Every wait, including `-w` and `-i`, is the poll's timeout: there are no threads and no sleeps.
//!
//! mio reports readiness on edges, so each descriptor carries a `ready` flag: set by an event,
//! cleared only when a call answers `WouldBlock`. Between polls `pump` moves bytes until no
//! transfer can make progress.
//!
//! How a session ends is decided in one place, `Session::is_finished`:
//! - stdin EOF: the socket is half-closed (unless `-N`) and receiving goes on;
//! - peer EOF: everything received is written out; then tete ends if stdin has ended or is a
//!   terminal (a chat ends when the other person leaves), otherwise it first sends the rest of
//!   stdin.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::address::{self, Source};
use crate::error::{Error, os_reason};
use crate::layer::{Flow, Layer, LayerError};
use crate::options::{Config, Mode};
use crate::secure::{CloseReason, Role, SecureError};
use crate::stdio::StdStream;
use crate::zerocopy::{self, Direct, Outcome};

const STDIN: Token = Token(0);
const STDOUT: Token = Token(1);
const PEER: Token = Token(2);
const LISTENER: Token = Token(3);

/// How long a peer has to complete the password handshake, unless `-w` says otherwise.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// How long a password listener waits after a failed handshake before it accepts another peer:
/// an attacker gets one guess per connection, and slowly.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// How often `--send-only` checks whether the peer has acknowledged everything, once sent.
const ACK_RECHECK: Duration = Duration::from_millis(5);

/// How many failed handshakes a password listener takes before it gives up.
const MAX_FAILED_HANDSHAKES: u32 = 10;

/// Runs tete as `config` says, with the room password if any, until the work is done.
pub fn run(config: &Config, password: Option<&[u8]>) -> Result<(), Error> {
    let result = Relay::new(config, password).and_then(|mut relay| {
        relay.start()?;
        relay.run()
    });
    match result {
        // -z answers with its exit status alone, unless asked to say more.
        Err(Error::Runtime(_)) if config.zero_io && !config.verbose => Err(Error::Silent),
        other => other,
    }
}

/// stdin, which outlives any one peer (with `-k` it feeds each in turn).
struct Input {
    stream: StdStream,
    ready: bool,
    /// End of input seen (or never to be read, with `-d`).
    ended: bool,
}

/// stdout.
struct Output {
    stream: StdStream,
    ready: bool,
}

enum Phase {
    /// Connect mode: waiting for `stream` to connect to `target`, with `rest` still to try.
    Connecting {
        stream: TcpStream,
        target: SocketAddr,
        rest: VecDeque<SocketAddr>,
    },
    /// Listen mode: waiting for a peer on the listener.
    Listening,
    /// Password listen mode: resting after a failed handshake, until the given time.
    Paused(Instant),
    /// Bytes flow between the standard streams and one peer.
    Session(Box<Session>),
}

/// Why a session is over.
enum End {
    /// Both sides are done: the normal end.
    Done,
    /// Nothing moved for the `-i` time.
    Idle,
    /// Whoever reads stdout has gone: stop at once, quietly.
    StdoutClosed,
    /// The connection failed (reset, broken pipe): exit 1, or with `-k` the next peer.
    PeerLost(Error),
    /// Something else failed: stdin, stdout, or the secure channel.
    Failed(Error),
}

struct Relay<'a> {
    config: &'a Config,
    password: Option<&'a [u8]>,
    /// Password listen mode: how many handshakes have failed so far.
    failed_handshakes: u32,
    poll: Poll,
    input: Input,
    output: Output,
    listener: Option<TcpListener>,
    listener_ready: bool,
    phase: Phase,
    /// When the current wait for a connection or a peer gives up (`-w`).
    deadline: Option<Instant>,
    /// When waiting on this listener gives up (`-w`), through failed handshakes.
    listen_deadline: Option<Instant>,
}

impl<'a> Relay<'a> {
    fn new(config: &'a Config, password: Option<&'a [u8]>) -> Result<Relay<'a>, Error> {
        let poll = Poll::new().map_err(|err| Error::io("cannot create the event loop", &err))?;
        let stdin = StdStream::open(libc::STDIN_FILENO, poll.registry(), STDIN)
            .map_err(|err| Error::io("stdin", &err))?;
        let stdout = StdStream::open(libc::STDOUT_FILENO, poll.registry(), STDOUT)
            .map_err(|err| Error::io("stdout", &err))?;
        Ok(Relay {
            config,
            password,
            failed_handshakes: 0,
            poll,
            input: Input {
                ready: !stdin.pollable,
                ended: config.recv_only,
                stream: stdin,
            },
            output: Output {
                ready: !stdout.pollable,
                stream: stdout,
            },
            listener: None,
            listener_ready: false,
            phase: Phase::Listening,
            deadline: None,
            listen_deadline: None,
        })
    }

    /// Resolves and starts connecting, or opens the listener.
    fn start(&mut self) -> Result<(), Error> {
        match &self.config.mode {
            Mode::Connect { host, port } => {
                self.deadline = self.config.wait.map(|wait| Instant::now() + wait);
                let targets =
                    address::resolve(host, *port, self.config.family, self.config.numeric)?;
                self.connect_next(targets.into(), None)
            }
            Mode::Listen { .. } => self.listen(),
        }
    }

    fn run(&mut self) -> Result<(), Error> {
        let mut events = Events::with_capacity(16);
        loop {
            match self.poll.poll(&mut events, self.timeout(Instant::now())) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("event loop", &err)),
            }
            for event in events.iter() {
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                match event.token() {
                    STDIN => self.input.ready = true,
                    STDOUT => self.output.ready = true,
                    LISTENER => self.listener_ready = true,
                    PEER => {
                        // While connecting, the event itself is the news: step() checks the outcome.
                        if let Phase::Session(session) = &mut self.phase {
                            session.readable |= readable;
                            session.writable |= writable;
                        }
                    }
                    _ => {}
                }
            }
            if self.step(Instant::now())? {
                return Ok(());
            }
        }
    }

    /// How long the poll may wait: until the nearest deadline, or for ever.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let phase_deadline = match &self.phase {
            Phase::Session(session) => session.next_deadline(self.config),
            Phase::Paused(until) => Some(*until),
            _ => None,
        };
        [self.deadline, phase_deadline]
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Advances the current phase. Returns true when tete is done.
    fn step(&mut self, now: Instant) -> Result<bool, Error> {
        let done = match &self.phase {
            Phase::Connecting { .. } => self.check_connecting(now)?,
            Phase::Paused(until) if now < *until => false,
            Phase::Listening | Phase::Paused(_) => {
                self.phase = Phase::Listening;
                self.accept(now).map(|()| false)?
            }
            Phase::Session(_) => false,
        };
        // A session that has just begun is pumped at once: its first readiness events may have
        // been spent on connecting.
        let Phase::Session(session) = &mut self.phase else {
            return Ok(done);
        };
        let end = session
            .pump(&mut self.input, &mut self.output, self.config)
            .or_else(|| session.timed_out(self.config, now));
        self.check_authenticated();
        match end {
            None => Ok(false),
            Some(end) => self.end_session(end),
        }
    }

    /// Notes the moment the session's peer has proved it knows the password (at once when
    /// there is none): only now is the listener closed, and the failure count starts again.
    fn check_authenticated(&mut self) {
        let Phase::Session(session) = &mut self.phase else {
            return;
        };
        if session.authenticated || !session.layer.is_open() {
            return;
        }
        session.authenticated = true;
        if self.password.is_some() {
            self.verbose("secure channel up");
        }
        self.failed_handshakes = 0;
        self.deadline = None;
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
    }

    /// Starts connecting to the next address in `targets`; `failure` is why the last one failed.
    fn connect_next(
        &mut self,
        mut targets: VecDeque<SocketAddr>,
        failure: Option<Error>,
    ) -> Result<(), Error> {
        let source = Source {
            address: self.config.source_address.as_deref(),
            port: self.config.source_port,
            numeric: self.config.numeric,
        };
        let mut failure = failure;
        while let Some(target) = targets.pop_front() {
            // Each failure but the last, which becomes the error, is worth a word with -v.
            if let Some(earlier) = &failure {
                self.verbose(&earlier.to_string());
            }
            match address::start_connect(target, &source) {
                Ok(mut stream) => {
                    self.poll
                        .registry()
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

    /// Checks how the connection attempt went. Returns true when tete is done (`-z`).
    fn check_connecting(&mut self, now: Instant) -> Result<bool, Error> {
        let Phase::Connecting { stream, target, .. } = &mut self.phase else {
            return Ok(false);
        };
        let target = *target;
        let outcome = match stream.take_error() {
            Ok(Some(err)) | Err(err) => Err(err),
            Ok(None) => match stream.peer_addr() {
                Ok(_) => Ok(()),
                // Not connected yet: wait for the next event, unless time is up.
                Err(err) if is_not_connected(&err) => {
                    if self.deadline.is_some_and(|deadline| now >= deadline) {
                        return Err(self.gave_up_waiting());
                    }
                    return Ok(false);
                }
                Err(err) => Err(err),
            },
        };
        let Phase::Connecting {
            mut stream, rest, ..
        } = std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return Ok(false);
        };
        match outcome {
            Ok(()) => {
                self.deadline = None;
                self.verbose(&format!("connected to {target}"));
                if self.config.zero_io {
                    return Ok(true);
                }
                self.begin_session(stream, target)?;
            }
            Err(err) => {
                let _ = self.poll.registry().deregister(&mut stream);
                let failure = Error::io(format!("cannot connect to {target}"), &err);
                self.connect_next(rest, Some(failure))?;
            }
        }
        Ok(false)
    }

    /// The error for a `-w` that ran out before a connection (either mode).
    fn gave_up_waiting(&self) -> Error {
        let wait = self.config.wait.unwrap_or_default().as_secs_f64();
        match &self.config.mode {
            Mode::Connect { host, port } => Error::Runtime(format!(
                "cannot connect to {host} port {port}: timed out after {wait} s"
            )),
            Mode::Listen { .. } => Error::Runtime(format!("no peer connected within {wait} s")),
        }
    }

    /// Waits for a peer: on the listener still open (after a failed handshake, or when a
    /// session ended before authenticating), or on a new one (at the start, and with `-k`).
    fn listen(&mut self) -> Result<(), Error> {
        let Mode::Listen { address, port } = &self.config.mode else {
            return Ok(());
        };
        self.phase = Phase::Listening;
        if self.listener.is_some() {
            return Ok(());
        }
        self.listen_deadline = self.config.wait.map(|wait| Instant::now() + wait);
        self.deadline = self.listen_deadline;
        let mut listener = address::listen(
            address.as_deref(),
            *port,
            self.config.family,
            self.config.numeric,
        )?;
        self.poll
            .registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        if let Ok(local) = listener.local_addr() {
            self.verbose(&format!("listening on {local}"));
        }
        self.listener = Some(listener);
        self.listener_ready = false;
        Ok(())
    }

    fn accept(&mut self, now: Instant) -> Result<(), Error> {
        let Some(listener) = &self.listener else {
            return Ok(());
        };
        if !self.listener_ready {
            if self.deadline.is_some_and(|deadline| now >= deadline) {
                return Err(self.gave_up_waiting());
            }
            return Ok(());
        }
        loop {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    // An IPv4 peer of a dual-stack listener: 127.0.0.1, not [::ffff:127.0.0.1].
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    self.verbose(&format!("connection from {peer}"));
                    self.poll
                        .registry()
                        .register(&mut stream, PEER, Interest::READABLE | Interest::WRITABLE)
                        .map_err(|err| Error::io("event loop", &err))?;
                    // The -w wait is over for now; a failed handshake brings it back.
                    self.deadline = None;
                    return self.begin_session(stream, peer);
                }
                Err(err) if would_block(&err) => {
                    self.listener_ready = false;
                    return Ok(());
                }
                // The peer gave up before we accepted: take the next one, if any.
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(err) => return Err(Error::io("accept", &err)),
            }
        }
    }

    /// Starts the session with `stream`, already registered with the poll.
    fn begin_session(&mut self, stream: TcpStream, peer: SocketAddr) -> Result<(), Error> {
        // Chat lines must leave at once, not wait to be coalesced with later ones.
        let _ = stream.set_nodelay(true);
        let layer = match self.password {
            None => Layer::plain(self.config.crlf),
            Some(password) => {
                let role = match self.config.mode {
                    Mode::Connect { .. } => Role::Connector,
                    Mode::Listen { .. } => Role::Listener,
                };
                Layer::secure(self.config.crlf, role, password)
            }
        };
        let handshake_time = self.config.wait.unwrap_or(HANDSHAKE_TIME);
        let mut session = Session::new(stream, peer, layer, Instant::now() + handshake_time);
        // Bytes that need no change can stay in the kernel.
        if session.layer.passthrough(Flow::Outbound) {
            session.up_route = Direct::for_stdin(&self.input.stream);
        }
        if session.layer.passthrough(Flow::Inbound) && !self.config.send_only {
            session.down_route = Direct::for_stdout(&self.output.stream);
        }
        self.phase = Phase::Session(Box::new(session));
        // Plain mode is open at once: the listener closes before any byte moves.
        self.check_authenticated();
        Ok(())
    }

    fn end_session(&mut self, end: End) -> Result<bool, Error> {
        let Phase::Session(mut session) = std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return Ok(true);
        };
        let _ = self.poll.registry().deregister(&mut session.stream);
        session.close();
        match end {
            End::StdoutClosed => return Ok(true),
            // A password listener outlasts strangers: it logs them and waits for the right peer.
            End::Failed(err) | End::PeerLost(err)
                if !session.authenticated && self.listener.is_some() =>
            {
                self.failed_handshakes += 1;
                if self.failed_handshakes >= MAX_FAILED_HANDSHAKES {
                    return Err(Error::Secure(format!(
                        "{err}; giving up after {MAX_FAILED_HANDSHAKES} failed handshakes"
                    )));
                }
                eprintln!("tete: {err}; waiting for another peer");
                self.deadline = self.listen_deadline;
                self.phase = Phase::Paused(Instant::now() + PAUSE_AFTER_FAILURE);
                return Ok(false);
            }
            // With -k one peer's broken connection or channel is that peer's loss, not the
            // server's end; stdin and stdout failures still end it.
            End::PeerLost(err) | End::Failed(err @ Error::Secure(_)) if self.config.keep_open => {
                eprintln!("tete: {err}")
            }
            End::Failed(err) | End::PeerLost(err) => return Err(err),
            End::Idle => {
                let idle = self.config.idle_timeout.unwrap_or_default().as_secs_f64();
                eprintln!(
                    "tete: nothing moved for {idle} s; closing the connection to {}",
                    session.peer
                );
                if !self.config.keep_open {
                    return Err(Error::Silent);
                }
            }
            End::Done => self.verbose("peer closed"),
        }
        if !self.config.keep_open {
            return Ok(true);
        }
        self.listen()?;
        Ok(false)
    }

    fn verbose(&self, message: &str) {
        if self.config.verbose {
            eprintln!("tete: {message}");
        }
    }
}

/// One peer's connection and the bytes in flight to and from it.
struct Session {
    stream: TcpStream,
    peer: SocketAddr,
    /// What happens to the bytes, and the buffers they wait in on the way.
    layer: Layer,
    readable: bool,
    writable: bool,
    /// Our end of stream is queued behind everything else for the socket.
    close_queued: bool,
    /// Our half of the connection is closed (or, with `-N`, would have been).
    sent_eof: bool,
    /// The socket has reached its end of stream.
    received_eof: bool,
    /// The peer's end of stream checked (in secure mode: it was authentic): nothing more comes.
    peer_finished: bool,
    /// The relay has seen the layer open (at once without a password) and acted on it.
    authenticated: bool,
    /// The peer has ended and stdin is a terminal: the other person left the chat, so this
    /// session reads no more of the terminal and ends its side too.
    left_chat: bool,
    /// stdin to the socket inside the kernel, instead of through the layer.
    up_route: Option<Direct>,
    /// The socket to stdout inside the kernel, instead of through the layer.
    down_route: Option<Direct>,
    /// When an unfinished password handshake fails.
    handshake_deadline: Instant,
    last_activity: Instant,
}

impl Session {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        layer: Layer,
        handshake_deadline: Instant,
    ) -> Session {
        Session {
            stream,
            peer,
            layer,
            // Unknown until tried: a call that would block clears these.
            readable: true,
            writable: true,
            close_queued: false,
            sent_eof: false,
            received_eof: false,
            peer_finished: false,
            authenticated: false,
            left_chat: false,
            up_route: None,
            down_route: None,
            handshake_deadline,
            last_activity: Instant::now(),
        }
    }

    /// Moves bytes until nothing more can move; returns how the session ended, if it has.
    fn pump(&mut self, input: &mut Input, output: &mut Output, config: &Config) -> Option<End> {
        loop {
            let progress = match self.transfer(input, output, config) {
                Ok(progress) => progress,
                Err(end) => return Some(end),
            };
            if self.is_finished(config) {
                return Some(End::Done);
            }
            if !progress {
                return None;
            }
        }
    }

    /// One round of every transfer that can move. Returns true if anything moved.
    fn transfer(
        &mut self,
        input: &mut Input,
        output: &mut Output,
        config: &Config,
    ) -> Result<bool, End> {
        let mut progress = false;
        // A chat ends when the other person leaves: stop reading the terminal, end our side too.
        if self.peer_finished && input.stream.is_terminal && !self.left_chat {
            self.left_chat = true;
            progress = true;
        }
        if self.layer.is_open() {
            progress |= self.send_direct(input)?;
            progress |= self.read_stdin(input)?;
            if !self.reads_stdin(input) && !self.close_queued {
                self.close_queued = self
                    .layer
                    .close_outbound(CloseReason::EndOfInput)
                    .map_err(|err| self.layer_failure(err))?;
            }
        }
        progress |= self.send()?;
        if self.close_queued && self.layer.to_socket().is_empty() && !self.sent_eof {
            if !config.no_shutdown {
                // The peer sees our EOF; it may still answer, so keep receiving.
                let _ = self.stream.shutdown(Shutdown::Write);
            }
            self.sent_eof = true;
        }
        progress |= self.receive_direct(output)?;
        progress |= self.receive()?;
        if config.send_only {
            let unread = self.layer.stdout_bytes().len();
            self.layer.stdout_consumed(unread);
        } else {
            progress |= self.write_stdout(output)?;
        }
        // Everything received has been decoded and written: is the peer's end of stream clean?
        if self.received_eof
            && !self.peer_finished
            && !progress
            && self.layer.stdout_bytes().is_empty()
        {
            self.layer
                .finish_inbound()
                .map_err(|err| self.layer_failure(err))?;
            self.peer_finished = true;
            progress = true;
        }
        Ok(progress)
    }

    /// The end-of-session rules (see the module docs): our end of stream is out (after
    /// everything before it), and, unless the peer's bytes are being discarded, the peer's end
    /// of stream is in, after everything before it was written out.
    fn is_finished(&self, config: &Config) -> bool {
        let all_received = self.peer_finished && self.layer.stdout_bytes().is_empty();
        // With --send-only, "sent" means the peer has acknowledged every byte: closing earlier
        // would let a late byte from the peer reset the connection and destroy what was still
        // queued for sending.
        let all_delivered = config.send_only && unacknowledged(&self.stream) == 0;
        self.sent_eof && (all_received || all_delivered)
    }

    /// True while this session still takes stdin.
    fn reads_stdin(&self, input: &Input) -> bool {
        !input.ended && !self.left_chat
    }

    /// stdin straight into the socket, inside the kernel, where that route exists.
    fn send_direct(&mut self, input: &mut Input) -> Result<bool, End> {
        // Taken out while in use, so that the loop can ask `reads_stdin`; put back at the end.
        let Some(mut route) = self.up_route.take() else {
            return Ok(false);
        };
        let mut progress = false;
        while self.reads_stdin(input) && input.ready && self.writable {
            match route.transfer(input.stream.as_raw_fd(), self.stream.as_raw_fd()) {
                Ok(Outcome::Moved) => {
                    self.last_activity = Instant::now();
                    progress = true;
                }
                Ok(Outcome::End) => {
                    input.ended = true;
                    progress = true;
                }
                Ok(Outcome::SourceDry) => input.ready = false,
                Ok(Outcome::SinkFull) => self.writable = false,
                // Nothing moved: the ordinary path takes over from here.
                Err(err) if zerocopy::unsupported(&err) => return Ok(progress),
                Err(err)
                    if is_connection_error(&err) || err.kind() == io::ErrorKind::BrokenPipe =>
                {
                    return Err(self.network_failure("sending to", &err));
                }
                Err(err) => return Err(End::Failed(Error::io("stdin", &err))),
            }
        }
        self.up_route = Some(route);
        Ok(progress)
    }

    /// The socket straight into stdout, inside the kernel, where that route exists.
    fn receive_direct(&mut self, output: &mut Output) -> Result<bool, End> {
        let Some(route) = &mut self.down_route else {
            return Ok(false);
        };
        let mut progress = false;
        while output.ready && (self.readable || route.has_pending()) && !self.received_eof {
            match route.transfer(self.stream.as_raw_fd(), output.stream.as_raw_fd()) {
                Ok(Outcome::Moved) => {
                    self.last_activity = Instant::now();
                    progress = true;
                }
                Ok(Outcome::End) => {
                    self.received_eof = true;
                    progress = true;
                }
                Ok(Outcome::SourceDry) => self.readable = false,
                Ok(Outcome::SinkFull) => output.ready = false,
                // Nothing is lost while nothing waits in the route: the ordinary path takes over.
                Err(err) if zerocopy::unsupported(&err) && !route.has_pending() => {
                    self.down_route = None;
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                    return Err(End::StdoutClosed);
                }
                Err(err) if is_connection_error(&err) => {
                    return Err(self.network_failure("receiving from", &err));
                }
                Err(err) => return Err(End::Failed(Error::io("stdout", &err))),
            }
        }
        Ok(progress)
    }

    fn read_stdin(&mut self, input: &mut Input) -> Result<bool, End> {
        if self.up_route.is_some()
            || !self.reads_stdin(input)
            || !input.ready
            || !self.layer.outbound_has_room()
        {
            return Ok(false);
        }
        let stream = &input.stream;
        match self.layer.fill_outbound(|buf| stream.read(buf)) {
            Ok(0) => input.ended = true,
            Ok(_) => {}
            Err(LayerError::Read(err)) if would_block(&err) => {
                input.ready = false;
                return Ok(false);
            }
            Err(err) => return Err(self.layer_failure(err)),
        }
        Ok(true)
    }

    fn send(&mut self) -> Result<bool, End> {
        let mut progress = false;
        while self.writable && !self.layer.to_socket().is_empty() {
            match self.stream.write(self.layer.to_socket().filled()) {
                Ok(n) => {
                    self.layer.to_socket().consume(n);
                    self.last_activity = Instant::now();
                    progress = true;
                }
                Err(err) if would_block(&err) => self.writable = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.network_failure("sending to", &err)),
            }
        }
        Ok(progress)
    }

    fn receive(&mut self) -> Result<bool, End> {
        let mut progress = false;
        while self.down_route.is_none() && self.readable && !self.received_eof {
            let buf = self.layer.from_socket();
            if buf.room() == 0 {
                break;
            }
            match self.stream.read(buf.spare()) {
                Ok(0) => self.received_eof = true,
                Ok(n) => {
                    buf.commit(n);
                    self.last_activity = Instant::now();
                }
                Err(err) if would_block(&err) => {
                    self.readable = false;
                    continue;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.network_failure("receiving from", &err)),
            }
            progress = true;
        }
        let mut decoded = self.layer.decode().map_err(|err| self.layer_failure(err))?;
        // A listener checks the connector's CONFIRM at once: the pause after each failed
        // handshake already keeps guesses to one a second.
        if self.layer.confirm_waiting() {
            self.layer
                .check_confirm()
                .map_err(|err| self.layer_failure(err))?;
            decoded |= self.layer.decode().map_err(|err| self.layer_failure(err))?;
        }
        Ok(progress || decoded)
    }

    fn write_stdout(&mut self, output: &mut Output) -> Result<bool, End> {
        let mut progress = false;
        while output.ready && !self.layer.stdout_bytes().is_empty() {
            match output.stream.write(self.layer.stdout_bytes()) {
                Ok(n) => {
                    self.layer.stdout_consumed(n);
                    progress = true;
                }
                Err(err) if would_block(&err) => output.ready = false,
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                    return Err(End::StdoutClosed);
                }
                Err(err) => return Err(End::Failed(Error::io("stdout", &err))),
            }
        }
        Ok(progress)
    }

    fn network_failure(&self, doing: &str, err: &io::Error) -> End {
        End::PeerLost(Error::Runtime(format!(
            "{doing} {}: {}",
            self.peer,
            os_reason(err)
        )))
    }

    /// stdin's failure, or the secure channel's.
    fn layer_failure(&self, err: LayerError) -> End {
        match err {
            LayerError::Read(err) => End::Failed(Error::io("stdin", &err)),
            LayerError::Handshake(err) | LayerError::Seal(err) | LayerError::Open(err) => {
                self.secure_failure(err)
            }
        }
    }

    fn secure_failure(&self, err: SecureError) -> End {
        End::Failed(Error::Secure(format!(
            "secure channel with {}: {err}",
            self.peer
        )))
    }

    /// The next time something is due: the handshake's deadline, or the `-i` one.
    fn next_deadline(&self, config: &Config) -> Option<Instant> {
        if !self.layer.is_open() {
            return Some(self.handshake_deadline);
        }
        let idle = config.idle_timeout.map(|idle| self.last_activity + idle);
        // No event tells when the last ACK arrives, so --send-only looks again shortly.
        let acks = (config.send_only && self.sent_eof).then(|| Instant::now() + ACK_RECHECK);
        idle.into_iter().chain(acks).min()
    }

    fn timed_out(&self, config: &Config, now: Instant) -> Option<End> {
        // Until the channel is up only the handshake's deadline counts: -i must not let a
        // silent stranger end a password listener.
        if !self.layer.is_open() {
            return (now >= self.handshake_deadline)
                .then(|| self.secure_failure(SecureError::Stalled));
        }
        let idle = config.idle_timeout?;
        (now >= self.last_activity + idle).then_some(End::Idle)
    }

    /// Closes the connection. Whatever the peer sent that nobody will read is drained first, so
    /// that the close is a FIN and not a reset, which could destroy data the peer has not yet read.
    fn close(&mut self) {
        // What is already queued goes out if the socket takes it now (a failed handshake's
        // CONFIRM, which tells the peer why); nothing waits for it.
        let waiting = self.layer.to_socket();
        if !waiting.is_empty()
            && let Ok(n) = self.stream.write(waiting.filled())
        {
            waiting.consume(n);
        }
        // Bounded, as a peer that keeps sending must not keep tete from ending.
        let mut sink = [0u8; 16 * 1024];
        for _ in 0..64 {
            if !matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
    }
}

fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// Bytes sent on `stream` that the peer has not acknowledged yet.
fn unacknowledged(stream: &TcpStream) -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut n: libc::c_int = 0;
        if unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut n) } == 0 {
            return n.max(0) as usize;
        }
    }
    let _ = stream;
    0
}

/// True for errors that come from the connection rather than from stdin or stdout.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(
            libc::ECONNRESET
                | libc::ETIMEDOUT
                | libc::ENOTCONN
                | libc::ECONNABORTED
                | libc::EHOSTUNREACH
        )
    )
}

fn is_not_connected(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotConnected
}
