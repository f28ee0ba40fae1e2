//! How a tete run ended ([`Finished`]), and the checks on it: exit statuses, signals, the one
//! error line, usage errors.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use rustix::process::Signal;

use super::tete;

/// How a tete run ended.
pub struct Finished {
    pub description: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// Asserts exit status `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Finished {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{}: expected exit status {code}, got {:?}; stderr: {:?}",
            self.description,
            self.status,
            self.stderr
        );
        self
    }

    /// Asserts exit status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Finished {
        self.assert_code(0)
    }

    /// Asserts that `signal` ended tete.
    #[track_caller]
    pub fn assert_signal(&self, signal: Signal) -> &Finished {
        assert_eq!(
            self.status.signal(),
            Some(signal.as_raw()),
            "{}: expected death by {signal:?}, got {:?}; stderr: {:?}",
            self.description,
            self.status,
            self.stderr
        );
        self
    }

    /// Asserts that stderr is exactly one line starting `tete: `, and returns it.
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && self.stderr.ends_with('\n'),
            "{}: expected one line on stderr, got {:?}",
            self.description,
            self.stderr
        );
        assert!(
            lines[0].starts_with("tete: "),
            "{}: the error line should start with 'tete: ': {:?}",
            self.description,
            lines[0]
        );
        lines[0]
    }

    /// Asserts that nothing went to stderr.
    #[track_caller]
    pub fn assert_quiet(&self) -> &Finished {
        assert!(
            self.stderr.is_empty(),
            "{}: expected nothing on stderr, got {:?}",
            self.description,
            self.stderr
        );
        self
    }
}

/// Runs tete with each command line of `cases`, which must all be usage errors: exit status 2,
/// one line `tete: ...` that mentions `--help` (and the second element, if any), nothing on
/// stdout. Reports every case that fails at once.
pub fn assert_usage_errors(cases: &[(Vec<&str>, Option<&str>)]) {
    let mut failures = Vec::new();
    for (args, mentions) in cases {
        let finished = tete(args).run();
        let lines: Vec<&str> = finished.stderr.lines().collect();
        let problem = if finished.status.code() != Some(2) {
            Some(format!("exit status {:?}", finished.status))
        } else if lines.len() != 1 || !lines[0].starts_with("tete: ") {
            Some("not one line starting 'tete: '".to_string())
        } else if !lines[0].contains("--help") {
            Some("no mention of --help".to_string())
        } else if let Some(missing) = mentions.filter(|m| !lines[0].contains(m)) {
            Some(format!("no mention of {missing:?}"))
        } else if !finished.stdout.is_empty() {
            Some("output on stdout".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "{}: {problem}; stderr {:?}",
                finished.description, finished.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad command lines handled wrongly:\n{}",
        failures.join("\n")
    );
}
