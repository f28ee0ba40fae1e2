//! The shared harness of tete's integration tests.
//!
//! Every test runs the real `tete` binary over loopback (127.0.0.1 or ::1, nothing else). The
//! rules this module enforces so that individual tests do not have to remember them:
//!
//! - **No fixed ports.** [`free_port`] checks that the port it gives is free (and keeps it
//!   apart from the ports the OS picks); [`Peer`] binds port 0 itself.
//! - **No sleeps as synchronisation.** [`Running::wait_listening`] reads tete's `-v` stderr until
//!   `tete: listening on ADDR:PORT`; [`Running::wait_for_stderr`] and [`Pty::wait_for_output`]
//!   wait for any other text. The few loops that poll (a child's exit, a stalled counter) only
//!   observe, with a deadline.
//! - **Nothing can hang the run.** Every wait has a deadline ([`TIMEOUT`] unless said otherwise);
//!   a child still running at its deadline is killed and the test fails saying that it hung. A
//!   [`Running`] dropped early (a failing test) kills its child, and peers' sockets carry read and
//!   write timeouts.
//! - **Exact checks.** [`assert_bytes_eq`] compares whole transfers and reports the first
//!   difference; [`Finished`] asserts exit statuses and error lines with the command and its
//!   stderr in the message.
//! - **No leaked descriptors.** Every descriptor the harness creates is close-on-exec, so one
//!   test's pipe or terminal never ends up in another test's child (where it would keep an EOF or
//!   a hang-up from happening).
//!
//! Test data is deterministic ([`XorShift`]) and lives in a per-test [`TempDir`] that is removed
//! when the test ends.

#![allow(dead_code)]

use std::ffi::{CStr, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long anything may take before the test calls it a hang.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The binary under test.
pub const TETE: &str = env!("CARGO_BIN_EXE_tete");

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------------

/// A xorshift64 generator: deterministic pseudo-random test data.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Spread small seeds out; the state must never be zero.
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fills `buf`. Filling in pieces whose lengths are multiples of 8 gives the same stream as
    /// filling all at once.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes, the same for the same `seed`.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut data = vec![0; len];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Asserts that `actual` is exactly `expected`, without dumping megabytes into the message.
#[track_caller]
pub fn assert_bytes_eq(what: &str, expected: &[u8], actual: &[u8]) {
    if expected == actual {
        return;
    }
    let first_difference = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let around = |data: &[u8]| {
        let end = data.len().min(first_difference + 16);
        String::from_utf8_lossy(&data[first_difference.min(end)..end]).into_owned()
    };
    panic!(
        "{what}: expected {} bytes, got {} bytes; first difference at offset {first_difference} \
         (expected {:?}..., got {:?}...)",
        expected.len(),
        actual.len(),
        around(expected),
        around(actual),
    );
}

/// A directory of its own for one test, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tete-test-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|err| panic!("creating {path:?}: {err}"));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `data` to a file named `name` and returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, data).unwrap_or_else(|err| panic!("writing {path:?}: {err}"));
        path
    }

    /// A file of `len` pseudo-random bytes: its path and its contents.
    pub fn random_file(&self, name: &str, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
        let data = random_bytes(seed, len);
        (self.file(name, &data), data)
    }

    /// The contents of file `path`, which must exist.
    pub fn read(&self, path: &Path) -> Vec<u8> {
        fs::read(path).unwrap_or_else(|err| panic!("reading {path:?}: {err}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses and ports
// ---------------------------------------------------------------------------------------------

/// A port free on 127.0.0.1 when checked, for tete to listen on or for a test to find closed.
///
/// It is chosen below the system's ephemeral range and never twice in one test process: a port
/// the OS hands out for `bind(0)` or an outgoing connection elsewhere in the suite (a test's peer,
/// a client's local end) cannot be it, so a test that expects nobody there (a refused connection,
/// a second peer refused) does not find another test's socket instead.
pub fn free_port() -> u16 {
    checked_free_port(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])
}

/// A port free on ::1 when checked (see [`free_port`]). Call only when [`ipv6_available`].
pub fn free_port_v6() -> u16 {
    checked_free_port(&[IpAddr::V6(Ipv6Addr::LOCALHOST)])
}

/// A port free on 127.0.0.1 and, where IPv6 works, on ::1 too: for names such as `localhost`
/// that may stand for either.
pub fn free_port_both() -> u16 {
    if ipv6_available() {
        checked_free_port(&[Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()])
    } else {
        free_port()
    }
}

fn checked_free_port(ips: &[IpAddr]) -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // Below the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range).
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000, ephemeral_low.max(20_000));
    let span = high - low;
    // Each test process starts elsewhere, in case two run at once.
    let start = (std::process::id() as usize).wrapping_mul(7919) % span;
    for _ in 0..span {
        let port = (low + (start + NEXT.fetch_add(1, Ordering::SeqCst)) % span) as u16;
        if ips.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
    panic!("no free port on {ips:?} between {low} and {high}");
}

/// Whether this machine has a usable ::1.
pub fn ipv6_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// The loopback addresses the system's resolver gives for `localhost`.
pub fn localhost_addresses() -> Vec<IpAddr> {
    ("localhost", 1)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|addr| addr.ip()).collect())
        .unwrap_or_default()
}

