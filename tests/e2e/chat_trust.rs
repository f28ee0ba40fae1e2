//! A chat a person can trust, as issue 19 asks it to be shown: tete in chat mode on a
//! pseudo-terminal, rendered by a terminal emulator (`vt100`), with a peer that is idle, hostile
//! or flooding. It sleeps when nothing happens, its memory stays bounded under a flood, the peer
//! cannot forge your lines or tete's, nor send characters that change the layout unseen; it says
//! who came, that the room is private, who left; a paste too long to send says so; tete's own
//! lines start in the first column. (An exported TETE_PASSWORD named in an error: `password`.)

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;

const CTRL_D: u8 = 0x04;
/// How long [`OnTerminal::press_until`] waits for each press to take effect.
const HALF_A_SECOND: Duration = Duration::from_millis(500);

/// tete in chat mode on a terminal of [`ROWS`] x [`COLS`], without colour.
struct OnTerminal {
    pty: Pty,
    tete: Running,
}

impl OnTerminal {
    /// Starts `tete ARGS` on a new terminal; `password`: the room's (TETE_PASSWORD).
    fn start(pty: Pty, args: &[&str], password: Option<&str>) -> OnTerminal {
        pty.set_size(ROWS, COLS);
        let mut command = tete(args)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .stdin(Input::Fd(pty.slave_fd()))
            .stdout(Output::Fd(pty.slave_fd()))
            .stderr(Output::Fd(pty.slave_fd()))
            .controlling_terminal();
        if let Some(password) = password {
            command = command.password(password);
        }
        OnTerminal {
            tete: command.spawn(),
            pty,
        }
    }

    /// Connects to 127.0.0.1 `port` in chat mode.
    fn connect(port: u16, password: Option<&str>) -> OnTerminal {
        OnTerminal::start(Pty::open(), &["127.0.0.1", &port.to_string()], password)
    }

    /// Connects in chat mode, on `pty`, to a plain peer the test holds (its reads time out
    /// after [`TIMEOUT`]), and waits for the chat to say so.
    fn with_plain_peer(pty: Pty) -> (OnTerminal, TcpStream) {
        let (listener, port) = peer_listener();
        let chat = OnTerminal::start(pty, &["127.0.0.1", &port.to_string()], None);
        let peer = accept_within(&listener, TIMEOUT);
        peer.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        chat.wait_for_row("tete: connected to 127.0.0.1:");
        (chat, peer)
    }

    /// Listens on 127.0.0.1, on a port the OS picks, and returns it too.
    fn listen(args: &[&str], password: Option<&str>) -> (OnTerminal, u16) {
        let mut all = args.to_vec();
        all.extend(["-l", "127.0.0.1", "0"]);
        let mut chat = OnTerminal::start(Pty::open(), &all, password);
        let port = chat.tete.wait_listening_socket();
        (chat, port)
    }

    /// Presses `keys` until `done` sees them take effect: pressed within a quarter second of a
    /// paste's end, keys still count as pasted, as a person finds out by pressing again.
    #[track_caller]
    fn press_until<T>(
        &mut self,
        keys: &[u8],
        mut done: impl FnMut(&mut Running) -> Option<T>,
    ) -> T {
        for _ in 0..40 {
            self.pty.type_bytes(keys);
            if let Some(result) = done(&mut self.tete) {
                return result;
            }
        }
        panic!("pressing {keys:?} never took effect")
    }

    /// Waits until a row of the screen holds `text`, and returns the screen.
    #[track_caller]
    fn wait_for_row(&self, text: &str) -> vt100::Screen {
        self.pty
            .wait_for_screen(&[], text, |screen| row_with(screen, text).is_some())
    }
}

/// The first row of `screen` that holds `text`.
fn row_with(screen: &vt100::Screen, text: &str) -> Option<String> {
    rows(screen).into_iter().find(|row| row.contains(text))
}

/// A listener for the chat to connect to, and the port it listens on.
fn peer_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the peer");
    let port = listener.local_addr().expect("the peer's address").port();
    (listener, port)
}

/// A password listener for the chat to connect to, its stdin held open by the test (dropping
/// the returned pipe ends it), its output discarded.
fn password_partner(password: &str) -> (Running, u16, std::process::ChildStdin) {
    let (mut partner, addr) = spawn_listening(
        tete(["-v", "-l", "127.0.0.1", "0"])
            .password(password)
            .stdin(Input::Pipe)
            .stdout(Output::Null),
    );
    let stdin = partner.take_stdin();
    (partner, addr.port(), stdin)
}

