//! tete joins standard input and standard output to one TCP connection, like netcat, and ends
//! every session correctly: nothing is cut off at the end, and nothing hangs once the work is done.
//!
//! The modules, from the command line inwards (all private but `secure`, which the fuzz
//! targets use, and [`Error`]):
//! - `options`: the getopts table and the validated `options::Command`;
//! - `completions`: shell completion scripts written from the same option table;
//! - `address`: name resolution, the listening socket, starting a connection;
//! - `proxy`: the SOCKS4/4a, SOCKS5 and HTTP CONNECT handshakes of `-x`/`-X`, as state
//!   machines over bytes;
//! - `probe`: `-z`, which tries ports and sends nothing;
//! - `portmap`: `--map-port`, a port opened on the home router (PCP, NAT-PMP, UPnP IGD);
//! - `relay`: the single-threaded mio event loop and the end-of-session rules;
//! - `layer`: what happens to bytes between the standard streams and the socket (`-C`, and the
//!   password mode's records);
//! - [`secure`]: the password mode's handshake and records, as state machines over bytes;
//! - `password`: where the room password comes from (terminal, file, environment);
//! - `progress`: the `-v` summary line and the live progress line, as text and terminal bytes;
//! - `zerocopy`: splice(2) and sendfile(2), for plaintext that needs no change on the way;
//! - `buffer`: the fixed-size buffers that keep memory bounded;
//! - `stdio`: the quirks of stdin and stdout (files epoll refuses, shared `O_NONBLOCK`);
//! - `signals`: putting shared terminal and descriptor state back when a signal ends tete,
//!   and signals as events for the loop;
//! - `terminal`: changing a terminal's modes (echo off, raw) and always putting them back;
//! - `sys`: the few system calls without a safe wrapper in `rustix`, the only `unsafe` code;
//! - `chat`: chat mode at a terminal: the line editor, the peer's text made safe, the screen;
//! - `error`: the failures and their exit statuses.

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
    // Both secrets leave the environment block (and /proc/PID/environ) at once.
    let env = options::Environment {
        password: password::take_from_environment(),
        proxy_auth: sys::take_environment_variable(proxy::AUTH_VARIABLE).map(|v| v.to_vec()),
    };
    match options::parse(args, env)? {
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
