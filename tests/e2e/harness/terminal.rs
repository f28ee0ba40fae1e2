//! Terminals: a pseudo-terminal the test types on and reads ([`Pty`]), its settings
//! ([`Termios`]), what a person would see on it (a `vt100` emulator), and a job-control shell.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::Write;
use std::num::NonZeroU16;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::{ControlModes, InputModes, LocalModes, OutputModes, Winsize};

use super::watch::Watch;
use super::{TETE, TIMEOUT, dup};

/// A pseudo-terminal: the test types on and reads from the master; tete gets the slave.
pub struct Pty {
    master: File,
    slave: File,
    /// The slave's name, to open it anew.
    name: CString,
    output: Arc<Watch>,
}

impl Pty {
    /// Opens a pseudo-terminal with the system's default settings (echo, canonical mode).
    pub fn open() -> Pty {
        Pty::open_with(usize::MAX, None)
    }

    /// A slow terminal, for floods: it takes what it is sent at about 2 MB/s (4 KiB every
    /// 2 ms), as a terminal emulator busy drawing it would, and keeps only the last 64 KiB or
    /// so for the test to look at.
    pub fn open_slow() -> Pty {
        Pty::open_with(64 * 1024, Some(Duration::from_millis(2)))
    }

    fn open_with(keep: usize, pause: Option<Duration>) -> Pty {
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
                .expect("posix_openpt");
        rustix::pty::grantpt(&master).expect("grantpt");
        rustix::pty::unlockpt(&master).expect("unlockpt");
        let name = rustix::pty::ptsname(&master, Vec::new()).expect("ptsname");
        let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
        let slave = rustix::fs::open(name.as_c_str(), flags, Mode::empty())
            .unwrap_or_else(|err| panic!("opening {name:?}: {err}"));
        let master = File::from(master);
        let output = Watch::spawn_slow(dup(&master), keep, pause);
        Pty {
            master,
            slave: File::from(slave),
            name,
            output,
        }
    }

    /// A descriptor of the slave, to give tete as stdin, stdout or stderr.
    pub fn slave_fd(&self) -> OwnedFd {
        dup(&self.slave).into()
    }

    /// The test's own descriptor of the slave (for its settings and its flags).
    pub fn slave(&self) -> &File {
        &self.slave
    }

    /// Sets the window's size, as a terminal emulator does (the kernel tells tete: SIGWINCH).
    pub fn set_size(&self, rows: u16, cols: u16) {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.slave, size).expect("TIOCSWINSZ");
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

    /// Everything written to the terminal up to now, read: a marker written on the slave after
    /// the writers have ended comes out behind all they wrote, and is taken out again.
    #[track_caller]
    pub fn settled_output(&self) -> String {
        static MARKS: AtomicUsize = AtomicUsize::new(0);
        let marker = format!(
            "<tete-test-settled-{}>",
            MARKS.fetch_add(1, Ordering::SeqCst)
        );
        // A description of its own, non-blocking: a stopped terminal fails the test, not
        // hangs it, and the flags of the descriptors tete had stay as they are.
        let flags = OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let slave = rustix::fs::open(self.name.as_c_str(), flags, Mode::empty())
            .unwrap_or_else(|err| panic!("opening {:?}: {err}", self.name));
        write_when_ready(&File::from(slave), marker.as_bytes());
        self.output
            .wait_and_remove(marker.as_bytes(), TIMEOUT)
            .unwrap_or_else(|text| panic!("the marker never came through; {text:?}"));
        self.output()
    }

    /// The terminal's settings now.
    pub fn termios(&self) -> Termios {
        Termios::of(&self.slave)
    }

    /// Waits until the screen (a terminal of `size`, resized as `resizes` say) shows what
    /// `ready` looks for, and returns it; drawn again at each byte the terminal shows.
    #[track_caller]
    pub fn wait_for_screen(
        &self,
        resizes: &[Resize],
        what: &str,
        ready: impl Fn(&vt100::Screen) -> bool,
    ) -> vt100::Screen {
        let screen = self.output.wait_until(TIMEOUT, |text| {
            let screen = render(text, resizes).screen().clone();
            ready(&screen).then_some(screen)
        });
        screen.unwrap_or_else(|text| {
            let screen = render(&text, resizes).screen().clone();
            panic!(
                "the screen never showed {what}; it shows:\n{}",
                rows(&screen).join("\n")
            )
        })
    }
}

