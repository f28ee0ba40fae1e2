//! When a session ends: the end-of-session rules as a small, pure state machine.
//!
//! A session has two directions, each with its own state: ours ([`Sending`], stdin to the peer)
//! and the peer's ([`Receiving`], the peer to stdout). The session pump reports what happened
//! (stdin ended, bytes went out or came in, the socket's end of stream arrived, everything
//! received was written out) and asks two questions: should our end of stream go out now
//! ([`Ending::should_close`]), and is the session over ([`Ending::finished`])? Time enters only
//! as `Instant`s handed in, so every rule is unit-tested below without a socket or a clock.
//!
//! The rules:
//! - **stdin ends** after we sent something: our end of stream (a FIN, or the password mode's
//!   CLOSE record, which needs no FIN after it) goes out at once, after everything queued before
//!   it, and receiving goes on: a late reply still arrives (`echo hi | tete host port`).
//! - **stdin ends before a single byte was sent** (`< /dev/null`): our end of stream is held
//!   while the peer may still send. OpenBSD nc and ncat take a FIN as "the transfer is over" and
//!   stop sending, so a FIN too early cuts `nc -l < file` on the other side short, and both ends
//!   report success. No timer guesses that the peer is done:
//!   - **once a byte has been received**, the end waits for the peer's end, `-w`'s idle limit,
//!     or the user (Ctrl-C); a partner that has gone is noticed by the liveness check
//!     ([`super::liveness`]), which ends the session with an error. A sender that never ends
//!     its side (OpenBSD `nc -l` without `-N`) is waited for, as nc itself waits; a pause in
//!     the data (tar over a big tree, zfs send) cuts nothing. At a terminal, tete says once,
//!     after [`SAY_AFTER`] of quiet, what it waits for and how to end the wait.
//!   - **while nothing has moved either way** (two tetes with nothing to say; a server that
//!     answers only after our end), the end goes out after the quiet window
//!     ([`Rules::quiet_window`], the peer timeout: 30 s by default), counted only while the path
//!     is known to be alive (a keepalive probe answered within the probe interval): a stalled
//!     path cannot release the end early, since the silence may be the stall's. The window is
//!     long because a sender may be slow to start: pg_dump reads the whole catalogue before its
//!     first byte, seconds to tens of seconds on a large schema, and a FIN before that byte
//!     leaves an empty copy and exit 0 on both ends; two silent tetes still end by themselves,
//!     after the window. A sender that may stay silent longer is best received with `-d`.
//!
//!   Not in password mode, whose peer is always tete (it reads CLOSE as the end of our
//!   direction only), nor with `-q`, which asks for the end. Through a proxy the end is held
//!   whatever was sent, with the same two cases: most proxies end the whole relay at the first
//!   FIN from either side, which would cut off the reply.
//! - **`-d`**: stdin is not part of the session at all, so our side never ends; the peer's end
//!   ends the session (nc's `-d`), or with `-w SECS` nothing moving for SECS.
//! - **the peer ends**: everything received is written out first. Then, if stdin is a terminal,
//!   the person at it has nobody left to talk to: we stop reading it and end our side too (a
//!   chat ends when either person leaves). Otherwise the rest of stdin is still sent.
//! - **the session is over** when our end of stream is out and everything the peer sent is
//!   written out; with `--send-only` (the peer's bytes are discarded) when our end is out and
//!   the peer has acknowledged every byte; with `-q SECS` that long after our end went out;
//!   with `-w SECS`, once stdin has ended, after SECS with nothing moving (OpenBSD nc's `-w`;
//!   counted from our end of stream once it is out, so the reply to our last bytes has SECS).

use std::time::{Duration, Instant};

/// How long a session that waits with no end in sight (no `-q`, no `-w`) stays quiet before a
/// terminal is told, once, what it waits for: longer than a reply's usual pause, short enough
/// that a person does not think tete has hung.
pub const SAY_AFTER: Duration = Duration::from_secs(3);

/// The line a terminal gets, once, when tete waits for the peer's end with no timer to end it.
pub const WAITING_LINE: &str = "waiting for the peer to close the connection; \
     Ctrl-C ends tete (in scripts, -q SECS or -w SECS end the wait)";

