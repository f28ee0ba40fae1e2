//! Our end of stream, held. OpenBSD nc and ncat stop sending at a FIN, so once the peer has
//! sent a byte our end waits for the peer's, whether or not we sent anything, and no timer
//! releases it: a sender that pauses is never cut short, a transfer both ways is whole, and a
//! sender that never ends its side is waited for, as nc waits (`-N` sends the end at once).
//! While nothing has moved either way, the quiet window (`--peer-timeout`, counted while the
//! path is known to be alive) releases it: two tetes with nothing to say, or a server that
//! answers only after our end, still end by themselves. Short windows here; one test at the
//! default of 30 s is ignored as slow, its short twin beside it.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;

/// Every scenario below but the slow one at the defaults, at once: each waits out a pause, a
/// window or `-w` (one to six seconds) on connections of its own, so the file costs its longest
/// wait, not their sum.
#[test]
fn held_ends_at_once() {
    at_once(&[
        &a_sender_that_pauses_is_not_cut_short,
        &a_sender_that_never_ends_is_waited_for,
        &two_tetes_with_empty_stdin_end_by_themselves,
        &server_answering_after_an_empty_request,
        &without_a_window_only_the_peer_or_w_ends_it,
    ]);
}

/// `(1 MiB; sleep PAUSE; 1 MiB) | PROGRAM ARGS... 127.0.0.1 PORT` in `dir`, listening when
/// this returns; with the 2 MiB it sends.
fn paused_sender(
    dir: &TempDir,
    program: &Path,
    args: &str,
    pause: &str,
) -> (Process, u16, Vec<u8>) {
    let (first, one) = dir.random_file("first", MIB, 700);
    let (second, two) = dir.random_file("second", MIB, 701);
    let port = free_port();
    let script = format!(
        "(cat {}; sleep {pause}; cat {}) | {} {args} 127.0.0.1 {port}",
        first.display(),
        second.display(),
        program.display()
    );
    let mut sender = Process::spawn(dir, Path::new("sh"), &["-c", &script], None, None);
    wait_listening_on(&mut sender, port);
    (sender, port, [one, two].concat())
}

/// The loopback case: `(1 MiB; sleep 3; 1 MiB) | nc -N -l` and `| ncat -l`, received
/// by `tete HOST PORT > copy < /dev/null`: the 3 s pause cuts nothing (a FIN after a quiet
/// second gave 1 MiB of 2, and exit 0 on both ends), and tete ends with the sender's end.
fn a_sender_that_pauses_is_not_cut_short() {
    let nc = openbsd_nc_or_skip();
    let ncat = program_or_skip("ncat", "ncat");
    let receive = |program: &Option<std::path::PathBuf>, args: &str| {
        let Some(program) = program else {
            return;
        };
        let dir = TempDir::new("paused-sender");
        let (mut sender, port, sent) = paused_sender(&dir, program, args, "3");
        let out = dir.join("copy");
        let finished = tete(["127.0.0.1", &port.to_string()])
            .stdin(Input::Null)
            .stdout(Output::File(out.clone()))
            .run();
        finished.assert_success().assert_quiet();
        sender.wait_success();
        assert_bytes_eq(&format!("the copy from {args}"), &sent, &dir.read(&out));
    };
    at_once(&[&|| receive(&nc, "-N -l"), &|| receive(&ncat, "-l")]);
}

/// `(1 MiB; sleep 2.5; 1 MiB) | nc -l` (OpenBSD, without -N: it never ends its side): the copy
/// holds the whole 2 MiB, and tete waits for nc's end as nc waits for tete's; at a terminal it
/// says once what it waits for and how to end the wait, without ending anything.
fn a_sender_that_never_ends_is_waited_for() {
    let Some(nc) = openbsd_nc_or_skip() else {
        return;
    };
    let dir = TempDir::new("never-ends");
    let (mut sender, port, sent) = paused_sender(&dir, &nc, "-l", "2.5");
    let out = dir.join("copy");
    let pty = Pty::open();
    let mut receiver = tete(["127.0.0.1", &port.to_string()])
        .stdin(Input::Null)
        .stdout(Output::File(out.clone()))
        .stderr(Output::Fd(pty.slave_fd()))
        .spawn();
    wait_until("the whole 2 MiB in the copy", TIMEOUT, || {
        std::fs::metadata(&out).is_ok_and(|meta| meta.len() == sent.len() as u64)
    });
    let said = pty.wait_for_output("waiting for the peer to close the connection");
    for way_out in ["Ctrl-C", "-N", "-q", "-w"] {
        assert!(said.contains(way_out), "{way_out} in {said:?}");
    }
    receiver.assert_running("waiting for nc's end");
    sender.assert_running();
    receiver.kill();
    assert_bytes_eq("the copy", &sent, &dir.read(&out));
}

