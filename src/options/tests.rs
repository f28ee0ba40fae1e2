use super::values::service_port;
use super::*;

fn parse_args(args: &[&str], env_password: Option<&str>) -> Result<Command, Error> {
    let env = Environment {
        password: env_password.map(|p| Password::from(p.as_bytes())),
        ..Environment::default()
    };
    parse(args, env)
}

fn run(args: &[&str]) -> Result<Config, Error> {
    match parse_args(args, None)? {
        Command::Run(config) => Ok(config),
        other => panic!("expected a run, got {other:?}"),
    }
}

fn probe_of(args: &[&str], env_password: Option<&str>) -> Result<Probe, Error> {
    match parse_args(args, env_password)? {
        Command::Probe(probe) => Ok(probe),
        other => panic!("expected a probe, got {other:?}"),
    }
}

/// The message of the usage error `args` give.
#[track_caller]
fn usage_message(args: &[&str]) -> String {
    match parse_args(args, None) {
        Err(Error::Usage(message)) => message,
        other => panic!("{args:?}: expected a usage error, got {other:?}"),
    }
}

#[test]
fn listen_forms_agree() {
    let expected = Mode::Listen {
        address: None,
        port: 9000,
        keep_open: false,
        map_port: None,
    };
    assert_eq!(run(&["-l", "9000"]).unwrap().mode, expected);
    assert_eq!(run(&["-l", "-p", "9000"]).unwrap().mode, expected);
    let on_loopback = Mode::Listen {
        address: Some("::1".into()),
        port: 9000,
        keep_open: true,
        map_port: None,
    };
    assert_eq!(run(&["-k", "-l", "::1", "9000"]).unwrap().mode, on_loopback);
    assert_eq!(
        run(&["-k", "-l", "-s", "::1", "-p", "9000"]).unwrap().mode,
        on_loopback
    );
    assert!(run(&["-k", "-l", "9000"]).unwrap().keep_open());
}

#[test]
fn connect_takes_its_source() {
    let config = run(&["-s", "127.0.0.1", "-p", "4000", "h", "80"]).unwrap();
    assert_eq!(
        config.mode,
        Mode::Connect {
            host: "h".into(),
            port: 80,
            source: Source {
                address: Some("127.0.0.1".into()),
                port: Some(4000),
            },
            proxy: None,
        }
    );
    assert!(!config.keep_open());
}

#[test]
fn listen_on_port_zero_lets_the_system_pick() {
    let config = run(&["-l", "0"]).unwrap();
    assert!(matches!(config.mode, Mode::Listen { port: 0, .. }));
    assert!(usage_message(&["h", "0"]).contains("from 1 to 65535"));
}

#[test]
fn a_second_number_is_a_second_port_not_an_address() {
    for args in [
        &["-l", "-p", "52282", "52283"][..],
        &["-l", "-p", "1", "h", "2"],
    ] {
        assert!(
            usage_message(args).contains("more than one port"),
            "{args:?}"
        );
    }
    // A name is still the address to listen on.
    let config = run(&["-l", "-p", "52282", "localhost"]).unwrap();
    assert_eq!(
        config.mode,
        Mode::Listen {
            address: Some("localhost".into()),
            port: 52282,
            keep_open: false,
            map_port: None,
        }
    );
}

/// `--map-port PORT` is the router's port; the port to listen on is the operand or `-p`
/// (0: the system's pick), and PORT itself when neither is given.
#[test]
fn map_port_is_the_routers_port_and_the_listening_port_by_default() {
    let listen = |port, map_port, keep_open| Mode::Listen {
        address: None,
        port,
        keep_open,
        map_port,
    };
    let cases = [
        (
            &["-l", "--map-port", "51423"][..],
            listen(51423, Some(51423), false),
        ),
        (
            &["-k", "-l", "--map-port=51423"],
            listen(51423, Some(51423), true),
        ),
        (
            &["-l", "0", "--map-port", "51423"],
            listen(0, Some(51423), false),
        ),
        (
            &["-l", "-p", "5000", "--map-port", "51423"],
            listen(5000, Some(51423), false),
        ),
    ];
    for (args, mode) in cases {
        assert_eq!(run(args).unwrap().mode, mode, "{args:?}");
    }
    // An address alone: that address, and the router's port (not "unknown port").
    let on_address = run(&["-l", "127.0.0.1", "--map-port", "51423"]).unwrap();
    let mode = Mode::Listen {
        address: Some("127.0.0.1".to_string()),
        port: 51423,
        keep_open: false,
        map_port: Some(51423),
    };
    assert_eq!(on_address.mode, mode);
    assert!(matches!(
        run(&["-P", "-l", "--map-port", "51423"]).unwrap().password,
        PasswordSource::Prompt
    ));
    for (args, said) in [
        (&["--map-port", "51423", "h", "1"][..], "only works with -l"),
        (&["-l", "--map-port", "0"], "--map-port invalid port '0'"),
        (
            &["-l", "--map-port", "65536"],
            "the port the partner connects to",
        ),
        (
            &["-l", "--map-port", "no-such-service"],
            "--map-port unknown port",
        ),
        (
            &["-6", "-l", "--map-port", "51423"],
            "does not work with -6",
        ),
        (
            &["-l", "--map-port", "1", "--map-port", "2"],
            "given more than once",
        ),
        (
            &["-z", "--map-port", "1", "h", "1"],
            "--map-port has no meaning",
        ),
        (&["-l", "--map-port"], "--map-port needs a value"),
    ] {
        let message = usage_message(args);
        assert!(message.contains(said), "{args:?}: {message}");
    }
}

