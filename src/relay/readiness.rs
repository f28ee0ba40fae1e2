//! Edge-triggered readiness, kept in one place.
//!
//! mio reports readiness on edges: an event says a descriptor has become readable or writable,
//! and no further event comes until a call has found it empty or full. So whoever reads or
//! writes must go on until the call answers `WouldBlock`, and remember in between that the
//! descriptor is ready. [`Readiness`] is that memory: set by an event, cleared only by a
//! `WouldBlock` (or by a zero-copy call that says which side ran dry), and every
//! read-until-`WouldBlock` loop of the relay goes through [`Readiness::attempt`], which also
//! retries a call that a signal interrupted.

use std::io::{self, Write};

use crate::layer::LayerError;

/// Whether a descriptor may take a read (or a write) now: set by a poll event, cleared when a
/// call would block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Readiness(bool);

impl Readiness {
    /// `ready` when unknown until tried (a new socket), or for descriptors the poll does not
    /// watch (regular files), which never make anyone wait.
    pub(super) fn new(ready: bool) -> Readiness {
        Readiness(ready)
    }

    /// A poll event said so.
    pub(super) fn set(&mut self) {
        self.0 = true;
    }

    /// Notes a poll event's readiness for this direction, if it carries any.
    pub(super) fn note(&mut self, event: bool) {
        self.0 |= event;
    }

    /// A call found the descriptor dry or full (a zero-copy call that tells which side).
    pub(super) fn clear(&mut self) {
        self.0 = false;
    }

    pub(super) fn is_ready(self) -> bool {
        self.0
    }

    /// Makes `call` if the descriptor is ready: its result, or `None` when it is not ready or
    /// the call would block (which clears the flag until the next event). A call a signal
    /// interrupted is made again.
    pub(super) fn attempt<T, E: Transient>(
        &mut self,
        mut call: impl FnMut() -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        while self.0 {
            match call() {
                Ok(value) => return Ok(Some(value)),
                Err(err) if err.kind() == Some(io::ErrorKind::WouldBlock) => self.0 = false,
                Err(err) if err.kind() == Some(io::ErrorKind::Interrupted) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }
}

/// An error that may be one of the transient kinds [`Readiness::attempt`] handles.
pub(super) trait Transient {
    fn kind(&self) -> Option<io::ErrorKind>;
}

impl Transient for io::Error {
    fn kind(&self) -> Option<io::ErrorKind> {
        Some(io::Error::kind(self))
    }
}

/// Reading stdin through the layer fails as [`LayerError::Read`].
impl Transient for LayerError {
    fn kind(&self) -> Option<io::ErrorKind> {
        match self {
            LayerError::Read(err) => Some(err.kind()),
            _ => None,
        }
    }
}

/// Writes `bytes` to `sink` while it takes them; returns how many it took (all of them, or as
/// many as went before it would block).
pub(super) fn write_ready(
    sink: &mut impl Write,
    bytes: &[u8],
    writable: &mut Readiness,
) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        let Some(n) = writable.attempt(|| sink.write(&bytes[written..]))? else {
            break;
        };
        written += n;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{Readiness, write_ready};

    /// Results a fake call gives, one a call.
    fn calls(results: Vec<io::Result<usize>>) -> impl FnMut() -> io::Result<usize> {
        let mut results = results.into_iter();
        move || results.next().unwrap_or(Ok(0))
    }

    #[test]
    fn would_block_clears_interrupted_retries_and_errors_pass() {
        let blocked = || io::Error::from(io::ErrorKind::WouldBlock);
        let interrupted = || io::Error::from(io::ErrorKind::Interrupted);
        let mut ready = Readiness::new(true);
        let mut call = calls(vec![Err(interrupted()), Ok(3), Err(blocked()), Ok(9)]);
        assert_eq!(ready.attempt(&mut call).ok(), Some(Some(3)));
        assert!(ready.is_ready());
        assert_eq!(ready.attempt(&mut call).ok(), Some(None));
        assert!(!ready.is_ready(), "WouldBlock clears the flag");
        assert_eq!(
            ready.attempt(&mut call).ok(),
            Some(None),
            "no call while not ready"
        );
        ready.note(false);
        assert!(!ready.is_ready());
        ready.note(true);
        assert_eq!(
            ready.attempt(&mut call).ok(),
            Some(Some(9)),
            "the next event"
        );
        let mut failing = calls(vec![Err(io::Error::from(io::ErrorKind::BrokenPipe))]);
        let err = ready.attempt(&mut failing).err().map(|err| err.kind());
        assert_eq!(err, Some(io::ErrorKind::BrokenPipe));
        assert!(ready.is_ready(), "a failure is no news about readiness");
    }

    /// A sink that takes `room` bytes, a few at a time, then would block.
    struct Sink {
        taken: Vec<u8>,
        room: usize,
    }

    impl io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.room).min(3);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.room -= n;
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_until_the_sink_is_full() {
        let mut sink = Sink {
            taken: Vec::new(),
            room: 7,
        };
        let mut writable = Readiness::new(true);
        let written = write_ready(&mut sink, b"0123456789", &mut writable).ok();
        assert_eq!(written, Some(7));
        assert_eq!(sink.taken, b"0123456");
        assert!(!writable.is_ready());
        assert_eq!(write_ready(&mut sink, b"89", &mut writable).ok(), Some(0));
    }
}
