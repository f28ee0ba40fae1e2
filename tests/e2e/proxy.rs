//! `-x`/`-X` against real proxies from the Debian archive, started by each test on loopback with
//! ports the test picks: microsocks (SOCKS5) and tinyproxy (HTTP CONNECT); ssh through tete as
//! its ProxyCommand to an sshd of the test's own; and a scripted SOCKS5 proxy where the test
//! must control the bytes (a name the proxy looks up, the destination's first bytes in the same
//! segment as the proxy's reply, a proxy that never answers).
//!
//! A test whose program is missing says `SKIPPED:` and passes, or fails under
//! `TETE_REQUIRE_PEERS=1` (`.ci/run` installs them all).
//!
//! Both proxies end the whole relay at the first end of stream from either side (no
//! half-close), as many proxies do: a FIN from tete after its input would cut off the reply
//! still on its way. So through a proxy tete holds its end of stream until the peer ends or
//! the connection is quiet, and the password mode ends in its CLOSE record, never with a FIN:
//! every test here runs with the default options.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;

/// `program ARGS...` started as a server on 127.0.0.1:`port`, once it listens there.
fn start_server(dir: &TempDir, program: &Path, args: &[&str], port: u16) -> Process {
    let mut server = Process::spawn(dir, program, args, None, None);
    wait_listening_on(&mut server, port);
    server
}

/// microsocks on a free loopback port, with `extra` arguments (`-u user -P password`).
fn microsocks(dir: &TempDir, extra: &[&str]) -> Option<(Process, u16)> {
    let path = program_or_skip("microsocks", "microsocks")?;
    let port = free_port();
    let port_arg = port.to_string();
    let mut args = vec!["-i", "127.0.0.1", "-p", &port_arg];
    args.extend_from_slice(extra);
    Some((start_server(dir, &path, &args, port), port))
}

/// tinyproxy in the foreground on a free loopback port, allowing CONNECT to `connect_port`
/// only; its configuration, pid file and log stay in `dir`.
fn tinyproxy(dir: &TempDir, connect_port: u16) -> Option<(Process, u16)> {
    let path = program_or_skip("tinyproxy", "tinyproxy")?;
    let port = free_port();
    let config = dir.file(
        "tinyproxy.conf",
        format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\n\
             ConnectPort {connect_port}\nPidFile \"{}\"\n",
            dir.join("tinyproxy.pid").display()
        )
        .as_bytes(),
    );
    let config = config.to_str().expect("a UTF-8 path");
    Some((start_server(dir, &path, &["-d", "-c", config], port), port))
}

/// The destination: takes the `expected` bytes tete sends while sending `reply` at the same
/// time, then closes; `join` gives what it received.
fn destination(reply: Vec<u8>, expected: usize) -> Peer<Vec<u8>> {
    Peer::spawn(move |mut stream| {
        let mut writer = stream.try_clone().expect("dup the stream");
        let sender = thread::spawn(move || writer.write_all(&reply).expect("destination sending"));
        let mut received = vec![0; expected];
        stream
            .read_exact(&mut received)
            .expect("the destination reading");
        sender.join().expect("the destination's sender");
        received
    })
}

/// Sends a file one way and other bytes the other way through `proxy_args`, byte-exact.
fn transfer_through(
    proxy_args: &[&str],
    up: &[u8],
    up_file: PathBuf,
    peer: Peer<Vec<u8>>,
    down: &[u8],
) {
    let mut args = proxy_args.to_vec();
    let port = peer.port().to_string();
    args.extend_from_slice(&["127.0.0.1", &port]);
    let finished = tete(&args).stdin(Input::File(up_file)).run();
    let received = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the destination received", up, &received);
    assert_bytes_eq("what tete received", down, &finished.stdout);
}

#[test]
fn socks5_transfer_both_ways_is_byte_exact() {
    let dir = TempDir::new("socks5-transfer");
    let Some((_proxy, proxy_port)) = microsocks(&dir, &[]) else {
        return;
    };
    let (up_file, up) = dir.random_file("up", 2 * MIB, 1);
    let down = random_bytes(2, 3 * MIB / 2);
    let peer = destination(down.clone(), up.len());
    let proxy = format!("127.0.0.1:{proxy_port}");
    transfer_through(&["-X", "5", "-x", &proxy], &up, up_file, peer, &down);
}

#[test]
fn http_connect_transfer_both_ways_is_byte_exact() {
    let dir = TempDir::new("http-transfer");
    let (up_file, up) = dir.random_file("up", 2 * MIB, 1);
    let down = random_bytes(3, 3 * MIB / 2);
    let peer = destination(down.clone(), up.len());
    let Some((_proxy, proxy_port)) = tinyproxy(&dir, peer.port()) else {
        return;
    };
    let proxy = format!("127.0.0.1:{proxy_port}");
    transfer_through(&["-X", "connect", "-x", &proxy], &up, up_file, peer, &down);
}

