//! A private room, as an attacker on the same machine would try it: strangers of every kind
//! must neither enter, end nor hold the door of a password listener; only real guesses count;
//! an interrupted partner reads as "left" in a chat and as "incomplete" in a transfer; and a
//! side that forgot `-P` is told so. Loopback only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::*;
use tete::secure::{CONFIRM_LEN, HELLO_LEN, Handshake, Role};

pub(crate) const PASSWORD: &str = "a private room";

/// How many handshakes the room runs at once (tete(1), SECURITY).
const SLOTS: usize = 8;
/// A HELLO's first 20 bytes: magic, version 2, the connector's role, no flags, then part of a
/// SPAKE2 message. Never finished.
const HALF_HELLO: &[u8] = b"TETE\x02\x01\x00ABCDEFGHIJKLM";

/// `tete [-v] -l EXTRA... 127.0.0.1 0` with the room password, waiting until it listens; and
/// the port the OS picked.
pub(crate) fn room(verbose: bool, extra: &[&str], stdin: Input) -> (Running, u16) {
    let mut args: Vec<String> = Vec::new();
    if verbose {
        args.push("-v".into());
    }
    args.push("-l".into());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args.extend(["127.0.0.1".to_string(), "0".to_string()]);
    let mut listener = tete(&args)
        .password(PASSWORD)
        .stdin(stdin)
        .stderr(Output::Capture)
        .spawn();
    let port = listener.wait_listening_socket();
    // The tests count this probe among the room's first strangers.
    wait_until("the room accepts", TIMEOUT, || {
        std::net::TcpStream::connect_timeout(&loopback(port), Duration::from_millis(100)).is_ok()
    });
    // That probe was itself a stranger: give the room a moment to drop it.
    listener.assert_running("after the probe");
    (listener, port)
}

/// `tete 127.0.0.1 PORT` with `password`.
pub(crate) fn partner(port: u16, password: &str, stdin: Input) -> Tete {
    tete(["127.0.0.1".to_string(), port.to_string()])
        .password(password)
        .stdin(stdin)
}

/// The right partner gets in: both ends exit 0, each having printed what the other sent.
#[track_caller]
pub(crate) fn partner_gets_in(listener: Running, port: u16, listener_data: &[u8]) -> Finished {
    let up = random_bytes(u64::from(port), 40 * KIB + 3);
    let client = partner(port, PASSWORD, Input::Bytes(up.clone())).spawn();
    partner_got_in(listener, client, &up, listener_data)
}

/// As [`partner_gets_in`], for a partner already started with `up` on its stdin.
#[track_caller]
fn partner_got_in(listener: Running, client: Running, up: &[u8], listener_data: &[u8]) -> Finished {
    let client = client.wait();
    client.assert_success();
    assert_bytes_eq("what the partner printed", listener_data, &client.stdout);
    let listener = listener.wait();
    listener.assert_success();
    assert_bytes_eq("what the room printed", up, &listener.stdout);
    listener
}

/// A stranger that connects, says `bytes` (junk) and leaves once the room has dropped it.
fn say_and_leave(port: u16, bytes: &[u8]) {
    let mut stream = connect(loopback(port));
    let _ = stream.write_all(bytes);
    // The room answers with its HELLO and drops the stranger; all it sent is read, so that the
    // stranger's close is a FIN.
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
}

/// 30 strangers of three kinds (a scanner's connect-and-close, an HTTP client, half HELLOs
/// that stay connected) leave the room open and quiet but for one word about the plaintext
/// client; the partner then gets in.
#[test]
fn thirty_strangers_leave_the_room_open() {
    let listener_data = random_bytes(1, 30 * KIB);
    let (mut listener, port) = room(false, &[], Input::Bytes(listener_data.clone()));
    let mut halves = Vec::new();
    for i in 0..30 {
        match i % 3 {
            0 => drop(connect(loopback(port))),
            1 => say_and_leave(port, b"GET / HTTP/1.0\r\n\r\n"),
            _ => {
                let mut stream = connect(loopback(port));
                stream.write_all(HALF_HELLO).expect("a half HELLO");
                halves.push(stream);
            }
        }
    }
    listener.assert_running("strangers guessed nothing");
    let listener = partner_gets_in(listener, port, &listener_data);
    drop(halves);
    let told = listener.stderr.matches("not a password peer").count();
    assert_eq!(
        told, 1,
        "{}: the plaintext clients should be mentioned once: {:?}",
        listener.description, listener.stderr
    );
    assert_eq!(
        listener.stderr.lines().count(),
        1,
        "{}: strangers must not flood stderr without -v: {:?}",
        listener.description,
        listener.stderr
    );
}