/// The end-of-session rules the command line and the standard streams chose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// `-d`: stdin is not part of the session.
    pub receive_only: bool,
    /// `--send-only`: the peer's bytes are discarded, so only ours need to arrive.
    pub send_only: bool,
    /// When our end of stream waits for the peer's end or a quiet moment.
    pub hold_end: HoldEnd,
    /// stdin is a terminal: the session is a conversation.
    pub chat: bool,
    /// `-q`: end this long after our end of stream went out.
    pub quit_after_end: Option<Duration>,
    /// `-w`: once stdin has ended, end after this long with nothing moving.
    pub idle_after_end: Option<Duration>,
    /// How long a connection where nothing has moved either way stays quiet, while its path is
    /// known to be alive, before a held end of stream goes out (the peer timeout; `None` when
    /// it is off: then nothing is concluded from silence).
    pub quiet_window: Option<Duration>,
    /// stderr is a terminal: say once what an endless wait waits for ([`WAITING_LINE`]).
    pub tell_waiting: bool,
}

/// When our end of stream is held back while the peer may still be sending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HoldEnd {
    /// Never (password mode, `-q`).
    #[default]
    Never,
    /// When stdin ended before a single byte was sent (plain mode).
    IfNothingSent,
    /// Always (plain mode through a proxy: microsocks and tinyproxy, like most, end the whole
    /// relay at the first FIN from either side, so a reply still on its way would be lost).
    Always,
}

/// Our direction: stdin to the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// stdin is read (once the channel is open).
    Open,
    /// stdin has ended, or is read no more: what is queued drains, then our end of stream.
    Draining,
    /// Our end of stream is queued behind everything else, since `at`.
    Closed { at: Instant },
    /// Our end of stream is out: everything queued before it, and it, went to the socket.
    Out { at: Instant },
    /// `-d`: stdin is not part of the session; our side never ends.
    Absent,
}

/// The peer's direction: the socket to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiving {
    Open,
    /// The socket's end of stream has arrived; bytes before it may still wait for stdout.
    Ended,
    /// Everything the peer sent is written out, and its end was clean.
    Finished,
}

/// One session's progress towards its end.
#[derive(Debug, Clone)]
pub struct Ending {
    rules: Rules,
    sending: Sending,
    receiving: Receiving,
    /// At least one byte of stdin has gone to the peer.
    sent_any: bool,
    /// At least one byte has come from the peer.
    received_any: bool,
    /// The terminal has been told what the wait waits for.
    told_waiting: bool,
}

impl Ending {
    pub fn new(rules: Rules) -> Ending {
        Ending {
            rules,
            sending: if rules.receive_only {
                Sending::Absent
            } else {
                Sending::Open
            },
            receiving: Receiving::Open,
            sent_any: false,
            received_any: false,
            told_waiting: false,
        }
    }

    /// True when stdin is a terminal: the session is a conversation.
    pub fn is_chat(&self) -> bool {
        self.rules.chat
    }

    pub fn sending(&self) -> Sending {
        self.sending
    }

    pub fn receiving(&self) -> Receiving {
        self.receiving
    }

    /// True while stdin is to be read.
    pub fn reads_stdin(&self) -> bool {
        self.sending == Sending::Open
    }

    /// stdin reached its end.
    pub fn stdin_ended(&mut self) {
        if self.sending == Sending::Open {
            self.sending = Sending::Draining;
        }
    }

    /// Bytes from stdin went to the peer.
    pub fn sent(&mut self) {
        self.sent_any = true;
    }

    /// Bytes came from the peer: from now on no timer releases a held end of stream.
    pub fn received(&mut self) {
        self.received_any = true;
    }

    /// The socket's end of stream arrived.
    pub fn peer_ended(&mut self) {
        if self.receiving == Receiving::Open {
            self.receiving = Receiving::Ended;
        }
    }

    /// Everything the peer sent is written out. In a chat, the other person has left.
    pub fn peer_finished(&mut self) {
        self.receiving = Receiving::Finished;
        if self.rules.chat {
            self.stdin_ended();
        }
    }

    /// Whether our end of stream should be queued now. `last_activity` is when a byte last
    /// moved either way; `alive_since` is when the path was last seen to become alive (and has
    /// stayed so), `None` while it is not known to be alive. The caller queues the end and
    /// calls [`Ending::closed`].
    pub fn should_close(
        &self,
        now: Instant,
        last_activity: Instant,
        alive_since: Option<Instant>,
    ) -> bool {
        self.sending == Sending::Draining
            && (!self.holds_end()
                || self
                    .quiet_release(last_activity, alive_since)
                    .is_some_and(|at| now >= at))
    }

    /// Our end of stream is queued.
    pub fn closed(&mut self, now: Instant) {
        self.sending = Sending::Closed { at: now };
    }

