//! tete's core behaviour, run for real over loopback: byte-exact transfers, how sessions end,
//! every kind of stdin, shared descriptors left as found, bounded memory, errors and their exit
//! statuses, IPv6, and a chat between two terminals.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::*;

/// The size of the "tens of MiB" transfers.
const BIG: usize = 32 * MIB;

/// What the peer offers in the memory tests: far more than any buffer should hold.
const FLOOD: u64 = 128 * MIB as u64;

/// The most tete may have resident at its peak (debug build; the release target is 4 MiB).
const MEMORY_LIMIT_KIB: u64 = 8 * 1024;

/// How soon "promptly" is.
const PROMPTLY: Duration = Duration::from_secs(5);

/// Checks a listener's `-v` lines for a whole session that ended normally.
#[track_caller]
fn assert_listener_story(finished: &Finished, addr: SocketAddr, peer_ip: IpAddr) {
    let lines: Vec<&str> = finished.stderr.lines().collect();
    let story = format!("{}: stderr {:?}", finished.description, finished.stderr);
    assert_eq!(lines.len(), 4, "{story}");
    assert_eq!(lines[0], format!("tete: listening on {addr}"), "{story}");
    let from = lines[1]
        .strip_prefix("tete: connection from ")
        .unwrap_or_else(|| panic!("{story}"));
    let from: SocketAddr = from.parse().unwrap_or_else(|_| panic!("{story}"));
    assert_eq!(from.ip(), peer_ip, "{story}");
    assert_eq!(lines[2], "tete: peer closed", "{story}");
    assert!(lines[3].starts_with("tete: sent "), "{story}");
}

/// [`exchange`] on 127.0.0.1 and a port the OS picks.
fn exchange_on_loopback(
    dir: &TempDir,
    listener_stdin: Input,
    client_stdin: Input,
    to_listener: &[u8],
    to_client: &[u8],
) {
    exchange(
        dir,
        "127.0.0.1",
        0,
        "127.0.0.1",
        listener_stdin,
        client_stdin,
        to_listener,
        to_client,
    );
}

/// One session between `tete -v -l LISTEN_HOST PORT` (port 0: the OS picks) and `tete
/// CONNECT_HOST PORT`, each side's stdout a file: both must end by themselves with status 0, having printed exactly what the
/// other side sent.
#[allow(clippy::too_many_arguments)]
fn exchange(
    dir: &TempDir,
    listen_host: &str,
    port: u16,
    connect_host: &str,
    listener_stdin: Input,
    client_stdin: Input,
    to_listener: &[u8],
    to_client: &[u8],
) {
    let listener_out = dir.join("listener.out");
    let client_out = dir.join("client.out");
    let (listener, addr) = start_listener_on(
        listen_host,
        port,
        &[],
        listener_stdin,
        Output::File(listener_out.clone()),
    );
    let client = tete([connect_host, &addr.port().to_string()])
        .stdin(client_stdin)
        .stdout(Output::File(client_out.clone()))
        .spawn();
    let client = client.wait();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_listener_story(&listener, addr, addr.ip());
    // -v's summary counts what reached stdout, whichever route the bytes took.
    let received = format!(", received {} bytes", to_listener.len());
    assert!(
        listener.stderr.contains(&received),
        "{}: no {received:?} in {:?}",
        listener.description,
        listener.stderr
    );
    assert_bytes_eq(
        "what the listener printed",
        to_listener,
        &dir.read(&listener_out),
    );
    assert_bytes_eq("what the client printed", to_client, &dir.read(&client_out));
}

// ---------------------------------------------------------------------------------------------
// Byte-exact transfers
// ---------------------------------------------------------------------------------------------

/// `tete -l P > out` + `tete 127.0.0.1 P < file`
#[test]
fn listener_receives_a_file() {
    let dir = TempDir::new("listener-receives");
    let (file, data) = dir.random_file("in", BIG, 1);
    let (listener, client) = (Input::Null, Input::File(file));
    exchange_on_loopback(&dir, listener, client, &data, b"");
}

/// `tete -l P < file` + `tete 127.0.0.1 P > out < /dev/null`
#[test]
fn listener_sends_a_file() {
    let dir = TempDir::new("listener-sends");
    let (file, data) = dir.random_file("in", BIG, 2);
    let (listener, client) = (Input::File(file), Input::Null);
    exchange_on_loopback(&dir, listener, client, b"", &data);
}

