//! Plain mode's look at the peer's first bytes, for the forgotten `-P`: a peer that opens with
//! a whole password HELLO expects a room password. Its handshake is no data to print, and the
//! session is no success: it ends as the password channel's failure (exit status 3, or with
//! `-k` the next peer), saying what to do. The first bytes are held back from stdout while they
//! still look like a HELLO, so none of one reaches it.

use crate::secure::{HELLO_LEN, HELLO_START};

/// The role bytes a HELLO carries after [`HELLO_START`] (the connector's, the listener's).
const ROLES: [u8; 2] = [0x01, 0x02];

/// What the peer's first bytes have shown so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HelloWatch {
    /// This many of the peer's first bytes look like a password HELLO so far: they wait, not
    /// written out, for the rest.
    Watching(usize),
    /// They make a whole HELLO: the peer expects a room password.
    Seen,
    /// Decided: they are data (or password mode, where there is nothing to watch for).
    Done,
}

impl HelloWatch {
    /// A watch for a session; in password mode (`secure`) there is nothing to watch for.
    pub(super) fn new(secure: bool) -> HelloWatch {
        if secure {
            HelloWatch::Done
        } else {
            HelloWatch::Watching(0)
        }
    }

    /// True while the peer's first bytes are still being looked at (they go through the layer,
    /// not the zero-copy route, and wait there, unwritten, meanwhile).
    pub(super) fn watching(self) -> bool {
        matches!(self, HelloWatch::Watching(_))
    }

    /// Looks at `fresh`, the peer's next bytes, until they differ from a HELLO's start (its
    /// magic, version and role byte) or make a whole one.
    pub(super) fn look(&mut self, fresh: &[u8]) {
        let HelloWatch::Watching(seen) = *self else {
            return;
        };
        let len = fresh.len().min(HELLO_LEN - seen);
        let fits = fresh[..len].iter().enumerate().all(|(i, &byte)| {
            let at = seen + i;
            match HELLO_START.get(at) {
                Some(&expected) => byte == expected,
                None => at != HELLO_START.len() || ROLES.contains(&byte),
            }
        });
        *self = if !fits {
            HelloWatch::Done
        } else if seen + len == HELLO_LEN {
            HelloWatch::Seen
        } else {
            HelloWatch::Watching(seen + len)
        };
    }

    /// The peer's stream ended: what it sent, part of a HELLO's start at most, is data.
    pub(super) fn peer_ended(&mut self) {
        if self.watching() {
            *self = HelloWatch::Done;
        }
    }
}

/// The failure of a plain session whose peer opened with a password HELLO.
pub(super) fn expects_password(peer: impl std::fmt::Display) -> String {
    format!(
        "the peer ({peer}) expects a room password (it opened with tete's password \
         handshake): run both ends with -P and the same password"
    )
}

#[cfg(test)]
mod tests {
    use super::HelloWatch;
    use crate::secure::{HELLO_LEN, HELLO_START};

    fn hello(role: u8) -> Vec<u8> {
        let mut hello = HELLO_START.to_vec();
        hello.push(role);
        hello.resize(HELLO_LEN, 0x55);
        hello
    }

    #[test]
    fn a_whole_hello_in_pieces_is_seen() {
        let whole = hello(0x01);
        let mut watch = HelloWatch::new(false);
        for piece in whole.chunks(7) {
            assert!(watch.watching(), "not yet: a HELLO is {HELLO_LEN} bytes");
            watch.look(piece);
        }
        assert_eq!(watch, HelloWatch::Seen);
        let mut listener = HelloWatch::new(false);
        listener.look(&[hello(0x02), b"and more".to_vec()].concat());
        assert_eq!(listener, HelloWatch::Seen);
    }

    #[test]
    fn anything_else_is_data() {
        for junk in [&b"TETX"[..], &hello(0x03), &hello(0x01)[..3]] {
            let mut watch = HelloWatch::new(false);
            watch.look(junk);
            watch.peer_ended();
            assert_eq!(watch, HelloWatch::Done, "{junk:?}");
        }
        let mut started = HelloWatch::new(false);
        started.look(&HELLO_START);
        assert!(started.watching(), "held while it may be a HELLO");
        started.peer_ended();
        assert_eq!(started, HelloWatch::Done, "a HELLO's start, then the end");
        assert!(
            !HelloWatch::new(true).watching(),
            "password mode watches for nothing"
        );
    }
}
