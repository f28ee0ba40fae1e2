//! Tests of the handshake and the record layer, through in-memory byte vectors.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;

const PASSWORD: &[u8] = b"correct horse battery staple";

fn start(role: Role, password: &[u8], seed: u64) -> (Handshake, Vec<u8>) {
    let mut hello = Vec::new();
    let hs = Handshake::with_rng(role, password, ChaCha20Rng::seed_from_u64(seed), &mut hello);
    (hs, hello)
}

/// One end of a simulated connection: its handshake, the bytes that reached it, how many of them
/// it consumed, what it still has to send, and how it ended.
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
        match self
            .hs
            .receive(&self.inbox[self.read..self.read + n], &mut self.outbox)
        {
            Ok(used) => self.read += used,
            Err(err) => self.result = Err(err),
        }
        true
    }
}

/// A man in the middle: sees each byte with its offset in its stream and may rewrite it.
type Mitm<'a> = &'a dyn Fn(usize, u8) -> u8;

fn untouched(_: usize, b: u8) -> u8 {
    b
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
        End::new(start(Role::Connector, password_c, 1)),
        End::new(start(Role::Listener, password_l, 2)),
    )
}

/// A completed handshake's channels, (connector's, listener's), `chunk` bytes per step; the
/// connector's RNG is seeded with `seed`.
fn channels(chunk: usize, seed: u64) -> ((Sealer, Opener), (Sealer, Opener)) {
    let mut c = End::new(start(Role::Connector, PASSWORD, seed));
    let mut l = End::new(start(Role::Listener, PASSWORD, 2));
    run(&mut c, &mut l, chunk, &untouched, &untouched);
    assert_eq!((c.result, l.result), (Ok(()), Ok(())));
    assert_eq!(
        (c.read, l.read),
        (HELLO_LEN + CONFIRM_LEN, HELLO_LEN + CONFIRM_LEN)
    );
    (c.hs.into_channel().unwrap(), l.hs.into_channel().unwrap())
}

/// A sealer and opener of one direction, without a handshake.
fn direction() -> (Sealer, Opener) {
    (Sealer::new(&[7; 32]), Opener::new(&[7; 32]))
}

fn data(sealer: &mut Sealer, payload: &[u8]) -> Vec<u8> {
    let mut record = vec![0; OVERHEAD + payload.len()];
    record[DATA_OFFSET..DATA_OFFSET + payload.len()].copy_from_slice(payload);
    sealer.seal_data(&mut record).unwrap();
    record
}

fn close(sealer: &mut Sealer) -> Vec<u8> {
    let mut record = vec![0; OVERHEAD];
    sealer.seal_close(&mut record).unwrap();
    record
}

/// Reads `wire` like the event loop would, `chunk` bytes per read, then hits EOF. Returns the
/// plaintext delivered and how the stream ended.
fn open_all(opener: &mut Opener, wire: &[u8], chunk: usize) -> (Vec<u8>, Result<(), SecureError>) {
    let (mut plain, mut pending, mut out) = (Vec::new(), Vec::new(), vec![0; MAX_PAYLOAD]);
    for piece in wire.chunks(chunk) {
        pending.extend_from_slice(piece);
        // Like the event loop after draining `out` to stdout: call again while records come out.
        loop {
            match opener.open(&mut pending, &mut out) {
                Ok((0, _)) => break,
                Ok((used, written)) => {
                    plain.extend_from_slice(&out[..written]);
                    pending.drain(..used);
                }
                Err(err) => return (plain, Err(err)),
            }
        }
    }
    let end = opener.finish(pending.len());
    (plain, end)
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
    wire.extend(close(sealer));
    let (plain, end) = open_all(opener, &wire, chunk);
    assert_eq!(end, Ok(()));
    assert_eq!(plain, payloads.concat());
    assert!(opener.is_closed());
}

#[test]
fn round_trip_both_ways() {
    let ((mut c_seal, mut c_open), (mut l_seal, mut l_open)) = channels(usize::MAX, 1);
    let big: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i * 31 % 251) as u8).collect();
    round_trip(&mut c_seal, &mut l_open, &[b"ping", &big, b"x"], 8192);
    round_trip(&mut l_seal, &mut c_open, &[&big, b"pong"], 65536 + 7);
}

