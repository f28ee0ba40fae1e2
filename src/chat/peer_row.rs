//! The peer's unfinished line: the row just above the input line.
//!
//! Text from the peer is shown as soon as it arrives, newline or not (a `login: ` prompt must be
//! visible at once), so the last row of the peer's text is drawn below the conversation, above
//! the input line, and redrawn as it grows. The chat has to know how many terminal rows that
//! takes to erase it again, so the row never holds more than the terminal's width: a glyph that
//! would not fit ends the row and starts the next one (see [`PeerRow::fits`]). It also never
//! holds more than `width + ZERO_WIDTH_ALLOWANCE` glyphs, so a flood of zero-width characters
//! cannot grow it either.

use super::sanitize::Glyph;
use super::width::char_columns;

/// How many glyphs beyond one per column a row may hold (combining accents and the like).
const ZERO_WIDTH_ALLOWANCE: usize = 256;
/// Tab stops, as terminals set them by default.
const TAB_STOP: usize = 8;

/// Reverse video, which the peer cannot produce itself, sets escaped bytes apart from text.
const ESCAPE_STYLE: &[u8] = b"\x1b[7m";
const ESCAPE_STYLE_END: &[u8] = b"\x1b[27m";

#[derive(Default)]
pub struct PeerRow {
    /// Never [`Glyph::LineEnd`].
    glyphs: Vec<Glyph>,
    columns: usize,
}

impl PeerRow {
    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// True if `glyph` can be added on a terminal `width` columns wide. An empty row takes any
    /// glyph, even one wider than the terminal (an escape on a terminal a few columns wide).
    pub fn fits(&self, glyph: Glyph, width: usize) -> bool {
        self.is_empty()
            || (self.columns < width
                && self.columns + columns(glyph, self.columns, width) <= width
                && self.glyphs.len() < width + ZERO_WIDTH_ALLOWANCE)
    }

    /// Adds `glyph`, which must fit (or the row show more than `width` columns).
    pub fn push(&mut self, glyph: Glyph, width: usize) {
        self.columns += columns(glyph, self.columns, width);
        self.glyphs.push(glyph);
    }

    /// Empties the row, giving back its glyphs (to lay them out again at another width).
    pub fn take(&mut self) -> Vec<Glyph> {
        self.columns = 0;
        std::mem::take(&mut self.glyphs)
    }

    /// Writes the row's text; with `color`, escapes are in reverse video.
    pub fn render(&self, color: bool, out: &mut Vec<u8>) {
        for &glyph in &self.glyphs {
            render_glyph(glyph, color, out);
        }
    }
}

/// Writes one glyph; with `color`, an escape in reverse video.
pub fn render_glyph(glyph: Glyph, color: bool, out: &mut Vec<u8>) {
    match glyph {
        Glyph::Char(c) => out.extend(c.encode_utf8(&mut [0; 4]).as_bytes()),
        Glyph::Tab => out.push(b'\t'),
        Glyph::Escaped(escape) if color => {
            out.extend(ESCAPE_STYLE);
            out.extend(escape.as_str().as_bytes());
            out.extend(ESCAPE_STYLE_END);
        }
        Glyph::Escaped(escape) => out.extend(escape.as_str().as_bytes()),
        Glyph::LineEnd => {}
    }
}

/// The columns `glyph` takes when drawn at `column`: a TAB moves to the next tab stop, or to the
/// last column, where a terminal's tab stops.
fn columns(glyph: Glyph, column: usize, width: usize) -> usize {
    match glyph {
        Glyph::Char(c) => char_columns(c),
        Glyph::Tab => (TAB_STOP - column % TAB_STOP).min(width.saturating_sub(column + 1).max(1)),
        Glyph::Escaped(escape) => escape.as_str().len(),
        Glyph::LineEnd => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of(text: &str, width: usize) -> (usize, bool) {
        let mut row = PeerRow::default();
        for c in text.chars() {
            if !row.fits(Glyph::Char(c), width) {
                return (row.columns, false);
            }
            row.push(Glyph::Char(c), width);
        }
        (row.columns, true)
    }

    #[test]
    fn rows_end_before_the_terminal_would_wrap_them() {
        assert_eq!(row_of("abcd", 4), (4, true));
        assert_eq!(row_of("abcde", 4), (4, false));
        // A wide character does not start in the last column.
        assert_eq!(row_of("abc中", 4), (3, false));
        // ❤️ may be drawn two columns wide: counted so (see `width`).
        assert_eq!(row_of("ab\u{2764}\u{fe0f}", 4), (4, true));
        assert_eq!(row_of("abc\u{2764}\u{fe0f}", 4), (4, false));
    }

    #[test]
    fn tabs_stop_at_tab_stops_and_the_last_column() {
        let mut row = PeerRow::default();
        row.push(Glyph::Char('a'), 12);
        row.push(Glyph::Tab, 12);
        assert_eq!(row.columns, 8);
        row.push(Glyph::Tab, 12);
        assert_eq!(row.columns, 11);
        assert!(row.fits(Glyph::Char('b'), 12));
        row.push(Glyph::Char('b'), 12);
        assert!(!row.fits(Glyph::Tab, 12));
    }
}