#[test]
fn services_are_looked_up_by_name_and_alias() {
    let services = "# comment\n\
                    ftp\t\t21/tcp\n\
                    http\t\t80/tcp\t\twww\t# WorldWideWeb HTTP\n\
                    domain\t\t53/udp\n\
                    domain\t\t53/tcp\n\
                    \n\
                    kerberos-adm\t749/tcp\n";
    assert_eq!(service_port(services, "http"), Some(80));
    assert_eq!(service_port(services, "www"), Some(80));
    assert_eq!(service_port(services, "domain"), Some(53));
    assert_eq!(service_port(services, "kerberos-adm"), Some(749));
    assert_eq!(service_port(services, "WorldWideWeb"), None);
    assert_eq!(service_port(services, "gopher"), None);
    assert_eq!(service_port(services, "21/tcp"), None);
}

#[test]
fn unknown_service_is_a_usage_error() {
    let message = usage_message(&["h", "no-such-service"]);
    assert!(
        message.contains("unknown port 'no-such-service'"),
        "{message}"
    );
}

#[test]
fn ranges_only_for_probes() {
    let probe = probe_of(&["-z", "h", "20-25"], None).unwrap();
    assert_eq!(probe.ports, [20..=25]);
    assert_eq!(probe_of(&["-z", "h", "22"], None).unwrap().ports, [22..=22]);
    assert!(usage_message(&["h", "20-25"]).contains("only work with -z"));
    assert!(usage_message(&["-z", "h", "25-20"]).contains("above the last"));
    assert!(usage_message(&["-z", "h", "0-20"]).contains("from 1 to 65535"));
    assert!(usage_message(&["-z", "h", "20-70000"]).contains("70000"));
}

#[test]
fn probe_keeps_what_probing_needs() {
    let probe = probe_of(
        &[
            "-z",
            "-v",
            "-n",
            "-4",
            "-w",
            "2",
            "-s",
            "127.0.0.1",
            "-p",
            "5000",
            "h",
            "1-2",
        ],
        None,
    )
    .unwrap();
    assert_eq!(
        probe,
        Probe {
            host: "h".into(),
            ports: vec![1..=2],
            source: Source {
                address: Some("127.0.0.1".into()),
                port: Some(5000)
            },
            family: Family::V4,
            numeric: true,
            verbose: true,
            wait: Some(Duration::from_secs(2)),
        }
    );
}

#[test]
fn probe_ignores_an_exported_password_but_refuses_an_explicit_one() {
    assert!(probe_of(&["-z", "h", "1"], Some("secret")).is_ok());
    assert!(probe_of(&["-z", "h", "1"], Some("")).is_ok());
    for args in [
        &["-z", "-P", "h", "1"][..],
        &["-z", "--password-file", "f", "h", "1"],
    ] {
        assert!(usage_message(args).contains("no password"), "{args:?}");
    }
}

#[test]
fn probe_refuses_session_options() {
    for (option, name) in [
        (&["-k"][..], "-k"),
        (&["-i", "1"], "-i"),
        (&["-q", "1"], "-q"),
        (&["-d"], "-d"),
        (&["--send-only"], "--send-only"),
        (&["--no-shutdown"], "--no-shutdown"),
        (&["-C"], "-C"),
        (&["--no-chat"], "--no-chat"),
    ] {
        let mut args = vec!["-z"];
        args.extend_from_slice(option);
        args.extend_from_slice(&["h", "1"]);
        let message = usage_message(&args);
        assert!(message.contains(name), "{args:?}: {message}");
    }
    assert!(usage_message(&["-z", "-l", "1"]).contains("-z"));
}

