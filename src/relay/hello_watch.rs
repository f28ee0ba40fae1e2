//! Plain mode's look at the peer's first bytes, for the forgotten `-P`: a peer that opens with
//! a password HELLO expects a room password, and the person should hear so at once rather than
//! see the handshake's bytes as junk on stdout.

use super::Notice;
use crate::secure::HELLO_START;

/// How far the peer's first bytes have been compared with a password HELLO's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HelloWatch {
    /// This many of the peer's first bytes match a password HELLO's start so far.
    Watching(usize),
    /// They matched whole, and nobody has been told yet ([`HelloWatch::take_notice`]).
    Seen,
    /// Decided (or password mode, where there is nothing to watch for).
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

    /// True while the peer's first bytes are still being compared (they go through the layer,
    /// not the zero-copy route, meanwhile).
    pub(super) fn watching(self) -> bool {
        matches!(self, HelloWatch::Watching(_))
    }

    /// Compares `fresh`, the peer's next bytes, with a password HELLO's start, until they
    /// differ or match whole.
    pub(super) fn look(&mut self, fresh: &[u8]) {
        let HelloWatch::Watching(seen) = *self else {
            return;
        };
        let len = fresh.len().min(HELLO_START.len() - seen);
        *self = if fresh[..len] != HELLO_START[seen..seen + len] {
            HelloWatch::Done
        } else if seen + len == HELLO_START.len() {
            HelloWatch::Seen
        } else {
            HelloWatch::Watching(seen + len)
        };
    }

    /// What the user should hear about the peer, once: that it opened with a password HELLO.
    pub(super) fn take_notice(&mut self) -> Option<Notice> {
        if *self != HelloWatch::Seen {
            return None;
        }
        *self = HelloWatch::Done;
        Some(Notice::always(
            "the peer expects a room password (it opened with tete's password handshake): \
             run both ends with -P and the same password",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::HelloWatch;
    use crate::secure::HELLO_START;

    #[test]
    fn a_hello_in_pieces_is_seen_once_and_anything_else_ends_the_watch() {
        let mut watch = HelloWatch::new(false);
        watch.look(&HELLO_START[..2]);
        assert!(watch.watching() && watch.take_notice().is_none());
        watch.look(&[&HELLO_START[2..], &b"more"[..]].concat());
        assert!(!watch.watching());
        assert!(watch.take_notice().is_some_and(|n| n.text.contains("-P")));
        assert!(watch.take_notice().is_none(), "said once");

        let mut plain = HelloWatch::new(false);
        plain.look(b"TETX");
        assert!(!plain.watching() && plain.take_notice().is_none());
        assert!(
            !HelloWatch::new(true).watching(),
            "password mode watches for nothing"
        );
    }
}
