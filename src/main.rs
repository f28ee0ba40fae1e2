//! The `tete` command: a thin shell over the library that maps failures to exit statuses.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    match tete::run(&args).and_then(|text| text.map_or(Ok(()), |text| print(&text))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if err != tete::Error::Silent {
                eprintln!("tete: {err}");
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// Writes `text` (--help, --version, a completion script) on stdout. A reader that went away
/// (`tete --help | head -1`) is no reason to fail; anything else (a full disk) is.
fn print(text: &str) -> Result<(), tete::Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != ErrorKind::BrokenPipe => {
            Err(tete::Error::io("standard output", &err))
        }
        _ => Ok(()),
    }
}
