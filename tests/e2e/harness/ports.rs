//! Ports, sockets and the test's own TCP peers, on loopback only.

use std::fs;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{TIMEOUT, poll_readable};

/// A port free on 127.0.0.1 when checked, for tete to listen on or for a test to find closed.
///
/// It is chosen below the system's ephemeral range and never twice in one test process: a port
/// the OS hands out for `bind(0)` or an outgoing connection elsewhere in the suite (a test's peer,
/// a client's local end) cannot be it, so a test that expects nobody there (a refused connection,
/// a second peer refused) does not find another test's socket instead.
pub fn free_port() -> u16 {
    checked_free_port(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])
}

/// A port free on 127.0.0.1 and, where IPv6 works, on ::1 too: for names such as `localhost`
/// that may stand for either.
pub fn free_port_both() -> u16 {
    if ipv6_available() {
        checked_free_port(&[Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()])
    } else {
        free_port()
    }
}

fn checked_free_port(ips: &[IpAddr]) -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // Below the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range).
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000, ephemeral_low.max(20_000));
    let span = high - low;
    // Each test process starts elsewhere, in case two run at once.
    let start = (std::process::id() as usize).wrapping_mul(7919) % span;
    for _ in 0..span {
        let port = (low + (start + NEXT.fetch_add(1, Ordering::SeqCst)) % span) as u16;
        if ips.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok()) {
            return port;
        }
    }
    panic!("no free port on {ips:?} between {low} and {high}");
}

/// Whether this machine has a usable ::1.
pub fn ipv6_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// The loopback addresses the system's resolver gives for `localhost`.
pub fn localhost_addresses() -> Vec<IpAddr> {
    ("localhost", 1)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|addr| addr.ip()).collect())
        .unwrap_or_default()
}

/// 127.0.0.1:`port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Connects to `addr` (a tete listener), with timeouts on the stream.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|err| panic!("connecting to {addr}: {err}"));
    set_timeouts(&stream);
    stream
}

fn set_timeouts(stream: &TcpStream) {
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("write timeout");
}

/// Makes closing `stream` send a reset instead of a FIN.
pub fn set_linger_zero(stream: &TcpStream) {
    rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO)).expect("SO_LINGER");
}

/// Reads from `stream` until EOF. A read timeout ([`TIMEOUT`]) fails the test.
pub fn read_to_eof(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut data = Vec::new();
    if let Err(err) = stream.read_to_end(&mut data) {
        panic!(
            "{what}: reading to EOF failed after {} bytes: {err}",
            data.len()
        );
    }
    data
}

/// Accepts one connection, failing the test if none comes within `timeout`. The stream is
/// blocking, as the listener was.
pub fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    assert!(
        poll_readable(listener, timeout),
        "nobody connected to {:?} within {timeout:?}",
        listener.local_addr()
    );
    match listener.accept() {
        Ok((stream, _)) => stream,
        Err(err) => panic!("accept: {err}"),
    }
}

/// The test's own TCP peer: a thread that accepts one connection on a loopback port the OS
/// picked and hands it to a closure, whose result [`Peer::join`] returns.
pub struct Peer<T> {
    pub addr: SocketAddr,
    done: mpsc::Receiver<()>,
    handle: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Peer<T> {
    /// A peer on 127.0.0.1. The accepted stream is blocking with [`TIMEOUT`] read and write
    /// timeouts.
    pub fn spawn(serve: impl FnOnce(TcpStream) -> T + Send + 'static) -> Peer<T> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the test peer");
        let addr = listener.local_addr().expect("the test peer's address");
        let (done_tx, done) = mpsc::channel();
        let handle = thread::spawn(move || {
            let stream = accept_within(&listener, TIMEOUT);
            drop(listener);
            set_timeouts(&stream);
            let result = serve(stream);
            let _ = done_tx.send(());
            result
        });
        Peer {
            addr,
            done,
            handle: Some(handle),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The closure's result. Fails the test if the thread panicked or is still busy after
    /// [`TIMEOUT`].
    pub fn join(mut self) -> T {
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(TIMEOUT) {
            panic!(
                "the test peer on {} was still busy after {TIMEOUT:?}",
                self.addr
            );
        }
        match self.handle.take().expect("joined once").join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// One TCP socket of this network namespace, as `/proc/net/tcp` (and `tcp6`) show it.
#[derive(Debug, Clone, Copy)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    /// The TCP state: [`ESTABLISHED`], [`TIME_WAIT`], [`LISTENING`]...
    pub state: u8,
    /// Bytes received and not yet read; for a listening socket, the connections in its backlog.
    pub unread: u64,
    /// The socket's inode: which process holds it (`/proc/PID/fd`).
    pub inode: u64,
}

/// The TCP states of [`TcpSocket::state`]: a connection that is up, one closed (its port kept a
/// while), and a listening socket.
pub const ESTABLISHED: u8 = 0x01;
pub const TIME_WAIT: u8 = 0x06;
pub const LISTENING: u8 = 0x0a;

/// Where a network namespace lists its TCP sockets.
pub(super) const TCP_TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// Every TCP socket of this network namespace, IPv4 and IPv6.
pub fn tcp_sockets() -> Vec<TcpSocket> {
    let tables = TCP_TABLES.map(|table| fs::read_to_string(table).unwrap_or_default());
    parse_tcp_tables(&tables.concat())
}

/// The sockets in the text of [`TCP_TABLES`] (their heading lines are passed over).
pub(super) fn parse_tcp_tables(text: &str) -> Vec<TcpSocket> {
    let port = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
    text.lines()
        .filter_map(|line| {
            // sl, local_address, rem_address, st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid,
            // timeout, inode, ...
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (_, unread) = fields.get(4)?.split_once(':')?;
            Some(TcpSocket {
                local_port: port(fields.get(1)?)?,
                remote_port: port(fields.get(2)?)?,
                state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
                unread: u64::from_str_radix(unread, 16).ok()?,
                inode: fields.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// Whether a socket listens on `port`.
pub fn listening_on(port: u16) -> bool {
    listens(&tcp_sockets(), port)
}

/// Whether one of `sockets` listens on `port`.
pub(super) fn listens(sockets: &[TcpSocket], port: u16) -> bool {
    sockets
        .iter()
        .any(|socket| socket.local_port == port && socket.state == LISTENING)
}

/// Bytes that wait unread in the connections to `remote_port` (tete's end of a connection to a
/// test's peer on that port).
pub fn unread_from(remote_port: u16) -> u64 {
    tcp_sockets()
        .iter()
        .filter(|socket| socket.remote_port == remote_port && socket.state == ESTABLISHED)
        .map(|socket| socket.unread)
        .sum()
}
