//! The whole end-of-session matrix: every kind of stdin, every way the peer ends, with the
//! options and modes that change the rules, on a live and a stalled path.

use super::*;

/// What stdin does in the matrix.
#[derive(Debug, Clone, Copy)]
enum Stdin {
    /// A file or pipe with bytes, then its end.
    Bytes,
    /// `/dev/null`, a closed stdin, an empty file: the end at once.
    Empty,
    /// A terminal where the person typed a line and is still there.
    Terminal,
    /// A terminal where the person typed a line, then Ctrl-D.
    CtrlD,
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
        chat: matches!(stdin, Stdin::Terminal | Stdin::CtrlD),
        ..options
    });
    if path == Path::Stalled {
        run.alive_since = None;
    }
    if matches!(stdin, Stdin::Bytes | Stdin::Terminal | Stdin::CtrlD) && run.ending.reads_stdin() {
        run.send();
    }
    if matches!(peer, Peer::EndsFirst | Peer::SendsNeverEnds) {
        run.receive();
    }
    if matches!(peer, Peer::EndsFirst) {
        run.ending.peer_ended();
        run.ending.peer_finished();
    }
    if matches!(stdin, Stdin::Bytes | Stdin::Empty | Stdin::CtrlD) {
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
    // -N, and a terminal (rules_for chooses no hold for either).
    let at_once = Rules {
        hold_end: HoldEnd::Never,
        ..plain()
    };
    // (stdin, peer, path, options, our end goes out, the session finishes)
    let cases = [
        (Bytes, EndsFirst, Alive, default, true, true),
        (Bytes, AnswersAfterUs, Alive, default, true, true),
        // Bytes came: the end waits for the peer's end, whatever we sent (ncat stops at a FIN).
        (Bytes, SendsNeverEnds, Alive, default, false, false),
        // A request, nothing received: the end at once; a late reply may still come.
        (Bytes, Silent, Alive, default, true, false),
        (Empty, EndsFirst, Alive, default, true, true),
        // Nothing moved: the quiet window releases the held end; the answer follows.
        (Empty, AnswersAfterUs, Alive, default, true, true),
        (Empty, AnswersAfterUs, Stalled, default, false, false),
        (Empty, AnswersAfterUs, Alive, no_window, false, false),
        // Bytes came: the end waits for the peer's end, as nc waits.
        (Empty, SendsNeverEnds, Alive, default, false, false),
        (Empty, Silent, Alive, default, true, false),
        // -w ends an idle session: a held end goes, then the session.
        (Empty, SendsNeverEnds, Alive, wait, true, true),
        (Empty, Silent, Stalled, wait, true, true),
        (Bytes, SendsNeverEnds, Alive, wait, true, true),
        // -N: the end at once, whatever came.
        (Bytes, SendsNeverEnds, Alive, at_once, true, false),
        (Empty, SendsNeverEnds, Alive, at_once, true, false),
        (Empty, Silent, Stalled, at_once, true, false),
        // A chat ends when the other person leaves, and only then; Ctrl-D is the person's end.
        (Terminal, EndsFirst, Alive, default, true, true),
        (CtrlD, SendsNeverEnds, Alive, at_once, true, false),
        (CtrlD, AnswersAfterUs, Alive, at_once, true, true),
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
        (Empty, SendsNeverEnds, Alive, send_only, true, true),
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