/// Both sides send a different file at the same time.
#[test]
fn both_directions_at_once() {
    let dir = TempDir::new("both-directions");
    let (up_file, up) = dir.random_file("up", BIG, 3);
    let (down_file, down) = dir.random_file("down", BIG, 4);
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    exchange_on_loopback(&dir, listener, client, &up, &down);
}

// ---------------------------------------------------------------------------------------------
// Kinds of stdin
// ---------------------------------------------------------------------------------------------

/// stdin a pipe, on both sides: `producer | tete ...`.
#[test]
fn stdin_pipe() {
    let dir = TempDir::new("stdin-pipe");
    let up = random_bytes(5, 4 * MIB + 123);
    let down = random_bytes(6, 4 * MIB + 321);
    let listener = Input::Bytes(down.clone());
    let client = Input::Bytes(up.clone());
    exchange_on_loopback(&dir, listener, client, &up, &down);
}

/// stdin /dev/null on both sides: nothing to say, and both still end.
#[test]
fn stdin_dev_null_on_both_sides() {
    let dir = TempDir::new("stdin-null");
    exchange_on_loopback(&dir, Input::Null, Input::Null, b"", b"");
}

/// `tete 127.0.0.1 P <&-`: a closed stdin reads as an empty one.
#[test]
fn stdin_closed_on_the_client() {
    let dir = TempDir::new("stdin-closed-client");
    let (file, data) = dir.random_file("in", MIB, 7);
    let (listener, client) = (Input::File(file), Input::Closed);
    exchange_on_loopback(&dir, listener, client, b"", &data);
}

/// `tete -l P <&-`
#[test]
fn stdin_closed_on_the_listener() {
    let dir = TempDir::new("stdin-closed-listener");
    let (file, data) = dir.random_file("in", MIB, 8);
    let (listener, client) = (Input::Closed, Input::File(file));
    exchange_on_loopback(&dir, listener, client, &data, b"");
}

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
    let deadline = Instant::now() + TIMEOUT;
    while pending_bytes(&stdout_read) < data.len() {
        assert!(Instant::now() < deadline, "tete never filled its stdout");
        thread::sleep(Duration::from_millis(5));
    }
    let received = read_exact_within(&mut stdout_read, data.len(), TIMEOUT);
    let finished = running.wait();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what tete printed", &data, &received);
}

// ---------------------------------------------------------------------------------------------
// Shared descriptors
// ---------------------------------------------------------------------------------------------

