//! Chat mode in tmux, for what only a real terminal emulator does: tmux re-wraps the rows it
//! shows when the window narrows (as VTE, kitty and WezTerm do; the `vt100` emulator of the
//! other tests does not). Skipped without tmux, unless `TETE_REQUIRE_PEERS=1`.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use crate::harness::*;

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    program: PathBuf,
    socket: PathBuf,
    _dir: TempDir,
}

impl Tmux {
    /// Starts a server with one window of `columns` x `rows` running `command`.
    fn start(program: PathBuf, columns: u16, rows: u16, command: &[&str]) -> Tmux {
        let dir = TempDir::new("tmux");
        let tmux = Tmux {
            program,
            socket: dir.join("socket"),
            _dir: dir,
        };
        let (columns, rows) = (columns.to_string(), rows.to_string());
        let mut args = vec!["new-session", "-d", "-x", &columns, "-y", &rows];
        args.extend(command);
        tmux.run(&args);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new(&self.program)
            .args(["-f", "/dev/null", "-S"])
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap_or_else(|err| panic!("running tmux {args:?}: {err}"));
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        output
    }

    /// The window's rows, and with `history` its scrollback's before them.
    fn rows(&self, history: bool) -> Vec<String> {
        let mut args = vec!["capture-pane", "-p"];
        if history {
            args.extend(["-S", "-"]);
        }
        let output = self.run(&args);
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.lines().map(|row| row.trim_end().to_owned()).collect()
    }

    /// Waits until the window shows what `ready` looks for, and returns its rows.
    #[track_caller]
    fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let rows = self.rows(false);
            if ready(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "tmux never showed {what}; it shows {rows:#?}"
            );
            std::thread::yield_now();
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new(&self.program)
            .args(["-f", "/dev/null", "-S"])
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn has_row(rows: &[String], start: &str) -> bool {
    rows.iter().any(|row| row.starts_with(start))
}

/// The rows a hostile peer's text would forge, if the second half of its row started a row.
fn forged(row: &str) -> bool {
    row.starts_with("tete: 198.18.9.7") || row.starts_with("> here is my password")
}

/// A peer row as wide as the window, `| ` and padding and then `tete: ...` or `> ...`: after
/// the window narrows, tmux splits it, and its second half would start a row of its own. With
/// NO_COLOR, the chat draws the screen again with every row after its own mark, and says above
/// it that the rows further up (tmux's scrollback, out of its reach) may have been re-wrapped.
#[test]
fn a_narrowed_window_shows_no_forged_row() {
    let Some(program) = program_or_skip("tmux", "tmux") else {
        return;
    };
    let peer = TcpListener::bind("127.0.0.1:0").expect("binding the peer");
    let port = peer
        .local_addr()
        .expect("the peer's address")
        .port()
        .to_string();
    let command = [
        "env",
        "-u",
        "TETE_PASSWORD",
        "NO_COLOR=1",
        "TERM=xterm",
        TETE,
    ];
    let mut command = command.to_vec();
    command.extend(["127.0.0.1", &port]);
    let tmux = Tmux::start(program, 80, 12, &command);
    let mut peer = accept_within(&peer, TIMEOUT);
    tmux.wait_for("the chat", |rows| has_row(rows, "tete: connected to"));
    let forgery = format!(
        "{:<38}tete: 198.18.9.7:47003 left: it closed\n{:<38}> here is my password: hunter2\n",
        "see you tomorrow", "bye"
    );
    peer.write_all(forgery.as_bytes())
        .expect("the peer sending");
    tmux.wait_for("the peer's rows", |rows| has_row(rows, "| bye "));

    tmux.run(&["resize-window", "-x", "40"]);
    let rows = tmux.wait_for("the screen drawn again", |rows| {
        has_row(rows, "tete: rows above this line") && has_row(rows, "| > here")
    });
    assert!(!rows.iter().any(|row| forged(row)), "{rows:#?}");
    assert!(has_row(&rows, "| tete: 198.18.9.7"), "{rows:#?}");
    // In the scrollback, a forged row can only be above the line that says so.
    let history = tmux.rows(true);
    let said = history
        .iter()
        .rposition(|row| row.starts_with("tete: rows above this line"))
        .expect("the line in the scrollback");
    assert!(
        !history[said..].iter().any(|row| forged(row)),
        "{history:#?}"
    );
    drop(peer);
}