#[test]
fn empty_environment_password_is_a_usage_error() {
    let message = match parse_args(&["h", "1"], Some("")) {
        Err(Error::Usage(message)) => message,
        other => panic!("expected a usage error, got {other:?}"),
    };
    assert!(
        message.contains("TETE_PASSWORD is set but empty"),
        "{message}"
    );
    // An explicit source makes the environment irrelevant.
    let Ok(Command::Run(config)) = parse_args(&["-P", "h", "1"], Some("")) else {
        panic!("expected a run");
    };
    assert_eq!(config.password, PasswordSource::Prompt);
    let Ok(Command::Run(config)) = parse_args(&["h", "1"], Some("pw")) else {
        panic!("expected a run");
    };
    assert_eq!(
        config.password,
        PasswordSource::Environment(Password::from(&b"pw"[..]))
    );
    // --help needs no password at all.
    assert_eq!(parse_args(&["--help"], Some("")), Ok(Command::Help));
}

#[test]
fn n_is_openbsds_shutdown_after_eof_and_no_shutdown_is_long_only() {
    assert_eq!(run(&["-N", "h", "1"]).unwrap().shutdown, Shutdown::AtEnd);
    assert_eq!(run(&["h", "1"]).unwrap().shutdown, Shutdown::Held);
    assert_eq!(
        run(&["--no-shutdown", "h", "1"]).unwrap().shutdown,
        Shutdown::Never
    );
}

#[test]
fn chat_mode_is_on_unless_turned_off() {
    assert!(run(&["h", "1"]).unwrap().chat);
    assert!(!run(&["--no-chat", "h", "1"]).unwrap().chat);
    assert!(!run(&["--no-chat", "-l", "1"]).unwrap().chat);
}

#[test]
fn direction_is_one_setting() {
    assert_eq!(run(&["h", "1"]).unwrap().direction, Direction::Both);
    assert_eq!(
        run(&["-d", "h", "1"]).unwrap().direction,
        Direction::ReceiveOnly
    );
    assert_eq!(
        run(&["--send-only", "h", "1"]).unwrap().direction,
        Direction::SendOnly
    );
    assert!(usage_message(&["-d", "--send-only", "h", "1"]).contains("--send-only"));
}

#[test]
fn n_and_no_shutdown_contradict() {
    assert!(matches!(
        run(&["-N", "--no-shutdown", "h", "1"]),
        Err(Error::Usage(_))
    ));
    assert_eq!(run(&["-N", "h", "1"]).unwrap().shutdown, Shutdown::AtEnd);
}

#[test]
fn quit_after_eof_as_debian_reads_it() {
    let quit = |value: &str| run(&["-q", value, "h", "1"]).map(|c| c.quit_after_eof);
    assert_eq!(quit("0"), Ok(Some(Duration::ZERO)));
    assert_eq!(quit("1"), Ok(Some(Duration::from_secs(1))));
    assert_eq!(quit("0.25"), Ok(Some(Duration::from_millis(250))));
    assert_eq!(quit("-1"), Ok(None));
    assert_eq!(run(&["h", "1"]).unwrap().quit_after_eof, None);
    for bad in ["soon", "NaN", "inf", "1e19"] {
        assert!(matches!(quit(bad), Err(Error::Usage(_))), "{bad}");
    }
}

#[test]
fn other_netcats_options_name_the_tool_that_has_them() {
    for (args, tool) in [
        (&["-u", "h", "1"][..], "socat"),
        (&["-uv", "h", "1"], "socat"),
        (&["--udp", "h", "1"], "socat"),
        (&["-U", "/tmp/s"], "ncat -U"),
        (&["-e", "/bin/sh", "h", "1"], "ncat -e"),
        (&["-c", "ls", "h", "1"], "ncat -e"),
        (&["-t", "h", "1"], "ncat -t"),
        (&["-T", "lowdelay", "h", "1"], "OpenBSD nc"),
        (&["--proxy-auth", "u:p", "h", "1"], "TETE_PROXY_AUTH"),
        (&["-b", "h", "1"], "socat"),
        (&["-F", "h", "1"], "nc -F"),
        (&["-I", "4096", "h", "1"], "nc -I/-O"),
        (&["-O", "4096", "h", "1"], "nc -I/-O"),
        (&["-r", "-z", "h", "1-2"], "nc -r"),
        (&["-S", "h", "1"], "OpenBSD nc"),
        (&["-M", "5", "h", "1"], "OpenBSD nc"),
        (&["-m", "5", "h", "1"], "OpenBSD nc"),
        (&["--ssl", "h", "1"], "ncat --ssl"),
    ] {
        let message = usage_message(args);
        assert!(
            message.contains(tool) && message.starts_with(&format!("-{}", &args[0][1..2])),
            "{args:?}: {message}"
        );
    }
    assert_eq!(usage_message(&["-j", "h", "1"]), "unknown option -j");
}

