//! The password mode's secure channel: pure state machines over byte slices, with no sockets, no
//! mio and no I/O. The caller moves bytes between these and the network.
//!
//! Two people who share a password (possibly short) get a channel that authenticates both ends,
//! encrypts and authenticates every byte, gives an eavesdropper or a man in the middle no offline
//! test of a password guess (one online guess per connection at most), detects tampering,
//! reordering, replay and truncation, and tells a wrong password apart from a broken connection.
//!
//! # Wire format, version 2
//!
//! Everything below is enough to write a compatible peer; the known-answer tests in `tests.rs`
//! freeze it.
//!
//! ## Handshake
//!
//! 1. Both ends send HELLO at once, 40 bytes:
//!    `TETE` | version `0x02` | role (`0x01` connector, `0x02` listener) | flags | 33-byte SPAKE2
//!    message. SPAKE2 (RustCrypto `spake2` 0.4, Ed25519 group, asymmetric: connector = side A,
//!    listener = side B, identities `tete/2 connector` and `tete/2 listener`). Flags bit 0: "AES-GCM
//!    is fast here" (the CPU has AES and carry-less multiply instructions); bit 1: "I answer
//!    heartbeats" (see Heartbeats below; a version 2 tete from before them leaves it clear, and
//!    then neither end sends one); other bits are sent as zero and ignored. A peer's HELLO is
//!    checked byte by byte as it arrives: not `TETE`, another
//!    version (a version 1 peer: "unsupported version"), our own role, a role byte that is neither,
//!    a SPAKE2 message that is not a point of the other side: each fails at once.
//! 2. K = SPAKE2 finish (32 bytes). TH = SHA-256(`tete/2 transcript` | connector's HELLO |
//!    listener's HELLO). PRK = HKDF-Extract(salt = TH, K) with HKDF-SHA256, expanded to 32 bytes
//!    each for `tete/2 key c2l`, `tete/2 key l2c`, `tete/2 confirm connector`,
//!    `tete/2 confirm listener`. The cipher is AES-256-GCM if both HELLOs have flag bit 0 set,
//!    ChaCha20-Poly1305 otherwise; heartbeats are on if both have bit 1 set. The flags are in
//!    TH, so both choices are authenticated.
//! 3. The connector sends CONFIRM_C = HMAC-SHA256(connector confirm key, TH), 32 bytes, as soon
//!    as it has the listener's HELLO.
//! 4. The listener verifies CONFIRM_C (in constant time) before it sends anything that depends on
//!    the key. Wrong: that was one password guess; it sends the one byte REJECT (`0x15`,
//!    unauthenticated: it only lets an honest connector say "wrong password" rather than
//!    "connection closed") and closes. Right: it sends CONFIRM_L = HMAC-SHA256(listener confirm
//!    key, TH).
//! 5. The connector verifies CONFIRM_L (wrong: the listener does not know the password, exit 3)
//!    and at once sends a READY record (below), its first record. The connector's handshake is
//!    complete.
//! 6. The listener opens READY; only now is its handshake complete. A failure before READY (the
//!    connection drops, CONFIRM_L was damaged on the way) is not a password guess.
//!
//! A connector that does not know the password learns nothing but REJECT; a fake listener learns
//! nothing testable offline from CONFIRM_C. Nothing is read from stdin or written to stdout before
//! the handshake is complete.
//!
//! ## Records
//!
//! Each direction has its own key (`c2l` from the connector, `l2c` from the listener) and its
//! own record counter, starting at 0 (the connector's READY is its record 0).
//!
//! ```text
//! | L: u32 big-endian | payload | type: 1 byte | tag: 16 bytes |
//!                     |<-- encrypted --------->|
//! ```
//!
//! - L counts everything after the header: payload + 1 + 16, so 17 <= L <= 65,536 + 17; any other
//!   L is refused from the header alone, before anything is buffered for it.
//! - Types: `0x00` DATA (payload 1 to 65,536 bytes), `0x01` CLOSE (payload: one reason byte,
//!   `0x00` end of input, `0x01` interrupted: the sender was stopped by a signal), `0x02` READY
//!   (empty; the connector's first record, and only that one), `0x03` HEARTBEAT (payload: one
//!   byte, `0x00` ping, `0x01` pong; only when heartbeats are on). Any other type, payload or
//!   place is malformed and ends the channel. The type byte trails the payload so that a
//!   record's payload can be decrypted straight to where the previous one ended.
//! - Nonce: 4 zero bytes | the record counter as u64 big-endian; never sent, so a dropped,
//!   replayed or reordered record fails its tag. The counter never wraps (the channel fails
//!   first). AAD: the 4-byte header.
//! - Rekeying: after every 2^20 records in a direction the key becomes
//!   HKDF-Expand(PRK = key, `tete/2 next key`, 32) (HKDF-SHA256); the counter continues.
//! - End of stream: a CLOSE record, then TCP FIN. A TCP end without CLOSE (or inside a record)
//!   is truncation; any byte after CLOSE is an error, a heartbeat included. A record whose tag
//!   fails ends the channel and nothing of it is delivered.
//!
//! ## Heartbeats
//!
//! They tell each end that the other's tete is there and reading, through anything in the path
//! (a proxy answers TCP for the peer; a NAT forgets an idle mapping), and they are records like
//! any other: a forged one fails its tag, a replayed or reordered one its nonce, and either ends
//! the channel. Every authentic record, of any type, is a sign of life. (The relay counts the
//! bytes of a record as they come, before its tag is checked: a record on a slow path can take
//! longer than the check's limit to arrive whole. Bytes forged into the stream keep the partner
//! "answering" only until their record's tag fails, which ends the channel.)
//!
//! - **Answering**: an end that opens a ping owes a pong, sent behind whatever it had already
//!   queued, as soon as it can. One pong answers every ping opened before it, so a flood of pings
//!   makes at most one pong owed. A pong is never answered; a pong that answers no ping is a sign
//!   of life and nothing more.
//! - **Asking**: an end sends a ping when it has opened no record from its peer for its probe
//!   interval (tete: a sixth of its `--peer-timeout`, between 1 and 5 s; 5 s when the timeout is
//!   off), and, whatever it has heard, every probe interval while its own output is full and it
//!   reads no more: the peer's records then wait unread behind data, and these pings are how
//!   the peer still hears from it. At most one ping per interval.
//! - **Around CLOSE**: nothing follows an end's CLOSE, no heartbeat either; pings opened after
//!   it go unanswered. Once the peer's CLOSE has been opened, no ping is sent to it (no pong
//!   could come); a pong still owed may go. A half-closed session is watched by TCP keepalive.
//!
//! # Map of the module
//!
//! - `handshake.rs`: [`Handshake`], the steps above for either role; it hands over a [`Channel`].
//! - `record.rs`: [`Sealer`] writes records in place around a payload the caller already put in
//!   the buffer; [`Opener`] authenticates and decrypts them in place.
//! - [`Channel`]: both halves, and when a heartbeat may go out ([`Channel::may_ping`],
//!   [`Channel::pong_due`], [`Channel::seal_heartbeat`]).
//! - [`SecureError`]: every way the channel fails, one plain-words line each; [`SecureError::is_guess`]
//!   tells a real password guess from everything else.
//!
//! Crates, none of them hand-written here: `spake2` 0.4, `hkdf` + `sha2` (key schedule), `hmac`
//! (CONFIRM, verified in constant time with `verify_slice`), `ring` (AES-256-GCM and
//! ChaCha20-Poly1305; src/secure/record.rs says how fast, and why not OpenSSL), `zeroize`
//! (keys and secrets are wiped when dropped; ring's own key schedules cannot be).

