//! `--map-port` against a real home router, in network namespaces (harness::netns): home
//! (198.18.10.2, its default route through the router), the router (198.18.10.1 toward home,
//! 198.18.20.1 outside; IP forwarding, nftables NAT, and miniupnpd, Debian's
//! miniupnpd-nftables, which speaks PCP, NAT-PMP and UPnP IGD), and the internet (198.18.20.2
//! and .3, with a STUN server, stund: miniupnpd forwards on a reserved outside address only once
//! STUN has shown that the router is not itself behind a restrictive NAT).
//!
//! Root only; elsewhere each test says that it skipped (and fails instead under
//! `TETE_REQUIRE_PEERS=1`, as in CI). Each test builds a network of its own, removed with every
//! process in it when the test ends, however it ends.

use std::net::Ipv4Addr;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::harness::*;

const HOME: Ipv4Addr = Ipv4Addr::new(198, 18, 10, 2);
const PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 20, 1);
const STUN: Ipv4Addr = Ipv4Addr::new(198, 18, 20, 2);
const STUN_OTHER: Ipv4Addr = Ipv4Addr::new(198, 18, 20, 3);
/// The port asked for; in hosts of the test's own, nothing else can hold it.
const PORT: &str = "51423";
/// How soon the mapped listener's line must come: "within a few seconds".
const MAPPED_WITHIN: Duration = Duration::from_secs(5);

/// What the router runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    /// Nothing: no router answers.
    Nothing,
    /// miniupnpd with PCP and NAT-PMP (and UPnP IGD).
    Miniupnpd,
    /// miniupnpd with UPnP IGD only.
    UpnpOnly,
}

/// The router's nftables, for its inside and outside interfaces: NAT, and the empty chains
/// miniupnpd fills.
fn router_rules(inside: &str, outside: &str) -> String {
    format!(
        "table inet filter {{
  chain miniupnpd {{
  }}
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname \"{inside}\" oifname \"{outside}\" accept
    jump miniupnpd
  }}
}}
table inet nat {{
  chain prerouting_miniupnpd {{
  }}
  chain postrouting_miniupnpd {{
  }}
  chain prerouting {{
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname \"{outside}\" masquerade
  }}
}}
"
    )
}

/// miniupnpd's configuration. `min_lifetime=2`: the router grants PCP mappings as short as 2 s
/// (its default minimum is 120 s), for the renewal test's TETE_TEST_MAP_LIFETIME; tete asks
/// for 600 s otherwise.
fn miniupnpd_conf(inside: &str, outside: &str, natpmp: bool) -> String {
    let natpmp = if natpmp { "yes" } else { "no" };
    format!(
        "ext_ifname={outside}\nlistening_ip={inside}\nenable_natpmp={natpmp}\nenable_upnp=yes\n\
         secure_mode=yes\nsystem_uptime=yes\nuuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n\
         upnp_table_name=filter\nupnp_nat_table_name=nat\nupnp_forward_chain=miniupnpd\n\
         upnp_nat_chain=prerouting_miniupnpd\nupnp_nat_postrouting_chain=postrouting_miniupnpd\n\
         ext_perform_stun=yes\next_stun_host={STUN}\next_stun_port=3478\nmin_lifetime=2\n\
         allow 1024-65535 198.18.10.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n"
    )
}

/// Home, the router and the internet, with the router's daemons running and ready.
struct Network {
    home: Host,
    router: Host,
    internet: Host,
    /// miniupnpd, if the router runs it (its log says what the router did).
    miniupnpd: Option<Process>,
    _stund: Option<Process>,
    /// nftables' `nft`, to read the router's rules.
    nft: String,
    dir: TempDir,
    /// Last: its namespaces go after the processes in them.
    _net: Net,
}

