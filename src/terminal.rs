//! Changing a terminal's modes and always putting them back.
//!
//! A terminal's modes (echo, line editing, signal keys) belong to the terminal, not to tete:
//! the shell and every later program on it see what tete leaves behind. So a change is a guard
//! ([`ModeGuard`]): the modes as tete found them come back when it is dropped (also when a
//! panic unwinds through it), when a signal ends tete, and while tete is stopped (Ctrl-Z), with
//! tete's modes put back when it continues (see `signals`). Two kinds of change exist: echo off
//! for the password prompt, and raw mode for the chat screen.
//!
//! A prompt blocks in read(2), so the event loop cannot act on signals meanwhile: while a prompt
//! is shown, fatal signals end tete at once even if the loop has taken them over, and after a
//! stop the prompt is shown again (the shell has written its own lines since), as
//! readpassphrase(3) does.
//!
//! The saved modes live in atomics, readable from a signal handler; only one guard may exist
//! at a time. The terminal stays reachable for the handler through a duplicate descriptor that
//! is never closed.

use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use rustix::termios::{
    ControlModes, InputModes, LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, Termios,
};

use crate::signals::TerminalSignals;
use crate::sys::{FdSlot, ProcessFd};

/// The terminal whose modes a live guard changed.
static TERMINAL: FdSlot = FdSlot::empty();
/// Its modes as tete found them.
static FOUND: Modes = Modes::new();
/// Its modes as tete set them.
static CHANGED: Modes = Modes::new();

/// The prompt on the screen while a [`ModeGuard::prompt`] lives; empty otherwise.
static PROMPT: Text = Text::new();

/// A short text a signal handler can read.
struct Text {
    bytes: [AtomicU8; Text::CAPACITY],
    len: AtomicUsize,
}

impl Text {
    const CAPACITY: usize = 64;

    const fn new() -> Text {
        Text {
            bytes: [const { AtomicU8::new(0) }; Text::CAPACITY],
            len: AtomicUsize::new(0),
        }
    }

    /// Keeps (the first [`Text::CAPACITY`] bytes of) `text`.
    fn set(&self, text: &[u8]) {
        self.len.store(0, Ordering::SeqCst);
        for (slot, &byte) in self.bytes.iter().zip(text) {
            slot.store(byte, Ordering::SeqCst);
        }
        self.len
            .store(text.len().min(Text::CAPACITY), Ordering::SeqCst);
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::SeqCst) == 0
    }

    /// Writes the text to `terminal`. Async-signal-safe.
    fn write_to(&self, terminal: ProcessFd) {
        let mut copy = [0u8; Text::CAPACITY];
        let len = self.len.load(Ordering::SeqCst);
        for (byte, slot) in copy.iter_mut().zip(&self.bytes).take(len) {
            *byte = slot.load(Ordering::SeqCst);
        }
        let _ = rustix::io::write(terminal.borrow(), &copy[..len]);
    }
}

/// The parts of a terminal's settings tete changes, in a form a signal handler can read.
struct Modes {
    input: AtomicU32,
    output: AtomicU32,
    control: AtomicU32,
    local: AtomicU32,
    min: AtomicU8,
    time: AtomicU8,
}

impl Modes {
    const fn new() -> Modes {
        Modes {
            input: AtomicU32::new(0),
            output: AtomicU32::new(0),
            control: AtomicU32::new(0),
            local: AtomicU32::new(0),
            min: AtomicU8::new(0),
            time: AtomicU8::new(0),
        }
    }

    fn save(&self, termios: &Termios) {
        let ordering = Ordering::SeqCst;
        self.input.store(termios.input_modes.bits(), ordering);
        self.output.store(termios.output_modes.bits(), ordering);
        self.control.store(termios.control_modes.bits(), ordering);
        self.local.store(termios.local_modes.bits(), ordering);
        self.min
            .store(termios.special_codes[SpecialCodeIndex::VMIN], ordering);
        self.time
            .store(termios.special_codes[SpecialCodeIndex::VTIME], ordering);
    }

    fn apply_to(&self, termios: &mut Termios) {
        let ordering = Ordering::SeqCst;
        termios.input_modes = InputModes::from_bits_retain(self.input.load(ordering));
        termios.output_modes = OutputModes::from_bits_retain(self.output.load(ordering));
        termios.control_modes = ControlModes::from_bits_retain(self.control.load(ordering));
        termios.local_modes = LocalModes::from_bits_retain(self.local.load(ordering));
        termios.special_codes[SpecialCodeIndex::VMIN] = self.min.load(ordering);
        termios.special_codes[SpecialCodeIndex::VTIME] = self.time.load(ordering);
    }