/// Connects to `addr` (a tete listener), with timeouts on the stream.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|err| panic!("connecting to {addr}: {err}"));
    set_timeouts(&stream);
    stream
}

fn set_timeouts(stream: &TcpStream) {
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("write timeout");
}

/// Makes closing `stream` send a reset instead of a FIN.
pub fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// Reads from `stream` until EOF. A read timeout ([`TIMEOUT`]) fails the test.
pub fn read_to_eof(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut data = Vec::new();
    if let Err(err) = stream.read_to_end(&mut data) {
        panic!(
            "{what}: reading to EOF failed after {} bytes: {err}",
            data.len()
        );
    }
    data
}

/// The test's own TCP peer: a thread that accepts one connection on a loopback port the OS
/// picked and hands it to a closure, whose result [`Peer::join`] returns.
pub struct Peer<T> {
    pub addr: SocketAddr,
    done: mpsc::Receiver<()>,
    handle: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Peer<T> {
    /// A peer on 127.0.0.1.
    pub fn spawn(serve: impl FnOnce(TcpStream) -> T + Send + 'static) -> Peer<T> {
        Peer::spawn_on(IpAddr::V4(Ipv4Addr::LOCALHOST), serve)
    }

    /// A peer on loopback address `ip`. The accepted stream is blocking with [`TIMEOUT`] read
    /// and write timeouts.
    pub fn spawn_on(ip: IpAddr, serve: impl FnOnce(TcpStream) -> T + Send + 'static) -> Peer<T> {
        assert!(ip.is_loopback(), "tests only use loopback, not {ip}");
        let listener = TcpListener::bind((ip, 0)).expect("binding the test peer");
        let addr = listener.local_addr().expect("the test peer's address");
        let (done_tx, done) = mpsc::channel();
        let handle = thread::spawn(move || {
            let stream = accept_within(&listener, TIMEOUT);
            drop(listener);
            set_timeouts(&stream);
            let result = serve(stream);
            let _ = done_tx.send(());
            result
        });
        Peer {
            addr,
            done,
            handle: Some(handle),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The closure's result. Fails the test if the thread panicked or is still busy after
    /// [`TIMEOUT`].
    pub fn join(mut self) -> T {
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(TIMEOUT) {
            panic!(
                "the test peer on {} was still busy after {TIMEOUT:?}",
                self.addr
            );
        }
        match self.handle.take().expect("joined once").join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Accepts one connection, failing the test if none comes within `timeout`.
pub fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return stream;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "nobody connected to {:?} within {timeout:?}",
                    listener.local_addr()
                );
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) => panic!("accept: {err}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Descriptors
// ---------------------------------------------------------------------------------------------

/// A pipe, both ends blocking and close-on-exec: `(read end, write end)`.
pub fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// A close-on-exec duplicate of `file`, sharing its open file description.
pub fn dup(file: &File) -> File {
    file.try_clone().expect("dup")
}

/// The file status flags (`F_GETFL`) of `fd`'s open file description.
pub fn status_flags(fd: &impl AsRawFd) -> libc::c_int {
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "F_GETFL: {}", io::Error::last_os_error());
    flags
}

/// Whether `O_NONBLOCK` is set on `fd`'s open file description.
pub fn is_nonblocking(fd: &impl AsRawFd) -> bool {
    status_flags(fd) & libc::O_NONBLOCK != 0
}

/// How many bytes wait to be read in pipe or socket `fd` (`FIONREAD`).
pub fn pending_bytes(fd: &impl AsRawFd) -> usize {
    let mut count: libc::c_int = 0;
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut count) };
    assert_eq!(rc, 0, "FIONREAD: {}", io::Error::last_os_error());
    count as usize
}

/// Waits until `fd` is readable or `timeout` passes; true if readable (or at EOF, or in error).
pub fn poll_readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    loop {
        let rc = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if rc >= 0 {
            return rc > 0;
        }
        let err = io::Error::last_os_error();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted, "poll: {err}");
    }
}

