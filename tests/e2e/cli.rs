//! The command line end to end, against the real binary: the netcat habits tete honours (`-N`,
//! ports by name, `-l 0`, `-z` ranges), the options it refuses and why, the room-password rules
//! that belong to the command line, the completion scripts loaded in real shells, `--help` and
//! `--version`, and runtime failures with their exit status and one line naming what failed.

use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output as ProcessOutput, Stdio};
use std::time::Duration;

use crate::harness::*;

// ---------------------------------------------------------------------------------------------
// Usage errors
// ---------------------------------------------------------------------------------------------

/// Options of other netcats: exit 2, one line naming the tool that has them.
#[test]
fn unsupported_options_name_another_tool() {
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (
            vec!["-u", "127.0.0.1", "1"],
            Some("-u: tete speaks TCP only"),
        ),
        (vec!["-vu", "127.0.0.1", "1"], Some("socat")),
        (vec!["--udp", "127.0.0.1", "1"], Some("socat")),
        (vec!["-U", "/tmp/socket"], Some("ncat -U")),
        (vec!["-e", "/bin/sh", "127.0.0.1", "1"], Some("ncat -e")),
        (vec!["-c", "date", "127.0.0.1", "1"], Some("ncat -e")),
        (vec!["-t", "127.0.0.1", "1"], Some("ncat -t")),
        (vec!["-T", "lowdelay", "127.0.0.1", "1"], Some("OpenBSD nc")),
        (
            vec!["--proxy-auth", "u:p", "127.0.0.1", "1"],
            Some("TETE_PROXY_AUTH"),
        ),
        (vec!["-b", "127.0.0.1", "1"], Some("socat")),
        (vec!["-F", "127.0.0.1", "1"], Some("nc -F")),
        (vec!["-I", "1024", "127.0.0.1", "1"], Some("nc -I/-O")),
        (vec!["-O", "1024", "127.0.0.1", "1"], Some("nc -I/-O")),
        (vec!["-r", "-z", "127.0.0.1", "1-2"], Some("nc -r")),
        (vec!["-S", "127.0.0.1", "1"], Some("OpenBSD nc")),
        (vec!["-M", "9", "127.0.0.1", "1"], Some("OpenBSD nc")),
        (vec!["-m", "9", "127.0.0.1", "1"], Some("OpenBSD nc")),
        (vec!["--ssl", "127.0.0.1", "1"], Some("ncat --ssl")),
        (vec!["-j", "127.0.0.1", "1"], Some("unknown option -j")),
    ];
    assert_usage_errors(&cases);
}

/// Ports and the rules around them: exit 2, one line saying what is wrong.
#[test]
fn port_mistakes_are_usage_errors() {
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (
            vec!["-l", "-p", "52282", "52283"],
            Some("more than one port"),
        ),
        (
            vec!["-l", "-p", "52282", "127.0.0.1", "52283"],
            Some("more than one port"),
        ),
        (
            vec!["127.0.0.1", "no-such-service"],
            Some("unknown port 'no-such-service'"),
        ),
        (vec!["127.0.0.1", "20-25"], Some("ranges only work with -z")),
        (vec!["-z", "127.0.0.1", "25-20"], Some("above the last")),
        (vec!["127.0.0.1", "0"], Some("from 1 to 65535")),
        (vec!["-q", "soon", "127.0.0.1", "1"], Some("-q")),
        (vec!["-z", "-q", "1", "127.0.0.1", "1"], Some("-q")),
        (vec!["-z", "-P", "127.0.0.1", "1"], Some("no password")),
        (vec!["--completions", "tcsh"], Some("bash, zsh or fish")),
    ];
    assert_usage_errors(&cases);
}

