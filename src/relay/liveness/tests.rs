//! The liveness machine against simulated partners and paths, on a synthetic clock: what the
//! session would do at each wake-up (sample when due, ping when due, take stock) while a model
//! of the kernel answers or does not.

use super::*;

const SECOND: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A session at the default limits, with the kernel's view of its connection.
struct Sim {
    live: Liveness,
    start: Instant,
    now: Instant,
    /// The kernel's view: the last ACK, unanswered probes and retransmissions, bytes not yet
    /// acknowledged, the peer's window.
    last_ack: Instant,
    probes: u8,
    retransmits: u8,
    unacknowledged: usize,
    window_closed: bool,
    /// No TCP_INFO here (another system).
    blind: bool,
    /// Bytes written to the socket so far.
    written: u64,
    /// Pings sent, and when the last one's last byte was written.
    pings: Vec<Instant>,
    samples: usize,
    /// What was said, and when (from the start).
    changes: Vec<(Duration, Change)>,
}

impl Sim {
    fn new(limits: Option<Limits>) -> Sim {
        let start = Instant::now();
        Sim {
            live: Liveness::new(limits, start),
            start,
            now: start,
            last_ack: start,
            probes: 0,
            retransmits: 0,
            unacknowledged: 0,
            window_closed: false,
            blind: false,
            written: 0,
            pings: Vec::new(),
            samples: 0,
            changes: Vec::new(),
        }
    }

    fn at(&self) -> Duration {
        self.now - self.start
    }

    /// What the session does at a wake-up.
    fn wake(&mut self) {
        let now = self.now;
        if self.live.sample_due(now) {
            let tcp = (!self.blind).then(|| TcpSample {
                since_ack: now - self.last_ack,
                probes: self.probes,
                retransmits: self.retransmits,
                unacknowledged: self.unacknowledged,
                window_closed: self.window_closed,
            });
            self.live.sample(now, tcp, self.written);
            self.samples += 1;
        }
        if self.live.ping_due(now) {
            self.written += 22;
            self.unacknowledged += 22;
            self.pings.push(now);
            self.live.pinged(now, Some(self.written));
        }
        if let Some(change) = self.live.update(now) {
            self.changes.push((self.at(), change));
        }
    }

    /// Runs until `until` (from the start): the world moves every tick, the session wakes at
    /// its deadlines (and at every tick, as other events would wake it). Fails on a deadline
    /// in the past after a wake-up (a busy loop).
    fn run(&mut self, until: Duration, mut world: impl FnMut(&mut Sim)) {
        let end = self.start + until;
        let mut wakes = 0;
        while self.now < end {
            let tick = self.now + TICK;
            world(self);
            self.wake();
            wakes += 1;
            if let Some(deadline) = self.live.next_deadline() {
                assert!(
                    deadline > self.now,
                    "a deadline in the past at {:?}",
                    self.at()
                );
            }
            assert!(wakes < 100_000, "too many wake-ups");
            let next = self.live.next_deadline().map_or(tick, |at| at.min(tick));
            self.now = next.min(end).max(self.now + Duration::from_millis(1));
        }
    }

    fn said(&self) -> Vec<Change> {
        self.changes.iter().map(|(_, change)| *change).collect()
    }

    fn gone_at(&self) -> Option<Duration> {
        self.changes
            .iter()
            .find(|(_, change)| matches!(change, Change::Gone(_)))
            .map(|(at, _)| *at)
    }
}

fn default() -> Option<Limits> {
    Limits::new(30 * SECOND)
}

/// A healthy path: everything written is acknowledged at once, and an idle connection's
/// keepalive probe (every probe interval of quiet) is answered.
fn healthy(sim: &mut Sim) {
    sim.unacknowledged = 0;
    sim.probes = 0;
    sim.retransmits = 0;
    if sim.now - sim.last_ack >= sim.live.probe {
        sim.last_ack = sim.now;
    }
}

/// The partner's link goes down at `down`: no more ACKs; keepalive probes (idle) or
/// retransmissions (data in flight) go unanswered.
fn link_down(down: Duration, in_flight: bool) -> impl FnMut(&mut Sim) {
    move |sim| {
        if sim.at() < down {
            healthy(sim);
            if in_flight {
                // Data moving: ACKs all the time.
                sim.last_ack = sim.now;
            }
            return;
        }
        let since = sim.now - sim.last_ack;
        if in_flight {
            sim.unacknowledged = 1 << 20;
            sim.retransmits = (since.as_secs_f64() / 0.6) as u8;
        } else {
            sim.probes = (since.as_secs_f64() / 5.0) as u8;
        }
    }
}

