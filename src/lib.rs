//! tete joins standard input and standard output to one TCP connection, like netcat, and ends
//! every session correctly: nothing is cut off at the end, and nothing hangs once the work is done.
//!
//! # How a run goes
//!
//! [`run`] reads the environment once (`options::Environment`, which takes the secrets out of
//! it), parses the command line into a `Command`, and hands it on: `--help`,
//! `--version` and `--completions` are text; `-z` goes to `probe`; a session goes to `relay`,
//! whose one mio loop moves bytes between stdin, stdout and the peer until the end rules say
//! the session is over. Errors come back as [`Error`], which `main` turns into `tete: ...` and
//! an exit status in one place.
//!
//! # Map of the modules
//!
//! All private: the library exports [`run`] and [`Error`], and `secure` only with the
//! `internals` feature (for the fuzz targets and the protocol tests).
//!
//! The command line:
//! - `options/`: `mod.rs` turns getopts' matches into the validated `Command` and reads the
//!   environment at the edge; `table.rs` is the one option table behind the parser, `--help`
//!   and the completions; `values.rs` parses ports, `-z`'s port lists and seconds.
//! - `completions`: bash, zsh and fish scripts written from the option table.
//! - `password`: where the room password comes from (terminal, file, environment).
//! - `error`: the failures and their exit statuses.
//!
//! Reaching the peer:
//! - `address`: name resolution, the listening socket, starting a connection, and the one
//!   `host:port` form of messages and proxy requests.
//! - `proxy/`: `-x`/`-X` as state machines over bytes: `mod.rs` (what the options say, how a
//!   handshake fails), `handshake.rs` (the driver), `socks.rs`, `http.rs`.
//! - `probe`: `-z`, which tries ports and sends nothing.
//! - `portmap/`: `--map-port`, a port opened on the home router (PCP, NAT-PMP, UPnP IGD):
//!   the gateway, the protocols' messages, one request's talk, and the mapping's life.
//!
//! The session:
//! - `relay/`: the single-threaded mio event loop. `mod.rs` owns the token space and the
//!   types the rooms share (stdin and stdout, `End`, the `Notice`s they hand back);
//!   `event_loop.rs` polls, matches tokens and steps; `connecting.rs` (address fallback, the
//!   proxy phase) and `listening.rs` (the listener, `-k`) bring the peer; `admission.rs` (who
//!   gets in, the guess budget) runs a password listener's `pending.rs` handshakes;
//!   `session/` pumps the bytes (through the layer, or the kernel's zero-copy routes);
//!   `ending.rs` says when a session is over, and what follows; `readiness.rs` keeps the
//!   edge-triggered readiness rule; `hello_watch.rs` notices a forgotten `-P`;
//!   `chat_front.rs` and `meter.rs` are what the person sees.
//! - `layer/`: what happens to bytes between the standard streams and the socket: `-C`
//!   (`crlf.rs`) and the password mode's records, decrypted in place (`inbound.rs`).
//! - `secure/`: the password mode's handshake and records, sans-IO state machines over bytes,
//!   with the wire format in its docs; the caller chooses the ciphers.
//! - `zerocopy`: splice(2) and sendfile(2), for plaintext that needs no change on the way.
//! - `buffer`: the fixed-size buffers that keep memory bounded.
//! - `chat/`: chat mode at a terminal: the line editor, the peer's text made safe, the screen.
//! - `progress`: the `-v` summary and the live progress line, as text and terminal bytes.
//!
//! The process's shared state:
//! - `stdio`: the quirks of stdin and stdout (files epoll refuses, shared `O_NONBLOCK`).
//! - `terminal`: changing a terminal's modes (echo off, raw) and always putting them back.
//! - `saved`: what a signal handler may touch, written by `stdio` and `terminal`.
//! - `signals`: putting that state back when a signal ends tete, and signals as loop events.
//! - `sys`: the few system calls without a safe wrapper in `rustix`, the only `unsafe` code.

#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod address;
mod buffer;
mod chat;
mod completions;
mod error;
mod layer;
mod options;
mod password;
mod portmap;
mod probe;
mod progress;
mod proxy;
mod relay;
mod saved;
#[cfg(not(feature = "internals"))]
mod secure;
/// The password mode's sans-IO core, for the fuzz targets and the protocol tests only (the
/// `internals` feature): not a stable API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod secure;
mod signals;
mod stdio;
#[allow(unsafe_code)]
mod sys;
mod terminal;
mod zerocopy;

use std::ffi::OsString;

pub use error::Error;
use options::Command;

/// Runs tete with the arguments after the program name. `Ok(text)` is what to print on stdout.
pub fn run(args: &[OsString]) -> Result<Option<String>, Error> {
    stdio::fill_closed_standard_fds().map_err(|err| Error::io("standard descriptors", &err))?;
    match options::parse(args, options::Environment::take())? {
        Command::Help => Ok(Some(options::help())),
        Command::Version => Ok(Some(format!("tete {}\n", env!("CARGO_PKG_VERSION")))),
        Command::Completions(shell) => Ok(Some(completions::script(shell))),
        Command::Probe(probe) => probe::run(&probe).map(|()| None),
        Command::Run(config) => {
            // Whatever happens from here, even a panic, the shared descriptors get their
            // flags back.
            let _restore = stdio::RestoreFlags;
            relay::run(&config).map(|()| None)
        }
    }
}
