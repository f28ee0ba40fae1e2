//! Hosts on real links, on one machine: network namespaces ([`Host`]) joined by veth pairs
//! ([`Link`]), a slow link (a tbf qdisc), a link down and up, and tete or any program run
//! inside a host. Root only; [`Net::or_skip`] says why it skips otherwise (a failure under
//! `TETE_REQUIRE_PEERS=1`).
//!
//! Addresses come only from 198.18.0.0/15 (IPv6: 2001:db8::/32). Names are the test process's
//! id and a counter, so tests running in parallel never meet; a namespace left behind by a
//! killed run (whose process is gone) is removed by the next [`Net`]. Dropping a [`Net`], also
//! when its test panics, kills every process in its namespaces and removes them. Every wait is
//! bounded by [`TIMEOUT`].
//!
//! ```ignore
//! let Some(mut net) = Net::or_skip() else { return };
//! let (a, b, c) = (net.host("a"), net.host("b"), net.host("c"));
//! let link = net.link(&a, &b); // 198.19.N.1 on a, .2 on b (and 2001:db8:1NN::1, ::2)
//! let lan = net.link_on(&a, &c, 10); // 198.18.10.1 on a, .2 on c: addresses a test names
//! c.default_route_via(lan.a.ipv4); // c reaches the rest through a
//! lan.b.add_address(Ipv4Addr::new(198, 18, 10, 3)); // a second address on c's end
//! link.rate_mbit(50); // a tbf qdisc on both ends
//! let listener = b.tete(["-v", "-l", &link.b.ipv4.to_string(), "0"]).spawn(); // a Running
//! let nc = b.spawn(&dir, &["nc", "-l", ...], Some(&out)); // any program: a Process
//! b.wait_listening_on(&mut nc, port); // b's own /proc/net/tcp
//! link.b.down(); // b vanishes from the link: no FIN, no RST (addresses kept)
//! link.b.up(); // and is back, once the link is up again
//! a.ip(&["route", "show"]); // `ip -n NS ...`; a.run(program, args)
//! ```

use std::ffi::OsString;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output as CommandOutput, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::peers::wait_listening_in;
use super::ports::{TCP_TABLES, listens, parse_tcp_tables};
use super::{Process, TIMEOUT, TcpSocket, TempDir, Tete, program_or_skip, skip, tete};

/// What every namespace of the tests' own is called first: then the test process's id.
const PREFIX: &str = "tete-test-";

/// Where `ip netns` keeps its namespaces.
const NETNS_DIR: &str = "/run/netns";

/// A test's network: the hosts it made, removed with every process in them when dropped.
pub struct Net {
    /// `PREFIX` PID `-` COUNTER `-`: what this net's namespaces are called first.
    name: String,
    ip: PathBuf,
    tc: PathBuf,
    namespaces: Vec<String>,
}

/// A host: a network namespace with its loopback up. Cheap to clone; it lives as long as its
/// [`Net`].
#[derive(Clone)]
pub struct Host {
    pub namespace: String,
    ip: PathBuf,
    tc: PathBuf,
}

/// A veth pair between two hosts, each end with an address of the link's own /24 (and /64).
pub struct Link {
    pub a: End,
    pub b: End,
}

/// One end of a [`Link`].
pub struct End {
    pub host: Host,
    /// The interface's name in its host (at most 15 bytes).
    pub device: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

impl Net {
    /// A network of the test's own, or `None` after [`skip`]: it needs root, `ip` and `tc`
    /// (iproute2), and a kernel that lets it make namespaces.
    #[track_caller]
    pub fn or_skip() -> Option<Net> {
        if !rustix::process::geteuid().is_root() {
            return skip("not root: hosts in network namespaces need root (CI runs as root)");
        }
        let ip = program_or_skip("ip", "iproute2")?;
        let tc = program_or_skip("tc", "iproute2")?;
        static NETS: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{PREFIX}{}-{}-",
            std::process::id(),
            NETS.fetch_add(1, Ordering::SeqCst)
        );
        let net = Net {
            name,
            ip,
            tc,
            namespaces: Vec::new(),
        };
        net.remove_leftovers();
        // Whether this kernel and these privileges allow it at all.
        let probe = format!("{}probe", net.name);
        let added = net.ip_command(&["netns", "add", &probe]);
        if !added.status.success() {
            return skip(&format!(
                "cannot make a network namespace here: {}",
                String::from_utf8_lossy(&added.stderr).trim()
            ));
        }
        remove_namespace(&net.ip, &probe);
        Some(net)
    }

