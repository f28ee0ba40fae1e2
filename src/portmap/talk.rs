//! One request to the router and its answer, over a non-blocking socket, within a deadline.
//!
//! A [`Talk`] is a datagram sent (and sent again on RFC 6886's schedule, 250 ms then twice the
//! wait each time) until a reply is judged to be the answer, or an HTTP request written on a
//! TCP connection and its reply read until it is whole. It never blocks: [`Talk::step`] does
//! what the socket allows and says whether the answer is there. Two drivers move it on: the
//! relay's poll loop (the socket registered under a token, [`Talk::next_deadline`] in the
//! poll's timeout), and [`Talk::finish`], which waits with poll(2) on the one socket, for the
//! talks that come before the loop (the first mapping) and after it (the deletion).
//!
//! Whatever the router does, a talk ends by its deadline, reads into fixed buffers, and keeps
//! at most [`MAX_REPLY`] bytes of a reply.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use rustix::event::{PollFd, PollFlags, Timespec};

use super::Failure;
use crate::error::os_reason;

/// The wait before a datagram is sent again the first time; each later wait is twice the last.
const FIRST_RESEND: Duration = Duration::from_millis(250);

/// The most of an HTTP reply kept: a router's device description is a few KiB.
pub(super) const MAX_REPLY: usize = 64 * 1024;

/// The largest datagram read (PCP's largest message is 1,100 bytes).
const DATAGRAM: usize = 1500;

/// The most datagrams one step reads: a router that floods its port cannot hold up the
/// relay's loop, which steps the talk again at its next turn.
const DATAGRAMS_A_STEP: usize = 64;

/// What the judge of a talk says of what has arrived: `None`, not the answer (yet); else the
/// answer, or why the router's reply is a refusal. The judge reads each datagram, or the HTTP
/// reply so far with a flag that says whether it is all there is (the server has closed).
pub(super) type Verdict<T> = Option<Result<T, String>>;

/// Where a talk stands.
pub(super) enum Heard<T> {
    Waiting,
    Answer(T),
    Failed(Failure),
}

enum Wire {
    /// `request` to each of `targets`; only datagrams from `from` are read.
    Datagram {
        socket: UdpSocket,
        targets: Vec<SocketAddr>,
        from: IpAddr,
        next_send: Instant,
        wait: Duration,
    },
    /// One HTTP exchange: `request` written, then the reply read until it is whole.
    Stream {
        stream: TcpStream,
        written: usize,
        reply: Vec<u8>,
    },
}

pub(super) struct Talk {
    wire: Wire,
    request: Vec<u8>,
    deadline: Instant,
}

impl Talk {
    /// A datagram talk: `request` goes to each of `targets` at once and again until answered.
    pub(super) fn datagram(
        socket: UdpSocket,
        targets: Vec<SocketAddr>,
        from: IpAddr,
        request: Vec<u8>,
        deadline: Instant,
    ) -> Talk {
        Talk {
            wire: Wire::Datagram {
                socket,
                targets,
                from,
                next_send: Instant::now(),
                wait: FIRST_RESEND,
            },
            request,
            deadline,
        }
    }

    /// An HTTP talk: connects to `server` and sends `request` once connected.
    pub(super) fn http(
        server: SocketAddr,
        request: Vec<u8>,
        deadline: Instant,
    ) -> io::Result<Talk> {
        Ok(Talk {
            wire: Wire::Stream {
                stream: TcpStream::connect(server)?,
                written: 0,
                reply: Vec::new(),
            },
            request,
            deadline,
        })
    }

    /// Puts `request` in place of the last one on this datagram talk's socket, sent at the
    /// next step and again on the same schedule as the first, until `deadline`.
    pub(super) fn ask(&mut self, request: Vec<u8>, now: Instant, deadline: Instant) {
        if let Wire::Datagram {
            next_send, wait, ..
        } = &mut self.wire
        {
            *next_send = now;
            *wait = FIRST_RESEND;
        }
        self.request = request;
        self.deadline = deadline;
    }

