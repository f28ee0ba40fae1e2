//! The password mode, run for real over loopback: byte-exact round trips, wrong passwords and
//! strangers against a listener that outlasts them, reflection, silent peers and the handshake
//! deadline, and the session options in password mode. (A man in the middle: tampering.rs;
//! where the password comes from: password.rs; the room against attackers: room.rs.)
//!
//! Wire format, version 2 (written out in the `secure` module's docs): each end sends a 40-byte
//! HELLO (`TETE` | 0x02 | role | flags | SPAKE2 message); the connector sends a 32-byte CONFIRM_C,
//! the listener answers with a 32-byte CONFIRM_L (or a one-byte REJECT), the connector's first
//! record is READY; records are `L: u32 BE | encrypted payload and type byte | 16-byte tag`, where
//! L = payload + 1 + 16, so a CLOSE (one reason byte) has L == 18. Exit status 3 is a failure of
//! the secure channel.

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::mitm::read_some;

/// The room password of most tests.
pub(crate) const PASSWORD: &str = "open sesame";

pub(crate) const HELLO_LEN: usize = 40;
pub(crate) const CONFIRM_LEN: usize = 32;
/// What L counts besides the payload: the type byte and the tag.
pub(crate) const L_OVERHEAD: usize = 17;
/// L of the CLOSE record: its payload is the reason byte.
pub(crate) const CLOSE_L: usize = L_OVERHEAD + 1;

