//! Chat mode as a person sees it: tete on a pseudo-terminal, connected to a plain peer (a TCP
//! socket the test holds), and everything it writes to the terminal rendered by a terminal
//! emulator (`vt100`) into the rows and cursor a person would see. What the peer receives is
//! checked byte for byte; every test ends in a different way and checks that the terminal's
//! settings and `O_NONBLOCK` are exactly as they were.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use rustix::process::Signal;

use crate::harness::*;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x7f;
const LEFT: &[u8] = b"\x1b[D";
const END: &[u8] = b"\x1b[F";
/// What the chat writes last: bracketed paste off, autowrap on.
const MODES_OFF: &str = "\x1b[?2004l\x1b[?7h";

/// tete in chat mode on a terminal of [`ROWS`] x [`COLS`], connected to the test's peer.
struct Chat {
    pty: Pty,
    /// The terminal's settings before tete started.
    settings: Termios,
    nonblocking: bool,
    tete: Running,
    /// The test's end of the connection, until it closes it.
    peer: Option<TcpStream>,
    /// Terminal sizes after the first, each with the length of the output before it.
    resizes: Vec<Resize>,
}

impl Chat {
    /// Starts `tete ARGS 127.0.0.1 PORT` on a new terminal and waits for its input line.
    fn start(args: &[&str]) -> Chat {
        let pty = Pty::open();
        pty.set_size(ROWS, COLS);
        let settings = pty.termios();
        let nonblocking = is_nonblocking(pty.slave());
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the peer");
        let port = listener.local_addr().expect("the peer's address").port();
        let mut command = args.to_vec();
        let port = port.to_string();
        command.extend(["127.0.0.1", &port]);
        let tete = tete(command)
            .env("TERM", "xterm")
            .env("NO_COLOR", "")
            .stdin(Input::Fd(pty.slave_fd()))
            .stdout(Output::Fd(pty.slave_fd()))
            .stderr(Output::Fd(pty.slave_fd()))
            .controlling_terminal()
            .spawn();
        let peer = accept_within(&listener, TIMEOUT);
        peer.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        let chat = Chat {
            pty,
            settings,
            nonblocking,
            tete,
            peer: Some(peer),
            resizes: Vec::new(),
        };
        // Keys typed before raw mode would be the line discipline's, not the chat's.
        wait_until("raw mode", TIMEOUT, || !chat.pty.termios().canonical());
        chat.wait_for("the input line", |screen| {
            input_row(screen).is_some_and(|row| row == ">")
        });
        chat
    }

    fn type_bytes(&self, bytes: &[u8]) {
        self.pty.type_bytes(bytes);
    }

    fn peer(&mut self) -> &mut TcpStream {
        self.peer.as_mut().expect("the peer is still there")
    }

    fn send(&mut self, bytes: &[u8]) {
        self.peer().write_all(bytes).expect("the peer sending");
    }

    /// The peer closes its end: with a FIN, or with `reset` a reset.
    fn close_peer(&mut self, reset: bool) {
        let peer = self.peer.take().expect("the peer is still there");
        if reset {
            set_linger_zero(&peer);
        }
        drop(peer);
    }

    /// Reads exactly `expected.len()` bytes at the peer and compares them.
    #[track_caller]
    fn peer_receives(&mut self, expected: &[u8]) {
        let mut got = vec![0; expected.len()];
        self.peer()
            .read_exact(&mut got)
            .unwrap_or_else(|err| panic!("the peer reading {expected:?}: {err}"));
        assert_bytes_eq("what the peer received", expected, &got);
    }

    /// The peer sees our end of stream, and nothing before it.
    #[track_caller]
    fn peer_sees_the_end(&mut self) {
        let mut rest = Vec::new();
        self.peer()
            .read_to_end(&mut rest)
            .expect("the peer reading");
        assert_eq!(rest, b"", "bytes before the end of stream");
    }

    /// The terminal as a person sees it now.
    fn emulator(&self) -> Emulator {
        render(&self.pty.output(), &self.resizes)
    }

