//! Port 5351: PCP first, then NAT-PMP if the router says that is all it speaks; and what tete
//! believes of the answers.
//!
//! A host on the LAN that cannot see tete's requests (a blind spoofer) can still send datagrams
//! that seem to come from the router's port 5351, to every port of this host in turn. What
//! stands in its way:
//! - PCP: a reply counts only if it echoes the request's random nonce (96 bits), error replies
//!   included ([`pcp::read_reply`]); a PCP answer with the nonce is believed over anything
//!   NAT-PMP said.
//! - NAT-PMP's cue (its "unsupported version" answer to PCP) has no nonce: it starts NAT-PMP,
//!   on a socket of its own, while PCP still listens; a PCP answer that comes before NAT-PMP
//!   is done wins.
//! - NAT-PMP has no nonce either. Each answer must come from the router's port 5351 (the
//!   sockets are connected to it) to the socket that asked, answer the opcode asked, name the
//!   port asked for, and agree with the router's other answers: the same address and port
//!   each time, and a clock (every NAT-PMP reply carries the router's seconds since its start)
//!   that ticks with ours. A NAT-PMP answer to a question not asked on that socket, or one
//!   that disagrees, shows that someone else answers for the router: from then on no NAT-PMP
//!   answer is believed, and PCP (with its nonce) or UPnP IGD (over TCP) must do.
//!
//! What is left (the man page's SECURITY section says it): a host that answers NAT-PMP as a
//! router would, one right answer at a time, on a LAN whose router does not answer port 5351
//! itself, is believed; and a host that can spoof the router can usually take its place too.

use std::net::Ipv4Addr;
use std::time::Instant;

use mio::{Registry, Token};

use super::talk::{Heard, Talk};
use super::{
    Asked, Failure, Grant, MAX_5351, Mapping, Method, NATPMP_SHARE, QUIET_5351, Router, datagram,
    fresh_nonce, granted, natpmp, pcp, said,
};

/// Why NAT-PMP's answers are not believed.
const UNASKED: &str = "NAT-PMP answers to questions tete did not ask there";
const DISAGREE: &str = "NAT-PMP answers that disagree with each other";
const CLOCKS: &str = "NAT-PMP answers whose clocks disagree";

/// The exchange on port 5351 for the first mapping.
pub(super) struct Exchange {
    router: Router,
    asked: Asked,
    nonce: pcp::Nonce,
    start: Instant,
    /// The PCP request's talk; `None` once it has ended (silence, an ICMP error).
    pcp: Option<Talk>,
    /// Why the PCP talk ended, if it has.
    pcp_ended: Option<Failure>,
    /// NAT-PMP's talk, after the cue, on a socket of its own.
    natpmp: Option<NatPmp>,
    /// NAT-PMP has been started (and perhaps dropped since): never twice.
    cued: bool,
    heard: Record,
}

struct NatPmp {
    talk: Talk,
    deadline: Instant,
    /// The router's public address, once it has said it (then the mapping is asked for).
    public: Option<Ipv4Addr>,
}

/// What the router's port 5351 has said so far.
#[derive(Default)]
struct Record {
    /// The first PCP answer with the nonce.
    pcp: Option<pcp::Reply>,
    cue: bool,
    /// What has been asked on the NAT-PMP socket.
    asked_address: bool,
    asked_map: bool,
    /// The first NAT-PMP answers, which any later ones must repeat.
    address: Option<Result<Ipv4Addr, String>>,
    map: Option<Result<(u16, u32), String>>,
    /// The first NAT-PMP clock reading, and when it came.
    clock: Option<(Instant, u32)>,
    distrust: Option<&'static str>,
}

impl Exchange {
    /// Starts with the PCP request (sent at the first step), its socket polled under `token`.
    pub(super) fn begin(
        router: &Router,
        asked: Asked,
        now: Instant,
        registry: &Registry,
        token: Token,
    ) -> Result<Exchange, Failure> {
        let nonce = fresh_nonce();
        let request = pcp::map_request(
            &nonce,
            asked.client,
            asked.internal,
            asked.wanted,
            asked.lifetime,
        );
        let mut talk = datagram(router, &request, now + QUIET_5351)?;
        talk.register(registry, token).map_err(super::silent)?;
        Ok(Exchange {
            router: router.clone(),
            asked,
            nonce,
            start: now,
            pcp: Some(talk),
            pcp_ended: None,
            natpmp: None,
            cued: false,
            heard: Record::default(),
        })
    }