#[test]
fn round_trip_one_byte_at_a_time() {
    let ((mut c_seal, mut c_open), (mut l_seal, mut l_open)) = channels(1, 1);
    round_trip(&mut c_seal, &mut l_open, &[b"hello", b"world"], 1);
    round_trip(&mut l_seal, &mut c_open, &[b"back"], 1);
}

#[test]
fn os_randomness_handshake_completes() {
    let (mut c_hello, mut l_hello) = (Vec::new(), Vec::new());
    let c = Handshake::new(Role::Connector, PASSWORD, &mut c_hello);
    let l = Handshake::new(Role::Listener, PASSWORD, &mut l_hello);
    assert_eq!((c_hello.len(), l_hello.len()), (HELLO_LEN, HELLO_LEN));
    let (mut c, mut l) = (End::new((c, c_hello)), End::new((l, l_hello)));
    run(&mut c, &mut l, usize::MAX, &untouched, &untouched);
    assert!(c.hs.is_complete() && l.hs.is_complete());
}

#[test]
fn handshake_never_consumes_record_bytes() {
    let (mut c, c_hello) = start(Role::Connector, PASSWORD, 1);
    let (mut l, mut l_wire) = start(Role::Listener, PASSWORD, 2);
    let mut c_wire = c_hello.clone();
    assert_eq!(l.receive(&c_hello, &mut l_wire), Ok(HELLO_LEN));
    assert_eq!(l_wire.len(), HELLO_LEN + CONFIRM_LEN);
    l_wire.extend_from_slice(&[0xAB; 10]);
    assert_eq!(c.receive(&l_wire, &mut c_wire), Ok(HELLO_LEN + CONFIRM_LEN));
    assert!(c.is_complete());
    assert_eq!(c.receive(&[0xAB; 10], &mut c_wire), Ok(0));
    assert_eq!(c_wire.len(), HELLO_LEN + CONFIRM_LEN);
}

#[test]
fn incomplete_handshake_has_no_channel() {
    let (mut c, _) = start(Role::Connector, PASSWORD, 1);
    let (_, l_hello) = start(Role::Listener, PASSWORD, 2);
    let mut out = Vec::new();
    assert_eq!(c.receive(&l_hello, &mut out), Ok(HELLO_LEN));
    assert_eq!(
        out.len(),
        CONFIRM_LEN,
        "CONFIRM goes out as soon as the HELLO is in"
    );
    assert!(!c.is_complete());
    assert!(c.into_channel().is_none());
}

#[test]
fn wrong_password_fails_both_sides_at_confirm() {
    let (mut c, mut l) = pair(PASSWORD, b"correct horse battery stapler");
    run(&mut c, &mut l, usize::MAX, &untouched, &untouched);
    assert_eq!(c.result, Err(SecureError::WrongPassword));
    assert_eq!(l.result, Err(SecureError::WrongPassword));
    assert_eq!(
        (c.read, l.read),
        (HELLO_LEN, HELLO_LEN),
        "failed at the CONFIRM"
    );
    assert!(c.hs.into_channel().is_none() && l.hs.into_channel().is_none());
}

#[test]
fn non_tete_peer_is_rejected_at_its_first_byte() {
    let (mut c, _) = start(Role::Connector, PASSWORD, 1);
    let mut out = Vec::new();
    assert_eq!(c.receive(b"TE", &mut out), Ok(2));
    assert_eq!(c.receive(b"S", &mut out), Err(SecureError::NotTete));
    let (mut l, _) = start(Role::Listener, PASSWORD, 2);
    assert_eq!(
        l.receive(b"GET / HTTP/1.1\r\n", &mut out),
        Err(SecureError::NotTete)
    );
    assert!(out.is_empty());
    // Errors are final, even if good bytes follow.
    assert_eq!(c.receive(b"", &mut out), Err(SecureError::NotTete));
}

