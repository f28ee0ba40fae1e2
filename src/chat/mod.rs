//! Chat mode: what a person at a terminal sees and types, as a state machine with no I/O.
//!
//! Two people chatting through netcat see each other's lines written into the middle of what
//! they are typing, and the peer's bytes go to the terminal raw, so a peer can clear the
//! screen or retitle the window. With stdin and stdout both terminals, tete instead puts the
//! terminal in raw mode and edits the line itself: the conversation scrolls as usual, and
//! below it sits the *live area*: the peer's unfinished line, if any (a `login: ` prompt), the
//! presence row, if any (who is, or is not, there), and the input line, one row that scrolls
//! sideways ([`input_view`]). Whenever something joins the conversation the live area is
//! erased, the new rows written where it was, and the live area drawn again below them; so the
//! line being typed is never split, overwritten or lost.
//!
//! Every row says whose it is with a mark that the peer's bytes cannot produce ([`row`]): `| `
//! before the peer's text, `> ` before your lines, `tete: ` before tete's status lines, `-- `
//! before the presence row; so a peer cannot pass its text off as yours or as tete's, with
//! colour or without. Widths follow [`width`]; rows are written with autowrap off, so each takes
//! exactly the row the chat counts, and the peer's text can never reach the first column. A
//! terminal that re-wraps its rows when the window narrows breaks that promise for the rows it
//! re-wraps: the chat then draws the screen whole again, and says where its reach ends
//! ([`reflow`]).
//!
//! The peer's text passes through [`sanitize`]: control characters, characters that would
//! change the layout unseen ([`visible`]: bidi overrides, zero-width joiners, ...) and invalid
//! UTF-8 are shown escaped (`^[`, `\u{202e}`, `\xff`; in reverse video with colour), never sent
//! to the terminal. At most [`row::MARKS_PER_BASE`] combining marks go on one character of
//! the peer's, and none on a mark of tete's: the rest are shown escaped too ([`row`]). The
//! line typed is shown by the same rules, and sent as typed.
//!
//! Lines typed are sent only while a channel to a partner is open ([`Chat::set_channel`]);
//! meanwhile Enter does not send the line but writes it back as a status line saying it was not
//! sent, so nothing is shown as sent that was not, and nothing typed is lost (Up brings it
//! back). A line longer than the editor's limit (64 KiB, a long paste) is refused whole, with a
//! status line saying so, never cut. Inside a bracketed paste nothing acts as a key ([`keys`]).
//!
//! [`Chat`] takes the bytes read from the terminal and from the peer and the terminal's size,
//! and gives back the bytes for the peer and for the screen; the event loop does the I/O:
//! - before [`Chat::show`], the terminal is in raw mode (no echo, no line editing, no signals
//!   from keys: ISIG off, so Ctrl-C and Ctrl-Z arrive as bytes), and the cursor at the start of
//!   an empty row;
//! - the bytes for the peer are what stdin would have given (lines end in LF; `-C` and the
//!   password mode apply to them after, as to any stdin bytes);
//! - whenever the terminal has nothing to read (after a read found it empty, and until it has
//!   more), [`Chat::keys_paused`] with the time, and a wake-up at [`Chat::next_deadline`]: a
//!   paste's end marker counts once the terminal has stayed quiet for [`PASTE_QUIET`] after it;
//! - after a resize, and after the peer's bytes, [`Chat::redraw_due`] at [`Chat::next_deadline`]
//!   too (a peer trickling its text has its unfinished row added to once a frame,
//!   [`PEER_ROW_FRAME`]);
//! - [`Action`] says when to half-close, leave or suspend; after a suspension, the terminal
//!   back in raw mode, [`Chat::show`] again; at the end, [`Chat::finish`], then the terminal's
//!   modes restored;
//! - a call that changes nothing on the screen writes nothing;
//! - memory is bounded: a few fixed buffers, the line being typed and the history (see
//!   [`editor`]), the peer's unfinished row, the presence row, and the newest rows of the
//!   conversation ([`kept`], at most 64 Ki glyphs). The screen bytes are the
//!   caller's to bound: [`Chat::peer_bytes`] writes at most 32 bytes per byte given (an
//!   invalid byte escaped in reverse video on a row of its own), plus the live area redrawn, at
//!   most 32 × (2 × width + 256) + 64 KiB bytes. So the caller feeds the peer's bytes only
//!   while its queue for the screen is below a limit (and reads the socket in pieces of a fixed
//!   size); a slow terminal then holds back the peer, as a slow stdout does.

