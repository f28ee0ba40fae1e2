//! Whether the partner is still there, as a pure state machine. The session reports what it
//! heard (bytes, or records in password mode), what the kernel says (a `TCP_INFO` sample), the
//! heartbeat pings it sent, and whether its own output holds the peer back; the machine says
//! when to sample or ping next and when the partner stops answering, comes back, or has gone.
//! Time enters only as `Instant`s handed in, so every rule is unit-tested without a socket.
//!
//! A partner that vanishes (lid closed, Wi-Fi gone, a NAT mapping dropped) sends no FIN and no
//! RST: without asking, an idle session never notices, and one with data in flight only at the
//! kernel's retransmission limit, after about 15 minutes. So the partner is asked, every probe
//! interval ([`Limits::probe`]) of quiet: by TCP keepalive in every mode, and in password mode
//! also by heartbeat pings inside the channel (see [`crate::secure`]), which only the peer's own
//! tete can answer, through a proxy too.
//!
//! The partner is **not answering** when a question is left unanswered:
//! - the kernel's: two keepalive or window probes, or two retransmissions of a segment, without
//!   an acknowledgement (one is in flight for a round trip as a matter of course; the counters
//!   reset at any ACK). Silent since its last ACK, or its last byte if later.
//! - a heartbeat's: a ping the peer's TCP has acknowledged (so it waits in the peer's tete, not
//!   behind our own data in a queue) and [`Limits::grace`] later still no record in return.
//!   Silent since its last record: the host may answer while its tete does not.
//!
//! A partner that is alive but reads slowly is never taken for gone: its kernel answers the
//! probes of its closed window, and a tete whose own output is full sends pings whatever it
//! has heard, so its partner hears it while its pongs wait unread behind data. While our own
//! output holds the peer back, we read nothing, so silence is not counted at all.
//!
//! Once the partner has not answered for [`Limits::probe`], that is said once (a chat's status
//! line: "not answering for N s"); if it answers again, that is said too; after
//! [`Limits::timeout`] the session ends with exit status 1, saying how long it has been silent.
//!
//! The numbers come from a real link (two network namespaces, a veth pair, tbf at 50 Mbit/s,
//! Linux 6.18), the partner's link taken down: idle, keepalive probes every 5 s went
//! unanswered, the kernel's counter reaching 2 about 10 s after the last ACK; with data in
//! flight, two retransmissions went unanswered 1.2 s after the link went down; a link down for
//! 20 s mid-transfer was survived, the transfer going on within 1.0 s of the link's return
//! (the retransmission backoff capped at the probe interval), so a 30 s limit leaves room
//! for it; a reader that paused for 170 s answered every window probe. `TCP_USER_TIMEOUT`
//! ([`Limits::user_timeout`]) is only a backstop behind this check, and is lifted while the
//! peer's window is closed: it cut off that healthy reader at exactly its limit.

use std::time::{Duration, Instant};

use crate::sys::{MAX_KEEPALIVE_COUNT, TcpSample};

/// The longest probe interval, and the one of the pings when the check is off: a partner held
/// back by its output pings at least this often, so a limit of a few times this never takes
/// it for gone.
const MAX_PROBE: Duration = Duration::from_secs(5);
/// The shortest (keepalive counts whole seconds).
const MIN_PROBE: Duration = Duration::from_secs(1);
/// Unanswered probes or retransmissions in a row that mean "not answering".
const UNANSWERED: u8 = 2;

/// How long silence may last, and how often the partner is asked; all from `--peer-timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The partner not answering for this long has gone: the session ends.
    pub timeout: Duration,
    /// How often a quiet partner is asked for a sign of life (keepalive, pings, samples): a
    /// sixth of the timeout, between 1 and 5 s.
    pub probe: Duration,
    /// How long a ping already in the peer's hands may wait for its answer: half a probe
    /// interval, at least a second (a slow path's round trip and a busy peer's wake-up).
    pub grace: Duration,
}

impl Limits {
    /// The limits for `timeout`; zero turns the check off.
    pub fn new(timeout: Duration) -> Option<Limits> {
        if timeout.is_zero() {
            return None;
        }
        let probe = (timeout / 6).clamp(MIN_PROBE, MAX_PROBE);
        Some(Limits {
            timeout,
            probe,
            grace: (probe / 2).max(MIN_PROBE),
        })
    }

    /// How often the kernel sends keepalive probes: every probe interval, or less often where
    /// the timeout is so long (over 10 minutes) that the most probes Linux counts would not
    /// outlast it.
    pub fn keepalive_interval(&self) -> Duration {
        let spread = self
            .timeout
            .as_secs()
            .div_ceil(u64::from(MAX_KEEPALIVE_COUNT - 2));
        self.probe.max(Duration::from_secs(spread))
    }