/// The two long watches (idle chats for 4 s, floods for 12 s) at once: they wait, and each
/// measures its own tete (CPU time, peak memory), which the other's load does not change.
/// (A test of main.rs runs it, beside the other longest waits.)
pub(crate) fn idle_and_flooded_chats_at_once() {
    at_once(&[
        &a_chat_with_nothing_happening_sleeps,
        &a_flood_does_not_grow_the_memory,
    ]);
}

/// The CPU time `tete` uses in `idle` with nothing happening: under 0.08 s.
#[track_caller]
fn assert_sleeps(situation: &str, tete: &Running) {
    const IDLE: Duration = Duration::from_secs(4);
    let before = tete.cpu_time();
    // The wait is the scenario: nothing happens, and tete must not spin meanwhile.
    thread::sleep(IDLE);
    let used = tete.cpu_time().saturating_sub(before);
    eprintln!("{situation}: {used:?} of CPU in {IDLE:?}");
    assert!(
        used < Duration::from_millis(80),
        "{situation}: {used:?} of CPU in {IDLE:?} with nothing happening"
    );
}

fn a_chat_with_nothing_happening_sleeps() {
    let waiting = |password: Option<&str>| {
        let (chat, _) = OnTerminal::listen(&[], password);
        chat.wait_for_row("-- 127.0.0.1 port ");
        let situation = format!("a listener waiting (password {})", password.is_some());
        assert_sleeps(&situation, &chat.tete);
    };
    let plain_idle = || {
        let (chat, _peer) = OnTerminal::with_plain_peer(Pty::open());
        assert_sleeps("an idle plain chat", &chat.tete);
    };
    let private_idle = || {
        let (_partner, port, _stdin) = password_partner("idle room");
        let chat = OnTerminal::connect(port, Some("idle room"));
        chat.wait_for_row("the room is private");
        assert_sleeps("an idle private chat", &chat.tete);
    };
    at_once(&[
        &|| waiting(None),
        &|| waiting(Some("a room")),
        &plain_idle,
        &private_idle,
    ]);
}

/// Floods the chat through `peer` for 12 s with `chunk` again and again; the chat's memory stays
/// within 12 MiB, however much waits for its terminal.
fn flood_through(situation: &str, chat: &mut OnTerminal, mut peer: TcpStream, chunk: Vec<u8>) {
    const FLOOD: Duration = Duration::from_secs(12);
    let deadline = Instant::now() + FLOOD;
    // A blocked write looks at the clock again each second.
    peer.set_write_timeout(Some(Duration::from_secs(1)))
        .expect("a write timeout");
    let mut sent = 0;
    while Instant::now() < deadline {
        if let Ok(n) = peer.write(&chunk) {
            sent += n;
        }
    }
    eprintln!("{situation}: {} MiB sent in {FLOOD:?}", sent / MIB);
    assert!(
        sent > MIB,
        "{situation}: the flood hardly moved ({sent} bytes)"
    );
    check_flood(situation, chat);
}

/// tete's peak memory so far is 12 MiB or less; then it is stopped.
#[track_caller]
fn check_flood(situation: &str, chat: &mut OnTerminal) {
    let peak_kib = chat.tete.peak_memory_kib();
    eprintln!("{situation}: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib <= 12 * 1024,
        "{situation}: tete's peak RSS is {peak_kib} KiB, over 12 MiB"
    );
    chat.tete.kill();
}

fn a_flood_does_not_grow_the_memory() {
    // A slow terminal: tete must hold the peer back rather than queue what the terminal has
    // not taken yet.
    let plain = |situation: &str, chunk: &[u8]| {
        let (mut chat, peer) = OnTerminal::with_plain_peer(Pty::open_slow());
        flood_through(
            situation,
            &mut chat,
            peer,
            chunk.repeat(64 * KIB / chunk.len()),
        );
    };
    let private = || {
        // The partner's stdin is endless: NUL bytes, each shown as an escape.
        let (mut partner, addr) = spawn_listening(
            tete(["-v", "-l", "127.0.0.1", "0"])
                .password("flood")
                .stdin(Input::File("/dev/zero".into()))
                .stdout(Output::Null),
        );
        let mut chat = OnTerminal::start(
            Pty::open_slow(),
            &["127.0.0.1", &addr.port().to_string()],
            Some("flood"),
        );
        chat.wait_for_row("| ^@^@^@");
        // The flood is the partner's own: the test lets it run, the pause is the scenario.
        thread::sleep(Duration::from_secs(12));
        check_flood("a private flood of NUL bytes", &mut chat);
        partner.kill();
    };
    at_once(&[
        &|| plain("a flood with no newline", b"x"),
        &|| plain("a flood of short lines", b"hi there\n"),
        &private,
    ]);
}

