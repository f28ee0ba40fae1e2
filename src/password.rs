//! Where the room password comes from: the terminal (`-P`), a file (`--password-file`) or
//! `TETE_PASSWORD`. Never the command line, where anyone on the machine could read it.
//!
//! The prompt reads the controlling terminal (`/dev/tty`), not stdin, so stdin stays pure data.
//! Echo is off while the password is typed, and the terminal's settings come back afterwards,
//! also when Ctrl-C or another fatal signal interrupts the prompt.

use std::cell::UnsafeCell;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::Error;
use crate::options::PasswordSource;

/// The password from `source`, or `None` when tete runs in plain mode.
pub fn obtain(source: &PasswordSource) -> Result<Option<Vec<u8>>, Error> {
    let password = match source {
        PasswordSource::None => return Ok(None),
        PasswordSource::Environment(value) => value.clone(),
        PasswordSource::File(path) => {
            let text =
                read_head(path).map_err(|err| Error::io(format!("password file {path}"), &err))?;
            let line = first_line(&text).to_vec();
            if line.is_empty() {
                return Err(Error::Runtime(format!(
                    "password file {path}: the first line is empty"
                )));
            }
            line
        }
        PasswordSource::Prompt => {
            let line = prompt()
                .map_err(|err| Error::io("cannot ask for the password on /dev/tty", &err))?;
            if line.is_empty() {
                return Err(Error::Runtime("no password was entered".into()));
            }
            line
        }
    };
    Ok(Some(password))
}

/// How much of a password file is read at most: enough for any passphrase, and `/dev/zero` or a
/// huge file cannot make tete read for ever.
const MAX_PASSWORD_FILE_READ: u64 = 64 * 1024;

/// The start of the file at `path`, up to its first newline (or [`MAX_PASSWORD_FILE_READ`]).
fn read_head(path: &str) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    BufReader::new(File::open(path)?.take(MAX_PASSWORD_FILE_READ)).read_until(b'\n', &mut head)?;
    Ok(head)
}

/// The bytes before the first newline (and a CR just before it).
fn first_line(text: &[u8]) -> &[u8] {
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Asks on the controlling terminal with echo off; returns the line typed, without its newline.
fn prompt() -> io::Result<Vec<u8>> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let line = {
        // Echo goes off before the prompt shows, so nothing typed after it is ever echoed.
        let _echo_off = EchoOff::new(&tty)?;
        tty.write_all(b"Password: ")?;
        read_line(&mut tty)
    };
    // The user's Enter was not echoed: end the prompt's line ourselves.
    tty.write_all(b"\n")?;
    line
}

fn read_line(tty: &mut File) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while tty.read(&mut byte)? == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    Ok(line)
}

/// The terminal settings to put back, readable from a signal handler: `SAVED_FD` is published
/// (with SeqCst) only after `SAVED_TERMIOS` is written, and -1 means nothing to restore.
struct SavedTermios(UnsafeCell<MaybeUninit<libc::termios>>);
// SAFETY: written once before SAVED_FD publishes it, and only read after.
unsafe impl Sync for SavedTermios {}
static SAVED_TERMIOS: SavedTermios = SavedTermios(UnsafeCell::new(MaybeUninit::uninit()));
static SAVED_FD: AtomicI32 = AtomicI32::new(-1);

/// Turns echo off on a terminal for as long as it lives.
struct EchoOff;

impl EchoOff {
    fn new(tty: &File) -> io::Result<EchoOff> {
        let fd = tty.as_raw_fd();
        let mut termios = MaybeUninit::<libc::termios>::uninit();
        if unsafe { libc::tcgetattr(fd, termios.as_mut_ptr()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: tcgetattr filled it in.
        let original = unsafe { termios.assume_init() };
        unsafe { (*SAVED_TERMIOS.0.get()).write(original) };
        SAVED_FD.store(fd, Ordering::SeqCst);
        crate::signals::restore_on_fatal_signals(restore_terminal);
        let mut silent = original;
        silent.c_lflag &= !(libc::ECHO | libc::ECHONL);
        silent.c_lflag |= libc::ICANON;
        if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &silent) } == -1 {
            restore_terminal();
            return Err(io::Error::last_os_error());
        }
        Ok(EchoOff)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Puts the terminal's settings back. Async-signal-safe: an atomic and tcsetattr.
fn restore_terminal() {
    let fd: RawFd = SAVED_FD.swap(-1, Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: SAVED_FD was published after SAVED_TERMIOS was written.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, (*SAVED_TERMIOS.0.get()).as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn first_line_drops_the_line_ending() {
        assert_eq!(first_line(b"secret\nsecond"), b"secret");
        assert_eq!(first_line(b"secret\r\n"), b"secret");
        assert_eq!(first_line(b"secret"), b"secret");
        assert_eq!(first_line(b"\nsecret"), b"");
    }
}
