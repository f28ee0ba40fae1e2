//! `--map-port` against a real home router, on one machine: three network namespaces joined by
//! veth pairs. home (198.18.10.2) has its default route through router (198.18.10.1 toward
//! home, 198.18.20.1 outside), which forwards with nftables NAT and runs miniupnpd (Debian's
//! miniupnpd-nftables: PCP, NAT-PMP and UPnP IGD); net (198.18.20.2 and .3) is the internet,
//! with a STUN server (stund), which miniupnpd needs before it forwards on a reserved outside
//! address.
//!
//! Root only: elsewhere each test says that it skipped (and fails instead under
//! `TETE_REQUIRE_PEERS=1`, as in CI). Every test builds a network of its own, with names of its
//! own (tests run in parallel), and removes its processes and namespaces on every way out.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const TETE: &str = env!("CARGO_BIN_EXE_tete");
const HOME: &str = "198.18.10.2";
const ROUTER_INSIDE: &str = "198.18.10.1";
const PUBLIC: &str = "198.18.20.1";
const PORT: &str = "51423";
/// The longest any step may take before the test fails (a stuck step is a failure, not a hang).
const TIMEOUT: Duration = Duration::from_secs(20);

/// What the router runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    /// Nothing: no router answers.
    None,
    /// miniupnpd with PCP and NAT-PMP on (and UPnP IGD).
    Full,
    /// miniupnpd with UPnP IGD only.
    UpnpOnly,
}

/// The router's nftables: NAT, and the empty chains miniupnpd fills.
const RULES: &str = "table inet filter {
  chain miniupnpd {
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname \"rl\" oifname \"rw\" accept
    jump miniupnpd
  }
}
table inet nat {
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname \"rw\" masquerade
  }
}
";

fn miniupnpd_conf(natpmp: bool) -> String {
    let natpmp = if natpmp { "yes" } else { "no" };
    format!(
        "ext_ifname=rw\nlistening_ip=rl\nenable_natpmp={natpmp}\nenable_upnp=yes\nsecure_mode=yes\n\
         system_uptime=yes\nuuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\nupnp_table_name=filter\n\
         upnp_nat_table_name=nat\nupnp_forward_chain=miniupnpd\n\
         upnp_nat_chain=prerouting_miniupnpd\nupnp_nat_postrouting_chain=postrouting_miniupnpd\n\
         ext_perform_stun=yes\next_stun_host=198.18.20.2\next_stun_port=3478\n\
         allow 1024-65535 198.18.10.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n"
    )
}

/// The three namespaces and the router's daemons; all removed when dropped.
struct Network {
    home: String,
    router: String,
    net: String,
    dir: PathBuf,
    daemons: Vec<Child>,
}