    /// Stops sending the request again: the talk only listens, until `deadline`.
    pub(super) fn listen_until(&mut self, deadline: Instant) {
        if let Wire::Datagram { next_send, .. } = &mut self.wire {
            *next_send = deadline;
        }
        self.deadline = deadline;
    }

    /// Sends the request once more, now, and waits for nothing (a datagram talk's last word).
    pub(super) fn send_once(&self) {
        if let Wire::Datagram {
            socket, targets, ..
        } = &self.wire
        {
            let _: Heard<()> = send(socket, targets, &self.request);
        }
    }

    /// When the talk next needs a step without an event: a resend, or its deadline.
    pub(super) fn next_deadline(&self) -> Instant {
        match &self.wire {
            Wire::Datagram { next_send, .. } => (*next_send).min(self.deadline),
            Wire::Stream { .. } => self.deadline,
        }
    }

    /// Does what the socket allows; `judge` reads each datagram from the router, or the HTTP
    /// reply so far.
    pub(super) fn step<T>(
        &mut self,
        now: Instant,
        judge: &mut impl FnMut(&[u8], bool) -> Verdict<T>,
    ) -> Heard<T> {
        let heard = match &mut self.wire {
            Wire::Datagram {
                socket,
                targets,
                from,
                next_send,
                wait,
            } => {
                let heard = receive(socket, *from, judge);
                if matches!(heard, Heard::Waiting) && now >= *next_send && now < self.deadline {
                    *next_send = now + *wait;
                    *wait *= 2;
                    send(socket, targets, &self.request)
                } else {
                    heard
                }
            }
            Wire::Stream {
                stream,
                written,
                reply,
            } => exchange(stream, &self.request, written, reply, judge),
        };
        match heard {
            Heard::Waiting if now >= self.deadline => quiet("no answer"),
            heard => heard,
        }
    }

    /// Waits for the answer, blocking this thread on poll(2) until it is there or the
    /// deadline has passed.
    pub(super) fn finish<T>(
        mut self,
        mut judge: impl FnMut(&[u8], bool) -> Verdict<T>,
    ) -> Result<T, Failure> {
        loop {
            let now = Instant::now();
            match self.step(now, &mut judge) {
                Heard::Answer(answer) => return Ok(answer),
                Heard::Failed(why) => return Err(why),
                Heard::Waiting => {}
            }
            let wait = self.next_deadline().saturating_duration_since(now);
            let timeout = Timespec {
                tv_sec: wait.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: wait.subsec_nanos().into(),
            };
            let mut fds = [PollFd::from_borrowed_fd(self.fd(), self.wants())];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(Failure::Silent(os_reason(&err.into()))),
            }
        }
    }

    /// Lets the relay's poll wake the talk's driver when the socket is ready.
    pub(super) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        match &mut self.wire {
            Wire::Datagram { socket, .. } => registry.register(socket, token, interest),
            Wire::Stream { stream, .. } => registry.register(stream, token, interest),
        }
    }

    pub(super) fn deregister(&mut self, registry: &Registry) {
        let _ = match &mut self.wire {
            Wire::Datagram { socket, .. } => registry.deregister(socket),
            Wire::Stream { stream, .. } => registry.deregister(stream),
        };
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match &self.wire {
            Wire::Datagram { socket, .. } => socket.as_fd(),
            Wire::Stream { stream, .. } => stream.as_fd(),
        }
    }

    /// What poll(2) should wait for: writable only while a request is still to be written (a
    /// connected socket is always writable, which would make the wait a busy loop).
    fn wants(&self) -> PollFlags {
        match &self.wire {
            Wire::Stream { written, .. } if *written < self.request.len() => {
                PollFlags::IN | PollFlags::OUT
            }
            _ => PollFlags::IN,
        }
    }
}