#[test]
fn limits_follow_the_timeout() {
    let limits = default().unwrap();
    assert_eq!(limits.timeout, 30 * SECOND);
    assert_eq!(limits.probe, 5 * SECOND);
    assert_eq!(limits.grace, secs(2.5));
    assert_eq!(limits.keepalive_count(), 8);
    assert_eq!(limits.user_timeout(), 35 * SECOND);
    let short = Limits::new(3 * SECOND).unwrap();
    assert_eq!((short.probe, short.grace), (SECOND, SECOND));
    let long = Limits::new(3600 * SECOND).unwrap();
    assert_eq!(
        long.probe,
        5 * SECOND,
        "a partner held back pings this often"
    );
    assert_eq!(Limits::new(Duration::ZERO), None);
    // The kernel's keepalive outlasts the check at any limit, within its count of 127.
    for timeout in [3, 30, 600, 625, 700, 3600, 86_400] {
        let limits = Limits::new(timeout * SECOND).unwrap();
        let (interval, count) = (limits.keepalive_interval(), limits.keepalive_count());
        assert!(count <= 127, "{timeout} s: {count}");
        assert!(interval * count >= limits.timeout, "{timeout} s");
        assert_eq!(interval == limits.probe, timeout <= 625, "{timeout} s");
    }
    assert_eq!(
        Limits::new(Duration::from_secs(1_000_000_000))
            .unwrap()
            .keepalive_count(),
        127
    );
}

/// A healthy idle session is never ended, however long it sits, and its path stays known to
/// be alive; the kernel is asked once per probe interval, no more.
#[test]
fn a_healthy_idle_session_lasts() {
    let mut sim = Sim::new(default());
    sim.run(3600 * SECOND, healthy);
    assert_eq!(sim.said(), []);
    assert_eq!(sim.live.alive_since(), Some(sim.start));
    assert!(sim.samples <= 3600 / 5 + 1, "{} samples", sim.samples);
    assert_eq!(sim.live.user_timeout(), Some(35 * SECOND));
}

/// The same with the keepalive ACKs out of step with the samples (each sample finds the last
/// ACK 3 s old) and wake-ups between samples: the path stays known to be alive throughout, so
/// the end rules' quiet window is never restarted.
#[test]
fn a_healthy_path_stays_alive_between_samples() {
    let mut sim = Sim::new(default());
    sim.last_ack = sim.start - 3 * SECOND;
    let mut restarts = 0;
    let mut alive_since = sim.live.alive_since();
    sim.run(600 * SECOND, |sim| {
        healthy(sim);
        if sim.live.alive_since() != alive_since {
            restarts += 1;
            alive_since = sim.live.alive_since();
        }
    });
    assert_eq!(sim.said(), []);
    assert_eq!(restarts, 0, "alive since {:?}", sim.live.alive_since());
    assert_eq!(sim.live.alive_since(), Some(sim.start));
}

/// An idle session whose partner's link goes down: "not answering" once two probes went
/// unanswered, then gone 30 s after the last ACK, with how long it has been silent.
#[test]
fn an_idle_partner_that_vanishes_is_gone_within_the_timeout() {
    let mut sim = Sim::new(default());
    sim.run(120 * SECOND, link_down(60 * SECOND, false));
    let last_ack = sim.last_ack - sim.start;
    let said = sim.said();
    assert!(
        matches!(said[0], Change::NotAnswering(silent) if (10..12).contains(&silent.as_secs())),
        "{said:?}"
    );
    let Some(Change::Gone(silent)) = said.get(1) else {
        panic!("{said:?}");
    };
    assert!(
        *silent >= 30 * SECOND && *silent < 31 * SECOND,
        "{silent:?}"
    );
    let gone = sim.gone_at().unwrap() - last_ack;
    assert!(gone >= 30 * SECOND && gone < 31 * SECOND, "{gone:?}");
    assert_eq!(said.len(), 2);
    assert_eq!(sim.live.next_deadline(), None, "nothing more to do");
}

