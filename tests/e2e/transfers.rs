//! Byte-exact transfers over loopback, run for real: each way and both at once, every kind of
//! stdin (a file, a pipe, closed, sockets as under inetd), IPv6 and `localhost`. Both ends must
//! end by themselves with status 0, having printed exactly what the other sent.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::os::unix::net::UnixStream;
use std::thread;

use crate::harness::*;

/// The size of the "tens of MiB" transfers.
pub(crate) const BIG: usize = 32 * MIB;

/// Checks a listener's `-v` lines for a whole session that ended normally.
#[track_caller]
pub(crate) fn assert_listener_story(finished: &Finished, addr: SocketAddr, peer_ip: IpAddr) {
    let lines: Vec<&str> = finished.stderr.lines().collect();
    let story = format!("{}: stderr {:?}", finished.description, finished.stderr);
    assert_eq!(lines.len(), 4, "{story}");
    assert_eq!(lines[0], format!("tete: listening on {addr}"), "{story}");
    let from = lines[1]
        .strip_prefix("tete: connection from ")
        .unwrap_or_else(|| panic!("{story}"));
    let from: SocketAddr = from.parse().unwrap_or_else(|_| panic!("{story}"));
    assert_eq!(from.ip(), peer_ip, "{story}");
    assert_eq!(lines[2], "tete: peer closed", "{story}");
    assert!(lines[3].starts_with("tete: sent "), "{story}");
}

/// [`exchange`] on 127.0.0.1 and a port the OS picks.
pub(crate) fn exchange_on_loopback(
    dir: &TempDir,
    listener_stdin: Input,
    client_stdin: Input,
    to_listener: &[u8],
    to_client: &[u8],
) {
    exchange(
        dir,
        "127.0.0.1",
        0,
        "127.0.0.1",
        listener_stdin,
        client_stdin,
        to_listener,
        to_client,
    );
}

/// One session between `tete -v -l LISTEN_HOST PORT` (port 0: the OS picks) and `tete
/// CONNECT_HOST PORT`, each side's stdout a file: both must end by themselves with status 0,
/// having printed exactly what the other side sent. When both send, the client runs with
/// `-N`: a plain tete cannot tell another tete from nc or ncat, which stop sending at a FIN,
/// so each would hold its end for the other's (the man page's advice: `-N` on one side).
#[allow(clippy::too_many_arguments)]
fn exchange(
    dir: &TempDir,
    listen_host: &str,
    port: u16,
    connect_host: &str,
    listener_stdin: Input,
    client_stdin: Input,
    to_listener: &[u8],
    to_client: &[u8],
) {
    let listener_out = dir.join("listener.out");
    let client_out = dir.join("client.out");
    let (listener, addr) = start_listener_on(
        listen_host,
        port,
        &[],
        listener_stdin,
        Output::File(listener_out.clone()),
    );
    let port = addr.port().to_string();
    let both_send = !to_listener.is_empty() && !to_client.is_empty();
    let args = if both_send { vec!["-N"] } else { vec![] };
    let client = tete([&args[..], &[connect_host, &port]].concat())
        .stdin(client_stdin)
        .stdout(Output::File(client_out.clone()))
        .spawn();
    let client = client.wait();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_listener_story(&listener, addr, addr.ip());
    // -v's summary counts what reached stdout, whichever route the bytes took.
    let received = format!(", received {} bytes", to_listener.len());
    assert!(
        listener.stderr.contains(&received),
        "{}: no {received:?} in {:?}",
        listener.description,
        listener.stderr
    );
    assert_bytes_eq(
        "what the listener printed",
        to_listener,
        &dir.read(&listener_out),
    );
    assert_bytes_eq("what the client printed", to_client, &dir.read(&client_out));
}

// ---------------------------------------------------------------------------------------------
// Byte-exact transfers
// ---------------------------------------------------------------------------------------------

/// `tete -l P > out` + `tete 127.0.0.1 P < file`
#[test]
fn listener_receives_a_file() {
    let dir = TempDir::new("listener-receives");
    let (file, data) = dir.random_file("in", BIG, 1);
    let (listener, client) = (Input::Null, Input::File(file));
    exchange_on_loopback(&dir, listener, client, &data, b"");
}

/// `tete -l P < file` + `tete 127.0.0.1 P > out < /dev/null`
#[test]
fn listener_sends_a_file() {
    let dir = TempDir::new("listener-sends");
    let (file, data) = dir.random_file("in", BIG, 2);
    let (listener, client) = (Input::File(file), Input::Null);
    exchange_on_loopback(&dir, listener, client, b"", &data);
}

