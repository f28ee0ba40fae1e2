//! A man in the middle for the password mode's tests: a proxy between a connector and a tete
//! listener that relays both ways, parses the listener's stream into HELLO, CONFIRM and records,
//! and damages them as a test asks (flips, cuts, drops, repeats, swaps, appends), recording
//! everything that crossed.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::harness::*;
use crate::secure::{
    CLOSE_L, CONFIRM_LEN, HELLO_LEN, L_OVERHEAD, PASSWORD, assert_prefix_within,
    assert_secure_failure, connector, start_listener,
};

// ---------------------------------------------------------------------------------------------
// A man in the middle
// ---------------------------------------------------------------------------------------------

/// A piece of the listener→connector stream, as the proxy parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Hello,
    Confirm,
    /// A record; `Record(1)` is the first after the handshake.
    Record(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Forward the (possibly changed) bytes and go on.
    Forward,
    /// Forward the (possibly changed) bytes, then end the stream to the connector (FIN).
    Cut,
}

/// What the proxy does to each piece of the listener→connector stream, in place: a bit flip,
/// truncation, dropping (clearing), duplication...
pub(crate) type Tamper = Box<dyn FnMut(Unit, &mut Vec<u8>) -> Verdict + Send>;

pub(crate) fn untouched() -> Tamper {
    Box::new(|_, _| Verdict::Forward)
}

/// Where in a unit a byte is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At {
    /// Counted from the unit's first byte (a record's header included).
    Start(usize),
    /// Counted back from the unit's end: `End(1)` is its last byte.
    End(usize),
}

pub(crate) fn byte_index(at: At, len: usize) -> usize {
    match at {
        At::Start(i) => i,
        At::End(i) => len - i,
    }
}

/// Flips the lowest bit of one byte of unit `target`.
pub(crate) fn flip(target: Unit, at: At) -> Tamper {
    Box::new(move |unit, bytes| {
        if unit == target {
            let i = byte_index(at, bytes.len());
            bytes[i] ^= 0x01;
        }
        Verdict::Forward
    })
}

pub(crate) fn is_close(bytes: &[u8]) -> bool {
    bytes.len() == 4 + CLOSE_L && bytes[..4] == (CLOSE_L as u32).to_be_bytes()
}

/// Flips the lowest bit of one byte of the CLOSE record.
pub(crate) fn flip_in_close(at: At) -> Tamper {
    Box::new(move |unit, bytes| {
        if matches!(unit, Unit::Record(_)) && is_close(bytes) {
            let i = byte_index(at, bytes.len());
            bytes[i] ^= 0x01;
        }
        Verdict::Forward
    })
}

/// Everything that crossed the proxy, as sent (before any tampering).
#[derive(Default)]
pub(crate) struct Wire {
    pub(crate) from_connector: Vec<u8>,
    pub(crate) from_listener: Vec<u8>,
    /// L of each record the listener sent, in its order.
    record_lengths: Vec<usize>,
}

/// A proxy between a connector and tete's listener on `127.0.0.1:PORT`: it accepts one
/// connection, connects to the listener, and relays both ways, flipping one bit of the
/// connector→listener stream if asked and applying a [`Tamper`] to the listener→connector one.
pub(crate) struct Mitm {
    peer: Peer<()>,
    wire: Arc<Mutex<Wire>>,
}

impl Mitm {
    /// `flip_up`: the index of a bit (byte * 8 + bit) of the connector→listener stream to flip.
    /// `hold_up`: how many bytes of that stream to gather before passing them on in one write
    /// (TCP may deliver a HELLO and a CONFIRM together).
    pub(crate) fn start(
        listener_port: u16,
        flip_up: Option<usize>,
        hold_up: usize,
        tamper: Tamper,
    ) -> Mitm {
        let wire = Arc::new(Mutex::new(Wire::default()));
        let shared = wire.clone();
        let peer = Peer::spawn(move |from_connector| {
            let to_listener = connect(loopback(listener_port));
            let up = {
                let from = from_connector
                    .try_clone()
                    .expect("cloning the proxy's socket");
                let to = to_listener.try_clone().expect("cloning the proxy's socket");
                let wire = shared.clone();
                thread::spawn(move || relay_up(from, to, flip_up, hold_up, &wire))
            };
            relay_down(to_listener, from_connector, tamper, &shared);
            let _ = up.join();
        });
        Mitm { peer, wire }
    }

    pub(crate) fn port(&self) -> u16 {
        self.peer.port()
    }

    /// The lengths of the records the listener has sent so far.
    pub(crate) fn record_lengths(&self) -> Vec<usize> {
        self.wire.lock().unwrap().record_lengths.clone()
    }

    /// Waits for both directions to end, and returns what crossed.
    pub(crate) fn finish(self) -> Wire {
        self.peer.join();
        std::mem::take(&mut *self.wire.lock().unwrap())
    }
}