/// tete's stdin and stdout are pipes whose open file descriptions the test shares (as a shell
/// and its other children would): `O_NONBLOCK` must never appear on them, neither during the
/// session (including while tete is blocked on each of them) nor after.
#[test]
fn shared_pipes_stay_blocking() {
    let (stdin_read, mut stdin_write) = pipe();
    let stdin_shared = dup(&stdin_read);
    let (mut stdout_read, stdout_write) = pipe();
    let stdout_shared = dup(&stdout_write);
    let check = |when: &str| {
        assert!(
            !is_nonblocking(&stdin_shared),
            "O_NONBLOCK set on the shared stdin pipe {when}"
        );
        assert!(
            !is_nonblocking(&stdout_shared),
            "O_NONBLOCK set on the shared stdout pipe {when}"
        );
    };

    // More than the socket buffers hold, so that a peer that stops reading blocks stdin.
    let upload = random_bytes(11, 16 * MIB);
    let download = random_bytes(12, 16 * MIB);
    let sent_down = download.clone();
    let (release, released) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |mut stream| {
        let mut ping = [0; 5];
        stream.read_exact(&mut ping).expect("ping");
        stream.write_all(b"pong\n").expect("pong");
        released.recv_timeout(TIMEOUT).expect("the test's go-ahead");
        let rest = read_to_eof(&mut stream, "the peer reading the upload");
        stream.write_all(&sent_down).expect("the download");
        (ping, rest)
    });
    let mut running = tete(["127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Fd(stdin_read.into()))
        .stdout(Output::Fd(stdout_write.into()))
        .spawn();
    check("as tete starts");

    stdin_write.write_all(b"ping\n").expect("ping");
    let pong = read_exact_within(&mut stdout_read, 5, TIMEOUT);
    assert_eq!(pong, b"pong\n");
    check("during the session");

    // The peer reads nothing for now: tete ends up waiting on a full socket, stdin pending.
    let counter = Arc::new(AtomicU64::new(0));
    let written = counter.clone();
    let sent_up = upload.clone();
    let writer = thread::spawn(move || {
        write_counting(&mut stdin_write, &sent_up, &written).expect("the upload");
    });
    running.wait_until_stalled("stdin unread", || pending_bytes(&stdin_shared) > 0);
    let stalled_at = counter.load(Ordering::SeqCst);
    assert!(
        stalled_at < upload.len() as u64,
        "all of stdin went although the peer reads nothing"
    );
    check("while stdin is blocked mid-transfer");
    release.send(()).expect("releasing the peer");
    writer.join().expect("the upload thread");
    check("after the upload");

    // Now the download: stdout fills up while the test does not read.
    let mut received = read_exact_within(&mut stdout_read, MIB, TIMEOUT);
    check("while stdout streams");
    received.extend(read_exact_within(&mut stdout_read, 15 * MIB, TIMEOUT));

    let finished = running.wait();
    finished.assert_success().assert_quiet();
    check("after tete ended");
    let (ping, rest) = peer.join();
    assert_eq!(&ping, b"ping\n");
    assert_bytes_eq("the upload", &upload, &rest);
    assert_bytes_eq("the download", &download, &received);
    assert_eq!(
        pending_bytes(&stdout_read),
        0,
        "tete wrote more than the download"
    );
}

// ---------------------------------------------------------------------------------------------
// Bounded memory
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_memory_bounded(running: &Running, situation: &str) {
    let peak_kib = running.peak_memory_kib();
    eprintln!("{situation}: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < MEMORY_LIMIT_KIB,
        "{situation}: tete's peak RSS is {peak_kib} KiB, over {MEMORY_LIMIT_KIB} KiB"
    );
}

/// The peer floods tete while nobody reads tete's stdout (`stdout`, whose unread end is
/// `unread`): the flood must stall with tete's memory bounded.
fn assert_bounded_behind_stalled_reader(situation: &str, stdout: OwnedFd, unread: &impl AsFd) {
    let counter = Arc::new(AtomicU64::new(0));
    let sent = counter.clone();
    let peer = Peer::spawn(move |mut stream| stream_into(&mut stream, FLOOD, &sent));
    let mut running = tete(["127.0.0.1", &peer.port().to_string()])
        .stdout(Output::Fd(stdout))
        .spawn();
    let peer_port = peer.port();
    running.wait_until_stalled("the peer's bytes unread", || unread_from(peer_port) > 0);
    let sent = counter.load(Ordering::SeqCst);
    running.assert_running(&format!("waiting ({situation}, its stdout stalled)"));
    assert!(
        pending_bytes(unread) > 0,
        "{situation}: tete wrote nothing to its stdout"
    );
    assert!(
        sent < FLOOD,
        "{situation}: the peer sent all {FLOOD} bytes although nobody reads tete's stdout"
    );
    assert_memory_bounded(&running, &format!("{situation}, {sent} bytes sent"));
    running.kill();
    peer.join();
}

/// tete's stdin streams while its peer never reads: the feed must stall with tete's memory
/// bounded. `options` come before the address.
fn assert_bounded_behind_stalled_peer(situation: &str, options: &[&str]) {
    let (release, released) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |stream| {
        let _ = released.recv_timeout(TIMEOUT);
        drop(stream);
    });
    let (stdin_read, mut stdin_write) = pipe();
    let stdin_left = dup(&stdin_read);
    let port = peer.port().to_string();
    let args = options.iter().copied().chain(["127.0.0.1", port.as_str()]);
    let mut running = tete(args).stdin(Input::Fd(stdin_read.into())).spawn();
    let counter = Arc::new(AtomicU64::new(0));
    let fed = counter.clone();
    let feeder = thread::spawn(move || stream_into(&mut stdin_write, FLOOD, &fed));
    running.wait_until_stalled("stdin unread", || pending_bytes(&stdin_left) > 0);
    let fed = counter.load(Ordering::SeqCst);
    running.assert_running(&format!("waiting ({situation}, its peer stalled)"));
    assert!(
        fed < FLOOD,
        "{situation}: tete took all {FLOOD} bytes of stdin although its peer reads nothing"
    );
    assert_memory_bounded(&running, &format!("{situation}, {fed} bytes fed"));
    running.kill();
    let _ = release.send(());
    peer.join();
    // The feeder's write fails once no read end of stdin is left.
    drop(stdin_left);
    feeder.join().expect("the feeder thread");
}