    /// Keepalive probes the kernel may send unanswered before it gives up by itself: enough to
    /// outlast the timeout, so that this check (which says why) comes first.
    pub fn keepalive_count(&self) -> u32 {
        let probes = self.timeout.as_millis() / self.keepalive_interval().as_millis().max(1);
        u32::try_from(probes + 2).map_or(MAX_KEEPALIVE_COUNT, |n| n.min(MAX_KEEPALIVE_COUNT))
    }

    /// `TCP_USER_TIMEOUT` while the peer's window is open: a probe interval past the timeout,
    /// a backstop behind this check.
    pub fn user_timeout(&self) -> Duration {
        self.timeout + self.probe
    }
}

/// What the session should say about the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It has not answered for this long: said once, as soon as it is known.
    NotAnswering(Duration),
    /// It answers again, after having been silent this long.
    Back(Duration),
    /// It has not answered for the whole timeout, this long: the session ends.
    Gone(Duration),
}

/// A ping of ours waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct Ping {
    at: Instant,
    /// Where its last byte is in our stream to the socket.
    end: u64,
    /// When a sample first showed the peer's TCP had acknowledged it.
    delivered: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Answering,
    /// Not answering since `since`; `told` once said.
    Silent {
        since: Instant,
        told: bool,
    },
    Gone,
}

/// One session's view of its partner.
#[derive(Debug, Clone)]
pub struct Liveness {
    /// `None`: the check is off (pings still go, for the partner's check).
    limits: Option<Limits>,
    probe: Duration,
    /// Pings may go: password mode, both HELLOs offered them, neither CLOSE has passed.
    heartbeats: bool,
    /// When the peer's bytes or records last came.
    heard: Instant,
    /// Our output holds the peer back: we read nothing, so we hear nothing.
    held_back: bool,
    /// The oldest ping not answered yet.
    ping: Option<Ping>,
    last_ping: Instant,
    sampled_at: Instant,
    /// The last sample (`None` where the system cannot tell).
    tcp: Option<TcpSample>,
    alive_since: Option<Instant>,
    state: State,
}

impl Liveness {
    /// A session that starts at `now` (the connection just proved the path alive).
    pub fn new(limits: Option<Limits>, now: Instant) -> Liveness {
        Liveness {
            limits,
            probe: limits.map_or(MAX_PROBE, |limits| limits.probe),
            heartbeats: false,
            heard: now,
            held_back: false,
            ping: None,
            last_ping: now,
            sampled_at: now,
            tcp: None,
            alive_since: Some(now),
            state: State::Answering,
        }
    }

