//! The record layer: one [`Sealer`] for our direction, one [`Opener`] for the peer's, each with its
//! own key, its own record counter and the cipher both HELLOs agreed on. The wire format is in the
//! module docs of [`crate::secure`].
//!
//! Both halves work in place: the sealer encrypts a payload where the caller read it, and the
//! opener decrypts a record so that its payload lands right after the previous record's, in the
//! same buffer (ring's `open_within` shifts while it decrypts), so the plaintext of several
//! records is one contiguous run that goes to stdout without a copy.
//!
//! Both ciphers come from ring. On the test machine (AVX-512, VAES) ring sealed 64 KiB records
//! at 8.4 GB/s with AES-256-GCM and 2.5 GB/s with ChaCha20-Poly1305; the system's OpenSSL 3.0
//! managed 4.5 and 3.8. Sealing ChaCha20-Poly1305 through OpenSSL was built and measured: the
//! forced-ChaCha transfer went from 1.37 to 1.56 GB/s (medians of 6 runs), but linking libssl and
//! libcrypto raised every tete's resident memory by 1.8 MiB (4.2 MiB idle, 4.9 MiB for a
//! password listener under a flood), past the 4 MiB a tete is held to, and added a C library to
//! the build. It was not kept.

use hkdf::Hkdf;
use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Cipher, CloseReason, SecureError};

/// Length of the record header: L as a u32 big-endian.
pub const HEADER_LEN: usize = 4;
/// Where the payload starts inside a record: right after the header.
pub const DATA_OFFSET: usize = HEADER_LEN;
/// Length of the tag that ends every record (both ciphers).
pub const TAG_LEN: usize = 16;
/// Bytes a record adds around its payload: header, type byte and tag.
pub const OVERHEAD: usize = HEADER_LEN + 1 + TAG_LEN;
/// The largest DATA payload: 64 KiB, so the largest L is 65,536 + 17.
pub const MAX_PAYLOAD: usize = 65536;
/// The largest whole record on the wire.
pub const MAX_RECORD: usize = OVERHEAD + MAX_PAYLOAD;
/// Length of a whole CLOSE record: its payload is the one reason byte.
pub const CLOSE_LEN: usize = OVERHEAD + 1;
/// Length of a whole READY record: no payload.
pub const READY_LEN: usize = OVERHEAD;
/// Length of a whole HEARTBEAT record: its payload is the one ping-or-pong byte.
pub const HEARTBEAT_LEN: usize = OVERHEAD + 1;
/// Records sealed under one key before the next key is derived from it.
pub const REKEY_INTERVAL: u64 = 1 << 20;

/// Smallest valid L: a READY (type byte + tag).
const MIN_L: usize = 1 + TAG_LEN;
/// Largest valid L: a full DATA record.
const MAX_L: usize = 1 + MAX_PAYLOAD + TAG_LEN;

const TYPE_DATA: u8 = 0x00;
const TYPE_CLOSE: u8 = 0x01;
const TYPE_READY: u8 = 0x02;
const TYPE_HEARTBEAT: u8 = 0x03;

const NEXT_KEY_LABEL: &[u8] = b"tete/2 next key";

impl Cipher {
    fn algorithm(self) -> &'static ring::aead::Algorithm {
        match self {
            Cipher::Aes256Gcm => &AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        }
    }
}

/// One direction's state: its cipher and key, the key's bytes (to derive the next one), and the
/// counter of the next record. (ring's `Debug` for the key shows only the algorithm.)
#[derive(Clone)]
pub(super) struct Direction {
    cipher: Cipher,
    secret: Zeroizing<[u8; 32]>,
    key: LessSafeKey,
    pub(super) counter: u64,
    /// [`REKEY_INTERVAL`], lowered by the tests.
    pub(super) rekey_interval: u64,
}

impl Direction {
    fn new(cipher: Cipher, secret: &[u8; 32]) -> Self {
        Direction {
            cipher,
            key: key_for(cipher, secret),
            secret: Zeroizing::new(*secret),
            counter: 0,
            rekey_interval: REKEY_INTERVAL,
        }
    }

