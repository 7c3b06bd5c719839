//! The `micromodel` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use micromodel::app::{self, StartError};
use micromodel::cli::{Cli, Command};
use micromodel::{logging, signals};

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Check(args) => ExitCode::from(app::check(&args) as u8),
        Command::Serve(args) => {
            logging::init(args.log_format);
            let runtime = match tokio::runtime::Runtime::new() {
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
            match result {
                Ok(()) => ExitCode::SUCCESS,
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