/// Five silent connections and one that trickles a byte every 0.3 s hold slots, yet the
/// partner's channel is up at once: within 3 s of its start, where a partner kept waiting for
/// a stranger's slot would wait out the HELLO deadline (5 s). (It was 1.5 s, too close for a
/// loaded machine; the channel takes a tenth of that here.)
#[test]
fn silence_and_trickles_do_not_hold_the_door() {
    let listener_data = random_bytes(2, 10 * KIB);
    let (mut listener, port) = room(true, &[], Input::Bytes(listener_data.clone()));
    let silent: Vec<TcpStream> = (0..5).map(|_| connect(loopback(port))).collect();
    let trickle = thread::spawn(move || {
        let mut stream = connect(loopback(port));
        for byte in HALF_HELLO.iter().cycle().take(40) {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
    listener.wait_for_count("connection from", 7);
    let started = Instant::now();
    let up = b"from the partner\n".to_vec();
    let client = partner(port, PASSWORD, Input::Bytes(up.clone())).spawn();
    listener.wait_for_stderr("secure channel up");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "{}: the partner's channel took {took:?} with strangers in the other slots",
        listener.description
    );
    let client = client.wait();
    client.assert_success();
    assert_bytes_eq("what the partner printed", &listener_data, &client.stdout);
    let listener = listener.wait();
    listener.assert_success();
    assert_bytes_eq("what the room printed", &up, &listener.stdout);
    drop(silent);
    trickle.join().expect("the trickling stranger");
}

/// With all eight slots held by silent strangers, a ninth connection (the partner) replaces
/// the oldest of them and gets in.
#[test]
fn a_full_house_makes_room_for_the_partner() {
    let listener_data = random_bytes(3, 10 * KIB);
    let (mut listener, port) = room(true, &[], Input::Bytes(listener_data.clone()));
    let silent: Vec<TcpStream> = (0..8).map(|_| connect(loopback(port))).collect();
    listener.wait_for_count("connection from", 9);
    partner_gets_in(listener, port, &listener_data);
    drop(silent);
}

/// Bytes the listener's accepted connections on `port` hold unread, from /proc/net/tcp: 0 once
/// tete has read everything its pending peers sent.
fn unread_by_the_room(port: u16) -> u64 {
    queued_in(port, ESTABLISHED)
}

/// How many connections wait in the room's listen backlog (a listening socket's queue).
fn backlog(port: u16) -> u64 {
    queued_in(port, LISTENING)
}

/// What the room's sockets in `state` hold queued, together.
fn queued_in(port: u16, state: u8) -> u64 {
    room_sockets(port)
        .iter()
        .filter(|socket| socket.state == state)
        .map(|socket| socket.unread)
        .sum()
}

/// The room's sockets (local port `port`), listener and connections, accepted or still in its
/// backlog.
fn room_sockets(port: u16) -> Vec<TcpSocket> {
    tcp_sockets()
        .into_iter()
        .filter(|socket| socket.local_port == port)
        .collect()
}

/// Strangers whose junk is still unread when the partner connects (one per slot, all queued
/// while the room is stopped, then let in at once) do not fill the room: each is read and
/// dropped before the next connection is admitted, and the partner gets in. (While unread bytes counted as a CONFIRM_C waiting for its check, the room turned the
/// partner away.)
#[test]
fn unread_junk_does_not_fill_the_room() {
    let listener_data = random_bytes(9, 10 * KIB);
    let (listener, port) = room(false, &[], Input::Bytes(listener_data.clone()));
    // The probe of `room` gone, so that only the strangers come before the partner.
    wait_until("the room drops its probe", TIMEOUT, || {
        room_sockets(port)
            .iter()
            .all(|socket| matches!(socket.state, LISTENING | TIME_WAIT))
    });
    listener.signal(Signal::STOP);
    let junk = random_bytes(10, HELLO_LEN + CONFIRM_LEN + 100);
    let strangers: Vec<TcpStream> = (0..SLOTS)
        .map(|_| {
            let mut stream = connect(loopback(port));
            stream.write_all(&junk).expect("a stranger's junk");
            stream
        })
        .collect();
    let up = random_bytes(11, 40 * KIB);
    let client = partner(port, PASSWORD, Input::Bytes(up.clone())).spawn();
    wait_until("the partner queues behind the strangers", TIMEOUT, || {
        let sockets = room_sockets(port);
        let queued = sockets.iter().filter(|socket| socket.state == ESTABLISHED);
        queued.count() > strangers.len()
    });
    listener.signal(Signal::CONT);
    partner_got_in(listener, client, &up, &listener_data);
    drop(strangers);
}

/// A backlog of a hundred strangers (queued while the room is stopped, each with junk, and the
/// partner behind them) is let in sixteen at a time, each burst's handshakes heard before the
/// next: the room polls between bursts, so that a flood as fast as the room cannot keep it from
/// the partner's CONFIRM_C or its timers. (When it accepted until the backlog was empty, a
/// flood that never let up kept the partner out for as long as it lasted.)
#[test]
fn connections_are_let_in_sixteen_at_a_time() {
    const BURST: usize = 2 * SLOTS;
    let listener_data = random_bytes(12, 10 * KIB);
    let (listener, port) = room(true, &[], Input::Bytes(listener_data.clone()));
    wait_until("the room drops its probe", TIMEOUT, || backlog(port) == 0);
    listener.signal(Signal::STOP);
    let strangers: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = connect(loopback(port));
            stream.write_all(b"junk\r\n").expect("a stranger's junk");
            stream
        })
        .collect();
    let up = random_bytes(13, 40 * KIB);
    let client = partner(port, PASSWORD, Input::Bytes(up.clone())).spawn();
    wait_until("the partner queues behind the strangers", TIMEOUT, || {
        backlog(port) > strangers.len() as u64
    });
    listener.signal(Signal::CONT);
    let room = partner_got_in(listener, client, &up, &listener_data);
    // "connection from" is said as each is let in, what became of them after the burst.
    let mut longest = 0;
    let mut run = 0;
    for line in room.stderr.lines() {
        run = if line.contains("connection from") {
            run + 1
        } else {
            0
        };
        longest = longest.max(run);
    }
    assert!(
        (2..=BURST).contains(&longest),
        "{}: {longest} connections let in at a stretch: {:?}",
        room.description,
        room.stderr
    );
    drop(strangers);
}