#[test]
fn socks5_with_credentials_from_the_environment() {
    let dir = TempDir::new("socks5-auth");
    let Some((_proxy, proxy_port)) = microsocks(&dir, &["-u", "alice", "-P", "s3cret:x"]) else {
        return;
    };
    let proxy = format!("127.0.0.1:{proxy_port}");
    let peer = destination(b"welcome\n".to_vec(), 6);
    let port = peer.port().to_string();
    let finished = tete(["-x", &proxy, "127.0.0.1", &port])
        .env("TETE_PROXY_AUTH", "alice:s3cret:x")
        .stdin(Input::Bytes(b"hello\n".to_vec()))
        .run();
    assert_eq!(peer.join(), b"hello\n");
    finished.assert_success().assert_quiet();
    assert_eq!(finished.stdout, b"welcome\n");

    // Wrong credentials, and none at all: one line each, naming the proxy, exit 1.
    let closed = free_port().to_string();
    for (auth, says) in [
        (
            Some("alice:wrong"),
            "rejected the credentials in TETE_PROXY_AUTH",
        ),
        (None, "requires authentication"),
    ] {
        let mut command = tete(["-x", &proxy, "127.0.0.1", &closed]);
        if let Some(auth) = auth {
            command = command.env("TETE_PROXY_AUTH", auth);
        }
        let finished = command.run();
        finished.assert_code(1);
        let line = finished.error_line();
        assert!(
            line.contains(&format!("SOCKS5 proxy {proxy}")) && line.contains(says),
            "{line}"
        );
    }
}

#[test]
fn unreachable_destination_is_reported_naming_the_proxy_and_its_reply() {
    let dir = TempDir::new("unreachable");
    let closed = free_port();
    if let Some((_proxy, proxy_port)) = microsocks(&dir, &[]) {
        let proxy = format!("127.0.0.1:{proxy_port}");
        let finished = tete(["-x", &proxy, "127.0.0.1", &closed.to_string()]).run();
        finished.assert_code(1);
        assert_eq!(
            finished.error_line(),
            format!("tete: SOCKS5 proxy {proxy} refused: connection refused (reply code 5)")
        );
    }
    if let Some((_proxy, proxy_port)) = tinyproxy(&dir, closed) {
        let proxy = format!("127.0.0.1:{proxy_port}");
        let finished = tete([
            "-X",
            "connect",
            "-x",
            &proxy,
            "127.0.0.1",
            &closed.to_string(),
        ])
        .run();
        finished.assert_code(1);
        let line = finished.error_line();
        assert!(
            line.starts_with(&format!("tete: HTTP proxy {proxy} refused: HTTP/1.")),
            "{line}"
        );
        assert!(line.contains(" 500 "), "{line}");
    }
}

/// The secure channel runs end to end through each proxy with the default options, both ways
/// at once: the handshake, the records and the authenticated ends. Neither side sends a FIN
/// after its CLOSE record (which would end the proxy's whole relay before the other side's
/// records crossed it); the connection closes when both ends are done.
#[test]
fn password_mode_through_proxies() {
    let dir = TempDir::new("password-proxies");
    let (client_file, client_data) = dir.random_file("client", 2 * MIB, 5);
    let (listener_file, listener_data) = dir.random_file("listener", MIB + 3, 6);
    for kind in ["5", "connect"] {
        let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
            .password("correct horse")
            .stdin(Input::File(listener_file.clone()))
            .spawn();
        let port = listener.wait_listening().port();
        let proxy = if kind == "5" {
            microsocks(&dir, &[])
        } else {
            tinyproxy(&dir, port)
        };
        let Some((_proxy, proxy_port)) = proxy else {
            return;
        };
        let proxy = format!("127.0.0.1:{proxy_port}");
        let client = tete(["-X", kind, "-x", &proxy, "127.0.0.1", &port.to_string()])
            .password("correct horse")
            .stdin(Input::File(client_file.clone()))
            .run();
        let listener = listener.wait();
        client.assert_success().assert_quiet();
        listener.assert_success();
        assert!(
            listener.stderr.contains("secure channel up"),
            "{}",
            listener.stderr
        );
        assert_bytes_eq("what the listener received", &client_data, &listener.stdout);
        assert_bytes_eq("what the client received", &listener_data, &client.stdout);
    }
}

