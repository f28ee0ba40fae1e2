//! The options for scripts, each with its interaction with the end-of-session rules: `-z`, `-w`,
//! `-i`, `-k`, `-C`, `-d`, `--send-only`, `-N`, and the values they refuse.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;

/// How soon "at once" is, generously, for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(5);

/// How long a peer watches for an end of stream that must not come.
/// How long a test watches for an end of stream that must not come: longer than the quiet
/// moment after which an empty stdin's held end of stream goes out.
const NO_EOF_WINDOW: Duration = Duration::from_millis(1500);

/// Asserts that `elapsed` lies within `[low, high]` seconds.
#[track_caller]
fn assert_elapsed(what: &str, elapsed: Duration, low: f64, high: f64) {
    let secs = elapsed.as_secs_f64();
    assert!(
        (low..=high).contains(&secs),
        "{what}: took {secs:.3} s, expected between {low} and {high} s"
    );
}

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

// ---------------------------------------------------------------------------------------------
// A connect that hangs, on loopback
// ---------------------------------------------------------------------------------------------

/// A loopback listener that never accepts, with its accept queue full, so that the kernel drops
/// further SYNs and connecting to it hangs.
struct Unanswered {
    addr: SocketAddr,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Unanswered {
    /// Sets it up and checks that a connect to it really hangs; `Err` says why not.
    fn new() -> Result<Unanswered, String> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|err| format!("binding 127.0.0.1:0: {err}"))?;
        // The smallest backlog: listen(2) again on a listening socket only changes it.
        rustix::net::listen(&listener, 0).map_err(|err| format!("listen(0): {err}"))?;
        let addr = listener.local_addr().map_err(|err| err.to_string())?;
        let probe = Duration::from_millis(300);
        let mut fillers = Vec::new();
        for _ in 0..4 {
            match TcpStream::connect_timeout(&addr, probe) {
                Ok(stream) => fillers.push(stream),
                Err(err) if err.kind() == ErrorKind::TimedOut => {
                    // The queue is full. Check once more that connecting hangs.
                    return match TcpStream::connect_timeout(&addr, probe) {
                        Err(err) if err.kind() == ErrorKind::TimedOut => Ok(Unanswered {
                            addr,
                            _listener: listener,
                            _fillers: fillers,
                        }),
                        Err(err) => Err(format!("the check connect failed otherwise: {err}")),
                        Ok(_) => Err("the check connect went through".into()),
                    };
                }
                Err(err) => return Err(format!("connecting to the listen(0) socket: {err}")),
            }
        }
        Err(format!(
            "{} connections to a listen(0) socket that never accepts all went through: this \
             kernel does not drop SYNs when the accept queue is full",
            fillers.len()
        ))
    }

    /// One, or `None` after printing why the test skips.
    fn or_skip() -> Option<Unanswered> {
        match Unanswered::new() {
            Ok(unanswered) => Some(unanswered),
            Err(reason) => {
                not_here(&format!("no hanging connect on loopback: {reason}"));
                None
            }
        }
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }
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

