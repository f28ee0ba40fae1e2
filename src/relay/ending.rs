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
//! - **stdin ends** (in plain mode; password mode's CLOSE record goes at once, as its peer is
//!   always tete, which reads it as the end of our direction only): our end of stream (a FIN)
//!   goes out after everything queued before it, and receiving goes on. When, depends on
//!   what came from the peer. OpenBSD nc and ncat take a FIN as "the transfer is over" and
//!   stop sending, so a FIN while the peer is still sending cuts `nc -l < file` on the other
//!   side short, and both ends report success. No timer guesses that the peer is done:
//!   - **once a byte has been received**, whether or not we sent anything, the end waits for
//!     the peer's end, `-w` (SECS with nothing moving releases it), or the user (Ctrl-C); a
//!     partner that has gone is noticed by the liveness check ([`super::liveness`]), which
//!     ends the session with an error. A sender that never ends its side (OpenBSD `nc -l`
//!     without `-N`) is waited for, as nc itself waits; a pause in the data (tar over a big
//!     tree, zfs send) cuts nothing. At a terminal, tete says once, after [`SAY_AFTER`] of
//!     quiet, what it waits for and how to end the wait (`-N`, `-q`, `-w`, Ctrl-C).
//!   - **nothing received, something sent** (a request: `echo PING | tete host 6379`, HTTP):
//!     at once, and a late reply still arrives. (A peer that sends without being asked, and
//!     whose first byte comes only after such a stdin has ended, gets the end at once too.)
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
//!   Nothing is held with `--send-only`, which discards what comes, with `-N` (OpenBSD nc's
//!   "shut down after EOF": at once, for servers that greet first or keep the connection
//!   open), with `-q`, which asks for the end, at a terminal, where stdin's end is the
//!   person's own Ctrl-D, nor in password mode. Through a proxy the end is held whatever was
//!   sent, by the same rules otherwise: most proxies end the whole relay at the first FIN from
//!   either side, which would cut off the reply. `--no-shutdown` sends no FIN at all.
//! - **`-d`**: stdin is not part of the session at all, so our side never ends; the peer's end
//!   ends the session (nc's `-d`), or with `-w SECS` nothing moving for SECS.
//! - **the peer ends**: everything received is written out first. Then, if stdin is a terminal,
//!   the person at it has nobody left to talk to: we stop reading it and end our side too (a
//!   chat ends when either person leaves). Otherwise the rest of stdin is still sent.
//! - **the session is over** when our end of stream is out and everything the peer sent is
//!   written out; with `--send-only` (the peer's bytes are discarded) when our end is out and
//!   the peer has acknowledged every byte; with `-q SECS` that long after our end went out;
//!   with `-w SECS`, SECS after our end went out with nothing moving since (OpenBSD nc's `-w`:
//!   the reply to our last bytes has SECS).

use std::time::{Duration, Instant};

/// How long a session that waits with no end in sight (no `-q`, no `-w`) stays quiet before a
/// terminal is told, once, what it waits for: longer than a reply's usual pause, short enough
/// that a person does not think tete has hung.
pub const SAY_AFTER: Duration = Duration::from_secs(3);

/// The line a terminal gets, once, when tete holds its end of stream for the peer's, with no
/// timer to end the wait.
pub const HOLDING_LINE: &str = "stdin has ended; waiting for the peer to close the connection \
     before closing ours (nc and ncat stop sending at our end); Ctrl-C ends tete (in scripts, \
     -N closes ours at once, -q SECS or -w SECS end the wait)";

/// The line a terminal gets, once, when our end is out and the peer's never comes.
pub const WAITING_LINE: &str = "waiting for the peer to close the connection; \
     Ctrl-C ends tete (in scripts, -q SECS or -w SECS end the wait)";

/// The line a terminal gets, once, when stdin has ended with nothing moved either way and the
/// quiet window ([`Rules::quiet_window`], this many seconds) will send our end: the wait ends
/// by itself, but looks like a hang without a word.
pub fn quiet_line(window: Duration) -> String {
    format!(
        "stdin has ended and nothing has come; our end goes after {} s of quiet on a live link, \
         in case the peer is slow to start (--peer-timeout); -N closes it at once, Ctrl-C ends tete",
        window.as_secs_f64()
    )
}

/// The end-of-session rules the command line and the standard streams chose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// `-d`: stdin is not part of the session.
    pub receive_only: bool,
    /// `--send-only`: the peer's bytes are discarded, so only ours need to arrive.
    pub send_only: bool,
    /// When our end of stream waits for the peer's end, or for the quiet window.
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
    /// Never (password mode, `-N`, `-q`, stdin a terminal).
    #[default]
    Never,
    /// Once a byte has been received, or while nothing has been sent (plain mode).
    UnlessOnlySent,
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
                    .release(last_activity, alive_since)
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
            HoldEnd::UnlessOnlySent => self.received_any || !self.sent_any,
            HoldEnd::Always => true,
        };
        // --send-only discards what the peer sends: nothing to hold for.
        rule && !self.rules.send_only && self.receiving == Receiving::Open
    }

    /// When a held end of stream goes out by itself: with `-w`, once nothing has moved for its
    /// time; and while nothing has come from the peer, after the quiet window, counted from the
    /// last byte or from when the path became known to be alive, whichever is later.
    fn release(&self, last_activity: Instant, alive_since: Option<Instant>) -> Option<Instant> {
        let idle = self.rules.idle_after_end.map(|idle| last_activity + idle);
        let quiet = self
            .quiet_window_holds()
            .zip(alive_since)
            .map(|(window, alive)| last_activity.max(alive) + window);
        idle.into_iter().chain(quiet).min()
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

    /// Once, the line for the terminal ([`HOLDING_LINE`], [`WAITING_LINE`] or [`quiet_line`])
    /// when the session waits for the peer's end with no `-q` or `-w` to end the wait, or for
    /// the quiet window, and nothing has moved for [`SAY_AFTER`]. Nothing ends.
    pub fn take_waiting_line(&mut self, now: Instant, last_activity: Instant) -> Option<String> {
        let due = self
            .waiting_line_at(last_activity)
            .is_some_and(|at| now >= at);
        if !due {
            return None;
        }
        self.told_waiting = true;
        Some(match (self.sending, self.quiet_window_holds()) {
            (Sending::Draining, Some(window)) => quiet_line(window),
            (Sending::Draining, None) => HOLDING_LINE.to_string(),
            _ => WAITING_LINE.to_string(),
        })
    }

    /// The quiet window, where it is what will send our held end (nothing moved either way).
    fn quiet_window_holds(&self) -> Option<Duration> {
        self.rules.quiet_window.filter(|_| !self.received_any)
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
            // Held, for the peer's end (bytes came, or the window is off) or for the window.
            Sending::Draining if self.holds_end() => last_activity,
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
            Sending::Draining if self.holds_end() => self.release(last_activity, alive_since),
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

mod policy;
#[cfg(test)]
mod tests;

pub(super) use policy::{Then, after, half_closes, rules_for};