/// A request through each proxy, answered and then closed by the destination as an HTTP/1.0
/// server does: the reply arrives. Sent at once after the request, tete's FIN ended both
/// proxies' relays before the reply crossed them (nothing printed, exit 0).
#[test]
fn a_request_through_a_proxy_gets_its_reply() {
    let dir = TempDir::new("proxy-request");
    for kind in ["5", "connect"] {
        let server = Peer::spawn(|mut stream| {
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).expect("the request");
                request.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.0 200 OK\r\n\r\nhello through the proxy\n")
                .expect("the reply");
            request
        });
        let proxy = if kind == "5" {
            microsocks(&dir, &[])
        } else {
            tinyproxy(&dir, server.port())
        };
        let Some((_proxy, proxy_port)) = proxy else {
            return;
        };
        let proxy = format!("127.0.0.1:{proxy_port}");
        let port = server.port().to_string();
        let finished = tete(["-X", kind, "-x", &proxy, "127.0.0.1", &port])
            .stdin(Input::Bytes(b"GET / HTTP/1.0\r\n\r\n".to_vec()))
            .run();
        assert_eq!(server.join(), b"GET / HTTP/1.0\r\n\r\n");
        finished.assert_success().assert_quiet();
        assert_bytes_eq(
            &format!("the reply through -X {kind}"),
            b"HTTP/1.0 200 OK\r\n\r\nhello through the proxy\n",
            &finished.stdout,
        );
    }
}

/// ssh reaches an sshd of the test's own through `tete -X 5 -x PROXY %h %p` and runs a command.
#[test]
fn ssh_proxy_command_through_socks5() {
    let dir = TempDir::new("ssh");
    let (Some(sshd), Some(ssh), Some(keygen)) = (
        program_or_skip("sshd", "openssh-server"),
        program_or_skip("ssh", "openssh-client"),
        program_or_skip("ssh-keygen", "openssh-client"),
    ) else {
        return;
    };
    // sshd insists on its privilege separation directory (systemd makes it at boot).
    if !rustix::process::geteuid().is_root() {
        skip::<()>("not root: sshd needs root (CI runs as root)");
        return;
    }
    fs::create_dir_all("/run/sshd").expect("making /run/sshd");
    let Some((_proxy, proxy_port)) = microsocks(&dir, &[]) else {
        return;
    };
    for key in ["host_key", "client_key"] {
        let status = Command::new(&keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .status()
            .expect("running ssh-keygen");
        assert!(status.success(), "ssh-keygen {key}: {status}");
    }
    let authorized = dir.join("authorized_keys");
    fs::copy(dir.join("client_key.pub"), &authorized).expect("authorized_keys");
    let port = free_port();
    let path = |name: &str| dir.join(name).display().to_string();
    let config = dir.file(
        "sshd_config",
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nUsePAM no\nPidFile {}\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
            path("host_key"),
            authorized.display(),
            path("sshd.pid"),
        )
        .as_bytes(),
    );
    let config = config.to_str().expect("a UTF-8 path");
    let sshd = start_server(&dir, &sshd, &["-D", "-e", "-f", config], port);

    let proxy_command = format!("ProxyCommand={TETE} -X 5 -x 127.0.0.1:{proxy_port} %h %p");
    let output = Command::new(ssh)
        .args(["-o", &proxy_command])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "BatchMode=yes"])
        .arg("-i")
        .arg(dir.join("client_key"))
        .args(["-p", &port.to_string(), "root@127.0.0.1", "echo", "hello"])
        .stdin(Stdio::null())
        .output()
        .expect("running ssh");
    assert!(
        output.status.success() && output.stdout == b"hello\n",
        "ssh through tete: {:?}, stdout {:?}, stderr {:?}, sshd: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        sshd.log()
    );
}

/// Reads exactly `len` bytes of the SOCKS5 exchange.
fn read_n(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    stream.read_exact(&mut buf).expect("reading tete's request");
    buf
}

