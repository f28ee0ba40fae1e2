//! An opener driven as the layer drives it, over bytes already in memory: what the unit tests and
//! the fuzz targets share (compiled only for them).

use super::{CloseReason, Content, Opener, SecureError};

/// Feeds `wire` to `opener` `chunk` bytes per read into one growing buffer, each payload
/// decrypted right after the previous one as the layer does, then hits EOF; returns the plaintext
/// delivered and how the stream ended. Panics where the opener breaks its own promises: a
/// record consumed past what was read, plaintext ahead of the bytes it came from, READY after
/// the handshake, an end reported clean with bytes left over.
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
