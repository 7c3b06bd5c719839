//! The `micromodel` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use micromodel::app;
use micromodel::cli::{Cli, Command};
use micromodel::dataset;

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Check(args) => ExitCode::from(app::check(&args) as u8),
        Command::Export(args) => exit_code("export", dataset::export::run(&args)),
        Command::Stats(args) => exit_code("stats", dataset::stats::run(&args)),
        Command::Validate(args) => exit_code("validate", dataset::validate::run(&args)),
        Command::Demo(args) => micromodel::demo::run(args),
        Command::Serve(args) => app::serve_main(args),
    }
}

/// A data tool's outcome as an exit code: its own code, or 1 after printing the error.
fn exit_code(tool: &str, result: anyhow::Result<i32>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("micromodel {tool}: {error}");
            ExitCode::FAILURE
        }
    }
}
