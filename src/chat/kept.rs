//! The last rows of the conversation, kept to draw the screen again after the window narrows.
//!
//! A terminal that re-wraps rows when its window narrows (tmux, VTE, kitty, WezTerm) splits a
//! row wider than the new width in two, and the second half starts a row of its own: a peer row
//! of `| ` and padding, then `tete: the peer left`, would then read as tete's own line. The
//! chat cannot undo that in the terminal's scrollback, but it can draw the screen itself again
//! from what it keeps here: the newest rows, each split at the new width after its own mark.
//!
//! Memory is bounded: at most [`MAX_ROWS`] rows and [`MAX_GLYPHS`] glyphs in all (a screen's
//! worth on any common terminal); the oldest go first.

use std::collections::VecDeque;

use super::row::{Row, split_row};

/// The most rows kept: taller than any common terminal.
const MAX_ROWS: usize = 500;
/// The most glyphs kept in all: 500 rows of 130 columns.
const MAX_GLYPHS: usize = 64 * 1024;

#[derive(Default)]
pub struct Kept {
    /// Each row, and whether it is the first of its line.
    rows: VecDeque<(Row, bool)>,
    glyphs: usize,
}

impl Kept {
    /// Keeps `row` (`first`: the first row of its line), dropping the oldest beyond the bounds.
    pub fn push(&mut self, row: Row, first: bool) {
        self.glyphs += row.len();
        self.rows.push_back((row, first));
        while self.rows.len() > MAX_ROWS || self.glyphs > MAX_GLYPHS {
            let Some((oldest, _)) = self.rows.pop_front() else {
                break;
            };
            self.glyphs -= oldest.len();
        }
    }

    /// The newest `count` rows as a terminal `width` columns wide shows them, oldest first:
    /// the rows kept, each split where it is wider, the mark repeated as on its own rows.
    pub fn tail(&self, width: usize, count: usize) -> Vec<(Row, bool)> {
        let mut tail = Vec::new();
        let mut split = Vec::new();
        for (row, first) in self.rows.iter().rev() {
            if tail.len() >= count {
                break;
            }
            split.clear();
            split_row(row, *first, width, &mut split);
            tail.extend(split.drain(..).rev());
        }
        tail.truncate(count);
        tail.reverse();
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::super::row::Mark;
    use super::super::sanitize::Glyph;
    use super::*;

    fn row(mark: Mark, text: &str) -> Row {
        let mut row = Row::new(mark);
        for c in text.chars() {
            row.push(Glyph::Char(c), usize::MAX);
        }
        row
    }

    fn shown(rows: &[(Row, bool)]) -> Vec<String> {
        rows.iter()
            .map(|(row, first)| {
                let mut out = Vec::new();
                row.render(*first, false, &mut out);
                String::from_utf8(out).expect("UTF-8")
            })
            .collect()
    }

    #[test]
    fn rows_are_split_after_their_own_mark() {
        let mut kept = Kept::default();
        kept.push(
            row(Mark::Peer, "see you tomorrow          tete: left"),
            true,
        );
        kept.push(row(Mark::Sent, "a sent line"), true);
        kept.push(row(Mark::Status, "one of tete's own"), true);
        assert_eq!(
            shown(&kept.tail(20, 10)),
            [
                "| see you tomorrow  ",
                "|         tete: left",
                "> a sent line",
                "tete: one of tete's ",
                "      own"
            ]
        );
        // Only the newest rows that fit.
        assert_eq!(
            shown(&kept.tail(20, 2)),
            ["tete: one of tete's ", "      own"]
        );
        assert_eq!(shown(&kept.tail(80, 1)), ["tete: one of tete's own"]);
    }

    #[test]
    fn memory_is_bounded() {
        let mut kept = Kept::default();
        for _ in 0..10_000 {
            kept.push(row(Mark::Peer, &"x".repeat(200)), true);
        }
        assert!(kept.glyphs <= MAX_GLYPHS && kept.rows.len() <= MAX_ROWS);
        assert_eq!(kept.tail(202, 1000).len(), MAX_GLYPHS / 200);
    }
}
