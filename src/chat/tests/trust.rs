//! What makes the chat trustworthy: the peer cannot pass its text off as yours or as tete's,
//! nor garble the screen with characters never seen; nothing is shown as sent that was not;
//! tete's own lines and the presence row; long pastes.

use super::*;

const LISTED: [char; 14] = [
    '\u{202e}',
    '\u{202d}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200b}',
    '\u{200d}',
    '\u{200f}',
    '\u{2060}',
    '\u{feff}',
    '\u{ad}',
    '\u{e0041}',
    '\u{2028}',
];

fn status(term: &mut Term, text: &str) {
    term.screen(|chat, screen| chat.status(text, screen));
}

fn presence(term: &mut Term, text: Option<&str>) -> Vec<u8> {
    let mut screen = Vec::new();
    term.chat.set_presence(text, &mut screen);
    term.terminal.process(&screen);
    screen
}

fn channel(term: &mut Term, open: bool) {
    term.screen(|chat, screen| chat.set_channel(open, screen));
}

#[test]
fn the_peer_cannot_pass_for_you_or_for_tete() {
    let mut term = Term::new(40, false);
    term.peer(b"> I agree\ntete: the peer left\n");
    term.keys(b"I agree\r");
    status(&mut term, "the peer left");
    assert_eq!(
        term.rows(),
        [
            "| > I agree",
            "| tete: the peer left",
            "> I agree",
            "tete: the peer left",
            ">"
        ]
    );
    // Padded to wrap, or with characters of any width, the peer's text still never starts a
    // row: every row it fills carries the bar.
    let mut term = Term::new(40, false);
    let padded = [
        "x".repeat(38).as_bytes(),
        b"> yes\n",
        "中".repeat(19).as_bytes(),
        b"x> yes\n\t\t\t\t\t> yes\n",
        "\u{2764}\u{fe0f}".repeat(19).as_bytes(),
        b"> yes\n",
    ]
    .concat();
    term.peer(&padded);
    let rows = term.rows();
    assert_eq!(rows.len(), 9, "{rows:?}");
    for row in &rows[..8] {
        assert!(row.starts_with("| "), "{rows:?}");
    }
    assert_eq!(rows[1], "| > yes");
}

/// The screen bytes of a session that shows every listed character every way it can come.
fn screen_with_the_listed_characters(color: bool) -> (String, Vec<u8>) {
    let listed: String = LISTED.iter().collect();
    let mut chat = Chat::new(30, 24, color);
    let mut screen = Vec::new();
    let mut to_peer = Vec::new();
    chat.show(&mut screen);
    chat.peer_bytes(
        format!("a{listed}b\n{listed}").as_bytes(),
        Instant::now(),
        &mut screen,
    );
    chat.keys(
        format!("typed{listed}").as_bytes(),
        &mut to_peer,
        &mut screen,
    );
    chat.keys(b"\r", &mut to_peer, &mut screen);
    let pasted = format!("\x1b[200~{listed}\r\n{listed}\x1b[201~");
    chat.keys(pasted.as_bytes(), &mut to_peer, &mut screen);
    chat.keys_paused(Instant::now());
    chat.set_presence(Some(&listed), &mut screen);
    chat.status(&listed, &mut screen);
    chat.finish(&mut screen);
    (String::from_utf8(screen).expect("UTF-8"), to_peer)
}

#[test]
fn no_format_character_reaches_the_terminal_raw() {
    for color in [false, true] {
        let (screen, to_peer) = screen_with_the_listed_characters(color);
        for c in LISTED {
            assert!(!screen.contains(c), "U+{:04X} on the screen", u32::from(c));
        }
        for escape in ["\\u{202e}", "\\u{e0041}", "\\u{ad}", "\\u{2028}"] {
            assert!(screen.contains(escape), "{escape} not shown");
        }
        // What is typed is sent as typed.
        let listed: String = LISTED.iter().collect();
        assert_eq!(
            String::from_utf8(to_peer).expect("UTF-8"),
            format!("typed{listed}\n{listed}\n")
        );
    }
}

