//! What tete leaves behind on the terminal and in the process table, run for real: the password
//! prompt under a job-control shell (Ctrl-Z, then `fg`), the room password gone from
//! `/proc/PID/environ` and kept out of core files, and two terminals in a chat ended each way,
//! their settings as they were. (The prompt and fatal signals: password.rs; the chat screen:
//! chat.rs.)

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::*;

#[track_caller]
fn assert_echo(tty: &Pty, on: bool, when: &str) {
    let termios = tty.termios();
    assert_eq!(termios.echo(), on, "{when}: echo, {:?}", termios.local);
}

/// Waits until the terminal's echo is `on`, as another process sets it.
#[track_caller]
fn wait_for_echo(tty: &Pty, on: bool, when: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while tty.termios().echo() != on {
        assert!(
            Instant::now() < deadline,
            "{when}: echo never turned {}; the terminal shows {:?}",
            if on { "on" } else { "off" },
            tty.output()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-Z at the prompt, then `fg`, as in an interactive shell: while tete is stopped the
/// terminal echoes again (the shell's own line is readable), and once it goes on, echo is off
/// again, so the rest of the password does not show, even though the shell left echo on.
#[test]
fn ctrl_z_then_fg_at_the_prompt_keeps_the_password_hidden() {
    let tty = Pty::open();
    let original = tty.termios();
    // Without chat mode, whose raw terminal would follow the prompt (chat.rs).
    let _job = JobShell::start(&tty, &["-P", "-v", "--no-chat", "-l", "127.0.0.1", "0"]);
    tty.wait_for_output("Password: ");
    assert_echo(&tty, false, "at the prompt");

    tty.type_bytes(b"half-typed");
    tty.type_bytes(&[0x1a]);
    wait_for_echo(&tty, true, "tete stopped by Ctrl-Z");
    assert_eq!(
        tty.termios(),
        original,
        "the terminal's settings while tete is stopped"
    );

    // Settled: the harness reads the terminal in a thread of its own, which may lag behind.
    let before_fg = tty.settled_output().len();
    tty.type_bytes(b"\n");
    wait_for_echo(&tty, false, "tete continued by fg");
    tty.type_bytes(b"the rest of it\n");
    // The listener was bound before the prompt; the prompt is over once echo is back.
    wait_for_echo(&tty, true, "the prompt answered");
    let after_fg = &tty.settled_output()[before_fg..];
    assert!(
        !after_fg.contains("the rest"),
        "the password shows after fg: {after_fg:?}"
    );
    assert!(
        after_fg.contains("Password: "),
        "the prompt is not shown again after fg: {after_fg:?}"
    );
    assert_eq!(
        tty.termios(),
        original,
        "the terminal's settings after the prompt"
    );
}

/// TETE_PASSWORD is read once and wiped: `/proc/PID/environ` (the block the process started
/// with) no longer holds it while tete runs, and no core file could hold it either.
#[test]
fn the_environment_no_longer_shows_the_password() {
    const SECRET: &str = "swordfish-4c1f9e";
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("local address").port();
    let mut tete = tete(["127.0.0.1", &port.to_string()])
        .password(SECRET)
        .spawn();
    // Accepted: tete is past reading its password, waiting for a HELLO that never comes.
    let _connection = accept_within(&silent, TIMEOUT);
    let pid = tete.pid();

    let environ = fs::read(format!("/proc/{pid}/environ")).expect("reading environ");
    let environ = String::from_utf8_lossy(&environ);
    assert!(environ.contains("PATH="), "not an environment: {environ:?}");
    assert!(
        !environ.contains(SECRET),
        "/proc/{pid}/environ shows the password"
    );
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).expect("reading limits");
    let core = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .expect("a core limit");
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    tete.kill();
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

    let mut listener = on(&listener_tty, tete(["-v", "-l", "127.0.0.1", "0"]));
    let port = listener.wait_listening_socket();
    let line = listener_tty.wait_for_output("listening on ");
    assert_eq!(
        parse_listening(&line),
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        "{line:?}"
    );
    let client = on(&client_tty, tete(["127.0.0.1", &port.to_string()]));
    listener_tty.wait_for_output("connection from 127.0.0.1:");
    // Lines go once the chat says the partner is in.
    client_tty.wait_for_output("tete: connected to 127.0.0.1:");

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
