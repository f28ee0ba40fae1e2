//! A mapping's life: asked for inside the relay's loop ([`Opening`]), renewed there before it
//! lapses, and removed when tete ends; one the router granted on an address no partner can
//! reach is removed at once.
//!
//! A renewal is the mapping's request again, asked at half the lifetime granted; a failed one
//! is tried again (after a quarter of the lifetime, at most [`RETRY`]), and the user hears once
//! when the mapping has lapsed, and again if the router then gives it back, or moves it.

use std::time::{Duration, Instant};

use mio::{Registry, Token};

use super::opening::{Opened, Opening};
use super::talk::{Heard, Talk};
use super::{
    Failure, Mapping, Method, REMOVE_WAIT, RENEW_WAIT, RETRY, reason, said, silent, upkeep,
};

/// `--map-port`'s mapping, from the first request to its removal (on every way out: the relay
/// removes it, and dropping it removes it too).
pub(crate) struct PortMap {
    state: State,
    password: bool,
}

enum State {
    Opening(Box<Opening>),
    Kept(Kept),
    /// A mapping granted on an address no partner can reach, being deleted.
    Removing(Mapping, Talk),
    Over,
}

impl PortMap {
    pub(super) fn opening(opening: Opening, password: bool) -> PortMap {
        PortMap {
            state: State::Opening(Box::new(opening)),
            password,
        }
    }

    /// A mapping already made, kept from now on.
    #[cfg(test)]
    pub(super) fn keep(mapping: Mapping, password: bool) -> PortMap {
        PortMap {
            state: State::Kept(Kept::new(mapping, Instant::now())),
            password,
        }
    }

