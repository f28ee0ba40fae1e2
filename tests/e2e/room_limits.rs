//! The password room's limits, end to end: the deadlines of a pending handshake (HELLO within
//! 5 s, CONFIRM within 10 s of the connection, whatever `-w` says), proofs checked one a second,
//! and ten wrong guesses a run, with or without `-k`. (Unlike the end rules, these timers have no
//! synthetic-clock unit test: this is where their timing is checked. --help states them from the
//! constants, and docs.rs holds the man page to --help.) Each waits out its timers in a room of
//! its own, all at once.

use std::io::Write;
use std::time::{Duration, Instant};

use tete::secure::{Handshake, Role};

use crate::harness::*;
use crate::room::{PASSWORD, partner, partner_gets_in, room};
use crate::secure;

/// Each limit of the room, in a room of its own (the scenarios below, all at once: each spends
/// its time waiting out the room's timers).
/// (A test of main.rs runs it, beside the other longest waits.)
pub(crate) fn the_room_keeps_its_limits() {
    at_once(&[
        &silent_client_hits_the_listeners_deadline,
        &a_hello_without_confirm_has_ten_seconds,
        &simultaneous_guesses_are_checked_one_a_second,
        &listener_gives_up_after_ten_failures,
        &ten_guesses_end_a_keep_open_room,
    ]);
}

/// A raw client that says nothing: after the HELLO deadline (5 s from the accept, whatever
/// `-w` says) the listener logs the stalled handshake, drops it, and waits on.
fn silent_client_hits_the_listeners_deadline() {
    let listener_data = random_bytes(41, 50 * KIB);
    let (mut listener, port) = secure::start_listener(
        &["-w", "60"],
        secure::PASSWORD,
        Input::Bytes(listener_data.clone()),
    );
    let connected = Instant::now();
    let mut silent = connect(loopback(port));
    let line = listener.wait_for_stderr("waiting for another peer");
    let took = connected.elapsed();
    assert!(
        line.contains("handshake"),
        "{}: the log should name the stalled handshake: {line:?}",
        listener.description
    );
    assert!(
        took >= Duration::from_millis(4800) && took < Duration::from_secs(9),
        "{}: the stalled handshake was dropped after {took:?}, not about 5 s",
        listener.description
    );
    let got = read_to_eof(&mut silent, "the silent client");
    assert_eq!(
        got.len(),
        secure::HELLO_LEN,
        "the silent client got {got:?}"
    );
    assert_eq!(&got[..6], b"TETE\x02\x02", "the listener's HELLO");
    secure::assert_still_running(&mut listener, "a silent stranger must not close the room");
    secure::right_peer_completes(listener, port, secure::PASSWORD, &listener_data);
}

/// A stranger that sends a whole HELLO and then nothing has the CONFIRM deadline (10 s from
/// the accept), not the HELLO deadline (5 s): it is dropped after about 10 s, the room open.
fn a_hello_without_confirm_has_ten_seconds() {
    let listener_data = random_bytes(8, 10 * KIB);
    let (mut listener, port) = room(true, &[], Input::Bytes(listener_data.clone()));
    let mut hello = Vec::new();
    Handshake::new(Role::Connector, b"a stranger's guess", &mut hello);
    let mut stranger = connect(loopback(port));
    let connected = Instant::now();
    stranger.write_all(&hello).expect("the stranger's HELLO");
    let line = listener.wait_for_stderr("did not complete the handshake in time");
    let took = connected.elapsed();
    assert!(
        took >= Duration::from_millis(9500) && took < Duration::from_secs(14),
        "{}: dropped after {took:?}, not about 10 s: {line:?}",
        listener.description
    );
    listener.assert_running("a stalled stranger guessed nothing");
    partner_gets_in(listener, port, &listener_data);
}

/// Three guessers at once: their CONFIRMs are checked one a second, so the third is rejected
/// about two seconds after the first.
fn simultaneous_guesses_are_checked_one_a_second() {
    let (mut listener, port) = room(true, &[], Input::Null);
    let guessers: Vec<Running> = (0..3)
        .map(|i| partner(port, &format!("guess {i}"), Input::Null).spawn())
        .collect();
    listener.wait_for_count("different passwords", 1);
    let first = Instant::now();
    listener.wait_for_count("different passwords", 3);
    let spread = first.elapsed();
    assert!(
        spread >= Duration::from_millis(1800),
        "{}: three guesses checked within {spread:?}",
        listener.description
    );
    for guesser in guessers {
        guesser.wait().assert_code(3);
    }
    listener.assert_running("three guesses are within the budget");
}

/// Ten failed handshakes, and the listener gives up with status 3, having printed nothing.
fn listener_gives_up_after_ten_failures() {
    let (mut listener, port) = secure::start_listener(
        &[],
        secure::PASSWORD,
        Input::Bytes(b"never sent\n".to_vec()),
    );
    for attempt in 1..=10 {
        let wrong = secure::connector(&[], port, &format!("guess {attempt}"))
            .stdin(Input::Bytes(b"guess\n".to_vec()))
            .run();
        let line = secure::assert_secure_failure(&wrong);
        secure::assert_mentions(&wrong, line, "different passwords");
        assert!(
            wrong.stdout.is_empty(),
            "attempt {attempt}: stdout not empty"
        );
        if attempt < 10 {
            listener.wait_for_count("waiting for another peer", attempt);
            secure::assert_still_running(
                &mut listener,
                &format!("only {attempt} handshakes failed"),
            );
        }
    }
    let listener = listener.wait();
    let last = listener.stderr.lines().last().unwrap_or_default();
    listener.assert_code(3);
    assert!(
        last.starts_with("tete: ") && last.contains("10"),
        "{}: the last line should say it gives up after 10 failures: {:?}",
        listener.description,
        listener.stderr
    );
    assert_bytes_eq("the listener's stdout", b"", &listener.stdout);
}

/// With `-k`, ten wrong guesses end the room with status 3 and a word about the password,
/// although right partners came in between: an authenticated session does not reset the
/// budget.
fn ten_guesses_end_a_keep_open_room() {
    let (mut listener, port) = room(false, &["-k"], Input::Null);
    for attempt in 1..=10 {
        let wrong = partner(port, &format!("guess {attempt}"), Input::Null).run();
        wrong.assert_code(3);
        assert!(
            wrong.stderr.contains("different passwords"),
            "attempt {attempt}: {:?}",
            wrong.stderr
        );
        if attempt % 4 == 0 {
            let right = partner(port, PASSWORD, Input::Bytes(b"in\n".to_vec())).run();
            right.assert_success();
        }
        if attempt < 10 {
            listener.wait_for_count("different passwords", attempt);
            listener.assert_running(&format!("only {attempt} guesses"));
        }
    }
    let listener = listener.wait();
    listener.assert_code(3);
    let last = listener.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("10 wrong passwords") && last.contains("choose another"),
        "{}: the last line should say someone may be guessing: {:?}",
        listener.description,
        listener.stderr
    );
    assert_eq!(listener.stdout, b"in\nin\n", "the right partners' lines");
}