    /// A new host called `name` (for messages and its namespace's name), its loopback up.
    pub fn host(&mut self, name: &str) -> Host {
        let namespace = format!("{}{name}", self.name);
        {
            // `ip netns add` sets up /run/netns the first time; once at a time in this process.
            static ADDING: Mutex<()> = Mutex::new(());
            let _one_at_a_time = ADDING.lock().unwrap_or_else(|poison| poison.into_inner());
            run_ip(&self.ip, &["netns", "add", &namespace]);
        }
        self.namespaces.push(namespace.clone());
        let host = Host {
            namespace,
            ip: self.ip.clone(),
            tc: self.tc.clone(),
        };
        host.ip(&["link", "set", "lo", "up"]);
        // Links keep their IPv6 addresses while down (Linux drops them otherwise), as their
        // IPv4 addresses are kept: a link that comes back up is the same link.
        host.run(
            "sh",
            &[
                "-c",
                "echo 1 >/proc/sys/net/ipv6/conf/default/keep_addr_on_down",
            ],
        );
        host
    }

    /// A veth pair between `a` and `b`, with addresses of a /24 of 198.19.0.0/16 (and a /64
    /// of 2001:db8:100::/56) of its own: .1 on `a`, .2 on `b`. Both ends are up when it returns.
    pub fn link(&mut self, a: &Host, b: &Host) -> Link {
        static SUBNETS: AtomicUsize = AtomicUsize::new(0);
        // Apart between processes too, so that two runs' addresses differ.
        let subnet =
            (std::process::id() as usize * 61 + SUBNETS.fetch_add(1, Ordering::SeqCst)) % 256;
        self.link_in(a, b, Ipv4Addr::new(198, 19, subnet as u8, 0))
    }

    /// A veth pair between `a` and `b` on 198.18.`third`.0/24 (and 2001:db8:`third`::/64): .1
    /// on `a`, .2 on `b`, for tests that need the addresses they name (a home network behind a
    /// router, say). 198.18.0.0/16 is theirs: [`Net::link`] takes its subnets from 198.19.0.0/16.
    /// Each test's hosts are its own, so two tests may use the same subnet.
    pub fn link_on(&mut self, a: &Host, b: &Host, third: u8) -> Link {
        self.link_in(a, b, Ipv4Addr::new(198, 18, third, 0))
    }

    /// A veth pair between `a` and `b` on `subnet` (x.y.z.0/24 of 198.18.0.0/15, and the /64 of
    /// 2001:db8::/32 it maps to): .1 on `a`, .2 on `b`.
    fn link_in(&mut self, a: &Host, b: &Host, subnet: Ipv4Addr) -> Link {
        static LINKS: AtomicUsize = AtomicUsize::new(0);
        let number = LINKS.fetch_add(1, Ordering::SeqCst);
        let device = |side: char| format!("t{:x}l{number:x}{side}", std::process::id());
        let [_, second, third, _] = subnet.octets();
        // 2001:db8:xx::/64 for 198.18.xx.0/24, 2001:db8:1xx::/64 for 198.19.xx.0/24.
        let v6_subnet = u16::from(second - 18) << 8 | u16::from(third);
        let end = |host: &Host, side: char, last: u8| End {
            host: host.clone(),
            device: device(side),
            ipv4: Ipv4Addr::new(198, second, third, last),
            ipv6: Ipv6Addr::new(0x2001, 0xdb8, v6_subnet, 0, 0, 0, 0, last.into()),
        };
        let link = Link {
            a: end(a, 'a', 1),
            b: end(b, 'b', 2),
        };
        assert!(link.a.device.len() <= 15, "{} is too long", link.a.device);
        run_ip(
            &self.ip,
            &[
                "link",
                "add",
                &link.a.device,
                "netns",
                &a.namespace,
                "type",
                "veth",
                "peer",
                "name",
                &link.b.device,
                "netns",
                &b.namespace,
            ],
        );
        for end in [&link.a, &link.b] {
            let v4 = format!("{}/24", end.ipv4);
            let v6 = format!("{}/64", end.ipv6);
            end.host.ip(&["addr", "add", &v4, "dev", &end.device]);
            // nodad: usable at once, without duplicate address detection's second or two.
            end.host
                .ip(&["addr", "add", &v6, "dev", &end.device, "nodad"]);
            end.host.ip(&["link", "set", &end.device, "up"]);
        }
        link.a.wait_up();
        link.b.wait_up();
        link
    }

    fn ip_command(&self, args: &[&str]) -> CommandOutput {
        Command::new(&self.ip)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running ip")
    }

    /// Removes the namespaces of test processes that are gone (killed before their `Drop`).
    fn remove_leftovers(&self) {
        let Ok(entries) = fs::read_dir(NETNS_DIR) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('-').next())
            else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                remove_namespace(&self.ip, &name);
            }
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for namespace in self.namespaces.drain(..).rev() {
            remove_namespace(&self.ip, &namespace);
        }
    }
}

/// Kills every process in `namespace` and removes it, waiting at most [`TIMEOUT`] for them.
fn remove_namespace(ip: &Path, namespace: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let pids = Command::new(ip)
            .args(["netns", "pids", namespace])
            .stderr(Stdio::null())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default();
        let pids: Vec<Pid> = pids
            .split_whitespace()
            .filter_map(|pid| Pid::from_raw(pid.parse().ok()?))
            .collect();
        if pids.is_empty() || Instant::now() >= deadline {
            break;
        }
        for pid in pids {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
        thread::sleep(Duration::from_millis(5));
    }
    let _ = Command::new(ip)
        .args(["netns", "delete", namespace])
        .stderr(Stdio::null())
        .status();
}