    /// The nonce for the next record, after a rekey if the counter has reached the interval.
    /// The counter stops one short of u64::MAX so that it can never wrap to a nonce already used.
    fn next_nonce(&mut self) -> Result<Nonce, SecureError> {
        if self.counter == u64::MAX {
            return Err(SecureError::CounterExhausted);
        }
        if self.counter > 0 && self.counter.is_multiple_of(self.rekey_interval) {
            let mut next = Zeroizing::new([0u8; 32]);
            // A 32-byte key is a valid PRK for HKDF-SHA256, and 32 bytes a valid output length.
            Hkdf::<Sha256>::from_prk(&*self.secret)
                .expect("32 bytes is a valid HKDF-SHA256 PRK")
                .expand(NEXT_KEY_LABEL, &mut *next)
                .expect("32 bytes is a valid HKDF length");
            self.key = key_for(self.cipher, &next);
            self.secret = next;
        }
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

fn key_for(cipher: Cipher, secret: &[u8; 32]) -> LessSafeKey {
    // ring rejects only a key of the wrong length; both ciphers take 32 bytes.
    let key = UnboundKey::new(cipher.algorithm(), secret).expect("both ciphers take 32-byte keys");
    LessSafeKey::new(key)
}

impl std::fmt::Debug for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direction")
            .field("cipher", &self.cipher)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

/// What a HEARTBEAT record says: a ping asks for a pong; a pong answers and is never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    Ping,
    Pong,
}

impl Beat {
    fn byte(self) -> u8 {
        match self {
            Beat::Ping => 0x00,
            Beat::Pong => 0x01,
        }
    }

    fn from_byte(byte: u8) -> Option<Beat> {
        match byte {
            0x00 => Some(Beat::Ping),
            0x01 => Some(Beat::Pong),
            _ => None,
        }
    }
}

/// Our sending direction, and whether our CLOSE has been sealed (nothing may follow it).
/// Deliberately not `Clone`: two copies would reuse nonces.
#[derive(Debug)]
pub struct Sealer(pub(super) Direction, bool);

impl Sealer {
    pub(super) fn new(cipher: Cipher, key: &[u8; 32]) -> Self {
        Sealer(Direction::new(cipher, key), false)
    }

    /// True once our CLOSE record has been sealed.
    pub(super) fn is_closed(&self) -> bool {
        self.1
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

    /// Writes the CLOSE record with its reason into `record`, which must be [`CLOSE_LEN`] bytes.
    pub fn seal_close(
        &mut self,
        reason: CloseReason,
        record: &mut [u8],
    ) -> Result<(), SecureError> {
        if record.len() != CLOSE_LEN {
            return Err(SecureError::LengthOutOfRange);
        }
        record[DATA_OFFSET] = reason.byte();
        self.seal(TYPE_CLOSE, record)?;
        self.1 = true;
        Ok(())
    }

    /// Writes a HEARTBEAT record into `record`, which must be [`HEARTBEAT_LEN`] bytes. When
    /// one may go out is [`super::Channel`]'s business.
    pub(super) fn seal_heartbeat(
        &mut self,
        beat: Beat,
        record: &mut [u8],
    ) -> Result<(), SecureError> {
        if record.len() != HEARTBEAT_LEN {
            return Err(SecureError::LengthOutOfRange);
        }
        record[DATA_OFFSET] = beat.byte();
        self.seal(TYPE_HEARTBEAT, record)
    }

    /// Writes the READY record (the connector's first) into `record`, [`READY_LEN`] bytes.
    pub(super) fn seal_ready(&mut self, record: &mut [u8; READY_LEN]) -> Result<(), SecureError> {
        self.seal(TYPE_READY, record)
    }

    /// Seals any type; the callers above have checked the length is within MIN_L..=MAX_L.
    /// Nothing is sealed after CLOSE.
    pub(super) fn seal(&mut self, kind: u8, record: &mut [u8]) -> Result<(), SecureError> {
        if self.is_closed() {
            return Err(SecureError::DataAfterEnd);
        }
        let nonce = self.0.next_nonce()?;
        let len =
            u32::try_from(record.len() - HEADER_LEN).map_err(|_| SecureError::LengthOutOfRange)?;
        let (header, body) = record.split_at_mut(HEADER_LEN);
        header.copy_from_slice(&len.to_be_bytes());
        let (plain, tag_out) = body.split_at_mut(body.len() - TAG_LEN);
        if let Some(type_byte) = plain.last_mut() {
            *type_byte = kind;
        }
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

/// What an authentic record held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// DATA: this many payload bytes now sit where the caller asked.
    Data(usize),
    /// CLOSE: the peer's stream ended, for this reason.
    Close(CloseReason),
    /// READY: the connector's first record (only the listener's handshake sees it).
    Ready,
    /// HEARTBEAT (only when both HELLOs offered heartbeats): no bytes for stdout. A ping makes
    /// a pong owed ([`super::Channel::pong_due`]).
    Heartbeat(Beat),
}

/// One record opened by [`Opener::open_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Bytes of the raw record taken from the input.
    pub consumed: usize,
    pub content: Content,
}

/// The peer's sending direction. `Clone` is harmless here (opening never reuses a nonce for
/// encryption) and lets a fuzz target start many runs from one handshake.
#[derive(Clone, Debug)]
pub struct Opener {
    pub(super) dir: Direction,
    /// The first record must be READY (the listener's handshake); no later one may be.
    ready_first: bool,
    /// Both HELLOs offered heartbeats: HEARTBEAT records are allowed.
    pub(super) heartbeats: bool,
    /// A ping has come since our last pong: one pong answers every ping before it.
    pub(super) pong_owed: bool,
    closed: Option<CloseReason>,
    failed: Option<SecureError>,
}

impl Opener {
    pub(super) fn new(cipher: Cipher, key: &[u8; 32], ready_first: bool) -> Self {
        Opener {
            dir: Direction::new(cipher, key),
            ready_first,
            heartbeats: false,
            pong_owed: false,
            closed: None,
            failed: None,
        }
    }

