//! The `pconv` command line.
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use pconv::gpu::{context, GpuContext};

#[derive(Parser)]
#[command(
    name = "pconv",
    version,
    about = "Image inpainting with partial convolutions on any GPU (wgpu/WGSL)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the adapters wgpu sees and the one pconv uses, with its limits
    /// and features. Choose with PCONV_ADAPTER=<name substring> or WGPU_BACKEND.
    Info,
    /// Benchmark the kernels.
    Bench {
        /// GFLOP/s of conv forward, backward-data and backward-weight at the
        /// layer shapes of the 256x256 network.
        #[arg(long)]
        kernels: bool,
        /// Timed runs per measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
}

fn info() -> Result<()> {
    let adapters = context::list_adapters();
    println!("adapters (best first):");
    for a in &adapters {
        let i = a.get_info();
        println!("  {} [{:?}, {:?}]", i.name, i.backend, i.device_type);
    }
    let ctx = GpuContext::new().context("opening the GPU")?;
    let l = ctx.limits();
    println!("using: {}", ctx.summary);
    println!("limits:");
    println!(
        "  max_storage_buffer_binding_size  {}",
        l.max_storage_buffer_binding_size
    );
    println!("  max_buffer_size                  {}", l.max_buffer_size);
    println!(
        "  max_storage_buffers_per_stage    {}",
        l.max_storage_buffers_per_shader_stage
    );
    println!(
        "  max_compute_workgroup_storage    {}",
        l.max_compute_workgroup_storage_size
    );
    println!(
        "  max_compute_invocations_per_wg   {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max_workgroups_per_dimension     {}",
        l.max_compute_workgroups_per_dimension
    );
    println!("features: {:?}", ctx.device.features());
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // The desktop app will open here; until it lands, show the device
        // pconv would use and what can be run.
        None => {
            info()?;
            println!("\ncommands: pconv info | pconv bench --kernels   (pconv --help for details)");
            Ok(())
        }
        Some(Command::Info) => info(),
        Some(Command::Bench { kernels, reps }) => {
            if !kernels {
                anyhow::bail!("only `pconv bench --kernels` exists so far (the training-step benchmark needs the trainer)");
            }
            let ctx = GpuContext::new().context("opening the GPU")?;
            pconv::bench::run_kernel_bench(&ctx, reps)?;
            Ok(())
        }
    }
}
