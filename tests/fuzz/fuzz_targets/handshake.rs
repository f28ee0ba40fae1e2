//! Arbitrary bytes into Handshake::receive, optionally after genuine peer traffic (a HELLO, or
//! all of it), so the fuzzer reaches every stage, for both roles and both cipher flags. It must
//! never panic, never consume more than it was given or past the peer's last handshake message,
//! send only what its stage allows, and complete only on the genuine peer's messages.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tete::secure::{CONFIRM_LEN, HELLO_LEN, Handshake, READY_LEN, Role};

const PASSWORD: &[u8] = b"fuzz";

fn start(role: Role, seed: u64, aes: bool, out: &mut Vec<u8>) -> Handshake {
    Handshake::with_rng(role, PASSWORD, aes, ChaCha20Rng::seed_from_u64(seed), out)
}

/// Everything a genuine peer sends to our fixed-RNG end of `role` in a complete handshake.
fn genuine_peer(role: Role, aes: bool) -> Vec<u8> {
    let peer_role = match role {
        Role::Connector => Role::Listener,
        Role::Listener => Role::Connector,
    };
    let (mut to_peer, mut to_us) = (Vec::new(), Vec::new());
    let mut us = start(role, 1, aes, &mut to_peer);
    let mut peer = start(peer_role, 2, aes, &mut to_us);
    let (mut fed_us, mut fed_peer) = (0, 0);
    while !(us.is_complete() && peer.is_complete()) {
        fed_peer += peer
            .receive(&to_peer[fed_peer..], &mut to_us)
            .expect("genuine");
        if peer.confirm_waiting() {
            peer.check_confirm(&mut to_us).expect("genuine");
        }
        fed_us += us.receive(&to_us[fed_us..], &mut to_peer).expect("genuine");
        if us.confirm_waiting() {
            us.check_confirm(&mut to_peer).expect("genuine");
        }
    }
    to_us
}

static PEERS: OnceLock<[Vec<u8>; 4]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // First byte: bit 0 our role; bits 1-2 how much genuine peer traffic comes first (none,
    // HELLO, all); bit 3 the AES flag; bits 4-7 the read size minus one.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let (role, peer_sends) = if ctl & 1 == 0 {
        (Role::Connector, HELLO_LEN + CONFIRM_LEN)
    } else {
        (Role::Listener, HELLO_LEN + CONFIRM_LEN + READY_LEN)
    };
    let aes = ctl & 8 != 0;
    let peers = PEERS.get_or_init(|| {
        [
            genuine_peer(Role::Connector, false),
            genuine_peer(Role::Listener, false),
            genuine_peer(Role::Connector, true),
            genuine_peer(Role::Listener, true),
        ]
    });
    let genuine = &peers[usize::from(ctl & 1) + 2 * usize::from(aes)];
    assert_eq!(genuine.len(), peer_sends);
    let prefix = [0, HELLO_LEN, peer_sends][usize::from((ctl >> 1) & 3) % 3];
    let input = [&genuine[..prefix], rest].concat();
    let chunk = usize::from(ctl >> 4) + 1;

    let mut out = Vec::new();
    let mut hs = start(role, 1, aes, &mut out);
    let mut pos = 0;
    let mut failed = false;
    while pos < input.len() {
        let end = (pos + chunk).min(input.len());
        let mut step = hs.receive(&input[pos..end], &mut out);
        if let Ok(used) = step {
            assert!(used <= end - pos);
            pos += used;
        }
        if step.is_ok() && hs.confirm_waiting() {
            step = hs.check_confirm(&mut out).map(|()| 1);
        }
        match step {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) => {
                assert!(!hs.is_complete());
                assert_eq!(hs.peer_ended(), err);
                failed = true;
                break;
            }
        }
    }
    // Completing takes exactly the peer's messages; and only the genuine ones can verify.
    if hs.is_complete() {
        assert_eq!(pos, peer_sends);
        assert_eq!(input[..pos], genuine[..]);
    }
    assert!(pos <= peer_sends);
    let allowed: &[usize] = match role {
        Role::Connector => &[
            HELLO_LEN,
            HELLO_LEN + CONFIRM_LEN,
            HELLO_LEN + CONFIRM_LEN + READY_LEN,
        ],
        Role::Listener => &[HELLO_LEN, HELLO_LEN + 1, HELLO_LEN + CONFIRM_LEN],
    };
    assert!(
        allowed.contains(&out.len()),
        "{role:?} sent {} bytes",
        out.len()
    );
    if role == Role::Listener && out.len() == HELLO_LEN + 1 {
        assert!(failed, "REJECT only with a failure");
    }
    let complete = hs.is_complete();
    assert_eq!(complete, hs.take_channel().is_some());
});