/// Reads exactly `len` bytes from `file` (which may be blocking) within `timeout`, without
/// touching its flags: each read waits for readiness with poll(2) first.
pub fn read_exact_within(file: &mut File, len: usize, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut data = Vec::with_capacity(len);
    let mut buf = vec![0; 64 * KIB];
    while data.len() < len {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {len} bytes arrived within {timeout:?}",
            data.len()
        );
        if !poll_readable(file, left) {
            continue;
        }
        let want = buf.len().min(len - data.len());
        match file.read(&mut buf[..want]) {
            Ok(0) => panic!("EOF after {} of {len} bytes", data.len()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => panic!("read failed after {} of {len} bytes: {err}", data.len()),
        }
    }
    data
}

// ---------------------------------------------------------------------------------------------
// Running tete
// ---------------------------------------------------------------------------------------------

/// What tete's stdin is.
pub enum Input {
    /// `</dev/null`
    Null,
    /// `<&-`: descriptor 0 closed when tete starts.
    Closed,
    /// `<FILE`
    File(PathBuf),
    /// A pipe whose write end [`Running::take_stdin`] hands to the test.
    Pipe,
    /// `printf ... |`: a pipe fed these bytes by a thread, then closed.
    Bytes(Vec<u8>),
    /// Any descriptor: a pipe end the test keeps a duplicate of, a terminal...
    Fd(OwnedFd),
}

/// What tete's stdout or stderr is.
pub enum Output {
    /// `>/dev/null`
    Null,
    /// `>FILE` (created or truncated).
    File(PathBuf),
    /// A pipe the harness reads: stdout comes back in [`Finished::stdout`]; stderr is also
    /// watched line by line ([`Running::wait_for_stderr`]).
    Capture,
    /// Any descriptor.
    Fd(OwnedFd),
}

/// A tete command line about to run. Defaults: stdin `/dev/null`, stdout and stderr captured.
pub struct Tete {
    args: Vec<OsString>,
    /// Environment variables to set (TETE_PASSWORD is removed unless set here).
    env: Vec<(OsString, OsString)>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    controlling_terminal: bool,
}

/// `tete ARGS...`
pub fn tete<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Tete {
    Tete {
        args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
        env: Vec::new(),
        stdin: Input::Null,
        stdout: Output::Capture,
        stderr: Output::Capture,
        controlling_terminal: false,
    }
}

impl Tete {
    /// Sets an environment variable for tete.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Tete {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs tete with this room password (`TETE_PASSWORD`).
    pub fn password(self, password: &str) -> Tete {
        self.env("TETE_PASSWORD", password)
    }

    pub fn stdin(mut self, input: Input) -> Tete {
        self.stdin = input;
        self
    }

    pub fn stdout(mut self, output: Output) -> Tete {
        self.stdout = output;
        self
    }

    pub fn stderr(mut self, output: Output) -> Tete {
        self.stderr = output;
        self
    }

    /// Starts tete in a session of its own with its stdin (a terminal) as the controlling
    /// terminal, as a login shell would: `setsid()` then `ioctl(0, TIOCSCTTY)`.
    pub fn controlling_terminal(mut self) -> Tete {
        self.controlling_terminal = true;
        self
    }

