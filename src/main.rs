//! The `tete` command: a thin shell over the library that maps failures to exit statuses.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match tete::run(&args) {
        Ok(text) => {
            if let Some(text) = text {
                // A closed stdout (`tete --help | true`) is no reason to fail.
                let _ = std::io::stdout().write_all(text.as_bytes());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            if err != tete::Error::Silent {
                eprintln!("tete: {err}");
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
