//! One peer's session: the connection, the bytes in flight to and from it, and the pump that
//! moves them until nothing more can move. When the session ends is [`super::ending`]'s call;
//! this module only reports to it what happened.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use mio::Registry;
use mio::net::TcpStream;

use super::chat_front::ChatFront;
use super::ending::{Ending, HoldEnd, Receiving, Rules, Sending};
use super::{End, Input, Notice, Output, Readiness, write_queued};
use crate::error::{Error, os_reason};
use crate::layer::{Flow, Layer, LayerError};
use crate::options::{Config, Direction, Mode};
use crate::secure::{Cipher, CloseReason, HELLO_START, Role, SecureError};
use crate::zerocopy::{self, Direct, Outcome};

/// How long a connector's listener has to complete the password handshake, unless `-w` says
/// otherwise. (A listener's handshakes run before its session, with their own deadlines: see
/// [`super::pending`].)
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// How often `--send-only` checks whether the peer has acknowledged everything, once sent.
const ACK_RECHECK: Duration = Duration::from_millis(5);

/// One peer's connection and the bytes in flight to and from it.
pub(super) struct Session {
    stream: TcpStream,
    peer: SocketAddr,
    /// What happens to the bytes on the way, and the buffers they wait in.
    layer: Layer,
    readable: Readiness,
    writable: Readiness,
    ending: Ending,
    /// The relay has seen the layer open (at once without a password) and acted on it.
    authenticated: bool,
    /// stdin to the socket inside the kernel, instead of through the layer.
    up_route: Option<Direct>,
    /// The socket to stdout inside the kernel, instead of through the layer.
    down_route: Option<Direct>,
    /// When an unfinished password handshake fails.
    handshake_deadline: Instant,
    /// When a byte last moved either way.
    last_activity: Instant,
    /// Bytes of stdin taken into the session (plaintext, before `-C`), for the progress line
    /// and the `-v` summary.
    sent: u64,
    /// Bytes of the peer's written to stdout (plaintext), or discarded by `--send-only`.
    received: u64,
    /// Plain mode: whether the peer opened with a password HELLO (a forgotten `-P`).
    hello: HelloWatch,
}

/// Plain mode's look at the peer's first bytes, for the forgotten `-P`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HelloWatch {
    /// This many of the peer's first bytes match a password HELLO's start so far.
    Watching(usize),
    /// They matched whole, and nobody has been told yet ([`Session::take_hint`]).
    Seen,
    /// Decided (or password mode, where there is nothing to watch for).
    Done,
}

impl Session {
    /// The layer of a session that starts from a bare connection: plain, or with `password`
    /// at the start of its handshake.
    pub(super) fn fresh_layer(config: &Config, password: Option<&[u8]>) -> Layer {
        match password {
            None => Layer::plain(config.crlf),
            Some(password) => {
                let role = match config.mode {
                    Mode::Connect { .. } => Role::Connector,
                    Mode::Listen { .. } => Role::Listener,
                };
                Layer::secure(config.crlf, role, password)
            }
        }
    }

