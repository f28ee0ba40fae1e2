//! tete against real programs that nobody here wrote, each started by the test on loopback:
//! python3's http.server, curl, redis-server, OpenBSD nc, ncat and socat. A test whose program
//! is not installed says so (`SKIPPED: ...`) and passes, or fails under `TETE_REQUIRE_PEERS=1`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::harness::*;

/// The size of the byte-exact transfers with the netcats.
const TRANSFER: usize = 4 * MIB + 321;

// ---------------------------------------------------------------------------------------------
// HTTP: python3's http.server and curl
// ---------------------------------------------------------------------------------------------

/// `printf 'GET /file HTTP/1.0\r\n\r\n' | tete 127.0.0.1 PORT` against python3's http.server.
#[test]
fn http_server_answers_through_tete() {
    let Some(python) = program_or_skip("python3", "python3") else {
        return;
    };
    let dir = TempDir::new("http-server");
    let root = dir.join("root");
    fs::create_dir(&root).expect("the served directory");
    let body = random_bytes(200, MIB + 17);
    fs::write(root.join("file"), &body).expect("the served file");
    // Port 0: the OS picks a free port, and the server says which ("Serving HTTP on
    // 127.0.0.1 port N ..."), unbuffered with -u.
    let said = dir.join("server.out");
    let mut server = Process::spawn(
        &dir,
        &python,
        &[
            "-u",
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "0",
            "--directory",
            root.to_str().expect("a UTF-8 path"),
        ],
        None,
        Some(&said),
    );
    let mut port_arg = String::new();
    wait_until("python3's http.server saying its port", TIMEOUT, || {
        server.assert_running();
        let text = fs::read_to_string(&said).unwrap_or_default();
        port_arg = text
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        !port_arg.is_empty()
    });

    let finished = tete(["127.0.0.1", &port_arg])
        .stdin(Input::Bytes(b"GET /file HTTP/1.0\r\n\r\n".to_vec()))
        .run();
    finished.assert_success().assert_quiet();
    let response = &finished.stdout;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no end of headers in {:?}",
                String::from_utf8_lossy(&response[..response.len().min(500)])
            )
        });
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status_line = head.lines().next().unwrap_or_default();
    assert!(
        status_line.starts_with("HTTP/1.0 200") || status_line.starts_with("HTTP/1.1 200"),
        "not a 200 response: {head:?}"
    );
    assert!(
        head.lines().any(|line| line
            .to_ascii_lowercase()
            .strip_prefix("content-length:")
            .is_some_and(|len| len.trim() == body.len().to_string())),
        "no Content-Length: {} in {head:?}",
        body.len()
    );
    assert_bytes_eq("the response body", &body, &response[head_end + 4..]);
}

/// curl as the client of `tete -l` serving a canned response from stdin.
#[test]
fn curl_fetches_from_tete() {
    let Some(curl) = program_or_skip("curl", "curl") else {
        return;
    };
    let dir = TempDir::new("curl");
    let body = random_bytes(201, 256 * KIB + 3);
    let mut response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .stdin(Input::Bytes(response))
        .spawn();
    let addr = listener.wait_listening();
    let out = dir.join("body");
    let url = format!("http://{addr}/");
    // -q: no ~/.curlrc; --noproxy: no proxy from the environment.
    let mut client = Process::spawn(
        &dir,
        &curl,
        &[
            "-q",
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "20",
            "-o",
            out.to_str().expect("a UTF-8 path"),
            &url,
        ],
        None,
        None,
    );
    client.wait_success();
    let finished = listener.wait();
    finished.assert_success();
    assert_bytes_eq("what curl saved", &body, &dir.read(&out));
    let request = String::from_utf8_lossy(&finished.stdout);
    assert!(
        request.starts_with("GET / HTTP/1."),
        "{}: curl's request line missing from stdout: {request:?}",
        finished.description
    );
    assert!(
        request.contains(&format!("\r\nHost: {addr}\r\n")) && request.ends_with("\r\n\r\n"),
        "{}: not curl's whole request: {request:?}",
        finished.description
    );
}

