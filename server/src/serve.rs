//! `portcullis serve`: placeholder, written by the foundation work.
use clap::Parser;
use std::process::ExitCode;

#[derive(Debug, Parser)]
pub struct ServeArgs {}

pub fn main(_args: ServeArgs) -> ExitCode {
    ExitCode::SUCCESS
}
