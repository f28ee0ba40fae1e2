//! UPnP IGD's steps for the first mapping, each a talk the relay's loop polls: SSDP discovery,
//! the device description, the external address, then AddPortMapping (again without a lease
//! for a router that takes only permanent ones). The external address is checked before the
//! mapping is asked for, so a router that names one no partner can reach maps nothing.

use std::net::Ipv4Addr;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Registry, Token};

use super::http::{self, Url};
use super::talk::{Heard, Talk};
use super::{Asked, Failure, Grant, Mapping, Method, Router, said, silent, upnp};

pub(super) struct Discovery {
    router: Router,
    asked: Asked,
    deadline: Instant,
    /// The lease asked for: the lifetime, or 0 (until deleted) for a router that wants that.
    lease: u32,
    stage: Stage,
}

enum Stage {
    Search(Talk),
    Describe(Talk, Url),
    Address(Talk, upnp::Control),
    Add(Talk, upnp::Control, Ipv4Addr),
}

/// What a step leads to.
enum Next {
    Wait,
    Describe(Url),
    Address(upnp::Control),
    Add(upnp::Control, Ipv4Addr),
    Done(Grant),
    Fail(Failure),
}

impl Discovery {
    /// Starts the search (sent at the first step), its socket polled under `token`; all is
    /// over by `deadline`.
    pub(super) fn begin(
        router: &Router,
        asked: Asked,
        deadline: Instant,
        registry: &Registry,
        token: Token,
    ) -> Result<Discovery, Failure> {
        let gateway = router.gateway;
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()).map_err(silent)?;
        let targets = upnp::search_targets(gateway, router.ssdp_port, router.multicast);
        let _ = socket.set_multicast_ttl_v4(2);
        let search = upnp::M_SEARCH.as_bytes().to_vec();
        let mut talk = Talk::datagram(socket, targets, gateway.into(), search, deadline);
        talk.register(registry, token).map_err(silent)?;
        Ok(Discovery {
            router: router.clone(),
            asked,
            deadline,
            lease: asked.lifetime,
            stage: Stage::Search(talk),
        })
    }

    pub(super) fn next_deadline(&self) -> Instant {
        self.talk().next_deadline()
    }

    fn talk(&self) -> &Talk {
        match &self.stage {
            Stage::Search(talk)
            | Stage::Describe(talk, _)
            | Stage::Address(talk, _)
            | Stage::Add(talk, ..) => talk,
        }
    }

    pub(super) fn deregister(&mut self, registry: &Registry) {
        match &mut self.stage {
            Stage::Search(talk)
            | Stage::Describe(talk, _)
            | Stage::Address(talk, _)
            | Stage::Add(talk, ..) => talk.deregister(registry),
        }
    }

    /// Moves the current step on, and starts the next when it is done.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Heard<(Method, Grant)> {
        let Asked {
            client,
            internal,
            wanted,
            ..
        } = self.asked;
        let stage = match self.next(now) {
            Next::Wait => return Heard::Waiting,
            Next::Fail(failure) => return Heard::Failed(failure),
            Next::Done(grant) => {
                let Stage::Add(_, control, _) = &self.stage else {
                    return Heard::Waiting;
                };
                return Heard::Answer((Method::Upnp(control.clone()), grant));
            }
            Next::Describe(location) => {
                let request = http::request("GET", &location, &[], "");
                self.http(location.server, request)
                    .map(|talk| Stage::Describe(talk, location))
            }
            Next::Address(control) => {
                let request = upnp::external_address_request(&control);
                self.http(control.url.server, request)
                    .map(|talk| Stage::Address(talk, control))
            }
            Next::Add(control, public) => {
                let request = upnp::add_mapping(&control, client, internal, wanted, self.lease);
                self.http(control.url.server, request)
                    .map(|talk| Stage::Add(talk, control, public))
            }
        };
        let mut stage = match stage {
            Ok(stage) => stage,
            Err(failure) => return Heard::Failed(broken(failure)),
        };
        let registered = match &mut stage {
            Stage::Search(talk)
            | Stage::Describe(talk, _)
            | Stage::Address(talk, _)
            | Stage::Add(talk, ..) => talk.register(registry, token),
        };
        if let Err(err) = registered {
            return Heard::Failed(broken(silent(err)));
        }
        self.deregister(registry);
        self.stage = stage;
        Heard::Waiting
    }

    /// An HTTP talk with the router's web server.
    fn http(&self, server: std::net::SocketAddr, request: Vec<u8>) -> Result<Talk, Failure> {
        Talk::http(server, request, self.deadline).map_err(silent)
    }

    /// Steps the current talk: what it leads to.
    fn next(&mut self, now: Instant) -> Next {
        let gateway = self.router.gateway;
        let fail = |failure| Next::Fail(broken(failure));
        match &mut self.stage {
            Stage::Search(talk) => {
                match talk.step(now, &mut |reply, _| {
                    upnp::read_search_reply(reply, gateway).map(Ok)
                }) {
                    Heard::Waiting => Next::Wait,
                    Heard::Answer(location) => Next::Describe(location),
                    // Nothing answered the search: silence, not the router's failure.
                    Heard::Failed(failure) => Next::Fail(failure),
                }
            }
            Stage::Describe(talk, location) => match talk.step(now, &mut http::read_reply) {
                Heard::Waiting => Next::Wait,
                Heard::Failed(failure) => fail(failure),
                Heard::Answer(reply) if reply.status != 200 => Next::Fail(Failure::Refused(
                    format!("UPnP: the description answered HTTP {}", reply.status),
                )),
                Heard::Answer(reply) => {
                    match upnp::find_control(&String::from_utf8_lossy(&reply.body), location) {
                        Ok(control) => Next::Address(control),
                        Err(why) => Next::Fail(Failure::Refused(why)),
                    }
                }
            },
            Stage::Address(talk, control) => match talk.step(now, &mut upnp::read_soap_reply) {
                Heard::Waiting => Next::Wait,
                Heard::Failed(failure) => fail(failure),
                Heard::Answer(outcome) => {
                    match done(outcome).map(|body| upnp::external_address(&body)) {
                        Err(failure) => Next::Fail(failure),
                        Ok(None) => Next::Fail(Failure::Refused(
                            "UPnP: the router gave no external address".into(),
                        )),
                        Ok(Some(public)) => {
                            match said::unreachable(public, &self.router, self.asked.client) {
                                Some(why) => Next::Fail(Failure::Refused(format!("UPnP: {why}"))),
                                None => Next::Add(control.clone(), public),
                            }
                        }
                    }
                }
            },
            Stage::Add(talk, control, public) => match talk.step(now, &mut upnp::read_soap_reply) {
                Heard::Waiting => Next::Wait,
                Heard::Failed(failure) => fail(failure),
                Heard::Answer(upnp::Outcome::Error(upnp::ONLY_PERMANENT_LEASES, _))
                    if self.lease != 0 =>
                {
                    self.lease = 0;
                    Next::Add(control.clone(), *public)
                }
                Heard::Answer(outcome) => match done(outcome) {
                    Ok(_) => Next::Done(Grant {
                        public: *public,
                        external: self.asked.wanted,
                        lifetime: self.lease,
                    }),
                    Err(failure) => Next::Fail(failure),
                },
            },
        }
    }

    /// The mapping the router may hold though it has not said so yet: once AddPortMapping is
    /// under way. Removed on the way out, should tete end now.
    pub(super) fn leftover(&self) -> Option<Mapping> {
        let Stage::Add(_, control, public) = &self.stage else {
            return None;
        };
        let grant = Grant {
            public: *public,
            external: self.asked.wanted,
            lifetime: self.lease,
        };
        let method = Method::Upnp(control.clone());
        Some(self.asked.mapping(&self.router, method, grant))
    }
}

/// Once the router has answered the search, silence is its own failure.
fn broken(failure: Failure) -> Failure {
    match failure {
        Failure::Silent(why) => Failure::Refused(format!("UPnP: {why}")),
        refused => refused,
    }
}

/// The body of an action that was done; the router's error in words otherwise.
fn done(outcome: upnp::Outcome) -> Result<String, Failure> {
    match outcome {
        upnp::Outcome::Done(body) => Ok(body),
        upnp::Outcome::Error(code, words) => Err(Failure::Refused(upnp::error_text(code, &words))),
    }
}