    /// Starts the session with `stream`, already registered with the poll, and `layer` (fresh,
    /// or a password channel already open). `early` is what the peer sent before the session
    /// began (what followed a proxy's reply): it is handled before anything read from the
    /// stream.
    pub(super) fn begin(
        stream: TcpStream,
        peer: SocketAddr,
        mut layer: Layer,
        early: &[u8],
        config: &Config,
        input: &Input,
        output: &Output,
    ) -> Result<Session, Error> {
        // Chat lines must leave at once, not wait to be coalesced with later ones.
        let _ = stream.set_nodelay(true);
        let secure = layer.is_secure();
        let receive_only = config.direction == Direction::ReceiveOnly;
        let send_only = config.direction == Direction::SendOnly;
        let rules = Rules {
            // In password mode the peer is always tete, which does not stop on our end of
            // stream, and without the authenticated CLOSE it would see a truncation: there
            // -d ends our direction at once instead.
            receive_only: receive_only && !secure,
            send_only,
            // The password mode's peer is always tete, which reads our CLOSE as no more than
            // the end of our direction; -q asks for the end; through a proxy the end waits for
            // the reply (see ending.rs).
            hold_end: match (secure, &config.mode, config.quit_after_eof) {
                (true, _, _) | (_, _, Some(_)) => HoldEnd::Never,
                (false, Mode::Connect { proxy: Some(_), .. }, None) => HoldEnd::Always,
                (false, _, None) => HoldEnd::IfNothingSent,
            },
            chat: input.stream.is_terminal,
            quit_after_end: config.quit_after_eof,
            idle_after_end: config.wait,
        };
        let mut ending = Ending::new(rules);
        if input.ended || receive_only {
            ending.stdin_ended();
        }
        // A proxy's reply is read in small pieces, so what followed it is small; only a peer
        // that sends more than a handshake's worth before its turn can overflow a handshake's
        // buffer.
        let inbound = layer.incoming();
        if early.len() > inbound.spare().len() {
            return Err(Error::Secure(format!(
                "secure channel with {peer}: {} bytes arrived before the handshake could take them",
                early.len()
            )));
        }
        inbound.spare()[..early.len()].copy_from_slice(early);
        inbound.commit(early.len());
        // Bytes that need no change can stay in the kernel.
        let up_route = layer
            .passthrough(Flow::Outbound)
            .then(|| Direct::for_stdin(&input.stream))
            .flatten();
        let down_route = (layer.passthrough(Flow::Inbound) && !send_only)
            .then(|| Direct::for_stdout(&output.stream))
            .flatten();
        let now = Instant::now();
        Ok(Session {
            stream,
            peer,
            layer,
            // Unknown until tried: a call that would block clears these.
            readable: Readiness::new(true),
            writable: Readiness::new(true),
            ending,
            authenticated: false,
            up_route,
            down_route,
            handshake_deadline: now + config.wait.unwrap_or(HANDSHAKE_TIME),
            last_activity: now,
            sent: 0,
            received: 0,
            hello: if secure {
                HelloWatch::Done
            } else {
                HelloWatch::Watching(0)
            },
        })
    }

    /// Bytes moved so far: (taken from stdin, given to stdout).
    pub(super) fn transferred(&self) -> (u64, u64) {
        (self.sent, self.received)
    }

    pub(super) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The password mode's cipher, once the channel is open.
    pub(super) fn cipher(&self) -> Option<Cipher> {
        self.layer.cipher()
    }

    /// Notes the socket's readiness from a poll event.
    pub(super) fn ready(&mut self, readable: bool, writable: bool) {
        self.readable.note(readable);
        self.writable.note(writable);
    }

    /// True the first time the layer is seen open: the peer has proved it knows the password
    /// (at once when there is none).
    pub(super) fn authenticate(&mut self) -> bool {
        if self.authenticated || !self.layer.is_open() {
            return false;
        }
        self.authenticated = true;
        true
    }