/// One read, `None` at EOF or on an error (a reset, or the harness's timeout).
pub(crate) fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    loop {
        match stream.read(buf) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Connector → listener: relayed as it comes (the first `hold` bytes gathered and passed on
/// together), with bit `flip` flipped. Once the listener stops taking bytes, the rest is drained
/// so that the connector is not reset.
pub(crate) fn relay_up(
    mut from: TcpStream,
    mut to: TcpStream,
    flip: Option<usize>,
    hold: usize,
    wire: &Mutex<Wire>,
) {
    let mut buf = vec![0; 64 * KIB];
    let mut offset = 0;
    let mut forwarding = true;
    let mut held = Vec::new();
    while let Some(n) = read_some(&mut from, &mut buf) {
        let chunk = &mut buf[..n];
        wire.lock().unwrap().from_connector.extend_from_slice(chunk);
        if let Some(bit) = flip
            && (offset..offset + n).contains(&(bit / 8))
        {
            chunk[bit / 8 - offset] ^= 1 << (bit % 8);
        }
        offset += n;
        if offset < hold {
            held.extend_from_slice(chunk);
            continue;
        }
        held.extend_from_slice(chunk);
        if forwarding && to.write_all(&held).is_err() {
            forwarding = false;
        }
        held.clear();
    }
    if forwarding {
        let _ = to.write_all(&held);
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Listener → connector: parsed into HELLO, CONFIRM and records, each forwarded once complete
/// after `tamper` has had its way with it. After a cut, or once the connector stops taking bytes,
/// the listener's stream is drained to its end.
pub(crate) fn relay_down(
    mut from: TcpStream,
    mut to: TcpStream,
    mut tamper: Tamper,
    wire: &Mutex<Wire>,
) {
    let mut buf = vec![0; 64 * KIB];
    let mut pending = Vec::new();
    let mut units = 0;
    let mut forwarding = true;
    while let Some(n) = read_some(&mut from, &mut buf) {
        wire.lock()
            .unwrap()
            .from_listener
            .extend_from_slice(&buf[..n]);
        pending.extend_from_slice(&buf[..n]);
        loop {
            let (unit, len) = match units {
                0 => (Unit::Hello, HELLO_LEN),
                1 => (Unit::Confirm, CONFIRM_LEN),
                _ if pending.len() < 4 => break,
                _ => {
                    let header: [u8; 4] = pending[..4].try_into().unwrap();
                    (
                        Unit::Record(units - 1),
                        4 + u32::from_be_bytes(header) as usize,
                    )
                }
            };
            if pending.len() < len {
                break;
            }
            let mut bytes: Vec<u8> = pending.drain(..len).collect();
            if let Unit::Record(_) = unit {
                wire.lock().unwrap().record_lengths.push(len - 4);
            }
            units += 1;
            let verdict = tamper(unit, &mut bytes);
            if forwarding && to.write_all(&bytes).is_err() {
                forwarding = false;
            }
            if forwarding && verdict == Verdict::Cut {
                let _ = to.shutdown(Shutdown::Write);
                forwarding = false;
            }
        }
    }
    if forwarding {
        let _ = to.write_all(&pending);
        let _ = to.shutdown(Shutdown::Write);
    }
}

/// The plaintext offset where record `record` (1 = the first) begins, from the lengths of the
/// records before it.
pub(crate) fn plaintext_start(lengths: &[usize], record: usize) -> usize {
    assert!(
        lengths.len() + 1 >= record,
        "the proxy saw only {} records before record #{record}",
        lengths.len()
    );
    lengths[..record - 1]
        .iter()
        .map(|len| len - L_OVERHEAD)
        .sum()
}

/// What the listener sends through the proxy: enough for a few dozen records.
pub(crate) const DOWNLOAD: usize = MIB + 4321;

/// `tete -l` (stdin: DOWNLOAD bytes) ← proxy(tamper) ← `tete 127.0.0.1 PROXY </dev/null`.
/// Returns how the connector ended, the listener's data and the records' lengths as sent.
pub(crate) fn tampered_download(seed: u64, tamper: Tamper) -> (Finished, Vec<u8>, Vec<usize>) {
    let dir = TempDir::new("tampered");
    let (file, data) = dir.random_file("down", DOWNLOAD, seed);
    let (listener, port) = start_listener(&[], PASSWORD, Input::File(file));
    let mitm = Mitm::start(port, None, 0, tamper);
    let client = connector(&[], mitm.port(), PASSWORD).run();
    let lengths = mitm.record_lengths();
    drop(listener);
    (client, data, lengths)
}

/// A damaged record `record` (1 = the first): exit status 3, and nothing from that record on
/// reached stdout.
#[track_caller]
pub(crate) fn assert_damage_caught(seed: u64, record: usize, tamper: Tamper) -> Finished {
    let (client, data, lengths) = tampered_download(seed, tamper);
    assert_secure_failure(&client);
    let bound = plaintext_start(&lengths, record);
    // (The proxy may not have read record #`record` itself when the damage was a copy of an
    // earlier one.)
    assert!(
        lengths.iter().take(record).all(|&len| len > CLOSE_L),
        "the damage was meant for DATA records: {lengths:?}"
    );
    assert_prefix_within(
        &format!("{}: stdout", client.description),
        &data,
        &client.stdout,
        bound,
    );
    client
}

/// A damaged handshake: exit status 3, nothing on stdout.
#[track_caller]
pub(crate) fn assert_handshake_damage_caught(seed: u64, tamper: Tamper) -> Finished {
    let (client, _, _) = tampered_download(seed, tamper);
    assert_secure_failure(&client);
    assert_bytes_eq(
        &format!("{}: stdout", client.description),
        b"",
        &client.stdout,
    );
    client
}
