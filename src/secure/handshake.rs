//! The handshake (the wire format is in the module docs of [`crate::secure`]): both ends send
//! HELLO at once; the connector confirms first; the listener checks that CONFIRM_C (when its
//! caller allows: the guess rate limit) before it sends anything that depends on the key, and
//! answers CONFIRM_L or REJECT; the connector checks CONFIRM_L and sends READY; the listener is
//! complete only once READY opened.
//!
//! Reflection cannot complete: a reflected HELLO carries our own role byte, and even if an attacker
//! rewrites it, SPAKE2's sides A/B and the role-labelled confirm keys make every check fail.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, OsRng, RngCore};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use super::record::{Content, Opener, READY_LEN, Sealer};
use super::{Channel, Cipher, CipherChoice, Role, SecureError};

/// Length of a HELLO: magic, version, role, flags, SPAKE2 message.
pub const HELLO_LEN: usize = 40;
/// Length of a CONFIRM: one HMAC-SHA256.
pub const CONFIRM_LEN: usize = 32;
/// The listener's one-byte answer to a CONFIRM_C that fails.
pub const REJECT: u8 = 0x15;

const MAGIC: &[u8; 4] = b"TETE";
const VERSION: u8 = 0x02;
const MAGIC_LEN: usize = MAGIC.len();
/// How every HELLO of this version begins: the magic, then the version. A plain tete that sees
/// it from its peer can tell that the peer expects a room password.
pub const HELLO_START: [u8; 5] = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION];
const ROLE_AT: usize = MAGIC_LEN + 1;
const FLAGS_AT: usize = ROLE_AT + 1;
/// Where the SPAKE2 message starts.
const SPAKE_AT: usize = FLAGS_AT + 1;
/// HELLO flags bit 0: AES-GCM is fast on this end.
const FLAG_AES: u8 = 0x01;

const ID_CONNECTOR: &[u8] = b"tete/2 connector";
const ID_LISTENER: &[u8] = b"tete/2 listener";

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

/// A 32-byte CONFIRM being collected.
struct Collecting {
    buf: [u8; CONFIRM_LEN],
    filled: usize,
}

enum Stage {
    /// Collecting the peer's HELLO.
    Hello {
        spake: Spake2<Ed25519Group>,
        buf: [u8; HELLO_LEN],
        filled: usize,
    },
    /// Connector: CONFIRM_C is out; collecting CONFIRM_L (or a REJECT). `expected` is an HMAC
    /// already fed TH, keyed with the listener's confirm key.
    ConfirmL {
        expected: Hmac<Sha256>,
        channel: Box<Channel>,
        got: Collecting,
    },
    /// Listener: collecting CONFIRM_C, which is checked only by [`Handshake::check_confirm`].
    ConfirmC {
        expected: Hmac<Sha256>,
        own_confirm: Zeroizing<[u8; CONFIRM_LEN]>,
        channel: Box<Channel>,
        got: Collecting,
    },
    /// Listener: CONFIRM_L is out; collecting the READY record.
    Ready {
        channel: Box<Channel>,
        buf: [u8; READY_LEN],
        filled: usize,
    },
    /// Complete; the channel is waiting for [`Handshake::take_channel`].
    Done(Box<Channel>),
    /// Nothing left: the channel has been handed over (or, for an instant, a stage is being
    /// taken by value to build the next one).
    Spent,
    /// Errors are final: every later call returns the same one.
    Failed(SecureError),
}

impl Handshake {
    /// Starts the handshake with OS randomness, offering the ciphers of `choice`; appends our
    /// HELLO ([`HELLO_LEN`] bytes) to `out`.
    pub fn offering(
        role: Role,
        password: &[u8],
        choice: CipherChoice,
        out: &mut Vec<u8>,
    ) -> Handshake {
        Handshake::with_rng(role, password, choice.offers_aes(), OsRng, out)
    }

    /// [`Handshake::offering`] the fastest cipher this CPU has: for tests, which have no
    /// environment to choose from.
    #[cfg(any(test, feature = "internals"))]
    pub fn new(role: Role, password: &[u8], out: &mut Vec<u8>) -> Handshake {
        Handshake::offering(role, password, CipherChoice::Fastest, out)
    }

