//! How a failure ends a session: the connection's (the peer is lost: with `-k`, the next one
//! is served), stdin's or stdout's, or the secure channel's (exit status 3).

use std::io;
use std::time::Instant;

use super::Session;
use crate::error::{Error, os_reason};
use crate::layer::LayerError;
use crate::relay::End;
use crate::secure::SecureError;

impl Session {
    pub(super) fn network_failure(&self, doing: &str, err: &io::Error) -> End {
        // The kernel gave up first (its user timeout, or keepalive): the check says how long.
        if matches!(
            err.raw_os_error(),
            Some(libc::ETIMEDOUT | libc::EHOSTUNREACH)
        ) && let Some(silent) = self.silent_for()
        {
            return self.gone(silent);
        }
        End::PeerLost(Error::Runtime(format!(
            "{doing} {}: {}",
            self.peer,
            os_reason(err)
        )))
    }

    /// stdin's failure, or the secure channel's.
    pub(super) fn layer_failure(&self, err: LayerError) -> End {
        match err {
            LayerError::Read(err) => End::Failed(Error::io("stdin", &err)),
            LayerError::Handshake(err) | LayerError::Seal(err) | LayerError::Open(err) => {
                self.secure_failure(err)
            }
        }
    }

    pub(super) fn secure_failure(&self, err: SecureError) -> End {
        // A password exported for scripts turns every tete into password mode, also one meant
        // to talk to a plain peer: say where the password came from.
        let hint = match err {
            SecureError::NotTete | SecureError::Stalled | SecureError::EndedInHandshake
                if self.password_from_environment =>
            {
                "; the password came from TETE_PASSWORD, which is exported: unset it to talk \
                 to a peer without a password"
            }
            _ => "",
        };
        End::Failed(Error::Secure(format!(
            "secure channel with {}: {err}{hint}",
            self.peer
        )))
    }
}

impl Session {
    /// The connector's handshake ran out of time (`now`). With nothing at all from the
    /// listener, the likely causes are a room busy with another partner (`-k` serves one at a
    /// time) and a person who has not typed the password yet; a listener without a password
    /// is only a possibility.
    pub(super) fn handshake_timed_out(&self, now: Instant) -> End {
        if self.first_heard.is_some() {
            return self.secure_failure(SecureError::Stalled);
        }
        let hint = if self.password_from_environment {
            "; or it runs without a password, and this one came from TETE_PASSWORD, which is \
             exported: then unset it"
        } else {
            ""
        };
        End::Failed(Error::Secure(format!(
            "secure channel with {}: no handshake from the listener in {} s: it may be busy \
             with another partner, or its person has not typed the password yet{hint}",
            self.peer,
            now.saturating_duration_since(self.begun).as_secs()
        )))
    }
}

/// How a failed write to stdout ends the session.
pub(super) fn stdout_failure(err: io::Error) -> End {
    if err.kind() == io::ErrorKind::BrokenPipe {
        End::StdoutClosed
    } else {
        End::Failed(Error::io("stdout", &err))
    }
}

/// True for errors that come from the connection rather than from stdin or stdout.
pub(super) fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(
            libc::ECONNRESET
                | libc::ETIMEDOUT
                | libc::ENOTCONN
                | libc::ECONNABORTED
                | libc::EHOSTUNREACH
        )
    )
}