#[test]
fn proxy_as_openbsd_nc_reads_it() {
    let proxy_of = |args: &[&str], auth: Option<&str>| {
        let env = Environment {
            proxy_auth: auth.map(|a| a.as_bytes().to_vec()),
            ..Environment::default()
        };
        match parse(args, env) {
            Ok(Command::Run(Config {
                mode: Mode::Connect { proxy, .. },
                ..
            })) => Ok(proxy),
            Ok(other) => panic!("{args:?}: expected a connection, got {other:?}"),
            Err(err) => Err(err),
        }
    };
    let proxy = proxy_of(&["-x", "127.0.0.1", "h", "22"], None)
        .unwrap()
        .unwrap();
    assert_eq!(proxy.to_string(), "SOCKS5 proxy 127.0.0.1:1080");
    assert_eq!(proxy.credentials, None);
    let proxy = proxy_of(&["-X", "connect", "-x", "p:8080", "h", "22"], Some("u:a:b"))
        .unwrap()
        .unwrap();
    assert_eq!(proxy.to_string(), "HTTP proxy p:8080");
    assert_eq!(
        proxy.credentials,
        Some(Credentials::parse(b"u:a:b").unwrap())
    );
    let proxy = proxy_of(&["--proxy-type", "4", "--proxy", "[::1]", "h", "22"], None)
        .unwrap()
        .unwrap();
    assert_eq!(proxy.to_string(), "SOCKS4 proxy [::1]:1080");
    // The credentials matter only with a proxy.
    assert_eq!(proxy_of(&["h", "22"], Some("nonsense")), Ok(None));
    for (args, auth, says) in [
        (
            &["-x", "p", "h", "22"][..],
            Some("no-colon"),
            "TETE_PROXY_AUTH",
        ),
        (&["-x", "p", "h", "22"], Some(""), "TETE_PROXY_AUTH"),
        (&["-X", "5", "h", "22"], None, "-X needs -x"),
        (
            &["-X", "6", "-x", "p", "h", "22"],
            None,
            "must be 4, 5 or connect",
        ),
        (&["-x", "p:0", "h", "22"], None, "invalid proxy port"),
    ] {
        match proxy_of(args, auth) {
            Err(Error::Usage(message)) => assert!(message.contains(says), "{message}"),
            other => panic!("{args:?}: expected a usage error, got {other:?}"),
        }
    }
    assert!(usage_message(&["-l", "-x", "p", "1"]).contains("not with -l"));
    assert!(usage_message(&["-z", "-x", "p", "h", "1"]).contains("not through a proxy"));
    assert!(usage_message(&["-z", "--progress", "h", "1"]).contains("--progress"));
    assert!(run(&["--progress", "h", "1"]).unwrap().progress);
    assert!(run(&["--progress", "-l", "1"]).unwrap().progress);
    assert!(!run(&["h", "1"]).unwrap().progress);
}

#[test]
fn getopts_failures_in_our_words() {
    assert_eq!(usage_message(&["h", "1", "-w"]), "-w needs a value");
    assert_eq!(
        usage_message(&["-w", "1", "-w", "2", "h", "1"]),
        "--wait given more than once"
    );
    assert_eq!(
        usage_message(&["--listen=yes", "1"]),
        "--listen takes no value"
    );
}

#[test]
fn completions_name_a_shell() {
    assert_eq!(
        parse_args(&["--completions", "fish"], None),
        Ok(Command::Completions(Shell::Fish))
    );
    assert!(usage_message(&["--completions", "tcsh"]).contains("bash, zsh or fish"));
}

#[test]
fn fractional_seconds() {
    let config = run(&["-w", "0.5", "-i", "2", "h", "1"]).unwrap();
    assert_eq!(config.wait, Some(Duration::from_millis(500)));
    assert_eq!(config.idle_timeout, Some(Duration::from_secs(2)));
}

