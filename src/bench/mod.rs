//! Kernel benchmarks: GFLOP/s of the convolution kernels at the shapes of
//! the 256x256 network (`pconv bench --kernels`, `cargo bench`).
use std::time::Instant;

use crate::error::Result;
use crate::gpu::{Executor, GpuContext};
use crate::graph::Graph;
use crate::kernels::{DeviceTraits, MixedKernels};
use crate::ops::{conv_out, ConvOp, Op};

pub mod flops;
pub mod peak;
pub mod suite;

/// One convolution layer shape: batch, channels, input size, kernel, stride.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub name: &'static str,
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub size: usize,
    pub k: usize,
    pub stride: usize,
}

/// Layers of the L7, 256x256 PConv-UNet and its VGG-16 loss (batch 1).
pub const NETWORK_SHAPES: &[ConvShape] = &[
    ConvShape {
        name: "enc1 3->64 7x7 s2 @256",
        n: 1,
        c_in: 3,
        c_out: 64,
        size: 256,
        k: 7,
        stride: 2,
    },
    ConvShape {
        name: "enc2 64->128 5x5 s2 @128",
        n: 1,
        c_in: 64,
        c_out: 128,
        size: 128,
        k: 5,
        stride: 2,
    },
    ConvShape {
        name: "enc4 256->512 3x3 s2 @32",
        n: 1,
        c_in: 256,
        c_out: 512,
        size: 32,
        k: 3,
        stride: 2,
    },
    ConvShape {
        name: "dec4 768->256 3x3 @32",
        n: 1,
        c_in: 768,
        c_out: 256,
        size: 32,
        k: 3,
        stride: 1,
    },
    ConvShape {
        name: "dec2 192->64 3x3 @128",
        n: 1,
        c_in: 192,
        c_out: 64,
        size: 128,
        k: 3,
        stride: 1,
    },
    ConvShape {
        name: "vgg conv2_2 128->128 3x3 @128",
        n: 1,
        c_in: 128,
        c_out: 128,
        size: 128,
        k: 3,
        stride: 1,
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPass {
    Forward,
    BackwardData,
    BackwardWeight,
}

impl ConvPass {
    pub const ALL: [ConvPass; 3] = [
        ConvPass::Forward,
        ConvPass::BackwardData,
        ConvPass::BackwardWeight,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ConvPass::Forward => "forward",
            ConvPass::BackwardData => "backward-data",
            ConvPass::BackwardWeight => "backward-weight",
        }
    }
}

#[derive(Clone, Debug)]
pub struct KernelTiming {
    pub shape: ConvShape,
    pub pass: ConvPass,
    pub median_s: f64,
    pub gflop_per_s: f64,
}

impl ConvShape {
    pub fn out_size(&self) -> usize {
        conv_out(self.size, self.k, self.stride, self.k / 2).unwrap_or(0)
    }
    /// 2 * multiply-adds, the same for all three passes.
    pub fn flops(&self) -> f64 {
        let o = self.out_size();
        2.0 * (self.n * self.c_out * o * o * self.c_in * self.k * self.k) as f64
    }
}

fn pseudo_random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = crate::model::SplitMix64(seed);
    (0..len).map(|_| rng.uniform() as f32 - 0.5).collect()
}

/// The kernels a convolution timing runs: f32 (`mixed: Off`), or f16
/// tiles and partial sums, with the candidates `tall` (128-row blocks
/// where the result has 128 rows or more) and `direct` (the 3x3 stride-1
/// kernel where it applies) as `DeviceTraits` names them.
#[derive(Clone, Copy, Debug)]
pub struct ConvKernels {
    pub mixed: MixedKernels,
    pub tall: bool,
    pub direct: bool,
}

impl ConvKernels {
    pub const F32: ConvKernels = ConvKernels::mixed(MixedKernels::Off);

    /// `mixed` with neither candidate.
    pub const fn mixed(mixed: MixedKernels) -> Self {
        ConvKernels {
            mixed,
            tall: false,
            direct: false,
        }
    }
}

