//! Shared by the record targets: the channel of two fixed-RNG ends.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tete::secure::{Handshake, Opener, Role, Sealer};

/// Runs a whole handshake between a connector (seed 1) and a listener (seed 2); returns the
/// connector-to-listener direction: the connector's Sealer and the listener's Opener.
pub fn connector_to_listener() -> (Sealer, Opener) {
    let (mut c_out, mut l_out) = (Vec::new(), Vec::new());
    let pw = b"fuzz";
    let mut c = Handshake::with_rng(
        Role::Connector,
        pw,
        ChaCha20Rng::seed_from_u64(1),
        &mut c_out,
    );
    let mut l = Handshake::with_rng(
        Role::Listener,
        pw,
        ChaCha20Rng::seed_from_u64(2),
        &mut l_out,
    );
    let c_hello = c_out.clone();
    l.receive(&c_hello, &mut l_out).expect("genuine HELLO");
    c.receive(&l_out, &mut c_out)
        .expect("genuine HELLO and CONFIRM");
    l.receive(&c_out[c_hello.len()..], &mut l_out)
        .expect("genuine CONFIRM");
    let (sealer, _) = c.into_channel().expect("connector complete");
    let (_, opener) = l.into_channel().expect("listener complete");
    (sealer, opener)
}

/// Feeds `wire` to `opener` `chunk` bytes per read, like the event loop, with `room` bytes of
/// output space; returns the plaintext delivered and how the stream ended at EOF.
pub fn open_all(
    opener: &mut Opener,
    wire: &[u8],
    chunk: usize,
    room: usize,
) -> (Vec<u8>, Result<(), tete::secure::SecureError>) {
    let (mut plain, mut pending, mut out) = (Vec::new(), Vec::new(), vec![0; room]);
    for piece in wire.chunks(chunk) {
        pending.extend_from_slice(piece);
        loop {
            match opener.open(&mut pending, &mut out) {
                Ok((0, written)) => {
                    assert_eq!(written, 0);
                    break;
                }
                Ok((used, written)) => {
                    assert!(used <= pending.len() && written <= out.len());
                    plain.extend_from_slice(&out[..written]);
                    pending.drain(..used);
                }
                Err(err) => return (plain, Err(err)),
            }
        }
    }
    let end = opener.finish(pending.len());
    assert_eq!(end.is_ok(), opener.is_closed() && pending.is_empty());
    (plain, end)
}
