//! Descriptors the tests hand to tete and watch: pipes, their flags, and what waits in them.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::pipe::PipeFlags;

use super::KIB;

/// A pipe, both ends blocking and close-on-exec: `(read end, write end)`.
pub fn pipe() -> (File, File) {
    let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).expect("pipe2");
    (File::from(read), File::from(write))
}

/// A close-on-exec duplicate of `file`, sharing its open file description.
pub fn dup(file: &File) -> File {
    file.try_clone().expect("dup")
}

/// Whether `O_NONBLOCK` is set on `fd`'s open file description.
pub fn is_nonblocking(fd: &impl AsFd) -> bool {
    let flags = rustix::fs::fcntl_getfl(fd).expect("F_GETFL");
    flags.contains(OFlags::NONBLOCK)
}

/// How many bytes wait to be read in pipe or socket `fd` (`FIONREAD`; either end of a pipe).
pub fn pending_bytes(fd: &impl AsFd) -> usize {
    let count = rustix::io::ioctl_fionread(fd).expect("FIONREAD");
    usize::try_from(count).expect("a pipe's count fits usize")
}

/// The capacity of pipe `fd` (`F_GETPIPE_SZ`).
pub fn pipe_capacity(fd: &impl AsFd) -> usize {
    rustix::pipe::fcntl_getpipe_size(fd).expect("F_GETPIPE_SZ")
}

/// Waits until `fd` is readable or `timeout` passes; true if readable (or at EOF, or in error).
pub fn poll_readable(fd: &impl AsFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let left = Timespec::try_from(left).expect("a timeout that fits a timespec");
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&left)) {
            Ok(ready) => return ready > 0,
            Err(Errno::INTR) => {}
            Err(err) => panic!("poll: {err}"),
        }
    }
}

/// Reads exactly `len` bytes from `file` (which may be blocking) within `timeout`, without
/// touching its flags: each read waits for readiness with poll(2) first.
pub fn read_exact_within(file: &mut File, len: usize, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut data = Vec::with_capacity(len);
    let mut buf = vec![0; 64 * KIB];
    while data.len() < len {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {len} bytes arrived within {timeout:?}",
            data.len()
        );
        if !poll_readable(&*file, left) {
            continue;
        }
        let want = buf.len().min(len - data.len());
        match file.read(&mut buf[..want]) {
            Ok(0) => panic!("EOF after {} of {len} bytes", data.len()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => panic!("read failed after {} of {len} bytes: {err}", data.len()),
        }
    }
    data
}