/// When all eight slots are taken, the one with the least progress goes first, not simply the
/// oldest: seven strangers that sent a whole HELLO (and then nothing) stay, and the youngest,
/// silent one makes room for the partner.
#[test]
fn a_full_house_drops_the_least_progress_first() {
    let listener_data = random_bytes(7, 10 * KIB);
    let (mut listener, port) = room(true, &[], Input::Bytes(listener_data.clone()));
    let hellos: Vec<TcpStream> = (0..7)
        .map(|_| {
            let mut hello = Vec::new();
            Handshake::new(Role::Connector, b"a stranger's guess", &mut hello);
            let mut stream = connect(loopback(port));
            stream.write_all(&hello).expect("a stranger's HELLO");
            stream
        })
        .collect();
    listener.wait_for_count("connection from", 8);
    wait_until("the room has read the HELLOs", TIMEOUT, || {
        unread_by_the_room(port) == 0
    });
    let silent = connect(loopback(port));
    let silent_addr = silent.local_addr().expect("the silent stranger's address");
    listener.wait_for_count("connection from", 9);
    let listener = partner_gets_in(listener, port, &listener_data);
    let dropped: Vec<&str> = listener
        .stderr
        .lines()
        .filter(|line| line.contains("least progress"))
        .collect();
    assert!(
        dropped.len() == 1 && dropped[0].contains(&silent_addr.to_string()),
        "{}: the silent stranger ({silent_addr}) should have made room: {:?}",
        listener.description,
        listener.stderr
    );
    drop(hellos);
}

