//! The `leitmotif` command line: parses arguments, runs the command, and turns the outcome into
//! the contract's exit status (0 written, 1 nothing analysed, 2 usage error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A panic symphonia raises on a hostile file is caught and reported as that file's error;
    // the default hook would also print it as if the program had crashed.
    leitmotif::decode::install_quiet_panic_hook();
    match run() {
        Ok(code) => code,
        // A closed pipe (e.g. `leitmotif analyze ... | head`) is the reader's choice, not a failure.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("leitmotif: {}", one_line(&err));
            if err.downcast_ref::<leitmotif::Error>().is_some_and(|e| e.is_usage()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version exit 0, usage errors 2, as clap decides.
            e.print()?;
            return Ok(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)));
        }
    };
    cli::execute(cli)
}

/// The error and its causes on one line, like `{:#}`, but without repeating a cause that the
/// message before it already quotes (the library's messages include their I/O cause).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}
