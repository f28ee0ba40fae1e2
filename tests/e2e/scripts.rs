//! The options for scripts, each with its interaction with the end-of-session rules: `-z`, `-k`,
//! `-C`, `-d`, `--send-only`, `-N`, and the values they refuse. (The timers `-w`, `-i` and `-q`:
//! waits.rs.)

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::harness::*;

/// How long a test watches for an end of stream that must not come: longer than the quiet
/// moment after which an empty stdin's held end of stream goes out.
const NO_EOF_WINDOW: Duration = Duration::from_millis(1500);

/// Asserts that no byte and no end of stream arrives on `stream` within [`NO_EOF_WINDOW`].
#[track_caller]
fn assert_nothing_arrives(stream: &TcpStream, what: &str) {
    if poll_readable(stream, NO_EOF_WINDOW) {
        let mut buf = [0; 64];
        let got = stream.peek(&mut buf);
        panic!(
            "{what}: expected nothing (no data, no EOF) yet, but the socket is readable: {got:?}"
        );
    }
}

/// The scenarios below that wait a second or more (the quiet window, or a watch for an end of
/// stream that must not come), each on connections of its own, all at once: the suite waits
/// for the longest, not their sum.
#[test]
fn timed_scenarios_at_once() {
    at_once(&[
        &keep_open_serves_peers_in_turn,
        &keep_open_stdin_goes_to_the_first_peer,
        &recv_only_never_half_closes,
        &no_shutdown_waits_for_the_peer,
    ]);
}

// ---------------------------------------------------------------------------------------------
// -z
// ---------------------------------------------------------------------------------------------

/// A port that accepts: exit 0, nothing said, nothing sent (even with stdin data).
#[test]
fn zero_port_accepts() {
    for verbose in [false, true] {
        let peer = Peer::spawn(|mut stream| read_to_eof(&mut stream, "the probed peer"));
        let port = peer.port().to_string();
        let mut args = vec!["-z", "127.0.0.1", &port];
        if verbose {
            args.insert(0, "-v");
        }
        let finished = tete(&args)
            .stdin(Input::Bytes(b"must not be sent\n".to_vec()))
            .run();
        let received = peer.join();
        finished.assert_success();
        assert_bytes_eq("what the probed peer received", b"", &received);
        assert!(
            finished.stdout.is_empty(),
            "{}: output on stdout",
            finished.description
        );
        if verbose {
            let line = finished.error_line();
            assert!(
                line.contains(&format!("127.0.0.1:{port}")) && line.contains("connected"),
                "{}: -v should say it connected to 127.0.0.1:{port}: {line:?}",
                finished.description
            );
        } else {
            finished.assert_quiet();
        }
    }
}

/// A refused port: exit 1, silent without -v, saying so with -v.
#[test]
fn zero_port_refused() {
    let port = free_port().to_string();
    let finished = tete(["-z", "127.0.0.1", &port]).run();
    finished.assert_code(1).assert_quiet();
    let finished = tete(["-z", "-v", "127.0.0.1", &port]).run();
    finished.assert_code(1);
    let line = finished.error_line();
    assert!(
        line.contains(&port) && line.to_lowercase().contains("refused"),
        "{}: -v should say that port {port} refused: {line:?}",
        finished.description
    );
}

/// An unknown host: exit 1, silent without -v, naming the host with -v.
#[test]
fn zero_unknown_host() {
    let port = free_port().to_string();
    let finished = tete(["-z", "nosuch.invalid", &port]).run();
    finished.assert_code(1).assert_quiet();
    let finished = tete(["-z", "-v", "nosuch.invalid", &port]).run();
    finished.assert_code(1);
    let line = finished.error_line();
    assert!(
        line.contains("nosuch.invalid"),
        "{}: -v should name the host: {line:?}",
        finished.description
    );
}

// ---------------------------------------------------------------------------------------------
// -k
// ---------------------------------------------------------------------------------------------

