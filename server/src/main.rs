//! `portcullis`: the server (`serve`, default) and the command-line tools (`evaluate`).
//!
//! Errors: `anyhow` at start-up and in the CLI; `thiserror` enums for domain errors in `shared`;
//! the app error type for requests (`error.rs`).
use clap::{Parser, Subcommand};

mod config;
mod error;
mod evaluate;
mod handlers;
mod router;
mod serve;
mod state;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Secure management ports for Azure VMs",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `serve`'s options, so that a bare `portcullis --listen ADDR` serves too.
    #[command(flatten)]
    serve: serve::ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard and the API (default).
    Serve(serve::ServeArgs),
    /// Evaluate an inventory of ARM resources: exposures, recommendations, score.
    Evaluate(evaluate::EvaluateArgs),
    /// Run the ARM emulator alone (the demo tenant, fault injection, a token endpoint).
    Emulator(portcullis::emulator::EmulatorArgs),
    /// Save every subscription's VMs, network resources and JIT policies as an inventory.
    Snapshot(portcullis::snapshot::SnapshotArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Evaluate(args)) => evaluate::run(args),
        Some(Command::Emulator(args)) => portcullis::emulator::run(args),
        Some(Command::Snapshot(args)) => portcullis::snapshot::run(args),
        Some(Command::Serve(args)) => serve::main(args),
        None => serve::main(cli.serve),
    }
}