    /// Opens the record that starts at `buf[from..]`, if it is all there, and moves its payload to
    /// `buf[to..]` while decrypting it (`to <= from`; the bytes in between are the caller's spent
    /// framing). Returns `Ok(None)` while the record is incomplete.
    ///
    /// L is checked from the header alone, before waiting for the body. Nothing of a record is
    /// reported before its tag verified (on failure the bytes at `to..` are garbage the caller
    /// must not use). Any byte after CLOSE is an error. Errors are final.
    pub fn open_within(
        &mut self,
        buf: &mut [u8],
        to: usize,
        from: usize,
    ) -> Result<Option<Opened>, SecureError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.open_one(buf, to, from);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn open_one(
        &mut self,
        buf: &mut [u8],
        to: usize,
        from: usize,
    ) -> Result<Option<Opened>, SecureError> {
        debug_assert!(to <= from && from <= buf.len());
        let rest = buf.get(from..).unwrap_or_default();
        if self.closed.is_some() {
            return match rest.is_empty() {
                true => Ok(None),
                false => Err(SecureError::DataAfterEnd),
            };
        }
        let Some(&header) = rest.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(header) as usize;
        if !(MIN_L..=MAX_L).contains(&len) {
            return Err(SecureError::LengthOutOfRange);
        }
        if rest.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let nonce = self.dir.next_nonce()?;
        let window = &mut buf[to..from + HEADER_LEN + len];
        let plain = self
            .dir
            .key
            .open_within(nonce, Aad::from(header), window, from - to + HEADER_LEN..)
            .map_err(|_| SecureError::Tampered)?;
        let (&kind, payload) = plain.split_last().ok_or(SecureError::MalformedRecord)?;
        let first = std::mem::replace(&mut self.ready_first, false);
        let content = match (kind, payload) {
            (TYPE_READY, []) if first => Content::Ready,
            (TYPE_DATA, [_, ..]) if !first => Content::Data(payload.len()),
            (TYPE_CLOSE, &[reason]) if !first => {
                let reason = CloseReason::from_byte(reason).ok_or(SecureError::MalformedRecord)?;
                self.closed = Some(reason);
                Content::Close(reason)
            }
            (TYPE_HEARTBEAT, &[beat]) if !first && self.heartbeats => {
                let beat = Beat::from_byte(beat).ok_or(SecureError::MalformedRecord)?;
                self.pong_owed |= beat == Beat::Ping;
                Content::Heartbeat(beat)
            }
            _ => return Err(SecureError::MalformedRecord),
        };
        Ok(Some(Opened {
            consumed: HEADER_LEN + len,
            content,
        }))
    }

    /// The reason of the CLOSE record, once it has been opened.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }

    /// Call at TCP EOF with the number of input bytes left unopened: the peer's reason if CLOSE
    /// arrived and nothing follows it.
    pub fn finish(&self, leftover: usize) -> Result<CloseReason, SecureError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match (self.closed, leftover) {
            (Some(reason), 0) => Ok(reason),
            (Some(_), _) => Err(SecureError::DataAfterEnd),
            (None, _) => Err(SecureError::Truncated),
        }
    }
}