/// Reads the datagrams waiting (from `from` only) until one is the answer, none is left, or
/// [`DATAGRAMS_A_STEP`] have been read.
fn receive<T>(
    socket: &UdpSocket,
    from: IpAddr,
    judge: &mut impl FnMut(&[u8], bool) -> Verdict<T>,
) -> Heard<T> {
    let mut buf = [0u8; DATAGRAM];
    for _ in 0..DATAGRAMS_A_STEP {
        match socket.recv_from(&mut buf) {
            Ok((n, sender)) if sender.ip().to_canonical() == from => {
                if let Some(heard) = heard(judge(&buf[..n], true)) {
                    return heard;
                }
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP port unreachable, on a connected socket: nothing listens there.
            Err(err) => return failed(&err),
        }
    }
    Heard::Waiting
}

/// Sends `request` to each target (to the connected peer when there are none). A target that
/// cannot be reached (no multicast route, say) is no failure while another can.
fn send<T>(socket: &UdpSocket, targets: &[SocketAddr], request: &[u8]) -> Heard<T> {
    let sent = |result: io::Result<usize>| match result {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(err) => Err(err),
    };
    let results: Vec<io::Result<()>> = if targets.is_empty() {
        vec![sent(socket.send(request))]
    } else {
        targets
            .iter()
            .map(|target| sent(socket.send_to(request, *target)))
            .collect()
    };
    match results.into_iter().find(Result::is_err) {
        Some(Err(err)) if targets.len() <= 1 => failed(&err),
        _ => Heard::Waiting,
    }
}

/// Writes the rest of `request` once connected, then reads the reply until `judge` finds it
/// whole or the server closes.
fn exchange<T>(
    stream: &mut TcpStream,
    request: &[u8],
    written: &mut usize,
    reply: &mut Vec<u8>,
    judge: &mut impl FnMut(&[u8], bool) -> Verdict<T>,
) -> Heard<T> {
    match stream.take_error() {
        Ok(Some(err)) | Err(err) => return failed(&err),
        Ok(None) => {}
    }
    while *written < request.len() {
        match stream.write(&request[*written..]) {
            Ok(n) => *written += n,
            Err(err) if not_ready(&err) => return Heard::Waiting,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return failed(&err),
        }
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(err) if not_ready(&err) => return Heard::Waiting,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return failed(&err),
        };
        if reply.len() + n > MAX_REPLY {
            let why = format!("the router's reply is over {MAX_REPLY} bytes");
            return Heard::Failed(Failure::Refused(why));
        }
        reply.extend_from_slice(&buf[..n]);
        // Read 0: the server has closed, and the reply is all there is.
        if let Some(heard) = heard(judge(reply, n == 0)) {
            return heard;
        }
        if n == 0 {
            let why = "the router's reply was cut short".into();
            return Heard::Failed(Failure::Refused(why));
        }
    }
}

/// Whether a stream's call failed only because the socket is not ready (still connecting, or
/// nothing to read or no room to write yet).
fn not_ready(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
    )
}

/// The judge's verdict as where the talk stands; `None` while the answer is still to come.
fn heard<T>(verdict: Verdict<T>) -> Option<Heard<T>> {
    Some(match verdict? {
        Ok(answer) => Heard::Answer(answer),
        Err(why) => Heard::Failed(Failure::Refused(why)),
    })
}

/// A talk that got no answer: nothing the router said.
fn quiet<T>(why: &str) -> Heard<T> {
    Heard::Failed(Failure::Silent(why.into()))
}

/// A socket failure: silence too, in words ("connection refused"; an ICMP "port unreachable"
/// on a connected datagram socket says that nothing listens there).
fn failed<T>(err: &io::Error) -> Heard<T> {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => quiet("nothing answers on that port"),
        _ => Heard::Failed(Failure::Silent(os_reason(err))),
    }
}
