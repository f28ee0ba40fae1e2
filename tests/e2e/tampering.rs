//! The password mode against a man in the middle (mitm.rs): every damage to the listener's
//! handshake or records ends the connector with status 3 and nothing of the damaged part on its
//! stdout; damage on the way up leaves the listener waiting; the pair negotiates its cipher
//! through the proxy; and nothing readable (plaintext, the password) ever crosses it.

use std::collections::HashSet;

use crate::harness::*;
use crate::mitm::*;
use crate::secure::{
    CLOSE_L, CONFIRM_LEN, HELLO_LEN, PASSWORD, assert_mentions, assert_prefix_within,
    assert_secure_failure, assert_still_running, connector, marker_text, right_peer_completes,
    start_listener,
};

// ---------------------------------------------------------------------------------------------
// A man in the middle, listener → connector
// ---------------------------------------------------------------------------------------------

#[test]
fn flip_in_hello_magic() {
    assert_handshake_damage_caught(51, flip(Unit::Hello, At::Start(1)));
}

#[test]
fn flip_in_hello_role() {
    assert_handshake_damage_caught(52, flip(Unit::Hello, At::Start(5)));
}

#[test]
fn flip_in_hello_spake2_message() {
    assert_handshake_damage_caught(53, flip(Unit::Hello, At::Start(20)));
}

/// The AES flag flipped in the listener's HELLO: the two transcripts differ, which neither end
/// can tell from a wrong password, so the message allows for both (it said only "different
/// passwords").
#[test]
fn flip_in_hello_aes_flag() {
    let client = assert_handshake_damage_caught(50, flip(Unit::Hello, At::Start(6)));
    let line = client.error_line();
    assert_mentions(&client, line, "or the handshake was altered on the way");
}

#[test]
fn flip_in_confirm() {
    assert_handshake_damage_caught(54, flip(Unit::Confirm, At::Start(7)));
}

/// L one off: the record's bytes shift and its tag (whose AAD is the header) fails.
#[test]
fn flip_in_record_header_low_bit() {
    assert_damage_caught(55, 2, flip(Unit::Record(2), At::Start(3)));
}

/// L's high half: 65,553 becomes 17, a CLOSE-sized record that must not pass.
#[test]
fn flip_in_record_header_high_bit() {
    assert_damage_caught(56, 2, flip(Unit::Record(2), At::Start(1)));
}

#[test]
fn flip_in_record_type_byte() {
    // The type byte trails the payload, just before the 16-byte tag.
    assert_damage_caught(57, 1, flip(Unit::Record(1), At::End(17)));
}

#[test]
fn flip_in_record_body() {
    assert_damage_caught(58, 3, flip(Unit::Record(3), At::Start(4 + 1 + 1000)));
}

#[test]
fn flip_in_record_tag() {
    assert_damage_caught(59, 2, flip(Unit::Record(2), At::End(1)));
}

/// A damaged CLOSE is no clean end, although all the data came through.
#[test]
fn flip_in_close_record() {
    let (client, data, _) = tampered_download(60, flip_in_close(At::End(3)));
    assert_secure_failure(&client);
    assert_prefix_within("stdout", &data, &client.stdout, data.len());
}

/// L set to 0xFFFFFFFF, and to 16: refused from the header alone.
#[test]
fn record_length_out_of_range() {
    for bad in [u32::MAX, 16] {
        let tamper: Tamper = Box::new(move |unit, bytes| {
            if unit == Unit::Record(2) {
                bytes[..4].copy_from_slice(&bad.to_be_bytes());
            }
            Verdict::Forward
        });
        assert_damage_caught(61, 2, tamper);
    }
}

#[test]
fn cut_in_the_middle_of_a_record() {
    let tamper: Tamper = Box::new(|unit, bytes| {
        if unit == Unit::Record(3) {
            bytes.truncate(bytes.len() / 2);
            return Verdict::Cut;
        }
        Verdict::Forward
    });
    let client = assert_damage_caught(62, 3, tamper);
    let line = client.error_line();
    assert_mentions(&client, line, "truncated");
}

/// Everything but the CLOSE record arrives, then a FIN.
#[test]
fn final_close_dropped() {
    let tamper: Tamper = Box::new(|unit, bytes| {
        if matches!(unit, Unit::Record(_)) && is_close(bytes) {
            bytes.clear();
            return Verdict::Cut;
        }
        Verdict::Forward
    });
    let (client, data, lengths) = tampered_download(63, tamper);
    let line = assert_secure_failure(&client);
    assert_mentions(&client, line, "truncated");
    assert_eq!(
        lengths.last(),
        Some(&CLOSE_L),
        "the last record: {lengths:?}"
    );
    assert_prefix_within("stdout", &data, &client.stdout, data.len());
}

