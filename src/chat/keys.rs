//! Turning the bytes a terminal in raw mode sends for keystrokes into keys.
//!
//! Printable characters arrive as UTF-8; control keys as single bytes (Ctrl-A is 0x01, Enter is
//! CR, Backspace is DEL or BS); the arrow and editing keys as escape sequences, in CSI form
//! (`ESC [ A`, `ESC [ 3 ~`, `ESC [ 1 ; 5 C` with a modifier) or, in the terminal's application
//! cursor mode, SS3 form (`ESC O A`). A sequence or a character can be split across two reads,
//! so the decoder keeps what it has seen of one between calls (a few bytes at most).
//!
//! Pasted text arrives typed, or between `ESC [ 200 ~` and `ESC [ 201 ~` when the terminal does
//! bracketed paste (the chat turns it on). Inside a bracketed paste every line end is an Enter
//! and control characters other than TAB are dropped, so pasted text cannot press Ctrl-C or
//! Ctrl-D; escape sequences in it are dropped whole. Pasted text may hold the end marker itself
//! (not every terminal takes it out, tmux does not), and what follows it would then count as
//! keys: so an end marker only makes the paste *end-able* ([`KeyDecoder::awaits_end`]), and the
//! paste ends at the next time the terminal stays quiet long enough ([`KeyDecoder::end_paste`],
//! timed by the caller); every byte before that is the paste's own. A terminal writes a paste
//! at once, end marker last, but the kernel hands a pseudo-terminal's input over in pieces (of
//! 256 bytes, as they come), and a read may find the terminal empty between two of them: where
//! the paste ends is never decided by how its bytes were read. (A key pressed right after a
//! paste then counts as pasted: a character or an Enter still works, a Ctrl-C is dropped and
//! has to be pressed again.)
//!
//! Sequences for keys the editor does not use (function keys, Insert, Page Up) are dropped
//! whole too, and so are Alt combinations' ESC.

use super::utf8::{Decoded, Utf8};

/// What the person pressed, as the editor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A printable character or TAB.
    Char(char),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Up,
    Down,
    /// Ctrl-U: delete from the start of the line to the cursor.
    KillToStart,
    /// Ctrl-W: delete the word before the cursor.
    KillWord,
    /// Ctrl-L.
    Redraw,
    /// Ctrl-D.
    EndOfInput,
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-Z.
    Suspend,
}

impl Key {
    /// Ctrl-C, Ctrl-D and Ctrl-Z: the keys that end the chat, its input, or stop tete.
    pub fn ends_or_stops(self) -> bool {
        matches!(self, Key::Interrupt | Key::EndOfInput | Key::Suspend)
    }
}

/// The longest parameter string of a CSI sequence kept; longer ones are dropped whole.
const MAX_PARAMS: usize = 16;

#[derive(Clone, Copy)]
enum State {
    Ground,
    /// After ESC.
    Escape,
    /// After `ESC [`: the parameter and intermediate bytes so far.
    Csi {
        params: [u8; MAX_PARAMS],
        len: usize,
    },
    /// After `ESC O`.
    Ss3,
}

/// Where the decoder is in a bracketed paste.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Paste {
    Off,
    On,
    /// An end marker came: the paste ends when the terminal next stays quiet; what comes
    /// before that is still pasted text.
    Ending,
}

/// The decoder, with what it holds of an unfinished key.
pub struct KeyDecoder {
    state: State,
    utf8: Utf8,
    paste: Paste,
    /// The last byte was a CR: an LF right after it belongs to the same Enter.
    after_cr: bool,
}

impl Default for KeyDecoder {
    fn default() -> KeyDecoder {
        KeyDecoder {
            state: State::Ground,
            utf8: Utf8::default(),
            paste: Paste::Off,
            after_cr: false,
        }
    }
}

impl KeyDecoder {
    /// Decodes one byte: the key it completes, if any.
    pub fn push(&mut self, byte: u8) -> Option<Key> {
        let mut key = None;
        self.decode(byte, &mut |decoded| key = Some(decoded));
        key
    }

    /// True when a paste's end marker has come: the paste is over once nothing more comes for
    /// a while.
    pub fn awaits_end(&self) -> bool {
        self.paste == Paste::Ending
    }

    /// Nothing came for long enough after an end marker: the paste is over. Returns true if a
    /// paste ended so.
    pub fn end_paste(&mut self) -> bool {
        let ended = self.paste == Paste::Ending;
        if ended {
            self.paste = Paste::Off;
        }
        ended
    }

    fn in_paste(&self) -> bool {
        self.paste != Paste::Off
    }