#[test]
fn unsupported_version_is_rejected() {
    let (mut c, _) = start(Role::Connector, PASSWORD, 1);
    let mut out = Vec::new();
    assert_eq!(c.receive(b"TETE", &mut out), Ok(4));
    assert_eq!(
        c.receive(b"\x02\x02", &mut out),
        Err(SecureError::UnsupportedVersion)
    );
}

#[test]
fn same_role_on_both_ends_is_rejected() {
    for role in [Role::Connector, Role::Listener] {
        let (mut a, mut b) = (
            End::new(start(role, PASSWORD, 1)),
            End::new(start(role, PASSWORD, 2)),
        );
        run(&mut a, &mut b, 1, &untouched, &untouched);
        assert_eq!(a.result, Err(SecureError::SameRole(role)));
        assert_eq!(b.result, Err(SecureError::SameRole(role)));
    }
    assert_eq!(
        SecureError::SameRole(Role::Listener).to_string(),
        "both ends are listeners"
    );
}

#[test]
fn role_byte_other_than_1_or_2_is_malformed() {
    let (mut c, _) = start(Role::Connector, PASSWORD, 1);
    assert_eq!(
        c.receive(b"TETE\x01\x03", &mut Vec::new()),
        Err(SecureError::MalformedHello)
    );
}

#[test]
fn reflection_never_completes() {
    for role in [Role::Connector, Role::Listener] {
        // A plain echo: our own HELLO comes back.
        let (mut hs, hello) = start(role, PASSWORD, 1);
        assert_eq!(
            hs.receive(&hello, &mut Vec::new()),
            Err(SecureError::SameRole(role))
        );

        // An echo that rewrites the role byte: SPAKE2's side byte still says it is ours.
        let (mut hs, mut hello) = start(role, PASSWORD, 1);
        hello[5] ^= 0x03;
        assert_eq!(
            hs.receive(&hello, &mut Vec::new()),
            Err(SecureError::MalformedHello)
        );

        // One that also rewrites SPAKE2's side byte ('A' <-> 'B'), then echoes our CONFIRM too.
        let (mut hs, mut wire) = start(role, PASSWORD, 1);
        wire[5] ^= 0x03;
        wire[6] ^= b'A' ^ b'B';
        let mut out = Vec::new();
        assert_eq!(hs.receive(&wire, &mut out), Ok(HELLO_LEN));
        assert_eq!(
            hs.receive(&out, &mut Vec::new()),
            Err(SecureError::WrongPassword)
        );
        assert!(!hs.is_complete());
    }
}

#[test]
fn reflected_confirm_after_a_genuine_hello_fails() {
    let (mut c, _) = start(Role::Connector, PASSWORD, 1);
    let (_, l_hello) = start(Role::Listener, PASSWORD, 2);
    let mut own_confirm = Vec::new();
    assert_eq!(c.receive(&l_hello, &mut own_confirm), Ok(HELLO_LEN));
    assert_eq!(
        c.receive(&own_confirm, &mut Vec::new()),
        Err(SecureError::WrongPassword)
    );
}

#[test]
fn any_flipped_hello_byte_fails_both_ends() {
    for i in 0..HELLO_LEN {
        let flip = |at: usize, b: u8| if at == i { b ^ (1 << (i % 8)) } else { b };
        for to_connector in [true, false] {
            let (mut c, mut l) = pair(PASSWORD, PASSWORD);
            let (to_c, to_l): (Mitm, Mitm) = if to_connector {
                (&flip, &untouched)
            } else {
                (&untouched, &flip)
            };
            run(&mut c, &mut l, usize::MAX, to_c, to_l);
            // The end that got the flipped HELLO fails; the other never completes (it fails too
            // if the flip reached SPAKE2, else it waits for a CONFIRM that never comes).
            let receiver = if to_connector { &c.result } else { &l.result };
            assert!(receiver.is_err(), "byte {i}");
            assert!(!c.hs.is_complete() && !l.hs.is_complete(), "byte {i}");
        }
    }
}

