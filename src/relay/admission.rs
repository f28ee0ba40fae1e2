//! A password listener's admission: who gets in, and what a failure counts for.
//!
//! A password listener outlasts strangers. It runs up to [`SLOTS`] handshakes at once, each
//! with its own deadlines ([`super::pending`]), and commits to a connection only when the
//! connector's READY has opened: then the listener closes (unless `-k`) and the other pending
//! handshakes are dropped. Only a wrong password (a whole HELLO, then a CONFIRM_C that fails)
//! counts against the room: it is said on stderr, at most one CONFIRM_C is checked per
//! [`GUESS_INTERVAL`], and the run gives up after [`MAX_WRONG_GUESSES`] (with `-k` too: the
//! budget is the run's, not the session's). Scans, junk, silence, dropped connections and a
//! failure after our answer guessed nothing: they are dropped, not counted and said only with
//! `-v` (a plaintext client, once a run without it).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Registry, Token};

use super::pending::{Failure, Outcome, Room, SLOTS, Slots};
use super::{FIRST_PENDING, Notices, fresh_layer};
use crate::error::Error;
use crate::layer::Layer;
use crate::options::Config;

/// The least time between two CONFIRM_C checks of a password listener: a waiting one is held
/// until it has passed, so guesses come one a second at most.
const GUESS_INTERVAL: Duration = Duration::from_secs(1);

/// How many wrong passwords a password listener takes in one run before it gives up.
const MAX_WRONG_GUESSES: u32 = 10;

/// How many connections a password listener lets in between two polls (twice its slots).
const ACCEPTS_PER_STEP: usize = 2 * SLOTS;

/// A connection the listener let in: its stream, and where it comes from.
pub(super) type Connection = (TcpStream, SocketAddr);

pub(super) struct Admission<'a> {
    config: &'a Config,
    /// The handshakes under way.
    pending: Slots,
    /// How many handshakes have failed in this wait for a peer.
    failed_handshakes: u32,
    /// How many wrong passwords this run has seen (never reset).
    wrong_guesses: u32,
    /// When the next CONFIRM_C may be checked.
    next_check: Option<Instant>,
    /// A plaintext client has been mentioned (once a run without -v).
    said_not_tete: bool,
}

/// What a step of admission came to.
pub(super) struct Admitted {
    /// The partner, whose channel is open (its stream still registered with its slot's token).
    pub partner: Option<(TcpStream, SocketAddr, Layer)>,
    /// The step stopped letting connections in at [`ACCEPTS_PER_STEP`], with a slot for more.
    pub held_back: bool,
}

impl<'a> Admission<'a> {
    pub(super) fn new(config: &'a Config) -> Admission<'a> {
        Admission {
            config,
            pending: Slots::new(FIRST_PENDING),
            failed_handshakes: 0,
            wrong_guesses: 0,
            next_check: None,
            said_not_tete: false,
        }
    }

    /// Notes readiness from a poll event on a pending handshake's token, if `token` is one.
    pub(super) fn ready(&mut self, token: Token, readable: bool, writable: bool) {
        self.pending.ready(token, readable, writable);
    }

    /// The nearest deadline of the handshakes, or of a waiting CONFIRM_C's check.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let check = self.next_check.filter(|_| self.pending.confirm_waiting());
        [self.pending.next_deadline(), check]
            .into_iter()
            .flatten()
            .min()
    }

    /// How many handshakes have failed in this wait for a peer.
    pub(super) fn failed_handshakes(&self) -> u32 {
        self.failed_handshakes
    }

    /// The wait for a peer is over: its count of failed handshakes starts again (the run's
    /// count of wrong passwords does not).
    pub(super) fn wait_over(&mut self) {
        self.failed_handshakes = 0;
    }

