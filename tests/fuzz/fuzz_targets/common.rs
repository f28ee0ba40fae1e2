//! Shared by the record targets: the channel of two fixed-RNG ends, and (from tete) an opener
//! driven like the layer drives it.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tete::secure::{Handshake, Opener, Role, Sealer};

/// Runs a whole version 2 handshake between a connector (seed 1) and a listener (seed 2), both
/// offering AES-GCM if `aes`; returns the connector-to-listener direction: the connector's Sealer
/// (READY already sent) and the listener's Opener (READY already opened).
pub fn connector_to_listener(aes: bool) -> (Sealer, Opener) {
    let (mut to_l, mut to_c) = (Vec::new(), Vec::new());
    let pw = b"fuzz";
    let mut c = Handshake::with_rng(
        Role::Connector,
        pw,
        aes,
        ChaCha20Rng::seed_from_u64(1),
        &mut to_l,
    );
    let mut l = Handshake::with_rng(
        Role::Listener,
        pw,
        aes,
        ChaCha20Rng::seed_from_u64(2),
        &mut to_c,
    );
    let hello_c = std::mem::take(&mut to_l);
    let hello_l = std::mem::take(&mut to_c);
    l.receive(&hello_c, &mut to_c).expect("genuine HELLO");
    c.receive(&hello_l, &mut to_l).expect("genuine HELLO");
    l.receive(&std::mem::take(&mut to_l), &mut to_c)
        .expect("genuine CONFIRM_C");
    l.check_confirm(&mut to_c).expect("genuine CONFIRM_C");
    c.receive(&std::mem::take(&mut to_c), &mut to_l)
        .expect("genuine CONFIRM_L");
    l.receive(&to_l, &mut to_c).expect("genuine READY");
    let sealer = c.take_channel().expect("connector complete").sealer;
    let opener = l.take_channel().expect("listener complete").opener;
    (sealer, opener)
}

pub use tete::secure::read_all::open_all;