/// Data in flight into a dead link: two retransmissions unanswered; gone 30 s after the last
/// ACK, not at the kernel's limit of about 15 minutes.
#[test]
fn a_sender_into_a_dead_link_stops_within_the_timeout() {
    let mut sim = Sim::new(default());
    sim.run(120 * SECOND, link_down(20 * SECOND, true));
    let said = sim.said();
    assert!(
        matches!(said[0], Change::NotAnswering(silent) if silent < 6 * SECOND),
        "{said:?}"
    );
    let gone = sim.gone_at().unwrap();
    assert!(gone >= secs(49.5) && gone <= 51 * SECOND, "{gone:?}");
}

/// A link down for 20 s mid-transfer: "not answering", then back, never gone.
#[test]
fn a_twenty_second_outage_is_survived() {
    let mut sim = Sim::new(default());
    let mut outage = link_down(10 * SECOND, true);
    sim.run(120 * SECOND, |sim| {
        if sim.at() >= secs(31.0) {
            healthy(sim);
            sim.last_ack = sim.now;
        } else {
            outage(sim);
        }
    });
    let said = sim.said();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(matches!(said[0], Change::NotAnswering(_)));
    assert!(
        matches!(said[1], Change::Back(silent) if silent >= 20 * SECOND && silent < 25 * SECOND),
        "{said:?}"
    );
}

/// A reader that stops reading for five minutes: its window is closed, its kernel answers the
/// window probes, however far apart (up to 110 s measured without the cap): never gone, and
/// the user timeout is lifted while the window is closed, then set again.
#[test]
fn a_slow_reader_is_never_taken_for_gone() {
    let mut sim = Sim::new(default());
    let mut gap = SECOND;
    let mut next_probe = sim.start + 10 * SECOND;
    let mut lifted = false;
    sim.run(400 * SECOND, |sim| {
        if sim.at() < 10 * SECOND || sim.at() >= 310 * SECOND {
            sim.window_closed = false;
            healthy(sim);
            return;
        }
        sim.window_closed = true;
        sim.unacknowledged = 4 << 20;
        sim.probes = 0;
        if sim.now >= next_probe {
            // A window probe, answered at once.
            sim.last_ack = sim.now;
            gap = (gap * 2).min(110 * SECOND);
            next_probe = sim.now + gap;
        }
        lifted |= sim.live.user_timeout().is_none();
    });
    assert_eq!(sim.said(), []);
    assert!(
        lifted,
        "the user timeout was lifted while the window was closed"
    );
    assert_eq!(sim.live.user_timeout(), Some(35 * SECOND));
}

/// Password mode with heartbeats: an idle partner is pinged every probe interval and answers.
#[test]
fn heartbeats_of_an_idle_session() {
    let mut sim = Sim::new(default());
    sim.live.heartbeats(true);
    sim.run(600 * SECOND, |sim| {
        healthy(sim);
        // The pong of the last ping comes 50 ms after it.
        if let Some(&ping) = sim.pings.last()
            && sim.now >= ping + Duration::from_millis(50)
            && sim.live.heard < ping
        {
            sim.live.heard(sim.now);
        }
    });
    assert_eq!(sim.said(), []);
    let pings = sim.pings.len();
    assert!((115..=121).contains(&pings), "{pings} pings in 600 s");
}

/// A partner whose host answers but whose tete does not (stopped, hung): its kernel
/// acknowledges the pings, no record comes; gone 30 s after its last record.
#[test]
fn a_partner_that_does_not_answer_its_pings_is_gone() {
    let mut sim = Sim::new(default());
    sim.live.heartbeats(true);
    sim.run(60 * SECOND, |sim| {
        healthy(sim);
        sim.last_ack = sim.now;
    });
    let said = sim.said();
    assert!(
        matches!(said[0], Change::NotAnswering(silent) if (5..=10).contains(&silent.as_secs())),
        "{said:?}"
    );
    assert!(
        matches!(said[1], Change::Gone(silent) if silent >= 30 * SECOND && silent < 31 * SECOND),
        "{said:?}"
    );
}

/// A ping behind megabytes of our own data on a slow link is not left unanswered before it
/// reaches the peer: while the kernel's ACKs show progress, nothing is said.
#[test]
fn a_ping_queued_behind_our_data_is_not_held_against_the_peer() {
    let mut sim = Sim::new(default());
    sim.live.heartbeats(true);
    sim.run(120 * SECOND, |sim| {
        // 60 s of our data ahead of everything we write, acknowledged as it drains.
        sim.last_ack = sim.now;
        sim.probes = 0;
        sim.retransmits = 0;
        let drained = (sim.at().as_secs_f64() / 60.0 * sim.written as f64) as u64;
        sim.unacknowledged = (sim.written - drained.min(sim.written)) as usize;
        sim.unacknowledged = sim.unacknowledged.max(8 << 20);
        // The peer answers a ping once it got it: after the queue ahead of it.
        if let Some(&ping) = sim.pings.first()
            && sim.now >= ping + 60 * SECOND
            && sim.live.heard < ping
        {
            sim.live.heard(sim.now);
        }
    });
    assert_eq!(sim.said(), []);
}