    /// The next moment a talk under way is due; `None` once neither is (its step then has
    /// said how the exchange ended).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let natpmp = self
            .natpmp
            .as_ref()
            .map(|natpmp| natpmp.talk.next_deadline());
        let pcp = self.pcp.as_ref().map(|talk| talk.next_deadline());
        natpmp.into_iter().chain(pcp).min()
    }

    /// Reads what has come and sends what is due: the mapping and how it was made once the
    /// router has granted it, or why there is none.
    pub(super) fn step(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Heard<(Method, Grant)> {
        let natpmp_ended = self.listen(now);
        match self.heard.pcp.take() {
            // An address no partner can reach is the caller's to refuse: the router has
            // made the mapping, which must go.
            Some(pcp::Reply::Granted(grant)) => {
                return match granted(grant, "PCP") {
                    Ok(grant) => Heard::Answer((Method::Pcp(self.nonce), grant)),
                    Err(why) => Heard::Failed(Failure::Refused(why)),
                };
            }
            Some(pcp::Reply::Refused(why)) => return Heard::Failed(Failure::Refused(why)),
            Some(pcp::Reply::NatPmpOnly) => self.heard.cue = true,
            None => {}
        }
        if let Some(why) = self.heard.distrust {
            if let Some(mut natpmp) = self.natpmp.take() {
                natpmp.talk.deregister(registry);
            }
            return match self.pcp {
                Some(_) => Heard::Waiting,
                None => Heard::Failed(Failure::Refused(format!(
                    "port 5351 sent {why}: someone on the LAN may be posing as the router, so \
                     tete believed none of them"
                ))),
            };
        }
        if self.heard.cue && !self.cued {
            self.cued = true;
            let deadline = (now + NATPMP_SHARE).min(self.start + MAX_5351);
            let started =
                datagram(&self.router, &natpmp::ADDRESS_REQUEST, deadline).and_then(|mut talk| {
                    match talk.register(registry, token) {
                        Ok(()) => Ok(talk),
                        Err(err) => Err(super::silent(err)),
                    }
                });
            match started {
                Ok(talk) => {
                    self.heard.asked_address = true;
                    if let Some(pcp) = &mut self.pcp {
                        pcp.listen_until(deadline);
                    }
                    self.natpmp = Some(NatPmp {
                        talk,
                        deadline,
                        public: None,
                    });
                }
                Err(failure) => return Heard::Failed(failure),
            }
        }
        if self.natpmp.is_some() {
            return self.natpmp_step(natpmp_ended, now);
        }
        match self.pcp_ended.take() {
            Some(failure) => Heard::Failed(failure),
            None => Heard::Waiting,
        }
    }

    /// Steps the talks: what has come goes on the record. Returns why NAT-PMP's talk ended,
    /// if it has.
    fn listen(&mut self, now: Instant) -> Option<Failure> {
        let Exchange {
            pcp,
            pcp_ended,
            natpmp,
            heard,
            nonce,
            asked,
            ..
        } = self;
        let internal = asked.internal;
        if let Some(talk) = pcp {
            let judge = &mut |reply: &[u8], _| {
                heard.heard_on_pcp(reply, nonce, internal, now);
                None::<Result<(), String>>
            };
            if let Heard::Failed(failure) = talk.step(now, judge) {
                *pcp = None;
                *pcp_ended = Some(failure);
            }
        }
        let talk = &mut natpmp.as_mut()?.talk;
        let judge = &mut |reply: &[u8], _| {
            heard.heard_on_natpmp(reply, internal, now);
            None::<Result<(), String>>
        };
        match talk.step(now, judge) {
            Heard::Failed(failure) => Some(failure),
            _ => None,
        }
    }

    /// NAT-PMP after the cue: the address, then the mapping.
    fn natpmp_step(&mut self, ended: Option<Failure>, now: Instant) -> Heard<(Method, Grant)> {
        let Some(natpmp) = &mut self.natpmp else {
            return Heard::Waiting;
        };
        let refused = |why: &String| Heard::Failed(Failure::Refused(why.clone()));
        match (natpmp.public, &self.heard.address, &self.heard.map) {
            (_, Some(Err(why)), _) | (Some(_), _, Some(Err(why))) => return refused(why),
            (None, Some(Ok(public)), _) => {
                let public = *public;
                if let Some(why) = said::unreachable(public, &self.router, self.asked.client) {
                    return Heard::Failed(Failure::Refused(format!("NAT-PMP: {why}")));
                }
                natpmp.public = Some(public);
                self.heard.asked_map = true;
                let Asked {
                    internal,
                    wanted,
                    lifetime,
                    ..
                } = self.asked;
                let request = natpmp::map_request(internal, wanted, lifetime);
                natpmp.talk.ask(request.to_vec(), now, natpmp.deadline);
                return Heard::Waiting;
            }
            (Some(public), _, Some(Ok((external, lifetime)))) => {
                let grant = Grant {
                    public,
                    external: *external,
                    lifetime: *lifetime,
                };
                return match granted(grant, "NAT-PMP") {
                    Ok(grant) => Heard::Answer((Method::NatPmp, grant)),
                    Err(why) => Heard::Failed(Failure::Refused(why)),
                };
            }
            _ => {}
        }
        match ended {
            Some(failure) => Heard::Failed(Failure::Refused(format!(
                "the router answered PCP with NAT-PMP's \"unsupported version\", then did not \
                 answer NAT-PMP ({})",
                super::reason(failure)
            ))),
            None => Heard::Waiting,
        }
    }

    /// The mappings the router may hold though it has not said so yet: the PCP request's, and
    /// NAT-PMP's once asked. Removed on the way out, should tete end now.
    pub(super) fn leftovers(&self) -> Vec<Mapping> {
        let Asked {
            wanted, lifetime, ..
        } = self.asked;
        let grant = Grant {
            public: Ipv4Addr::UNSPECIFIED,
            external: wanted,
            lifetime,
        };
        let mut left = vec![
            self.asked
                .mapping(&self.router, Method::Pcp(self.nonce), grant),
        ];
        if self.heard.asked_map {
            left.push(self.asked.mapping(&self.router, Method::NatPmp, grant));
        }
        left
    }

    pub(super) fn deregister(&mut self, registry: &Registry) {
        let natpmp = self.natpmp.as_mut().map(|natpmp| &mut natpmp.talk);
        for talk in natpmp.into_iter().chain(self.pcp.as_mut()) {
            talk.deregister(registry);
        }
    }
}