/// Runs `ip ARGS...`, which must succeed; returns its stdout.
#[track_caller]
fn run_ip(ip: &Path, args: &[&str]) -> String {
    run(
        Command::new(ip).args(args),
        &format!("ip {}", args.join(" ")),
    )
}

#[track_caller]
fn run(command: &mut Command, description: &str) -> String {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("running {description}: {err}"));
    assert!(
        out.status.success(),
        "{description}: {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Host {
    /// `ip -n NAMESPACE ARGS...`, which must succeed; its stdout.
    #[track_caller]
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.namespace];
        all.extend_from_slice(args);
        run_ip(&self.ip, &all)
    }

    /// `tc -n NAMESPACE ARGS...`, which must succeed.
    #[track_caller]
    fn tc(&self, args: &[&str]) {
        let description = format!("tc -n {} {}", self.namespace, args.join(" "));
        run(
            Command::new(&self.tc)
                .args(["-n", &self.namespace])
                .args(args),
            &description,
        );
    }

    /// `program ARGS...` inside this host, which must succeed; its stdout.
    #[track_caller]
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.namespace, program];
        all.extend_from_slice(args);
        run_ip(&self.ip, &all)
    }

    /// Sends what is for no link of this host's own through `gateway` (the far end of one).
    pub fn default_route_via(&self, gateway: Ipv4Addr) {
        self.ip(&["route", "add", "default", "via", &gateway.to_string()]);
    }

    /// The TCP sockets of this host.
    pub fn tcp_sockets(&self) -> Vec<TcpSocket> {
        let mut args = vec![];
        args.extend(TCP_TABLES);
        parse_tcp_tables(&self.run("cat", &args))
    }

    /// Waits until `server`, which runs in this host, listens on `port` (see
    /// [`wait_listening_on`](super::wait_listening_on)).
    #[track_caller]
    pub fn wait_listening_on(&self, server: &mut Process, port: u16) {
        wait_listening_in(server, port, || listens(&self.tcp_sockets(), port));
    }

    /// `command` (a program and its arguments) started inside this host, its stdin /dev/null,
    /// its stdout to `stdout` (or with its stderr in its log): see [`Process::spawn`].
    pub fn spawn(&self, dir: &TempDir, command: &[&str], stdout: Option<&Path>) -> Process {
        let mut all = vec!["netns", "exec", &self.namespace];
        all.extend_from_slice(command);
        Process::spawn(dir, &self.ip, &all, None, stdout)
    }

    /// `tete ARGS...` to run inside this host: `ip netns exec NAMESPACE tete ARGS...`, with
    /// all of [`Tete`]'s choices (stdin, stdout, a password...); its process is tete's.
    pub fn tete<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Tete {
        let prefix = [
            self.ip.as_os_str(),
            "netns".as_ref(),
            "exec".as_ref(),
            self.namespace.as_ref(),
        ];
        tete(args).prefixed(prefix.iter().map(OsString::from).collect())
    }
}

impl Link {
    /// Limits both directions to `mbit` Mbit/s (a tbf qdisc on each end).
    pub fn rate_mbit(&self, mbit: u32) {
        self.a.rate_mbit(mbit);
        self.b.rate_mbit(mbit);
    }
}

impl End {
    /// Limits what this end sends to `mbit` Mbit/s (a tbf qdisc).
    pub fn rate_mbit(&self, mbit: u32) {
        let rate = format!("{mbit}mbit");
        self.host.tc(&[
            "qdisc",
            "replace",
            "dev",
            &self.device,
            "root",
            "tbf",
            "rate",
            &rate,
            "burst",
            "64kb",
            "latency",
            "100ms",
        ]);
    }

    /// Gives this end `address` too, in the link's /24.
    pub fn add_address(&self, address: Ipv4Addr) {
        let address = format!("{address}/24");
        self.host
            .ip(&["addr", "add", &address, "dev", &self.device]);
    }

    /// Takes this end down: its host vanishes from the link (no FIN, no RST).
    pub fn down(&self) {
        self.host.ip(&["link", "set", &self.device, "down"]);
    }

    /// Brings this end up again, and waits until the link is.
    pub fn up(&self) {
        self.host.ip(&["link", "set", &self.device, "up"]);
        self.wait_up();
    }

    /// Waits until this end's link is up (both ends up, the carrier there).
    #[track_caller]
    fn wait_up(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let state = self.host.ip(&["-o", "link", "show", "dev", &self.device]);
            if state.contains(",LOWER_UP") && state.contains(" state UP ") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} in {}: not up within {TIMEOUT:?}: {state}",
                self.device,
                self.host.namespace
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}
