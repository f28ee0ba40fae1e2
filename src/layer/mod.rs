//! What happens to bytes between the standard streams and the socket, and the buffers they wait in.
//!
//! Outbound, stdin's bytes may have each bare LF turned into CR LF (`-C`), then, with a password,
//! be sealed into records; inbound, the socket's bytes go to stdout unchanged or, with a password,
//! through the handshake and then out of their records. The event loop only moves bytes between
//! the descriptors and this layer's two buffers ([`Layer::outgoing`], [`Layer::incoming`],
//! [`Layer::stdout_bytes`]); it does not know what the layer does to them on the way.
//!
//! Every conversion happens in place: stdin is read straight into the spot where its record's
//! payload goes, and each record is decrypted so that its payload lands right after the previous
//! one's in the socket buffer, so stdout is written from where the socket read went.
//!
//! Before a password handshake is complete both buffers are a few hundred bytes: a stranger who
//! never authenticates costs almost nothing. They grow to their working size once it is.
//!
//! The rooms: this file ([`Layer`]: `-C` and the password mode's records on the way out, the
//! handshake and the records on the way in), `inbound.rs` (the socket-to-stdout buffer,
//! decrypted in place) and `crlf.rs` (`-C`'s conversion).

mod crlf;
mod heartbeat;
mod inbound;

use std::fmt;
use std::io::{self, IoSliceMut};

use crate::buffer::Buffer;
use crate::secure::{
    self, Channel, CipherChoice, CloseReason, Content, Handshake, Role, SecureError,
};

use crlf::expand_bare_lf;
pub use inbound::Inbound;

/// Plain mode's buffer from the socket: few system calls per megabyte, yet the whole process
/// stays within a few MiB.
const BUFFER_SIZE: usize = 128 * 1024;
/// Plain mode's buffer towards the socket, larger: what the kernel cannot splice or sendfile
/// (a terminal, a socket, a character device; a pipe where splice is refused) is read through
/// it, and a stdin pipe read through it ran 11% faster at 512 KiB than at 128 KiB (medians of 8
/// runs; stdin pipes are spliced now, see `zerocopy`). Its pages are touched only as it fills.
const PLAIN_OUTBOUND_SIZE: usize = 512 * 1024;
/// Password mode's working buffers, each way, in whole records: one wakeup reads and seals
/// several records and sends them in one write, and one socket read takes several records to open
/// and write out at once. On loopback most of the sender's time beyond the cipher goes to waking
/// the receiver, so the fewer, larger reads of a larger buffer pay: 8 records (512 KiB) measured
/// 1.3x the throughput of 2 with a fifth less CPU at the sender; 12 and 16 measured no better
/// (within the noise of a shared machine), and each end stays near 3 MiB resident.
const SECURE_BUFFER_RECORDS: usize = 8;
/// The size of [`SECURE_BUFFER_RECORDS`] whole records.
const SECURE_BUFFER_SIZE: usize = SECURE_BUFFER_RECORDS * secure::MAX_RECORD;
/// The buffers during a password handshake: HELLO, CONFIRM and READY fit with room to spare.
const HANDSHAKE_BUFFER_SIZE: usize = 256;

/// How the layer failed. The relay picks its exit status from the variant alone.
#[derive(Debug)]
pub enum LayerError {
    /// Reading stdin failed (including `WouldBlock`, which the caller treats as "not now").
    Read(io::Error),
    /// The handshake failed; [`SecureError::is_guess`] says whether it was a password guess.
    Handshake(SecureError),
    /// Sealing a record failed (the record counter is exhausted).
    Seal(SecureError),
    /// A record from the peer failed, or the peer's stream did not end cleanly.
    Open(SecureError),
}

impl LayerError {
    /// The secure channel's error, for every variant but `Read`.
    pub fn secure(&self) -> Option<&SecureError> {
        match self {
            LayerError::Read(_) => None,
            LayerError::Handshake(err) | LayerError::Seal(err) | LayerError::Open(err) => Some(err),
        }
    }

