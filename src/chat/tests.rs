//! What a person sees: the chat's screen bytes fed to a terminal emulator (`vt100`), and the
//! rows and cursor it then shows checked.

use super::*;

/// What the emulated terminal was asked to do besides drawing.
#[derive(Default)]
struct Events {
    titles: usize,
    bells: usize,
}

impl vt100::Callbacks for Events {
    fn set_window_title(&mut self, _: &mut vt100::Screen, _: &[u8]) {
        self.titles += 1;
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, _: &[u8]) {
        self.titles += 1;
    }
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
}

/// A chat on an emulated terminal, and what it sent the peer.
struct Term {
    chat: Chat,
    terminal: vt100::Parser<Events>,
    to_peer: Vec<u8>,
    /// The time the chat is told.
    now: Instant,
}

const ROWS: u16 = 24;

impl Term {
    fn new(width: u16, color: bool) -> Term {
        Term::after(width, color, b"")
    }

    /// A chat started below what `before` put on the terminal.
    fn after(width: u16, color: bool, before: &[u8]) -> Term {
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let mut terminal =
            vt100::Parser::new_with_callbacks(size(ROWS), size(width), 0, Events::default());
        terminal.process(before);
        let mut term = Term {
            chat: Chat::new(width, ROWS, color),
            terminal,
            to_peer: Vec::new(),
            now: Instant::now(),
        };
        term.screen(|chat, screen| chat.show(screen));
        term
    }

    fn screen(&mut self, update: impl FnOnce(&mut Chat, &mut Vec<u8>)) {
        let mut screen = Vec::new();
        update(&mut self.chat, &mut screen);
        self.terminal.process(&screen);
    }

    /// One read of the terminal, and then nothing more to read for a while.
    fn keys(&mut self, input: &[u8]) -> Action {
        let action = self.keys_in_burst(input);
        self.quiet();
        action
    }

    /// The terminal stays quiet for [`PASTE_QUIET`].
    fn quiet(&mut self) {
        let now = Instant::now();
        self.chat.keys_paused(now);
        self.chat.keys_paused(now + PASTE_QUIET);
    }

    /// One read of the terminal, with more to read after it.
    fn keys_in_burst(&mut self, input: &[u8]) -> Action {
        let mut screen = Vec::new();
        let action = self.chat.keys(input, &mut self.to_peer, &mut screen);
        self.terminal.process(&screen);
        action
    }

    /// The peer's bytes, a frame after the last ones: shown at once.
    fn peer(&mut self, bytes: &[u8]) {
        self.peer_after(bytes, PEER_ROW_FRAME);
    }

    /// The peer's bytes, `pause` after the last event, as the event loop hands them over:
    /// what fell due meanwhile drawn, then the bytes taken, then what is due drawn. Returns
    /// the screen bytes written.
    fn peer_after(&mut self, bytes: &[u8], pause: Duration) -> usize {
        let written = self.wait(pause);
        let now = self.now;
        let mut screen = Vec::new();
        self.chat.peer_bytes(bytes, now, &mut screen);
        self.chat.redraw_due(now, &mut screen);
        self.terminal.process(&screen);
        written + screen.len()
    }

    /// Nothing happens for `pause` but the chat's deadlines; returns the screen bytes written.
    fn wait(&mut self, pause: Duration) -> usize {
        let end = self.now + pause;
        let mut screen = Vec::new();
        if let Some(due) = self.chat.next_deadline().filter(|&due| due <= end) {
            self.chat.redraw_due(due, &mut screen);
        }
        self.now = end;
        self.chat.redraw_due(end, &mut screen);
        self.terminal.process(&screen);
        screen.len()
    }

    fn resize(&mut self, width: u16) {
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        self.terminal.set_size(size(ROWS), size(width));
        self.screen(|chat, screen| chat.resize(width, ROWS, Instant::now(), screen));
    }

    /// The rows shown, without trailing blanks, down to the cursor's row or the last with text.
    fn rows(&self) -> Vec<String> {
        let screen = self.terminal.screen();
        let (_, width) = screen.size();
        let mut rows: Vec<String> = screen
            .rows(0, width.get())
            .map(|row| row.trim_end().to_owned())
            .collect();
        let cursor_row = usize::from(screen.cursor_position().0);
        while rows.len() > cursor_row + 1 && rows.last().is_some_and(String::is_empty) {
            rows.pop();
        }
        rows
    }