    /// Everything queued went to the socket, our end of stream with it.
    pub fn flushed(&mut self) {
        if let Sending::Closed { at } = self.sending {
            self.sending = Sending::Out { at };
        }
    }

    /// True while a drained stdin's end of stream waits because the peer may still be
    /// sending.
    fn holds_end(&self) -> bool {
        let rule = match self.rules.hold_end {
            HoldEnd::Never => false,
            HoldEnd::IfNothingSent => !self.sent_any,
            HoldEnd::Always => true,
        };
        rule && self.receiving == Receiving::Open
    }

    /// When a held end of stream goes out by itself: only while nothing has come from the
    /// peer, after the quiet window, counted from the last byte or from when the path became
    /// known to be alive, whichever is later.
    fn quiet_release(
        &self,
        last_activity: Instant,
        alive_since: Option<Instant>,
    ) -> Option<Instant> {
        if self.received_any {
            return None;
        }
        Some(last_activity.max(alive_since?) + self.rules.quiet_window?)
    }

    /// Whether the session is over. `acknowledged` tells whether the peer has acknowledged
    /// every byte we sent; it is asked only once our end of stream is out (`--send-only`).
    pub fn finished(
        &self,
        now: Instant,
        last_activity: Instant,
        acknowledged: impl FnOnce() -> bool,
    ) -> bool {
        let all_received = self.receiving == Receiving::Finished;
        let idle_since = |since: Instant| {
            self.rules
                .idle_after_end
                .is_some_and(|idle| now >= last_activity.max(since) + idle)
        };
        match self.sending {
            // With no stdin there is no end of ours to wait for: -w counts from the start.
            Sending::Absent => all_received || idle_since(last_activity),
            // stdin has ended and its end is held: -w ends an idle connection all the same.
            Sending::Draining if self.holds_end() => idle_since(last_activity),
            Sending::Open | Sending::Draining | Sending::Closed { .. } => false,
            Sending::Out { at } => {
                all_received
                    || self
                        .rules
                        .quit_after_end
                        .is_some_and(|quit| now >= at + quit)
                    || idle_since(at)
                    || (self.rules.send_only && acknowledged())
            }
        }
    }

    /// True once, when the terminal should be told [`WAITING_LINE`]: the session waits for the
    /// peer's end with no `-q` or `-w` to end the wait, and nothing has moved for
    /// [`SAY_AFTER`]. Nothing ends.
    pub fn take_waiting_line(&mut self, now: Instant, last_activity: Instant) -> bool {
        let due = self
            .waiting_line_at(last_activity)
            .is_some_and(|at| now >= at);
        self.told_waiting |= due;
        due
    }

    fn waiting_line_at(&self, last_activity: Instant) -> Option<Instant> {
        let timed = self.rules.quit_after_end.is_some() || self.rules.idle_after_end.is_some();
        if !self.rules.tell_waiting
            || self.told_waiting
            || timed
            || self.rules.send_only
            || self.receiving != Receiving::Open
        {
            return None;
        }
        let quiet_since = match self.sending {
            Sending::Draining if self.holds_end() && self.received_any => last_activity,
            Sending::Out { at } => last_activity.max(at),
            Sending::Absent => last_activity,
            _ => return None,
        };
        Some(quiet_since + SAY_AFTER)
    }