    /// The command as a shell would spell it, for messages.
    pub fn describe(&self) -> String {
        let mut text = String::from("tete");
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            if arg.is_empty() || arg.contains(' ') {
                text.push_str(&format!(" '{arg}'"));
            } else {
                text.push_str(&format!(" {arg}"));
            }
        }
        text.push_str(match &self.stdin {
            Input::Null => " </dev/null",
            Input::Closed => " <&-",
            Input::File(_) => " <FILE",
            Input::Pipe | Input::Bytes(_) => " <PIPE",
            Input::Fd(_) => " <FD",
        });
        for (prefix, output) in [(">", &self.stdout), ("2>", &self.stderr)] {
            match output {
                Output::Null => text.push_str(&format!(" {prefix}/dev/null")),
                Output::File(_) => text.push_str(&format!(" {prefix}FILE")),
                Output::Capture => {}
                Output::Fd(_) => text.push_str(&format!(" {prefix}FD")),
            }
        }
        text
    }

    /// Starts tete.
    pub fn spawn(self) -> Running {
        let description = self.describe();
        let mut command = Command::new(TETE);
        command.args(&self.args).env_remove("TETE_PASSWORD");
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut feed = None;
        let close_stdin = matches!(self.stdin, Input::Closed);
        command.stdin(match self.stdin {
            Input::Null | Input::Closed => Stdio::null(),
            Input::File(path) => Stdio::from(
                File::open(&path).unwrap_or_else(|err| panic!("opening {path:?}: {err}")),
            ),
            Input::Pipe => Stdio::piped(),
            Input::Bytes(bytes) => {
                feed = Some(bytes);
                Stdio::piped()
            }
            Input::Fd(fd) => Stdio::from(fd),
        });
        let capture_stdout = matches!(self.stdout, Output::Capture);
        let capture_stderr = matches!(self.stderr, Output::Capture);
        command.stdout(output_stdio(self.stdout));
        command.stderr(output_stdio(self.stderr));
        let controlling_terminal = self.controlling_terminal;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if controlling_terminal {
                    if libc::setsid() == -1 {
                        return Err(io::Error::last_os_error());
                    }
                    if libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if close_stdin {
                    libc::close(libc::STDIN_FILENO);
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("starting {description}: {err}"));
        let mut stdin = child.stdin.take();
        if let Some(bytes) = feed {
            let mut pipe = stdin.take().expect("stdin pipe");
            // An early EPIPE is tete's business, which the test judges by its results.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let stdout = child.stdout.take().filter(|_| capture_stdout).map(|pipe| {
            let (tx, rx) = mpsc::channel();
            thread::spawn(move || {
                let mut pipe = pipe;
                let mut data = Vec::new();
                let result = pipe.read_to_end(&mut data).map(|_| data);
                let _ = tx.send(result);
            });
            rx
        });
        let stderr = child
            .stderr
            .take()
            .filter(|_| capture_stderr)
            .map(Watch::spawn);
        Running {
            description,
            child,
            stdin,
            stdout,
            stderr,
            status: None,
        }
    }

    /// Runs tete to its end (at most [`TIMEOUT`]).
    pub fn run(self) -> Finished {
        self.spawn().wait()
    }
}

fn output_stdio(output: Output) -> Stdio {
    match output {
        Output::Null => Stdio::null(),
        Output::File(path) => Stdio::from(
            File::create(&path).unwrap_or_else(|err| panic!("creating {path:?}: {err}")),
        ),
        Output::Capture => Stdio::piped(),
        Output::Fd(fd) => Stdio::from(fd),
    }
}

