//! Decoding UTF-8 one byte at a time, so that a character split across two reads (of the
//! terminal or of the socket) is put back together instead of being taken for two bad bytes.
//!
//! The keyboard decoder drops what is not UTF-8; the peer's text shows it escaped. Both need the
//! same validation (no overlong forms, no surrogates, nothing above U+10FFFF), kept here.

/// What one byte completed: a character, or bytes that can never start or finish one.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Char(char),
    Invalid(u8),
}

/// The bytes of a character begun but not finished; at most 3 are ever held.
#[derive(Default)]
pub struct Utf8 {
    held: [u8; 4],
    len: usize,
    need: usize,
}

impl Utf8 {
    /// Takes one byte; reports what it completed through `out` (nothing while a character is
    /// still incomplete; held bytes first when `byte` shows they were invalid).
    pub fn push(&mut self, byte: u8, out: &mut impl FnMut(Decoded)) {
        if self.len > 0 {
            if continues(self.held[0], self.len, byte) {
                self.held[self.len] = byte;
                self.len += 1;
                if self.len == self.need {
                    self.emit_held(out);
                }
                return;
            }
            self.flush(out);
        }
        match byte {
            0x00..=0x7f => out(Decoded::Char(char::from(byte))),
            0xc2..=0xdf => self.start(byte, 2),
            0xe0..=0xef => self.start(byte, 3),
            0xf0..=0xf4 => self.start(byte, 4),
            _ => out(Decoded::Invalid(byte)),
        }
    }

    /// Gives up on a character left incomplete: its bytes are reported as invalid.
    pub fn flush(&mut self, out: &mut impl FnMut(Decoded)) {
        for &byte in &self.held[..self.len] {
            out(Decoded::Invalid(byte));
        }
        self.len = 0;
    }

    fn start(&mut self, lead: u8, need: usize) {
        self.held[0] = lead;
        self.len = 1;
        self.need = need;
    }

    fn emit_held(&mut self, out: &mut impl FnMut(Decoded)) {
        // The ranges in `continues` admit only valid sequences, so this always decodes.
        match std::str::from_utf8(&self.held[..self.len])
            .ok()
            .and_then(|text| text.chars().next())
        {
            Some(c) => {
                self.len = 0;
                out(Decoded::Char(c));
            }
            None => self.flush(out),
        }
    }
}

/// True if `byte` may follow the `len` bytes held, led by `lead` (RFC 3629's table).
fn continues(lead: u8, len: usize, byte: u8) -> bool {
    let range = match (lead, len) {
        (0xe0, 1) => 0xa0..=0xbf,
        (0xed, 1) => 0x80..=0x9f,
        (0xf0, 1) => 0x90..=0xbf,
        (0xf4, 1) => 0x80..=0x8f,
        _ => 0x80..=0xbf,
    };
    range.contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Vec<Decoded> {
        let mut utf8 = Utf8::default();
        let mut out = Vec::new();
        for chunk in chunks {
            for &byte in *chunk {
                utf8.push(byte, &mut |d| out.push(d));
            }
        }
        utf8.flush(&mut |d| out.push(d));
        out
    }

    #[test]
    fn characters_split_across_reads_are_reassembled() {
        let text = "a中😀".as_bytes();
        let expected: Vec<Decoded> = "a中😀".chars().map(Decoded::Char).collect();
        for split in 0..=text.len() {
            assert_eq!(
                decode(&[&text[..split], &text[split..]]),
                expected,
                "split {split}"
            );
        }
    }

    #[test]
    fn invalid_bytes_are_reported_one_by_one() {
        use Decoded::*;
        assert_eq!(decode(&[b"\xff"]), [Invalid(0xff)]);
        // Overlong, surrogate, above U+10FFFF: refused at the first byte that shows it.
        assert_eq!(decode(&[b"\xc0\xaf"]), [Invalid(0xc0), Invalid(0xaf)]);
        assert_eq!(
            decode(&[b"\xed\xa0\x80"]),
            [Invalid(0xed), Invalid(0xa0), Invalid(0x80)]
        );
        assert_eq!(decode(&[b"\xf4\x90"]), [Invalid(0xf4), Invalid(0x90)]);
        // An interrupted character: its bytes are invalid, the interrupting byte still counts.
        assert_eq!(
            decode(&[b"\xe4\xb8a"]),
            [Invalid(0xe4), Invalid(0xb8), Char('a')]
        );
        // Left incomplete at the end.
        assert_eq!(decode(&[b"\xe4"]), [Invalid(0xe4)]);
    }
}
