//! The tensor-core instruction's throughput through wgpu, naga and the
//! driver (`bench --peak`): `shaders/probe/coop_peak.wgsl`, multiply-adds
//! on tiles held in registers, and reloaded from workgroup memory every
//! round (as the convolution kernels feed them). Against the card's
//! datasheet peak it says how much of it this stack can reach at all, and
//! against the convolution kernels' rates (`bench --kernels`) how much
//! their staging costs.
use std::time::Instant;

use crate::error::{Error, Result};
use crate::gpu::direct::DirectRun;
use crate::gpu::GpuContext;
use crate::kernels::{Binding, Defines, Dispatch, Shader};
use crate::ops::conv::mixed::f16_bytes;

/// One timing of the probe.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    /// Tiles reloaded from workgroup memory every round.
    pub staged: bool,
    pub median_s: f64,
    pub tflop_per_s: f64,
}

/// Rounds per group and workgroups of a timed run: about 1.1 TFLOP, a few
/// milliseconds on a datacenter GPU, and enough workgroups for any.
const ITERS: u32 = 8192;
const WORKGROUPS: u32 = 2048;

/// The probe's tiles: two A and two B, 16x16 row-major, of -1, 0 and 1:
/// exact in f16, and every accumulator stays an integer of magnitude at
/// most 16 iters, exact in f32 (iters < 2^20).
pub fn probe_tiles() -> (Vec<f32>, Vec<f32>) {
    let value = |i: usize, salt: usize| ((i * 7 + salt * 3) % 3) as f32 - 1.0;
    (
        (0..512).map(|i| value(i, 1)).collect(),
        (0..512).map(|i| value(i, 2)).collect(),
    )
}

/// What every workgroup writes: per group of 32 (4), per accumulator
/// (a0 b0, a0 b1, a1 b0, a1 b1), iters times the tiles' product.
pub fn probe_expected(a: &[f32], b: &[f32], iters: u32) -> Vec<f32> {
    let mut one = Vec::with_capacity(1024);
    for (ta, tb) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        for r in 0..16 {
            for c in 0..16 {
                let s: f32 = (0..16)
                    .map(|k| a[ta * 256 + r * 16 + k] * b[tb * 256 + k * 16 + c])
                    .sum();
                one.push(s * iters as f32);
            }
        }
    }
    one.repeat(4)
}

/// The probe as a run on its own buffers.
pub fn probe_run(ctx: &GpuContext, staged: bool, iters: u32, workgroups: u32) -> Result<DirectRun> {
    let (a, b) = probe_tiles();
    let dispatch = Dispatch {
        kernel: Shader::CoopPeak.with(Defines::NONE.with_if(Defines::STAGED, staged)),
        params: vec![iters, 0],
        bindings: vec![Binding::Input(0), Binding::Input(1), Binding::Output(0)],
        workgroups: [workgroups, 1, 1],
    };
    DirectRun::new(ctx, &dispatch, &[&f16_bytes(&a), &f16_bytes(&b)], 4096 * 4)
}

/// The probe's rate, tiles in registers and reloaded every round: median
/// of `reps` runs after one that also builds the pipeline, each checked
/// against the exact result (so a fast wrong instruction is not timed).
/// Needs cooperative matrices (a device opened in mixed precision).
pub fn measure_peak(ctx: &GpuContext, reps: usize) -> Result<Vec<Peak>> {
    if !ctx.mixed_precision().coop_16x16_f16 {
        return Err(Error::Invalid(format!(
            "{} offers no 16x16x16 f16 cooperative matrices to time (or the device was not \
             opened with --precision mixed)",
            ctx.summary
        )));
    }
    let (a, b) = probe_tiles();
    let want = probe_expected(&a, &b, ITERS);
    let flop = WORKGROUPS as f64 * 4.0 * 4.0 * ITERS as f64 * 2.0 * 4096.0;
    let mut peaks = Vec::new();
    for staged in [false, true] {
        let run = probe_run(ctx, staged, ITERS, WORKGROUPS)?;
        run.run(1)?;
        let got: Vec<f32> = bytemuck::cast_slice(&run.read()?).to_vec();
        if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
            return Err(Error::Invalid(format!(
                "the tensor-core probe gave {} at [{i}] where the exact value is {}",
                got[i], want[i]
            )));
        }
        let mut times = (0..reps.max(1))
            .map(|_| {
                let t0 = Instant::now();
                run.run(1).map(|_| t0.elapsed().as_secs_f64())
            })
            .collect::<Result<Vec<f64>>>()?;
        times.sort_by(f64::total_cmp);
        let median_s = times[times.len() / 2];
        peaks.push(Peak {
            staged,
            median_s,
            tflop_per_s: flop / median_s / 1e12,
        });
    }
    Ok(peaks)
}
