//! The Adam step (`shaders/optim/adam.wgsl`) and its CPU twin.
use super::{CpuResult, Op};
use crate::gpu::shaders::Kernel;
use crate::graph::recording::{grid_1d, Binding, Dispatch, Lowered, Params};
use Binding::Input as In;

/// The per-step scalars the Adam kernel reads: [lr, 1 - b1^t, 1 - b2^t, 0].
pub fn adam_step_scalars(lr: f64, beta1: f64, beta2: f64, t: u64) -> [f32; 4] {
    let t = t.max(1) as i32;
    [
        lr as f32,
        (1.0 - beta1.powi(t)) as f32,
        (1.0 - beta2.powi(t)) as f32,
        0.0,
    ]
}

pub(super) fn lower(op: &Op, ins: &[&[usize]]) -> Lowered {
    let Op::Adam { beta1, beta2, eps } = *op else {
        unreachable!("not an optimiser op")
    };
    let len: usize = ins[1].iter().product();
    let (kernel, items) = super::vec4_or(Kernel::AdamVec4, Kernel::Adam, len);
    Lowered::one(Dispatch {
        kernel,
        params: Params::new().u(items).f(beta1).f(beta2).f(eps).done(),
        bindings: vec![In(0), In(1), In(2), In(3), In(4)],
        workgroups: grid_1d(items),
    })
}

pub(super) fn eval_cpu(op: &Op, ins: &[&[f64]]) -> CpuResult {
    let Op::Adam { beta1, beta2, eps } = *op else {
        unreachable!("not an optimiser op")
    };
    let (b1, b2, eps) = (beta1 as f64, beta2 as f64, eps as f64);
    let (step, g) = (ins[0], ins[1]);
    let (lr, bc1, bc2) = (step[0], step[1], step[2]);
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