/// `PROGRAM -l 127.0.0.1 PORT < 32 MiB > copy` and `tete 127.0.0.1 PORT < 12 MiB > copy`,
/// ncat and `nc -N`: both copies whole, both exit 0. (tete's stdin ended first, its FIN went
/// at once, and the sender stopped: 15.7-16.9 MB of 20 arrived, exit 0 on both ends.) tete's
/// stdin is more than the sockets hold, so it ends after the sender's first byte has come; a
/// stdin that ends before anything came is a request, whose end goes at once.
#[test]
fn a_transfer_both_ways_is_not_cut_short() {
    let nc = openbsd_nc_or_skip();
    let ncat = program_or_skip("ncat", "ncat");
    let both_ways = |program: &Option<std::path::PathBuf>, args: &str, seed: u64| {
        let Some(program) = program else {
            return;
        };
        let dir = TempDir::new("both-ways");
        let (down_file, down) = dir.random_file("down", 32 * MIB, seed);
        let (up_file, up) = dir.random_file("up", 12 * MIB, seed + 1);
        let (down_copy, up_copy) = (dir.join("down.copy"), dir.join("up.copy"));
        let port = free_port();
        let script = format!(
            "{} {args} 127.0.0.1 {port} < {} > {}",
            program.display(),
            down_file.display(),
            up_copy.display()
        );
        let mut sender = Process::spawn(&dir, Path::new("sh"), &["-c", &script], None, None);
        wait_listening_on(&mut sender, port);
        let finished = tete(["127.0.0.1", &port.to_string()])
            .stdin(Input::File(up_file))
            .stdout(Output::File(down_copy.clone()))
            .run();
        finished.assert_success().assert_quiet();
        sender.wait_success();
        assert_bytes_eq(
            &format!("tete's copy from {args}"),
            &down,
            &dir.read(&down_copy),
        );
        assert_bytes_eq(&format!("the copy of {args}"), &up, &dir.read(&up_copy));
    };
    at_once(&[&|| both_ways(&nc, "-N -l", 710), &|| {
        both_ways(&ncat, "-l", 720)
    }]);
}

/// `-N` sends the end at once, whatever came: a server that greets, then answers only after
/// our end (an empty stdin's end was held for its, once the greeting had come: for ever).
#[test]
fn n_sends_the_end_at_once_after_a_greeting() {
    let peer = Peer::spawn(|mut stream| {
        stream.write_all(b"220 hello\r\n").expect("the greeting");
        let request = read_to_eof(&mut stream, "the server");
        stream.write_all(b"221 bye\r\n").expect("the answer");
        request
    });
    let finished = tete(["-N", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Null)
        .run();
    assert_bytes_eq("the request", b"", &peer.join());
    finished.assert_success().assert_quiet();
    assert_bytes_eq(
        "what tete printed",
        b"220 hello\r\n221 bye\r\n",
        &finished.stdout,
    );
}

/// Two tetes with nothing to say, the window given to each as `args` (none: the default): each
/// holds its end of stream until the connection has been quiet for the window, then both end
/// by themselves with 0. Returns how long the client ran.
fn two_silent_tetes(args: &[&str], within: Duration) -> Duration {
    let (listener, addr) = start_listener(args, Input::Null, Output::Capture);
    let start = Instant::now();
    let port = addr.port().to_string();
    let mut all = args.to_vec();
    all.extend(["127.0.0.1", port.as_str()]);
    let client = tete(all).stdin(Input::Null).spawn().wait_within(within);
    let took = start.elapsed();
    client.assert_success().assert_quiet();
    listener.wait_within(within).assert_success();
    assert!(client.stdout.is_empty());
    took
}

fn two_tetes_with_empty_stdin_end_by_themselves() {
    let took = two_silent_tetes(&["--peer-timeout", "1"], TIMEOUT);
    assert_elapsed("the client", took, 0.9, PROMPTLY.as_secs_f64());
}

#[test]
#[ignore = "slow: the default quiet window, 30 s (its 1 s twin: the scenario above)"]
fn two_tetes_with_empty_stdin_end_by_themselves_at_the_defaults() {
    let took = two_silent_tetes(&[], Duration::from_secs(40));
    assert_elapsed("the client", took, 29.9, 30.0 + PROMPTLY.as_secs_f64());
}

/// A server that answers only after the request's end, and a request with no bytes at all
/// (stdin /dev/null): the held end of stream goes out after the quiet window, the answer comes
/// back and is printed, exit 0.
fn server_answering_after_an_empty_request() {
    let peer = Peer::spawn(|mut stream| {
        let start = Instant::now();
        let request = read_to_eof(&mut stream, "the server");
        let took = start.elapsed();
        stream.write_all(b"got nothing\n").expect("the answer");
        (request, took)
    });
    let finished = tete(["--peer-timeout", "1", "127.0.0.1", &peer.port().to_string()]).run();
    let (request, took) = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the request", b"", &request);
    assert_bytes_eq("what tete printed", b"got nothing\n", &finished.stdout);
    assert!(
        took >= Duration::from_millis(900),
        "the end of stream came after {took:?}, before the quiet window"
    );
}

/// `--peer-timeout 0`: nothing is concluded from silence, so an empty stdin's end waits for
/// the peer's; `-w` still ends an idle session: the client's end goes after a second, and the
/// listener, whose end was held for the client's, answers with its own.
fn without_a_window_only_the_peer_or_w_ends_it() {
    let (mut listener, addr) =
        start_listener(&["--peer-timeout", "0"], Input::Null, Output::Capture);
    let start = Instant::now();
    let client = tete(["-w", "1", "127.0.0.1", &addr.port().to_string()])
        .stdin(Input::Null)
        .run();
    client.assert_success();
    assert_elapsed(
        "the client with -w 1",
        start.elapsed(),
        0.9,
        PROMPTLY.as_secs_f64(),
    );
    listener.wait_for_stderr("peer closed");
    listener.wait().assert_success();
}
