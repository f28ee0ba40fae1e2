//! Drawing: rows written into the conversation, and the live area below them (the peer's
//! unfinished row, the presence row, the input line), erased and drawn again around them.

use super::row::{Mark, write_line, write_presence};
use super::{Chat, TERMINAL_MODES_OFF};

/// The input line's prompt, which also marks the lines sent in the conversation.
const PROMPT: &str = "> ";
const ERASE_TO_END_OF_SCREEN: &[u8] = b"\x1b[J";
const ERASE_TO_END_OF_LINE: &[u8] = b"\x1b[K";

impl Chat {
    /// Writes the peer's row into the conversation and starts an empty one.
    pub(super) fn commit_peer_row(&mut self, screen: &mut Vec<u8>) {
        self.erase(screen);
        self.peer_row.render(true, self.color, screen);
        screen.extend(b"\r\n");
        self.peer_row.take();
    }

    /// Writes a line we sent into the conversation, after what the peer sent before it.
    pub(super) fn commit_sent(&mut self, line: &str, screen: &mut Vec<u8>) {
        if !self.peer_row.is_empty() {
            self.commit_peer_row(screen);
            self.peer_row_cut = true;
        }
        self.erase(screen);
        write_line(Mark::Sent, line, self.width, self.color, screen);
    }

    /// Writes one of tete's status lines into the conversation.
    pub(super) fn say(&mut self, text: &str, screen: &mut Vec<u8>) {
        self.erase(screen);
        write_line(Mark::Status, text, self.width, self.color, screen);
    }

    /// Erases the live area, if it is on the screen, leaving the cursor where it began.
    pub(super) fn erase(&mut self, screen: &mut Vec<u8>) {
        if let Some(above) = self.on_screen.take() {
            screen.push(b'\r');
            match above {
                0 => {}
                1 => screen.extend(b"\x1b[A"),
                rows => screen.extend(format!("\x1b[{rows}A").as_bytes()),
            }
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
        if !self.peer_row.is_empty() {
            self.peer_row.render(true, self.color, screen);
            screen.extend(b"\r\n");
            above += 1;
        }
        if let Some(presence) = &self.presence {
            write_presence(presence, self.width, self.color, screen);
            screen.extend(b"\r\n");
            above += 1;
        }
        self.draw_input_line(screen);
        self.on_screen = Some(above);
    }

    /// Brings the input line on the screen up to date (all of the live area if it was erased).
    pub(super) fn redraw_input(&mut self, screen: &mut Vec<u8>) {
        if !self.visible {
            return;
        }
        if self.on_screen.is_some() {
            screen.push(b'\r');
            screen.extend(ERASE_TO_END_OF_LINE);
            self.draw_input_line(screen);
        } else {
            self.draw(screen);
        }
    }

    /// Draws the live area again if it was erased (something was written above it).
    pub(super) fn redraw_live_area(&mut self, screen: &mut Vec<u8>) {
        if self.visible && self.on_screen.is_none() {
            self.draw(screen);
        }
    }

    /// Draws the input line on the cursor's empty row and puts the cursor where it edits. The
    /// last column stays empty, so the cursor never waits in the right margin for a wrap.
    fn draw_input_line(&mut self, screen: &mut Vec<u8>) {
        let mut room = self.width - 1;
        let mut column = 0;
        if !self.input_ended && room > PROMPT.len() {
            screen.extend(PROMPT.as_bytes());
            room -= PROMPT.len();
            column = PROMPT.len();
        }
        column += self.view.render(
            self.editor.line(),
            self.editor.cursor(),
            room,
            self.color,
            screen,
        );
        screen.push(b'\r');
        if column > 0 {
            screen.extend(format!("\x1b[{column}C").as_bytes());
        }
    }
}
