//! The session's clocks: the handshake's patience, `-i`, the end rules' deadlines, and whether
//! the partner is still there (the session's side of [`crate::relay::liveness`]). The socket
//! is set to probe a quiet peer; after each pump the check gets what it asks for (a ping in
//! password mode, a sample of the kernel's view when one is due), and what it concludes becomes
//! a line for the user, or the session's end. A password connector waits here, patiently and
//! saying so, for a listener whose person is still typing the password.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::Session;
use crate::error::Error;
use crate::options::{Config, Direction};
use crate::relay::ending::Sending;
use crate::relay::liveness::{Change, Limits};
use crate::relay::{End, Notice};
use crate::sys::{self, TcpSample};

/// How long a connector's listener has to complete the password handshake once its first byte
/// has come (before it, see [`PASSWORD_WAIT`]), unless `-w` says otherwise. (A
/// listener's handshakes run before its session, with their own deadlines: see
/// [`crate::relay::pending`].)
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// How often `--send-only` checks whether the peer has acknowledged everything, once sent.
const ACK_RECHECK: Duration = Duration::from_millis(5);

/// How long a password connector waits for the listener's first byte, unless `-w` says
/// otherwise: its person may be typing the password at the prompt (the listener binds its
/// port, so the connection is made, before it asks).
pub(super) const PASSWORD_WAIT: Duration = Duration::from_secs(60);

/// After how long without the listener's first byte the connector says what it waits for.
const SAY_PASSWORD_WAIT: Duration = Duration::from_secs(2);

impl Session {
    /// Sets `stream` to probe a quiet peer every probe interval (keepalive, the retransmission
    /// backoff capped) and to give up on unacknowledged data a little after the limit, as the
    /// check's backstop. Best effort: where the system lacks an option, the check's own samples
    /// and pings remain.
    pub(super) fn watch_socket(stream: &TcpStream, limits: Option<Limits>) -> Option<Duration> {
        let limits = limits?;
        let _ = sys::keep_probing(
            stream.as_fd(),
            limits.keepalive_interval(),
            limits.keepalive_count(),
            limits.probe,
        );
        set_user_timeout(stream, Some(limits.user_timeout()));
        Some(limits.user_timeout())
    }

    /// The liveness check's turn, after the pump: a ping if one is due (queued and written at
    /// once), a sample if one is due, and what the check concludes. Returns the session's end
    /// when the partner has gone.
    pub(in crate::relay) fn watch(&mut self) -> Option<End> {
        let now = Instant::now();
        if !self.layer.is_open() {
            self.tell_password_wait(now);
            return None;
        }
        // The first bytes the HELLO watch holds are no output waiting for stdout.
        let held_back = (!self.layer.stdout_bytes().is_empty() && !self.hello.watching())
            || self
                .down_route
                .as_ref()
                .is_some_and(|route| route.has_pending());
        self.liveness.held_back(now, held_back);
        self.liveness.heartbeats(self.layer.may_ping());
        if self.liveness.ping_due(now) {
            let end = match self.layer.ping() {
                Ok(queued) => queued.map(|queued| self.written + queued as u64),
                Err(err) => return Some(self.layer_failure(err)),
            };
            self.liveness.pinged(now, end);
            if let Err(end) = self.send() {
                return Some(end);
            }
        }
        if self.liveness.sample_due(now) {
            self.liveness
                .sample(now, tcp_sample(&self.stream), self.written);
        }
        let wanted = self.liveness.user_timeout();
        if wanted != self.user_timeout {
            set_user_timeout(&self.stream, wanted);
            self.user_timeout = wanted;
        }
        let line = match self.liveness.update(now)? {
            Change::Gone(silent) => {
                // If it is only stopped, it will hear why when it wakes up.
                self.interrupt();
                return Some(self.gone(silent));
            }
            Change::NotAnswering(silent) => {
                format!(
                    "the peer ({}): not answering for {} s",
                    self.peer,
                    whole(silent)
                )
            }
            Change::Back(silent) => format!(
                "the peer ({}) answers again, after {} s of silence",
                self.peer,
                whole(silent)
            ),
        };
        // A chat's status line; with -v otherwise.
        self.notices.push(match self.ending.is_chat() {
            true => Notice::always(line),
            false => Notice::verbose(line),
        });
        None
    }

