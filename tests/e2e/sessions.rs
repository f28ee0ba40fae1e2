//! How sessions end, run for real over loopback: a late reply after our end of stream, a server
//! that speaks first, a peer's end while stdout is full, one peer at a time, resets reported with
//! the peer's address, and a reader of stdout that goes away.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::AtomicU64;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::transfers::{BIG, assert_listener_story};

// ---------------------------------------------------------------------------------------------
// How sessions end
// ---------------------------------------------------------------------------------------------

/// `echo hi | tete host port` against a server that answers only after EOF, and late.
#[test]
fn late_reply_after_eof_arrives_in_full() {
    let reply = random_bytes(9, 256 * KIB);
    let expected = reply.clone();
    let peer = Peer::spawn(move |mut stream| {
        let request = read_to_eof(&mut stream, "the server reading the request");
        // The server is slow to answer: part of the scenario, not synchronisation.
        thread::sleep(Duration::from_secs(1));
        stream.write_all(&reply).expect("the server's reply");
        request
    });
    let finished = tete(["127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Bytes(b"hi\n".to_vec()))
        .run();
    let request = peer.join();
    assert_eq!(request, b"hi\n", "what the server received");
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the late reply", &expected, &finished.stdout);
}

fn greeting() -> Vec<u8> {
    let mut greeting = b"220 hello, I speak first\r\n".to_vec();
    greeting.extend(random_bytes(10, 64 * KIB));
    greeting
}

/// A server that speaks first and closes, tete's stdin /dev/null.
#[test]
fn server_speaks_first_stdin_dev_null() {
    let greeting = greeting();
    let sent = greeting.clone();
    let peer = Peer::spawn(move |mut stream| stream.write_all(&sent).expect("greeting"));
    let finished = tete(["127.0.0.1", &peer.port().to_string()]).run();
    peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the greeting", &greeting, &finished.stdout);
}

/// A server that speaks first and closes, tete's stdin a terminal nobody types on: the peer's
/// close ends the session.
#[test]
fn server_speaks_first_stdin_terminal() {
    let pty = Pty::open();
    let before = pty.termios();
    let greeting = greeting();
    let sent = greeting.clone();
    let peer = Peer::spawn(move |mut stream| stream.write_all(&sent).expect("greeting"));
    let finished = tete(["127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Fd(pty.slave_fd()))
        .controlling_terminal()
        .run();
    peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the greeting", &greeting, &finished.stdout);
    assert_eq!(pty.termios(), before, "the terminal's settings changed");
    assert!(
        !is_nonblocking(pty.slave()),
        "O_NONBLOCK left on the terminal"
    );
}

/// The peer sends exactly what tete's stdout pipe holds, then closes, while nobody reads the
/// pipe: tete must still notice the peer's EOF once the pipe is drained.
#[test]
fn peer_eof_while_stdout_pipe_is_full() {
    let (mut stdout_read, stdout_write) = pipe();
    let data = random_bytes(21, pipe_capacity(&stdout_write));
    let sent = data.clone();
    let peer = Peer::spawn(move |mut stream| stream.write_all(&sent).expect("sending"));
    let running = tete(["127.0.0.1", &peer.port().to_string()])
        .stdout(Output::Fd(stdout_write.into()))
        .spawn();
    peer.join();
    // Only once the pipe is full does the test start reading it.
    wait_until("tete filling its stdout", TIMEOUT, || {
        pending_bytes(&stdout_read) >= data.len()
    });
    let received = read_exact_within(&mut stdout_read, data.len(), TIMEOUT);
    let finished = running.wait();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what tete printed", &data, &received);
}

// ---------------------------------------------------------------------------------------------
// One peer at a time, and failures mid-session
// ---------------------------------------------------------------------------------------------

/// While a session is live the listening socket is closed: a second peer is refused.
#[test]
fn second_peer_is_refused() {
    let (mut stdout_read, stdout_write) = pipe();
    let (mut listener, addr) = start_listener(&[], Input::Pipe, Output::Fd(stdout_write.into()));
    let listener_stdin = listener.take_stdin();
    let mut first = connect(addr);
    first.write_all(b"hello\n").expect("the first peer's hello");
    // Bytes on tete's stdout prove that the session has begun.
    assert_eq!(read_exact_within(&mut stdout_read, 6, TIMEOUT), b"hello\n");
    listener.wait_for_stderr("connection from 127.0.0.1:");

    match TcpStream::connect_timeout(&addr, TIMEOUT) {
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {}
        Err(err) => panic!("the second connect failed, but not with ECONNREFUSED: {err}"),
        Ok(second) => panic!(
            "a second peer ({:?}) could connect while a session was live",
            second.local_addr()
        ),
    }

    // The first session still ends normally.
    drop(listener_stdin);
    first.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(read_to_eof(&mut first, "the first peer"), b"");
    let finished = listener.wait();
    finished.assert_success();
    assert_listener_story(&finished, addr, Ipv4Addr::LOCALHOST.into());
}

#[track_caller]
fn assert_reset_reported(line: &str, peer: SocketAddr) {
    assert!(
        line.starts_with("tete: "),
        "the error should start with 'tete: ': {line:?}"
    );
    assert!(
        line.contains(&peer.to_string()),
        "the error should name the peer {peer}: {line:?}"
    );
    assert!(
        line.contains("connection reset by peer") || line.contains("broken pipe"),
        "the error should say the connection was reset: {line:?}"
    );
}

/// The peer resets the connection while tete (connecting) still sends its stdin.
#[test]
fn peer_reset_is_reported_by_the_client() {
    let dir = TempDir::new("reset-client");
    let (file, _) = dir.random_file("in", BIG, 13);
    let peer = Peer::spawn(|mut stream| {
        let mut start = vec![0; MIB];
        stream.read_exact(&mut start).expect("the first MiB");
        set_linger_zero(&stream);
    });
    let peer_addr = peer.addr;
    let finished = tete(["127.0.0.1", &peer.port().to_string()])
        .stdin(Input::File(file))
        .stdout(Output::Null)
        .run();
    peer.join();
    finished.assert_code(1);
    assert_reset_reported(finished.error_line(), peer_addr);
}

/// The peer resets the connection while tete (listening) still sends its stdin.
#[test]
fn peer_reset_is_reported_by_the_listener() {
    let dir = TempDir::new("reset-listener");
    let (file, _) = dir.random_file("in", BIG, 14);
    let (listener, addr) = start_listener(&[], Input::File(file), Output::Null);
    let mut peer = connect(addr);
    let peer_addr = peer.local_addr().expect("the peer's address");
    let mut start = vec![0; MIB];
    peer.read_exact(&mut start).expect("the first MiB");
    set_linger_zero(&peer);
    drop(peer);
    let finished = listener.wait();
    finished.assert_code(1);
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "{}: expected the -v lines, the summary and one error: {:?}",
        finished.description,
        finished.stderr
    );
    assert_eq!(lines[0], format!("tete: listening on {addr}"));
    assert_eq!(lines[1], format!("tete: connection from {peer_addr}"));
    assert!(lines[2].starts_with("tete: sent "), "{lines:?}");
    assert_reset_reported(lines[3], peer_addr);
}

/// `tete ... | head -c 10`: the reader of stdout goes away while the peer keeps sending.
#[test]
fn stdout_closed_early_ends_quietly() {
    let peer = Peer::spawn(|mut stream| stream_into(&mut stream, 1 << 30, &AtomicU64::new(0)));
    let (mut stdout_read, stdout_write) = pipe();
    let running = tete(["127.0.0.1", &peer.port().to_string()])
        .stdout(Output::Fd(stdout_write.into()))
        .spawn();
    let head = read_exact_within(&mut stdout_read, 10, TIMEOUT);
    assert_eq!(head, random_bytes(7, 10), "the first 10 bytes");
    drop(stdout_read);
    let closed = Instant::now();
    let finished = running.wait();
    let took = closed.elapsed();
    assert!(
        !finished.stderr.contains("panicked"),
        "tete panicked: {:?}",
        finished.stderr
    );
    finished.assert_success().assert_quiet();
    assert!(
        took < PROMPTLY,
        "tete took {took:?} to end after its stdout closed"
    );
    let sent = peer.join();
    assert!(sent < 1 << 30, "the peer could send everything");
}
