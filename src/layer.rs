//! What happens to bytes between the standard streams and the socket.
//!
//! Outbound, stdin's bytes may have each LF turned into CR LF (`-C`), then, with a password, be
//! sealed into records; inbound, the socket's bytes go to stdout unchanged or, with a password,
//! through the handshake and then out of their records. The event loop only asks this layer to
//! fill its buffers and whether stdin and stdout may flow yet; it does not know what the layer
//! does to the bytes on the way.
//!
//! Every conversion happens in place in the session's fixed buffers: stdin is read straight into
//! the spot where its record's payload goes, so sealing adds no copy.

use std::io;
use std::mem;

use crate::buffer::Buffer;
use crate::secure::{self, Handshake, Opener, Role, Sealer, SecureError};

/// The transformations applied to one session's bytes.
pub struct Layer {
    crlf: bool,
    secure: Option<Secure>,
}

/// The password mode's state for one session.
struct Secure {
    /// Bytes from the socket not yet taken by the handshake or opened.
    raw: Buffer,
    state: State,
}

/// Both states are boxed: SPAKE2's state and ring's keys are large, and a session has one.
enum State {
    Handshaking(Box<Handshake>),
    Open(Box<(Sealer, Opener)>),
    /// Only between the two, while the handshake is being turned into the channel.
    Switching,
}

impl Layer {
    pub fn plain(crlf: bool) -> Layer {
        Layer { crlf, secure: None }
    }

    /// Starts the handshake as `role`, queueing our HELLO in `up`.
    pub fn secure(crlf: bool, role: Role, password: &[u8], up: &mut Buffer) -> Layer {
        let mut hello = Vec::new();
        let handshake = Handshake::new(role, password, &mut hello);
        up.extend(&hello);
        Layer {
            crlf,
            secure: Some(Secure {
                raw: Buffer::new(2 * secure::MAX_RECORD),
                state: State::Handshaking(Box::new(handshake)),
            }),
        }
    }

    /// True once stdin and stdout may flow: at once in plain mode, after the peer has proved it
    /// knows the password in secure mode.
    pub fn is_open(&self) -> bool {
        match &self.secure {
            None => true,
            Some(secure) => matches!(secure.state, State::Open(_)),
        }
    }

    /// What a record adds around its payload; also the size of the end-of-stream record.
    fn overhead(&self) -> usize {
        if self.secure.is_some() {
            secure::OVERHEAD
        } else {
            0
        }
    }

    /// True when `up` has enough room for one more read of stdin.
    pub fn outbound_has_room(&self, up: &Buffer) -> bool {
        up.room() >= self.overhead() + if self.crlf { 2 } else { 1 }
    }

    /// Reads once from stdin through `read` into `up`, converted for the wire.
    /// Returns how many bytes `read` gave (0 at end of input).
    pub fn fill_outbound(
        &mut self,
        up: &mut Buffer,
        read: impl FnOnce(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        debug_assert!(self.is_open(), "stdin read before the channel is up");
        let overhead = self.overhead();
        let window = up.spare();
        let (start, mut limit) = match &self.secure {
            None => (0, window.len()),
            Some(_) => (
                secure::DATA_OFFSET,
                (window.len() - overhead).min(secure::MAX_PAYLOAD),
            ),
        };
        if self.crlf {
            // Every byte read may double, so read at most half the room.
            limit /= 2;
        }
        let n = read(&mut window[start..start + limit])?;
        if n == 0 {
            return Ok(0);
        }
        let len = if self.crlf {
            expand_crlf(&mut window[start..], n)
        } else {
            n
        };
        if let Some(Secure {
            state: State::Open(channel),
            ..
        }) = &mut self.secure
        {
            channel
                .0
                .seal_data(&mut window[..len + overhead])
                .map_err(io::Error::other)?;
        }
        up.commit(len + overhead);
        Ok(n)
    }

    /// True when `up` has room for the end-of-stream record.
    pub fn close_fits(&self, up: &Buffer) -> bool {
        up.room() >= self.overhead()
    }

    /// Queues the authenticated end-of-stream record in `up`, where the mode has one.
    pub fn close_outbound(&mut self, up: &mut Buffer) -> Result<(), SecureError> {
        if let Some(Secure {
            state: State::Open(channel),
            ..
        }) = &mut self.secure
        {
            channel.0.seal_close(&mut up.spare()[..secure::OVERHEAD])?;
            up.commit(secure::OVERHEAD);
        }
        Ok(())
    }

    /// The buffer that bytes read from the socket go into.
    pub fn inbound_buffer<'a>(&'a mut self, down: &'a mut Buffer) -> &'a mut Buffer {
        match &mut self.secure {
            None => down,
            Some(secure) => &mut secure.raw,
        }
    }

    /// Turns the raw bytes received so far into plaintext in `down`, or feeds them to the
    /// handshake (whose replies go to `up`). Returns true if anything moved.
    pub fn decode(&mut self, up: &mut Buffer, down: &mut Buffer) -> Result<bool, SecureError> {
        let Some(secure) = &mut self.secure else {
            return Ok(false);
        };
        match &mut secure.state {
            State::Handshaking(handshake) => {
                let mut reply = Vec::new();
                let received = handshake.receive(secure.raw.filled(), &mut reply);
                // Our CONFIRM goes out even when the peer's fails: it is how the peer learns
                // that the passwords differ, rather than seeing a truncated handshake.
                up.extend(&reply);
                let used = received?;
                secure.raw.consume(used);
                if handshake.is_complete() {
                    let State::Handshaking(handshake) =
                        mem::replace(&mut secure.state, State::Switching)
                    else {
                        return Ok(true);
                    };
                    let channel = handshake
                        .into_channel()
                        .ok_or(SecureError::MalformedHello)?;
                    secure.state = State::Open(Box::new(channel));
                }
                Ok(used > 0)
            }
            State::Open(channel) => {
                let (used, produced) = channel.1.open(secure.raw.filled_mut(), down.spare())?;
                secure.raw.consume(used);
                down.commit(produced);
                Ok(used > 0)
            }
            State::Switching => Ok(false),
        }
    }

    /// Checks, at the socket's end of stream, that the peer ended cleanly: in secure mode, with
    /// an authenticated end-of-stream record and nothing after it.
    pub fn finish_inbound(&self) -> Result<(), SecureError> {
        match &self.secure {
            None => Ok(()),
            Some(secure) => match &secure.state {
                State::Open(channel) => channel.1.finish(secure.raw.len()),
                _ => Err(SecureError::Truncated),
            },
        }
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
