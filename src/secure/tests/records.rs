//! Records: tampering, reordering, truncation, sizes, counters and rekeying, the messages,
//! and the known answers that freeze the wire format.

use super::*;

#[test]
fn every_bit_flip_in_a_record_is_rejected_and_delivers_nothing() {
    for cipher in CIPHERS {
        let (mut sealer, _) = direction(cipher);
        let mut wire = data(&mut sealer, b"abc");
        let record_len = wire.len();
        wire.extend(close(&mut sealer, CloseReason::EndOfInput));
        // Header, body, type byte and tag: every bit of the DATA record.
        for bit in 0..record_len * 8 {
            let mut bad = wire.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let (_, mut opener) = direction(cipher);
            let (plain, end) = open_all(&mut opener, &bad, usize::MAX);
            assert!(end.is_err(), "{cipher}: bit {bit} accepted");
            assert!(plain.is_empty(), "{cipher}: bit {bit} delivered {plain:?}");
        }
    }
}

/// Authentic records in the same read as a damaged one are opened; the damaged one fails, and
/// errors are final.
#[test]
fn records_before_the_damage_are_delivered_then_the_error() {
    let (mut sealer, mut opener) = direction(Cipher::Aes256Gcm);
    let mut wire = data(&mut sealer, b"authentic");
    let mut damaged = data(&mut sealer, b"tampered");
    *damaged.last_mut().expect("a record has a tag") ^= 1;
    wire.extend_from_slice(&damaged);
    let first = OVERHEAD + b"authentic".len();
    let opened = opener
        .open_within(&mut wire, 0, 0)
        .expect("an authentic record")
        .expect("a whole record");
    assert_eq!((opened.consumed, opened.content), (first, Content::Data(9)));
    assert_eq!(&wire[..9], b"authentic");
    assert_eq!(
        opener.open_within(&mut wire, 9, first),
        Err(SecureError::Tampered)
    );
    assert_eq!(
        opener.open_within(&mut [], 0, 0),
        Err(SecureError::Tampered)
    );
    assert_eq!(opener.finish(0), Err(SecureError::Tampered));
}

#[test]
fn dropped_duplicated_and_swapped_records_are_rejected() {
    let (mut sealer, _) = direction(Cipher::ChaCha20Poly1305);
    let r: Vec<Vec<u8>> = vec![
        data(&mut sealer, b"r0"),
        data(&mut sealer, b"r1"),
        close(&mut sealer, CloseReason::EndOfInput),
    ];
    let cases: [(&[usize], &[u8]); 3] =
        [(&[0, 2], b"r0"), (&[0, 0, 1, 2], b"r0"), (&[1, 0, 2], b"")];
    for (order, delivered) in cases {
        let wire: Vec<u8> = order.iter().flat_map(|&i| r[i].clone()).collect();
        let (_, mut opener) = direction(Cipher::ChaCha20Poly1305);
        assert_eq!(
            open_all(&mut opener, &wire, 1),
            (delivered.to_vec(), Err(SecureError::Tampered))
        );
    }
}

#[test]
fn records_of_another_direction_or_session_are_rejected() {
    let (mut c, _) = channels(usize::MAX, 1, (true, true));
    let wire = data(&mut c.sealer, b"mine");
    // Reflected back to the connector: the other direction's key.
    assert_eq!(
        open_all(&mut c.opener, &wire, usize::MAX).1,
        Err(SecureError::Tampered)
    );
    // Replayed into a fresh session.
    let (_, mut other_session) = channels(usize::MAX, 3, (true, true));
    assert_eq!(
        open_all(&mut other_session.opener, &wire, usize::MAX).1,
        Err(SecureError::Tampered)
    );
}

#[test]
fn length_out_of_range_is_rejected_from_the_header_alone() {
    let max_l = (MAX_PAYLOAD + 17) as u32;
    for l in (0..17).chain([max_l + 1, u32::MAX]) {
        let (_, mut opener) = direction(Cipher::Aes256Gcm);
        assert_eq!(
            opener.open_within(&mut l.to_be_bytes(), 0, 0),
            Err(SecureError::LengthOutOfRange),
            "L = {l}"
        );
    }
    for l in [17, max_l] {
        let (_, mut opener) = direction(Cipher::Aes256Gcm);
        assert_eq!(
            opener.open_within(&mut l.to_be_bytes(), 0, 0),
            Ok(None),
            "L = {l} waits for its body"
        );
    }
}

