//! Turning the peer's bytes into text that cannot drive the terminal.
//!
//! A terminal obeys control characters: ESC starts sequences that clear the screen, move the
//! cursor, retitle the window or worse; BEL rings; CR and BS overwrite what is shown; the C1
//! code points (U+0080 to U+009F) are sequence starters too on some terminals. In chat mode the
//! peer's bytes pass through here and only printable characters, TAB and line ends come out;
//! everything else comes out as a visible escape, plain ASCII:
//! - C0 controls and DEL in caret notation, as `cat -v` writes them: ESC is `^[`, BEL `^G`,
//!   CR `^M`, BS `^H`, DEL `^?`;
//! - C1 code points as `\u{9b}`;
//! - each byte that is not part of valid UTF-8 as `\xff`.
//!
//! LF ends a line, and so does CR LF (peers using `-C`, and many servers, end lines that way);
//! a CR followed by anything else is shown as `^M`. A character split across reads is put back
//! together. Nothing here depends on the terminal; the screen decides how escapes look.

use super::utf8::{Decoded, Utf8};

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

/// The visible form of one control character or invalid byte: at most 6 ASCII characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escape {
    text: [u8; 6],
    len: u8,
}

impl Escape {
    fn new(text: &[u8]) -> Escape {
        let mut escape = Escape {
            text: [0; 6],
            len: text.len() as u8,
        };
        escape.text[..text.len()].copy_from_slice(text);
        escape
    }

    fn control(c: char) -> Escape {
        match u32::from(c) {
            0x7f => Escape::new(b"^?"),
            code @ 0..0x20 => Escape::new(&[b'^', code as u8 + 0x40]),
            code => {
                let [high, low] = hex(code as u8);
                Escape::new(&[b'\\', b'u', b'{', high, low, b'}'])
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
}

impl Sanitizer {
    /// Decodes `bytes`, passing each glyph to `out` in order.
    pub fn feed(&mut self, bytes: &[u8], out: &mut impl FnMut(Glyph)) {
        for &byte in bytes {
            let after_cr = &mut self.after_cr;
            self.utf8
                .push(byte, &mut |decoded| glyphs(decoded, after_cr, out));
        }
    }

    /// Shows what was held back waiting for more: an unfinished character and a last CR.
    pub fn flush(&mut self, out: &mut impl FnMut(Glyph)) {
        let after_cr = &mut self.after_cr;
        self.utf8
            .flush(&mut |decoded| glyphs(decoded, after_cr, out));
        if std::mem::take(after_cr) {
            out(Glyph::Escaped(Escape::control('\r')));
        }
    }
}

fn glyphs(decoded: Decoded, after_cr: &mut bool, out: &mut impl FnMut(Glyph)) {
    if decoded == Decoded::Char('\n') {
        *after_cr = false;
        out(Glyph::LineEnd);
        return;
    }
    if std::mem::take(after_cr) {
        out(Glyph::Escaped(Escape::control('\r')));
    }
    match decoded {
        Decoded::Char('\r') => *after_cr = true,
        Decoded::Char('\t') => out(Glyph::Tab),
        Decoded::Char(c) if is_control(c) => out(Glyph::Escaped(Escape::control(c))),
        Decoded::Char(c) => out(Glyph::Char(c)),
        Decoded::Invalid(byte) => out(Glyph::Escaped(Escape::byte(byte))),
    }
}

fn hex(byte: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [
        DIGITS[usize::from(byte >> 4)],
        DIGITS[usize::from(byte & 0xf)],
    ]
}

/// True for the characters a terminal may act on instead of showing: C0, DEL and C1.
pub fn is_control(c: char) -> bool {
    c.is_control()
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
}