/// Times one pass of one layer with `kernels`: median of `reps` runs
/// (submit + wait), after one warm-up run that also compiles the
/// pipelines.
pub fn time_conv(
    ctx: &GpuContext,
    shape: ConvShape,
    pass: ConvPass,
    kernels: ConvKernels,
    reps: usize,
) -> Result<KernelTiming> {
    let ConvShape {
        n,
        c_in,
        c_out,
        size,
        k,
        stride,
        ..
    } = shape;
    let pad = k / 2;
    let o = shape.out_size();
    let mut g = Graph::new();
    let (a, b, op) = match pass {
        ConvPass::Forward => (
            g.input("x", &[n, c_in, size, size]),
            g.input("w", &[c_out, c_in, k, k]),
            Op::Conv(ConvOp::Conv2d {
                stride,
                pad,
                bias: false,
            }),
        ),
        ConvPass::BackwardData => (
            g.input("gy", &[n, c_out, o, o]),
            g.input("w", &[c_out, c_in, k, k]),
            Op::Conv(ConvOp::Conv2dBwdData {
                stride,
                pad,
                h: size,
                w: size,
            }),
        ),
        ConvPass::BackwardWeight => (
            g.input("gy", &[n, c_out, o, o]),
            g.input("x", &[n, c_in, size, size]),
            Op::Conv(ConvOp::Conv2dBwdWeight { stride, pad, k }),
        ),
    };
    g.push(op, &[a, b])?;
    let traits = DeviceTraits {
        mixed: kernels.mixed,
        mixed_tall: kernels.tall,
        mixed_direct: kernels.direct,
        ..ctx.traits()
    };
    let exec = Executor::with_traits(ctx, &g, &[], &traits)?;
    exec.write(a, &pseudo_random(g.info(a).numel(), 1))?;
    exec.write(b, &pseudo_random(g.info(b).numel(), 2))?;
    let median_s = median_after_warm_up(reps, || {
        let t0 = Instant::now();
        exec.run();
        exec.wait()?;
        Ok(t0.elapsed().as_secs_f64())
    })?;
    Ok(KernelTiming::of(shape, pass, median_s))
}