    /// Same as [`Handshake::offering`] with the caller's RNG and AES flag (known-answer tests,
    /// fuzzing).
    pub fn with_rng(
        role: Role,
        password: &[u8],
        aes_fast: bool,
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
        our_hello[FLAGS_AT] = if aes_fast { FLAG_AES } else { 0 };
        // spake2 always returns 33 bytes for Ed25519 (side byte + point): the HELLO's tail.
        our_hello[SPAKE_AT..].copy_from_slice(&message);
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

    /// Feeds bytes received from the peer. Consumes only handshake bytes, never a byte beyond,
    /// and returns how many it consumed: the rest belongs to the record layer. Appends what we
    /// send in answer to `out`. Any split of the input, down to one byte at a time, gives the
    /// same result. A listener holding a complete CONFIRM_C consumes nothing more until
    /// [`Handshake::check_confirm`].
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
            // SPAKE2's finish consumes its state: take the stage by value (on an error, receive()
            // replaces the stand-in with the error).
            let stage = std::mem::replace(&mut self.stage, Stage::Spent);
            if let Stage::Hello { spake, buf, .. } = stage {
                self.stage = self.on_hello(spake, &buf, out)?;
            }
        }
        let input = &input[used..];
        match &mut self.stage {
            Stage::ConfirmL {
                expected,
                channel,
                got,
            } => {
                used += fill(&mut got.buf, &mut got.filled, input);
                if got.filled == CONFIRM_LEN {
                    expected
                        .clone()
                        .verify_slice(&got.buf)
                        .map_err(|_| SecureError::ListenerUnverified)?;
                    let mut ready = [0u8; READY_LEN];
                    channel.sealer.seal_ready(&mut ready)?;
                    out.extend_from_slice(&ready);
                    self.complete();
                }
            }
            Stage::ConfirmC { got, .. } => used += fill(&mut got.buf, &mut got.filled, input),
            Stage::Ready {
                channel,
                buf,
                filled,
            } => {
                used += fill(buf, filled, input);
                if *filled == READY_LEN {
                    let opened = channel.opener.open_within(buf, 0, 0)?;
                    match opened.map(|opened| opened.content) {
                        Some(Content::Ready) => self.complete(),
                        _ => return Err(SecureError::MalformedRecord),
                    }
                }
            }
            Stage::Failed(err) => return Err(err.clone()),
            Stage::Hello { .. } | Stage::Done(_) | Stage::Spent => {}
        }
        Ok(used)
    }

    /// Moves the channel into `Done`.
    fn complete(&mut self) {
        let stage = std::mem::replace(&mut self.stage, Stage::Spent);
        self.stage = match stage {
            Stage::ConfirmL { channel, .. } | Stage::Ready { channel, .. } => Stage::Done(channel),
            other => other,
        };
    }

    /// The peer's HELLO is complete: derive the keys; the connector sends CONFIRM_C.
    fn on_hello(
        &self,
        spake: Spake2<Ed25519Group>,
        peer_hello: &[u8; HELLO_LEN],
        out: &mut Vec<u8>,
    ) -> Result<Stage, SecureError> {
        // BadSide (a side-A message sent to side A) or CorruptMessage (not a curve point).
        let k = Zeroizing::new(
            spake
                .finish(&peer_hello[SPAKE_AT..])
                .map_err(|_| SecureError::MalformedHello)?,
        );
        let (hello_c, hello_l) = match self.role {
            Role::Connector => (&self.our_hello, peer_hello),
            Role::Listener => (peer_hello, &self.our_hello),
        };
        let cipher = if hello_c[FLAGS_AT] & hello_l[FLAGS_AT] & FLAG_AES != 0 {
            Cipher::Aes256Gcm
        } else {
            Cipher::ChaCha20Poly1305
        };
        let th = Sha256::new()
            .chain_update(b"tete/2 transcript")
            .chain_update(hello_c)
            .chain_update(hello_l)
            .finalize();
        let prk = Hkdf::<Sha256>::new(Some(&th), &k);
        let expand = |label: &str| {
            let mut key = Zeroizing::new([0u8; 32]);
            // HKDF-SHA256 refuses only outputs over 8,160 bytes.
            prk.expand(label.as_bytes(), &mut *key)
                .expect("32 bytes is a valid HKDF length");
            key
        };
        let (c2l, l2c) = (expand("tete/2 key c2l"), expand("tete/2 key l2c"));
        let confirm_c = transcript_mac(&expand("tete/2 confirm connector"), &th);
        let confirm_l = transcript_mac(&expand("tete/2 confirm listener"), &th);
        let got = Collecting {
            buf: [0; CONFIRM_LEN],
            filled: 0,
        };
        Ok(match self.role {
            Role::Connector => {
                out.extend_from_slice(&confirm_c.finalize().into_bytes());
                Stage::ConfirmL {
                    expected: confirm_l,
                    channel: Box::new(Channel {
                        cipher,
                        sealer: Sealer::new(cipher, &c2l),
                        opener: Opener::new(cipher, &l2c, false),
                    }),
                    got,
                }
            }
            Role::Listener => Stage::ConfirmC {
                expected: confirm_c,
                own_confirm: Zeroizing::new(confirm_l.finalize().into_bytes().into()),
                channel: Box::new(Channel {
                    cipher,
                    sealer: Sealer::new(cipher, &l2c),
                    opener: Opener::new(cipher, &c2l, true),
                }),
                got,
            },
        })
    }

    /// Listener: true when a complete CONFIRM_C waits for [`Handshake::check_confirm`].
    pub fn confirm_waiting(&self) -> bool {
        matches!(&self.stage, Stage::ConfirmC { got, .. } if got.filled == CONFIRM_LEN)
    }

    /// Listener: checks the waiting CONFIRM_C (call only when [`Handshake::confirm_waiting`]).
    /// Right: appends CONFIRM_L to `out`. Wrong: appends REJECT and fails with
    /// [`SecureError::WrongPassword`], which is a password guess ([`SecureError::is_guess`]).
    pub fn check_confirm(&mut self, out: &mut Vec<u8>) -> Result<(), SecureError> {
        if !self.confirm_waiting() {
            return match &self.stage {
                Stage::Failed(err) => Err(err.clone()),
                _ => Ok(()),
            };
        }
        let stage = std::mem::replace(&mut self.stage, Stage::Spent);
        let (expected, own_confirm, channel, got) = match stage {
            Stage::ConfirmC {
                expected,
                own_confirm,
                channel,
                got,
            } => (expected, own_confirm, channel, got),
            other => {
                self.stage = other;
                return Ok(());
            }
        };
        if expected.verify_slice(&got.buf).is_err() {
            out.push(REJECT);
            self.stage = Stage::Failed(SecureError::WrongPassword);
            return Err(SecureError::WrongPassword);
        }
        out.extend_from_slice(&*own_confirm);
        self.stage = Stage::Ready {
            channel,
            buf: [0; READY_LEN],
            filled: 0,
        };
        Ok(())
    }

    /// Why the handshake failed when the peer ended its stream before completing it: a
    /// connector that got exactly a REJECT learns that the passwords differ.
    pub fn peer_ended(&self) -> SecureError {
        match &self.stage {
            Stage::Failed(err) => err.clone(),
            Stage::ConfirmL { got, .. } if got.filled == 1 && got.buf[0] == REJECT => {
                SecureError::Rejected
            }
            _ => SecureError::EndedInHandshake,
        }
    }

    /// True once the handshake is complete (the connector verified CONFIRM_L and queued READY;
    /// the listener opened READY), until the channel is taken.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    /// The channel, once complete; `None` before, and after it has been taken once.
    pub fn take_channel(&mut self) -> Option<Channel> {
        if !self.is_complete() {
            return None;
        }
        match std::mem::replace(&mut self.stage, Stage::Spent) {
            Stage::Done(channel) => Some(*channel),
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
