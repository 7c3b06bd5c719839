//! The `micromodel` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use micromodel::app::{self, StartError};
use micromodel::cli::{Cli, Command, ServeArgs};
use micromodel::{dataset, signals};

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Check(args) => ExitCode::from(app::check(&args) as u8),
        Command::Export(args) => exit_code("export", dataset::export::run(&args)),
        Command::Stats(args) => exit_code("stats", dataset::stats::run(&args)),
        Command::Validate(args) => exit_code("validate", dataset::validate::run(&args)),
        Command::Demo(args) => micromodel::demo::run(args),
        Command::HashKey(args) => exit_code("hash-key", micromodel::trust::hash_key(&args)),
        Command::Serve(args) => serve(args),
    }
}

/// `micromodel serve` to the end: runtime, signal handlers, [`app::serve`], the exit code.
fn serve(args: ServeArgs) -> ExitCode {
    const PROGRAM: &str = "micromodel";
    let (log_format, worker_threads) = (args.log_format, args.worker_threads);
    let service = async move {
        let (control_tx, control) = tokio::sync::mpsc::channel(16);
        signals::spawn(control_tx.clone()).map_err(StartError::Signals)?;
        app::serve(args, control_tx, control).await
    };
    match app::run_service(PROGRAM, log_format, worker_threads, service) {
        None => ExitCode::FAILURE,
        Some(Ok(stopped)) => ExitCode::from(stopped.exit_code()),
        Some(Err(error)) => error.report(PROGRAM),
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
