//! Heartbeat records: when they are on, how they are answered, and that they can be neither
//! forged nor replayed, nor follow a CLOSE.

use super::*;

/// Heartbeats are on only when both HELLOs offer them: a version 2 tete from before them, on
/// either side, turns them off for both, and the cipher is chosen as before.
#[test]
fn heartbeats_need_both_hellos() {
    for (flags_c, flags_l, on) in [
        (0x03, 0x03, true),
        (0x02, 0x03, true),
        (0x01, 0x03, false),
        (0x03, 0x01, false),
        (0x00, 0x00, false),
    ] {
        let start = |role, flags, seed| {
            let mut hello = Vec::new();
            let rng = ChaCha20Rng::seed_from_u64(seed);
            End::new((
                Handshake::with_flags(role, PASSWORD, flags, rng, &mut hello),
                hello,
            ))
        };
        let mut c = start(Role::Connector, flags_c, 1);
        let mut l = start(Role::Listener, flags_l, 2);
        run(&mut c, &mut l, 7, &untouched, &untouched);
        let (mut c, mut l) = (
            c.hs.take_channel().expect("connector complete"),
            l.hs.take_channel().expect("listener complete"),
        );
        let aes = flags_c & flags_l & 1 != 0;
        assert_eq!(c.cipher == Cipher::Aes256Gcm, aes);
        assert_eq!(
            (c.heartbeats(), l.heartbeats()),
            (on, on),
            "{flags_c} {flags_l}"
        );
        assert_eq!(c.may_ping(), on);
        let ping = heartbeat(&mut c, Beat::Ping);
        assert_eq!(
            ping.is_some(),
            on,
            "a ping goes out only when both offered them"
        );
        if !on {
            // A peer that sends one all the same has sent a malformed record.
            let mut forced = [0; HEARTBEAT_LEN];
            c.sealer
                .seal_heartbeat(Beat::Ping, &mut forced)
                .expect("room for a ping");
            assert_eq!(
                open_one(&mut l.opener, &forced),
                Err(SecureError::MalformedRecord)
            );
        }
    }
}

/// A ping is answered by one pong; the pong is not answered; a flood of pings owes one pong.
#[test]
fn a_ping_is_answered_once_and_a_pong_never() {
    for cipher in CIPHERS {
        let (mut c, mut l) = channels(usize::MAX, 1, (cipher == Cipher::Aes256Gcm, true));
        assert!(!l.pong_due());
        let ping = heartbeat(&mut c, Beat::Ping).expect("a ping sealed");
        assert_eq!(
            open_one(&mut l.opener, &ping),
            Ok(Content::Heartbeat(Beat::Ping))
        );
        assert!(l.pong_due());
        let pong = heartbeat(&mut l, Beat::Pong).expect("a pong sealed");
        assert!(!l.pong_due(), "answered");
        assert_eq!(
            heartbeat(&mut l, Beat::Pong),
            None,
            "no pong without a ping"
        );
        assert_eq!(
            open_one(&mut c.opener, &pong),
            Ok(Content::Heartbeat(Beat::Pong))
        );
        assert!(!c.pong_due(), "a pong is never answered");

        // A flood: every ping opened before the pong is answered by that one pong.
        for _ in 0..10_000 {
            let ping = heartbeat(&mut c, Beat::Ping).expect("a ping sealed");
            assert_eq!(
                open_one(&mut l.opener, &ping),
                Ok(Content::Heartbeat(Beat::Ping))
            );
        }
        assert!(heartbeat(&mut l, Beat::Pong).is_some());
        assert_eq!(
            heartbeat(&mut l, Beat::Pong),
            None,
            "one pong owed, and sent"
        );

        // Heartbeats deliver nothing and interleave with data.
        let wire = [
            data(&mut c.sealer, b"before"),
            heartbeat(&mut c, Beat::Ping).expect("a ping sealed"),
            data(&mut c.sealer, b" after"),
            close(&mut c.sealer, CloseReason::EndOfInput),
        ]
        .concat();
        for chunk in [1, 5, usize::MAX] {
            let mut opener = l.opener.clone();
            assert_eq!(
                open_all(&mut opener, &wire, chunk),
                (b"before after".to_vec(), Ok(CloseReason::EndOfInput))
            );
        }
    }
}

