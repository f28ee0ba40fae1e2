//! Shared by the record targets: the channel of two fixed-RNG ends, and an opener driven like
//! the layer drives it.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tete::secure::{CloseReason, Content, Handshake, Opener, Role, Sealer, SecureError};

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

/// Feeds `wire` to `opener` `chunk` bytes per read into one growing buffer, each payload
/// decrypted right after the previous one as the layer does; returns the plaintext delivered and
/// how the stream ended at EOF.
pub fn open_all(
    opener: &mut Opener,
    wire: &[u8],
    chunk: usize,
) -> (Vec<u8>, Result<CloseReason, SecureError>) {
    let (mut buf, mut plain_end, mut raw_start) = (Vec::new(), 0, 0);
    for piece in wire.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match opener.open_within(&mut buf, plain_end, raw_start) {
                Ok(None) => break,
                Ok(Some(opened)) => {
                    assert!(opened.consumed <= buf.len() - raw_start);
                    raw_start += opened.consumed;
                    match opened.content {
                        Content::Data(n) => plain_end += n,
                        Content::Close(_) | Content::Heartbeat(_) => {}
                        Content::Ready => panic!("READY after the handshake"),
                    }
                    assert!(plain_end <= raw_start);
                }
                Err(err) => return (buf[..plain_end].to_vec(), Err(err)),
            }
        }
    }
    let end = opener.finish(buf.len() - raw_start);
    assert_eq!(
        end.is_ok(),
        opener.closed().is_some() && raw_start == buf.len()
    );
    (buf[..plain_end].to_vec(), end)
}