/// `tete -k -l > out < /dev/null` serves three peers in turn: each reads EOF once its
/// connection has been quiet for the quiet window (a short `--peer-timeout` here), and the
/// output is the three peers' bytes in order.
fn keep_open_serves_peers_in_turn() {
    let dir = TempDir::new("keep-open");
    let out = dir.join("out");
    let (mut listener, addr) = start_listener(
        &["-k", "--peer-timeout", "1"],
        Input::Null,
        Output::File(out.clone()),
    );
    let mut expected = Vec::new();
    for i in 0..3 {
        let bytes = random_bytes(100 + i as u64, 100 * KIB + i);
        let mut stream = connect(addr);
        // stdin has ended with nothing sent: an end of stream after the quiet window.
        assert!(
            poll_readable(&stream, PROMPTLY),
            "peer {i}: no EOF from the listener"
        );
        assert_eq!(read_to_eof(&mut stream, "a peer"), b"", "peer {i}");
        stream.write_all(&bytes).expect("a peer's bytes");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        drop(stream);
        expected.extend_from_slice(&bytes);
        listener.wait_for_count("peer closed", i + 1);
        listener.wait_for_count("listening on", i + 2);
    }
    listener.assert_running("listening on");
    drop(listener);
    assert_bytes_eq("what tete -k printed", &expected, &dir.read(&out));
}

/// `-k` with stdin data: the first peer gets it all, the next only an end of stream (once its
/// connection has been quiet for the quiet window, a short `--peer-timeout` here).
fn keep_open_stdin_goes_to_the_first_peer() {
    let dir = TempDir::new("keep-open-stdin");
    let out = dir.join("out");
    let data = random_bytes(110, 300 * KIB + 7);
    let (mut listener, addr) = start_listener(
        &["-k", "--peer-timeout", "1"],
        Input::Bytes(data.clone()),
        Output::File(out.clone()),
    );
    let mut first = connect(addr);
    first.write_all(b"one\n").expect("the first peer's bytes");
    first.shutdown(Shutdown::Write).expect("shutdown");
    assert_bytes_eq(
        "what the first peer received",
        &data,
        &read_to_eof(&mut first, "the first peer"),
    );
    listener.wait_for_count("listening on", 2);
    let mut second = connect(addr);
    assert_eq!(read_to_eof(&mut second, "the second peer"), b"");
    second.write_all(b"two\n").expect("the second peer's bytes");
    drop(second);
    listener.wait_for_count("listening on", 3);
    listener.assert_running("listening on");
    drop(listener);
    assert_bytes_eq("what tete -k printed", b"one\ntwo\n", &dir.read(&out));
}

/// `-k`: a second client that connects while the first is served waits in the listening
/// socket's queue and is served next (nc's `-k`), instead of being refused.
#[test]
fn keep_open_serves_a_queued_client_next() {
    let dir = TempDir::new("keep-open-queue");
    let out = dir.join("out");
    let (mut listener, addr) = start_listener(&["-k"], Input::Null, Output::File(out.clone()));
    let mut first = connect(addr);
    first.write_all(b"one\n").expect("the first client's bytes");
    listener.wait_for_count("connection from", 1);
    // The first client is being served; the second connects now, and is not refused.
    let mut second = connect(addr);
    second
        .write_all(b"two\n")
        .expect("the second client's bytes");
    second.shutdown(Shutdown::Write).expect("shutdown");
    first.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(read_to_eof(&mut first, "the first client"), b"");
    assert_eq!(read_to_eof(&mut second, "the second client"), b"");
    listener.wait_for_count("peer closed", 2);
    listener.assert_running("listening on");
    drop(listener);
    assert_bytes_eq("what tete -k printed", b"one\ntwo\n", &dir.read(&out));
}

// ---------------------------------------------------------------------------------------------
// -C
// ---------------------------------------------------------------------------------------------

fn crlf_run(args: &[&str], stdin: &[u8]) -> (Finished, Vec<u8>) {
    let peer = Peer::spawn(|mut stream| {
        stream.write_all(b"x\ny\n").expect("the peer's lines");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        read_to_eof(&mut stream, "the peer")
    });
    let port = peer.port().to_string();
    let mut all = args.to_vec();
    all.extend_from_slice(&["127.0.0.1", &port]);
    let finished = tete(&all).stdin(Input::Bytes(stdin.to_vec())).run();
    (finished, peer.join())
}

/// `-C`: each LF from stdin goes out as CR LF; what comes back is untouched.
#[test]
fn crlf_translates_stdin() {
    let (finished, received) = crlf_run(&["-C"], b"a\nb\n");
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received", b"a\r\nb\r\n", &received);
    assert_bytes_eq("what tete printed", b"x\ny\n", &finished.stdout);
}

