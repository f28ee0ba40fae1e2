//! Rows of text, each marked with whose it is, and the peer's unfinished row.
//!
//! Every row the chat writes starts with a mark that tete draws and the peer's bytes can never
//! produce, because the peer's text only ever comes after one, on a row the chat ends itself
//! (a row never holds more than the terminal's width, and rows are written with autowrap off,
//! so that a character the terminal draws wider than the chat counts is cut at the right edge
//! instead of carrying the peer's text to the start of the next row):
//! - `| ` before every row of the peer's text, continuation rows too;
//! - `> ` before a line you sent (the input line's prompt), its continuation rows indented as
//!   far;
//! - `tete: ` before tete's own status lines, their continuation rows indented as far;
//! - `-- ` before the presence row above the input line (who is, or is not, there).
//!
//! The marks differ in their first character, so they tell the rows apart without colour (with
//! `NO_COLOR`, or `TERM=dumb`); with colour, the peer's bar is cyan, your lines are dim and
//! tete's own are bold. Escapes in the text are in reverse video with colour.
//!
//! Text from the peer is shown as soon as it arrives, newline or not (a `login: ` prompt must be
//! visible at once), so the last row of the peer's text is drawn below the conversation, above
//! the input line, and redrawn as it grows ([`Row`]). The chat has to know how many terminal
//! rows that takes to erase it again, so a row never holds more than the terminal's width: a
//! glyph that would not fit ends the row and starts the next one (see [`Row::fits`]). A row
//! also never holds more than `width + ZERO_WIDTH_ALLOWANCE` glyphs, so a flood of zero-width
//! characters cannot grow it either.
//!
//! Zero-width characters (combining accents, vowel signs, enclosing circles) are drawn on the
//! character before them, and some terminals (VTE builds among them) do not clip them to its
//! cell: a tall stack of accents, or an enclosing mark, can be drawn over the rows around it
//! and hide a `tete:` row there. So at most [`MARKS_PER_BASE`] follow one character of the
//! peer's (real text needs up to 4: Vietnamese stacks 2 on a vowel, Hindi and Tibetan a few,
//! Hebrew with its points and cantillation 4; "Zalgo" text stacks hundreds), and each one
//! beyond is shown escaped, `\u{301}`, as the characters the chat hides are ([`Row::shown`]):
//! nothing is dropped unseen, and a flood reads as what it is. A zero-width character with no
//! character of the row's own text before it (at the start of a row, a continuation row's
//! too, after a TAB or an escape) is shown escaped as well, so that it never lands on a mark
//! tete draws or the space after it.

use super::sanitize::{Escape, Glyph, text_glyphs};
use super::width::char_columns;

/// How many glyphs beyond one per column a row may hold (combining accents and the like).
const ZERO_WIDTH_ALLOWANCE: usize = 256;
/// How many zero-width characters may follow one character drawn as itself; the rest are
/// shown escaped.
pub const MARKS_PER_BASE: usize = 8;
/// Tab stops, as terminals set them by default.
const TAB_STOP: usize = 8;

/// Reverse video, which the peer cannot produce itself, sets escaped bytes apart from text.
const ESCAPE_STYLE: &[u8] = b"\x1b[7m";
const ESCAPE_STYLE_END: &[u8] = b"\x1b[27m";
const PEER_BAR: &[u8] = b"\x1b[36m|\x1b[39m ";
const DIM: &[u8] = b"\x1b[2m";
const BOLD: &[u8] = b"\x1b[1m";
const INTENSITY_END: &[u8] = b"\x1b[22m";

/// Whose a row is, as its mark and style say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The peer's text.
    Peer,
    /// A line you sent.
    Sent,
    /// One of tete's status lines.
    Status,
    /// The presence row, in the live area.
    Presence,
}