mod editor;
mod input_view;
mod kept;
mod keys;
mod live;
mod reflow;
mod row;
mod sanitize;
mod typing;
mod utf8;
mod visible;
mod width;

use std::time::{Duration, Instant};

use editor::Editor;
use input_view::InputView;
use kept::Kept;
use keys::KeyDecoder;
use row::{Mark, Row};
use sanitize::{Glyph, Sanitizer};

pub use sanitize::escaped;

/// What the caller does after [`Chat::keys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing more than sending and showing the bytes.
    Continue,
    /// Ctrl-D on an empty line: our side is done; half-close towards the peer, as at the end of
    /// stdin. Keep reading keys: Ctrl-C and Ctrl-Z still work (the rest are ignored).
    EndInput,
    /// Ctrl-C: end the session.
    Leave,
    /// Ctrl-Z: the chat has left the screen tidy; restore the terminal's modes and stop
    /// (SIGTSTP). On continuing, raw mode again, then [`Chat::show`].
    Suspend,
}

/// What the chat changes in the terminal's own state, put back: attributes reset, bracketed
/// paste off, autowrap on. [`Chat::finish`] and a suspension write it; a signal handler that
/// cannot call them (it may not allocate) can write this with write(2).
pub const TERMINAL_MODES_OFF: &[u8] = b"\x1b[0m\x1b[?2004l\x1b[?7h";

/// Rows are written with autowrap off: where the terminal counts a character wider than the
/// chat does, the row is cut at the right edge instead of taking a row more, and no text of
/// the peer's ever lands in the first column. Each call turns it back on at its end.
const AUTOWRAP_OFF: &[u8] = b"\x1b[?7l";
const AUTOWRAP_ON: &[u8] = b"\x1b[?7h";
const CLEAR_SCREEN: &[u8] = b"\x1b[H\x1b[2J";
const BRACKETED_PASTE_ON: &[u8] = b"\x1b[?2004h";

/// How often, at most, the peer's unfinished row is added to where it is: a peer trickling its
/// text a byte or two at a time would otherwise cost a few cursor moves, some 28 bytes, for
/// every byte; what comes sooner after an addition waits for the next (a 60 Hz frame, too
/// short to see), and what comes after a pause shows at once.
pub const PEER_ROW_FRAME: Duration = Duration::from_millis(16);

/// How long the terminal stays quiet after a paste's end marker before the paste counts as
/// over: far longer than a terminal takes between the pieces of one paste, however loaded the
/// machine, and shorter than a person takes to press a key after seeing the paste land (a key
/// pressed sooner counts as pasted, and the quarter second starts again).
pub const PASTE_QUIET: Duration = Duration::from_millis(250);

pub struct Chat {
    /// The terminal's width in columns, at least 1.
    width: usize,
    /// Its height in rows, at least 1.
    height: usize,
    color: bool,
    keys: KeyDecoder,
    editor: Editor,
    view: InputView,
    sanitizer: Sanitizer,
    peer_row: Row,
    /// Our sent line ended the peer's unfinished row early: if the peer's next glyph ends its
    /// line, that line already ended on the screen.
    peer_row_cut: bool,
    /// After Ctrl-D on an empty line: nothing more is sent.
    input_ended: bool,
    /// Lines typed are sent: a channel to a partner is open.
    channel_open: bool,
    /// The presence row's text, while there is one.
    presence: Option<String>,
    /// The line being typed outgrew the editor and was refused: the rest of it is dropped, up
    /// to its end (Enter, the end of the paste, or another editing key).
    overlong: bool,
    /// Since when the terminal has been quiet after a paste's end marker.
    quiet_since: Option<Instant>,
    /// Whether the live area is drawn at the end of each call (not before [`Chat::show`], nor
    /// while suspended or after [`Chat::finish`]).
    visible: bool,
    /// The live area on the screen now, if it is.
    on_screen: Option<live::Drawn>,
    /// The newest rows of the conversation, to draw the screen again ([`reflow`]).
    kept: Kept,
    /// The widest row drawn since the screen was last drawn whole (or cleared), in columns.
    widest_drawn: usize,
    /// The widest row of the peer's ever drawn.
    widest_peer: usize,
    /// When the screen is to be drawn whole again, the window's size having settled.
    reflow_due: Option<Instant>,
    /// When the peer's unfinished row was last added to where it is ([`PEER_ROW_FRAME`]).
    peer_row_added: Option<Instant>,
    /// When what came of the peer's unfinished row since then is to be added.
    peer_row_due: Option<Instant>,
}