mod handshake;
mod record;
#[cfg(test)]
mod tests;
// The opener driven over bytes in memory, for the unit tests and the fuzz targets.
#[cfg(any(test, feature = "internals"))]
pub mod read_all;

use std::fmt;

pub use handshake::{CONFIRM_LEN, HELLO_LEN, HELLO_START, Handshake};
pub use record::{
    Beat, CLOSE_LEN, Content, DATA_OFFSET, HEARTBEAT_LEN, MAX_PAYLOAD, MAX_RECORD, OVERHEAD,
    Opener, Sealer,
};
// The rest of the wire format's names, which only the tests and the fuzz targets use.
#[cfg(any(test, feature = "internals"))]
pub use handshake::REJECT;
#[cfg(any(test, feature = "internals"))]
pub use record::{HEADER_LEN, Opened, READY_LEN, REKEY_INTERVAL, TAG_LEN};

/// Which end of the TCP connection we are; the two ends of one channel must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that dialled (SPAKE2 side A).
    Connector,
    /// The end that accepted (SPAKE2 side B).
    Listener,
}

/// The AEAD both HELLOs agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cipher::Aes256Gcm => "AES-256-GCM",
            Cipher::ChaCha20Poly1305 => "ChaCha20-Poly1305",
        })
    }
}