#[test]
fn any_flipped_confirm_byte_is_a_wrong_password() {
    for i in 0..CONFIRM_LEN {
        let flip = |at: usize, b: u8| {
            if at == HELLO_LEN + i {
                b ^ (1 << (i % 8))
            } else {
                b
            }
        };
        let (mut c, mut l) = pair(PASSWORD, PASSWORD);
        run(&mut c, &mut l, usize::MAX, &flip, &untouched);
        assert_eq!(c.result, Err(SecureError::WrongPassword), "byte {i}");
        assert!(!c.hs.is_complete());
    }
}

#[test]
fn every_bit_flip_in_a_record_is_rejected_and_delivers_nothing() {
    let (mut sealer, _) = direction();
    let mut wire = data(&mut sealer, b"abc");
    let record_len = wire.len();
    wire.extend(close(&mut sealer));
    // Header, type byte, body and tag: every bit of the DATA record.
    for bit in 0..record_len * 8 {
        let mut bad = wire.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let (_, mut opener) = direction();
        let (plain, end) = open_all(&mut opener, &bad, usize::MAX);
        assert!(end.is_err(), "bit {bit} accepted");
        assert!(plain.is_empty(), "bit {bit} delivered {plain:?}");
    }
}

/// Authentic records that arrive in the same read as a damaged one are delivered; the error
/// comes with the next call, and nothing of the damaged record is.
#[test]
fn records_before_the_damage_are_delivered_then_the_error() {
    let (mut sealer, mut opener) = direction();
    let mut wire = data(&mut sealer, b"authentic");
    let mut damaged = data(&mut sealer, b"tampered");
    *damaged.last_mut().unwrap() ^= 1;
    wire.extend_from_slice(&damaged);
    let mut out = [0u8; 64];
    let first = OVERHEAD + b"authentic".len();
    assert_eq!(opener.open(&mut wire, &mut out), Ok((first, 9)));
    assert_eq!(&out[..9], b"authentic");
    assert_eq!(
        opener.open(&mut wire[first..], &mut out[9..]),
        Err(SecureError::Tampered)
    );
}

#[test]
fn tag_failure_leaves_out_untouched() {
    let (mut sealer, mut opener) = direction();
    let mut record = data(&mut sealer, b"secret");
    *record.last_mut().unwrap() ^= 1;
    let mut out = [0xEE; 64];
    assert_eq!(
        opener.open(&mut record, &mut out),
        Err(SecureError::Tampered)
    );
    assert_eq!(out, [0xEE; 64]);
    // Errors are final.
    assert_eq!(opener.open(&mut [], &mut out), Err(SecureError::Tampered));
    assert_eq!(opener.finish(0), Err(SecureError::Tampered));
}

#[test]
fn dropped_duplicated_and_swapped_records_are_rejected() {
    let (mut sealer, _) = direction();
    let r: Vec<Vec<u8>> = vec![
        data(&mut sealer, b"r0"),
        data(&mut sealer, b"r1"),
        close(&mut sealer),
    ];
    let cases: [(&[usize], &[u8]); 3] =
        [(&[0, 2], b"r0"), (&[0, 0, 1, 2], b"r0"), (&[1, 0, 2], b"")];
    for (order, delivered) in cases {
        let wire: Vec<u8> = order.iter().flat_map(|&i| r[i].clone()).collect();
        let (_, mut opener) = direction();
        // One byte per read, so each good record is delivered before the bad one arrives.
        assert_eq!(
            open_all(&mut opener, &wire, 1),
            (delivered.to_vec(), Err(SecureError::Tampered))
        );
    }
}

#[test]
fn records_of_another_direction_or_session_are_rejected() {
    let ((mut c_seal, mut c_open), (_, mut l_open)) = channels(usize::MAX, 1);
    let wire = data(&mut c_seal, b"mine");
    // Reflected back to the connector: the other direction's key.
    assert_eq!(
        open_all(&mut c_open, &wire, usize::MAX).1,
        Err(SecureError::Tampered)
    );
    // Replayed into a fresh session.
    let ((_, _), (_, mut other_session)) = channels(usize::MAX, 3);
    assert_eq!(
        open_all(&mut other_session, &wire, usize::MAX).1,
        Err(SecureError::Tampered)
    );
    assert_eq!(
        open_all(&mut l_open, &wire, usize::MAX),
        (b"mine".to_vec(), Err(SecureError::Truncated))
    );
}