    /// Waits until the screen shows what `ready` looks for, and returns it.
    #[track_caller]
    fn wait_for(&self, what: &str, ready: impl Fn(&vt100::Screen) -> bool) -> vt100::Screen {
        self.pty.wait_for_screen(&self.resizes, what, ready)
    }

    /// Resizes the terminal as a window manager would: the kernel tells tete (SIGWINCH).
    fn resize(&mut self, rows: u16, cols: u16) {
        self.resizes.push((self.pty.output().len(), rows, cols));
        self.pty.set_size(rows, cols);
    }

    /// Waits for tete's end, checks the terminal's settings are as they were, and returns the
    /// screen as tete left it, and all it wrote to the terminal.
    #[track_caller]
    fn finish(mut self) -> (Finished, vt100::Screen, String) {
        let finished = self.tete.wait();
        assert_eq!(
            self.pty.termios(),
            self.settings,
            "the terminal's settings afterwards"
        );
        assert_eq!(
            is_nonblocking(self.pty.slave()),
            self.nonblocking,
            "O_NONBLOCK afterwards"
        );
        self.peer.take();
        let output = self.pty.settled_output();
        let screen = render(&output, &self.resizes).screen().clone();
        (finished, screen, output)
    }
}

/// The row the cursor is on: the input line.
fn input_row(screen: &vt100::Screen) -> Option<String> {
    let (row, _) = screen.cursor_position();
    rows(screen).into_iter().nth(usize::from(row))
}

/// The rows above the cursor's that are not blank: the conversation so far.
fn conversation(screen: &vt100::Screen) -> Vec<String> {
    let (row, _) = screen.cursor_position();
    rows(screen)
        .into_iter()
        .take(usize::from(row))
        .filter(|row| !row.is_empty() && !row.starts_with("-- "))
        .collect()
}

/// What the people said: the conversation without tete's own status lines.
fn talk(screen: &vt100::Screen) -> Vec<String> {
    let mut rows = conversation(screen);
    rows.retain(|row| !row.starts_with("tete: "));
    rows
}

/// You type half a line, a line arrives: both are whole, on rows of their own, your line below
/// with the cursor at its end; finished, it reaches the peer exactly. Then Ctrl-D on the empty
/// line ends your side (the peer sees the end), and the peer closing ends tete: exit 0.
#[test]
fn a_line_arriving_while_you_type_leaves_both_whole() {
    let mut chat = Chat::start(&[]);
    chat.type_bytes(b"half a li");
    chat.wait_for("the half-typed line", |screen| {
        input_row(screen).as_deref() == Some("> half a li")
    });

    chat.send(b"incoming message\n");
    let screen = chat.wait_for("the peer's line", |screen| {
        conversation(screen).contains(&"| incoming message".to_string())
    });
    assert_eq!(input_row(&screen).as_deref(), Some("> half a li"));
    assert_eq!(screen.cursor_position().1, 11, "the cursor after \"li\"");
    assert_eq!(talk(&screen), ["| incoming message"]);

    chat.type_bytes(b"ne\r");
    chat.peer_receives(b"half a line\n");
    let screen = chat.wait_for("the sent line in the conversation", |screen| {
        talk(screen).len() == 2
    });
    assert_eq!(
        talk(&screen),
        ["| incoming message", "> half a line"],
        "in the order they happened"
    );
    assert_eq!(input_row(&screen).as_deref(), Some(">"));

    chat.type_bytes(&[CTRL_D]);
    chat.peer_sees_the_end();
    chat.close_peer(false);
    let (finished, screen, _) = chat.finish();
    finished.assert_success();
    let rows = rows(&screen);
    assert!(
        rows.contains(&"> half a line".to_string()),
        "the conversation stays on the screen: {rows:?}"
    );
}