    fn cursor(&self) -> (u16, u16) {
        self.terminal.screen().cursor_position()
    }

    fn sent(&self) -> &str {
        std::str::from_utf8(&self.to_peer).unwrap()
    }
}

#[test]
fn a_line_arriving_while_typing_goes_above_it() {
    let mut term = Term::new(40, false);
    assert_eq!(term.rows(), [">"]);
    term.keys(b"half a li");
    term.peer(b"incoming message\n");
    assert_eq!(term.rows(), ["| incoming message", "> half a li"]);
    assert_eq!(term.cursor(), (1, 11));
    assert_eq!(term.sent(), "");
    term.keys(b"ne\r");
    assert_eq!(term.sent(), "half a line\n");
    assert_eq!(term.rows(), ["| incoming message", "> half a line", ">"]);
    assert_eq!(term.cursor(), (2, 2));
}

#[test]
fn the_peer_cannot_drive_the_terminal() {
    let mut term = Term::after(40, false, b"earlier output\r\n");
    term.peer(b"\x1b]0;title\x07\x1b[2J\x1b[Hx\r\x08y\xff\xc2\x9b1m\n");
    assert_eq!(
        term.rows(),
        [
            "earlier output",
            "| ^[]0;title^G^[[2J^[[Hx^M^Hy\\xff\\u{9b}1",
            "| m",
            ">"
        ]
    );
    assert_eq!(term.terminal.callbacks().titles, 0);
    assert_eq!(term.terminal.callbacks().bells, 0);
}

#[test]
fn with_color_escapes_are_in_reverse_video_and_sent_lines_dim() {
    let mut term = Term::new(40, true);
    term.peer(b"a\x07b\n");
    term.keys(b"hi\r");
    assert_eq!(term.rows(), ["| a^Gb", "> hi", ">"]);
    let screen = term.terminal.screen();
    let inverse: Vec<bool> = (0..6)
        .map(|col| screen.cell(0, col).unwrap().inverse())
        .collect();
    assert_eq!(inverse, [false, false, false, true, true, false]);
    assert_eq!(screen.cell(0, 0).unwrap().fgcolor(), vt100::Color::Idx(6));
    assert_eq!(screen.cell(0, 2).unwrap().fgcolor(), vt100::Color::Default);
    assert!(screen.cell(1, 0).unwrap().dim() && screen.cell(1, 2).unwrap().dim());
    assert!(!screen.cell(2, 0).unwrap().dim());
}

#[test]
fn without_color_no_attribute_is_set() {
    let mut term = Term::new(40, false);
    let mut screen = Vec::new();
    term.chat
        .peer_bytes(b"a\x07b\npartial", Instant::now(), &mut screen);
    term.chat.keys(b"hi\r", &mut term.to_peer, &mut screen);
    // No SGR sequence: every CSI sequence ends in something other than `m`.
    let text = String::from_utf8(screen).unwrap();
    for sequence in text.split("\x1b[").skip(1) {
        let last =
            sequence.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';' || c == '?');
        assert!(!last.starts_with('m'), "{sequence:?}");
    }
}

#[test]
fn wide_characters_are_edited_whole() {
    let mut term = Term::new(40, false);
    term.keys("中文字".as_bytes());
    assert_eq!(term.cursor(), (0, 8));
    // Backspace, then 👍, then two Lefts and Delete (which takes 文).
    term.keys("\x7f👍\x1b[D\x1b[D\x1b[3~".as_bytes());
    assert_eq!(term.rows(), ["> 中👍"]);
    assert_eq!(term.cursor(), (0, 4));
    term.keys("é\r".as_bytes());
    assert_eq!(term.sent(), "中é👍\n");
    assert_eq!(term.rows(), ["> 中é👍", ">"]);
}

#[test]
fn a_partial_line_from_the_peer_shows_at_once() {
    let mut term = Term::new(40, false);
    term.peer(b"login: ");
    assert_eq!(term.rows(), ["| login:", ">"]);
    term.keys(b"alice\r");
    assert_eq!(term.sent(), "alice\n");
    assert_eq!(term.rows(), ["| login:", "> alice", ">"]);
    // The peer ends the line we interrupted: no empty row for it.
    term.peer(b"\r\nPass");
    term.peer(b"word: ");
    assert_eq!(term.rows(), ["| login:", "> alice", "| Password:", ">"]);
    assert_eq!(term.cursor(), (3, 2));
    // A character split across two reads.
    term.peer(b"\xe4\xb8");
    term.peer(b"\xad\n");
    assert_eq!(term.rows(), ["| login:", "> alice", "| Password: 中", ">"]);
}

