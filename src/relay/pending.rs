//! A password listener's pending handshakes: the connections accepted whose peer has not yet
//! proved it knows the password.
//!
//! Anyone who can reach the port can connect, so nothing a stranger does may end the room or
//! hold its door. Up to [`SLOTS`] handshakes run at once (like OpenSSH's `MaxStartups`), each
//! with only its socket and a handshake-sized [`Layer`] (a few hundred bytes: the session's
//! buffers come after READY), and each with its own deadlines, which do not depend on `-w`:
//! the whole HELLO within [`HELLO_TIME`] of the accept, CONFIRM_C within [`CONFIRM_TIME`] of
//! it, and READY within [`CONFIRM_TIME`] of our answer. When every slot is taken, a new
//! connection replaces the pending one that has made the least progress (one without a whole
//! HELLO first); among equals, one from the address that holds the most slots, then the
//! oldest. So a flood of silent connections cannot keep the partner out, and a flood of
//! HELLOs from one host pushes out its own connections, not a partner's from elsewhere. A
//! handshake whose CONFIRM_C is in is never replaced: it is waiting for its check (which the
//! rate limit decides), not stalling, and replacing it would let a flood push the partner out
//! before its turn; when every slot holds one, new connections wait in the listen backlog
//! until a check fails or a handshake ends. Before anything is replaced, every slot is read once more, so
//! that a CONFIRM_C that arrived since the last poll counts.
//!
//! This module only runs the handshakes; which CONFIRM_C may be checked when (the guess rate
//! limit) and what a failure counts for is the admission's call ([`super::admission`]).

use std::cmp::Reverse;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::{Readiness, write_queued};
use crate::layer::{Layer, LayerError};
use crate::secure::{CONFIRM_LEN, HELLO_LEN, SecureError};

/// How many handshakes a password listener runs at once.
pub(super) const SLOTS: usize = 8;
/// How long a pending connection has to send its whole HELLO, from the accept.
pub(super) const HELLO_TIME: Duration = Duration::from_secs(5);
/// How long a pending connection has to send CONFIRM_C, from the accept; and READY, from our
/// CONFIRM_L.
pub(super) const CONFIRM_TIME: Duration = Duration::from_secs(10);

/// The pending handshakes, one a slot; slot `i`'s poll token is `Token(first + i)`.
pub(super) struct Slots {
    first: usize,
    slots: [Option<Pending>; SLOTS],
    /// How many connections have been admitted: each one's number orders them by age, even
    /// those accepted in the same instant.
    admitted: u64,
}

/// How far a pending handshake has come, for choosing which one makes room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Not a whole HELLO yet.
    Connected,
    /// A whole HELLO, not a whole CONFIRM_C.
    Greeted,
    /// CONFIRM_C is in: it waits for its check, or READY is awaited.
    Confirmed,
}

/// What admitting a connection took.
pub(super) enum Room {
    /// A slot was free.
    Free,
    /// The pending handshake from this address made the least progress and was dropped.
    Replaced(SocketAddr),
}

/// One accepted connection in its handshake.
pub(super) struct Pending {
    stream: TcpStream,
    peer: SocketAddr,
    layer: Layer,
    accepted: Instant,
    /// Its place in the order of admission (see [`Slots::admitted`]).
    number: u64,
    /// Bytes the peer has sent so far.
    received: usize,
    /// When our CONFIRM_L went out (READY is then due within [`CONFIRM_TIME`]).
    answered: Option<Instant>,
    readable: Readiness,
    writable: Readiness,
}

/// What a step of a pending handshake came to.
pub(super) enum Outcome {
    /// The connector's READY opened: the channel is up, the peer knows the password.
    Open(TcpStream, SocketAddr, Layer),
    /// The connection failed or was not a partner (a stranger, or a failure before READY):
    /// dropped, counted for nothing.
    Dropped(SocketAddr, Failure),
    /// A well-formed HELLO followed by a CONFIRM_C that failed: a password guess.
    Guess(SocketAddr, SecureError),
}

/// Why a pending connection was dropped.
pub(super) enum Failure {
    /// The peer is not a tete password peer (plaintext, junk, wrong magic).
    NotTete,
    /// Anything else: silence, a drop, the wrong version or role, a damaged answer.
    Other(String),
}

