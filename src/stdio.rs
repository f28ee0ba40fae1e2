//! The quirks of stdin and stdout.
//!
//! tete's standard streams can be anything the shell hands it: a terminal, a pipe, a regular file,
//! `/dev/null`, a socket, or nothing at all (`<&-`). These facts shape this module:
//!
//! - epoll refuses regular files and `/dev/null` (EPERM). Reading or writing them never waits for
//!   another process, so they are driven with plain blocking calls and treated as always ready.
//! - The event loop needs non-blocking descriptors, but a terminal or pipe shares its open file
//!   description (and so its `O_NONBLOCK` flag) with the parent shell and its other children.
//!   On Linux tete opens the same pipe or terminal again through `/proc/self/fd`, which gives it a
//!   description of its own to make non-blocking; the shell's is never touched. Where that is not
//!   possible (no `/proc`, a socket), it sets the flag on the shared description and puts the old
//!   flags back when it ends, including on SIGINT, SIGTERM and SIGHUP.
//! - A pipe's buffer is enlarged to 1 MiB where the kernel allows: fewer wake-ups for tete and
//!   for the program at the other end (see `enlarge_pipe`).
//! - A closed descriptor would be reused by the next socket tete opens, so closed standard
//!   descriptors are pointed at `/dev/null` before anything else is opened: a closed stdin then
//!   reads as an immediate EOF, and a closed stdout discards.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::retry_on_intr;

/// What kind of file a standard stream is, as far as choosing how to move bytes is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pipe,
    Regular,
    /// A terminal, a socket, `/dev/null` or another character device.
    Other,
}

/// stdin or stdout, ready for the event loop.
#[derive(Debug)]
pub struct StdStream {
    /// The standard descriptor (0 or 1).
    standard: BorrowedFd<'static>,
    /// A private reopening of the standard descriptor, used instead of it when there is one.
    reopened: Option<OwnedFd>,
    /// False for files epoll refuses: they are always ready and blocking calls are fine.
    pub pollable: bool,
    pub is_terminal: bool,
    pub kind: FileKind,
}

impl StdStream {
    /// Prepares standard descriptor `fd` (0 or 1) and registers it with `token` when epoll takes it.
    pub fn open(fd: RawFd, registry: &Registry, token: Token) -> io::Result<StdStream> {
        let (standard, interest, access) = if fd == libc::STDIN_FILENO {
            (rustix::stdio::stdin(), Interest::READABLE, OFlags::RDONLY)
        } else {
            (rustix::stdio::stdout(), Interest::WRITABLE, OFlags::WRONLY)
        };
        let kind = file_kind(standard)?;
        let is_terminal = rustix::termios::isatty(standard);
        let mut stream = StdStream {
            standard,
            reopened: None,
            pollable: false,
            is_terminal,
            kind,
        };
        if kind == FileKind::Regular {
            return Ok(stream);
        }
        // Only pipes and terminals are reopened: for a device, open() runs its driver again,
        // which may refuse (EBUSY) or have effects of its own.
        if kind == FileKind::Pipe || is_terminal {
            stream.reopened = reopen_nonblocking(fd, access);
        }
        let raw = stream.as_raw_fd();
        match registry.register(&mut SourceFd(&raw), token, interest) {
            Ok(()) => stream.pollable = true,
            Err(err) if err.raw_os_error() == Some(libc::EPERM) => return Ok(stream),
            Err(err) => return Err(err),
        }
        if stream.reopened.is_none() {
            set_nonblocking_until_exit(fd, standard)?;
        }
        if kind == FileKind::Pipe {
            enlarge_pipe(stream.as_fd());
        }
        Ok(stream)
    }

    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(retry_on_intr(|| rustix::io::read(self, &mut *buf))?)
    }

    /// One readv(2) into `bufs`, in order.
    pub fn read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        Ok(retry_on_intr(|| rustix::io::readv(self, bufs))?)
    }

    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(retry_on_intr(|| rustix::io::write(self, buf))?)
    }
}

impl AsFd for StdStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.reopened.as_ref().map_or(self.standard, AsFd::as_fd)
    }
}

impl AsRawFd for StdStream {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// Asks for a 1 MiB pipe buffer (the unprivileged maximum). The size belongs to the pipe, not
/// to any descriptor's flags, and the shell never sees it; the programs at the pipe's other end
/// wake up far less often. Measured on pipe -> pipe transfers: the receiving tete's CPU time
/// fell fourfold and throughput rose by half. The kernel may refuse (per-user pipe limits);
/// then the pipe keeps its size.
pub(crate) fn enlarge_pipe(pipe: BorrowedFd<'_>) {
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(pipe, 1 << 20);
    #[cfg(not(target_os = "linux"))]
    let _ = pipe;
}

/// Points any closed standard descriptor at `/dev/null`. Call first thing, before opening anything.
pub fn fill_closed_standard_fds() -> io::Result<()> {
    let standard = [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ];
    for fd in standard {
        if rustix::io::fcntl_getfd(fd).is_err() {
            // open() returns the lowest free descriptor, which is this one.
            let null = rustix::fs::open("/dev/null", OFlags::RDWR, Mode::empty())?;
            if null.as_raw_fd() != fd.as_raw_fd() {
                return Err(io::Error::other(
                    "/dev/null did not take a closed standard descriptor",
                ));
            }
            // It stays open as the standard descriptor for the rest of the process.
            let _ = null.into_raw_fd();
        }
    }
    Ok(())
}

fn file_kind(fd: BorrowedFd<'_>) -> io::Result<FileKind> {
    let stat = rustix::fs::fstat(fd)?;
    Ok(match FileType::from_raw_mode(stat.st_mode) {
        FileType::Fifo => FileKind::Pipe,
        FileType::RegularFile | FileType::BlockDevice | FileType::Directory => FileKind::Regular,
        _ => FileKind::Other,
    })
}

/// A private, non-blocking open file description of the pipe or terminal behind `fd`, if the
/// system offers one (Linux does through /proc; a socket cannot be reopened).
fn reopen_nonblocking(fd: RawFd, access: OFlags) -> Option<OwnedFd> {
    let flags = access | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    rustix::fs::open(format!("/proc/self/fd/{fd}"), flags, Mode::empty()).ok()
}

/// Sets `O_NONBLOCK` on a shared descriptor and arranges for its old flags to come back at exit.
fn set_nonblocking_until_exit(index: RawFd, fd: BorrowedFd<'static>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    if flags.contains(OFlags::NONBLOCK) {
        return Ok(());
    }
    // Saved before the change, and the handlers in place, so a signal can always undo it.
    crate::saved::save_flags(index, flags);
    crate::signals::restore_on_fatal_signals();
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    Ok(())
}

/// Puts the standard descriptors' flags back when dropped, however tete ends.
pub struct RestoreFlags;

impl Drop for RestoreFlags {
    fn drop(&mut self) {
        crate::saved::restore_flags();
    }
}
