//! Which characters the chat draws as themselves, and which it shows only escaped.
//!
//! A terminal obeys control characters; it also lays text out by characters that are never
//! seen. Bidi overrides and isolates reorder what follows them, so that a peer can make a line
//! read backwards or move a word to the other end of it; zero-width spaces and joiners, the
//! soft hyphen, the byte order mark and tag characters take no column in one terminal and one
//! in another (a ZWJ makes tmux drop the first character of the next row); a line separator may
//! start a new row. So these never reach the terminal raw: they are shown escaped, `\u{202e}`,
//! as controls are:
//! - controls (general category Cc);
//! - format characters (Cf): U+00AD, U+061C, U+200B-200F, U+202A-202E, U+2060-2064,
//!   U+2066-206F, U+FEFF, U+FFF9-FFFB, the tag characters U+E0001 and U+E0020-E007F, and the
//!   rest of the category;
//! - the line and paragraph separators (Zl, Zp: U+2028, U+2029);
//! - code points with no character assigned (Cn) in the tables tete was built with, which a
//!   newer terminal may know as format characters;
//! - the other default-ignorable code points, which fonts draw as nothing: the combining
//!   grapheme joiner U+034F, the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), Khmer's
//!   inherent vowels (U+17B4, U+17B5), Mongolian's variation selectors (U+180B-180F), and the
//!   variation selectors U+FE00-FE0F and U+E0100-E01EF.
//!
//! Except one case: VARIATION SELECTOR-15 or -16 right after an emoji stays, as it chooses
//! whether that emoji is drawn as text or as a picture. It changes nothing else: it moves no
//! text, it hides at most itself (one selector, after an emoji anyone sees), and the chat
//! counts the emoji at its wider form ([`super::width`]). A second selector, or one after
//! anything else (where it can carry hidden text), is escaped.
//!
//! The categories come from `unicode-properties`, of the unicode-rs project (as the widths and
//! the grapheme clusters do), kept up to date with each Unicode version, rather than from a
//! table kept here.

use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};

/// True if `c` is drawn as itself; `after_emoji`: the character before it, drawn as itself, is
/// an emoji (see [`takes_selector`]). TAB and LF are the callers' to handle before this.
pub fn is_shown(c: char, after_emoji: bool) -> bool {
    match c {
        '\u{fe0e}' | '\u{fe0f}' => after_emoji,
        '\u{034f}'
        | '\u{115f}'
        | '\u{1160}'
        | '\u{17b4}'
        | '\u{17b5}'
        | '\u{180b}'..='\u{180f}'
        | '\u{3164}'
        | '\u{fe00}'..='\u{fe0d}'
        | '\u{ffa0}'
        | '\u{e0000}'..='\u{e0fff}' => false,
        c => !matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::Unassigned
                | GeneralCategory::Surrogate
        ),
    }
}

/// True if a presentation selector (VS15, VS16) may follow `c`, itself drawn as itself: `c` is
/// an emoji (ASCII digits, `#` and `*` count, as keycaps' first character).
pub fn takes_selector(c: char) -> bool {
    c.is_emoji_char()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_invisible_characters_are_not_shown() {
        let hidden = [
            '\u{202e}',
            '\u{202d}',
            '\u{202a}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{00ad}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{2028}',
            '\u{2029}',
            '\u{034f}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{180e}',
            '\u{fe00}',
            '\u{e0100}',
            '\u{fff9}',
            '\u{0600}',
            '\u{1b}',
            '\u{9b}',
            '\u{ffff}',
        ];
        for c in hidden {
            assert!(!is_shown(c, false), "U+{:04X} shown", u32::from(c));
            assert!(!is_shown(c, true), "U+{:04X} shown", u32::from(c));
        }
        for c in [
            'a',
            ' ',
            '中',
            'é',
            '\u{301}',
            '👍',
            '\u{1f3fd}',
            '\u{20e3}',
            '\u{a0}',
        ] {
            assert!(is_shown(c, false), "U+{:04X} hidden", u32::from(c));
        }
    }

    #[test]
    fn presentation_selectors_only_after_an_emoji() {
        assert!(takes_selector('\u{2764}') && takes_selector('1') && takes_selector('👍'));
        assert!(!takes_selector('a') && !takes_selector('中') && !takes_selector('\u{fe0f}'));
        assert!(is_shown('\u{fe0f}', true) && is_shown('\u{fe0e}', true));
        assert!(!is_shown('\u{fe0f}', false) && !is_shown('\u{fe0e}', false));
    }

    /// The crate's tables cover every code point: no lookup can fail on what a peer sends.
    #[test]
    fn every_character_has_an_answer() {
        let shown = ('\0'..=char::MAX)
            .filter(|&c| is_shown(c, takes_selector(c)))
            .count();
        assert!(shown > 100_000, "{shown}");
    }
}