/// A listener holding eight pending strangers while a flood of junk connections comes and goes
/// stays under 4 MiB: each handshake has a few hundred bytes of buffers, not a session's. (A
/// debug build measured about 3.2 MiB, so the release bound holds for both.)
#[test]
fn pending_strangers_cost_little_memory() {
    let limit_kib: u64 = 4 * 1024;
    let listener_data = random_bytes(4, 10 * KIB);
    let (mut listener, port) = room(false, &[], Input::Bytes(listener_data.clone()));
    let mut held: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = connect(loopback(port));
            stream.write_all(HALF_HELLO).expect("a half HELLO");
            stream
        })
        .collect();
    let junk = random_bytes(5, 64 * KIB);
    for _ in 0..100 {
        let mut stream = connect(loopback(port));
        let _ = stream.write_all(&junk);
        held.push(stream);
        if held.len() > 16 {
            held.remove(8);
        }
    }
    let peak_kib = listener.peak_memory_kib();
    eprintln!("a room with 8 pending strangers and a junk flood: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < limit_kib,
        "{}: peak RSS {peak_kib} KiB, over {limit_kib} KiB",
        listener.description,
    );
    listener.assert_running("junk guessed nothing");
    partner_gets_in(listener, port, &listener_data);
}

/// Sends SIGINT to the sender of a private transfer mid-stream: the receiver ends with status
/// 1 and says that its peer was interrupted.
#[test]
fn an_interrupted_transfer_is_incomplete() {
    let (listener, port) = room(true, &[], Input::Null);
    let mut sender = partner(port, PASSWORD, Input::Pipe).spawn();
    let mut stdin = sender.take_stdin();
    stdin
        .write_all(b"the first part\n")
        .expect("the sender's stdin");
    let mut listener = listener;
    listener.wait_for_stderr("secure channel up");
    sender.signal(Signal::INT);
    let sender = sender.wait();
    sender.assert_signal(Signal::INT);
    let listener = listener.wait();
    listener.assert_code(1);
    assert!(
        listener.stderr.contains("interrupted") && !listener.stderr.contains("truncated"),
        "{}: {:?}",
        listener.description,
        listener.stderr
    );
    assert_eq!(listener.stdout, b"the first part\n");
    drop(stdin);
}

/// SIGTERM to a sender whose peer has stopped reading (its stdout is a pipe nobody reads): the
/// CLOSE cannot get through, and the sender still ends at once, by the signal.
#[test]
fn an_interruption_never_waits_for_a_stalled_peer() {
    let (unread, stdout) = pipe();
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .password(PASSWORD)
        .stdin(Input::Null)
        .stdout(Output::Fd(stdout.into()))
        .spawn();
    let port = listener.wait_listening().port();
    let mut sender = partner(port, PASSWORD, Input::Pipe).spawn();
    let mut stdin = sender.take_stdin();
    let stdin_left = stdin.as_fd().try_clone_to_owned().expect("dup stdin");
    let counter = Arc::new(AtomicU64::new(0));
    let fed = counter.clone();
    let feeder = thread::spawn(move || stream_into(&mut stdin, 64 * MIB as u64, &fed));
    listener.wait_for_stderr("secure channel up");
    sender.wait_until_stalled("stdin unread", || pending_bytes(&stdin_left) > 0);
    let fed = counter.load(Ordering::SeqCst);
    assert!(
        fed > 4 * MIB as u64,
        "the sender stalled after only {fed} bytes"
    );
    // At once: tete makes no wait of its own for the CLOSE to get through (a wait for the
    // stalled peer would never end), so 3 s is margin for a loaded machine, not a grace period.
    let stopped = Instant::now();
    sender.signal(Signal::TERM);
    let sender = sender.wait_within(PROMPTLY);
    sender.assert_signal(Signal::TERM);
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{}: took {:?} to end",
        sender.description,
        stopped.elapsed()
    );
    listener.kill();
    feeder.join().expect("the feeder");
    drop(unread);
}

