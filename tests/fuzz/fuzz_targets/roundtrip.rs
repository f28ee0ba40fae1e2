//! Genuine records, optionally with one bit flipped in transit: unaltered, the opener must give
//! back exactly what was sealed and the CLOSE's reason; altered, it must fail and have delivered
//! only a prefix of the genuine plaintext.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use tete::secure::{CLOSE_LEN, CloseReason, DATA_OFFSET, MAX_PAYLOAD, OVERHEAD};

fuzz_target!(|data: &[u8]| {
    // Header: control byte (bit 0: flip a bit; bits 1-4: read size; bit 5: cipher ChaCha; bit 6:
    // CLOSE says interrupted), then a u16 choosing the bit. The rest is the plaintext, cut into
    // records at each 0x00 byte (empty pieces skipped).
    let [ctl, at_hi, at_lo, text @ ..] = data else {
        return;
    };
    let (mut sealer, mut opener) = common::connector_to_listener(ctl & 0x20 == 0);
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    for piece in text.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        for payload in piece.chunks(MAX_PAYLOAD) {
            let mut record = vec![0; OVERHEAD + payload.len()];
            record[DATA_OFFSET..DATA_OFFSET + payload.len()].copy_from_slice(payload);
            sealer.seal_data(&mut record).expect("valid payload size");
            wire.extend(record);
            sent.extend_from_slice(payload);
        }
    }
    let reason = match ctl & 0x40 {
        0 => CloseReason::EndOfInput,
        _ => CloseReason::Interrupted,
    };
    let mut close = [0; CLOSE_LEN];
    sealer
        .seal_close(reason, &mut close)
        .expect("fresh counter");
    wire.extend(close);
    let flip = ctl & 1 == 1;
    if flip {
        let bit = usize::from(u16::from_be_bytes([*at_hi, *at_lo])) % (wire.len() * 8);
        wire[bit / 8] ^= 1 << (bit % 8);
    }
    let chunk = 1 << ((ctl >> 1) & 0x0f);
    let (plain, end) = common::open_all(&mut opener, &wire, chunk);
    if flip {
        assert!(end.is_err() && sent.starts_with(&plain));
    } else {
        assert_eq!((plain, end), (sent, Ok(reason)));
    }
});