/// A running tete. Dropping it kills the process if it is still running.
pub struct Running {
    pub description: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<mpsc::Receiver<io::Result<Vec<u8>>>>,
    stderr: Option<Arc<Watch>>,
    status: Option<ExitStatus>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The write end of stdin's pipe ([`Input::Pipe`]); dropping it is tete's EOF.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin
            .take()
            .expect("stdin is Input::Pipe and not taken yet")
    }

    /// Everything tete has written to stderr so far (captured stderr only).
    pub fn stderr_so_far(&self) -> String {
        self.stderr.as_ref().map(|w| w.text()).unwrap_or_default()
    }

    /// Waits until a stderr line contains `needle` and returns that line; fails the test if
    /// stderr ends or [`TIMEOUT`] passes first.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str) -> String {
        let watch = self
            .stderr
            .clone()
            .expect("wait_for_stderr needs Output::Capture for stderr");
        match watch.wait_for(needle, TIMEOUT) {
            Ok(line) => line,
            Err(text) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "{}: no stderr line with {needle:?} (exit status so far: {status:?}); \
                     stderr: {text:?}",
                    self.description
                )
            }
        }
    }

    /// Waits for `-v`'s `tete: listening on ADDR:PORT` and returns that address.
    #[track_caller]
    pub fn wait_listening(&mut self) -> SocketAddr {
        let line = self.wait_for_stderr("listening on ");
        parse_listening(&line)
            .unwrap_or_else(|| panic!("{}: cannot parse {line:?}", self.description))
    }

    /// Waits until `needle` has appeared `count` times on tete's stderr.
    #[track_caller]
    pub fn wait_for_count(&mut self, needle: &str, count: usize) {
        let deadline = Instant::now() + TIMEOUT;
        while self.stderr_so_far().matches(needle).count() < count {
            if Instant::now() >= deadline {
                let status = self.try_status();
                panic!(
                    "{}: {needle:?} not seen {count} times within {TIMEOUT:?} (exit status so \
                     far {status:?}); stderr {:?}",
                    self.description,
                    self.stderr_so_far()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Fails the test if tete has ended; `doing` says what it should still be doing.
    #[track_caller]
    pub fn assert_running(&mut self, doing: &str) {
        if let Some(status) = self.try_status() {
            panic!(
                "{}: ended ({status:?}) instead of {doing}; stderr {:?}",
                self.description,
                self.stderr_so_far()
            );
        }
    }

    /// The exit status, if tete has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("waitpid");
        }
        self.status
    }

    /// Waits up to `timeout` for tete to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for tete to end by itself within [`TIMEOUT`].
    #[track_caller]
    pub fn wait(self) -> Finished {
        self.wait_within(TIMEOUT)
    }

    /// Waits for tete to end by itself within `timeout`; if it does not, kills it and fails
    /// the test saying that it hung.
    #[track_caller]
    pub fn wait_within(mut self, timeout: Duration) -> Finished {
        let status = match self.wait_timeout(timeout) {
            Some(status) => status,
            None => {
                self.kill();
                panic!(
                    "{} hung: still running after {timeout:?}, killed; stderr: {:?}",
                    self.description,
                    self.collect_stderr()
                );
            }
        };
        let stdout = match self.stdout.take() {
            None => Vec::new(),
            Some(rx) => match rx.recv_timeout(TIMEOUT) {
                Ok(Ok(data)) => data,
                Ok(Err(err)) => panic!("{}: reading its stdout: {err}", self.description),
                Err(_) => panic!(
                    "{}: its stdout stayed open after it ended (a leaked descriptor?)",
                    self.description
                ),
            },
        };
        Finished {
            description: self.description.clone(),
            status,
            stdout,
            stderr: self.collect_stderr(),
        }
    }

    /// Kills tete (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Sends signal `signal` to tete.
    pub fn signal(&self, signal: libc::c_int) {
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    }

    /// tete's memory use now, from /proc.
    pub fn memory(&self) -> Memory {
        memory_of(self.pid())
    }

    /// stderr once tete has ended: waits briefly for the pipe's EOF.
    fn collect_stderr(&self) -> String {
        match &self.stderr {
            None => String::new(),
            Some(watch) => {
                watch.wait_closed(Duration::from_secs(2));
                watch.text()
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address in a `tete: listening on ADDR:PORT` line.
/// 127.0.0.1:`port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Spawns `tete`, which must listen with `-v`, and waits until it says it listens; returns
/// its address.
pub fn spawn_listening(tete: Tete) -> (Running, SocketAddr) {
    let mut running = tete.spawn();
    let addr = running.wait_listening();
    (running, addr)
}

/// Starts `tete -v ARGS... -l HOST PORT` and waits until it says it listens; returns its
/// address. Port 0 lets the OS pick a free port, so that tests (and other test runs on the
/// machine) cannot race for one.
pub fn start_listener_on(
    host: &str,
    port: u16,
    args: &[&str],
    stdin: Input,
    stdout: Output,
) -> (Running, SocketAddr) {
    let port = port.to_string();
    let mut all: Vec<&str> = vec!["-v"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-l", host, &port]);
    spawn_listening(tete(all).stdin(stdin).stdout(stdout))
}

/// [`start_listener_on`] 127.0.0.1, on a port the OS picks.
pub fn start_listener(args: &[&str], stdin: Input, stdout: Output) -> (Running, SocketAddr) {
    start_listener_on("127.0.0.1", 0, args, stdin, stdout)
}

/// Waits until `ready()` holds, checking every few milliseconds; fails the test, naming
/// `what`, if it does not within `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// How a tete run ended.
pub struct Finished {
    pub description: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// Asserts exit status `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Finished {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{}: expected exit status {code}, got {:?}; stderr: {:?}",
            self.description,
            self.status,
            self.stderr
        );
        self
    }

    /// Asserts exit status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Finished {
        self.assert_code(0)
    }

    /// Asserts that a signal ended tete.
    #[track_caller]
    pub fn assert_signal(&self, signal: libc::c_int) -> &Finished {
        assert_eq!(
            self.status.signal(),
            Some(signal),
            "{}: expected death by signal {signal}, got {:?}; stderr: {:?}",
            self.description,
            self.status,
            self.stderr
        );
        self
    }

    /// Asserts that stderr is exactly one line starting `tete: `, and returns it.
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && self.stderr.ends_with('\n'),
            "{}: expected one line on stderr, got {:?}",
            self.description,
            self.stderr
        );
        assert!(
            lines[0].starts_with("tete: "),
            "{}: the error line should start with 'tete: ': {:?}",
            self.description,
            lines[0]
        );
        lines[0]
    }

    /// Asserts that nothing went to stderr.
    #[track_caller]
    pub fn assert_quiet(&self) -> &Finished {
        assert!(
            self.stderr.is_empty(),
            "{}: expected nothing on stderr, got {:?}",
            self.description,
            self.stderr
        );
        self
    }
}

/// Memory figures of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Peak resident set size (`VmHWM`).
    pub peak_kib: u64,
    /// Current resident set size (`VmRSS`).
    pub rss_kib: u64,
}