/// Two hundred lines pasted, in reads of `chunk` bytes.
fn paste(bytes: &[u8], chunk: usize) -> Term {
    let mut term = Term::new(40, false);
    for piece in bytes.chunks(chunk) {
        assert_eq!(term.keys(piece), Action::Continue);
    }
    term
}

#[test]
fn a_paste_of_many_lines_sends_them_all_in_order() {
    let lines: Vec<String> = (0..200).map(|n| format!("line {n}")).collect();
    let expected = lines.join("\n") + "\n";
    let typed = lines.join("\r") + "\r";
    let bracketed = format!("\x1b[200~{}\x1b[201~", lines.join("\r\n") + "\r\n");
    for input in [typed, bracketed] {
        for chunk in [input.len(), 7] {
            let term = paste(input.as_bytes(), chunk);
            assert_eq!(term.sent(), expected);
            let rows = term.rows();
            assert_eq!(rows.len(), usize::from(ROWS));
            assert_eq!(rows[..2], ["> line 177", "> line 178"]);
            assert_eq!(rows[22..], ["> line 199", ">"]);
        }
    }
}

#[test]
fn a_long_input_line_scrolls_sideways() {
    let mut term = Term::new(20, false);
    let line = "abcdefghijklmnopqrstuvwxyz0123456789";
    term.keys(line.as_bytes());
    // 19 columns (the last stays free): the prompt, 16 characters and the cursor; the prompt
    // says that the start of the line is out of view.
    assert_eq!(term.rows(), ["< uvwxyz0123456789"]);
    assert_eq!(term.cursor(), (0, 18));
    term.keys(b"\x01");
    assert_eq!(term.rows(), ["> abcdefghijklmnopq"]);
    assert_eq!(term.cursor(), (0, 2));
    term.keys(b"\r");
    assert_eq!(term.sent(), format!("{line}\n"));
    // Sent, it takes as many rows as it needs, the rows after the first indented.
    assert_eq!(
        term.rows(),
        ["> abcdefghijklmnopqr", "  stuvwxyz0123456789", ">"]
    );
}

#[test]
fn a_long_peer_line_wraps() {
    let mut term = Term::new(20, false);
    let ys = |n| format!("| {}", "y".repeat(n));
    term.peer(&[b'y'; 50]);
    assert_eq!(term.rows(), [ys(18), ys(18), ys(14), ">".into()]);
    term.peer(b"\n");
    assert_eq!(term.rows(), [ys(18), ys(18), ys(14), ">".into()]);
    // A row that exactly fills the width ends without an empty row.
    term.peer(&[b'z'; 18]);
    term.peer(b"\n");
    assert_eq!(
        term.rows()[3..],
        [format!("| {}", "z".repeat(18)), ">".into()]
    );
    // Wide characters and tabs are counted as the terminal draws them, from the mark on.
    term.peer("中".repeat(10).as_bytes());
    term.peer(b"\n\t\tab\tcd\n");
    assert_eq!(
        term.rows()[4..],
        [
            format!("| {}", "中".repeat(9)),
            "| 中".into(),
            "|               ab c".into(),
            "| d".into(),
            ">".into()
        ]
    );
}

#[test]
fn resizing_lays_the_live_area_out_again() {
    let mut term = Term::new(40, false);
    let xs = |n| format!("| {}", "x".repeat(n));
    term.peer(&[b'x'; 30]);
    term.keys(b"abcdefghijklmnopqrstuvwxyz");
    assert_eq!(term.rows(), [xs(30), "> abcdefghijklmnopqrstuvwxyz".into()]);
    term.resize(20);
    assert_eq!(term.rows(), [xs(18), xs(12), "< klmnopqrstuvwxyz".into()]);
    assert_eq!(term.cursor(), (2, 18));
    term.resize(60);
    assert_eq!(
        term.rows(),
        [xs(18), xs(12), "> abcdefghijklmnopqrstuvwxyz".into()]
    );
    term.keys(b"\r");
    assert_eq!(term.sent(), "abcdefghijklmnopqrstuvwxyz\n");
}

