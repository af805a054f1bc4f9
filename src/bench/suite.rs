//! `pconv bench --suite`: the configurations of `bench_torch.py` (the
//! PyTorch baseline), timed the same way (median of steps after warm-up),
//! with the same FLOP counts and JSON fields, so the two compare line by line.
use std::time::Instant;

use super::flops::{step_gflop, Gflop};
use super::time_train_step;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::infer::PConvModel;
use crate::loss::{Preprocess, VggConfig};
use crate::model::{Checkpoint, Mode, UNetConfig};
use crate::raster::Planes;
use crate::train::TrainStepConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Train,
    Infer,
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub kind: Kind,
    pub levels: usize,
    pub width: f64,
    pub size: usize,
    pub batch: usize,
}

impl Config {
    pub fn label(&self) -> String {
        let kind = match self.kind {
            Kind::Train => "train",
            Kind::Infer => "infer",
        };
        format!(
            "{kind} L{} w{} {}x{} b{}",
            self.levels, self.width, self.size, self.size, self.batch
        )
    }
}

/// The configurations of `bench_torch.py`.
pub const SUITE: &[Config] = &[
    Config {
        kind: Kind::Train,
        levels: 7,
        width: 1.0,
        size: 256,
        batch: 1,
    },
    Config {
        kind: Kind::Train,
        levels: 7,
        width: 1.0,
        size: 256,
        batch: 4,
    },
    Config {
        kind: Kind::Train,
        levels: 5,
        width: 1.0,
        size: 64,
        batch: 12,
    },
    Config {
        kind: Kind::Train,
        levels: 6,
        width: 1.0,
        size: 128,
        batch: 4,
    },
    Config {
        kind: Kind::Infer,
        levels: 7,
        width: 1.0,
        size: 256,
        batch: 1,
    },
    Config {
        kind: Kind::Infer,
        levels: 7,
        width: 1.0,
        size: 512,
        batch: 1,
    },
];

#[derive(Clone, Debug)]
pub struct Measurement {
    pub config: Config,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub runs: usize,
    pub gflop: Gflop,
    pub dispatches: usize,
    pub planned_bytes: u64,
}

fn stats(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

/// Median time of `reps` batch-1 inferences (upload, forward, read-back of
/// the output) after one warm-up, on a random network; with `profile`, then
/// prints the time per kernel of the forward pass.
fn time_inference(
    ctx: &GpuContext,
    c: &Config,
    reps: usize,
    profile: bool,
) -> Result<(Vec<f64>, usize, u64)> {
    let ck = Checkpoint::initial(
        UNetConfig {
            levels: c.levels,
            width: c.width,
        },
        1,
    )?;
    let mut model = PConvModel::new(ctx, ck);
    let s = c.size;
    let image = Planes {
        width: s,
        height: s,
        data: (0..3 * s * s).map(|i| (i % 251) as f32 / 251.0).collect(),
    };
    let holes = crate::raster::HoleMap {
        width: s,
        height: s,
        holes: (0..s * s).map(|i| (i / 7) % 3 == 0).collect(),
    };
    let mut times = Vec::new();
    for i in 0..=reps.max(1) {
        let t0 = Instant::now();
        model.predict(&image, &holes)?;
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    let (dispatches, bytes) = model.last_run_stats().unwrap_or((0, 0));
    if profile {
        if let Some(p) = model.profile_last_run() {
            super::print_profile(&p?);
        }
    }
    Ok((times, dispatches, bytes))
}

/// Times configuration `c`; with `profile`, also prints its time per kernel.
pub fn measure(ctx: &GpuContext, c: &Config, reps: usize, profile: bool) -> Result<Measurement> {
    let net = UNetConfig {
        levels: c.levels,
        width: c.width,
    };
    let gflop = step_gflop(net, c.size, c.batch, c.kind == Kind::Train);
    let (times, dispatches, planned_bytes) = match c.kind {
        Kind::Train => {
            let cfg = TrainStepConfig {
                net,
                vgg: VggConfig::VGG16,
                preprocess: Preprocess::Caffe,
                batch: c.batch,
                height: c.size,
                width: c.size,
                mode: Mode::Train,
                ignore_unknown: false,
                ema: None,
                accumulate: false,
                // Mixed precision trains with loss scaling, as users run it.
                loss_scaling: ctx.precision() == crate::gpu::Precision::Mixed,
            };
            let t = time_train_step(ctx, &cfg, reps, profile, 1)?;
            (t.times, t.dispatches, t.planned_bytes)
        }
        Kind::Infer => time_inference(ctx, c, reps, profile)?,
    };
    let runs = times.len();
    let (median_s, min_s, max_s) = stats(times);
    Ok(Measurement {
        config: *c,
        median_s,
        min_s,
        max_s,
        runs,
        gflop,
        dispatches,
        planned_bytes,
    })
}

impl Measurement {
    /// The fields of `bench_torch.py`'s entries, plus pconv's own.
    pub fn to_json(&self) -> serde_json::Value {
        let c = &self.config;
        let g = &self.gflop;
        let mut gflop = serde_json::json!({"unet_fwd": g.unet_fwd, "total": g.total});
        if c.kind == Kind::Train {
            gflop["unet_bwd"] = g.unet_bwd.into();
            gflop["vgg_fwd"] = g.vgg_fwd.into();
            gflop["vgg_bwd"] = g.vgg_bwd.into();
            gflop["gram"] = g.gram.into();
        }
        serde_json::json!({
            "kind": if c.kind == Kind::Train { "train" } else { "infer" },
            "levels": c.levels,
            "width": c.width,
            "size": c.size,
            "batch": c.batch,
            "median_s": self.median_s,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "runs": self.runs,
            "images_per_s": c.batch as f64 / self.median_s,
            "gflop": gflop,
            "gflop_per_s": g.total / self.median_s,
            "planned_gpu_mib": self.planned_bytes as f64 / 1048576.0,
            "dispatches": self.dispatches,
            // Inference reads its output back with a second submit.
            "submits": if c.kind == Kind::Train { 1 } else { 2 },
        })
    }
}
