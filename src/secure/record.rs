//! The record layer: one [`Sealer`] for our direction, one [`Opener`] for the peer's, each with its
//! own ChaCha20-Poly1305 key (ring) and its own record counter.
//!
//! A record on the wire:
//!
//! ```text
//! | L: u32 big-endian | type: 1 byte | payload: L - 17 bytes | tag: 16 bytes |
//!                     |<------- encrypted ------->|
//! ```
//!
//! L counts everything after the header (type + payload + tag). Type `0x00` is DATA (payload not
//! empty), `0x01` is CLOSE (payload empty). The nonce is 4 zero bytes then the record counter as a
//! u64 big-endian; it is never sent, so a dropped, replayed or reordered record is opened with the
//! wrong nonce and fails its tag. The AAD is the 4-byte header, so L cannot be altered either.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

use super::SecureError;

/// Length of the record header: L as a u32 big-endian.
pub const HEADER_LEN: usize = 4;
/// Where the payload starts inside a record: after the header and the type byte.
pub const DATA_OFFSET: usize = HEADER_LEN + 1;
/// Length of the Poly1305 tag that ends every record.
pub const TAG_LEN: usize = 16;
/// Bytes a record adds around its payload: header, type byte and tag.
pub const OVERHEAD: usize = DATA_OFFSET + TAG_LEN;
/// The largest DATA payload: 64 KiB, which makes the largest L exactly the design's cap of
/// 65,536 + 17.
pub const MAX_PAYLOAD: usize = 65536;
/// The largest whole record on the wire.
pub const MAX_RECORD: usize = OVERHEAD + MAX_PAYLOAD;

/// Smallest valid L: a CLOSE (type byte + tag).
const MIN_L: usize = 1 + TAG_LEN;
/// Largest valid L: a full DATA record.
const MAX_L: usize = 1 + MAX_PAYLOAD + TAG_LEN;

const TYPE_DATA: u8 = 0x00;
const TYPE_CLOSE: u8 = 0x01;

/// One direction's state: its key and the counter of the next record. (ring's `Debug` for the key
/// shows only the algorithm.)
#[derive(Clone, Debug)]
pub(super) struct Direction {
    key: LessSafeKey,
    pub(super) counter: u64,
}

impl Direction {
    fn new(key: &[u8; 32]) -> Self {
        // ring rejects only a key of the wrong length, which the array type rules out.
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).expect("ChaCha20 keys are 32 bytes");
        Direction {
            key: LessSafeKey::new(key),
            counter: 0,
        }
    }

    /// The nonce for the next record. The counter stops one short of u64::MAX so that it can
    /// never wrap to a nonce already used.
    fn next_nonce(&mut self) -> Result<Nonce, SecureError> {
        if self.counter == u64::MAX {
            return Err(SecureError::CounterExhausted);
        }
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// Our sending direction. Deliberately not `Clone`: two copies would reuse nonces.
#[derive(Debug)]
pub struct Sealer(pub(super) Direction);

impl Sealer {
    pub(super) fn new(key: &[u8; 32]) -> Self {
        Sealer(Direction::new(key))
    }

    /// Seals a DATA record in place. `record.len()` must be `OVERHEAD + n` with
    /// `1 <= n <= MAX_PAYLOAD`, and the payload must already sit at
    /// `record[DATA_OFFSET..DATA_OFFSET + n]` (the caller reads its input straight there).
    /// Writes the header and type byte, encrypts (AAD = header) and writes the tag.
    pub fn seal_data(&mut self, record: &mut [u8]) -> Result<(), SecureError> {
        if !(OVERHEAD + 1..=MAX_RECORD).contains(&record.len()) {
            return Err(SecureError::LengthOutOfRange);
        }
        self.seal(TYPE_DATA, record)
    }

    /// Writes the CLOSE record, which must be exactly `OVERHEAD` bytes.
    pub fn seal_close(&mut self, record: &mut [u8]) -> Result<(), SecureError> {
        if record.len() != OVERHEAD {
            return Err(SecureError::LengthOutOfRange);
        }
        self.seal(TYPE_CLOSE, record)
    }

    /// Seals any type; the callers above have checked the length is within MIN_L..=MAX_L.
    pub(super) fn seal(&mut self, kind: u8, record: &mut [u8]) -> Result<(), SecureError> {
        let nonce = self.0.next_nonce()?;
        let len =
            u32::try_from(record.len() - HEADER_LEN).map_err(|_| SecureError::LengthOutOfRange)?;
        let (header, body) = record.split_at_mut(HEADER_LEN);
        header.copy_from_slice(&len.to_be_bytes());
        body[0] = kind;
        let (plain, tag_out) = body.split_at_mut(body.len() - TAG_LEN);
        let tag = self
            .0
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&*header), plain)
            // ring fails only on inputs of hundreds of GiB.
            .map_err(|_| SecureError::LengthOutOfRange)?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(())
    }
}