/// Runs tete to its end; returns how it ended and how long that took.
fn run_timed(args: &[&str]) -> (Finished, Duration) {
    let start = Instant::now();
    let finished = tete(args).run();
    (finished, start.elapsed())
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

/// `-z -w 1` on a connect that hangs: exit 1 after about a second, silently.
#[test]
fn zero_with_wait_gives_up_quietly() {
    let Some(unanswered) = Unanswered::or_skip() else {
        return;
    };
    let (finished, took) = run_timed(&["-z", "-w", "1", "127.0.0.1", &unanswered.port()]);
    finished.assert_code(1).assert_quiet();
    assert_elapsed(&finished.description, took, 0.9, 3.0);
}

// ---------------------------------------------------------------------------------------------
// -w
// ---------------------------------------------------------------------------------------------

/// `-w 1` on a connect that hangs: exit 1 after about a second, saying it timed out.
#[test]
fn wait_gives_up_connecting() {
    let Some(unanswered) = Unanswered::or_skip() else {
        return;
    };
    let port = unanswered.port();
    let (finished, took) = run_timed(&["-w", "1", "127.0.0.1", &port]);
    finished.assert_code(1);
    assert_elapsed(&finished.description, took, 0.9, 3.0);
    let line = finished.error_line();
    assert!(
        line.contains("127.0.0.1") && line.contains(&port),
        "{}: the error should name 127.0.0.1 and port {port}: {line:?}",
        finished.description
    );
    assert!(
        line.contains("timed out") || line.contains("timeout"),
        "{}: the error should say it timed out: {line:?}",
        finished.description
    );
}

/// `-w 0.5` on a connect that hangs: half a second, not rounded to 0 or 1.
#[test]
fn wait_fraction_connecting() {
    let Some(unanswered) = Unanswered::or_skip() else {
        return;
    };
    let (finished, took) = run_timed(&["-w", "0.5", "127.0.0.1", &unanswered.port()]);
    finished.assert_code(1);
    finished.error_line();
    assert_elapsed(&finished.description, took, 0.45, 2.5);
}

/// `tete -w 1 -l` with nobody connecting: exit 1 after about a second.
#[test]
fn wait_gives_up_listening() {
    let port = free_port().to_string();
    let (finished, took) = run_timed(&["-w", "1", "-l", "127.0.0.1", &port]);
    finished.assert_code(1);
    finished.error_line();
    assert_elapsed(&finished.description, took, 0.9, 3.0);
}

/// `tete -w 0.25 -l`: a quarter of a second, not rounded to 0 or to 1 s: measured from the
/// moment it listens, well under a second (0.7 s of margin for a loaded machine).
#[test]
fn wait_fraction_listening() {
    let start = Instant::now();
    let (mut listener, _) = start_listener(&["-w", "0.25"], Input::Null, Output::Capture);
    let listening = Instant::now();
    let status = listener.wait_timeout(TIMEOUT);
    let (total, after_listening) = (start.elapsed(), listening.elapsed());
    assert!(status.is_some(), "{}: hung", listener.description);
    let finished = listener.wait();
    finished.assert_code(1);
    assert_elapsed(&finished.description, total, 0.2, 2.5);
    assert!(
        after_listening < Duration::from_millis(950),
        "{}: still waiting {after_listening:?} after it listened: -w 0.25 acted like -w 1",
        finished.description
    );
}

/// `-w` limits the wait for a connection, not the session after it.
#[test]
fn wait_does_not_cut_a_session_short() {
    let reply = b"late but welcome\n".to_vec();
    let sent = reply.clone();
    let peer = Peer::spawn(move |mut stream| {
        // A timing test: the peer stays silent past the -w time.
        thread::sleep(Duration::from_millis(1500));
        stream.write_all(&sent).expect("the late reply");
    });
    let finished = tete(["-w", "1", "127.0.0.1", &peer.port().to_string()]).run();
    peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what tete printed", &reply, &finished.stdout);

    let (listener, addr) = start_listener(&["-w", "1"], Input::Null, Output::Capture);
    let mut stream = connect(addr);
    thread::sleep(Duration::from_millis(1500));
    stream.write_all(&reply).expect("the late reply");
    stream.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(read_to_eof(&mut stream, "the peer of tete -l"), b"");
    let finished = listener.wait();
    finished.assert_success();
    assert_bytes_eq("what tete -l printed", &reply, &finished.stdout);
}

// ---------------------------------------------------------------------------------------------
// -i
// ---------------------------------------------------------------------------------------------

/// How often the `-i 2` tests send, and how many times: 3 s in all, past the 2 s.
const IDLE_TICK: Duration = Duration::from_millis(300);
const IDLE_TICKS: usize = 10;

/// A silent session with `-i 1` ends after about a second, says so, exit status 1 (tete(1)).
#[test]
fn idle_session_ends() {
    let peer = Peer::spawn(|mut stream| {
        let peer_addr = stream.local_addr().expect("the peer's address");
        // Silent, never closing: only tete's idle timeout ends this.
        (read_to_eof(&mut stream, "the silent peer"), peer_addr)
    });
    let peer_port = peer.addr;
    let start = Instant::now();
    let mut running = tete(["-i", "1", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Pipe)
        .spawn();
    let stdin = running.take_stdin();
    let finished = running.wait();
    let took = start.elapsed();
    drop(stdin);
    let (received, _) = peer.join();
    assert_bytes_eq("what the silent peer received", b"", &received);
    finished.assert_code(1);
    assert_elapsed(&finished.description, took, 0.9, 3.0);
    let line = finished.error_line();
    assert!(
        line.contains(&peer_port.to_string()),
        "{}: the message should name the peer {peer_port}: {line:?}",
        finished.description
    );
}

/// With `-i 2`, a peer sending every 0.3 s keeps the session alive past the two seconds: a
/// timer that traffic did not reset would end it at 2 s with status 1, before the last tick.
/// A tick may come 1.7 s late on a loaded machine before the test could fail wrongly.
#[test]
fn idle_timer_reset_by_incoming_traffic() {
    let peer = Peer::spawn(|mut stream| {
        for _ in 0..IDLE_TICKS {
            // A timing test: the pauses are the point.
            thread::sleep(IDLE_TICK);
            stream.write_all(b"tick\n").expect("a tick");
        }
    });
    let (finished, took) = run_timed(&["-i", "2", "127.0.0.1", &peer.port().to_string()]);
    peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq(
        "what tete printed",
        &b"tick\n".repeat(IDLE_TICKS),
        &finished.stdout,
    );
    assert!(
        took >= IDLE_TICK * IDLE_TICKS as u32,
        "ended after only {took:?}"
    );
}

/// With `-i 2`, stdin arriving every 0.3 s keeps the session alive past the two seconds.
#[test]
fn idle_timer_reset_by_outgoing_traffic() {
    let peer = Peer::spawn(|mut stream| read_to_eof(&mut stream, "the peer"));
    let start = Instant::now();
    let mut running = tete(["-i", "2", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Pipe)
        .spawn();
    let mut stdin = running.take_stdin();
    for _ in 0..IDLE_TICKS {
        thread::sleep(IDLE_TICK);
        stdin.write_all(b"tock\n").expect("a tock");
    }
    drop(stdin);
    let received = peer.join();
    let finished = running.wait();
    let took = start.elapsed();
    finished.assert_success().assert_quiet();
    assert_bytes_eq(
        "what the peer received",
        &b"tock\n".repeat(IDLE_TICKS),
        &received,
    );
    assert!(
        took >= IDLE_TICK * IDLE_TICKS as u32,
        "ended after only {took:?}"
    );
}

/// `-k -i 1`: an idle peer is dropped, and the listener goes on to the next one.
#[test]
fn idle_with_keep_open_serves_the_next_peer() {
    let (mut listener, addr) = start_listener(&["-k", "-i", "1"], Input::Null, Output::Capture);
    let mut silent = connect(addr);
    let silent_addr = silent.local_addr().expect("the silent peer's address");
    // stdin /dev/null: tete half-closes once the connection has been quiet for a moment. The
    // peer then stays silent, its end open.
    assert_eq!(read_to_eof(&mut silent, "the silent peer"), b"");
    listener.wait_for_count("listening on", 2);
    let stderr = listener.stderr_so_far();
    assert!(
        stderr
            .lines()
            .any(|line| line.contains(&silent_addr.to_string()) && !line.contains("from")),
        "{}: no word about closing the idle {silent_addr}; stderr {stderr:?}",
        listener.description
    );
    let mut next = connect(addr);
    next.write_all(b"next\n").expect("the next peer's bytes");
    next.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(read_to_eof(&mut next, "the next peer"), b"");
    listener.wait_for_count("listening on", 3);
    listener.assert_running("listening on");
    drop(listener);
}

// ---------------------------------------------------------------------------------------------
// -k
// ---------------------------------------------------------------------------------------------

/// `tete -k -l > out < /dev/null` serves three peers in turn: each reads EOF at once, and the
/// output is the three peers' bytes in order.
#[test]
fn keep_open_serves_peers_in_turn() {
    let dir = TempDir::new("keep-open");
    let out = dir.join("out");
    let (mut listener, addr) = start_listener(&["-k"], Input::Null, Output::File(out.clone()));
    let mut expected = Vec::new();
    for i in 0..3 {
        let bytes = random_bytes(100 + i as u64, 100 * KIB + i);
        let mut stream = connect(addr);
        // stdin has ended with nothing sent: an end of stream after the quiet moment.
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

/// `-k` with stdin data: the first peer gets it all, the next an immediate end of stream.
#[test]
fn keep_open_stdin_goes_to_the_first_peer() {
    let dir = TempDir::new("keep-open-stdin");
    let out = dir.join("out");
    let data = random_bytes(110, 300 * KIB + 7);
    let (mut listener, addr) = start_listener(
        &["-k"],
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
/// `--no-shutdown` changes nothing here.
#[test]
fn recv_only_never_half_closes() {
    for (args, seed) in [(&["-d"][..], 130), (&["-d", "--no-shutdown"][..], 131)] {
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
    }
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
// -N
// ---------------------------------------------------------------------------------------------

/// `-N`: no FIN at stdin's end; the session ends when the peer closes.
#[test]
fn no_shutdown_waits_for_the_peer() {
    let request = b"request\n".to_vec();
    let reply = random_bytes(150, 200 * KIB);
    let sent = reply.clone();
    let expected = request.clone();
    let peer = Peer::spawn(move |mut stream| {
        let mut got = vec![0; expected.len()];
        stream.read_exact(&mut got).expect("the request");
        assert_eq!(got, expected, "the request");
        assert_nothing_arrives(&stream, "the peer of tete -N");
        stream.write_all(&sent).expect("the reply");
        stream.shutdown(Shutdown::Write).expect("shutdown");
        read_to_eof(&mut stream, "the peer of tete -N")
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

// ---------------------------------------------------------------------------------------------
// An empty stdin's end of stream, held
// ---------------------------------------------------------------------------------------------

/// Two tetes that both have nothing to say (stdin /dev/null on both sides): each holds its end
/// of stream until the connection has been quiet for a moment, then both end by themselves.
#[test]
fn two_tetes_with_empty_stdin_end_by_themselves() {
    let (listener, addr) = start_listener(&[], Input::Null, Output::Capture);
    let start = Instant::now();
    let client = tete(["127.0.0.1", &addr.port().to_string()]).run();
    let took = start.elapsed();
    client.assert_success().assert_quiet();
    listener.wait().assert_success();
    assert_elapsed("the client", took, 0.9, PROMPTLY.as_secs_f64());
}

/// A server that answers only after the request's end, and a request with no bytes at all
/// (stdin /dev/null): the held end of stream goes out after the quiet moment, the answer
/// comes back and is printed.
#[test]
fn server_answering_after_an_empty_request() {
    let peer = Peer::spawn(|mut stream| {
        let start = Instant::now();
        let request = read_to_eof(&mut stream, "the server");
        let took = start.elapsed();
        stream.write_all(b"got nothing\n").expect("the answer");
        (request, took)
    });
    let finished = tete(["127.0.0.1", &peer.port().to_string()]).run();
    let (request, took) = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the request", b"", &request);
    assert_bytes_eq("what tete printed", b"got nothing\n", &finished.stdout);
    assert!(
        took >= Duration::from_millis(900),
        "the end of stream came after {took:?}, before the quiet moment"
    );
}

// ---------------------------------------------------------------------------------------------
// -w after our end, and -k with a queue
// ---------------------------------------------------------------------------------------------

/// `echo stats | tete -w 1 host port` against a server that answers and keeps the connection
/// open (memcached, a status port): tete prints the answer and ends with 0 about a second
/// after things went quiet, as OpenBSD nc does; before, it waited for the server to close.
#[test]
fn wait_ends_an_idle_exchange_after_our_end() {
    let (release, released) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |mut stream| {
        let request = read_to_eof(&mut stream, "the server");
        stream
            .write_all(b"STAT uptime 42\r\nEND\r\n")
            .expect("the answer");
        // Keep the connection open until the test has seen tete end.
        let _ = released.recv_timeout(TIMEOUT);
        request
    });
    let start = Instant::now();
    let finished = tete(["-w", "1", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Bytes(b"stats\n".to_vec()))
        .run();
    let took = start.elapsed();
    release.send(()).expect("releasing the server");
    let request = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the request", b"stats\n", &request);
    assert_bytes_eq(
        "what tete printed",
        b"STAT uptime 42\r\nEND\r\n",
        &finished.stdout,
    );
    assert_elapsed("tete -w 1", took, 0.9, PROMPTLY.as_secs_f64());
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
// -q
// ---------------------------------------------------------------------------------------------

/// `tete -q SECS` (Debian nc): SECS after stdin has ended and been sent, quit with 0, although
/// the peer keeps the connection open and silent. Returns how long tete ran.
fn quit_after_eof(secs: &str) -> Duration {
    let (release, released) = mpsc::channel::<()>();
    let peer = Peer::spawn(move |mut stream| {
        let mut request = [0u8; 6];
        stream.read_exact(&mut request).expect("the request");
        // Hold the connection open and silent until the test has seen tete end.
        let _ = released.recv_timeout(TIMEOUT);
        request
    });
    let start = Instant::now();
    let finished = tete(["-q", secs, "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Bytes(b"stats\n".to_vec()))
        .run();
    let took = start.elapsed();
    release.send(()).expect("releasing the peer");
    assert_eq!(&peer.join(), b"stats\n");
    finished.assert_success().assert_quiet();
    took
}

#[test]
fn quit_at_once_after_eof() {
    let took = quit_after_eof("0");
    assert_elapsed("tete -q 0", took, 0.0, 0.9);
}

#[test]
fn quit_a_second_after_eof() {
    let took = quit_after_eof("1");
    assert_elapsed("tete -q 1", took, 0.9, PROMPTLY.as_secs_f64());
}
