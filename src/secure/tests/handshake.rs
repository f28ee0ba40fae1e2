//! The handshake: both ciphers, the order of its messages, every way it fails, and what
//! counts as a password guess.

use super::*;

#[test]
fn round_trip_both_ways_with_either_cipher() {
    for (aes, cipher) in [(true, Cipher::Aes256Gcm), (false, Cipher::ChaCha20Poly1305)] {
        let (mut c, mut l) = channels(usize::MAX, 1, (aes, aes));
        assert_eq!((c.cipher, l.cipher), (cipher, cipher));
        let big: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i * 31 % 251) as u8).collect();
        round_trip(&mut c.sealer, &mut l.opener, &[b"ping", &big, b"x"], 8192);
        round_trip(&mut l.sealer, &mut c.opener, &[&big, b"pong"], 65536 + 7);
    }
}

#[test]
fn a_mixed_pair_negotiates_chacha() {
    for aes in [(true, false), (false, true)] {
        let (mut c, mut l) = channels(usize::MAX, 1, aes);
        assert_eq!(c.cipher, Cipher::ChaCha20Poly1305);
        assert_eq!(l.cipher, Cipher::ChaCha20Poly1305);
        round_trip(&mut c.sealer, &mut l.opener, &[b"mixed"], 3);
    }
}

