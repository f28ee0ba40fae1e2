//! Seeing a transfer: the `-v` summary at the end and the live progress line, as text and
//! terminal bytes, with no I/O and no clock of their own (the caller passes `Instant`s), so the
//! event loop can redraw from its poll timeout without a thread.

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

/// The live progress line on stderr (a terminal): bytes each way, average rate, elapsed time,
/// and percent and ETA of what we send when its total is known (stdin a regular file).
#[derive(Debug)]
pub struct ProgressLine {
    started: Instant,
    total: Option<u64>,
    clock: RedrawClock,
    drawn: bool,
}

impl ProgressLine {
    /// A line for a session that started at `started`, sending `total` bytes if known.
    pub fn new(started: Instant, total: Option<u64>) -> ProgressLine {
        ProgressLine {
            started,
            total,
            clock: RedrawClock::new(REDRAW_INTERVAL),
            drawn: false,
        }
    }

    /// The bytes that redraw the line, when a redraw is due at `now`: `\r`, the line, erase to
    /// the end of the line (the new line may be shorter than the old one).
    pub fn redraw(&mut self, now: Instant, sent: u64, received: u64) -> Option<Vec<u8>> {
        if !self.clock.due(now) {
            return None;
        }
        self.drawn = true;
        let mut bytes = b"\r".to_vec();
        bytes.extend_from_slice(self.text(now, sent, received).as_bytes());
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

    /// "sent 1.5 MiB, received 0 B, 3.0 MiB/s, 0:02, 50%, ETA 0:02". Short, so that it stays on
    /// one line of an 80-column terminal: a wrapped line cannot be redrawn with `\r`.
    fn text(&self, now: Instant, sent: u64, received: u64) -> String {
        let elapsed = now.saturating_duration_since(self.started);
        let mut text = format!(
            "sent {}, received {}",
            human_bytes(sent),
            human_bytes(received)
        );
        if let Some(rate) = human_rate(sent.saturating_add(received), elapsed) {
            text.push_str(&format!(", {rate}"));
        }
        text.push_str(&format!(", {}", clock(elapsed)));
        if let Some(total) = self.total.filter(|&total| total > 0) {
            // A file that grows while it is sent must not show more than 100%.
            let done = sent.min(total);
            text.push_str(&format!(", {}%", done * 100 / total));
            let seconds = elapsed.as_secs_f64();
            if done > 0 && done < total && seconds > 0.0 {
                // Rounded up: a transfer still running never says "ETA 0:00". (No ETA past
                // what a Duration holds.)
                let left = ((total - done) as f64 * seconds / done as f64).ceil();
                if let Ok(left) = Duration::try_from_secs_f64(left) {
                    text.push_str(&format!(", ETA {}", clock(left)));
                }
            }
        }
        text
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

    #[test]
    fn progress_line_with_a_known_total() {
        let start = Instant::now();
        let mut line = ProgressLine::new(start, Some(4 << 20));
        assert_eq!(line.erase(), b"");
        let now = start + Duration::from_secs(2);
        let bytes = line.redraw(now, 2 << 20, 0).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\rsent 2.0 MiB, received 0 B, 1.0 MiB/s, 0:02, 50%, ETA 0:02\x1b[K"
        );
        assert_eq!(
            line.redraw(now + Duration::from_millis(100), 3 << 20, 0),
            None
        );
        let bytes = line
            .redraw(now + Duration::from_secs(2), 4 << 20, 5)
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with(", 0:04, 100%\x1b[K"), "{text}");
        // 0.2 s left shows as a second, not as 0:00.
        let mut nearly = ProgressLine::new(start, Some(100));
        let bytes = nearly
            .redraw(start + Duration::from_secs(2), 90, 0)
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with(", 90%, ETA 0:01\x1b[K"), "{text}");
        assert_eq!(line.erase(), b"\r\x1b[K");
    }

    #[test]
    fn progress_line_without_a_total_or_time() {
        let start = Instant::now();
        let mut line = ProgressLine::new(start, None);
        let text = String::from_utf8(line.redraw(start, 0, 1536).unwrap()).unwrap();
        assert_eq!(text, "\rsent 0 B, received 1.5 KiB, 0:00\x1b[K");
        // A file that grew past its size at the start, or an empty one.
        let mut grown = ProgressLine::new(start, Some(100));
        let text = String::from_utf8(
            grown
                .redraw(start + Duration::from_secs(1), 150, 0)
                .unwrap(),
        )
        .unwrap();
        assert!(text.ends_with(", 100%\x1b[K"), "{text}");
        let mut empty = ProgressLine::new(start, Some(0));
        let text = String::from_utf8(empty.redraw(start, 0, 0).unwrap()).unwrap();
        assert!(!text.contains('%'));
    }
}