#[test]
fn record_dropped() {
    let tamper: Tamper = Box::new(|unit, bytes| {
        if unit == Unit::Record(2) {
            bytes.clear();
        }
        Verdict::Forward
    });
    assert_damage_caught(64, 2, tamper);
}

/// Record #1 twice: the copy sits where #2 belongs.
#[test]
fn record_duplicated() {
    let tamper: Tamper = Box::new(|unit, bytes| {
        if unit == Unit::Record(1) {
            let copy = bytes.clone();
            bytes.extend_from_slice(&copy);
        }
        Verdict::Forward
    });
    assert_damage_caught(65, 2, tamper);
}

/// #2 before #1: the damage begins at the very first record.
#[test]
fn records_swapped() {
    let mut held = None;
    let tamper: Tamper = Box::new(move |unit, bytes| {
        match unit {
            Unit::Record(1) => held = Some(std::mem::take(bytes)),
            Unit::Record(2) => bytes.extend_from_slice(&held.take().unwrap_or_default()),
            _ => {}
        }
        Verdict::Forward
    });
    assert_damage_caught(66, 1, tamper);
}

#[test]
fn bytes_after_close() {
    let tamper: Tamper = Box::new(|unit, bytes| {
        if matches!(unit, Unit::Record(_)) && is_close(bytes) {
            bytes.extend_from_slice(b"junk after the end");
        }
        Verdict::Forward
    });
    let (client, data, _) = tampered_download(67, tamper);
    assert_secure_failure(&client);
    assert_prefix_within("stdout", &data, &client.stdout, data.len());
}

/// CONFIRM_L damaged on its way: the connector says the listener does not know the password;
/// the listener, which never got READY, keeps the room open for the right peer.
#[test]
fn damaged_confirm_l_leaves_the_listener_waiting() {
    let listener_data = random_bytes(68, 64 * KIB);
    let (mut listener, port) = start_listener(&[], PASSWORD, Input::Bytes(listener_data.clone()));
    let mitm = Mitm::start(port, None, 0, flip(Unit::Confirm, At::Start(3)));
    let client = connector(&[], mitm.port(), PASSWORD)
        .stdin(Input::Bytes(b"the connector's secret\n".to_vec()))
        .run();
    let line = assert_secure_failure(&client);
    assert_mentions(&client, line, "does not know the password");
    assert!(client.stdout.is_empty(), "stdout: {:?}", client.stdout);
    let wire = mitm.finish();
    assert!(
        !wire.from_connector.windows(6).any(|w| w == b"secret"),
        "the connector sent its data to an unverified listener"
    );
    listener.wait_for_stderr("waiting for another peer");
    assert_still_running(&mut listener, "a damaged CONFIRM_L must not close the room");
    let listener = right_peer_completes(listener, port, PASSWORD, &listener_data);
    assert!(
        !listener.stdout.windows(6).any(|w| w == b"secret"),
        "the first connector's bytes reached the listener's stdout"
    );
}

/// The same through a proxy that passes the connector's HELLO and CONFIRM on in one piece, as
/// TCP may: the connector must still learn that the passwords differ.
#[test]
fn wrong_password_with_hello_and_confirm_in_one_segment() {
    let (mut listener, port) = start_listener(
        &[],
        PASSWORD,
        Input::Bytes(b"for the right peer only\n".to_vec()),
    );
    let mitm = Mitm::start(port, None, HELLO_LEN + CONFIRM_LEN, untouched());
    let wrong = connector(&[], mitm.port(), "not the password")
        .stdin(Input::Bytes(b"guess\n".to_vec()))
        .run();
    let line = assert_secure_failure(&wrong);
    assert_mentions(&wrong, line, "different passwords");
    assert_bytes_eq("the wrong connector's stdout", b"", &wrong.stdout);
    let logged = listener.wait_for_stderr("waiting for another peer");
    assert!(logged.contains("different passwords"), "{logged:?}");
    assert_still_running(&mut listener, "a stranger must not close the room");
}

/// One end without fast AES (simulated with the test-only TETE_TEST_CIPHER): its HELLO says so,
/// the pair settles on ChaCha20-Poly1305, and bytes go both ways.
#[test]
fn mixed_pair_negotiates_chacha() {
    let dir = TempDir::new("secure-mixed");
    let (up_file, up) = dir.random_file("up", 700 * KIB + 3, 131);
    let (down_file, down) = dir.random_file("down", 500 * KIB + 9, 132);
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .password(PASSWORD)
        .env("TETE_TEST_CIPHER", "chacha20-poly1305")
        .stdin(Input::File(down_file))
        .spawn();
    let port = listener.wait_listening().port();
    let mitm = Mitm::start(port, None, 0, untouched());
    let client = connector(&[], mitm.port(), PASSWORD)
        .stdin(Input::File(up_file))
        .run();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("what the connector printed", &down, &client.stdout);
    assert_bytes_eq("what the listener printed", &up, &listener.stdout);
    let wire = mitm.finish();
    // HELLO byte 6 holds the flags; bit 0 is "AES-GCM is fast here".
    assert_eq!(
        wire.from_listener[6] & 1,
        0,
        "the forced listener offers AES"
    );
}

