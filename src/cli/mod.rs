//! Command-line parsing and one module per command. Errors end the process
//! with a one-line message and exit code 1, never a panic.
mod app;
mod args;
mod bench;
mod eval;
mod export;
mod info;
mod inpaint;
mod masks;
mod method;
mod models;
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
    /// Arithmetic of the convolutions: f32, or mixed (f16 operands, f32
    /// accumulation: tensor cores where the GPU offers cooperative
    /// matrices; `pconv info` says). Default f32; also PCONV_PRECISION.
    #[arg(long, global = true, value_parser = parse_precision)]
    precision: Option<pconv::gpu::Precision>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the desktop app (the default): paint a mask, watch the
    /// inpainting update, compare, save.
    App(app::AppArgs),
    /// Print the adapters wgpu sees and the one pconv uses, with its limits
    /// and features. Choose with PCONV_ADAPTER=<name substring> or WGPU_BACKEND.
    Info,
    /// Benchmark the kernels (--kernels) or one training step
    /// (forward, loss, backward, Adam) of the given configuration.
    Bench(bench::BenchArgs),
    /// Train a PConv-UNet on a folder of images.
    Train(Box<train::TrainArgs>),
    /// Fill the holes of an image, or of a folder of images.
    Inpaint(Box<inpaint::InpaintArgs>),
    /// Measure a model (or Telea) the way the paper does: L1, PSNR and SSIM
    /// per hole-ratio bin, and the six loss terms.
    Eval(Box<eval::EvalArgs>),
    /// Write free-form masks (the training generator) as PNGs.
    Masks(masks::MasksArgs),
    /// Write a checkpoint without its Adam state (the file to ship).
    Export(export::ExportArgs),
    /// List the bundled models (`--model NAME`) and what each is for.
    Models,
}

pub fn main() -> std::process::ExitCode {
    // wgpu, naga and winit log through `log`: errors by default (a clean
    // stderr for scripts), more with RUST_LOG=warn, info or debug.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    let cli = Cli::parse();
    if let Some(p) = cli.precision {
        pconv::gpu::precision::request(p);
    }
    let result = match cli.command {
        Some(Command::Train(args)) => {
            return train::run(*args, cli.headless).unwrap_or_else(|e| {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            })
        }
        // Without a command the desktop app opens; headless, show the
        // device pconv would use and what can be run.
        None if cli.headless => info::run().map(|_| {
            println!("\ncommands: pconv app | info | models | bench | train | inpaint | eval | masks | export   (pconv --help for details)")
        }),
        None => app::run(app::AppArgs::default()),
        Some(Command::App(args)) => app::run(args),
        Some(Command::Info) => info::run(),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Inpaint(args)) => inpaint::run(*args),
        Some(Command::Eval(args)) => eval::run(*args),
        Some(Command::Masks(args)) => masks::run(args),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::Models) => models::run(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn parse_precision(s: &str) -> Result<pconv::gpu::Precision, String> {
    s.parse()
}