#[test]
fn a_pasted_joiner_cannot_garble_the_input_line() {
    let mut term = Term::new(40, false);
    term.keys("a\u{200d}b\u{202e}cd".as_bytes());
    assert_eq!(term.rows(), ["> a\\u{200d}b\\u{202e}cd"]);
    assert_eq!(term.cursor(), (0, 22));
    // Left passes over `d`, then over `c`, then over the override as one character.
    term.keys(b"\x1b[D\x1b[D\x1b[D");
    assert_eq!(term.cursor(), (0, 12));
    term.keys(b"\x7f\r");
    assert_eq!(term.sent(), "a\u{200d}\u{202e}cd\n");
    assert_eq!(term.rows()[0], "> a\\u{200d}\\u{202e}cd");
}

/// Ctrl-D with nobody there ends nothing (the next partner would find the chat over at once)
/// and says so; once a channel is open it ends your side.
#[test]
fn ctrl_d_without_a_channel_ends_nothing() {
    let mut term = Term::new(60, false);
    channel(&mut term, false);
    assert_eq!(term.keys(b"\x04"), Action::Continue);
    assert_eq!(
        term.rows(),
        [
            "tete: nothing ended: nobody is here yet (Ctrl-C leaves)",
            ">"
        ]
    );
    channel(&mut term, true);
    assert_eq!(term.keys(b"\x04"), Action::EndInput);
}

#[test]
fn lines_typed_without_a_channel_are_written_back_not_sent() {
    let mut term = Term::new(60, false);
    channel(&mut term, false);
    term.keys(b"hi\r");
    term.keys(b"\x1b[200~one\r\ntwo\r\n\x1b[201~");
    term.keys(b"\r");
    assert_eq!(term.sent(), "");
    assert_eq!(
        term.rows(),
        [
            "tete: not sent (nobody to send it to): hi",
            "tete: not sent (nobody to send it to): one",
            "tete: not sent (nobody to send it to): two",
            "tete: not sent (nobody to send it to)",
            ">"
        ]
    );
    // Up brings a line back; once a channel is open, it goes.
    channel(&mut term, true);
    term.keys(b"\x1b[A\x1b[A\x1b[A\r");
    assert_eq!(term.sent(), "hi\n");
    assert_eq!(term.rows()[4..], ["> hi", ">"]);
}

#[test]
fn when_the_channel_closes_the_partners_last_words_stay() {
    let mut term = Term::new(40, false);
    term.keys(b"half typed");
    term.peer(b"bye \xe4");
    assert_eq!(term.rows(), ["| bye", "> half typed"]);
    channel(&mut term, false);
    assert_eq!(term.rows(), ["| bye \\xe4", "> half typed"]);
    // The next partner starts afresh: no byte of the last one is joined to its text.
    channel(&mut term, true);
    term.peer(b"\xb8\xadhello\n");
    assert_eq!(
        term.rows(),
        ["| bye \\xe4", "| \\xb8\\xadhello", "> half typed"]
    );
    assert_eq!(term.sent(), "");
}

#[test]
fn the_presence_row_sits_above_the_input_line_and_changes_only_when_told() {
    let mut term = Term::new(30, false);
    term.keys(b"draft");
    assert!(!presence(&mut term, Some("waiting for a partner")).is_empty());
    assert_eq!(term.rows(), ["-- waiting for a partner", "> draft"]);
    assert_eq!(term.cursor(), (1, 7));
    assert!(presence(&mut term, Some("waiting for a partner")).is_empty());
    term.peer(b"login: ");
    assert_eq!(
        term.rows(),
        ["| login:", "-- waiting for a partner", "> draft"]
    );
    // A status line goes above all of the live area; a long presence is cut to the width.
    status(&mut term, "hello");
    assert!(!presence(&mut term, Some(&"long ".repeat(20))).is_empty());
    assert_eq!(
        term.rows(),
        [
            "tete: hello",
            "| login:",
            "-- long long long long long l",
            "> draft"
        ]
    );
    presence(&mut term, None);
    assert_eq!(term.rows(), ["tete: hello", "| login:", "> draft"]);
    assert!(presence(&mut term, None).is_empty());
}