/// Why a stream ended, as its CLOSE record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The sender's input ended.
    EndOfInput,
    /// The sender was stopped (Ctrl-C, SIGTERM, SIGHUP): its data may be incomplete.
    Interrupted,
}

impl CloseReason {
    fn byte(self) -> u8 {
        match self {
            CloseReason::EndOfInput => 0x00,
            CloseReason::Interrupted => 0x01,
        }
    }

    fn from_byte(byte: u8) -> Option<CloseReason> {
        match byte {
            0x00 => Some(CloseReason::EndOfInput),
            0x01 => Some(CloseReason::Interrupted),
            _ => None,
        }
    }
}

/// A completed handshake: our sending half, the peer's sending half, and their cipher.
#[derive(Debug)]
pub struct Channel {
    pub cipher: Cipher,
    pub sealer: Sealer,
    pub opener: Opener,
}

impl Channel {
    fn new(cipher: Cipher, heartbeats: bool, sealer: Sealer, mut opener: Opener) -> Channel {
        opener.heartbeats = heartbeats;
        Channel {
            cipher,
            sealer,
            opener,
        }
    }

    /// True when both HELLOs offered heartbeats.
    pub fn heartbeats(&self) -> bool {
        self.opener.heartbeats
    }

    /// True when a ping may go out: heartbeats are on and neither end's CLOSE has passed.
    pub fn may_ping(&self) -> bool {
        self.heartbeats() && !self.sealer.is_closed() && self.opener.closed().is_none()
    }

    /// True when a ping of the peer's waits for its pong, and the pong may go out (our CLOSE
    /// has not).
    pub fn pong_due(&self) -> bool {
        self.opener.pong_owed && !self.sealer.is_closed()
    }

    /// Seals a ping (if [`Channel::may_ping`]) or the owed pong (if [`Channel::pong_due`]) into
    /// `record`, [`HEARTBEAT_LEN`] bytes; returns whether it did (otherwise `record` is
    /// untouched and nothing may go out).
    pub fn seal_heartbeat(&mut self, beat: Beat, record: &mut [u8]) -> Result<bool, SecureError> {
        let allowed = match beat {
            Beat::Ping => self.may_ping(),
            Beat::Pong => self.pong_due(),
        };
        if !allowed {
            return Ok(false);
        }
        self.sealer.seal_heartbeat(beat, record)?;
        if beat == Beat::Pong {
            self.opener.pong_owed = false;
        }
        Ok(true)
    }
}

/// Which ciphers our HELLO offers: the caller's choice (tete makes it from its environment,
/// at the edge; this core reads nothing but the bytes and the CPU's features).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CipherChoice {
    /// AES-256-GCM where this CPU runs it fast (it is used when both ends say so), else
    /// ChaCha20-Poly1305.
    #[default]
    Fastest,
    /// ChaCha20-Poly1305, whatever the CPU: for tests (a mixed pair) and benchmarks.
    ChaCha20Poly1305,
}

