//! Seeing a transfer: the `-v` summary at the end and the live progress line, as text and
//! terminal bytes, with no I/O and no clock of their own (the caller passes `Instant`s), so the
//! event loop can redraw from its poll timeout without a thread.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often the progress line is redrawn: often enough to look live, rarely enough to cost
/// nothing and not to flicker.
pub const REDRAW_INTERVAL: Duration = Duration::from_millis(250);

/// Erases from the cursor to the end of the line (ANSI EL).
const ERASE_TO_END: &[u8] = b"\x1b[K";
/// Back to the start of the line and erase it: what [`ProgressLine::erase`] writes.
const ERASE_LINE: &[u8] = b"\r\x1b[K";

/// `n` bytes in binary units with one decimal: "512 B", "1.5 KiB", "3.0 GiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    // Keep "1023.96 KiB" from printing as "1024.0 KiB".
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A rate in bytes per second, in the units of [`human_bytes`]; `None` when no time has passed.
fn human_rate(bytes: u64, elapsed: Duration) -> Option<String> {
    let seconds = elapsed.as_secs_f64();
    (seconds > 0.0).then(|| format!("{}/s", human_bytes((bytes as f64 / seconds) as u64)))
}

/// The `-v` end-of-session line, as ncat prints it (without the `tete: ` prefix): "sent 1048576
/// bytes (1.0 MiB), received 0 bytes in 2.50 seconds (409.6 KiB/s)". The rate counts both
/// directions.
pub fn summary(sent: u64, received: u64, elapsed: Duration) -> String {
    let mut line = format!(
        "sent {}, received {} in {:.2} seconds",
        amount(sent),
        amount(received),
        elapsed.as_secs_f64()
    );
    if let Some(rate) = human_rate(sent.saturating_add(received), elapsed) {
        line.push_str(&format!(" ({rate})"));
    }
    line
}

/// "5 bytes", or with a human unit where it says more: "12345 bytes (12.1 KiB)".
fn amount(bytes: u64) -> String {
    match bytes {
        1 => "1 byte".into(),
        n if n < 1024 => format!("{n} bytes"),
        n => format!("{n} bytes ({})", human_bytes(n)),
    }
}

/// Minutes and seconds, hours when needed: "0:07", "12:34", "1:02:03".
fn clock(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// Says when it is time to redraw: at the first call, then once per interval.
#[derive(Debug)]
pub struct RedrawClock {
    interval: Duration,
    next: Option<Instant>,
}

impl RedrawClock {
    pub fn new(interval: Duration) -> RedrawClock {
        RedrawClock {
            interval,
            next: None,
        }
    }

    /// True when a redraw is due at `now`; a `true` starts the next interval.
    pub fn due(&mut self, now: Instant) -> bool {
        if self.next.is_some_and(|next| now < next) {
            return false;
        }
        self.next = Some(now + self.interval);
        true
    }

    /// How long the event loop may sleep before the next redraw is due (its poll timeout).
    pub fn until_due(&self, now: Instant) -> Duration {
        self.next
            .map_or(Duration::ZERO, |next| next.saturating_duration_since(now))
    }
}

/// How far back the live line's rate looks: long enough to smooth a bursty transfer, short
/// enough that a stall shows within a few seconds.
const RATE_WINDOW: Duration = Duration::from_secs(3);

/// Nothing moved for this long: the line says the transfer is stalled, and for how long.
const STALL_AFTER: Duration = Duration::from_secs(1);

/// Bytes moved so far, at one redraw.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    sent: u64,
    received: u64,
}

/// The live progress line on stderr (a terminal): bytes each way, the rate over the last few
/// seconds (or how long nothing has moved), elapsed time, and percent and ETA of what we send
/// when its total is known (stdin a regular file). It never takes more than the terminal's
/// width, so that `\r` redraws it in place: the least useful parts go first.
#[derive(Debug)]
pub struct ProgressLine {
    started: Instant,
    total: Option<u64>,
    clock: RedrawClock,
    drawn: bool,
    /// The counts at the redraws of the last [`RATE_WINDOW`], oldest first (at most one per
    /// [`REDRAW_INTERVAL`], so a few dozen).
    samples: VecDeque<Sample>,
    /// When a byte last moved either way.
    last_moved: Instant,
}

impl ProgressLine {
    /// A line for a session that started at `started`, sending `total` bytes if known.
    pub fn new(started: Instant, total: Option<u64>) -> ProgressLine {
        ProgressLine {
            started,
            total,
            clock: RedrawClock::new(REDRAW_INTERVAL),
            drawn: false,
            samples: VecDeque::new(),
            last_moved: started,
        }
    }

    /// The bytes that redraw the line on a terminal `width` columns wide, when a redraw is due
    /// at `now`: `\r`, the line, erase to the end of the line (the new line may be shorter).
    pub fn redraw(
        &mut self,
        now: Instant,
        sent: u64,
        received: u64,
        width: usize,
    ) -> Option<Vec<u8>> {
        if !self.clock.due(now) {
            return None;
        }
        self.drawn = true;
        self.sample(Sample {
            at: now,
            sent,
            received,
        });
        let mut bytes = b"\r".to_vec();
        bytes.extend_from_slice(self.text(now, width).as_bytes());
        bytes.extend_from_slice(ERASE_TO_END);
        Some(bytes)
    }

