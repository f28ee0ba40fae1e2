//! Arbitrary bytes into an Opener keyed by a real handshake: parsing must never panic, never
//! read past its input, and (with no valid tag to forge) never deliver a byte or reach CLOSE.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tete::secure::Opener;

static OPENERS: OnceLock<[Opener; 2]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // First byte: read size (bits 0-4, as a power of two) and cipher (bit 7: ChaCha20-Poly1305).
    let Some((&ctl, wire)) = data.split_first() else {
        return;
    };
    let chunk = 1 << (ctl & 0x1f).min(20);
    let openers = OPENERS.get_or_init(|| {
        [
            common::connector_to_listener(true).1,
            common::connector_to_listener(false).1,
        ]
    });
    let mut opener = openers[usize::from(ctl >> 7)].clone();
    let (plain, end) = common::open_all(&mut opener, wire, chunk);
    assert!(plain.is_empty() && end.is_err());
});
