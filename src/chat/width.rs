//! How many columns a terminal gives a piece of text.
//!
//! Terminals disagree about some characters. Those that lay text out one code point at a time
//! (xterm, VTE, tmux, the Linux console, and readline's own arithmetic) add up each code
//! point's width, so a thumbs-up with a skin tone takes four columns; newer ones (kitty,
//! WezTerm, iTerm2) draw the whole cluster in two, and draw a character followed by
//! VARIATION SELECTOR-16 two columns wide. The chat counts the wider way: code point by code
//! point, with VARIATION SELECTOR-16 as one column. A row it lays out is then never wider than
//! it thinks, only at worst a little narrower, so it never wraps unseen; and the live area is
//! drawn with autowrap off besides, so a miscount can shift the cursor but never add a row.

use unicode_width::UnicodeWidthChar;

/// The columns of `c`, a printable character (TAB and controls are the caller's to handle).
pub fn char_columns(c: char) -> usize {
    match c {
        '\u{fe0f}' => 1,
        c => c.width().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_columns(text: &str) -> usize {
        text.chars().map(char_columns).sum()
    }

    #[test]
    fn counts_the_wider_way() {
        assert_eq!(text_columns("a中"), 3);
        assert_eq!(text_columns("e\u{301}"), 1);
        assert_eq!(text_columns("👍🏽"), 4);
        assert_eq!(text_columns("\u{2764}\u{fe0f}"), 2);
    }
}
