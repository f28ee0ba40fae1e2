//! Turning the peer's bytes into text that cannot drive the terminal.
//!
//! A terminal obeys control characters: ESC starts sequences that clear the screen, move the
//! cursor, retitle the window or worse; BEL rings; CR and BS overwrite what is shown; the C1
//! code points (U+0080 to U+009F) are sequence starters too on some terminals. Format characters
//! reorder or hide text without being seen ([`super::visible`]). In chat mode the peer's bytes
//! pass through here and only characters drawn as themselves, TAB and line ends come out;
//! everything else comes out as a visible escape, plain ASCII:
//! - C0 controls and DEL in caret notation, as `cat -v` writes them: ESC is `^[`, BEL `^G`,
//!   CR `^M`, BS `^H`, DEL `^?`;
//! - the other characters not drawn as themselves (C1, format characters, ...) as `\u{9b}`,
//!   `\u{202e}`;
//! - each byte that is not part of valid UTF-8 as `\xff`.
//!
//! LF ends a line, and so does CR LF (peers using `-C`, and many servers, end lines that way);
//! a CR followed by anything else is shown as `^M`. A character split across reads is put back
//! together. Nothing here depends on the terminal; the screen decides how escapes look. tete's
//! own text (the lines typed, its status lines) is shown through the same rules
//! ([`text_glyphs`]), so that a pasted character cannot garble the screen either.

use super::utf8::{Decoded, Utf8};
use super::visible::{is_shown, takes_selector};

/// One unit of the peer's text, as it will be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glyph {
    /// A printable character (possibly zero-width or wide).
    Char(char),
    Tab,
    /// A control character or an invalid byte, in its visible form.
    Escaped(Escape),
    /// The end of a line.
    LineEnd,
}

/// The visible form of one character or invalid byte: at most 10 ASCII characters
/// (`\u{10ffff}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escape {
    text: [u8; ESCAPE_MAX],
    len: u8,
}

const ESCAPE_MAX: usize = 10;

impl Escape {
    fn new(text: &[u8]) -> Escape {
        let mut escape = Escape {
            text: [0; ESCAPE_MAX],
            len: text.len() as u8,
        };
        escape.text[..text.len()].copy_from_slice(text);
        escape
    }

    /// The escape of a character not drawn as itself.
    pub fn of(c: char) -> Escape {
        match u32::from(c) {
            0x7f => Escape::new(b"^?"),
            code @ 0..0x20 => Escape::new(&[b'^', code as u8 + 0x40]),
            _ => {
                // `\u{202e}`: Rust's own notation, lowercase, at most 10 characters.
                let mut text = [0; ESCAPE_MAX];
                let mut len = 0;
                for (slot, byte) in text.iter_mut().zip(c.escape_unicode().map(|c| c as u8)) {
                    *slot = byte;
                    len += 1;
                }
                Escape::new(&text[..len])
            }
        }
    }

    fn byte(byte: u8) -> Escape {
        let [high, low] = hex(byte);
        Escape::new(&[b'\\', b'x', high, low])
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII.
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or("?")
    }
}

/// The peer's text decoder: a character begun in one read and a CR whose meaning depends on
/// the next byte are all it holds between reads.
#[derive(Default)]
pub struct Sanitizer {
    utf8: Utf8,
    after_cr: bool,
    /// The last glyph was an emoji: a presentation selector may follow it.
    after_emoji: bool,
}

impl Sanitizer {
    /// Decodes `bytes`, passing each glyph to `out` in order.
    pub fn feed(&mut self, bytes: &[u8], out: &mut impl FnMut(Glyph)) {
        for &byte in bytes {
            let state = (&mut self.after_cr, &mut self.after_emoji);
            self.utf8
                .push(byte, &mut |decoded| glyphs(decoded, state.0, state.1, out));
        }
    }

    /// Shows what was held back waiting for more: an unfinished character and a last CR.
    pub fn flush(&mut self, out: &mut impl FnMut(Glyph)) {
        let (after_cr, after_emoji) = (&mut self.after_cr, &mut self.after_emoji);
        self.utf8
            .flush(&mut |decoded| glyphs(decoded, after_cr, after_emoji, out));
        if std::mem::take(after_cr) {
            out(Glyph::Escaped(Escape::of('\r')));
        }
        self.after_emoji = false;
    }
}

/// `bytes` from a peer (a proxy's reply, say) as one line of text for a terminal: by the
/// chat's own rules, every control, format or other invisible character and every byte that
/// is not UTF-8 escaped (`^[`, `\u{202e}`, `\xff`); TAB and line ends too (`^I`, `^J`).
pub fn escaped(bytes: &[u8]) -> String {
    let mut text = String::new();
    let mut out = |glyph| match glyph {
        Glyph::Char(c) => text.push(c),
        Glyph::Tab => text.push_str("^I"),
        Glyph::Escaped(escape) => text.push_str(escape.as_str()),
        Glyph::LineEnd => text.push_str("^J"),
    };
    let mut sanitizer = Sanitizer::default();
    sanitizer.feed(bytes, &mut out);
    sanitizer.flush(&mut out);
    text
}

/// The glyphs of tete's own `text` (a line typed, a status line): as the peer's would be, but
/// every character is one glyph (an LF too is escaped, as `^J`).
pub fn text_glyphs(text: &str, out: &mut impl FnMut(Glyph)) {
    let mut after_emoji = false;
    for c in text.chars() {
        out(glyph(c, &mut after_emoji));
    }
}

