//! When a session ends: the end-of-session rules as a small, pure state machine.
//!
//! A session has two directions, each with its own state: ours ([`Sending`], stdin to the peer)
//! and the peer's ([`Receiving`], the peer to stdout). The session pump reports what happened
//! (stdin ended, bytes went out, the socket's end of stream arrived, everything received was
//! written out) and asks two questions: should our end of stream go out now
//! ([`Ending::should_close`]), and is the session over ([`Ending::finished`])? Time enters only
//! as `Instant`s handed in, so every rule is unit-tested below without a socket or a clock.
//!
//! The rules:
//! - **stdin ends** after we sent something: our end of stream (a FIN, or the password mode's
//!   CLOSE record, which needs no FIN after it) goes out at once, after everything queued before
//!   it, and receiving goes on: a late reply still arrives (`echo hi | tete host port`).
//! - **stdin ends before a single byte was sent** (`< /dev/null`): our end of stream is held
//!   while the peer is sending, until the peer ends or the connection has been quiet both ways
//!   for [`QUIET`]. OpenBSD nc and ncat take a FIN as "the transfer is over" and stop sending
//!   (`nc -l < file` on the other side would be cut short); the quiet moment still ends two
//!   tetes that both have nothing to say, and reaches a server that answers only after our end.
//!   Not in password mode, whose peer is always tete, nor with `-q`, which asks for the end.
//!   Through a proxy the end is held whatever was sent: most proxies end the whole relay at
//!   the first FIN from either side, which would cut off the reply.
//! - **`-d`**: stdin is not part of the session at all, so our side never ends; the peer's end
//!   ends the session (nc's `-d`), or with `-w SECS` nothing moving for SECS.
//! - **the peer ends**: everything received is written out first. Then, if stdin is a terminal,
//!   the person at it has nobody left to talk to: we stop reading it and end our side too (a
//!   chat ends when either person leaves). Otherwise the rest of stdin is still sent.
//! - **the session is over** when our end of stream is out and everything the peer sent is
//!   written out; with `--send-only` (the peer's bytes are discarded) when our end is out and
//!   the peer has acknowledged every byte; with `-q SECS` that long after our end went out;
//!   with `-w SECS`, once our end is out, after SECS with nothing moving (OpenBSD nc's `-w`).

use std::time::{Duration, Instant};