#[test]
fn calls_that_change_nothing_write_nothing() {
    let mut chat = Chat::new(40, 24, true);
    let mut screen = Vec::new();
    chat.show(&mut screen);
    chat.set_presence(Some("waiting"), &mut screen);
    screen.clear();
    chat.set_presence(Some("waiting"), &mut screen);
    chat.set_channel(true, &mut screen);
    chat.peer_bytes(b"", Instant::now(), &mut screen);
    chat.keys_paused(Instant::now());
    assert_eq!(screen, b"");
}

#[test]
fn status_lines_start_in_the_first_column_and_wrap_indented() {
    let mut term = Term::new(20, true);
    term.keys(b"draft");
    let mut screen = Vec::new();
    term.chat.status("connected to 127.0.0.1:4000", &mut screen);
    term.terminal.process(&screen);
    let text = String::from_utf8(screen).expect("UTF-8");
    assert!(text.starts_with("\x1b[?7l\r\x1b[J"), "{text:?}");
    assert!(text.contains("\r\n"), "{text:?}");
    assert_eq!(
        term.rows(),
        ["tete: connected to", "      127.0.0.1:4000", "> draft"]
    );
    let cell = term.terminal.screen().cell(0, 0).expect("a cell").clone();
    assert!(cell.bold());
}

#[test]
fn a_line_over_the_limit_is_refused_whole() {
    let limit = editor::MAX_LINE;
    // Bracketed, without a line end, in many reads with no pause between them.
    let mut term = Term::new(80, false);
    let paste = format!("\x1b[200~{}\x1b[201~", "y".repeat(100_000));
    let chunks: Vec<&[u8]> = paste.as_bytes().chunks(4096).collect();
    for chunk in &chunks {
        assert_eq!(term.keys_in_burst(chunk), Action::Continue);
    }
    term.quiet();
    assert_eq!(term.sent(), "");
    assert_eq!(
        term.rows(),
        ["tete: not sent: the line is longer than 64 KiB", ">"]
    );
    term.keys(b"ok\r");
    assert_eq!(term.sent(), "ok\n");
    // Typed (no bracketed paste): the rest of the line is dropped up to its end.
    let mut term = Term::new(80, false);
    term.keys(format!("{}\rnext\r", "z".repeat(limit + 10)).as_bytes());
    assert_eq!(term.sent(), "next\n");
    // A line of exactly the limit goes whole.
    let mut term = Term::new(80, false);
    term.keys(format!("{}\r", "w".repeat(limit)).as_bytes());
    assert_eq!(term.sent().len(), limit + 1);
}

#[test]
fn a_paste_holding_its_end_marker_and_ctrl_c_does_not_leave() {
    let mut term = Term::new(40, false);
    let action = term.keys_in_burst(b"\x1b[200~text\x1b[201~\x03more\x1b[201~");
    assert_eq!(action, Action::Continue);
    term.quiet();
    assert_eq!(term.rows(), ["> textmore"]);
    assert_eq!(term.keys(b"\x03"), Action::Leave);
}

