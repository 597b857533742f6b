//! `portcullis`: the server (`serve`, default) and the command-line tools (`evaluate`).
//!
//! Errors: `anyhow` at start-up and in the CLI; `thiserror` enums for domain errors in `shared`;
//! the app error type for requests (`error.rs`).
use clap::{Parser, Subcommand};

mod evaluate;

use portcullis::serve;

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

// parsed once at start: the size of the largest variant does not matter
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard and the API (default).
    Serve(serve::ServeArgs),
    /// Evaluate an inventory of ARM resources: exposures, recommendations, score.
    Evaluate(evaluate::EvaluateArgs),
    /// Run the ARM emulator alone (the demo tenant, fault injection, a token endpoint).
    Emulator(portcullis_emulator::EmulatorArgs),
    /// Save every subscription's VMs, network resources and JIT policies as an inventory.
    Snapshot(portcullis::snapshot::SnapshotArgs),
    /// The audit log: `portcullis audit verify` checks its hash chain.
    #[command(subcommand)]
    Audit(portcullis::audit::AuditCommand),
    /// Print the argon2id hash of a password read from stdin (for `[[users]]` in the config file).
    HashPassword,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Evaluate(args)) => evaluate::run(args),
        Some(Command::Emulator(args)) => portcullis_emulator::run(args),
        Some(Command::Snapshot(args)) => portcullis::snapshot::run(args),
        Some(Command::Serve(args)) => serve::main(args),
        Some(Command::Audit(cmd)) => portcullis::audit::run(cmd),
        Some(Command::HashPassword) => portcullis::auth::hash_password_cli(),
        None => serve::main(cli.serve),
    }
}

/// mimalloc: glibc's per-thread arenas kept hundreds of MB of freed memory after each snapshot
/// of a large tenant. `MIMALLOC_PURGE_DELAY=0` (set by `make run` and the container image) hands
/// freed pages back to the OS at once instead of after a second of the owning thread's activity.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
