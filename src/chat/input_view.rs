//! Which part of the line being typed is shown, when it is longer than the terminal is wide.
//!
//! The input line always takes exactly one row, so that it can be erased and redrawn without
//! knowing how the terminal wrapped it; a longer line scrolls sideways, keeping the cursor in
//! view. The window moves as little as it can (typing at the end keeps the cursor at the right
//! edge; moving left past the start brings the window with the cursor), and never leaves blank
//! columns on the right while text is hidden on the left.
//!
//! The line is shown as the peer's text is: a character that would change the layout unseen (a
//! pasted bidi override or zero-width joiner) is shown escaped, so that it cannot garble the
//! input line either; the line sent is the line typed.

use unicode_segmentation::UnicodeSegmentation;

use super::editor::grapheme_columns;
use super::row::render_glyph;
use super::sanitize::{Glyph, text_glyphs};

/// The window: the byte offset in the line of the first grapheme shown.
#[derive(Default)]
pub struct InputView {
    start: usize,
}

/// What [`InputView::render`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    /// The cursor's column, counted from the first one shown.
    pub cursor: usize,
    /// The columns written.
    pub columns: usize,
    /// Text before the first character shown is hidden.
    pub hidden_before: bool,
}

impl InputView {
    /// Writes the part of `line` that fits in `room` columns, keeping the grapheme at `cursor`
    /// (a byte offset) in view. With `color`, escapes are in reverse video.
    pub fn render(
        &mut self,
        line: &str,
        cursor: usize,
        room: usize,
        color: bool,
        out: &mut Vec<u8>,
    ) -> Shown {
        let cursor_cell = line[cursor..]
            .graphemes(true)
            .next()
            .map_or(1, |grapheme| grapheme_columns(grapheme).max(1));
        let mut start = if line.is_char_boundary(self.start) {
            self.start.min(cursor)
        } else {
            0
        };
        start = start.max(earliest_start(
            line,
            cursor,
            room.saturating_sub(cursor_cell),
        ));
        // One column more for the cursor after the last character.
        start = start.min(earliest_start(line, line.len(), room.saturating_sub(1)));
        self.start = start;

        let mut used = 0;
        let mut cursor_column = 0;
        for (offset, grapheme) in line[start..].grapheme_indices(true) {
            if start + offset == cursor {
                cursor_column = used;
            }
            let columns = grapheme_columns(grapheme);
            if used + columns > room {
                break;
            }
            text_glyphs(grapheme, &mut |glyph| match glyph {
                Glyph::Tab | Glyph::LineEnd => out.push(b' '),
                glyph => render_glyph(glyph, color, out),
            });
            used += columns;
        }
        if cursor == line.len() {
            cursor_column = used;
        }
        Shown {
            cursor: cursor_column,
            columns: used,
            hidden_before: start > 0,
        }
    }
}

/// The earliest offset from which the graphemes up to `end` take at most `room` columns.
fn earliest_start(line: &str, end: usize, room: usize) -> usize {
    let mut start = end;
    let mut used = 0;
    for (offset, grapheme) in line[..end].grapheme_indices(true).rev() {
        used += grapheme_columns(grapheme);
        if used > room {
            break;
        }
        start = offset;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is shown of `line` with the cursor at byte `cursor`, with `|` at the cursor.
    fn shown(view: &mut InputView, line: &str, cursor: usize, room: usize) -> String {
        let mut out = Vec::new();
        let column = view.render(line, cursor, room, false, &mut out).cursor;
        let text = String::from_utf8(out).unwrap();
        let mut columns = 0;
        let split = text
            .char_indices()
            .find(|&(_, c)| {
                let found = columns >= column;
                columns += grapheme_columns(c.encode_utf8(&mut [0; 4]));
                found
            })
            .map_or(text.len(), |(offset, _)| offset);
        format!("{}|{}", &text[..split], &text[split..])
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        let mut view = InputView::default();
        assert_eq!(shown(&mut view, "hello", 5, 10), "hello|");
        assert_eq!(shown(&mut view, "hello", 0, 10), "|hello");
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_in_view() {
        let mut view = InputView::default();
        let line = "abcdefghijklmnopqrstuvwxyz";
        assert_eq!(shown(&mut view, line, 26, 10), "rstuvwxyz|");
        // Deleting at the end of a scrolled line brings more of its start into view.
        assert_eq!(shown(&mut view, &line[..20], 20, 10), "lmnopqrst|");
        // Moving left inside the window does not move it.
        assert_eq!(shown(&mut view, line, 15, 10), "lmno|pqrstu");
        // Moving left past it brings it along.
        assert_eq!(shown(&mut view, line, 5, 10), "|fghijklmno");
        assert_eq!(shown(&mut view, line, 0, 10), "|abcdefghij");
    }

    #[test]
    fn wide_characters_are_never_cut() {
        let mut view = InputView::default();
        // Each takes two columns: four fit in 9 with the cursor cell, not five.
        assert_eq!(shown(&mut view, "中文字符串", 15, 9), "文字符串|");
        assert_eq!(shown(&mut view, "中文字符串", 0, 9), "|中文字符");
        // In a room narrower than the character under the cursor, nothing breaks.
        assert_eq!(shown(&mut view, "中", 0, 1), "|");
    }

    #[test]
    fn format_characters_show_escaped_and_move_as_one() {
        let mut view = InputView::default();
        let line = "a\u{202e}b";
        assert_eq!(shown(&mut view, line, 4, 20), "a\\u{202e}|b");
        assert_eq!(shown(&mut view, line, 1, 20), "a|\\u{202e}b");
        // A ZWJ joins its emoji: the grapheme is shown with it escaped.
        assert_eq!(shown(&mut view, "👨\u{200d}👩", 0, 20), "|👨\\u{200d}👩");
    }
}
