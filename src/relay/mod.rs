//! The relay: one single-threaded mio `Poll` over stdin, stdout, the socket and, in listen mode,
//! the listening socket. Every wait, `-w` and `-i` included, is the poll's timeout: there are no
//! threads and no sleeps.
//!
//! The rooms, from the outside in:
//! - [`event_loop`]: the poll, one `match` on the event's token, and the step that follows.
//! - [`peers`]: where the peer comes from, whichever way: connecting or listening.
//! - [`connecting`]: where the peer comes from in connect mode: each address of the host in
//!   turn, or the proxy of `-x` and then its handshake.
//! - [`listening`]: where it comes from in listen mode: the listener, and `-k`.
//! - [`admission`]: a password listener's patience with strangers: who gets in, and the guess
//!   budget.
//! - [`pending`]: a password listener's handshakes under way, each in a slot of its own.
//! - [`session`]: one peer's connection and the bytes in flight to and from it: the pump that
//!   moves bytes until nothing more can move, and the kernel's zero-copy routes.
//! - [`ending`]: when a session ends, as a pure state machine with its own unit tests; its
//!   `policy` says which rules the command line chooses and what follows a session's end.
//! - [`liveness`]: whether the partner is still there (heard, asked, not answering, gone), as
//!   a pure state machine too.
//! - [`chat_front`]: chat mode at a terminal, between the person and the session: the keys
//!   read (by the loop, as they are also read with no session), the lines sent handed to the
//!   session in place of stdin, the peer's bytes shown in place of stdout.
//! - [`meter`]: what the user sees of a session's progress: `--progress`'s live line and the
//!   `-v` summary.
//! - [`presence`]: what chat mode says about the partner: who came, who left and how, what
//!   tete is waiting for.
//! - [`port_mapping`]: `--map-port`'s mapping on the home router, kept while tete runs.
//!
//! mio reports readiness on edges, so each descriptor carries a [`readiness::Readiness`]: set
//! by an event, cleared only when a call answers `WouldBlock`.
//!
//! No room writes on stderr: what tete has to say (`-v`'s lines, a lost peer with `-k`, a
//! wrong password) goes back to the loop as [`Notice`]s, which the loop shows, on stderr or,
//! in chat mode, through the chat front, out of the way of the line being typed.

mod admission;
mod chat_front;
mod connecting;
mod ending;
mod event_loop;
mod hello_watch;
mod listening;
mod liveness;
mod meter;
mod peers;
mod pending;
mod port_mapping;
mod presence;
mod readiness;
mod session;

use std::io;
use std::net::SocketAddr;

use mio::Token;
use mio::net::TcpStream;

use crate::buffer::Buffer;
use crate::error::Error;
use crate::layer::Layer;
use crate::options::{Config, Mode};
use crate::secure::Role;
use crate::stdio::StdStream;
use readiness::{Readiness, write_ready};

// The loop's token space: one token a source, and the pending handshakes' slots after them.
const STDIN: Token = Token(0);
const STDOUT: Token = Token(1);
/// The session's connection (or the connection being made, in connect mode).
const PEER: Token = Token(2);
const LISTENER: Token = Token(3);
const SIGNALS: Token = Token(4);
/// `--map-port`'s renewal of the router's mapping, while one is under way.
const PORTMAP: Token = Token(5);
/// The first of a password listener's pending handshakes' tokens, one a slot.
const FIRST_PENDING: usize = 6;

/// Runs tete as `config` says until the work is done.
pub fn run(config: &Config) -> Result<(), Error> {
    event_loop::Relay::new(config)?.run()
}

/// stdin, which outlives any one peer (with `-k` it feeds each in turn).
struct Input {
    stream: StdStream,
    ready: Readiness,
    /// End of input seen: no session reads it again.
    ended: bool,
}

/// stdout.
struct Output {
    stream: StdStream,
    ready: Readiness,
}

/// A peer that has just come, connected (and registered with the poll as [`PEER`]): its session
/// starts with `early`, what the destination sent right behind a proxy's reply, as its first
/// input, and with `layer`, the channel a password listener's handshake has already opened.
struct Arrival {
    stream: TcpStream,
    peer: SocketAddr,
    early: Vec<u8>,
    layer: Option<Layer>,
}

/// A status line of tete's own for the person running it ("connection from 192.0.2.1:5000").
/// The rooms hand them back to the loop, which shows them; a chat screen may draw them in a
/// style of its own, told apart by [`Shown`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    /// The line, without the `tete: ` prefix and without a line end.
    text: String,
    shown: Shown,
}

/// Whether a [`Notice`] is always shown, or only with `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// Something the user must hear about (a lost peer with `-k`, a wrong password).
    Always,
    /// `-v`'s account of what happens (connections, the channel, the summary).
    Verbose,
}

impl Notice {
    fn always(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            shown: Shown::Always,
        }
    }

    fn verbose(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            shown: Shown::Verbose,
        }
    }

    /// The line as stderr shows it.
    fn print(&self) {
        eprintln!("tete: {}", self.text);
    }
}

/// The notices the rooms handed back, in order, until the loop shows them.
#[derive(Debug, Default)]
struct Notices(Vec<Notice>);

impl Notices {
    fn push(&mut self, notice: Notice) {
        self.0.push(notice);
    }

    fn always(&mut self, text: impl Into<String>) {
        self.push(Notice::always(text));
    }

    fn verbose(&mut self, text: impl Into<String>) {
        self.push(Notice::verbose(text));
    }

    /// Takes the notices to show: every one with `-v` (`verbose`), else those always shown.
    fn take(&mut self, verbose: bool) -> Vec<Notice> {
        let mut taken = std::mem::take(&mut self.0);
        taken.retain(|notice| verbose || notice.shown == Shown::Always);
        taken
    }
}

/// The layer of a session that starts from a bare connection, or of a password listener's
/// pending handshake: plain, or with `password` at the start of its handshake.
fn fresh_layer(config: &Config, password: Option<&[u8]>) -> Layer {
    match password {
        None => Layer::plain(config.crlf),
        Some(password) => {
            let role = match config.mode {
                Mode::Connect { .. } => Role::Connector,
                Mode::Listen { .. } => Role::Listener,
            };
            Layer::secure(config.crlf, role, password, config.cipher)
        }
    }
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
/// `writable` clears, until the next readiness event). Returns how many bytes went out.
fn write_queued(
    stream: &mut TcpStream,
    queue: &mut Buffer,
    writable: &mut Readiness,
) -> io::Result<usize> {
    let written = write_ready(stream, queue.filled(), writable)?;
    queue.consume(written);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{Notice, Notices};

    #[test]
    fn verbose_notices_show_only_with_v_and_order_is_kept() {
        let mut notices = Notices::default();
        notices.verbose("connection from 192.0.2.1:5000");
        notices.always("the peer left");
        notices.verbose("peer closed");
        let mut again = Notices(notices.0.clone());
        assert_eq!(notices.take(false), [Notice::always("the peer left")]);
        assert!(notices.take(true).is_empty(), "taken once");
        let texts: Vec<String> = again.take(true).into_iter().map(|n| n.text).collect();
        assert_eq!(
            texts,
            [
                "connection from 192.0.2.1:5000",
                "the peer left",
                "peer closed"
            ]
        );
    }
}
