//! Seeing a transfer: `--progress`'s live line and the `-v` summary, on a pseudo-terminal as a
//! person sees them, and their absence where they would be garbage (stderr a file) or in the
//! way (a chat, stdin a terminal).

use std::io::Write;
use std::sync::mpsc;

use crate::harness::*;

/// The bytes that erase the progress line.
const ERASE: &str = "\r\x1b[K";

/// After the line's last erase, only whole lines: no redraw came after it.
#[track_caller]
fn assert_erased_before(screen: &str, summary: &str) {
    let erase = screen
        .rfind(ERASE)
        .unwrap_or_else(|| panic!("the progress line was never erased: {screen:?}"));
    let after = &screen[erase + ERASE.len()..];
    assert!(
        !after.contains('\x1b') && !after.replace("\r\n", "\n").contains('\r'),
        "a redraw after the erase: {after:?}"
    );
    assert!(
        after.contains(summary),
        "no summary after the erase: {after:?}"
    );
}

#[test]
fn progress_line_counts_both_ways_and_is_erased_before_the_summary() {
    let pty = Pty::open();
    let greeting = random_bytes(9, 12345);
    let sent = greeting.clone();
    let peer = Peer::spawn(move |mut stream| {
        stream.write_all(&sent).expect("greeting");
        read_to_eof(&mut stream, "the peer")
    });
    let port = peer.port().to_string();
    // -N: the peer greets, then reads to the end: without it tete would hold its end.
    let mut running = tete(["-N", "-v", "--progress", "127.0.0.1", &port])
        .stdin(Input::Pipe)
        .stderr(Output::Fd(pty.slave_fd()))
        .spawn();
    let mut stdin = running.take_stdin();
    stdin.write_all(&[7; 1000]).expect("writing stdin");
    // Redrawn from the poll's timeout while nothing moves: the counts arrive on their own.
    pty.wait_for_output("sent 1000 B, received 12.1 KiB, ");
    drop(stdin);
    assert_eq!(peer.join(), [7; 1000]);
    let finished = running.wait();
    finished.assert_success();
    assert_bytes_eq("the greeting", &greeting, &finished.stdout);
    let summary = "tete: sent 1000 bytes, received 12345 bytes (12.1 KiB) in ";
    pty.wait_for_output(summary);
    assert_erased_before(&pty.output(), summary);
}

/// The line shows the share of a file sent, and, while the peer takes nothing, that the
/// transfer is stalled (the current rate, not the average since the start). The ETA, which
/// needs a rate, is the unit tests'.
#[test]
fn progress_line_shows_percent_of_a_file_and_a_stall() {
    let dir = TempDir::new("progress-file");
    let len = 48 * MIB;
    let (file, _) = dir.random_file("big", len, 3);
    let pty = Pty::open();
    let (release, released) = mpsc::channel::<()>();
    // The peer reads nothing until the line has shown a share of the file sent.
    let peer = Peer::spawn(move |mut stream| {
        let _ = released.recv();
        read_to_eof(&mut stream, "the peer").len()
    });
    let port = peer.port().to_string();
    let running = tete(["-v", "--progress", "127.0.0.1", &port])
        .stdin(Input::File(file))
        .stderr(Output::Fd(pty.slave_fd()))
        .spawn();
    let line = pty.wait_for_output("received 0 B, stalled for ");
    assert!(line.ends_with("%\x1b[K"), "{line:?}");
    assert!(
        !line.contains("ETA"),
        "an ETA for a stalled transfer: {line:?}"
    );
    release.send(()).expect("releasing the peer");
    assert_eq!(peer.join(), len);
    running.wait().assert_success();
    let summary = format!("tete: sent {len} bytes (48.0 MiB), received 0 bytes in ");
    pty.wait_for_output(&summary);
    assert_erased_before(&pty.output(), &summary);
}

#[test]
fn no_progress_line_when_stderr_is_a_file() {
    let dir = TempDir::new("progress-stderr-file");
    let stderr = dir.join("stderr");
    let peer = Peer::spawn(|mut stream| {
        stream.write_all(b"pong\n").expect("reply");
        read_to_eof(&mut stream, "the peer")
    });
    let port = peer.port().to_string();
    // -N: a reply that comes before stdin's end would hold it for the peer's (see above).
    let finished = tete(["-N", "-v", "--progress", "127.0.0.1", &port])
        .stdin(Input::Bytes(b"ping\n".to_vec()))
        .stderr(Output::File(stderr.clone()))
        .run();
    assert_eq!(peer.join(), b"ping\n");
    finished.assert_success();
    let text = String::from_utf8(dir.read(&stderr)).expect("UTF-8 stderr");
    assert!(
        !text.contains('\r') && !text.contains('\x1b'),
        "terminal bytes in a file: {text:?}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("tete: sent 5 bytes, received 5 bytes in "),
        "{text:?}"
    );
}

/// stdin a terminal is a chat: the line would garble what the person types.
#[test]
fn no_progress_line_in_a_chat() {
    let pty = Pty::open();
    let peer = Peer::spawn(|mut stream| stream.write_all(b"hi\n").expect("greeting"));
    let port = peer.port().to_string();
    let finished = tete(["-v", "--progress", "127.0.0.1", &port])
        .stdin(Input::Fd(pty.slave_fd()))
        .stderr(Output::Fd(pty.slave_fd()))
        .controlling_terminal()
        .run();
    peer.join();
    finished.assert_success();
    assert_eq!(finished.stdout, b"hi\n");
    pty.wait_for_output("tete: sent 0 bytes, received 3 bytes in ");
    let screen = pty.output();
    assert!(
        !screen.contains('\x1b'),
        "a progress line in a chat: {screen:?}"
    );
}

/// In password mode the line is drawn while the handshake runs; `-v`'s next line ("secure
/// channel up") comes after it is erased, not glued to it.
#[test]
fn progress_line_is_erased_before_a_verbose_line() {
    let (mut listener, addr) = spawn_listening(
        tete(["-v", "-l", "127.0.0.1", "0"])
            .password("progress")
            .stdin(Input::Null)
            .stdout(Output::Null),
    );
    let pty = Pty::open();
    let finished = tete(["-v", "--progress", "127.0.0.1", &addr.port().to_string()])
        .password("progress")
        .stdin(Input::Bytes(vec![5; 1000]))
        .stdout(Output::Null)
        .stderr(Output::Fd(pty.slave_fd()))
        .run();
    finished.assert_success();
    listener.wait_for_stderr("peer closed");
    let summary = "tete: sent 1000 bytes, received 0 bytes in ";
    pty.wait_for_output(summary);
    let screen = pty.output();
    let up = screen
        .find("tete: secure channel up")
        .unwrap_or_else(|| panic!("no secure channel line: {screen:?}"));
    let before = &screen[..up];
    assert!(
        !before.contains("sent ") || before.ends_with(ERASE),
        "the line before it was not erased: {screen:?}"
    );
    assert_erased_before(&screen, summary);
}