/// How long the connection must be quiet both ways before a held end of stream goes out.
pub const QUIET: Duration = Duration::from_secs(1);

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
    /// `-w`: once our end of stream is out, end after this long with nothing moving.
    pub idle_after_end: Option<Duration>,
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

    /// Whether our end of stream should be queued now; `last_activity` is when a byte last
    /// moved either way. The caller queues it and calls [`Ending::closed`].
    pub fn should_close(&self, now: Instant, last_activity: Instant) -> bool {
        self.sending == Sending::Draining && (!self.holds_end() || now >= last_activity + QUIET)
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

    /// The next moment at which [`Ending::should_close`] or [`Ending::finished`] may change
    /// with nothing else happening.
    pub fn next_deadline(&self, last_activity: Instant) -> Option<Instant> {
        match self.sending {
            Sending::Draining if self.holds_end() => Some(last_activity + QUIET),
            Sending::Absent => self.rules.idle_after_end.map(|idle| last_activity + idle),
            Sending::Out { at } => {
                let quit = self.rules.quit_after_end.map(|quit| at + quit);
                let idle = self
                    .rules
                    .idle_after_end
                    .map(|idle| last_activity.max(at) + idle);
                quit.into_iter().chain(idle).min()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// A session under `rules`, with a clock: every check passes `now` and the last activity.
    struct Run {
        ending: Ending,
        start: Instant,
        now: Instant,
        last_activity: Instant,
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

        /// Queues our end of stream if the rules say so (and, with nothing else queued, sends
        /// it); returns whether it did.
        fn try_close(&mut self) -> bool {
            let close = self.ending.should_close(self.now, self.last_activity);
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
    }

    fn plain() -> Rules {
        Rules {
            hold_end: HoldEnd::IfNothingSent,
            ..Rules::default()
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

    /// `tete host port < /dev/null` against `nc -l < file`: no FIN while the peer sends.
    #[test]
    fn empty_stdin_holds_the_end_while_the_peer_sends() {
        let mut run = Run::new(plain());
        run.ending.stdin_ended();
        for _ in 0..30 {
            assert!(!run.try_close(), "a FIN now would stop nc and ncat sending");
            run.wait(SECOND / 2);
            run.activity();
        }
        assert_eq!(
            run.ending.next_deadline(run.last_activity),
            Some(run.now + QUIET)
        );
        // The peer ends: nothing more to wait for.
        run.ending.peer_ended();
        assert!(run.try_close());
        run.ending.peer_finished();
        assert!(run.finished());
    }

    /// Two tetes with nothing to say, or a server that answers only after our end: the quiet
    /// moment releases the end.
    #[test]
    fn empty_stdin_releases_the_end_after_a_quiet_moment() {
        let mut run = Run::new(plain());
        run.ending.stdin_ended();
        run.wait(QUIET - Duration::from_millis(1));
        assert!(!run.try_close());
        run.wait(Duration::from_millis(1));
        assert!(run.try_close());
        assert!(!run.finished(), "the peer's answer may still come");
        run.ending.peer_ended();
        run.ending.peer_finished();
        assert!(run.finished());
    }

    /// The hold is only for a stdin that ended before sending anything.
    #[test]
    fn no_hold_once_a_byte_was_sent_or_without_the_rule() {
        let mut run = Run::new(plain());
        run.send();
        run.ending.stdin_ended();
        run.activity();
        assert!(run.try_close());

        let mut secure = Run::new(Rules::default());
        secure.ending.stdin_ended();
        assert!(secure.try_close(), "password mode and -q do not hold");
    }

    /// Through a proxy: the end is held even after bytes went out, until the peer ends (an
    /// HTTP server answering a request) or the connection is quiet.
    #[test]
    fn through_a_proxy_the_end_waits_for_the_reply() {
        let mut run = Run::new(Rules {
            hold_end: HoldEnd::Always,
            ..Rules::default()
        });
        run.send();
        run.ending.stdin_ended();
        assert!(!run.try_close(), "a FIN now would end the proxy's relay");
        run.wait(QUIET / 2);
        run.activity();
        assert!(!run.try_close(), "the reply is still coming");
        run.ending.peer_ended();
        assert!(run.try_close());
        run.ending.peer_finished();
        assert!(run.finished());

        let mut quiet = Run::new(Rules {
            hold_end: HoldEnd::Always,
            ..Rules::default()
        });
        quiet.send();
        quiet.ending.stdin_ended();
        quiet.wait(QUIET);
        assert!(
            quiet.try_close(),
            "a quiet connection gets the end after all"
        );
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
        assert_eq!(
            run.ending.next_deadline(run.last_activity),
            Some(run.now + 2 * SECOND)
        );
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
            assert_eq!(
                run.ending.next_deadline(run.last_activity),
                Some(closed + quit)
            );
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
            ..plain()
        });
        run.acknowledged = true;
        run.ending.peer_ended();
        run.ending.peer_finished();
        run.wait(3600 * SECOND);
        assert!(!run.finished());
        assert!(!run.try_close());
        assert_eq!(run.ending.next_deadline(run.last_activity), None);
        assert!(run.start < run.now);
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
    enum PeerEnds {
        /// Sends its bytes and ends at once, before anything of ours ends.
        First,
        /// Ends once it has seen our end (a server answering a request).
        AfterUs,
        /// Never ends its side (OpenBSD `nc -l`).
        Never,
    }

    /// Runs one case of the matrix for 30 seconds of quiet, and tells whether our end of stream
    /// went out and whether the session finished.
    fn simulate(stdin: Stdin, peer: PeerEnds, options: Rules) -> (bool, bool) {
        let mut run = Run::new(Rules {
            chat: matches!(stdin, Stdin::Terminal),
            ..options
        });
        if matches!(stdin, Stdin::Bytes | Stdin::Terminal) && run.ending.reads_stdin() {
            run.send();
        }
        if matches!(peer, PeerEnds::First) {
            run.ending.peer_ended();
            run.ending.peer_finished();
        }
        if matches!(stdin, Stdin::Bytes | Stdin::Empty) {
            run.ending.stdin_ended();
        }
        let mut closed = false;
        for _ in 0..60 {
            closed |= run.try_close();
            run.acknowledged = closed;
            if closed && matches!(peer, PeerEnds::AfterUs) {
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
    /// options that change the rules. A reset is not here: any reset ends the session with
    /// status 1 (or, with `-k`, that peer's session), whatever this machine says.
    #[test]
    fn end_of_session_matrix() {
        use PeerEnds::*;
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
        // (stdin, peer, options, our end goes out, the session finishes)
        let cases = [
            (Bytes, First, default, true, true),
            (Bytes, AfterUs, default, true, true),
            // A late reply may still come: wait for the peer (or -w).
            (Bytes, Never, default, true, false),
            (Empty, First, default, true, true),
            // The held end goes out after the quiet moment.
            (Empty, AfterUs, default, true, true),
            (Empty, Never, default, true, false),
            // A chat ends when the other person leaves, and only then.
            (Terminal, First, default, true, true),
            (Terminal, AfterUs, default, false, false),
            (Terminal, Never, default, false, false),
            // Not a terminal: the rest of stdin is still to be sent.
            (OpenPipe, First, default, false, false),
            (OpenPipe, AfterUs, default, false, false),
            (OpenPipe, Never, default, false, false),
            // -d: stdin is not there; the peer's end ends the session.
            (Bytes, First, recv_only, false, true),
            (Empty, First, recv_only, false, true),
            (Terminal, First, recv_only, false, true),
            (OpenPipe, First, recv_only, false, true),
            (Empty, AfterUs, recv_only, false, false),
            (Empty, Never, recv_only, false, false),
            // --send-only: done once our end is out and acknowledged.
            (Bytes, Never, send_only, true, true),
            (Empty, Never, send_only, true, true),
            (Terminal, First, send_only, true, true),
            (Terminal, Never, send_only, false, false),
            (OpenPipe, First, send_only, false, false),
        ];
        for (stdin, peer, options, closes, finishes) in cases {
            assert_eq!(
                simulate(stdin, peer, options),
                (closes, finishes),
                "stdin {stdin:?}, peer ends {peer:?}, receive_only {}, send_only {}: \
                 (our end out, finished)",
                options.receive_only,
                options.send_only
            );
        }
    }
}

// The policy: which rules the command line and the channel choose for a session, how our end
// of stream goes out, and what follows a session's end.

use std::net::SocketAddr;

use super::{End, Notices};
use crate::error::Error;
use crate::options::{Config, Direction, Mode};

/// The end rules `config` chooses for a session: `secure` in password mode, `chat` when stdin
/// is a terminal.
pub(super) fn rules_for(config: &Config, secure: bool, chat: bool) -> Rules {
    Rules {
        // In password mode the peer is always tete, which does not stop on our end of stream,
        // and without the authenticated CLOSE it would see a truncation: there -d ends our
        // direction at once instead.
        receive_only: config.direction == Direction::ReceiveOnly && !secure,
        send_only: config.direction == Direction::SendOnly,
        // The password mode's peer is always tete, which reads our CLOSE as no more than the
        // end of our direction; -q asks for the end; through a proxy the end waits for the
        // reply (see the rules above).
        hold_end: match (secure, &config.mode, config.quit_after_eof) {
            (true, _, _) | (_, _, Some(_)) => HoldEnd::Never,
            (false, Mode::Connect { proxy: Some(_), .. }, None) => HoldEnd::Always,
            (false, _, None) => HoldEnd::IfNothingSent,
        },
        chat,
        quit_after_end: config.quit_after_eof,
        idle_after_end: config.wait,
    }
}

/// Whether our end of stream is followed by a FIN once it is out: in plain mode, unless
/// `--no-shutdown`. In password mode the CLOSE record is the end of stream, and a FIN after it
/// would only end a proxy's whole relay early: the connection closes when the session ends.
pub(super) fn half_closes(config: &Config, secure: bool) -> bool {
    config.half_close && !secure
}

/// What follows a session's end.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// tete is done.
    Exit,
    /// `-k`: the next peer.
    NextPeer,
}

/// What follows a session with `peer` that ended with `end`: tete is done, fails, or (`-k`)
/// serves the next peer; what the user hears about it goes to `notices`. With `-k` one peer's
/// broken connection or channel is that peer's loss, not the server's end; stdin and stdout
/// failures still end it.
pub(super) fn after(
    end: End,
    config: &Config,
    peer: SocketAddr,
    notices: &mut Notices,
) -> Result<Then, Error> {
    let keep_open = config.keep_open();
    match end {
        End::StdoutClosed => return Ok(Then::Exit),
        End::PeerLost(err) | End::Failed(err @ Error::Secure(_)) if keep_open => {
            notices.always(err.to_string())
        }
        End::Failed(err) | End::PeerLost(err) => return Err(err),
        End::Idle => {
            let idle = config.idle_timeout.unwrap_or_default().as_secs_f64();
            notices.always(format!(
                "nothing moved for {idle} s; closing the connection to {peer}"
            ));
            if !keep_open {
                return Err(Error::Silent);
            }
        }
        End::Done => notices.verbose("peer closed"),
        End::PeerLeft => notices.always("the peer left"),
    }
    Ok(if keep_open {
        Then::NextPeer
    } else {
        Then::Exit
    })
}

#[cfg(test)]
mod policy_tests {
    use std::time::Duration;

    use super::{End, Error, HoldEnd, Notices, Then, after, half_closes, rules_for};
    use crate::options::{Command, Config, Environment, parse};

    fn config(args: &[&str]) -> Config {
        match parse(args, Environment::default()) {
            Ok(Command::Run(config)) => config,
            other => panic!("{args:?}: expected a run, got {other:?}"),
        }
    }

    #[test]
    fn the_command_line_and_the_channel_choose_the_rules() {
        let plain = rules_for(&config(&["h", "1"]), false, false);
        assert_eq!(plain.hold_end, HoldEnd::IfNothingSent);
        assert!(!plain.receive_only && !plain.send_only && !plain.chat);
        assert_eq!(
            rules_for(&config(&["-x", "p", "h", "1"]), false, true).hold_end,
            HoldEnd::Always
        );
        assert_eq!(
            rules_for(&config(&["-q", "0", "h", "1"]), false, false).hold_end,
            HoldEnd::Never
        );
        let secure = rules_for(&config(&["-d", "-w", "2", "h", "1"]), true, true);
        assert_eq!(secure.hold_end, HoldEnd::Never);
        assert!(
            !secure.receive_only,
            "-d in password mode ends our direction at once"
        );
        assert!(secure.chat);
        assert_eq!(secure.idle_after_end, Some(Duration::from_secs(2)));
        assert!(rules_for(&config(&["-d", "h", "1"]), false, false).receive_only);
        assert!(half_closes(&config(&["h", "1"]), false));
        assert!(!half_closes(&config(&["h", "1"]), true));
        assert!(!half_closes(&config(&["--no-shutdown", "h", "1"]), false));
    }

    #[test]
    fn a_lost_peer_ends_tete_unless_k_serves_the_next() {
        let peer = "192.0.2.1:5000".parse().expect("an address");
        let lost = || End::PeerLost(Error::Runtime("receiving from x: reset".into()));
        let (once, keep) = (config(&["-l", "1"]), config(&["-k", "-l", "1"]));
        let mut notices = Notices::default();
        assert_eq!(after(End::Done, &once, peer, &mut notices), Ok(Then::Exit));
        assert_eq!(
            after(End::Done, &keep, peer, &mut notices),
            Ok(Then::NextPeer)
        );
        assert!(notices.take(false).is_empty(), "'peer closed' only with -v");
        assert!(matches!(
            after(lost(), &once, peer, &mut notices),
            Err(Error::Runtime(_))
        ));
        assert!(notices.take(true).is_empty());
        assert_eq!(after(lost(), &keep, peer, &mut notices), Ok(Then::NextPeer));
        assert_eq!(notices.take(false).len(), 1, "the loss is said with -k");
        let stdin = || End::Failed(Error::Runtime("stdin: gone".into()));
        assert!(after(stdin(), &keep, peer, &mut notices).is_err());
        let idle = config(&["-i", "3", "-l", "1"]);
        assert_eq!(
            after(End::Idle, &idle, peer, &mut notices),
            Err(Error::Silent)
        );
        let said = notices.take(false);
        assert!(said[0].text.contains("nothing moved for 3 s"), "{said:?}");
        assert_eq!(
            after(End::StdoutClosed, &keep, peer, &mut notices),
            Ok(Then::Exit)
        );
    }
}