/// `--peer-timeout`: 30 s unless given; 0 turns the check off; seconds as -w takes them; not
/// with -z, whose connections carry nothing.
#[test]
fn peer_timeout() {
    assert_eq!(
        run(&["h", "1"]).unwrap().peer_timeout,
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        run(&["--peer-timeout", "0", "h", "1"])
            .unwrap()
            .peer_timeout,
        None
    );
    assert_eq!(
        run(&["--peer-timeout", "2.5", "-l", "1"])
            .unwrap()
            .peer_timeout,
        Some(Duration::from_millis(2500))
    );
    for bad in ["-1", "soon", "1e19", "inf"] {
        assert!(
            usage_message(&["--peer-timeout", bad, "h", "1"]).contains("--peer-timeout"),
            "{bad}"
        );
    }
    assert!(usage_message(&["-z", "--peer-timeout", "5", "h", "1"]).contains("--peer-timeout"));
}

#[test]
fn bad_values_are_usage_errors() {
    for args in [
        &["-w", "soon", "h", "1"][..],
        &["-i", "-3", "h", "1"],
        &["-w", "0", "h", "1"],
        &["-w", "NaN", "h", "1"],
        &["-w", "1e19", "h", "1"],
        &["-i", "inf", "h", "1"],
        &["-k", "h", "1"],
        &["-l", "-z", "1"],
        &["h", "65536"],
        &["-4", "-6", "h", "1"],
        &["-P", "--password-file", "f", "h", "1"],
        &["-l", "-s", "a", "b", "1"],
    ] {
        assert!(matches!(run(args), Err(Error::Usage(_))), "{args:?}");
    }
}

#[test]
fn every_message_is_lower_case() {
    for args in [
        &["-u"][..],
        &["-j"],
        &["-w"],
        &["h", "x-y-z"],
        &["-l"],
        &["h"],
        &["h", "1", "2"],
    ] {
        let message = usage_message(args);
        assert!(
            !message.starts_with(|c: char| c.is_ascii_uppercase()),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn only_the_test_variable_picks_chacha20_poly1305() {
    use std::ffi::OsStr;

    use crate::secure::CipherChoice;
    let choice = |value: Option<&str>| cipher_choice(value.map(OsStr::new));
    assert_eq!(choice(None), CipherChoice::Fastest);
    assert_eq!(choice(Some("aes")), CipherChoice::Fastest);
    assert_eq!(
        choice(Some("chacha20-poly1305")),
        CipherChoice::ChaCha20Poly1305
    );
    let env = Environment {
        cipher: CipherChoice::ChaCha20Poly1305,
        ..Environment::default()
    };
    let Ok(Command::Run(config)) = parse(&["h", "1"], env) else {
        panic!("expected a run");
    };
    assert_eq!(config.cipher, CipherChoice::ChaCha20Poly1305);
}

#[test]
fn probes_take_several_ports_and_ranges_as_nc_does() {
    let ports = |args: &[&str]| probe_of(args, None).map(|probe| probe.ports);
    assert_eq!(
        ports(&["-z", "h", "6390", "8000"]),
        Ok(vec![6390..=6390, 8000..=8000])
    );
    assert_eq!(
        ports(&["-z", "h", "20-25", "80", "443"]),
        Ok(vec![20..=25, 80..=80, 443..=443])
    );
    // In the order given, repeats and all: each is tried as written.
    assert_eq!(
        ports(&["-z", "h", "9", "1-2", "9"]),
        Ok(vec![9..=9, 1..=2, 9..=9])
    );
    assert!(usage_message(&["-z", "h", "80", "x-y-z"]).contains("'x-y-z'"));
    assert!(usage_message(&["-z", "h", "80", "25-20"]).contains("above the last"));
    assert!(usage_message(&["-z", "h"]).contains("missing port"));
    // A connection still takes one port.
    assert!(usage_message(&["h", "80", "443"]).contains("unexpected operand '443'"));
}

#[test]
fn help_fits_its_width_and_long_descriptions_go_on_below() {
    use super::table::HELP_WIDTH;
    let help = help();
    for line in help.lines() {
        assert!(
            line.chars().count() <= HELP_WIDTH,
            "{} columns: {line}",
            line.len()
        );
    }
    // -w's description is longer than a line: it goes on under its start.
    let mut lines = help
        .lines()
        .skip_while(|line| !line.contains("-w, --wait SECS"));
    let first = lines.next().unwrap_or_default();
    let next = lines.next().unwrap_or_default();
    let start = first.find("give up").expect("-w's description");
    assert_eq!(
        next.find(|c: char| c != ' '),
        Some(start),
        "{first}\n{next}"
    );
    assert!(
        !next.trim_start().starts_with('-'),
        "not taken for an option: {next}"
    );
}
