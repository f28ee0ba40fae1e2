//! The shared harness of tete's end-to-end tests, one module a concern: [`process`] (running
//! tete) and [`finished`] (how it ended), [`ports`] (ports, sockets, the test's own peers), [`fds`] (pipes and their flags),
//! [`terminal`] (pseudo-terminals and what a person sees on them), [`peers`] (real programs,
//! and skipping), [`netns`] (hosts in network namespaces joined by real links, root only) and
//! [`data`].
//!
//! Every test runs the real `tete` binary over loopback (127.0.0.1 or ::1), or between hosts in
//! network namespaces of its own with addresses from 198.18.0.0/15; nothing else. The rules
//! the harness enforces so that individual tests do not have to remember them:
//!
//! - **No fixed ports.** tete listens on port 0 and the test learns the port the OS picked
//!   ([`Running::wait_listening`], [`Running::wait_listening_socket`]); [`Peer`] binds port 0
//!   itself; [`free_port`] (a port free when checked, apart from the ones the OS picks) is for
//!   closed ports and programs that must be told their port.
//! - **Readiness, not sleeps.** [`Running::wait_listening`] reads tete's `-v` stderr until
//!   `tete: listening on ADDR:PORT`; [`Running::wait_for_stderr`] and [`Pty::wait_for_output`]
//!   wait for any other text, woken by each byte; [`Running::wait_until_stalled`] asks the
//!   scheduler whether tete sleeps with bytes waiting for it. The few loops that poll (a
//!   child's exit, a terminal's modes) only observe, with a deadline. A test sleeps only where
//!   the pause is the scenario (a slow server) or where it watches for something that must
//!   not happen.
//! - **Nothing can hang the run.** Every wait has a deadline ([`TIMEOUT`] unless said otherwise);
//!   a child still running at its deadline is killed and the test fails saying that it hung. A
//!   [`Running`] or [`Process`] dropped early (a failing test) kills its child, a [`Net`] its
//!   namespaces and every process in them, and peers' sockets carry read and write timeouts.
//! - **Exact checks.** [`assert_bytes_eq`] compares whole transfers and reports the first
//!   difference; [`Finished`] asserts exit statuses and error lines with the command and its
//!   stderr in the message.
//! - **No leaked descriptors.** Every descriptor the harness creates is close-on-exec, so one
//!   test's pipe or terminal never ends up in another test's child (where it would keep an EOF or
//!   a hang-up from happening).
//! - **No silent skips in CI.** A test whose program is missing, or that needs root, says
//!   `SKIPPED:` ([`skip`]); under `TETE_REQUIRE_PEERS=1` (`.ci/run`) it fails instead.
//!
//! Test data is deterministic ([`XorShift`]) and lives in a per-test [`TempDir`] that is removed
//! when the test ends.

mod data;
mod fds;
mod finished;
mod netns;
mod peers;
mod ports;
mod process;
mod terminal;
mod watch;

pub use data::*;
pub use fds::*;
pub use finished::*;
pub use netns::*;
pub use peers::*;
pub use ports::*;
pub use process::*;
pub use terminal::*;

use std::thread;
use std::time::Duration;

/// How long anything may take before the test calls it a hang.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How soon "at once" is, generously, for a loaded machine.
pub const PROMPTLY: Duration = Duration::from_secs(5);

/// The binary under test.
pub const TETE: &str = env!("CARGO_BIN_EXE_tete");

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// Asserts that `elapsed` lies within `[low, high]` seconds.
#[track_caller]
pub fn assert_elapsed(what: &str, elapsed: Duration, low: f64, high: f64) {
    let secs = elapsed.as_secs_f64();
    assert!(
        (low..=high).contains(&secs),
        "{what}: took {secs:.3} s, expected between {low} and {high} s"
    );
}

/// Runs `scenarios` at the same time, each on a thread of its own, and fails as the first of
/// them to fail: for scenarios that spend their time waiting on tete's timers, so that the suite
/// does not wait them out one after the other (libtest runs only as many tests at once as there
/// are cores, and most of a test's time is spent waiting). Each thread is named after the test
/// and the scenario's place in the list (`waits::timers [3]`), which a failure names.
pub fn at_once(scenarios: &[&(dyn Fn() + Sync)]) {
    let test = thread::current().name().unwrap_or("a test").to_string();
    thread::scope(|scope| {
        let running: Vec<_> = scenarios
            .iter()
            .enumerate()
            .map(|(place, scenario)| {
                thread::Builder::new()
                    .name(format!("{test} [{place}]"))
                    .spawn_scoped(scope, scenario)
                    .expect("a thread for a scenario")
            })
            .collect();
        for scenario in running {
            if let Err(panic) = scenario.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}
