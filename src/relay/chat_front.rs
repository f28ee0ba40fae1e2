//! Chat mode's front: the terminal in raw mode, the [`Chat`] state machine, and the bytes
//! waiting between them, the terminal and the session.
//!
//! The front outlives any one peer, as stdin does: the person at the terminal types while tete
//! waits for a peer (Ctrl-C must work then too: in raw mode it is a byte, not a signal), and
//! with `-k` one conversation follows another on the same screen. So the event loop owns the
//! front and reads the keys itself, at every step, even after Ctrl-D; the session only takes the
//! lines the editor sent ([`ChatFront::take_typed`], in place of reading stdin) and hands over
//! the peer's bytes ([`ChatFront::show_peer`], in place of writing stdout). tete's own
//! status lines (`-v`, a peer lost with `-k`), which the loop hands it as [`Notice`]s, are drawn
//! by the chat in their own style, from the first column, above the input line
//! ([`ChatFront::show_notices`]); so are the partner's comings and goings, and the presence row
//! says who is, or is not, there ([`ChatFront::set_presence`]). Lines are sent only while a
//! channel is open ([`ChatFront::channel_open`], [`ChatFront::channel_closed`]).
//!
//! Memory stays bounded as in the rest of the relay: keys are read only while the lines waiting
//! for the session and the bytes waiting for the terminal are below [`QUEUE_LIMIT`], and the
//! peer's bytes are taken in pieces of [`PIECE`] only while the screen's queue is below it (the
//! chat writes at most a fixed multiple of what it is given): a slow terminal holds back the
//! session, which then stops reading the socket, and so the peer, as a slow stdout does. What
//! the terminal has taken leaves the queue at once.
//!
//! The loop sleeps while nothing happens: the chat writes nothing unless something changed, and
//! stdout's writability is watched only while bytes wait for the terminal
//! ([`ChatFront::settle`]); a terminal that drains what was written does not wake the loop.
//!
//! However tete ends (a normal end, an error, Ctrl-C, a fatal signal the loop takes, a panic
//! unwinding), dropping the front leaves the screen tidy ([`Chat::finish`], the queue written
//! out within [`DRAIN_TIME`]) and then the terminal's modes as they were (the [`ModeGuard`]).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry};
use rustix::event::{PollFd, PollFlags, Timespec};

use super::{Input, Notice, Output, STDOUT};
use crate::chat::{Action, Chat};
use crate::error::Error;
use crate::options::{Config, Direction};
use crate::terminal::{self, ModeGuard};

/// The most bytes kept waiting either way (typed lines for the session, bytes for the screen)
/// before the front stops taking more.
const QUEUE_LIMIT: usize = 64 * 1024;

/// How many bytes are read from the terminal, or taken from the peer, at a time.
const PIECE: usize = 4 * 1024;

/// The size assumed for a terminal that does not say: columns, rows.
const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// How long the last screen bytes may take to reach a terminal at the end, or before a
/// suspension; a terminal that takes none for this long is not waited for.
const DRAIN_TIME: Duration = Duration::from_secs(2);

pub(super) struct ChatFront {
    chat: Chat,
    /// Lines the editor sent, not yet taken by a session.
    typed: Vec<u8>,
    /// Ctrl-D on an empty line (or the terminal's end): once `typed` is taken, stdin has ended.
    input_ended: bool,
    /// The terminal gave its end (a hangup): it is read no more.
    terminal_ended: bool,
    /// Bytes for the screen, not yet written.
    screen: Vec<u8>,
    /// stdout's terminal, for writing the screen, also when the front is dropped.
    terminal: OwnedFd,
    /// stdout is registered with the poll for its writability.
    watching: bool,
    /// Raw mode; dropped after the screen is left tidy.
    raw_mode: ModeGuard,
}