impl Network {
    /// The network with `daemon` in the router; `None` after [`skip`] where it cannot be built.
    fn build(daemon: Daemon) -> Option<Network> {
        let mut net = Net::or_skip()?;
        let nft = program_or_skip("nft", "nftables")?;
        let programs = match daemon {
            Daemon::Nothing => None,
            Daemon::Miniupnpd | Daemon::UpnpOnly => Some((
                program_or_skip("miniupnpd", "miniupnpd-nftables")?,
                program_or_skip("stund", "stun-server")?,
            )),
        };
        let dir = TempDir::new("portmap");
        let (home, router, internet) = (net.host("home"), net.host("router"), net.host("internet"));
        let lan = net.link_on(&router, &home, 10);
        let wan = net.link_on(&router, &internet, 20);
        assert_eq!((lan.b.ipv4, wan.a.ipv4), (HOME, PUBLIC));
        wan.b.add_address(STUN_OTHER);
        home.default_route_via(lan.a.ipv4);
        router.run("sh", &["-c", "echo 1 >/proc/sys/net/ipv4/ip_forward"]);
        let (inside, outside) = (lan.a.device.as_str(), wan.a.device.as_str());
        let rules = dir.file("router.nft", router_rules(inside, outside).as_bytes());
        router.run(path(&nft), &["-f", path(&rules)]);
        let nft = path(&nft).to_string();
        let mut network = Network {
            home,
            router,
            internet,
            miniupnpd: None,
            _stund: None,
            nft,
            dir,
            _net: net,
        };
        if let Some((miniupnpd, stund)) = programs {
            network.start_stund(&stund);
            let natpmp = daemon == Daemon::Miniupnpd;
            network.start_miniupnpd(&miniupnpd, miniupnpd_conf(inside, outside, natpmp));
        }
        Some(network)
    }

    /// stund on both of the internet's addresses, until its four sockets are open.
    fn start_stund(&mut self, stund: &std::path::Path) {
        let (stun, other) = (STUN.to_string(), STUN_OTHER.to_string());
        let command = [path(stund), "-h", &stun, "-a", &other];
        let mut stund = self.internet.spawn(&self.dir, &command, None);
        let sockets = [
            format!("{stun}:3478"),
            format!("{stun}:3479"),
            format!("{other}:3478"),
            format!("{other}:3479"),
        ];
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let open = self.internet.run("ss", &["-Hlun"]);
            if sockets.iter().all(|socket| open.contains(socket.as_str())) {
                break;
            }
            stund.assert_running();
            assert!(Instant::now() < deadline, "stund's sockets: {open}");
            thread::sleep(Duration::from_millis(10));
        }
        self._stund = Some(stund);
    }

    /// miniupnpd in the router, until STUN has shown that it may forward, and it listens.
    fn start_miniupnpd(&mut self, miniupnpd: &std::path::Path, conf: String) {
        let natpmp = conf.contains("enable_natpmp=yes");
        let conf = self.dir.file("miniupnpd.conf", conf.as_bytes());
        let pid_file = self.dir.join("miniupnpd.pid");
        let command = [
            path(miniupnpd),
            "-d",
            "-f",
            path(&conf),
            "-P",
            path(&pid_file),
        ];
        let mut miniupnpd = self.router.spawn(&self.dir, &command, None);
        miniupnpd.wait_for_log("Port forwarding is now enabled");
        miniupnpd.wait_for_log(if natpmp {
            "Listening for NAT-PMP/PCP traffic"
        } else {
            "HTTP listening on port"
        });
        self.miniupnpd = Some(miniupnpd);
    }

    /// The router's DNAT rules, as miniupnpd wrote them.
    fn rules(&self) -> String {
        let chain = ["list", "chain", "inet", "nat", "prerouting_miniupnpd"];
        self.router.run(&self.nft, &chain)
    }

    /// Whether the router forwards its port `external` to home's port `internal`.
    fn forwards(&self, external: &str, internal: &str) -> bool {
        self.rules()
            .contains(&format!("dport {external} dnat ip to {HOME}:{internal}"))
    }

    /// How long the router's rule for `external` takes to go, failing after `limit`.
    #[track_caller]
    fn rule_gone_within(&self, external: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.rules().contains(&format!("dport {external} ")) {
            assert!(
                start.elapsed() < limit,
                "the mapping of {external} is still there after {limit:?}:\n{}",
                self.rules()
            );
            thread::sleep(Duration::from_millis(10));
        }
        start.elapsed()
    }

    /// How many mappings miniupnpd has made by PCP so far (a renewal is one more).
    fn pcp_mappings_made(&self) -> usize {
        let log = self
            .miniupnpd
            .as_ref()
            .map(Process::log)
            .unwrap_or_default();
        log.matches("PCP MAP: added mapping").count()
    }
}

/// How soon the line that says the router is being asked must come: at once.
const ASKING_WITHIN: Duration = Duration::from_secs(1);

/// `tete` (at home, waiting for a partner) started, its line that it asks the router read
/// within [`ASKING_WITHIN`], then its line about the router's answer, the one holding `said`:
/// within `limit` of the start, or the test fails.
#[track_caller]
fn listen(tete: Tete, said: &str, limit: Duration) -> (Running, String) {
    let started = Instant::now();
    let mut home = tete.spawn();
    let asking = home.wait_for_stderr("asking the router at 198.18.10.1 to forward port");
    assert!(
        started.elapsed() < ASKING_WITHIN,
        "{:?}: {asking}",
        started.elapsed()
    );
    let line = home.wait_for_stderr(said);
    let took = started.elapsed();
    eprintln!("{said:?} after {took:?}: {line}");
    assert!(took < limit, "{took:?} (more than {limit:?}): {line}");
    (home, line)
}