/// The glyph of one character of text, other than a line end.
fn glyph(c: char, after_emoji: &mut bool) -> Glyph {
    let previous = std::mem::take(after_emoji);
    if c == '\t' {
        Glyph::Tab
    } else if is_shown(c, previous) {
        *after_emoji = takes_selector(c);
        Glyph::Char(c)
    } else {
        Glyph::Escaped(Escape::of(c))
    }
}

fn glyphs(
    decoded: Decoded,
    after_cr: &mut bool,
    after_emoji: &mut bool,
    out: &mut impl FnMut(Glyph),
) {
    if decoded == Decoded::Char('\n') {
        *after_cr = false;
        *after_emoji = false;
        out(Glyph::LineEnd);
        return;
    }
    if std::mem::take(after_cr) {
        *after_emoji = false;
        out(Glyph::Escaped(Escape::of('\r')));
    }
    match decoded {
        Decoded::Char('\r') => *after_cr = true,
        Decoded::Char(c) => out(glyph(c, after_emoji)),
        Decoded::Invalid(byte) => {
            *after_emoji = false;
            out(Glyph::Escaped(Escape::byte(byte)));
        }
    }
}

fn hex(byte: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [
        DIGITS[usize::from(byte >> 4)],
        DIGITS[usize::from(byte & 0xf)],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The glyphs of `chunks` fed in turn, as text: escapes as their visible form.
    fn shown(chunks: &[&[u8]]) -> String {
        let mut sanitizer = Sanitizer::default();
        let mut text = String::new();
        let mut out = |glyph| match glyph {
            Glyph::Char(c) => text.push(c),
            Glyph::Tab => text.push('\t'),
            Glyph::Escaped(escape) => text.push_str(escape.as_str()),
            Glyph::LineEnd => text.push('\n'),
        };
        for chunk in chunks {
            sanitizer.feed(chunk, &mut out);
        }
        sanitizer.flush(&mut out);
        text
    }

    #[test]
    fn printable_text_tab_and_line_ends_pass() {
        assert_eq!(
            shown(&[b"hello\tworld\n\xe4\xb8\xad\n"]),
            "hello\tworld\n中\n"
        );
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(
            shown(&[b"\x1b]0;title\x07\x1b[2J\x08\x7f\x00"]),
            "^[]0;title^G^[[2J^H^?^@"
        );
        assert_eq!(shown(&["\u{9b}31m\u{85}".as_bytes()]), "\\u{9b}31m\\u{85}");
    }

    #[test]
    fn invalid_utf8_is_escaped_byte_by_byte() {
        assert_eq!(shown(&[b"a\xffb\xe4\xb8"]), "a\\xffb\\xe4\\xb8");
    }

    #[test]
    fn crlf_ends_a_line_and_a_lone_cr_is_shown() {
        assert_eq!(
            shown(&[b"one\r\ntwo\r", b"\nthree\rfour\r"]),
            "one\ntwo\nthree^Mfour^M"
        );
        assert_eq!(shown(&[b"\r\r\n"]), "^M\n");
    }

    #[test]
    fn characters_split_across_reads_are_reassembled() {
        assert_eq!(shown(&[b"\xe4", b"\xb8", b"\xad"]), "中");
    }

    #[test]
    fn format_characters_are_escaped() {
        assert_eq!(
            shown(&["a\u{202e}b\u{2066}\u{200d}\u{feff}\u{ad}\u{e0041}\u{2028}c".as_bytes()]),
            "a\\u{202e}b\\u{2066}\\u{200d}\\u{feff}\\u{ad}\\u{e0041}\\u{2028}c"
        );
        // The longest escape there is.
        assert_eq!(shown(&["\u{10ffff}".as_bytes()]), "\\u{10ffff}");
    }

    #[test]
    fn a_presentation_selector_stays_after_an_emoji_only() {
        assert_eq!(
            shown(&["\u{2764}\u{fe0f} 1\u{fe0f}\u{20e3}".as_bytes()]),
            "\u{2764}\u{fe0f} 1\u{fe0f}\u{20e3}"
        );
        // After a letter, a second selector, a line end or an escape: shown escaped.
        assert_eq!(
            shown(&["a\u{fe0f} \u{2764}\u{fe0f}\u{fe0f}\n\u{fe0f}\u{7}\u{fe0e}".as_bytes()]),
            "a\\u{fe0f} \u{2764}\u{fe0f}\\u{fe0f}\n\\u{fe0f}^G\\u{fe0e}"
        );
        // A character split across reads keeps its selector.
        assert_eq!(
            shown(&[b"\xe2\x9d", b"\xa4\xef", b"\xb8\x8f"]),
            "\u{2764}\u{fe0f}"
        );
    }

    #[test]
    fn a_line_for_stderr_is_escaped_whole() {
        assert_eq!(
            escaped("403 \u{202e}dlrow\u{2028}tete: x\r\n\t\x1b[2J\u{85}".as_bytes()),
            "403 \\u{202e}dlrow\\u{2028}tete: x^J^I^[[2J\\u{85}"
        );
        assert_eq!(escaped(b"\xe4\xb8"), "\\xe4\\xb8");
    }

    #[test]
    fn tetes_own_text_goes_by_the_same_rules() {
        let mut text = String::new();
        text_glyphs("a\tb\u{202e}\n\u{2764}\u{fe0f}", &mut |glyph| match glyph {
            Glyph::Char(c) => text.push(c),
            Glyph::Tab => text.push_str("<tab>"),
            Glyph::Escaped(escape) => text.push_str(escape.as_str()),
            Glyph::LineEnd => text.push_str("<end>"),
        });
        assert_eq!(text, "a<tab>b\\u{202e}^J\u{2764}\u{fe0f}");
    }
}