/// While our output holds the peer back, nothing is concluded, and we ping every probe
/// interval whatever we heard, so that the peer hears from us; afterwards silence counts
/// afresh.
#[test]
fn while_we_hold_the_peer_back_silence_is_not_counted() {
    let mut sim = Sim::new(default());
    sim.live.heartbeats(true);
    sim.live.held_back(sim.now, true);
    sim.run(120 * SECOND, |sim| {
        healthy(sim);
        sim.last_ack = sim.now;
        // Its data keeps coming into our buffer: heard, but our pongs wait behind it there.
        sim.live.heard(sim.now);
    });
    assert_eq!(sim.said(), []);
    assert!(sim.pings.len() >= 23, "{} pings", sim.pings.len());
    assert!(sim.live.alive_since().is_some());
    let released = sim.now;
    sim.live.held_back(released, false);
    sim.run(200 * SECOND, |sim| {
        healthy(sim);
        sim.last_ack = sim.now;
    });
    let gone = sim.gone_at().unwrap();
    let after = gone - (released - sim.start);
    assert!(after >= 30 * SECOND && after < 36 * SECOND, "{after:?}");
}

/// A partner that stays quiet but whose kernel answers: the quiet window's clock runs; once
/// it stops answering, the path is no longer known to be alive, and again once it answers.
#[test]
fn the_path_is_known_alive_only_while_it_answers() {
    let mut sim = Sim::new(default());
    sim.run(20 * SECOND, healthy);
    assert_eq!(sim.live.alive_since(), Some(sim.start));
    sim.run(35 * SECOND, |sim| {
        sim.probes = ((sim.now - sim.last_ack).as_secs_f64() / 5.0) as u8;
    });
    assert_eq!(sim.live.alive_since(), None);
    sim.last_ack = sim.now;
    sim.probes = 0;
    sim.run(40 * SECOND, healthy);
    let since = sim.live.alive_since().unwrap();
    assert!(since - sim.start > 30 * SECOND && since - sim.start < 37 * SECOND);
    assert!(matches!(
        sim.said()[..],
        [Change::NotAnswering(_), Change::Back(_)]
    ));
}

/// Where the system cannot tell (no TCP_INFO), only heartbeats judge; a ping counts as
/// delivered once written.
#[test]
fn without_the_kernel_s_word_heartbeats_still_judge() {
    let mut sim = Sim::new(default());
    sim.blind = true;
    sim.run(120 * SECOND, |_| {});
    assert_eq!(sim.said(), [], "plain mode: nothing to go on");
    assert!(sim.live.alive_since().is_some());
    sim.live.heartbeats(true);
    sim.run(200 * SECOND, |_| {});
    assert!(sim.gone_at().is_some());
}

/// `--peer-timeout 0`: nothing is sampled or concluded; pings still go (for the partner's
/// check) every 5 s, and the user timeout stays the system's.
#[test]
fn off_concludes_nothing_but_still_pings() {
    let mut sim = Sim::new(None);
    sim.live.heartbeats(true);
    sim.run(600 * SECOND, |sim| {
        sim.probes = 9;
        sim.retransmits = 9;
    });
    assert_eq!(sim.said(), []);
    assert_eq!(sim.samples, 0);
    assert_eq!(sim.pings.len(), 119, "one every 5 s from 5 s on");
    assert_eq!(sim.live.user_timeout(), None);
    assert_eq!(sim.live.alive_since(), Some(sim.start));
}

/// Once a CLOSE has passed, no more pings; a ping left unanswered then is not held against
/// the peer.
#[test]
fn heartbeats_stop_at_close() {
    let mut sim = Sim::new(default());
    sim.live.heartbeats(true);
    sim.run(6 * SECOND, healthy);
    assert_eq!(sim.pings.len(), 1);
    sim.live.heartbeats(false);
    sim.run(300 * SECOND, healthy);
    assert_eq!(sim.pings.len(), 1);
    assert_eq!(sim.said(), []);
}
