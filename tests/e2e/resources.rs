//! What tete leaves alone and what it holds: descriptors it shares with the shell keep their
//! flags, and its memory stays bounded whichever side stalls.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use crate::harness::*;

/// What the peer offers in the memory tests: far more than any buffer should hold.
const FLOOD: u64 = 128 * MIB as u64;

/// The most tete may have resident at its peak (debug build; the release target is 4 MiB).
const MEMORY_LIMIT_KIB: u64 = 8 * 1024;

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
    // -N: the peer answered the ping, so without it tete would hold its end of the upload
    // for the peer's, which reads to the end before it sends.
    let mut running = tete(["-N", "127.0.0.1", &peer.port().to_string()])
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
