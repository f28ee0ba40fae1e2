//! The password mode, run for real over loopback: byte-exact round trips, wrong passwords and
//! strangers against a listener that outlasts them, a man in the middle that flips, cuts, drops,
//! repeats, swaps and appends on the wire, reflection, silent peers and the handshake deadline,
//! the password prompt on a terminal, where passwords come from, nothing readable on the wire, and
//! the session options in password mode.
//!
//! Wire format, version 2 (written out in the `secure` module's docs): each end sends a 40-byte
//! HELLO (`TETE` | 0x02 | role | flags | SPAKE2 message); the connector sends a 32-byte CONFIRM_C,
//! the listener answers with a 32-byte CONFIRM_L (or a one-byte REJECT), the connector's first
//! record is READY; records are `L: u32 BE | encrypted payload and type byte | 16-byte tag`, where
//! L = payload + 1 + 16, so a CLOSE (one reason byte) has L == 18. Exit status 3 is a failure of
//! the secure channel.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::*;

/// The room password of most tests.
const PASSWORD: &str = "open sesame";

const HELLO_LEN: usize = 40;
const CONFIRM_LEN: usize = 32;
/// What L counts besides the payload: the type byte and the tag.
const L_OVERHEAD: usize = 17;
/// L of the CLOSE record: its payload is the reason byte.
const CLOSE_L: usize = L_OVERHEAD + 1;