#[test]
fn largest_record_round_trips_and_sizes_are_checked() {
    for cipher in CIPHERS {
        let (mut sealer, mut opener) = direction(cipher);
        let mut record = vec![9; MAX_RECORD];
        sealer.seal_data(&mut record).expect("a data record sealed");
        assert_eq!(
            record[..HEADER_LEN],
            ((MAX_PAYLOAD + 17) as u32).to_be_bytes()
        );
        let opened = opener
            .open_within(&mut record, 0, 0)
            .expect("an authentic record")
            .expect("a whole record");
        assert_eq!(opened.content, Content::Data(MAX_PAYLOAD));
        assert_eq!(record[..MAX_PAYLOAD], vec![9; MAX_PAYLOAD]);
        for len in [0, OVERHEAD, MAX_RECORD + 1] {
            assert_eq!(
                sealer.seal_data(&mut vec![0; len]),
                Err(SecureError::LengthOutOfRange)
            );
        }
        assert_eq!(
            sealer.seal_close(CloseReason::EndOfInput, &mut [0; CLOSE_LEN + 1]),
            Err(SecureError::LengthOutOfRange)
        );
    }
}

#[test]
fn authentic_but_malformed_records_are_rejected() {
    // An unknown type, an empty DATA, a CLOSE without or with two payload bytes, a CLOSE with
    // an unknown reason, a READY where it does not belong.
    for (kind, len, payload) in [
        (3, OVERHEAD + 1, 0),
        (0, OVERHEAD, 0),
        (1, OVERHEAD, 0),
        (1, OVERHEAD + 2, 0),
        (1, OVERHEAD + 1, 2),
        (2, OVERHEAD, 0),
    ] {
        let (mut sealer, mut opener) = direction(Cipher::Aes256Gcm);
        let mut record = vec![payload; len];
        sealer.seal(kind, &mut record).expect("a record sealed");
        assert_eq!(
            opener.open_within(&mut record, 0, 0),
            Err(SecureError::MalformedRecord),
            "type {kind}, length {len}"
        );
    }
    // An opener that expects READY first takes nothing else first.
    let (mut sealer, _) = direction(Cipher::Aes256Gcm);
    let mut opener = Opener::new(Cipher::Aes256Gcm, &[7; 32], true);
    assert_eq!(
        opener.open_within(&mut data(&mut sealer, b"early"), 0, 0),
        Err(SecureError::MalformedRecord)
    );
}

#[test]
fn truncation_is_caught_at_eof() {
    let (mut sealer, _) = direction(Cipher::Aes256Gcm);
    let r0 = data(&mut sealer, b"r0");
    let end = close(&mut sealer, CloseReason::EndOfInput);
    let whole = [r0.clone(), end].concat();
    for cut in [0, 2, r0.len() - 1, r0.len(), whole.len() - 1] {
        let (_, mut opener) = direction(Cipher::Aes256Gcm);
        let (_, result) = open_all(&mut opener, &whole[..cut], usize::MAX);
        assert_eq!(result, Err(SecureError::Truncated), "cut at {cut}");
    }
}

#[test]
fn bytes_after_close_are_rejected() {
    let (mut sealer, _) = direction(Cipher::Aes256Gcm);
    let wire = close(&mut sealer, CloseReason::EndOfInput);
    // In the same read as the CLOSE.
    let (_, mut opener) = direction(Cipher::Aes256Gcm);
    let mut input = [wire.as_slice(), &[0]].concat();
    let opened = opener
        .open_within(&mut input, 0, 0)
        .expect("an authentic record")
        .expect("a whole record");
    assert_eq!(opened.content, Content::Close(CloseReason::EndOfInput));
    assert_eq!(
        opener.open_within(&mut input, 0, CLOSE_LEN),
        Err(SecureError::DataAfterEnd)
    );
    // At EOF.
    let (_, mut opener) = direction(Cipher::Aes256Gcm);
    assert!(
        opener
            .open_within(&mut wire.clone(), 0, 0)
            .expect("an authentic record")
            .is_some()
    );
    assert_eq!(opener.finish(1), Err(SecureError::DataAfterEnd));
    assert_eq!(opener.finish(0), Ok(CloseReason::EndOfInput));
}

