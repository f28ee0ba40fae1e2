//! The socket-to-stdout buffer, in which records are decrypted in place.

use crate::secure;

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
    pub(super) fn new(capacity: usize, decodes: bool) -> Inbound {
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

    pub(super) fn grow(&mut self, capacity: usize) {
        if capacity <= self.data.len() {
            return;
        }
        self.compact();
        let mut data = vec![0; capacity].into_boxed_slice();
        data[..self.tail].copy_from_slice(&self.data[..self.tail]);
        self.data = data;
    }

    pub(super) fn raw(&self) -> &[u8] {
        &self.data[self.raw_start..self.tail]
    }

    /// Drops `n` raw bytes the handshake took.
    pub(super) fn skip_raw(&mut self, n: usize) {
        self.raw_start += n;
        self.collapse();
    }

    /// The buffer with where the next payload goes and where the next raw record starts.
    pub(super) fn opening_window(&mut self) -> (&mut [u8], usize, usize) {
        (&mut self.data[..self.tail], self.plain_end, self.raw_start)
    }

    /// A record of `consumed` raw bytes opened into `payload` bytes of plaintext.
    pub(super) fn opened(&mut self, consumed: usize, payload: usize) {
        self.raw_start += consumed;
        self.plain_end += payload;
        self.collapse();
    }

    pub(super) fn plaintext(&self) -> &[u8] {
        &self.data[self.head..self.plain_end]
    }

    pub(super) fn consume_plaintext(&mut self, n: usize) {
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