impl ChatFront {
    /// Chat mode, if `config` and the standard streams call for it: both terminals, stdin part
    /// of the session (not `-d`) and the peer's bytes shown (not `--send-only`), and not
    /// `--no-chat`. Puts stdin's terminal in raw mode and shows the input line, below the
    /// presence row `awaited` (what tete waits for: no partner is in yet).
    pub(super) fn start(
        config: &Config,
        input: &Input,
        output: &Output,
        awaited: &str,
    ) -> Result<Option<ChatFront>, Error> {
        if !config.chat
            || config.direction != Direction::Both
            || !input.stream.is_terminal
            || !output.stream.is_terminal
        {
            return Ok(None);
        }
        let terminal = output
            .stream
            .as_fd()
            .try_clone_to_owned()
            .map_err(|err| Error::io("stdout", &err))?;
        let raw_mode = ModeGuard::raw(&input.stream)
            .map_err(|err| Error::io("cannot put the terminal in raw mode", &err))?;
        let (width, height) = terminal::size(&terminal).unwrap_or(DEFAULT_SIZE);
        let color = has_color(
            std::env::var_os("TERM").as_deref(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        let mut front = ChatFront {
            chat: Chat::new(width, height, color),
            typed: Vec::new(),
            input_ended: false,
            terminal_ended: false,
            screen: Vec::new(),
            terminal,
            // The stream registered itself when it opened.
            watching: output.stream.pollable,
            raw_mode,
        };
        // No partner yet: nothing typed is sent until a channel is open.
        front.chat.set_channel(false, &mut front.screen);
        front.chat.set_presence(Some(awaited), &mut front.screen);
        front.chat.show(&mut front.screen);
        Ok(Some(front))
    }

    /// Reads what was typed and acts on it: lines queued for the session, the screen updated
    /// and written, Ctrl-Z carried out. Returns true when the person pressed Ctrl-C to leave.
    pub(super) fn read_keys(&mut self, input: &mut Input, output: &mut Output) -> io::Result<bool> {
        let mut keys = [0u8; PIECE];
        loop {
            // A long paste fills the screen's queue faster than the keys' queue.
            if self.screen_full() {
                self.flush(output)?;
            }
            if !self.wants_keys(input) {
                break;
            }
            let stream = &input.stream;
            let read = input.ready.attempt(|| match stream.read(&mut keys) {
                // A terminal that hung up reads as its end, or fails with EIO.
                Err(err) if err.raw_os_error() == Some(libc::EIO) => Ok(0),
                other => other,
            });
            let Some(n) = read? else {
                break;
            };
            if n == 0 {
                self.terminal_ended = true;
                self.input_ended = true;
                break;
            }
            match self
                .chat
                .keys(&keys[..n], &mut self.typed, &mut self.screen)
            {
                Action::Continue => {}
                Action::EndInput => self.input_ended = true,
                Action::Leave => return Ok(true),
                Action::Suspend => self.suspend()?,
            }
        }
        // Quiet only while a read has found the terminal empty and no event said otherwise
        // (not while the keys wait for room): a paste's end marker counts after a while of it.
        if !input.ready.is_ready() {
            self.chat.keys_paused(Instant::now());
        }
        self.flush(output)?;
        Ok(false)
    }

    /// When the chat needs a turn with nothing else happening (a paste's end to decide, the
    /// screen to draw again once the window's size settles).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.chat.next_deadline()
    }

    /// True while keys should be read now: the terminal has some, and there is room for what
    /// they make. The loop asks again after a session took typed lines.
    pub(super) fn wants_keys(&self, input: &Input) -> bool {
        input.ready.is_ready()
            && !self.terminal_ended
            && self.typed.len() < QUEUE_LIMIT
            && !self.screen_full()
    }

    /// True when the session has something to take: typed lines, or the end of input.
    pub(super) fn has_typed(&self) -> bool {
        !self.typed.is_empty() || self.input_ended
    }

    /// True when the person ended their side (Ctrl-D), as opposed to the terminal going away.
    pub(super) fn ended_by_you(&self) -> bool {
        self.input_ended && !self.terminal_ended
    }

    /// What the session reads in place of stdin: typed lines, then 0 once input has ended.
    /// Call only when [`ChatFront::has_typed`].
    pub(super) fn take_typed(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        let n = io::Read::read_vectored(&mut self.typed.as_slice(), bufs)?;
        self.typed.drain(..n);
        Ok(n)
    }

    /// What the session writes in place of stdout: the peer's `bytes`, taken while the screen's
    /// queue has room, shown and written. Returns how many were taken.
    pub(super) fn show_peer(&mut self, bytes: &[u8], output: &mut Output) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            self.flush(output)?;
            if taken == bytes.len() || self.screen_full() {
                return Ok(taken);
            }
            let piece = &bytes[taken..bytes.len().min(taken + PIECE)];
            self.chat
                .peer_bytes(piece, Instant::now(), &mut self.screen);
            taken += piece.len();
        }
    }

    /// Draws tete's status lines above the live area, each from the first column, in the
    /// chat's style for them (which the peer cannot imitate).
    pub(super) fn show_notices(&mut self, notices: &[Notice]) {
        for notice in notices {
            self.chat.status(&notice.text, &mut self.screen);
        }
    }

    /// Draws one status line of the chat's own (a partner came or left).
    pub(super) fn status(&mut self, text: &str) {
        self.chat.status(text, &mut self.screen);
    }

    /// The presence row above the input line: who is, or is not, there (`None`: nothing to say).
    pub(super) fn set_presence(&mut self, text: Option<&str>) {
        self.chat.set_presence(text, &mut self.screen);
    }

    /// A channel to a partner is open: lines typed go to it.
    pub(super) fn channel_open(&mut self) {
        self.chat.set_channel(true, &mut self.screen);
    }

    /// The channel closed: the partner's last words go into the conversation, then `left`
    /// (how it left), then what was typed and not taken by the session, said not to be sent.
    /// Lines typed from now on are not sent.
    pub(super) fn channel_closed(&mut self, left: Option<&str>) {
        self.chat.set_channel(false, &mut self.screen);
        if let Some(left) = left {
            self.chat.status(left, &mut self.screen);
        }
        if !self.typed.is_empty() {
            let text = format!(
                "not sent: {} bytes typed were still waiting to go",
                self.typed.len()
            );
            self.chat.status(&text, &mut self.screen);
            self.typed.clear();
        }
    }

    /// At the end of each of the loop's steps: writes what the terminal takes, and watches
    /// stdout's writability only while bytes still wait for it (else a terminal draining what
    /// was written would wake the loop for nothing).
    pub(super) fn settle(&mut self, registry: &Registry, output: &mut Output) -> io::Result<()> {
        self.chat.redraw_due(Instant::now(), &mut self.screen);
        self.flush(output)?;
        let watch = !self.screen.is_empty() && !output.ready.is_ready();
        if watch == self.watching {
            return Ok(());
        }
        let fd = output.stream.as_raw_fd();
        if watch {
            // Registered while writable, the poll reports it at once: no wakeup is lost.
            registry.register(&mut SourceFd(&fd), STDOUT, Interest::WRITABLE)?;
        } else {
            registry.deregister(&mut SourceFd(&fd))?;
            // Unwatched, the terminal is tried at the next write, which says if it is full.
            output.ready.set();
        }
        self.watching = watch;
        Ok(())
    }

    /// SIGWINCH: the chat drawn again for the terminal's new size.
    pub(super) fn resize(&mut self) {
        if let Some((width, height)) = terminal::size(&self.terminal) {
            self.chat
                .resize(width, height, Instant::now(), &mut self.screen);
        }
    }

    /// SIGCONT: the chat drawn again, as the shell may have written over it.
    pub(super) fn redraw(&mut self) {
        self.chat.show(&mut self.screen);
    }

    /// Ctrl-Z: the screen left tidy, then tete stops as the shell's Ctrl-Z would stop it; once
    /// continued, in raw mode again, the chat is drawn again.
    fn suspend(&mut self) -> io::Result<()> {
        self.drain();
        self.raw_mode.suspend()?;
        self.redraw();
        Ok(())
    }

    fn screen_full(&self) -> bool {
        self.screen.len() >= QUEUE_LIMIT
    }

    /// Writes the screen's queue while the terminal takes it; what it took leaves the queue.
    fn flush(&mut self, output: &mut Output) -> io::Result<()> {
        let mut written = 0;
        while written < self.screen.len() {
            let unwritten = &self.screen[written..];
            let write = || rustix::io::write(&self.terminal, unwritten).map_err(io::Error::from);
            let Some(n) = output.ready.attempt(write)? else {
                break;
            };
            written += n;
        }
        // Kept until all of it was written, the queue grew by every byte a slow terminal took.
        self.screen.drain(..written);
        Ok(())
    }

    /// Writes all of the screen's queue, waiting for the terminal at most [`DRAIN_TIME`] in
    /// all; what a failing or stuck terminal does not take is dropped.
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_TIME;
        let mut written = 0;
        while written < self.screen.len() {
            match rustix::io::write(&self.terminal, &self.screen[written..]) {
                Ok(n) => written += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let Ok(left) = Timespec::try_from(left) else {
                        break;
                    };
                    let mut terminal = [PollFd::new(&self.terminal, PollFlags::OUT)];
                    if left == Timespec::default()
                        || rustix::event::poll(&mut terminal, Some(&left)).is_err()
                    {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        self.screen.clear();
    }
}

impl Drop for ChatFront {
    fn drop(&mut self) {
        self.chat.finish(&mut self.screen);
        self.drain();
        // The raw mode guard, dropped after this, puts the terminal's modes back.
    }
}

/// Whether the chat may use colour: a terminal that knows its type (`TERM` set, not `dumb`),
/// and no `NO_COLOR` with a value (<https://no-color.org>).
fn has_color(term: Option<&OsStr>, no_color: Option<&OsStr>) -> bool {
    let known = term.is_some_and(|term| !term.is_empty() && term != "dumb");
    let refused = no_color.is_some_and(|value| !value.is_empty());
    known && !refused
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::has_color;

    #[test]
    fn colour_needs_a_known_terminal_and_no_refusal() {
        let some = |text: &'static str| Some(OsStr::new(text));
        assert!(has_color(some("xterm-256color"), None));
        assert!(has_color(some("xterm"), some("")), "an empty NO_COLOR");
        assert!(!has_color(some("xterm"), some("1")));
        assert!(!has_color(some("dumb"), None));
        assert!(!has_color(None, None));
        assert!(!has_color(some(""), None));
    }
}