fn path(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The address and port of the partner's command in the mapped listener's line.
#[track_caller]
fn partner_command(line: &str) -> (String, String) {
    let command = line
        .split("the partner runs: tete ")
        .nth(1)
        .unwrap_or_else(|| panic!("no command for the partner in {line:?}"));
    match command.split_whitespace().collect::<Vec<_>>()[..] {
        [.., address, port] => (address.to_string(), port.to_string()),
        _ => panic!("no address and port in {line:?}"),
    }
}

/// Each scenario below, on a network and router of its own, all at once: they spend their time
/// waiting (for the router's STUN, for lifetimes to pass), not working.
/// (A test of main.rs runs it, beside the other longest waits.)
pub(crate) fn a_home_router_forwards_a_port_while_tete_listens() {
    at_once(&[
        &a_mapped_listener_is_reached_from_the_internet_and_unmapped_at_its_end,
        &a_password_room_moves_a_mebibyte_through_the_router,
        &signals_and_errors_end_a_mapped_listener_and_remove_its_mapping,
        &upnp_igd_maps_the_port_when_pcp_and_nat_pmp_are_off,
        &with_no_router_answering_the_lan_still_gets_in,
        &while_the_router_is_asked_tete_serves_the_lan_and_heeds_signals,
        &the_router_renews_the_mapping_while_tete_listens,
    ]);
}

/// A listener at home maps its port through PCP and says so within a few seconds; the router
/// then holds the DNAT rule, a partner on the internet gets in through it, and the rule is gone
/// within a second of the listener's end.
fn a_mapped_listener_is_reached_from_the_internet_and_unmapped_at_its_end() {
    let Some(network) = Network::build(Daemon::Miniupnpd) else {
        return;
    };
    let listener = network.home.tete(["-l", "--map-port", PORT]);
    let (home, line) = listen(listener, "the partner runs", MAPPED_WITHIN);
    let (address, external) = partner_command(&line);
    assert_eq!(address, PUBLIC.to_string(), "{line}");
    assert!(line.contains("(PCP)"), "{line}");
    assert!(
        line.contains("anyone on the internet") && line.contains("(-P)"),
        "{line}"
    );
    assert!(network.forwards(&external, PORT), "{}", network.rules());

    let partner = network
        .internet
        .tete([PUBLIC.to_string(), external.clone()]);
    let partner = partner.stdin(Input::Bytes(b"hello\n".to_vec())).run();
    partner.assert_success();
    let home = home.wait();
    home.assert_success();
    assert_eq!(home.stdout, b"hello\n");
    let gone = network.rule_gone_within(&external, Duration::from_secs(1));
    eprintln!("the rule gone {gone:?} after the listener's end");
}

/// With TETE_PASSWORD on both sides, the line gives the partner's command with -P (and no
/// warning), and 1 MiB arrives whole through the router.
fn a_password_room_moves_a_mebibyte_through_the_router() {
    let Some(network) = Network::build(Daemon::Miniupnpd) else {
        return;
    };
    let password = "correct horse battery staple";
    let listener = network.home.tete(["-l", "--map-port", PORT]);
    let listener = listener.password(password);
    let (home, line) = listen(listener, "the partner runs", MAPPED_WITHIN);
    assert!(
        line.ends_with(&format!("the partner runs: tete -P {PUBLIC} {PORT}")),
        "{line}"
    );
    assert!(!line.contains("anyone on the internet"), "{line}");

    let (file, data) = network.dir.random_file("data", MIB, 20);
    let partner = network.internet.tete([PUBLIC.to_string().as_str(), PORT]);
    let partner = partner.password(password).stdin(Input::File(file)).run();
    partner.assert_success();
    let home = home.wait();
    home.assert_success();
    assert_bytes_eq("what came through the router", &data, &home.stdout);
    network.rule_gone_within(PORT, Duration::from_secs(1));
}

/// SIGINT, SIGTERM and SIGHUP each end a waiting mapped listener within 5 s, by that signal,
/// and its mapping goes within a second; so does an error's exit (`-w` running out).
fn signals_and_errors_end_a_mapped_listener_and_remove_its_mapping() {
    let Some(network) = Network::build(Daemon::Miniupnpd) else {
        return;
    };
    for signal in [Signal::INT, Signal::TERM, Signal::HUP] {
        let listener = network.home.tete(["-l", "--map-port", PORT]);
        let (home, _) = listen(listener, "the partner runs", MAPPED_WITHIN);
        assert!(network.forwards(PORT, PORT), "{}", network.rules());
        let start = Instant::now();
        home.signal(signal);
        home.wait_within(Duration::from_secs(5))
            .assert_signal(signal);
        let ended = start.elapsed();
        let gone = network.rule_gone_within(PORT, Duration::from_secs(1));
        eprintln!("{signal:?}: ended {ended:?} after it, the rule gone {gone:?} later");
    }
    let listener = network.home.tete(["-l", "-w", "1", "--map-port", PORT]);
    let (home, _) = listen(listener, "the partner runs", MAPPED_WITHIN);
    home.wait_within(Duration::from_secs(5)).assert_code(1);
    network.rule_gone_within(PORT, Duration::from_secs(1));
}

/// The UPnP IGD path: with PCP and NAT-PMP off, SSDP and SOAP map the port; with -k it stays
/// mapped after a partner has been served, until tete is told to stop.
fn upnp_igd_maps_the_port_when_pcp_and_nat_pmp_are_off() {
    let Some(network) = Network::build(Daemon::UpnpOnly) else {
        return;
    };
    let listener = network.home.tete(["-k", "-l", "--map-port", PORT]);
    let (home, line) = listen(listener, "the partner runs", MAPPED_WITHIN);
    assert!(
        line.contains("(UPnP IGD)") && line.contains(&format!("{PUBLIC} {PORT}")),
        "{line}"
    );
    assert!(network.forwards(PORT, PORT), "{}", network.rules());
    let partner = network.internet.tete([PUBLIC.to_string().as_str(), PORT]);
    let partner = partner.stdin(Input::Bytes(b"through upnp\n".to_vec()));
    partner.run().assert_success();
    assert!(network.forwards(PORT, PORT), "{}", network.rules());
    home.signal(Signal::TERM);
    let home = home.wait_within(Duration::from_secs(5));
    home.assert_signal(Signal::TERM);
    assert_eq!(home.stdout, b"through upnp\n");
    network.rule_gone_within(PORT, Duration::from_secs(1));
}

/// With nothing in the router answering, one line says so within 6 s, and a partner on the LAN
/// still gets in.
fn with_no_router_answering_the_lan_still_gets_in() {
    let Some(network) = Network::build(Daemon::Nothing) else {
        return;
    };
    let listener = network.home.tete(["-l", "--map-port", PORT]);
    let (home, line) = listen(listener, "no router answered", Duration::from_secs(6));
    assert!(line.contains("listening for the LAN only"), "{line}");
    assert!(line.contains("forward the port there by hand"), "{line}");
    let partner = network.router.tete([HOME.to_string().as_str(), PORT]);
    let partner = partner.stdin(Input::Bytes(b"from the lan\n".to_vec()));
    partner.run().assert_success();
    let home = home.wait();
    home.assert_success();
    assert_eq!(home.stdout, b"from the lan\n");
}

/// With a router that never answers (3 s of asking), the listener is at work from the start:
/// a LAN partner is served at once, SIGINT, SIGTERM and SIGHUP end tete at once, `-w` counts
/// its own time, and in chat mode the chat screen shows the line and Ctrl-C ends tete at once.
/// A listener on loopback only is not mapped, and the line says why.
fn while_the_router_is_asked_tete_serves_the_lan_and_heeds_signals() {
    let Some(network) = Network::build(Daemon::Nothing) else {
        return;
    };
    let asking = "asking the router";
    let start = Instant::now();
    let mut home = network.home.tete(["-l", "--map-port", PORT]).spawn();
    home.wait_for_stderr(asking);
    let partner = network.router.tete([HOME.to_string().as_str(), PORT]);
    let partner = partner.stdin(Input::Bytes(b"at once\n".to_vec()));
    partner.run().assert_success();
    let home = home.wait_within(Duration::from_secs(5));
    let served = start.elapsed();
    eprintln!("served the LAN {served:?} after the start");
    home.assert_success();
    assert_eq!(home.stdout, b"at once\n");
    assert!(served < Duration::from_millis(2500), "{served:?}");

    for signal in [Signal::INT, Signal::TERM, Signal::HUP] {
        let mut home = network.home.tete(["-l", "--map-port", PORT]).spawn();
        home.wait_for_stderr(asking);
        let start = Instant::now();
        home.signal(signal);
        home.wait_within(Duration::from_secs(5))
            .assert_signal(signal);
        let ended = start.elapsed();
        eprintln!("{signal:?} while asking: ended {ended:?} after it");
        assert!(ended < Duration::from_millis(500), "{signal:?}: {ended:?}");
    }

    let start = Instant::now();
    let home = network.home.tete(["-l", "-w", "2", "--map-port", PORT]);
    let home = home.run();
    let gave_up = start.elapsed();
    home.assert_code(1);
    assert!(
        home.stderr.contains("no peer connected within 2 s"),
        "{}",
        home.stderr
    );
    eprintln!("-w 2 while asking: gave up after {gave_up:?}");
    assert!(gave_up < Duration::from_millis(2800), "{gave_up:?}");

    let pty = Pty::open();
    let start = Instant::now();
    let home = network.home.tete(["-l", "--map-port", PORT]);
    let home = home
        .stdin(Input::Fd(pty.slave_fd()))
        .stdout(Output::Fd(pty.slave_fd()))
        .stderr(Output::Fd(pty.slave_fd()))
        .controlling_terminal()
        .spawn();
    pty.wait_for_output(asking);
    assert!(start.elapsed() < ASKING_WITHIN, "{:?}", start.elapsed());
    let start = Instant::now();
    pty.type_bytes(&[0x03]);
    home.wait_within(Duration::from_secs(5))
        .assert_signal(Signal::INT);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );

    let mut home = network
        .home
        .tete(["-l", "127.0.0.1", "--map-port", PORT])
        .spawn();
    let line = home.wait_for_stderr("was not asked");
    assert!(
        line.contains("it would forward to 198.18.10.2, and tete listens on 127.0.0.1 only"),
        "{line}"
    );
    home.signal(Signal::TERM);
    home.wait_within(Duration::from_secs(5))
        .assert_signal(Signal::TERM);
}