// ---------------------------------------------------------------------------------------------
// A man in the middle, connector → listener, during the handshake
// ---------------------------------------------------------------------------------------------

/// One bit of the connector's handshake flipped on its way: the connector fails (status 3 when
/// its own CONFIRM check fails; the listener may also just drop it), the listener logs the
/// failure and waits on, and neither side prints anything.
fn flip_on_the_way_up(byte: usize) {
    let listener_data = random_bytes(71, 64 * KIB);
    let (mut listener, port) = start_listener(&[], PASSWORD, Input::Bytes(listener_data.clone()));
    let mitm = Mitm::start(port, Some(byte * 8 + 3), 0, untouched());
    let client = connector(&[], mitm.port(), PASSWORD)
        .stdin(Input::Bytes(b"the connector's secret\n".to_vec()))
        .run();
    assert!(
        client.status.code().is_some_and(|code| code != 0),
        "{}: expected a failure, got {:?}; stderr {:?}",
        client.description,
        client.status,
        client.stderr
    );
    client.error_line();
    assert!(
        client.stdout.is_empty(),
        "connector's stdout: {:?}",
        client.stdout
    );
    // The listener always sees the damage here (a bad HELLO, or a CONFIRM that fails).
    listener.wait_for_stderr("waiting for another peer");
    assert_still_running(&mut listener, "a damaged handshake must not close the room");
    listener.kill();
    let listener = listener.wait();
    assert_bytes_eq("the listener's stdout", b"", &listener.stdout);
}

#[test]
fn flip_up_in_hello_magic() {
    flip_on_the_way_up(2);
}

#[test]
fn flip_up_in_hello_spake2_message() {
    flip_on_the_way_up(30);
}

#[test]
fn flip_up_in_confirm() {
    flip_on_the_way_up(HELLO_LEN + 12);
}

// ---------------------------------------------------------------------------------------------
// Nothing readable on the wire
// ---------------------------------------------------------------------------------------------

/// Every `n`-byte window of each of `texts`.
fn windows_of(texts: &[&[u8]], n: usize) -> HashSet<Vec<u8>> {
    texts
        .iter()
        .flat_map(|text| text.windows(n).map(<[u8]>::to_vec))
        .collect()
}

#[test]
fn no_plaintext_and_no_password_on_the_wire() {
    const MARKER: &str = "TETE-PLAINTEXT-MARKER-";
    const PHRASE: &str = "correct horse battery staple";
    let up = marker_text(&format!("{MARKER}up-"), MIB);
    let down = marker_text(&format!("{MARKER}down-"), MIB);
    let (listener, port) = start_listener(&[], PHRASE, Input::Bytes(down.clone()));
    let mitm = Mitm::start(port, None, 0, untouched());
    let client = connector(&[], mitm.port(), PHRASE)
        .stdin(Input::Bytes(up.clone()))
        .run();
    let listener = listener.wait();
    client.assert_success();
    listener.assert_success();
    assert_bytes_eq("what the connector printed", &down, &client.stdout);
    assert_bytes_eq("what the listener printed", &up, &listener.stdout);

    let wire = mitm.finish();
    for (direction, bytes, sent) in [
        ("connector → listener", &wire.from_connector, up.len()),
        ("listener → connector", &wire.from_listener, down.len()),
    ] {
        assert!(
            bytes.len() > sent,
            "{direction}: only {} bytes captured for {sent} bytes sent",
            bytes.len()
        );
        // Eight bytes of either text anywhere on the wire would be a leak.
        let needles = windows_of(&[MARKER.as_bytes(), PHRASE.as_bytes()], 8);
        // Each window searched for with memchr's memmem, optimised even in test builds (a
        // lookup at every offset of the wire took a second of CPU unoptimised).
        let first = needles
            .iter()
            .filter_map(|needle| memchr::memmem::find(bytes, needle))
            .min();
        if let Some(at) = first {
            panic!(
                "{direction}: plaintext or password on the wire at offset {at}: {:?}",
                String::from_utf8_lossy(&bytes[at..(at + 32).min(bytes.len())])
            );
        }
    }
}
