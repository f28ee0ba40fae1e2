//! Where a room password comes from: the prompt on a terminal (no echo, the terminal put back
//! after Ctrl-C and Ctrl-\\), a password file's first line, and the command lines that take no
//! password.

use std::path::Path;

use rustix::process::Signal;

use crate::harness::*;
use crate::secure::{connector, right_peer_completes};

// ---------------------------------------------------------------------------------------------
// The prompt on a terminal
// ---------------------------------------------------------------------------------------------

/// `tete -P -v --no-chat -l 127.0.0.1 P` on a terminal (stdin, stdout, stderr and controlling
/// terminal), waiting at its prompt. (Without chat mode, whose raw terminal follows the prompt:
/// the terminal's settings after the prompt are then the original ones.)
pub(crate) fn prompt_on_a_terminal() -> (Pty, Termios, Running, u16) {
    let tty = Pty::open();
    let original = tty.termios();
    assert!(original.echo(), "a fresh terminal echoes");
    let mut listener = tete(["-P", "-v", "--no-chat", "-l", "127.0.0.1", "0"])
        .stdin(Input::Fd(tty.slave_fd()))
        .stdout(Output::Fd(tty.slave_fd()))
        .stderr(Output::Fd(tty.slave_fd()))
        .controlling_terminal()
        .spawn();
    // Bound before it asks (port 0: the OS picks).
    let port = listener.wait_listening_socket();
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
    let file = file.to_str().unwrap();
    let mut listener = tete(["-v", "--password-file", file, "-l", "127.0.0.1", "0"])
        .stdin(Input::Bytes(down.clone()))
        .spawn();
    let port = listener.wait_listening().port();
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

/// An explicit password with `-z` is an error (an exported TETE_PASSWORD is ignored: cli.rs).
#[test]
fn zero_io_takes_no_password() {
    let port = free_port().to_string();
    let finished = tete(["-z", "--password-file", "/dev/null", "127.0.0.1", &port]).run();
    finished.assert_code(2);
    finished.error_line();
}

// ---------------------------------------------------------------------------------------------
// An exported TETE_PASSWORD in the way
// ---------------------------------------------------------------------------------------------

/// An exported TETE_PASSWORD makes tete speak the password protocol to a plain server: the
/// error says where the password came from, whether the server answers or stays silent.
#[test]
fn an_exported_password_is_named_when_it_gets_in_the_way() {
    let answering = || {
        let peer = Peer::spawn(|mut stream| {
            let _ = std::io::Write::write_all(&mut stream, b"220 a plain server\r\n");
            read_to_eof(&mut stream, "the plain server")
        });
        let port = peer.port().to_string();
        let finished = tete(["127.0.0.1", &port]).password("x").run();
        finished.assert_code(3);
        let error = finished.error_line();
        assert!(error.contains("TETE_PASSWORD"), "{error}");
        peer.join();
    };
    let silent = || {
        // A server that says nothing until it is spoken to in its own protocol.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
        let port = listener.local_addr().expect("its address").port();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let _held = accept_within(&listener, TIMEOUT);
                let _ = finished.recv_timeout(TIMEOUT);
            });
            let finished = tete(["-w", "1", "127.0.0.1", &port.to_string()])
                .password("x")
                .run();
            drop(done);
            finished.assert_code(3);
            let error = finished.error_line();
            assert!(error.contains("TETE_PASSWORD"), "{error}");
        });
    };
    at_once(&[&answering, &silent]);
}
