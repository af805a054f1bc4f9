//! The Adam step (`shaders/optim/adam.wgsl`), the weights' moving average
//! (`shaders/optim/ema.wgsl`) and their CPU twins.
use super::{CpuResult, Op, OptimOp};
use crate::kernels::Shader;
use crate::kernels::{grid_1d, Binding, Dispatch, Lowered, Params};
use Binding::Input as In;

/// Adam's moment decays and epsilon (the paper's, PyTorch's defaults), in
/// one place: the graph's Adam op and the per-step scalars must agree.
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// The Adam op with `BETA1`, `BETA2`, `EPS`.
pub fn adam_op() -> Op {
    Op::Optim(OptimOp::Adam {
        beta1: BETA1 as f32,
        beta2: BETA2 as f32,
        eps: EPS as f32,
    })
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
        OptimOp::Adam { beta1, beta2, eps } => {
            let len: usize = ins[1].iter().product();
            let (kernel, items) = super::vec4_or(Shader::Adam, len);
            Lowered::one(Dispatch {
                kernel,
                params: Params::new().u(items).f(beta1).f(beta2).f(eps).done(),
                bindings: vec![In(0), In(1), In(2), In(3), In(4)],
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
        OptimOp::Accumulate => {
            let len: usize = ins[1].iter().product();
            let (kernel, items) = super::vec4_or(Shader::Accumulate, len);
            Lowered::one(Dispatch {
                kernel,
                params: Params::new().u(items).done(),
                bindings: vec![In(0), In(1), In(2)],
                workgroups: grid_1d(items),
            })
        }
    }
}

pub(super) fn eval_cpu(op: &OptimOp, ins: &[&[f64]]) -> CpuResult {
    match *op {
        OptimOp::Adam { beta1, beta2, eps } => adam_cpu(beta1, beta2, eps, ins),
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
        OptimOp::Accumulate => {
            let (first, g, acc) = (ins[0][0] != 0.0, ins[1], ins[2]);
            let acc = if first {
                g.to_vec()
            } else {
                acc.iter().zip(g).map(|(a, g)| a + g).collect()
            };
            CpuResult {
                outputs: vec![],
                written: vec![(2, acc)],
            }
        }
    }
}

fn adam_cpu(beta1: f32, beta2: f32, eps: f32, ins: &[&[f64]]) -> CpuResult {
    let (b1, b2, eps) = (beta1 as f64, beta2 as f64, eps as f64);
    let (step, g) = (ins[0], ins[1]);
    let (lr, bc1, bc2, scale) = (step[0], step[1], step[2], step[3]);
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
