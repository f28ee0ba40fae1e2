//! The poll loop: one `match` on each event's token, then one step of whatever the loop is
//! doing (waiting for a peer, or pumping a session's bytes), then the notices that step handed
//! back, shown.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll};

use super::chat_front::ChatFront;
use super::ending::{self, Then};
use super::meter::Meter;
use super::peers::Peers;
use super::port_mapping::PortMapping;
use super::presence::{self, Parting, Side};
use super::session::Session;
use super::{
    Arrival, End, Input, LISTENER, Notice, Notices, Output, PEER, PORTMAP, Readiness, SIGNALS,
    STDIN, STDOUT, fresh_layer,
};
use crate::error::Error;
use crate::options::{Config, Mode};
use crate::password::{self, Password};
use crate::signals::{Signal, SignalSource, die_of};
use crate::stdio::StdStream;

pub(super) struct Relay<'a> {
    config: &'a Config,
    /// The room password, if any: zeroized when the relay ends.
    password: Option<Password>,
    poll: Poll,
    /// SIGINT, SIGTERM, SIGHUP (and SIGWINCH, SIGCONT) as events of the loop.
    signals: SignalSource,
    input: Input,
    output: Output,
    peers: Peers<'a>,
    /// The session with the current peer, once there is one.
    session: Option<Box<Session>>,
    /// Chat mode's line editor and screen, at a terminal.
    chat: Option<ChatFront>,
    /// The progress line and summary of that session.
    meter: Option<Meter>,
    /// What the rooms had to say, not yet shown.
    notices: Notices,
    /// `--map-port`'s mapping on the router.
    mapping: PortMapping,
}

