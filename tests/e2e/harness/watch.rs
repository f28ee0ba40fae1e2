//! Output as it arrives: a thread reads a pipe or a terminal, and tests wait on what it has
//! seen (woken at each new byte, never polling on a clock).

use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes a thread reads from a pipe or terminal, for tests to wait on.
pub(super) struct Watch {
    state: Mutex<WatchState>,
    changed: Condvar,
}

struct WatchState {
    bytes: Vec<u8>,
    closed: bool,
}

impl Watch {
    pub(super) fn spawn(source: impl Read + Send + 'static) -> Arc<Watch> {
        Watch::spawn_slow(source, usize::MAX, None)
    }

    /// Like [`Watch::spawn`], keeping only the last `keep` bytes or so of what it read (for
    /// floods, which would fill the test's memory), and with `pause` after each read (a slow
    /// reader: a terminal busy drawing what it was sent).
    pub(super) fn spawn_slow(
        mut source: impl Read + Send + 'static,
        keep: usize,
        pause: Option<Duration>,
    ) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            state: Mutex::new(WatchState {
                bytes: Vec::new(),
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let shared = watch.clone();
        thread::spawn(move || {
            let mut buf = [0; 4096];
            loop {
                let n = match source.read(&mut buf) {
                    Ok(n) => n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    // A terminal's master reads EIO once no slave is open.
                    Err(_) => 0,
                };
                let mut state = shared.state.lock().unwrap();
                if n == 0 {
                    state.closed = true;
                } else {
                    state.bytes.extend_from_slice(&buf[..n]);
                    let extra = state.bytes.len().saturating_sub(keep);
                    if extra > keep {
                        state.bytes.drain(..extra);
                    }
                }
                shared.changed.notify_all();
                if n == 0 {
                    return;
                }
                drop(state);
                if let Some(pause) = pause {
                    thread::sleep(pause);
                }
            }
        });
        watch
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().bytes).into_owned()
    }

    /// Waits until `ready` finds what it looks for in the bytes seen so far (which it may
    /// change), and returns that; `Err` with everything seen if the source closes or `timeout`
    /// passes first.
    fn wait_with<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&mut Vec<u8>) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(found) = ready(&mut state.bytes) {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.closed || left.is_zero() {
                return Err(String::from_utf8_lossy(&state.bytes).into_owned());
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits until `ready` holds for everything seen so far, as text, and returns what it
    /// returned; `Err` as for [`Watch::wait_with`].
    pub(super) fn wait_until<T>(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, String> {
        self.wait_with(timeout, |bytes| ready(&String::from_utf8_lossy(bytes)))
    }

    /// The whole line (without its end) holding `needle`, or everything seen so far if the
    /// source closes or `timeout` passes first.
    pub(super) fn wait_for(&self, needle: &str, timeout: Duration) -> Result<String, String> {
        self.wait_until(timeout, |text| {
            let at = text.find(needle)?;
            let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            Some(text[start..end].trim_end_matches('\r').to_string())
        })
    }

    /// Waits for `marker` and takes it out of what was seen: everything written before it is
    /// then known to have been read. `Err` as for [`Watch::wait_with`].
    pub(super) fn wait_and_remove(&self, marker: &[u8], timeout: Duration) -> Result<(), String> {
        self.wait_with(timeout, |bytes| {
            let at = bytes
                .windows(marker.len())
                .position(|window| window == marker)?;
            bytes.drain(at..at + marker.len());
            Some(())
        })
    }

    pub(super) fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        while !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
        true
    }
}
