//! Putting things back when a signal ends tete.
//!
//! Some of what tete changes is shared with the shell that started it: the flags of a standard
//! descriptor it could not reopen privately, and the terminal's echo while a password is typed.
//! Normal exits undo these in code; this module makes SIGINT, SIGTERM and SIGHUP undo them too,
//! then lets the signal end the process as it would have (so the shell sees the usual status).

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The signals after which a terminal or pipe would otherwise be left changed.
const FATAL_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Restore functions to run on a fatal signal, as `fn()` addresses; 0 marks a free slot.
static RESTORERS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

static INSTALL: Once = Once::new();

/// Arranges for `restore` (which must be async-signal-safe) to run if a fatal signal arrives.
pub fn restore_on_fatal_signals(restore: fn()) {
    let address = restore as usize;
    for slot in &RESTORERS {
        match slot.compare_exchange(0, address, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break,
            Err(existing) if existing == address => break,
            Err(_) => continue,
        }
    }
    INSTALL.call_once(|| {
        for signal in FATAL_SIGNALS {
            // SAFETY: the handler only runs async-signal-safe code (see `on_fatal_signal`).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fatal_signal as *const () as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_fatal_signal(signal: libc::c_int) {
    for slot in &RESTORERS {
        let address = slot.load(Ordering::SeqCst);
        if address != 0 {
            // SAFETY: only `fn()` addresses are ever stored in RESTORERS.
            let restore: fn() = unsafe { std::mem::transmute::<usize, fn()>(address) };
            restore();
        }
    }
    // Die of the same signal, as the default action would have.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}