    /// Sets these modes on `terminal`, leaving the rest of its settings as they are now.
    /// Async-signal-safe.
    fn set_on(&self, terminal: ProcessFd, when: OptionalActions) -> io::Result<()> {
        let mut termios = rustix::termios::tcgetattr(terminal.borrow())?;
        self.apply_to(&mut termios);
        Ok(rustix::termios::tcsetattr(
            terminal.borrow(),
            when,
            &termios,
        )?)
    }
}

/// A change to a terminal's modes, undone when dropped.
pub struct ModeGuard {
    terminal: ProcessFd,
    _signals: TerminalSignals,
}

impl ModeGuard {
    /// Turns echo off on `terminal` (keeping line editing), discarding anything typed before,
    /// then shows `prompt` (at most 64 bytes), for a password. The prompt is shown again when
    /// tete goes on after a stop.
    pub fn prompt(terminal: impl AsFd, prompt: &[u8]) -> io::Result<ModeGuard> {
        let guard = ModeGuard::change(&terminal, OptionalActions::Flush, |termios| {
            termios.local_modes -= LocalModes::ECHO | LocalModes::ECHONL;
            termios.local_modes |= LocalModes::ICANON;
        })?;
        PROMPT.set(prompt);
        rustix::io::write(&terminal, prompt)?;
        Ok(guard)
    }

    /// Puts `terminal` in raw mode (cfmakeraw(3): bytes as typed, one at a time, no echo, no
    /// signal keys, no output processing, so "\n" does not return the cursor), for the chat
    /// screen.
    #[allow(dead_code)] // Chat mode, wired into the relay next, uses it.
    pub fn raw(terminal: impl AsFd) -> io::Result<ModeGuard> {
        ModeGuard::change(terminal, OptionalActions::Now, Termios::make_raw)
    }

    fn change(
        terminal: impl AsFd,
        when: OptionalActions,
        change: impl FnOnce(&mut Termios),
    ) -> io::Result<ModeGuard> {
        if TERMINAL.get().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the terminal's modes are already changed",
            ));
        }
        let found = rustix::termios::tcgetattr(&terminal)?;
        let mut changed = found.clone();
        change(&mut changed);
        FOUND.save(&found);
        CHANGED.save(&changed);
        let kept = ProcessFd::keep(rustix::io::fcntl_dupfd_cloexec(&terminal, 3)?);
        let guard = ModeGuard {
            terminal: kept,
            _signals: TerminalSignals::watch(),
        };
        // Published after the modes are saved, so a handler that sees it finds them.
        TERMINAL.set(Some(kept));
        CHANGED.set_on(kept, when)?;
        Ok(guard)
    }

    /// Suspends tete as Ctrl-Z would in a shell (for a raw terminal, where Ctrl-Z arrives as a
    /// byte): the terminal gets its found modes back, tete stops, and when continued the raw
    /// mode returns and the event loop hears [`Continued`](crate::signals::Signal::Continued)
    /// (if it has a `SignalSource`), to redraw.
    #[allow(dead_code)] // Chat mode, wired into the relay next, uses it.
    pub fn suspend(&self) -> io::Result<()> {
        let me = rustix::process::getpid();
        Ok(rustix::process::kill_process(
            me,
            rustix::process::Signal::TSTP,
        )?)
    }
}

impl Drop for ModeGuard {
    fn drop(&mut self) {
        PROMPT.set(b"");
        TERMINAL.take();
        let _ = FOUND.set_on(self.terminal, OptionalActions::Now);
    }
}

/// Puts the modes tete found back on the changed terminal, if any. Async-signal-safe.
pub(crate) fn restore_found_modes() {
    if let Some(terminal) = TERMINAL.get() {
        let _ = FOUND.set_on(terminal, OptionalActions::Now);
    }
}

/// Puts tete's changed modes back on the terminal, if a guard is live. Async-signal-safe.
pub(crate) fn reapply_changed_modes() {
    if let Some(terminal) = TERMINAL.get() {
        let _ = CHANGED.set_on(terminal, OptionalActions::Now);
    }
}

/// True while a prompt waits in a blocking read.
pub(crate) fn prompting() -> bool {
    !PROMPT.is_empty()
}

/// Shows the prompt again, if one waits. Async-signal-safe.
pub(crate) fn redisplay_prompt() {
    if let Some(terminal) = TERMINAL.get().filter(|_| prompting()) {
        PROMPT.write_to(terminal);
    }
}