/// The peer's sending direction. `Clone` is harmless here (opening never reuses a nonce for
/// encryption) and lets a fuzz target start many runs from one handshake.
#[derive(Clone, Debug)]
pub struct Opener {
    pub(super) dir: Direction,
    closed: bool,
    failed: Option<SecureError>,
}

impl Opener {
    pub(super) fn new(key: &[u8; 32]) -> Self {
        Opener {
            dir: Direction::new(key),
            closed: false,
            failed: None,
        }
    }

    /// Opens as many whole records from the front of `input` as fit into `out`; returns
    /// `(bytes consumed from input, plaintext bytes written to out)`.
    ///
    /// A partial record, or one whose payload does not fit in what is left of `out`, stays
    /// unconsumed; `out.len() >= MAX_PAYLOAD` always fits one. L is checked from the header alone,
    /// before waiting for the body. Records are decrypted in place in `input`, and a record is
    /// copied to `out` only after its tag verified. Any byte after CLOSE is an error. When a
    /// record fails after others opened in the same call, those are returned and the error
    /// comes with the next call.
    pub fn open(
        &mut self,
        input: &mut [u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), SecureError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let (used, written, result) = self.open_records(input, out);
        match result {
            Ok(()) => Ok((used, written)),
            Err(err) => {
                self.failed = Some(err.clone());
                // The authentic records before the damage are delivered; the error comes with
                // the next call, which finds the damaged record still at the front.
                if written > 0 {
                    Ok((used, written))
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Opens records until one is incomplete, does not fit, or fails; returns the bytes used
    /// and written by the records opened, and how it stopped.
    fn open_records(
        &mut self,
        input: &mut [u8],
        out: &mut [u8],
    ) -> (usize, usize, Result<(), SecureError>) {
        let (mut used, mut written) = (0, 0);
        let stopped = loop {
            let rest = &mut input[used..];
            if self.closed {
                break match rest.is_empty() {
                    true => Ok(()),
                    false => Err(SecureError::DataAfterEnd),
                };
            }
            let Some(&header) = rest.first_chunk::<HEADER_LEN>() else {
                break Ok(());
            };
            let len = u32::from_be_bytes(header) as usize;
            if !(MIN_L..=MAX_L).contains(&len) {
                break Err(SecureError::LengthOutOfRange);
            }
            let payload_len = len - MIN_L;
            if rest.len() < HEADER_LEN + len || out.len() - written < payload_len {
                break Ok(());
            }
            let body = &mut rest[HEADER_LEN..HEADER_LEN + len];
            let nonce = match self.dir.next_nonce() {
                Ok(nonce) => nonce,
                Err(err) => break Err(err),
            };
            let Ok(plain) = self.dir.key.open_in_place(nonce, Aad::from(header), body) else {
                break Err(SecureError::Tampered);
            };
            match (plain[0], payload_len) {
                (TYPE_DATA, 1..) => {
                    out[written..written + payload_len].copy_from_slice(&plain[1..]);
                    written += payload_len;
                }
                (TYPE_CLOSE, 0) => self.closed = true,
                _ => break Err(SecureError::MalformedRecord),
            }
            used += HEADER_LEN + len;
        };
        (used, written, stopped)
    }

    /// True once the CLOSE record has been opened.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Call at TCP EOF with the number of input bytes left unconsumed: `Ok(())` only if CLOSE
    /// arrived and nothing follows it.
    pub fn finish(&self, leftover: usize) -> Result<(), SecureError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match (self.closed, leftover) {
            (true, 0) => Ok(()),
            (true, _) => Err(SecureError::DataAfterEnd),
            (false, _) => Err(SecureError::Truncated),
        }
    }
}
