//! The password mode's secure channel: pure state machines over byte slices, with no sockets, no
//! mio and no I/O. The caller moves bytes between these and the network.
//!
//! Design: `shared/design/secure-channel.md`. Map of the module:
//!
//! - `handshake.rs`: one round trip. Each end sends a 39-byte HELLO (`TETE` | version | role |
//!   SPAKE2 message), derives keys from the SPAKE2 secret bound to the transcript hash, sends a
//!   32-byte CONFIRM (HMAC over the transcript) and verifies the peer's. [`Handshake`] yields the
//!   two record-layer halves once the peer's CONFIRM verifies.
//! - `record.rs`: framing and ChaCha20-Poly1305 per direction. [`Sealer`] writes records in place
//!   around a payload the caller already put in the buffer; [`Opener`] parses, authenticates and
//!   unwraps them, and tells a clean end (CLOSE) from a truncated one.
//! - [`SecureError`]: every way the channel fails, as one plain-words line each.
//!
//! Crates, none of them hand-written here: `spake2` 0.4 (Ed25519 group, asymmetric sides A/B),
//! `hkdf` + `sha2` (key schedule), `hmac` (CONFIRM, verified in constant time with `verify_slice`),
//! `ring` (ChaCha20-Poly1305; measured at ~2.7 GB/s per core here against ~1.4 GB/s for RustCrypto's
//! `chacha20poly1305`, and the target is >= 1 GB/s end to end).
//!
//! Deviations from the design, and additions to it:
//! - [`MAX_PAYLOAD`] is 65,536, so the largest L is exactly the design's cap of 65,536 + 17.
//! - A HELLO that starts right but whose role byte is neither value, or whose SPAKE2 message is not
//!   a valid side-B/side-A element, fails with [`SecureError::MalformedHello`]; a record that
//!   authenticates but has an unknown type byte, an empty DATA or a non-empty CLOSE (only a buggy
//!   peer holding the key can send one) fails with [`SecureError::MalformedRecord`]. The design names
//!   neither case.
//! - The HELLO prefix is checked byte by byte as it arrives, so a non-tete peer (an HTTP client,
//!   say) is rejected at its first wrong byte instead of at the deadline.
//! - Errors are final: once [`Handshake::receive`] or [`Opener::open`] has failed, it keeps
//!   returning that error.

mod handshake;
mod record;
#[cfg(test)]
mod tests;

use std::fmt;

pub use handshake::{CONFIRM_LEN, HELLO_LEN, Handshake};
pub use record::{
    DATA_OFFSET, HEADER_LEN, MAX_PAYLOAD, MAX_RECORD, OVERHEAD, Opener, Sealer, TAG_LEN,
};

/// Which end of the TCP connection we are; the two ends of one channel must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that dialled (SPAKE2 side A).
    Connector,
    /// The end that accepted (SPAKE2 side B).
    Listener,
}

/// Every way the channel can fail. `Display` is one plain-words line without a "tete:" prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecureError {
    /// The peer's CONFIRM did not verify: a different password, or a man in the middle's guess.
    WrongPassword,
    /// The peer's first bytes are not `TETE`.
    NotTete,
    /// The peer's HELLO carries a version other than 1.
    UnsupportedVersion,
    /// The peer announced our own role (two listeners or two connectors, or a reflected HELLO).
    SameRole(Role),
    /// The peer's HELLO has a bad role byte or an invalid SPAKE2 message.
    MalformedHello,
    /// A record's tag did not verify: tampered, corrupted, dropped, replayed or reordered.
    Tampered,
    /// TCP EOF came before the CLOSE record (possibly inside a record).
    Truncated,
    /// A header's L is below 17 or above 65,536 + 17 (or the caller's record size is out of range).
    LengthOutOfRange,
    /// An authentic record with an unknown type, an empty DATA or a non-empty CLOSE.
    MalformedRecord,
    /// Bytes arrived after the CLOSE record.
    DataAfterEnd,
    /// The direction's 64-bit record counter would wrap.
    CounterExhausted,
    /// The peer did not finish the handshake before the deadline (the caller keeps the clock).
    Stalled,
}

impl fmt::Display for SecureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongPassword => "the two ends used different passwords; nothing was exchanged",
            Self::NotTete => "the peer is not speaking tete's secure protocol",
            Self::UnsupportedVersion => "the peer speaks an unsupported protocol version",
            Self::SameRole(Role::Connector) => "both ends are connectors",
            Self::SameRole(Role::Listener) => "both ends are listeners",
            Self::MalformedHello => "the peer's handshake message is malformed",
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
