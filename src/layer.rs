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

use std::fmt;
use std::io::{self, IoSliceMut};

use crate::buffer::Buffer;
use crate::secure::{self, Beat, Channel, CloseReason, Content, Handshake, Role, SecureError};

/// Plain mode's buffer from the socket: few system calls per megabyte, yet the whole process
/// stays within a few MiB.
const BUFFER_SIZE: usize = 128 * 1024;
/// Plain mode's buffer towards the socket, larger: a stdin pipe is read through it (splicing
/// the pipe measured slower, see `zerocopy`), and a pipe -> pipe transfer ran 11% faster with it
/// at 512 KiB than at 128 KiB (medians of 8 runs). Its pages are touched only as it fills.
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
            inbound: Inbound::new(BUFFER_SIZE, false),
            secure: None,
        }
    }

    /// Starts the handshake as `role`, queueing our HELLO for the socket.
    pub fn secure(crlf: bool, role: Role, password: &[u8]) -> Layer {
        let mut hello = Vec::new();
        let handshake = Handshake::new(role, password, &mut hello);
        let mut outbound = Buffer::new(HANDSHAKE_BUFFER_SIZE);
        outbound.extend(&hello);
        Layer {
            crlf: crlf.then_some(false),
            outbound,
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

    /// Queues the pong a peer's ping is owed, if it may go and there is room for it (else it
    /// waits for the next call, still owed: a flood of pings owes one pong).
    fn answer_ping(&mut self) -> Result<(), LayerError> {
        let Some(Secure::Open(channel)) = &mut self.secure else {
            return Ok(());
        };
        if !channel.pong_due() || self.outbound.room() < secure::HEARTBEAT_LEN {
            return Ok(());
        }
        let record = &mut self.outbound.spare()[..secure::HEARTBEAT_LEN];
        if channel
            .seal_heartbeat(Beat::Pong, record)
            .map_err(LayerError::Seal)?
        {
            self.outbound.commit(secure::HEARTBEAT_LEN);
        }
        Ok(())
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

/// The socket-to-stdout buffer. `data[head..plain_end]` is plaintext for stdout,
/// `data[plain_end..raw_start]` is spent record framing, `data[raw_start..tail]` is what the
/// socket gave that is not decoded yet, `data[tail..]` is free. In plain mode all three
/// boundaries but `head` move together.
pub struct Inbound {
    data: Box<[u8]>,
    head: usize,
    plain_end: usize,
    raw_start: usize,
    tail: usize,
    /// Password mode: bytes are raw until decoded.
    decodes: bool,
}

impl Inbound {
    fn new(capacity: usize, decodes: bool) -> Inbound {
        Inbound {
            data: vec![0; capacity].into_boxed_slice(),
            head: 0,
            plain_end: 0,
            raw_start: 0,
            tail: 0,
            decodes,
        }
    }

    /// How many bytes reads could add before [`Inbound::spare`] is empty, counting the room that
    /// compacting would free when it may compact.
    pub fn room(&self) -> usize {
        if self.may_compact() {
            self.data.len() - self.waiting()
        } else {
            self.data.len() - self.tail
        }
    }

    /// The free space at the end for the next socket read. The waiting bytes move to the front
    /// first when less than half the buffer or a whole record, whichever is less, is free at the
    /// end, and they are no more than a record: a large password-mode buffer is read into to
    /// within a record of its end, its records are opened and written out, and only the
    /// unfinished record left over is moved, so moving costs little per byte received.
    pub fn spare(&mut self) -> &mut [u8] {
        let enough = (self.data.len() / 2).min(secure::MAX_RECORD);
        if self.data.len() - self.tail < enough && self.may_compact() {
            self.compact();
        }
        &mut self.data[self.tail..]
    }

    /// The bytes that compacting moves: plaintext not yet written and raw bytes not yet decoded.
    fn waiting(&self) -> usize {
        (self.plain_end - self.head) + (self.tail - self.raw_start)
    }

    /// True when compacting would move at most a record. More means whole records wait to be
    /// opened or written out, which frees the buffer's front without moving them.
    fn may_compact(&self) -> bool {
        self.waiting() <= secure::MAX_RECORD
    }

    /// Marks `n` bytes read into [`Inbound::spare`] as received.
    pub fn commit(&mut self, n: usize) {
        debug_assert!(self.tail + n <= self.data.len(), "commit beyond the buffer");
        self.tail = (self.tail + n).min(self.data.len());
        if !self.decodes {
            self.plain_end = self.tail;
            self.raw_start = self.tail;
        }
    }

    fn compact(&mut self) {
        let plain = self.plain_end - self.head;
        let raw = self.tail - self.raw_start;
        self.data.copy_within(self.head..self.plain_end, 0);
        self.data.copy_within(self.raw_start..self.tail, plain);
        self.head = 0;
        self.plain_end = plain;
        self.raw_start = plain;
        self.tail = plain + raw;
    }

    fn grow(&mut self, capacity: usize) {
        if capacity <= self.data.len() {
            return;
        }
        self.compact();
        let mut data = vec![0; capacity].into_boxed_slice();
        data[..self.tail].copy_from_slice(&self.data[..self.tail]);
        self.data = data;
    }

    fn raw(&self) -> &[u8] {
        &self.data[self.raw_start..self.tail]
    }

    /// Drops `n` raw bytes the handshake took.
    fn skip_raw(&mut self, n: usize) {
        self.raw_start += n;
        self.collapse();
    }

    /// The buffer with where the next payload goes and where the next raw record starts.
    fn opening_window(&mut self) -> (&mut [u8], usize, usize) {
        (&mut self.data[..self.tail], self.plain_end, self.raw_start)
    }

    /// A record of `consumed` raw bytes opened into `payload` bytes of plaintext.
    fn opened(&mut self, consumed: usize, payload: usize) {
        self.raw_start += consumed;
        self.plain_end += payload;
        self.collapse();
    }

    fn plaintext(&self) -> &[u8] {
        &self.data[self.head..self.plain_end]
    }

    fn consume_plaintext(&mut self, n: usize) {
        debug_assert!(
            self.head + n <= self.plain_end,
            "consume beyond the plaintext"
        );
        self.head = (self.head + n).min(self.plain_end);
        self.collapse();
    }

    /// Once all plaintext is written, the spent framing before the raw bytes is free again.
    fn collapse(&mut self) {
        if self.head == self.plain_end {
            self.head = self.raw_start;
            self.plain_end = self.raw_start;
        }
        if self.head == self.tail {
            (self.head, self.plain_end, self.raw_start, self.tail) = (0, 0, 0, 0);
        }
    }
}

/// Turns each LF in `buf[..n]` that does not follow a CR into CR LF, in place; `buf` has room for
/// the growth. `after_cr` says whether the byte before `buf[0]` (the end of the previous read) was
/// a CR, and is updated for the next read. Returns the new length.
fn expand_bare_lf(buf: &mut [u8], n: usize, after_cr: &mut bool) -> usize {
    let follows_cr = |buf: &[u8], at: usize| {
        if at == 0 {
            *after_cr
        } else {
            buf[at - 1] == b'\r'
        }
    };
    let bare = memchr::memchr_iter(b'\n', &buf[..n])
        .filter(|&at| !follows_cr(buf, at))
        .count();
    let last = buf[..n].last().copied();
    // From the end: each segment moves right by the number of bare LFs before it.
    let mut end = n;
    let mut shift = bare;
    while shift > 0 {
        let Some(at) = memchr::memrchr_iter(b'\n', &buf[..end]).find(|&at| !follows_cr(buf, at))
        else {
            break;
        };
        buf.copy_within(at..end, at + shift);
        buf[at + shift - 1] = b'\r';
        shift -= 1;
        end = at;
    }
    if let Some(last) = last {
        *after_cr = last == b'\r';
    }
    n + bare
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `reads` through the conversion one read at a time; returns what comes out.
    fn convert(reads: &[&[u8]]) -> Vec<u8> {
        let mut after_cr = false;
        let mut out = Vec::new();
        for read in reads {
            let mut buf = read.to_vec();
            buf.resize(2 * read.len(), 0);
            let len = expand_bare_lf(&mut buf, read.len(), &mut after_cr);
            out.extend_from_slice(&buf[..len]);
        }
        out
    }

    #[test]
    fn crlf_expands_only_bare_newlines() {
        assert_eq!(convert(&[b"a\r\nb\nc"]), b"a\r\nb\r\nc");
        assert_eq!(convert(&[b"a\nb\n\n"]), b"a\r\nb\r\n\r\n");
        assert_eq!(convert(&[b"\n\r\n\r\r\n\n"]), b"\r\n\r\n\r\r\n\r\n");
        assert_eq!(convert(&[b"no newline"]), b"no newline");
    }

    #[test]
    fn crlf_remembers_a_cr_across_reads() {
        assert_eq!(convert(&[b"a\r", b"\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(convert(&[b"a", b"\n"]), b"a\r\n");
        assert_eq!(convert(&[b"\r", b"x", b"\n"]), b"\rx\r\n");
    }

    #[test]
    fn plain_inbound_is_stdout() {
        let mut layer = Layer::plain(false);
        assert!(layer.passthrough(Flow::Outbound) && layer.passthrough(Flow::Inbound));
        let inbound = layer.incoming();
        inbound.spare()[..5].copy_from_slice(b"hello");
        inbound.commit(5);
        assert!(!layer.decode().unwrap());
        assert_eq!(layer.stdout_bytes(), b"hello");
        layer.stdout_consumed(5);
        assert!(layer.stdout_bytes().is_empty());
        assert_eq!(layer.finish_inbound().unwrap(), CloseReason::EndOfInput);
        assert!(!Layer::plain(true).passthrough(Flow::Outbound));
    }

    /// Moves every byte waiting in `from`'s socket buffer to `to`'s, `chunk` at a time, decoding.
    fn carry(from: &mut Layer, to: &mut Layer, chunk: usize) -> Result<bool, LayerError> {
        let mut moved = false;
        loop {
            let out = from.outgoing();
            let n = out.len().min(chunk).min(to.incoming().spare().len());
            if n == 0 {
                return Ok(moved);
            }
            to.incoming().spare()[..n].copy_from_slice(&out.filled()[..n]);
            from.outgoing().consume(n);
            to.incoming().commit(n);
            to.decode()?;
            if to.confirm_waiting() {
                to.check_confirm()?;
                to.decode()?;
            }
            moved = true;
        }
    }

    fn connected_pair(password_l: &[u8]) -> (Layer, Layer, Result<(), LayerError>) {
        let mut c = Layer::secure(false, Role::Connector, b"pw");
        let mut l = Layer::secure(true, Role::Listener, password_l);
        let result = (|| {
            while carry(&mut c, &mut l, 7)? | carry(&mut l, &mut c, 7)? {}
            Ok(())
        })();
        (c, l, result)
    }

    #[test]
    fn secure_layers_handshake_then_carry_records_in_place() {
        let (mut c, mut l, result) = connected_pair(b"pw");
        result.unwrap();
        assert!(c.is_open() && l.is_open());
        assert!(!c.passthrough(Flow::Inbound) && !c.passthrough(Flow::Outbound));
        assert_eq!(c.cipher(), l.cipher());
        // Listener (with -C) to connector, in two reads and two records.
        for piece in [&b"one\r"[..], b"\ntwo\n"] {
            assert!(l.outbound_has_room());
            let n = l.fill_outbound(stdin_of(piece)).unwrap();
            assert_eq!(n, piece.len());
        }
        assert!(l.close_outbound(CloseReason::Interrupted).unwrap());
        carry(&mut l, &mut c, 5).unwrap();
        assert_eq!(c.stdout_bytes(), b"one\r\ntwo\r\n");
        c.stdout_consumed(4);
        assert_eq!(c.stdout_bytes(), b"\ntwo\r\n");
        assert_eq!(c.finish_inbound().unwrap(), CloseReason::Interrupted);
    }

    /// A stdin read that gives `bytes` (as much as fits).
    fn stdin_of(bytes: &[u8]) -> impl FnOnce(&mut [IoSliceMut<'_>]) -> io::Result<usize> {
        move |bufs| io::Read::read_vectored(&mut &*bytes, bufs)
    }

    /// Sends `pieces` from `from` as one record each, then delivers them to `to` in one read.
    fn send_records(from: &mut Layer, pieces: &[&[u8]]) -> Vec<u8> {
        for piece in pieces {
            from.fill_outbound(stdin_of(piece)).unwrap();
        }
        let wire = from.outgoing().filled().to_vec();
        let queued = from.outgoing().len();
        from.outgoing().consume(queued);
        wire
    }

    fn deliver(to: &mut Layer, wire: &[u8]) -> Result<bool, LayerError> {
        let inbound = to.incoming();
        inbound.spare()[..wire.len()].copy_from_slice(wire);
        inbound.commit(wire.len());
        to.decode()
    }

    /// Pings from `from`'s channel, sealed straight into its socket buffer (the relay decides
    /// when a ping is due, not the layer).
    fn ping(from: &mut Layer, count: usize) -> Vec<u8> {
        let Some(Secure::Open(channel)) = &mut from.secure else {
            panic!("the channel is not open");
        };
        let mut wire = Vec::new();
        for _ in 0..count {
            let mut record = [0; secure::HEARTBEAT_LEN];
            assert!(channel.seal_heartbeat(Beat::Ping, &mut record).unwrap());
            wire.extend_from_slice(&record);
        }
        wire
    }

    /// The peer's ping is answered by a pong in the socket buffer, one for a flood of them,
    /// ahead of our CLOSE; the pong reaches the peer as nothing for its stdout.
    #[test]
    fn a_ping_is_answered_with_one_pong() {
        let (mut c, mut l, result) = connected_pair(b"pw");
        result.unwrap();
        assert!(l.outgoing().is_empty());
        let wire = ping(&mut c, 500);
        deliver(&mut l, &wire).unwrap();
        assert!(l.stdout_bytes().is_empty());
        assert_eq!(
            l.outgoing().len(),
            secure::HEARTBEAT_LEN,
            "one pong for all"
        );
        l.decode().unwrap();
        assert_eq!(l.outgoing().len(), secure::HEARTBEAT_LEN, "owed once");
        carry(&mut l, &mut c, usize::MAX).unwrap();
        assert!(c.stdout_bytes().is_empty());
        assert!(c.outgoing().is_empty(), "a pong is not answered");

        // Our CLOSE is out: a ping after it goes unanswered.
        assert!(l.close_outbound(CloseReason::EndOfInput).unwrap());
        assert_eq!(l.outgoing().len(), secure::CLOSE_LEN);
        let wire = ping(&mut c, 1);
        deliver(&mut l, &wire).unwrap();
        assert_eq!(
            l.outgoing().len(),
            secure::CLOSE_LEN,
            "nothing after our CLOSE, not even a pong"
        );
    }

    #[test]
    fn records_of_one_read_become_one_run_of_plaintext() {
        let (mut c, mut l, result) = connected_pair(b"pw");
        result.unwrap();
        let mut wire = send_records(&mut c, &[b"one ", b"two ", b"three"]);
        assert!(deliver(&mut l, &wire).unwrap());
        assert_eq!(l.stdout_bytes(), b"one two three");
        // Half written, then the next records land right after what is left.
        l.stdout_consumed(8);
        wire = send_records(&mut c, &[b" four", b" five"]);
        let (first, second) = wire.split_at(7);
        deliver(&mut l, first).unwrap();
        assert_eq!(l.stdout_bytes(), b"three");
        deliver(&mut l, second).unwrap();
        assert_eq!(l.stdout_bytes(), b"three four five");
        l.stdout_consumed(15);
        // A damaged record after two good ones: the good ones first, then the error.
        wire = send_records(&mut c, &[b"good ", b"good ", b"bad"]);
        *wire.last_mut().unwrap() ^= 1;
        assert!(deliver(&mut l, &wire).unwrap());
        assert_eq!(l.stdout_bytes(), b"good good ");
        let err = l.decode().unwrap_err();
        assert!(
            matches!(err, LayerError::Open(SecureError::Tampered)),
            "{err:?}"
        );
        assert_eq!(l.stdout_bytes(), b"good good ");
    }

    #[test]
    fn a_full_stream_is_sealed_in_whole_records_that_fill_the_buffer() {
        let (mut c, mut l, result) = connected_pair(b"pw");
        result.unwrap();
        // One read is offered every record's payload spot, and fills them all.
        let stream = vec![b'x'; SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD + 1];
        let n = c.fill_outbound(stdin_of(&stream)).unwrap();
        assert_eq!(n, SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD);
        assert!(!c.outbound_has_room());
        assert_eq!(c.outgoing().len(), SECURE_BUFFER_SIZE);
        // Room for less than a whole record is no room: no sliver of a record is sealed.
        let mut sent = 0;
        for (n, room) in [(secure::MAX_RECORD - 1, false), (1, true)] {
            let wire = c.outgoing().filled()[..n].to_vec();
            c.outgoing().consume(n);
            deliver(&mut l, &wire).unwrap();
            sent += n;
            assert_eq!(c.outbound_has_room(), room, "after {sent} bytes sent");
        }
        // The rest arrives in reads that split records; all of it opens into one run.
        carry(&mut c, &mut l, 100_000).unwrap();
        let expected = SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD;
        assert_eq!(l.stdout_bytes().len(), expected);
        assert!(l.stdout_bytes().iter().all(|&b| b == b'x'));
    }

    /// A read that ends inside the third payload spot gives two full records and a short one,
    /// end to end; with `-C` the read gets one spot, half a record long.
    #[test]
    fn one_read_fills_record_spots_in_order() {
        let (mut c, mut l, result) = connected_pair(b"pw");
        result.unwrap();
        let stream: Vec<u8> = (0..secure::MAX_PAYLOAD * 5 / 2)
            .map(|i| (i % 251) as u8)
            .collect();
        assert_eq!(c.fill_outbound(stdin_of(&stream)).unwrap(), stream.len());
        let short = secure::MAX_PAYLOAD / 2 + secure::OVERHEAD;
        assert_eq!(c.outgoing().len(), 2 * secure::MAX_RECORD + short);
        carry(&mut c, &mut l, 100_000).unwrap();
        assert!(l.stdout_bytes() == stream, "the stream arrives whole");

        let n = l.fill_outbound(stdin_of(&stream)).unwrap();
        assert_eq!(
            n,
            secure::MAX_PAYLOAD / 2,
            "-C reads at most half a payload"
        );
    }

    #[test]
    fn inbound_moves_only_an_unfinished_record_to_the_front() {
        let record = secure::MAX_RECORD;
        let mut inbound = Inbound::new(4 * record, true);
        let unfinished = 1000;
        let received = 3 * record + unfinished;
        inbound.spare()[..received].fill(7);
        inbound.commit(received);
        // One record opened and written out: two whole ones still wait, so nothing moves.
        inbound.opened(record, secure::MAX_PAYLOAD);
        inbound.consume_plaintext(secure::MAX_PAYLOAD);
        assert_eq!(inbound.room(), record - unfinished);
        assert_eq!(inbound.spare().len(), record - unfinished);
        // The other two opened and written out: the unfinished record moves, and only it.
        for _ in 0..2 {
            inbound.opened(record, secure::MAX_PAYLOAD);
            inbound.consume_plaintext(secure::MAX_PAYLOAD);
        }
        assert_eq!(inbound.room(), 4 * record - unfinished);
        assert_eq!(inbound.spare().len(), 4 * record - unfinished);
        assert_eq!(inbound.raw().len(), unfinished);
    }

    #[test]
    fn a_wrong_password_is_a_guess_on_the_listener_only() {
        let (_, l, result) = connected_pair(b"other");
        let err = result.unwrap_err();
        assert!(err.is_guess(), "{err:?}");
        assert!(!l.is_open());
        let mut c = Layer::secure(false, Role::Connector, b"pw");
        let mut l = Layer::secure(false, Role::Listener, b"other");
        carry(&mut c, &mut l, usize::MAX).unwrap();
        carry(&mut l, &mut c, usize::MAX).unwrap();
        assert!(carry(&mut c, &mut l, usize::MAX).unwrap_err().is_guess());
        assert_eq!(l.outgoing().filled(), [secure::REJECT]);
        carry(&mut l, &mut c, usize::MAX).unwrap();
        assert!(!c.is_open());
        let ended = c.finish_inbound().unwrap_err();
        assert!(!ended.is_guess());
        assert_eq!(ended.secure(), Some(&SecureError::Rejected));
    }
}
