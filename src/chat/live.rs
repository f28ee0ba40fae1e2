//! Drawing: rows written into the conversation, and the live area below them (the peer's
//! unfinished row, the presence row, the input line), erased and drawn again around them.
//!
//! The peer's unfinished row grows as its text comes, a byte at a time from a peer that
//! trickles it: what is added goes on the row where it is on the screen, so a byte costs a
//! few cursor moves, not the whole live area drawn again; and those moves are made at most
//! once a frame ([`PEER_ROW_FRAME`]): what comes sooner waits for [`Chat::redraw_due`], so a
//! trickle a millisecond apart costs some 3 bytes on the screen per byte, not 28.

use std::time::Instant;

use super::row::{Mark, Row, render_glyphs, write_line, write_presence};
use super::{Chat, PEER_ROW_FRAME, TERMINAL_MODES_OFF};

/// The live area as it is on the screen.
#[derive(Clone, Copy, Debug)]
pub(super) struct Drawn {
    /// Rows above the input line (the peer's unfinished row, the presence row).
    above: usize,
    /// How much of the peer's unfinished row is drawn, if it has a row there: its glyphs, and
    /// the columns they take with the mark.
    peer: Option<(usize, usize)>,
    /// The cursor's column on the input line.
    input_column: usize,
}

/// The input line's prompt, which also marks the lines sent in the conversation.
const PROMPT: &str = "> ";
/// The prompt's first character while the start of the line is scrolled out of view.
const HIDDEN_BEFORE: u8 = b'<';
const ERASE_TO_END_OF_SCREEN: &[u8] = b"\x1b[J";
const ERASE_TO_END_OF_LINE: &[u8] = b"\x1b[K";

impl Chat {
    /// Writes the peer's row into the conversation and starts an empty one.
    pub(super) fn commit_peer_row(&mut self, screen: &mut Vec<u8>) {
        self.erase(screen);
        self.peer_row.render(true, self.color, screen);
        screen.extend(b"\r\n");
        let row = std::mem::replace(&mut self.peer_row, Row::new(Mark::Peer));
        self.note_peer_drawn(row.columns());
        self.kept.push(row, true);
    }

    /// Writes a line we sent into the conversation, after what the peer sent before it.
    pub(super) fn commit_sent(&mut self, line: &str, screen: &mut Vec<u8>) {
        if !self.peer_row.is_empty() {
            self.commit_peer_row(screen);
            self.peer_row_cut = true;
        }
        self.erase(screen);
        let rows = write_line(Mark::Sent, line, self.width, self.color, screen);
        self.keep(rows);
    }

    /// Writes one of tete's status lines into the conversation.
    pub(super) fn say(&mut self, text: &str, screen: &mut Vec<u8>) {
        self.erase(screen);
        let rows = write_line(Mark::Status, text, self.width, self.color, screen);
        self.keep(rows);
    }

    /// Keeps the rows of a line just written.
    fn keep(&mut self, rows: Vec<Row>) {
        self.note_drawn(rows.iter().map(Row::columns));
        for (n, row) in rows.into_iter().enumerate() {
            self.kept.push(row, n == 0);
        }
    }

    /// Erases the live area, if it is on the screen, leaving the cursor where it began.
    pub(super) fn erase(&mut self, screen: &mut Vec<u8>) {
        if let Some(drawn) = self.on_screen.take() {
            screen.push(b'\r');
            cursor_move(b'A', drawn.above, screen);
            screen.extend(ERASE_TO_END_OF_SCREEN);
        }
    }

    /// Takes the live area off the screen until [`Chat::show`], and puts the terminal's modes
    /// back.
    pub(super) fn hide(&mut self, screen: &mut Vec<u8>) {
        self.erase(screen);
        self.visible = false;
        screen.extend(TERMINAL_MODES_OFF);
    }

    /// Draws the live area at the cursor, which is at the start of an empty row.
    pub(super) fn draw(&mut self, screen: &mut Vec<u8>) {
        let mut above = 0;
        let mut peer = None;
        if !self.peer_row.is_empty() {
            self.peer_row.render(true, self.color, screen);
            screen.extend(b"\r\n");
            above += 1;
            peer = Some((self.peer_row.len(), self.peer_row.columns()));
        }
        self.note_peer_drawn(peer.map_or(0, |(_, columns)| columns));
        if let Some(presence) = &self.presence {
            let columns = write_presence(presence, self.width, self.color, screen);
            screen.extend(b"\r\n");
            above += 1;
            self.note_drawn([columns]);
        }
        let input_column = self.draw_input_line(screen);
        self.on_screen = Some(Drawn {
            above,
            peer,
            input_column,
        });
    }