    /// The next moment at which [`Ending::should_close`], [`Ending::finished`] or
    /// [`Ending::take_waiting_line`] may change with nothing else happening (a change of
    /// `alive_since` comes with a liveness deadline of its own).
    pub fn next_deadline(
        &self,
        last_activity: Instant,
        alive_since: Option<Instant>,
    ) -> Option<Instant> {
        let idle = |since: Instant| {
            self.rules
                .idle_after_end
                .map(|idle| last_activity.max(since) + idle)
        };
        let timer = match self.sending {
            Sending::Draining if self.holds_end() => [
                self.quiet_release(last_activity, alive_since),
                idle(last_activity),
            ]
            .into_iter()
            .flatten()
            .min(),
            Sending::Absent => idle(last_activity),
            Sending::Out { at } => {
                let quit = self.rules.quit_after_end.map(|quit| at + quit);
                quit.into_iter().chain(idle(at)).min()
            }
            _ => None,
        };
        timer
            .into_iter()
            .chain(self.waiting_line_at(last_activity))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    /// The default quiet window (the default peer timeout).
    const WINDOW: Duration = Duration::from_secs(30);

    /// A session under `rules`, with a clock: every check passes `now`, the last activity and
    /// since when the path has been known to be alive.
    struct Run {
        ending: Ending,
        start: Instant,
        now: Instant,
        last_activity: Instant,
        alive_since: Option<Instant>,
        queue_empty: bool,
        acknowledged: bool,
    }

    impl Run {
        fn new(rules: Rules) -> Run {
            let start = Instant::now();
            Run {
                ending: Ending::new(rules),
                start,
                now: start,
                last_activity: start,
                alive_since: Some(start),
                queue_empty: true,
                acknowledged: false,
            }
        }

        fn wait(&mut self, duration: Duration) {
            self.now += duration;
        }

        fn activity(&mut self) {
            self.last_activity = self.now;
        }

        fn send(&mut self) {
            self.ending.sent();
            self.activity();
        }

        fn receive(&mut self) {
            self.ending.received();
            self.activity();
        }

        /// Queues our end of stream if the rules say so (and, with nothing else queued, sends
        /// it); returns whether it did.
        fn try_close(&mut self) -> bool {
            let close = self
                .ending
                .should_close(self.now, self.last_activity, self.alive_since);
            if close {
                self.ending.closed(self.now);
                if self.queue_empty {
                    self.ending.flushed();
                }
            }
            close
        }

        fn finished(&self) -> bool {
            self.ending
                .finished(self.now, self.last_activity, || self.acknowledged)
        }

        fn deadline(&self) -> Option<Instant> {
            self.ending
                .next_deadline(self.last_activity, self.alive_since)
        }
    }

    fn plain() -> Rules {
        Rules {
            hold_end: HoldEnd::IfNothingSent,
            quiet_window: Some(WINDOW),
            ..Rules::default()
        }
    }

    fn proxy() -> Rules {
        Rules {
            hold_end: HoldEnd::Always,
            ..plain()
        }
    }

    /// Password mode: the peer is tete, so nothing is held (and -q likewise).
    fn secure() -> Rules {
        Rules {
            hold_end: HoldEnd::Never,
            ..plain()
        }
    }

    /// `echo hi | tete host port`: the end goes out at once, and a late reply still arrives.
    #[test]
    fn stdin_with_bytes_closes_at_once_and_waits_for_the_reply() {
        let mut run = Run::new(plain());
        run.send();
        run.ending.stdin_ended();
        assert!(run.try_close());
        run.wait(10 * SECOND);
        assert!(!run.finished(), "the reply has not arrived");
        run.ending.peer_ended();
        assert!(!run.finished(), "the reply is not written out yet");
        run.ending.peer_finished();
        assert!(run.finished());
    }

    /// Our end waits for the bytes queued before it.
    #[test]
    fn not_finished_while_our_bytes_are_queued() {
        let mut run = Run::new(plain());
        run.send();
        run.ending.stdin_ended();
        run.queue_empty = false;
        assert!(run.try_close());
        run.ending.peer_ended();
        run.ending.peer_finished();
        assert!(!run.finished(), "our end of stream is still queued");
        run.ending.flushed();
        assert!(run.finished());
    }

    /// `(1 MiB; sleep 3; 1 MiB) | nc -l` into `tete host port < /dev/null`: once a byte has
    /// arrived, no quiet spell releases the end, however long; the peer's end does.
    #[test]
    fn once_bytes_arrived_no_timer_releases_the_end() {
        let mut run = Run::new(plain());
        run.ending.stdin_ended();
        run.receive();
        assert_eq!(run.deadline(), None, "nothing to wake up for");
        for _ in 0..240 {
            assert!(!run.try_close(), "a FIN now would stop nc and ncat sending");
            run.wait(SECOND / 2);
        }
        run.receive();
        run.wait(3600 * SECOND);
        assert!(!run.try_close());
        assert!(!run.finished(), "a sender that never ends is waited for");
        run.ending.peer_ended();
        assert!(run.try_close());
        run.ending.peer_finished();
        assert!(run.finished());
    }

    /// Two tetes with nothing to say, or a server that answers only after our end: the quiet
    /// window releases the end.
    #[test]
    fn with_nothing_moved_the_quiet_window_releases_the_end() {
        let mut run = Run::new(plain());
        run.ending.stdin_ended();
        assert_eq!(run.deadline(), Some(run.start + WINDOW));
        run.wait(WINDOW - Duration::from_millis(1));
        assert!(!run.try_close(), "a sender may be slow to start");
        run.wait(Duration::from_millis(1));
        assert!(run.try_close());
        assert!(!run.finished(), "the peer's answer may still come");
        run.receive();
        run.ending.peer_ended();
        run.ending.peer_finished();
        assert!(run.finished());
    }

    /// The quiet window counts only while the path is known to be alive: a stall stops it, and
    /// it starts again when the path is seen alive again.
    #[test]
    fn a_stalled_path_does_not_release_the_end() {
        let mut run = Run::new(plain());
        run.ending.stdin_ended();
        run.wait(WINDOW / 2);
        run.alive_since = None;
        assert_eq!(run.deadline(), None, "the liveness check wakes us instead");
        run.wait(WINDOW);
        assert!(!run.try_close(), "the silence may be the stall's");
        run.alive_since = Some(run.now);
        let back = run.now;
        run.wait(WINDOW - SECOND);
        assert!(!run.try_close());
        assert_eq!(run.deadline(), Some(back + WINDOW));
        run.wait(SECOND);
        assert!(run.try_close());
    }

    /// With the peer timeout off nothing is concluded from silence: the end stays held.
    #[test]
    fn without_a_quiet_window_the_end_waits_for_the_peer() {
        let mut run = Run::new(Rules {
            quiet_window: None,
            ..plain()
        });
        run.ending.stdin_ended();
        run.wait(3600 * SECOND);
        assert!(!run.try_close());
        assert_eq!(run.deadline(), None);
        run.ending.peer_ended();
        assert!(run.try_close());
    }

    /// The hold is only for a stdin that ended before sending anything, and not in password
    /// mode or with -q.
    #[test]
    fn no_hold_once_a_byte_was_sent_or_without_the_rule() {
        let mut run = Run::new(plain());
        run.send();
        run.ending.stdin_ended();
        run.activity();
        assert!(run.try_close());

        for received in [false, true] {
            let mut secure = Run::new(secure());
            if received {
                secure.receive();
            }
            secure.ending.stdin_ended();
            assert!(secure.try_close(), "password mode and -q do not hold");
        }
    }

    /// Through a proxy: the end is held even after bytes went out, until the peer ends (an
    /// HTTP server answering a request); with nothing received, the quiet window releases it
    /// (a server that answers only after our end), and once a reply has arrived only the
    /// peer's end does.
    #[test]
    fn through_a_proxy_the_end_waits_for_the_reply() {
        let mut run = Run::new(proxy());
        run.send();
        run.ending.stdin_ended();
        assert!(!run.try_close(), "a FIN now would end the proxy's relay");
        run.wait(SECOND);
        run.receive();
        run.wait(10 * WINDOW);
        assert!(!run.try_close(), "the reply may go on");
        run.ending.peer_ended();
        assert!(run.try_close());
        run.ending.peer_finished();
        assert!(run.finished());

        let mut quiet = Run::new(proxy());
        quiet.send();
        quiet.ending.stdin_ended();
        quiet.wait(WINDOW - SECOND);
        assert!(!quiet.try_close());
        quiet.wait(SECOND);
        assert!(
            quiet.try_close(),
            "a quiet connection gets the end after all"
        );
    }

    /// `-w SECS` also ends a session whose end is held, once nothing has moved for SECS.
    #[test]
    fn wait_ends_a_session_whose_end_is_held() {
        let mut run = Run::new(Rules {
            idle_after_end: Some(2 * SECOND),
            ..plain()
        });
        run.ending.stdin_ended();
        run.receive();
        assert_eq!(run.deadline(), Some(run.now + 2 * SECOND));
        run.wait(2 * SECOND - Duration::from_millis(1));
        assert!(!run.finished());
        run.wait(Duration::from_millis(1));
        assert!(run.finished());
        assert!(!run.try_close(), "the end itself is still held");
    }

    /// `-d`: never an end of stream of ours; the peer's end ends the session.
    #[test]
    fn receive_only_never_closes_and_ends_with_the_peer() {
        let mut run = Run::new(Rules {
            receive_only: true,
            ..plain()
        });
        assert!(!run.ending.reads_stdin());
        run.ending.stdin_ended();
        run.wait(60 * SECOND);
        assert!(!run.try_close());
        assert!(!run.finished());
        run.ending.peer_ended();
        assert!(!run.finished(), "bytes still wait for stdout");
        run.ending.peer_finished();
        assert!(run.finished());
        assert!(!run.try_close());
    }

    /// `-d -w SECS`: a peer that never ends its side (OpenBSD `nc -l`) still lets tete end
    /// once nothing has moved for SECS.
    #[test]
    fn receive_only_with_wait_ends_when_idle() {
        let mut run = Run::new(Rules {
            receive_only: true,
            idle_after_end: Some(2 * SECOND),
            ..plain()
        });
        run.wait(SECOND);
        run.activity();
        assert_eq!(run.deadline(), Some(run.now + 2 * SECOND));
        run.wait(2 * SECOND - Duration::from_millis(1));
        assert!(!run.finished());
        run.wait(Duration::from_millis(1));
        assert!(run.finished());
    }

    /// A chat: when the other person leaves, we stop reading the terminal and end too.
    #[test]
    fn chat_ends_when_the_peer_leaves() {
        let mut run = Run::new(Rules {
            chat: true,
            ..plain()
        });
        run.send();
        run.ending.peer_ended();
        assert!(
            run.ending.reads_stdin(),
            "bytes may still wait for the screen"
        );
        run.ending.peer_finished();
        assert!(!run.ending.reads_stdin());
        assert!(run.try_close());
        assert!(run.finished());
    }

    /// A chat where nobody typed anything still ends when the peer leaves.
    #[test]
    fn silent_chat_ends_when_the_peer_leaves() {
        let mut run = Run::new(Rules {
            chat: true,
            ..plain()
        });
        run.ending.peer_ended();
        run.ending.peer_finished();
        assert!(run.try_close(), "the peer has ended: nothing to hold for");
        assert!(run.finished());
    }

    /// Not a terminal: after the peer ends, the rest of stdin is still sent.
    #[test]
    fn transfer_sends_the_rest_after_the_peer_ends() {
        let mut run = Run::new(plain());
        run.send();
        run.ending.peer_ended();
        run.ending.peer_finished();
        assert!(run.ending.reads_stdin());
        assert!(!run.finished());
        run.send();
        run.ending.stdin_ended();
        assert!(run.try_close());
        assert!(run.finished());
    }

    /// `--send-only`: done when our end is out and acknowledged, whatever the peer does.
    #[test]
    fn send_only_ends_once_acknowledged() {
        let mut run = Run::new(Rules {
            send_only: true,
            ..plain()
        });
        run.send();
        run.ending.stdin_ended();
        assert!(run.try_close());
        assert!(!run.finished(), "not acknowledged yet");
        run.acknowledged = true;
        assert!(run.finished());
    }

    /// `-q SECS`: SECS after our end, whatever the peer does; `-q 0` at once.
    #[test]
    fn quit_after_end() {
        for quit in [Duration::ZERO, 2 * SECOND] {
            let mut run = Run::new(Rules {
                quit_after_end: Some(quit),
                ..Rules::default()
            });
            run.send();
            run.ending.stdin_ended();
            assert!(run.try_close());
            let closed = run.now;
            assert_eq!(run.deadline(), Some(closed + quit));
            if quit > Duration::ZERO {
                run.wait(quit - Duration::from_millis(1));
                run.activity();
                assert!(!run.finished());
                run.wait(Duration::from_millis(1));
            }
            assert!(run.finished(), "-q {quit:?}");
        }
    }

    /// `-w SECS` after our end: an idle connection ends (OpenBSD nc), an active one does not.
    #[test]
    fn wait_ends_an_idle_connection_after_our_end() {
        let mut run = Run::new(Rules {
            idle_after_end: Some(SECOND),
            ..plain()
        });
        run.send();
        run.wait(5 * SECOND);
        assert!(!run.finished(), "-w does not end a session before our end");
        run.ending.stdin_ended();
        assert!(run.try_close());
        run.wait(SECOND / 2);
        run.activity();
        run.wait(SECOND / 2);
        assert!(!run.finished(), "the reply is still coming");
        run.wait(SECOND / 2);
        assert!(run.finished());
    }

    /// No rule ends a session whose stdin is still open, whatever the timers say.
    #[test]
    fn open_stdin_never_finishes() {
        let mut run = Run::new(Rules {
            quit_after_end: Some(Duration::ZERO),
            idle_after_end: Some(SECOND),
            send_only: true,
            tell_waiting: true,
            ..plain()
        });
        run.acknowledged = true;
        run.ending.peer_ended();
        run.ending.peer_finished();
        run.wait(3600 * SECOND);
        assert!(!run.finished());
        assert!(!run.try_close());
        assert_eq!(run.deadline(), None);
        assert!(run.start < run.now);
    }

    /// At a terminal, a wait with no end in sight is explained once, after a few quiet
    /// seconds; nothing ends.
    #[test]
    fn an_endless_wait_is_explained_once_at_a_terminal() {
        let told = Rules {
            tell_waiting: true,
            ..plain()
        };
        // The held end, once bytes came: explained after SAY_AFTER of quiet.
        let mut run = Run::new(told);
        run.ending.stdin_ended();
        run.receive();
        assert_eq!(run.deadline(), Some(run.now + SAY_AFTER));
        run.wait(SAY_AFTER - Duration::from_millis(1));
        assert!(!run.ending.take_waiting_line(run.now, run.last_activity));
        run.wait(Duration::from_millis(1));
        assert!(run.ending.take_waiting_line(run.now, run.last_activity));
        assert!(!run.ending.take_waiting_line(run.now, run.last_activity));
        assert_eq!(run.deadline(), None, "said once");
        assert!(!run.finished() && !run.try_close(), "nothing ends");

        // Our end out, the peer's reply never ends.
        let mut run = Run::new(told);
        run.send();
        run.ending.stdin_ended();
        assert!(run.try_close());
        run.wait(SAY_AFTER);
        assert!(run.ending.take_waiting_line(run.now, run.last_activity));

        // Not while the quiet window will end it, not with -q or -w, not in a script, not
        // while stdin is open, not once the peer has ended.
        let quiet = |rules: Rules, stdin_ends: bool, receives: bool, peer_ends: bool| {
            let mut run = Run::new(rules);
            if stdin_ends {
                run.ending.stdin_ended();
            }
            if receives {
                run.receive();
            }
            if peer_ends {
                run.ending.peer_ended();
            }
            run.wait(10 * SAY_AFTER);
            !run.ending.take_waiting_line(run.now, run.last_activity)
        };
        assert!(quiet(told, true, false, false), "the window ends it");
        let wait = Rules {
            idle_after_end: Some(60 * SECOND),
            ..told
        };
        assert!(quiet(wait, true, true, false), "-w ends it");
        let scripted = Rules {
            tell_waiting: false,
            ..told
        };
        assert!(quiet(scripted, true, true, false), "nobody to tell");
        assert!(quiet(told, false, true, false), "stdin is still open");
        assert!(quiet(told, true, true, true), "the peer has ended");
    }

    /// What stdin does in the matrix below.
    #[derive(Debug, Clone, Copy)]
    enum Stdin {
        /// A file or pipe with bytes, then its end.
        Bytes,
        /// `/dev/null`, a closed stdin, an empty file: the end at once.
        Empty,
        /// A terminal where the person typed a line and is still there.
        Terminal,
        /// A pipe that stays open and silent.
        OpenPipe,
    }

    /// What the peer does.
    #[derive(Debug, Clone, Copy)]
    enum Peer {
        /// Sends its bytes and ends at once, before anything of ours ends.
        EndsFirst,
        /// Sends nothing until it has seen our end, then answers and ends (a server that
        /// reads its request to the end; another tete with an empty stdin).
        AnswersAfterUs,
        /// Sends its bytes and never ends its side (OpenBSD `nc -l` without `-N`).
        SendsNeverEnds,
        /// Sends nothing and never ends.
        Silent,
    }

    /// The path under the session.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Path {
        Alive,
        /// Known not to answer from the start (a link down).
        Stalled,
    }