    /// When the loop must step the mapping even without an event.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Opening(opening) => opening.next_deadline(),
            State::Kept(kept) => kept.next_deadline(),
            State::Removing(_, talk) => Some(talk.next_deadline()),
            State::Over => None,
        }
    }

    /// Moves the mapping on (its sockets polled under `token`). Returns a line for the user:
    /// what came of the request, or that the mapping lapsed, came back, or moved.
    pub(crate) fn step(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<String> {
        match &mut self.state {
            State::Opening(opening) => {
                let (gateway, wanted) = (opening.gateway(), opening.wanted());
                let line = match opening.step(registry, token, now) {
                    Opened::Waiting => return None,
                    Opened::Failed(Failure::Silent(_)) => said::silent(gateway, wanted),
                    Opened::Failed(Failure::Refused(why)) => said::refused(gateway, wanted, &why),
                    Opened::Mapped(mapping) => return self.mapped(mapping, registry, token, now),
                };
                opening.deregister(registry);
                self.state = State::Over;
                Some(line)
            }
            State::Kept(kept) => kept.step(registry, token, now, self.password),
            State::Removing(mapping, talk) => {
                let heard = talk.step(now, &mut |reply, all| {
                    upkeep::read_deletion(mapping, reply, all)
                });
                let why = match heard {
                    Heard::Waiting => return None,
                    Heard::Answer(()) => None,
                    Heard::Failed(failure) => Some(reason(failure)),
                };
                talk.deregister(registry);
                let line = why.map(|why| not_removed(mapping, &why));
                self.state = State::Over;
                line
            }
            State::Over => None,
        }
    }

    /// The router has made the mapping: kept if a partner can reach its address, else removed.
    fn mapped(
        &mut self,
        mapping: Mapping,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<String> {
        if let State::Opening(opening) = &mut self.state {
            opening.deregister(registry);
        }
        let Some(why) = said::unreachable(mapping.grant.public, &mapping.router, mapping.client)
        else {
            let line = said::opened(&mapping, self.password, "");
            self.state = State::Kept(Kept::new(mapping, now));
            return Some(line);
        };
        let (gateway, wanted) = (mapping.router.gateway, mapping.grant.external);
        let method = said::method_name(&mapping.method);
        let line = said::refused(gateway, wanted, &format!("{method}: {why}"));
        let registered = upkeep::deletion(&mapping, now + REMOVE_WAIT).and_then(|mut talk| {
            talk.register(registry, token).map_err(silent)?;
            Ok(talk)
        });
        self.state = match registered {
            Ok(talk) => State::Removing(mapping, talk),
            Err(_) => State::Over,
        };
        Some(line)
    }

    /// Removes the mapping from the router, waiting at most [`REMOVE_WAIT`]; one asked for and
    /// not yet answered gets a deletion sent and no wait, unless the router is mid-answer over
    /// HTTP. Returns a line for the user if the removal failed. Once only.
    pub(crate) fn remove(&mut self) -> Option<String> {
        match std::mem::replace(&mut self.state, State::Over) {
            State::Opening(opening) => {
                let mut line = None;
                for mapping in opening.leftovers() {
                    let talk = upkeep::deletion(&mapping, Instant::now() + REMOVE_WAIT);
                    match (&mapping.method, talk) {
                        (Method::Upnp(_), talk) => line = line.or(finish_removal(&mapping, talk)),
                        (_, Ok(talk)) => talk.send_once(),
                        (_, Err(_)) => {}
                    }
                }
                line
            }
            State::Kept(mut kept) => kept.remove(),
            State::Removing(mapping, talk) => finish_removal(&mapping, Ok(talk)),
            State::Over => None,
        }
    }
}

impl Drop for PortMap {
    /// The relay removes the mapping itself on every way out, and says how that went; a
    /// `PortMap` dropped without that (a panic unwinding) still removes it, quietly.
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// Waits for the deletion's answer (until the talk's deadline); a line if it failed.
fn finish_removal(mapping: &Mapping, talk: Result<Talk, Failure>) -> Option<String> {
    let removed =
        talk.and_then(|talk| talk.finish(|reply, all| upkeep::read_deletion(mapping, reply, all)));
    match removed {
        Ok(()) => None,
        Err(failure) => Some(not_removed(mapping, &reason(failure))),
    }
}

/// The line for a mapping the router did not remove.
fn not_removed(mapping: &Mapping, why: &str) -> String {
    let lapses = match mapping.grant.lifetime {
        0 => "it stays until the router restarts".to_string(),
        lifetime => format!("it lapses within {lifetime} s"),
    };
    let gateway = mapping.router.gateway;
    format!("could not remove the port mapping on the router at {gateway} ({why}); {lapses}")
}

/// A mapping the router granted, kept alive.
struct Kept {
    /// `None` once removed.
    mapping: Option<Mapping>,
    renewal: Renewal,
    /// When the mapping lapses unless renewed (`None`: it does not).
    expires: Option<Instant>,
    /// The user has been told that the mapping lapsed.
    lapsed: bool,
}

enum Renewal {
    Never,
    At(Instant),
    Asking(Talk),
}

impl Kept {
    fn new(mapping: Mapping, now: Instant) -> Kept {
        let mut kept = Kept {
            renewal: Renewal::Never,
            expires: None,
            lapsed: false,
            mapping: None,
        };
        kept.granted(&mapping, now);
        kept.mapping = Some(mapping);
        kept
    }

    /// When the loop must step the renewal even without an event.
    fn next_deadline(&self) -> Option<Instant> {
        match &self.renewal {
            Renewal::Never => None,
            Renewal::At(at) => Some(*at),
            Renewal::Asking(talk) => Some(talk.next_deadline()),
        }
    }

    /// Moves the renewal on (its socket is registered under `token` while it runs). Returns a
    /// line for the user when the mapping lapsed, came back, or moved.
    fn step(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        password: bool,
    ) -> Option<String> {
        let mapping = self.mapping.as_ref()?;
        if let Renewal::At(at) = self.renewal {
            if now < at {
                return None;
            }
            let mut talk = match upkeep::renewal(mapping, now + RENEW_WAIT) {
                Ok(talk) => talk,
                Err(failure) => return self.failed(failure, now),
            };
            if let Err(err) = talk.register(registry, token) {
                return self.failed(silent(err), now);
            }
            self.renewal = Renewal::Asking(talk);
        }
        let Renewal::Asking(talk) = &mut self.renewal else {
            return None;
        };
        let heard = talk.step(now, &mut |reply, all| {
            upkeep::read_renewal(mapping, reply, all)
        });
        if !matches!(heard, Heard::Waiting) {
            talk.deregister(registry);
        }
        match heard {
            Heard::Waiting => None,
            Heard::Failed(failure) => self.failed(failure, now),
            Heard::Answer(grant) => {
                let mut mapping = self.mapping.take()?;
                let moved = grant.public != mapping.grant.public
                    || grant.external != mapping.grant.external;
                let back = std::mem::take(&mut self.lapsed);
                mapping.grant = grant;
                self.granted(&mapping, now);
                let line = (moved || back).then(|| said::opened(&mapping, password, "again "));
                self.mapping = Some(mapping);
                line
            }
        }
    }

    /// Removes the mapping from the router, waiting at most [`REMOVE_WAIT`]. Returns a line
    /// for the user if that failed.
    fn remove(&mut self) -> Option<String> {
        let mapping = self.mapping.take()?;
        // A renewal under way is dropped: the deletion supersedes it.
        self.renewal = Renewal::Never;
        let talk = upkeep::deletion(&mapping, Instant::now() + REMOVE_WAIT);
        finish_removal(&mapping, talk)
    }

    /// Schedules the next renewal of the grant `mapping` holds, made at `now`.
    fn granted(&mut self, mapping: &Mapping, now: Instant) {
        let lifetime = Duration::from_secs(mapping.grant.lifetime.into());
        self.expires = (!lifetime.is_zero()).then(|| now + lifetime);
        self.renewal = match lifetime.is_zero() {
            true => Renewal::Never,
            false => Renewal::At(now + (lifetime / 2).max(Duration::from_secs(1))),
        };
    }

    /// A renewal failed: try again later; say so once when the mapping has lapsed.
    fn failed(&mut self, failure: Failure, now: Instant) -> Option<String> {
        let lifetime = self
            .mapping
            .as_ref()
            .map_or(super::LIFETIME, |mapping| mapping.grant.lifetime);
        let wait = (Duration::from_secs(lifetime.into()) / 4).clamp(Duration::from_secs(1), RETRY);
        self.renewal = Renewal::At(now + wait);
        let lapsed = self.expires.is_some_and(|expires| now >= expires);
        if !lapsed || self.lapsed {
            return None;
        }
        self.lapsed = true;
        let (Failure::Silent(why) | Failure::Refused(why)) = failure;
        Some(format!(
            "the router did not renew the port mapping ({why}): a partner on the internet may \
             not get in; trying again every {} s",
            wait.as_secs()
        ))
    }
}
