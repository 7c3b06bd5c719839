//! The `micromodel` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use micromodel::app::{self, StartError};
use micromodel::cli::{Cli, Command};
use micromodel::{dataset, logging, signals};

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Check(args) => ExitCode::from(app::check(&args) as u8),
        Command::Export(args) => exit_code("export", dataset::export::run(&args)),
        Command::Stats(args) => exit_code("stats", dataset::stats::run(&args)),
        Command::Validate(args) => exit_code("validate", dataset::validate::run(&args)),
        Command::Demo(args) => micromodel::demo::run(args),
        Command::Serve(args) => {
            logging::init(args.log_format);
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.enable_all();
            if let Some(threads) = args.worker_threads {
                builder.worker_threads(usize::from(threads));
            }
            let runtime = match builder.build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("micromodel: could not start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let result = runtime.block_on(async {
                let (control_tx, control) = tokio::sync::mpsc::channel(16);
                signals::spawn(control_tx.clone())?;
                app::serve(args, control_tx, control)
                    .await
                    .map_err(anyhow::Error::from)
            });
            // A write thread stuck in the kernel (frozen filesystem, FIFO without a reader)
            // must not hold the exit: the stop already counted what it holds as lost.
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
            match result {
                Ok(stopped) => ExitCode::from(stopped.exit_code()),
                Err(error) => {
                    match error.downcast_ref::<StartError>() {
                        Some(StartError::Config(errors)) => {
                            eprintln!(
                                "micromodel: the config is not valid:\n{}",
                                app::explain(errors)
                            );
                        }
                        _ => eprintln!("micromodel: {error:#}"),
                    }
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// How long the runtime's shutdown waits for its blocking threads before the process exits
/// without them.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

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