/// How far "about 1 s" may stray.
const ABOUT_ONE_SECOND: (Duration, Duration) = (Duration::from_millis(900), Duration::from_secs(5));

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Starts `tete -v -l EXTRA... 127.0.0.1 0` with `TETE_PASSWORD=password` and waits until it
/// listens; returns it and the port the OS picked. stdout and stderr are captured.
fn start_listener(extra: &[&str], password: &str, stdin: Input) -> (Running, u16) {
    let mut args = vec!["-v", "-l"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let (listener, addr) = spawn_listening(tete(&args).password(password).stdin(stdin));
    (listener, addr.port())
}

/// `tete EXTRA... 127.0.0.1 PORT` with `TETE_PASSWORD=password`.
fn connector(extra: &[&str], port: u16, password: &str) -> Tete {
    let mut args: Vec<String> = extra.iter().map(|arg| arg.to_string()).collect();
    args.extend(["127.0.0.1".to_string(), port.to_string()]);
    tete(&args).password(password)
}

/// Asserts exit status 3 and one `tete: ` error line, which it returns.
#[track_caller]
fn assert_secure_failure(finished: &Finished) -> &str {
    finished.assert_code(3);
    finished.error_line()
}

/// Asserts that `line` contains `words`.
#[track_caller]
fn assert_mentions(finished: &Finished, line: &str, words: &str) {
    assert!(
        line.contains(words),
        "{}: the message should say {words:?}: {line:?}",
        finished.description
    );
}

/// Asserts that `stdout` is a prefix of `sent` no longer than `bound` bytes: nothing after the
/// point where the damage began reached stdout.
#[track_caller]
fn assert_prefix_within(what: &str, sent: &[u8], stdout: &[u8], bound: usize) {
    assert!(
        stdout.len() <= bound,
        "{what}: {} bytes reached stdout, but the damage began at plaintext offset {bound}",
        stdout.len()
    );
    assert_bytes_eq(what, &sent[..stdout.len()], stdout);
}

/// Asserts that tete has not ended.
#[track_caller]
fn assert_still_running(running: &mut Running, why: &str) {
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
fn right_peer_completes(
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

// ---------------------------------------------------------------------------------------------
// A man in the middle
// ---------------------------------------------------------------------------------------------

/// A piece of the listener→connector stream, as the proxy parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Hello,
    Confirm,
    /// A record; `Record(1)` is the first after the handshake.
    Record(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Forward the (possibly changed) bytes and go on.
    Forward,
    /// Forward the (possibly changed) bytes, then end the stream to the connector (FIN).
    Cut,
}

/// What the proxy does to each piece of the listener→connector stream, in place: a bit flip,
/// truncation, dropping (clearing), duplication...
type Tamper = Box<dyn FnMut(Unit, &mut Vec<u8>) -> Verdict + Send>;

fn untouched() -> Tamper {
    Box::new(|_, _| Verdict::Forward)
}

/// Where in a unit a byte is.
#[derive(Clone, Copy, Debug)]
enum At {
    /// Counted from the unit's first byte (a record's header included).
    Start(usize),
    /// Counted back from the unit's end: `End(1)` is its last byte.
    End(usize),
}

fn byte_index(at: At, len: usize) -> usize {
    match at {
        At::Start(i) => i,
        At::End(i) => len - i,
    }
}

/// Flips the lowest bit of one byte of unit `target`.
fn flip(target: Unit, at: At) -> Tamper {
    Box::new(move |unit, bytes| {
        if unit == target {
            let i = byte_index(at, bytes.len());
            bytes[i] ^= 0x01;
        }
        Verdict::Forward
    })
}

fn is_close(bytes: &[u8]) -> bool {
    bytes.len() == 4 + CLOSE_L && bytes[..4] == (CLOSE_L as u32).to_be_bytes()
}

/// Flips the lowest bit of one byte of the CLOSE record.
fn flip_in_close(at: At) -> Tamper {
    Box::new(move |unit, bytes| {
        if matches!(unit, Unit::Record(_)) && is_close(bytes) {
            let i = byte_index(at, bytes.len());
            bytes[i] ^= 0x01;
        }
        Verdict::Forward
    })
}

/// Everything that crossed the proxy, as sent (before any tampering).
#[derive(Default)]
struct Wire {
    from_connector: Vec<u8>,
    from_listener: Vec<u8>,
    /// L of each record the listener sent, in its order.
    record_lengths: Vec<usize>,
}

/// A proxy between a connector and tete's listener on `127.0.0.1:PORT`: it accepts one
/// connection, connects to the listener, and relays both ways, flipping one bit of the
/// connector→listener stream if asked and applying a [`Tamper`] to the listener→connector one.
struct Mitm {
    peer: Peer<()>,
    wire: Arc<Mutex<Wire>>,
}

impl Mitm {
    /// `flip_up`: the index of a bit (byte * 8 + bit) of the connector→listener stream to flip.
    /// `hold_up`: how many bytes of that stream to gather before passing them on in one write
    /// (TCP may deliver a HELLO and a CONFIRM together).
    fn start(listener_port: u16, flip_up: Option<usize>, hold_up: usize, tamper: Tamper) -> Mitm {
        let wire = Arc::new(Mutex::new(Wire::default()));
        let shared = wire.clone();
        let peer = Peer::spawn(move |from_connector| {
            let to_listener = connect(loopback(listener_port));
            let up = {
                let from = from_connector
                    .try_clone()
                    .expect("cloning the proxy's socket");
                let to = to_listener.try_clone().expect("cloning the proxy's socket");
                let wire = shared.clone();
                thread::spawn(move || relay_up(from, to, flip_up, hold_up, &wire))
            };
            relay_down(to_listener, from_connector, tamper, &shared);
            let _ = up.join();
        });
        Mitm { peer, wire }
    }

    fn port(&self) -> u16 {
        self.peer.port()
    }

    /// The lengths of the records the listener has sent so far.
    fn record_lengths(&self) -> Vec<usize> {
        self.wire.lock().unwrap().record_lengths.clone()
    }

    /// Waits for both directions to end, and returns what crossed.
    fn finish(self) -> Wire {
        self.peer.join();
        std::mem::take(&mut *self.wire.lock().unwrap())
    }
}

/// One read, `None` at EOF or on an error (a reset, or the harness's timeout).
fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    loop {
        match stream.read(buf) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Connector → listener: relayed as it comes (the first `hold` bytes gathered and passed on
/// together), with bit `flip` flipped. Once the listener stops taking bytes, the rest is drained
/// so that the connector is not reset.
fn relay_up(
    mut from: TcpStream,
    mut to: TcpStream,
    flip: Option<usize>,
    hold: usize,
    wire: &Mutex<Wire>,
) {
    let mut buf = vec![0; 64 * KIB];
    let mut offset = 0;
    let mut forwarding = true;
    let mut held = Vec::new();
    while let Some(n) = read_some(&mut from, &mut buf) {
        let chunk = &mut buf[..n];
        wire.lock().unwrap().from_connector.extend_from_slice(chunk);
        if let Some(bit) = flip
            && (offset..offset + n).contains(&(bit / 8))
        {
            chunk[bit / 8 - offset] ^= 1 << (bit % 8);
        }
        offset += n;
        if offset < hold {
            held.extend_from_slice(chunk);
            continue;
        }
        held.extend_from_slice(chunk);
        if forwarding && to.write_all(&held).is_err() {
            forwarding = false;
        }
        held.clear();
    }
    if forwarding {
        let _ = to.write_all(&held);
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Listener → connector: parsed into HELLO, CONFIRM and records, each forwarded once complete
/// after `tamper` has had its way with it. After a cut, or once the connector stops taking bytes,
/// the listener's stream is drained to its end.
fn relay_down(mut from: TcpStream, mut to: TcpStream, mut tamper: Tamper, wire: &Mutex<Wire>) {
    let mut buf = vec![0; 64 * KIB];
    let mut pending = Vec::new();
    let mut units = 0;
    let mut forwarding = true;
    while let Some(n) = read_some(&mut from, &mut buf) {
        wire.lock()
            .unwrap()
            .from_listener
            .extend_from_slice(&buf[..n]);
        pending.extend_from_slice(&buf[..n]);
        loop {
            let (unit, len) = match units {
                0 => (Unit::Hello, HELLO_LEN),
                1 => (Unit::Confirm, CONFIRM_LEN),
                _ if pending.len() < 4 => break,
                _ => {
                    let header: [u8; 4] = pending[..4].try_into().unwrap();
                    (
                        Unit::Record(units - 1),
                        4 + u32::from_be_bytes(header) as usize,
                    )
                }
            };
            if pending.len() < len {
                break;
            }
            let mut bytes: Vec<u8> = pending.drain(..len).collect();
            if let Unit::Record(_) = unit {
                wire.lock().unwrap().record_lengths.push(len - 4);
            }
            units += 1;
            let verdict = tamper(unit, &mut bytes);
            if forwarding && to.write_all(&bytes).is_err() {
                forwarding = false;
            }
            if forwarding && verdict == Verdict::Cut {
                let _ = to.shutdown(Shutdown::Write);
                forwarding = false;
            }
        }
    }
    if forwarding {
        let _ = to.write_all(&pending);
        let _ = to.shutdown(Shutdown::Write);
    }
}

/// The plaintext offset where record `record` (1 = the first) begins, from the lengths of the
/// records before it.
fn plaintext_start(lengths: &[usize], record: usize) -> usize {
    assert!(
        lengths.len() + 1 >= record,
        "the proxy saw only {} records before record #{record}",
        lengths.len()
    );
    lengths[..record - 1]
        .iter()
        .map(|len| len - L_OVERHEAD)
        .sum()
}

/// What the listener sends through the proxy: enough for a few dozen records.
const DOWNLOAD: usize = MIB + 4321;

/// `tete -l` (stdin: DOWNLOAD bytes) ← proxy(tamper) ← `tete 127.0.0.1 PROXY </dev/null`.
/// Returns how the connector ended, the listener's data and the records' lengths as sent.
fn tampered_download(seed: u64, tamper: Tamper) -> (Finished, Vec<u8>, Vec<usize>) {
    let dir = TempDir::new("tampered");
    let (file, data) = dir.random_file("down", DOWNLOAD, seed);
    let (listener, port) = start_listener(&[], PASSWORD, Input::File(file));
    let mitm = Mitm::start(port, None, 0, tamper);
    let client = connector(&[], mitm.port(), PASSWORD).run();
    let lengths = mitm.record_lengths();
    drop(listener);
    (client, data, lengths)
}

/// A damaged record `record` (1 = the first): exit status 3, and nothing from that record on
/// reached stdout.
#[track_caller]
fn assert_damage_caught(seed: u64, record: usize, tamper: Tamper) -> Finished {
    let (client, data, lengths) = tampered_download(seed, tamper);
    assert_secure_failure(&client);
    let bound = plaintext_start(&lengths, record);
    // (The proxy may not have read record #`record` itself when the damage was a copy of an
    // earlier one.)
    assert!(
        lengths.iter().take(record).all(|&len| len > CLOSE_L),
        "the damage was meant for DATA records: {lengths:?}"
    );
    assert_prefix_within(
        &format!("{}: stdout", client.description),
        &data,
        &client.stdout,
        bound,
    );
    client
}

/// A damaged handshake: exit status 3, nothing on stdout.
#[track_caller]
fn assert_handshake_damage_caught(seed: u64, tamper: Tamper) -> Finished {
    let (client, _, _) = tampered_download(seed, tamper);
    assert_secure_failure(&client);
    assert_bytes_eq(
        &format!("{}: stdout", client.description),
        b"",
        &client.stdout,
    );
    client
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
    let port = free_port();
    let mut listener = tete(["-v", "-l", "127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .stdin(Input::File(down_file))
        .stdout(Output::File(listener_out.clone()))
        .spawn();
    listener.wait_listening();
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

/// A connector with the wrong password fails with status 3 and says why; the listener logs it,
/// and checks the next CONFIRM_C (the right peer's) only once a second has passed.
#[test]
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

/// Ten failed handshakes, and the listener gives up with status 3, having printed nothing.
#[test]
fn listener_gives_up_after_ten_failures() {
    let (mut listener, port) =
        start_listener(&[], PASSWORD, Input::Bytes(b"never sent\n".to_vec()));
    for attempt in 1..=10 {
        let wrong = connector(&[], port, &format!("guess {attempt}"))
            .stdin(Input::Bytes(b"guess\n".to_vec()))
            .run();
        let line = assert_secure_failure(&wrong);
        assert_mentions(&wrong, line, "different passwords");
        assert!(
            wrong.stdout.is_empty(),
            "attempt {attempt}: stdout not empty"
        );
        if attempt < 10 {
            listener.wait_for_count("waiting for another peer", attempt);
            assert_still_running(&mut listener, &format!("only {attempt} handshakes failed"));
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

/// A raw client that says nothing: after the HELLO deadline (5 s from the accept, whatever
/// `-w` says) the listener logs the stalled handshake, drops it, and waits on.
#[test]
fn silent_client_hits_the_listeners_deadline() {
    let listener_data = random_bytes(41, 50 * KIB);
    let (mut listener, port) =
        start_listener(&["-w", "60"], PASSWORD, Input::Bytes(listener_data.clone()));
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
    assert_eq!(got.len(), HELLO_LEN, "the silent client got {got:?}");
    assert_eq!(&got[..6], b"TETE\x02\x02", "the listener's HELLO");
    assert_still_running(&mut listener, "a silent stranger must not close the room");
    right_peer_completes(listener, port, PASSWORD, &listener_data);
}

/// `-i` does not apply before the channel is up: with `-i 0.5`, a silent stranger neither ends
/// the listener after half a second nor keeps the right peer out while it is still connected.
#[test]
fn idle_timeout_waits_for_the_channel() {
    let listener_data = random_bytes(43, 20 * KIB);
    let (mut listener, port) = start_listener(
        &["-i", "0.5"],
        PASSWORD,
        Input::Bytes(listener_data.clone()),
    );
    let _silent = connect(loopback(port));
    listener.wait_for_stderr("connection from");
    thread::sleep(Duration::from_secs(1));
    assert_still_running(&mut listener, "-i must not end a password listener");
    right_peer_completes(listener, port, PASSWORD, &listener_data);
}

/// With `-k`, a peer whose channel breaks after it authenticated (killed mid-session, so no
/// CLOSE arrives) ends only its own session: the listener reports it and serves the next peer.
#[test]
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
#[test]
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

/// One end without fast AES (simulated with the test-only TETE_TEST_CIPHER): its HELLO says so,
/// the pair settles on ChaCha20-Poly1305, and bytes go both ways.
#[test]
fn mixed_pair_negotiates_chacha() {
    let dir = TempDir::new("secure-mixed");
    let (up_file, up) = dir.random_file("up", 700 * KIB + 3, 131);
    let (down_file, down) = dir.random_file("down", 500 * KIB + 9, 132);
    let port = free_port();
    let mut listener = tete(["-v", "-l", "127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .env("TETE_TEST_CIPHER", "chacha20-poly1305")
        .stdin(Input::File(down_file))
        .spawn();
    listener.wait_listening();
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

/// `text` repeated, numbered, to `len` bytes.
fn marker_text(text: &str, len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len + 64);
    let mut i = 0;
    while data.len() < len {
        data.extend_from_slice(format!("{text}{i:08}\n").as_bytes());
        i += 1;
    }
    data.truncate(len);
    data
}

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
        if let Some(at) = bytes.windows(8).position(|w| needles.contains(w)) {
            panic!(
                "{direction}: plaintext or password on the wire at offset {at}: {:?}",
                String::from_utf8_lossy(&bytes[at..(at + 32).min(bytes.len())])
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The prompt on a terminal
// ---------------------------------------------------------------------------------------------

/// `tete -P -v --no-chat -l 127.0.0.1 P` on a terminal (stdin, stdout, stderr and controlling
/// terminal), waiting at its prompt. (Without chat mode, whose raw terminal follows the prompt:
/// the terminal's settings after the prompt are then the original ones.)
fn prompt_on_a_terminal() -> (Pty, Termios, Running, u16) {
    let tty = Pty::open();
    let original = tty.termios();
    assert!(original.echo(), "a fresh terminal echoes");
    let port = free_port();
    let listener = tete([
        "-P",
        "-v",
        "--no-chat",
        "-l",
        "127.0.0.1",
        &port.to_string(),
    ])
    .stdin(Input::Fd(tty.slave_fd()))
    .stdout(Output::Fd(tty.slave_fd()))
    .stderr(Output::Fd(tty.slave_fd()))
    .controlling_terminal()
    .spawn();
    tty.wait_for_output("Password: ");
    // The prompt is on the screen: what the user types now must not show.
    let during = tty.termios();
    assert!(
        !during.echo(),
        "echo is still on while 'Password: ' waits: {:?}",
        during.local
    );
    (tty, original, listener, port)
}

#[test]
fn prompt_reads_the_password_without_echo() {
    let (tty, original, listener, port) = prompt_on_a_terminal();
    tty.type_bytes(b"secret\n");
    // The listener is bound before it asks: its "listening on" line came first.
    let line = tty.wait_for_output("listening on ");
    assert_eq!(parse_listening(&line), Some(loopback(port)), "{line:?}");
    let client = connector(&[], port, "secret")
        .stdin(Input::Bytes(b"hello through the channel\n".to_vec()))
        .spawn();
    tty.wait_for_output("hello through the channel");
    assert_eq!(
        tty.termios(),
        original,
        "the terminal's settings after the prompt"
    );
    let listener = listener.wait();
    let client = client.wait();
    let screen = tty.output();
    assert!(
        !screen.contains("secret"),
        "the password shows on the terminal: {screen:?}"
    );
    assert_eq!(listener.status.code(), Some(0), "listener: {screen:?}");
    client.assert_success().assert_quiet();
    assert_eq!(
        tty.termios(),
        original,
        "the terminal's settings at the end"
    );
}

#[test]
fn ctrl_c_at_the_prompt_restores_the_terminal() {
    let (tty, original, listener, _) = prompt_on_a_terminal();
    tty.type_bytes(&[0x03]);
    let listener = listener.wait();
    listener.assert_signal(Signal::INT);
    let after = tty.termios();
    assert!(after.echo(), "echo left off after Ctrl-C");
    assert_eq!(after, original, "the terminal's settings after Ctrl-C");
}

/// Ctrl-\ (SIGQUIT) too: tete dies of it, as it would have, with the terminal as it was
/// (readpassphrase(3) does the same for every catchable signal).
#[test]
fn ctrl_backslash_at_the_prompt_restores_the_terminal() {
    let (tty, original, listener, _) = prompt_on_a_terminal();
    tty.type_bytes(&[0x1c]);
    listener.wait().assert_signal(Signal::QUIT);
    assert_eq!(
        tty.termios(),
        original,
        "the terminal's settings after Ctrl-\\"
    );
}

// ---------------------------------------------------------------------------------------------
// Where the password comes from
// ---------------------------------------------------------------------------------------------

/// The file's first line is the password; its newline and later lines are not.
#[test]
fn password_file_first_line() {
    let dir = TempDir::new("password-file");
    let file = dir.file("pw", b"s3cret words\nsecond line\n");
    let down = random_bytes(81, 100 * KIB);
    let port = free_port();
    let mut listener = tete([
        "-v",
        "--password-file",
        file.to_str().unwrap(),
        "-l",
        "127.0.0.1",
        &port.to_string(),
    ])
    .stdin(Input::Bytes(down.clone()))
    .spawn();
    listener.wait_listening();
    right_peer_completes(listener, port, "s3cret words", &down);
}

#[test]
fn password_file_missing() {
    let dir = TempDir::new("password-file-missing");
    let missing = dir.join("no-such-file");
    let missing = missing.to_str().unwrap();
    let finished = tete([
        "--password-file",
        missing,
        "127.0.0.1",
        &free_port().to_string(),
    ])
    .run();
    finished.assert_code(1);
    let line = finished.error_line();
    assert!(
        line.contains(missing),
        "{}: the message should name the file: {line:?}",
        finished.description
    );
    assert!(!Path::new(missing).exists());
}

/// `-P` takes no value: `tete -P secret 127.0.0.1 PORT` has an extra operand.
#[test]
fn prompt_flag_takes_no_value() {
    let port = free_port().to_string();
    let finished = tete(["-P", "secret", "127.0.0.1", &port]).run();
    finished.assert_code(2);
    let line = finished.error_line();
    assert!(
        line.contains("operand"),
        "{}: {line:?}",
        finished.description
    );
}

/// An explicit password with `-z` is an error (an exported TETE_PASSWORD is ignored: tests/e2e/cli.rs).
#[test]
fn zero_io_takes_no_password() {
    let port = free_port().to_string();
    let finished = tete(["-z", "--password-file", "/dev/null", "127.0.0.1", &port]).run();
    finished.assert_code(2);
    finished.error_line();
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
#[test]
fn keep_open_serves_two_peers_in_turn() {
    let dir = TempDir::new("secure-keep-open");
    let out = dir.join("listener.out");
    let port = free_port();
    let mut listener = tete(["-k", "-v", "-l", "127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .stdout(Output::File(out.clone()))
        .spawn();
    listener.wait_listening();
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
    let port = free_port();
    let mut listener = tete(["-v", "-l", "127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .stdin(Input::File(hi))
        .stdout(Output::File(out.clone()))
        .spawn();
    listener.wait_listening();
    let mut client = connector(&["--send-only"], port, PASSWORD)
        .stdin(Input::Pipe)
        .spawn();
    let mut stdin = client.take_stdin();
    let (first, rest) = up.split_at(up.len() / 2);
    stdin
        .write_all(first)
        .expect("writing to the connector's stdin");
    let deadline = Instant::now() + TIMEOUT;
    while std::fs::metadata(&out).map_or(0, |meta| meta.len()) == 0 {
        assert!(
            Instant::now() < deadline,
            "the listener printed nothing within {TIMEOUT:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
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
#[test]
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
