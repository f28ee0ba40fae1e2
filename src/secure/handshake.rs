//! The handshake: one round trip, both ends sending at once.
//!
//! 1. Each end sends HELLO = `TETE` | version `0x01` | role (`0x01` connector, `0x02` listener) |
//!    33-byte SPAKE2 message (Ed25519 group; connector = side A, listener = side B). The peer's
//!    HELLO is checked byte by byte as it arrives: magic, then version, then role.
//! 2. K = SPAKE2 finish. TH = SHA-256(`tete/1 transcript` | connector's HELLO | listener's HELLO).
//!    PRK = HKDF-Extract(salt = TH, K), expanded into the two record keys and two confirm keys.
//! 3. Each end sends CONFIRM = HMAC-SHA256(own confirm key, TH) as soon as it has the peer's HELLO,
//!    and verifies the peer's in constant time. Only then are the record keys handed out.
//!
//! Reflection cannot complete: a reflected HELLO carries our own role byte, and even if an attacker
//! rewrites it, SPAKE2's sides A/B and the role-labelled confirm keys make every check fail.

use std::fmt;
use std::mem;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, OsRng, RngCore};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::record::{Opener, Sealer};
use super::{Role, SecureError};

/// Length of a HELLO: magic, version, role, SPAKE2 message.
pub const HELLO_LEN: usize = 39;
/// Length of a CONFIRM: one HMAC-SHA256.
pub const CONFIRM_LEN: usize = 32;

const MAGIC: &[u8; 4] = b"TETE";
const VERSION: u8 = 0x01;
const MAGIC_LEN: usize = MAGIC.len();
/// Offset of the role byte; the SPAKE2 message follows it.
const ROLE_AT: usize = MAGIC_LEN + 1;

const ID_CONNECTOR: &[u8] = b"tete/1 connector";
const ID_LISTENER: &[u8] = b"tete/1 listener";

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Connector => 0x01,
            Role::Listener => 0x02,
        }
    }

    fn other(self) -> Role {
        match self {
            Role::Connector => Role::Listener,
            Role::Listener => Role::Connector,
        }
    }
}

/// Drives one end of the handshake; see the module docs.
pub struct Handshake {
    role: Role,
    our_hello: [u8; HELLO_LEN],
    stage: Stage,
}

enum Stage {
    /// Collecting the peer's HELLO; `filled` bytes of it are in `buf`.
    Hello {
        spake: Spake2<Ed25519Group>,
        buf: [u8; HELLO_LEN],
        filled: usize,
    },
    /// Our CONFIRM is out; collecting the peer's. `expected` is an HMAC already fed TH, keyed with
    /// the peer's confirm key.
    Confirm {
        expected: Hmac<Sha256>,
        keys: RecordKeys,
        buf: [u8; CONFIRM_LEN],
        filled: usize,
    },
    /// The peer's CONFIRM verified.
    Done(Box<(Sealer, Opener)>),
    /// Errors are final: every later call returns the same one.
    Failed(SecureError),
}

/// The two record keys, by direction from our point of view.
struct RecordKeys {
    send: [u8; 32],
    receive: [u8; 32],
}

impl Handshake {
    /// Starts the handshake with OS randomness; appends our HELLO ([`HELLO_LEN`] bytes) to `out`.
    pub fn new(role: Role, password: &[u8], out: &mut Vec<u8>) -> Handshake {
        Handshake::with_rng(role, password, OsRng, out)
    }

    /// Same as [`Handshake::new`] with the caller's RNG (for the known-answer test).
    pub fn with_rng(
        role: Role,
        password: &[u8],
        rng: impl CryptoRng + RngCore,
        out: &mut Vec<u8>,
    ) -> Handshake {
        let password = Password::new(password);
        let (id_a, id_b) = (Identity::new(ID_CONNECTOR), Identity::new(ID_LISTENER));
        let (spake, message) = match role {
            Role::Connector => Spake2::start_a_with_rng(&password, &id_a, &id_b, rng),
            Role::Listener => Spake2::start_b_with_rng(&password, &id_a, &id_b, rng),
        };
        let mut our_hello = [0u8; HELLO_LEN];
        our_hello[..MAGIC_LEN].copy_from_slice(MAGIC);
        our_hello[MAGIC_LEN] = VERSION;
        our_hello[ROLE_AT] = role.byte();
        // spake2 always returns 33 bytes for Ed25519 (side byte + point): the HELLO's tail.
        our_hello[ROLE_AT + 1..].copy_from_slice(&message);
        out.extend_from_slice(&our_hello);
        Handshake {
            role,
            our_hello,
            stage: Stage::Hello {
                spake,
                buf: [0; HELLO_LEN],
                filled: 0,
            },
        }
    }