/// A peer's escape sequences are shown, not obeyed: the screen is not cleared, the title not
/// set, the bytes visible in caret notation. The peer leaving ends tete: exit 0.
#[test]
fn the_peer_cannot_drive_the_terminal() {
    let mut chat = Chat::start(&[]);
    chat.send(b"before\n\x1b]0;pwned\x07\x1b[2J\x1b[Hafter\n");
    let screen = chat.wait_for("the escaped bytes", |screen| talk(screen).len() == 2);
    assert_eq!(
        talk(&screen),
        ["| before", "| ^[]0;pwned^G^[[2J^[[Hafter"],
        "the screen was cleared or the bytes not shown"
    );
    assert!(!chat.emulator().callbacks().retitled, "the title changed");

    chat.peer()
        .shutdown(std::net::Shutdown::Write)
        .expect("the peer leaving");
    chat.peer_sees_the_end();
    let (finished, screen, _) = chat.finish();
    finished.assert_success();
    assert!(rows(&screen).contains(&"| before".to_string()));
}

/// Wide characters are edited whole, with the cursor where the terminal draws it; the peer
/// receives exactly the edited line. Ctrl-C then ends tete as it would without chat mode.
#[test]
fn wide_characters_are_edited_whole() {
    let mut chat = Chat::start(&[]);
    chat.type_bytes("你好世界".as_bytes());
    let screen = chat.wait_for("the wide characters", |screen| {
        input_row(screen).as_deref() == Some("> 你好世界")
    });
    assert_eq!(
        screen.cursor_position().1,
        10,
        "2 + 4 characters of 2 columns"
    );

    // Left twice (before 世), Backspace (好 goes), 们, End, Backspace (界 goes).
    chat.type_bytes(&[LEFT, LEFT, &[BACKSPACE]].concat());
    let screen = chat.wait_for("好 deleted", |screen| {
        input_row(screen).as_deref() == Some("> 你世界")
    });
    assert_eq!(screen.cursor_position().1, 4, "the cursor after 你");
    chat.type_bytes(&["们".as_bytes(), END, &[BACKSPACE]].concat());
    let screen = chat.wait_for("the edited line", |screen| {
        input_row(screen).as_deref() == Some("> 你们世")
    });
    assert_eq!(screen.cursor_position().1, 8);
    chat.type_bytes(b"\r");
    chat.peer_receives("你们世\n".as_bytes());

    chat.type_bytes(&[CTRL_C]);
    chat.peer_sees_the_end();
    let (finished, _, _) = chat.finish();
    finished.assert_signal(Signal::INT);
}

/// A prompt with no line end (`login: `) shows at once, above the input line. SIGTERM then
/// ends tete by that signal, the terminal put back.
#[test]
fn a_partial_line_shows_at_once() {
    let mut chat = Chat::start(&[]);
    chat.send(b"login: ");
    let screen = chat.wait_for("the prompt", |screen| talk(screen) == ["| login:"]);
    assert_eq!(input_row(&screen).as_deref(), Some(">"));
    chat.type_bytes(b"alice\r");
    chat.peer_receives(b"alice\n");
    chat.send(b"Password: ");
    chat.wait_for("the next prompt", |screen| {
        conversation(screen).last().map(String::as_str) == Some("| Password:")
    });

    chat.tete.signal(Signal::TERM);
    chat.peer_sees_the_end();
    let (finished, screen, _) = chat.finish();
    finished.assert_signal(Signal::TERM);
    assert!(
        rows(&screen).contains(&"| Password:".to_string()),
        "the peer's unfinished line is kept: {:?}",
        rows(&screen)
    );
}

/// 200 lines pasted at once all reach the peer, complete and in order, and all show. SIGHUP
/// (the terminal gone) then ends tete by that signal.
#[test]
fn a_paste_of_200_lines_arrives_whole() {
    let mut chat = Chat::start(&[]);
    let lines: Vec<String> = (1..=200)
        .map(|n| format!("line {n:03} of the paste"))
        .collect();
    let typed: String = lines.iter().map(|line| format!("{line}\r")).collect();
    let sent: String = lines.iter().map(|line| format!("{line}\n")).collect();
    chat.type_bytes(typed.as_bytes());
    chat.peer_receives(sent.as_bytes());
    let screen = chat.wait_for("the last line sent", |screen| {
        conversation(screen).last().map(String::as_str) == Some("> line 200 of the paste")
    });
    assert_eq!(input_row(&screen).as_deref(), Some(">"));

    chat.tete.signal(Signal::HUP);
    chat.peer_sees_the_end();
    let (finished, _, _) = chat.finish();
    finished.assert_signal(Signal::HUP);
}

