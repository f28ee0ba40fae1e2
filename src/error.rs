//! The ways a run can fail, each with its exit status.

use std::fmt;

/// A failure, already worded for the user (without the `tete: ` prefix).
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The command line is wrong: exit status 2.
    Usage(String),
    /// Something failed at run time (name lookup, connection, I/O): exit status 1.
    Runtime(String),
    /// A runtime failure already reported, or one that `-z` answers with its status alone: exit 1.
    Silent,
    /// The password channel failed (wrong password, tampering, truncation): exit status 3.
    Secure(String),
}

impl Error {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Runtime(_) | Error::Silent => 1,
            Error::Usage(_) => 2,
            Error::Secure(_) => 3,
        }
    }

    /// A runtime failure of `what` (a host, a port, a file) with the OS's reason.
    pub fn io(what: impl fmt::Display, err: &std::io::Error) -> Error {
        Error::Runtime(format!("{what}: {}", os_reason(err)))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message} (try 'tete --help')"),
            Error::Runtime(message) | Error::Secure(message) => f.write_str(message),
            Error::Silent => Ok(()),
        }
    }
}

/// The OS's wording of an error, lower-case like every other line of tete's, without Rust's
/// " (os error N)" suffix.
pub fn os_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    let reason = match text.find(" (os error ") {
        Some(end) => &text[..end],
        None => &text,
    };
    lower_first(reason)
}

/// `text` with its first letter lower-case when it starts a plain word ("Connection refused"),
/// and unchanged when it starts a name ("IPv6").
pub fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_lower_case() {
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(os_reason(&refused), "connection refused");
        assert_eq!(
            lower_first("Name or service not known"),
            "name or service not known"
        );
        assert_eq!(lower_first("IPv6 is off"), "IPv6 is off");
        assert_eq!(lower_first(""), "");
    }
}