/// With NO_COLOR (no attribute tells rows apart), a peer line `> I agree` is not your sent
/// `I agree`, and a peer line `tete: the peer left` is not tete's line when the peer leaves.
#[test]
fn the_peer_cannot_forge_your_lines_or_tetes() {
    let (chat, mut peer) = OnTerminal::with_plain_peer(Pty::open());
    peer.write_all(b"> I agree\n").expect("the peer sending");
    chat.wait_for_row("I agree");
    chat.pty.type_bytes(b"I agree\r");
    let screen = chat.pty.wait_for_screen(&[], "both lines", |screen| {
        rows(screen)
            .iter()
            .filter(|row| row.contains("I agree"))
            .count()
            == 2
    });
    let agreed: Vec<String> = rows(&screen)
        .into_iter()
        .filter(|row| row.contains("I agree"))
        .collect();
    assert_eq!(agreed, ["| > I agree", "> I agree"]);
    // Read, so that the peer's close is a clean one.
    let mut line = [0; 8];
    std::io::Read::read_exact(&mut peer, &mut line).expect("the peer reading");
    assert_eq!(&line, b"I agree\n");

    peer.write_all(b"tete: the peer left\n")
        .expect("the peer sending");
    chat.wait_for_row("tete: the peer left");
    drop(peer);
    let screen = chat.wait_for_row(" left: ");
    let forged = row_with(&screen, "the peer left").expect("the forged line");
    let real = row_with(&screen, " left: ").expect("tete's line");
    assert_eq!(forged, "| tete: the peer left");
    assert!(real.starts_with("tete: 127.0.0.1:"), "{real}");
    assert_ne!(forged.get(..2), real.get(..2), "the rows start alike");
    chat.tete.wait().assert_success();
}

/// None of the characters that reorder or hide text reaches the terminal raw.
#[test]
fn no_format_character_reaches_the_terminal() {
    // Bidi overrides and isolates, zero-width space and joiner, RLM, word joiner, BOM, soft
    // hyphen, a tag character, the line separator.
    let listed = "\u{202e}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}\u{200b}\u{200d}\u{200f}\
                  \u{2060}\u{feff}\u{ad}\u{e0041}\u{2028}";
    let (chat, mut peer) = OnTerminal::with_plain_peer(Pty::open());
    let line: String = listed.chars().flat_map(|c| ['a', c]).collect();
    peer.write_all(format!("{line}end\n").as_bytes())
        .expect("the peer sending");
    let screen = chat.wait_for_row("end");
    assert!(
        row_with(&screen, "\\u{202e}").is_some() && row_with(&screen, "\\u{e0041}").is_some(),
        "shown escaped: {:?}",
        rows(&screen)
    );
    let output = chat.pty.settled_output();
    assert_eq!(listed.chars().count(), 14);
    for c in listed.chars() {
        assert!(
            !output.contains(c),
            "U+{:04X} reached the terminal",
            u32::from(c)
        );
    }
    drop(peer);
    chat.tete.wait().assert_success();
}

/// The listener names its partner when it comes, says the room is private without `-v`, and
/// after the partner's Ctrl-D says that it left.
#[test]
fn the_chat_says_who_came_and_who_left() {
    // Plain: the address the partner comes from.
    let (chat, port) = OnTerminal::listen(&[], None);
    let peer = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    let local = peer.local_addr().expect("the peer's address");
    chat.wait_for_row(&format!("tete: {local} is here"));
    drop(peer);
    chat.tete.wait().assert_success();

    // Private, both on terminals: the partner presses Ctrl-D.
    let (listener, port) = OnTerminal::listen(&[], Some("a private room"));
    let partner = OnTerminal::connect(port, Some("a private room"));
    let screen = listener.wait_for_row("the room is private");
    let here = row_with(&screen, "the room is private").expect("the line");
    assert!(here.starts_with("tete: 127.0.0.1:"), "{here}");
    partner.wait_for_row("the room is private");
    partner.pty.type_bytes(&[CTRL_D]);
    listener.tete.wait().assert_success();
    partner.tete.wait().assert_success();
    // Each side says it from its own point of view.
    let last_row = |pty: &Pty, text: &str| {
        let screen = render(&pty.settled_output(), &[]).screen().clone();
        row_with(&screen, text)
            .unwrap_or_else(|| panic!("the last screen does not say {text:?}: {:?}", rows(&screen)))
    };
    let left = last_row(&listener.pty, " left: ");
    assert!(left.ends_with("it ended its side (Ctrl-D)"), "{left}");
    let ended = last_row(&partner.pty, "is over");
    assert_eq!(
        ended,
        format!("tete: the chat with 127.0.0.1:{port} is over: you ended your side (Ctrl-D)")
    );
}

