//! The line being typed: its text, the cursor, and the lines sent before (for Up and Down).
//!
//! The cursor moves and deletes by whole characters as a person sees them (grapheme clusters:
//! a Chinese character, an emoji with its modifiers, a letter with its accents), never by byte
//! or code point, so an edit cannot leave half a character behind. Memory is bounded: a line
//! holds at most [`MAX_LINE`] bytes (a character that would not fit is refused, and the chat
//! then refuses the whole line), and the history at most [`HISTORY_LINES`] lines and
//! [`HISTORY_BYTES`] bytes.

use std::collections::VecDeque;

use unicode_segmentation::UnicodeSegmentation;

use super::sanitize::{Glyph, text_glyphs};
use super::width::char_columns;

/// The longest line, in bytes of UTF-8.
pub const MAX_LINE: usize = 64 * 1024;
/// How many sent lines Up can bring back.
pub const HISTORY_LINES: usize = 100;
/// How many bytes those lines may hold together.
pub const HISTORY_BYTES: usize = 256 * 1024;

#[derive(Default)]
pub struct Editor {
    line: String,
    /// A byte offset into `line`, always on a character boundary.
    cursor: usize,
    /// Sent lines, oldest first.
    history: VecDeque<String>,
    history_bytes: usize,
    /// While going through the history: which entry is shown, and the line that was being
    /// typed before Up was first pressed.
    browsing: Option<(usize, String)>,
}

