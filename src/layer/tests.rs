use super::*;

/// Feeds `reads` through the conversion one read at a time; returns what comes out.
fn convert(reads: &[&[u8]]) -> Vec<u8> {
    let mut after_cr = false;
    let mut out = Vec::new();
    for read in reads {
        let mut buf = read.to_vec();
        buf.resize(2 * read.len(), 0);
        let len = expand_bare_lf(&mut buf, read.len(), &mut after_cr);
        out.extend_from_slice(&buf[..len]);
    }
    out
}

#[test]
fn crlf_expands_only_bare_newlines() {
    assert_eq!(convert(&[b"a\r\nb\nc"]), b"a\r\nb\r\nc");
    assert_eq!(convert(&[b"a\nb\n\n"]), b"a\r\nb\r\n\r\n");
    assert_eq!(convert(&[b"\n\r\n\r\r\n\n"]), b"\r\n\r\n\r\r\n\r\n");
    assert_eq!(convert(&[b"no newline"]), b"no newline");
}

#[test]
fn crlf_remembers_a_cr_across_reads() {
    assert_eq!(convert(&[b"a\r", b"\nb\n"]), b"a\r\nb\r\n");
    assert_eq!(convert(&[b"a", b"\n"]), b"a\r\n");
    assert_eq!(convert(&[b"\r", b"x", b"\n"]), b"\rx\r\n");
}

#[test]
fn plain_inbound_is_stdout() {
    let mut layer = Layer::plain(false);
    assert!(layer.passthrough(Flow::Outbound) && layer.passthrough(Flow::Inbound));
    let inbound = layer.incoming();
    inbound.spare()[..5].copy_from_slice(b"hello");
    inbound.commit(5);
    assert!(!layer.decode().unwrap());
    assert_eq!(layer.stdout_bytes(), b"hello");
    layer.stdout_consumed(5);
    assert!(layer.stdout_bytes().is_empty());
    assert_eq!(layer.finish_inbound().unwrap(), CloseReason::EndOfInput);
    assert!(!Layer::plain(true).passthrough(Flow::Outbound));
}

/// Moves every byte waiting in `from`'s socket buffer to `to`'s, `chunk` at a time, decoding.
fn carry(from: &mut Layer, to: &mut Layer, chunk: usize) -> Result<bool, LayerError> {
    let mut moved = false;
    loop {
        let out = from.outgoing();
        let n = out.len().min(chunk).min(to.incoming().spare().len());
        if n == 0 {
            return Ok(moved);
        }
        to.incoming().spare()[..n].copy_from_slice(&out.filled()[..n]);
        from.outgoing().consume(n);
        to.incoming().commit(n);
        to.decode()?;
        if to.confirm_waiting() {
            to.check_confirm()?;
            to.decode()?;
        }
        moved = true;
    }
}

fn connected_pair(password_l: &[u8]) -> (Layer, Layer, Result<(), LayerError>) {
    let mut c = Layer::secure(false, Role::Connector, b"pw", CipherChoice::Fastest);
    let mut l = Layer::secure(true, Role::Listener, password_l, CipherChoice::Fastest);
    let result = (|| {
        while carry(&mut c, &mut l, 7)? | carry(&mut l, &mut c, 7)? {}
        Ok(())
    })();
    (c, l, result)
}

#[test]
fn secure_layers_handshake_then_carry_records_in_place() {
    let (mut c, mut l, result) = connected_pair(b"pw");
    result.unwrap();
    assert!(c.is_open() && l.is_open());
    assert!(!c.passthrough(Flow::Inbound) && !c.passthrough(Flow::Outbound));
    assert_eq!(c.cipher(), l.cipher());
    // Listener (with -C) to connector, in two reads and two records.
    for piece in [&b"one\r"[..], b"\ntwo\n"] {
        assert!(l.outbound_has_room());
        let n = l.fill_outbound(stdin_of(piece)).unwrap();
        assert_eq!(n, piece.len());
    }
    assert!(l.close_outbound(CloseReason::Interrupted).unwrap());
    carry(&mut l, &mut c, 5).unwrap();
    assert_eq!(c.stdout_bytes(), b"one\r\ntwo\r\n");
    c.stdout_consumed(4);
    assert_eq!(c.stdout_bytes(), b"\ntwo\r\n");
    assert_eq!(c.finish_inbound().unwrap(), CloseReason::Interrupted);
}