// ---------------------------------------------------------------------------------------------
// redis-server
// ---------------------------------------------------------------------------------------------

/// A redis-server of the test's own on 127.0.0.1, saving nothing.
fn start_redis(dir: &TempDir, redis: &Path) -> (Process, String) {
    let port = free_port();
    let port_arg = port.to_string();
    let mut server = Process::spawn(
        dir,
        redis,
        &[
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.path().to_str().expect("a UTF-8 path"),
        ],
        None,
        None,
    );
    wait_listening_on(&mut server, port);
    (server, port_arg)
}

/// `tete 127.0.0.1 PORT < request` → `+PONG\r\n`, and `-C` with a bare LF. The requests come
/// from files, so stdin's end is read with the request, before any answer can come. Fed through a
/// pipe whose writer closes it late (a loaded machine, once in ten runs), `+PONG` can come first,
/// and then the FIN rightly waits for redis's end: `redis_with_a_slow_producer_takes_n`.
#[test]
fn redis_ping() {
    let Some(redis) = program_or_skip("redis-server", "redis-server") else {
        return;
    };
    let dir = TempDir::new("redis-ping");
    let (mut server, port) = start_redis(&dir, &redis);
    for (args, input) in [(&[][..], &b"PING\r\n"[..]), (&["-C"][..], b"PING\n")] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["127.0.0.1", &port]);
        let request = dir.file(&format!("request{}", args.len()), input);
        let finished = tete(&all).stdin(Input::File(request)).run();
        finished.assert_success().assert_quiet();
        assert_bytes_eq(&finished.description, b"+PONG\r\n", &finished.stdout);
    }
    server.assert_running();
}

/// A SET and, in another connection, a GET of a value holding CR LF (from files, as above).
#[test]
fn redis_set_get() {
    let Some(redis) = program_or_skip("redis-server", "redis-server") else {
        return;
    };
    let dir = TempDir::new("redis-set-get");
    let (mut server, port) = start_redis(&dir, &redis);
    let set = b"*3\r\n$3\r\nSET\r\n$8\r\ntete:key\r\n$8\r\nva\r\nl\x00ue\r\n".to_vec();
    let set = dir.file("set", &set);
    let finished = tete(["127.0.0.1", &port]).stdin(Input::File(set)).run();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("the answer to SET", b"+OK\r\n", &finished.stdout);

    let get = b"*2\r\n$3\r\nGET\r\n$8\r\ntete:key\r\n".to_vec();
    let get = dir.file("get", &get);
    let finished = tete(["127.0.0.1", &port]).stdin(Input::File(get)).run();
    finished.assert_success().assert_quiet();
    assert_bytes_eq(
        "the answer to GET",
        b"$8\r\nva\r\nl\x00ue\r\n",
        &finished.stdout,
    );
    server.assert_running();
}

/// A producer slower than redis's answer: PING, and stdin ends only once `+PONG` has come. The
/// FIN then waits for redis's end, which waits for ours: at a terminal tete says so once,
/// naming `-N`, and waits; with `-N` the FIN goes at once and tete ends with 0.
#[test]
fn redis_with_a_slow_producer_takes_n() {
    let Some(redis) = program_or_skip("redis-server", "redis-server") else {
        return;
    };
    let dir = TempDir::new("redis-slow-producer");
    let (mut server, port) = start_redis(&dir, &redis);
    let ping = |args: &[&str], stderr: Output| {
        let out = dir.join(&format!("out{}", args.len()));
        let mut running = tete([args, &["127.0.0.1", &port]].concat())
            .stdin(Input::Pipe)
            .stdout(Output::File(out.clone()))
            .stderr(stderr)
            .spawn();
        let mut stdin = running.take_stdin();
        stdin.write_all(b"PING\r\n").expect("the request");
        wait_until("+PONG", TIMEOUT, || {
            fs::read(&out).is_ok_and(|o| o == b"+PONG\r\n")
        });
        drop(stdin);
        running
    };
    let pty = Pty::open();
    let mut held = ping(&[], Output::Fd(pty.slave_fd()));
    pty.wait_for_output("-N closes ours at once");
    held.assert_running("waiting for redis's end");
    held.kill();
    ping(&["-N"], Output::Capture)
        .wait()
        .assert_success()
        .assert_quiet();
    server.assert_running();
}

