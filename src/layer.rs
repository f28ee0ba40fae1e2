//! What happens to bytes between the standard streams and the socket.
//!
//! Outbound, stdin's bytes may have each LF turned into CR LF (`-C`); inbound, the socket's bytes
//! go to stdout unchanged. The event loop only ever asks this layer to fill its buffers; it does
//! not know what the layer does to the bytes on the way.

use std::io;

use crate::buffer::Buffer;

/// The transformations applied to one session's bytes.
pub struct Layer {
    crlf: bool,
}

impl Layer {
    pub fn plain(crlf: bool) -> Layer {
        Layer { crlf }
    }

    /// True once stdin and stdout may flow.
    pub fn is_open(&self) -> bool {
        true
    }

    /// True when `up` has enough room for one more read of stdin.
    pub fn outbound_has_room(&self, up: &Buffer) -> bool {
        up.room() >= if self.crlf { 2 } else { 1 }
    }

    /// Reads once from stdin through `read` into `up`, converted for the wire.
    /// Returns how many bytes `read` gave (0 at end of input).
    pub fn fill_outbound(
        &mut self,
        up: &mut Buffer,
        read: impl FnOnce(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let window = up.spare();
        // With -C every byte read may double, so read at most half the free space.
        let limit = if self.crlf {
            window.len() / 2
        } else {
            window.len()
        };
        let n = read(&mut window[..limit])?;
        let len = if self.crlf { expand_crlf(window, n) } else { n };
        up.commit(len);
        Ok(n)
    }

    /// The buffer that bytes read from the socket go into.
    pub fn inbound_buffer<'a>(&'a mut self, down: &'a mut Buffer) -> &'a mut Buffer {
        down
    }
}

/// Turns each LF in `buf[..n]` into CR LF, in place; `buf` has room for the growth.
/// Returns the new length.
fn expand_crlf(buf: &mut [u8], n: usize) -> usize {
    let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count();
    let mut write = n + newlines;
    for read in (0..n).rev() {
        let byte = buf[read];
        write -= 1;
        buf[write] = byte;
        if byte == b'\n' {
            write -= 1;
            buf[write] = b'\r';
        }
    }
    n + newlines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_expands_every_newline() {
        let mut buf = *b"a\nb\n\n\0\0\0";
        assert_eq!(expand_crlf(&mut buf, 5), 8);
        assert_eq!(&buf, b"a\r\nb\r\n\r\n");
    }
}
