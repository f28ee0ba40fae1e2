//! Moving plaintext without copying it through tete: splice(2) and sendfile(2).
//!
//! In plain mode (no password, no `-C`) bytes need no change on the way, so the kernel can move
//! them itself: from a stdin pipe or file into the socket, from the socket into a stdout pipe,
//! and from the socket into a stdout file through a private pipe (splice needs a pipe on one
//! side). Everything else, and anything the kernel refuses (`EINVAL`: a file opened with
//! `O_APPEND`, a file system without splice), takes the ordinary read/write path through the
//! session's buffers.
//!
//! A stdin pipe that brings bulk is spliced, not read (a trickle, such as a chat's lines, is
//! read: see the session's `SPLICE_FROM`). Reading it into a 512 KiB buffer copied every byte
//! twice more (pipe to buffer, buffer to socket) and held the pipe's lock for a whole 512 KiB copy,
//! while the `cat` feeding the pipe spun on that lock (`mutex_spin_on_owner`, a sixth of the
//! pipeline's CPU in a profile): `cat file | tete` into `tete -l | cat`, 1 GiB, the four
//! processes took 1.30 CPU s/GiB read against 0.86 spliced, 0.89 GB/s against 1.42 (medians of
//! 4 interleaved rounds; issue 22). Splicing hands the pipe's pages to the socket, and on
//! loopback the receiving tete splices them on into its stdout pipe: the bytes are copied once
//! into the first pipe and once out of the last.
//!
//! Every call here is non-blocking and reports which side stopped it, because the event loop
//! must know whether to wait for the source or for the sink. A call that moves nothing gives
//! `EAGAIN` whichever side was not ready, so a look at the source decides: whether a pipe is
//! readable or hung up (`poll` with no wait), a socket's next byte or end (`MSG_PEEK`). The same
//! look follows a splice that moved bytes, so that a source left empty is known without a
//! second splice that can only fail: a chat line or a small message costs one splice and one
//! look each way, not two splices and a look (strace of a chat round trip: 8 calls, now 6).
//! Memory stays bounded: the bytes in flight sit in the kernel's socket and pipe buffers.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::retry_on_intr;

use crate::stdio::{FileKind, StdStream, enlarge_pipe};

/// How much one call may move. The kernel moves less when its buffers hold less.
const CHUNK: usize = 1 << 20;

/// What one call achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This many bytes moved (more than zero).
    Moved(usize),
    /// This many bytes moved (more than zero), and the source had nothing more right after:
    /// wait until it is readable.
    Drained(usize),
    /// The source has ended.
    End,
    /// Nothing to move now: wait until the source is readable.
    SourceDry,
    /// No room now: wait until the sink is writable.
    SinkFull,
}

/// A way to move bytes from one descriptor to another inside the kernel.
pub enum Direct {
    /// stdin is a pipe: splice it into the socket.
    FromPipe,
    /// stdin is a regular file: sendfile it into the socket.
    FromFile,
    /// stdout is a pipe: splice the socket into it.
    ToPipe,
    /// stdout is a regular file or a device: splice the socket into a private pipe, then that
    /// pipe into stdout. `pending` bytes wait in the pipe.
    ThroughPipe {
        read_end: OwnedFd,
        write_end: OwnedFd,
        pending: usize,
    },
}

impl Direct {
    /// The route from stdin to the socket, if the kernel has one.
    pub fn for_stdin(stdin: &StdStream) -> Option<Direct> {
        match stdin.kind {
            FileKind::Pipe if cfg!(target_os = "linux") => Some(Direct::FromPipe),
            FileKind::Regular if cfg!(target_os = "linux") => Some(Direct::FromFile),
            _ => None,
        }
    }

    /// The route from the socket to stdout, if the kernel has one.
    pub fn for_stdout(stdout: &StdStream) -> Option<Direct> {
        match stdout.kind {
            FileKind::Pipe if cfg!(target_os = "linux") => Some(Direct::ToPipe),
            // Files and /dev/null (what epoll refuses: they never make us wait) can take
            // splices, except files opened for appending (`>>`), which splice refuses. Terminals
            // and other devices get ordinary writes.
            FileKind::Regular | FileKind::Other
                if cfg!(target_os = "linux") && !stdout.pollable && !appends(stdout.as_fd()) =>
            {
                let (read_end, write_end) = private_pipe().ok()?;
                Some(Direct::ThroughPipe {
                    read_end,
                    write_end,
                    pending: 0,
                })
            }
            _ => None,
        }
    }

