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
//! The saved modes live in [`crate::saved`], readable from a signal handler; only one guard may
//! exist at a time. The terminal stays reachable for the handler through a duplicate descriptor
//! that is never closed.

use std::io;
use std::os::fd::AsFd;

use rustix::termios::{LocalModes, OptionalActions, Termios};

use crate::saved;
use crate::signals::TerminalSignals;
use crate::sys::ProcessFd;

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
        saved::set_prompt(prompt);
        rustix::io::write(&terminal, prompt)?;
        Ok(guard)
    }

    /// Puts `terminal` in raw mode (cfmakeraw(3): bytes as typed, one at a time, no echo, no
    /// signal keys, no output processing, so "\n" does not return the cursor), for the chat
    /// screen.
    pub fn raw(terminal: impl AsFd) -> io::Result<ModeGuard> {
        ModeGuard::change(terminal, OptionalActions::Now, Termios::make_raw)
    }

    fn change(
        terminal: impl AsFd,
        when: OptionalActions,
        change: impl FnOnce(&mut Termios),
    ) -> io::Result<ModeGuard> {
        if saved::terminal_changed() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the terminal's modes are already changed",
            ));
        }
        let found = rustix::termios::tcgetattr(&terminal)?;
        let mut changed = found.clone();
        change(&mut changed);
        let kept = ProcessFd::keep(rustix::io::fcntl_dupfd_cloexec(&terminal, 3)?);
        let guard = ModeGuard {
            terminal: kept,
            _signals: TerminalSignals::watch(),
        };
        // Saved and published before the change, so a handler can always undo it.
        saved::publish_terminal(kept, &found, &changed);
        saved::apply_changed_modes(kept, when)?;
        Ok(guard)
    }

    /// Suspends tete as Ctrl-Z would in a shell (for a raw terminal, where Ctrl-Z arrives as a
    /// byte): the terminal gets its found modes back, tete stops, and when continued the raw
    /// mode returns and the event loop hears [`Continued`](crate::signals::Signal::Continued)
    /// (if it has a `SignalSource`), to redraw.
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
        saved::withdraw_terminal();
        let _ = saved::apply_found_modes(self.terminal);
    }
}

/// The terminal's width in columns, if `terminal` is one and knows it.
pub fn width(terminal: impl AsFd) -> Option<u16> {
    size(terminal).map(|(columns, _)| columns)
}

/// The terminal's size, columns and rows, if `terminal` is one and knows it (a size of 0 is
/// not known).
pub fn size(terminal: impl AsFd) -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(terminal).ok()?;
    (size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
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
        crate::saved::restore_found_modes();
        assert_same(&found, &modes(&slave), "stopped");
        crate::saved::reapply_changed_modes();
        assert_same(&changed, &modes(&slave), "continued");
        drop(raw);
        // With no guard live, both do nothing.
        crate::saved::reapply_changed_modes();
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