    /// True for a real password guess (see [`SecureError::is_guess`]).
    pub fn is_guess(&self) -> bool {
        self.secure().is_some_and(SecureError::is_guess)
    }
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Read(err) => err.fmt(f),
            LayerError::Handshake(err) | LayerError::Seal(err) | LayerError::Open(err) => {
                err.fmt(f)
            }
        }
    }
}

impl std::error::Error for LayerError {}

/// A direction of the byte flow, for [`Layer::passthrough`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// stdin to the socket.
    Outbound,
    /// The socket to stdout.
    Inbound,
}

/// The transformations applied to one session's bytes, and the buffers they happen in.
pub struct Layer {
    /// `-C`: whether the last byte read from stdin was a CR, so that its LF stays alone.
    crlf: Option<bool>,
    /// stdin's bytes (and handshake messages) on their way to the socket.
    outbound: Buffer,
    /// How many of the last bytes queued are heartbeats (queued after the last data).
    heartbeat_tail: usize,
    inbound: Inbound,
    secure: Option<Secure>,
}

/// The password mode's state for one session.
enum Secure {
    Handshaking(Box<Handshake>),
    Open(Box<Channel>),
}

impl Layer {
    /// No password: bytes pass unchanged (but for `-C`).
    pub fn plain(crlf: bool) -> Layer {
        Layer {
            crlf: crlf.then_some(false),
            outbound: Buffer::new(PLAIN_OUTBOUND_SIZE),
            heartbeat_tail: 0,
            inbound: Inbound::new(BUFFER_SIZE, false),
            secure: None,
        }
    }

    /// Starts the handshake as `role`, offering the ciphers of `choice`, queueing our HELLO for
    /// the socket.
    pub fn secure(crlf: bool, role: Role, password: &[u8], choice: CipherChoice) -> Layer {
        let mut hello = Vec::new();
        let handshake = Handshake::offering(role, password, choice, &mut hello);
        let mut outbound = Buffer::new(HANDSHAKE_BUFFER_SIZE);
        outbound.extend(&hello);
        Layer {
            crlf: crlf.then_some(false),
            outbound,
            heartbeat_tail: 0,
            inbound: Inbound::new(HANDSHAKE_BUFFER_SIZE, true),
            secure: Some(Secure::Handshaking(Box::new(handshake))),
        }
    }

    /// True when bytes in `flow` pass unchanged, so that they may move inside the kernel.
    pub fn passthrough(&self, flow: Flow) -> bool {
        self.secure.is_none()
            && match flow {
                Flow::Outbound => self.crlf.is_none(),
                Flow::Inbound => true,
            }
    }

    /// True once stdin and stdout may flow: at once in plain mode, once the handshake is complete
    /// in password mode.
    pub fn is_open(&self) -> bool {
        !matches!(self.secure, Some(Secure::Handshaking(_)))
    }

    /// The cipher of the password channel, once open.
    pub fn cipher(&self) -> Option<secure::Cipher> {
        match &self.secure {
            Some(Secure::Open(channel)) => Some(channel.cipher),
            _ => None,
        }
    }

    /// Bytes waiting for the socket: write from `filled()`, then `consume` what was written.
    pub fn outgoing(&mut self) -> &mut Buffer {
        &mut self.outbound
    }

    /// Where socket reads go.
    pub fn incoming(&mut self) -> &mut Inbound {
        &mut self.inbound
    }

    /// What a record adds around its payload.
    fn overhead(&self) -> usize {
        if self.is_secure() {
            secure::OVERHEAD
        } else {
            0
        }
    }

    /// True when the socket buffer has room for one more read of stdin. In password mode that is
    /// room for a whole record unless nothing waits: a stream is sealed in full records, not in
    /// whatever sliver the socket left free.
    pub fn outbound_has_room(&self) -> bool {
        let needed = match self.secure {
            Some(_) if !self.outbound.is_empty() => secure::MAX_RECORD,
            _ => self.overhead() + if self.crlf.is_some() { 2 } else { 1 },
        };
        self.is_open() && self.outbound.room() >= needed
    }

