//! `-z`: does anything accept on these ports? Each port is tried in turn, every address of the
//! host in order, with a non-blocking connect waited on by a mio `Poll` whose timeout is the
//! `-w` deadline: no threads, no sleeps, and nothing is ever sent.
//!
//! The answer is the exit status (0: at least one port accepts, 1: none does); `-v` adds one
//! line per port, saying it is open or why not.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::address;
use crate::error::Error;
use crate::options::Probe;

const PROBED: Token = Token(0);

/// Probes every port of `probe`; `Ok` when at least one accepts.
pub fn run(probe: &Probe) -> Result<(), Error> {
    let quiet = |err: Error| {
        if probe.verbose { err } else { Error::Silent }
    };
    // One lookup for all the ports: the host's addresses do not depend on the port.
    let addresses = address::resolve(&probe.host, 0, probe.family, probe.numeric).map_err(quiet)?;
    let mut poll =
        Poll::new().map_err(|err| quiet(Error::io("cannot create the event loop", &err)))?;
    let mut any_open = false;
    for port in probe.ports.iter().cloned().flatten() {
        let targets = addresses
            .iter()
            .map(|addr| SocketAddr::new(addr.ip(), port));
        match first_accepting(&mut poll, targets, probe).map_err(quiet)? {
            Ok(open) => {
                any_open = true;
                report(probe, &format!("connected to {open}: open"));
            }
            Err(why_not) => report(probe, &why_not.to_string()),
        }
    }
    if any_open { Ok(()) } else { Err(Error::Silent) }
}

fn report(probe: &Probe, line: &str) {
    if probe.verbose {
        eprintln!("tete: {line}");
    }
}

/// The first of `targets` that accepts within the `-w` time (for all of them together), or why
/// the last one tried did not. The outer error is a failure of tete itself (the event loop).
fn first_accepting(
    poll: &mut Poll,
    targets: impl Iterator<Item = SocketAddr>,
    probe: &Probe,
) -> Result<Result<SocketAddr, Error>, Error> {
    let deadline = probe.wait.map(|wait| Instant::now() + wait);
    let mut failure = Error::Runtime("no address to connect to".into());
    for target in targets {
        let outcome = match address::start_connect(target, &probe.source, probe.numeric) {
            Ok(stream) => wait_connected(poll, stream, target, deadline, probe.wait)?,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(()) => return Ok(Ok(target)),
            Err(err) => failure = err,
        }
    }
    Ok(Err(failure))
}

/// Waits until `stream` has connected, failed, or run out of time. The connection is closed
/// when `stream` drops, before a byte is sent.
fn wait_connected(
    poll: &mut Poll,
    mut stream: TcpStream,
    target: SocketAddr,
    deadline: Option<Instant>,
    wait: Option<Duration>,
) -> Result<Result<(), Error>, Error> {
    let event_loop = |err: io::Error| Error::io("event loop", &err);
    poll.registry()
        .register(&mut stream, PROBED, Interest::WRITABLE)
        .map_err(event_loop)?;
    let mut events = Events::with_capacity(4);
    let outcome = loop {
        match address::connect_outcome(&stream) {
            Some(Ok(())) => break Ok(()),
            Some(Err(err)) => break Err(Error::io(format!("cannot connect to {target}"), &err)),
            None => {}
        }
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            let wait = wait.unwrap_or_default().as_secs_f64();
            break Err(Error::Runtime(format!(
                "cannot connect to {target}: timed out after {wait} s"
            )));
        }
        let timeout = deadline.map(|deadline| deadline - now);
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(event_loop(err)),
        }
    };
    poll.registry()
        .deregister(&mut stream)
        .map_err(event_loop)?;
    Ok(outcome)
}
