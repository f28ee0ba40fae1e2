//! Where the room password comes from: the terminal (`-P`), a file (`--password-file`) or
//! `TETE_PASSWORD`. Never the command line, where anyone on the machine could read it.
//!
//! The prompt reads the controlling terminal (`/dev/tty`), not stdin, so stdin stays pure data.
//! Echo is off while the password is typed, and the terminal's settings come back afterwards,
//! as readpassphrase(3) does: also when a signal ends tete at the prompt (Ctrl-C, Ctrl-\, a
//! hang-up, ...), and while tete is stopped (Ctrl-Z), with echo off again when it goes on.
//!
//! Secrets leave as few traces as tete can manage: `TETE_PASSWORD` is read once and then wiped
//! from the environment block (which `/proc/PID/environ` shows for the whole run otherwise);
//! the password lives in a [`Password`], which zeroes its bytes when dropped; and in password
//! mode the process cannot be dumped (no core file, no ptrace by the same user).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Deref;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::terminal::ModeGuard;

/// The environment variable that can hold the room password.
const ENVIRONMENT_VARIABLE: &str = "TETE_PASSWORD";

/// Where the room password comes from, if anywhere.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    /// `-P`: ask on the controlling terminal.
    Prompt,
    /// `--password-file FILE`: the file's first line.
    File(String),
    /// `TETE_PASSWORD`, taken from the environment by the caller; never empty.
    Environment(Password),
}

/// A room password: its bytes are overwritten with zeros when it is dropped, and it never
/// shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Deref for Password {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for Password {
    fn from(bytes: &[u8]) -> Password {
        Password(Zeroizing::new(bytes.to_vec()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// `TETE_PASSWORD`'s value, if set, after wiping it from the process's environment. Call once,
/// first thing, while tete is the only thread.
pub fn take_from_environment() -> Option<Password> {
    crate::sys::take_environment_variable(ENVIRONMENT_VARIABLE).map(Password)
}

/// The password from `source`, or `None` when tete runs in plain mode. In password mode the
/// process is made undumpable first, so the password never lands in a core file.
pub fn obtain(source: &PasswordSource) -> Result<Option<Password>, Error> {
    if *source == PasswordSource::None {
        return Ok(None);
    }
    forbid_dumps().map_err(|err| Error::io("cannot protect the password from core dumps", &err))?;
    let password = match source {
        PasswordSource::None => return Ok(None),
        PasswordSource::Environment(value) => value.clone(),
        PasswordSource::File(path) => {
            let text =
                read_head(path).map_err(|err| Error::io(format!("password file {path}"), &err))?;
            let line = first_line(&text);
            if line.is_empty() {
                return Err(Error::Runtime(format!(
                    "password file {path}: the first line is empty"
                )));
            }
            Password::from(line)
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

/// No core file, and no ptrace or /proc access by other processes of the same user.
fn forbid_dumps() -> io::Result<()> {
    use rustix::process::{Resource, Rlimit};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    let none = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    Ok(rustix::process::setrlimit(Resource::Core, none)?)
}

/// How much of a password file is read at most: enough for any passphrase, and `/dev/zero` or a
/// huge file cannot make tete read for ever.
const MAX_PASSWORD_FILE_READ: usize = 64 * 1024;

/// The start of the file at `path`, up to [`MAX_PASSWORD_FILE_READ`] bytes, in a buffer that
/// is zeroed when dropped (and never grows, so no copy of it is left behind).
fn read_head(path: &str) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut head = Zeroizing::new(vec![0u8; MAX_PASSWORD_FILE_READ]);
    let mut file = File::open(path)?;
    let mut filled = 0;
    while filled < head.len() && !head[..filled].contains(&b'\n') {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// The bytes before the first newline (and a CR just before it).
fn first_line(text: &[u8]) -> &[u8] {
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Asks on the controlling terminal with echo off; returns the line typed, without its newline.
fn prompt() -> io::Result<Password> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let line = {
        // Echo goes off before the prompt shows, so nothing typed after it is ever echoed.
        let _echo_off = ModeGuard::prompt(&tty, b"Password: ")?;
        read_line(&mut tty)
    };
    // The user's Enter was not echoed: end the prompt's line ourselves.
    tty.write_all(b"\n")?;
    line
}

/// The longest password the prompt takes; the buffer is allocated once at this size, so no
/// copy of a partly typed password is left behind by a reallocation.
const MAX_TYPED_PASSWORD: usize = 4096;

fn read_line(tty: &mut File) -> io::Result<Password> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_TYPED_PASSWORD));
    let mut byte = [0u8; 1];
    while tty.read(&mut byte)? == 1 && byte[0] != b'\n' {
        if line.len() == MAX_TYPED_PASSWORD {
            return Err(io::Error::other(format!(
                "the password is longer than {MAX_TYPED_PASSWORD} bytes"
            )));
        }
        line.push(byte[0]);
    }
    Ok(Password(line))
}

#[cfg(test)]
mod tests {
    use super::{Password, first_line};

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = Password::from(&b"hunter2"[..]);
        assert_eq!(format!("{password:?}"), "Password(..)");
        assert_eq!(&*password, b"hunter2");
    }

    #[test]
    fn first_line_drops_the_line_ending() {
        assert_eq!(first_line(b"secret\nsecond"), b"secret");
        assert_eq!(first_line(b"secret\r\n"), b"secret");
        assert_eq!(first_line(b"secret"), b"secret");
        assert_eq!(first_line(b"\nsecret"), b"");
    }
}