/// The memory figures of process `pid`, from `/proc/PID/status`.
pub fn memory_of(pid: u32) -> Memory {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|err| panic!("reading /proc/{pid}/status: {err}"));
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    Memory {
        peak_kib: field("VmHWM:"),
        rss_kib: field("VmRSS:"),
    }
}

/// Waits until `counter` has not moved for `quiet`, and returns its value: the moment a sender
/// that counts its bytes is blocked. Fails the test if that does not happen within [`TIMEOUT`].
pub fn wait_until_stalled(counter: &AtomicU64, quiet: Duration) -> u64 {
    let deadline = Instant::now() + TIMEOUT;
    let mut last = counter.load(Ordering::SeqCst);
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(20));
        let now = counter.load(Ordering::SeqCst);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the sender never stalled within {TIMEOUT:?} ({now} bytes so far)"
        );
    }
}

/// Writes all of `data` to `sink` in 64 KiB pieces, counting the bytes written in `counter`.
pub fn write_counting(sink: &mut impl Write, data: &[u8], counter: &AtomicU64) -> io::Result<()> {
    let mut sent = 0;
    for piece in data.chunks(64 * KIB) {
        sink.write_all(piece)?;
        sent += piece.len() as u64;
        counter.store(sent, Ordering::SeqCst);
    }
    Ok(())
}

/// Writes `total` bytes (a repeated pseudo-random block) to `sink`, counting them in `counter`,
/// until done or a write fails. Returns how many were written.
pub fn stream_into(sink: &mut impl Write, total: u64, counter: &AtomicU64) -> u64 {
    let block = random_bytes(7, 64 * KIB);
    let mut sent = 0u64;
    while sent < total {
        let len = block.len().min((total - sent) as usize);
        match sink.write(&block[..len]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                sent += n as u64;
                counter.store(sent, Ordering::SeqCst);
            }
        }
    }
    sent
}

// ---------------------------------------------------------------------------------------------
// Watching output
// ---------------------------------------------------------------------------------------------

/// Bytes a thread reads from a pipe or terminal, for tests to wait on.
struct Watch {
    state: Mutex<WatchState>,
    changed: Condvar,
}

struct WatchState {
    bytes: Vec<u8>,
    closed: bool,
}