// ---------------------------------------------------------------------------------------------
// The netcats: OpenBSD nc, ncat, socat, in both directions and both roles
// ---------------------------------------------------------------------------------------------

/// One way to run another netcat: its arguments, and its stdin and stdout.
struct PeerRun {
    args: Vec<String>,
    stdin: Option<PathBuf>,
    stdout: Option<PathBuf>,
}

impl PeerRun {
    fn new(args: &[&str]) -> PeerRun {
        PeerRun {
            args: args.iter().map(|arg| arg.to_string()).collect(),
            stdin: None,
            stdout: None,
        }
    }

    fn stdin(mut self, path: &Path) -> PeerRun {
        self.stdin = Some(path.to_path_buf());
        self
    }

    fn stdout(mut self, path: &Path) -> PeerRun {
        self.stdout = Some(path.to_path_buf());
        self
    }

    fn spawn(&self, dir: &TempDir, program: &Path) -> Process {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Process::spawn(
            dir,
            program,
            &args,
            self.stdin.as_deref(),
            self.stdout.as_deref(),
        )
    }
}

/// Who listens, and which way the bytes go.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// The other program listens and receives; `tete HOST PORT < file`.
    PeerListensAndReceives,
    /// The other program listens and sends; `tete HOST PORT > out < /dev/null`.
    PeerListensAndSends,
    /// `tete -l PORT < file`; the other program connects and receives.
    TeteListensAndSends,
    /// `tete -l PORT > out < /dev/null`; the other program connects and sends.
    TeteListensAndReceives,
}

/// How one netcat takes part in each case.
trait Netcat {
    /// `program PORT`: listen on 127.0.0.1 port `port`, write what arrives to `out`.
    fn listen_receive(&self, port: &str, out: &Path) -> PeerRun;
    /// Listen on 127.0.0.1 port `port`, send `file`.
    fn listen_send(&self, port: &str, file: &Path) -> PeerRun;
    /// Connect to 127.0.0.1 port `port`, write what arrives to `out`.
    fn connect_receive(&self, port: &str, out: &Path) -> PeerRun;
    /// Connect to 127.0.0.1 port `port`, send `file`.
    fn connect_send(&self, port: &str, file: &Path) -> PeerRun;
    /// tete's extra options when connecting to `listen_send`.
    fn tete_receiving_options(&self) -> &'static [&'static str] {
        &[]
    }
}

/// OpenBSD nc. `-N` sends a FIN at the end of stdin. A listening nc that sends stops sending
/// as soon as it reads the peer's end of stream (even nc talking to nc loses data so), so tete
/// receives from it with `--no-shutdown`, the man page's answer for peers that take a FIN as an
/// abort.
struct OpenBsdNc;

impl Netcat for OpenBsdNc {
    fn listen_receive(&self, port: &str, out: &Path) -> PeerRun {
        PeerRun::new(&["-l", "127.0.0.1", port]).stdout(out)
    }
    fn listen_send(&self, port: &str, file: &Path) -> PeerRun {
        PeerRun::new(&["-N", "-l", "127.0.0.1", port]).stdin(file)
    }
    fn connect_receive(&self, port: &str, out: &Path) -> PeerRun {
        PeerRun::new(&["-N", "127.0.0.1", port]).stdout(out)
    }
    fn connect_send(&self, port: &str, file: &Path) -> PeerRun {
        PeerRun::new(&["-N", "127.0.0.1", port]).stdin(file)
    }
    fn tete_receiving_options(&self) -> &'static [&'static str] {
        &["--no-shutdown"]
    }
}