impl Chat {
    /// A chat on a terminal `width` columns wide and `height` rows tall; with `color` (the
    /// terminal has it and `NO_COLOR` is not set), the marks have their colours, sent lines are
    /// dimmed and escapes in reverse video. Lines typed are sent until [`Chat::set_channel`]
    /// says otherwise.
    pub fn new(width: u16, height: u16, color: bool) -> Chat {
        Chat {
            width: usize::from(width.max(1)),
            height: usize::from(height.max(1)),
            color,
            keys: KeyDecoder::default(),
            editor: Editor::default(),
            view: InputView::default(),
            sanitizer: Sanitizer::default(),
            peer_row: Row::new(Mark::Peer),
            peer_row_cut: false,
            input_ended: false,
            channel_open: true,
            presence: None,
            overlong: false,
            quiet_since: None,
            visible: false,
            on_screen: None,
            kept: Kept::default(),
            widest_drawn: 0,
            widest_peer: 0,
            reflow_due: None,
            peer_row_added: None,
            peer_row_due: None,
        }
    }

    /// Puts the chat on the screen from the start of the cursor's row (which should be empty):
    /// at the start, and after a suspension. Turns on bracketed paste.
    pub fn show(&mut self, screen: &mut Vec<u8>) {
        self.framed(screen, |chat, screen| {
            screen.extend(BRACKETED_PASTE_ON);
            chat.visible = true;
            // Called while already shown, it draws the live area again in place.
            chat.erase(screen);
            chat.draw(screen);
        });
    }

    /// Takes bytes read from the terminal, one read's: the line edited, lines sent to
    /// `to_peer`, the screen updated. Stops at the first key that asks for more than that (the
    /// rest of `input` is dropped, as a terminal drops typeahead on Ctrl-C).
    ///
    /// Ctrl-C, Ctrl-D and Ctrl-Z act only pressed on their own, alone in their read, as a
    /// person presses them: with other bytes they came in a burst, and count as pasted (dropped).
    /// A paste may hold a copy of its end marker and then Ctrl-C; a terminal stalled right after
    /// that copy for [`PASTE_QUIET`] (a loaded machine, a retransmission over ssh) ends the
    /// paste early, and what follows comes in a read with the Ctrl-C.
    pub fn keys(&mut self, input: &[u8], to_peer: &mut Vec<u8>, screen: &mut Vec<u8>) -> Action {
        if !input.is_empty() {
            self.quiet_since = None;
        }
        let alone = input.len() == 1;
        self.framed(screen, |chat, screen| {
            let mut action = Action::Continue;
            for &byte in input {
                if let Some(key) = chat.keys.push(byte)
                    && (alone || !key.ends_or_stops())
                {
                    action = chat.key(key, to_peer, screen);
                    if action != Action::Continue {
                        break;
                    }
                }
            }
            if action == Action::Suspend {
                chat.hide(screen);
            } else {
                chat.redraw_input(screen);
            }
            action
        })
    }

    /// The terminal has nothing to read at `now`: a paste whose end marker came last is over
    /// once that has lasted [`PASTE_QUIET`].
    pub fn keys_paused(&mut self, now: Instant) {
        if !self.keys.awaits_end() {
            self.quiet_since = None;
            return;
        }
        let since = *self.quiet_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= PASTE_QUIET && self.keys.end_paste() {
            self.quiet_since = None;
            // A refused line pasted without its line end ends with the paste.
            self.overlong = false;
        }
    }

    /// When [`Chat::keys_paused`] has something to decide, if the terminal stays quiet, or
    /// [`Chat::redraw_due`] something to draw.
    pub fn next_deadline(&self) -> Option<Instant> {
        let paste = self.quiet_since.map(|since| since + PASTE_QUIET);
        [paste, self.reflow_due, self.peer_row_due]
            .into_iter()
            .flatten()
            .min()
    }

    /// Takes bytes from the peer at `now`: shown above the input line, escaped where needed.
    /// What only adds to the peer's unfinished row may wait for [`Chat::redraw_due`], at most
    /// [`PEER_ROW_FRAME`].
    pub fn peer_bytes(&mut self, bytes: &[u8], now: Instant, screen: &mut Vec<u8>) {
        self.framed(screen, |chat, screen| {
            let mut sanitizer = std::mem::take(&mut chat.sanitizer);
            sanitizer.feed(bytes, &mut |glyph| chat.peer_glyph(glyph, screen));
            chat.sanitizer = sanitizer;
            chat.peer_row_grew(now, screen);
        });
    }

