//! `opencourt-record`: the same as `opencourt record`, as a binary of this crate so that its
//! tests (the kill test) can run it as a child process.
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "opencourt-record",
    about = "Record a hearing room fed from files"
)]
struct Cli {
    #[command(flatten)]
    args: recorder::cli::Args,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = recorder::cli::run(&cli.args) {
        eprintln!("opencourt-record: {e}");
        std::process::exit(1);
    }
}
