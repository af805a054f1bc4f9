//! `pconv bench`: kernel GFLOP/s or the time of one training step.
use anyhow::{Context, Result};

use pconv::gpu::GpuContext;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// GFLOP/s of conv forward, backward-data and backward-weight at the
    /// layer shapes of the 256x256 network.
    #[arg(long)]
    kernels: bool,
    /// Kernel benchmark: only the layers/passes whose "layer pass" text
    /// contains this (e.g. "forward", "vgg").
    #[arg(long)]
    only: Option<String>,
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
}

pub fn run(a: BenchArgs) -> Result<()> {
    let ctx = GpuContext::new().context("opening the GPU")?;
    if a.kernels {
        pconv::bench::run_kernel_bench(&ctx, a.reps, a.only.as_deref())?;
        return Ok(());
    }
    let cfg = pconv::train::TrainStepConfig {
        net: pconv::model::UNetConfig {
            levels: a.levels,
            width: a.width,
        },
        vgg: pconv::loss::VggConfig::VGG16,
        preprocess: pconv::loss::Preprocess::Caffe,
        batch: a.batch,
        height: a.size,
        width: a.size,
        mode: pconv::model::Mode::Train,
    };
    println!("adapter: {}", ctx.summary);
    let t = pconv::bench::time_train_step(&ctx, &cfg, a.reps, a.profile)?;
    println!(
        "train step L{} width {} {s}x{s} batch {}: median {:.3} s (min {:.3}, max {:.3}), \
         {:.2} images/s, {} dispatches in 1 submit, planned GPU memory {:.1} MiB (without reuse {:.1} MiB)",
        a.levels,
        a.width,
        a.batch,
        t.median_s,
        t.min_s,
        t.max_s,
        a.batch as f64 / t.median_s,
        t.dispatches,
        t.planned_bytes as f64 / 1048576.0,
        t.unplanned_bytes as f64 / 1048576.0,
        s = a.size,
    );
    Ok(())
}