    /// The event loop's poll timeout while the line is shown.
    pub fn until_due(&self, now: Instant) -> Duration {
        self.clock.until_due(now)
    }

    /// What erases the line at the end (nothing if it was never drawn), so the summary or the
    /// shell prompt starts on a clean line.
    pub fn erase(&self) -> &'static [u8] {
        if self.drawn { ERASE_LINE } else { b"" }
    }

    fn sample(&mut self, sample: Sample) {
        let moved = self
            .samples
            .back()
            .is_none_or(|last| (last.sent, last.received) != (sample.sent, sample.received));
        if moved && sample.sent + sample.received > 0 {
            self.last_moved = sample.at;
        }
        self.samples.push_back(sample);
        // Keep the newest sample at least a window old, to measure the window from.
        while self.samples.len() > 2 && self.samples[1].at + RATE_WINDOW <= sample.at {
            self.samples.pop_front();
        }
    }

    /// Bytes a second over the window, (sent, both ways); `None` before any time has passed.
    fn rates(&self) -> Option<(f64, f64)> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        let seconds = last.at.saturating_duration_since(first.at).as_secs_f64();
        (seconds > 0.0).then(|| {
            let sent = last.sent.saturating_sub(first.sent) as f64;
            let received = last.received.saturating_sub(first.received) as f64;
            (sent / seconds, (sent + received) / seconds)
        })
    }

    /// "sent 1.5 MiB, received 0 B, 3.0 MiB/s, 0:02, 50%, ETA 0:02", at most `width - 1`
    /// columns: past that the elapsed time goes, then the ETA, then the percentage, then the
    /// rate, and what is left is cut.
    fn text(&self, now: Instant, width: usize) -> String {
        let last = self.samples.back().copied();
        let (sent, received) = last.map_or((0, 0), |last| (last.sent, last.received));
        let stalled = now.saturating_duration_since(self.last_moved);
        let rates = self.rates();
        let rate = if stalled >= STALL_AFTER {
            Some(format!("stalled for {}", clock(stalled)))
        } else {
            rates.map(|(_, both)| format!("{}/s", human_bytes(both as u64)))
        };
        let elapsed = now.saturating_duration_since(self.started);
        let mut percent = None;
        let mut eta = None;
        if let Some(total) = self.total.filter(|&total| total > 0) {
            // A file that grows while it is sent must not show more than 100%.
            let done = sent.min(total);
            percent = Some(format!("{}%", done * 100 / total));
            // Rounded up: a transfer still running never says "ETA 0:00". No ETA while
            // nothing is sent, nor past what a Duration holds.
            if let Some((rate, _)) = rates.filter(|&(rate, _)| rate > 0.0 && done < total)
                && stalled < STALL_AFTER
                && let Ok(left) = Duration::try_from_secs_f64(((total - done) as f64 / rate).ceil())
            {
                eta = Some(format!("ETA {}", clock(left)));
            }
        }
        let counts = format!(
            "sent {}, received {}",
            human_bytes(sent),
            human_bytes(received)
        );
        // In the line's order, each with the rank at which it goes when room is short.
        let mut parts = [
            (Some(counts), usize::MAX),
            (rate, 1),
            (Some(clock(elapsed)), 4),
            (percent, 2),
            (eta, 3),
        ];
        let room = width.saturating_sub(1);
        let joined = |parts: &[(Option<String>, usize)]| {
            let present: Vec<&str> = parts
                .iter()
                .filter_map(|(part, _)| part.as_deref())
                .collect();
            present.join(", ")
        };
        for rank in (1..=4).rev() {
            if joined(&parts).len() <= room {
                break;
            }
            for (part, part_rank) in &mut parts {
                if *part_rank == rank {
                    *part = None;
                }
            }
        }
        let text = joined(&parts);
        match text.char_indices().nth(room) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 1024 * 1024 / 10), "5.1 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn summary_line() {
        assert_eq!(
            summary(1 << 20, 0, Duration::from_millis(2500)),
            "sent 1048576 bytes (1.0 MiB), received 0 bytes in 2.50 seconds (409.6 KiB/s)"
        );
        assert_eq!(
            summary(1, 2048, Duration::from_secs(1)),
            "sent 1 byte, received 2048 bytes (2.0 KiB) in 1.00 seconds (2.0 KiB/s)"
        );
        assert_eq!(
            summary(0, 0, Duration::ZERO),
            "sent 0 bytes, received 0 bytes in 0.00 seconds"
        );
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(Duration::from_millis(7900)), "0:07");
        assert_eq!(clock(Duration::from_secs(754)), "12:34");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn redraw_clock_limits_the_rate() {
        let start = Instant::now();
        let mut clock = RedrawClock::new(Duration::from_millis(250));
        assert_eq!(clock.until_due(start), Duration::ZERO);
        assert!(clock.due(start));
        assert!(!clock.due(start + Duration::from_millis(249)));
        assert_eq!(
            clock.until_due(start + Duration::from_millis(100)),
            Duration::from_millis(150)
        );
        assert!(clock.due(start + Duration::from_millis(250)));
        assert!(!clock.due(start + Duration::from_millis(300)));
        // After a long pause: one redraw, then the interval again from there.
        assert!(clock.due(start + Duration::from_secs(10)));
        assert!(!clock.due(start + Duration::from_millis(10_100)));
        assert_eq!(
            clock.until_due(start + Duration::from_secs(11)),
            Duration::ZERO
        );
    }

    const WIDE: usize = 200;

    fn text(bytes: Option<Vec<u8>>) -> String {
        String::from_utf8(bytes.expect("a redraw")).expect("ASCII")
    }

    #[test]
    fn progress_line_with_a_known_total() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut line = ProgressLine::new(start, Some(4 << 20));
        assert_eq!(line.erase(), b"");
        assert_eq!(
            text(line.redraw(start, 0, 0, WIDE)),
            "\rsent 0 B, received 0 B, 0:00, 0%\x1b[K"
        );
        assert_eq!(line.redraw(at(100), 1 << 20, 0, WIDE), None);
        assert_eq!(
            text(line.redraw(at(2000), 2 << 20, 0, WIDE)),
            "\rsent 2.0 MiB, received 0 B, 1.0 MiB/s, 0:02, 50%, ETA 0:02\x1b[K"
        );
        let done = text(line.redraw(at(4000), 4 << 20, 5, WIDE));
        assert!(done.ends_with(", 0:04, 100%\x1b[K"), "{done}");
        // 0.2 s left shows as a second, not as 0:00.
        let mut nearly = ProgressLine::new(start, Some(100));
        nearly.redraw(start, 0, 0, WIDE);
        let bytes = text(nearly.redraw(at(2000), 90, 0, WIDE));
        assert!(bytes.ends_with(", 90%, ETA 0:01\x1b[K"), "{bytes}");
        assert_eq!(line.erase(), b"\r\x1b[K");
    }

    #[test]
    fn the_rate_is_the_current_one_and_a_stall_shows() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut line = ProgressLine::new(start, Some(100 << 20));
        // 10 MiB/s for 10 s, then 1 MiB/s: the line shows 1 MiB/s within the window.
        let mut sent = 0;
        for tick in 0..=40 {
            sent = tick * (10 << 20) / 4;
            line.redraw(at(tick * 250), sent, 0, WIDE);
        }
        for tick in 41..=60 {
            sent += (1 << 20) / 4;
            line.redraw(at(tick * 250), sent, 0, WIDE);
        }
        let shown = text(line.redraw(at(61 * 250), sent + (1 << 20) / 4, 0, WIDE));
        assert!(shown.contains(", 1.0 MiB/s, "), "{shown}");
        // Then nothing: after a second the line says so, without an ETA.
        sent += (1 << 20) / 4;
        let mut shown = String::new();
        for tick in 62..=72 {
            shown = text(line.redraw(at(tick * 250), sent, 0, WIDE));
        }
        assert!(shown.contains(", stalled for 0:02, "), "{shown}");
        assert!(!shown.contains("ETA") && !shown.contains("/s"), "{shown}");
    }

    #[test]
    fn progress_line_without_a_total_or_time() {
        let start = Instant::now();
        let mut line = ProgressLine::new(start, None);
        assert_eq!(
            text(line.redraw(start, 0, 1536, WIDE)),
            "\rsent 0 B, received 1.5 KiB, 0:00\x1b[K"
        );
        // A file that grew past its size at the start, or an empty one.
        let mut grown = ProgressLine::new(start, Some(100));
        let shown = text(grown.redraw(start + Duration::from_secs(1), 150, 0, WIDE));
        assert!(shown.ends_with(", 100%\x1b[K"), "{shown}");
        let mut empty = ProgressLine::new(start, Some(0));
        assert!(!text(empty.redraw(start, 0, 0, WIDE)).contains('%'));
    }

    #[test]
    fn the_line_fits_the_terminal() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let full = "sent 2.0 MiB, received 0 B, 1.0 MiB/s, 0:02, 50%, ETA 0:02";
        for width in [1, 10, 30, 40, 50, 58, 61, 80] {
            let mut line = ProgressLine::new(start, Some(4 << 20));
            line.redraw(start, 0, 0, width);
            let shown = text(line.redraw(at(2000), 2 << 20, 0, width));
            let shown = &shown[1..shown.len() - 3];
            assert!(shown.len() < width.max(1), "{width}: {shown:?}");
            if width > full.len() {
                assert_eq!(shown, full);
            }
        }
        let mut line = ProgressLine::new(start, Some(4 << 20));
        line.redraw(start, 0, 0, 50);
        let shown = text(line.redraw(at(2000), 2 << 20, 0, 50));
        assert_eq!(shown, "\rsent 2.0 MiB, received 0 B, 1.0 MiB/s, 50%\x1b[K");
    }
}
