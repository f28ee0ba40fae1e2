//! The state a signal handler may touch: what tete changed that it shares with the shell, saved
//! so that a signal which ends or stops tete can put it back.
//!
//! Two modules change shared state and write it here: `stdio` (the flags of a standard
//! descriptor it could not reopen privately) and `terminal` (the terminal's modes, and the
//! password prompt on the screen). `signals` only reads it, from its handler. This module
//! imports neither of them, so the handler's needs point one way.
//!
//! Everything here is a fixed set of atomics, and every function a handler calls is
//! async-signal-safe (atomics and system calls only). A handler can run between any two
//! instructions of the writers, so they keep this order:
//! - **Save before changing.** The old flags or modes are stored (and, for the terminal,
//!   published with [`publish_terminal`] after both sets of modes are stored) before the change
//!   itself is made: a handler that runs after the change always finds what to put back.
//! - **Withdraw before restoring.** A guard that ends takes its terminal out
//!   ([`withdraw_terminal`]) before it puts the found modes back itself, so a handler that runs
//!   afterwards does not apply modes to a terminal tete no longer holds.
//! - **Restore once.** [`restore_flags`] swaps each saved value out as it puts it back, so the
//!   normal exit and a handler cannot both restore, and a handler never restores stale flags.
//! - **Descriptors stay open.** The terminal is reached through a [`ProcessFd`], never closed,
//!   so its number cannot be reused under a handler.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicUsize, Ordering};

use rustix::fs::OFlags;
use rustix::termios::{
    ControlModes, InputModes, LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, Termios,
};

use crate::sys::{FdSlot, ProcessFd};

/// The flags of standard descriptors 0 and 1 as tete found them, or -1 where tete changed nothing.
static SAVED_FLAGS: [AtomicI32; 2] = [AtomicI32::new(-1), AtomicI32::new(-1)];

/// The terminal whose modes a live guard changed.
static TERMINAL: FdSlot = FdSlot::empty();
/// Its modes as tete found them.
static FOUND: Modes = Modes::new();
/// Its modes as tete set them.
static CHANGED: Modes = Modes::new();

/// The prompt on the screen while a password prompt waits; empty otherwise.
static PROMPT: Text = Text::new();

/// Saves the flags standard descriptor `index` (0 or 1) had, before tete changes them.
pub fn save_flags(index: RawFd, flags: OFlags) {
    if let Some(saved) = usize::try_from(index).ok().and_then(|i| SAVED_FLAGS.get(i)) {
        saved.store(flags.bits() as i32, Ordering::SeqCst);
    }
}

/// Puts back the flags tete changed, once. Async-signal-safe: only atomics and fcntl.
pub fn restore_flags() {
    let standard = [rustix::stdio::stdin(), rustix::stdio::stdout()];
    for (fd, saved) in standard.into_iter().zip(&SAVED_FLAGS) {
        let flags = saved.swap(-1, Ordering::SeqCst);
        if flags != -1 {
            let _ = rustix::fs::fcntl_setfl(fd, OFlags::from_bits_retain(flags as u32));
        }
    }
}

/// True while a terminal's modes are changed (a guard is live).
pub fn terminal_changed() -> bool {
    TERMINAL.get().is_some()
}

/// Saves `found` and `changed` for `terminal`, then publishes it: from here on a handler may
/// put either set of modes on it. Call before changing the terminal.
pub fn publish_terminal(terminal: ProcessFd, found: &Termios, changed: &Termios) {
    FOUND.save(found);
    CHANGED.save(changed);
    // Published after the modes are saved, so a handler that sees it finds them.
    TERMINAL.set(Some(terminal));
}

/// Takes the terminal out (and any prompt with it): handlers leave it alone from here on.
pub fn withdraw_terminal() {
    PROMPT.set(b"");
    TERMINAL.take();
}

/// Sets the modes tete changed on `terminal` (a guard's own, once published).
pub fn apply_changed_modes(terminal: ProcessFd, when: OptionalActions) -> io::Result<()> {
    CHANGED.set_on(terminal, when)
}

/// Puts the found modes on `terminal` (a guard's own, after [`withdraw_terminal`]).
pub fn apply_found_modes(terminal: ProcessFd) -> io::Result<()> {
    FOUND.set_on(terminal, OptionalActions::Now)
}

/// Puts the modes tete found back on the changed terminal, if any. Async-signal-safe.
pub fn restore_found_modes() {
    if let Some(terminal) = TERMINAL.get() {
        let _ = FOUND.set_on(terminal, OptionalActions::Now);
    }
}

/// Puts tete's changed modes back on the terminal, if a guard is live. Async-signal-safe.
pub fn reapply_changed_modes() {
    if let Some(terminal) = TERMINAL.get() {
        let _ = CHANGED.set_on(terminal, OptionalActions::Now);
    }
}

/// Keeps `prompt` (its first 64 bytes), now on the screen, to show again after a stop.
pub fn set_prompt(prompt: &[u8]) {
    PROMPT.set(prompt);
}

/// True while a prompt waits in a blocking read.
pub fn prompting() -> bool {
    !PROMPT.is_empty()
}

/// Shows the prompt again, if one waits. Async-signal-safe.
pub fn redisplay_prompt() {
    if let Some(terminal) = TERMINAL.get().filter(|_| prompting()) {
        PROMPT.write_to(terminal);
    }
}

/// Puts back all shared state tete changed: descriptor flags and terminal modes.
/// Async-signal-safe.
pub fn restore_all() {
    restore_flags();
    restore_found_modes();
}

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
