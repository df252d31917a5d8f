//! `opencourt`: the server and the command-line tools.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "opencourt", version, about = "OpenCourt: online court hearings", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Placeholder until the control plane lands.
    Version,
    /// Fetch or import Whisper models.
    Model(transcriber::cli::ModelArgs),
    /// Transcribe per-participant tracks into one speaker-attributed transcript.
    Transcribe(transcriber::cli::TranscribeArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("{}", env!("CARGO_PKG_VERSION")),
        Command::Model(args) => std::process::exit(transcriber::cli::model(args)),
        Command::Transcribe(args) => std::process::exit(transcriber::cli::transcribe(args)),
    }
    Ok(())
}