#[test]
fn ctrl_d_sends_what_is_typed_then_ends_input() {
    let mut term = Term::new(40, false);
    term.keys(b"abc");
    assert_eq!(term.keys(b"\x04"), Action::Continue);
    assert_eq!(term.sent(), "abc");
    assert_eq!(term.keys(b"\x04"), Action::EndInput);
    assert_eq!(term.keys(b"more\r\x04"), Action::Continue);
    assert_eq!(term.sent(), "abc");
    assert_eq!(term.rows(), ["> abc", ""]);
    // The peer still shows, and Ctrl-C still leaves.
    term.peer(b"reply\n");
    assert_eq!(term.rows(), ["> abc", "| reply", ""]);
    assert_eq!(term.keys(b"\x03"), Action::Leave);
}

#[test]
fn ctrl_c_leaves_and_finish_leaves_the_terminal_tidy() {
    let mut term = Term::new(40, true);
    term.peer(b"bye \xe4");
    assert!(term.terminal.screen().bracketed_paste());
    term.keys(b"unsent");
    assert_eq!(term.keys(b"\x03"), Action::Leave);
    assert_eq!(term.sent(), "");
    term.screen(|chat, screen| chat.finish(screen));
    // The peer's last words (and the byte held back) stay; the input line goes, and what was
    // typed on it is written out as not sent.
    assert_eq!(term.rows(), ["| bye \\xe4", "tete: not sent: unsent", ""]);
    assert_eq!(term.cursor(), (2, 0));
    let screen = term.terminal.screen();
    assert!(!screen.bracketed_paste());
    assert!(!screen.dim() && !screen.inverse());
}

#[test]
fn ctrl_z_suspends_and_show_comes_back() {
    let mut term = Term::new(40, false);
    term.peer(b"prompt: ");
    term.keys(b"draft");
    assert_eq!(term.keys(b"\x1a"), Action::Suspend);
    assert_eq!(term.rows(), [""]);
    assert!(!term.terminal.screen().bracketed_paste());
    // The shell writes while tete is stopped.
    term.terminal.process(b"[1]+  Stopped\r\n$ fg\r\n");
    term.screen(|chat, screen| chat.show(screen));
    assert_eq!(
        term.rows(),
        ["[1]+  Stopped", "$ fg", "| prompt:", "> draft"]
    );
    assert!(term.terminal.screen().bracketed_paste());
    // Shown twice, it stays once.
    term.screen(|chat, screen| chat.show(screen));
    assert_eq!(
        term.rows(),
        ["[1]+  Stopped", "$ fg", "| prompt:", "> draft"]
    );
    term.keys(b"\r");
    assert_eq!(term.sent(), "draft\n");
}

#[test]
fn ctrl_l_clears_the_screen_and_keeps_the_line() {
    let mut term = Term::after(40, false, b"junk\r\n");
    term.peer(b"one\ntwo");
    term.keys(b"typing\x0c");
    assert_eq!(term.rows(), ["| two", "> typing"]);
}

#[test]
fn up_and_down_bring_back_sent_lines() {
    let mut term = Term::new(40, false);
    term.keys(b"first\rsecond\r");
    term.keys(b"\x1b[A\x1b[A\x1b[B!\r");
    assert_eq!(term.sent(), "first\nsecond\nsecond!\n");
}

#[test]
fn memory_and_screen_output_stay_bounded() {
    let mut term = Term::new(80, true);
    // Zero-width characters never ending a line, then invalid bytes: the row stays bounded.
    let zero_width = "\u{301}".repeat(10_000);
    let mut screen = Vec::new();
    term.chat
        .peer_bytes(zero_width.as_bytes(), Instant::now(), &mut screen);
    assert!(term.chat.peer_row.take().len() <= 80 + 256);
    let bound = |input: usize| 32 * input + 32 * (2 * 80 + 256) + 64 * 1024;
    assert!(screen.len() <= bound(zero_width.len()));
    for input in [&[0xff; 1000][..], &[0x1b; 1000], b"\n"] {
        let mut screen = Vec::new();
        term.chat.peer_bytes(input, Instant::now(), &mut screen);
        assert!(screen.len() <= bound(input.len()), "{} bytes", screen.len());
    }
}