    /// Every new connection from `accept` starts a pending handshake; the first whose channel
    /// opens is the partner. The handshakes move on after each new connection, before the
    /// next is let in, and every socket is read again before one is replaced: a stranger's
    /// junk is dropped at once, and a partner's CONFIRM_C that arrived during a burst of
    /// connections counts, where otherwise the burst could push the partner out. At most
    /// [`ACCEPTS_PER_STEP`] connections are let in before the next poll, so that a flood
    /// faster than the room cannot keep it from hearing its handshakes or its timers.
    /// Connections wait in the backlog while every slot holds a CONFIRM_C (waiting for its
    /// check, or answered and waiting for READY), and once a partner is in: then every other
    /// handshake is dropped.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        password: &[u8],
        notices: &mut Notices,
        mut accept: impl FnMut(&mut Notices) -> Result<Option<Connection>, Error>,
    ) -> Result<Admitted, Error> {
        let may_check = self.next_check.is_none_or(|at| now >= at);
        let mut checked = false;
        let mut outcomes = Vec::new();
        let mut accepted = 0;
        let mut held_back = false;
        loop {
            let reread = self.pending.is_full();
            let (stepped, did_check) =
                self.pending
                    .step(registry, now, may_check && !checked, reread);
            checked |= did_check;
            let opened = stepped
                .iter()
                .any(|outcome| matches!(outcome, Outcome::Open(..)));
            outcomes.extend(stepped);
            if opened {
                break;
            }
            let Some(slot) = self.pending.vacancy() else {
                break;
            };
            if accepted == ACCEPTS_PER_STEP {
                held_back = true;
                break;
            }
            let Some(connection) = accept(notices)? else {
                break;
            };
            let peer = connection.1;
            accepted += 1;
            let layer = fresh_layer(self.config, Some(password));
            let room = self
                .pending
                .admit(registry, slot, connection, layer, now)
                .map_err(|err| Error::io("event loop", &err))?;
            if let Room::Replaced(replaced) = room {
                self.failed_handshakes += 1;
                notices.verbose(format!(
                    "{replaced} made the least progress of {SLOTS} pending handshakes: \
                     dropped for {peer}"
                ));
            }
        }
        if checked {
            self.next_check = Some(now + GUESS_INTERVAL);
        }
        let partner = self.settle(outcomes, notices)?;
        if partner.is_some() {
            // The partner is in: nobody else's handshake goes on.
            self.pending.clear(registry);
        }
        Ok(Admitted { partner, held_back })
    }

    /// Counts and reports the handshakes that ended; the first partner, if any.
    fn settle(
        &mut self,
        outcomes: Vec<Outcome>,
        notices: &mut Notices,
    ) -> Result<Option<(TcpStream, SocketAddr, Layer)>, Error> {
        let mut opened = None;
        for outcome in outcomes {
            match outcome {
                Outcome::Open(stream, peer, layer) => {
                    if opened.is_none() {
                        opened = Some((stream, peer, layer));
                    } else {
                        // Two partners proved the password in the same step: the room is one
                        // person's, the first one's.
                        notices.verbose(format!(
                            "{peer} also knew the password, after the partner: dropped"
                        ));
                    }
                }
                Outcome::Guess(peer, err) => {
                    self.failed_handshakes += 1;
                    self.wrong_guesses += 1;
                    if self.wrong_guesses >= MAX_WRONG_GUESSES {
                        return Err(Error::Secure(format!(
                            "secure channel with {peer}: {err}; {MAX_WRONG_GUESSES} wrong \
                             passwords in this run: someone may be guessing the room password, \
                             so choose another"
                        )));
                    }
                    notices.always(format!(
                        "secure channel with {peer}: {err}; waiting for another peer"
                    ));
                }
                Outcome::Dropped(peer, Failure::NotTete) => {
                    self.failed_handshakes += 1;
                    // Said once a run, and with -v every time.
                    let text = format!(
                        "{peer} is not a password peer (it did not open with tete's \
                         handshake); waiting for another peer"
                    );
                    match self.said_not_tete {
                        true => notices.verbose(text),
                        false => notices.always(text),
                    }
                    self.said_not_tete = true;
                }
                Outcome::Dropped(peer, Failure::Other(why)) => {
                    self.failed_handshakes += 1;
                    notices.verbose(format!(
                        "secure channel with {peer}: {why}; waiting for another peer"
                    ));
                }
            }
        }
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::super::pending::{CONFIRM_TIME, HELLO_TIME, SLOTS};
    use super::{GUESS_INTERVAL, MAX_WRONG_GUESSES};

    /// `--help` states the password listener's policy in numbers: they must be these.
    #[test]
    fn help_states_the_listener_policy_as_it_is() {
        let help = crate::options::help().replace('\n', " ");
        assert_eq!(GUESS_INTERVAL.as_secs(), 1, "--help says one a second");
        for said in [
            format!("up to {SLOTS} handshakes at once"),
            format!(
                "a newcomer has {} s for its first message and {} s to prove",
                HELLO_TIME.as_secs(),
                CONFIRM_TIME.as_secs()
            ),
            "one is checked a second".to_string(),
            format!("after {MAX_WRONG_GUESSES} wrong guesses in a run"),
        ] {
            assert!(help.contains(&said), "--help does not say {said:?}");
        }
    }
}