/// The window narrows while a long line is typed: the input line is drawn again for the new
/// width, one row that scrolls sideways, and the whole line still goes. Then the connection is
/// reset: tete fails with one error line, written after the terminal is put back.
#[test]
fn a_resize_redraws_for_the_new_width() {
    let mut chat = Chat::start(&[]);
    let long: String = (0..100)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    chat.type_bytes(long.as_bytes());
    let screen = chat.wait_for("the long line", |screen| {
        input_row(screen).is_some_and(|row| row.ends_with(&long[90..]))
    });
    assert!(screen.cursor_position().1 < COLS);

    chat.resize(ROWS, 40);
    let screen = chat.wait_for("the line redrawn for 40 columns", |screen| {
        input_row(screen).is_some_and(|row| row.ends_with(&long[90..]) && row.len() < 40)
    });
    assert!(
        screen.cursor_position().1 < 40,
        "the cursor within the window"
    );
    chat.send(b"after the resize\n");
    let screen = chat.wait_for("the peer's line", |screen| {
        conversation(screen).contains(&"| after the resize".to_string())
    });
    assert!(
        input_row(&screen).is_some_and(|row| row.ends_with(&long[90..])),
        "the input line intact: {:?}",
        rows(&screen)
    );
    chat.type_bytes(b"\r");
    chat.peer_receives(format!("{long}\n").as_bytes());

    chat.close_peer(true);
    let (finished, screen, output) = chat.finish();
    finished.assert_code(1);
    let tidied = output
        .rfind(MODES_OFF)
        .expect("the terminal's modes put back");
    let error = output
        .find("tete: receiving from")
        .expect("an error message");
    assert!(
        tidied < error,
        "the error is written before the chat is tidied: {output:?}"
    );
    let rows = rows(&screen);
    let error = rows
        .iter()
        .find(|row| row.starts_with("tete: receiving from"))
        .unwrap_or_else(|| panic!("no error line on the screen: {rows:?}"));
    assert!(error.contains("127.0.0.1"), "{error}");
    assert!(
        rows.iter().any(|row| row.contains("is gone")),
        "the chat says the partner is gone: {rows:?}"
    );
}

/// `tete EXTRA 127.0.0.1 PORT` with a terminal as stdin and stderr, and as stdout unless
/// `file` is given, connected to the test's peer.
fn without_chat(extra: &[&str], file: Option<PathBuf>) -> (Pty, Termios, Running, TcpStream) {
    let pty = Pty::open();
    pty.set_size(ROWS, COLS);
    let settings = pty.termios();
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the peer");
    let port = listener.local_addr().expect("the peer's address").port();
    let port = port.to_string();
    let mut args = extra.to_vec();
    args.extend(["127.0.0.1", &port]);
    let tete = tete(args)
        .stdin(Input::Fd(pty.slave_fd()))
        .stdout(file.map_or_else(|| Output::Fd(pty.slave_fd()), Output::File))
        .stderr(Output::Fd(pty.slave_fd()))
        .controlling_terminal()
        .spawn();
    let peer = accept_within(&listener, TIMEOUT);
    peer.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    (pty, settings, tete, peer)
}

/// With stdout a file, chat mode never starts, even with stdin a terminal: the terminal keeps
/// its line discipline, and the file gets the peer's bytes exactly, escapes and all.
#[test]
fn a_pipeline_is_untouched() {
    let dir = TempDir::new("chat-pipeline");
    let file = dir.join("received");
    let (pty, settings, tete, mut peer) = without_chat(&[], Some(file.clone()));
    pty.type_bytes(b"typed line\n");
    let mut line = vec![0; b"typed line\n".len()];
    peer.read_exact(&mut line).expect("the peer reading");
    assert_eq!(line, b"typed line\n");
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings while running"
    );

    let sent = b"\x1b]0;title\x07\x1b[2Jraw bytes\r\n\xff\n";
    peer.write_all(sent).expect("the peer sending");
    peer.shutdown(std::net::Shutdown::Write)
        .expect("the peer's end");
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).expect("the peer reading");
    tete.wait().assert_success();
    assert_bytes_eq("the file", sent, &dir.read(&file));
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings afterwards"
    );
    let output = pty.output();
    assert!(
        !output.contains("\x1b[?2004h") && !output.contains("> "),
        "chat mode drew on the terminal: {output:?}"
    );
}

