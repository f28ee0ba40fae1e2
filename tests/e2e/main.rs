//! tete's end-to-end tests: the real binary, run as people run it, against the test's own peers,
//! real programs (nc, ncat, socat, curl, redis, the proxies, sshd, the shells) and terminals,
//! over loopback or between hosts in network namespaces. The harness is [`harness`]; each other
//! module is one topic.
//!
//! One test binary rather than one a file: libtest then spreads all the tests over its threads
//! together (most of them wait on tete's timers, not on the CPU), the harness is built once, and
//! the compiler warns about any part of the harness that no test uses any more.
//!
//! libtest runs as many tests at once as there are cores, and the whole suite spends most of its
//! time waiting, so its length is about the sum of the tests' times over the cores: a file's
//! scenarios that wait out timers run at once in one test ([`harness::at_once`]), and the
//! longest groups of all, below, run at once too, first (by name) so that nothing waits for them.

mod harness;

mod chat;
mod chat_tmux;
mod chat_trust;
mod cli;
mod docs;
mod held_end;
mod interop;
mod links;
mod mitm;
mod partner;
mod password;
mod portmap;
mod progress;
mod proxy;
mod resources;
mod room;
mod room_limits;
mod scripts;
mod secure;
mod sessions;
mod tampering;
mod terminal;
mod transfers;
mod waits;

/// The longest groups of scenarios, 10 to 12 s each and nearly all of it waiting (on a slow
/// terminal, the room's deadlines, a router), at once: one after another they would cost the
/// suite half their sum. Each is a topic's own (`chat_trust`, `room_limits`, `portmap`); a
/// failure names its scenario's thread and line. (`partner`'s 14 s stay a test of their own:
/// their 2 s liveness limits want the cores that the chat floods here keep busy.)
#[test]
fn at_once_the_longest_waits() {
    harness::at_once(&[
        &chat_trust::idle_and_flooded_chats_at_once,
        &room_limits::the_room_keeps_its_limits,
        &portmap::a_home_router_forwards_a_port_while_tete_listens,
    ]);
}