/// A peer trickling its text a byte at a time into an unfinished row, below a presence row,
/// at a wide terminal: each byte costs a few cursor moves, not the whole live area again, and
/// the screen ends as if the text had come at once.
#[test]
fn a_trickled_row_is_added_to_not_drawn_again() {
    let text = format!("{} and then a byte at a time", "x".repeat(150));
    let (prefix, trickled) = text.as_bytes().split_at(150);
    let mut at_once = Term::new(200, true);
    let mut trickle = Term::new(200, true);
    for term in [&mut at_once, &mut trickle] {
        term.screen(|chat, screen| chat.set_presence(Some("waiting"), screen));
        term.keys(b"typing");
        term.peer(prefix);
    }
    at_once.peer(trickled);
    let mut written = 0;
    for &byte in trickled {
        written += trickle.peer_after(&[byte], PEER_ROW_FRAME);
    }
    let per_byte = written / trickled.len();
    assert!(per_byte <= 32, "{per_byte} bytes written per byte trickled");
    assert_eq!(trickle.rows(), at_once.rows());
    assert_eq!(trickle.cursor(), at_once.cursor());
    assert_eq!(trickle.rows()[2], "> typing");
}

/// The sequences the chat itself writes; with colour, the attribute changes too.
fn our_sequence(after_escape: &str, color: bool) -> Option<usize> {
    let fixed = [
        "[J", "[K", "[A", "[H", "[2J", "[0m", "[?2004h", "[?2004l", "[?7l", "[?7h",
    ];
    let styles = ["[2m", "[22m", "[7m", "[27m", "[1m", "[36m", "[39m"];
    if let Some(found) = fixed.iter().find(|s| after_escape.starts_with(**s)) {
        return Some(found.len());
    }
    if color && let Some(found) = styles.iter().find(|s| after_escape.starts_with(**s)) {
        return Some(found.len());
    }
    // Moving the cursor: `[` digits (or none, for one) and `A`, `B` or `C`.
    let digits = after_escape[1..].len()
        - after_escape[1..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let moves = after_escape[1 + digits..].starts_with(['A', 'B', 'C']);
    (after_escape.starts_with('[') && moves).then_some(2 + digits)
}

#[test]
fn whatever_the_peer_sends_the_screen_gets_only_text_and_our_sequences() {
    let mut every_byte: Vec<u8> = (0..=255).collect();
    every_byte.extend("\u{9b}\u{85}\u{9d}".as_bytes());
    every_byte.extend(b"\x1b[2J\x1b]0;x\x07\x1bP\x1b\\\n");
    every_byte.extend("\u{202e}\u{2067}\u{200d}\u{feff}\u{e0041}\u{2028}a\u{fe0f}".as_bytes());
    every_byte.extend(b"\xe4\xb8");
    for color in [false, true] {
        for chunk in [1, 3, every_byte.len()] {
            let mut chat = Chat::new(30, 24, color);
            let mut screen = Vec::new();
            chat.show(&mut screen);
            chat.keys(b"typed", &mut Vec::new(), &mut screen);
            for piece in every_byte.chunks(chunk) {
                chat.peer_bytes(piece, Instant::now(), &mut screen);
            }
            chat.finish(&mut screen);
            // Invalid UTF-8 only ever reaches the screen escaped, and so do the characters
            // that change the layout unseen.
            let text = String::from_utf8(screen).expect("screen bytes are UTF-8");
            let mut after_emoji = false;
            for c in text.chars().filter(|c| !c.is_control()) {
                assert!(
                    visible::is_shown(c, after_emoji),
                    "U+{:04X} raw",
                    u32::from(c)
                );
                after_emoji = visible::takes_selector(c);
            }
            let mut rest = text.as_str();
            while let Some(at) = rest.find(|c: char| c.is_control() && !"\r\n\t".contains(c)) {
                assert!(
                    rest[at..].starts_with('\x1b'),
                    "raw control in {:?}",
                    &rest[at..]
                );
                let after = &rest[at + 1..];
                let len = our_sequence(after, color).unwrap_or_else(|| {
                    panic!("foreign sequence {:?}", &after[..after.len().min(12)])
                });
                rest = &after[len..];
            }
        }
    }
}

#[test]
fn how_the_peer_bytes_are_split_does_not_change_what_is_shown() {
    let sample = [
        "one\r\ntwo 中文\tx\x1b[31m\u{200b}\r\nthree".as_bytes(),
        b"\xff",
        "é".as_bytes(),
    ]
    .concat();
    let shown = |chunk: usize| {
        let mut term = Term::new(12, false);
        term.keys(b"mine");
        for piece in sample.chunks(chunk) {
            term.peer(piece);
        }
        (term.rows(), term.cursor())
    };
    let whole = shown(sample.len());
    assert_eq!(
        whole.0[..5],
        [
            "| one",
            "| two 中文 x",
            "| ^[[31m",
            "| \\u{200b}",
            "| three\\xffé"
        ]
    );
    for chunk in 1..sample.len() {
        assert_eq!(shown(chunk), whole, "in pieces of {chunk}");
    }
}

/// Random keys, peer bytes and resizes: nothing panics, and the live area never wraps (the
/// chat would then erase too little), whatever the width down to one column.
#[test]
fn random_sessions_keep_the_live_area_within_the_width() {
    let pieces: [&[u8]; 20] = [
        b"a",
        "中".as_bytes(),
        "e\u{301}".as_bytes(),
        "👍🏽".as_bytes(),
        b"\t",
        b"\x7f",
        b"\x1b[D",
        b"\x1b[C",
        b"\x1b[3~",
        b"\x01",
        b"\x05",
        b"\x15",
        b"\x17",
        b"\x1b[A",
        b"\x1b[B",
        b"\r",
        b"\x04",
        b"\x0c",
        b"\x1b",
        b"\xe4",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    for _ in 0..40 {
        let mut term = Term::new(1 + next(30) as u16, next(2) == 1);
        for _ in 0..200 {
            match next(10) {
                0 => term.peer(pieces[next(pieces.len())]),
                1 => term.peer(b"line\n"),
                2 => {
                    let pause = Duration::from_millis(next(20) as u64);
                    term.peer_after(&b"0123456789abcdefghijklmno"[..next(25)], pause);
                }
                3 => term.resize(1 + next(30) as u16),
                _ => {
                    if term.keys(pieces[next(pieces.len())]) == Action::EndInput {
                        break;
                    }
                }
            }
            let screen = term.terminal.screen();
            let (row, column) = screen.cursor_position();
            let width = screen.size().1.get();
            assert!(
                column < width || width == 1,
                "cursor at {column} of {width}"
            );
            // No row wrapped onto the next (the chat would then erase too little, and the
            // peer's text could start a row). Rows are written with autowrap off, which the
            // emulator ignores: on a terminal narrower than a mark and an escape, they would
            // be cut there, and wrap here.
            for above in (0..row).filter(|_| width >= 12) {
                assert!(
                    !screen.row_wrapped(above),
                    "a row wrapped at width {width}: {:?}",
                    term.rows()
                );
            }
        }
    }
}

/// A peer trickling a 70-character row a byte (or an invalid byte) at a time: the row is added
/// to at most once a frame ([`PEER_ROW_FRAME`]), so a millisecond apart the screen gets 3.3
/// bytes per byte, not the cursor moves around each one (28 before; invalid bytes with colour
/// 13, 52 before), and a frame apart or more, when each byte costs 28 still, at most 64 times
/// a second. Whatever the pace, the screen ends as if the row had come at once.
#[test]
fn a_fast_trickle_is_added_once_a_frame() {
    for color in [false, true] {
        for (text, bound) in [(b"x".repeat(70), 4), (vec![0xff; 70], 14)] {
            for pause in [0, 1, 5, 16] {
                let mut at_once = Term::new(80, color);
                let mut trickle = Term::new(80, color);
                for term in [&mut at_once, &mut trickle] {
                    term.keys(b"typing");
                }
                at_once.peer(&text);
                let pause = Duration::from_millis(pause);
                // The first byte starts the row: the live area laid out again.
                trickle.peer(&text[..1]);
                let mut written = 0;
                for byte in &text[1..] {
                    written += trickle.peer_after(std::slice::from_ref(byte), pause);
                }
                written += trickle.wait(PEER_ROW_FRAME);
                if pause <= Duration::from_millis(1) {
                    let per_byte = written / (text.len() - 1);
                    assert!(
                        per_byte < bound,
                        "{per_byte} bytes per byte, {pause:?} apart"
                    );
                }
                assert_eq!(trickle.rows(), at_once.rows());
                assert_eq!(trickle.cursor(), at_once.cursor());
            }
        }
    }
}

mod marks;
mod trust;
