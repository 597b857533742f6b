//! `portcullis evaluate` (placeholder until the engine lands).
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Inventory JSON file (ARM resources), or `-` for stdin.
    pub inventory: String,
}

pub fn run(_args: EvaluateArgs) -> ExitCode {
    eprintln!("evaluate: not implemented yet");
    ExitCode::from(2)
}