/// A scripted SOCKS5 proxy: the destination is a name that resolves nowhere (`.invalid`), so
/// tete must hand it over unresolved (ATYP 3); the reply and the destination's first bytes
/// leave in one write, so they arrive together and tete must give the session those bytes.
#[test]
fn socks5_hands_over_the_name_and_keeps_bytes_behind_the_reply() {
    let name = "db.internal.invalid";
    let proxy = Peer::spawn(move |mut stream| {
        assert_eq!(read_n(&mut stream, 3), [5, 1, 0], "the greeting");
        stream.write_all(&[5, 0]).expect("method");
        let mut expected = vec![5, 1, 0, 3, name.len() as u8];
        expected.extend_from_slice(name.as_bytes());
        expected.extend_from_slice(&5432u16.to_be_bytes());
        assert_eq!(read_n(&mut stream, expected.len()), expected, "the request");
        let mut reply = vec![5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];
        reply.extend_from_slice(b"SERVER FIRST\n");
        stream.write_all(&reply).expect("reply and first bytes");
        let received = read_to_eof(&mut stream, "the proxy");
        stream.write_all(b"bye\n").expect("last bytes");
        received
    });
    let proxy_address = format!("127.0.0.1:{}", proxy.port());
    // -n: no name lookups here; the destination's name is the proxy's business.
    let finished = tete(["-n", "-x", &proxy_address, name, "5432"])
        .stdin(Input::Bytes(b"client\n".to_vec()))
        .run();
    assert_eq!(proxy.join(), b"client\n");
    finished.assert_success().assert_quiet();
    assert_eq!(finished.stdout, b"SERVER FIRST\nbye\n");
}

/// A proxy that accepts and never answers (a SOCKS5 greeting to an HTTP proxy) is given up on
/// at -w, with a line naming it.
#[test]
fn a_silent_proxy_is_given_up_at_w() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let holder = thread::spawn(move || {
        let mut stream = accept_within(&listener, TIMEOUT);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        sink
    });
    let started = Instant::now();
    let finished = tete(["-w", "1", "-x", &proxy, "example.org", "22"]).run();
    let elapsed = started.elapsed();
    finished.assert_code(1);
    assert_eq!(
        finished.error_line(),
        format!("tete: SOCKS5 proxy {proxy} did not reply in time (-w 1)")
    );
    assert!(
        elapsed >= Duration::from_secs(1),
        "gave up after {elapsed:?}, before -w"
    );
    // The greeting went out, and nothing after it.
    assert_eq!(holder.join().expect("the holder"), [5, 1, 0]);
}

/// The proxy options on the command line: where they make no sense, a usage error.
#[test]
fn proxy_usage_errors() {
    assert_usage_errors(&[
        (vec!["-l", "-x", "127.0.0.1", "1"], Some("-x")),
        (vec!["-z", "-x", "127.0.0.1", "h", "1"], Some("proxy")),
        (vec!["-X", "5", "h", "1"], Some("-X needs -x")),
        (
            vec!["-X", "http", "-x", "p", "h", "1"],
            Some("4, 5 or connect"),
        ),
        (vec!["-x", "::1", "h", "1"], Some("brackets")),
        (
            vec!["--proxy-auth", "u:p", "h", "1"],
            Some("TETE_PROXY_AUTH"),
        ),
    ]);
    let finished = tete(["-x", "127.0.0.1", "h", "1"])
        .env("TETE_PROXY_AUTH", "nocolon")
        .run();
    finished.assert_code(2);
    assert!(finished.error_line().contains("TETE_PROXY_AUTH"));
    // SOCKS4 cannot name an IPv6 destination: said before connecting anywhere.
    let finished = tete(["-X", "4", "-x", "127.0.0.1:1", "::1", "22"]).run();
    finished.assert_code(1);
    assert!(
        finished
            .error_line()
            .contains("SOCKS4 cannot reach an IPv6 address"),
        "{}",
        finished.stderr
    );
}

/// No proxy where -x points: the line names the proxy, not the destination.
#[test]
fn a_proxy_that_is_not_there_is_named() {
    let proxy = format!("127.0.0.1:{}", free_port());
    let finished = tete(["-X", "connect", "-x", &proxy, "example.org", "443"]).run();
    finished.assert_code(1);
    assert_eq!(
        finished.error_line(),
        format!("tete: cannot connect to HTTP proxy {proxy}: connection refused")
    );
}

/// TETE_PROXY_AUTH is read once and wiped, as TETE_PASSWORD is: `/proc/PID/environ` no longer
/// holds it while tete talks to the proxy.
#[test]
fn the_environment_no_longer_shows_the_proxy_credentials() {
    const SECRET: &str = "hunter2-proxy-7d3a";
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy = format!("127.0.0.1:{}", silent.local_addr().expect("addr").port());
    let running = tete(["-x", &proxy, "example.org", "22"])
        .env("TETE_PROXY_AUTH", format!("alice:{SECRET}"))
        .spawn();
    // Accepted: tete is past reading its environment, waiting for the proxy's answer.
    let _connection = accept_within(&silent, TIMEOUT);
    let environ = fs::read(format!("/proc/{}/environ", running.pid())).expect("reading environ");
    let environ = String::from_utf8_lossy(&environ);
    assert!(environ.contains("PATH="), "not an environment: {environ:?}");
    assert!(
        !environ.contains(SECRET),
        "/proc/PID/environ shows the proxy password"
    );
}