/// The settings of a terminal, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termios {
    pub input: InputModes,
    pub output: OutputModes,
    pub control: ControlModes,
    pub local: LocalModes,
    /// The control characters, as `rustix` spells them all.
    pub special_codes: String,
    pub input_speed: u32,
    pub output_speed: u32,
}

impl Termios {
    pub fn of(fd: impl AsFd) -> Termios {
        let raw = rustix::termios::tcgetattr(fd).expect("tcgetattr");
        Termios {
            input: raw.input_modes,
            output: raw.output_modes,
            control: raw.control_modes,
            local: raw.local_modes,
            special_codes: format!("{:?}", raw.special_codes),
            input_speed: raw.input_speed(),
            output_speed: raw.output_speed(),
        }
    }

    /// Whether the line discipline edits lines (canonical mode): off in a chat's raw mode.
    pub fn canonical(&self) -> bool {
        self.local.contains(LocalModes::ICANON)
    }

    /// Whether typed characters are echoed: off at a password prompt.
    pub fn echo(&self) -> bool {
        self.local.contains(LocalModes::ECHO)
    }
}

/// The size a terminal emulator starts with.
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// A window's new size (rows, columns), taking effect after the first `at` bytes of output.
pub type Resize = (usize, u16, u16);

/// What a terminal emulator was asked to do besides drawing.
#[derive(Default)]
pub struct Requests {
    /// The window's title or icon name set.
    pub retitled: bool,
}

impl vt100::Callbacks for Requests {
    fn set_window_title(&mut self, _: &mut vt100::Screen, _: &[u8]) {
        self.retitled = true;
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, _: &[u8]) {
        self.retitled = true;
    }
}

/// A terminal emulator that notes what it was asked besides drawing.
pub type Emulator = vt100::Parser<Requests>;

fn size(rows: u16, cols: u16) -> (NonZeroU16, NonZeroU16) {
    (
        NonZeroU16::new(rows).expect("rows"),
        NonZeroU16::new(cols).expect("columns"),
    )
}

/// What a terminal of [`ROWS`] x [`COLS`] shows after `output`, resized as `resizes` say.
pub fn render(output: &str, resizes: &[Resize]) -> Emulator {
    let output = output.as_bytes();
    let (rows, cols) = size(ROWS, COLS);
    let mut emulator = Emulator::new_with_callbacks(rows, cols, 0, Requests::default());
    let mut done = 0;
    for &(at, rows, cols) in resizes {
        emulator.process(&output[done..at]);
        let (rows, cols) = size(rows, cols);
        emulator.set_size(rows, cols);
        done = at;
    }
    emulator.process(&output[done..]);
    emulator
}

/// The screen's rows, without trailing blanks.
pub fn rows(screen: &vt100::Screen) -> Vec<String> {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols.get())
        .map(|row| row.trim_end().to_string())
        .collect()
}

/// Writes `bytes` on a non-blocking terminal descriptor, waiting for it to be writable while
/// another writer holds the terminal (the kernel turns a non-blocking write away then) or its
/// output is full; a terminal that stays stopped fails the test.
#[track_caller]
fn write_when_ready(terminal: &File, mut bytes: &[u8]) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !bytes.is_empty() {
        match rustix::io::write(terminal, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                assert!(
                    !left.is_zero(),
                    "the terminal took no output for {TIMEOUT:?}"
                );
                let mut fds = [PollFd::new(terminal, PollFlags::OUT)];
                let timeout = Timespec::try_from(left.min(Duration::from_millis(50)))
                    .expect("a short timeout");
                let _ = rustix::event::poll(&mut fds, Some(&timeout));
            }
            Err(err) => panic!("writing the marker on the terminal: {err}"),
        }
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
