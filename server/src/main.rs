//! `portcullis`: the server (`serve`, default) and the command-line tools (`evaluate`).
//!
//! Errors: `anyhow` at start-up and in the CLI; `thiserror` enums for domain errors in `shared`;
//! the app error type for requests (added with the API).
use clap::{Parser, Subcommand};

mod evaluate;
mod serve;

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "Secure management ports for Azure VMs")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard and the API (default).
    Serve(serve::ServeArgs),
    /// Evaluate an inventory of ARM resources: exposures, recommendations, score.
    Evaluate(evaluate::EvaluateArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Evaluate(args)) => evaluate::run(args),
        Some(Command::Serve(args)) => serve::main(args),
        None => serve::main(serve::ServeArgs::parse_from(["portcullis"])),
    }
}
