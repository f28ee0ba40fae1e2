//! The quiet second: an empty stdin's end of stream (stdin /dev/null, nothing sent) is held
//! until the connection has been quiet both ways for a second, so that two tetes with nothing
//! to say, or a server that answers only after our end, still end by themselves.
//!
//! Issue 18 replaces this rule; its tests are here, in one place. Others lean on it without
//! testing it: scripts.rs's `keep_open_serves_peers_in_turn` and
//! `idle_with_keep_open_serves_the_next_peer` (a `-k` listener with stdin /dev/null ends each
//! session this way), and interop.rs's `nc_listener_to_tete_with_empty_stdin` and
//! `ncat_listener_to_tete_with_empty_stdin` (the rule waits for the quiet, so nc and ncat finish
//! sending before our end of stream reaches them).

use std::io::Write;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::transfers::exchange_on_loopback;

// ---------------------------------------------------------------------------------------------
// An empty stdin's end of stream, held
// ---------------------------------------------------------------------------------------------

/// stdin /dev/null on both sides: nothing to say, and both still end.
#[test]
fn stdin_dev_null_on_both_sides() {
    let dir = TempDir::new("stdin-null");
    exchange_on_loopback(&dir, Input::Null, Input::Null, b"", b"");
}

/// Two tetes that both have nothing to say (stdin /dev/null on both sides): each holds its end
/// of stream until the connection has been quiet for a moment, then both end by themselves.
#[test]
fn two_tetes_with_empty_stdin_end_by_themselves() {
    let (listener, addr) = start_listener(&[], Input::Null, Output::Capture);
    let start = Instant::now();
    let client = tete(["127.0.0.1", &addr.port().to_string()]).run();
    let took = start.elapsed();
    client.assert_success().assert_quiet();
    listener.wait().assert_success();
    assert_elapsed("the client", took, 0.9, PROMPTLY.as_secs_f64());
}

/// A server that answers only after the request's end, and a request with no bytes at all
/// (stdin /dev/null): the held end of stream goes out after the quiet moment, the answer
/// comes back and is printed.
#[test]
fn server_answering_after_an_empty_request() {
    let peer = Peer::spawn(|mut stream| {
        let start = Instant::now();
        let request = read_to_eof(&mut stream, "the server");
        let took = start.elapsed();
        stream.write_all(b"got nothing\n").expect("the answer");
        (request, took)
    });
    let finished = tete(["127.0.0.1", &peer.port().to_string()]).run();
    let (request, took) = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the request", b"", &request);
    assert_bytes_eq("what tete printed", b"got nothing\n", &finished.stdout);
    assert!(
        took >= Duration::from_millis(900),
        "the end of stream came after {took:?}, before the quiet moment"
    );
}