/// `--no-chat` at a terminal: the classic behaviour, the line discipline editing and the peer's
/// bytes written as they are.
#[test]
fn no_chat_gives_the_terminal_the_raw_bytes() {
    let (pty, settings, tete, mut peer) = without_chat(&["--no-chat"], None);
    peer.write_all(b"\x1b]0;title\x07hello\n")
        .expect("the peer sending");
    pty.wait_for_output("\x1b]0;title\x07hello");
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings while running"
    );
    pty.type_bytes(b"typed\n");
    let mut line = vec![0; b"typed\n".len()];
    peer.read_exact(&mut line).expect("the peer reading");
    assert_eq!(line, b"typed\n");
    pty.type_bytes(&[CTRL_D]);
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).expect("the peer reading");
    drop(peer);
    tete.wait().assert_success();
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings afterwards"
    );
}

/// With `-P` the prompt comes first, the terminal's own line editing without echo; chat mode
/// starts once it is answered, and the conversation goes through the secure channel. Ctrl-D
/// ends it cleanly on both sides.
#[test]
fn the_password_prompt_comes_before_the_chat() {
    const PASSWORD: &str = "a room password";
    let pty = Pty::open();
    pty.set_size(ROWS, COLS);
    let settings = pty.termios();
    let mut listener = tete(["-P", "-l", "127.0.0.1", "0"])
        .stdin(Input::Fd(pty.slave_fd()))
        .stdout(Output::Fd(pty.slave_fd()))
        .stderr(Output::Fd(pty.slave_fd()))
        .controlling_terminal()
        .spawn();
    // Bound before it asks (port 0: the OS picks).
    let port = listener.wait_listening_socket().to_string();
    pty.wait_for_output("Password: ");
    let at_prompt = pty.termios();
    assert!(
        at_prompt.canonical() && !at_prompt.echo(),
        "the prompt: line editing, no echo; {:?}",
        at_prompt.local
    );
    pty.type_bytes(format!("{PASSWORD}\n").as_bytes());
    wait_until("raw mode after the prompt", TIMEOUT, || {
        !pty.termios().canonical()
    });

    let dir = TempDir::new("chat-password");
    let received = dir.join("received");
    let mut client = tete(["127.0.0.1", &port])
        .password(PASSWORD)
        .stdin(Input::Pipe)
        .stdout(Output::File(received.clone()))
        .spawn();
    let mut client_stdin = client.take_stdin();
    // Lines go once the partner is in, which the chat says.
    let screen = pty.wait_for_screen(&[], "the partner in the private room", |screen| {
        input_row(screen).as_deref() == Some(">")
            && conversation(screen)
                .iter()
                .any(|row| row.contains("is here; the room is private"))
    });
    assert_eq!(talk(&screen), ["Password:"]);
    pty.type_bytes(b"hello\r");
    wait_until("the line at the client", TIMEOUT, || {
        std::fs::read(&received).is_ok_and(|bytes| bytes == b"hello\n")
    });
    client_stdin
        .write_all(b"hi back\n")
        .expect("the client's stdin");
    pty.wait_for_screen(&[], "the answer", |screen| {
        conversation(screen).contains(&"| hi back".to_string())
    });

    pty.type_bytes(&[CTRL_D]);
    drop(client_stdin);
    listener.wait().assert_success();
    client.wait().assert_success();
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings afterwards"
    );
    let output = pty.output();
    assert!(!output.contains(PASSWORD), "the password shows: {output:?}");
}