#[test]
fn counters_stop_before_wrapping() {
    let (mut sealer, mut opener) = direction(Cipher::ChaCha20Poly1305);
    // Rekeying at the same counters on both sides keeps them in step.
    sealer.0.counter = u64::MAX - 1;
    opener.dir.counter = u64::MAX - 1;
    let mut last = data(&mut sealer, b"last");
    assert!(
        opener
            .open_within(&mut last, 0, 0)
            .expect("an authentic record")
            .is_some()
    );
    assert_eq!(
        sealer.seal_close(CloseReason::EndOfInput, &mut [0; CLOSE_LEN]),
        Err(SecureError::CounterExhausted)
    );
    let mut extra = close(
        &mut Sealer::new(Cipher::ChaCha20Poly1305, &[7; 32]),
        CloseReason::EndOfInput,
    );
    assert_eq!(
        opener.open_within(&mut extra, 0, 0),
        Err(SecureError::CounterExhausted)
    );
}

/// With the interval lowered to 3, records 0-2 use the first key, 3-5 the next, and so on: both
/// ends stay in step, the key really changes, and the nonce counter goes on.
#[test]
fn keys_change_every_interval_and_both_ends_follow() {
    for cipher in CIPHERS {
        let (mut sealer, mut opener) = direction(cipher);
        sealer.0.rekey_interval = 3;
        opener.dir.rekey_interval = 3;
        let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 5]).collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        round_trip(&mut sealer, &mut opener, &refs, 7);
        assert_eq!(sealer.0.counter, 11);

        // A sealer that never rekeys agrees on records 0-2 and differs from record 3 on.
        let (mut rekeying, _) = direction(cipher);
        rekeying.0.rekey_interval = 3;
        let (mut steady, _) = direction(cipher);
        for record in 0..5 {
            let same = data(&mut rekeying, b"same") == data(&mut steady, b"same");
            assert_eq!(same, record < 3, "{cipher}: record {record}");
        }
        // An opener that does not rekey fails at the first record under the new key.
        let (mut sealer, _) = direction(cipher);
        sealer.0.rekey_interval = 2;
        let wire: Vec<u8> = (0..3).flat_map(|_| data(&mut sealer, b"r")).collect();
        let (_, mut steady) = direction(cipher);
        assert_eq!(
            open_all(&mut steady, &wire, usize::MAX),
            (b"rr".to_vec(), Err(SecureError::Tampered))
        );
    }
}

/// The real interval: the 2^20th record of a direction is sealed under the next key.
#[test]
fn rekey_happens_at_two_to_the_twenty() {
    assert_eq!(REKEY_INTERVAL, 1 << 20);
    let (mut a, _) = direction(Cipher::Aes256Gcm);
    let (mut b, _) = direction(Cipher::Aes256Gcm);
    a.0.counter = REKEY_INTERVAL - 1;
    b.0.counter = REKEY_INTERVAL - 1;
    b.0.rekey_interval = u64::MAX;
    assert_eq!(data(&mut a, b"x"), data(&mut b, b"x"));
    assert_ne!(data(&mut a, b"x"), data(&mut b, b"x"));
}