/// Nmap's ncat, with `--recv-only` and `--send-only`.
struct Ncat;

impl Netcat for Ncat {
    fn listen_receive(&self, port: &str, out: &Path) -> PeerRun {
        PeerRun::new(&["-l", "127.0.0.1", port, "--recv-only"]).stdout(out)
    }
    fn listen_send(&self, port: &str, file: &Path) -> PeerRun {
        PeerRun::new(&["-l", "127.0.0.1", port, "--send-only"]).stdin(file)
    }
    fn connect_receive(&self, port: &str, out: &Path) -> PeerRun {
        PeerRun::new(&["--recv-only", "127.0.0.1", port]).stdout(out)
    }
    fn connect_send(&self, port: &str, file: &Path) -> PeerRun {
        PeerRun::new(&["--send-only", "127.0.0.1", port]).stdin(file)
    }
}

/// socat, one way (`-u`), between a file and a TCP address.
struct Socat;

fn path_arg(kind: &str, path: &Path) -> String {
    format!("{kind}:{}", path.to_str().expect("a UTF-8 path"))
}

fn tcp_listen(port: &str) -> String {
    format!("TCP-LISTEN:{port},reuseaddr,bind=127.0.0.1")
}

impl Netcat for Socat {
    fn listen_receive(&self, port: &str, out: &Path) -> PeerRun {
        PeerRun::new(&["-u", &tcp_listen(port), &path_arg("CREATE", out)])
    }
    fn listen_send(&self, port: &str, file: &Path) -> PeerRun {
        PeerRun::new(&["-u", &path_arg("OPEN", file), &tcp_listen(port)])
    }
    fn connect_receive(&self, port: &str, out: &Path) -> PeerRun {
        let tcp = format!("TCP:127.0.0.1:{port}");
        PeerRun::new(&["-u", &tcp, &path_arg("CREATE", out)])
    }
    fn connect_send(&self, port: &str, file: &Path) -> PeerRun {
        let tcp = format!("TCP:127.0.0.1:{port}");
        PeerRun::new(&["-u", &path_arg("OPEN", file), &tcp])
    }
}

/// One transfer of [`TRANSFER`] random bytes between tete and `program`, as `case` says: both
/// must end by themselves with status 0, and the bytes must arrive exactly.
fn transfer(program: &Path, netcat: &dyn Netcat, case: Case, seed: u64) {
    let dir = TempDir::new(&format!("{case:?}"));
    let (file, data) = dir.random_file("in", TRANSFER, seed);
    let out = dir.join("out");
    let port = free_port();
    let port_arg = port.to_string();
    let port_arg = port_arg.as_str();
    match case {
        Case::PeerListensAndReceives | Case::PeerListensAndSends => {
            let (run, mut args, stdin, stdout) = match case {
                Case::PeerListensAndReceives => (
                    netcat.listen_receive(port_arg, &out),
                    vec![],
                    Input::File(file.clone()),
                    Output::Null,
                ),
                _ => (
                    netcat.listen_send(port_arg, &file),
                    netcat.tete_receiving_options().to_vec(),
                    Input::Null,
                    Output::File(out.clone()),
                ),
            };
            let mut peer = run.spawn(&dir, program);
            wait_listening_on(&mut peer, port);
            args.extend_from_slice(&["127.0.0.1", port_arg]);
            let finished = tete(&args).stdin(stdin).stdout(stdout).run();
            peer.wait_success();
            finished.assert_success().assert_quiet();
        }
        Case::TeteListensAndSends | Case::TeteListensAndReceives => {
            let (stdin, stdout) = match case {
                Case::TeteListensAndSends => (Input::File(file.clone()), Output::Null),
                _ => (Input::Null, Output::File(out.clone())),
            };
            let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
                .stdin(stdin)
                .stdout(stdout)
                .spawn();
            let port_arg = listener.wait_listening().port().to_string();
            let port_arg = port_arg.as_str();
            let run = match case {
                Case::TeteListensAndSends => netcat.connect_receive(port_arg, &out),
                _ => netcat.connect_send(port_arg, &file),
            };
            let mut peer = run.spawn(&dir, program);
            peer.wait_success();
            listener.wait().assert_success();
        }
    }
    assert_bytes_eq(&format!("{case:?}: what arrived"), &data, &dir.read(&out));
}