    /// Moves bytes until nothing more can move; returns how the session ended, if it has. In
    /// chat mode, `chat` stands in for stdin and stdout.
    pub(super) fn pump(
        &mut self,
        input: &mut Input,
        output: &mut Output,
        mut chat: Option<&mut ChatFront>,
        config: &Config,
    ) -> Option<End> {
        loop {
            let progress = match self.transfer(input, output, chat.as_deref_mut(), config) {
                Ok(progress) => progress,
                Err(end) => return Some(end),
            };
            let stream = &self.stream;
            if self
                .ending
                .finished(Instant::now(), self.last_activity, || {
                    unacknowledged(stream) == 0
                })
            {
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
        mut chat: Option<&mut ChatFront>,
        config: &Config,
    ) -> Result<bool, End> {
        let mut progress = false;
        if self.layer.is_open() {
            progress |= self.send_direct(input)?;
            progress |= self.read_stdin(input, chat.as_deref_mut())?;
            if input.ended {
                self.ending.stdin_ended();
            }
            let now = Instant::now();
            // Queued once the record layer has room for it (at once in plain mode).
            if self.ending.should_close(now, self.last_activity)
                && self
                    .layer
                    .close_outbound(CloseReason::EndOfInput)
                    .map_err(|err| self.layer_failure(err))?
            {
                self.ending.closed(now);
                progress = true;
            }
        }
        progress |= self.send()?;
        if matches!(self.ending.sending(), Sending::Closed { .. })
            && self.layer.outgoing().is_empty()
        {
            // In password mode the CLOSE record is the end of stream, and a FIN after it would
            // only end a proxy's whole relay early: the connection closes when the session ends.
            if config.half_close && !self.layer.is_secure() {
                // The peer sees our end of stream; it may still answer, so keep receiving.
                let _ = self.stream.shutdown(Shutdown::Write);
            }
            self.ending.flushed();
        }
        progress |= self.receive_direct(output)?;
        progress |= self.receive()?;
        // The peer's CLOSE record is its end of stream: no FIN follows it.
        if self.layer.peer_closed() {
            self.ending.peer_ended();
        }
        if config.direction == Direction::SendOnly {
            let unread = self.layer.stdout_bytes().len();
            self.received += unread as u64;
            self.layer.stdout_consumed(unread);
        } else {
            progress |= self.write_stdout(output, chat)?;
        }
        // Everything received has been decoded and written: is the peer's end of stream clean?
        if self.ending.receiving() == Receiving::Ended
            && !progress
            && self.layer.stdout_bytes().is_empty()
        {
            let reason = self
                .layer
                .finish_inbound()
                .map_err(|err| self.layer_failure(err))?;
            if reason == CloseReason::Interrupted {
                // The peer is gone: in a chat a person left; a transfer may be incomplete.
                return Err(if self.ending.is_chat() {
                    End::PeerLeft
                } else {
                    End::PeerLost(Error::Runtime(format!(
                        "the peer ({}) was interrupted; the data may be incomplete",
                        self.peer
                    )))
                });
            }
            self.ending.peer_finished();
            progress = true;
        }
        Ok(progress)
    }

    /// stdin straight into the socket, inside the kernel, where that route exists.
    fn send_direct(&mut self, input: &mut Input) -> Result<bool, End> {
        let Some(route) = &mut self.up_route else {
            return Ok(false);
        };
        let mut progress = false;
        while self.ending.reads_stdin()
            && !input.ended
            && input.ready.is_ready()
            && self.writable.is_ready()
        {
            match route.transfer(input.stream.as_fd(), self.stream.as_fd()) {
                Ok(Outcome::Moved(n)) => {
                    self.last_activity = Instant::now();
                    self.ending.sent();
                    self.sent += n as u64;
                    progress = true;
                }
                Ok(Outcome::End) => {
                    input.ended = true;
                    progress = true;
                }
                Ok(Outcome::SourceDry) => input.ready.clear(),
                Ok(Outcome::SinkFull) => self.writable.clear(),
                // Nothing moved: the ordinary path takes over from here.
                Err(err) if zerocopy::unsupported(&err) => {
                    self.up_route = None;
                    break;
                }
                Err(err)
                    if is_connection_error(&err) || err.kind() == io::ErrorKind::BrokenPipe =>
                {
                    return Err(self.network_failure("sending to", &err));
                }
                Err(err) => return Err(End::Failed(Error::io("stdin", &err))),
            }
        }
        Ok(progress)
    }

    /// The socket straight into stdout, inside the kernel, where that route exists.
    fn receive_direct(&mut self, output: &mut Output) -> Result<bool, End> {
        let Some(route) = &mut self.down_route else {
            return Ok(false);
        };
        let mut progress = false;
        // Bytes already in the layer (what followed a proxy's reply) go first; the first few
        // bytes go through the layer, to be looked at.
        while !matches!(self.hello, HelloWatch::Watching(_))
            && output.ready.is_ready()
            && (self.readable.is_ready() || route.has_pending())
            && self.ending.receiving() == Receiving::Open
            && self.layer.stdout_bytes().is_empty()
        {
            match route.transfer(self.stream.as_fd(), output.stream.as_fd()) {
                Ok(Outcome::Moved(n)) => {
                    self.last_activity = Instant::now();
                    self.received += n as u64;
                    progress = true;
                }
                Ok(Outcome::End) => {
                    self.ending.peer_ended();
                    progress = true;
                }
                Ok(Outcome::SourceDry) => self.readable.clear(),
                Ok(Outcome::SinkFull) => output.ready.clear(),
                // Nothing is lost while nothing waits in the route: the ordinary path takes over.
                Err(err) if zerocopy::unsupported(&err) && !route.has_pending() => {
                    self.down_route = None;
                    break;
                }
                Err(err) if is_connection_error(&err) => {
                    return Err(self.network_failure("receiving from", &err));
                }
                Err(err) => return Err(stdout_failure(err)),
            }
        }
        Ok(progress)
    }

    /// Reads stdin into the layer until its socket buffer is full or stdin has nothing more now,
    /// so that one wakeup fills several records and [`Session::send`] writes them at once.
    fn read_stdin(
        &mut self,
        input: &mut Input,
        mut chat: Option<&mut ChatFront>,
    ) -> Result<bool, End> {
        let mut progress = false;
        while self.up_route.is_none()
            && self.ending.reads_stdin()
            && !input.ended
            && chat
                .as_ref()
                .map_or(input.ready.is_ready(), |chat| chat.has_typed())
            && self.layer.outbound_has_room()
        {
            let layer = &mut self.layer;
            let read = match chat.as_deref_mut() {
                // The chat's typed lines are always there to take.
                Some(chat) => layer.fill_outbound(|bufs| chat.take_typed(bufs)).map(Some),
                None => {
                    let stream = &input.stream;
                    input
                        .ready
                        .attempt(|| layer.fill_outbound(|bufs| stream.read_vectored(bufs)))
                }
            };
            match read {
                Ok(None) => break,
                Ok(Some(0)) => input.ended = true,
                Ok(Some(n)) => {
                    self.ending.sent();
                    self.sent += n as u64;
                }
                Err(err) => return Err(self.layer_failure(err)),
            }
            progress = true;
        }
        Ok(progress)
    }

    fn send(&mut self) -> Result<bool, End> {
        let sent = write_queued(&mut self.stream, self.layer.outgoing(), &mut self.writable)
            .map_err(|err| self.network_failure("sending to", &err))?;
        if sent > 0 {
            self.last_activity = Instant::now();
        }
        Ok(sent > 0)
    }

    fn receive(&mut self) -> Result<bool, End> {
        let mut progress = false;
        while (self.down_route.is_none() || self.watching_hello())
            && self.ending.receiving() == Receiving::Open
        {
            let buf = self.layer.incoming();
            if buf.room() == 0 {
                break;
            }
            let stream = &mut self.stream;
            let read = match self.readable.attempt(|| stream.read(buf.spare())) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(err) => return Err(self.network_failure("receiving from", &err)),
            };
            if read == 0 {
                self.ending.peer_ended();
            } else {
                buf.commit(read);
                self.last_activity = Instant::now();
                if self.watching_hello() {
                    let plain = self.layer.stdout_bytes();
                    self.look_for_hello(plain.len() - read);
                }
            }
            progress = true;
        }
        // A listener's session starts with the channel open (its handshake ran in the peer
        // lifecycle), so a handshake here is a connector's, which has no CONFIRM_C to check.
        let decoded = self.layer.decode().map_err(|err| self.layer_failure(err))?;
        Ok(progress || decoded)
    }

    /// Plain mode: compares the peer's bytes from `from` in [`Layer::stdout_bytes`] with a
    /// password HELLO's start, until they differ or match whole.
    fn look_for_hello(&mut self, from: usize) {
        let HelloWatch::Watching(seen) = self.hello else {
            return;
        };
        let fresh = &self.layer.stdout_bytes()[from..];
        let len = fresh.len().min(HELLO_START.len() - seen);
        self.hello = if fresh[..len] != HELLO_START[seen..seen + len] {
            HelloWatch::Done
        } else if seen + len == HELLO_START.len() {
            HelloWatch::Seen
        } else {
            HelloWatch::Watching(seen + len)
        };
    }

    /// True while the peer's first bytes are still being compared with a password HELLO (they
    /// go through the layer, not the zero-copy route, meanwhile).
    fn watching_hello(&self) -> bool {
        matches!(self.hello, HelloWatch::Watching(_))
    }

    /// What the user should hear about the peer, once: that it opened with a password HELLO.
    pub(super) fn take_hint(&mut self) -> Option<Notice> {
        if self.hello != HelloWatch::Seen {
            return None;
        }
        self.hello = HelloWatch::Done;
        Some(Notice::always(
            "the peer expects a room password (it opened with tete's password handshake): \
             run both ends with -P and the same password",
        ))
    }

    fn write_stdout(
        &mut self,
        output: &mut Output,
        chat: Option<&mut ChatFront>,
    ) -> Result<bool, End> {
        if let Some(chat) = chat {
            let shown = chat
                .show_peer(self.layer.stdout_bytes(), output)
                .map_err(stdout_failure)?;
            self.layer.stdout_consumed(shown);
            self.received += shown as u64;
            return Ok(shown > 0);
        }
        let mut progress = false;
        while !self.layer.stdout_bytes().is_empty() {
            let (stream, bytes) = (&output.stream, self.layer.stdout_bytes());
            let Some(n) = output
                .ready
                .attempt(|| stream.write(bytes))
                .map_err(stdout_failure)?
            else {
                break;
            };
            self.layer.stdout_consumed(n);
            self.received += n as u64;
            progress = true;
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

    /// The next time something is due: the handshake's deadline, `-i`, or an end rule's.
    pub(super) fn next_deadline(&self, config: &Config) -> Option<Instant> {
        if !self.layer.is_open() {
            return Some(self.handshake_deadline);
        }
        let idle = config.idle_timeout.map(|idle| self.last_activity + idle);
        // No event tells when the last ACK arrives, so --send-only looks again shortly.
        let acks = (config.direction == Direction::SendOnly
            && matches!(self.ending.sending(), Sending::Out { .. }))
        .then(|| Instant::now() + ACK_RECHECK);
        [idle, acks, self.ending.next_deadline(self.last_activity)]
            .into_iter()
            .flatten()
            .min()
    }

    pub(super) fn timed_out(&self, config: &Config, now: Instant) -> Option<End> {
        // Until the channel is up only the handshake's deadline counts: -i is about the
        // session's bytes, and there are none yet.
        if !self.layer.is_open() {
            return (now >= self.handshake_deadline)
                .then(|| self.secure_failure(SecureError::Stalled));
        }
        let idle = config.idle_timeout?;
        (now >= self.last_activity + idle).then_some(End::Idle)
    }

    /// We are being stopped (a signal, or Ctrl-C in a chat): a password session's peer is told
    /// with CLOSE(interrupted), unless our stream has already ended. Best effort and bounded:
    /// only what the socket takes at once, as a stalled peer must not hold up the exit.
    pub(super) fn interrupt(&mut self) {
        if !self.layer.is_open() || matches!(self.ending.sending(), Sending::Closed { .. }) {
            return;
        }
        // The CLOSE goes behind what is queued; if there is no room for it, the socket may
        // take some of the queue first.
        for _ in 0..2 {
            if !matches!(
                self.layer.close_outbound(CloseReason::Interrupted),
                Ok(false)
            ) {
                break;
            }
            self.write_now();
        }
        self.write_now();
        self.drain();
    }

    /// Writes what is queued for the socket, as far as it takes it without waiting.
    fn write_now(&mut self) {
        let mut writable = Readiness::new(true);
        let _ = write_queued(&mut self.stream, self.layer.outgoing(), &mut writable);
    }

    /// Reads and drops what the peer sent that nobody will read, so that the close is a FIN
    /// and not a reset, which could destroy data the peer has not yet read. Bounded, as a peer
    /// that keeps sending must not keep tete from ending.
    fn drain(&mut self) {
        let mut sink = [0u8; 16 * 1024];
        for _ in 0..64 {
            if !matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// Closes the connection. Whatever the peer sent that nobody will read is drained first, so
    /// that the close is a FIN and not a reset, which could destroy data the peer has not yet read.
    pub(super) fn close(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
        // What is already queued goes out if the socket takes it now (a failed handshake's
        // answer, which tells the peer why); nothing waits for it.
        self.write_now();
        self.drain();
    }
}

/// Bytes sent on `stream` that the peer has not acknowledged yet (0 where the system cannot
/// tell: `--send-only` then ends once everything is handed to the kernel).
fn unacknowledged(stream: &TcpStream) -> usize {
    #[cfg(target_os = "linux")]
    {
        crate::sys::unacknowledged_bytes(stream.as_fd()).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = stream;
        0
    }
}

/// How a failed write to stdout ends the session.
fn stdout_failure(err: io::Error) -> End {
    if err.kind() == io::ErrorKind::BrokenPipe {
        End::StdoutClosed
    } else {
        End::Failed(Error::io("stdout", &err))
    }
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
