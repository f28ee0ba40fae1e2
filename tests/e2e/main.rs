//! tete's end-to-end tests: the real binary, run as people run it, against the test's own peers,
//! real programs (nc, ncat, socat, curl, redis, the proxies, sshd, the shells) and terminals,
//! over loopback or between hosts in network namespaces. The harness is [`harness`]; each other
//! module is one topic.
//!
//! One test binary rather than one a file: libtest then spreads all the tests over its threads
//! together (most of them wait on tete's timers, not on the CPU), the harness is built once, and
//! the compiler warns about any part of the harness that no test uses any more.

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