/// Ctrl-C in a private chat: the other side, also a chat, says once that the peer left and
/// ends with status 0, with no word of truncation; the leaver's screen says that it left.
#[test]
fn ctrl_c_in_a_private_chat_is_leaving() {
    let chat = |args: &[&str], pty: &Pty| {
        tete(args)
            .password(PASSWORD)
            .stdin(Input::Fd(pty.slave_fd()))
            .stdout(Output::Fd(pty.slave_fd()))
            .stderr(Output::Fd(pty.slave_fd()))
            .spawn()
    };
    let here = Pty::open();
    let there = Pty::open();
    let mut listener = chat(&["-l", "127.0.0.1", "0"], &here);
    wait_until("the chat listens", TIMEOUT, || !here.termios().canonical());
    let port = listener.wait_listening_socket().to_string();
    let connector = chat(&["127.0.0.1", &port], &there);
    // Lines go once the chat says the partner is in.
    there.wait_for_output("the room is private");
    there.type_bytes(b"hello\r");
    here.wait_for_output("hello");
    here.type_bytes(&[0x03]);
    let leaver = listener.wait();
    leaver.assert_signal(Signal::INT);
    let stayer = connector.wait();
    stayer.assert_success();
    // Said once, in the chat's words; the leaver's own screen says who left.
    let said = there.wait_for_output("left: it was interrupted (Ctrl-C)");
    assert!(
        !there.output().contains("truncated") && !there.output().contains("the peer left"),
        "the other side: {said:?} / {:?}",
        there.output()
    );
    here.wait_for_output("you left the chat with 127.0.0.1:");
}

/// What a plain tete whose peer opened with a password HELLO (a forgotten `-P`) shows: the
/// password channel's failure, with the hint, and none of the HELLO on stdout.
#[track_caller]
fn assert_told_of_the_password(plain: &Finished) {
    plain.assert_code(3);
    assert_eq!(
        plain.stderr.matches("expects a room password").count(),
        1,
        "{}: {:?}",
        plain.description,
        plain.stderr
    );
    assert!(
        plain.stderr.contains("run both ends with -P"),
        "{:?}",
        plain.stderr
    );
    assert_bytes_eq("what the plain end printed", b"", &plain.stdout);
}

/// A plain end facing a password peer fails as the password channel does (exit 3), saying why,
/// with nothing of the peer's HELLO on its stdout (it exited 0 with the HELLO's 40 bytes in
/// the copy): a plain listener, a plain connector, and a plain `-k` listener, which says so
/// and serves the next peer.
#[test]
fn a_plain_end_fails_on_the_forgotten_password() {
    let hello = || Input::Bytes(b"hello\n".to_vec());
    let (plain, addr) = start_listener(&[], Input::Null, Output::Capture);
    partner(addr.port(), PASSWORD, hello()).run().assert_code(3);
    assert_told_of_the_password(&plain.wait());

    let (mut room, port) = room(false, &[], Input::Null);
    let plain = tete(["127.0.0.1".to_string(), port.to_string()])
        .stdin(hello())
        .run();
    assert_told_of_the_password(&plain);
    room.kill();

    let (mut keep, addr) = start_listener(&["-k"], Input::Null, Output::Capture);
    partner(addr.port(), PASSWORD, hello()).run().assert_code(3);
    keep.wait_for_stderr("expects a room password");
    let mut next = connect(addr);
    next.write_all(b"plain words\n").expect("the next peer");
    drop(next);
    keep.wait_for_stderr("peer closed");
    keep.kill();
    let keep = keep.wait();
    assert_bytes_eq(
        "what the -k listener printed",
        b"plain words\n",
        &keep.stdout,
    );
}