    /// Feeds bytes received from the peer. Consumes only the peer's HELLO and CONFIRM, never a
    /// byte beyond, and returns how many it consumed: the rest belongs to the record layer.
    /// Appends our CONFIRM to `out` as soon as the peer's HELLO is in. Any split of the input,
    /// down to one byte at a time, gives the same result.
    pub fn receive(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, SecureError> {
        let result = self.advance(input, out);
        if let Err(err) = &result {
            self.stage = Stage::Failed(err.clone());
        }
        result
    }

    fn advance(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, SecureError> {
        let mut used = 0;
        if let Stage::Hello { buf, filled, .. } = &mut self.stage {
            used += fill(buf, filled, input);
            check_hello_prefix(self.role, &buf[..*filled])?;
            if *filled < HELLO_LEN {
                return Ok(used);
            }
            // SPAKE2's finish consumes its state, so take the stage by value; on error, receive()
            // overwrites the placeholder with the real error.
            let placeholder = Stage::Failed(SecureError::MalformedHello);
            if let Stage::Hello { spake, buf, .. } = mem::replace(&mut self.stage, placeholder) {
                self.stage = self.on_hello(spake, &buf, out)?;
            }
        }
        if let Stage::Confirm {
            expected,
            keys,
            buf,
            filled,
        } = &mut self.stage
        {
            used += fill(buf, filled, &input[used..]);
            if *filled < CONFIRM_LEN {
                return Ok(used);
            }
            expected
                .clone()
                .verify_slice(buf)
                .map_err(|_| SecureError::WrongPassword)?;
            let halves = (Sealer::new(&keys.send), Opener::new(&keys.receive));
            self.stage = Stage::Done(Box::new(halves));
        }
        match &self.stage {
            Stage::Failed(err) => Err(err.clone()),
            _ => Ok(used),
        }
    }

    /// The peer's HELLO is complete: derive the keys, send our CONFIRM.
    fn on_hello(
        &self,
        spake: Spake2<Ed25519Group>,
        peer_hello: &[u8; HELLO_LEN],
        out: &mut Vec<u8>,
    ) -> Result<Stage, SecureError> {
        // BadSide (a side-A message sent to side A) or CorruptMessage (not a curve point).
        let k = spake
            .finish(&peer_hello[ROLE_AT + 1..])
            .map_err(|_| SecureError::MalformedHello)?;
        let (hello_c, hello_l) = match self.role {
            Role::Connector => (&self.our_hello, peer_hello),
            Role::Listener => (peer_hello, &self.our_hello),
        };
        let th = Sha256::new()
            .chain_update(b"tete/1 transcript")
            .chain_update(hello_c)
            .chain_update(hello_l)
            .finalize();
        let prk = Hkdf::<Sha256>::new(Some(&th), &k);
        let expand = |label: &str| {
            let mut key = [0u8; 32];
            // HKDF-SHA256 refuses only outputs over 8,160 bytes.
            prk.expand(label.as_bytes(), &mut key)
                .expect("32 bytes is a valid HKDF length");
            key
        };
        let (c2l, l2c) = (expand("tete/1 key c2l"), expand("tete/1 key l2c"));
        let confirm_c = expand("tete/1 confirm connector");
        let confirm_l = expand("tete/1 confirm listener");
        let (keys, own_confirm, peer_confirm) = match self.role {
            Role::Connector => (
                RecordKeys {
                    send: c2l,
                    receive: l2c,
                },
                confirm_c,
                confirm_l,
            ),
            Role::Listener => (
                RecordKeys {
                    send: l2c,
                    receive: c2l,
                },
                confirm_l,
                confirm_c,
            ),
        };
        out.extend_from_slice(&transcript_mac(&own_confirm, &th).finalize().into_bytes());
        Ok(Stage::Confirm {
            expected: transcript_mac(&peer_confirm, &th),
            keys,
            buf: [0; CONFIRM_LEN],
            filled: 0,
        })
    }

    /// True once the peer's CONFIRM has verified.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    /// Our sending and the peer's sending halves of the record layer, once complete.
    pub fn into_channel(self) -> Option<(Sealer, Opener)> {
        match self.stage {
            Stage::Done(halves) => Some(*halves),
            _ => None,
        }
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys and SPAKE2 state stay out of logs.
        f.debug_struct("Handshake")
            .field("role", &self.role)
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 keyed with a confirm key, fed the transcript hash.
fn transcript_mac(key: &[u8; 32], th: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(th);
    mac
}

/// Copies what fits of `input` into `buf[*filled..]`; returns how many bytes it took.
fn fill(buf: &mut [u8], filled: &mut usize, input: &[u8]) -> usize {
    let n = input.len().min(buf.len() - *filled);
    buf[*filled..*filled + n].copy_from_slice(&input[..n]);
    *filled += n;
    n
}

/// Checks as much of the peer's HELLO as has arrived, so a wrong peer fails at its first wrong byte.
fn check_hello_prefix(role: Role, got: &[u8]) -> Result<(), SecureError> {
    let magic_got = &got[..got.len().min(MAGIC_LEN)];
    if magic_got != &MAGIC[..magic_got.len()] {
        return Err(SecureError::NotTete);
    }
    if got.get(MAGIC_LEN).is_some_and(|&v| v != VERSION) {
        return Err(SecureError::UnsupportedVersion);
    }
    match got.get(ROLE_AT) {
        Some(&r) if r == role.byte() => Err(SecureError::SameRole(role)),
        Some(&r) if r != role.other().byte() => Err(SecureError::MalformedHello),
        _ => Ok(()),
    }
}