    /// Moves what it can from `from` to `to` in one step.
    pub fn transfer(&mut self, from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<Outcome> {
        match self {
            Direct::FromPipe => splice_or_which_side(from, to, pipe_has_news),
            Direct::FromFile => match sendfile(to, from) {
                Ok(0) => Ok(Outcome::End),
                Ok(n) => Ok(Outcome::Moved(n)),
                // A file never makes us wait: it is the socket.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(Outcome::SinkFull),
                Err(err) => Err(err),
            },
            Direct::ToPipe => splice_or_which_side(from, to, socket_has_news),
            Direct::ThroughPipe {
                read_end,
                write_end,
                pending,
            } => {
                // First whatever the last step left in the pipe, then more from the socket.
                while *pending > 0 {
                    match splice(read_end.as_fd(), to, *pending) {
                        Ok(n) => *pending -= n,
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                            return Ok(Outcome::SinkFull);
                        }
                        // Some files take no splice (procfs, some devices): what waits in the
                        // pipe is copied out the ordinary way, then the caller falls back.
                        Err(err) if unsupported(&err) => {
                            copy_out(read_end.as_fd(), to, pending)?;
                            return Err(err);
                        }
                        Err(err) => return Err(err),
                    }
                }
                match splice(from, write_end.as_fd(), CHUNK) {
                    Ok(0) => Ok(Outcome::End),
                    Ok(n) => {
                        *pending = n;
                        Ok(Outcome::Moved(n))
                    }
                    // The private pipe is empty, so it is the socket that has nothing.
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(Outcome::SourceDry),
                    Err(err) => Err(err),
                }
            }
        }
    }

    /// True while bytes taken from the source have not all reached the sink.
    pub fn has_pending(&self) -> bool {
        matches!(self, Direct::ThroughPipe { pending, .. } if *pending > 0)
    }
}

/// One splice between a pipe and a socket; on `EAGAIN`, tells which side was not ready.
/// `source_ready` says whether the source has something to give (bytes, or its end).
fn splice_or_which_side(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    source_ready: fn(BorrowedFd<'_>) -> io::Result<bool>,
) -> io::Result<Outcome> {
    // Two tries: if the source had something before the second try and it still moved
    // nothing, the sink was full. (Bytes may arrive between the first try and the check.)
    for _ in 0..2 {
        match splice(from, to, CHUNK) {
            Ok(0) => return Ok(Outcome::End),
            // A failing look says nothing: the next splice meets whatever went wrong.
            Ok(n) => {
                return Ok(match source_ready(from) {
                    Ok(false) => Outcome::Drained(n),
                    Ok(true) | Err(_) => Outcome::Moved(n),
                });
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if !source_ready(from)? {
                    return Ok(Outcome::SourceDry);
                }
            }
            Err(err) => return Err(err),
        }
    }
    Ok(Outcome::SinkFull)
}

/// A pipe source: bytes are queued, or its writers are gone (then splice returns 0: an empty
/// queue alone would not tell an end from a pause).
fn pipe_has_news(pipe: BorrowedFd<'_>) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::from_borrowed_fd(pipe, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    Ok(retry_on_intr(|| rustix::event::poll(&mut fds, Some(&now)))? > 0)
}

/// A socket source: bytes are queued, or its end is. Splicing into a full pipe fails with
/// EAGAIN before it looks at the socket, so a pending FIN must count as something to give, or
/// the loop would wait for a socket event that has already come and gone.
fn socket_has_news(socket: BorrowedFd<'_>) -> io::Result<bool> {
    use rustix::net::RecvFlags;
    let mut byte = [0u8];
    let flags = RecvFlags::PEEK | RecvFlags::DONTWAIT;
    match retry_on_intr(|| rustix::net::recv(socket, &mut byte, flags)) {
        Ok(_) => Ok(true),
        Err(rustix::io::Errno::AGAIN) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

#[cfg(target_os = "linux")]
fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    use rustix::pipe::SpliceFlags;
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    Ok(retry_on_intr(|| {
        rustix::pipe::splice(from, None, to, None, len, flags)
    })?)
}

#[cfg(target_os = "linux")]
fn sendfile(to: BorrowedFd<'_>, from: BorrowedFd<'_>) -> io::Result<usize> {
    Ok(retry_on_intr(|| {
        rustix::fs::sendfile(to, from, None, CHUNK)
    })?)
}

#[cfg(not(target_os = "linux"))]
fn splice(_: BorrowedFd<'_>, _: BorrowedFd<'_>, _: usize) -> io::Result<usize> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

#[cfg(not(target_os = "linux"))]
fn sendfile(_: BorrowedFd<'_>, _: BorrowedFd<'_>) -> io::Result<usize> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// Copies the `pending` bytes waiting in a private pipe to `to` with read(2) and write(2);
/// `to` is a file that never makes us wait.
fn copy_out(pipe: BorrowedFd<'_>, to: BorrowedFd<'_>, pending: &mut usize) -> io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    while *pending > 0 {
        let want = buf.len().min(*pending);
        let n = retry_on_intr(|| rustix::io::read(pipe, &mut buf[..want]))?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut written = 0;
        while written < n {
            written += retry_on_intr(|| rustix::io::write(to, &buf[written..n]))?;
        }
        *pending -= n;
    }
    Ok(())
}

fn appends(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fcntl_getfl(fd).is_ok_and(|flags| flags.contains(rustix::fs::OFlags::APPEND))
}

fn private_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::PipeFlags;
    let (read_end, write_end) = rustix::pipe::pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
    // A larger pipe moves more per splice; the kernel may refuse, and then 64 KiB will do.
    enlarge_pipe(read_end.as_fd());
    Ok((read_end, write_end))
}

/// True when an error means the kernel cannot splice or sendfile between these two descriptors,
/// so the ordinary path must take over.
pub fn unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}