    /// The limits, or `None` when the check is off.
    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }

    /// True from when the partner was said not to answer until it answers again (or for good,
    /// once it has gone).
    pub fn not_answering(&self) -> bool {
        matches!(self.state, State::Silent { told: true, .. } | State::Gone)
    }

    /// The peer's bytes or records came.
    pub fn heard(&mut self, now: Instant) {
        self.heard = self.heard.max(now);
        if self.ping.is_some_and(|ping| ping.at <= now) {
            self.ping = None;
        }
    }

    /// Whether our output now holds the peer back (its bytes wait for stdout). When that ends,
    /// silence counts afresh.
    pub fn held_back(&mut self, now: Instant, held: bool) {
        if self.held_back && !held {
            self.heard(now);
        }
        self.held_back = held;
    }

    /// Whether pings may go now (see `heartbeats`).
    pub fn heartbeats(&mut self, on: bool) {
        if !on {
            self.ping = None;
        }
        self.heartbeats = on;
    }

    /// True when a ping should go out now.
    pub fn ping_due(&self, now: Instant) -> bool {
        self.next_ping().is_some_and(|at| now >= at)
    }

    /// A ping went out, its last byte at `end` in our stream to the socket; or, with `None`,
    /// there was no room for it (the next one is due a probe interval later).
    pub fn pinged(&mut self, now: Instant, end: Option<u64>) {
        self.last_ping = now;
        if let Some(end) = end
            && self.ping.is_none()
        {
            self.ping = Some(Ping {
                at: now,
                end,
                delivered: None,
            });
        }
    }

    /// True when the kernel should be asked now.
    pub fn sample_due(&self, now: Instant) -> bool {
        self.next_sample().is_some_and(|at| now >= at)
    }

    /// What the kernel says (`None` where it cannot tell), `written` being the bytes written to
    /// the socket so far.
    pub fn sample(&mut self, now: Instant, tcp: Option<TcpSample>, written: u64) {
        self.sampled_at = now;
        self.tcp = tcp;
        if let Some(ping) = &mut self.ping
            && ping.delivered.is_none()
        {
            // Without the kernel's word, a ping counts as delivered once written.
            let acknowledged = tcp.map_or(written, |tcp| {
                written.saturating_sub(tcp.unacknowledged as u64)
            });
            if acknowledged >= ping.end {
                ping.delivered = Some(now);
            }
        }
    }

    /// Since when the path has been known to be alive, `None` while it is not (for the end
    /// rules' quiet window). Always the start while the check is off.
    pub fn alive_since(&self) -> Option<Instant> {
        self.alive_since
    }

    /// How long the partner has given no sign of life.
    pub fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_sign())
    }

    /// `TCP_USER_TIMEOUT` as it should be now: the backstop, lifted while the peer's window is
    /// closed (it would cut off a healthy reader that pauses).
    pub fn user_timeout(&self) -> Option<Duration> {
        let closed = self.tcp.is_some_and(|tcp| tcp.window_closed);
        self.limits
            .filter(|_| !closed)
            .map(|limits| limits.user_timeout())
    }

    /// Takes stock after the reports; returns what changed, if anything is to be said.
    pub fn update(&mut self, now: Instant) -> Option<Change> {
        let limits = self.limits?;
        if self.state == State::Gone {
            return None;
        }
        if self.held_back {
            // We hear nothing while we read nothing: nothing to conclude.
            self.alive_since.get_or_insert(now);
            return None;
        }
        let silent = self.silent_since(now, limits);
        // Judged as of the latest news (the last sample, or a byte heard since): between
        // samples the kernel's ACK ages only in our stale copy, and judging it at `now` took a
        // healthy path for dead late in every probe interval, restarting the quiet window.
        let news = self.sampled_at.max(self.heard);
        let alive = silent.is_none()
            && news.saturating_duration_since(self.last_sign()) <= limits.probe + limits.grace;
        self.alive_since = match alive {
            true => Some(self.alive_since.unwrap_or(now)),
            false => None,
        };
        let (since, told) = match (silent, self.state) {
            (None, State::Silent { since, told: true }) => {
                self.state = State::Answering;
                return Some(Change::Back(now.saturating_duration_since(since)));
            }
            (None, _) => {
                self.state = State::Answering;
                return None;
            }
            (Some(since), State::Silent { told, .. }) => (since, told),
            (Some(since), _) => (since, false),
        };
        let silence = now.saturating_duration_since(since);
        let (state, change) = if silence >= limits.timeout {
            (State::Gone, Some(Change::Gone(silence)))
        } else if !told && silence >= limits.probe {
            let state = State::Silent { since, told: true };
            (state, Some(Change::NotAnswering(silence)))
        } else {
            (State::Silent { since, told }, None)
        };
        self.state = state;
        change
    }

    /// The next moment a sample or a ping is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.next_sample(), self.next_ping()]
            .into_iter()
            .flatten()
            .min()
    }

    fn next_ping(&self) -> Option<Instant> {
        if !self.heartbeats {
            return None;
        }
        // A peer we hold back cannot read our pongs: we ping it whatever we heard, so that it
        // hears from us.
        let since = match self.held_back {
            true => self.last_ping,
            false => self.last_ping.max(self.heard),
        };
        Some(since + self.probe)
    }

    fn next_sample(&self) -> Option<Instant> {
        let limits = self.limits?;
        if self.state == State::Gone {
            return None;
        }
        // While the partner is silent, more often: it is back as soon as it answers.
        let regular = self.sampled_at
            + match self.state {
                State::Silent { .. } => limits.grace,
                _ => limits.probe,
            };
        // A ping's delivery is looked for once its answer could have come, and its answer
        // once it had the grace to come.
        let ping = self
            .ping
            .map(|ping| ping.delivered.unwrap_or(ping.at) + limits.grace);
        // The moments the silence reaches the limits.
        let silence = match self.state {
            State::Silent { since, told } => {
                let gone = since + limits.timeout;
                Some(if told {
                    gone
                } else {
                    gone.min(since + limits.probe)
                })
            }
            _ => None,
        };
        // Each looked at with a sample taken after it, once.
        let pending = [ping, silence]
            .into_iter()
            .flatten()
            .filter(|&at| at > self.sampled_at);
        pending.chain([regular]).min()
    }

    /// The latest sign of life: the peer's last byte or record, or its last ACK.
    fn last_sign(&self) -> Instant {
        let acked = self
            .tcp
            .and_then(|tcp| self.sampled_at.checked_sub(tcp.since_ack));
        // Where the kernel cannot tell, the last sample stands for it.
        let acked = acked.or_else(|| self.tcp.is_none().then_some(self.sampled_at));
        acked.map_or(self.heard, |acked| acked.max(self.heard))
    }

    /// Since when the partner has not answered a question, if it has one unanswered.
    fn silent_since(&self, now: Instant, limits: Limits) -> Option<Instant> {
        // A sample older than what we heard since says nothing.
        let kernel = self
            .tcp
            .filter(|tcp| tcp.probes >= UNANSWERED || tcp.retransmits >= UNANSWERED)
            .filter(|_| self.heard <= self.sampled_at)
            .map(|_| self.last_sign());
        let heartbeat = self
            .ping
            .filter(|ping| ping.delivered.is_some_and(|at| now >= at + limits.grace))
            .map(|_| self.heard);
        kernel.into_iter().chain(heartbeat).min()
    }
}

#[cfg(test)]
mod tests;