/// The median of `reps` timed runs after one untimed run (which also
/// compiles the pipelines).
fn median_after_warm_up(reps: usize, mut run: impl FnMut() -> Result<f64>) -> Result<f64> {
    run()?;
    let mut times = (0..reps.max(1))
        .map(|_| run())
        .collect::<Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

impl KernelTiming {
    fn of(shape: ConvShape, pass: ConvPass, median_s: f64) -> Self {
        KernelTiming {
            shape,
            pass,
            median_s,
            gflop_per_s: shape.flops() / median_s / 1e9,
        }
    }
}

/// Runs every pass at every network shape and prints a table.
/// Times every (layer, pass) whose "layer pass" text contains `only`.
/// On GPUs with f16 every pass is also timed in mixed precision: on
/// cooperative matrices, also in 128-row blocks and on the 3x3 kernels
/// (rows "backward-data f16 coop", "forward f16 coop tall", "forward f16
/// coop direct", "forward f16 coop direct tall", …), or, where the adapter
/// has none, the plain-arithmetic twin ("forward f16 twin"); not returned.
/// CPU adapters time f32 only (the twin is far slower there).
pub fn run_kernel_bench(
    ctx: &GpuContext,
    reps: usize,
    only: Option<&str>,
) -> Result<Vec<KernelTiming>> {
    println!("adapter: {}", ctx.summary);
    println!(
        "{:<32} {:>24} {:>12} {:>10}",
        "layer", "pass", "median ms", "GFLOP/s"
    );
    let mut all = Vec::new();
    let mixed = ctx.mixed_precision();
    // With cooperative matrices their candidates (the twin only serves
    // to check results there, and the list must fit check.sh's time);
    // else the twin. CPU adapters: f32 only (the twin's loops exceed
    // lavapipe's budget at these shapes).
    let coop = ConvKernels::mixed(MixedKernels::Coop);
    let mixed_variants: Vec<(ConvKernels, &str)> = if ctx.is_cpu() || !mixed.f16 {
        Vec::new()
    } else if mixed.coop_16x16_f16 {
        vec![
            (coop, "f16 coop"),
            (ConvKernels { tall: true, ..coop }, "f16 coop tall"),
            (
                ConvKernels {
                    direct: true,
                    ..coop
                },
                "f16 coop direct",
            ),
            (
                ConvKernels {
                    direct: true,
                    tall: true,
                    ..coop
                },
                "f16 coop direct tall",
            ),
        ]
    } else {
        vec![(ConvKernels::mixed(MixedKernels::Twin), "f16 twin")]
    };
    for &shape in NETWORK_SHAPES {
        for pass in ConvPass::ALL {
            if only.is_some_and(|o| !format!("{} {}", shape.name, pass.name()).contains(o)) {
                continue;
            }
            let t = time_conv(ctx, shape, pass, ConvKernels::F32, reps)?;
            println!(
                "{:<32} {:>24} {:>12.2} {:>10.2}",
                shape.name,
                pass.name(),
                t.median_s * 1e3,
                t.gflop_per_s
            );
            all.push(t);
            // The result's rows: 128-row blocks only run from 128.
            let rows = match pass {
                ConvPass::BackwardData => shape.c_in,
                _ => shape.c_out,
            };
            let direct_applies = crate::ops::conv::mixed::MixedConv::new(
                (shape.n, shape.c_in, shape.size, shape.size),
                shape.c_out,
                crate::ops::conv::Window {
                    k: shape.k,
                    stride: shape.stride,
                    pad: shape.k / 2,
                },
                false,
            )
            .is_ok_and(|c| c.direct_applies());
            for &(kernels, label) in &mixed_variants {
                // (The 3x3 weight gradient has no 128-row blocks.)
                if kernels.tall && rows < crate::ops::conv::mixed::MmaTile::Tall.rows()
                    || kernels.direct && !direct_applies
                    || kernels.direct && kernels.tall && pass == ConvPass::BackwardWeight
                {
                    continue;
                }
                let t = time_conv(ctx, shape, pass, kernels, reps)?;
                println!(
                    "{:<32} {:>24} {:>12.2} {:>10.2}",
                    shape.name,
                    format!("{} {label}", pass.name()),
                    t.median_s * 1e3,
                    t.gflop_per_s
                );
            }
        }
    }
    Ok(all)
}

/// Prints a profile: time per kernel (largest first), then the slowest
/// single dispatches with their grid, which shows under-filled launches.
pub fn print_profile(p: &crate::gpu::executor::Profile) {
    let mut by_kernel: Vec<(String, f64, usize)> = Vec::new();
    for d in &p.dispatches {
        let name = d.kernel.name();
        match by_kernel.iter_mut().find(|(n, ..)| *n == name) {
            Some(e) => {
                e.1 += d.seconds;
                e.2 += 1;
            }
            None => by_kernel.push((name, d.seconds, 1)),
        }
    }
    by_kernel.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = by_kernel.iter().map(|e| e.1).sum();
    let clock = if p.gpu_timestamps {
        "GPU timestamps, one pass per dispatch"
    } else {
        "host time, one submit per dispatch"
    };
    println!("profile ({clock}):");
    println!(
        "{:<34} {:>10} {:>7} {:>6}",
        "kernel", "ms", "share", "count"
    );
    for (name, t, n) in &by_kernel {
        println!(
            "{name:<34} {:>10.3} {:>6.1}% {n:>6}",
            t * 1e3,
            100.0 * t / total
        );
    }
    println!("{:<34} {:>10.3}", "sum", total * 1e3);
    let mut slowest: Vec<(usize, &crate::gpu::executor::DispatchTime)> =
        p.dispatches.iter().enumerate().collect();
    slowest.sort_by(|a, b| b.1.seconds.total_cmp(&a.1.seconds));
    println!("slowest dispatches:");
    println!(
        "{:>5} {:<34} {:>10} {:>14}  output",
        "#", "kernel", "ms", "workgroups"
    );
    for (i, d) in slowest.iter().take(25) {
        let [x, y, z] = d.workgroups;
        println!(
            "{i:>5} {:<34} {:>10.3} {:>14}  {}",
            d.kernel.name(),
            d.seconds * 1e3,
            format!("{x}x{y}x{z}"),
            d.label
        );
    }
}

/// Seconds of a profiled training step per phase: forward, loss, backward,
/// optimiser (the Adam dispatches, wherever they sit in the backward pass).
pub fn phase_seconds(
    p: &crate::gpu::executor::Profile,
    step: &crate::train::TrainStep,
) -> [f64; 4] {
    let [loss, backward] = step.phase_starts;
    let mut out = [0.0; 4];
    for d in &p.dispatches {
        let phase = if d.kernel.is_optimiser() {
            3
        } else if d.node >= backward {
            2
        } else if d.node >= loss {
            1
        } else {
            0
        };
        out[phase] += d.seconds;
    }
    out
}

/// Timing of whole training steps (forward, loss, backward, Adam).
#[derive(Clone, Debug)]
pub struct StepTiming {
    /// Every timed step, in order.
    pub times: Vec<f64>,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub dispatches: usize,
    pub planned_bytes: u64,
    pub unplanned_bytes: u64,
    /// An accumulating step: the median time to read every gradient back
    /// and write it again (what a rank's gradient exchange adds besides
    /// the network).
    pub gradient_round_trip_s: Option<f64>,
}

/// Builds the training step of `cfg` with random weights, VGG and data, and
/// times `reps` steps (one submit each; the losses read back asynchronously
/// and waited for at the end of each step), after one warm-up step. With
/// `profile`, first prints the time of each kernel (one submit per dispatch).
/// An accumulating `cfg` runs `accum` micro-batches of its batch per step
/// (`train::parallel::accumulated_step`, one process).
pub fn time_train_step(
    ctx: &GpuContext,
    cfg: &crate::train::TrainStepConfig,
    reps: usize,
    profile: bool,
    accum: usize,
) -> Result<StepTiming> {
    use crate::model::SplitMix64;
    let session = crate::train::session::TrainSession::compile(ctx, cfg, false)?;
    session.upload_initial_weights(1)?;
    let (step, exec) = (&session.step, &session.exec);
    let g = &step.graph;
    let mut rng = SplitMix64(2);
    for &(w, b) in &step.vgg.convs {
        exec.write(w, &crate::model::kaiming_normal(g.shape(w), &mut rng))?;
        exec.write(b, &vec![0.0; g.info(b).numel()])?;
    }
    let n_img = g.info(step.image).numel();
    exec.write(
        step.image,
        &(0..n_img).map(|_| rng.uniform() as f32).collect::<Vec<_>>(),
    )?;
    let n_mask = g.info(step.mask).numel();
    exec.write(
        step.mask,
        &(0..n_mask)
            .map(|i| if (i / 7) % 3 == 0 { 0.0 } else { 1.0 })
            .collect::<Vec<_>>(),
    )?;
    if profile {
        exec.write(
            step.adam_step,
            &crate::ops::optim::adam_step_scalars(2e-4, 1, 1.0),
        )?;
        exec.run();
        exec.wait()?;
        let profile = exec.profile()?;
        print_profile(&profile);
        let phases = phase_seconds(&profile, step);
        let total: f64 = phases.iter().sum();
        println!("per phase:");
        for (name, t) in ["forward", "loss", "backward", "optimiser"]
            .iter()
            .zip(phases)
        {
            println!(
                "{name:<34} {:>10.3} {:>6.1}%",
                t * 1e3,
                100.0 * t / total.max(1e-12)
            );
        }
    }
    let (images, masks) = (exec.read(step.image)?, exec.read(step.mask)?);
    let repeat = |v: &[f32]| v.repeat(accum.max(1));
    let (images, masks) = (repeat(&images), repeat(&masks));
    let mut times = Vec::new();
    let mut round_trips = Vec::new();
    for i in 0..=reps.max(1) {
        let t0 = Instant::now();
        let t = i as u64 + 1;
        if cfg.accumulate {
            use crate::train::parallel::{accumulated_step, SingleProcess};
            accumulated_step(&session, &SingleProcess, accum, &images, &masks, 2e-4, t)?;
            exec.wait()?;
        } else {
            session.submit(2e-4, t)?.wait()?;
        }
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
            if cfg.accumulate {
                let t1 = Instant::now();
                session.write_gradients(&session.read_gradients()?)?;
                exec.wait()?;
                round_trips.push(t1.elapsed().as_secs_f64());
            }
        }
    }
    let all = times.clone();
    times.sort_by(f64::total_cmp);
    round_trips.sort_by(f64::total_cmp);
    Ok(StepTiming {
        gradient_round_trip_s: round_trips.get(round_trips.len() / 2).copied(),
        times: all,
        median_s: times[times.len() / 2],
        min_s: times[0],
        max_s: times[times.len() - 1],
        dispatches: exec.dispatch_count(),
        planned_bytes: exec.plan().planned_bytes(),
        unplanned_bytes: exec.plan().unplanned_bytes,
    })
}