/// tete's stdout is a pipe nobody reads while the peer sends 128 MiB.
#[test]
fn memory_bounded_behind_a_stalled_reader() {
    let (stdout_read, stdout_write) = pipe();
    assert_bounded_behind_stalled_reader("stalled reader", stdout_write.into(), &stdout_read);
}

/// The peer never reads while tete's stdin streams 128 MiB.
#[test]
fn memory_bounded_behind_a_stalled_peer() {
    assert_bounded_behind_stalled_peer("stalled peer", &[]);
}

/// As above, with stdout a socket nobody reads: tete's own buffers carry the bytes (the kernel
/// cannot splice into a socket).
#[test]
fn memory_bounded_behind_a_stalled_socket_reader() {
    let (unread, stdout) = UnixStream::pair().expect("socketpair");
    assert_bounded_behind_stalled_reader("stalled socket reader", stdout.into(), &unread);
}

/// As above, with `-C`: every byte of stdin goes through tete's buffers to be converted.
#[test]
fn memory_bounded_behind_a_stalled_peer_with_crlf() {
    assert_bounded_behind_stalled_peer("stalled peer with -C", &["-C"]);
}

/// stdin and stdout sockets (as under inetd): the ordinary read/write path, byte-exact both
/// ways at once.
#[test]
fn stdio_sockets_transfer() {
    let dir = TempDir::new("stdio-sockets");
    let up = random_bytes(19, 8 * MIB + 5);
    let (down_file, down) = dir.random_file("down", 8 * MIB + 7, 20);
    let (mut feed, stdin) = UnixStream::pair().expect("socketpair");
    let (mut drain, stdout) = UnixStream::pair().expect("socketpair");
    let (listener, addr) = start_listener(&[], Input::Fd(stdin.into()), Output::Fd(stdout.into()));
    let sent_up = up.clone();
    let feeder = thread::spawn(move || {
        feed.write_all(&sent_up).expect("feeding stdin");
        feed.shutdown(Shutdown::Write).expect("stdin EOF");
        feed
    });
    let drain_thread = thread::spawn(move || {
        drain.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let mut received = Vec::new();
        drain.read_to_end(&mut received).map(|_| received)
    });
    let client = tete(["127.0.0.1", &addr.port().to_string()])
        .stdin(Input::File(down_file))
        .run();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_listener_story(&listener, addr, addr.ip());
    let received = drain_thread
        .join()
        .expect("drain")
        .expect("reading tete's stdout");
    drop(feeder.join().expect("feeder"));
    assert_bytes_eq("what the listener printed", &down, &received);
    assert_bytes_eq("what the client printed", &up, &client.stdout);
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

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_command_lines_exit_2() {
    let port = free_port().to_string();
    let port = port.as_str();
    let huge = "99999999999999999999";
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec![], None),
        (vec!["127.0.0.1"], None),
        (vec!["127.0.0.1", port, "extra"], Some("extra")),
        (vec!["-l"], None),
        (vec!["-l", "127.0.0.1", port, "extra"], Some("extra")),
        (vec!["127.0.0.1", "0"], Some("'0'")),
        (vec!["127.0.0.1", "65536"], Some("65536")),
        (vec!["127.0.0.1", "abc"], Some("abc")),
        (vec!["127.0.0.1", ""], None),
        (vec!["127.0.0.1", huge], Some(huge)),
        (vec!["127.0.0.1", "-1"], None),
        (vec!["-l", "127.0.0.1", "65536"], Some("65536")),
        (vec!["-l", "abc"], Some("abc")),
        (vec!["-l", ""], None),
        (vec!["-l", huge], Some(huge)),
        (
            vec!["--no-such-option", "127.0.0.1", port],
            Some("no-such-option"),
        ),
        (vec!["-Q", "127.0.0.1", port], Some("Q")),
        (vec!["-4", "-6", "127.0.0.1", port], None),
        (vec!["-l", "-4", "-6", port], None),
    ];
    assert_usage_errors(&cases);
}