impl Editor {
    pub fn line(&self) -> &str {
        &self.line
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Inserts `c` at the cursor; false, and nothing inserted, if the line is full.
    pub fn insert(&mut self, c: char) -> bool {
        let fits = self.line.len() + c.len_utf8() <= MAX_LINE;
        if fits {
            self.line.insert(self.cursor, c);
            self.cursor += c.len_utf8();
        }
        fits
    }

    /// Empties the line, and forgets it.
    pub fn discard(&mut self) {
        self.browsing = None;
        self.cursor = 0;
        self.line.clear();
    }

    pub fn backspace(&mut self) {
        let start = self.previous_boundary();
        self.line.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    pub fn delete(&mut self) {
        let end = self.next_boundary();
        self.line.replace_range(self.cursor..end, "");
    }

    pub fn left(&mut self) {
        self.cursor = self.previous_boundary();
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary();
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.line.len();
    }

    /// Ctrl-U: deletes from the start of the line to the cursor.
    pub fn kill_to_start(&mut self) {
        self.line.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    /// Ctrl-W: deletes the word before the cursor and the blanks after it, as a terminal's
    /// own line discipline does (a word is anything between blanks).
    pub fn kill_word(&mut self) {
        let before = &self.line[..self.cursor];
        let word_end = before.trim_end().len();
        let start = before[..word_end]
            .rfind(char::is_whitespace)
            .map_or(0, |blank| {
                blank + before[blank..].chars().next().map_or(1, char::len_utf8)
            });
        self.line.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Up: shows the sent line before the one shown.
    pub fn older(&mut self) {
        let index = match &self.browsing {
            Some((0, _)) => return,
            Some((index, _)) => index - 1,
            None if self.history.is_empty() => return,
            None => {
                let draft = std::mem::take(&mut self.line);
                self.browsing = Some((self.history.len(), draft));
                self.history.len() - 1
            }
        };
        self.show_history(index);
    }

    /// Down: shows the sent line after the one shown, or the line being typed before Up.
    pub fn newer(&mut self) {
        let Some((index, _)) = &self.browsing else {
            return;
        };
        let index = index + 1;
        if index < self.history.len() {
            self.show_history(index);
        } else if let Some((_, draft)) = self.browsing.take() {
            self.line = draft;
            self.cursor = self.line.len();
        }
    }

    /// Takes the line to send: the editor is left empty, and the line goes in the history.
    pub fn take(&mut self) -> String {
        self.browsing = None;
        self.cursor = 0;
        let line = std::mem::take(&mut self.line);
        self.remember(&line);
        line
    }

    fn show_history(&mut self, index: usize) {
        if let (Some((shown, _)), Some(entry)) = (&mut self.browsing, self.history.get(index)) {
            *shown = index;
            self.line.clone_from(entry);
            self.cursor = self.line.len();
        }
    }

    fn remember(&mut self, line: &str) {
        if line.is_empty() || self.history.back().is_some_and(|last| last == line) {
            return;
        }
        self.history.push_back(line.to_owned());
        self.history_bytes += line.len();
        while self.history.len() > HISTORY_LINES || self.history_bytes > HISTORY_BYTES {
            let Some(oldest) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= oldest.len();
        }
    }

    fn previous_boundary(&self) -> usize {
        let before = &self.line[..self.cursor];
        before
            .graphemes(true)
            .next_back()
            .map_or(0, |grapheme| self.cursor - grapheme.len())
    }

    fn next_boundary(&self) -> usize {
        let after = &self.line[self.cursor..];
        after
            .graphemes(true)
            .next()
            .map_or(self.cursor, |grapheme| self.cursor + grapheme.len())
    }
}

/// How many columns one grapheme of the line takes as the input line shows it: as
/// [`char_columns`] counts its characters, the width of the escaped form for those shown
/// escaped ([`text_glyphs`]), and 1 for a TAB (shown as a single space).
pub fn grapheme_columns(grapheme: &str) -> usize {
    let mut columns = 0;
    text_glyphs(grapheme, &mut |glyph| {
        columns += match glyph {
            Glyph::Char(c) => char_columns(c),
            Glyph::Escaped(escape) => escape.as_str().len(),
            Glyph::Tab | Glyph::LineEnd => 1,
        }
    });
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Editor {
        let mut editor = Editor::default();
        text.chars().for_each(|c| {
            editor.insert(c);
        });
        editor
    }

    fn type_into(editor: &mut Editor, text: &str) {
        text.chars().for_each(|c| {
            editor.insert(c);
        });
    }

    #[test]
    fn insert_and_move_by_whole_characters() {
        let mut editor = typed("a中👍🏽é");
        editor.left();
        editor.left();
        assert_eq!(&editor.line()[editor.cursor()..], "👍🏽é");
        editor.backspace();
        assert_eq!(editor.line(), "a👍🏽é");
        editor.delete();
        assert_eq!(editor.line(), "aé");
        editor.insert('b');
        editor.home();
        editor.insert('>');
        editor.end();
        editor.backspace();
        assert_eq!(editor.line(), ">ab");
        editor.right();
        editor.insert('!');
        assert_eq!(editor.line(), ">ab!");
        // At the ends nothing moves or is deleted.
        editor.delete();
        editor.home();
        editor.left();
        editor.backspace();
        assert_eq!((editor.line(), editor.cursor()), (">ab!", 0));
    }

    #[test]
    fn kill_to_start_and_kill_word() {
        let mut editor = typed("one two  three");
        editor.left();
        editor.left();
        editor.kill_to_start();
        assert_eq!((editor.line(), editor.cursor()), ("ee", 0));

        let mut editor = typed("one 中文 two  ");
        editor.kill_word();
        assert_eq!(editor.line(), "one 中文 ");
        editor.kill_word();
        assert_eq!(editor.line(), "one ");
        editor.kill_word();
        assert_eq!(editor.line(), "");
        editor.kill_word();
        assert_eq!(editor.line(), "");
    }

    #[test]
    fn history_goes_back_and_returns_to_the_draft() {
        let mut editor = typed("first");
        assert_eq!(editor.take(), "first");
        type_into(&mut editor, "second");
        editor.take();
        type_into(&mut editor, "second");
        editor.take(); // A repeat is remembered once.
        type_into(&mut editor, "draft");
        editor.older();
        assert_eq!(editor.line(), "second");
        editor.older();
        assert_eq!(editor.line(), "first");
        editor.older();
        assert_eq!(editor.line(), "first");
        editor.insert('!');
        editor.newer();
        assert_eq!(editor.line(), "second");
        editor.newer();
        assert_eq!((editor.line(), editor.cursor()), ("draft", 5));
        editor.newer();
        assert_eq!(editor.line(), "draft");
        // An edited entry is sent as edited; the history keeps the original too.
        editor.older();
        editor.older();
        editor.insert('!');
        assert_eq!(editor.take(), "first!");
        editor.older();
        assert_eq!(editor.line(), "first!");
        editor.older();
        assert_eq!(editor.line(), "second");
    }

    #[test]
    fn memory_is_bounded() {
        let mut editor = typed(&"x".repeat(MAX_LINE - 1));
        assert!(!editor.insert('é'));
        assert!(editor.insert('x'));
        assert!(!editor.insert('x'));
        assert_eq!(editor.line().len(), MAX_LINE);
        editor.discard();
        assert_eq!((editor.line(), editor.cursor()), ("", 0));
        editor.older();
        assert_eq!(editor.line(), "", "a discarded line is not in the history");
        for n in 0..HISTORY_LINES + 10 {
            type_into(&mut editor, &n.to_string());
            editor.take();
        }
        assert_eq!(editor.history.len(), HISTORY_LINES);
        for _ in 0..10 {
            type_into(&mut editor, &"y".repeat(MAX_LINE));
            editor.take();
        }
        assert!(editor.history_bytes <= HISTORY_BYTES);
        assert_eq!(
            editor.history_bytes,
            editor.history.iter().map(String::len).sum()
        );
    }
}