/// How far "about 1 s" may stray.
const ABOUT_ONE_SECOND: (Duration, Duration) = (Duration::from_millis(900), Duration::from_secs(5));

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Starts `tete -v -l EXTRA... 127.0.0.1 0` with `TETE_PASSWORD=password` and waits until it
/// listens; returns it and the port the OS picked. stdout and stderr are captured.
pub(crate) fn start_listener(extra: &[&str], password: &str, stdin: Input) -> (Running, u16) {
    let mut args = vec!["-v", "-l"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let (listener, addr) = spawn_listening(tete(&args).password(password).stdin(stdin));
    (listener, addr.port())
}

/// `tete EXTRA... 127.0.0.1 PORT` with `TETE_PASSWORD=password`.
pub(crate) fn connector(extra: &[&str], port: u16, password: &str) -> Tete {
    let mut args: Vec<String> = extra.iter().map(|arg| arg.to_string()).collect();
    args.extend(["127.0.0.1".to_string(), port.to_string()]);
    tete(&args).password(password)
}

/// Asserts exit status 3 and one `tete: ` error line, which it returns.
#[track_caller]
pub(crate) fn assert_secure_failure(finished: &Finished) -> &str {
    finished.assert_code(3);
    finished.error_line()
}

/// Asserts that `line` contains `words`.
#[track_caller]
pub(crate) fn assert_mentions(finished: &Finished, line: &str, words: &str) {
    assert!(
        line.contains(words),
        "{}: the message should say {words:?}: {line:?}",
        finished.description
    );
}

/// Asserts that `stdout` is a prefix of `sent` no longer than `bound` bytes: nothing after the
/// point where the damage began reached stdout.
#[track_caller]
pub(crate) fn assert_prefix_within(what: &str, sent: &[u8], stdout: &[u8], bound: usize) {
    assert!(
        stdout.len() <= bound,
        "{what}: {} bytes reached stdout, but the damage began at plaintext offset {bound}",
        stdout.len()
    );
    assert_bytes_eq(what, &sent[..stdout.len()], stdout);
}

/// Asserts that tete has not ended.
#[track_caller]
pub(crate) fn assert_still_running(running: &mut Running, why: &str) {
    if let Some(status) = running.try_status() {
        panic!(
            "{}: ended ({status:?}) but {why}; stderr: {:?}",
            running.description,
            running.stderr_so_far()
        );
    }
}

/// The right peer for a waiting password listener whose stdin holds `listener_data`: a connector
/// with `password` sends its own data; both must end with status 0, each having printed exactly
/// what the other sent. Returns the listener's end.
#[track_caller]
pub(crate) fn right_peer_completes(
    listener: Running,
    port: u16,
    password: &str,
    listener_data: &[u8],
) -> Finished {
    let up = random_bytes(port as u64, 300 * KIB + 7);
    let client = connector(&[], port, password)
        .stdin(Input::Bytes(up.clone()))
        .run();
    client.assert_success().assert_quiet();
    assert_bytes_eq(
        "what the right connector printed",
        listener_data,
        &client.stdout,
    );
    let listener = listener.wait();
    listener.assert_success();
    assert_bytes_eq("what the listener printed", &up, &listener.stdout);
    listener
}

/// `text` repeated, numbered, to `len` bytes.
pub(crate) fn marker_text(text: &str, len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len + 64);
    let mut i = 0;
    while data.len() < len {
        data.extend_from_slice(format!("{text}{i:08}\n").as_bytes());
        i += 1;
    }
    data.truncate(len);
    data
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

/// `tete -v -l 127.0.0.1 P <down >out` + `tete -v 127.0.0.1 P <up >out`, both with the password.
fn round_trip(name: &str, up_len: usize, down_len: usize) {
    let dir = TempDir::new(name);
    let (up_file, up) = dir.random_file("up", up_len, 11);
    let (down_file, down) = dir.random_file("down", down_len, 12);
    let (listener_out, client_out) = (dir.join("listener.out"), dir.join("client.out"));
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .password(PASSWORD)
        .stdin(Input::File(down_file))
        .stdout(Output::File(listener_out.clone()))
        .spawn();
    let port = listener.wait_listening().port();
    let client = connector(&["-v"], port, PASSWORD)
        .stdin(Input::File(up_file))
        .stdout(Output::File(client_out.clone()))
        .run();
    let listener = listener.wait();
    client.assert_success();
    listener.assert_success();
    for end in [&client, &listener] {
        assert!(
            end.stderr
                .lines()
                .any(|line| line.starts_with("tete: secure channel up (")),
            "{}: -v should say 'secure channel up'; stderr: {:?}",
            end.description,
            end.stderr
        );
    }
    assert_bytes_eq("what the listener printed", &up, &dir.read(&listener_out));
    assert_bytes_eq("what the connector printed", &down, &dir.read(&client_out));
}

#[test]
fn round_trip_listener_to_connector() {
    round_trip("secure-down", 0, 4 * MIB + 333);
}

#[test]
fn round_trip_connector_to_listener() {
    round_trip("secure-up", 4 * MIB + 555, 0);
}

#[test]
fn round_trip_both_directions_at_once() {
    round_trip("secure-both", 3 * MIB + 1, 3 * MIB + 77);
}

// ---------------------------------------------------------------------------------------------
// Wrong passwords and strangers
// ---------------------------------------------------------------------------------------------

/// The scenarios below that wait out a timer of a second or two (the listener's one check a
/// second, `-w`, `-i`), each on a room of its own, all at once: the suite waits for the
/// longest, not their sum.
#[test]
fn timed_scenarios_at_once() {
    at_once(&[
        &wrong_password_then_the_right_one,
        &idle_timeout_waits_for_the_channel,
        &keep_open_outlives_a_truncated_peer,
        &silent_server_hits_the_connectors_deadline,
        &keep_open_serves_two_peers_in_turn,
        &wait_after_a_failed_handshake_says_so,
    ]);
}

/// A connector with the wrong password fails with status 3 and says why; the listener logs it,
/// and checks the next CONFIRM_C (the right peer's) only once a second has passed.
fn wrong_password_then_the_right_one() {
    let listener_data = random_bytes(21, 200 * KIB);
    let (mut listener, port) = start_listener(&[], PASSWORD, Input::Bytes(listener_data.clone()));
    let wrong = connector(&[], port, "not the password")
        .stdin(Input::Bytes(b"for the right peer only\n".to_vec()))
        .run();
    let line = assert_secure_failure(&wrong);
    assert_mentions(&wrong, line, "different passwords");
    assert_bytes_eq("the wrong connector's stdout", b"", &wrong.stdout);

    let logged = listener.wait_for_stderr("waiting for another peer");
    let paused_at = Instant::now();
    assert!(
        logged.contains("different passwords"),
        "{}: the log should say why: {logged:?}",
        listener.description
    );
    assert_still_running(&mut listener, "a stranger must not close the room");

    // The right peer connects at once; the listener checks its CONFIRM_C only after a second.
    let right = {
        let up = random_bytes(22, 100 * KIB);
        let client = connector(&[], port, PASSWORD)
            .stdin(Input::Bytes(up.clone()))
            .spawn();
        (client, up)
    };
    listener.wait_for_stderr("secure channel up");
    let paused = paused_at.elapsed();
    assert!(
        paused >= Duration::from_millis(800),
        "{}: checked the next CONFIRM_C {paused:?} after a wrong one, not a second after",
        listener.description
    );
    let client = right.0.wait();
    client.assert_success().assert_quiet();
    assert_bytes_eq(
        "the right connector's stdout",
        &listener_data,
        &client.stdout,
    );
    let listener = listener.wait();
    listener.assert_success();
    assert_bytes_eq("the listener's stdout", &right.1, &listener.stdout);
}

/// A tete without a password against a password listener: its bytes never reach the listener's
/// stdout, and the listener waits on for the right peer.
#[test]
fn plaintext_client_is_turned_away() {
    let listener_data = random_bytes(31, 64 * KIB);
    let (mut listener, port) = start_listener(&[], PASSWORD, Input::Bytes(listener_data.clone()));
    let plain = tete(["127.0.0.1", &port.to_string()])
        .stdin(Input::Bytes(
            b"hello, plain words the listener must never print\n".to_vec(),
        ))
        .spawn();
    listener.wait_for_stderr("waiting for another peer");
    assert_still_running(&mut listener, "a plaintext client must not close the room");
    // How the plain client ends is its own business; it must end.
    let plain = plain.wait();
    assert!(
        !plain
            .stdout
            .windows(8)
            .any(|w| listener_data.windows(8).any(|d| d == w)),
        "{}: the plain client received some of the listener's data",
        plain.description
    );
    let listener = right_peer_completes(listener, port, PASSWORD, &listener_data);
    assert!(
        !listener.stdout.windows(5).any(|w| w == b"plain"),
        "the plain client's bytes reached the listener's stdout"
    );
}

/// `-i` does not apply before the channel is up: with `-i 0.5`, a silent stranger neither ends
/// the listener after half a second nor keeps the right peer out while it is still connected.
fn idle_timeout_waits_for_the_channel() {
    let listener_data = random_bytes(43, 20 * KIB);
    let (mut listener, port) = start_listener(
        &["-i", "0.5"],
        PASSWORD,
        Input::Bytes(listener_data.clone()),
    );
    let _silent = connect(loopback(port));
    listener.wait_for_stderr("connection from");
    // Watching for what must not happen: twice -i's time, with the stranger connected.
    thread::sleep(Duration::from_secs(1));
    assert_still_running(&mut listener, "-i must not end a password listener");
    right_peer_completes(listener, port, PASSWORD, &listener_data);
}

/// With `-k`, a peer whose channel breaks after it authenticated (killed mid-session, so no
/// CLOSE arrives) ends only its own session: the listener reports it and serves the next peer.
fn keep_open_outlives_a_truncated_peer() {
    let (mut listener, port) = start_listener(&["-k"], PASSWORD, Input::Null);
    let mut first = connector(&["-v"], port, PASSWORD)
        .stdin(Input::Pipe)
        .spawn();
    first.wait_for_stderr("secure channel up");
    first.kill();
    // The kernel closes the killed peer's socket: a reset if it held unread bytes, else an
    // end of stream without CLOSE. Either way only that session ends.
    listener.wait_for_count("listening on", 2);
    let log = listener.stderr_so_far();
    assert!(
        log.contains("truncated") || log.contains("reset"),
        "{}: the broken session should be reported: {log:?}",
        listener.description
    );
    assert_still_running(&mut listener, "one broken peer must not end a -k listener");
    let second = connector(&[], port, PASSWORD)
        .stdin(Input::Bytes(b"second peer\n".to_vec()))
        .run();
    second.assert_success().assert_quiet();
    listener.wait_for_count("peer closed", 1);
    listener.kill();
    let listener = listener.wait();
    assert_bytes_eq(
        "what the -k listener printed",
        b"second peer\n",
        &listener.stdout,
    );
}

/// `tete -w 1` with a password against a server that accepts and says nothing: status 3 after
/// about 1 s, having sent nothing but its HELLO.
fn silent_server_hits_the_connectors_deadline() {
    let server = Peer::spawn(|mut stream| {
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        got
    });
    let start = Instant::now();
    let client = connector(&["-w", "1"], server.port(), PASSWORD)
        .stdin(Input::Bytes(b"never sent in the clear\n".to_vec()))
        .run();
    let took = start.elapsed();
    let line = assert_secure_failure(&client);
    assert_mentions(&client, line, "handshake");
    assert!(
        took >= ABOUT_ONE_SECOND.0 && took < ABOUT_ONE_SECOND.1,
        "{}: gave up after {took:?}, not about 1 s",
        client.description
    );
    assert!(client.stdout.is_empty(), "stdout: {:?}", client.stdout);
    let got = server.join();
    assert_eq!(got.len(), HELLO_LEN, "the server got {got:?}");
    assert_eq!(&got[..6], b"TETE\x02\x01", "the connector's HELLO");
}

/// An echo server as the "listener": the connector gets its own HELLO back, never authenticates,
/// and fails with status 3.
#[test]
fn reflection_is_refused() {
    let echo = Peer::spawn(|mut stream| {
        let mut seen = Vec::new();
        let mut buf = [0; 4096];
        while let Some(n) = read_some(&mut stream, &mut buf) {
            seen.extend_from_slice(&buf[..n]);
            if stream.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        seen
    });
    let client = connector(&[], echo.port(), PASSWORD)
        .stdin(Input::Bytes(b"reflected plaintext\n".to_vec()))
        .run();
    assert_secure_failure(&client);
    assert!(client.stdout.is_empty(), "stdout: {:?}", client.stdout);
    let seen = echo.join();
    assert!(
        seen.len() <= HELLO_LEN + CONFIRM_LEN,
        "the connector sent {} bytes to a peer that never authenticated",
        seen.len()
    );
    assert!(!seen.windows(9).any(|w| w == b"reflected"));
}

/// A version 1 peer (39-byte HELLO with version 0x01) gets "unsupported version", exit 3.
#[test]
fn version_1_peer_is_unsupported() {
    let server = Peer::spawn(|mut stream| {
        let mut hello_v1 = b"TETE\x01\x02".to_vec();
        hello_v1.extend_from_slice(&[0x42; 33]);
        let _ = stream.write_all(&hello_v1);
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        got
    });
    let client = connector(&[], server.port(), PASSWORD)
        .stdin(Input::Bytes(b"never sent\n".to_vec()))
        .run();
    let line = assert_secure_failure(&client);
    assert_mentions(&client, line, "unsupported protocol version");
    let got = server.join();
    assert_eq!(got.len(), HELLO_LEN, "the connector sent {got:?}");
}

// ---------------------------------------------------------------------------------------------
// Options in password mode
// ---------------------------------------------------------------------------------------------

/// `-C` turns each bare LF into CR LF before encryption; an existing CR LF stays as it is.
#[test]
fn crlf_before_encryption() {
    let (listener, port) = start_listener(&[], PASSWORD, Input::Null);
    let client = connector(&["-C"], port, PASSWORD)
        .stdin(Input::Bytes(b"a\r\nb\nc".to_vec()))
        .run();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("the listener's stdout", b"a\r\nb\r\nc", &listener.stdout);
}

/// `-d` on the connector: stdin (an open pipe with bytes in it) is never read; the listener
/// speaks, then closes, and both end.
#[test]
fn recv_only_connector() {
    let down = random_bytes(101, 500 * KIB);
    let (listener, port) = start_listener(&[], PASSWORD, Input::Bytes(down.clone()));
    let mut client = connector(&["-d"], port, PASSWORD)
        .stdin(Input::Pipe)
        .spawn();
    let mut stdin = client.take_stdin();
    stdin
        .write_all(b"must not be sent\n")
        .expect("writing to the connector's stdin");
    let client = client.wait();
    drop(stdin);
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("the connector's stdout", &down, &client.stdout);
    assert_bytes_eq("the listener's stdout", b"", &listener.stdout);
}

/// `-k`: two password peers in turn, each its own session.
fn keep_open_serves_two_peers_in_turn() {
    let dir = TempDir::new("secure-keep-open");
    let out = dir.join("listener.out");
    let mut listener = tete(["-k", "-v", "-l", "127.0.0.1", "0"])
        .password(PASSWORD)
        .stdout(Output::File(out.clone()))
        .spawn();
    let port = listener.wait_listening().port();
    let first = marker_text("first peer ", 100 * KIB);
    let second = marker_text("second peer ", 150 * KIB);
    for (turn, data) in [(1, &first), (2, &second)] {
        listener.wait_for_count("listening on", turn);
        let client = connector(&[], port, PASSWORD)
            .stdin(Input::Bytes(data.clone()))
            .run();
        client.assert_success().assert_quiet();
        assert!(
            client.stdout.is_empty(),
            "peer {turn} got {:?}",
            client.stdout
        );
        listener.wait_for_count("peer closed", turn);
    }
    listener.wait_for_count("secure channel up", 2);
    assert_still_running(&mut listener, "-k keeps listening");
    let mut both = first.clone();
    both.extend_from_slice(&second);
    assert_bytes_eq("the listener's stdout", &both, &dir.read(&out));
}

/// `--send-only` on the connector: it sends, and discards what the listener says. The connector
/// ends as soon as it has sent everything, so its stdin stays open until the listener has spoken
/// (it has, once it prints the first bytes it received): a later word from the listener would
/// meet a closed socket.
#[test]
fn send_only_connector() {
    let dir = TempDir::new("secure-send-only");
    let hi = dir.file("hi", b"the listener says hi\n");
    let out = dir.join("listener.out");
    let up = random_bytes(111, MIB + 5);
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .password(PASSWORD)
        .stdin(Input::File(hi))
        .stdout(Output::File(out.clone()))
        .spawn();
    let port = listener.wait_listening().port();
    let mut client = connector(&["--send-only"], port, PASSWORD)
        .stdin(Input::Pipe)
        .spawn();
    let mut stdin = client.take_stdin();
    let (first, rest) = up.split_at(up.len() / 2);
    stdin
        .write_all(first)
        .expect("writing to the connector's stdin");
    wait_until("the listener printing", TIMEOUT, || {
        std::fs::metadata(&out).is_ok_and(|meta| meta.len() > 0)
    });
    stdin
        .write_all(rest)
        .expect("writing to the connector's stdin");
    drop(stdin);
    let client = client.wait();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("the connector's stdout", b"", &client.stdout);
    assert_bytes_eq("the listener's stdout", &up, &dir.read(&out));
}

/// `-N` on the connector: no FIN after its CLOSE record; the session ends when the listener,
/// whose stdin ends too, has sent everything and closed.
#[test]
fn no_shutdown_connector() {
    let up = random_bytes(121, 700 * KIB);
    let down = random_bytes(122, 600 * KIB);
    let (listener, port) = start_listener(&[], PASSWORD, Input::Bytes(down.clone()));
    let client = connector(&["--no-shutdown"], port, PASSWORD)
        .stdin(Input::Bytes(up.clone()))
        .run();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("the connector's stdout", &down, &client.stdout);
    assert_bytes_eq("the listener's stdout", &up, &listener.stdout);
}

/// `-P -l -w 2` that saw a wrong password and then nobody else: the message says a handshake
/// failed, not that nobody connected.
fn wait_after_a_failed_handshake_says_so() {
    let (listener, port) = start_listener(&["-w", "2"], PASSWORD, Input::Null);
    let client = connector(&[], port, "not the password").run();
    client.assert_code(3);
    let finished = listener.wait();
    finished.assert_code(1);
    let line = finished.stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains("password handshake") && line.contains("1 failed"),
        "{}: {line:?}",
        finished.description
    );
}