impl Slots {
    /// Slots whose tokens start at `first`.
    pub(super) fn new(first: usize) -> Slots {
        Slots {
            first,
            slots: Default::default(),
            admitted: 0,
        }
    }

    /// Notes readiness from a poll event on `token`, if it is a slot's.
    pub(super) fn ready(&mut self, token: Token, readable: bool, writable: bool) {
        let slot = token.0.checked_sub(self.first).filter(|i| *i < SLOTS);
        if let Some(pending) = slot.and_then(|slot| self.slots[slot].as_mut()) {
            pending.readable.note(readable);
            pending.writable.note(writable);
        }
    }

    /// Where a new connection would go: a free slot, else the pending handshake that
    /// [`replaceable`] picks. None when every slot holds a CONFIRM_C (waiting for its check,
    /// or answered and waiting for READY): new connections then wait in the backlog.
    pub(super) fn vacancy(&self) -> Option<usize> {
        if let Some(free) = self.slots.iter().position(Option::is_none) {
            return Some(free);
        }
        let candidates: Vec<Candidate> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, pending)| {
                let pending = pending.as_ref()?;
                Some(Candidate {
                    slot,
                    stage: pending.stage(),
                    source: source(pending.peer),
                    number: pending.number,
                })
            })
            .collect();
        replaceable(&candidates)
    }

    /// True when every slot is taken: the next connection replaces one.
    pub(super) fn is_full(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// Starts the handshake with a new connection in `slot`, from [`Slots::vacancy`], in
    /// `layer` (a listener's, at the start of its handshake): the handshake there, if any, is
    /// dropped for it.
    pub(super) fn admit(
        &mut self,
        registry: &Registry,
        slot: usize,
        (mut stream, peer): (TcpStream, SocketAddr),
        layer: Layer,
        now: Instant,
    ) -> io::Result<Room> {
        let room = match self.remove(registry, slot) {
            Some(old) => Room::Replaced(old.peer),
            None => Room::Free,
        };
        registry.register(
            &mut stream,
            Token(self.first + slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let _ = stream.set_nodelay(true);
        self.slots[slot] = Some(Pending {
            stream,
            peer,
            layer,
            accepted: now,
            number: self.admitted,
            received: 0,
            answered: None,
            readable: Readiness::new(true),
            writable: Readiness::new(true),
        });
        self.admitted += 1;
        Ok(room)
    }

    /// Advances every pending handshake; `may_check` says whether a waiting CONFIRM_C may be
    /// checked now (at most one is), `reread` to read every socket, whatever the last poll
    /// said (before one of them is replaced). Returns the outcomes, with the slots they came
    /// from already freed, and whether a CONFIRM_C was checked.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        now: Instant,
        may_check: bool,
        reread: bool,
    ) -> (Vec<Outcome>, bool) {
        let mut outcomes = Vec::new();
        let mut checked = false;
        // The oldest first: of two waiting CONFIRM_Cs, the earlier one is checked first.
        let mut order: Vec<usize> = (0..SLOTS).filter(|i| self.slots[*i].is_some()).collect();
        order.sort_by_key(|i| self.slots[*i].as_ref().map(|p| p.number));
        for slot in order {
            let Some(mut pending) = self.slots[slot].take() else {
                continue;
            };
            pending.readable.note(reread);
            let (next, did_check) = pending.advance(registry, now, may_check && !checked);
            checked |= did_check;
            match next {
                Ok(pending) => self.slots[slot] = Some(pending),
                Err(outcome) => outcomes.push(outcome),
            }
        }
        (outcomes, checked)
    }

    /// True when a CONFIRM_C waits for the rate limit.
    pub(super) fn confirm_waiting(&self) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|pending| pending.layer.confirm_waiting())
    }

    /// The nearest deadline of the pending handshakes.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .filter_map(Pending::deadline)
            .min()
    }

    /// Drops every pending handshake.
    pub(super) fn clear(&mut self, registry: &Registry) {
        for slot in 0..SLOTS {
            self.remove(registry, slot);
        }
    }

    fn remove(&mut self, registry: &Registry, slot: usize) -> Option<Pending> {
        let mut pending = self.slots[slot].take()?;
        let _ = registry.deregister(&mut pending.stream);
        Some(pending)
    }
}

