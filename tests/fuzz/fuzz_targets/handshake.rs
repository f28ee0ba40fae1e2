//! Arbitrary bytes into Handshake::receive, optionally after a genuine peer HELLO (and CONFIRM),
//! so the fuzzer reaches every stage. It must never panic, never consume more than it was given
//! or past the peer's CONFIRM, and complete only on the genuine CONFIRM.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tete::secure::{CONFIRM_LEN, HELLO_LEN, Handshake, Role};

const PASSWORD: &[u8] = b"fuzz";

fn start(role: Role, seed: u64, out: &mut Vec<u8>) -> Handshake {
    Handshake::with_rng(role, PASSWORD, ChaCha20Rng::seed_from_u64(seed), out)
}

/// The genuine peer's HELLO + CONFIRM for our fixed-RNG end of `role`.
fn genuine_peer(role: Role) -> Vec<u8> {
    let peer_role = match role {
        Role::Connector => Role::Listener,
        Role::Listener => Role::Connector,
    };
    let mut ours = Vec::new();
    start(role, 1, &mut ours);
    let mut peer_wire = Vec::new();
    let mut peer = start(peer_role, 2, &mut peer_wire);
    peer.receive(&ours, &mut peer_wire).expect("genuine HELLO");
    peer_wire
}

static PEERS: OnceLock<[Vec<u8>; 2]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 our role; bits 1-2 how much genuine peer traffic comes first (none,
    // HELLO, HELLO + CONFIRM); bits 3-7 the read size minus one.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let role = if ctl & 1 == 0 {
        Role::Connector
    } else {
        Role::Listener
    };
    let peers = PEERS.get_or_init(|| [genuine_peer(Role::Connector), genuine_peer(Role::Listener)]);
    let prefix = [0, HELLO_LEN, HELLO_LEN + CONFIRM_LEN][usize::from((ctl >> 1) & 3) % 3];
    let input = [&peers[usize::from(ctl & 1)][..prefix], rest].concat();
    let chunk = usize::from(ctl >> 3) + 1;

    let mut out = Vec::new();
    let mut hs = start(role, 1, &mut out);
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + chunk).min(input.len());
        match hs.receive(&input[pos..end], &mut out) {
            Ok(0) => break,
            Ok(used) => {
                assert!(used <= end - pos);
                pos += used;
            }
            Err(_) => {
                assert!(!hs.is_complete());
                return;
            }
        }
    }
    // Completing takes exactly the peer's HELLO and CONFIRM; and only the genuine ones can verify.
    if hs.is_complete() {
        assert_eq!(pos, HELLO_LEN + CONFIRM_LEN);
        assert_eq!(input[..pos], peers[usize::from(ctl & 1)][..]);
    }
    assert!(pos <= HELLO_LEN + CONFIRM_LEN);
    assert!(out.len() == HELLO_LEN || out.len() == HELLO_LEN + CONFIRM_LEN);
    assert_eq!(hs.is_complete(), hs.into_channel().is_some());
});
