//! The system calls that `rustix` has no safe wrapper for, each behind one.
//!
//! Everything else tete asks of the kernel goes through `rustix`, whose functions take borrowed
//! descriptors and return `io::Result`. What is left needs raw pointers or process-wide state:
//! installing signal handlers, dying of a signal, the TCP send queue (`TIOCOUTQ`) and scrubbing
//! the environment block. This is the only module allowed `unsafe`; each block says why it holds.

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use zeroize::{Zeroize, Zeroizing};

/// Signals that stay blocked while any of tete's handlers runs: a handler that changes the
/// terminal from a background process group must not be stopped by `SIGTTOU` half-way, and the
/// job-control handler must not run inside itself.
const BLOCKED_IN_HANDLERS: [libc::c_int; 3] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU];

/// What a signal did before tete installed its handler, so it can be put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignore,
    /// Some handler, tete's or another's.
    Handler,
}

/// Makes `handler` run on `signal` (with interrupted calls restarted); returns what was there.
pub fn install_handler(
    signal: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<Disposition> {
    set_action(signal, handler as *const () as libc::sighandler_t)
}

/// Puts back the default action or ignoring for `signal`.
pub fn set_disposition(signal: libc::c_int, disposition: Disposition) -> io::Result<()> {
    let action = match disposition {
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Default | Disposition::Handler => libc::SIG_DFL,
    };
    set_action(signal, action).map(drop)
}

fn set_action(signal: libc::c_int, handler: libc::sighandler_t) -> io::Result<Disposition> {
    // SAFETY: an all-zero sigaction is a valid value (no flags, empty mask, SIG_DFL).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: as above.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `action` and `previous` are valid sigaction values owned by this frame; the
    // handlers tete installs only run async-signal-safe code (atomics and system calls).
    let result = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        for blocked in BLOCKED_IN_HANDLERS {
            libc::sigaddset(&mut action.sa_mask, blocked);
        }
        libc::sigaction(signal, &action, &mut previous)
    };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(match previous.sa_sigaction {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignore,
        _ => Disposition::Handler,
    })
}

/// Lets `signal` take its default action now: ends the process for a fatal signal, stops it
/// for a job-control signal (and returns once it is continued). Async-signal-safe, and meant to
/// be called from a handler of `signal`, where the signal is blocked: it is unblocked first.
pub fn raise_with_default_action(signal: libc::c_int) {
    // SAFETY: sigset and sigaction values built in this frame; signal(), sigprocmask() and
    // raise() are async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// Bytes written on the TCP socket `socket` that the peer has not acknowledged yet.
#[cfg(target_os = "linux")]
pub fn unacknowledged_bytes(socket: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one c_int through the pointer, which points at `n`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut n) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

/// A descriptor that stays open until the process ends, so a signal handler can use it at any
/// moment without the risk of it being closed (and its number reused) under it.
#[derive(Debug, Clone, Copy)]
pub struct ProcessFd(RawFd);

impl ProcessFd {
    /// Keeps `fd` open for the rest of the process.
    pub fn keep(fd: OwnedFd) -> ProcessFd {
        ProcessFd(fd.into_raw_fd())
    }

    pub fn borrow(self) -> BorrowedFd<'static> {
        // SAFETY: the descriptor came from an OwnedFd whose ownership `keep` gave up; nothing
        // ever closes it, so it is open for the rest of the process.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// A place a signal handler can read a [`ProcessFd`] from; empty until `set`.
pub struct FdSlot(AtomicI32);

impl FdSlot {
    pub const fn empty() -> FdSlot {
        FdSlot(AtomicI32::new(-1))
    }

    pub fn set(&self, fd: Option<ProcessFd>) {
        self.0.store(fd.map_or(-1, |fd| fd.0), Ordering::SeqCst);
    }

    /// The descriptor, and empties the slot.
    pub fn take(&self) -> Option<ProcessFd> {
        let fd = self.0.swap(-1, Ordering::SeqCst);
        (fd >= 0).then_some(ProcessFd(fd))
    }

    pub fn get(&self) -> Option<ProcessFd> {
        let fd = self.0.load(Ordering::SeqCst);
        // Only `set` writes the slot, and only with a ProcessFd's number.
        (fd >= 0).then_some(ProcessFd(fd))
    }
}

/// Reads environment variable `name` once, then overwrites its value in the process's
/// environment block and removes it, so `/proc/PID/environ` (which shows the block the process
/// started with) no longer holds it. Every entry of that name is wiped (a block may hold
/// several); the value is the first one's, as getenv(3) gives. The caller must be the only
/// thread.
pub fn take_environment_variable(name: &str) -> Option<Zeroizing<Vec<u8>>> {
    let prefix = format!("{name}=");
    let mut value = None;
    // Single-threaded here (the first thing `run` does): nothing changes `environ` meanwhile.
    // SAFETY: `environ` is a null-terminated array of pointers to NUL-terminated strings in
    // writable memory of this process; only bytes between an entry's `=` and its NUL are
    // written, so every entry stays a valid string reading `NAME=` for `remove_var` to find.
    unsafe {
        let mut entries = libc::environ;
        while !entries.is_null() && !(*entries).is_null() {
            let entry = CStr::from_ptr(*entries).to_bytes();
            if entry.starts_with(prefix.as_bytes()) {
                let found = &entry[prefix.len()..];
                value.get_or_insert_with(|| Zeroizing::new(found.to_vec()));
                let value_start = (*entries).add(prefix.len()).cast::<u8>();
                std::slice::from_raw_parts_mut(value_start, found.len()).zeroize();
            }
            entries = entries.add(1);
        }
    }
    if value.is_some() {
        // SAFETY: single-threaded, as above.
        unsafe { std::env::remove_var(OsStr::new(name)) };
    }
    value
}
