//! What chat mode says about the partner, without `-v`: who came (its address, and in a
//! private room with which cipher), who left and how, and, in the presence row above the input
//! line, what tete is waiting for while nobody is there, or that the partner is not answering.
//! Words only: the loop says when, the chat front draws them.
//!
//! Each line says what this side knows, from its own point of view:
//! - a connector without a password knows only that it connected (the port may be redis, or a
//!   `-k` listener that has only queued it); a listener knows that someone connected; in a
//!   private room the partner has proved the password, so it is there;
//! - who ended the chat: the person here (Ctrl-D, Ctrl-C), or the partner, as its end of stream
//!   says (a private room's CLOSE tells Ctrl-D from Ctrl-C; a plain connection's FIN does not);
//! - a broken connection, or a partner that stopped answering (the liveness check).

use std::net::SocketAddr;
use std::time::Duration;

use super::End;
use crate::address::Family;
use crate::secure::Cipher;

/// Which end of the connection this tete is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Listener,
    Connector,
}

/// How a chat with a partner ended, as this side knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Parting {
    /// The person here ended their side (Ctrl-D), and then the session ended.
    YouEnded,
    /// The person here pressed Ctrl-C: tete leaves at once.
    YouLeft,
    /// The partner's end of stream came: its CLOSE (Ctrl-D) in a private room, a FIN otherwise.
    TheyEnded,
    /// The partner's CLOSE said that it was interrupted (Ctrl-C), in a private room.
    TheyLeft,
    /// The connection broke (a reset, a failed send).
    Broke,
    /// The partner stopped answering and the liveness check gave up on it.
    Silent,
}

/// How a session that ended with `end` parted, if the partner or the person here ended it;
/// `you_ended`: the person here pressed Ctrl-D before; `not_answering`: the liveness check had
/// found the partner silent. Errors of our own and timeouts say themselves.
pub(super) fn parting(end: &End, you_ended: bool, not_answering: bool) -> Option<Parting> {
    Some(match end {
        End::Done if you_ended => Parting::YouEnded,
        End::Done => Parting::TheyEnded,
        End::PeerLeft => Parting::TheyLeft,
        End::PeerLost(_) if not_answering => Parting::Silent,
        End::PeerLost(_) => Parting::Broke,
        End::Idle | End::StdoutClosed | End::Failed(_) => return None,
    })
}

/// The status line when the partner is in, and lines typed can go to it.
pub(super) fn arrived(peer: SocketAddr, cipher: Option<Cipher>, side: Side) -> String {
    match (cipher, side) {
        (Some(cipher), _) => format!("{peer} is here; the room is private ({cipher})"),
        (None, Side::Listener) => format!("{peer} is here"),
        (None, Side::Connector) => format!("connected to {peer}"),
    }
}

/// The status line when the chat with `peer` is over (`secure`: in a private room).
pub(super) fn left(peer: SocketAddr, parting: Parting, secure: bool) -> String {
    match parting {
        Parting::YouEnded => format!("the chat with {peer} is over: you ended your side (Ctrl-D)"),
        Parting::YouLeft => format!("you left the chat with {peer} (Ctrl-C)"),
        Parting::TheyEnded if secure => format!("{peer} left: it ended its side (Ctrl-D)"),
        Parting::TheyEnded => format!("{peer} left: it closed the connection"),
        Parting::TheyLeft => format!("{peer} left: it was interrupted (Ctrl-C)"),
        Parting::Broke => format!("{peer} is gone: the connection broke"),
        Parting::Silent => format!("{peer} is gone: it stopped answering"),
    }
}