/// Without `-C`, the bytes go out unchanged.
#[test]
fn without_crlf_stdin_is_unchanged() {
    let (finished, received) = crlf_run(&[], b"a\nb\n");
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received", b"a\nb\n", &received);
    assert_bytes_eq("what tete printed", b"x\ny\n", &finished.stdout);
}

/// `-C` on more lines than a buffer holds, lines of every length.
#[test]
fn crlf_translates_many_lines() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    let mut rng = XorShift::new(120);
    while input.len() < 600 * KIB {
        let len = (rng.next_u64() % 200) as usize;
        let line: Vec<u8> = (0..len)
            .map(|_| b'a' + (rng.next_u64() % 26) as u8)
            .collect();
        input.extend_from_slice(&line);
        input.push(b'\n');
        expected.extend_from_slice(&line);
        expected.extend_from_slice(b"\r\n");
    }
    let (finished, received) = crlf_run(&["-C"], &input);
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received", &expected, &received);
}

// ---------------------------------------------------------------------------------------------
// -d
// ---------------------------------------------------------------------------------------------

/// `-d` means stdin is not there at all (nc's `-d`): no end of stream while tete runs, so a
/// peer that takes a FIN as "the transfer is over" (nc, ncat) sends everything. The peer
/// speaks and closes; tete prints it all and ends with 0, and only then does the peer see EOF.
/// `--no-shutdown` changes nothing here (both at once).
fn recv_only_never_half_closes() {
    let recv_only = |args: &[&str], seed: u64| {
        let greeting = random_bytes(seed, MIB + 3);
        let sent = greeting.clone();
        let peer = Peer::spawn(move |mut stream| {
            assert_nothing_arrives(&stream, "the peer of tete -d");
            stream.write_all(&sent).expect("the greeting");
            stream.shutdown(Shutdown::Write).expect("shutdown");
            read_to_eof(&mut stream, "the peer of tete -d")
        });
        let (stdin_read, stdin_write) = pipe();
        let port = peer.port().to_string();
        let mut all = args.to_vec();
        all.extend_from_slice(&["127.0.0.1", &port]);
        let finished = tete(&all).stdin(Input::Fd(stdin_read.into())).run();
        let late = peer.join();
        drop(stdin_write);
        finished.assert_success().assert_quiet();
        assert_bytes_eq("what the peer received", b"", &late);
        assert_bytes_eq("what tete printed", &greeting, &finished.stdout);
    };
    at_once(&[&|| recv_only(&["-d"], 130), &|| {
        recv_only(&["-d", "--no-shutdown"], 131)
    }]);
}