/// The mapping lives as long as tete: asked for 3 s at a time (TETE_TEST_MAP_LIFETIME), it is
/// renewed by the real router again and again, still there and still forwarding after two
/// lifetimes; once tete is killed (no renewal, no removal), the router lets it lapse within its
/// lifetime, which shows that the renewals were what kept it.
fn the_router_renews_the_mapping_while_tete_listens() {
    const LIFETIME: Duration = Duration::from_secs(3);
    let Some(network) = Network::build(Daemon::Miniupnpd) else {
        return;
    };
    let listener = network.home.tete(["-k", "-l", "--map-port", PORT]);
    let listener = listener.env("TETE_TEST_MAP_LIFETIME", LIFETIME.as_secs().to_string());
    let (mut home, line) = listen(listener, "the partner runs", MAPPED_WITHIN);
    let mapped = Instant::now();
    assert!(line.contains("(PCP)"), "{line}");
    assert_eq!(network.pcp_mappings_made(), 1);

    // Two lifetimes, watching the router's log for each renewal as it comes.
    let mut renewals = Vec::new();
    while mapped.elapsed() < 2 * LIFETIME {
        if network.pcp_mappings_made() > renewals.len() + 1 {
            renewals.push(mapped.elapsed());
        }
        home.assert_running("listening");
        thread::sleep(Duration::from_millis(10));
    }
    eprintln!("renewed by the router after {renewals:?}");
    assert!(renewals.len() >= 3, "renewals after {renewals:?}");
    assert!(network.forwards(PORT, PORT), "{}", network.rules());
    let partner = network.internet.tete([PUBLIC.to_string().as_str(), PORT]);
    let partner = partner.stdin(Input::Bytes(b"after two lifetimes\n".to_vec()));
    partner.run().assert_success();
    let said = home.stderr_so_far();
    assert_eq!(
        said.lines().count(),
        2,
        "only the mapping's lines: {said:?}"
    );

    home.signal(Signal::KILL);
    let killed = Instant::now();
    let home = home.wait();
    let lapsed = network.rule_gone_within(PORT, LIFETIME + Duration::from_secs(2));
    let lapsed_at = killed.duration_since(mapped) + lapsed;
    eprintln!("killed: the rule lapsed {lapsed:?} later ({lapsed_at:?} after the mapping)");
    // A lifetime from the last renewal seen, give or take: the router counts whole seconds
    // (up to one early), the renewal was seen up to a poll late.
    let last = renewals.last().copied().unwrap_or_default();
    let slack = Duration::from_millis(1500);
    assert!(lapsed_at + slack >= last + LIFETIME, "{lapsed_at:?}");
    home.assert_signal(Signal::KILL);
    assert_eq!(home.stdout, b"after two lifetimes\n");
}