/// `TETE_PASSWORD=` (set but empty, a misspelt variable in a script): exit 2 before any
/// connection, so not one byte goes out in plaintext.
#[test]
fn empty_password_exits_2_and_sends_nothing() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let finished = tete(["127.0.0.1", &port.to_string()])
        .password("")
        .stdin(Input::Bytes(b"secret plans\n".to_vec()))
        .run();
    finished.assert_code(2);
    let line = finished.error_line();
    assert!(
        line.contains("TETE_PASSWORD is set but empty"),
        "{}: {line:?}",
        finished.description
    );
    listener.set_nonblocking(true).expect("non-blocking");
    match listener.accept() {
        Err(err) if err.kind() == ErrorKind::WouldBlock => {}
        other => panic!("tete connected although its password was empty: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Netcat habits
// ---------------------------------------------------------------------------------------------

/// `-N` (OpenBSD: shut down after EOF): the peer gets the line and an end of stream, and when it
/// closes tete ends at once with 0. (After a greeting: held_end.rs.)
#[test]
fn openbsd_n_half_closes() {
    let peer = Peer::spawn(|mut stream| read_to_eof(&mut stream, "the peer of tete -N"));
    let finished = tete(["-N", "127.0.0.1", &peer.port().to_string()])
        .stdin(Input::Bytes(b"hi\n".to_vec()))
        .run();
    let received = peer.join();
    finished.assert_success().assert_quiet();
    assert_bytes_eq("what the peer received", b"hi\n", &received);
}

/// `-l 0`: the system picks the port, and `-v` names it.
#[test]
fn listen_on_port_zero_reports_the_port() {
    let mut running = tete(["-v", "-l", "127.0.0.1", "0"]).spawn();
    let addr = running.wait_listening();
    assert_ne!(
        addr.port(),
        0,
        "{}: listening on port 0",
        running.description
    );
    let mut stream = connect(addr);
    stream.write_all(b"found you\n").expect("send to tete");
    drop(stream);
    let finished = running.wait();
    finished.assert_success();
    assert_bytes_eq("what tete printed", b"found you\n", &finished.stdout);
}

/// `http` as a port is 80, from /etc/services: the probe's line names 127.0.0.1:80 (whether
/// something listens there or not).
#[test]
fn service_name_as_port() {
    if !Path::new("/etc/services").exists() {
        skip::<()>("no /etc/services (apt-get install -y netbase)");
        return;
    }
    let finished = tete(["-z", "-v", "127.0.0.1", "http"]).run();
    let line = finished.error_line();
    assert!(
        matches!(finished.status.code(), Some(0 | 1)) && line.contains("127.0.0.1:80"),
        "{}: {:?} {line:?}",
        finished.description,
        finished.status
    );
}

// ---------------------------------------------------------------------------------------------
// -z
// ---------------------------------------------------------------------------------------------

/// A range with one open port: exit 0, one `-v` line per port, the open one named, and the open
/// port's listener gets a connection that carries nothing.
#[test]
fn probe_range_finds_the_open_port() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let open = listener.local_addr().expect("local address").port();
    let (first, last) = (open.saturating_sub(1).max(1), open.saturating_add(1));
    let finished = tete(["-z", "-v", "127.0.0.1", &format!("{first}-{last}")])
        .stdin(Input::Bytes(b"must not be sent\n".to_vec()))
        .run();
    finished.assert_success();
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        usize::from(last - first) + 1,
        "{}: one line per port expected: {:?}",
        finished.description,
        finished.stderr
    );
    let named = format!("connected to 127.0.0.1:{open}: open");
    assert!(
        lines.iter().any(|line| line.ends_with(&named)),
        "{}: no line says {named:?}: {:?}",
        finished.description,
        finished.stderr
    );
    let mut probed = accept_within(&listener, TIMEOUT);
    assert_bytes_eq(
        "what the probed port received",
        b"",
        &read_to_eof(&mut probed, "the probed port"),
    );
}

/// Three consecutive ports that nothing listens on, from the harness (below the ephemeral
/// range, so no other test's socket is there).
fn closed_range() -> (u16, u16) {
    for _ in 0..50 {
        let first = free_port();
        let (second, third) = (free_port(), free_port());
        if second == first + 1 && third == first + 2 {
            return (first, third);
        }
    }
    panic!("no three consecutive free ports from the harness");
}

/// A range with nothing open: exit 1, silent; with `-v` one line per port, each saying why.
#[test]
fn probe_range_with_nothing_open_fails() {
    let (first, last) = closed_range();
    let range = format!("{first}-{last}");
    tete(["-z", "127.0.0.1", &range])
        .run()
        .assert_code(1)
        .assert_quiet();
    let finished = tete(["-z", "-v", "127.0.0.1", &range]).run();
    finished.assert_code(1);
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}: {:?}", finished.description, lines);
    for (port, line) in (first..=last).zip(lines) {
        assert_eq!(
            line,
            format!("tete: cannot connect to 127.0.0.1:{port}: connection refused"),
            "{}",
            finished.description
        );
    }
}