    /// The end of a session whose partner has not answered for `silent`: exit status 1 (with
    /// `-k`, the next peer).
    pub(super) fn gone(&self, silent: Duration) -> End {
        let limit = self.liveness.limits().map_or(String::new(), |limits| {
            format!(" (--peer-timeout {})", limits.timeout.as_secs_f64())
        });
        End::PeerLost(Error::Runtime(format!(
            "the peer ({}) has not answered for {} s; giving up{limit}",
            self.peer,
            whole(silent)
        )))
    }

    /// True once the relay has seen the channel open ([`Session::authenticate`]).
    pub(in crate::relay) fn is_open(&self) -> bool {
        self.authenticated
    }

    /// True while the partner is said not to answer, and once it has gone for that.
    pub(in crate::relay) fn not_answering(&self) -> bool {
        self.liveness.not_answering()
    }

    /// When the kernel itself gave up on the connection (its user timeout, or keepalive), how
    /// long the partner had been silent, if the check was watching.
    pub(super) fn silent_for(&self) -> Option<Duration> {
        self.liveness.limits()?;
        Some(self.liveness.silent_for(Instant::now()))
    }

    /// A password connector whose listener has sent nothing yet says, once, that it waits.
    fn tell_password_wait(&mut self, now: Instant) {
        if self.said_password_wait
            || self.first_heard.is_some()
            || now < self.begun + SAY_PASSWORD_WAIT
        {
            return;
        }
        self.said_password_wait = true;
        self.notices.push(Notice::always(format!(
            "connected to {}; waiting for the partner to enter the password (or for the \
             room to be free)",
            self.peer
        )));
    }

    /// When the handshake fails for want of an answer: `-w` after the start; else
    /// [`PASSWORD_WAIT`] for the listener's first byte, and from it the usual time for the rest.
    pub(super) fn handshake_deadline(&self, wait: Option<Duration>) -> Instant {
        match (wait, self.first_heard) {
            (Some(wait), _) => self.begun + wait,
            (None, None) => self.begun + PASSWORD_WAIT,
            (None, Some(first)) => first + HANDSHAKE_TIME,
        }
    }

    /// The next moment the check, or the password wait's line, is due.
    pub(super) fn watch_deadline(&self) -> Option<Instant> {
        if self.layer.is_open() {
            return self.liveness.next_deadline();
        }
        (!self.said_password_wait && self.first_heard.is_none())
            .then_some(self.begun + SAY_PASSWORD_WAIT)
    }
}

impl Session {
    /// The next time something is due: the handshake's deadline, `-i`, or an end rule's.
    pub(in crate::relay) fn next_deadline(&self, config: &Config) -> Option<Instant> {
        let watch = self.watch_deadline();
        if !self.layer.is_open() {
            let handshake = self.handshake_deadline(config.wait);
            return Some(watch.map_or(handshake, |watch| watch.min(handshake)));
        }
        let idle = config.idle_timeout.map(|idle| self.last_activity + idle);
        // No event tells when the last ACK arrives, so --send-only looks again shortly.
        let acks = (config.direction == Direction::SendOnly
            && matches!(self.ending.sending(), Sending::Out { .. }))
        .then(|| Instant::now() + ACK_RECHECK);
        let ending = self
            .ending
            .next_deadline(self.last_activity, self.liveness.alive_since());
        [idle, acks, ending, watch].into_iter().flatten().min()
    }

    pub(in crate::relay) fn timed_out(&self, config: &Config, now: Instant) -> Option<End> {
        // Until the channel is up only the handshake's deadline counts: -i is about the
        // session's bytes, and there are none yet.
        if !self.layer.is_open() {
            return (now >= self.handshake_deadline(config.wait))
                .then(|| self.handshake_timed_out(now));
        }
        let idle = config.idle_timeout?;
        (now >= self.last_activity + idle).then_some(End::Idle)
    }
}

/// Whole seconds, as the lines say them.
fn whole(duration: Duration) -> u64 {
    duration.as_secs()
}

#[cfg(target_os = "linux")]
fn tcp_sample(stream: &TcpStream) -> Option<TcpSample> {
    sys::tcp_sample(stream.as_fd()).ok()
}

#[cfg(not(target_os = "linux"))]
fn tcp_sample(_: &TcpStream) -> Option<TcpSample> {
    None
}

#[cfg(target_os = "linux")]
fn set_user_timeout(stream: &TcpStream, timeout: Option<Duration>) {
    let _ = sys::set_user_timeout(stream.as_fd(), timeout);
}

#[cfg(not(target_os = "linux"))]
fn set_user_timeout(_: &TcpStream, _: Option<Duration>) {}
