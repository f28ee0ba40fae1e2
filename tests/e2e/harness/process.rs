//! Running tete: the command line with its descriptors ([`Tete`]), the running process
//! ([`Running`]), and how it ended ([`Finished`]).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::ports::parse_tcp_tables;
use super::watch::Watch;
use super::{Finished, LISTENING, TETE, TIMEOUT};

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
    /// What runs tete (`ip netns exec NS`), if anything.
    prefix: Vec<OsString>,
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
        prefix: Vec::new(),
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

    /// Runs tete through `prefix` (a program and its arguments that end by running the rest
    /// of the command line, as `ip netns exec NS` does), which keeps tete's process id.
    pub(super) fn prefixed(mut self, prefix: Vec<OsString>) -> Tete {
        self.prefix = prefix;
        self
    }

    /// The command as a shell would spell it, for messages.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self
            .prefix
            .iter()
            .map(|word| word.to_string_lossy().into_owned())
            .collect();
        words.push("tete".to_string());
        for arg in &self.args {
            let arg = arg.to_string_lossy();
            if arg.is_empty() || arg.contains(' ') {
                words.push(format!("'{arg}'"));
            } else {
                words.push(arg.into_owned());
            }
        }
        words.push(
            match &self.stdin {
                Input::Null => "</dev/null",
                Input::Closed => "<&-",
                Input::File(_) => "<FILE",
                Input::Pipe | Input::Bytes(_) => "<PIPE",
                Input::Fd(_) => "<FD",
            }
            .to_string(),
        );
        for (prefix, output) in [(">", &self.stdout), ("2>", &self.stderr)] {
            match output {
                Output::Null => words.push(format!("{prefix}/dev/null")),
                Output::File(_) => words.push(format!("{prefix}FILE")),
                Output::Capture => {}
                Output::Fd(_) => words.push(format!("{prefix}FD")),
            }
        }
        words.join(" ")
    }

    /// Starts tete.
    pub fn spawn(self) -> Running {
        let description = self.describe();
        let mut command = match self.prefix.split_first() {
            None => Command::new(TETE),
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(TETE);
                command
            }
        };
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
        if controlling_terminal || close_stdin {
            // SAFETY: between fork and exec the closure makes only async-signal-safe system
            // calls and allocates nothing; descriptor 0, which it may close, belongs to no
            // Rust object in the child.
            unsafe {
                command.pre_exec(move || {
                    if controlling_terminal {
                        rustix::process::setsid()?;
                        rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?;
                    }
                    if close_stdin {
                        rustix::io::close(0);
                    }
                    Ok(())
                });
            }
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

    fn stderr_watch(&self) -> Arc<Watch> {
        self.stderr
            .clone()
            .expect("waiting on stderr needs Output::Capture for stderr")
    }

    /// Waits until a stderr line contains `needle` and returns that line; fails the test if
    /// stderr ends or [`TIMEOUT`] passes first.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str) -> String {
        match self.stderr_watch().wait_for(needle, TIMEOUT) {
            Ok(line) => line,
            Err(text) => {
                let status = self.try_status();
                panic!(
                    "{}: no stderr line with {needle:?} (exit status so far: {status:?}); \
                     stderr: {text:?}",
                    self.description
                )
            }
        }
    }

    /// Waits until tete holds a listening TCP socket and returns its port: for a listener on
    /// port 0 (the OS picks, so no other test run can take it first) that runs without `-v`.
    /// Fails the test, with tete's stderr, if tete ends first.
    #[track_caller]
    pub fn wait_listening_socket(&mut self) -> u16 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(port) = listening_port_of(self.pid()) {
                return port;
            }
            if let Some(status) = self.try_status() {
                panic!(
                    "{}: ended ({status:?}) before it listened; stderr {:?}",
                    self.description,
                    self.stderr_so_far()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: not listening within {TIMEOUT:?}",
                self.description
            );
            thread::sleep(Duration::from_millis(2));
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
        let seen = self.stderr_watch().wait_until(TIMEOUT, |text| {
            (text.matches(needle).count() >= count).then_some(())
        });
        if let Err(text) = seen {
            let status = self.try_status();
            panic!(
                "{}: {needle:?} not seen {count} times within {TIMEOUT:?} (exit status so far \
                 {status:?}); stderr {text:?}",
                self.description
            );
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

    /// Sends `signal` to tete.
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32).expect("a child's pid is positive");
        rustix::process::kill_process(pid, signal).expect("kill");
    }

    /// The CPU time tete has used so far, user and system, to the kernel's tick (10 ms).
    pub fn cpu_time(&self) -> Duration {
        let pid = self.pid();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_else(|err| panic!("reading /proc/{pid}/stat: {err}"));
        // After the command's name in parentheses: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks: u64 = [11, 12]
            .iter()
            .map(|&at| fields.get(at).and_then(|field| field.parse::<u64>().ok()))
            .sum::<Option<u64>>()
            .unwrap_or_else(|| panic!("no CPU times in /proc/{pid}/stat: {stat:?}"));
        // /proc counts in USER_HZ, which Linux fixes at 100 a second.
        Duration::from_millis(ticks * 10)
    }

    /// tete's peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_memory_kib(&self) -> u64 {
        let pid = self.pid();
        let status = fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|err| panic!("reading /proc/{pid}/status: {err}"));
        status_field(&status, "VmHWM:")
            .and_then(|value| value.trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
    }

    /// Waits until tete has stopped taking what waits for it: it sleeps, and is not woken,
    /// while `waiting()` says that bytes wait for it (in its stdin, in its socket). tete is
    /// single-threaded and sleeps only in its poll, so this is tete choosing not to read: the
    /// moment a sender feeding it is blocked for good. `what` names the stall for the message.
    ///
    /// Each look reads the scheduler's count of tete's sleeps before and after checking
    /// `waiting()`: had the bytes woken tete in between, it would be running, or the count
    /// would have moved.
    #[track_caller]
    pub fn wait_until_stalled(&mut self, what: &str, mut waiting: impl FnMut() -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.stalled(&mut waiting) {
                return;
            }
            if Instant::now() >= deadline {
                let status = self.try_status();
                panic!(
                    "{}: never stalled ({what}) within {TIMEOUT:?} (exit status so far \
                     {status:?}); stderr {:?}",
                    self.description,
                    self.stderr_so_far()
                );
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// One look for [`Running::wait_until_stalled`]: whether tete sleeps, not woken while
    /// `waiting()` held.
    pub fn stalled(&self, mut waiting: impl FnMut() -> bool) -> bool {
        let before = sleeps(self.pid());
        before.is_some() && waiting() && sleeps(self.pid()) == before
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

/// The value of `name` (such as `VmHWM:`) in a `/proc/PID/status` text.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .map(str::trim)
}

/// The port of a listening TCP socket that process `pid` holds, if it holds one (in its own
/// network namespace: `/proc/PID/net`).
fn listening_port_of(pid: u32) -> Option<u16> {
    let held: Vec<u64> = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .filter_map(|fd| {
            let target = fs::read_link(fd.path()).ok()?;
            let target = target.to_str()?;
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    let tables = ["tcp", "tcp6"]
        .map(|table| fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default());
    parse_tcp_tables(&tables.concat())
        .iter()
        .find(|socket| socket.state == LISTENING && held.contains(&socket.inode))
        .map(|socket| socket.local_port)
}

/// If process `pid` is asleep, how many times it has gone to sleep so far.
fn sleeps(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if !status_field(&status, "State:")?.starts_with('S') {
        return None;
    }
    status_field(&status, "voluntary_ctxt_switches:")?
        .parse()
        .ok()
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

/// Waits until `ready()` holds, looking every few milliseconds: for states nothing announces
/// (a terminal's modes, a file's size). Fails the test, naming `what`, if it does not hold
/// within `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The address in a `tete: listening on ADDR:PORT` line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}