#[test]
fn help_goes_to_stdout() {
    for flag in ["-h", "--help"] {
        let finished = tete([flag]).run();
        finished.assert_success().assert_quiet();
        let text = String::from_utf8_lossy(&finished.stdout);
        assert!(
            text.contains("Usage: tete [options] host port"),
            "tete {flag}: {text:?}"
        );
        assert!(text.contains("-l, --listen"), "tete {flag}: {text:?}");
    }
}

#[test]
fn version_goes_to_stdout() {
    for flag in ["-V", "--version"] {
        let finished = tete([flag]).run();
        finished.assert_success().assert_quiet();
        let text = String::from_utf8_lossy(&finished.stdout);
        assert_eq!(text, format!("tete {}\n", env!("CARGO_PKG_VERSION")));
        let version = text.trim_end().strip_prefix("tete ").unwrap_or_default();
        let parts: Vec<&str> = version.split('.').collect();
        assert!(
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
            "not X.Y.Z: {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Runtime failures: exit status 1, naming what failed
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_runtime_failure(finished: &Finished, mentions: &[&str]) {
    finished.assert_code(1);
    assert!(
        finished.stdout.is_empty(),
        "{}: output on stdout",
        finished.description
    );
    let line = finished.error_line();
    for what in mentions {
        assert!(
            line.contains(what),
            "{}: the error should mention {what:?}: {line:?}",
            finished.description
        );
    }
}

#[test]
fn unknown_host() {
    let port = free_port().to_string();
    let finished = tete(["nosuch.invalid", &port]).run();
    assert_runtime_failure(&finished, &["nosuch.invalid"]);
}

#[test]
fn connection_refused() {
    let port = free_port().to_string();
    let finished = tete(["127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &["127.0.0.1", &port, "connection refused"]);
}

#[test]
fn address_already_in_use() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    let port = held.local_addr().expect("address").port().to_string();
    let finished = tete(["-l", "127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &[&port, "address already in use"]);
    drop(held);
}

/// `tete -P -l PORT` on a port in use says so before asking for a password: the listener is
/// bound first. (Asked first, this run without a terminal would fail on /dev/tty instead.)
#[test]
fn port_in_use_is_reported_before_the_password_prompt() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    let port = held.local_addr().expect("address").port().to_string();
    let finished = tete(["-P", "-l", "127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &[&port, "address already in use"]);
    drop(held);
}

#[test]
fn names_refused_with_numeric() {
    let port = free_port().to_string();
    let finished = tete(["-n", "localhost", &port]).run();
    assert_runtime_failure(&finished, &["localhost"]);
    let finished = tete(["-n", "-l", "localhost", &port]).run();
    assert_runtime_failure(&finished, &["localhost"]);
}

// ---------------------------------------------------------------------------------------------
// IPv6 and localhost
// ---------------------------------------------------------------------------------------------

#[test]
fn ipv6_loopback_transfer() {
    if !ipv6_available() {
        not_here("::1 is not available");
        return;
    }
    let dir = TempDir::new("ipv6");
    let (up_file, up) = dir.random_file("up", 4 * MIB, 15);
    let (down_file, down) = dir.random_file("down", 4 * MIB, 16);
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    exchange(&dir, "::1", 0, "::1", listener, client, &up, &down);
}

fn localhost_to(listen_ip: IpAddr) {
    let addresses = localhost_addresses();
    if !addresses.contains(&listen_ip) {
        not_here(&format!(
            "localhost does not stand for {listen_ip} ({addresses:?})"
        ));
        return;
    }
    if listen_ip.is_ipv6() && !ipv6_available() {
        not_here("::1 is not available");
        return;
    }
    let dir = TempDir::new("localhost");
    let (up_file, up) = dir.random_file("up", MIB, 17);
    let (down_file, down) = dir.random_file("down", MIB, 18);
    // Free on both families, so that whichever address tete tries first is not someone else's.
    let port = free_port_both();
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    let host = listen_ip.to_string();
    exchange(&dir, &host, port, "localhost", listener, client, &up, &down);
}

#[test]
fn localhost_reaches_an_ipv4_listener() {
    localhost_to(Ipv4Addr::LOCALHOST.into());
}

#[test]
fn localhost_reaches_an_ipv6_listener() {
    localhost_to(Ipv6Addr::LOCALHOST.into());
}

// ---------------------------------------------------------------------------------------------
// A chat between two terminals
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Listener,
    Client,
}

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;

/// `tete -v -l 127.0.0.1 P` on one terminal, `tete 127.0.0.1 P` on another; a line typed each
/// way; then `key` typed on `side`'s terminal.
fn chat(key: u8, side: Side) {
    let listener_tty = Pty::open();
    let client_tty = Pty::open();
    let listener_settings = listener_tty.termios();
    let client_settings = client_tty.termios();
    let on = |tty: &Pty, command: Tete| {
        command
            .stdin(Input::Fd(tty.slave_fd()))
            .stdout(Output::Fd(tty.slave_fd()))
            .stderr(Output::Fd(tty.slave_fd()))
            .controlling_terminal()
            .spawn()
    };

    let port = free_port();
    let listener = on(
        &listener_tty,
        tete(["-v", "-l", "127.0.0.1", &port.to_string()]),
    );
    let line = listener_tty.wait_for_output("listening on ");
    assert_eq!(
        parse_listening(&line),
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        "{line:?}"
    );
    let client = on(&client_tty, tete(["127.0.0.1", &port.to_string()]));
    listener_tty.wait_for_output("connection from 127.0.0.1:");

    client_tty.type_bytes(b"hello from the client\n");
    listener_tty.wait_for_output("hello from the client");
    listener_tty.type_bytes(b"hello from the listener\n");
    client_tty.wait_for_output("hello from the listener");
    for (name, tty) in [("listener", &listener_tty), ("client", &client_tty)] {
        assert!(
            !is_nonblocking(tty.slave()),
            "O_NONBLOCK set on the {name}'s terminal during the chat"
        );
    }

    let (ender, other, ender_tty) = match side {
        Side::Listener => (listener, client, &listener_tty),
        Side::Client => (client, listener, &client_tty),
    };
    ender_tty.type_bytes(&[key]);
    let start = Instant::now();
    let ender = ender.wait();
    let other = other.wait();
    let took = start.elapsed();
    let screens = format!(
        "listener's terminal: {:?}; client's terminal: {:?}",
        listener_tty.output(),
        client_tty.output()
    );
    match key {
        CTRL_C => {
            assert_eq!(
                ender.status.signal(),
                Some(Signal::INT.as_raw()),
                "{}: Ctrl-C should kill it; {screens}",
                ender.description
            );
        }
        _ => assert_eq!(
            ender.status.code(),
            Some(0),
            "{}: {:?}; {screens}",
            ender.description,
            ender.status
        ),
    }
    assert_eq!(
        other.status.code(),
        Some(0),
        "{}: {:?}; {screens}",
        other.description,
        other.status
    );
    assert!(took < PROMPTLY, "the chat took {took:?} to end; {screens}");
    if key == CTRL_D || side == Side::Client {
        // The listener saw its peer go.
        listener_tty.wait_for_output("peer closed");
    }
    assert_eq!(
        listener_tty.termios(),
        listener_settings,
        "the listener's terminal settings changed"
    );
    assert_eq!(
        client_tty.termios(),
        client_settings,
        "the client's terminal settings changed"
    );
    for (name, tty) in [("listener", &listener_tty), ("client", &client_tty)] {
        assert!(
            !is_nonblocking(tty.slave()),
            "O_NONBLOCK left on the {name}'s terminal"
        );
    }
}

#[test]
fn chat_ctrl_d_on_the_client() {
    chat(CTRL_D, Side::Client);
}

#[test]
fn chat_ctrl_d_on_the_listener() {
    chat(CTRL_D, Side::Listener);
}

#[test]
fn chat_ctrl_c_on_the_client() {
    chat(CTRL_C, Side::Client);
}

#[test]
fn chat_ctrl_c_on_the_listener() {
    chat(CTRL_C, Side::Listener);
}
