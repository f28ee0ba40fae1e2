//! What tete leaves behind on the terminal and in the process table, run for real: the password
//! prompt under a job-control shell (Ctrl-Z, then `fg`), and the room password gone from
//! `/proc/PID/environ` and kept out of core files. (The prompt and fatal signals: tests/e2e/secure.rs.)

use std::fs;
use std::net::TcpListener;
use std::time::{Duration, Instant};

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
    let port = free_port();
    // Without chat mode, whose raw terminal would follow the prompt (tests/e2e/chat.rs).
    let port = port.to_string();
    let _job = JobShell::start(&tty, &["-P", "-v", "--no-chat", "-l", "127.0.0.1", &port]);
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

    let before_fg = tty.output().len();
    tty.type_bytes(b"\n");
    wait_for_echo(&tty, false, "tete continued by fg");
    tty.type_bytes(b"the rest of it\n");
    // The listener was bound before the prompt; the prompt is over once echo is back.
    wait_for_echo(&tty, true, "the prompt answered");
    let after_fg = &tty.output()[before_fg..];
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
