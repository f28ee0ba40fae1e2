//! What chat mode says about the partner, without `-v`: who came (its address, and in a
//! private room with which cipher), who left and how, and, in the presence row above the input
//! line, what tete is waiting for while nobody is there. Words only: the loop says when, the
//! chat front draws them.

use std::net::SocketAddr;

use super::End;
use crate::secure::Cipher;

/// The status line when the partner is in, and lines typed can go to it.
pub(super) fn arrived(peer: SocketAddr, cipher: Option<Cipher>) -> String {
    match cipher {
        Some(cipher) => format!("{peer} is here; the room is private ({cipher})"),
        None => format!("{peer} is here"),
    }
}

/// The status line when the partner's session ended with `end` (`secure`: in a password
/// room), if the end is the partner's doing; errors and timeouts say themselves.
pub(super) fn left(peer: SocketAddr, end: &End, secure: bool) -> Option<String> {
    Some(match end {
        // A CLOSE record says why; a plain connection's FIN does not tell Ctrl-D from Ctrl-C.
        End::Done if secure => format!("{peer} left: it ended its side (Ctrl-D)"),
        End::Done => format!("{peer} left: it closed the connection"),
        End::PeerLeft => format!("{peer} left: it was interrupted (Ctrl-C)"),
        End::PeerLost(_) => format!("{peer} is gone: the connection broke"),
        End::Idle | End::StdoutClosed | End::Failed(_) => return None,
    })
}

/// The presence row while a listener waits on `local`; `again`: after a partner left (`-k`).
pub(super) fn listening(local: Option<SocketAddr>, again: bool) -> String {
    let partner = if again {
        "the next partner"
    } else {
        "a partner"
    };
    match local {
        Some(local) => format!("waiting for {partner} on {local}"),
        None => format!("waiting for {partner}"),
    }
}

/// The presence row while a connector connects to `host` on `port`.
pub(super) fn connecting(host: &str, port: u16) -> String {
    format!("connecting to {host} port {port}")
}

/// The presence row while a connector's password handshake with `peer` is under way.
pub(super) fn handshaking(peer: SocketAddr) -> String {
    format!("connected to {peer}; waiting for the password handshake")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn the_partner_is_named_and_how_it_left_is_said() {
        let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
        assert_eq!(arrived(peer, None), "127.0.0.1:4000 is here");
        assert_eq!(
            arrived(peer, Some(Cipher::Aes256Gcm)),
            "127.0.0.1:4000 is here; the room is private (AES-256-GCM)"
        );
        let left = |end: &End, secure| left(peer, end, secure);
        assert_eq!(
            left(&End::Done, true).as_deref(),
            Some("127.0.0.1:4000 left: it ended its side (Ctrl-D)")
        );
        assert!(left(&End::Done, false).is_some_and(|text| text.contains("closed")));
        assert!(left(&End::PeerLeft, true).is_some_and(|text| text.contains("Ctrl-C")));
        let lost = End::PeerLost(Error::Runtime("reset".into()));
        assert!(left(&lost, false).is_some_and(|text| text.contains("gone")));
        assert_eq!(left(&End::Idle, false), None);
        assert_eq!(
            listening(Some(peer), true),
            "waiting for the next partner on 127.0.0.1:4000"
        );
    }
}