/// `-d` never reads stdin: bytes waiting there are still there after tete has ended.
#[test]
fn recv_only_never_reads_stdin() {
    let peer = Peer::spawn(|mut stream| {
        stream.write_all(b"hello\n").expect("the greeting");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        read_to_eof(&mut stream, "the peer of tete -d")
    });
    let (stdin_read, mut stdin_write) = pipe();
    let waiting = b"not for tete\n";
    stdin_write.write_all(waiting).expect("filling stdin");
    let finished = tete(["-d", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Fd(dup(&stdin_read).into()))
        .run();
    let early = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received", b"", &early);
    assert_bytes_eq("what tete printed", b"hello\n", &finished.stdout);
    assert_eq!(
        pending_bytes(&stdin_read),
        waiting.len(),
        "{}: read from its stdin",
        finished.description
    );
    drop(stdin_write);
}

// ---------------------------------------------------------------------------------------------
// --send-only
// ---------------------------------------------------------------------------------------------

/// `--send-only`: the peer's greeting is discarded, and tete ends once stdin has been sent, while
/// the peer still holds the connection open. The greeting reaches tete before any stdin does.
#[test]
fn send_only_ends_when_stdin_is_sent() {
    let data = random_bytes(140, 2 * MIB + 5);
    let (greeted_tx, greeted_rx) = mpsc::channel::<()>();
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |mut stream| {
        stream
            .write_all(&random_bytes(141, 4 * KIB))
            .expect("the peer's greeting");
        greeted_tx.send(()).expect("reporting the greeting");
        let received = read_to_eof(&mut stream, "the peer of tete --send-only");
        // The peer never closes first: it waits until tete has ended.
        let _ = ended_rx.recv_timeout(TIMEOUT);
        received
    });
    let mut running = tete(["--send-only", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Pipe)
        .spawn();
    let mut stdin = running.take_stdin();
    greeted_rx
        .recv_timeout(TIMEOUT)
        .expect("the peer never greeted");
    stdin.write_all(&data).expect("tete's stdin");
    drop(stdin);
    let finished = running.wait();
    let _ = ended_tx.send(());
    let received = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what tete printed", b"", &finished.stdout);
    assert_bytes_eq("what the peer received", &data, &received);
}

/// `--send-only` with a peer that greets a little late, while stdin's bytes are still on their
/// way to it (a server with a slow banner): the greeting is discarded, and ending must not cost
/// the peer any of stdin's bytes.
#[test]
fn send_only_peer_greets_late() {
    let data = random_bytes(142, 2 * MIB + 5);
    let (greet_tx, greet_rx) = mpsc::channel::<()>();
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |mut stream| {
        // The greeting comes once tete has queued all of stdin that it can.
        let _ = greet_rx.recv_timeout(TIMEOUT);
        stream
            .write_all(&random_bytes(143, 4 * KIB))
            .expect("the peer's greeting");
        let received = read_to_eof(&mut stream, "the peer of tete --send-only");
        let _ = ended_rx.recv_timeout(TIMEOUT);
        received
    });
    let (stdin_read, mut stdin_write) = pipe();
    let stdin_left = dup(&stdin_read);
    let running = tete(["--send-only", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Fd(stdin_read.into()))
        .spawn();
    let sent = data.clone();
    let feeder = thread::spawn(move || stdin_write.write_all(&sent).expect("tete's stdin"));
    // Queued: all of stdin read (the feeder done, the pipe empty), or tete no longer reading it.
    wait_until("tete has queued its stdin", TIMEOUT, || {
        (feeder.is_finished() && pending_bytes(&stdin_left) == 0)
            || running.stalled(|| pending_bytes(&stdin_left) > 0)
    });
    greet_tx.send(()).expect("the peer waits to greet");
    drop(stdin_left);
    let finished = running.wait();
    feeder.join().expect("the feeder");
    let _ = ended_tx.send(());
    let received = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what tete printed", b"", &finished.stdout);
    assert_bytes_eq("what the peer received", &data, &received);
}

// ---------------------------------------------------------------------------------------------
// --no-shutdown
// ---------------------------------------------------------------------------------------------

/// `--no-shutdown`: no FIN at stdin's end; the session ends when the peer closes.
fn no_shutdown_waits_for_the_peer() {
    let request = b"request\n".to_vec();
    let reply = random_bytes(150, 200 * KIB);
    let sent = reply.clone();
    let expected = request.clone();
    let peer = Peer::spawn(move |mut stream| {
        let mut got = vec![0; expected.len()];
        stream.read_exact(&mut got).expect("the request");
        assert_eq!(got, expected, "the request");
        assert_nothing_arrives(&stream, "the peer of tete --no-shutdown");
        stream.write_all(&sent).expect("the reply");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        read_to_eof(&mut stream, "the peer of tete --no-shutdown")
    });
    let finished = tete(["--no-shutdown", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Bytes(request))
        .run();
    let late = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received after the request", b"", &late);
    assert_bytes_eq("what tete printed", &reply, &finished.stdout);
}

// ---------------------------------------------------------------------------------------------
// Bad values
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_values_exit_2() {
    let port = free_port().to_string();
    let port = port.as_str();
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["-w", "soon", "127.0.0.1", port], Some("soon")),
        (vec!["-i", "-3", "127.0.0.1", port], Some("-3")),
        (vec!["-w", "0", "127.0.0.1", port], Some("-w")),
        (vec!["-i", "0", "127.0.0.1", port], Some("-i")),
        (vec!["-w", "0.5s", "-l", port], Some("0.5s")),
        (vec!["-k", "127.0.0.1", port], Some("-k")),
        (vec!["-z", "-l", "127.0.0.1", port], Some("-z")),
        (
            vec!["-d", "--send-only", "127.0.0.1", port],
            Some("--send-only"),
        ),
    ];
    assert_usage_errors(&cases);
}