    /// True while the live area is on the screen with a row for the peer's unfinished text,
    /// which glyphs can then be added to in place.
    pub(super) fn peer_row_drawn(&self) -> bool {
        self.on_screen.is_some_and(|drawn| drawn.peer.is_some())
    }

    /// Brings the input line on the screen up to date (all of the live area if it was erased).
    pub(super) fn redraw_input(&mut self, screen: &mut Vec<u8>) {
        if !self.visible {
            return;
        }
        if let Some(drawn) = self.on_screen {
            screen.push(b'\r');
            screen.extend(ERASE_TO_END_OF_LINE);
            let input_column = self.draw_input_line(screen);
            self.on_screen = Some(Drawn {
                input_column,
                ..drawn
            });
        } else {
            self.draw(screen);
        }
    }

    /// At `now`, after the peer's text came: draws the live area again if it was erased, or
    /// adds what came of the peer's unfinished row where it is; but if it was last added to
    /// less than [`PEER_ROW_FRAME`] ago, and nothing else changed, that waits until then.
    pub(super) fn peer_row_grew(&mut self, now: Instant, screen: &mut Vec<u8>) {
        let behind = self
            .on_screen
            .and_then(|drawn| drawn.peer)
            .is_some_and(|(glyphs, _)| glyphs < self.peer_row.len());
        if behind && self.visible {
            let next = self.peer_row_added.map(|added| added + PEER_ROW_FRAME);
            if let Some(due) = next.filter(|&due| now < due) {
                self.peer_row_due = Some(due);
                return;
            }
            self.peer_row_added = Some(now);
        }
        self.redraw_live_area(screen);
    }

    /// Draws the live area again if it was erased (something was written above it), or adds
    /// what came of the peer's unfinished row to it where it is.
    pub(super) fn redraw_live_area(&mut self, screen: &mut Vec<u8>) {
        if !self.visible {
            return;
        }
        let Some(drawn) = self.on_screen else {
            self.draw(screen);
            return;
        };
        let Some((glyphs, mut columns)) = drawn.peer else {
            return;
        };
        // Nothing new (and never a slice past the row's end).
        if self.peer_row.len() <= glyphs {
            return;
        }
        // Zero-width characters go on the character before them, which the terminal knows only
        // if it is written with them: from there, then.
        let mut start = glyphs;
        let marks = self.peer_row.trailing_marks(glyphs);
        if self.peer_row.trailing_marks(glyphs + 1) > marks
            && let Some(base) = glyphs.checked_sub(marks + 1)
        {
            start = base;
            columns = self.peer_row.column_of(base, self.width);
        }
        let new = self.peer_row.glyphs_from(start);
        screen.push(b'\r');
        cursor_move(b'A', drawn.above, screen);
        cursor_move(b'C', columns, screen);
        render_glyphs(new, self.color, screen);
        screen.push(b'\r');
        cursor_move(b'B', drawn.above, screen);
        cursor_move(b'C', drawn.input_column, screen);
        self.on_screen = Some(Drawn {
            peer: Some((self.peer_row.len(), self.peer_row.columns())),
            ..drawn
        });
        self.note_peer_drawn(self.peer_row.columns());
    }

    /// Draws the input line on the cursor's empty row and puts the cursor where it edits; returns
    /// that column. The last column stays empty, so the cursor never waits in the right margin
    /// for a wrap. While the start of a long line is scrolled out of view, the prompt is `<`.
    fn draw_input_line(&mut self, screen: &mut Vec<u8>) -> usize {
        let mut room = self.width - 1;
        let mut prompt = None;
        if !self.input_ended && room > PROMPT.len() {
            prompt = Some(screen.len());
            screen.extend(PROMPT.as_bytes());
            room -= PROMPT.len();
        }
        let indent = prompt.map_or(0, |_| PROMPT.len());
        let shown = self.view.render(
            self.editor.line(),
            self.editor.cursor(),
            room,
            self.color,
            screen,
        );
        if let Some(at) = prompt
            && shown.hidden_before
        {
            screen[at] = HIDDEN_BEFORE;
        }
        self.note_drawn([indent + shown.columns]);
        screen.push(b'\r');
        cursor_move(b'C', indent + shown.cursor, screen);
        indent + shown.cursor
    }
}

/// Moves the cursor `count` rows up (`A`) or down (`B`), or columns right (`C`).
fn cursor_move(direction: u8, count: usize, screen: &mut Vec<u8>) {
    match count {
        0 => {}
        1 => screen.extend([0x1b, b'[', direction]),
        count => {
            screen.extend(format!("\x1b[{count}").as_bytes());
            screen.push(direction);
        }
    }
}
