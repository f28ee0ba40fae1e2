//! A fixed-size byte buffer: the only place bytes wait between a reader and a writer.
//!
//! Its size never changes, so memory stays bounded whatever the peers do: when a buffer is full
//! the event loop stops reading into it until its writer has drained some (backpressure).

/// Bytes `data[head..tail]` are waiting to be written; `data[tail..]` is free.
pub struct Buffer {
    data: Box<[u8]>,
    head: usize,
    tail: usize,
}

impl Buffer {
    pub fn new(capacity: usize) -> Buffer {
        Buffer {
            data: vec![0; capacity].into_boxed_slice(),
            head: 0,
            tail: 0,
        }
    }

    /// The bytes waiting to be written.
    pub fn filled(&self) -> &[u8] {
        &self.data[self.head..self.tail]
    }

    pub fn len(&self) -> usize {
        self.tail - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// How many bytes could be added, counting room that compacting would free.
    pub fn room(&self) -> usize {
        self.data.len() - self.len()
    }

    /// The free space at the end. Waiting bytes move to the front first when less than half the
    /// buffer is free at the end, so the result is at least `min(room(), capacity / 2)` long
    /// while a buffer drained in large writes rarely moves anything.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.data.len() - self.tail < self.data.len() / 2 {
            self.compact();
        }
        &mut self.data[self.tail..]
    }

    fn compact(&mut self) {
        if self.head > 0 {
            self.data.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
    }

    /// Marks `n` bytes written into `spare()` as waiting.
    pub fn commit(&mut self, n: usize) {
        debug_assert!(self.tail + n <= self.data.len(), "commit beyond the buffer");
        self.tail = (self.tail + n).min(self.data.len());
    }

    /// Drops `n` bytes from the front, once written.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(
            self.head + n <= self.tail,
            "consume beyond the bytes waiting"
        );
        self.head = (self.head + n).min(self.tail);
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Appends `bytes`; the caller has checked `room()`.
    pub fn extend(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= self.room(), "extend beyond the room");
        let n = bytes.len().min(self.room());
        if self.data.len() - self.tail < n {
            self.compact();
        }
        self.data[self.tail..self.tail + n].copy_from_slice(&bytes[..n]);
        self.commit(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_compacts_and_keeps_order() {
        let mut buf = Buffer::new(8);
        buf.extend(b"abcdef");
        buf.consume(4);
        assert_eq!(buf.room(), 6);
        assert_eq!(buf.spare().len(), 6);
        buf.extend(b"ghijkl");
        assert_eq!(buf.filled(), b"efghijkl");
        assert_eq!(buf.room(), 0);
    }
}
