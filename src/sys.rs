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
use std::time::Duration;

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

/// Sends `signal` to the calling thread alone, so that its handler has run when this returns.
/// (A signal sent to the whole process goes to whichever thread the kernel picks, often
/// another one, which may run its handler only later.) For tests.
#[cfg(test)]
pub fn raise_here(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: raise() takes a plain integer and touches no memory of ours.
    match unsafe { libc::raise(signal) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
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

/// `TCP_RTO_MAX_MS` (Linux 6.15): the longest wait between retransmissions, and between probes
/// of a closed window (not yet in the libc crate).
#[cfg(target_os = "linux")]
const TCP_RTO_MAX_MS: libc::c_int = 44;

/// The kernel's ranges (Linux): keepalive times in whole seconds up to `MAX_TCP_KEEPINTVL`, at
/// most `MAX_TCP_KEEPCNT` probes, `TCP_USER_TIMEOUT` in milliseconds that fit an int. A value
/// outside is refused with EINVAL, which would leave the whole setting undone.
const MAX_KEEPALIVE_TIME: Duration = Duration::from_secs(32_767);
pub const MAX_KEEPALIVE_COUNT: u32 = 127;
const MAX_USER_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// Makes the kernel ask an idle connection's peer for a sign of life: a keepalive probe after
/// `interval` with nothing received, then one every `interval`, the connection given up after
/// `count` unanswered (or after the user timeout, when one is set); both clamped to what the
/// kernel takes. Where the kernel allows it (Linux 6.15 and later) retransmissions and the
/// probes of a closed window are also kept at most `retransmit_cap` apart, whatever becomes of
/// the keepalive setting: measured on a 50 Mbit/s link, the probes of a window closed for 170 s
/// otherwise drifted up to 110 s apart (so a last ACK that old says nothing), and after a 20 s
/// outage the next retransmission may come only after the link has long been back.
pub fn keep_probing(
    socket: BorrowedFd<'_>,
    interval: Duration,
    count: u32,
    retransmit_cap: Duration,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let cap = libc::c_int::try_from(retransmit_cap.as_millis()).unwrap_or(libc::c_int::MAX);
        // An older kernel refuses the option: it keeps its own cap of 120 s.
        let _ = set_int(
            socket,
            libc::IPPROTO_TCP,
            TCP_RTO_MAX_MS,
            cap.clamp(1000, 120_000),
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = retransmit_cap;
    let interval = interval.clamp(Duration::from_secs(1), MAX_KEEPALIVE_TIME);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(interval)
        .with_interval(interval)
        .with_retries(count.clamp(1, MAX_KEEPALIVE_COUNT));
    socket2::SockRef::from(&socket).set_tcp_keepalive(&keepalive)
}

/// Sets how long written data may stay unacknowledged before the kernel gives the connection
/// up (`TCP_USER_TIMEOUT`; `None`: the system's own limit, about 15 minutes). Careful: the same
/// limit applies to a peer that keeps its window closed, however well it answers the probes
/// (measured: a reader that paused for longer than a 30 s limit was cut off at 30.5 s, every
/// probe answered), so it must be lifted while the peer's window is closed.
#[cfg(target_os = "linux")]
pub fn set_user_timeout(socket: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<()> {
    let timeout = timeout.map(|timeout| timeout.min(MAX_USER_TIMEOUT));
    socket2::SockRef::from(&socket).set_tcp_user_timeout(timeout)
}

/// What the kernel knows of a TCP connection's peer (`TCP_INFO`), for the liveness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSample {
    /// Time since the last acknowledgement from the peer.
    pub since_ack: Duration,
    /// Keepalive or window probes sent and not yet answered (0 after any ACK).
    pub probes: u8,
    /// Retransmissions of the oldest unacknowledged segment, none of them answered yet.
    pub retransmits: u8,
    /// Bytes written and not yet acknowledged, whether sent yet or not.
    pub unacknowledged: usize,
    /// The peer's receive window is closed: what we write waits for it to read.
    pub window_closed: bool,
}

/// Samples `socket`'s `TCP_INFO` (and its send queue).
#[cfg(target_os = "linux")]
pub fn tcp_sample(socket: BorrowedFd<'_>) -> io::Result<TcpSample> {
    // SAFETY: tcp_info is plain integers: all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes through the pointer, which points at
    // `info`, of that size; it sets `len` to what it wrote (an older kernel writes less, and
    // the rest stays zero).
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    let has_send_window = len as usize
        >= std::mem::offset_of!(libc::tcp_info, tcpi_snd_wnd) + std::mem::size_of::<u32>();
    let unacknowledged = unacknowledged_bytes(socket)?;
    // Without the window's size: bytes wait although none are in flight.
    let window_closed = match has_send_window {
        true => info.tcpi_snd_wnd == 0,
        false => info.tcpi_unacked == 0 && info.tcpi_notsent_bytes > 0,
    };
    Ok(TcpSample {
        since_ack: Duration::from_millis(info.tcpi_last_ack_recv.into()),
        probes: info.tcpi_probes,
        retransmits: info.tcpi_retransmits,
        unacknowledged,
        window_closed,
    })
}

/// Sets an integer socket option that no safe wrapper offers.
#[cfg(target_os = "linux")]
fn set_int(
    socket: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from the pointer, which points at
    // `value`.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::{ErrorKind, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::time::Instant;

    use super::*;

    fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    fn get_int(socket: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes through the pointer, at `value`.
        let result = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        assert_eq!(result, 0, "{}", io::Error::last_os_error());
        value
    }

    /// Samples until `done` holds, for at most two seconds.
    fn sample_until(socket: &TcpStream, done: impl Fn(&TcpSample) -> bool) -> TcpSample {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let sample = tcp_sample(socket.as_fd()).unwrap();
            if done(&sample) || Instant::now() > deadline {
                return sample;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn keepalive_and_the_retransmission_cap_are_set() {
        let (client, _server) = connected();
        keep_probing(
            client.as_fd(),
            Duration::from_secs(5),
            7,
            Duration::from_secs(5),
        )
        .unwrap();
        let socket = socket2::SockRef::from(&client);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(5));
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 7);
        let rto_max = set_int(client.as_fd(), libc::IPPROTO_TCP, TCP_RTO_MAX_MS, 5000);
        if rto_max.is_ok() {
            assert_eq!(
                get_int(client.as_fd(), libc::IPPROTO_TCP, TCP_RTO_MAX_MS),
                5000
            );
        }
        set_user_timeout(client.as_fd(), Some(Duration::from_secs(35))).unwrap();
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(35))
        );
        set_user_timeout(client.as_fd(), None).unwrap();
        assert_eq!(socket.tcp_user_timeout().unwrap(), None);
    }

    /// Values past the kernel's ranges (from a `--peer-timeout` of days) are clamped, not
    /// refused with the whole setting.
    #[test]
    fn settings_for_a_long_limit_are_clamped() {
        let (client, _server) = connected();
        let socket = socket2::SockRef::from(&client);
        let long = Duration::from_secs(1_000_000_000);
        keep_probing(client.as_fd(), long, 142, long).unwrap();
        assert_eq!(socket.tcp_keepalive_time().unwrap(), MAX_KEEPALIVE_TIME);
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 127);
        set_user_timeout(client.as_fd(), Some(long)).unwrap();
        assert_eq!(socket.tcp_user_timeout().unwrap(), Some(MAX_USER_TIMEOUT));
    }

    /// A healthy connection: everything acknowledged, nothing unanswered; a peer that stops
    /// reading: bytes wait and its window closes, still with nothing unanswered.
    #[test]
    fn a_sample_tells_acknowledged_from_waiting() {
        let (mut client, server) = connected();
        client.write_all(b"hello").unwrap();
        let sample = sample_until(&client, |sample| sample.unacknowledged == 0);
        assert_eq!(sample.unacknowledged, 0);
        assert_eq!((sample.probes, sample.retransmits), (0, 0));
        assert!(!sample.window_closed);
        assert!(sample.since_ack < Duration::from_secs(1));

        client.set_nonblocking(true).unwrap();
        let chunk = [0u8; 64 * 1024];
        for _ in 0..10_000 {
            match client.write(&chunk) {
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) => panic!("{err}"),
            }
        }
        let sample = sample_until(&client, |sample| sample.window_closed);
        assert!(sample.window_closed, "{sample:?}");
        assert!(sample.unacknowledged > 0);
        assert_eq!(sample.retransmits, 0);
        drop(server);
    }
}