impl<'a> Relay<'a> {
    /// Sets everything up in the order a person at a terminal needs: the listening socket is
    /// bound (or the host resolved) before the password prompt, so that a port in use or an
    /// unknown host is said before anyone types a password; the connection starts after it,
    /// so that no handshake deadline runs while the password is typed.
    pub(super) fn new(config: &'a Config) -> Result<Relay<'a>, Error> {
        let poll = Poll::new().map_err(|err| Error::io("cannot create the event loop", &err))?;
        let mut notices = Notices::default();
        let peers = Peers::start(config, poll.registry(), &mut notices);
        show(notices.take(config.verbose), None);
        let mut peers = peers?;
        let password = password::obtain(&config.password)?;
        let mut signals =
            SignalSource::new().map_err(|err| Error::io("cannot take signals", &err))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(|err| Error::io("event loop", &err))?;
        let stdin = StdStream::open(libc::STDIN_FILENO, poll.registry(), STDIN)
            .map_err(|err| Error::io("stdin", &err))?;
        let stdout = StdStream::open(libc::STDOUT_FILENO, poll.registry(), STDOUT)
            .map_err(|err| Error::io("stdout", &err))?;
        let connected = peers.connect(poll.registry(), &mut notices);
        show(notices.take(config.verbose), None);
        connected?;
        let input = Input {
            ready: Readiness::new(!stdin.pollable),
            ended: false,
            stream: stdin,
        };
        let output = Output {
            ready: Readiness::new(!stdout.pollable),
            stream: stdout,
        };
        let awaited = peers.awaited(false, config.family);
        let mut chat = ChatFront::start(config, &input, &output, &awaited)?;
        // Last, so that nothing here fails once the router holds a mapping.
        let listening = peers.listening_on();
        let registry = poll.registry();
        let mapping = PortMapping::open(
            config,
            listening,
            password.is_some(),
            registry,
            &mut notices,
        );
        show(notices.take(config.verbose), chat.as_mut());
        Ok(Relay {
            config,
            password,
            poll,
            signals,
            input,
            output,
            peers,
            session: None,
            chat,
            meter: None,
            notices,
            mapping,
        })
    }

    /// Runs until tete is done; the router's mapping, if any, goes whatever the end.
    pub(super) fn run(mut self) -> Result<(), Error> {
        let ran = self.turns();
        self.mapping.remove(&mut self.notices);
        self.tell();
        ran
    }

    fn turns(&mut self) -> Result<(), Error> {
        let mut events = Events::with_capacity(16);
        loop {
            match self.poll.poll(&mut events, self.timeout(Instant::now())) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("event loop", &err)),
            }
            for event in events.iter() {
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                match event.token() {
                    SIGNALS => self.on_signals(),
                    STDIN => self.input.ready.set(),
                    STDOUT => self.output.ready.set(),
                    LISTENER => self.peers.listener_ready(),
                    // The mapping's request or renewal moves on after every poll, below.
                    PORTMAP => {}
                    // While connecting, the event itself is the news: the step checks the outcome.
                    PEER => {
                        if let Some(session) = &mut self.session {
                            session.ready(readable, writable);
                        }
                    }
                    token => self.peers.pending_ready(token, readable, writable),
                }
            }
            let registry = self.poll.registry();
            self.mapping
                .step(registry, Instant::now(), &mut self.notices);
            self.tell();
            if self.step(Instant::now())? {
                return Ok(());
            }
        }
    }

    /// How long the poll may wait: until the nearest deadline, or for ever.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let session = self
            .session
            .as_ref()
            .and_then(|session| session.next_deadline(self.config));
        let redraw = self
            .meter
            .as_ref()
            .and_then(|meter| meter.next_deadline(now));
        let mapping = self.mapping.next_deadline();
        let chat = self.chat.as_ref().and_then(ChatFront::next_deadline);
        [self.peers.next_deadline(), session, redraw, mapping, chat]
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Waits for a peer or pumps the session, then writes what chat mode drew. Returns true
    /// when tete is done.
    fn step(&mut self, now: Instant) -> Result<bool, Error> {
        let done = self.advance(now);
        if let Some(chat) = &mut self.chat {
            chat.settle(self.poll.registry(), &mut self.output)
                .map_err(|err| Error::io("terminal", &err))?;
        }
        done
    }

    fn advance(&mut self, now: Instant) -> Result<bool, Error> {
        loop {
            self.chat_keys()?;
            if self.session.is_none() {
                let password = self.password.as_deref();
                let registry = self.poll.registry();
                let arrival = self.peers.step(registry, now, password, &mut self.notices);
                self.tell();
                match arrival? {
                    None => return Ok(false),
                    // A session that has just begun is pumped at once: its first readiness
                    // events may have been spent on connecting.
                    Some(Arrival {
                        stream,
                        peer,
                        early,
                        layer,
                    }) => {
                        if let Some(chat) = &mut self.chat
                            && self.password.is_some()
                            && layer.is_none()
                        {
                            chat.set_presence(Some(&presence::handshaking(peer)));
                        }
                        let layer = layer
                            .unwrap_or_else(|| fresh_layer(self.config, self.password.as_deref()));
                        let session = Session::begin(
                            stream,
                            peer,
                            layer,
                            &early,
                            self.config,
                            &self.input,
                            &self.output,
                        )?;
                        self.session = Some(Box::new(session));
                        self.meter = Some(Meter::begin(self.config, &self.input, now));
                    }
                }
            }
            // Plain mode is open at once: the listener closes before any byte moves.
            self.check_authenticated();
            let Some(session) = &mut self.session else {
                return Ok(false);
            };
            let end = session
                .pump(
                    &mut self.input,
                    &mut self.output,
                    self.chat.as_mut(),
                    self.config,
                )
                .or_else(|| session.timed_out(self.config, now))
                .or_else(|| session.watch());
            if let Some(chat) = &mut self.chat {
                show_liveness(chat, session, self.config);
            }
            let said = session.take_notices();
            if !said.is_empty() {
                said.into_iter()
                    .for_each(|notice| self.notices.push(notice));
                self.tell();
            }
            self.check_authenticated();
            let Some(end) = end else {
                // The session took typed lines: keys left waiting for room are read now.
                if self
                    .chat
                    .as_ref()
                    .is_some_and(|chat| chat.wants_keys(&self.input))
                {
                    continue;
                }
                if let (Some(meter), Some(session)) = (&mut self.meter, &self.session) {
                    meter.tick(Instant::now(), session.transferred());
                }
                return Ok(false);
            };
            let Some(mut session) = self.session.take() else {
                return Ok(false);
            };
            session.close(self.poll.registry());
            let peer = session.peer();
            let mut end = end;
            if let Some(chat) = &mut self.chat {
                let parting = presence::parting(&end, chat.ended_by_you(), session.not_answering());
                let secure = session.cipher().is_some();
                chat.channel_closed(
                    parting
                        .map(|how| presence::left(peer, how, secure))
                        .as_deref(),
                );
                // The chat has said how the partner left: once is enough.
                if matches!(end, End::PeerLeft) {
                    end = End::Done;
                }
            }
            let meter = self.meter.take();
            // The live line goes before any message, the summary comes last.
            if let Some(meter) = &meter {
                meter.erase();
            }
            let notices = &mut self.notices;
            let over = match ending::after(end, self.config, peer, notices) {
                Ok(Then::Exit) => Ok(true),
                Ok(Then::NextPeer) => {
                    let listening = self.peers.listen(self.poll.registry(), notices);
                    if let Some(chat) = &mut self.chat {
                        chat.set_presence(Some(&self.peers.awaited(true, self.config.family)));
                    }
                    listening.map(|()| false)
                }
                Err(err) => Err(err),
            };
            if let Some(meter) = &meter {
                let summary = meter.summary(Instant::now(), session.transferred());
                self.notices.push(summary);
            }
            self.tell();
            if over? {
                return Ok(true);
            }
            // With -k the next client may already wait in the backlog, its readiness event
            // spent while this session ran: look for it now, not at the next event.
        }
    }

    /// Once the session's peer has proved it knows the password (at once when there is none):
    /// says so with `-v`, and tells the listener, which closes unless `-k`.
    fn check_authenticated(&mut self) {
        if let Some(session) = &mut self.session
            && session.authenticate()
        {
            let (peer, cipher) = (session.peer(), session.cipher());
            if let Some(cipher) = cipher {
                self.notices
                    .verbose(format!("secure channel up ({cipher})"));
            }
            self.peers.authenticated(self.poll.registry());
            self.tell();
            // In a chat, the partner is named, and lines typed can go.
            if let Some(chat) = &mut self.chat {
                let side = match self.config.mode {
                    Mode::Listen { .. } => Side::Listener,
                    Mode::Connect { .. } => Side::Connector,
                };
                chat.set_presence(None);
                chat.status(&presence::arrived(peer, cipher, side));
                chat.channel_open();
            }
        }
    }

    /// Shows the notices the rooms handed back, the progress line erased before them.
    fn tell(&mut self) {
        let notices = self.notices.take(self.config.verbose);
        if let Some(meter) = &self.meter
            && !notices.is_empty()
        {
            meter.erase();
        }
        show(notices, self.chat.as_mut());
    }

    /// Chat mode: reads the keys typed and acts on them. Ctrl-C ends tete as it does without
    /// chat mode, where the terminal turns it into SIGINT: at once, by that signal.
    fn chat_keys(&mut self) -> Result<(), Error> {
        let Some(chat) = &mut self.chat else {
            return Ok(());
        };
        let leave = chat
            .read_keys(&mut self.input, &mut self.output)
            .map_err(|err| Error::io("terminal", &err))?;
        if leave {
            // The person is leaving a chat that is under way: said, as the partner's leaving is.
            if let Some(session) = self.session.as_ref().filter(|session| session.is_open()) {
                chat.status(&presence::left(session.peer(), Parting::YouLeft, false));
            }
            self.interrupted(Signal::Interrupt);
        }
        Ok(())
    }

    /// Ends tete by `signal`, as it would have ended by itself, after the chat screen is left
    /// tidy and a password session's peer is told that we were interrupted (best effort: what
    /// the socket takes at once).
    fn interrupted(&mut self, signal: Signal) -> ! {
        self.chat = None;
        if let Some(session) = &mut self.session {
            session.interrupt();
        }
        // Dying skips destructors: the router's mapping goes now.
        self.mapping.remove(&mut self.notices);
        self.tell();
        die_of(signal)
    }

    /// Acts on the signals that arrived: SIGINT, SIGTERM and SIGHUP end tete as they would
    /// have by themselves, after the chat screen is left tidy and shared state is put back;
    /// the chat screen follows the window's size and is drawn again after a stop.
    fn on_signals(&mut self) {
        for signal in self.signals.drain() {
            match (signal, &mut self.chat) {
                (Signal::Interrupt | Signal::Terminate | Signal::HangUp, _) => {
                    self.interrupted(signal)
                }
                (Signal::WindowChanged, Some(chat)) => chat.resize(),
                (Signal::Continued, Some(chat)) => chat.redraw(),
                (Signal::Continued | Signal::WindowChanged, None) => {}
            }
        }
    }
}

/// Chat mode: the presence row says while the partner of an open session is not answering.
fn show_liveness(chat: &mut ChatFront, session: &Session, config: &Config) {
    if !session.is_open() {
        return;
    }
    let silent = config
        .peer_timeout
        .filter(|_| session.not_answering())
        .map(|timeout| presence::not_answering(session.peer(), timeout));
    chat.set_presence(silent.as_deref());
}

/// Shows `notices`: in chat mode through the chat front, out of the way of the line being
/// typed; else on stderr.
fn show(notices: Vec<Notice>, chat: Option<&mut ChatFront>) {
    if notices.is_empty() {
        return;
    }
    match chat {
        Some(chat) => chat.show_notices(&notices),
        None => notices.iter().for_each(Notice::print),
    }
}