impl Network {
    /// The network with `daemon` in the router, ready; `None` (said) when this machine cannot
    /// build it.
    fn build(daemon: Daemon) -> Option<Network> {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("TETE_REQUIRE_PEERS").is_none_or(|value| value != "1"),
                "TETE_REQUIRE_PEERS=1, but {why}"
            );
            eprintln!("SKIPPED: {why}");
            return None;
        }
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "tpm{}x{}",
            std::process::id() % 100_000,
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let mut network = Network {
            home: format!("{tag}h"),
            router: format!("{tag}r"),
            net: format!("{tag}n"),
            dir: std::env::temp_dir().join(format!("tete-{tag}")),
            daemons: Vec::new(),
        };
        // From here on a failure panics, and the drop removes whatever was made.
        network.links();
        network.start_stund();
        if daemon != Daemon::None {
            network.start_miniupnpd(daemon == Daemon::Full);
        }
        Some(network)
    }

    fn links(&mut self) {
        fs::create_dir_all(&self.dir).expect("temporary directory");
        let (home, router, net) = (&self.home, &self.router, &self.net);
        for ns in [home, router, net] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "link", "add", "hl", "netns", home, "type", "veth", "peer", "name", "rl", "netns",
            router,
        ]);
        ip(&[
            "link", "add", "rw", "netns", router, "type", "veth", "peer", "name", "nw", "netns",
            net,
        ]);
        for (ns, dev, address) in [
            (home, "hl", "198.18.10.2/24"),
            (router, "rl", "198.18.10.1/24"),
            (router, "rw", "198.18.20.1/24"),
            (net, "nw", "198.18.20.2/24"),
            (net, "nw", "198.18.20.3/24"),
        ] {
            ip(&["-n", ns, "addr", "add", address, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        ip(&["-n", home, "route", "add", "default", "via", ROUTER_INSIDE]);
        self.exec(router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        let rules = self.dir.join("router.nft");
        fs::write(&rules, RULES).expect("write the router's rules");
        self.exec(router, &["nft", "-f", path(&rules)]);
    }

    /// stund on both of net's addresses, until its four sockets are open.
    fn start_stund(&mut self) {
        let args = ["stund", "-h", "198.18.20.2", "-a", "198.18.20.3"];
        let stund = self.spawn(&self.net.clone(), &args, Stdio::null());
        self.daemons.push(stund);
        let net = self.net.clone();
        wait_until("stund's sockets", || {
            let sockets = output(Command::new("ip").args(["netns", "exec", &net, "ss", "-Hlun"]));
            [
                "198.18.20.2:3478",
                "198.18.20.2:3479",
                "198.18.20.3:3478",
                "198.18.20.3:3479",
            ]
            .iter()
            .all(|socket| sockets.contains(socket))
        });
    }

    /// miniupnpd in the router, until STUN has shown it may forward and it listens.
    fn start_miniupnpd(&mut self, natpmp: bool) {
        let conf = self.dir.join("miniupnpd.conf");
        fs::write(&conf, miniupnpd_conf(natpmp)).expect("write miniupnpd's configuration");
        let pid_file = self.dir.join("miniupnpd.pid");
        let args = ["miniupnpd", "-d", "-f", path(&conf), "-P", path(&pid_file)];
        let mut miniupnpd = self.spawn(&self.router.clone(), &args, Stdio::piped());
        let log = lines_of(miniupnpd.stderr.take().expect("miniupnpd's stderr"));
        self.daemons.push(miniupnpd);
        let last = if natpmp {
            "Listening for NAT-PMP/PCP traffic"
        } else {
            "HTTP listening on port"
        };
        let mut seen = String::new();
        let mut enabled = false;
        let deadline = Instant::now() + TIMEOUT;
        while !(enabled && seen.contains(last)) {
            let wait = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(wait) {
                Ok(line) => {
                    enabled |= line.contains("Port forwarding is now enabled");
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => panic!("miniupnpd did not get ready:\n{seen}"),
            }
        }
    }

    /// `tete ARGS` in namespace `ns`, with `password` as TETE_PASSWORD and `input` on stdin.
    fn tete(&self, ns: &str, args: &[&str], password: Option<&str>, input: &[u8]) -> Tete {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", ns, TETE, "--no-chat"])
            .args(args);
        if let Some(password) = password {
            command.env("TETE_PASSWORD", password);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tete");
        let mut stdin = child.stdin.take().expect("tete's stdin");
        let input = input.to_vec();
        let writer = thread::spawn(move || {
            // A peer that ends early closes the pipe: its own status says why.
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().expect("tete's stdout");
        let reader = thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let stderr = lines_of(child.stderr.take().expect("tete's stderr"));
        Tete {
            child,
            stderr,
            said: Vec::new(),
            threads: Some((writer, reader)),
        }
    }

    /// The router's DNAT rules, as miniupnpd wrote them.
    fn rules(&self) -> String {
        let mut nft = Command::new("ip");
        nft.args([
            "netns",
            "exec",
            &self.router,
            "nft",
            "list",
            "chain",
            "inet",
            "nat",
        ])
        .arg("prerouting_miniupnpd");
        output(&mut nft)
    }

    /// Whether the router forwards `external` to home's `internal` port.
    fn forwards(&self, external: &str, internal: &str) -> bool {
        self.rules()
            .contains(&format!("dport {external} dnat ip to {HOME}:{internal}"))
    }

    /// How long the rule for `external` took to go, at most a second.
    fn rule_gone_within_a_second(&self, external: &str) -> Duration {
        let start = Instant::now();
        while self.rules().contains(&format!("dport {external} ")) {
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "the mapping of {external} is still there:\n{}",
                self.rules()
            );
            thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }

    fn spawn(&self, ns: &str, args: &[&str], stderr: Stdio) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("start {args:?}: {err}"))
    }

    fn exec(&self, ns: &str, args: &[&str]) {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]).args(args);
        output(&mut command);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        for ns in [&self.home, &self.router, &self.net] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Why this machine cannot build the network, if it cannot.
fn missing() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("the router test needs root (network namespaces)".into());
    }
    ["ip", "nft", "ss", "miniupnpd", "stund"]
        .into_iter()
        .find(|program| {
            !std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                .any(|dir| dir.join(program).is_file())
        })
        .map(|program| {
            format!("{program} is not installed (apt-get install nftables miniupnpd-nftables stun-server)")
        })
}

fn ip(args: &[&str]) {
    output(Command::new("ip").args(args));
}

/// What `command` printed; it must succeed.
fn output(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|err| panic!("run {command:?}: {err}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The lines `stream` gives, as they come, on a channel.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what}: not ready within {TIMEOUT:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A tete process in a namespace; killed if still running when dropped.
struct Tete {
    child: Child,
    stderr: Receiver<String>,
    /// What it has said on stderr so far.
    said: Vec<String>,
    threads: Option<(JoinHandle<()>, JoinHandle<Vec<u8>>)>,
}

impl Tete {
    /// The first line on stderr that contains `text`, within `limit`.
    fn line_with(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.said.iter().find(|line| line.contains(text)) {
                return line.clone();
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(wait) {
                Ok(line) => self.said.push(line),
                Err(_) => panic!(
                    "no line with {text:?} within {limit:?}; tete said {:?}",
                    self.said
                ),
            }
        }
    }

    /// Waits for the end, within `limit`: its status and stdout.
    fn finish(mut self, limit: Duration) -> (ExitStatus, Vec<u8>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for tete") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "tete still runs after {limit:?}; it said {:?}",
                self.said
            );
            thread::sleep(Duration::from_millis(10));
        };
        let (writer, reader) = self.threads.take().expect("tete's pipes");
        let _ = writer.join();
        (status, reader.join().expect("tete's stdout"))
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, signal).expect("signal tete");
    }
}

impl Drop for Tete {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address and port of the partner's command in the mapped listener's line.
fn partner_command(line: &str) -> (String, String) {
    let command = line
        .split("the partner runs: tete ")
        .nth(1)
        .unwrap_or_else(|| panic!("no command for the partner in {line:?}"));
    let words: Vec<&str> = command.split_whitespace().collect();
    match words[..] {
        [.., address, port] => (address.to_string(), port.to_string()),
        _ => panic!("no address and port in {line:?}"),
    }
}

/// The bytes of a pseudo-random file, the same for the same seed.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// A listener at home maps its port through PCP and says so within a few seconds; the router
/// then holds the DNAT rule, a partner on the internet gets in through it, and the rule is gone
/// within a second of the listener's end.
#[test]
fn a_mapped_listener_is_reached_from_the_internet_and_unmapped_at_its_end() {
    let Some(network) = Network::build(Daemon::Full) else {
        return;
    };
    let start = Instant::now();
    let mut home = network.tete(&network.home, &["-l", "--map-port", PORT], None, b"");
    let line = home.line_with("the partner runs", Duration::from_secs(5));
    eprintln!("mapped in {:?}: {line}", start.elapsed());
    let (address, external) = partner_command(&line);
    assert_eq!(address, PUBLIC, "{line}");
    assert!(line.contains("(PCP)"), "{line}");
    assert!(
        line.contains("anyone on the internet") && line.contains("(-P)"),
        "{line}"
    );
    assert!(network.forwards(&external, PORT), "{}", network.rules());

    let partner = network.tete(&network.net, &[PUBLIC, &external], None, b"hello\n");
    let (status, _) = partner.finish(TIMEOUT);
    assert!(status.success(), "partner: {status}");
    let (status, received) = home.finish(TIMEOUT);
    assert!(status.success(), "listener: {status}");
    assert_eq!(received, b"hello\n");
    eprintln!(
        "rule gone {:?} after the end",
        network.rule_gone_within_a_second(&external)
    );
}

/// With TETE_PASSWORD on both sides, the line gives the partner's command with -P (and no
/// warning), and 1 MiB arrives whole through the router.
#[test]
fn a_password_room_moves_a_mebibyte_through_the_router() {
    let Some(network) = Network::build(Daemon::Full) else {
        return;
    };
    let password = Some("correct horse battery staple");
    let mut home = network.tete(&network.home, &["-l", "--map-port", PORT], password, b"");
    let line = home.line_with("the partner runs", Duration::from_secs(5));
    assert!(
        line.ends_with(&format!("the partner runs: tete -P {PUBLIC} {PORT}")),
        "{line}"
    );
    assert!(!line.contains("anyone on the internet"), "{line}");

    let data = random_bytes(1024 * 1024);
    let partner = network.tete(&network.net, &[PUBLIC, PORT], password, &data);
    let (status, _) = partner.finish(TIMEOUT);
    assert!(status.success(), "partner: {status}");
    let (status, received) = home.finish(TIMEOUT);
    assert!(status.success(), "listener: {status}");
    assert!(
        received == data,
        "{} bytes of {} arrived, or different ones",
        received.len(),
        data.len()
    );
    network.rule_gone_within_a_second(PORT);
}

/// SIGINT, SIGTERM and SIGHUP each end a waiting mapped listener within 5 s, by that signal,
/// and its mapping goes; so does an error exit (`-w` running out).
#[test]
fn signals_and_errors_end_a_mapped_listener_and_remove_its_mapping() {
    use rustix::process::Signal;
    let Some(network) = Network::build(Daemon::Full) else {
        return;
    };
    for (signal, number) in [
        (Signal::INT, libc::SIGINT),
        (Signal::TERM, libc::SIGTERM),
        (Signal::HUP, libc::SIGHUP),
    ] {
        let mut home = network.tete(&network.home, &["-l", "--map-port", PORT], None, b"");
        home.line_with("the partner runs", Duration::from_secs(5));
        assert!(network.forwards(PORT, PORT), "{}", network.rules());
        let start = Instant::now();
        home.signal(signal);
        let (status, _) = home.finish(Duration::from_secs(5));
        assert_eq!(status.signal(), Some(number), "{status}");
        let gone = network.rule_gone_within_a_second(PORT);
        eprintln!(
            "signal {number}: ended in {:?}, rule gone {gone:?} later",
            start.elapsed()
        );
    }
    let args = ["-l", "-w", "1", "--map-port", PORT];
    let mut home = network.tete(&network.home, &args, None, b"");
    home.line_with("the partner runs", Duration::from_secs(5));
    let (status, _) = home.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "{status}");
    network.rule_gone_within_a_second(PORT);
}

/// The UPnP IGD path: with PCP and NAT-PMP off, SSDP and SOAP map the port.
#[test]
fn upnp_igd_maps_the_port_when_pcp_and_nat_pmp_are_off() {
    let Some(network) = Network::build(Daemon::UpnpOnly) else {
        return;
    };
    let args = ["-k", "-l", "--map-port", PORT];
    let mut home = network.tete(&network.home, &args, None, b"");
    let line = home.line_with("the partner runs", Duration::from_secs(5));
    assert!(
        line.contains("(UPnP IGD)") && line.contains(&format!("{PUBLIC} {PORT}")),
        "{line}"
    );
    assert!(network.forwards(PORT, PORT), "{}", network.rules());
    let partner = network.tete(&network.net, &[PUBLIC, PORT], None, b"through upnp\n");
    let (status, _) = partner.finish(TIMEOUT);
    assert!(status.success(), "partner: {status}");
    // -k: still listening, still mapped, until told to stop.
    assert!(network.forwards(PORT, PORT), "{}", network.rules());
    home.signal(rustix::process::Signal::TERM);
    let (_, received) = home.finish(Duration::from_secs(5));
    assert_eq!(received, b"through upnp\n");
    network.rule_gone_within_a_second(PORT);
}

/// With nothing in the router answering, one line says so within 6 s, and a partner on the LAN
/// still gets in.
#[test]
fn with_no_router_answering_the_lan_still_gets_in() {
    let Some(network) = Network::build(Daemon::None) else {
        return;
    };
    let start = Instant::now();
    let mut home = network.tete(&network.home, &["-l", "--map-port", PORT], None, b"");
    let line = home.line_with("no router answered", Duration::from_secs(6));
    eprintln!("said in {:?}: {line}", start.elapsed());
    assert!(line.contains("listening for the LAN only"), "{line}");
    let partner = network.tete(&network.router, &[HOME, PORT], None, b"from the lan\n");
    let (status, _) = partner.finish(TIMEOUT);
    assert!(status.success(), "partner: {status}");
    let (status, received) = home.finish(TIMEOUT);
    assert!(status.success(), "listener: {status}");
    assert_eq!(received, b"from the lan\n");
}