    /// Runs one case of the matrix for 100 seconds, and tells whether our end of stream went
    /// out and whether the session finished.
    fn simulate(stdin: Stdin, peer: Peer, path: Path, options: Rules) -> (bool, bool) {
        let mut run = Run::new(Rules {
            chat: matches!(stdin, Stdin::Terminal),
            ..options
        });
        if path == Path::Stalled {
            run.alive_since = None;
        }
        if matches!(stdin, Stdin::Bytes | Stdin::Terminal) && run.ending.reads_stdin() {
            run.send();
        }
        if matches!(peer, Peer::EndsFirst | Peer::SendsNeverEnds) {
            run.receive();
        }
        if matches!(peer, Peer::EndsFirst) {
            run.ending.peer_ended();
            run.ending.peer_finished();
        }
        if matches!(stdin, Stdin::Bytes | Stdin::Empty) {
            run.ending.stdin_ended();
        }
        let mut closed = false;
        for _ in 0..200 {
            closed |= run.try_close();
            run.acknowledged = closed;
            if closed && matches!(peer, Peer::AnswersAfterUs) {
                run.receive();
                run.ending.peer_ended();
                run.ending.peer_finished();
            }
            if run.finished() {
                return (closed, true);
            }
            run.wait(SECOND / 2);
        }
        (closed, false)
    }