impl Mark {
    /// The mark's text on the first row of a line, or on the rows after.
    fn text(self, first: bool) -> &'static str {
        match (self, first) {
            (Mark::Peer, _) => "| ",
            (Mark::Sent, true) => "> ",
            (Mark::Status, true) => "tete: ",
            (Mark::Presence, _) => "-- ",
            (Mark::Sent, false) => "  ",
            (Mark::Status, false) => "      ",
        }
    }

    /// The columns the mark takes: where the text starts.
    pub fn indent(self) -> usize {
        self.text(true).len()
    }

    fn style(self) -> &'static [u8] {
        match self {
            Mark::Peer => b"",
            Mark::Sent => DIM,
            Mark::Status | Mark::Presence => BOLD,
        }
    }

    fn style_end(self) -> &'static [u8] {
        match self {
            Mark::Peer => b"",
            Mark::Sent | Mark::Status | Mark::Presence => INTENSITY_END,
        }
    }
}

/// One row's text, after its mark.
#[derive(Clone, Debug)]
pub struct Row {
    mark: Mark,
    /// Never [`Glyph::LineEnd`].
    glyphs: Vec<Glyph>,
    /// The row's columns so far, its mark's included.
    columns: usize,
}

impl Row {
    pub fn new(mark: Mark) -> Row {
        Row {
            mark,
            glyphs: Vec::new(),
            columns: mark.indent(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// How many glyphs the row holds.
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    /// The columns the row takes, its mark's included.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The row's glyphs from the `start`th on.
    pub fn glyphs_from(&self, start: usize) -> &[Glyph] {
        self.glyphs.get(start..).unwrap_or(&[])
    }

    /// True if `glyph` can be added on a terminal `width` columns wide, as [`Row::shown`]
    /// shows it. An empty row takes any glyph, even one wider than the terminal (an escape on a
    /// terminal a few columns wide); a zero-width character goes on the character before it,
    /// even in the last column.
    pub fn fits(&self, glyph: Glyph, width: usize) -> bool {
        let glyph = self.shown(glyph);
        if self.is_empty() {
            return true;
        }
        if self.glyphs.len() >= width + ZERO_WIDTH_ALLOWANCE {
            return false;
        }
        if matches!(glyph, Glyph::Char(c) if char_columns(c) == 0) {
            return true;
        }
        self.columns < width && self.columns + columns(glyph, self.columns, width) <= width
    }

    /// Adds `glyph` as [`Row::shown`] shows it; it must fit (or the row show more than `width`
    /// columns).
    pub fn push(&mut self, glyph: Glyph, width: usize) {
        let glyph = self.shown(glyph);
        self.columns += columns(glyph, self.columns, width);
        self.glyphs.push(glyph);
    }

    /// `glyph` as it is shown next on this row: a zero-width character escaped if it has no
    /// character of the row's to go on (at the row's start, after a TAB or an escape), or if
    /// [`MARKS_PER_BASE`] already go on that one.
    pub fn shown(&self, glyph: Glyph) -> Glyph {
        let Glyph::Char(c) = glyph else {
            return glyph;
        };
        if char_columns(c) != 0 {
            return glyph;
        }
        let marks = self.trailing_marks(self.glyphs.len());
        let base = self.glyphs.len().checked_sub(marks + 1);
        match base.map(|base| self.glyphs[base]) {
            Some(Glyph::Char(_)) if marks < MARKS_PER_BASE => glyph,
            _ => Glyph::Escaped(Escape::of(c)),
        }
    }

    /// How many zero-width characters the first `len` glyphs end in (at most
    /// [`MARKS_PER_BASE`], after a character).
    pub fn trailing_marks(&self, len: usize) -> usize {
        self.glyphs[..len]
            .iter()
            .rev()
            .take_while(|glyph| matches!(glyph, Glyph::Char(c) if char_columns(*c) == 0))
            .count()
    }

    /// Takes off the word the row ends in, after its last space (which goes too), to start the
    /// next row with it; nothing if the row has no space after its first glyph.
    fn take_last_word(&mut self) -> Vec<Glyph> {
        let Some(space) = self
            .glyphs
            .iter()
            .rposition(|&glyph| glyph == Glyph::Char(' '))
        else {
            return Vec::new();
        };
        if space == 0 {
            return Vec::new();
        }
        let word = self.glyphs.split_off(space + 1);
        self.glyphs.truncate(space);
        let glyphs = self.take();
        for glyph in glyphs {
            self.push(glyph, usize::MAX);
        }
        word
    }

    /// The column where the `index`th glyph starts, the mark's columns included.
    pub fn column_of(&self, index: usize, width: usize) -> usize {
        self.glyphs[..index]
            .iter()
            .fold(self.mark.indent(), |column, &glyph| {
                column + columns(glyph, column, width)
            })
    }

    /// Empties the row, giving back its glyphs (to lay them out again at another width).
    pub fn take(&mut self) -> Vec<Glyph> {
        self.columns = self.mark.indent();
        std::mem::take(&mut self.glyphs)
    }

    /// Writes the row, mark and text, without a line end; `first`: the first row of its line.
    pub fn render(&self, first: bool, color: bool, out: &mut Vec<u8>) {
        if color {
            out.extend(self.mark.style());
        }
        match self.mark {
            Mark::Peer if color => out.extend(PEER_BAR),
            mark => out.extend(mark.text(first).as_bytes()),
        }
        render_glyphs(&self.glyphs, color, out);
        if color {
            out.extend(self.mark.style_end());
        }
    }
}

/// Writes `glyphs`; with `color`, escapes in reverse video, a run of them in one (a flood of
/// invalid bytes costs 4 bytes each, not 13).
pub fn render_glyphs(glyphs: &[Glyph], color: bool, out: &mut Vec<u8>) {
    let mut escaping = false;
    for &glyph in glyphs {
        let escape = matches!(glyph, Glyph::Escaped(_));
        if color && escape != escaping {
            out.extend(if escape {
                ESCAPE_STYLE
            } else {
                ESCAPE_STYLE_END
            });
            escaping = escape;
        }
        render_glyph(glyph, false, out);
    }
    if escaping {
        out.extend(ESCAPE_STYLE_END);
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

/// Writes `text`, one of your lines or one of tete's own (`mark`), in as many rows as it takes
/// on a terminal `width` columns wide, each ended by CR LF, and returns those rows (the first
/// is the line's first). tete's own lines break between words where they can; yours, like the
/// peer's, where the row is full.
pub fn write_line(
    mark: Mark,
    text: &str,
    width: usize,
    color: bool,
    out: &mut Vec<u8>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut row = Row::new(mark);
    text_glyphs(text, &mut |glyph| {
        if !row.fits(glyph, width) {
            let next_word = match mark {
                Mark::Status => row.take_last_word(),
                _ => Vec::new(),
            };
            rows.push(std::mem::replace(&mut row, Row::new(mark)));
            for glyph in next_word {
                row.push(glyph, width);
            }
        }
        row.push(glyph, width);
    });
    rows.push(row);
    for (n, row) in rows.iter().enumerate() {
        row.render(n == 0, color, out);
        out.extend(b"\r\n");
    }
    rows
}

/// Splits `row` into rows that each fit a terminal `width` columns wide (the row itself, if it
/// does), continuing it after the same mark; `first`: the row is the first of its line.
pub fn split_row(row: &Row, first: bool, width: usize, out: &mut Vec<(Row, bool)>) {
    if row.columns <= width {
        out.push((row.clone(), first));
        return;
    }
    let mut part = Row::new(row.mark);
    let mut part_first = first;
    for &glyph in &row.glyphs {
        if !part.fits(glyph, width) {
            out.push((std::mem::replace(&mut part, Row::new(row.mark)), part_first));
            part_first = false;
        }
        part.push(glyph, width);
    }
    out.push((part, part_first));
}

/// Writes `text` as the presence row: one row, cut at `width - 1` columns (the last column
/// stays empty, as on the input line), without a line end; returns the columns it takes.
pub fn write_presence(text: &str, width: usize, color: bool, out: &mut Vec<u8>) -> usize {
    let room = width.saturating_sub(1);
    let mut row = Row::new(Mark::Presence);
    let mut full = false;
    text_glyphs(text, &mut |glyph| {
        let glyph = row.shown(glyph);
        full = full || row.columns + columns(glyph, row.columns, room) > room;
        if !full {
            row.push(glyph, room);
        }
    });
    row.render(true, color, out);
    row.columns
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

    /// The columns of the row `text` fills, its mark's included, and whether all of it fit.
    fn row_of(mark: Mark, text: &str, width: usize) -> (usize, bool) {
        let mut row = Row::new(mark);
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
        assert_eq!(row_of(Mark::Peer, "abcd", 6), (6, true));
        assert_eq!(row_of(Mark::Peer, "abcde", 6), (6, false));
        // A wide character does not start in the last column.
        assert_eq!(row_of(Mark::Peer, "abc中", 6), (5, false));
        // ❤️ may be drawn two columns wide: counted so (see `width`).
        assert_eq!(row_of(Mark::Peer, "ab\u{2764}\u{fe0f}", 6), (6, true));
        assert_eq!(row_of(Mark::Peer, "abc\u{2764}\u{fe0f}", 6), (6, false));
        assert_eq!(row_of(Mark::Status, "abcd", 10), (10, true));
    }

    #[test]
    fn tabs_stop_at_tab_stops_and_the_last_column() {
        let mut row = Row::new(Mark::Peer);
        row.push(Glyph::Char('a'), 12);
        row.push(Glyph::Tab, 12);
        assert_eq!(row.columns, 8);
        row.push(Glyph::Tab, 12);
        assert_eq!(row.columns, 11);
        assert!(row.fits(Glyph::Char('b'), 12));
        row.push(Glyph::Char('b'), 12);
        assert!(!row.fits(Glyph::Tab, 12));
    }

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_are_marked_on_every_row() {
        let cases = [
            (Mark::Sent, "abcdefg", 6, "> abcd\r\n  efg\r\n"),
            (Mark::Sent, "", 6, "> \r\n"),
            (Mark::Status, "abcdef", 9, "tete: abc\r\n      def\r\n"),
            // tete's own lines break between words; yours where the row is full.
            (
                Mark::Status,
                "is gone: the connection broke",
                30,
                "tete: is gone: the connection\r\n      broke\r\n",
            ),
            (
                Mark::Sent,
                "is gone: the connection broke",
                20,
                "> is gone: the conne\r\n  ction broke\r\n",
            ),
            // Escaped characters are never split, and nothing raw gets through.
            (
                Mark::Status,
                "a\u{202e}b",
                12,
                "tete: a\r\n      \\u{202e}\r\n      b\r\n",
            ),
        ];
        for (mark, text, width, expected) in cases {
            let shown = written(|out| {
                write_line(mark, text, width, false, out);
            });
            assert_eq!(shown, expected, "{mark:?} {text:?} at {width}");
        }
        assert_eq!(peer_row_of_x(false), "| x");
    }

    fn peer_row_of_x(color: bool) -> String {
        written(|out| {
            let mut row = Row::new(Mark::Peer);
            row.push(Glyph::Char('x'), 10);
            row.render(false, color, out);
        })
    }

    #[test]
    fn with_color_each_mark_has_its_style() {
        let line = |mark, text| {
            written(|out| {
                write_line(mark, text, 20, true, out);
            })
        };
        assert_eq!(line(Mark::Sent, "hi"), "\x1b[2m> hi\x1b[22m\r\n");
        assert_eq!(line(Mark::Status, "hi"), "\x1b[1mtete: hi\x1b[22m\r\n");
        assert_eq!(peer_row_of_x(true), "\x1b[36m|\x1b[39m x");
    }

    #[test]
    fn the_presence_row_is_cut_to_fit() {
        let presence = |text, width| {
            written(|out| {
                write_presence(text, width, false, out);
            })
        };
        assert_eq!(presence("waiting", 20), "-- waiting");
        assert_eq!(presence("waiting for a partner", 12), "-- waiting ");
        assert_eq!(presence("a\u{200b}b", 9), "-- a");
        assert_eq!(presence("abc", 2), "-- ");
    }
}
