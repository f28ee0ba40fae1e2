//! The end of a session's connection: what is queued goes out if the socket takes it at once,
//! and what the peer sent is drained, so that the close is a FIN; a session interrupted by a
//! signal (or Ctrl-C in a chat) first tells a password peer so.

use std::io::Read;

use mio::Registry;

use super::Session;
use crate::relay::ending::Sending;
use crate::relay::{Readiness, write_queued};
use crate::secure::CloseReason;

impl Session {
    /// We are being stopped (a signal, or Ctrl-C in a chat): a password session's peer is told
    /// with CLOSE(interrupted), unless our stream has already ended. Best effort and bounded:
    /// only what the socket takes at once, as a stalled peer must not hold up the exit.
    pub(in crate::relay) fn interrupt(&mut self) {
        if !self.layer.is_open() || matches!(self.ending.sending(), Sending::Closed { .. }) {
            return;
        }
        // The CLOSE goes behind what is queued; if there is no room for it, the socket may
        // take some of the queue first.
        for _ in 0..2 {
            if !matches!(
                self.layer.close_outbound(CloseReason::Interrupted),
                Ok(false)
            ) {
                break;
            }
            self.write_now();
        }
        self.write_now();
        self.drain();
    }

    /// Writes what is queued for the socket, as far as it takes it without waiting.
    fn write_now(&mut self) {
        let mut writable = Readiness::new(true);
        let _ = write_queued(&mut self.stream, self.layer.outgoing(), &mut writable);
    }

    /// Reads and drops what the peer sent that nobody will read, so that the close is a FIN
    /// and not a reset, which could destroy data the peer has not yet read. Bounded, as a peer
    /// that keeps sending must not keep tete from ending.
    fn drain(&mut self) {
        let mut sink = [0u8; 16 * 1024];
        for _ in 0..64 {
            if !matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// Closes the connection. Whatever the peer sent that nobody will read is drained first, so
    /// that the close is a FIN and not a reset, which could destroy data the peer has not yet read.
    pub(in crate::relay) fn close(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
        // What is already queued goes out if the socket takes it now (a failed handshake's
        // answer, which tells the peer why); nothing waits for it.
        self.write_now();
        self.drain();
    }
}
