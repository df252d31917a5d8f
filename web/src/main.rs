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
    /// Record a hearing room fed from files (mixed view, per-party tracks, manifest).
    Record(recorder::cli::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("{}", env!("CARGO_PKG_VERSION")),
        Command::Record(args) => {
            recorder::cli::run(&args)?;
        }
    }
    Ok(())
}