/// Where the reads of a paste end is the kernel's choice (a pseudo-terminal hands input over
/// in pieces of 256 bytes): an end marker at the end of a read, the terminal found empty
/// after it, is not yet the paste's end. Only quiet for [`PASTE_QUIET`] after it is.
#[test]
fn a_paste_ends_after_quiet_not_at_a_read_boundary() {
    let mut term = Term::new(40, false);
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    assert_eq!(
        term.keys_in_burst(b"\x1b[200~text\x1b[201~"),
        Action::Continue
    );
    term.chat.keys_paused(at(0));
    assert_eq!(term.chat.next_deadline(), Some(at(0) + PASTE_QUIET));
    term.chat.keys_paused(at(249));
    // The next piece of the paste, a little later: its Ctrl-C is text, dropped.
    assert_eq!(term.keys_in_burst(b"\x03more\x1b[201~"), Action::Continue);
    assert_eq!(term.chat.next_deadline(), None);
    term.chat.keys_paused(at(300));
    term.chat.keys_paused(at(549));
    // Keys pressed before the quiet is long enough count as pasted too...
    assert_eq!(term.keys_in_burst(b"\x04!\x1b[D"), Action::Continue);
    assert_eq!(term.rows(), ["> textmore!"]);
    // ... until the terminal has been quiet for long enough; then keys are keys again.
    term.chat.keys_paused(at(600));
    term.chat.keys_paused(at(850));
    assert_eq!(term.chat.next_deadline(), None);
    term.keys(b"\x1b[D");
    assert_eq!(term.keys(b"\x03"), Action::Leave);
}

/// A paste holding a copy of its end marker and then Ctrl-C, the terminal stalled right after
/// the copy for longer than [`PASTE_QUIET`]: the paste has ended early, but the Ctrl-C comes
/// with other bytes in its read, as no key pressed by hand does, and is dropped; so are Ctrl-D
/// and Ctrl-Z. Alone in a read, each acts.
#[test]
fn ctrl_c_d_z_in_a_burst_after_a_paste_are_dropped() {
    let mut term = Term::new(40, false);
    let start = Instant::now();
    term.keys_in_burst(b"\x1b[200~text\r\x1b[201~");
    term.chat.keys_paused(start);
    term.chat.keys_paused(start + PASTE_QUIET);
    assert!(!term.chat.keys.awaits_end(), "the paste ended early");
    for burst in [
        &b"\x04\x04"[..],
        b"\x03more\x1b[201~",
        b"x\x1a",
        b"\x1a\x03\x04",
    ] {
        assert_eq!(term.keys_in_burst(burst), Action::Continue, "{burst:?}");
    }
    assert_eq!(term.sent(), "text\n");
    assert_eq!(term.rows(), ["> text", "> morex"]);
    assert_eq!(term.keys(b"\x03"), Action::Leave);
}

/// A peer row as wide as the window, its second half made to look like tete's line or yours:
/// once the window narrows and its size settles, the screen is drawn whole again, every row
/// after its own mark, under a line that says the rows above it may have been re-wrapped.
#[test]
fn a_narrowed_window_is_drawn_again_with_every_mark_in_place() {
    let forged = format!(
        "{:<38}tete: 127.0.0.1:47003 left: it closed\n{:<38}> here is my password: hunter2\n",
        "see you tomorrow", "bye"
    );
    let mut term = Term::new(80, false);
    status(&mut term, "127.0.0.1:47003 is here");
    term.peer(forged.as_bytes());
    term.keys(b"draft");
    term.resize(40);
    assert_eq!(
        term.chat.next_deadline().map(|due| due > Instant::now()),
        Some(true)
    );
    term.screen(|chat, screen| chat.redraw_due(Instant::now() + reflow::RESIZE_QUIET, screen));
    let rows = term.rows();
    assert!(
        rows[0].starts_with("tete: rows above this line may"),
        "{rows:?}"
    );
    let here = rows
        .iter()
        .position(|row| row.contains("is here"))
        .expect("tete's line");
    assert!(
        rows[1..here].iter().all(|row| row.starts_with("      ")),
        "{rows:?}"
    );
    assert_eq!(
        rows[here..],
        [
            "tete: 127.0.0.1:47003 is here",
            "| see you tomorrow",
            "| tete: 127.0.0.1:47003 left: it closed",
            "| bye",
            "| > here is my password: hunter2",
            "> draft"
        ]
    );
    assert_eq!(term.chat.next_deadline(), None);
    // Widened again, nothing can be re-wrapped: nothing more to draw.
    term.resize(80);
    assert_eq!(term.chat.next_deadline(), None);
}
