//! The policy: which rules the command line and the channel choose for a session, how our end
//! of stream goes out, and what follows a session's end.

use std::io::IsTerminal;
use std::net::SocketAddr;

use super::{HoldEnd, Rules};
use crate::error::Error;
use crate::options::{Config, Direction, Mode, Shutdown};
use crate::relay::{End, Notices};

/// The end rules `config` chooses for a session: `secure` in password mode, `chat` when stdin
/// is a terminal.
pub(in crate::relay) fn rules_for(config: &Config, secure: bool, chat: bool) -> Rules {
    Rules {
        // In password mode the peer is always tete, which does not stop on our end of stream,
        // and without the authenticated CLOSE it would see a truncation: there -d ends our
        // direction at once instead.
        receive_only: config.direction == Direction::ReceiveOnly && !secure,
        send_only: config.direction == Direction::SendOnly,
        // As the rules above say (a proxy's first: it ends its relay at a FIN from either side).
        hold_end: match (&config.mode, config.shutdown, config.quit_after_eof) {
            _ if secure => HoldEnd::Never,
            (_, Shutdown::AtEnd, _) | (_, _, Some(_)) => HoldEnd::Never,
            (Mode::Connect { proxy: Some(_), .. }, _, _) => HoldEnd::Always,
            _ if chat => HoldEnd::Never,
            _ => HoldEnd::UnlessOnlySent,
        },
        chat,
        quit_after_end: config.quit_after_eof,
        idle_after_end: config.wait,
        // Silence means something after the peer timeout, and nothing when it is off.
        quiet_window: config.peer_timeout,
        tell_waiting: std::io::stderr().is_terminal(),
    }
}

/// Whether our end of stream is followed by a FIN once it is out: in plain mode, unless
/// `--no-shutdown`. In password mode the CLOSE record is the end of stream, and a FIN after it
/// would only end a proxy's whole relay early: the connection closes when the session ends.
pub(in crate::relay) fn half_closes(config: &Config, secure: bool) -> bool {
    config.shutdown != Shutdown::Never && !secure
}

/// What follows a session's end.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::relay) enum Then {
    /// tete is done.
    Exit,
    /// `-k`: the next peer.
    NextPeer,
}

/// What follows a session with `peer` that ended with `end`: tete is done, fails, or (`-k`)
/// serves the next peer; what the user hears about it goes to `notices`. With `-k` one peer's
/// broken connection or channel is that peer's loss, not the server's end; stdin and stdout
/// failures still end it.
pub(in crate::relay) fn after(
    end: End,
    config: &Config,
    peer: SocketAddr,
    notices: &mut Notices,
) -> Result<Then, Error> {
    let keep_open = config.keep_open();
    match end {
        End::StdoutClosed => return Ok(Then::Exit),
        End::PeerLost(err) | End::Failed(err @ Error::Secure(_)) if keep_open => {
            notices.always(err.to_string())
        }
        End::Failed(err) | End::PeerLost(err) => return Err(err),
        End::Idle => {
            let idle = config.idle_timeout.unwrap_or_default().as_secs_f64();
            notices.always(format!(
                "nothing moved for {idle} s; closing the connection to {peer}"
            ));
            if !keep_open {
                return Err(Error::Silent);
            }
        }
        End::Done => notices.verbose("peer closed"),
        End::PeerLeft => notices.always("the peer left"),
    }
    Ok(if keep_open {
        Then::NextPeer
    } else {
        Then::Exit
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{End, Error, HoldEnd, Notices, Then, after, half_closes, rules_for};
    use crate::options::{Command, Config, Environment, parse};

    fn config(args: &[&str]) -> Config {
        match parse(args, Environment::default()) {
            Ok(Command::Run(config)) => config,
            other => panic!("{args:?}: expected a run, got {other:?}"),
        }
    }

    #[test]
    fn the_command_line_and_the_channel_choose_the_rules() {
        let plain = rules_for(&config(&["h", "1"]), false, false);
        assert_eq!(plain.hold_end, HoldEnd::UnlessOnlySent);
        for (args, chat) in [(&["-N", "h", "1"][..], false), (&["h", "1"], true)] {
            let rules = rules_for(&config(args), false, chat);
            assert_eq!(rules.hold_end, HoldEnd::Never, "{args:?}, chat {chat}");
        }
        assert!(!plain.receive_only && !plain.send_only && !plain.chat);
        assert_eq!(
            rules_for(&config(&["-x", "p", "h", "1"]), false, true).hold_end,
            HoldEnd::Always
        );
        assert_eq!(
            rules_for(&config(&["-q", "0", "h", "1"]), false, false).hold_end,
            HoldEnd::Never
        );
        let secure = rules_for(&config(&["-d", "-w", "2", "h", "1"]), true, true);
        assert_eq!(secure.hold_end, HoldEnd::Never);
        assert!(
            !secure.receive_only,
            "-d in password mode ends our direction at once"
        );
        assert!(secure.chat);
        assert_eq!(secure.idle_after_end, Some(Duration::from_secs(2)));
        assert!(rules_for(&config(&["-d", "h", "1"]), false, false).receive_only);
        assert_eq!(plain.quiet_window, Some(Duration::from_secs(30)));
        let off = rules_for(&config(&["--peer-timeout", "0", "h", "1"]), false, false);
        assert_eq!(off.quiet_window, None);
        assert!(half_closes(&config(&["h", "1"]), false));
        assert!(!half_closes(&config(&["h", "1"]), true));
        assert!(!half_closes(&config(&["--no-shutdown", "h", "1"]), false));
    }

    #[test]
    fn a_lost_peer_ends_tete_unless_k_serves_the_next() {
        let peer = "192.0.2.1:5000".parse().expect("an address");
        let lost = || End::PeerLost(Error::Runtime("receiving from x: reset".into()));
        let (once, keep) = (config(&["-l", "1"]), config(&["-k", "-l", "1"]));
        let mut notices = Notices::default();
        assert_eq!(after(End::Done, &once, peer, &mut notices), Ok(Then::Exit));
        assert_eq!(
            after(End::Done, &keep, peer, &mut notices),
            Ok(Then::NextPeer)
        );
        assert!(notices.take(false).is_empty(), "'peer closed' only with -v");
        assert!(matches!(
            after(lost(), &once, peer, &mut notices),
            Err(Error::Runtime(_))
        ));
        assert!(notices.take(true).is_empty());
        assert_eq!(after(lost(), &keep, peer, &mut notices), Ok(Then::NextPeer));
        assert_eq!(notices.take(false).len(), 1, "the loss is said with -k");
        let stdin = || End::Failed(Error::Runtime("stdin: gone".into()));
        assert!(after(stdin(), &keep, peer, &mut notices).is_err());
        let idle = config(&["-i", "3", "-l", "1"]);
        assert_eq!(
            after(End::Idle, &idle, peer, &mut notices),
            Err(Error::Silent)
        );
        let said = notices.take(false);
        assert!(said[0].text.contains("nothing moved for 3 s"), "{said:?}");
        assert_eq!(
            after(End::StdoutClosed, &keep, peer, &mut notices),
            Ok(Then::Exit)
        );
    }
}