/// Both sides send a different file at the same time.
#[test]
fn both_directions_at_once() {
    let dir = TempDir::new("both-directions");
    let (up_file, up) = dir.random_file("up", BIG, 3);
    let (down_file, down) = dir.random_file("down", BIG, 4);
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    exchange_on_loopback(&dir, listener, client, &up, &down);
}

// ---------------------------------------------------------------------------------------------
// Kinds of stdin
// ---------------------------------------------------------------------------------------------

/// stdin a pipe, on both sides: `producer | tete ...`.
#[test]
fn stdin_pipe() {
    let dir = TempDir::new("stdin-pipe");
    let up = random_bytes(5, 4 * MIB + 123);
    let down = random_bytes(6, 4 * MIB + 321);
    let listener = Input::Bytes(down.clone());
    let client = Input::Bytes(up.clone());
    exchange_on_loopback(&dir, listener, client, &up, &down);
}

/// `tete 127.0.0.1 P <&-`: a closed stdin reads as an empty one.
#[test]
fn stdin_closed_on_the_client() {
    let dir = TempDir::new("stdin-closed-client");
    let (file, data) = dir.random_file("in", MIB, 7);
    let (listener, client) = (Input::File(file), Input::Closed);
    exchange_on_loopback(&dir, listener, client, b"", &data);
}

/// `tete -l P <&-`
#[test]
fn stdin_closed_on_the_listener() {
    let dir = TempDir::new("stdin-closed-listener");
    let (file, data) = dir.random_file("in", MIB, 8);
    let (listener, client) = (Input::Closed, Input::File(file));
    exchange_on_loopback(&dir, listener, client, &data, b"");
}

/// stdin and stdout sockets (as under inetd): the ordinary read/write path, byte-exact both
/// ways at once.
#[test]
fn stdio_sockets_transfer() {
    let dir = TempDir::new("stdio-sockets");
    let up = random_bytes(19, 8 * MIB + 5);
    let (down_file, down) = dir.random_file("down", 8 * MIB + 7, 20);
    let (mut feed, stdin) = UnixStream::pair().expect("socketpair");
    let (mut drain, stdout) = UnixStream::pair().expect("socketpair");
    let (listener, addr) = start_listener(&[], Input::Fd(stdin.into()), Output::Fd(stdout.into()));
    let sent_up = up.clone();
    let feeder = thread::spawn(move || {
        feed.write_all(&sent_up).expect("feeding stdin");
        feed.shutdown(Shutdown::Write).expect("stdin EOF");
        feed
    });
    let drain_thread = thread::spawn(move || {
        drain.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let mut received = Vec::new();
        drain.read_to_end(&mut received).map(|_| received)
    });
    // Both send: -N, as in exchange().
    let client = tete(["-N", "127.0.0.1", &addr.port().to_string()])
        .stdin(Input::File(down_file))
        .run();
    let listener = listener.wait();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_listener_story(&listener, addr, addr.ip());
    let received = drain_thread
        .join()
        .expect("drain")
        .expect("reading tete's stdout");
    drop(feeder.join().expect("feeder"));
    assert_bytes_eq("what the listener printed", &down, &received);
    assert_bytes_eq("what the client printed", &up, &client.stdout);
}

// ---------------------------------------------------------------------------------------------
// IPv6 and localhost
// ---------------------------------------------------------------------------------------------

#[test]
fn ipv6_loopback_transfer() {
    if !ipv6_available() {
        not_here("::1 is not available");
        return;
    }
    let dir = TempDir::new("ipv6");
    let (up_file, up) = dir.random_file("up", 4 * MIB, 15);
    let (down_file, down) = dir.random_file("down", 4 * MIB, 16);
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    exchange(&dir, "::1", 0, "::1", listener, client, &up, &down);
}

fn localhost_to(listen_ip: IpAddr) {
    let addresses = localhost_addresses();
    if !addresses.contains(&listen_ip) {
        not_here(&format!(
            "localhost does not stand for {listen_ip} ({addresses:?})"
        ));
        return;
    }
    if listen_ip.is_ipv6() && !ipv6_available() {
        not_here("::1 is not available");
        return;
    }
    let dir = TempDir::new("localhost");
    let (up_file, up) = dir.random_file("up", MIB, 17);
    let (down_file, down) = dir.random_file("down", MIB, 18);
    // Free on both families, so that whichever address tete tries first is not someone else's.
    let port = free_port_both();
    let (listener, client) = (Input::File(down_file), Input::File(up_file));
    let host = listen_ip.to_string();
    exchange(&dir, &host, port, "localhost", listener, client, &up, &down);
}

#[test]
fn localhost_reaches_an_ipv4_listener() {
    localhost_to(Ipv4Addr::LOCALHOST.into());
}

#[test]
fn localhost_reaches_an_ipv6_listener() {
    localhost_to(Ipv6Addr::LOCALHOST.into());
}
