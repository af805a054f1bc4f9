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
    /// Benchmark the kernels (--kernels) or one training step
    /// (forward, loss, backward, Adam) of the given configuration.
    Bench {
        /// GFLOP/s of conv forward, backward-data and backward-weight at the
        /// layer shapes of the 256x256 network.
        #[arg(long)]
        kernels: bool,
        /// Timed runs per measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Training-step benchmark: U-Net levels.
        #[arg(long, default_value_t = 5)]
        levels: usize,
        /// Training-step benchmark: channel width multiplier.
        #[arg(long, default_value_t = 1.0)]
        width: f64,
        /// Training-step benchmark: image side (a multiple of 2^levels).
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Training-step benchmark: batch size.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Training-step benchmark: also print the time per kernel.
        #[arg(long)]
        profile: bool,
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
            println!(
                "\ncommands: pconv info | pconv bench [--kernels]   (pconv --help for details)"
            );
            Ok(())
        }
        Some(Command::Info) => info(),
        Some(Command::Bench {
            kernels,
            reps,
            levels,
            width,
            size,
            batch,
            profile,
        }) => {
            let ctx = GpuContext::new().context("opening the GPU")?;
            if kernels {
                pconv::bench::run_kernel_bench(&ctx, reps)?;
                return Ok(());
            }
            let cfg = pconv::train::TrainStepConfig {
                net: pconv::model::UNetConfig { levels, width },
                vgg: pconv::loss::VggConfig::VGG16,
                preprocess: pconv::loss::Preprocess::Caffe,
                batch,
                height: size,
                width: size,
                mode: pconv::model::Mode::Train,
            };
            println!("adapter: {}", ctx.summary);
            let t = pconv::bench::time_train_step(&ctx, &cfg, reps, profile)?;
            println!(
                "train step L{levels} width {width} {size}x{size} batch {batch}: median {:.3} s (min {:.3}, max {:.3}), \
                 {:.2} images/s, {} dispatches in 1 submit, planned GPU memory {:.1} MiB (without reuse {:.1} MiB)",
                t.median_s,
                t.min_s,
                t.max_s,
                batch as f64 / t.median_s,
                t.dispatches,
                t.planned_bytes as f64 / 1048576.0,
                t.unplanned_bytes as f64 / 1048576.0
            );
            Ok(())
        }
    }
}