/// A second partner at a `-k` room busy with the first: the room is listening but sends it
/// nothing, and when its wait runs out (`-w 1` here, 60 s by default) it is told that the room
/// may be busy, or its person not ready, with TETE_PASSWORD only a possibility (it was told
/// to unset TETE_PASSWORD, as if that were the cause).
#[test]
fn a_busy_room_is_named_as_a_possibility() {
    let (mut listener, port) = room(true, &["-k"], Input::Null);
    let mut first = partner(port, PASSWORD, Input::Pipe).spawn();
    listener.wait_for_stderr("secure channel up");
    let second = tete(["-w", "1", "127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .run();
    second.assert_code(3);
    let error = second.error_line();
    for words in [
        "busy with another partner",
        "has not typed the password",
        "or it runs without a password",
    ] {
        assert!(error.contains(words), "{words:?} in {error:?}");
    }
    drop(first.take_stdin());
    first.wait().assert_success();
    listener.kill();
}

/// A password room facing plaintext clients says "not a password peer" once a run (without
/// -v), and the partner still gets in.
#[test]
fn a_password_room_hears_of_a_plain_client_once() {
    let listener_data = random_bytes(6, 10 * KIB);
    let (mut listener, port) = room(false, &[], Input::Bytes(listener_data.clone()));
    for _ in 0..3 {
        let plain = tete(["127.0.0.1".to_string(), port.to_string()])
            .stdin(Input::Bytes(b"plain words\n".to_vec()))
            .spawn();
        plain.wait();
    }
    listener.wait_for_stderr("not a password peer");
    let listener = partner_gets_in(listener, port, &listener_data);
    assert_eq!(
        listener.stderr.matches("not a password peer").count(),
        1,
        "{:?}",
        listener.stderr
    );
}

/// The partner's CONFIRM_C waits for its check (a wrong guess has just used the second)
/// while strangers fill every other slot with a whole HELLO and a junk CONFIRM_C, and then a
/// flood of silent connections arrives. A waiting CONFIRM_C is never replaced (an attacker
/// showed that pushing out the oldest waiting one kept the partner out of a flooded room):
/// the newcomers wait in the listen backlog, and the partner's CONFIRM_C, the oldest, is
/// checked next.
#[test]
fn a_waiting_confirm_is_never_pushed_out() {
    let (mut listener, port) = room(true, &[], Input::Null);
    // A wrong guess: the next CONFIRM_C waits out the second.
    partner(port, "not the password", Input::Null)
        .run()
        .assert_code(3);
    // The partner, in this process, as far as its CONFIRM_C.
    let mut stream = connect(loopback(port));
    let mut out = Vec::new();
    let mut handshake = Handshake::new(Role::Connector, PASSWORD.as_bytes(), &mut out);
    stream.write_all(&out).expect("the partner's HELLO");
    let mut hello = [0u8; HELLO_LEN];
    stream.read_exact(&mut hello).expect("the room's HELLO");
    out.clear();
    handshake
        .receive(&hello, &mut out)
        .expect("the room's HELLO is good");
    stream.write_all(&out).expect("the partner's CONFIRM_C");
    // Seven strangers with a well-formed HELLO and a CONFIRM_C that is junk, then silence.
    let mut strangers = Vec::new();
    for _ in 0..SLOTS - 1 {
        let mut hello = Vec::new();
        Handshake::new(Role::Connector, b"a guess", &mut hello);
        hello.extend_from_slice(&[1; CONFIRM_LEN]);
        let mut stranger = connect(loopback(port));
        stranger.write_all(&hello).expect("a stranger's bytes");
        strangers.push(stranger);
    }
    for _ in 0..20 {
        strangers.push(connect(loopback(port)));
    }
    // The room answers the partner: its CONFIRM_L, which verifies.
    let mut confirm = [0u8; CONFIRM_LEN];
    stream
        .read_exact(&mut confirm)
        .expect("the room's CONFIRM_L: the partner was dropped");
    out.clear();
    handshake
        .receive(&confirm, &mut out)
        .expect("the room's CONFIRM_L verifies");
    assert!(handshake.is_complete());
    listener.assert_running("waiting for the partner's READY");
    // Let in before the next check (a stranger's, the first that can free a place): the probe,
    // the wrong guess, the partner and the seven strangers.
    let stderr = listener.stderr_so_far();
    let wrong = "different passwords";
    let before_next_check = match stderr.match_indices(wrong).nth(1) {
        Some((at, _)) => &stderr[..at],
        None => &stderr[..],
    };
    let accepted = before_next_check.matches("connection from").count();
    assert!(
        accepted <= 2 + SLOTS,
        "newcomers should wait in the backlog, not be let in: {stderr:?}"
    );
}
