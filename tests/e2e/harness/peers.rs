//! Real peers: the programs nobody here wrote (nc, ncat, socat, curl, redis-server, the proxies,
//! sshd, the shells...), found on this machine, started by the tests and stopped when dropped;
//! and skipping where one is missing, which CI turns into a failure.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{TIMEOUT, TempDir, listening_on};

/// Whether a test that cannot run here must fail instead of skipping: `TETE_REQUIRE_PEERS=1`,
/// which `.ci/run` sets, so that CI cannot pass without meeting a single real peer.
pub fn peers_required() -> bool {
    std::env::var_os("TETE_REQUIRE_PEERS").is_some_and(|value| value == "1")
}

/// The test cannot run here because of `reason` (a program not installed, not root): it says
/// `SKIPPED:` and returns `None`, for `let Some(..) = .. else { return };`. Under
/// `TETE_REQUIRE_PEERS=1` it fails instead.
#[track_caller]
pub fn skip<T>(reason: &str) -> Option<T> {
    assert!(
        !peers_required(),
        "{reason}; TETE_REQUIRE_PEERS=1 makes that a failure"
    );
    eprintln!("SKIPPED: {reason}");
    None
}

/// The test does not apply to this machine (no ::1, a kernel that never drops a SYN): it says
/// `SKIPPED:` and passes, whatever `TETE_REQUIRE_PEERS` says, as no package would change that.
pub fn not_here(reason: &str) {
    eprintln!("SKIPPED (not on this machine): {reason}");
}

/// The first executable file called `name` on PATH, or in the system's sbin directories (which
/// a user's PATH may lack).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// `name` (from Debian's package `package`), or `None` after [`skip`].
#[track_caller]
pub fn program_or_skip(name: &str, package: &str) -> Option<PathBuf> {
    match find_program(name) {
        Some(path) => Some(path),
        None => skip(&format!(
            "{name} not installed (apt-get install -y {package})"
        )),
    }
}

/// OpenBSD's nc: `nc.openbsd`, or an `nc` that is OpenBSD's under another name; `None` after
/// [`skip`].
#[track_caller]
pub fn openbsd_nc_or_skip() -> Option<PathBuf> {
    if let Some(path) = find_program("nc.openbsd") {
        return Some(path);
    }
    let nc = find_program("nc").filter(|nc| {
        fs::canonicalize(nc).is_ok_and(|real| real.to_string_lossy().contains("openbsd"))
    });
    match nc {
        Some(nc) => Some(nc),
        None => skip(
            "OpenBSD nc not installed (no nc.openbsd, and nc is not OpenBSD's; apt-get install \
             -y netcat-openbsd)",
        ),
    }
}

/// Another program, run by a test. Dropping it kills the process if it is still running.
pub struct Process {
    pub description: String,
    child: Child,
    /// Where its diagnostics go (stderr, and stdout unless that goes elsewhere), for messages.
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `program ARGS...` with stdin from `stdin` (or /dev/null) and stdout to `stdout`;
    /// stderr, and stdout without `stdout`, go to a log file in `dir`.
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
        // Of its own: two programs of one test may have one name (`ip`, for those in a host).
        static LOGS: AtomicUsize = AtomicUsize::new(0);
        let log = dir.join(&format!(
            "{name}.{}.log",
            LOGS.fetch_add(1, Ordering::SeqCst)
        ));
        let log_file = File::create(&log).unwrap_or_else(|err| panic!("{log:?}: {err}"));
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
            None => Stdio::from(log_file.try_clone().expect("dup the log")),
        });
        command.stderr(log_file);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("starting {description}: {err}"));
        Process {
            description,
            child,
            log,
            status: None,
        }
    }

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("waitpid");
        }
        self.status
    }

    /// What it has said so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the program's log holds `needle`: for a daemon that says when it is ready
    /// and offers nothing else to wait on. Fails the test, with the log, if the program ends
    /// or [`TIMEOUT`] passes first.
    #[track_caller]
    pub fn wait_for_log(&mut self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.log().contains(needle) {
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{}: no {needle:?} in its log within {TIMEOUT:?}; it said {:?}",
                self.description,
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Fails the test if the program has already ended (while it should be serving).
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.try_status() {
            panic!(
                "{} ended early with {status:?}; it said {:?}",
                self.description,
                self.log()
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
                    "{} hung: still running after {TIMEOUT:?}, killed; it said {:?}",
                    self.description,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        assert!(
            status.success(),
            "{}: expected exit status 0, got {status:?}; it said {:?}",
            self.description,
            self.log()
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

/// Waits until `server` listens on `port`, without connecting (it may take only one peer, and
/// a probe would be a stranger to it).
#[track_caller]
pub fn wait_listening_on(server: &mut Process, port: u16) {
    wait_listening_in(server, port, || listening_on(port));
}

/// Waits until `listening()` says that `server` listens on `port`.
#[track_caller]
pub(super) fn wait_listening_in(
    server: &mut Process,
    port: u16,
    mut listening: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + TIMEOUT;
    while !listening() {
        server.assert_running();
        assert!(
            Instant::now() < deadline,
            "{}: not listening on port {port} within {TIMEOUT:?}",
            server.description
        );
        thread::sleep(Duration::from_millis(10));
    }
}