macro_rules! netcat_tests {
    ($($name:ident: $find:expr, $netcat:expr, $case:expr, $seed:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let Some(program) = $find else {
                    return;
                };
                transfer(&program, &$netcat, $case, $seed);
            }
        )*
    };
}

netcat_tests! {
    nc_listens_tete_sends: openbsd_nc_or_skip(), OpenBsdNc, Case::PeerListensAndReceives, 300;
    nc_listens_tete_receives: openbsd_nc_or_skip(), OpenBsdNc, Case::PeerListensAndSends, 301;
    tete_listens_nc_receives: openbsd_nc_or_skip(), OpenBsdNc, Case::TeteListensAndSends, 302;
    tete_listens_nc_sends: openbsd_nc_or_skip(), OpenBsdNc, Case::TeteListensAndReceives, 303;
    ncat_listens_tete_sends: program_or_skip("ncat", "ncat"), Ncat, Case::PeerListensAndReceives, 310;
    ncat_listens_tete_receives: program_or_skip("ncat", "ncat"), Ncat, Case::PeerListensAndSends, 311;
    tete_listens_ncat_receives: program_or_skip("ncat", "ncat"), Ncat, Case::TeteListensAndSends, 312;
    tete_listens_ncat_sends: program_or_skip("ncat", "ncat"), Ncat, Case::TeteListensAndReceives, 313;
    socat_listens_tete_sends: program_or_skip("socat", "socat"), Socat, Case::PeerListensAndReceives, 320;
    socat_listens_tete_receives: program_or_skip("socat", "socat"), Socat, Case::PeerListensAndSends, 321;
    tete_listens_socat_receives: program_or_skip("socat", "socat"), Socat, Case::TeteListensAndSends, 322;
    tete_listens_socat_sends: program_or_skip("socat", "socat"), Socat, Case::TeteListensAndReceives, 323;
}

// ---------------------------------------------------------------------------------------------
// The recipes people type, with the other netcats in their default modes
// ---------------------------------------------------------------------------------------------

/// The size of the default-mode transfers: large enough that an early end of stream from tete
/// (which makes nc and ncat stop sending) would show as a short copy.
const LARGE: usize = 64 * MIB;

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut file = File::open(path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    std::io::copy(&mut file, &mut hasher).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    format!("{:x}", hasher.finalize())
}

#[track_caller]
fn assert_same_file(what: &str, expected: &Path, actual: &Path) {
    let size = fs::metadata(actual).map_or(0, |meta| meta.len());
    assert_eq!(
        sha256_of(expected),
        sha256_of(actual),
        "{what}: the copy differs from the original ({size} of {LARGE} bytes arrived)"
    );
}

/// `PROGRAM -l 127.0.0.1 PORT < file` in its default mode, received by `tete ARGS 127.0.0.1
/// PORT > copy < /dev/null`: the whole file arrives, and both end by themselves with 0.
fn receive_from_default_listener(program: &Path, tete_args: &[&str], seed: u64) {
    let dir = TempDir::new("default-listener");
    let (file, _) = dir.random_file("in", LARGE, seed);
    let out = dir.join("out");
    let port = free_port();
    let port_arg = port.to_string();
    let mut peer = PeerRun::new(&["-l", "127.0.0.1", &port_arg])
        .stdin(&file)
        .spawn(&dir, program);
    wait_listening_on(&mut peer, port);
    let mut args = tete_args.to_vec();
    args.extend_from_slice(&["127.0.0.1", &port_arg]);
    let finished = tete(&args)
        .stdin(Input::Null)
        .stdout(Output::File(out.clone()))
        .run();
    peer.wait_success();
    finished.assert_success().assert_quiet();
    assert_same_file(&finished.description, &file, &out);
}

