//! Command-line parsing and one module per command. Errors end the process
//! with a one-line message and exit code 1, never a panic.
mod bench;
mod info;
mod progress;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pconv",
    version,
    about = "Image inpainting with partial convolutions on any GPU (wgpu/WGSL)"
)]
struct Cli {
    /// Run without a window (training prints a progress bar instead of the
    /// dashboard).
    #[arg(long, global = true)]
    headless: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the adapters wgpu sees and the one pconv uses, with its limits
    /// and features. Choose with PCONV_ADAPTER=<name substring> or WGPU_BACKEND.
    Info,
    /// Benchmark the kernels (--kernels) or one training step
    /// (forward, loss, backward, Adam) of the given configuration.
    Bench(bench::BenchArgs),
    /// Train a PConv-UNet on a folder of images.
    Train(Box<train::TrainArgs>),
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The desktop app will open here; until it lands, show the device
        // pconv would use and what can be run.
        None => info::run().map(|_| {
            println!("\ncommands: pconv info | bench | train   (pconv --help for details)")
        }),
        Some(Command::Info) => info::run(),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Train(args)) => train::run(*args, cli.headless),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
