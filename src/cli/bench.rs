//! `pconv bench`: kernel GFLOP/s or the time of one training step.
use anyhow::{Context, Result};

use super::args::{number_in, usize_in, MAX_SIDE};
use pconv::gpu::GpuContext;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// GFLOP/s of conv forward, backward-data and backward-weight at the
    /// layer shapes of the 256x256 network.
    #[arg(long)]
    kernels: bool,
    /// The tensor cores' multiply-add rate through wgpu (TFLOP/s): tiles
    /// in registers, and reloaded from workgroup memory every round. Needs
    /// --precision mixed on a device with cooperative matrices.
    #[arg(long)]
    peak: bool,
    /// The configurations of the PyTorch baseline (bench_torch.py): training
    /// steps L7 256² b1 and b4, L5 64² b12, L6 128² b4; inference L7 256²
    /// and 512²; with --only, those whose label (e.g. "train L7 w1 256x256
    /// b1") contains the text.
    #[arg(long)]
    suite: bool,
    /// With --suite: write {"machine", "train": [...], "infer": [...]} here,
    /// entries shaped like bench_torch.py's.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Kernel benchmark: only the layers/passes whose "layer pass" text
    /// contains this (e.g. "forward", "vgg").
    #[arg(long)]
    only: Option<String>,
    /// Timed runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = usize_in(1, 1000))]
    reps: usize,
    /// Training-step benchmark: U-Net levels.
    #[arg(long, default_value_t = 5, value_parser = usize_in(1, 12))]
    levels: usize,
    /// Training-step benchmark: channel width multiplier.
    #[arg(long, default_value_t = 1.0, value_parser = number_in(0.0, 16.0))]
    width: f64,
    /// Training-step benchmark: image side (a multiple of 2^levels).
    #[arg(long, default_value_t = 64, value_parser = usize_in(1, MAX_SIDE))]
    size: usize,
    /// Training-step benchmark: batch size.
    #[arg(long, default_value_t = 1, value_parser = usize_in(1, 4096))]
    batch: usize,
    /// Training-step benchmark: split the batch into K micro-batches
    /// (`train --accum`); also times a gradient read-back and write.
    #[arg(long, default_value_t = 1, value_parser = usize_in(1, 4096))]
    accum: usize,
    /// Training-step benchmark, or each configuration of --suite: also print
    /// the time per kernel.
    #[arg(long)]
    profile: bool,
}

pub fn run(a: BenchArgs) -> Result<()> {
    run_checked(a).map_err(|e| match e.downcast::<pconv::Error>() {
        Ok(e) => anyhow::anyhow!(e.with_step_hint()),
        Err(e) => e,
    })
}

fn run_checked(a: BenchArgs) -> Result<()> {
    let ctx = GpuContext::new().context("opening the GPU")?;
    if a.suite {
        return suite(&ctx, &a);
    }
    if a.kernels {
        pconv::bench::run_kernel_bench(&ctx, a.reps, a.only.as_deref())?;
        return Ok(());
    }
    if a.peak {
        println!("adapter: {}", ctx.summary);
        for p in pconv::bench::peak::measure_peak(&ctx, a.reps)? {
            let tiles = if p.staged {
                "tiles reloaded from workgroup memory every round"
            } else {
                "tiles in registers"
            };
            println!(
                "16x16x16 f16 multiply-adds, {tiles}: {:.2} ms, {:.1} TFLOP/s",
                p.median_s * 1e3,
                p.tflop_per_s
            );
        }
        return Ok(());
    }
    let cfg = pconv::train::TrainStepConfig {
        net: pconv::model::UNetConfig {
            levels: a.levels,
            width: a.width,
        },
        vgg: pconv::loss::VggConfig::VGG16,
        preprocess: pconv::loss::Preprocess::Caffe,
        batch: pconv::train::parallel::micro_batch(a.batch, a.accum, 1)?,
        height: a.size,
        width: a.size,
        mode: pconv::model::Mode::Train,
        ignore_unknown: false,
        ema: None,
        accumulate: a.accum > 1,
        loss_scaling: ctx.precision() == pconv::gpu::Precision::Mixed,
    };
    println!("adapter: {}", ctx.summary);
    if ctx.precision() == pconv::gpu::Precision::Mixed {
        println!(
            "convolutions in mixed precision ({:?}), dynamic loss scaling",
            ctx.traits().mixed
        );
    }
    let t = pconv::bench::time_train_step(&ctx, &cfg, a.reps, a.profile, a.accum)?;
    println!(
        "train step L{} width {} {s}x{s} batch {}: median {:.3} s (min {:.3}, max {:.3}), \
         {:.2} images/s, {} dispatches in {} submit(s), planned GPU memory {:.1} MiB (without reuse {:.1} MiB)",
        a.levels,
        a.width,
        a.batch,
        t.median_s,
        t.min_s,
        t.max_s,
        a.batch as f64 / t.median_s,
        t.dispatches,
        // An accumulating step: one submit per micro-batch, one update.
        if a.accum > 1 { a.accum + 1 } else { 1 },
        t.planned_bytes as f64 / 1048576.0,
        t.unplanned_bytes as f64 / 1048576.0,
        s = a.size,
    );
    if let Some(rt) = t.gradient_round_trip_s {
        println!(
            "{} micro-batches of {} per step; reading every gradient back and writing it again: {:.1} ms",
            a.accum,
            cfg.batch,
            rt * 1e3
        );
    }
    Ok(())
}

fn suite(ctx: &GpuContext, a: &BenchArgs) -> Result<()> {
    use pconv::bench::suite::{measure, Kind, SUITE};
    println!("adapter: {}", ctx.summary);
    println!("precision: {} ({:?})", ctx.precision(), ctx.traits().mixed);
    let (mut train, mut infer) = (Vec::new(), Vec::new());
    for c in SUITE {
        let label = c.label();
        if a.only.as_deref().is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let m = measure(ctx, c, a.reps, a.profile).with_context(|| label.clone())?;
        println!(
            "{label:<28} median {:>8.3} s (min {:.3}, max {:.3})  {:>7.2} GFLOP/s  {:>6.2} images/s  {} dispatches  planned {:.0} MiB",
            m.median_s,
            m.min_s,
            m.max_s,
            m.gflop.total / m.median_s,
            c.batch as f64 / m.median_s,
            m.dispatches,
            m.planned_bytes as f64 / 1048576.0
        );
        match c.kind {
            Kind::Train => train.push(m.to_json()),
            Kind::Infer => infer.push(m.to_json()),
        }
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "machine": {"adapter": ctx.summary.to_string()},
            "precision": ctx.precision().to_string(),
            "mixed_kernels": format!("{:?}", ctx.traits().mixed),
            "method": "median of --reps steps after one warm-up; losses read back asynchronously each step",
            "train": train,
            "infer": infer,
        });
        pconv::io::files::write_report(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    Ok(())
}