impl Pending {
    /// When this handshake fails unless it has moved on: the whole HELLO within
    /// [`HELLO_TIME`] of the accept, CONFIRM_C within [`CONFIRM_TIME`] of it, READY within
    /// [`CONFIRM_TIME`] of our answer; none while its CONFIRM_C waits for the listener's rate
    /// limit (the wait is ours, not the peer's).
    fn deadline(&self) -> Option<Instant> {
        if self.layer.confirm_waiting() {
            None
        } else if let Some(answered) = self.answered {
            Some(answered + CONFIRM_TIME)
        } else if self.received >= HELLO_LEN {
            Some(self.accepted + CONFIRM_TIME)
        } else {
            Some(self.accepted + HELLO_TIME)
        }
    }

    /// How far it has come (see [`replaceable`]). Bytes waiting unread in the socket (arrived
    /// since the last read) may count as a HELLO, so that a partner's does not rank it with a
    /// silent stranger, but never as a CONFIRM_C: unread bytes may be junk, and a junk-filled
    /// room must not look like one whose every handshake waits for its check.
    fn stage(&self) -> Stage {
        if self.received >= HELLO_LEN + CONFIRM_LEN {
            Stage::Confirmed
        } else if self.received >= HELLO_LEN || self.unread_hello() {
            Stage::Greeted
        } else {
            Stage::Connected
        }
    }

    /// True when the bytes read and those waiting unread make a whole HELLO.
    fn unread_hello(&self) -> bool {
        let mut unread = [0u8; HELLO_LEN];
        let waiting = self.stream.peek(&mut unread).unwrap_or(0);
        self.received + waiting >= HELLO_LEN
    }

    /// Moves the handshake as far as the socket allows: the pending handshake back while it is
    /// undecided, else its outcome (the connection deregistered unless the channel opened).
    /// Also says whether a CONFIRM_C was checked.
    fn advance(
        mut self,
        registry: &Registry,
        now: Instant,
        may_check: bool,
    ) -> (Result<Pending, Outcome>, bool) {
        let mut checked = false;
        let failure = match self.exchange(now, may_check, &mut checked) {
            Ok(()) if self.layer.is_open() => {
                return (
                    Err(Outcome::Open(self.stream, self.peer, self.layer)),
                    checked,
                );
            }
            Ok(()) if self.deadline().is_some_and(|deadline| now >= deadline) => {
                Failure::Other(SecureError::Stalled.to_string())
            }
            Ok(()) => return (Ok(self), checked),
            Err(Step::Layer(err)) if err.is_guess() => {
                let _ = self.write();
                let _ = registry.deregister(&mut self.stream);
                let err = err.secure().cloned().unwrap_or(SecureError::WrongPassword);
                return (Err(Outcome::Guess(self.peer, err)), checked);
            }
            Err(Step::Layer(LayerError::Handshake(SecureError::NotTete))) => Failure::NotTete,
            Err(Step::Layer(err)) => Failure::Other(err.to_string()),
            Err(Step::Io(err)) => Failure::Other(crate::error::os_reason(&err)),
        };
        let _ = self.write();
        let _ = registry.deregister(&mut self.stream);
        (Err(Outcome::Dropped(self.peer, failure)), checked)
    }

    /// Reads, feeds the handshake, checks a waiting CONFIRM_C if allowed, and writes.
    fn exchange(&mut self, now: Instant, may_check: bool, checked: &mut bool) -> Result<(), Step> {
        loop {
            let mut moved = self.write()?;
            let mut ended = false;
            while !ended && self.layer.incoming().room() > 0 {
                let buf = self.layer.incoming();
                let stream = &mut self.stream;
                let read = self.readable.attempt(|| stream.read(buf.spare()));
                match read.map_err(Step::Io)? {
                    None => break,
                    Some(0) => ended = true,
                    Some(n) => {
                        buf.commit(n);
                        self.received += n;
                        moved = true;
                    }
                }
            }
            moved |= self.layer.decode().map_err(Step::Layer)?;
            // READY and the peer's end may come together: the session sees the end again.
            if ended && !self.layer.is_open() {
                return Err(Step::Layer(
                    self.layer
                        .finish_inbound()
                        .err()
                        .unwrap_or(LayerError::Handshake(SecureError::EndedInHandshake)),
                ));
            }
            if self.layer.confirm_waiting() {
                if !may_check || *checked {
                    return Ok(());
                }
                *checked = true;
                self.layer.check_confirm().map_err(Step::Layer)?;
                self.answered = Some(now);
                self.layer.decode().map_err(Step::Layer)?;
                moved = true;
            }
            if self.layer.is_open() || !moved {
                self.write()?;
                return Ok(());
            }
        }
    }