/// A heartbeat is a record like any other: forged, damaged, replayed or reordered, it fails.
#[test]
fn heartbeats_cannot_be_forged_or_replayed() {
    let (mut c, l) = channels(usize::MAX, 1, (true, true));
    let ping = heartbeat(&mut c, Beat::Ping).expect("a ping sealed");
    let next = heartbeat(&mut c, Beat::Ping).expect("a ping sealed");
    // Any flipped bit: never opened as a heartbeat (the tag fails, or the header does).
    for bit in 0..HEARTBEAT_LEN * 8 {
        let mut damaged = ping.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let result = l.opener.clone().open_within(&mut damaged, 0, 0);
        assert!(
            matches!(
                result,
                Ok(None) | Err(SecureError::Tampered | SecureError::LengthOutOfRange)
            ),
            "bit {bit}: {result:?}"
        );
    }
    let mut opener = l.opener.clone();
    assert!(open_one(&mut opener, &ping).is_ok());
    assert_eq!(
        open_one(&mut opener, &ping),
        Err(SecureError::Tampered),
        "replayed"
    );
    let mut opener = l.opener.clone();
    assert_eq!(
        open_one(&mut opener, &next),
        Err(SecureError::Tampered),
        "reordered"
    );
}

/// Authentic heartbeats with a payload other than one ping-or-pong byte, or as the listener's
/// first record instead of READY, are malformed.
#[test]
fn malformed_heartbeats_are_rejected() {
    for (len, byte) in [
        (OVERHEAD, 0),
        (OVERHEAD + 1, 2),
        (OVERHEAD + 1, 0xff),
        (OVERHEAD + 2, 0),
    ] {
        let (mut sealer, mut opener) = direction(Cipher::Aes256Gcm);
        opener.heartbeats = true;
        let mut record = vec![byte; len];
        sealer
            .seal(3, &mut record)
            .expect("a record of type 3 sealed");
        assert_eq!(
            open_one(&mut opener, &record),
            Err(SecureError::MalformedRecord),
            "length {len}, byte {byte}"
        );
    }
    let (mut sealer, _) = direction(Cipher::Aes256Gcm);
    let mut opener = Opener::new(Cipher::Aes256Gcm, &[7; 32], true);
    opener.heartbeats = true;
    let mut ping = [0; HEARTBEAT_LEN];
    sealer
        .seal_heartbeat(Beat::Ping, &mut ping)
        .expect("room for a ping");
    assert_eq!(
        open_one(&mut opener, &ping),
        Err(SecureError::MalformedRecord)
    );
}

/// Around CLOSE: nothing follows our CLOSE, not even the pong we owe; once the peer's CLOSE is
/// in, we send it no ping, but a pong still owed may go; a heartbeat after a CLOSE on the wire
/// is data after the end.
#[test]
fn no_heartbeat_after_close() {
    let (mut c, mut l) = channels(usize::MAX, 1, (true, true));
    let ping = heartbeat(&mut c, Beat::Ping).expect("a ping sealed");
    assert!(open_one(&mut l.opener, &ping).is_ok());
    let end = close(&mut l.sealer, CloseReason::EndOfInput);
    assert!(!l.pong_due() && !l.may_ping(), "our CLOSE is out");
    assert_eq!(heartbeat(&mut l, Beat::Pong), None);
    assert_eq!(heartbeat(&mut l, Beat::Ping), None);
    let mut record = [0; HEARTBEAT_LEN];
    assert_eq!(
        l.sealer.seal_heartbeat(Beat::Ping, &mut record),
        Err(SecureError::DataAfterEnd),
        "the sealer refuses anything after CLOSE"
    );
    assert_eq!(
        l.sealer.seal_data(&mut [0; OVERHEAD + 1]),
        Err(SecureError::DataAfterEnd)
    );

    // The connector has the listener's CLOSE: no ping to it, but a pong it owes may go.
    let (mut c2, mut l2) = channels(usize::MAX, 1, (true, true));
    let ping = heartbeat(&mut l2, Beat::Ping).expect("a ping sealed");
    assert!(open_one(&mut c2.opener, &ping).is_ok());
    let their_end = close(&mut l2.sealer, CloseReason::EndOfInput);
    assert!(open_one(&mut c2.opener, &their_end).is_ok());
    assert!(!c2.may_ping());
    assert!(c2.pong_due());
    assert!(heartbeat(&mut c2, Beat::Pong).is_some());

    // On the wire: a heartbeat behind a CLOSE ends the channel.
    let (mut sealer, mut opener) = direction(Cipher::Aes256Gcm);
    opener.heartbeats = true;
    let wire = [close(&mut sealer, CloseReason::EndOfInput), end].concat();
    let (plain, result) = open_all(&mut opener, &wire, usize::MAX);
    assert!(plain.is_empty());
    assert_eq!(result, Err(SecureError::DataAfterEnd));
    let _ = c;
}