impl Record {
    /// A datagram on the PCP socket: PCP's answer, NAT-PMP's cue, or nothing tete asked.
    fn heard_on_pcp(&mut self, reply: &[u8], nonce: &pcp::Nonce, internal: u16, now: Instant) {
        if let Some(answer) = pcp::read_reply(reply, nonce, internal) {
            self.pcp.get_or_insert(answer);
            return;
        }
        match natpmp::classify(reply) {
            // Not NAT-PMP, or a PCP reply without the nonce: it cannot mislead, and is ignored.
            None => {}
            Some((natpmp::Message::Cue, epoch)) => {
                self.cue = true;
                self.tick(epoch, now);
            }
            Some(_) => self.distrust(UNASKED),
        }
    }

    /// A datagram on the NAT-PMP socket: an answer to what was asked there, or not.
    fn heard_on_natpmp(&mut self, reply: &[u8], internal: u16, now: Instant) {
        let Some((message, epoch)) = natpmp::classify(reply) else {
            // A PCP reply, where no PCP request went.
            if let [pcp::VERSION, opcode, ..] = reply
                && opcode & 0x80 != 0
            {
                self.distrust(UNASKED);
            }
            return;
        };
        self.tick(epoch, now);
        match message {
            natpmp::Message::Address(address) if self.asked_address => {
                if !agrees(&mut self.address, address) {
                    self.distrust(DISAGREE);
                }
            }
            natpmp::Message::Map {
                internal: port,
                granted,
            } if self.asked_map
                && (port == Some(internal) || port.is_none() && granted.is_err()) =>
            {
                if !agrees(&mut self.map, granted) {
                    self.distrust(DISAGREE);
                }
            }
            _ => self.distrust(UNASKED),
        }
    }

    /// The router's clock, read from a NAT-PMP reply: it must tick with ours since the first
    /// reading (RFC 6886 section 3.6's allowance: 7/8 of the time passed, give or take 2 s).
    fn tick(&mut self, epoch: Option<u32>, now: Instant) {
        let Some(epoch) = epoch else {
            return;
        };
        let Some((then, first)) = self.clock else {
            self.clock = Some((now, epoch));
            return;
        };
        let passed = now.saturating_duration_since(then).as_secs_f64();
        let first = f64::from(first);
        if !(first + passed * 7.0 / 8.0 - 2.0..=first + passed + 2.0).contains(&f64::from(epoch)) {
            self.distrust(CLOCKS);
        }
    }

    fn distrust(&mut self, why: &'static str) {
        self.distrust.get_or_insert(why);
    }
}

/// Keeps the first answer in `first`; whether `answer` agrees with it.
fn agrees<T: PartialEq>(first: &mut Option<T>, answer: T) -> bool {
    match first {
        Some(first) => *first == answer,
        None => {
            *first = Some(answer);
            true
        }
    }
}
