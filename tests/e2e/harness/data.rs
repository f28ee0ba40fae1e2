//! Test data: deterministic pseudo-random bytes, fed to a sink while counting them, exact
//! comparisons of whole transfers, and a directory of its own for each test.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::KIB;

/// A xorshift64 generator: deterministic pseudo-random test data.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Spread small seeds out; the state must never be zero.
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fills `buf`. Filling in pieces whose lengths are multiples of 8 gives the same stream as
    /// filling all at once.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes, the same for the same `seed`.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut data = vec![0; len];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Asserts that `actual` is exactly `expected`, without dumping megabytes into the message.
#[track_caller]
pub fn assert_bytes_eq(what: &str, expected: &[u8], actual: &[u8]) {
    if expected == actual {
        return;
    }
    let first_difference = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let around = |data: &[u8]| {
        let end = data.len().min(first_difference + 16);
        String::from_utf8_lossy(&data[first_difference.min(end)..end]).into_owned()
    };
    panic!(
        "{what}: expected {} bytes, got {} bytes; first difference at offset {first_difference} \
         (expected {:?}..., got {:?}...)",
        expected.len(),
        actual.len(),
        around(expected),
        around(actual),
    );
}

/// A directory of its own for one test, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tete-test-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|err| panic!("creating {path:?}: {err}"));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `data` to a file named `name` and returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, data).unwrap_or_else(|err| panic!("writing {path:?}: {err}"));
        path
    }

    /// A file of `len` pseudo-random bytes: its path and its contents.
    pub fn random_file(&self, name: &str, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
        let data = random_bytes(seed, len);
        (self.file(name, &data), data)
    }

    /// The contents of file `path`, which must exist.
    pub fn read(&self, path: &Path) -> Vec<u8> {
        fs::read(path).unwrap_or_else(|err| panic!("reading {path:?}: {err}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes all of `data` to `sink` in 64 KiB pieces, counting the bytes written in `counter`.
pub fn write_counting(sink: &mut impl Write, data: &[u8], counter: &AtomicU64) -> io::Result<()> {
    let mut sent = 0;
    for piece in data.chunks(64 * KIB) {
        sink.write_all(piece)?;
        sent += piece.len() as u64;
        counter.store(sent, Ordering::SeqCst);
    }
    Ok(())
}

/// Writes `total` bytes (a repeated pseudo-random block) to `sink`, counting them in `counter`,
/// until done or a write fails. Returns how many were written.
pub fn stream_into(sink: &mut impl Write, total: u64, counter: &AtomicU64) -> u64 {
    let block = random_bytes(7, 64 * KIB);
    let mut sent = 0u64;
    while sent < total {
        let len = block.len().min((total - sent) as usize);
        match sink.write(&block[..len]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                sent += n as u64;
                counter.store(sent, Ordering::SeqCst);
            }
        }
    }
    sent
}
