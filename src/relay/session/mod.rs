//! One peer's session: the connection, the bytes in flight to and from it, and the pump that
//! moves them until nothing more can move. When the session ends is [`super::ending`]'s call;
//! this module only reports to it what happened.
//!
//! The rooms, each an `impl Session` of its own: this file (the session, and the pump through
//! the layer), `direct.rs` (the kernel's zero-copy routes), `closing.rs` (the close, and the
//! interrupted end), `failure.rs` (how an I/O or channel failure ends the session).

mod clocks;
mod closing;
mod direct;
mod failure;

use std::io::Read;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::chat_front::ChatFront;
use super::ending::{self, Ending, Receiving, Sending};
use super::hello_watch::{self, HelloWatch};
use super::liveness::{Limits, Liveness};
use super::{End, Input, Notice, Output, Readiness, write_queued};
use crate::error::Error;
use crate::layer::{Flow, Layer};
use crate::options::{Config, Direction};
use crate::password::PasswordSource;
use crate::secure::{Cipher, CloseReason};
use crate::zerocopy::Direct;
use failure::stdout_failure;

/// How much one read of a stdin pipe must bring for the rest to be spliced, and how little a
/// splice that empties the pipe must move for reads to take over again. A splice hands the
/// pipe's page to the socket, so the writer's next small write needs a fresh page: a chat
/// round trip (30-byte lines through `tete -N`, loopback echo) took 43.6-43.9 us spliced
/// against 39.5-39.6 us read (medians of 15 interleaved rounds of 1500), while bulk input, for
/// which the splice is there (see [`crate::zerocopy`]), fills a 64 KiB pipe.
const SPLICE_FROM: usize = 64 * 1024;

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
    /// stdin comes in bulk, so the up route takes it; else it is read (see [`SPLICE_FROM`]).
    stdin_in_bulk: bool,
    /// The socket to stdout inside the kernel, instead of through the layer.
    down_route: Option<Direct>,
    /// When the session began.
    begun: Instant,
    /// When the peer's first byte came.
    first_heard: Option<Instant>,
    /// A password connector has said that it waits for the listener's password.
    said_password_wait: bool,
    /// When a byte last moved either way.
    last_activity: Instant,
    /// Whether the partner is still there.
    liveness: Liveness,
    /// Bytes written to the socket so far (where our pings end, for the check).
    written: u64,
    /// The socket's `TCP_USER_TIMEOUT` as last set.
    user_timeout: Option<Duration>,
    /// What the session has to say, until the loop takes it.
    notices: Vec<Notice>,
    /// Bytes of stdin taken into the session (plaintext, before `-C`), for the progress line
    /// and the `-v` summary.
    sent: u64,
    /// Bytes of the peer's written to stdout (plaintext), or discarded by `--send-only`.
    received: u64,
    /// Plain mode: whether the peer opens with a password HELLO (a forgotten `-P`).
    hello: HelloWatch,
    /// The room password came from `TETE_PASSWORD` (a failure to meet a password peer says so).
    password_from_environment: bool,
}

impl Session {
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
        let send_only = config.direction == Direction::SendOnly;
        let mut ending = Ending::new(ending::rules_for(config, secure, input.stream.is_terminal));
        if input.ended || config.direction == Direction::ReceiveOnly {
            ending.stdin_ended();
        }
        if !early.is_empty() {
            ending.received();
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
        let limits = config.peer_timeout.and_then(Limits::new);
        let user_timeout = Self::watch_socket(&stream, limits);
        Ok(Session {
            stream,
            peer,
            layer,
            // Unknown until tried: a call that would block clears these.
            readable: Readiness::new(true),
            writable: Readiness::new(true),
            ending,
            authenticated: false,
            stdin_in_bulk: matches!(up_route, Some(Direct::FromFile)),
            up_route,
            down_route,
            begun: now,
            first_heard: None,
            said_password_wait: false,
            last_activity: now,
            liveness: Liveness::new(limits, now),
            written: 0,
            user_timeout,
            notices: Vec::new(),
            sent: 0,
            received: 0,
            hello: HelloWatch::new(secure),
            password_from_environment: matches!(config.password, PasswordSource::Environment(_)),
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
            if self
                .ending
                .should_close(now, self.last_activity, self.liveness.alive_since())
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
            if ending::half_closes(config, self.layer.is_secure()) {
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

    /// Reads stdin into the layer until its socket buffer is full or stdin has nothing more now,
    /// so that one wakeup fills several records and [`Session::send`] writes them at once.
    fn read_stdin(
        &mut self,
        input: &mut Input,
        mut chat: Option<&mut ChatFront>,
    ) -> Result<bool, End> {
        let mut progress = false;
        while !(self.up_route.is_some() && self.stdin_in_bulk)
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
                    // The rest is spliced, once what was read has gone.
                    self.stdin_in_bulk = n >= SPLICE_FROM;
                }
                Err(err) => return Err(self.layer_failure(err)),
            }
            progress = true;
        }
        Ok(progress)
    }

    fn send(&mut self) -> Result<bool, End> {
        // Heartbeats are no activity: -i and the end rules count what the peer and we say.
        let heartbeats = self.layer.only_heartbeats_queued();
        let sent = write_queued(&mut self.stream, self.layer.outgoing(), &mut self.writable)
            .map_err(|err| self.network_failure("sending to", &err))?;
        if sent > 0 && !heartbeats {
            self.last_activity = Instant::now();
        }
        self.written += sent as u64;
        Ok(sent > 0)
    }

    fn receive(&mut self) -> Result<bool, End> {
        let mut progress = false;
        // What counts as activity is the peer's data and its end, not its heartbeats.
        let (data, closed) = (self.layer.stdout_bytes().len(), self.layer.peer_closed());
        while (self.down_route.is_none() || self.hello.watching())
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
                self.hello.peer_ended();
            } else {
                buf.commit(read);
                let now = Instant::now();
                self.first_heard.get_or_insert(now);
                self.liveness.heard(now);
                self.ending.received();
                if self.hello.watching() {
                    let plain = self.layer.stdout_bytes();
                    self.hello.look(&plain[plain.len() - read..]);
                    if self.hello == HelloWatch::Seen {
                        let failure = hello_watch::expects_password(self.peer);
                        return Err(End::Failed(Error::Secure(failure)));
                    }
                }
            }
            progress = true;
        }
        // A listener's session starts with the channel open (its handshake ran in the peer
        // lifecycle), so a handshake here is a connector's, which has no CONFIRM_C to check.
        let decoded = self.layer.decode().map_err(|err| self.layer_failure(err))?;
        if self.layer.stdout_bytes().len() > data || self.layer.peer_closed() != closed {
            self.last_activity = Instant::now();
        }
        Ok(progress || decoded)
    }

    /// What the session has to say: at a terminal, what a wait with no end in sight waits for
    /// ([`Ending::take_waiting_line`]); what the liveness check concluded; that a password
    /// connector waits for the listener's person.
    pub(super) fn take_notices(&mut self) -> Vec<Notice> {
        let now = Instant::now();
        if let Some(line) = self.ending.take_waiting_line(now, self.last_activity) {
            self.notices.push(Notice::always(line));
        }
        std::mem::take(&mut self.notices)
    }

    fn write_stdout(
        &mut self,
        output: &mut Output,
        chat: Option<&mut ChatFront>,
    ) -> Result<bool, End> {
        // The peer's first bytes wait while they may be a password HELLO (see hello_watch).
        if self.hello.watching() {
            return Ok(false);
        }
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
