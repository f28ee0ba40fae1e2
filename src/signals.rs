//! Signals: putting shared state back when one ends tete, and handing them to the event loop.
//!
//! Some of what tete changes is shared with the shell that started it: the flags of a standard
//! descriptor it could not reopen privately, and the terminal's modes (echo off at the password
//! prompt, raw mode in a chat). Normal exits undo these in code. A signal that ends tete must
//! undo them too, then let the signal end the process as it would have, so the shell sees the
//! usual status ([`die_of`]).
//!
//! One handler serves every signal; what it may touch is a fixed set of atomics (the shared
//! state `stdio` and `terminal` saved in [`crate::saved`], the pending set here) and system
//! calls, all async-signal-safe. What it does:
//! - SIGINT, SIGTERM, SIGHUP: while a [`SignalSource`] exists, it notes the signal for the event
//!   loop, which drains it and decides (a password session sends an authenticated close first,
//!   then calls [`die_of`]); otherwise, and always while the password prompt blocks, it
//!   restores and dies at once.
//! - SIGWINCH, SIGCONT: noted for the loop (a chat screen redraws); SIGCONT also puts the
//!   terminal back into the mode tete had set, which the shell may have changed while tete
//!   was stopped, and shows a waiting prompt again.
//! - SIGTSTP, SIGTTIN, SIGTTOU (while tete has changed the terminal): the terminal goes back to
//!   how tete found it, tete stops, and once continued the changed mode comes back.
//! - SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2, SIGPIPE (while tete has changed the terminal, as
//!   readpassphrase(3) does): restore and die.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::saved;
use crate::sys::{self, Disposition, FdSlot, ProcessFd};

/// A signal the event loop can take over from the default handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP: the terminal went away.
    HangUp,
    /// SIGCONT: tete was stopped and goes on; the terminal may need redrawing.
    Continued,
    /// SIGWINCH: the terminal's size changed.
    WindowChanged,
}

impl Signal {
    /// All of them, in the order [`SignalSource::drain`] reports them: endings first.
    const ALL: [Signal; 5] = [
        Signal::Interrupt,
        Signal::Terminate,
        Signal::HangUp,
        Signal::Continued,
        Signal::WindowChanged,
    ];

    /// The signal's number.
    pub fn number(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
            Signal::HangUp => libc::SIGHUP,
            Signal::Continued => libc::SIGCONT,
            Signal::WindowChanged => libc::SIGWINCH,
        }
    }

    fn from_number(number: libc::c_int) -> Option<Signal> {
        Signal::ALL
            .into_iter()
            .find(|signal| signal.number() == number)
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The signals that end tete unless the loop has taken them over.
const FATAL: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The job-control signals, handled while the terminal is changed.
const JOB_CONTROL: [libc::c_int; 4] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU, libc::SIGCONT];

/// More signals that would leave a changed terminal behind, handled only while it is changed
/// (SIGPIPE, for one, is otherwise ignored, so writes report EPIPE).
const FATAL_WHILE_TERMINAL_CHANGED: [libc::c_int; 5] = [
    libc::SIGQUIT,
    libc::SIGALRM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
];

/// Signals noted for the loop and not yet drained, one bit per [`Signal`].
static PENDING: AtomicU32 = AtomicU32::new(0);

/// The writing end of the live [`SignalSource`]'s wake-up pipe; empty when there is none.
static LOOP_WAKER: FdSlot = FdSlot::empty();

/// Arranges for SIGINT, SIGTERM and SIGHUP to put back shared state before they end tete.
/// Call before changing anything shared; later calls do nothing.
pub fn restore_on_fatal_signals() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| install(&FATAL));
}

fn install(signals: &[libc::c_int]) {
    for &signal in signals {
        // Failing means a bad signal number, which these constants are not.
        let _ = sys::install_handler(signal, on_signal);
    }
}

/// Puts back all shared state tete changed (descriptor flags, terminal modes) and ends the
/// process with `signal`'s default action, so the shell sees the status it expects. For the
/// loop to call once it has done what it wanted to do before dying.
pub fn die_of(signal: Signal) -> ! {
    saved::restore_all();
    sys::raise_with_default_action(signal.number());
    // SIGCONT and SIGWINCH do not end a process by default: end it as if they had.
    std::process::exit(128 + signal.number())
}

/// The one handler. Async-signal-safe: atomics and system calls only.
extern "C" fn on_signal(number: libc::c_int) {
    match number {
        libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
            saved::restore_found_modes();
            // Stops here until continued (or returns at once in an orphaned process group,
            // where the kernel discards stop signals).
            sys::raise_with_default_action(number);
            let _ = sys::install_handler(number, on_signal);
            saved::reapply_changed_modes();
        }
        _ => {
            if number == libc::SIGCONT {
                saved::reapply_changed_modes();
                saved::redisplay_prompt();
            }
            // A prompt blocks the loop: it could not act on an ending.
            let loop_listens =
                LOOP_WAKER.get().is_some() && !(FATAL.contains(&number) && saved::prompting());
            match Signal::from_number(number) {
                Some(signal) if loop_listens => wake_loop(signal),
                Some(Signal::Continued | Signal::WindowChanged) => {}
                _ => {
                    saved::restore_all();
                    sys::raise_with_default_action(number);
                }
            }
        }
    }
}