#[test]
fn length_out_of_range_is_rejected_from_the_header_alone() {
    let max_l = (MAX_PAYLOAD + 17) as u32;
    for l in (0..17).chain([max_l + 1, u32::MAX]) {
        let (_, mut opener) = direction();
        let mut header = l.to_be_bytes();
        assert_eq!(
            opener.open(&mut header, &mut [0; 8]),
            Err(SecureError::LengthOutOfRange),
            "L = {l}"
        );
    }
    for l in [17, max_l] {
        let (_, mut opener) = direction();
        assert_eq!(
            opener.open(&mut l.to_be_bytes(), &mut []),
            Ok((0, 0)),
            "L = {l} waits for its body"
        );
    }
}

#[test]
fn a_payload_that_does_not_fit_waits_for_room() {
    let (mut sealer, mut opener) = direction();
    let mut wire = data(&mut sealer, &[1; 100]);
    let first = wire.len();
    wire.extend(data(&mut sealer, &[2; 50]));
    assert_eq!(opener.open(&mut wire, &mut [0; 99]), Ok((0, 0)));
    assert_eq!(opener.open(&mut wire, &mut [0; 149]), Ok((first, 100)));
    assert_eq!(
        opener.open(&mut wire[first..], &mut [0; 50]),
        Ok((wire.len() - first, 50))
    );
}

#[test]
fn largest_record_round_trips_and_sizes_are_checked() {
    let (mut sealer, mut opener) = direction();
    let mut record = vec![9; MAX_RECORD];
    sealer.seal_data(&mut record).unwrap();
    assert_eq!(
        record[..HEADER_LEN],
        ((MAX_PAYLOAD + 17) as u32).to_be_bytes()
    );
    let mut out = vec![0; MAX_PAYLOAD];
    assert_eq!(
        opener.open(&mut record, &mut out),
        Ok((MAX_RECORD, MAX_PAYLOAD))
    );
    assert_eq!(out, vec![9; MAX_PAYLOAD]);
    for len in [0, OVERHEAD, MAX_RECORD + 1] {
        assert_eq!(
            sealer.seal_data(&mut vec![0; len]),
            Err(SecureError::LengthOutOfRange)
        );
    }
    assert_eq!(
        sealer.seal_close(&mut [0; OVERHEAD + 1]),
        Err(SecureError::LengthOutOfRange)
    );
}

#[test]
fn authentic_but_malformed_records_are_rejected() {
    // An unknown type, an empty DATA, a CLOSE with a payload.
    for (kind, len) in [(2, OVERHEAD + 1), (0, OVERHEAD), (1, OVERHEAD + 1)] {
        let (mut sealer, mut opener) = direction();
        let mut record = vec![0; len];
        sealer.seal(kind, &mut record).unwrap();
        assert_eq!(
            opener.open(&mut record, &mut [0; 8]),
            Err(SecureError::MalformedRecord)
        );
    }
}

#[test]
fn truncation_is_caught_at_eof() {
    let (mut sealer, _) = direction();
    let r0 = data(&mut sealer, b"r0");
    let end = close(&mut sealer);
    let whole = [r0.clone(), end].concat();
    for cut in [0, 2, r0.len() - 1, r0.len(), whole.len() - 1] {
        let (_, mut opener) = direction();
        let (_, result) = open_all(&mut opener, &whole[..cut], usize::MAX);
        assert_eq!(result, Err(SecureError::Truncated), "cut at {cut}");
    }
}

#[test]
fn bytes_after_close_are_rejected() {
    let (mut sealer, _) = direction();
    let wire = close(&mut sealer);
    // In the same read as the CLOSE.
    let (_, mut opener) = direction();
    let mut input = [wire.as_slice(), &[0]].concat();
    assert_eq!(
        opener.open(&mut input, &mut [0; 8]),
        Err(SecureError::DataAfterEnd)
    );
    // In a later read, and at EOF.
    let (_, mut opener) = direction();
    assert_eq!(opener.open(&mut wire.clone(), &mut []), Ok((OVERHEAD, 0)));
    assert!(opener.is_closed());
    assert_eq!(opener.finish(1), Err(SecureError::DataAfterEnd));
    assert_eq!(opener.open(&mut [], &mut []), Ok((0, 0)));
    assert_eq!(opener.finish(0), Ok(()));
    assert_eq!(
        opener.open(&mut [0], &mut []),
        Err(SecureError::DataAfterEnd)
    );
}

