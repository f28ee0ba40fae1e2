//! `-C`: each bare LF from stdin goes out as CR LF.

/// Turns each LF in `buf[..n]` that does not follow a CR into CR LF, in place; `buf` has room for
/// the growth. `after_cr` says whether the byte before `buf[0]` (the end of the previous read) was
/// a CR, and is updated for the next read. Returns the new length.
pub(super) fn expand_bare_lf(buf: &mut [u8], n: usize, after_cr: &mut bool) -> usize {
    let follows_cr = |buf: &[u8], at: usize| {
        if at == 0 {
            *after_cr
        } else {
            buf[at - 1] == b'\r'
        }
    };
    let bare = memchr::memchr_iter(b'\n', &buf[..n])
        .filter(|&at| !follows_cr(buf, at))
        .count();
    let last = buf[..n].last().copied();
    // From the end: each segment moves right by the number of bare LFs before it.
    let mut end = n;
    let mut shift = bare;
    while shift > 0 {
        let Some(at) = memchr::memrchr_iter(b'\n', &buf[..end]).find(|&at| !follows_cr(buf, at))
        else {
            break;
        };
        buf.copy_within(at..end, at + shift);
        buf[at + shift - 1] = b'\r';
        shift -= 1;
        end = at;
    }
    if let Some(last) = last {
        *after_cr = last == b'\r';
    }
    n + bare
}