/// A pasted line of 100,000 characters is not sent, and the screen says so; what follows goes.
#[test]
fn a_paste_too_long_to_send_says_so() {
    let (chat, mut peer) = OnTerminal::with_plain_peer(Pty::open());
    let paste = format!("\x1b[200~{}\x1b[201~", "p".repeat(100_000));
    chat.pty.type_bytes(paste.as_bytes());
    chat.wait_for_row("tete: not sent: the line is longer than 64 KiB");
    let mut chat = chat;
    peer.set_read_timeout(Some(HALF_A_SECOND))
        .expect("read timeout");
    let got = chat.press_until(b"after\r", |_| {
        let mut line = [0; 64];
        let n = std::io::Read::read(&mut peer, &mut line).ok()?;
        Some(line[..n].to_vec())
    });
    assert!(
        !got.is_empty() && got.chunks(6).all(|line| line == b"after\n"),
        "nothing of the long line went: {got:?}"
    );
    drop(peer);
    chat.tete.wait().assert_success();
}

/// With `-v`, every one of tete's lines starts in the first column, wherever the cursor was
/// (after a peer's unfinished line, after the input line).
#[test]
fn verbose_lines_start_in_the_first_column() {
    let (chat, port) = OnTerminal::listen(&["-v"], None);
    let mut peer = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    chat.wait_for_row(" is here");
    chat.pty.type_bytes(b"half typed");
    peer.write_all(b"a prompt without its end: ")
        .expect("the peer sending");
    chat.wait_for_row("without its end");
    drop(peer);
    chat.tete.wait().assert_success();
    let screen = render(&chat.pty.settled_output(), &[]).screen().clone();
    let rows = rows(&screen);
    for needle in [
        "connection from",
        "peer closed",
        "sent 0 bytes, received 26 bytes",
    ] {
        let row = rows
            .iter()
            .find(|row| row.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} on the screen: {rows:?}"));
        assert!(
            row.starts_with("tete: "),
            "not from the first column: {rows:?}"
        );
    }
    assert!(
        rows.iter().any(|row| row == "tete: not sent: half typed"),
        "the half-typed line is kept: {rows:?}"
    );
}

/// A paste that holds its own end mark and then Ctrl-C, with the terminal found empty right
/// after the mark (as when the kernel hands the paste over in 256-byte pieces): the Ctrl-C is
/// text, dropped; the rest of the paste is typed; the line goes whole. Only after the real
/// end, and quiet, does Ctrl-C leave.
#[test]
fn a_paste_is_not_ended_by_a_read_boundary() {
    let (chat, mut peer) = OnTerminal::with_plain_peer(Pty::open());
    chat.pty.type_bytes(b"\x1b[200~first piece\x1b[201~");
    // Shown: tete has read the piece, and found the terminal empty after it.
    chat.wait_for_row("> first piece");
    chat.pty.type_bytes(b"\x03, second piece\r\x1b[201~");
    let mut line = [0; 26];
    std::io::Read::read_exact(&mut peer, &mut line).expect("the peer reading");
    assert_eq!(&line, b"first piece, second piece\n");
    // Once the paste has landed, Ctrl-C leaves.
    let mut chat = chat;
    let status = chat.press_until(&[0x03], |tete| tete.wait_timeout(HALF_A_SECOND));
    assert_eq!(status.signal(), Some(rustix::process::Signal::INT.as_raw()));
}

/// The presence row says while the partner is not answering (a private room's partner whose
/// tete is stopped: its kernel still acknowledges, its tete does not answer the pings), and
/// goes once it answers again.
#[test]
fn the_presence_row_says_while_the_partner_is_not_answering() {
    const PASSWORD: &str = "a quiet room";
    let (chat, port) = OnTerminal::listen(&["--peer-timeout", "6"], Some(PASSWORD));
    let mut partner = tete(["127.0.0.1", &port.to_string()])
        .password(PASSWORD)
        .stdin(Input::Pipe)
        .stdout(Output::Null)
        .spawn();
    let stdin = partner.take_stdin();
    chat.wait_for_row("the room is private");
    partner.signal(rustix::process::Signal::STOP);
    let screen = chat.wait_for_row("is not answering");
    let row = row_with(&screen, "is not answering").expect("the presence row");
    assert!(
        row.starts_with("-- 127.0.0.1:") && row.ends_with("gives up after 6 s of silence"),
        "{row}"
    );
    partner.signal(rustix::process::Signal::CONT);
    chat.pty
        .wait_for_screen(&[], "the presence row gone", |screen| {
            row_with(screen, "answers again").is_some() && row_with(screen, "-- ").is_none()
        });
    drop(stdin);
    partner.wait().assert_success();
    chat.tete.wait().assert_success();
}