/// tete's own messages (`-v`) go above the input line, each on a row of its own from the first
/// column, and the line being typed stays whole below them: typed before a peer came, it is sent
/// once one does.
#[test]
fn verbose_messages_do_not_break_the_input_line() {
    let pty = Pty::open();
    pty.set_size(ROWS, COLS);
    let settings = pty.termios();
    let listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .stdin(Input::Fd(pty.slave_fd()))
        .stdout(Output::Fd(pty.slave_fd()))
        .stderr(Output::Fd(pty.slave_fd()))
        .controlling_terminal()
        .spawn();
    let line = pty.wait_for_output("listening on ");
    let addr = parse_listening(&line).unwrap_or_else(|| panic!("not an address: {line:?}"));
    wait_until("raw mode", TIMEOUT, || !pty.termios().canonical());
    pty.type_bytes(b"typed while waiting");
    pty.wait_for_screen(&[], "the half-typed line", |screen| {
        input_row(screen).as_deref() == Some("> typed while waiting")
    });

    let mut peer = connect(addr);
    // The message first, then the input line drawn again below it: the screen is judged once
    // both are drawn (between the two, the cursor is on an empty row).
    pty.wait_for_screen(&[], "the connection's message", |screen| {
        input_row(screen).as_deref() == Some("> typed while waiting")
            && conversation(screen)
                .iter()
                .any(|row| row.starts_with("tete: connection from 127.0.0.1:"))
    });
    pty.type_bytes(b"\r");
    let mut line = vec![0; b"typed while waiting\n".len()];
    peer.read_exact(&mut line).expect("the peer reading");
    assert_eq!(line, b"typed while waiting\n");

    drop(peer);
    listener.wait().assert_success();
    assert_eq!(
        pty.termios(),
        settings,
        "the terminal's settings afterwards"
    );
    let screen = pty.wait_for_screen(&[], "the end's message", |screen| {
        rows(screen).contains(&"tete: peer closed".to_string())
    });
    let rows = rows(&screen);
    let at = |text: &str| rows.iter().position(|row| row.starts_with(text));
    assert!(
        at("tete: listening on") < at("tete: connection from")
            && at("tete: connection from") < at("> typed while waiting")
            && at("> typed while waiting") < at("tete: peer closed"),
        "in the order they happened, each from the first column: {rows:?}"
    );
}

/// Ctrl-Z in a chat, under a job-control shell: while tete is stopped the terminal is as it
/// was (the shell's own lines show as usual); after `fg` raw mode is back and the input line,
/// with what was typed, is drawn again.
#[test]
fn ctrl_z_then_fg_brings_the_chat_back() {
    let pty = Pty::open();
    pty.set_size(ROWS, COLS);
    let original = pty.termios();
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the peer");
    let port = listener.local_addr().expect("the peer's address").port();
    let port = port.to_string();
    let _job = JobShell::start(&pty, &["127.0.0.1", &port]);
    let mut peer = accept_within(&listener, TIMEOUT);
    peer.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    wait_until("raw mode", TIMEOUT, || !pty.termios().canonical());
    pty.type_bytes(b"half typed");
    pty.wait_for_screen(&[], "the half-typed line", |screen| {
        input_row(screen).as_deref() == Some("> half typed")
    });

    pty.type_bytes(&[0x1a]);
    pty.wait_for_output("Stopped");
    assert_eq!(
        pty.termios(),
        original,
        "the terminal's settings while tete is stopped"
    );

    let before_fg = pty.output().len();
    pty.type_bytes(b"\n");
    wait_until("raw mode after fg", TIMEOUT, || !pty.termios().canonical());
    wait_until("the chat drawn again", TIMEOUT, || {
        pty.output()[before_fg..].contains("half typed")
    });
    let screen = pty.wait_for_screen(&[], "the input line again", |screen| {
        input_row(screen).as_deref() == Some("> half typed")
    });
    assert_eq!(
        screen.cursor_position().1,
        12,
        "the cursor at the end of the line"
    );
    pty.type_bytes(b"\r");
    let mut line = vec![0; b"half typed\n".len()];
    peer.read_exact(&mut line).expect("the peer reading");
    assert_eq!(line, b"half typed\n");
}
