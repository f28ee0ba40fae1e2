//! The kernel's zero-copy routes: stdin into the socket, the socket into stdout, where the
//! layer changes nothing on the way (see [`crate::zerocopy`]).

use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

use super::failure::{is_connection_error, stdout_failure};
use super::{SPLICE_FROM, Session};
use crate::error::Error;
use crate::relay::ending::Receiving;
use crate::relay::{End, Input, Output};
use crate::zerocopy::{self, Outcome};

impl Session {
    /// stdin straight into the socket, inside the kernel, where that route exists and stdin
    /// comes in bulk, once the bytes read before have gone.
    pub(super) fn send_direct(&mut self, input: &mut Input) -> Result<bool, End> {
        if !self.stdin_in_bulk || !self.layer.outgoing().is_empty() {
            return Ok(false);
        }
        let Some(route) = &mut self.up_route else {
            return Ok(false);
        };
        let mut progress = false;
        while self.ending.reads_stdin()
            && !input.ended
            && input.ready.is_ready()
            && self.writable.is_ready()
        {
            match route.transfer(input.stream.as_fd(), self.stream.as_fd()) {
                Ok(outcome @ (Outcome::Moved(n) | Outcome::Drained(n))) => {
                    self.last_activity = Instant::now();
                    self.ending.sent();
                    self.sent += n as u64;
                    self.written += n as u64;
                    progress = true;
                    if outcome == Outcome::Drained(n) {
                        input.ready.clear();
                        // A trickle: the next bytes are read (see SPLICE_FROM).
                        self.stdin_in_bulk = n >= SPLICE_FROM;
                    }
                }
                Ok(Outcome::End) => {
                    input.ended = true;
                    progress = true;
                }
                Ok(Outcome::SourceDry) => input.ready.clear(),
                Ok(Outcome::SinkFull) => self.writable.clear(),
                // Nothing moved: the ordinary path takes over from here.
                Err(err) if zerocopy::unsupported(&err) => {
                    self.up_route = None;
                    break;
                }
                Err(err)
                    if is_connection_error(&err) || err.kind() == io::ErrorKind::BrokenPipe =>
                {
                    return Err(self.network_failure("sending to", &err));
                }
                Err(err) => return Err(End::Failed(Error::io("stdin", &err))),
            }
        }
        Ok(progress)
    }

    /// The socket straight into stdout, inside the kernel, where that route exists.
    pub(super) fn receive_direct(&mut self, output: &mut Output) -> Result<bool, End> {
        let Some(route) = &mut self.down_route else {
            return Ok(false);
        };
        let mut progress = false;
        // Bytes already in the layer (what followed a proxy's reply) go first; the first few
        // bytes go through the layer, to be looked at.
        while !self.hello.watching()
            && output.ready.is_ready()
            && (self.readable.is_ready() || route.has_pending())
            && self.ending.receiving() == Receiving::Open
            && self.layer.stdout_bytes().is_empty()
        {
            match route.transfer(self.stream.as_fd(), output.stream.as_fd()) {
                Ok(outcome @ (Outcome::Moved(n) | Outcome::Drained(n))) => {
                    let now = Instant::now();
                    self.last_activity = now;
                    self.liveness.heard(now);
                    self.ending.received();
                    self.received += n as u64;
                    progress = true;
                    if outcome == Outcome::Drained(n) {
                        self.readable.clear();
                    }
                }
                Ok(Outcome::End) => {
                    self.ending.peer_ended();
                    progress = true;
                }
                Ok(Outcome::SourceDry) => self.readable.clear(),
                Ok(Outcome::SinkFull) => output.ready.clear(),
                // Nothing is lost while nothing waits in the route: the ordinary path takes over.
                Err(err) if zerocopy::unsupported(&err) && !route.has_pending() => {
                    self.down_route = None;
                    break;
                }
                Err(err) if is_connection_error(&err) => {
                    return Err(self.network_failure("receiving from", &err));
                }
                Err(err) => return Err(stdout_failure(err)),
            }
        }
        Ok(progress)
    }
}