impl Watch {
    fn spawn(mut source: impl Read + Send + 'static) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            state: Mutex::new(WatchState {
                bytes: Vec::new(),
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let shared = watch.clone();
        thread::spawn(move || {
            let mut buf = [0; 4096];
            loop {
                let n = match source.read(&mut buf) {
                    Ok(n) => n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    // A terminal's master reads EIO once no slave is open.
                    Err(_) => 0,
                };
                let mut state = shared.state.lock().unwrap();
                if n == 0 {
                    state.closed = true;
                } else {
                    state.bytes.extend_from_slice(&buf[..n]);
                }
                shared.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
        watch
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().bytes).into_owned()
    }

    /// The whole line (without its end) holding `needle`, or everything seen so far if the
    /// source closes or `timeout` passes first.
    fn wait_for(&self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&state.bytes).into_owned();
            if let Some(at) = text.find(needle) {
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                return Ok(text[start..end].trim_end_matches('\r').to_string());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.closed || left.is_zero() {
                return Err(text);
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        while !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Terminals
// ---------------------------------------------------------------------------------------------

/// A pseudo-terminal: the test types on and reads from the master; tete gets the slave.
pub struct Pty {
    master: File,
    slave: File,
    output: Arc<Watch>,
}

impl Pty {
    /// Opens a pseudo-terminal with the system's default settings (echo, canonical mode).
    pub fn open() -> Pty {
        let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
        let master = unsafe { libc::posix_openpt(flags) };
        assert!(master >= 0, "posix_openpt: {}", io::Error::last_os_error());
        let master = unsafe { File::from_raw_fd(master) };
        let fd = master.as_raw_fd();
        assert_eq!(unsafe { libc::grantpt(fd) }, 0, "grantpt");
        assert_eq!(unsafe { libc::unlockpt(fd) }, 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        let rc = unsafe { libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) };
        assert_eq!(rc, 0, "ptsname_r");
        let slave = unsafe { libc::open(name.as_ptr(), flags) };
        let name = unsafe { CStr::from_ptr(name.as_ptr()) };
        assert!(
            slave >= 0,
            "opening {name:?}: {}",
            io::Error::last_os_error()
        );
        let slave = unsafe { File::from_raw_fd(slave) };
        let output = Watch::spawn(dup(&master));
        Pty {
            master,
            slave,
            output,
        }
    }

    /// A descriptor of the slave, to give tete as stdin, stdout or stderr.
    pub fn slave_fd(&self) -> OwnedFd {
        dup(&self.slave).into()
    }

    /// The test's own descriptor of the slave (for tcgetattr and F_GETFL).
    pub fn slave(&self) -> &File {
        &self.slave
    }

    /// Types `bytes` on the keyboard.
    pub fn type_bytes(&self, bytes: &[u8]) {
        (&self.master)
            .write_all(bytes)
            .expect("writing to the pty master");
    }

    /// Waits until the terminal shows a line holding `needle`, and returns that line.
    #[track_caller]
    pub fn wait_for_output(&self, needle: &str) -> String {
        self.output
            .wait_for(needle, TIMEOUT)
            .unwrap_or_else(|text| {
                panic!("the terminal never showed {needle:?} within {TIMEOUT:?}; it shows {text:?}")
            })
    }

    /// Everything the terminal has shown so far.
    pub fn output(&self) -> String {
        self.output.text()
    }

    /// The terminal's settings now.
    pub fn termios(&self) -> Termios {
        Termios::of(&self.slave)
    }
}

/// The settings of a terminal, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termios {
    pub iflag: libc::tcflag_t,
    pub oflag: libc::tcflag_t,
    pub cflag: libc::tcflag_t,
    pub lflag: libc::tcflag_t,
    pub cc: Vec<libc::cc_t>,
    pub ispeed: libc::speed_t,
    pub ospeed: libc::speed_t,
}

impl Termios {
    pub fn of(fd: &impl AsRawFd) -> Termios {
        let mut raw = std::mem::MaybeUninit::<libc::termios>::uninit();
        let rc = unsafe { libc::tcgetattr(fd.as_raw_fd(), raw.as_mut_ptr()) };
        assert_eq!(rc, 0, "tcgetattr: {}", io::Error::last_os_error());
        let raw = unsafe { raw.assume_init() };
        Termios {
            iflag: raw.c_iflag,
            oflag: raw.c_oflag,
            cflag: raw.c_cflag,
            lflag: raw.c_lflag,
            cc: raw.c_cc.to_vec(),
            ispeed: unsafe { libc::cfgetispeed(&raw) },
            ospeed: unsafe { libc::cfgetospeed(&raw) },
        }
    }
}

/// Runs tete with each command line of `cases`, which must all be usage errors: exit status 2,
/// one line `tete: ...` that mentions `--help` (and the second element, if any), nothing on
/// stdout. Reports every case that fails at once.
pub fn assert_usage_errors(cases: &[(Vec<&str>, Option<&str>)]) {
    let mut failures = Vec::new();
    for (args, mentions) in cases {
        let finished = tete(args).run();
        let lines: Vec<&str> = finished.stderr.lines().collect();
        let problem = if finished.status.code() != Some(2) {
            Some(format!("exit status {:?}", finished.status))
        } else if lines.len() != 1 || !lines[0].starts_with("tete: ") {
            Some("not one line starting 'tete: '".to_string())
        } else if !lines[0].contains("--help") {
            Some("no mention of --help".to_string())
        } else if let Some(missing) = mentions.filter(|m| !lines[0].contains(m)) {
            Some(format!("no mention of {missing:?}"))
        } else if !finished.stdout.is_empty() {
            Some("output on stdout".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "{}: {problem}; stderr {:?}",
                finished.description, finished.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad command lines handled wrongly:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Other programs: the real peers that interop and proxy tests start
// ---------------------------------------------------------------------------------------------

/// The first executable file called `name` on PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// `name` from PATH, or `None` after saying that the test skips.
pub fn program_or_skip(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        eprintln!("SKIPPED: {name} not installed");
    }
    found
}

/// OpenBSD's nc: `nc.openbsd`, or an `nc` that is OpenBSD's under another name.
pub fn openbsd_nc_or_skip() -> Option<PathBuf> {
    if let Some(path) = find_program("nc.openbsd") {
        return Some(path);
    }
    let nc = find_program("nc").filter(|nc| {
        fs::canonicalize(nc).is_ok_and(|real| real.to_string_lossy().contains("openbsd"))
    });
    if nc.is_none() {
        eprintln!("SKIPPED: OpenBSD nc not installed (no nc.openbsd, and nc is not OpenBSD's)");
    }
    nc
}

/// Another program, run by a test. Dropping it kills the process if it is still running.
pub struct Process {
    pub description: String,
    child: Child,
    /// Where its stderr goes, for messages.
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `program ARGS...` with stdin from `stdin` (or /dev/null) and stdout to `stdout`
    /// (or /dev/null); stderr goes to a file in `dir`.
    pub fn spawn(
        dir: &TempDir,
        program: &Path,
        args: &[&str],
        stdin: Option<&Path>,
        stdout: Option<&Path>,
    ) -> Process {
        let name = program
            .file_name()
            .map_or("program".into(), |name| name.to_string_lossy().into_owned());
        let mut description = format!("{name} {}", args.join(" "));
        let stderr = dir.join(&format!("{name}.stderr"));
        let mut command = Command::new(program);
        command.args(args);
        command.stdin(match stdin {
            Some(path) => {
                description.push_str(" <FILE");
                Stdio::from(File::open(path).unwrap_or_else(|err| panic!("{path:?}: {err}")))
            }
            None => {
                description.push_str(" </dev/null");
                Stdio::null()
            }
        });
        command.stdout(match stdout {
            Some(path) => {
                description.push_str(" >FILE");
                Stdio::from(File::create(path).unwrap_or_else(|err| panic!("{path:?}: {err}")))
            }
            None => Stdio::null(),
        });
        command.stderr(Stdio::from(
            File::create(&stderr).unwrap_or_else(|err| panic!("{stderr:?}: {err}")),
        ));
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("starting {description}: {err}"));
        Process {
            description,
            child,
            stderr,
            status: None,
        }
    }

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("waitpid");
        }
        self.status
    }

    pub fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Fails the test if the program has already ended (while it should be serving).
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.try_status() {
            panic!(
                "{} ended early with {status:?}; stderr {:?}",
                self.description,
                self.stderr_text()
            );
        }
    }

    /// Waits for the program to end by itself within [`TIMEOUT`] and asserts exit status 0; if it
    /// does not end, kills it and fails the test saying that it hung.
    #[track_caller]
    pub fn wait_success(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.try_status() {
                break status;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!(
                    "{} hung: still running after {TIMEOUT:?}, killed; stderr {:?}",
                    self.description,
                    self.stderr_text()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        assert!(
            status.success(),
            "{}: expected exit status 0, got {status:?}; stderr {:?}",
            self.description,
            self.stderr_text()
        );
    }

    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `port` on 127.0.0.1 accepts connections, by connecting (only for servers that
/// take any number of connections).
#[track_caller]
pub fn wait_connectable(server: &mut Process, port: u16) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
            return;
        }
        server.assert_running();
        assert!(
            Instant::now() < deadline,
            "{}: port {port} did not accept connections within {TIMEOUT:?}",
            server.description
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether /proc/net/tcp or tcp6 shows a socket listening on `port`.
pub fn listening_on(port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // sl, local_address, rem_address, st: 0A is LISTEN.
                fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
            })
        })
    })
}

/// Waits until `server` listens on `port`, without connecting (it may take only one peer).
#[track_caller]
pub fn wait_listening_on(server: &mut Process, port: u16) {
    let deadline = Instant::now() + TIMEOUT;
    while !listening_on(port) {
        server.assert_running();
        assert!(
            Instant::now() < deadline,
            "{}: not listening on port {port} within {TIMEOUT:?}",
            server.description
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// tete run by a shell with job control on the terminal `pty`, as a user has it: tete in a
/// process group of its own, in the foreground; after it stops, the shell waits for a line
/// (standing for whatever the user does) and then runs `fg`. Killed, with what it started,
/// when dropped.
pub struct JobShell {
    shell: Child,
}

impl JobShell {
    pub fn start(pty: &Pty, tete_args: &[&str]) -> JobShell {
        let script = r#"set -m; "$@"; read -r _; fg"#;
        let shell = Command::new("setsid")
            .args(["--ctty", "bash", "-c", script, "sh", TETE])
            .args(tete_args)
            .env_remove("TETE_PASSWORD")
            .stdin(pty.slave_fd())
            .stdout(pty.slave_fd())
            .stderr(pty.slave_fd())
            .spawn()
            .expect("starting setsid bash");
        JobShell { shell }
    }
}

impl Drop for JobShell {
    fn drop(&mut self) {
        let pid = self.shell.id();
        let children =
            fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
        {
            if let Some(child) = rustix::process::Pid::from_raw(child) {
                let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
            }
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}