fn wake_loop(signal: Signal) {
    PENDING.fetch_or(signal.bit(), Ordering::SeqCst);
    if let Some(waker) = LOOP_WAKER.get() {
        // A full pipe already holds a wake-up; the bit above is what counts.
        let _ = rustix::io::write(waker.borrow(), &[1]);
    }
}

/// Job control and the other terminal-leaving signals, handled for as long as this lives;
/// the terminal module holds one while it has changed the terminal's modes.
pub struct TerminalSignals {
    /// What the extra fatal signals did before, to put back.
    previous: [Disposition; FATAL_WHILE_TERMINAL_CHANGED.len()],
}

impl TerminalSignals {
    pub fn watch() -> TerminalSignals {
        restore_on_fatal_signals();
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| install(&JOB_CONTROL));
        let previous = FATAL_WHILE_TERMINAL_CHANGED
            .map(|signal| sys::install_handler(signal, on_signal).unwrap_or(Disposition::Default));
        TerminalSignals { previous }
    }
}

impl Drop for TerminalSignals {
    fn drop(&mut self) {
        for (signal, previous) in FATAL_WHILE_TERMINAL_CHANGED.into_iter().zip(self.previous) {
            if previous != Disposition::Handler {
                let _ = sys::set_disposition(signal, previous);
            }
        }
    }
}

/// SIGINT, SIGTERM, SIGHUP, SIGWINCH and SIGCONT as a mio event source: while it lives, these
/// signals no longer act by themselves but wake the loop, which [`drain`](Self::drain)s them.
/// A loop that decides to end on SIGINT, SIGTERM or SIGHUP calls [`die_of`]. Make one per
/// process: each keeps a small wake-up descriptor open until exit, which the handler may use
/// at any moment.
pub struct SignalSource {
    wake: mio::net::UnixStream,
}

impl SignalSource {
    pub fn new() -> io::Result<SignalSource> {
        let (read_end, write_end) = std::os::unix::net::UnixStream::pair()?;
        read_end.set_nonblocking(true)?;
        write_end.set_nonblocking(true)?;
        LOOP_WAKER.set(Some(ProcessFd::keep(OwnedFd::from(write_end))));
        restore_on_fatal_signals();
        install(&[libc::SIGWINCH, libc::SIGCONT]);
        Ok(SignalSource {
            wake: mio::net::UnixStream::from_std(read_end),
        })
    }

    /// The signals that arrived since the last call, each once, endings first.
    pub fn drain(&mut self) -> Vec<Signal> {
        let mut wake_ups = [0u8; 64];
        while matches!(self.wake.read(&mut wake_ups), Ok(n) if n > 0) {}
        let pending = PENDING.swap(0, Ordering::SeqCst);
        Signal::ALL
            .into_iter()
            .filter(|signal| pending & signal.bit() != 0)
            .collect()
    }
}

impl Drop for SignalSource {
    fn drop(&mut self) {
        // The descriptor stays open (the handler may be writing to it right now), unused.
        LOOP_WAKER.take();
    }
}

impl Source for SignalSource {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.wake.register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.wake.reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.wake.deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mio::{Events, Interest, Poll, Token};

    use super::{Signal, SignalSource};

    #[test]
    fn numbers_round_trip() {
        for signal in Signal::ALL {
            assert_eq!(Signal::from_number(signal.number()), Some(signal));
        }
        assert_eq!(Signal::from_number(libc::SIGQUIT), None);
    }

    /// SIGWINCH and SIGCONT (both harmless to a running test process) wake the loop's poll and
    /// drain once each, in the documented order, however often they came. They are sent to
    /// this thread: one sent to the whole process may be handled by another thread at any
    /// later moment, even after the drain that was to see it.
    #[test]
    fn the_loop_hears_signals_through_its_source() {
        let _lock = crate::terminal::tests::PROCESS_STATE
            .lock()
            .unwrap_or_else(|err| err.into_inner());
        let mut poll = Poll::new().expect("poll");
        let mut source = SignalSource::new().expect("signal source");
        let token = Token(7);
        poll.registry()
            .register(&mut source, token, Interest::READABLE)
            .expect("register");
        let mut events = Events::with_capacity(4);

        for raw in [libc::SIGWINCH, libc::SIGCONT, libc::SIGWINCH] {
            crate::sys::raise_here(raw).expect("raise");
        }
        poll.poll(&mut events, Some(Duration::from_secs(20)))
            .expect("poll");
        assert!(!events.is_empty(), "the poll woke");
        assert!(events.iter().all(|event| event.token() == token));
        assert_eq!(
            source.drain(),
            [Signal::Continued, Signal::WindowChanged],
            "each once, endings first"
        );
        assert!(source.drain().is_empty(), "drained once");
    }
}
