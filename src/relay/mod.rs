//! The relay: one single-threaded mio `Poll` over stdin, stdout, the socket and, in listen mode,
//! the listening socket. Every wait, `-w` and `-i` included, is the poll's timeout: there are no
//! threads and no sleeps.
//!
//! The rooms, from the outside in:
//! - [`event_loop`]: the poll, one `match` on the event's token, and the step that follows.
//! - [`peer`]: where the peer comes from: connecting (each address of the host in turn, or
//!   the proxy of `-x` and then its handshake), listening, `-k`, the password listener's
//!   patience with strangers, and what happens after a session (end, or the next peer).
//! - [`pending`]: a password listener's handshakes under way, each in a slot of its own.
//! - [`session`]: one peer's connection and the bytes in flight to and from it: the pump that
//!   moves bytes until nothing more can move, and the kernel's zero-copy routes.
//! - [`ending`]: when a session ends, as a pure state machine with its own unit tests.
//! - [`liveness`]: whether the partner is still there (heard, asked, not answering, gone), as
//!   a pure state machine too.
//! - [`chat_front`]: chat mode at a terminal, between the person and the session: the keys
//!   read (by the loop, as they are also read with no session), the lines sent handed to the
//!   session in place of stdin, the peer's bytes shown in place of stdout.
//! - [`meter`]: what the user sees of a session's progress: `--progress`'s live line and the
//!   `-v` summary.
//!
//! mio reports readiness on edges, so each descriptor carries a `ready` flag: set by an event,
//! cleared only when a call answers `WouldBlock`.

mod chat_front;
mod ending;
mod event_loop;
#[cfg_attr(not(test), expect(dead_code, reason = "wired into the session next"))]
mod liveness;
mod meter;
mod peer;
mod pending;
mod session;

use std::io::{self, Write};

use mio::net::TcpStream;

use crate::buffer::Buffer;
use crate::error::Error;
use crate::options::Config;
use crate::stdio::StdStream;

/// Runs tete as `config` says until the work is done.
pub fn run(config: &Config) -> Result<(), Error> {
    event_loop::Relay::new(config)?.run()
}

/// stdin, which outlives any one peer (with `-k` it feeds each in turn).
struct Input {
    stream: StdStream,
    ready: bool,
    /// End of input seen: no session reads it again.
    ended: bool,
}

/// stdout.
struct Output {
    stream: StdStream,
    ready: bool,
}

/// Why a session is over.
enum End {
    /// Both sides are done: the normal end.
    Done,
    /// Nothing moved for the `-i` time.
    Idle,
    /// Whoever reads stdout has gone: stop at once, quietly.
    StdoutClosed,
    /// The connection failed (reset, broken pipe): exit 1, or with `-k` the next peer.
    PeerLost(Error),
    /// Something else failed: stdin, stdout, or the secure channel.
    Failed(Error),
    /// In a chat, the peer was interrupted (its CLOSE says so): it left, as a person does.
    PeerLeft,
}

/// Writes what `queue` holds to `stream` until it is empty or the socket would block (then
/// `writable` turns false, until the next readiness event). Returns how many bytes went out.
fn write_queued(
    stream: &mut TcpStream,
    queue: &mut Buffer,
    writable: &mut bool,
) -> io::Result<usize> {
    let mut written = 0;
    while *writable && !queue.is_empty() {
        match stream.write(queue.filled()) {
            Ok(n) => {
                queue.consume(n);
                written += n;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => *writable = false,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(written)
}
