//! Tests of the handshake and the record layer, through in-memory byte vectors.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::read_all::open_all;
use super::*;

const PASSWORD: &[u8] = b"correct horse battery staple";
const CIPHERS: [Cipher; 2] = [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305];

fn start(role: Role, password: &[u8], aes: bool, seed: u64) -> (Handshake, Vec<u8>) {
    let mut hello = Vec::new();
    let rng = ChaCha20Rng::seed_from_u64(seed);
    let hs = Handshake::with_rng(role, password, aes, rng, &mut hello);
    (hs, hello)
}

/// One end of a simulated connection: its handshake, the bytes that reached it, how many of them
/// it consumed, what it still has to send, and how it ended. A listener checks a waiting
/// CONFIRM_C at once.
struct End {
    hs: Handshake,
    inbox: Vec<u8>,
    read: usize,
    outbox: Vec<u8>,
    result: Result<(), SecureError>,
}

impl End {
    fn new((hs, hello): (Handshake, Vec<u8>)) -> End {
        End {
            hs,
            inbox: Vec::new(),
            read: 0,
            outbox: hello,
            result: Ok(()),
        }
    }

    /// Feeds at most `chunk` unread bytes; returns whether anything moved.
    fn step(&mut self, chunk: usize) -> bool {
        let n = chunk.min(self.inbox.len() - self.read);
        if self.result.is_err() || n == 0 {
            return false;
        }
        let input = &self.inbox[self.read..self.read + n];
        self.result = self.hs.receive(input, &mut self.outbox).and_then(|used| {
            self.read += used;
            match self.hs.confirm_waiting() {
                true => self.hs.check_confirm(&mut self.outbox),
                false => Ok(()),
            }
        });
        true
    }
}

/// A man in the middle: sees each byte with its offset in its stream and may rewrite it.
type Mitm<'a> = &'a dyn Fn(usize, u8) -> u8;

fn untouched(_: usize, b: u8) -> u8 {
    b
}

/// A man in the middle who flips bit `bit % 8` of the byte at stream offset `offset`.
fn flip_bit(offset: usize, bit: usize) -> impl Fn(usize, u8) -> u8 {
    move |at, b| {
        if at == offset {
            b ^ (1 << (bit % 8))
        } else {
            b
        }
    }
}

/// Runs two ends against each other, `chunk` bytes per step, until nothing moves.
fn run(c: &mut End, l: &mut End, chunk: usize, to_c: Mitm, to_l: Mitm) {
    loop {
        for b in c.outbox.drain(..) {
            l.inbox.push(to_l(l.inbox.len(), b));
        }
        for b in l.outbox.drain(..) {
            c.inbox.push(to_c(c.inbox.len(), b));
        }
        let moved = c.step(chunk) | l.step(chunk);
        if !moved && c.outbox.is_empty() && l.outbox.is_empty() {
            return;
        }
    }
}

fn pair(password_c: &[u8], password_l: &[u8]) -> (End, End) {
    (
        End::new(start(Role::Connector, password_c, true, 1)),
        End::new(start(Role::Listener, password_l, true, 2)),
    )
}

/// How many bytes each end consumes in a complete handshake: (connector, listener).
const HANDSHAKE_READ: (usize, usize) =
    (HELLO_LEN + CONFIRM_LEN, HELLO_LEN + CONFIRM_LEN + READY_LEN);

/// A completed handshake's channels, (connector's, listener's), `chunk` bytes per step; the
/// connector's RNG is seeded with `seed`; `aes` is each end's (connector, listener) flag.
fn channels(chunk: usize, seed: u64, aes: (bool, bool)) -> (Channel, Channel) {
    let mut c = End::new(start(Role::Connector, PASSWORD, aes.0, seed));
    let mut l = End::new(start(Role::Listener, PASSWORD, aes.1, 2));
    run(&mut c, &mut l, chunk, &untouched, &untouched);
    assert_eq!((c.result, l.result), (Ok(()), Ok(())));
    assert_eq!((c.read, l.read), HANDSHAKE_READ);
    (c.hs.take_channel().unwrap(), l.hs.take_channel().unwrap())
}

/// A sealer and opener of one direction, without a handshake.
fn direction(cipher: Cipher) -> (Sealer, Opener) {
    (
        Sealer::new(cipher, &[7; 32]),
        Opener::new(cipher, &[7; 32], false),
    )
}

fn data(sealer: &mut Sealer, payload: &[u8]) -> Vec<u8> {
    let mut record = vec![0; OVERHEAD + payload.len()];
    record[DATA_OFFSET..DATA_OFFSET + payload.len()].copy_from_slice(payload);
    sealer.seal_data(&mut record).unwrap();
    record
}

fn close(sealer: &mut Sealer, reason: CloseReason) -> Vec<u8> {
    let mut record = vec![0; CLOSE_LEN];
    sealer.seal_close(reason, &mut record).unwrap();
    record
}

/// A HEARTBEAT sealed by `channel`, if the rules let it go out now.
fn heartbeat(channel: &mut Channel, beat: Beat) -> Option<Vec<u8>> {
    let mut record = vec![0; HEARTBEAT_LEN];
    channel
        .seal_heartbeat(beat, &mut record)
        .unwrap()
        .then_some(record)
}

/// Opens one whole record with `opener`: its content.
fn open_one(opener: &mut Opener, record: &[u8]) -> Result<Content, SecureError> {
    let mut buf = record.to_vec();
    let opened = opener.open_within(&mut buf, 0, 0)?.expect("a whole record");
    assert_eq!(opened.consumed, record.len());
    Ok(opened.content)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `payloads` then CLOSE through a sealer and opens them, `chunk` bytes per read.
fn round_trip(sealer: &mut Sealer, opener: &mut Opener, payloads: &[&[u8]], chunk: usize) {
    let mut wire = Vec::new();
    for p in payloads {
        wire.extend(data(sealer, p));
    }
    wire.extend(close(sealer, CloseReason::Interrupted));
    let (plain, end) = open_all(opener, &wire, chunk);
    assert_eq!(end, Ok(CloseReason::Interrupted));
    assert_eq!(plain, payloads.concat());
    assert_eq!(opener.closed(), Some(CloseReason::Interrupted));
}

mod handshake;
mod heartbeats;
mod records;
