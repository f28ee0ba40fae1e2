//! Arbitrary bytes into an Opener keyed by a real handshake: parsing must never panic, never
//! read past its input, and (with no valid tag to forge) never deliver a byte or reach CLOSE.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tete::secure::{MAX_PAYLOAD, Opener};

static OPENER: OnceLock<Opener> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // First byte: read size (bits 0-3) and output room (bits 4-7), so short reads and a full
    // `out` are explored too.
    let Some((&ctl, wire)) = data.split_first() else {
        return;
    };
    let chunk = 1 << (ctl & 0x0f);
    let room = [MAX_PAYLOAD, 0, 1, 17, 100, 4096][usize::from(ctl >> 4) % 6];
    let mut opener = OPENER
        .get_or_init(|| common::connector_to_listener().1)
        .clone();
    let (plain, end) = common::open_all(&mut opener, wire, chunk, room);
    assert!(plain.is_empty() && end.is_err());
});