/// A stdin read that gives `bytes` (as much as fits).
fn stdin_of(bytes: &[u8]) -> impl FnOnce(&mut [IoSliceMut<'_>]) -> io::Result<usize> {
    move |bufs| io::Read::read_vectored(&mut &*bytes, bufs)
}

/// Sends `pieces` from `from` as one record each, then delivers them to `to` in one read.
fn send_records(from: &mut Layer, pieces: &[&[u8]]) -> Vec<u8> {
    for piece in pieces {
        from.fill_outbound(stdin_of(piece)).unwrap();
    }
    let wire = from.outgoing().filled().to_vec();
    let queued = from.outgoing().len();
    from.outgoing().consume(queued);
    wire
}

fn deliver(to: &mut Layer, wire: &[u8]) -> Result<bool, LayerError> {
    let inbound = to.incoming();
    inbound.spare()[..wire.len()].copy_from_slice(wire);
    inbound.commit(wire.len());
    to.decode()
}

#[test]
fn records_of_one_read_become_one_run_of_plaintext() {
    let (mut c, mut l, result) = connected_pair(b"pw");
    result.unwrap();
    let mut wire = send_records(&mut c, &[b"one ", b"two ", b"three"]);
    assert!(deliver(&mut l, &wire).unwrap());
    assert_eq!(l.stdout_bytes(), b"one two three");
    // Half written, then the next records land right after what is left.
    l.stdout_consumed(8);
    wire = send_records(&mut c, &[b" four", b" five"]);
    let (first, second) = wire.split_at(7);
    deliver(&mut l, first).unwrap();
    assert_eq!(l.stdout_bytes(), b"three");
    deliver(&mut l, second).unwrap();
    assert_eq!(l.stdout_bytes(), b"three four five");
    l.stdout_consumed(15);
    // A damaged record after two good ones: the good ones first, then the error.
    wire = send_records(&mut c, &[b"good ", b"good ", b"bad"]);
    *wire.last_mut().unwrap() ^= 1;
    assert!(deliver(&mut l, &wire).unwrap());
    assert_eq!(l.stdout_bytes(), b"good good ");
    let err = l.decode().unwrap_err();
    assert!(
        matches!(err, LayerError::Open(SecureError::Tampered)),
        "{err:?}"
    );
    assert_eq!(l.stdout_bytes(), b"good good ");
}

#[test]
fn a_full_stream_is_sealed_in_whole_records_that_fill_the_buffer() {
    let (mut c, mut l, result) = connected_pair(b"pw");
    result.unwrap();
    // One read is offered every record's payload spot, and fills them all.
    let stream = vec![b'x'; SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD + 1];
    let n = c.fill_outbound(stdin_of(&stream)).unwrap();
    assert_eq!(n, SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD);
    assert!(!c.outbound_has_room());
    assert_eq!(c.outgoing().len(), SECURE_BUFFER_SIZE);
    // Room for less than a whole record is no room: no sliver of a record is sealed.
    let mut sent = 0;
    for (n, room) in [(secure::MAX_RECORD - 1, false), (1, true)] {
        let wire = c.outgoing().filled()[..n].to_vec();
        c.outgoing().consume(n);
        deliver(&mut l, &wire).unwrap();
        sent += n;
        assert_eq!(c.outbound_has_room(), room, "after {sent} bytes sent");
    }
    // The rest arrives in reads that split records; all of it opens into one run.
    carry(&mut c, &mut l, 100_000).unwrap();
    let expected = SECURE_BUFFER_RECORDS * secure::MAX_PAYLOAD;
    assert_eq!(l.stdout_bytes().len(), expected);
    assert!(l.stdout_bytes().iter().all(|&b| b == b'x'));
}

/// A read that ends inside the third payload spot gives two full records and a short one,
/// end to end; with `-C` the read gets one spot, half a record long.
#[test]
fn one_read_fills_record_spots_in_order() {
    let (mut c, mut l, result) = connected_pair(b"pw");
    result.unwrap();
    let stream: Vec<u8> = (0..secure::MAX_PAYLOAD * 5 / 2)
        .map(|i| (i % 251) as u8)
        .collect();
    assert_eq!(c.fill_outbound(stdin_of(&stream)).unwrap(), stream.len());
    let short = secure::MAX_PAYLOAD / 2 + secure::OVERHEAD;
    assert_eq!(c.outgoing().len(), 2 * secure::MAX_RECORD + short);
    carry(&mut c, &mut l, 100_000).unwrap();
    assert!(l.stdout_bytes() == stream, "the stream arrives whole");

    let n = l.fill_outbound(stdin_of(&stream)).unwrap();
    assert_eq!(
        n,
        secure::MAX_PAYLOAD / 2,
        "-C reads at most half a payload"
    );
}

#[test]
fn inbound_moves_only_an_unfinished_record_to_the_front() {
    let record = secure::MAX_RECORD;
    let mut inbound = Inbound::new(4 * record, true);
    let unfinished = 1000;
    let received = 3 * record + unfinished;
    inbound.spare()[..received].fill(7);
    inbound.commit(received);
    // One record opened and written out: two whole ones still wait, so nothing moves.
    inbound.opened(record, secure::MAX_PAYLOAD);
    inbound.consume_plaintext(secure::MAX_PAYLOAD);
    assert_eq!(inbound.room(), record - unfinished);
    assert_eq!(inbound.spare().len(), record - unfinished);
    // The other two opened and written out: the unfinished record moves, and only it.
    for _ in 0..2 {
        inbound.opened(record, secure::MAX_PAYLOAD);
        inbound.consume_plaintext(secure::MAX_PAYLOAD);
    }
    assert_eq!(inbound.room(), 4 * record - unfinished);
    assert_eq!(inbound.spare().len(), 4 * record - unfinished);
    assert_eq!(inbound.raw().len(), unfinished);
}

#[test]
fn a_wrong_password_is_a_guess_on_the_listener_only() {
    let (_, l, result) = connected_pair(b"other");
    let err = result.unwrap_err();
    assert!(err.is_guess(), "{err:?}");
    assert!(!l.is_open());
    let mut c = Layer::secure(false, Role::Connector, b"pw", CipherChoice::Fastest);
    let mut l = Layer::secure(false, Role::Listener, b"other", CipherChoice::Fastest);
    carry(&mut c, &mut l, usize::MAX).unwrap();
    carry(&mut l, &mut c, usize::MAX).unwrap();
    assert!(carry(&mut c, &mut l, usize::MAX).unwrap_err().is_guess());
    assert_eq!(l.outgoing().filled(), [secure::REJECT]);
    carry(&mut l, &mut c, usize::MAX).unwrap();
    assert!(!c.is_open());
    let ended = c.finish_inbound().unwrap_err();
    assert!(!ended.is_guess());
    assert_eq!(ended.secure(), Some(&SecureError::Rejected));
}
