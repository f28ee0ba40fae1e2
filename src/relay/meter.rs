//! What the user sees of a session's progress: the live line of `--progress` on stderr, redrawn
//! from the poll's timeout (no thread), and the `-v` summary when the session is over. The text
//! is [`crate::progress`]'s; this room decides whether and when to draw the live line, and
//! writes it to stderr; the summary is a [`Notice`] for the loop to show.

use std::fs::File;
use std::io::{self, IsTerminal, Seek, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use super::{Input, Notice};
use crate::options::{Config, Direction};
use crate::progress::{self, ProgressLine};
use crate::stdio::FileKind;
use crate::terminal;

/// The width assumed for a terminal that does not say.
const DEFAULT_WIDTH: usize = 80;

/// One session's meter.
pub(super) struct Meter {
    started: Instant,
    /// The live line, when it is shown at all.
    line: Option<ProgressLine>,
}

impl Meter {
    pub(super) fn begin(config: &Config, input: &Input, now: Instant) -> Meter {
        let line = shows_progress(config, input)
            .then(|| ProgressLine::new(now, input_size(config, input)));
        Meter { started: now, line }
    }

    /// When the live line is next due, if it is shown: part of the poll's timeout.
    pub(super) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        self.line.as_ref().map(|line| now + line.until_due(now))
    }

    /// Redraws the live line if it is due, as wide as stderr's terminal; `(sent, received)` as
    /// [`super::session::Session`] counts them.
    /// Stderr's width is asked only when a redraw is due: this runs after every pump, and each
    /// message would otherwise pay for an ioctl (two per chat round trip, without a line too).
    pub(super) fn tick(&mut self, now: Instant, (sent, received): (u64, u64)) {
        let Some(line) = self
            .line
            .as_mut()
            .filter(|line| line.until_due(now).is_zero())
        else {
            return;
        };
        let width = terminal::width(io::stderr()).map_or(DEFAULT_WIDTH, usize::from);
        if let Some(bytes) = line.redraw(now, sent, received, width) {
            write_stderr(&bytes);
        }
    }

    /// Erases the live line, so that whatever comes next starts on a clean line.
    pub(super) fn erase(&self) {
        if let Some(line) = &self.line {
            write_stderr(line.erase());
        }
    }

    /// The `-v` summary line.
    pub(super) fn summary(&self, now: Instant, (sent, received): (u64, u64)) -> Notice {
        let elapsed = now.saturating_duration_since(self.started);
        Notice::verbose(progress::summary(sent, received, elapsed))
    }
}

/// Whether the live line is drawn: asked for, stderr a terminal (in a file or a pipe the
/// redraws would be garbage), and nobody typing on a terminal, whose screen the line would
/// garble (a chat). Chat mode's own screen must stay free of it too.
fn shows_progress(config: &Config, input: &Input) -> bool {
    config.progress && io::stderr().is_terminal() && !input.stream.is_terminal
}

/// How much stdin will give, when that is known: what is left of a regular file.
fn input_size(config: &Config, input: &Input) -> Option<u64> {
    if input.stream.kind != FileKind::Regular
        || input.ended
        || config.direction == Direction::ReceiveOnly
    {
        return None;
    }
    // A duplicate shares the file offset: reading the position moves nothing.
    let mut file = File::from(input.stream.as_fd().try_clone_to_owned().ok()?);
    let len = file.metadata().ok()?.len();
    let position = file.stream_position().ok()?;
    Some(len.saturating_sub(position))
}

/// Best effort: a failing stderr is no reason to stop a transfer.
fn write_stderr(bytes: &[u8]) {
    let _ = io::stderr().write_all(bytes);
}
