//! When the window's size changes.
//!
//! Many terminals (tmux, VTE, kitty, WezTerm) re-wrap what they show when the window narrows:
//! a row wider than the new width is split, and its second half starts a row of its own. A
//! peer that sends a row as wide as the window, `| ` and padding and then `tete: the peer
//! left` or `> here is my password`, would then see its text read as tete's or as yours. So,
//! once the size has stopped changing for [`RESIZE_QUIET`] (dragging a window's edge sends
//! many sizes), a window narrower than a row drawn since the screen was last drawn whole gets
//! the screen drawn whole again ([`Chat::redraw_due`]): every row of it as the chat lays it out
//! for the new width ([`super::kept`]), the mark on each. What the terminal has already moved
//! into its scrollback is out of reach: when a row of the peer's wider than the window was ever
//! drawn, the screen starts with a status line that says so ([`REWRAPPED`]). Below that line
//! every row is as tete drew it; above it, a row can start with the partner's text.
//!
//! The screen is erased without `ESC [ 2 J`, which tmux turns into scrolling the screen's rows
//! (the re-wrapped ones) into the scrollback, and then written from the top, as Ctrl-L does.

use std::time::{Duration, Instant};

use super::Chat;
use super::row::{Mark, write_line};

/// How long the window's size must stay the same before the screen is drawn again.
pub const RESIZE_QUIET: Duration = Duration::from_millis(150);

/// The status line at the top of a screen drawn again after the window narrowed below a row
/// of the peer's.
pub const REWRAPPED: &str = "rows above this line may have been re-wrapped by the terminal: \
     there, the partner's text can start a row";

/// Erases the screen from its second row, then its first, and leaves the cursor at the top:
/// not from the top at once, which tmux takes for clearing the screen into its scrollback.
const ERASE_SCREEN_IN_PLACE: &[u8] = b"\x1b[2;1H\x1b[J\x1b[H\x1b[2K";

impl Chat {
    /// The terminal is now `width` columns wide and `height` rows tall (SIGWINCH) at `now`: the
    /// live area is drawn again for it at once, and the whole screen, if it narrowed below a
    /// row drawn, once the size settles ([`Chat::next_deadline`]).
    pub fn resize(&mut self, width: u16, height: u16, now: Instant, screen: &mut Vec<u8>) {
        let width = usize::from(width.max(1));
        self.height = usize::from(height.max(1));
        if width < self.widest_drawn.max(self.widest_peer) || self.reflow_due.is_some() {
            self.reflow_due = Some(now + RESIZE_QUIET);
        }
        self.framed(screen, |chat, screen| {
            chat.erase(screen);
            chat.width = width;
            for glyph in chat.peer_row.take() {
                chat.peer_glyph(glyph, screen);
            }
            chat.redraw_live_area(screen);
        });
    }

    /// At `now`: adds what waited of the peer's unfinished row ([`super::PEER_ROW_FRAME`]), and
    /// draws the screen whole again if the size has settled after a narrowing.
    pub fn redraw_due(&mut self, now: Instant, screen: &mut Vec<u8>) {
        if self.peer_row_due.is_some_and(|due| now >= due) {
            self.peer_row_due = None;
            self.framed(screen, |chat, screen| chat.peer_row_grew(now, screen));
        }
        if self.reflow_due.is_none_or(|due| now < due) {
            return;
        }
        self.reflow_due = None;
        if !self.visible {
            return;
        }
        self.framed(screen, |chat, screen| chat.redraw_whole(screen));
    }

    /// The screen drawn whole, from the top: the status line on re-wrapped rows if the peer
    /// ever had a row wider than the window, the newest rows of the conversation that fit, the
    /// live area.
    fn redraw_whole(&mut self, screen: &mut Vec<u8>) {
        screen.extend(if self.height > 1 {
            ERASE_SCREEN_IN_PLACE
        } else {
            b"\x1b[H\x1b[2K"
        });
        self.on_screen = None;
        self.widest_drawn = 0;
        let mut rows = 0;
        if self.width < self.widest_peer {
            let notice = write_line(Mark::Status, REWRAPPED, self.width, self.color, screen);
            rows += notice.len();
            self.note_drawn(notice.iter().map(|row| row.columns()));
        }
        let live_rows =
            1 + usize::from(!self.peer_row.is_empty()) + usize::from(self.presence.is_some());
        let room = self.height.saturating_sub(rows + live_rows);
        let tail = self.kept.tail(self.width, room);
        for (row, first) in &tail {
            row.render(*first, self.color, screen);
            screen.extend(b"\r\n");
        }
        self.note_drawn(tail.iter().map(|(row, _)| row.columns()));
        self.draw(screen);
    }

    /// Rows of these widths were drawn.
    pub(super) fn note_drawn(&mut self, widths: impl IntoIterator<Item = usize>) {
        self.widest_drawn = widths.into_iter().fold(self.widest_drawn, usize::max);
    }

    /// A row of the peer's this wide was drawn (in the conversation, or as its unfinished row:
    /// a half of which a narrowing could leave above the live area).
    pub(super) fn note_peer_drawn(&mut self, columns: usize) {
        self.note_drawn([columns]);
        self.widest_peer = self.widest_peer.max(columns);
    }
}