/// `tete -l 127.0.0.1 PORT < file`, received by `PROGRAM 127.0.0.1 PORT > copy < /dev/null` in
/// its default mode: the whole file arrives, and both end by themselves with 0.
fn send_to_default_receiver(program: &Path, seed: u64) {
    let dir = TempDir::new("default-receiver");
    let (file, _) = dir.random_file("in", LARGE, seed);
    let out = dir.join("out");
    let mut listener = tete(["-v", "-l", "127.0.0.1", "0"])
        .stdin(Input::File(file.clone()))
        .spawn();
    let port = listener.wait_listening().port().to_string();
    let mut peer = PeerRun::new(&["127.0.0.1", &port])
        .stdout(&out)
        .spawn(&dir, program);
    peer.wait_success();
    listener.wait().assert_success();
    assert_same_file(&peer.description, &file, &out);
}

/// README's receive recipe against OpenBSD `nc -l PORT < file`, which never ends its side: the
/// whole file arrives, and tete waits for nc's end as nc waits for tete's (before tete held the
/// end of stream of an empty stdin, nc stopped sending at tete's FIN and 16 KiB to a few MiB
/// arrived; a FIN after a quiet moment cut a pause in the data the same way).
#[test]
fn nc_listener_to_tete_with_empty_stdin() {
    let Some(nc) = openbsd_nc_or_skip() else {
        return;
    };
    let dir = TempDir::new("nc-listener-empty-stdin");
    let (file, _) = dir.random_file("in", LARGE, 400);
    let out = dir.join("out");
    let port = free_port();
    let port_arg = port.to_string();
    let mut peer = PeerRun::new(&["-l", "127.0.0.1", &port_arg])
        .stdin(&file)
        .spawn(&dir, &nc);
    wait_listening_on(&mut peer, port);
    let mut receiver = tete(["127.0.0.1", &port_arg])
        .stdin(Input::Null)
        .stdout(Output::File(out.clone()))
        .spawn();
    wait_until("the whole file in the copy", TIMEOUT, || {
        fs::metadata(&out).is_ok_and(|meta| meta.len() == LARGE as u64)
    });
    receiver.assert_running("waiting for nc's end");
    peer.assert_running();
    receiver.kill();
    assert_same_file("tete's copy", &file, &out);
}

#[test]
fn ncat_listener_to_tete_with_empty_stdin() {
    if let Some(ncat) = program_or_skip("ncat", "ncat") {
        receive_from_default_listener(&ncat, &[], 401);
    }
}

/// `tete -d`: never an end of stream of ours. ncat ends its side after the file, so tete ends
/// by itself; OpenBSD nc never ends its side (`nc -d` waits for ever too), so `-w 2` ends tete
/// once nothing has moved for two seconds.
#[test]
fn ncat_listener_to_tete_recv_only() {
    if let Some(ncat) = program_or_skip("ncat", "ncat") {
        receive_from_default_listener(&ncat, &["-d"], 402);
    }
}

#[test]
fn nc_listener_to_tete_recv_only_with_wait() {
    if let Some(nc) = openbsd_nc_or_skip() {
        receive_from_default_listener(&nc, &["-d", "-w", "2"], 403);
    }
}

#[test]
fn tete_listener_to_nc_receiver() {
    if let Some(nc) = openbsd_nc_or_skip() {
        send_to_default_receiver(&nc, 404);
    }
}

#[test]
fn tete_listener_to_ncat_receiver() {
    if let Some(ncat) = program_or_skip("ncat", "ncat") {
        send_to_default_receiver(&ncat, 405);
    }
}