    /// Writes what the handshake has queued, as far as the socket takes it.
    fn write(&mut self) -> Result<bool, Step> {
        write_queued(&mut self.stream, self.layer.outgoing(), &mut self.writable)
            .map(|written| written > 0)
            .map_err(Step::Io)
    }
}

/// How a step of the exchange failed.
enum Step {
    Layer(LayerError),
    Io(io::Error),
}

/// What choosing a handshake to replace looks at.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    slot: usize,
    stage: Stage,
    source: IpAddr,
    number: u64,
}

/// The slot of the pending handshake a new connection replaces: the least progress first
/// (never one whose CONFIRM_C is in); among equals, one from the source that holds the most
/// slots, so that a host flooding the room pushes out its own connections; then the oldest.
/// None when every one has its CONFIRM_C in.
fn replaceable(candidates: &[Candidate]) -> Option<usize> {
    let sharing = |source: IpAddr| candidates.iter().filter(|c| c.source == source).count();
    candidates
        .iter()
        .filter(|c| c.stage < Stage::Confirmed)
        .min_by_key(|c| (c.stage, Reverse(sharing(c.source)), c.number))
        .map(|c| c.slot)
}

/// The host a connection comes from: its IPv4 address, or its IPv6 /64 (one host's share of
/// addresses, as a site hands them out).
fn source(peer: SocketAddr) -> IpAddr {
    match peer.ip().to_canonical() {
        IpAddr::V6(ip) => IpAddr::V6(Ipv6Addr::from_bits(ip.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The candidates in `room`, each in the slot of its position.
    fn choice(room: &[(Stage, &str, u64)]) -> Option<usize> {
        let candidates: Vec<Candidate> = room
            .iter()
            .enumerate()
            .map(|(slot, &(stage, source, number))| Candidate {
                slot,
                stage,
                source: source.parse().expect("an address"),
                number,
            })
            .collect();
        replaceable(&candidates)
    }

    #[test]
    fn the_least_progress_goes_first_then_the_busiest_source_then_the_oldest() {
        use Stage::*;
        // A silent newer connection goes before older ones with a whole HELLO.
        let room = [
            (Greeted, "192.0.2.1", 0),
            (Connected, "192.0.2.1", 5),
            (Greeted, "192.0.2.1", 1),
        ];
        assert_eq!(choice(&room), Some(1));
        // Equal progress: the host with the most slots loses one, its oldest, even when the
        // partner's (another host's) handshake is older.
        let room = [
            (Greeted, "198.51.100.7", 0),
            (Greeted, "192.0.2.1", 3),
            (Greeted, "192.0.2.1", 2),
            (Greeted, "192.0.2.1", 4),
        ];
        assert_eq!(choice(&room), Some(2));
        // One source: the oldest.
        let room = [(Greeted, "192.0.2.1", 9), (Greeted, "192.0.2.1", 4)];
        assert_eq!(choice(&room), Some(1));
        // A CONFIRM_C that is in is never replaced, however busy its source.
        let room = [
            (Confirmed, "192.0.2.1", 0),
            (Confirmed, "192.0.2.1", 1),
            (Greeted, "198.51.100.7", 2),
        ];
        assert_eq!(choice(&room), Some(2));
        let room = [(Confirmed, "192.0.2.1", 0), (Confirmed, "198.51.100.7", 1)];
        assert_eq!(choice(&room), None);
    }

    #[test]
    fn a_source_is_an_ipv4_address_or_an_ipv6_64() {
        let source = |peer: &str| super::source(peer.parse().expect("a socket address"));
        assert_eq!(source("192.0.2.1:5000"), source("192.0.2.1:6000"));
        assert_ne!(source("192.0.2.1:5000"), source("192.0.2.2:5000"));
        assert_eq!(
            source("[2001:db8:1:2::5]:1"),
            source("[2001:db8:1:2:ffff::9]:2")
        );
        assert_ne!(source("[2001:db8:1:2::5]:1"), source("[2001:db8:1:3::5]:1"));
        // An IPv4 peer of a dual-stack listener is its IPv4 address.
        assert_eq!(source("[::ffff:192.0.2.1]:1"), source("192.0.2.1:1"));
    }
}
