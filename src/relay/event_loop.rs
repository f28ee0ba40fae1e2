//! The poll loop: named tokens, one `match` on each event's token, then one step of whatever
//! the loop is doing (waiting for a peer, or pumping a session's bytes).

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Registry, Token};

use super::chat_front::ChatFront;
use super::meter::Meter;
use super::peer::{Next, Peers};
use super::session::Session;
use super::{Input, Output};
use crate::error::Error;
use crate::options::{Config, Mode};
use crate::password::{self, Password};
use crate::portmap::PortMap;
use crate::signals::{Signal, SignalSource, die_of};
use crate::stdio::StdStream;

pub(super) const STDIN: Token = Token(0);
pub(super) const STDOUT: Token = Token(1);
pub(super) const PEER: Token = Token(2);
pub(super) const LISTENER: Token = Token(3);
const SIGNALS: Token = Token(4);
/// The first of a password listener's pending handshakes' tokens, one a slot.
pub(super) const FIRST_PENDING: usize = 5;
/// `--map-port`'s renewals: far above the pending slots.
const PORTMAP: Token = Token(usize::MAX - 1);

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
    /// `--map-port`'s mapping on the router, removed when dropped: last, so that the chat
    /// screen is gone before a failure to remove it is said.
    portmap: Option<PortMap>,
}

impl<'a> Relay<'a> {
    /// Sets everything up in the order a person at a terminal needs: the listening socket is
    /// bound (or the host resolved) before the password prompt, so that a port in use or an
    /// unknown host is said before anyone types a password; the connection starts after it,
    /// so that no handshake deadline runs while the password is typed.
    pub(super) fn new(config: &'a Config) -> Result<Relay<'a>, Error> {
        let poll = Poll::new().map_err(|err| Error::io("cannot create the event loop", &err))?;
        let mut peers = Peers::start(config, poll.registry())?;
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
        peers.connect(poll.registry())?;
        let portmap = map_port(config, &peers, password.is_some());
        let input = Input {
            ready: !stdin.pollable,
            ended: false,
            stream: stdin,
        };
        let output = Output {
            ready: !stdout.pollable,
            stream: stdout,
        };
        let chat = ChatFront::start(config, &input, &output)?;
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
            portmap,
        })
    }

    pub(super) fn run(mut self) -> Result<(), Error> {
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
                    STDIN => self.input.ready = true,
                    STDOUT => self.output.ready = true,
                    LISTENER => self.peers.listener_ready(),
                    // The mapping's renewal moves on after every poll, below.
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
            self.renew_mapping(Instant::now());
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
        let portmap = self.portmap.as_ref().and_then(PortMap::next_deadline);
        [self.peers.next_deadline(), session, redraw, portmap]
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Waits for a peer or pumps the session. Returns true when tete is done.
    fn step(&mut self, now: Instant) -> Result<bool, Error> {
        loop {
            self.chat_keys()?;
            if self.session.is_none() {
                let password = self.password.as_deref();
                let registry = self.poll.registry();
                let peers = &mut self.peers;
                match aside(self.chat.as_mut(), || peers.step(registry, now, password))? {
                    Next::Wait => return Ok(false),
                    // A session that has just begun is pumped at once: its first readiness
                    // events may have been spent on connecting.
                    Next::Session {
                        stream,
                        peer,
                        early,
                        layer,
                    } => {
                        let layer = layer.unwrap_or_else(|| {
                            Session::fresh_layer(self.config, self.password.as_deref())
                        });
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
                .or_else(|| session.timed_out(self.config, now));
            if let Some(hint) = session.take_hint() {
                aside(self.chat.as_mut(), || eprintln!("tete: {hint}"));
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
            let meter = self.meter.take();
            // The live line goes before any message, the summary comes last.
            if let Some(meter) = &meter {
                meter.erase();
            }
            let transferred = session.transferred();
            let over = self.beside_chat(|peers, registry| {
                let over = peers.session_over(registry, end, peer);
                if let Some(meter) = &meter {
                    meter.summarize(Instant::now(), transferred);
                }
                over
            });
            if over? {
                return Ok(true);
            }
            // With -k the next client may already wait in the backlog, its readiness event
            // spent while this session ran: look for it now, not at the next event.
        }
    }

    /// Tells the peer lifecycle when the session's peer has proved it knows the password (at
    /// once when there is none).
    fn check_authenticated(&mut self) {
        if let Some(session) = &mut self.session
            && session.authenticate()
        {
            let cipher = session.cipher();
            self.beside_chat(|peers, registry| peers.authenticated(registry, cipher));
        }
    }

    /// Runs a step of the peer lifecycle, which may report on stderr (`-v`, a lost peer with
    /// `-k`), with chat mode's input line out of the way of its lines.
    fn beside_chat<T>(&mut self, step: impl FnOnce(&mut Peers<'a>, &Registry) -> T) -> T {
        let (peers, registry) = (&mut self.peers, self.poll.registry());
        aside(self.chat.as_mut(), || step(peers, registry))
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
        // Dying skips destructors: the router's mapping is removed now.
        self.portmap = None;
        die_of(signal)
    }

    /// `--map-port`: renews the mapping when it is time, and says what the user should know.
    fn renew_mapping(&mut self, now: Instant) {
        let Some(portmap) = &mut self.portmap else {
            return;
        };
        if let Some(line) = portmap.step(self.poll.registry(), PORTMAP, now) {
            aside(self.chat.as_mut(), || eprintln!("tete: {line}"));
        }
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

/// `--map-port`: asks the router to forward the port to the listener (before the loop, at most
/// a few seconds), and says how that went.
fn map_port(config: &Config, peers: &Peers<'_>, password: bool) -> Option<PortMap> {
    let Mode::Listen {
        map_port: Some(wanted),
        ..
    } = config.mode
    else {
        return None;
    };
    let listening = peers.listening_on()?;
    let (portmap, line) = crate::portmap::open(listening, wanted, password);
    eprintln!("tete: {line}");
    portmap
}

/// Runs `step`, which may write lines on stderr, with chat mode's input line (if any) out of
/// the way of them.
fn aside<T>(chat: Option<&mut ChatFront>, step: impl FnOnce() -> T) -> T {
    match chat {
        Some(chat) => chat.aside(step),
        None => step(),
    }
}