#[test]
fn messages_are_plain_lines() {
    for err in [
        SecureError::WrongPassword,
        SecureError::Rejected,
        SecureError::ListenerUnverified,
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

/// The wire of a whole seeded session between two ends whose HELLOs carry `flags`: both
/// HELLOs, CONFIRM_C, CONFIRM_L, READY, then one record and CLOSE each way; with heartbeats on,
/// a ping from the connector after its record and the listener's pong after its own.
fn session_wire(flags: u8) -> Vec<String> {
    let start = |role, seed| {
        let mut hello = Vec::new();
        let rng = ChaCha20Rng::seed_from_u64(seed);
        (
            Handshake::with_flags(role, PASSWORD, flags, rng, &mut hello),
            hello,
        )
    };
    let mut c = End::new(start(Role::Connector, 1));
    let mut l = End::new(start(Role::Listener, 2));
    run(&mut c, &mut l, usize::MAX, &untouched, &untouched);
    let (c_wire, l_wire) = (l.inbox, c.inbox);
    let (mut c_chan, mut l_chan) = (
        c.hs.take_channel().expect("connector complete"),
        l.hs.take_channel().expect("listener complete"),
    );
    let first = data(&mut c_chan.sealer, b"hello, listener");
    let mut wire = vec![
        hex(&c_wire[..HELLO_LEN]),
        hex(&l_wire[..HELLO_LEN]),
        hex(&c_wire[HELLO_LEN..HELLO_LEN + CONFIRM_LEN]),
        hex(&l_wire[HELLO_LEN..]),
        hex(&c_wire[HELLO_LEN + CONFIRM_LEN..]),
        hex(&first),
    ];
    if c_chan.heartbeats() {
        // The listener opens the ping, and so owes the pong it sends below.
        let ping = heartbeat(&mut c_chan, Beat::Ping).expect("a ping sealed");
        assert_eq!(open_one(&mut l_chan.opener, &first), Ok(Content::Data(15)));
        assert_eq!(
            open_one(&mut l_chan.opener, &ping),
            Ok(Content::Heartbeat(Beat::Ping))
        );
        wire.push(hex(&ping));
    }
    wire.push(hex(&close(&mut c_chan.sealer, CloseReason::EndOfInput)));
    wire.push(hex(&data(&mut l_chan.sealer, b"hello, connector")));
    if l_chan.heartbeats() {
        wire.push(hex(
            &heartbeat(&mut l_chan, Beat::Pong).expect("a pong sealed")
        ));
    }
    wire.push(hex(&close(&mut l_chan.sealer, CloseReason::Interrupted)));
    wire
}

/// Freezes the wire format with AES-256-GCM and heartbeats: seeded RNGs make every handshake
/// message and the first records reproducible, so any change to framing, labels, key schedule
/// or AEAD use fails.
#[test]
fn known_answer_aes_256_gcm() {
    let expected = [
        // connector's HELLO (flags 0x03: AES-GCM is fast, heartbeats)
        "5445544502010341c581cf958db72643cacd7a137b6e77873a265f47ac1be1750ed8e27baa99063d",
        // listener's HELLO
        "54455445020203424565b854537544789c55375b1498ca070b2702f75b42260b0ccb6c9e130ce9fb",
        // CONFIRM_C
        "e0e4563d5434a36c03350a7a4eee31e9f777e67cf95b675c4ea013abf405683c",
        // CONFIRM_L
        "4489f5c8bf4421e9bfd80abc0152d6dda827e2fc06351952cbcdd35d972cd446",
        // READY
        "00000011ddb4955cd7df135a0e5d5559ca0a3db1bf",
        // DATA c2l
        "0000002073ad093b896d039dcc941214b5fea4623145cae562551f929c9566edcee7bdf0",
        // HEARTBEAT c2l (ping)
        "000000123275533b8a1fe9ab5f39069c498518c62fcc",
        // CLOSE c2l (end of input)
        "00000012bce65a7be332ba3fe838a44197a1aeff2ae3",
        // DATA l2c
        "000000215fa5cd9e562151f68b91ac69e888fe5b4164a6afcb7bdfb3b2fa96c96ee66f7cdb",
        // HEARTBEAT l2c (pong)
        "00000012e82c5b55edaa982b31c9425e97f7e42b387d",
        // CLOSE l2c (interrupted)
        "00000012564b7710937f26b332c42ba65d126d94bf06",
    ];
    assert_eq!(session_wire(0x03), expected);
}

/// The same with ChaCha20-Poly1305 (both HELLOs without the AES flag).
#[test]
fn known_answer_chacha20_poly1305() {
    let expected = [
        // connector's HELLO (flags 0x02: heartbeats)
        "5445544502010241c581cf958db72643cacd7a137b6e77873a265f47ac1be1750ed8e27baa99063d",
        // listener's HELLO
        "54455445020202424565b854537544789c55375b1498ca070b2702f75b42260b0ccb6c9e130ce9fb",
        // CONFIRM_C
        "cd93b9ae7c36a56bd0fc76ef8b29587b973f1c28d3c6c34a9446221e4fb13602",
        // CONFIRM_L
        "efb8720ea45d280e6d302913e2449461418345706fb03d5f8403c7607fa8637b",
        // READY
        "000000117592c7e1a902e485207c2ddda49f47704f",
        // DATA c2l
        "00000020aa8a84138ebb176768226a9417ef07ba5bdd8bc6670cf3d447f504fc4fcbb94e",
        // HEARTBEAT c2l (ping)
        "0000001227a745fd36c4982fe0238a1995492ed2d66b",
        // CLOSE c2l (end of input)
        "000000120e18bfd13fcd891bdeb64c00cc5b2caddde9",
        // DATA l2c
        "00000021b839eb5f3064acb52098e3b89bba112316ac76bff323864cd2c62f2e4aca683adf",
        // HEARTBEAT l2c (pong)
        "00000012e182a45b34cbd70876cd1319eccdf3dddf77",
        // CLOSE l2c (interrupted)
        "000000124707f5437d5a76fc321ad019f88967fe0f95",
    ];
    assert_eq!(session_wire(0x02), expected);
}

/// A version 2 tete from before heartbeats (flag bit 1 clear) gets exactly the wire it always
/// did: these are the known answers of that version, unchanged. Heartbeats stay off when either
/// HELLO lacks the bit.
#[test]
fn known_answer_without_heartbeats_is_the_older_wire() {
    let aes: [&str; 9] = [
        "5445544502010141c581cf958db72643cacd7a137b6e77873a265f47ac1be1750ed8e27baa99063d",
        "54455445020201424565b854537544789c55375b1498ca070b2702f75b42260b0ccb6c9e130ce9fb",
        "920ea35f53d47a1d4bddd94885c88b4cf89a4aff074ee4d2de3a34bbaf0eb19f",
        "7de61dc49b230dd90bdef346480a003d65cde2af39d4931d353a85c88ff5f07b",
        "000000117eb13581c8065e88c3c74a2c64126fb189",
        "00000020fafc61f2c809598503c76aed28e6bc4780baa2f5e5705ce4fb387608debb1686",
        "000000121bccc8ea6794bd01a8302450f0ab2d844d4b",
        "00000021778739963a098377ae7feaa7e290e627b0f71b73de42a361dd8e95dc4210a19cd8",
        "0000001264ea7487697fafa0efc6668c7a791665e719",
    ];
    let chacha: [&str; 9] = [
        "5445544502010041c581cf958db72643cacd7a137b6e77873a265f47ac1be1750ed8e27baa99063d",
        "54455445020200424565b854537544789c55375b1498ca070b2702f75b42260b0ccb6c9e130ce9fb",
        "f10dbd8fc31ffbb95f8e462dc81e16459dbb18613feaba3d9ad427d5cdbfc340",
        "2c43d827babfe76f12a063925ba2bfe74f676d54c825ac30816b3c7e651c7480",
        "00000011574e538e9dffb6a6e7844da68dd8646989",
        "00000020a489235d2079620895aad10aa08efc70155a3cf89ef5c3564869a8fa10b89fe7",
        "00000012c0a1abf63dd56e60f57275e39513dd2566cc",
        "00000021011f5fe0fb24f4e8e01e156e4eb29976fbb53c78666640e744456b25b23bb421e9",
        "00000012e37feb1b03c437a881400cecfa150485d8ea",
    ];
    assert_eq!(session_wire(0x01), aes);
    assert_eq!(session_wire(0x00), chacha);
}

/// The record layout (L, payload, trailing type byte, nonce = 4 zero bytes | counter, AAD =
/// header) checked against an independent implementation (Python's `cryptography`) with the key
/// 07 * 32.
#[test]
fn record_layout_matches_an_independent_implementation() {
    let (mut aes, _) = direction(Cipher::Aes256Gcm);
    let (mut chacha, _) = direction(Cipher::ChaCha20Poly1305);
    let got = [
        hex(&data(&mut aes, b"abc")),
        hex(&close(&mut aes, CloseReason::Interrupted)),
        hex(&data(&mut chacha, b"abc")),
        hex(&close(&mut chacha, CloseReason::Interrupted)),
    ];
    let expected = [
        "0000001400bac7b20bbc75a307f73f8cc1ec5d38f58ec5c9",
        "0000001231495ee4cc5d76482bb42793634144fcfab8",
        "0000001456e64a0ce185357a0405260e3cd375ed1659d46a",
        "00000012e81622b6f34f62aa988c662c256fa726a482",
    ];
    assert_eq!(got, expected);
    // HEARTBEAT: a ping (record 0) and a pong (record 1), type 0x03, one payload byte.
    let mut got = Vec::new();
    for cipher in CIPHERS {
        let (mut sealer, _) = direction(cipher);
        for beat in [Beat::Ping, Beat::Pong] {
            let mut record = [0; HEARTBEAT_LEN];
            sealer
                .seal_heartbeat(beat, &mut record)
                .expect("a heartbeat sealed");
            got.push(hex(&record));
        }
    }
    let expected = [
        "0000001261dbe57715b16d49aa0bd5894296c421a4e0",
        "00000012314b7d3d1ae82edfc4604f79f63e6c5572f9",
        "0000001237871c0c767a02ee6f5f0d6a99e21a558936",
        "00000012e8143ae55cfc3bc440eb925583c031d7818f",
    ];
    assert_eq!(got, expected);
}