#[test]
fn round_trip_one_byte_at_a_time() {
    let (mut c, mut l) = channels(1, 1, (true, true));
    round_trip(&mut c.sealer, &mut l.opener, &[b"hello", b"world"], 1);
    round_trip(&mut l.sealer, &mut c.opener, &[b"back"], 1);
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

/// The order of v2: CONFIRM_C first, the listener's CONFIRM_L only after checking it, READY last.
#[test]
fn the_connector_confirms_first_and_the_listener_commits_on_ready() {
    let (mut c, c_hello) = start(Role::Connector, PASSWORD, true, 1);
    let (mut l, l_hello) = start(Role::Listener, PASSWORD, true, 2);
    let mut l_out = Vec::new();
    assert_eq!(l.receive(&c_hello, &mut l_out), Ok(HELLO_LEN));
    assert!(
        l_out.is_empty(),
        "the listener sends nothing before CONFIRM_C"
    );
    let mut c_out = Vec::new();
    assert_eq!(c.receive(&l_hello, &mut c_out), Ok(HELLO_LEN));
    assert_eq!(
        c_out.len(),
        CONFIRM_LEN,
        "CONFIRM_C goes out once the HELLO is in"
    );
    // A complete CONFIRM_C waits for the caller, and nothing after it is taken meanwhile.
    assert_eq!(
        l.receive(&c_out[..CONFIRM_LEN - 1], &mut l_out),
        Ok(CONFIRM_LEN - 1)
    );
    assert!(!l.confirm_waiting());
    assert_eq!(
        l.receive(&[c_out[CONFIRM_LEN - 1], 0xAB], &mut l_out),
        Ok(1)
    );
    assert!(l.confirm_waiting());
    assert_eq!(l.receive(&[0xAB], &mut l_out), Ok(0));
    assert!(l_out.is_empty());
    assert_eq!(l.check_confirm(&mut l_out), Ok(()));
    assert_eq!(l_out.len(), CONFIRM_LEN);
    assert!(!l.is_complete() && l.take_channel().is_none());
    // The connector is complete on CONFIRM_L and sends READY; the listener on READY.
    let mut ready = Vec::new();
    let wire = [l_out.as_slice(), &[0xAB; 10]].concat();
    assert_eq!(c.receive(&wire, &mut ready), Ok(CONFIRM_LEN));
    assert_eq!(ready.len(), READY_LEN);
    assert!(c.is_complete());
    assert_eq!(c.receive(&[0xAB; 10], &mut ready), Ok(0));
    let wire = [ready.as_slice(), &[0xAB; 10]].concat();
    assert_eq!(l.receive(&wire, &mut l_out), Ok(READY_LEN));
    assert!(l.is_complete());
    assert_eq!(l_out.len(), CONFIRM_LEN, "nothing more from the listener");
    assert!(l.take_channel().is_some() && l.take_channel().is_none());
}

#[test]
fn wrong_password_is_one_guess_and_the_connector_hears_reject() {
    let (mut c, mut l) = pair(PASSWORD, b"correct horse battery stapler");
    run(&mut c, &mut l, usize::MAX, &untouched, &untouched);
    assert_eq!(l.result, Err(SecureError::WrongPassword));
    assert!(SecureError::WrongPassword.is_guess());
    // The listener sent its HELLO and REJECT: nothing that depends on the key.
    assert_eq!(c.inbox.len(), HELLO_LEN + 1);
    assert_eq!(c.inbox[HELLO_LEN], REJECT);
    assert_eq!(c.result, Ok(()));
    assert!(!c.hs.is_complete());
    // The listener then closes: at EOF, the connector knows why.
    assert_eq!(c.hs.peer_ended(), SecureError::Rejected);
    assert!(!SecureError::Rejected.is_guess());
    assert!(c.hs.take_channel().is_none() && l.hs.take_channel().is_none());
}

#[test]
fn only_a_failed_confirm_counts_as_a_guess() {
    let not_guesses = [
        SecureError::NotTete,
        SecureError::UnsupportedVersion,
        SecureError::SameRole(Role::Listener),
        SecureError::MalformedHello,
        SecureError::EndedInHandshake,
        SecureError::Stalled,
        SecureError::Tampered,
        SecureError::MalformedRecord,
        SecureError::ListenerUnverified,
    ];
    assert!(not_guesses.iter().all(|err| !err.is_guess()));
    // A half HELLO, then the peer leaves.
    let (mut l, _) = start(Role::Listener, PASSWORD, true, 2);
    let (_, c_hello) = start(Role::Connector, PASSWORD, true, 1);
    assert_eq!(l.receive(&c_hello[..20], &mut Vec::new()), Ok(20));
    assert_eq!(l.peer_ended(), SecureError::EndedInHandshake);
}

#[test]
fn non_tete_peer_is_rejected_at_its_first_byte() {
    let (mut c, _) = start(Role::Connector, PASSWORD, true, 1);
    let mut out = Vec::new();
    assert_eq!(c.receive(b"TE", &mut out), Ok(2));
    assert_eq!(c.receive(b"S", &mut out), Err(SecureError::NotTete));
    let (mut l, _) = start(Role::Listener, PASSWORD, true, 2);
    assert_eq!(
        l.receive(b"GET / HTTP/1.1\r\n", &mut out),
        Err(SecureError::NotTete)
    );
    assert!(out.is_empty());
    // Errors are final, even if good bytes follow.
    assert_eq!(c.receive(b"", &mut out), Err(SecureError::NotTete));
    assert_eq!(c.peer_ended(), SecureError::NotTete);
}

#[test]
fn a_version_1_peer_is_unsupported() {
    let (mut c, _) = start(Role::Connector, PASSWORD, true, 1);
    let mut out = Vec::new();
    assert_eq!(c.receive(b"TETE", &mut out), Ok(4));
    assert_eq!(
        c.receive(b"\x01\x02", &mut out),
        Err(SecureError::UnsupportedVersion)
    );
}

#[test]
fn same_role_on_both_ends_is_rejected() {
    for role in [Role::Connector, Role::Listener] {
        let (mut a, mut b) = (
            End::new(start(role, PASSWORD, true, 1)),
            End::new(start(role, PASSWORD, true, 2)),
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
    let (mut c, _) = start(Role::Connector, PASSWORD, true, 1);
    assert_eq!(
        c.receive(b"TETE\x02\x03", &mut Vec::new()),
        Err(SecureError::MalformedHello)
    );
}

#[test]
fn reflection_never_completes() {
    for role in [Role::Connector, Role::Listener] {
        // A plain echo: our own HELLO comes back.
        let (mut hs, hello) = start(role, PASSWORD, true, 1);
        assert_eq!(
            hs.receive(&hello, &mut Vec::new()),
            Err(SecureError::SameRole(role))
        );

        // An echo that rewrites the role byte: SPAKE2's side byte still says it is ours.
        let (mut hs, mut hello) = start(role, PASSWORD, true, 1);
        hello[5] ^= 0x03;
        assert_eq!(
            hs.receive(&hello, &mut Vec::new()),
            Err(SecureError::MalformedHello)
        );
    }
    // One that also rewrites SPAKE2's side byte ('A' <-> 'B'), then echoes the connector's
    // CONFIRM_C back as a CONFIRM_L.
    let (mut hs, mut wire) = start(Role::Connector, PASSWORD, true, 1);
    wire[5] ^= 0x03;
    wire[7] ^= b'A' ^ b'B';
    let mut out = Vec::new();
    assert_eq!(hs.receive(&wire, &mut out), Ok(HELLO_LEN));
    assert_eq!(
        hs.receive(&out, &mut Vec::new()),
        Err(SecureError::ListenerUnverified)
    );
    assert!(!hs.is_complete());
}

#[test]
fn any_flipped_hello_byte_fails_the_handshake() {
    for i in 0..HELLO_LEN {
        let flip = flip_bit(i, i);
        for to_connector in [true, false] {
            let (mut c, mut l) = pair(PASSWORD, PASSWORD);
            let (to_c, to_l): (Mitm, Mitm) = if to_connector {
                (&flip, &untouched)
            } else {
                (&untouched, &flip)
            };
            run(&mut c, &mut l, usize::MAX, to_c, to_l);
            // One end fails (the receiver of the flip, or the listener whose CONFIRM_C check
            // fails because the two transcripts differ); neither completes.
            assert!(c.result.is_err() || l.result.is_err(), "byte {i}");
            assert!(!c.hs.is_complete() && !l.hs.is_complete(), "byte {i}");
        }
    }
}

#[test]
fn any_flipped_confirm_c_byte_is_a_guess_and_gets_reject() {
    for i in 0..CONFIRM_LEN {
        let flip = flip_bit(HELLO_LEN + i, i);
        let (mut c, mut l) = pair(PASSWORD, PASSWORD);
        run(&mut c, &mut l, usize::MAX, &untouched, &flip);
        assert_eq!(l.result, Err(SecureError::WrongPassword), "byte {i}");
        assert_eq!(c.hs.peer_ended(), SecureError::Rejected, "byte {i}");
    }
}

/// A damaged CONFIRM_L fails the connector; the listener, which never got READY, has not
/// failed and is no guess: it just waits (the relay's deadline drops it).
#[test]
fn any_flipped_confirm_l_byte_fails_the_connector_only() {
    for i in 0..CONFIRM_LEN {
        let flip = flip_bit(HELLO_LEN + i, i);
        let (mut c, mut l) = pair(PASSWORD, PASSWORD);
        run(&mut c, &mut l, usize::MAX, &flip, &untouched);
        assert_eq!(c.result, Err(SecureError::ListenerUnverified), "byte {i}");
        assert_eq!(l.result, Ok(()), "byte {i}");
        assert!(!l.hs.is_complete());
        assert_eq!(l.hs.peer_ended(), SecureError::EndedInHandshake);
    }
}

#[test]
fn any_flipped_ready_byte_fails_the_listener_without_a_guess() {
    for i in 0..READY_LEN {
        let flip = flip_bit(HELLO_LEN + CONFIRM_LEN + i, i);
        let (mut c, mut l) = pair(PASSWORD, PASSWORD);
        run(&mut c, &mut l, usize::MAX, &untouched, &flip);
        assert!(c.hs.is_complete());
        let err = l.result.expect_err("a damaged READY");
        assert!(!err.is_guess() && !l.hs.is_complete(), "byte {i}: {err:?}");
    }
}