/// The presence row while a listener waits on `local` (bound for `family`); `again`: after a
/// partner left (`-k`). Where it listens comes first, so that a narrow window still shows it.
pub(super) fn listening(local: Option<SocketAddr>, family: Family, again: bool) -> String {
    let partner = if again {
        "the next partner"
    } else {
        "a partner"
    };
    match local {
        Some(local) if local.ip().is_unspecified() => {
            let any = match family {
                Family::Any => "any address",
                Family::V4 => "any IPv4 address",
                Family::V6 => "any IPv6 address",
            };
            format!("port {} ({any}): waiting for {partner}", local.port())
        }
        Some(local) => format!(
            "{} port {}: waiting for {partner}",
            local.ip(),
            local.port()
        ),
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

/// The presence row while the partner does not answer; the session ends after `timeout` of
/// silence.
pub(super) fn not_answering(peer: SocketAddr, timeout: Duration) -> String {
    format!(
        "{peer} is not answering; tete gives up after {} s of silence",
        timeout.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const LISTENER: &str = "192.0.2.1:4000";
    const CONNECTOR: &str = "192.0.2.2:5000";

    /// What one side observes at the end: the session's end, whether its person had pressed
    /// Ctrl-D, whether the partner was found silent; or its person pressed Ctrl-C.
    #[derive(Clone, Copy)]
    enum Seen {
        End(fn() -> End, bool, bool),
        CtrlC,
    }

    fn done() -> End {
        End::Done
    }
    fn left_by_ctrl_c() -> End {
        End::PeerLeft
    }
    fn reset() -> End {
        End::PeerLost(Error::Runtime(
            "receiving from x: connection reset by peer".into(),
        ))
    }
    fn gone() -> End {
        End::PeerLost(Error::Runtime("the peer has not answered for 30 s".into()))
    }

    /// The line a side shows at the end, given what it saw; `peer`: its partner's address.
    fn shown(seen: Seen, peer: &str, secure: bool) -> Option<String> {
        let peer = peer.parse().expect("an address");
        let parting = match seen {
            Seen::CtrlC => Some(Parting::YouLeft),
            Seen::End(end, you_ended, silent) => parting(&end(), you_ended, silent),
        };
        parting.map(|parting| left(peer, parting, secure))
    }

    /// Every way a chat ends, plain and private, from both sides: what each side observes (as
    /// the session reports it), and what its screen then says. Listener and connector alike:
    /// each row is checked with either side being "here".
    #[test]
    fn who_left_is_said_truly_on_both_sides() {
        use Seen::{CtrlC, End as E};
        let plain_fin = E(done, false, false);
        let cases: [(&str, bool, Seen, Seen, &str, &str); 12] = [
            // (what happens, private, seen here, seen there, said here, said there)
            (
                "Ctrl-D here",
                false,
                E(done, true, false),
                plain_fin,
                "the chat with THERE is over: you ended your side (Ctrl-D)",
                "HERE left: it closed the connection",
            ),
            (
                "Ctrl-D here",
                true,
                E(done, true, false),
                E(done, false, false),
                "the chat with THERE is over: you ended your side (Ctrl-D)",
                "HERE left: it ended its side (Ctrl-D)",
            ),
            (
                "Ctrl-D there",
                false,
                plain_fin,
                E(done, true, false),
                "THERE left: it closed the connection",
                "the chat with HERE is over: you ended your side (Ctrl-D)",
            ),
            (
                "Ctrl-D there",
                true,
                E(done, false, false),
                E(done, true, false),
                "THERE left: it ended its side (Ctrl-D)",
                "the chat with HERE is over: you ended your side (Ctrl-D)",
            ),
            // A plain connection's FIN does not say why: only the private room's CLOSE does.
            (
                "Ctrl-C here",
                false,
                CtrlC,
                plain_fin,
                "you left the chat with THERE (Ctrl-C)",
                "HERE left: it closed the connection",
            ),
            (
                "Ctrl-C here",
                true,
                CtrlC,
                E(left_by_ctrl_c, false, false),
                "you left the chat with THERE (Ctrl-C)",
                "HERE left: it was interrupted (Ctrl-C)",
            ),
            (
                "Ctrl-C there",
                false,
                plain_fin,
                CtrlC,
                "THERE left: it closed the connection",
                "you left the chat with HERE (Ctrl-C)",
            ),
            (
                "Ctrl-C there",
                true,
                E(left_by_ctrl_c, false, false),
                CtrlC,
                "THERE left: it was interrupted (Ctrl-C)",
                "you left the chat with HERE (Ctrl-C)",
            ),
            // A reset reaches one side; the other saw its connection fail as well.
            (
                "a reset",
                false,
                E(reset, false, false),
                E(reset, false, false),
                "THERE is gone: the connection broke",
                "HERE is gone: the connection broke",
            ),
            (
                "a reset",
                true,
                E(reset, false, false),
                E(reset, false, false),
                "THERE is gone: the connection broke",
                "HERE is gone: the connection broke",
            ),
            // The path between them vanished: each side finds the other silent.
            (
                "the link gone (each sees the other silent)",
                false,
                E(gone, false, true),
                E(gone, false, true),
                "THERE is gone: it stopped answering",
                "HERE is gone: it stopped answering",
            ),
            (
                "the link gone, after Ctrl-D here",
                true,
                E(gone, true, true),
                E(gone, false, true),
                "THERE is gone: it stopped answering",
                "HERE is gone: it stopped answering",
            ),
        ];
        for (what, secure, seen_here, seen_there, said_here, said_there) in cases {
            for (here, there) in [(LISTENER, CONNECTOR), (CONNECTOR, LISTENER)] {
                let expect = |text: &str| text.replace("THERE", there).replace("HERE", here);
                let context = format!("{what} (private {secure}), here {here}");
                assert_eq!(
                    shown(seen_here, there, secure),
                    Some(expect(said_here)),
                    "{context}: this side"
                );
                assert_eq!(
                    shown(seen_there, here, secure),
                    Some(expect(said_there)),
                    "{context}: the other side"
                );
            }
        }
        // Ends of our own say themselves (an error, -i), not as the partner's leaving.
        for end in [End::Idle, End::StdoutClosed, End::Failed(Error::Silent)] {
            assert_eq!(parting(&end, false, false), None);
        }
    }

    #[test]
    fn who_came_is_said_as_far_as_this_side_knows() {
        let peer: SocketAddr = CONNECTOR.parse().expect("an address");
        let cases = [
            (None, Side::Listener, "192.0.2.2:5000 is here"),
            (None, Side::Connector, "connected to 192.0.2.2:5000"),
            (
                Some(Cipher::Aes256Gcm),
                Side::Listener,
                "192.0.2.2:5000 is here; the room is private (AES-256-GCM)",
            ),
            (
                Some(Cipher::Aes256Gcm),
                Side::Connector,
                "192.0.2.2:5000 is here; the room is private (AES-256-GCM)",
            ),
        ];
        for (cipher, side, expected) in cases {
            assert_eq!(arrived(peer, cipher, side), expected);
        }
    }

    #[test]
    fn the_waiting_row_says_where_first() {
        let any = |ip: &str| Some(SocketAddr::new(ip.parse().expect("an address"), 47100));
        let cases = [
            (
                any("::"),
                Family::Any,
                false,
                "port 47100 (any address): waiting for a partner",
            ),
            (
                any("0.0.0.0"),
                Family::V4,
                false,
                "port 47100 (any IPv4 address): waiting for a partner",
            ),
            (
                any("::"),
                Family::V6,
                true,
                "port 47100 (any IPv6 address): waiting for the next partner",
            ),
            (
                any("127.0.0.1"),
                Family::Any,
                false,
                "127.0.0.1 port 47100: waiting for a partner",
            ),
            (None, Family::Any, false, "waiting for a partner"),
        ];
        for (local, family, again, expected) in cases {
            assert_eq!(listening(local, family, again), expected);
        }
        let peer = CONNECTOR.parse().expect("an address");
        assert_eq!(
            not_answering(peer, Duration::from_secs(30)),
            "192.0.2.2:5000 is not answering; tete gives up after 30 s of silence"
        );
    }
}
