//! The Adam step (`shaders/optim/adam.wgsl`), the weights' moving average
//! (`shaders/optim/ema.wgsl`), gradient accumulation, the dynamic loss
//! scale of mixed-precision training (`shaders/optim/loss_scale.wgsl`) and
//! their CPU twins.
use super::{CpuResult, Op, OptimOp};
use crate::kernels::{grid_1d, Binding, Dispatch, Lowered, Params};
use crate::kernels::{Defines, Shader};
use Binding::Input as In;

/// Adam's moment decays and epsilon (the paper's, PyTorch's defaults), in
/// one place: the graph's Adam op and the per-step scalars must agree.
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// The Adam op with `BETA1`, `BETA2`, `EPS`; `loss_scaled`: its gradient
/// carries the dynamic loss scale.
pub fn adam_op(loss_scaled: bool) -> Op {
    Op::Optim(OptimOp::Adam {
        beta1: BETA1 as f32,
        beta2: BETA2 as f32,
        eps: EPS as f32,
        loss_scaled,
    })
}

/// PyTorch GradScaler's defaults: the first loss scale and the clean steps
/// after which it doubles.
pub const LOSS_SCALE_INIT: f32 = 65536.0;
pub const LOSS_SCALE_GROWTH_INTERVAL: u32 = 2000;

/// A scaler state at `scale`: [loss scale, overflowed, clean steps, skipped
/// steps].
pub fn loss_scaler(scale: f32, clean_steps: f32, skipped_steps: f32) -> [f32; 4] {
    [scale, 0.0, clean_steps, skipped_steps]
}

/// The per-step scalars the Adam kernel reads at step `t` (from 1):
/// [lr, 1 - b1^t, 1 - b2^t, grad_scale]. The gradient is multiplied by
/// `grad_scale` first: 1 for a gradient of the whole batch, 1/n for the sum
/// of n micro-batches' or ranks' gradients (x * 1 is exact in f32).
pub fn adam_step_scalars(lr: f64, t: u64, grad_scale: f32) -> [f32; 4] {
    let t = t.max(1) as i32;
    [
        lr as f32,
        (1.0 - BETA1.powi(t)) as f32,
        (1.0 - BETA2.powi(t)) as f32,
        grad_scale,
    ]
}

pub(super) fn lower(op: &OptimOp, ins: &[&[usize]]) -> Lowered {
    match *op {
        OptimOp::Adam {
            beta1,
            beta2,
            eps,
            loss_scaled,
        } => {
            let len: usize = ins[1].iter().product();
            let (kernel, items) = super::vec4_or(Shader::Adam, len);
            let mut bindings = vec![In(0), In(1), In(2), In(3), In(4)];
            if loss_scaled {
                bindings.push(In(5));
            }
            Lowered::one(Dispatch {
                kernel: kernel.with_if(Defines::LOSS_SCALED, loss_scaled),
                params: Params::new().u(items).f(beta1).f(beta2).f(eps).done(),
                bindings,
                workgroups: grid_1d(items),
            })
        }
        OptimOp::Ema { decay } => {
            let len: usize = ins[0].iter().product();
            let (kernel, items) = super::vec4_or(Shader::Ema, len);
            Lowered::one(Dispatch {
                kernel,
                params: Params::new().u(items).f(decay).done(),
                bindings: vec![In(0), In(1)],
                workgroups: grid_1d(items),
            })
        }
        OptimOp::Accumulate { loss_scaled } => {
            let len: usize = ins[1].iter().product();
            let (kernel, items) = super::vec4_or(Shader::Accumulate, len);
            let mut bindings = vec![In(0), In(1), In(2)];
            if loss_scaled {
                bindings.push(In(3));
            }
            Lowered::one(Dispatch {
                kernel: kernel.with_if(Defines::LOSS_SCALED, loss_scaled),
                params: Params::new().u(items).done(),
                bindings,
                workgroups: grid_1d(items),
            })
        }
        OptimOp::LossScale { growth_interval } => Lowered::one(Dispatch {
            kernel: Shader::LossScale.kernel(),
            params: Params::new().u(growth_interval as usize).done(),
            bindings: vec![In(0), In(1)],
            workgroups: [1, 1, 1],
        }),
    }
}

pub(super) fn eval_cpu(op: &OptimOp, ins: &[&[f64]]) -> CpuResult {
    match *op {
        OptimOp::Adam {
            beta1,
            beta2,
            eps,
            loss_scaled,
        } => {
            if loss_scaled && ins[5][1] != 0.0 {
                // An overflowed step: nothing changes.
                return CpuResult {
                    outputs: vec![],
                    written: vec![],
                };
            }
            let unscale = if loss_scaled { ins[5][0] } else { 1.0 };
            adam_cpu(beta1, beta2, eps, unscale, ins)
        }
        OptimOp::Ema { decay } => {
            // The kernel's f32 decay, and its 1 − decay, as f32 computes them.
            let d = decay as f64;
            let rest = (1.0 - decay) as f64;
            let avg = ins[1]
                .iter()
                .zip(ins[0])
                .map(|(a, x)| d * a + rest * x)
                .collect();
            CpuResult {
                outputs: vec![],
                written: vec![(1, avg)],
            }
        }
        OptimOp::Accumulate { loss_scaled } => {
            let (first, g, acc) = (ins[0][0] != 0.0, ins[1], ins[2]);
            let acc = if first {
                g.to_vec()
            } else {
                acc.iter().zip(g).map(|(a, g)| a + g).collect()
            };
            let mut written = vec![(2, acc)];
            if loss_scaled {
                let mut scaler = ins[3].to_vec();
                if g.iter().any(|v| !v.is_finite()) {
                    scaler[1] = 1.0;
                }
                written.push((3, scaler));
            }
            CpuResult {
                outputs: vec![],
                written,
            }
        }
        OptimOp::LossScale { growth_interval } => {
            let mut s = ins[0].to_vec();
            let mut scale = s[0];
            if s[1] != 0.0 {
                scale = (scale * 0.5).max(1.0);
                s[2] = 0.0;
                s[3] += 1.0;
            } else {
                s[2] += 1.0;
                if s[2] >= growth_interval as f64 {
                    scale = (scale * 2.0).min(16_777_216.0);
                    s[2] = 0.0;
                }
            }
            s[0] = scale;
            s[1] = 0.0;
            CpuResult {
                outputs: vec![],
                written: vec![(0, s), (1, vec![scale])],
            }
        }
    }
}

/// Adam on the gradient times step[3] / `unscale`.
fn adam_cpu(beta1: f32, beta2: f32, eps: f32, unscale: f64, ins: &[&[f64]]) -> CpuResult {
    let (b1, b2, eps) = (beta1 as f64, beta2 as f64, eps as f64);
    let (step, g) = (ins[0], ins[1]);
    let (lr, bc1, bc2, scale) = (step[0], step[1], step[2], step[3] / unscale);
    let g: Vec<f64> = g.iter().map(|g| g * scale).collect();
    let mut p = ins[2].to_vec();
    let mut m = ins[3].to_vec();
    let mut v = ins[4].to_vec();
    for i in 0..p.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        let denom = v[i].sqrt() / bc2.sqrt() + eps;
        p[i] -= (lr / bc1) * (m[i] / denom);
    }
    CpuResult {
        outputs: vec![],
        written: vec![(2, p), (3, m), (4, v)],
    }
}
