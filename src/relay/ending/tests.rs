//! The end rules' state machine against every kind of stdin, peer, path and option, on a
//! synthetic clock.

use super::*;

mod matrix;

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
        hold_end: HoldEnd::UnlessOnlySent,
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

/// Password mode: the peer is tete, so nothing is held (and -N, -q, a terminal likewise).
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

/// `ncat -l < file` against `tete < upload > copy`: once a byte has come, the end waits for
/// the peer's whatever we sent (a FIN would stop ncat sending, and the copy would be short
/// with exit 0 on both ends); the peer's end, or -w, releases it.
#[test]
fn once_bytes_arrived_the_end_waits_also_after_sending() {
    let mut run = Run::new(plain());
    run.send();
    run.receive();
    run.send();
    run.ending.stdin_ended();
    assert_eq!(run.deadline(), None, "no timer releases it");
    run.wait(3600 * SECOND);
    assert!(!run.try_close(), "a FIN now would stop ncat sending");
    run.ending.peer_ended();
    assert!(run.try_close());
    run.ending.peer_finished();
    assert!(run.finished());
}

/// With nothing received, a stdin that sent something (a request) ends at once; -N, -q,
/// a terminal's Ctrl-D and password mode hold nothing, whatever came from the peer.
#[test]
fn no_hold_for_a_request_or_without_the_rule() {
    let mut run = Run::new(plain());
    run.send();
    run.ending.stdin_ended();
    run.activity();
    assert!(run.try_close());

    for received in [false, true] {
        let mut secure = Run::new(secure());
        secure.send();
        if received {
            secure.receive();
        }
        secure.ending.stdin_ended();
        assert!(
            secure.try_close(),
            "-N, -q, a terminal, password mode: no hold"
        );
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

/// `-w SECS` releases a held end once nothing has moved for SECS, and the session ends SECS
/// later if nothing moves (OpenBSD nc's `-w`: an idle connection ends); a reply in between
/// still arrives.
#[test]
fn wait_releases_a_held_end() {
    let mut run = Run::new(Rules {
        idle_after_end: Some(2 * SECOND),
        ..plain()
    });
    run.ending.stdin_ended();
    run.receive();
    assert_eq!(run.deadline(), Some(run.now + 2 * SECOND));
    run.wait(2 * SECOND - Duration::from_millis(1));
    assert!(!run.try_close());
    run.wait(Duration::from_millis(1));
    assert!(run.try_close(), "idle for -w: the end goes");
    assert!(!run.finished(), "a reply may still come");
    run.wait(SECOND);
    run.receive();
    run.wait(2 * SECOND - Duration::from_millis(1));
    assert!(!run.finished());
    run.wait(Duration::from_millis(1));
    assert!(run.finished());
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
    assert_eq!(
        run.ending.take_waiting_line(run.now, run.last_activity),
        None
    );
    run.wait(Duration::from_millis(1));
    let said = run.ending.take_waiting_line(run.now, run.last_activity);
    assert_eq!(said.as_deref(), Some(HOLDING_LINE), "the held end, and -N");
    assert_eq!(
        run.ending.take_waiting_line(run.now, run.last_activity),
        None
    );
    assert_eq!(run.deadline(), None, "said once");
    assert!(!run.finished() && !run.try_close(), "nothing ends");

    // Our end out, the peer's reply never ends.
    let mut run = Run::new(told);
    run.send();
    run.ending.stdin_ended();
    assert!(run.try_close());
    run.wait(SAY_AFTER);
    let said = run.ending.take_waiting_line(run.now, run.last_activity);
    assert_eq!(
        said.as_deref(),
        Some(WAITING_LINE),
        "our end is out: -N would not help"
    );

    // Nothing moved either way: the quiet window will send the end, and the terminal is told
    // so, with the window's length, rather than left with what looks like a hang.
    let mut run = Run::new(told);
    run.ending.stdin_ended();
    run.wait(SAY_AFTER);
    let said = run.ending.take_waiting_line(run.now, run.last_activity);
    assert_eq!(said, Some(quiet_line(WINDOW)));
    assert!(said.is_some_and(|line| line.contains(" 30 s of quiet")));
    assert!(!run.try_close(), "the window has not passed");

    // Not with -q or -w, not in a script, not while stdin is open, not once the peer has
    // ended.
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
        run.ending
            .take_waiting_line(run.now, run.last_activity)
            .is_none()
    };
    let no_window = Rules {
        quiet_window: None,
        ..told
    };
    assert!(
        !quiet(no_window, true, false, false),
        "no window: nothing ends it"
    );
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