#[test]
fn counters_stop_before_wrapping() {
    let (mut sealer, mut opener) = direction();
    sealer.0.counter = u64::MAX - 1;
    opener.dir.counter = u64::MAX - 1;
    let mut last = data(&mut sealer, b"last");
    assert_eq!(opener.open(&mut last, &mut [0; 8]), Ok((last.len(), 4)));
    assert_eq!(
        sealer.seal_close(&mut [0; OVERHEAD]),
        Err(SecureError::CounterExhausted)
    );
    let mut extra = vec![0; OVERHEAD];
    Sealer::new(&[7; 32]).seal_close(&mut extra).unwrap();
    assert_eq!(
        opener.open(&mut extra, &mut []),
        Err(SecureError::CounterExhausted)
    );
}

#[test]
fn messages_are_plain_lines() {
    for err in [
        SecureError::WrongPassword,
        SecureError::Truncated,
        SecureError::SameRole(Role::Connector),
    ] {
        let line = err.to_string();
        assert!(
            !line.is_empty() && !line.contains('\n') && !line.starts_with("tete:"),
            "{line}"
        );
    }
}

/// Freezes the wire format: seeded RNGs make both HELLOs, both CONFIRMs and the first records
/// reproducible, so any change to framing, labels, key schedule or AEAD use fails here.
#[test]
fn known_answer() {
    let (mut c, mut l) = pair(PASSWORD, PASSWORD);
    run(&mut c, &mut l, usize::MAX, &untouched, &untouched);
    let (c_wire, l_wire) = (l.inbox, c.inbox);
    let ((mut c_seal, _), (mut l_seal, _)) =
        (c.hs.into_channel().unwrap(), l.hs.into_channel().unwrap());
    let got = [
        hex(&c_wire[..HELLO_LEN]),
        hex(&l_wire[..HELLO_LEN]),
        hex(&c_wire[HELLO_LEN..]),
        hex(&l_wire[HELLO_LEN..]),
        hex(&data(&mut c_seal, b"hello, listener")),
        hex(&close(&mut c_seal)),
        hex(&data(&mut l_seal, b"hello, connector")),
        hex(&close(&mut l_seal)),
    ];
    let expected = [
        "54455445010141c581cf958db72643cacd7a137b6e77873a265f47ac1be1750ed8e27baa99063d",
        "544554450102424565b854537544789c55375b1498ca070b2702f75b42260b0ccb6c9e130ce9fb",
        "dd259d5bdaeca1d015ccafa0cbb8ae9b0e9efbaf10b959582a51305c2a1653e1",
        "333019b1b4543d539cdf34b2ad404a49733711d7dc44d962be0cf15195140da6",
        "00000020da48f7446f48420249e0fcc93044b9fbce6c466fb968614c608e2f25bedcb98d",
        "000000111ca85641c1081d232a2174ddf591cd7106",
        "000000219db91c6dc5a314d70e8a009c0f68327d3c70ae71d41a1af55fc129f9bdb7d266eb",
        "000000117c35330eac6989b2f14d55e2636b93ffc1",
    ];
    assert_eq!(got, expected);
}

/// The record layout (L, type byte, nonce = 4 zero bytes | counter, AAD = header) checked against
/// an independent ChaCha20-Poly1305 (Python's `cryptography`, RFC 8439) with the key 07 * 32.
#[test]
fn record_layout_matches_an_independent_implementation() {
    let (mut sealer, _) = direction();
    assert_eq!(
        hex(&data(&mut sealer, b"abc")),
        "0000001437e54b6f244368bc139fcd5f34311d00effc54e5"
    );
    assert_eq!(
        hex(&close(&mut sealer)),
        "00000011e8bf2ba02b43a6eff0d77d1ab6b608d8f8"
    );
}