/// An exported TETE_PASSWORD is no request: `-z` probes as usual.
#[test]
fn probe_ignores_an_exported_password() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    tete(["-z", "127.0.0.1", &port.to_string()])
        .password("exported")
        .run()
        .assert_success()
        .assert_quiet();
    tete(["-z", "127.0.0.1", &port.to_string()])
        .password("")
        .run()
        .assert_success()
        .assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// Completion scripts in real shells
// ---------------------------------------------------------------------------------------------

/// How long a shell may take to load a script and complete.
const SHELL_TIMEOUT: Duration = Duration::from_secs(20);

/// Writes `tete --completions SHELL` to a file in `dir` and returns its path.
fn completion_script(dir: &TempDir, shell: &str) -> std::path::PathBuf {
    let out = Command::new(TETE)
        .args(["--completions", shell])
        .output()
        .expect("run tete --completions");
    assert!(out.status.success(), "tete --completions {shell}: {out:?}");
    dir.file(&format!("tete.{shell}"), &out.stdout)
}

/// Runs `shell ARGS...` with `SCRIPT` (the completion script's path) in its environment, killed
/// after [`SHELL_TIMEOUT`]; `None` after [`skip`] when the shell is not installed.
fn run_shell(shell: &str, args: &[&str], script: &Path) -> Option<ProcessOutput> {
    program_or_skip(shell, shell)?;
    let mut command = Command::new("timeout");
    command
        .arg("--kill-after=1")
        .arg(SHELL_TIMEOUT.as_secs().to_string())
        .arg(shell)
        .args(args)
        .env("SCRIPT", script)
        .env("TERM", "xterm")
        .env("HOME", script.parent().expect("the script's directory"))
        .stdin(Stdio::null());
    let out = command.output().expect("run the shell");
    assert!(
        out.status.success(),
        "{shell} {args:?} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

/// The words a shell printed, one a line.
fn words(out: &ProcessOutput) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A shell's output lines for several completions, split at the `---` lines printed between
/// them.
fn answers(out: &ProcessOutput) -> Vec<Vec<String>> {
    words(out)
        .split(|line| line == "---")
        .map(<[String]>::to_vec)
        .collect()
}

/// A hosts source the shells read with HOME at `dir`: ssh's configuration naming `example-host`.
fn known_host(dir: &TempDir) {
    std::fs::create_dir_all(dir.join(".ssh")).expect("~/.ssh");
    dir.file(".ssh/config", b"Host example-host\n");
}

#[test]
fn bash_completes_long_options() {
    let dir = TempDir::new("bash-completion");
    let script = completion_script(&dir, "bash");
    let Some(out) = run_shell(
        "bash",
        &[
            "--norc",
            "--noprofile",
            "-c",
            r#"source "$SCRIPT" || exit 1
               complete -p tete >/dev/null || exit 1
               COMP_WORDS=(tete --li); COMP_CWORD=1; _tete; printf '%s\n' "${COMPREPLY[@]}"
               echo ---
               COMP_WORDS=(tete --completions ''); COMP_CWORD=2; _tete
               printf '%s\n' "${COMPREPLY[@]}""#,
        ],
        &script,
    ) else {
        return;
    };
    let [listen, shells] = answers(&out).try_into().expect("two answers");
    assert_eq!(listen, ["--listen"], "bash completing 'tete --li'");
    assert_eq!(
        shells,
        ["bash", "zsh", "fish"],
        "bash completing 'tete --completions '"
    );
}

/// fish: long options, the shells after `--completions`, `-X`'s protocols each with what it
/// means (not `-X`'s whole description again), and host names for the host but not after `-l`.
#[test]
fn fish_completes_long_options() {
    let dir = TempDir::new("fish-completion");
    let script = completion_script(&dir, "fish");
    known_host(&dir);
    let Some(out) = run_shell(
        "fish",
        &[
            "--no-config",
            "-c",
            r#"source $SCRIPT; or exit 1
               for line in 'tete --li' 'tete --completions ' 'tete -X ' 'tete ex' 'tete -l ex' \
                       'tete -vlp 80 ex' 'tete -vp 80 ex'
                   complete -C $line
                   echo ---
               end"#,
        ],
        &script,
    ) else {
        return;
    };
    let answers = answers(&out);
    let first_word = |line: &String| line.split('\t').next().unwrap_or_default().to_string();
    let listen: Vec<String> = answers[0].iter().map(first_word).collect();
    assert_eq!(listen, ["--listen"], "fish completing 'tete --li'");
    let mut shells: Vec<String> = answers[1].iter().map(first_word).collect();
    shells.sort();
    assert_eq!(
        shells,
        ["bash", "fish", "zsh"],
        "fish completing 'tete --completions '"
    );
    assert_eq!(
        answers[2],
        [
            "4\tSOCKS4, and SOCKS4a for host names",
            "5\tSOCKS5, the default",
            "connect\tHTTP CONNECT"
        ],
        "fish completing 'tete -X '"
    );
    let hosts = [&answers[3], &answers[4], &answers[5], &answers[6]];
    assert_eq!(
        hosts,
        [&["example-host"][..], &[], &[], &["example-host"]],
        "fish completing a host: 'tete ex', 'tete -l ex', 'tete -vlp 80 ex', 'tete -vp 80 ex'"
    );
}

/// zsh: in an interactive zsh on a pseudo-terminal (zsh's own zpty module), the script loads
/// under compinit and registers `_tete`; then zsh completes `tete --li` to `tete --listen`, lists the
/// shells after `--completions`, and completes `tete ex` to the known `example-host`, but not
/// after `-l` (each line, completed or not, is then printed by the shell itself). Each read
/// waits for its pattern; the timeout bounds it.
#[test]
fn zsh_completes_long_options() {
    let dir = TempDir::new("zsh-completion");
    let script = completion_script(&dir, "zsh");
    let Some(out) = run_shell(
        "zsh",
        &[
            "-f",
            "-c",
            r#"zmodload zsh/zpty || exit 1
               zpty shell 'zsh -f -i'
               zpty -w shell 'PS1="> "; autoload -Uz compinit; compinit -u -D; source $SCRIPT; zstyle ":completion:*" hosts example-host; print -r -- "LOADED$((6*7)): $_comps[tete] $(whence -w _tete)"'
               zpty -r shell out '*LOADED42:*'$'\n' || exit 1
               print -r -- "registered:${${out##*LOADED42:}%%$'\r'*}"
               zpty -n -w shell $'tete --li\t'
               zpty -r shell out '*tete --listen*' || exit 1
               print -r -- "completed: tete --listen"
               zpty -n -w shell $'\C-u tete --completions \t\t'
               zpty -r shell out '*bash*fish*zsh*' || exit 1
               print -r -- "listed: bash fish zsh"
               for line in 'tete ex' 'tete -l ex' 'tete -vlp 80 ex' 'tete --listen ex' \
                       'tete -vp 80 ex'; do
                   zpty -n -w shell $'\C-u'"$line"$'\t\C-aprint -r -- LINE$((6*7)):\C-m'
                   zpty -r shell out '*LINE42:*'$'\n' || exit 1
                   print -r -- "line:${${out##*LINE42:}%%$'\r'*}"
               done
               zpty -d shell"#,
        ],
        &script,
    ) else {
        return;
    };
    assert_eq!(
        words(&out),
        [
            "registered: _tete _tete: function",
            "completed: tete --listen",
            "listed: bash fish zsh",
            "line:tete example-host",
            "line:tete -l ex",
            "line:tete -vlp 80 ex",
            "line:tete --listen ex",
            "line:tete -vp 80 example-host",
        ],
        "zsh: stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_command_lines_exit_2() {
    let port = free_port().to_string();
    let port = port.as_str();
    let huge = "99999999999999999999";
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec![], None),
        (vec!["127.0.0.1"], None),
        (vec!["127.0.0.1", port, "extra"], Some("extra")),
        (vec!["-l"], None),
        (vec!["-l", "127.0.0.1", port, "extra"], Some("extra")),
        (vec!["127.0.0.1", "0"], Some("'0'")),
        (vec!["127.0.0.1", "65536"], Some("65536")),
        (vec!["127.0.0.1", "abc"], Some("abc")),
        (vec!["127.0.0.1", ""], None),
        (vec!["127.0.0.1", huge], Some(huge)),
        (vec!["127.0.0.1", "-1"], None),
        (vec!["-l", "127.0.0.1", "65536"], Some("65536")),
        (vec!["-l", "abc"], Some("abc")),
        (vec!["-l", ""], None),
        (vec!["-l", huge], Some(huge)),
        (
            vec!["--no-such-option", "127.0.0.1", port],
            Some("no-such-option"),
        ),
        (vec!["-Q", "127.0.0.1", port], Some("Q")),
        (vec!["-4", "-6", "127.0.0.1", port], None),
        (vec!["-l", "-4", "-6", port], None),
    ];
    assert_usage_errors(&cases);
}

#[test]
fn help_goes_to_stdout() {
    for flag in ["-h", "--help"] {
        let finished = tete([flag]).run();
        finished.assert_success().assert_quiet();
        let text = String::from_utf8_lossy(&finished.stdout);
        assert!(
            text.contains("Usage: tete [options] host port"),
            "tete {flag}: {text:?}"
        );
        assert!(text.contains("-l, --listen"), "tete {flag}: {text:?}");
    }
}

/// `tete --help > /dev/full` fails with one line and status 1, as any write error would; a
/// reader that went away (`tete --help | true`) is no failure: status 0, nothing said.
#[test]
fn help_to_a_full_disk_fails_and_to_a_closed_pipe_does_not() {
    let full = tete(["--help"])
        .stdout(Output::File("/dev/full".into()))
        .run();
    full.assert_code(1);
    assert_eq!(
        full.error_line(),
        "tete: standard output: no space left on device",
        "{}",
        full.description
    );
    let (reader, writer) = pipe();
    drop(reader);
    tete(["--help"])
        .stdout(Output::Fd(writer.into()))
        .run()
        .assert_success()
        .assert_quiet();
}

#[test]
fn version_goes_to_stdout() {
    for flag in ["-V", "--version"] {
        let finished = tete([flag]).run();
        finished.assert_success().assert_quiet();
        let text = String::from_utf8_lossy(&finished.stdout);
        assert_eq!(text, format!("tete {}\n", env!("CARGO_PKG_VERSION")));
        let version = text.trim_end().strip_prefix("tete ").unwrap_or_default();
        let parts: Vec<&str> = version.split('.').collect();
        assert!(
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
            "not X.Y.Z: {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Runtime failures: exit status 1, naming what failed
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_runtime_failure(finished: &Finished, mentions: &[&str]) {
    finished.assert_code(1);
    assert!(
        finished.stdout.is_empty(),
        "{}: output on stdout",
        finished.description
    );
    let line = finished.error_line();
    for what in mentions {
        assert!(
            line.contains(what),
            "{}: the error should mention {what:?}: {line:?}",
            finished.description
        );
    }
}

#[test]
fn unknown_host() {
    let port = free_port().to_string();
    let finished = tete(["nosuch.invalid", &port]).run();
    assert_runtime_failure(&finished, &["nosuch.invalid"]);
}

#[test]
fn connection_refused() {
    let port = free_port().to_string();
    let finished = tete(["127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &["127.0.0.1", &port, "connection refused"]);
}

#[test]
fn address_already_in_use() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    let port = held.local_addr().expect("address").port().to_string();
    let finished = tete(["-l", "127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &[&port, "address already in use"]);
    drop(held);
}

/// `tete -P -l PORT` on a port in use says so before asking for a password: the listener is
/// bound first. (Asked first, this run without a terminal would fail on /dev/tty instead.)
#[test]
fn port_in_use_is_reported_before_the_password_prompt() {
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    let port = held.local_addr().expect("address").port().to_string();
    let finished = tete(["-P", "-l", "127.0.0.1", &port]).run();
    assert_runtime_failure(&finished, &[&port, "address already in use"]);
    drop(held);
}

#[test]
fn names_refused_with_numeric() {
    let port = free_port().to_string();
    let finished = tete(["-n", "localhost", &port]).run();
    assert_runtime_failure(&finished, &["localhost"]);
    let finished = tete(["-n", "-l", "localhost", &port]).run();
    assert_runtime_failure(&finished, &["localhost"]);
}