    /// Reads once from stdin through `read` into the socket buffer, converted for the wire.
    /// `read` gets one slice to fill, or, in password mode without `-C`, the payload spot of every
    /// whole record that fits, filled in order by one readv(2): a system call per 512 KiB of a
    /// fast stdin instead of one per 64 KiB record, which took 4-6% off the sender's CPU time
    /// for a cached 1 GiB file with either cipher. Returns how many bytes `read` gave (0 at end
    /// of input). Call only when [`Layer::outbound_has_room`].
    pub fn fill_outbound(
        &mut self,
        read: impl FnOnce(&mut [IoSliceMut<'_>]) -> io::Result<usize>,
    ) -> Result<usize, LayerError> {
        debug_assert!(self.is_open(), "stdin read before the channel is up");
        let overhead = self.overhead();
        let start = if self.is_secure() {
            secure::DATA_OFFSET
        } else {
            0
        };
        let window = self.outbound.spare();
        let n = match (&self.secure, &self.crlf) {
            // (The guard holds whenever `outbound_has_room` does, but a readv with no slot at
            // all would read 0 bytes, which means the end of input.)
            (Some(_), None) if window.len() >= secure::MAX_RECORD => {
                let mut payloads: [IoSliceMut<'_>; SECURE_BUFFER_RECORDS] =
                    std::array::from_fn(|_| IoSliceMut::new(&mut []));
                let mut slots = 0;
                for (payload, record) in payloads
                    .iter_mut()
                    .zip(window.chunks_exact_mut(secure::MAX_RECORD))
                {
                    *payload = IoSliceMut::new(&mut record[start..start + secure::MAX_PAYLOAD]);
                    slots += 1;
                }
                read(&mut payloads[..slots])
            }
            _ => {
                let mut limit = window.len().saturating_sub(overhead);
                if self.secure.is_some() {
                    limit = limit.min(secure::MAX_PAYLOAD);
                }
                if self.crlf.is_some() {
                    // Every byte read may double, so read at most half the room.
                    limit /= 2;
                }
                read(&mut [IoSliceMut::new(&mut window[start..start + limit])])
            }
        }
        .map_err(LayerError::Read)?;
        if n == 0 {
            return Ok(0);
        }
        let len = match &mut self.crlf {
            Some(after_cr) => expand_bare_lf(&mut window[start..], n, after_cr),
            None => n,
        };
        let queued = match &mut self.secure {
            Some(Secure::Open(channel)) => {
                // The payload spots were filled in order, so every record but the last is full
                // and the records lie end to end.
                let mut queued = 0;
                for at in (0..len).step_by(secure::MAX_PAYLOAD) {
                    let record = queued..queued + (len - at).min(secure::MAX_PAYLOAD) + overhead;
                    queued = record.end;
                    channel
                        .sealer
                        .seal_data(&mut window[record])
                        .map_err(LayerError::Seal)?;
                }
                queued
            }
            // Only reachable if the caller ignored `outbound_has_room`: send nothing unsealed.
            Some(Secure::Handshaking(_)) => return Err(LayerError::Seal(SecureError::Stalled)),
            None => len,
        };
        self.outbound.commit(queued);
        self.heartbeat_tail = 0;
        Ok(n)
    }

    /// Queues the end of our stream (the authenticated CLOSE with `reason`, where the mode has
    /// one) behind everything else. Returns false when there is no room yet: call again after the
    /// socket took some bytes.
    pub fn close_outbound(&mut self, reason: CloseReason) -> Result<bool, LayerError> {
        self.answer_ping()?;
        let Some(Secure::Open(channel)) = &mut self.secure else {
            return Ok(true);
        };
        if self.outbound.room() < secure::CLOSE_LEN {
            return Ok(false);
        }
        let record = &mut self.outbound.spare()[..secure::CLOSE_LEN];
        channel
            .sealer
            .seal_close(reason, record)
            .map_err(LayerError::Seal)?;
        self.outbound.commit(secure::CLOSE_LEN);
        self.heartbeat_tail = 0;
        Ok(true)
    }

    /// Turns the bytes read from the socket into plaintext for stdout, or feeds them to the
    /// handshake (whose answers go to [`Layer::outgoing`]). Returns true if anything moved.
    /// Authentic records before a damaged one are delivered first; the error comes with the next
    /// call.
    pub fn decode(&mut self) -> Result<bool, LayerError> {
        match &mut self.secure {
            None => Ok(false),
            Some(Secure::Handshaking(handshake)) => {
                let mut answer = Vec::new();
                let received = handshake.receive(self.inbound.raw(), &mut answer);
                // What the handshake sends goes out even when it fails.
                self.outbound.extend(&answer);
                let used = received.map_err(LayerError::Handshake)?;
                self.inbound.skip_raw(used);
                if let Some(channel) = handshake.take_channel() {
                    self.open(channel);
                }
                Ok(used > 0)
            }
            Some(Secure::Open(channel)) => {
                let mut progress = false;
                loop {
                    let (buf, to, from) = self.inbound.opening_window();
                    match channel.opener.open_within(buf, to, from) {
                        Ok(None) => break,
                        Ok(Some(opened)) => {
                            let payload = match opened.content {
                                Content::Data(n) => n,
                                Content::Close(_) | Content::Ready | Content::Heartbeat(_) => 0,
                            };
                            self.inbound.opened(opened.consumed, payload);
                            progress = true;
                        }
                        Err(_) if progress => break,
                        Err(err) => return Err(LayerError::Open(err)),
                    }
                }
                self.answer_ping()?;
                Ok(progress)
            }
        }
    }

    /// The handshake is complete: the channel replaces it and the buffers take their working size.
    fn open(&mut self, channel: Channel) {
        self.secure = Some(Secure::Open(Box::new(channel)));
        let mut outbound = Buffer::new(SECURE_BUFFER_SIZE);
        outbound.extend(self.outbound.filled());
        self.outbound = outbound;
        self.inbound.grow(SECURE_BUFFER_SIZE);
    }

    /// Listener: true when the connector's complete CONFIRM_C waits to be checked. The relay
    /// calls [`Layer::check_confirm`] when its guess rate limit allows.
    pub fn confirm_waiting(&self) -> bool {
        matches!(&self.secure, Some(Secure::Handshaking(handshake)) if handshake.confirm_waiting())
    }

    /// Listener: checks the waiting CONFIRM_C and queues the answer (CONFIRM_L, or REJECT with an
    /// error that [`LayerError::is_guess`]). Call [`Layer::decode`] after it.
    pub fn check_confirm(&mut self) -> Result<(), LayerError> {
        let Some(Secure::Handshaking(handshake)) = &mut self.secure else {
            return Ok(());
        };
        let mut answer = Vec::new();
        let checked = handshake.check_confirm(&mut answer);
        self.outbound.extend(&answer);
        checked.map_err(LayerError::Handshake)
    }

    /// Plaintext ready for stdout.
    pub fn stdout_bytes(&self) -> &[u8] {
        self.inbound.plaintext()
    }

    /// Marks `n` bytes of [`Layer::stdout_bytes`] as written.
    pub fn stdout_consumed(&mut self, n: usize) {
        self.inbound.consume_plaintext(n);
    }

    /// True in password mode: the peer is tete, speaking records, whose CLOSE record is the
    /// end of stream (no FIN is needed after it).
    pub fn is_secure(&self) -> bool {
        self.secure.is_some()
    }

    /// True once the peer's authenticated CLOSE record has been opened: its end of stream.
    pub fn peer_closed(&self) -> bool {
        matches!(&self.secure, Some(Secure::Open(channel)) if channel.opener.closed().is_some())
    }

    /// Checks, at the peer's end of stream (its CLOSE record, or the socket's end), once
    /// everything before it was decoded, that the peer ended cleanly; returns why it ended.
    pub fn finish_inbound(&self) -> Result<CloseReason, LayerError> {
        match &self.secure {
            None => Ok(CloseReason::EndOfInput),
            Some(Secure::Handshaking(handshake)) => {
                Err(LayerError::Handshake(handshake.peer_ended()))
            }
            Some(Secure::Open(channel)) => channel
                .opener
                .finish(self.inbound.raw().len())
                .map_err(LayerError::Open),
        }
    }
}

#[cfg(test)]
mod tests;