impl CipherChoice {
    /// True when our HELLO says "AES-GCM is fast here" (flag bit 0).
    pub fn offers_aes(self) -> bool {
        match self {
            CipherChoice::Fastest => cpu_has_fast_aes(),
            CipherChoice::ChaCha20Poly1305 => false,
        }
    }
}

/// True when this CPU runs AES-GCM fast: AES and carry-less multiply instructions, detected at
/// run time.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn cpu_has_fast_aes() -> bool {
    std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
}

#[cfg(target_arch = "aarch64")]
fn cpu_has_fast_aes() -> bool {
    std::arch::is_aarch64_feature_detected!("aes")
        && std::arch::is_aarch64_feature_detected!("pmull")
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu_has_fast_aes() -> bool {
    false
}

/// Every way the channel can fail. `Display` is one plain-words line without a "tete:" prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecureError {
    /// Listener: the connector's CONFIRM_C did not verify. This, and only this, is a password
    /// guess.
    WrongPassword,
    /// Connector: the listener answered our CONFIRM_C with REJECT.
    Rejected,
    /// Connector: the listener's CONFIRM_L did not verify (it does not know the password, or it
    /// was damaged on the way).
    ListenerUnverified,
    /// The peer's first bytes are not `TETE`.
    NotTete,
    /// The peer's HELLO carries a version other than 2.
    UnsupportedVersion,
    /// The peer announced our own role (two listeners or two connectors, or a reflected HELLO).
    SameRole(Role),
    /// The peer's HELLO has a bad role byte or an invalid SPAKE2 message.
    MalformedHello,
    /// The peer ended its stream before the handshake was complete.
    EndedInHandshake,
    /// A record's tag did not verify: tampered, corrupted, dropped, replayed or reordered.
    Tampered,
    /// TCP EOF came before the CLOSE record (possibly inside a record).
    Truncated,
    /// A header's L is below 17 or above 65,536 + 17 (or the caller's record size is out of range).
    LengthOutOfRange,
    /// An authentic record of an unknown or misplaced type, or with a payload its type forbids.
    MalformedRecord,
    /// Bytes arrived after the CLOSE record.
    DataAfterEnd,
    /// The direction's 64-bit record counter would wrap.
    CounterExhausted,
    /// The peer did not finish the handshake before the deadline (the caller keeps the clock).
    Stalled,
}

impl SecureError {
    /// True for a real password guess: a well-formed HELLO followed by a CONFIRM_C that fails.
    /// Junk, wrong magic or version, the same role, a half HELLO, silence and drops are not.
    pub fn is_guess(&self) -> bool {
        matches!(self, SecureError::WrongPassword)
    }
}

impl fmt::Display for SecureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongPassword | Self::Rejected => {
                "the two ends used different passwords, or the handshake was altered on the way; \
                 nothing was exchanged"
            }
            Self::ListenerUnverified => {
                "the listener does not know the password (or its answer was damaged on the way)"
            }
            Self::NotTete => "the peer is not speaking tete's secure protocol",
            Self::UnsupportedVersion => "the peer speaks an unsupported protocol version",
            Self::SameRole(Role::Connector) => "both ends are connectors",
            Self::SameRole(Role::Listener) => "both ends are listeners",
            Self::MalformedHello => "the peer's handshake message is malformed",
            Self::EndedInHandshake => "the peer closed the connection during the handshake",
            Self::Tampered => "a record failed authentication (tampered or corrupted)",
            Self::Truncated => "connection truncated",
            Self::LengthOutOfRange => "record length out of range",
            Self::MalformedRecord => "the peer sent a malformed record",
            Self::DataAfterEnd => "data after the end of the stream",
            Self::CounterExhausted => "record counter exhausted",
            Self::Stalled => "the peer did not complete the handshake in time",
        })
    }
}

impl std::error::Error for SecureError {}