/// The terminal's width in columns, if `terminal` is one and knows it.
#[allow(dead_code)] // Chat mode, wired into the relay next, uses it.
pub fn width(terminal: impl AsFd) -> Option<u16> {
    let size = rustix::termios::tcgetwinsize(terminal).ok()?;
    (size.ws_col > 0).then_some(size.ws_col)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::os::fd::{AsFd, OwnedFd};
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Mutex;

    use rustix::fs::{Mode, OFlags};
    use rustix::pty::OpenptFlags;
    use rustix::termios::{LocalModes, Termios, Winsize};

    use super::{ModeGuard, width};

    /// Held by every test that changes a terminal or sends itself signals: the saved modes
    /// are one per process.
    pub(crate) static PROCESS_STATE: Mutex<()> = Mutex::new(());

    /// A pseudo-terminal's master and slave.
    pub(crate) fn pty() -> (OwnedFd, OwnedFd) {
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let master = rustix::pty::openpt(flags).expect("openpt");
        rustix::pty::grantpt(&master).expect("grantpt");
        rustix::pty::unlockpt(&master).expect("unlockpt");
        let name = rustix::pty::ptsname(&master, Vec::new()).expect("ptsname");
        let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
        let slave = rustix::fs::open(name.as_c_str(), flags, Mode::empty()).expect("open slave");
        (master, slave)
    }

    fn modes(terminal: impl AsFd) -> Termios {
        rustix::termios::tcgetattr(terminal).expect("tcgetattr")
    }

    fn assert_same(found: &Termios, now: &Termios, when: &str) {
        assert_eq!(found.input_modes, now.input_modes, "{when}: input modes");
        assert_eq!(found.output_modes, now.output_modes, "{when}: output modes");
        assert_eq!(
            found.control_modes, now.control_modes,
            "{when}: control modes"
        );
        assert_eq!(found.local_modes, now.local_modes, "{when}: local modes");
    }

    #[test]
    fn raw_mode_is_undone_on_drop_and_on_panic() {
        let _lock = PROCESS_STATE.lock().unwrap_or_else(|err| err.into_inner());
        let (_master, slave) = pty();
        let found = modes(&slave);
        assert!(
            found
                .local_modes
                .contains(LocalModes::ICANON | LocalModes::ECHO)
        );

        let raw = ModeGuard::raw(&slave).expect("raw mode");
        let during = modes(&slave);
        assert!(
            !during.local_modes.contains(LocalModes::ICANON),
            "raw: no line editing"
        );
        assert!(
            !during.local_modes.contains(LocalModes::ECHO),
            "raw: no echo"
        );
        assert!(
            !during.local_modes.contains(LocalModes::ISIG),
            "raw: no signal keys"
        );
        let second = ModeGuard::prompt(&slave, b"").err().map(|err| err.kind());
        assert_eq!(
            second,
            Some(std::io::ErrorKind::AlreadyExists),
            "one guard at a time"
        );
        drop(raw);
        assert_same(&found, &modes(&slave), "after drop");

        let unwound = catch_unwind(AssertUnwindSafe(|| {
            let _raw = ModeGuard::raw(&slave).expect("raw mode");
            panic!("a bug in the chat screen");
        }));
        assert!(unwound.is_err());
        assert_same(&found, &modes(&slave), "after a panic");

        let echo_off = ModeGuard::prompt(&slave, b"Password: ").expect("echo off");
        let during = modes(&slave);
        assert!(!during.local_modes.contains(LocalModes::ECHO), "echo off");
        assert!(
            during.local_modes.contains(LocalModes::ICANON),
            "line editing kept"
        );
        drop(echo_off);
        assert_same(&found, &modes(&slave), "after echo off");
    }

    #[test]
    fn a_signal_handler_can_undo_and_redo_the_change() {
        let _lock = PROCESS_STATE.lock().unwrap_or_else(|err| err.into_inner());
        let (_master, slave) = pty();
        let found = modes(&slave);
        let raw = ModeGuard::raw(&slave).expect("raw mode");
        let changed = modes(&slave);
        // What SIGTSTP does before tete stops, and SIGCONT after.
        super::restore_found_modes();
        assert_same(&found, &modes(&slave), "stopped");
        super::reapply_changed_modes();
        assert_same(&changed, &modes(&slave), "continued");
        drop(raw);
        // With no guard live, both do nothing.
        super::reapply_changed_modes();
        assert_same(&found, &modes(&slave), "after the guard");
    }

    #[test]
    fn width_of_a_terminal_and_of_a_pipe() {
        let (master, slave) = pty();
        let size = Winsize {
            ws_row: 24,
            ws_col: 97,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, size).expect("tcsetwinsize");
        assert_eq!(width(&slave), Some(97));
        let (read_end, _write_end) = rustix::pipe::pipe().expect("pipe");
        assert_eq!(width(&read_end), None);
        let _lock = PROCESS_STATE.lock().unwrap_or_else(|err| err.into_inner());
        let refused = ModeGuard::raw(&read_end)
            .err()
            .and_then(|err| err.raw_os_error());
        assert_eq!(refused, Some(libc::ENOTTY), "a pipe has no modes");
    }
}
