//! tete on real links: hosts in network namespaces joined by veth pairs (harness::netns), where
//! a link has a rate, can go down, and loses packets as real networks do. Root only (CI runs as
//! root); elsewhere each test says why it skips.

use std::time::{Duration, Instant};

use crate::harness::*;

/// 4 MiB across a 50 Mbit/s link (about 0.7 s of line time), tete to tete over IPv4: whole,
/// both ends exit 0, and no faster than the link allows (so the rate is in force). Then the
/// receiver's end of the link goes down, and a connection to it cannot be made; once it is up
/// again, 1 MiB crosses it over IPv6 into OpenBSD nc, whole.
#[test]
fn a_slow_link_carries_a_transfer_whole() {
    let Some(mut net) = Net::or_skip() else {
        return;
    };
    let sender = net.host("sender");
    let receiver = net.host("receiver");
    let link = net.link(&sender, &receiver);
    link.rate_mbit(50);
    let dir = TempDir::new("slow-link");

    let (file, data) = dir.random_file("data", 4 * MIB, 500);
    let listen = link.b.ipv4.to_string();
    let (listener, addr) = spawn_listening(
        receiver
            .tete(["-v", "-l", listen.as_str(), "0"])
            .stdin(Input::Null),
    );
    let started = Instant::now();
    let client = sender
        .tete([listen.as_str(), &addr.port().to_string()])
        .stdin(Input::File(file))
        .run();
    let listener = listener.wait();
    let took = started.elapsed();
    client.assert_success().assert_quiet();
    listener.assert_success();
    assert_bytes_eq("what crossed the link", &data, &listener.stdout);
    // 4 MiB at 50 Mbit/s is 0.67 s; the tbf's 64 KiB burst and the end's quiet second aside.
    assert!(
        took >= Duration::from_millis(550),
        "4 MiB crossed a 50 Mbit/s link in {took:?}: the rate is not in force"
    );

    link.b.down();
    let closed = free_port().to_string();
    let unreachable = sender
        .tete(["-z", "-w", "0.5", listen.as_str(), closed.as_str()])
        .run();
    unreachable.assert_code(1);
    link.b.up();

    // Another program in a host: OpenBSD nc receives (a port of the harness's: nothing else
    // runs in a host of the test's own).
    let Some(nc) = openbsd_nc_or_skip() else {
        return;
    };
    let (file, data) = dir.random_file("data6", MIB, 501);
    let (listen, port) = (link.b.ipv6.to_string(), free_port());
    let out = dir.join("received6");
    let (nc, port_arg) = (nc.to_str().expect("a UTF-8 path"), port.to_string());
    let mut nc = receiver.spawn(&dir, &[nc, "-l", &listen, &port_arg], Some(&out));
    receiver.wait_listening_on(&mut nc, port);
    sender
        .tete([listen.as_str(), port_arg.as_str()])
        .stdin(Input::File(file))
        .run()
        .assert_success()
        .assert_quiet();
    nc.wait_success();
    assert_bytes_eq("what crossed the link over IPv6", &data, &dir.read(&out));
}