    /// The whole end-of-session matrix: every kind of stdin, every way the peer ends, with the
    /// options and modes that change the rules, on a live and a stalled path. A reset is not
    /// here: any reset ends the session with status 1 (or, with `-k`, that peer's session),
    /// whatever this machine says; nor a partner that has gone, which the liveness check ends
    /// with status 1.
    #[test]
    fn end_of_session_matrix() {
        use Path::*;
        use Peer::*;
        use Stdin::*;
        let default = plain();
        let recv_only = Rules {
            receive_only: true,
            ..plain()
        };
        let send_only = Rules {
            send_only: true,
            ..plain()
        };
        let wait = Rules {
            idle_after_end: Some(5 * SECOND),
            ..plain()
        };
        let quit = Rules {
            quit_after_end: Some(SECOND),
            ..secure()
        };
        let no_window = Rules {
            quiet_window: None,
            ..plain()
        };
        // (stdin, peer, path, options, our end goes out, the session finishes)
        let cases = [
            (Bytes, EndsFirst, Alive, default, true, true),
            (Bytes, AnswersAfterUs, Alive, default, true, true),
            // A late reply may still come: wait for the peer (or -w).
            (Bytes, SendsNeverEnds, Alive, default, true, false),
            (Bytes, Silent, Alive, default, true, false),
            (Empty, EndsFirst, Alive, default, true, true),
            // Nothing moved: the quiet window releases the held end; the answer follows.
            (Empty, AnswersAfterUs, Alive, default, true, true),
            (Empty, AnswersAfterUs, Stalled, default, false, false),
            (Empty, AnswersAfterUs, Alive, no_window, false, false),
            // Bytes came: the end waits for the peer's end, as nc waits.
            (Empty, SendsNeverEnds, Alive, default, false, false),
            (Empty, Silent, Alive, default, true, false),
            // -w ends an idle session, whether its end is held or out.
            (Empty, SendsNeverEnds, Alive, wait, false, true),
            (Empty, Silent, Stalled, wait, false, true),
            (Bytes, SendsNeverEnds, Alive, wait, true, true),
            // A chat ends when the other person leaves, and only then.
            (Terminal, EndsFirst, Alive, default, true, true),
            (Terminal, AnswersAfterUs, Alive, default, false, false),
            (Terminal, SendsNeverEnds, Alive, default, false, false),
            // Not a terminal: the rest of stdin is still to be sent.
            (OpenPipe, EndsFirst, Alive, default, false, false),
            (OpenPipe, AnswersAfterUs, Alive, default, false, false),
            (OpenPipe, SendsNeverEnds, Alive, default, false, false),
            // -d: stdin is not there; the peer's end ends the session.
            (Bytes, EndsFirst, Alive, recv_only, false, true),
            (Empty, EndsFirst, Alive, recv_only, false, true),
            (Terminal, EndsFirst, Alive, recv_only, false, true),
            (OpenPipe, EndsFirst, Alive, recv_only, false, true),
            (Empty, AnswersAfterUs, Alive, recv_only, false, false),
            (Empty, SendsNeverEnds, Alive, recv_only, false, false),
            // --send-only: done once our end is out and acknowledged.
            (Bytes, SendsNeverEnds, Alive, send_only, true, true),
            (Empty, Silent, Alive, send_only, true, true),
            (Empty, SendsNeverEnds, Alive, send_only, false, false),
            (Terminal, EndsFirst, Alive, send_only, true, true),
            (Terminal, SendsNeverEnds, Alive, send_only, false, false),
            (OpenPipe, EndsFirst, Alive, send_only, false, false),
            // Password mode: nothing held; the peer is tete and answers our CLOSE with its own.
            (Empty, AnswersAfterUs, Stalled, secure(), true, true),
            (Empty, SendsNeverEnds, Alive, secure(), true, false),
            (Bytes, Silent, Alive, secure(), true, false),
            // -q: the end at once, and the session -q after it.
            (Empty, SendsNeverEnds, Alive, quit, true, true),
            // Through a proxy: held whatever was sent, by the same two rules.
            (Bytes, EndsFirst, Alive, proxy(), true, true),
            (Bytes, AnswersAfterUs, Alive, proxy(), true, true),
            (Bytes, AnswersAfterUs, Stalled, proxy(), false, false),
            (Bytes, SendsNeverEnds, Alive, proxy(), false, false),
            (Empty, Silent, Alive, proxy(), true, false),
        ];
        for (stdin, peer, path, options, closes, finishes) in cases {
            assert_eq!(
                simulate(stdin, peer, path, options),
                (closes, finishes),
                "stdin {stdin:?}, peer {peer:?}, path {path:?}, rules {options:?}: \
                 (our end out, finished)"
            );
        }
    }
}