    /// Decodes one byte, passing the key it completes (never more than one) to `out`.
    fn decode(&mut self, byte: u8, out: &mut impl FnMut(Key)) {
        let after_cr = std::mem::take(&mut self.after_cr);
        match self.state {
            State::Ground => self.ground(byte, after_cr, out),
            State::Escape => match byte {
                b'[' => {
                    self.state = State::Csi {
                        params: [0; MAX_PARAMS],
                        len: 0,
                    }
                }
                b'O' => self.state = State::Ss3,
                0x1b => {}
                _ => {
                    // ESC and a key together is Alt and that key: the key alone counts.
                    self.state = State::Ground;
                    self.ground(byte, false, out);
                }
            },
            State::Csi {
                mut params,
                mut len,
            } => match byte {
                0x20..=0x3f => {
                    if len < MAX_PARAMS {
                        params[len] = byte;
                    }
                    len = (len + 1).min(MAX_PARAMS + 1);
                    self.state = State::Csi { params, len };
                }
                0x40..=0x7e => {
                    self.state = State::Ground;
                    if len <= MAX_PARAMS {
                        self.csi(&params[..len], byte, out);
                    }
                }
                _ => {
                    // Not a sequence after all: drop what was seen, the byte counts alone.
                    self.state = State::Ground;
                    self.ground(byte, false, out);
                }
            },
            State::Ss3 => {
                self.state = State::Ground;
                match byte {
                    0x40..=0x7e => {
                        if let Some(key) = cursor_key(byte) {
                            self.key(key, out);
                        }
                    }
                    _ => self.ground(byte, false, out),
                }
            }
        }
    }

    fn ground(&mut self, byte: u8, after_cr: bool, out: &mut impl FnMut(Key)) {
        if byte == 0x1b {
            // Whatever character was being assembled is not one.
            self.utf8.flush(&mut |_| {});
            self.state = State::Escape;
            return;
        }
        if byte == b'\n' && after_cr {
            return;
        }
        self.after_cr = byte == b'\r';
        let in_paste = self.in_paste();
        self.utf8.push(byte, &mut |decoded| {
            if let Decoded::Char(c) = decoded
                && let Some(key) = char_key(c, in_paste)
            {
                out(key);
            }
        });
    }

    fn csi(&mut self, params: &[u8], last: u8, out: &mut impl FnMut(Key)) {
        let key = match (params, last) {
            (b"200", b'~') => {
                self.paste = Paste::On;
                None
            }
            (b"201", b'~') => {
                if self.paste != Paste::Off {
                    self.paste = Paste::Ending;
                }
                None
            }
            (_, b'~') => {
                // `ESC [ 3 ~`, or `ESC [ 3 ; 5 ~` with a modifier.
                let number = params.split(|&b| b == b';').next().unwrap_or(b"");
                match number {
                    b"1" | b"7" => Some(Key::Home),
                    b"4" | b"8" => Some(Key::End),
                    b"3" => Some(Key::Delete),
                    _ => None,
                }
            }
            _ => cursor_key(last),
        };
        if let Some(key) = key {
            self.key(key, out);
        }
    }

    /// Passes on a key from an escape sequence; none count inside a paste.
    fn key(&self, key: Key, out: &mut impl FnMut(Key)) {
        if !self.in_paste() {
            out(key);
        }
    }
}

/// The keys whose sequences end in a letter, in either form (`ESC [ C`, `ESC O C`).
fn cursor_key(last: u8) -> Option<Key> {
    match last {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        _ => None,
    }
}