    /// Writes one of tete's status lines (`tete: ` and `text`) into the conversation, above the
    /// live area.
    pub fn status(&mut self, text: &str, screen: &mut Vec<u8>) {
        self.framed(screen, |chat, screen| {
            chat.say(text, screen);
            chat.redraw_live_area(screen);
        });
    }

    /// Shows `text` in the presence row above the input line (a partner awaited, a handshake,
    /// a partner not answering), or no presence row with `None`. Draws only what changed.
    pub fn set_presence(&mut self, text: Option<&str>, screen: &mut Vec<u8>) {
        if self.presence.as_deref() == text {
            return;
        }
        self.presence = text.map(str::to_owned);
        if self.on_screen.is_some() {
            self.framed(screen, |chat, screen| {
                chat.erase(screen);
                chat.draw(screen);
            });
        }
    }

    /// Says whether a channel to a partner is open, so that lines typed can be sent. When it
    /// closes (the partner left), the partner's last text goes into the conversation, the
    /// unfinished row included; what is being typed stays.
    pub fn set_channel(&mut self, open: bool, screen: &mut Vec<u8>) {
        if open == self.channel_open {
            return;
        }
        self.channel_open = open;
        if !open {
            self.framed(screen, |chat, screen| {
                chat.end_peer_text(screen);
                chat.redraw_live_area(screen);
            });
        }
    }

    /// Leaves the screen tidy at the end: the peer's unfinished line (and any character or CR
    /// it held back) kept, a line being typed written out as not sent, the input line erased,
    /// the cursor at the start of the next row, attributes reset, bracketed paste off.
    pub fn finish(&mut self, screen: &mut Vec<u8>) {
        self.framed(screen, |chat, screen| {
            chat.end_peer_text(screen);
            let line = chat.editor.take();
            if !line.is_empty() && !chat.overlong {
                chat.say(&format!("not sent: {line}"), screen);
            }
            chat.hide(screen);
        });
    }

    /// Sends the line typed, ended by `line_end`, if it can be: not a refused one (which ends
    /// here), and only through an open channel (else it is written back, not sent).
    fn send(&mut self, line_end: Option<u8>, to_peer: &mut Vec<u8>, screen: &mut Vec<u8>) {
        if std::mem::take(&mut self.overlong) {
            return;
        }
        let line = self.editor.take();
        if !self.channel_open {
            let separator = if line.is_empty() { "" } else { ": " };
            self.say(
                &format!("not sent (nobody to send it to){separator}{line}"),
                screen,
            );
            return;
        }
        to_peer.extend(line.as_bytes());
        to_peer.extend(line_end);
        self.commit_sent(&line, screen);
    }

    /// Adds one glyph of the peer's text: to its unfinished row, or ending it.
    fn peer_glyph(&mut self, glyph: Glyph, screen: &mut Vec<u8>) {
        let cut = std::mem::take(&mut self.peer_row_cut);
        if glyph == Glyph::LineEnd {
            if !(cut && self.peer_row.is_empty()) {
                self.commit_peer_row(screen);
            }
            return;
        }
        if !self.peer_row.fits(glyph, self.width) {
            self.commit_peer_row(screen);
        }
        self.peer_row.push(glyph, self.width);
        // Without a row for it on the screen, the live area is laid out again; else the glyph
        // is added where the row is ([`Chat::redraw_live_area`]).
        if !self.peer_row_drawn() {
            self.erase(screen);
        }
    }

    /// The partner's text is over: what it held back and its unfinished row are written into
    /// the conversation, and the next partner's text starts afresh.
    fn end_peer_text(&mut self, screen: &mut Vec<u8>) {
        let mut sanitizer = std::mem::take(&mut self.sanitizer);
        sanitizer.flush(&mut |glyph| self.peer_glyph(glyph, screen));
        if !self.peer_row.is_empty() {
            self.commit_peer_row(screen);
        }
        self.peer_row_cut = false;
    }

    /// Runs `draw`; if it wrote anything, autowrap is off while it is written, and on again
    /// after (for whatever else writes to the terminal between calls).
    fn framed<T>(
        &mut self,
        screen: &mut Vec<u8>,
        draw: impl FnOnce(&mut Chat, &mut Vec<u8>) -> T,
    ) -> T {
        let start = screen.len();
        let result = draw(self, screen);
        if screen.len() > start {
            screen.splice(start..start, AUTOWRAP_OFF.iter().copied());
            screen.extend(AUTOWRAP_ON);
        }
        result
    }
}

#[cfg(test)]
mod tests;
