//! The `serval` binary: command-line interface and the wiring of services
//! onto one listener. Each service crate is registered here with one line.

mod client;
mod events;
mod serve;

use clap::{Parser, Subcommand};

/// The AWS serverless stack in one binary.
#[derive(Parser)]
#[command(name = "serval", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Serval: every service on one port.
    Serve(serve::ServeArgs),
    /// Print a function's logs (START/END/REPORT lines and its output).
    Logs(client::LogsArgs),
    /// Report which isolation features functions get on this host.
    Doctor(serve::DoctorArgs),
    /// List the local mailbox that SNS email subscriptions deliver to.
    Mail(client::MailArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => rt.block_on(serve::run(args)),
        Command::Logs(args) => rt.block_on(client::logs(args)),
        Command::Doctor(args) => rt.block_on(serve::doctor(args)),
        Command::Mail(args) => rt.block_on(client::mail(args)),
    }
}