/// The key for one decoded character (a CR LF pair has already been made one CR).
fn char_key(c: char, in_paste: bool) -> Option<Key> {
    match c {
        '\r' | '\n' => Some(Key::Enter),
        '\t' => Some(Key::Char('\t')),
        c if in_paste && c.is_control() => None,
        '\x01' => Some(Key::Home),
        '\x02' => Some(Key::Left),
        '\x03' => Some(Key::Interrupt),
        '\x04' => Some(Key::EndOfInput),
        '\x05' => Some(Key::End),
        '\x06' => Some(Key::Right),
        '\x08' | '\x7f' => Some(Key::Backspace),
        '\x0c' => Some(Key::Redraw),
        '\x0e' => Some(Key::Down),
        '\x10' => Some(Key::Up),
        '\x15' => Some(Key::KillToStart),
        '\x17' => Some(Key::KillWord),
        '\x1a' => Some(Key::Suspend),
        c if c.is_control() => None,
        c => Some(Key::Char(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of `chunks` read in turn, the terminal quiet long enough after each.
    fn keys(chunks: &[&[u8]]) -> Vec<Key> {
        let mut decoder = KeyDecoder::default();
        let mut keys = Vec::new();
        for chunk in chunks {
            keys.extend(chunk.iter().filter_map(|&byte| decoder.push(byte)));
            decoder.end_paste();
        }
        keys
    }

    fn one_read(bytes: &[u8]) -> Vec<Key> {
        keys(&[bytes])
    }

    #[test]
    fn text_and_control_keys() {
        use Key::*;
        assert_eq!(one_read("a中".as_bytes()), [Char('a'), Char('中')]);
        assert_eq!(
            one_read(b"\x01\x02\x03\x04\x05\x06\x08\x7f\x0c\x0e\x10\x15\x17\x1a\t"),
            [
                Home,
                Left,
                Interrupt,
                EndOfInput,
                End,
                Right,
                Backspace,
                Backspace,
                Redraw,
                Down,
                Up,
                KillToStart,
                KillWord,
                Suspend,
                Char('\t')
            ]
        );
        // Unused control keys do nothing.
        assert_eq!(one_read(b"\x07\x0b\x12"), []);
    }

    #[test]
    fn enter_is_cr_lf_or_cr_lf_once() {
        use Key::*;
        assert_eq!(one_read(b"\r\n\r\r\n\n"), [Enter, Enter, Enter, Enter]);
        assert_eq!(keys(&[b"a\r", b"\nb"]), [Char('a'), Enter, Char('b')]);
    }

    #[test]
    fn escape_sequences_in_both_forms() {
        use Key::*;
        let forms: [(&[u8], Key); 16] = [
            (b"\x1b[A", Up),
            (b"\x1b[B", Down),
            (b"\x1b[C", Right),
            (b"\x1b[D", Left),
            (b"\x1b[H", Home),
            (b"\x1b[F", End),
            (b"\x1bOA", Up),
            (b"\x1bOD", Left),
            (b"\x1bOH", Home),
            (b"\x1bOF", End),
            (b"\x1b[1~", Home),
            (b"\x1b[7~", Home),
            (b"\x1b[4~", End),
            (b"\x1b[8~", End),
            (b"\x1b[3~", Delete),
            (b"\x1b[1;5C", Right),
        ];
        for (bytes, key) in forms {
            assert_eq!(one_read(bytes), [key], "{bytes:?}");
            // Split at every point across two reads.
            for split in 1..bytes.len() {
                assert_eq!(
                    keys(&[&bytes[..split], &bytes[split..]]),
                    [key],
                    "{bytes:?}"
                );
            }
        }
    }

    #[test]
    fn unused_sequences_are_dropped_whole() {
        use Key::*;
        // F5, Page Up, F1 (SS3), Alt-x, an overlong sequence, then a key.
        assert_eq!(one_read(b"\x1b[15~\x1b[5~\x1bOPa"), [Char('a')]);
        assert_eq!(one_read(b"\x1bx"), [Char('x')]);
        assert_eq!(one_read(b"\x1b[1;2;3;4;5;6;7;8;9;10C!"), [Char('!')]);
        // An ESC interrupted by another: the second one starts the sequence.
        assert_eq!(one_read(b"\x1b\x1b[D"), [Left]);
        // A sequence broken by a control byte: the byte counts.
        assert_eq!(one_read(b"\x1b[1\x03"), [Interrupt]);
    }

    #[test]
    fn bracketed_paste_is_text_and_line_ends() {
        use Key::*;
        assert_eq!(
            keys(&[
                b"\x1b[200~a\x03\x04\x1b[31mb\x1b",
                b"[D\r\nc\tx\x1b[2",
                b"01~",
                b"\x03"
            ]),
            [
                Char('a'),
                Char('b'),
                Enter,
                Char('c'),
                Char('\t'),
                Char('x'),
                Interrupt
            ]
        );
    }

    #[test]
    fn an_end_marker_inside_a_paste_does_not_end_it() {
        use Key::*;
        let mut decoder = KeyDecoder::default();
        let read = |decoder: &mut KeyDecoder, bytes: &[u8]| -> Vec<Key> {
            bytes
                .iter()
                .filter_map(|&byte| decoder.push(byte))
                .collect()
        };
        // The pasted text holds the marker, then Ctrl-C, Ctrl-D, an arrow: all in one burst.
        assert_eq!(
            read(&mut decoder, b"\x1b[200~a\x1b[201~\x03\x04\x1b[Db\x1b[201~"),
            [Char('a'), Char('b')]
        );
        // Split across reads, however short the quiet between them: still the paste's own.
        assert_eq!(read(&mut decoder, b"\x1b[200~c\x1b[201~"), [Char('c')]);
        assert!(decoder.awaits_end());
        assert_eq!(read(&mut decoder, b"\x03d\x1b[201~"), [Char('d')]);
        assert!(decoder.end_paste());
        assert!(!decoder.end_paste() && !decoder.awaits_end());
        assert_eq!(
            keys(&[b"\x1b[200~e\x1b[201~", b"\x03"]),
            [Char('e'), Interrupt]
        );
        // An end marker outside a paste is nothing.
        assert_eq!(keys(&[b"\x1b[201~\x03"]), [Interrupt]);
    }

    #[test]
    fn invalid_utf8_is_dropped() {
        use Key::*;
        assert_eq!(one_read(b"a\xffb\xe4\x1b[C"), [Char('a'), Char('b'), Right]);
        assert_eq!(keys(&[b"\xe4\xb8", b"\xad"]), [Char('中')]);
    }
}
